"""Integration tests: token refresh single-flight across replicas (issue #16),
three authrelay replicas on one PostgreSQL store, under tests/pg/pgcluster.py
(PG_URL: a throwaway cluster), and oauth_provider.py, the stand-in for a
hosted OAuth provider (which cannot run here), rotating refresh tokens: a
spent one is refused with invalid_grant, as a real provider does.

- A connection whose access token expired, stored through replica A; nine
  token API callers at once, three on each replica, while the provider holds
  the refresh it got (token=hang): exactly one refresh reaches the provider
  (the replica that claimed the row's refresh lease; the others wait, counted
  in authrelay_connection_refresh_lease_waits_total, before the provider is
  released: no timing), every caller gets the one new access token, which the
  provider honours, and the connection stays active. Without the lease each
  replica sends its own refresh: three at the provider, two of them with a
  refresh token the first one spent (invalid_grant).
- The replica holding the lease is killed with SIGKILL while the provider
  holds its refresh (dropped then, unanswered, nothing spent): a caller
  waiting on replica B gets a new token once A's lease ended (B claims it and
  refreshes once); replica C then hands out the same token without a refresh.
  The lease lasts provider_timeout_s + 3 x store_timeout_s + 1 s (both
  documented options, set low here: 5 + 3 + 1 = 9 s), not a test knob.
"""

import datetime
import json
import os
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Relay, catalog_file  # noqa: E402
from test_linkservice import OPENAI, complete_oauth, oauth2_connector, request, start_provider  # noqa: E402
from test_pgstore import ENV, api, pg_url, readyz, wait_until  # noqa: E402

CLIENT_SECRET = "cs-replica-refresh-4711"
LEASE_WAITS = "authrelay_connection_refresh_lease_waits_total"
WAITERS = "authrelay_connection_token_waiters"
PER_REPLICA = 3
UNUSED_UPSTREAM = "http://127.0.0.1:9"  # nothing is relayed here; authrelay wants an upstream


def token_path(user):
    return "/api/v1/registered-users/origin:%s/connections/acme/token" % urllib.parse.quote(user, safe="")


class ReplicaRefreshTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.port = int(os.environ["PG_PORT"])
        cls.provider = start_provider("acme-client", CLIENT_SECRET)
        cls.catalog = catalog_file([oauth2_connector("acme", "Acme CRM", cls.provider.url, scopes="crm.read"),
                                    OPENAI])

    @classmethod
    def tearDownClass(cls):
        cls.provider.stop()
        os.unlink(cls.catalog)

    def setUp(self):
        self.relays = []
        self.threads = []
        self.mode(token="ok", rotate="on", access_ttl="3600")
        self.replicas = [Relay(UNUSED_UPSTREAM, "--connectors", self.catalog, "--store", pg_url(self.port),
                               "--provider-timeout-s", "5", "--store-timeout-s", "1", env=ENV)
                         for _ in range(3)]
        self.relays = list(self.replicas)
        wait_until(lambda: all(readyz(r)[0] == 200 for r in self.replicas), "three replicas ready")
        status, _ = api(self.replicas[0], "POST", "/api/v1/application-credentials/",
                        {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        self.assertIn(status, (201, 400, 409))  # once per database: later tests find it there

    def tearDown(self):
        self.mode(token="ok", held="drop")  # nothing stays held
        for th in self.threads:
            th.join(30)
        for r in self.relays:
            r.stop()

    # --- helpers ---

    def mode(self, **modes):
        self.assertEqual(self.provider.mode(**modes), 200)

    def stats(self):
        return json.loads(request("GET", self.provider.url + "/_control/stats")[2])

    def resource(self, access_token):
        return request("GET", self.provider.url + "/resource", headers={"Authorization": "Bearer " + access_token})[0]

    def token(self, relay):
        """The token API on relay for the test's user: (status, JSON body)."""
        return token_call(relay.control_url + token_path(self.user))

    def connect(self, relay, user):
        """user connects acme through relay's link page (the provider's consent
        given at once); its access token lives one second."""
        self.user = user
        status, u = api(relay, "POST", "/api/v1/registered-users/", {"origin_user_id": user, "origin_user_name": "N"})
        self.assertIn(status, (200, 201), u)
        status, lt = api(relay, "POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": "acme"})
        self.assertEqual(status, 201, lt)
        complete_oauth(self, lt["magic_link_url"])

    def connection(self, relay):
        status, listed = api(relay, "GET", "/api/v1/registered-users/origin:%s/connections/" % self.user)
        self.assertEqual(status, 200, listed)
        self.assertEqual(len(listed["results"]), 1)
        return listed["results"][0]

    def wait_expired(self):
        """The stored access token has expired (its expires_at passed)."""
        expires = datetime.datetime.strptime(self.connection(self.replicas[0])["expires_at"][:19],
                                             "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        wait_until(lambda: datetime.datetime.now(datetime.timezone.utc) > expires + datetime.timedelta(seconds=1),
                   "the access token expired", 10)

    def ask_in_background(self, relay, results):
        def call():
            r = self.token(relay)
            with lock:
                results.append(r)
        lock = self.lock
        th = threading.Thread(target=call, daemon=True)
        self.threads.append(th)
        th.start()

    def metric(self, relay, name):
        return relay.metrics().get(name, 0)

    # --- the tests ---

    def test_one_refresh_for_callers_on_three_replicas(self):
        self.lock = threading.Lock()
        self.mode(access_ttl="1")
        self.connect(self.replicas[0], "refresh_user")
        self.mode(access_ttl="3600")
        self.wait_expired()
        before = self.stats()
        self.mode(token="hang")  # the provider holds the refresh it gets
        results = []
        for r in self.replicas:
            for _ in range(PER_REPLICA):
                self.ask_in_background(r, results)

        def all_waiting():
            # every caller is waiting: on its replica's flight, and that
            # flight on the provider (the lease holder) or on the lease
            waiters = sum(self.metric(r, WAITERS) for r in self.replicas)
            refreshing = self.stats()["refresh_requests"] - before["refresh_requests"]
            waiting = sum(self.metric(r, LEASE_WAITS) for r in self.replicas)
            return waiters == 3 * PER_REPLICA and refreshing + waiting >= 3
        try:
            wait_until(all_waiting, "nine callers waiting, every replica refreshing or waiting on the lease")
        finally:
            self.mode(token="ok")
        for th in self.threads:
            th.join(30)
        self.assertEqual(len(results), 3 * PER_REPLICA)
        self.assertEqual({s for s, _ in results}, {200}, results)
        tokens = {b["access_token"] for _, b in results}
        self.assertEqual(len(tokens), 1)  # one new token for everyone
        after = self.stats()
        self.assertEqual(after["refresh_requests"] - before["refresh_requests"], 1)
        self.assertEqual(after["refreshes"] - before["refreshes"], 1)
        token = tokens.pop()
        self.assertEqual(self.resource(token), 200)
        self.assertEqual(sum(self.metric(r, LEASE_WAITS) for r in self.replicas), 2)
        for r in self.replicas:
            self.assertEqual(self.connection(r)["status"], "active")
            status, again = self.token(r)  # fresh now: from the store, no refresh
            self.assertEqual((status, again["access_token"]), (200, token))
        self.assertEqual(self.stats()["refresh_requests"], after["refresh_requests"])

    def test_lease_of_a_killed_replica_ends(self):
        self.lock = threading.Lock()
        a, b, c = self.replicas
        self.mode(access_ttl="1")
        self.connect(a, "killed_holder_user")
        self.mode(access_ttl="3600")
        self.wait_expired()
        before = self.stats()
        self.mode(token="hang")
        held, waited = [], []
        self.ask_in_background(a, held)
        wait_until(lambda: self.stats()["refresh_requests"] == before["refresh_requests"] + 1,
                   "A's refresh held at the provider")
        self.ask_in_background(b, waited)
        wait_until(lambda: self.metric(b, LEASE_WAITS) == 1, "B waiting on A's lease")
        a.proc.kill()  # SIGKILL, holding the lease
        a.proc.wait(10)
        self.mode(held="drop", token="ok")  # A's call dies unanswered: its refresh token is not spent
        for th in self.threads:
            th.join(30)
        self.assertEqual(len(waited), 1)
        status, body = waited[0]
        self.assertEqual(status, 200, body)
        self.assertEqual(self.resource(body["access_token"]), 200)
        after = self.stats()
        self.assertEqual(after["refresh_requests"] - before["refresh_requests"], 2)  # A's (dropped), B's
        self.assertEqual(after["refreshes"] - before["refreshes"], 1)
        self.assertIn("dropped", [e["result"] for e in self.provider.log()])
        self.assertEqual(self.connection(c)["status"], "active")
        status, again = self.token(c)
        self.assertEqual((status, again["access_token"]), (200, body["access_token"]))
        self.assertEqual(self.stats()["refresh_requests"], after["refresh_requests"])


def token_call(url):
    """A token API call with the owner key: (status, JSON body)."""
    status, _, text = request("POST", url, headers={"Authorization": "Bearer " + ENV["AUTHRELAY_ADMIN_KEY"]},
                              timeout=40)
    return status, (json.loads(text) if text.strip() else None)


if __name__ == "__main__":
    unittest.main()
