"""Integration tests of the remote link service (issue: link_service.url).

Real processes on loopback: authrelay with link_service.url pointing at
remote_link_service.py (a stand-in for the hosted Agent Handler, which cannot
run here), the example agent server upstream, curl as the client. A stream
pauses; authrelay mints a remote link token (callback_url: its own
/_authrelay/callback, with a state it bound to the pause); the browser goes
from authrelay's link page to the remote's and back; the stream resumes.
"""

import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, StandIn, Stream, link_of, wait_until  # noqa: E402
from test_linkservice import request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
API_KEY = "remote-api-key-123"


class RemoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.remote = StandIn("remote_link_service.py", "--api-key", API_KEY)
        cls.remote_url = cls.remote.url
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--link-service-url", cls.remote_url, "--link-service-poll-interval-s", "1",
                          "--provider-timeout-s", "2", env={"AUTHRELAY_LINK_SERVICE_API_KEY": API_KEY})

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        cls.remote.stop()
        assert code == 0, "authrelay exited with %r" % code

    def mode(self, **m):
        self.assertEqual(self.remote.mode(**m), 200)

    def log(self):
        return self.remote.log()

    def held(self):
        """API calls the remote holds (mode hold) right now."""
        return json.loads(request("GET", self.remote_url + "/_control/held")[2])["held"]

    def pause(self, user, connector="slack", relay=None):
        s = Stream((relay or self.relay).url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=" + connector,
                   {"X-Registered-User-Id": user})
        _, url = link_of(s)
        return s, url

    def remote_page(self, link_url):
        """authrelay's link page redirects to the remote's magic link."""
        status, headers, _ = request("GET", link_url)
        self.assertEqual(status, 302)
        page = headers["Location"]
        self.assertTrue(page.startswith(self.remote_url + "/link/rlt_"), page)
        return page

    def test_callback_completes_and_state_is_single_use(self):
        s, url = self.pause("remote_u1")
        self.assertTrue(url.startswith(self.relay.url + "/_authrelay/link/ltk_"))  # authrelay's own link
        page = self.remote_page(url)
        status, headers, _ = request("POST", page, "api_key=k", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 302)
        callback = headers["Location"]
        self.assertTrue(callback.startswith(self.relay.url + "/_authrelay/callback?state="), callback)
        wrong = callback.split("state=")[0] + "state=forged"
        self.assertEqual(request("GET", wrong)[0], 400)
        status, _, body = request("GET", callback)
        self.assertEqual(status, 200)
        self.assertIn("Connected", body)
        data = s.finish()
        self.assertIn(b"event: auth_complete", data)
        self.assertIn(b'"seq":4', data)
        # replayed (a reload, or the browser arriving after polling won): it
        # says "Connected" and completes nothing again
        completed = self.relay.metrics()["authrelay_remote_completed_total"]
        status, _, body = request("GET", callback)
        self.assertEqual(status, 200)
        self.assertIn("Connected", body)
        self.assertEqual(self.relay.metrics()["authrelay_remote_completed_total"], completed)
        log = self.remote.log()
        self.assertTrue(any(e["path"].endswith("/link-token/") for e in log))

    def test_polling_completes_without_the_callback(self):
        s, url = self.pause("remote_u2", "jira")
        page = self.remote_page(url)
        token = page.rsplit("/", 1)[1]
        self.assertEqual(request("POST", self.remote_url + "/_control/connect?token=" + token, "")[0], 200)
        data = s.finish(timeout=20)  # poll_interval_s 1
        self.assertIn(b"event: auth_complete", data)
        self.assertGreaterEqual(self.relay.metrics()["authrelay_remote_completed_total"], 1)

    def test_already_connected_user_is_not_completed_by_polling(self):
        s, url = self.pause("remote_u4", "notion")
        page = self.remote_page(url)
        token = page.rsplit("/", 1)[1]
        self.assertEqual(request("POST", self.remote_url + "/_control/connect?token=" + token, "")[0], 200)
        self.assertIn(b"event: auth_complete", s.finish(timeout=20))
        # The tool server asks again for the same connector (say the token was
        # revoked): the remote already lists it, so polling must not resume the
        # stream by itself; the user's sign-in (the callback) does.
        start = len(self.log())
        s2, url2 = self.pause("remote_u4", "notion")
        page2 = self.remote_page(url2)
        mint = [e["path"] for e in self.log()[start:] if e["path"].endswith("/link-token/")]
        u4_path = mint[0][:-len("link-token/")]  # remote_u4's status URL path
        # The clock of this check: a user not connected yet, whose link is
        # polled every round. Two of its polls: two rounds went by.
        ctl, ctl_url = self.pause("remote_u6", "notion")
        ctl_page = self.remote_page(ctl_url)

        def control_polls():
            return [e for e in self.log()[start:] if e["method"] == "GET" and e["path"] != u4_path]
        wait_until(lambda: len(control_polls()) >= 2, "two rounds of status polls")
        self.assertEqual([e for e in self.log()[start:] if e["path"] == u4_path], [])  # never polled
        with s2.lock:
            self.assertNotIn(b"auth_complete", s2.data)
        # the control ends through its callback (no poll to wait for)
        status, headers, _ = request("POST", ctl_page, "api_key=k", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(request("GET", headers["Location"])[0], 200)
        self.assertIn(b"event: auth_complete", ctl.finish(timeout=20))
        status, headers, _ = request("POST", page2, "api_key=k", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(request("GET", headers["Location"])[0], 200)
        self.assertIn(b"event: auth_complete", s2.finish(timeout=20))

    def test_failing_status_polls_expire_the_link(self):
        # Minting works, then every status poll fails: after three failed
        # polls in a row the link expires (link_expired), well before
        # pause_timeout_s (1800 s): never a stuck pause.
        start = len(self.remote.log())
        self.mode(api="pollerror")
        try:
            s, url = self.pause("remote_u5", "asana")
            data = s.finish(timeout=30)  # poll_interval_s 1: about 3 s
            self.assertIn(b"event: link_expired", data)
            self.assertNotIn(b"auth_complete", data)
            log = self.remote.log()[start:]
            self.assertTrue(any(e["path"].endswith("/link-token/") for e in log))  # minted
            polls = [e for e in log if e["method"] == "GET"]
            self.assertEqual(len(polls), 3, polls)
            self.assertEqual(request("GET", url)[0], 410)
        finally:
            self.mode(api="ok")

    def test_remote_that_hangs_expires_the_link(self):
        failures = self.relay.metrics()["authrelay_remote_failures_total"]
        self.mode(api="hold")
        try:
            s, url = self.pause("remote_u3", "linear")  # minting hangs: the remote holds the call
            wait_until(lambda: self.held() >= 1, "the mint call held by the remote")
            # provider_timeout_s 2: the relay gives up on the call and counts a failure
            wait_until(lambda: self.relay.metrics()["authrelay_remote_failures_total"] > failures,
                       "a timed-out attempt")
            self.mode(api="error")  # the remote answers 500 from now on, held calls too
            # three failed attempts (timeouts, then 500s): the link expires, the
            # stream is told, never left paused
            data = s.finish(timeout=30)
            self.assertIn(b"event: link_expired", data)
            status, _, _ = request("GET", url)
            self.assertEqual(status, 410)
        finally:
            self.mode(api="ok")
        self.assertGreaterEqual(self.relay.metrics()["authrelay_remote_failures_total"], failures + 3)

    def test_link_page_of_a_remote_that_does_not_answer_is_504(self):
        # A remote that never answers (three timed-out attempts, provider_timeout_s
        # 2 each) is a gateway timeout for the Link page waiting on it: 504, not
        # 502 (a remote that answers garbage or refuses); the link expires.
        self.mode(api="hold")
        answer = {}
        try:
            s, url = self.pause("remote_u5", "linear")
            wait_until(lambda: self.held() >= 1, "the mint call held by the remote")
            t = threading.Thread(target=lambda: answer.update(got=request("GET", url, timeout=30)))
            t.start()
            data = s.finish(timeout=30)
            self.assertIn(b"event: link_expired", data)
            t.join(30)
        finally:
            self.mode(api="ok")
        status, _, page = answer["got"]
        self.assertEqual(status, 504, page)

    def test_other_streams_flow_while_the_remote_hangs(self):
        # provider_timeout_s 60: while the remote holds the mint call, the
        # relay waits on it for longer than the other stream may take (20 s)
        relay = Relay(self.agent.url, "--link-service-url", self.remote_url, "--provider-timeout-s", "60",
                      env={"AUTHRELAY_LINK_SERVICE_API_KEY": API_KEY})
        self.mode(api="hold")
        try:
            s, _ = self.pause("remote_u5", "linear", relay)
            wait_until(lambda: self.held() >= 1, "the mint call held by the remote")
            other = Stream(relay.url + "/stream?format=sse&count=50&rate=100")
            data = other.finish(timeout=20)  # not blocked behind the remote: it ends before the call does
            self.assertEqual(data.count(b"event: delta"), 50)
            self.assertGreaterEqual(self.held(), 1)  # the call is still held
            self.assertEqual(relay.metrics()["authrelay_remote_failures_total"], 0)
        finally:
            self.mode(api="ok")
            code = relay.stop()
        s.finish()
        self.assertEqual(code, 0)


class RemoteWildcardListenTest(unittest.TestCase):
    """--listen 0.0.0.0:P without public_url: the callback_url sent to the
    remote link service is built from the paused request's Host, as the
    stream's magic_link_url is, never from the wildcard listen address."""

    def test_callback_url_uses_the_request_host(self):
        remote = StandIn("remote_link_service.py", "--api-key", API_KEY)
        remote_url = remote.url
        agent = AgentServer()
        relay = Relay(agent.url, "--link-service-url", remote_url, listen="0.0.0.0:0",
                      env={"AUTHRELAY_LINK_SERVICE_API_KEY": API_KEY})
        try:
            base = "http://127.0.0.1:%d" % relay.port  # the Host curl sends
            s = Stream(base + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=slack",
                       {"X-Registered-User-Id": "remote_w1"})
            _, url = link_of(s)
            self.assertTrue(url.startswith(base + "/_authrelay/link/ltk_"), url)
            # The remote token was minted when the stream paused; the page
            # redirects to it, and the remote sends the browser back to the
            # callback_url it was given.
            status, headers, _ = request("GET", url)
            self.assertEqual(status, 302)
            status, headers, _ = request("POST", headers["Location"], "api_key=k",
                                         {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 302)
            callback = headers["Location"]
            self.assertTrue(callback.startswith(base + "/_authrelay/callback?state="), callback)
            self.assertEqual(request("GET", callback)[0], 200)
            self.assertIn(b"event: auth_complete", s.finish(timeout=20))
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()
            remote.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
