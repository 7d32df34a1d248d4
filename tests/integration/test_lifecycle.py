"""Integration tests of the daemon's life cycle (issue #11, items 5 to 7).

Real processes on loopback: authrelay started from a config file in a
temporary directory, the example agent server as upstream (two of them when
a reload moves a route), curl as the client.

- SIGHUP reloads the config file: streams paused or flowing go on untouched
  and keep the config they began with; new requests use the new one; a bad
  file is logged and changes nothing; keys that need a restart are named.
- A listen port another process holds (with or without SO_REUSEPORT) stops
  the start with exit status 2 and a message naming the address.
- --check-config checks what the start needs (files, directories, ports);
  --version prints CMake's project version.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AUTHRELAY, AgentServer, Relay, Stream, curl, http, link_of, wait_until  # noqa: E402
from test_notify import Receiver  # noqa: E402

USER = {"X-Registered-User-Id": "user_1"}
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
WEBHOOK_SECRET = "whsec-test-0123456789"  # as test_notify's Receiver checks


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def logs_with(relay, msg):
    return [r for r in list(relay.logs) if r.get("msg") == msg]


def reload(relay, expect="config reloaded"):
    """Sends SIGHUP and waits for the outcome's log line; returns it."""
    before = len(logs_with(relay, expect))
    relay.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: len(logs_with(relay, expect)) > before, repr(expect))
    return logs_with(relay, expect)[-1]


def seqs_of(body):
    return [json.loads(line[6:])["seq"] for line in body.split(b"\n")
            if line.startswith(b"data: ") and b'"seq"' in line]


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="authrelay-lifecycle-")
        self.path = os.path.join(self.dir, "authrelay.json")
        self.agent_a = AgentServer()
        self.agent_b = AgentServer()
        self.relay = None

    def tearDown(self):
        if self.relay is not None:
            code = self.relay.stop()
            self.assertEqual(code, 0, "authrelay exited with %r" % code)
        self.agent_a.stop()
        self.agent_b.stop()
        subprocess.run(["rm", "-rf", self.dir])

    def start(self, cfg):
        write_json(self.path, cfg)
        self.relay = Relay(None, "--config", self.path)

    def route(self, agent, **extra):
        return dict({"prefix": "/", "upstream": agent.url, "resume": "retry"}, **extra)

    def test_paused_stream_keeps_its_config_new_requests_take_the_new_one(self):
        self.start({"routes": [self.route(self.agent_a)], "max_body_bytes": 1000})
        # A stream pauses; its route says "retry on agent A".
        s = Stream(self.relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp&auth_unless_retry=1", USER)
        _, url = link_of(s)
        # The route moves to agent B, the body limit grows.
        write_json(self.path, {"routes": [self.route(self.agent_b)], "max_body_bytes": 100000})
        line = reload(self.relay)
        self.assertEqual(line["generation"], 1)
        self.assertIsNone(self.relay.proc.poll(), "SIGHUP ended the daemon")
        # New requests use the new config: agent B, and the new limit.
        self.agent_b.reset()
        _, body, _ = curl(self.relay.url + "/stream?format=sse&count=3")
        self.assertEqual(seqs_of(body), [0, 1, 2])
        self.assertEqual(self.agent_b.stats()["requests"], 1)
        _, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: text/plain",
                         "--data-binary", "x" * 5000, self.relay.url + "/echo")
        self.assertEqual(out, b"200")
        # The paused stream resumes under the config it began with: the retry
        # goes to agent A, and nothing of the stream is lost.
        self.assertEqual(http("POST", url, b"api_key=k")[0], 200)
        body = s.finish()
        self.assertEqual(self.agent_a.stats()["retry_requests"], 1)
        self.assertEqual(self.agent_b.stats()["retry_requests"], 0)
        self.assertIn(b"event: auth_complete", body)
        self.assertNotIn(b"relay_error", body)
        after = body.split(b"event: auth_complete", 1)[1]
        self.assertEqual(seqs_of(after), [0, 1, 2, 3, 4, 5])
        self.assertIsNone(self.relay.proc.poll())

    def test_flowing_stream_is_untouched_by_reloads(self):
        self.start({"routes": [self.route(self.agent_a)], "workers": 2})
        path = "/stream?format=sse&count=2000&rate=200&size=100"
        direct = Stream(self.agent_a.url + path)
        s = Stream(self.relay.url + path)
        s.wait_for(rb'"seq":20,')
        for i in range(3):
            write_json(self.path, {"routes": [self.route(self.agent_b if i % 2 == 0 else self.agent_a)],
                                   "pool_max_idle": 10 + i, "workers": 2})
            self.assertEqual(reload(self.relay)["generation"], i + 1)  # logged once both workers use it
            # a request of its own on each new config meanwhile
            self.assertEqual(curl("-o", "/dev/null", "-w", "%{http_code}",
                                  self.relay.url + "/stream?count=1")[1], b"200")
        self.assertIsNone(s.proc.poll(), "the stream ended before the reloads were done: make it longer")
        body = s.finish()
        self.assertEqual(body, direct.finish())
        self.assertEqual(seqs_of(body), list(range(2000)))
        self.assertIsNone(self.relay.proc.poll())

    def test_sighup_while_draining_is_ignored(self):
        self.start({"routes": [self.route(self.agent_a)]})
        s = Stream(self.relay.url + "/stream?format=sse&count=1000&rate=200")
        s.wait_for(rb'"seq":10,')
        self.relay.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: logs_with(self.relay, "draining"), "draining")
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: logs_with(self.relay, "config reload ignored: draining"), "the SIGHUP to be ignored")
        self.assertEqual(seqs_of(s.finish()), list(range(1000)))  # the drain lets it finish
        relay, self.relay = self.relay, None
        self.assertEqual(relay.stop(), 0)

    def test_bad_file_keeps_the_running_config(self):
        self.start({"routes": [self.route(self.agent_a)], "max_body_bytes": 1000})
        with open(self.path, "w") as f:
            f.write('{"routes": [')
        line = reload(self.relay, "config reload failed")
        self.assertIn(self.path, line["error"])
        write_json(self.path, {"routes": [self.route(self.agent_b)], "max_body_bytez": 5})
        line = reload(self.relay, "config reload failed")
        self.assertIn("max_body_bytez", line["error"])
        write_json(self.path, {"routes": [self.route(self.agent_b)], "connectors": os.path.join(self.dir, "none.json")})
        line = reload(self.relay, "config reload failed")
        self.assertIn("none.json", line["error"])
        self.assertEqual(logs_with(self.relay, "config reloaded"), [])
        # Still agent A, still the 1000-byte body limit.
        self.agent_a.reset()
        self.assertEqual(seqs_of(curl(self.relay.url + "/stream?format=sse&count=2")[1]), [0, 1])
        self.assertEqual(self.agent_a.stats()["requests"], 1)
        _, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: text/plain",
                         "--data-binary", "x" * 5000, self.relay.url + "/echo")
        self.assertEqual(out, b"413")
        self.assertIsNone(self.relay.proc.poll())

    def test_keys_that_need_a_restart_are_named_and_kept(self):
        self.start({"routes": [self.route(self.agent_a)]})
        write_json(self.path, {"routes": [self.route(self.agent_a)], "workers": 3, "pause_timeout_s": 60,
                               "link_service": {"url": "http://127.0.0.1:1", "api_key": "secret-api-key"}})
        reload(self.relay)
        warn = logs_with(self.relay, "config changes that need a restart were not applied")
        self.assertEqual(len(warn), 1)
        self.assertEqual(warn[0]["keys"], "link_service.url, link_service.api_key, workers, pause_timeout_s")
        self.assertFalse([r for r in self.relay.logs if "secret-api-key" in json.dumps(r)])
        # The embedded link service still answers: a stream still pauses with a link of ours.
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp", USER)
        _, url = link_of(s)
        self.assertTrue(url.startswith(self.relay.url + "/_authrelay/link/"), url)
        s.kill()

    def test_log_level_follows_the_reload(self):
        self.start({"routes": [self.route(self.agent_a)]})
        # To warn (with a key that needs a restart, whose warning marks the reload).
        write_json(self.path, {"routes": [self.route(self.agent_a)], "log_level": "warn", "workers": 2})
        self.relay.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: logs_with(self.relay, "config changes that need a restart were not applied"),
                   "the reload's warning")
        curl(self.relay.url + "/stream?count=1")
        # Back to info: "config reloaded" is an info line, written at the new level.
        write_json(self.path, {"routes": [self.route(self.agent_a)]})
        reload(self.relay)
        self.assertEqual(len(logs_with(self.relay, "config reloaded")), 1)
        self.assertEqual(logs_with(self.relay, "access"), [])  # the request at warn
        curl(self.relay.url + "/stream?count=1")
        wait_until(lambda: logs_with(self.relay, "access"), "an access line")

    def test_webhooks_and_catalog_follow_the_reload(self):
        receiver = Receiver()
        try:
            catalog = os.path.join(self.dir, "connectors.json")
            write_json(catalog, {"connectors": [{"slug": "github", "name": "GitHub", "auth": "api_key"}]})
            self.start({"routes": [self.route(self.agent_a)], "connectors": catalog})
            # slack is not in the catalog: the stream is not paused.
            _, body, _ = curl("-H", "X-Registered-User-Id: user_1",
                              self.relay.url + "/stream?format=sse&count=3&auth_at=1&shape=mcp&connector=slack")
            self.assertNotIn(b"event: link_token", body)
            write_json(catalog, {"connectors": [{"slug": "slack", "name": "Slack", "auth": "api_key"}]})
            write_json(self.path, {"routes": [self.route(self.agent_a)], "connectors": catalog,
                                   "webhooks": [{"url": receiver.url, "secret": WEBHOOK_SECRET}]})
            reload(self.relay)
            s = Stream(self.relay.url + "/stream?format=sse&count=3&auth_at=1&shape=mcp&connector=slack", USER)
            token, _ = link_of(s)
            wait_until(lambda: receiver.ids(), "a webhook delivery")
            with receiver.lock:
                got = list(receiver.deliveries)
            self.assertEqual(got[0][1]["type"], "link_token")
            self.assertEqual(got[0][1]["link_token"], token)
            self.assertTrue(got[0][2], "signature not made with the reloaded secret")
            s.kill()
        finally:
            receiver.stop()


def held_port(reuseport):
    """A socket of this process listening on a free loopback port."""
    s = socket.socket()
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, s.getsockname()[1]


def run_authrelay(*args, timeout=15):
    """Runs authrelay to its end: (exit status, stdout, stderr)."""
    p = subprocess.Popen([AUTHRELAY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("authrelay %s is still running: %s" % (args, err.decode()[-600:]))
    return p.returncode, out.decode(), err.decode()


class StopTest(unittest.TestCase):
    def test_sigterm_repeated_until_exit_still_exits_0(self):
        # An impatient supervisor signals again and again: whenever the
        # signals land (in the drain, or while the process closes its last
        # handles), a clean shutdown exits 0, never by the signal.
        agent = AgentServer()
        try:
            for _ in range(5):
                relay = Relay(agent.url)
                while relay.proc.poll() is None:
                    try:
                        relay.proc.send_signal(signal.SIGTERM)
                    except ProcessLookupError:
                        break
                    time.sleep(0.0005)  # the stimulus: signals spread over the whole shutdown
                self.assertEqual(relay.proc.wait(10), 0)
                relay.stop()
        finally:
            agent.stop()


class StartTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="authrelay-lifecycle-")
        self.data_dir = os.path.join(self.dir, "data")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def base(self, listen="127.0.0.1:0", control="127.0.0.1:0"):
        return ["--upstream", "http://127.0.0.1:9", "--listen", listen, "--control", control,
                "--data-dir", self.data_dir]

    def test_listen_port_held_by_another_process_stops_the_start(self):
        for reuseport in (True, False):
            holder, port = held_port(reuseport)
            try:
                code, _, err = run_authrelay(*self.base(listen="127.0.0.1:%d" % port))
                self.assertEqual(code, 2, err)
                self.assertIn("127.0.0.1:%d: address already in use" % port, err)
                code, _, err = run_authrelay(*self.base(control="127.0.0.1:%d" % port))
                self.assertEqual(code, 2, err)
                self.assertIn("control 127.0.0.1:%d: address already in use" % port, err)
            finally:
                holder.close()

    def test_start_failures_exit_2(self):
        open(os.path.join(self.dir, "file"), "w").close()
        code, _, err = run_authrelay(*self.base(), "--data-dir", os.path.join(self.dir, "file"))
        self.assertEqual(code, 2, err)
        self.assertIn("file", err)
        code, _, err = run_authrelay(*self.base(), "--connectors", os.path.join(self.dir, "missing.json"))
        self.assertEqual(code, 2, err)
        self.assertIn("missing.json", err)

    def test_check_config(self):
        free, port = held_port(False)
        free.close()
        good = self.base(listen="127.0.0.1:%d" % port) + [
            "--connectors", os.path.join(ROOT, "examples", "connectors.json"), "--check-config"]
        code, out, err = run_authrelay(*good)
        self.assertEqual((code, out.strip()), (0, "authrelay: configuration ok"), err)
        self.assertFalse(os.path.exists(self.data_dir), "--check-config wrote data_dir")

        code, _, err = run_authrelay(*good, "--connectors", os.path.join(self.dir, "missing.json"))
        self.assertEqual(code, 2)
        self.assertIn("missing.json", err)

        open(os.path.join(self.dir, "file"), "w").close()
        code, _, err = run_authrelay(*good, "--data-dir", os.path.join(self.dir, "file"))
        self.assertEqual(code, 2)
        self.assertIn("data_dir %s is not a directory" % os.path.join(self.dir, "file"), err)

        code, _, err = run_authrelay(*good, "--data-dir", os.path.join(self.dir, "no", "such", "dir"))
        self.assertEqual(code, 2)
        self.assertIn("cannot be created", err)

        for reuseport in (True, False):
            holder, held = held_port(reuseport)
            try:
                code, _, err = run_authrelay(*good, "--listen", "127.0.0.1:%d" % held)
                self.assertEqual(code, 2)
                self.assertIn("listen 127.0.0.1:%d: address already in use" % held, err)
            finally:
                holder.close()

        # The same address written another way (an IPv4-mapped IPv6 one).
        code, _, err = run_authrelay(*good, "--control", "[::ffff:127.0.0.1]:%d" % port)
        self.assertEqual(code, 2)
        self.assertIn("the same address as listen", err)

    def test_version(self):
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            version = re.search(r"project\(authrelay VERSION ([0-9.]+)", f.read()).group(1)
        code, out, err = run_authrelay("--version")
        self.assertEqual((code, out), (0, "authrelay %s\n" % version), err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
