"""Integration tests of auth interrupts (issue: detect, pause, link_token, resume).

Real processes on loopback: the example agent server streams N events, an
auth-required tool result, then M events; authrelay (embedded in-memory link
service) sits in front; curl reads the stream; the test opens the link page
and submits its form like a browser would. What the client receives must be
exactly the direct stream with the auth-required event replaced by
link_token, heartbeats and auth_complete: no byte lost, duplicated or
reordered. These tests are about the pause, written for on_detect: replace
(the default is rewrite since #14): every relay here is pinned to it (the
keep test to keep); tests/integration/test_dialects.py covers rewrite.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, RelayCase, Stream, curl, http, link_of, raw_exchange, wait_until  # noqa: E402

USER = {"X-Registered-User-Id": "user_1"}
ADMIN_KEY = "test-admin-key-0123456789"
REPLACE = ("--on-detect", "replace")  # what these tests were written for


def sse_events(raw):
    """Splits an SSE body into its blocks (each with its blank line)."""
    return [b + b"\n\n" for b in raw.split(b"\n\n") if b]


def injected(block):
    return block.startswith(b": paused") or any(
        block.startswith(b"event: " + t) for t in (b"link_token", b"auth_complete", b"link_expired"))


class PauseTest(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--heartbeat-s", "1", *REPLACE, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})

    def complete(self, url, key="sk-test-123"):
        page_status, page = http("GET", url)
        self.assertEqual(page_status, 200)
        self.assertIn('name="api_key"', page)
        return http("POST", url, urllib.parse.urlencode({"api_key": key}).encode())

    # 1. N events, pause, link page, M events byte-exact, upstream held back
    def test_sse_pause_and_resume_byte_exact(self):
        n, m = 5, 3000
        path = "/stream?format=sse&count=%d&auth_at=%d&shape=mcp&size=1500" % (n + 1 + m, n)
        _, direct, _ = curl(self.agent.url + path)
        self.agent.reset()
        s = Stream(self.relay.url + path, USER)
        token, url = link_of(s)
        self.assertTrue(url.startswith(self.relay.url + "/_authrelay/link/ltk_"), url)
        s.wait_for(rb": paused\n\n")  # a heartbeat arrives while paused (heartbeat_s 1)
        # The agent server cannot write while paused: TCP back-pressure.
        def blocked():
            st = self.agent.stats()
            return st if st["blocked_now"] >= 1 else None
        stats = wait_until(blocked, "the agent server blocked on its write")
        self.assertLess(stats["events_sent"], n + 1 + m, stats)
        with s.lock:
            self.assertNotIn(b'"seq":%d' % (n + 1), s.data)  # nothing after the pause leaked
        status, page = self.complete(url)
        self.assertEqual(status, 200)
        self.assertIn("Connected", page)
        body = s.finish()
        blocks = sse_events(body)
        direct_blocks = sse_events(direct)
        auth = [b for b in direct_blocks if b"authenticate_meta" in b]
        self.assertEqual(len(auth), 1)
        # The client got the direct stream with the auth event withheld...
        self.assertEqual(b"".join(b for b in blocks if not injected(b)),
                         b"".join(b for b in direct_blocks if b is not auth[0]))
        # ...and link_token where it was, then heartbeats, then auth_complete.
        kinds = [b.split(b"\n", 1)[0] for b in blocks]
        i = kinds.index(b"event: link_token")
        self.assertEqual(i, n)
        j = kinds.index(b"event: auth_complete")
        self.assertTrue(all(k == b": paused" for k in kinds[i + 1:j]))
        self.assertGreaterEqual(j - i - 1, 1)
        done = json.loads(blocks[j].split(b"data: ", 1)[1])
        self.assertEqual(done["type"], "auth_complete")
        self.assertEqual(done["connector"], "slack")
        # The link token the agent server put in its result is never shown.
        self.assertIn(b"ltk_upstream", direct)
        self.assertNotIn(b"ltk_upstream", body)
        # A link works once.
        self.assertEqual(http("POST", url, b"api_key=again")[0], 410)
        self.assertEqual(http("GET", url)[0], 410)

    def test_ndjson_pause_magic_link_shape(self):
        path = "/stream?format=ndjson&count=12&auth_at=4&shape=magic_link&connector=github"
        _, direct, _ = curl(self.agent.url + path)
        s = Stream(self.relay.url + path, USER)
        token, url = link_of(s)
        self.assertEqual(self.complete(url)[0], 200)
        body = s.finish()
        lines = body.splitlines(keepends=True)
        kinds = [json.loads(ln).get("type") for ln in lines]
        self.assertEqual(kinds[4], "link_token")
        self.assertEqual(kinds[5], "auth_complete")
        link = json.loads(lines[4])
        self.assertEqual(link["connector"], "github")
        self.assertEqual(link["link_token"], token)
        direct_lines = direct.splitlines(keepends=True)
        self.assertIn(b"magic_link_url", direct_lines[4])
        self.assertEqual(lines[:4] + lines[6:], direct_lines[:4] + direct_lines[5:])

    def test_openai_and_vercel_shapes_pause(self):
        for shape in ("openai", "vercel", "authenticate_meta"):
            s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=" + shape, USER)
            _, url = link_of(s)
            self.assertEqual(self.complete(url)[0], 200, shape)
            body = s.finish()
            self.assertIn(b"event: auth_complete", body, shape)
            self.assertIn(b'"seq":3', body, shape)

    def test_streams_of_one_user_and_connector_share_the_link(self):
        path = "/stream?format=sse&count=6&auth_at=2&shape=authenticate_meta&connector=notion"
        streams = [Stream(self.relay.url + path, USER) for _ in range(3)]
        tokens = {link_of(s)[0] for s in streams}
        self.assertEqual(len(tokens), 1)
        other = Stream(self.relay.url + path, {"X-Registered-User-Id": "user_2"})
        self.assertNotIn(link_of(other)[0], tokens)
        _, url = link_of(streams[0])
        self.assertEqual(self.complete(url)[0], 200)
        for s in streams:
            body = s.finish()
            self.assertEqual(body.count(b"event: auth_complete"), 1)
            self.assertIn(b'"seq":5', body)
        with other.lock:
            self.assertNotIn(b"auth_complete", other.data)  # still paused
        other.kill()

    def test_without_trusted_identity_the_result_passes(self):
        before = self.relay.metrics()
        path = "/stream?format=sse&count=5&auth_at=2&shape=mcp"
        _, direct, _ = curl(self.agent.url + path)
        _, relayed, _ = curl(self.relay.url + path)
        self.assertEqual(direct, relayed)
        after = self.relay.metrics()
        self.assertEqual(after["authrelay_detections_unhandled_total"]
                         - before["authrelay_detections_unhandled_total"], 1)

    def test_client_gone_closes_upstream_and_revokes_the_link(self):
        aborted = self.agent.stats()["streams_aborted"]
        s = Stream(self.relay.url + "/stream?format=sse&count=5&rate=2&auth_at=1&connector=linear", USER)
        _, url = link_of(s)
        s.kill()
        # The upstream connection is closed: the agent server sees its stream cut short.
        wait_until(lambda: self.agent.stats()["streams_aborted"] != aborted, "the upstream stream cut", 5)
        self.assertEqual(self.agent.stats()["streams_aborted"], aborted + 1)
        wait_until(lambda: http("GET", url)[0] == 410, "the link withdrawn", 5)
        status, page = http("GET", url)
        self.assertEqual(status, 410)
        self.assertIn("withdrawn", page)
        metrics = self.relay.metrics()
        self.assertGreaterEqual(metrics['authrelay_resumes_total{outcome="client_gone"}'], 1)

    def control(self, method, path):
        status, body = http(method, self.relay.control_url + path, b"" if method == "POST" else None,
                            {"Authorization": "Bearer " + ADMIN_KEY})
        return status, (json.loads(body) if body.startswith("{") else body)

    def test_control_api_refuses_without_the_bearer_key(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_KEY}):
            self.assertEqual(http("GET", self.relay.control_url + "/v1/streams", None, headers)[0], 401)
        self.assertEqual(http("POST", self.relay.control_url + "/v1/streams/st_1/cancel", b"")[0], 401)

    def test_control_api_lists_resumes_and_cancels(self):
        user = {"X-Registered-User-Id": "user_ops"}
        a = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=1&connector=asana", user)
        link_of(a)
        sid = json.loads(a.wait_for(rb"event: link_token\ndata: (\{.*\})\n").group(1))["stream_id"]
        status, listing = self.control("GET", "/v1/streams")
        self.assertEqual(status, 200)
        mine = [st for st in listing["streams"] if st["stream_id"] == sid]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["registered_user"], "user_ops")
        self.assertEqual(mine[0]["connector"], "asana")
        self.assertEqual(mine[0]["state"], "paused")
        self.assertIn("paused_since_ms", mine[0])
        self.assertIn("held_bytes", mine[0])
        self.assertEqual(self.control("GET", "/v1/streams/" + sid)[1]["stream_id"], sid)
        self.assertEqual(self.control("POST", "/v1/streams/" + sid + "/resume")[0], 202)
        body = a.finish()
        self.assertIn(b"event: auth_complete", body)
        self.assertIn(b'"seq":4', body)
        self.assertEqual(self.control("GET", "/v1/streams/" + sid)[0], 404)
        self.assertEqual(self.control("POST", "/v1/streams/" + sid + "/cancel")[0], 404)
        b = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=1&connector=zoom", user)
        link_of(b)
        sid = json.loads(b.wait_for(rb"event: link_token\ndata: (\{.*\})\n").group(1))["stream_id"]
        self.assertEqual(self.control("POST", "/v1/streams/" + sid + "/cancel")[0], 202)
        body = b.finish()
        err = json.loads(body.split(b"event: relay_error\ndata: ", 1)[1].split(b"\n", 1)[0])
        self.assertEqual(err["type"], "relay_error")
        self.assertEqual(err["stream_id"], sid)
        self.assertNotIn(b'"seq":2', body)

    def test_content_length_stream_is_reframed_when_paused(self):
        path = "/stream?format=sse&count=6&auth_at=2&shape=mcp&framing=length"
        s = Stream(self.relay.url + path, USER)
        _, url = link_of(s)
        self.assertEqual(self.complete(url)[0], 200)
        body = s.finish()
        self.assertEqual(s.proc.returncode, 0)  # curl saw a well-framed response
        self.assertTrue(body.endswith(b"event: done\ndata: {\"type\":\"done\",\"events\":6}\n\n"), body[-80:])
        _, head, _ = curl("-s", "-D", "-", "-o", "/dev/null", self.relay.url + path)
        self.assertNotIn(b"content-length", head.lower())
        self.assertIn(b"transfer-encoding: chunked", head.lower())

    def test_many_pipelined_link_page_requests(self):
        n = 3000
        got, _ = raw_exchange(self.relay.port, b"GET /_authrelay/link/x HTTP/1.1\r\nHost: a\r\n\r\n" * n,
                              timeout=20)
        self.assertEqual(got.count(b"HTTP/1.1 404 "), n)
        self.assertEqual(http("GET", self.relay.control_url + "/healthz")[0], 200)

    def test_unknown_link_and_bad_form(self):
        self.assertEqual(http("GET", self.relay.url + "/_authrelay/link/ltk_" + "0" * 32)[0], 404)
        s = Stream(self.relay.url + "/stream?format=sse&count=3&auth_at=1&connector=jira", USER)
        _, url = link_of(s)
        self.assertEqual(http("POST", url, b"other=1")[0], 400)  # no api_key: still pending
        self.assertEqual(self.complete(url)[0], 200)
        s.finish()


class ExpiryAndKeepTest(unittest.TestCase):
    def test_link_expiry_then_continue_and_keep(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--pause-timeout-s", "2", "--on-detect", "keep")
        try:
            path = "/stream?format=sse&count=6&auth_at=2&shape=mcp"
            s = Stream(relay.url + path, USER)
            _, url = link_of(s)
            body = s.finish()
            blocks = sse_events(body)
            kinds = [b.split(b"\n", 1)[0] for b in blocks]
            # keep: the auth-required event itself, then link_token.
            self.assertIn(b"authenticate_meta", blocks[2])
            self.assertEqual(kinds[3], b"event: link_token")
            self.assertIn(b"event: link_expired", kinds)
            self.assertIn(b'"seq":5', body)
            self.assertEqual(http("GET", url)[0], 410)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


class LimitsTest(unittest.TestCase):
    def test_after_expiry_close_and_max_pauses(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--pause-timeout-s", "1", "--after-expiry", "close", *REPLACE)
        never = Relay(agent.url, "--max-pauses-per-stream", "0", *REPLACE)
        try:
            s = Stream(relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp", USER)
            body = s.finish()
            self.assertIn(b"event: link_expired", body)
            self.assertTrue(body.endswith(b"\n\n"))
            self.assertNotIn(b'"seq":3', body)  # the stream ended at the expiry
            path = "/stream?format=sse&count=5&auth_at=2&shape=mcp"
            _, direct, _ = curl(agent.url + path)
            _, relayed, _ = curl("-H", "X-Registered-User-Id: user_1", never.url + path)
            self.assertEqual(direct, relayed)  # max_pauses_per_stream 0: never paused
            self.assertEqual(never.metrics()["authrelay_detections_unhandled_total"], 1)
        finally:
            self.assertEqual(relay.stop(), 0)
            self.assertEqual(never.stop(), 0)
            agent.stop()


class HeldBytesTest(unittest.TestCase):
    def test_more_than_max_held_bytes_ends_the_stream_with_relay_error(self):
        agent = AgentServer()
        # generic: the first event is an MCP-shaped result, which dialect: auto
        # would take for an MCP stream (relay_error as a comment there)
        routes = json.dumps([{"prefix": "/", "upstream": agent.url, "dialect": "generic"}])
        relay = Relay(None, "--routes", routes, "--max-held-bytes", "4096", *REPLACE)
        try:
            # One 18 KB body written at once: the read that brings the
            # auth-required event (the first) brings 15 KB after it.
            path = "/stream?format=sse&count=6&size=3000&auth_at=0&shape=mcp&framing=length"
            for _ in range(3):
                _, body, _ = curl("-H", "X-Registered-User-Id: user_1", relay.url + path)
                err = json.loads(body.split(b"event: relay_error\ndata: ", 1)[1].split(b"\n", 1)[0])
                self.assertEqual(err["status"], 507)
                self.assertNotIn(b"event: link_token", body)
                self.assertNotIn(b'"seq":1', body)  # nothing held was let through
            self.assertEqual(http("GET", relay.control_url + "/healthz")[0], 200)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


class LongPauseTest(unittest.TestCase):
    def test_pause_outlives_upstream_idle_timeout(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--upstream-idle-timeout-s", "1", *REPLACE)
        try:
            s = Stream(relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp", USER)
            _, url = link_of(s)
            time.sleep(2.5)  # the stimulus: paused longer than upstream_idle_timeout_s
            self.assertEqual(http("POST", url, b"api_key=k")[0], 200)
            body = s.finish()
            self.assertIn(b"event: auth_complete", body)
            self.assertNotIn(b"relay_error", body)
            self.assertIn(b'"seq":5', body)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


class PauseNumberTest(unittest.TestCase):
    """Control commands name the pause (?pause=N): one meant for a pause that
    ended is 409 and never reaches the stream's next pause."""

    def test_command_for_an_ended_pause_is_refused(self):
        agent = AgentServer()
        # resume: retry, and the retried request asks for the account again:
        # the stream pauses a second time (pause 2).
        routes = json.dumps([{"prefix": "/", "upstream": agent.url, "resume": "retry", "on_detect": "replace"}])
        relay = Relay(None, "--routes", routes, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})

        def control(method, path):
            status, body = http(method, relay.control_url + path, b"" if method == "POST" else None,
                                {"Authorization": "Bearer " + ADMIN_KEY})
            return status, (json.loads(body) if body.startswith("{") else body)

        try:
            s = Stream(relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp&connector=asana", USER)
            m = s.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
            sid = json.loads(m.group(1))["stream_id"]
            status, st = control("GET", "/v1/streams/" + sid)
            self.assertEqual((status, st["pause"]), (200, 1))
            self.assertIn({"stream_id": sid, "pause": 1},
                          [{"stream_id": x["stream_id"], "pause": x["pause"]}
                           for x in control("GET", "/v1/streams")[1]["streams"]])
            status, ans = control("POST", "/v1/streams/%s/resume?pause=1" % sid)
            self.assertEqual((status, ans["pause"]), (202, 1))
            # pause 2 begins (the retry's auth-required result)
            s.wait_for(rb"event: link_token[\s\S]*event: auth_complete[\s\S]*event: link_token")
            wait_until(lambda: control("GET", "/v1/streams/" + sid)[0] == 200, "pause 2 listed", 10)
            status, st = control("GET", "/v1/streams/" + sid)
            self.assertEqual((status, st["pause"], st["state"]), (200, 2, "paused"))
            # a cancel meant for pause 1 (it resumed): 409, pause 2 untouched
            status, ans = control("POST", "/v1/streams/%s/cancel?pause=1" % sid)
            self.assertEqual(status, 409, ans)
            # the APIs' one error shape: {"detail": text} (+ context: the pause, field errors)
            self.assertEqual(ans, {"detail": "Pause 1 has ended.", "pause": 2})
            for bad in ("abc", "0", "-1", "", "1x", "99999999", "1&pause=1"):
                status, ans = control("POST", "/v1/streams/%s/cancel?pause=%s" % (sid, bad))
                self.assertEqual(status, 400, bad)
                self.assertEqual(sorted(ans), ["detail", "pause"], bad)
            self.assertEqual(control("POST", "/v1/streams/st_nope/cancel?pause=1"),
                             (404, {"detail": "No paused stream with this id."}))
            self.assertEqual(control("POST", "/v1/streams/%s/cancel?pause=3" % sid),
                             (409, {"detail": "Pause 3 has not begun.", "pause": 2}))  # not begun
            self.assertEqual(control("GET", "/v1/nothing-here"), (404, {"detail": "Not found."}))
            status, st = control("GET", "/v1/streams/" + sid)
            self.assertEqual((status, st["pause"], st["state"]), (200, 2, "paused"))
            with s.lock:
                self.assertNotIn(b"relay_error", s.data)
            # naming pause 2 works
            status, ans = control("POST", "/v1/streams/%s/cancel?pause=2" % sid)
            self.assertEqual((status, ans["pause"]), (202, 2))
            body = s.finish()
            err = json.loads(body.split(b"event: relay_error\ndata: ", 1)[1].split(b"\n", 1)[0])
            self.assertEqual(err["stream_id"], sid)
            # both pauses have ended now
            self.assertEqual(control("POST", "/v1/streams/%s/resume?pause=2" % sid)[0], 409)
            self.assertEqual(control("POST", "/v1/streams/%s/resume" % sid)[0], 404)
            # time metrics in seconds, the Prometheus base unit
            m = relay.metrics()
            self.assertIsInstance(m["authrelay_pause_seconds_total"], float)
            self.assertNotIn("authrelay_pause_milliseconds_total", m)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


class RetryTest(unittest.TestCase):
    def test_retry_sends_the_request_again_and_splices_the_new_body(self):
        agent = AgentServer()
        routes = json.dumps([{"prefix": "/", "upstream": agent.url, "resume": "retry", "on_detect": "replace"}])
        relay = Relay(None, "--routes", routes)
        try:
            path = "/stream?format=sse&count=6&auth_at=2&shape=mcp&auth_unless_retry=1"
            s = Stream(relay.url + path, USER)
            _, url = link_of(s)
            self.assertEqual(http("POST", url, b"api_key=k")[0], 200)
            body = s.finish()
            stats = agent.stats()
            self.assertEqual(stats["retry_requests"], 1)
            self.assertEqual(stats["last_request_headers"].get("x-authrelay-retry"), "1")
            blocks = sse_events(body)
            seqs = [json.loads(b.split(b"data: ", 1)[1])["seq"] for b in blocks
                    if b.startswith(b"event: delta")]
            # First response up to the detection (0, 1), then all of the second (0..5 but 2,
            # which the retried response sends as a normal event).
            self.assertEqual(seqs[:2], [0, 1])
            kinds = [b.split(b"\n", 1)[0] for b in blocks]
            self.assertEqual(kinds[2], b"event: link_token")
            j = kinds.index(b"event: auth_complete")
            after = [json.loads(b.split(b"data: ", 1)[1]).get("seq") for b in blocks[j + 1:]
                     if not b.startswith(b"event: done")]
            self.assertEqual(after, [0, 1, 2, 3, 4, 5])
            self.assertNotIn(b"authenticate_meta", b"".join(blocks[j + 1:]))
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
