"""Integration tests of out-of-band notice (issue: webhooks and /v1/events).

Real processes on loopback: authrelay with its SQLite outbox in a temporary
data directory; a webhook receiver run by the test (Python's http.server)
that verifies every Authrelay-Signature; curl reading /v1/events. Links are
minted with the link-token API and completed through the Link page, as an
app back end and a browser would.
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import AUTHRELAY, AgentServer, Relay, RelayCase, Stream, wait_until  # noqa: E402
from test_linkservice import Api, request  # noqa: E402

ADMIN_KEY = "test-owner-key-notify"
SECRET = "whsec-test-0123456789"


class Receiver:
    """A webhook receiver: checks each signature, records every delivery."""

    def __init__(self, port=0, secret=SECRET):
        outer = self
        self.deliveries = []   # (event id header, body dict, signature ok)
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sig = self.headers.get("Authrelay-Signature", "")
                m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
                ok = False
                if m:
                    want = hmac.new(secret.encode(), m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
                    ok = hmac.compare_digest(want, m.group(2)) and abs(time.time() - int(m.group(1))) < 300
                with outer.lock:
                    outer.deliveries.append((self.headers.get("Authrelay-Event-Id"), json.loads(body), ok))
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def ids(self):
        with self.lock:
            return [d[1]["id"] for d in self.deliveries]

    def wait_for(self, ids, timeout=30):
        wait_until(lambda: set(ids) <= set(self.ids()), "webhook deliveries of %r" % ids, timeout)


class Feed(Stream):
    """GET /v1/events through curl."""

    def __init__(self, relay, query="", token=ADMIN_KEY, last_id=None, connection_events=False):
        self.connection_events = connection_events  # else connection_* events are skipped (test_connections.py's)
        headers = {"Authorization": "Bearer " + token}
        if last_id:
            headers["Last-Event-ID"] = last_id
        super().__init__(relay.control_url + "/v1/events" + query, headers)

    def events(self):
        with self.lock:
            data = self.data
        return self.parse(data)

    def parse(self, data):
        out = []
        for block in data.decode().split("\n\n"):
            m = re.match(r"id: (\S+)\nevent: (\S+)\ndata: (.*)$", block)
            if m and (self.connection_events or not m.group(2).startswith("connection_")):
                out.append((m.group(1), m.group(2), json.loads(m.group(3))))
        return out

    def wait_events(self, n, timeout=15):
        self.wait_data(lambda data: len(self.parse(data)) >= n, "%d events on the feed" % n, timeout)
        return self.events()


def user_and_link(api, origin_user_id, connector="openai"):
    status, u = api("POST", "/api/v1/registered-users/", {"origin_user_id": origin_user_id, "origin_user_name": "N"})
    assert status in (200, 201), status
    status, lt = api("POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": connector})
    assert status == 201, lt
    return u, lt


def complete(url, key="sk-notify"):
    status, _, _ = request("POST", url, "api_key=" + key, {"Content-Type": "application/x-www-form-urlencoded"})
    return status


class FeedTest(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--pause-timeout-s", "1", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay, ADMIN_KEY)

    def test_feed_of_link_events_with_filter_and_resume(self):
        everyone = Feed(self.relay)
        only_u2 = Feed(self.relay, "?registered_user=feed_u2")
        wait_until(lambda: self.relay.metrics()["authrelay_events_subscribers"] >= 2, "both subscribed", 5)
        _, lt1 = user_and_link(self.api, "feed_u1")
        _, lt2 = user_and_link(self.api, "feed_u2")
        self.assertEqual(complete(lt2["magic_link_url"]), 200)
        ev = everyone.wait_events(3)
        self.assertEqual([(e[1], e[2]["registered_user"]) for e in ev],
                         [("link_token", "feed_u1"), ("link_token", "feed_u2"), ("auth_complete", "feed_u2")])
        first = ev[0][2]
        self.assertEqual(first["id"], ev[0][0])
        self.assertEqual((first["type"], first["connector"], first["link_token"], first["magic_link_url"]),
                         ("link_token", "openai", lt1["link_token"], lt1["magic_link_url"]))
        self.assertIn("expires_at", first)
        mine = only_u2.wait_events(2)
        # A feed sends in order and feed_u1's event came first: it would be first here.
        self.assertEqual([(e[1], e[2]["registered_user"]) for e in mine[:2]],
                         [("link_token", "feed_u2"), ("auth_complete", "feed_u2")])
        # A stream's link expires (pause_timeout_s 1): link_expired.
        s = Stream(self.relay.url + "/stream?format=sse&count=3&auth_at=1&shape=mcp&connector=openai",
                   {"X-Registered-User-Id": "feed_u3"})
        s.wait_for(rb"event: link_expired")
        ev = everyone.wait_events(5)
        self.assertEqual([e[1] for e in ev[3:]], ["link_token", "link_expired"])
        s.finish()
        # Reconnecting with Last-Event-ID replays what came after it.
        everyone.kill()
        again = Feed(self.relay, last_id=ev[1][0])
        replay = again.wait_events(3)
        self.assertEqual([e[0] for e in replay], [e[0] for e in ev[2:5]])
        # One more event of feed_u2's: when it is on only_u2's feed, everything
        # before it was sent there, and nothing of feed_u1's or feed_u3's was.
        user_and_link(self.api, "feed_u2")
        self.assertEqual([(e[1], e[2]["registered_user"]) for e in only_u2.wait_events(3)],
                         [("link_token", "feed_u2"), ("auth_complete", "feed_u2"), ("link_token", "feed_u2")])
        again.kill()
        only_u2.kill()
        wait_until(lambda: self.relay.metrics()["authrelay_events_subscribers"] == 0, "the feeds' ends noticed", 10)

    def test_feed_ends_when_its_token_is_revoked(self):
        status, app = self.api("POST", "/api/v1/oauth/applications", {"name": "feed-sub", "scopes": ["read:webhooks"]})
        self.assertEqual(status, 201)
        status, _, text = request("POST", self.relay.control_url + "/oauth/token",
                                  {"grant_type": "client_credentials", "client_id": app["clientId"],
                                   "client_secret": app["clientSecret"]})
        feed = Feed(self.relay, token=json.loads(text)["access_token"])
        wait_until(lambda: self.relay.metrics()["authrelay_events_subscribers"] >= 1, "the feed subscribed", 5)
        user_and_link(self.api, "revoke_u1")
        self.assertEqual(feed.wait_events(1)[0][1], "link_token")  # live token: events flow
        self.assertEqual(self.api("DELETE", "/api/v1/oauth/applications/" + app["id"])[0], 204)
        user_and_link(self.api, "revoke_u2")  # the next event finds the token gone
        feed.finish(timeout=10)  # the feed was closed
        self.assertEqual(len(feed.events()), 1)

    def test_feed_subscribers_are_capped(self):
        # NOTIFY_FEED_MAX (256) subscribers; the next one gets 503 before any head.
        socks = []
        try:
            for _ in range(256):
                sk = socket.create_connection(("127.0.0.1", int(self.relay.control.rsplit(":", 1)[1])))
                sk.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           ADMIN_KEY.encode() + b"\r\n\r\n")
                socks.append(sk)
            wait_until(lambda: self.relay.metrics()["authrelay_events_subscribers"] == 256, "256 subscribers", 10)
            status, _, _ = request("GET", self.relay.control_url + "/v1/events",
                                   headers={"Authorization": "Bearer " + ADMIN_KEY})
            self.assertEqual(status, 503)
        finally:
            for sk in socks:
                sk.close()
        wait_until(lambda: self.relay.metrics()["authrelay_events_subscribers"] == 0, "no subscriber left", 10)

    def test_feed_needs_a_token_with_read_webhooks(self):
        status, _, _ = request("GET", self.relay.control_url + "/v1/events")
        self.assertEqual(status, 401)
        status, app = self.api("POST", "/api/v1/oauth/applications", {"name": "feed-reader", "scopes": ["read:user"]})
        status, _, text = request("POST", self.relay.control_url + "/oauth/token",
                                  {"grant_type": "client_credentials", "client_id": app["clientId"],
                                   "client_secret": app["clientSecret"]})
        token = json.loads(text)["access_token"]
        status, _, body = request("GET", self.relay.control_url + "/v1/events", headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 403)
        self.assertIn("read:webhooks", body)
        status, _, _ = request("POST", self.relay.control_url + "/v1/events", "", {"Authorization": "Bearer " + ADMIN_KEY})
        self.assertEqual(status, 405)


class WebhookConfigTest(unittest.TestCase):
    def test_one_webhook_per_url(self):
        from harness import AUTHRELAY
        hooks = json.dumps([{"url": "http://127.0.0.1:9/h", "secret": "a"}, {"url": "http://127.0.0.1:9/h", "secret": "b"}])
        p = subprocess.run([AUTHRELAY, "--upstream", "http://127.0.0.1:9", "--webhooks", hooks, "--check-config"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"webhooks[1].url: the same url as --webhooks[0]", p.stderr)
        self.assertNotIn(b'"a"', p.stderr)  # secrets are not quoted back
        hooks = json.dumps([{"url": "http://127.0.0.1:9/h%d" % i, "secret": "s"} for i in range(65)])
        p = subprocess.run([AUTHRELAY, "--upstream", "http://127.0.0.1:9", "--webhooks", hooks, "--check-config"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"more than 64 webhooks", p.stderr)


class WebhookShutdownTest(unittest.TestCase):
    def test_a_delivery_in_flight_at_shutdown_is_due_at_once_after_it(self):
        # A receiver that takes the POST and never answers: the delivery is
        # in flight (leased) when authrelay stops.
        held = []
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        def accept():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                held.append(conn)
        threading.Thread(target=accept, daemon=True).start()
        hooks = json.dumps([{"url": "http://127.0.0.1:%d/hook" % srv.getsockname()[1], "secret": SECRET}])
        agent = AgentServer()
        data_dir = tempfile.mkdtemp(prefix="authrelay-notify-lease-")
        relay = Relay(agent.url, data_dir=data_dir, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_WEBHOOKS": hooks})
        try:
            user_and_link(Api(relay, ADMIN_KEY), "lease_u1")
            wait_until(lambda: relay.metrics()["authrelay_webhook_in_flight"] == 1, "the delivery in flight", 10)
            self.assertEqual(relay.stop(signal.SIGTERM), 0)
            stopped_ms = int(time.time() * 1000)
            db = sqlite3.connect(os.path.join(data_dir, "authrelay.db"))
            rows = db.execute("SELECT next_ms FROM deliveries").fetchall()
            db.close()
            # Still owed, and due now: not held back by its lease (which
            # ran NOTIFY_TIMEOUT_MS + 5 s past the start of the POST).
            self.assertEqual(len(rows), 1)
            self.assertLessEqual(rows[0][0], stopped_ms)
        finally:
            relay.stop()
            agent.stop()
            srv.close()
            for c in held:
                c.close()


class WebhookTest(unittest.TestCase):
    def test_signed_deliveries_survive_an_outage_and_a_restart(self):
        receiver = Receiver()
        only_complete = Receiver()
        hooks = json.dumps([{"url": receiver.url, "secret": SECRET,
                             "events": ["link_token", "auth_complete", "link_expired"]},
                            {"url": only_complete.url, "secret": SECRET, "events": ["auth_complete"]}])
        agent = AgentServer()
        data_dir = tempfile.mkdtemp(prefix="authrelay-notify-")
        env = {"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_WEBHOOKS": hooks}
        relay = Relay(agent.url, data_dir=data_dir, env=env)
        try:
            api = Api(relay, ADMIN_KEY)
            _, lt = user_and_link(api, "hook_u1")
            self.assertEqual(complete(lt["magic_link_url"]), 200)
            wait_until(lambda: len(receiver.ids()) >= 2, "two deliveries", 15)
            with receiver.lock:
                got = list(receiver.deliveries)
            # Deliveries run concurrently (as with any webhook sender, the
            # order of arrival is not the order of the events): compare by type.
            got.sort(key=lambda d: d[1]["type"] != "link_token")
            self.assertEqual([d[1]["type"] for d in got], ["link_token", "auth_complete"])
            self.assertTrue(all(d[2] for d in got), got)  # every signature verified
            self.assertTrue(all(d[0] == d[1]["id"] for d in got))  # Authrelay-Event-Id matches the body
            only_complete.wait_for([got[1][1]["id"]])
            self.assertEqual([d[1]["type"] for d in only_complete.deliveries], ["auth_complete"])

            # The receiver goes down; events keep coming.
            port = receiver.port
            receiver.stop()
            links = [user_and_link(api, "hook_u%d" % i)[1] for i in range(2, 5)]
            self.assertEqual(complete(links[0]["magic_link_url"]), 200)
            wait_until(lambda: relay.metrics()["authrelay_webhook_deliveries_total{result=\"failed\"}"] >= 4,
                       "four failed deliveries", 10)
            m = relay.metrics()
            self.assertGreaterEqual(m["authrelay_webhook_deliveries_total{result=\"failed\"}"], 4)
            # the gauge is the outbox as last counted (every scrape counts it again)
            wait_until(lambda: relay.metrics()["authrelay_webhook_pending"] >= 4, "four pending", 10)
            # ... and authrelay restarts while it is down.
            self.assertEqual(relay.stop(signal.SIGTERM), 0)
            relay = Relay(agent.url, data_dir=data_dir, env=env)
            receiver = Receiver(port=port)
            feed_ids = [l["link_token"] for l in links]
            want = {("link_token", t) for t in feed_ids} | {("auth_complete", feed_ids[0])}

            def seen():
                with receiver.lock:
                    return {(d[1]["type"], d[1]["link_token"]) for d in receiver.deliveries}
            wait_until(lambda: want <= seen(), "the owed deliveries %r" % want, 40)
            with receiver.lock:
                self.assertTrue(all(d[2] for d in receiver.deliveries))
                ids = [d[1]["id"] for d in receiver.deliveries]
            # at least once: duplicates, if any, carry the same id
            self.assertEqual(len(set(ids)), 4, ids)
            wait_until(lambda: relay.metrics()["authrelay_webhook_pending"] == 0, "nothing pending", 10)
            self.assertEqual(len([d for d in only_complete.deliveries if d[1]["type"] == "auth_complete"]), 2)
            # the secret is in no log line
            self.assertFalse([r for r in relay.logs if SECRET in json.dumps(r)])
        finally:
            relay.stop()
            agent.stop()
            receiver.stop()
            only_complete.stop()


class WildcardListenTest(unittest.TestCase):
    """--listen 0.0.0.0:P without public_url: a paused stream's link carries
    the Host of the paused request to the feed and the webhooks, as in the
    stream's magic_link_url; 0.0.0.0 is never a link's host."""

    def test_out_of_band_links_use_the_request_host(self):
        receiver = Receiver()
        hooks = json.dumps([{"url": receiver.url, "secret": SECRET, "events": ["link_token"]}])
        agent = AgentServer()
        relay = Relay(agent.url, listen="0.0.0.0:0", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_WEBHOOKS": hooks})
        try:
            self.assertTrue(any("set public_url" in r.get("msg", "") for r in relay.logs), relay.logs)
            feed = Feed(relay)
            wait_until(lambda: relay.metrics()["authrelay_events_subscribers"] >= 1, "the feed subscribed", 5)
            base = "http://127.0.0.1:%d" % relay.port  # the Host curl sends
            s = Stream(base + "/stream?format=sse&count=3&auth_at=1&shape=mcp&connector=slack",
                       {"X-Registered-User-Id": "wild_u1"})
            m = s.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
            in_stream = json.loads(m.group(1))["magic_link_url"]
            self.assertTrue(in_stream.startswith(base + "/_authrelay/link/ltk_"), in_stream)
            ev = feed.wait_events(1)
            self.assertEqual((ev[0][1], ev[0][2]["magic_link_url"]), ("link_token", in_stream))
            wait_until(receiver.ids, "a delivery", 15)
            with receiver.lock:
                hook = receiver.deliveries[0][1]
            self.assertEqual((hook["type"], hook["magic_link_url"]), ("link_token", in_stream))
            self.assertEqual(complete(in_stream), 200)
            self.assertIn(b"event: auth_complete", s.finish())
            # A link minted by the API has no request on the proxy listener:
            # the loopback address, never the wildcard.
            _, lt = user_and_link(Api(relay, ADMIN_KEY), "wild_u2")
            self.assertTrue(lt["magic_link_url"].startswith(base + "/_authrelay/link/"), lt)
            feed.kill()
        finally:
            self.assertEqual(relay.stop(), 0)
            agent.stop()
            receiver.stop()

    def test_check_config_warns_without_public_url(self):
        data_dir = tempfile.mkdtemp(prefix="authrelay-notify-")
        common = [AUTHRELAY, "--upstream", "http://127.0.0.1:9", "--listen", "0.0.0.0:0", "--control", "127.0.0.1:0",
                  "--data-dir", data_dir, "--check-config"]
        p = subprocess.run(common, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"set public_url: out-of-band links need an absolute URL", p.stderr)
        p = subprocess.run(common + ["--public-url", "https://relay.example.com"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"public_url", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
