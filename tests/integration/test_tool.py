"""Integration tests of mode: tool routes (issue: tool-call gate).

Real processes on loopback: the example agent server answers with an
auth-required tool result unless the request carries X-Authrelay-Retry
(auth_unless_retry=1), authrelay sits in front with a tool-mode route, curl is
the agent. The agent must never see the auth-required result: its call is
held, the user is told out of band (/v1/events), and once the link is
completed the call is sent again and the genuine response returned. On expiry
the original response is released. (The MCP SDK end to end test is in mcp/.)
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, RelayCase, Stream, curl, http, wait_until  # noqa: E402
from test_linkservice import request  # noqa: E402

ADMIN_KEY = "test-owner-key-tool"


def feed_of(relay, user):
    """The event feed of one user, subscribed before the call starts."""
    before = relay.metrics()["authrelay_events_subscribers"]
    feed = Stream(relay.control_url + "/v1/events?registered_user=" + user,
                  {"Authorization": "Bearer " + ADMIN_KEY})
    wait_until(lambda: relay.metrics()["authrelay_events_subscribers"] > before, "the feed subscribed", 5)
    return feed


def held_bytes(relay, user):
    """The bytes the relay holds for the paused streams of user (control API)."""
    status, body = http("GET", relay.control_url + "/v1/streams", headers={"Authorization": "Bearer " + ADMIN_KEY})
    assert status == 200, body
    return sum(st["held_bytes"] for st in json.loads(body)["streams"] if st["registered_user"] == user)


def held_then_link(relay, feed, stream):
    """Waits for the call's link on the event feed and for the relay to hold
    the upstream's answer; checks that the client got nothing of it."""
    try:
        m = feed.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
    finally:
        feed.kill()
    event = json.loads(m.group(1))
    wait_until(lambda: held_bytes(relay, event["registered_user"]) > 0, "the answer held")
    with stream.lock:
        assert stream.data == b"", stream.data  # not even the head
    return event


class ToolModeTest(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        routes = json.dumps([{"prefix": "/", "upstream": cls.agent.url, "mode": "tool"},
                             {"prefix": "/short", "upstream": cls.agent.url, "mode": "tool"}])
        cls.relay = Relay(None, "--routes", routes, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})

    def call(self, query, user):
        return Stream(self.relay.url + "/stream?" + query, {"X-Registered-User-Id": user})

    def complete(self, event):
        status, _, _ = request("POST", event["magic_link_url"], "api_key=sk-tool",
                               {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)

    def test_json_call_is_held_then_retried(self):
        q = "format=json&count=3&auth_at=1&shape=mcp&auth_unless_retry=1&connector=slack"
        _, direct_retry, _ = curl("-H", "X-Authrelay-Retry: 1", self.agent.url + "/stream?" + q)
        feed = feed_of(self.relay, "tool_u1")
        s = self.call(q, "tool_u1")
        event = held_then_link(self.relay, feed, s)
        self.assertEqual((event["connector"], event["registered_user"]), ("slack", "tool_u1"))
        self.complete(event)
        body = s.finish()
        self.assertNotIn(b"authenticate_meta", body)
        self.assertEqual(body, direct_retry)  # the genuine response, byte for byte
        retried = self.agent.stats()["retry_requests"]
        self.assertGreaterEqual(retried, 1)

    def test_sse_call_whose_first_event_is_the_result(self):
        q = "format=sse&count=3&auth_at=0&shape=mcp&auth_unless_retry=1&connector=jira"
        _, direct_retry, _ = curl("-H", "X-Authrelay-Retry: 1", self.agent.url + "/stream?" + q)
        feed = feed_of(self.relay, "tool_u2")
        s = self.call(q, "tool_u2")
        event = held_then_link(self.relay, feed, s)
        self.assertEqual(event["connector"], "jira")
        self.complete(event)
        body = s.finish()
        self.assertNotIn(b"authenticate_meta", body)
        self.assertEqual(body, direct_retry)

    def test_sse_call_with_events_before_the_result_splices_the_retry(self):
        q = "format=sse&count=3&auth_at=1&shape=mcp&auth_unless_retry=1&connector=linear"
        feed = feed_of(self.relay, "tool_u3")
        s = self.call(q, "tool_u3")
        s.wait_for(rb'"seq":0')  # the event before the result went out, with the head
        try:
            event = json.loads(feed.wait_for(rb"event: link_token\ndata: (\{.*\})\n").group(1))
        finally:
            feed.kill()
        self.complete(event)
        body = s.finish()
        self.assertNotIn(b"authenticate_meta", body)
        self.assertEqual(s.proc.returncode, 0)
        self.assertIn(b'"type":"done"', body)

    def test_call_without_a_trusted_user_passes(self):
        _, body, _ = curl(self.relay.url + "/stream?format=json&count=2&auth_at=0&shape=mcp&connector=slack")
        self.assertIn(b"authenticate_meta", body)  # nobody to ask: the agent sees it


class ToolShutdownTest(unittest.TestCase):
    def test_held_call_gets_a_clean_503_on_shutdown(self):
        agent = AgentServer()
        relay = Relay(None, "--routes", json.dumps([{"prefix": "/", "upstream": agent.url, "mode": "tool"}]),
                      env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        try:
            feed = feed_of(relay, "down_u")
            s = Stream(relay.url + "/stream?format=json&count=3&auth_at=1&shape=mcp&connector=slack",
                       {"X-Registered-User-Id": "down_u"})
            held_then_link(relay, feed, s)
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()
        s.finish()
        self.assertEqual(s.proc.returncode, 0)  # a complete response, not a cut one
        with s.lock:
            self.assertNotIn(b"authenticate_meta", s.data)
        access = [r for r in relay.logs if r.get("msg") == "access" and r.get("path", "").startswith("/stream")]
        self.assertEqual([r["status"] for r in access], [503])


class ToolLimitsTest(RelayCase):
    """A held call that cannot be retried or held whole still gets a clean answer."""

    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(None, "--routes", json.dumps([{"prefix": "/", "upstream": cls.agent.url, "mode": "tool"}]),
                          "--max-replay-body", "16", "--max-held-bytes", "4096", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})

    def test_request_too_large_to_send_again_releases_the_original(self):
        q = "format=json&count=3&auth_at=1&shape=mcp&connector=slack"
        _, direct, _ = curl(self.agent.url + "/stream?" + q)
        feed = feed_of(self.relay, "lim_u1")
        args = ["curl", "-sS", "--max-time", "20", "-X", "GET", "-H", "X-Registered-User-Id: lim_u1",
                "--data-binary", "x" * 100, self.relay.url + "/stream?" + q]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE)
        event = json.loads(feed.wait_for(rb"event: link_token\ndata: (\{.*\})\n").group(1))
        feed.kill()
        status, _, _ = request("POST", event["magic_link_url"], "api_key=k",
                               {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        out, _ = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(out, direct)  # the original, not a hang

    def test_result_over_max_held_bytes_is_a_clean_507(self):
        # 12 events of 1 KiB after the result: more than max_held_bytes (4096)
        # arrive with it in the JSON body, which is held whole.
        q = "format=json&count=14&auth_at=1&shape=mcp&connector=slack&size=1024"
        _, head, _ = curl("-s", "-D", "-", "-o", "/dev/null", "-H", "X-Registered-User-Id: lim_u2",
                          self.relay.url + "/stream?" + q)
        self.assertTrue(head.startswith(b"HTTP/1.1 507"), head)


class ToolExpiryTest(unittest.TestCase):
    def test_expired_link_releases_the_original_response(self):
        agent = AgentServer()
        relay = Relay(None, "--routes", json.dumps([{"prefix": "/", "upstream": agent.url, "mode": "tool"}]),
                      "--pause-timeout-s", "1", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        try:
            q = "format=json&count=3&auth_at=1&shape=mcp&connector=slack"
            _, direct, _ = curl(agent.url + "/stream?" + q)
            feed = feed_of(relay, "exp_u")
            _, body, _ = curl("-H", "X-Registered-User-Id: exp_u", relay.url + "/stream?" + q, timeout=20)
            try:  # held for the link's life: the link was minted, then expired
                feed.wait_for(rb"event: link_token\n[\s\S]*event: link_expired\n")
            finally:
                feed.kill()
            self.assertEqual(body, direct)  # then the original, untouched
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
