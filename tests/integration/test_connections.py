"""Integration tests of connections (issue #15: the credential reaches the
tool): the token API with single-flight refresh, the 409 authenticate_meta
answer with a trusted link, the read:credentials scope, the connections list
and delete (RFC 7009 revocation), and the connection_* events.

Real processes on loopback: authrelay with its SQLite store, and
oauth_provider.py, a stand-in for a third-party OAuth provider (which cannot
run here) issuing access tokens that expire in seconds and, optionally,
rotating refresh tokens. The refresh margin is authrelay's fixed 60 s: with
the provider's access TTL at 30 s every token call refreshes, at 3600 s none
does (no test knob in authrelay). A refresh held at the provider (its
token=hang mode) while 50 callers wait shows the single flight without any
timing: the callers are counted in authrelay's waiters gauge before the
provider is released.
"""

import datetime
import json
import os
import re
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, catalog_file, wait_until  # noqa: E402
from test_linkservice import OPENAI, Api, complete_oauth, oauth2_connector, request, secrets_on_disk, start_provider  # noqa: E402
from test_notify import Feed, Receiver  # noqa: E402

ADMIN_KEY = "test-owner-key-connections"
CLIENT_SECRET = "cs-connections-secret-777"
HOOK_SECRET = "whsec-connections-0123456789"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def user_path(origin_user_id):
    return "/api/v1/registered-users/origin:%s/connections/" % urllib.parse.quote(origin_user_id, safe="")


class ConnectionsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.provider = start_provider("acme-client", CLIENT_SECRET)
        cls.provider_url = cls.provider.url
        cls.catalog = catalog_file([
            oauth2_connector("acme", "Acme CRM", cls.provider_url, revocation_url=cls.provider_url + "/revoke",
                             scopes="crm.read crm.write"),
            OPENAI])
        cls.receiver = Receiver(secret=HOOK_SECRET)
        cls.agent = AgentServer()
        hooks = json.dumps([{"url": cls.receiver.url, "secret": HOOK_SECRET,
                             "events": ["connection_created", "connection_refreshed", "connection_broken",
                                        "connection_deleted"]}])
        cls.relay = Relay(cls.agent.url, "--connectors", cls.catalog, "--provider-timeout-s", "5",
                          env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_WEBHOOKS": hooks})
        cls.api = Api(cls.relay, ADMIN_KEY)
        cls.feed = Feed(cls.relay, token=ADMIN_KEY, connection_events=True)
        cls.secrets = set()  # every token and key handed out: none may leak
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        assert status == 201, status
        wait_until(lambda: cls.relay.metrics()["authrelay_events_subscribers"] >= 1, "the feed subscribed", 5)

    @classmethod
    def tearDownClass(cls):
        cls.feed.kill()
        code = cls.relay.stop()
        cls.agent.stop()
        cls.receiver.stop()
        cls.provider.stop()
        os.unlink(cls.catalog)
        assert code == 0, "authrelay exited with %r" % code

    # --- helpers ---

    def set_mode(self, **modes):
        self.assertEqual(self.provider.mode(**modes), 200)

    def stats(self):
        return json.loads(request("GET", self.provider_url + "/_control/stats")[2])

    def resource(self, access_token):
        return request("GET", self.provider_url + "/resource", headers={"Authorization": "Bearer " + access_token})[0]

    def token(self, origin_user_id, connector="acme", bearer=ADMIN_KEY):
        status, _, text = request("POST", self.relay.control_url + user_path(origin_user_id) + connector + "/token",
                                  headers={"Authorization": "Bearer " + bearer})
        body = json.loads(text) if text.strip() else None
        if status == 200:
            self.secrets.add(body.get("access_token") or body.get("api_key"))
        return status, body

    def link_for(self, origin_user_id, connector):
        status, u = self.api("POST", "/api/v1/registered-users/",
                             {"origin_user_id": origin_user_id, "origin_user_name": "N"})
        self.assertIn(status, (200, 201))
        status, lt = self.api("POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": connector})
        self.assertEqual(status, 201, lt)
        return lt["magic_link_url"]

    def complete_oauth(self, link_url):
        complete_oauth(self, link_url)

    def connect_oauth(self, origin_user_id):
        self.complete_oauth(self.link_for(origin_user_id, "acme"))

    def events_of(self, origin_user_id, kind, n=1):
        """The feed's and the webhook's events of kind for the user, once
        there are n of each."""
        def feed_ones():
            return [e for _, t, e in self.feed.events() if t == kind and e["registered_user"] == origin_user_id]

        def hook_ones():
            with self.receiver.lock:
                return [d[1] for d in self.receiver.deliveries
                        if d[1]["type"] == kind and d[1]["registered_user"] == origin_user_id and d[2]]
        wait_until(lambda: len(feed_ones()) >= n and len(hook_ones()) >= n, "%d %s events" % (n, kind))
        return feed_ones(), hook_ones()

    def assert_no_secret_leaked(self):
        """No token or key handed out appears in the log (the audit lines are
        in it too), the feed, the webhooks or the database file."""
        secrets = [s for s in self.secrets if s]
        self.assertTrue(secrets)
        logs = "\n".join(json.dumps(r) for r in self.relay.logs)
        with self.receiver.lock:
            hooks = json.dumps([d[1] for d in self.receiver.deliveries])
        feed = self.feed.data.decode(errors="replace")
        disk = secrets_on_disk(self.relay.data_dir)
        for s in secrets + [CLIENT_SECRET]:
            self.assertNotIn(s, logs)
            self.assertNotIn(s, hooks)
            self.assertNotIn(s, feed)
            self.assertNotIn(s.encode(), disk)
        self.assertTrue([r for r in self.relay.logs if r.get("action") == "connection.token"])

    def scoped_token(self, scopes, name, creator=ADMIN_KEY):
        status, app = self.api("POST", "/api/v1/oauth/applications", {"name": name, "scopes": scopes}, token=creator)
        if status != 201:
            return status, app
        status, _, text = request("POST", self.relay.control_url + "/oauth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": app["clientId"],
             "client_secret": app["clientSecret"]}), FORM)
        self.assertEqual(status, 200, text)
        return 201, json.loads(text)["access_token"]

    # --- the tests ---

    def test_oauth_tokens_are_refreshed_once_for_fifty_concurrent_callers(self):
        self.set_mode(access_ttl="3600", rotate="off", token="ok")
        self.connect_oauth("alice")
        before = self.stats()["refresh_requests"]
        refreshed = self.stats()["refreshes"]
        status, t1 = self.token("alice")
        self.assertEqual(status, 200, t1)
        self.assertEqual((t1["connector"], t1["auth"], t1["token_type"], t1["scopes"]),
                         ("acme", "oauth2", "Bearer", ["crm.read", "crm.write"]))
        self.assertTrue(t1["expires_at"].endswith("Z"))
        self.assertNotIn("refresh_token", t1)
        self.assertEqual(self.resource(t1["access_token"]), 200)
        status, t2 = self.token("alice")  # far from expiry: the same token, no refresh
        self.assertEqual(t2["access_token"], t1["access_token"])
        self.assertEqual(self.stats()["refresh_requests"], before)

        # tokens that expire within the 60 s margin, rotating refresh tokens:
        # every call refreshes, and each refresh uses the refresh token the
        # last one stored (the rotated-away one would be invalid_grant)
        self.set_mode(access_ttl="30", rotate="on")
        self.connect_oauth("bob")
        seen = set()
        for _ in range(3):
            status, t = self.token("bob")
            self.assertEqual(status, 200, t)
            self.assertEqual(self.resource(t["access_token"]), 200)
            seen.add(t["access_token"])
        self.assertEqual(len(seen), 3)
        self.assertEqual(self.stats()["refresh_requests"], before + 3)
        _, hooked = self.events_of("bob", "connection_refreshed", 3)
        self.assertEqual(set(hooked[0]), {"id", "type", "created_at", "registered_user", "connector", "auth",
                                          "expires_at"})
        self.events_of("bob", "connection_created")

        # 50 callers at once while the provider holds the one refresh
        self.set_mode(token="hang")
        results = []
        lock = threading.Lock()

        def call():
            r = self.token("bob")
            with lock:
                results.append(r)
        threads = [threading.Thread(target=call) for _ in range(50)]
        try:
            for th in threads:
                th.start()
            wait_until(lambda: self.relay.metrics().get("authrelay_connection_token_waiters") == 50,
                       "50 token callers waiting")
            wait_until(lambda: self.stats()["refresh_requests"] == before + 4, "the refresh at the provider")
        finally:
            self.set_mode(token="ok")
        for th in threads:
            th.join(30)
        self.assertEqual(len(results), 50)
        self.assertEqual({s for s, _ in results}, {200})
        tokens = {b["access_token"] for _, b in results}
        self.assertEqual(len(tokens), 1)
        self.assertEqual(self.stats()["refresh_requests"], before + 4)
        self.assertEqual(self.stats()["refreshes"], refreshed + 4)
        self.assertEqual(self.resource(tokens.pop()), 200)
        self.assertEqual(self.relay.metrics().get("authrelay_connection_token_waiters"), 0)
        self.assert_no_secret_leaked()

    def test_invalid_grant_breaks_the_connection_and_the_409_link_reconnects(self):
        self.set_mode(access_ttl="30", rotate="off", token="ok")
        self.connect_oauth("carol")
        self.set_mode(token="error")  # the provider now answers invalid_grant
        try:
            before = self.stats()["refresh_requests"]
            status, meta = self.token("carol")
            self.assertEqual(status, 409, meta)
            self.assertEqual(set(meta), {"type", "Connector", "link_token", "magic_link_url", "expires_at",
                                         "message"})
            self.assertEqual((meta["type"], meta["Connector"]), ("authenticate_meta", "acme"))
            self.assertTrue(meta["link_token"].startswith("ltk_"))
            self.assertTrue(meta["magic_link_url"].startswith(self.relay.url + "/_authrelay/link/ltk_"))
            self.assertIn("Acme CRM", meta["message"])
            status, listed = self.api("GET", user_path("carol"))
            self.assertEqual(status, 200)
            self.assertEqual([(c["connector"], c["status"]) for c in listed["results"]], [("acme", "broken")])
            # broken stays broken: no new refresh, another 409
            status, again = self.token("carol")
            self.assertEqual(status, 409)
            self.assertEqual(self.stats()["refresh_requests"], before + 1)
        finally:
            self.set_mode(token="ok")
        feed, hooked = self.events_of("carol", "connection_broken")
        self.assertEqual((feed[0]["connector"], hooked[0]["auth"]), ("acme", "oauth2"))
        # the 409's link works: the user reconnects through it
        self.complete_oauth(meta["magic_link_url"])
        status, t = self.token("carol")
        self.assertEqual(status, 200, t)
        self.assertEqual(self.resource(t["access_token"]), 200)
        status, listed = self.api("GET", user_path("carol"))
        self.assertEqual(listed["results"][0]["status"], "active")
        self.events_of("carol", "connection_created", 2)
        self.assert_no_secret_leaked()

    def test_a_refresh_the_provider_does_not_answer_is_504(self):
        """504 Gateway Timeout when the provider does not answer the refresh
        of an expired token within provider_timeout_s (5 here), as for the
        Link page's code exchange; the connection stays usable."""
        self.set_mode(access_ttl="1", rotate="off", token="ok")
        self.connect_oauth("erin")
        status, listed = self.api("GET", user_path("erin"))
        self.assertEqual(status, 200, listed)
        expires = datetime.datetime.fromisoformat(listed["results"][0]["expires_at"].replace("Z", "+00:00"))
        wait_until(lambda: datetime.datetime.now(datetime.timezone.utc) > expires + datetime.timedelta(seconds=1),
                   "the access token expired", 10)
        self.set_mode(token="hang")
        try:
            status, body = self.token("erin")
        finally:
            self.set_mode(token="ok")
        self.assertEqual(status, 504, body)
        self.assertEqual(list(body), ["detail"])
        status, t = self.token("erin")  # not broken: the next call refreshes
        self.assertEqual(status, 200, t)

    def test_api_key_connector_and_a_user_without_connection(self):
        status, meta = self.token("dave", "openai")  # never seen: no connection
        self.assertEqual(status, 409, meta)
        self.assertEqual((meta["type"], meta["Connector"]), ("authenticate_meta", "openai"))
        status, _, page = request("GET", meta["magic_link_url"])
        self.assertEqual(status, 200)
        self.assertIn('name="api_key"', page)
        status, _, page = request("POST", meta["magic_link_url"], "api_key=sk-dave-4242-secret", FORM)
        self.assertEqual(status, 200, page)
        status, t = self.token("dave", "openai")
        self.assertEqual(status, 200, t)
        self.assertEqual(t, {"connector": "openai", "auth": "api_key", "api_key": "sk-dave-4242-secret",
                             "token_type": None, "expires_at": None, "scopes": []})
        # the registered user's id works as well as origin:
        status, users = self.api("GET", "/api/v1/registered-users/?origin_user_id=dave")
        uid = users["results"][0]["id"]
        status, _, text = request("POST", self.relay.control_url + "/api/v1/registered-users/%s/connections/openai"
                                  "/token/" % uid, headers={"Authorization": "Bearer " + ADMIN_KEY})
        self.assertEqual((status, json.loads(text)["api_key"]), (200, "sk-dave-4242-secret"))
        self.events_of("dave", "connection_created")
        # unknown connector, unknown id, wrong method
        self.assertEqual(self.token("dave", "nope")[0], 404)
        status, _, _ = request("POST", self.relay.control_url + "/api/v1/registered-users/"
                               "00000000-0000-4000-8000-000000000000/connections/openai/token",
                               headers={"Authorization": "Bearer " + ADMIN_KEY})
        self.assertEqual(status, 404)
        self.assertEqual(self.api("GET", user_path("dave") + "openai/token")[0], 405)
        # hostile ids and connectors: 404, nothing else
        base = "/api/v1/registered-users/"
        for path in ["origin:%zz/connections/openai/token", "origin:/connections/openai/token",
                     "origin:a%00b/connections/openai/token", "origin:a%0Ab/connections/openai/token",
                     "origin:" + "x" * 300 + "/connections/openai/token", "origin:dave/connections/open%2Fai/token",
                     "origin:dave/connections/" + "c" * 100 + "/token", "origin:dave/connections//token",
                     "not-a-uuid/connections/openai/token", "origin:dave/connections/openai/token/more"]:
            status, body = self.api("POST", base + path)
            self.assertEqual(status, 404, (path, body))
        self.assertEqual(self.api("POST", base + "origin:" + "%41" * 2000 + "/connections/")[0], 404)
        self.assert_no_secret_leaked()

    def test_read_credentials_is_never_implied(self):
        status, meta = self.token("erin", "openai")
        self.assertEqual(status, 409)
        request("POST", meta["magic_link_url"], "api_key=sk-erin-secret-99", FORM)
        _, reader = self.scoped_token(["read:user", "write:user"], "users-only")
        status, body = self.token("erin", "openai", bearer=reader)
        self.assertEqual(status, 403, body)
        self.assertIn("read:credentials", body["detail"])
        _, admin_all = self.scoped_token(["admin:all"], "all-admin")
        self.assertEqual(self.token("erin", "openai", bearer=admin_all)[0], 403)
        _, org_admin = self.scoped_token(["admin:organization"], "org-admin")
        status, body = self.scoped_token(["read:credentials"], "by-org-admin", creator=org_admin)
        self.assertEqual(status, 400, body)
        self.assertIn("read:credentials", json.dumps(body))
        # an admin:all token may grant it (without holding it), the owner too
        status, tool = self.scoped_token(["read:credentials"], "tool-server", creator=admin_all)
        self.assertEqual(status, 201, tool)
        status, body = self.token("erin", "openai", bearer=tool)
        self.assertEqual((status, body["api_key"]), (200, "sk-erin-secret-99"))
        # ... and that token can do nothing else, nor grant it on
        self.assertEqual(self.api("GET", "/api/v1/registered-users/", token=tool)[0], 403)
        self.assertEqual(self.scoped_token(["read:credentials"], "again", creator=tool)[0], 403)
        self.assert_no_secret_leaked()

    def test_list_and_delete_revoke_at_the_provider(self):
        self.set_mode(access_ttl="3600", rotate="off", token="ok")
        self.connect_oauth("frank")
        status, meta = self.token("frank", "openai")
        request("POST", meta["magic_link_url"], "api_key=sk-frank-secret-11", FORM)
        status, t = self.token("frank")
        self.assertEqual(status, 200)
        status, listed = self.api("GET", user_path("frank"))
        self.assertEqual(status, 200)
        self.assertEqual([(c["connector"], c["auth"], c["status"]) for c in listed["results"]],
                         [("acme", "oauth2", "active"), ("openai", "api_key", "active")])
        self.assertEqual(set(listed["results"][0]), {"connector", "auth", "status", "created_at", "modified_at",
                                                     "expires_at"})
        self.assertIsNotNone(listed["results"][0]["expires_at"])
        self.assertIsNone(listed["results"][1]["expires_at"])
        self.assertNotIn("sk-frank", json.dumps(listed))
        revoked = self.stats()["revocations"]
        self.assertEqual(self.resource(t["access_token"]), 200)
        status, _ = self.api("DELETE", user_path("frank") + "acme/")
        self.assertEqual(status, 204)
        self.assertEqual(self.stats()["revocations"], revoked + 1)
        self.assertEqual(self.resource(t["access_token"]), 401)  # the refresh token and its access tokens
        self.assertEqual(self.token("frank")[0], 409)
        self.assertEqual(self.api("DELETE", user_path("frank") + "acme/")[0], 404)
        status, _ = self.api("DELETE", user_path("frank") + "openai")  # no revocation_url: just deleted
        self.assertEqual(status, 204)
        self.assertEqual(self.api("GET", user_path("frank"))[1]["results"], [])
        feed, _ = self.events_of("frank", "connection_deleted", 2)
        self.assertEqual(sorted(e["connector"] for e in feed), ["acme", "openai"])
        self.assertEqual(self.stats()["revocations"], revoked + 1)
        self.assert_no_secret_leaked()


class RemoteModeTest(unittest.TestCase):
    def test_token_api_is_501_in_remote_mode(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--link-service-url", "http://127.0.0.1:9", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY,
                                                                                    "AUTHRELAY_LINK_SERVICE_API_KEY": "k"})
        try:
            status, body = Api(relay, ADMIN_KEY)("POST", user_path("u") + "openai/token")
            self.assertEqual(status, 501)
            self.assertIn("remote link service", body["detail"])
        finally:
            code = relay.stop()
            agent.stop()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
