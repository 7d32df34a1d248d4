"""Integration tests of the relay (issue: the libuv + llhttp reverse proxy).

Real processes on loopback: the example agent server as upstream, authrelay
in front of it, curl (or a raw socket, for what curl will not send) as the
client. Bodies through authrelay must be byte-identical to direct fetches.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, RelayCase, curl, raw_exchange, status_of, wait_until  # noqa: E402


class RelayTest(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--client-head-timeout-s", "2")

    def same_body(self, path, *curl_args):
        _, direct, _ = curl(*curl_args, self.agent.url + path)
        _, relayed, _ = curl(*curl_args, self.relay.url + path)
        self.assertGreater(len(direct), 0)
        self.assertEqual(direct, relayed, path)
        return relayed

    # 1. byte-identical bodies -------------------------------------------------
    def test_sse_identical(self):
        body = self.same_body("/stream?format=sse&count=200&id=7&size=100")
        self.assertIn(b"event: done", body)

    def test_sse_with_auth_result_identical_and_counted(self):
        before = self.relay.metrics()
        body = self.same_body("/stream?format=sse&count=20&id=8&auth_at=5&shape=mcp")
        self.assertIn(b"authenticate_meta", body)
        after = self.relay.metrics()
        key = 'authrelay_detections_total{shape="authenticate_meta"}'
        self.assertEqual(after[key] - before[key], 1)
        self.assertEqual(after["authrelay_detections_unhandled_total"]
                         - before["authrelay_detections_unhandled_total"], 1)

    def test_ndjson_identical(self):
        self.same_body("/stream?format=ndjson&count=200&id=9&auth_at=3&shape=magic_link")

    def test_json_identical(self):
        self.same_body("/stream?format=json&count=50&id=10")

    def test_content_length_identical(self):
        self.same_body("/stream?format=sse&count=50&id=11&framing=length")

    def test_close_delimited_identical(self):
        body = self.same_body("/stream?format=sse&count=50&id=12&framing=close")
        self.assertIn(b"event: done", body)

    def test_close_delimited_reaches_keepalive_client_chunked(self):
        _, out, _ = curl("-i", self.relay.url + "/stream?format=ndjson&count=5&id=13&framing=close")
        head = out.split(b"\r\n\r\n", 1)[0].lower()
        self.assertIn(b"transfer-encoding: chunked", head)

    def test_big_body_identical(self):
        self.same_body("/big?bytes=3000000")
        self.same_body("/big?bytes=3000000&framing=chunked")

    def test_100mb_read_slowly_identical_and_rss_bounded(self):
        """100 MB through the relay to a client reading at 40 MB/s: the same
        bytes as a direct fetch (sha256), and authrelay's RSS stays small
        because back-pressure holds the upstream instead of buffering."""
        import hashlib
        import subprocess
        size = 100 * 1000 * 1000

        def digest(url, rate=None):
            args = ["curl", "-sS", "--max-time", "60", url]
            if rate:
                args[1:1] = ["--limit-rate", rate]
            p = subprocess.Popen(args, stdout=subprocess.PIPE)
            h = hashlib.sha256()
            n = 0
            peak = 0
            while True:
                chunk = p.stdout.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
                peak = max(peak, self.relay.rss_kib())
            self.assertEqual(p.wait(), 0)
            return h.hexdigest(), n, peak

        direct, n_direct, _ = digest(self.agent.url + "/big?bytes=%d" % size)
        relayed, n_relayed, peak = digest(self.relay.url + "/big?bytes=%d" % size, rate="40M")
        self.assertEqual(n_direct, size)
        self.assertEqual(n_relayed, size)
        self.assertEqual(direct, relayed)
        print("\n100 MB slow read: authrelay peak RSS %d KiB" % peak, file=sys.stderr)
        self.assertLess(peak, 48 * 1024)

    def test_head(self):
        _, out, _ = curl("-I", self.relay.url + "/stream?format=sse&count=3")
        self.assertTrue(out.startswith(b"HTTP/1.1 200"))
        self.assertTrue(out.endswith(b"\r\n\r\n"))
        # and the connection stays usable: HEAD then GET on one connection
        _, out, _ = curl("-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
                         "-I", self.relay.url + "/stream?count=2",
                         "--next", "-s", "-w", "%{http_code} %{num_connects}\n",
                         self.relay.url + "/stream?format=ndjson&count=2")
        self.assertIn(b"200 1\n", out)
        self.assertIn(b"200 0\n", out)

    def test_204_and_304(self):
        for code in (204, 304):
            _, out, _ = curl("-i", self.relay.url + "/status?code=%d" % code)
            self.assertTrue(out.startswith(b"HTTP/1.1 %d" % code), out[:40])
            self.assertTrue(out.endswith(b"\r\n\r\n"), out[-40:])

    def test_expect_100_continue_and_echo(self):
        data = os.urandom(300000)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            _, out, err = curl("-v", "-H", "Expect: 100-continue", "--data-binary", "@" + f.name,
                               self.relay.url + "/echo")
            self.assertEqual(out, data)
            self.assertIn("100 Continue", err)
            _, out, _ = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + f.name,
                             self.relay.url + "/echo")
            self.assertEqual(out, data)

    def test_forwarding_headers(self):
        _, out, _ = curl("-H", "Connection: keep-alive, X-Drop-Me", "-H", "X-Drop-Me: 1",
                         "-H", "Keep-Alive: timeout=5", "-H", "X-Forwarded-For: 10.9.9.9",
                         self.relay.url + "/headers")
        import json
        seen = {k.lower(): v for k, v in json.loads(out).items()} if out.startswith(b"{") else {}
        self.assertTrue(seen, out[:200])
        self.assertNotIn("x-drop-me", seen)
        self.assertNotIn("keep-alive", seen)
        self.assertEqual(seen.get("x-forwarded-for"), "10.9.9.9, 127.0.0.1")
        self.assertEqual(seen.get("x-forwarded-proto"), "http")
        self.assertIn("authrelay", seen.get("via", ""))
        self.assertEqual(seen.get("accept-encoding"), "identity")

    # 2. keep-alive and pipelining ----------------------------------------------
    def test_keepalive_reuse_upstream(self):
        agent = AgentServer()
        relay = Relay(agent.url)
        try:
            urls = [relay.url + "/stream?format=sse&count=3&id=%d" % i for i in range(5)]
            curl(*urls)
            curl(*urls)
            st = agent.stats()
            self.assertEqual(st["requests"], 10)
            self.assertLess(st["connections_accepted"], 10)
            self.assertLessEqual(st["connections_accepted"], 2)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()

    def test_pipelined_in_order(self):
        reqs = b"".join(b"GET /stream?format=ndjson&count=%d&id=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (i + 1, 100 + i)
                        for i in range(4))
        reqs += b"GET /stream?format=ndjson&count=1&id=200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        got, closed = raw_exchange(self.relay.port, reqs, timeout=10)
        self.assertTrue(closed)
        self.assertEqual(got.count(b"HTTP/1.1 200"), 5)
        positions = [got.find(b'"id":%d' % n) if got.find(b'"id":%d' % n) >= 0 else got.find(b'"stream":%d' % n)
                     for n in (100, 101, 102, 103, 200)]
        self.assertTrue(all(p >= 0 for p in positions), positions)
        self.assertEqual(positions, sorted(positions))

    # 3. malformed and smuggling requests -------------------------------------
    MALFORMED = [
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;\x01\r\nhello\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad\tName: 1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\n : empty-name\r\n\r\n", 400),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n", 431),
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", 431),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417),
    ]

    def test_malformed_requests_refused_and_never_forwarded(self):
        self.agent.reset()
        for i, (raw, want) in enumerate(self.MALFORMED):
            got, closed = raw_exchange(self.relay.port, raw, timeout=5)
            self.assertEqual(status_of(got), want, "case %d: %r -> %r" % (i, raw[:60], got[:80]))
            self.assertTrue(closed, "case %d: connection left open" % i)
        st = self.agent.stats()
        self.assertEqual(st["requests"], 0, "a malformed request reached the upstream")
        self.assertEqual(st["connections_accepted"], 0)

    def test_body_over_limit_chunked(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--max-body-bytes", "100000")
        try:
            data = b"a" * 300000
            raw = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
            got, closed = raw_exchange(relay.port, raw, timeout=5)
            self.assertEqual(status_of(got), 413)
            self.assertTrue(closed)
        finally:
            relay.stop()
            agent.stop()

    def test_slow_head_gets_408(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            got = b""  # the socket's timeout bounds the wait: no duration is asserted
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(status_of(got), 408)
        finally:
            s.close()

    def test_malformed_upstream_responses_give_502(self):
        for kind in ("badstatus", "badheader", "badchunk"):
            _, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", self.relay.url + "/malformed?kind=" + kind,
                             check=False)
            self.assertEqual(out, b"502", kind)

    def test_upstream_refused_502_and_timeout_504(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        relay = Relay("http://127.0.0.1:%d" % port)
        try:
            _, out, _ = curl("-w", "\n%{http_code}", relay.url + "/x", check=False)
            body, code = out.rsplit(b"\n", 1)
            self.assertEqual(code, b"502")
            # the APIs' one error shape, for the relay's own answers too
            self.assertEqual(json.loads(body), {"detail": "upstream refused the connection", "status": 502})
        finally:
            relay.stop()
        relay = Relay(self.agent.url, "--upstream-idle-timeout-s", "1")
        try:
            _, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", relay.url + "/slow-head?ms=3000", check=False)
            self.assertEqual(out, b"504")
            m = relay.metrics()
            self.assertEqual(m['authrelay_upstream_errors_total{kind="timeout"}'], 1)
        finally:
            relay.stop()

    def test_upstream_silent_mid_stream_is_a_504_relay_error(self):
        # an upstream that stops answering mid-stream is a gateway timeout
        # (504), as before the head; one that fails (below) is 502
        relay = Relay(self.agent.url, "--upstream-idle-timeout-s", "1")
        try:
            _, out, _ = curl(relay.url + "/stream?format=sse&count=3&rate=0.1", check=False)
            self.assertIn(b'"seq":0', out)
            err = json.loads(out.split(b"event: relay_error\ndata: ", 1)[1].split(b"\n", 1)[0])
            self.assertEqual((err["status"], err["message"]), (504, "upstream timed out"))
        finally:
            self.assertEqual(relay.stop(), 0)

    def test_upstream_gone_mid_stream_sse_gets_relay_error(self):
        code, out, _ = curl(self.relay.url + "/malformed?kind=truncated", check=False)
        self.assertNotEqual(code, 0)  # the chunked body never ends properly
        self.assertIn(b"event: relay_error\ndata: {\"type\":\"relay_error\"", out)

    def test_upstream_gone_mid_stream_ndjson_gets_relay_error_line(self):
        agent = AgentServer()
        relay = Relay(agent.url)
        try:
            p = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "20",
                                  relay.url + "/stream?format=ndjson&count=1000&rate=20"],
                                 stdout=subprocess.PIPE)
            first = p.stdout.readline()
            self.assertIn(b'"seq":0', first)
            agent.proc.kill()  # the upstream goes away mid-stream
            rest = p.stdout.read()
            p.wait()
            p.stdout.close()
            last = json.loads(rest.splitlines()[-1])
            self.assertEqual(last["type"], "relay_error")
            self.assertEqual(last["status"], 502)
            self.assertNotEqual(p.returncode, 0)  # the chunked body never ends properly
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()

    def test_compressed_body_passes_uninspected_or_is_refused(self):
        path = "/stream?format=sse&count=5&auth_at=2&shape=mcp&encoding=gzip"
        before = self.relay.metrics()['authrelay_uninspected_total{reason="encoding"}']
        _, direct, _ = curl(self.agent.url + path)
        _, relayed, _ = curl("-H", "X-Registered-User-Id: user_1", self.relay.url + path)
        self.assertEqual(direct, relayed)  # on_uninspectable: pass (default), never paused
        after = self.relay.metrics()
        self.assertEqual(after['authrelay_uninspected_total{reason="encoding"}'] - before, 1)
        strict = Relay(self.agent.url, "--on-uninspectable", "fail")
        try:
            _, code, _ = curl("-o", "/dev/null", "-w", "%{http_code}", strict.url + path, check=False)
            self.assertEqual(code, b"502")
            _, code, _ = curl("-o", "/dev/null", "-w", "%{http_code}",
                              strict.url + "/stream?format=sse&count=5", check=False)
            self.assertEqual(code, b"200")
        finally:
            self.assertEqual(strict.stop(), 0)

    # back-pressure ------------------------------------------------------------
    def test_backpressure_holds_upstream(self):
        agent = AgentServer()
        relay = Relay(agent.url)
        try:
            # A small receive buffer, set before connecting: shrinking it on
            # a connected socket shrinks a window already advertised, and the
            # sender then waits on zero-window probes (a flaky 2-minute test).
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.settimeout(10)
            s.connect(("127.0.0.1", relay.port))
            s.sendall(b"GET /stream?format=sse&count=20000&size=1000&id=5 HTTP/1.1\r\nHost: x\r\n\r\n")
            # the client reads nothing meanwhile: the agent server ends up
            # blocked on its write, and the relay has not buffered the rest
            wait_until(lambda: agent.stats()["blocked_now"] >= 1, "the agent server blocked on its write")
            self.assertLess(relay.rss_kib(), 64 * 1024)
            got = bytearray()  # not bytes: += on bytes copies it all each time
            s.settimeout(20)
            while not got.endswith(b"0\r\n\r\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
            s.close()
            got = bytes(got)
            self.assertIn(b"event: done", got)
            seqs = [int(x) for x in __import__("re").findall(rb'"seq":(\d+)', got)]
            self.assertEqual(seqs, list(range(20000)))
        finally:
            relay.stop()
            agent.stop()

    # 4. drain -------------------------------------------------------------------
    def test_sigterm_drains_open_streams(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--drain-timeout-s", "20")
        try:
            result = {}

            def fetch():
                result["out"] = curl(relay.url + "/stream?format=sse&count=30&rate=20&id=3", check=False)

            t = threading.Thread(target=fetch)
            t.start()
            wait_until(lambda: agent.stats()["streams_active"] >= 1, "the stream open")
            relay.proc.send_signal(signal.SIGTERM)

            def refused():
                try:
                    c = socket.create_connection(("127.0.0.1", relay.port), timeout=2)
                    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    closed = c.recv(100) == b""
                    c.close()
                    return closed
                except OSError:
                    return True
            wait_until(refused, "new connections refused while draining", 5)
            t.join(30)
            code, out, _ = result["out"]
            self.assertEqual(code, 0)
            self.assertIn(b"event: done", out)
            self.assertEqual(relay.proc.wait(30), 0)
        finally:
            relay.stop()
            agent.stop()

    # 5. workers -------------------------------------------------------------------
    def test_two_workers_share_the_port(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--workers", "2")
        try:
            threads = []
            outs = []
            for i in range(8):
                t = threading.Thread(target=lambda i=i: outs.append(
                    curl(*[relay.url + "/stream?format=ndjson&count=5&id=%d" % (i * 10 + j) for j in range(5)])[1]))
                t.start()
                threads.append(t)
            for t in threads:
                t.join(30)
            self.assertEqual(len(outs), 8)
            self.assertEqual(relay.metrics()["authrelay_requests_total"], 40)
            # stream ids "st_<worker>_<n>": the worker's index and its request
            # count since start, both decimal (n zero-padded to 6 digits), distinct
            ids = wait_until(lambda: (lambda a: a if len(a) == 40 else None)(
                [r["stream_id"] for r in list(relay.logs) if r.get("msg") == "access"]), "40 access lines")
            for sid in ids:
                self.assertRegex(sid, r"^st_[01]_[0-9]{6}$")
            self.assertEqual(len(set(ids)), 40)
            self.assertTrue({"st_0_000010", "st_1_000010"} & set(ids), ids)  # a worker's 10th: 10, not 00000a
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()

    def test_metrics_and_health(self):
        _, out, _ = curl(self.relay.control_url + "/healthz")
        self.assertIn(b"ok", out)
        _, out, _ = curl(self.relay.control_url + "/readyz")
        self.assertIn(b"ready", out)
        before = self.relay.metrics()
        self.same_body("/stream?format=sse&count=10&id=77")
        after = self.relay.metrics()
        self.assertEqual(after['authrelay_events_total{format="sse"}'] - before.get('authrelay_events_total{format="sse"}', 0), 11)


class Result(unittest.TextTestResult):
    pass


if __name__ == "__main__":
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result)
    prog = unittest.main(exit=False, testRunner=runner)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    print("%d passed, %d failed" % (r.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
