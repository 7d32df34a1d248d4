"""Many idle SSE streams held by one relay worker, and the RSS each costs.

The issue asks for 10 000 streams. Every relayed stream holds two sockets in
authrelay (client and upstream), and this machine's hard limit on open files
is 20 000 per process, which no test can raise: so the count is the largest
that fits under the hard limit, 10 000 when the limit allows it (override
with IDLE_STREAMS). Each stream is an SSE response that sends one event and
then nothing for a long time (rate 0.1 event/s). The test checks that every
stream got its head and first event through the relay, that the relay counts
them all as active, and reports authrelay's RSS per stream (the growth of
VmRSS over the idle baseline, divided by the stream count).
"""

import os
import resource
import selectors
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay  # noqa: E402


def stream_count():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fitting = (hard - 200) // 2  # two sockets per stream in the relay
    return min(int(os.environ.get("IDLE_STREAMS", "10000")), fitting)


class IdleStreamsTest(unittest.TestCase):
    def test_one_worker_holds_many_idle_streams(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
        n = stream_count()
        agent = AgentServer()
        relay = Relay(agent.url, "--workers", "1", "--max-connections", str(n + 100))
        socks = []
        sel = selectors.DefaultSelector()
        try:
            baseline = relay.rss_kib()
            request = (b"GET /stream?format=sse&count=3&rate=0.1 HTTP/1.1\r\n"
                       b"Host: relay\r\nAccept: text/event-stream\r\n\r\n")
            got = {}
            deadline = time.time() + 120
            # Open in batches so that the listen backlog is never the limit.
            for start in range(0, n, 500):
                for _ in range(start, min(n, start + 500)):
                    s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
                    s.sendall(request)
                    s.setblocking(False)
                    socks.append(s)
                    got[s.fileno()] = b""
                    sel.register(s, selectors.EVENT_READ)
                # Read until every stream so far has its first event.
                while time.time() < deadline:
                    pending = [fd for fd, b in got.items() if b"\n\n" not in b.split(b"\r\n\r\n", 1)[-1]]
                    if not pending:
                        break
                    for key, _ in sel.select(timeout=1):
                        try:
                            chunk = key.fileobj.recv(65536)
                        except BlockingIOError:
                            continue
                        self.assertTrue(chunk, "relay closed a stream")
                        got[key.fileobj.fileno()] += chunk
            incomplete = [b for b in got.values() if not b.startswith(b"HTTP/1.1 200")
                          or b"data: {" not in b]
            self.assertEqual(len(incomplete), 0, "streams without head or first event: %d" % len(incomplete))
            metrics = relay.metrics()
            self.assertEqual(metrics["authrelay_streams_active"], n)
            rss = relay.rss_kib()
            per_stream = (rss - baseline) * 1024 / n
            print("\n%d idle SSE streams on one worker: authrelay RSS %d KiB (baseline %d KiB), "
                  "%.0f bytes per stream" % (n, rss, baseline, per_stream), file=sys.stderr)
            # A regression guard far above the figure measured (see README):
            # buffering a read buffer per stream would be 64 KiB each.
            self.assertLess(per_stream, 32 * 1024)
        finally:
            for s in socks:
                sel.unregister(s)
                s.close()
            code = relay.stop()
            agent.stop()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        self.assertEqual(code, 0)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
