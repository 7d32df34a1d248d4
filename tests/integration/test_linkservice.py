"""Integration tests of the embedded link service (issue: Agent Handler API on
SQLite, Link page, OAuth2 and API-key connectors).

Real processes on loopback: authrelay with its SQLite store in a temporary
data directory and the connector catalog of examples/connectors.json (plus,
for the OAuth2 tests, a catalog whose "acme" connector points at
oauth_provider.py: a stand-in for a third-party OAuth provider, which cannot
run here). Clients are urllib and curl, as an app back end and a browser
would be.
"""

import glob
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, StandIn, Stream, catalog_file, curl, http, link_of, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "..", "examples", "connectors.json")
ADMIN_KEY = "test-owner-key-0123456789"
CLIENT_SECRET = "cs-very-secret-4242-abcdef"
USER_HEADER = {"X-Registered-User-Id": "user_1"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method, url, body=None, headers=None, timeout=10):
    """One HTTP exchange, redirects not followed: (status, headers, body text)."""
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if isinstance(body, (dict, list)):
        req.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def complete_oauth(test, link_url, callback_base=None):
    """The user's browser through an OAuth2 Link page: the page (302 to the
    provider, with authrelay's sign-in cookie), the provider's consent given
    at once (auto=1), authrelay's callback (callback_base: where it must
    be) with the cookie: "Connected"."""
    status, headers, _ = request("GET", link_url)
    test.assertEqual(status, 302)
    jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
    status, headers, _ = request("GET", headers["Location"] + "&auto=1")
    test.assertEqual(status, 302)
    if callback_base is not None:
        test.assertTrue(headers["Location"].startswith(callback_base + "/"), headers["Location"])
    status, _, page = request("GET", headers["Location"], headers=jar)
    test.assertEqual(status, 200, page)
    test.assertIn("Connected", page)


class Api:
    """The control listener's API with a bearer token."""

    def __init__(self, relay, token=ADMIN_KEY):
        self.base = relay.control_url
        self.token = token

    def __call__(self, method, path, body=None, token=None):
        tok = self.token if token is None else token
        headers = {"Authorization": "Bearer " + tok} if tok else {}
        status, _, text = request(method, self.base + path, body, headers)
        return status, (json.loads(text) if text.strip() else None)


def secrets_on_disk(data_dir):
    """Every byte of the data directory's SQLite files."""
    blob = b""
    for path in glob.glob(os.path.join(data_dir, "authrelay.db*")):
        with open(path, "rb") as f:
            blob += f.read()
    return blob


class ApiTest(unittest.TestCase):
    """Every endpoint: shapes, validation, authentication, scopes."""

    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--connectors", CATALOG, "--pause-timeout-s", "2",
                          env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay)
        status, _ = cls.api("POST", "/api/v1/callback-origins/", {"origin": "https://app.example.com"})
        assert status == 201, status

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        assert code == 0, "authrelay exited with %r" % code

    def user(self, origin_user_id="user_1"):
        status, u = self.api("POST", "/api/v1/registered-users/",
                             {"origin_user_id": origin_user_id, "origin_user_name": "Alice"})
        self.assertIn(status, (200, 201))
        return u

    def token_with(self, scopes, name):
        status, app = self.api("POST", "/api/v1/oauth/applications", {"name": name, "scopes": scopes})
        self.assertEqual(status, 201, app)
        status, _, text = request("POST", self.relay.control_url + "/oauth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": app["clientId"],
             "client_secret": app["clientSecret"]}), {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, text)
        return json.loads(text)["access_token"]

    # --- authentication and scopes ---

    def test_401_without_or_with_a_wrong_token(self):
        for path in ("/api/v1/registered-users/", "/api/v1/application-credentials/",
                     "/api/v1/callback-origins/", "/api/v1/oauth/applications", "/v1/streams"):
            for token in ("", "wrong-token"):
                status, body = self.api("GET", path, token=token)
                self.assertEqual(status, 401, (path, token))
        status, body = self.api("POST", "/api/hris/v1/link-token", {}, token="")
        self.assertEqual(status, 401)
        self.assertIn("detail", body)

    def test_scopes_are_enforced_and_members_cannot_create_oauth_apps(self):
        reader = self.token_with(["read:user"], "reader-app")
        self.assertEqual(self.api("GET", "/api/v1/registered-users/", token=reader)[0], 200)
        status, body = self.api("POST", "/api/v1/registered-users/",
                                {"origin_user_id": "x", "origin_user_name": "X"}, token=reader)
        self.assertEqual(status, 403)
        self.assertIn("write:user", body["detail"])
        self.assertEqual(self.api("GET", "/api/v1/application-credentials/", token=reader)[0], 403)
        self.assertEqual(self.api("GET", "/v1/streams", token=reader)[0], 403)
        # A member (no admin scope), even with every other scope, cannot make OAuth apps.
        member = self.token_with(["read:user", "write:user", "read:organization", "write:organization"],
                                 "member-app")
        self.assertEqual(self.api("POST", "/api/v1/oauth/applications",
                                  {"name": "m", "scopes": ["read:user"]}, token=member)[0], 403)
        self.assertEqual(self.api("POST", "/api/v1/callback-origins/",
                                  {"origin": "https://m.example.com"}, token=member)[0], 403)
        self.assertEqual(self.api("GET", "/v1/streams", token=member)[0], 200)
        admin = self.token_with(["admin:organization"], "admin-app")
        self.assertEqual(self.api("POST", "/api/v1/oauth/applications",
                                  {"name": "by-admin", "scopes": ["read:organization"]}, token=admin)[0], 201)
        # no escalation: an admin token grants only scopes it holds, and never admin:all
        for scopes in (["admin:all"], ["read:user"], ["write:webhooks"]):
            status, err = self.api("POST", "/api/v1/oauth/applications",
                                   {"name": "escalate-" + scopes[0], "scopes": scopes}, token=admin)
            self.assertEqual(status, 400, scopes)
            self.assertIn("scopes", err)

    def test_oauth_token_endpoint(self):
        status, app = self.api("POST", "/api/v1/oauth/applications",
                               {"name": "tok-app", "description": "CI", "redirectUri": "https://ci.example.com/cb",
                                "scopes": ["read:user", "write:user"]})
        self.assertEqual(status, 201)
        self.assertEqual(sorted(app["scopes"]), ["read:user", "write:user"])
        self.assertTrue(app["clientSecret"])
        status, listing = self.api("GET", "/api/v1/oauth/applications")
        mine = [a for a in listing["results"] if a["id"] == app["id"]]
        self.assertEqual(len(mine), 1)
        self.assertNotIn("clientSecret", mine[0])  # shown once only
        self.assertNotIn(app["clientSecret"].encode(), secrets_on_disk(self.relay.data_dir))
        form = {"grant_type": "client_credentials", "client_id": app["clientId"],
                "client_secret": app["clientSecret"], "scope": "read:user"}
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        url = self.relay.control_url + "/oauth/token"
        status, _, text = request("POST", url, urllib.parse.urlencode(form), ctype)
        self.assertEqual(status, 200, text)
        tok = json.loads(text)
        self.assertEqual((tok["token_type"], tok["scope"], tok["expires_in"]), ("Bearer", "read:user", 3600))
        # narrowed to read:user: writing is refused
        self.assertEqual(self.api("POST", "/api/v1/registered-users/", {"origin_user_id": "n",
                                  "origin_user_name": "N"}, token=tok["access_token"])[0], 403)
        status, _, text = request("POST", url, urllib.parse.urlencode(dict(form, client_secret="nope")), ctype)
        self.assertEqual((status, json.loads(text)["error"]), (401, "invalid_client"))
        status, _, text = request("POST", url, urllib.parse.urlencode(dict(form, grant_type="password")), ctype)
        self.assertEqual((status, json.loads(text)["error"]), (400, "unsupported_grant_type"))
        status, _, text = request("POST", url, urllib.parse.urlencode(dict(form, scope="admin:all")), ctype)
        self.assertEqual((status, json.loads(text)["error"]), (400, "invalid_scope"))
        status, _, text = request("POST", url, dict(form, scope="write:user"))  # JSON body works too
        self.assertEqual(status, 200, text)
        self.assertEqual(self.api("DELETE", "/api/v1/oauth/applications/" + app["id"])[0], 204)
        self.assertEqual(self.api("GET", "/api/v1/registered-users/", token=tok["access_token"])[0], 401)
        self.assertEqual(self.api("DELETE", "/api/v1/oauth/applications/" + app["id"])[0], 404)

    def test_oauth_application_validation(self):
        cases = [
            ({"scopes": ["read:user"]}, "name"),
            ({"name": "", "scopes": ["read:user"]}, "name"),
            ({"name": "n" * 101, "scopes": ["read:user"]}, "name"),
            ({"name": "ok", "description": "d" * 501, "scopes": ["read:user"]}, "description"),
            ({"name": "ok", "scopes": []}, "scopes"),
            ({"name": "ok"}, "scopes"),
            ({"name": "ok", "scopes": ["read:everything"]}, "scopes"),
            ({"name": "ok", "redirectUri": "/relative", "scopes": ["read:user"]}, "redirectUri"),
        ]
        for body, field in cases:
            status, err = self.api("POST", "/api/v1/oauth/applications", body)
            self.assertEqual(status, 400, body)
            self.assertIn(field, err, body)
        self.assertEqual(self.api("POST", "/api/v1/oauth/applications", {"name": "n" * 100, "scopes": ["admin:all"]})[0],
                         201)
        status, err = self.api("POST", "/api/v1/oauth/applications", {"name": "n" * 100, "scopes": ["read:user"]})
        self.assertEqual((status, sorted(err)), (400, ["detail", "name"]))

    # --- registered users ---

    def test_registered_users_crud(self):
        body = {"origin_user_id": "crud_1", "origin_user_name": "Bob",
                "shared_credential_group": {"origin_company_id": "acme", "origin_company_name": "Acme"},
                "user_type": "SYSTEM"}
        status, u = self.api("POST", "/api/v1/registered-users/", body)
        self.assertEqual(status, 201)
        self.assertEqual(set(u), {"id", "origin_user_id", "origin_user_name", "shared_credential_group",
                                  "user_type", "authenticated_connectors", "is_test"})
        self.assertEqual((u["user_type"], u["authenticated_connectors"], u["is_test"]), ("SYSTEM", [], False))
        self.assertEqual(u["shared_credential_group"], {"origin_company_id": "acme", "origin_company_name": "Acme"})
        status, again = self.api("POST", "/api/v1/registered-users/", dict(body, origin_user_name="Other"))
        self.assertEqual((status, again["id"], again["origin_user_name"]), (200, u["id"], "Bob"))  # idempotent
        self.assertEqual(self.api("GET", "/api/v1/registered-users/" + u["id"] + "/")[1], u)
        status, patched = self.api("PATCH", "/api/v1/registered-users/" + u["id"] + "/",
                                   {"origin_user_name": "Robert", "shared_credential_group": None, "is_test": True})
        self.assertEqual((status, patched["origin_user_name"], patched["shared_credential_group"], patched["is_test"]),
                         (200, "Robert", None, True))
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=crud_1")
        self.assertEqual((status, page["count"], page["results"][0]["origin_user_name"]), (200, 1, "Robert"))
        self.assertEqual(self.api("DELETE", "/api/v1/registered-users/" + u["id"] + "/")[0], 204)
        self.assertEqual(self.api("GET", "/api/v1/registered-users/" + u["id"] + "/")[0], 404)
        self.assertEqual(self.api("DELETE", "/api/v1/registered-users/" + u["id"] + "/")[0], 404)
        self.assertEqual(self.api("PATCH", "/api/v1/registered-users/no-such-id/", {"origin_user_name": "x"})[0], 404)

    def test_registered_user_validation_and_paging(self):
        cases = [
            ({"origin_user_name": "A"}, "origin_user_id"),
            ({"origin_user_id": "a"}, "origin_user_name"),
            ({"origin_user_id": "", "origin_user_name": "A"}, "origin_user_id"),
            ({"origin_user_id": "x" * 256, "origin_user_name": "A"}, "origin_user_id"),
            ({"origin_user_id": "has space", "origin_user_name": "A"}, "origin_user_id"),
            ({"origin_user_id": 7, "origin_user_name": "A"}, "origin_user_id"),
            ({"origin_user_id": "a", "origin_user_name": "n" * 256}, "origin_user_name"),
            ({"origin_user_id": "a", "origin_user_name": "A", "user_type": "ROBOT"}, "user_type"),
            ({"origin_user_id": "a", "origin_user_name": "A", "is_test": "yes"}, "is_test"),
            ({"origin_user_id": "a", "origin_user_name": "A", "shared_credential_group": {}},
             "origin_company_id"),
        ]
        for body, field in cases:
            status, err = self.api("POST", "/api/v1/registered-users/", body)
            self.assertEqual(status, 400, body)
            self.assertIn(field, err, body)
        status, err = self.api("POST", "/api/v1/registered-users/", "not json")
        self.assertEqual(status, 400)
        self.assertIn("detail", err)
        for i in range(5):
            self.user("page_%d" % i)
        status, p1 = self.api("GET", "/api/v1/registered-users/?page_size=2")
        self.assertEqual((status, len(p1["results"])), (200, 2))
        self.assertGreaterEqual(p1["count"], 5)
        self.assertIsNotNone(p1["next"])
        self.assertIsNone(p1["previous"])
        status, p2 = self.api("GET", "/api/v1/registered-users/?page_size=2&page=2")
        self.assertEqual(len(p2["results"]), 2)
        self.assertFalse({u["id"] for u in p1["results"]} & {u["id"] for u in p2["results"]})
        self.assertEqual(self.api("GET", "/api/v1/registered-users/?page_size=0")[0], 400)
        self.assertEqual(self.api("GET", "/api/v1/registered-users/?page_size=1001")[0], 400)

    # --- application credentials ---

    def test_application_credentials(self):
        status, a = self.api("POST", "/api/v1/application-credentials/",
                             {"connector_slug": "github", "client_id": "gh-client", "client_secret": CLIENT_SECRET})
        self.assertEqual(status, 201, a)
        self.assertEqual(set(a), {"id", "connector_slug", "client_id", "external_id", "is_global_default",
                                  "created_at", "modified_at"})
        self.assertEqual((a["external_id"], a["is_global_default"]), (None, True))  # first of its connector
        status, b = self.api("POST", "/api/v1/application-credentials/",
                             {"connector_slug": "github", "client_id": "gh-tenant", "client_secret": CLIENT_SECRET + "2",
                              "external_id": "tenant_1", "is_global_default": True})
        self.assertEqual((status, b["is_global_default"]), (201, True))
        self.assertFalse(self.api("GET", "/api/v1/application-credentials/" + a["id"] + "/")[1]["is_global_default"])
        status, dup = self.api("POST", "/api/v1/application-credentials/",
                               {"connector_slug": "github", "client_id": "x", "external_id": "tenant_1"})
        self.assertEqual(status, 400)
        self.assertIn("external_id", dup)
        status, dup = self.api("POST", "/api/v1/application-credentials/", {"connector_slug": "github", "client_id": "x"})
        self.assertEqual(status, 400)  # (github, no external_id) exists
        cases = [
            ({"client_id": "x"}, "connector_slug"),
            ({"connector_slug": "nosuch", "client_id": "x"}, "connector_slug"),
            ({"connector_slug": "slack"}, "client_id"),
            ({"connector_slug": "slack", "client_id": "c" * 256}, "client_id"),
            ({"connector_slug": "slack", "client_id": "x", "client_secret": "s" * 256}, "client_secret"),
            ({"connector_slug": "slack", "client_id": "x", "external_id": "bad id!"}, "external_id"),
            ({"connector_slug": "slack", "client_id": "x", "external_id": "e" * 129}, "external_id"),
            ({"connector_slug": "slack", "client_id": "x", "is_global_default": 1}, "is_global_default"),
        ]
        for body, field in cases:
            status, err = self.api("POST", "/api/v1/application-credentials/", body)
            self.assertEqual(status, 400, body)
            self.assertIn(field, err, body)
        status, patched = self.api("PATCH", "/api/v1/application-credentials/" + a["id"] + "/",
                                   {"client_id": "gh-client-2", "client_secret": CLIENT_SECRET + "3"})
        self.assertEqual((status, patched["client_id"]), (200, "gh-client-2"))
        status, listing = self.api("GET", "/api/v1/application-credentials/?connector_slug=github")
        self.assertEqual((status, listing["count"]), (200, 2))
        for resp in (a, b, patched, listing):
            self.assertNotIn("client_secret", json.dumps(resp))
            self.assertNotIn(CLIENT_SECRET, json.dumps(resp))
        self.assertNotIn(CLIENT_SECRET.encode(), secrets_on_disk(self.relay.data_dir))
        self.assertFalse([r for r in self.relay.logs if CLIENT_SECRET in json.dumps(r)])
        self.assertEqual(self.api("DELETE", "/api/v1/application-credentials/" + b["id"] + "/")[0], 204)
        self.assertEqual(self.api("GET", "/api/v1/application-credentials/" + b["id"] + "/")[0], 404)
        self.assertEqual(self.api("PATCH", "/api/v1/application-credentials/" + b["id"] + "/", {"client_id": "z"})[0],
                         404)
        self.assertEqual(self.api("DELETE", "/api/v1/application-credentials/" + a["id"] + "/")[0], 204)

    # --- link tokens and callback origins ---

    def link_token(self, user_id, **body):
        return self.api("POST", "/api/v1/registered-users/%s/link-token/" % user_id, body)

    def test_callback_origins_match_exactly(self):
        u = self.user()
        ok = self.link_token(u["id"], connector="openai", callback_url="https://app.example.com/done")
        self.assertEqual(ok[0], 201, ok)
        for url in ("https://app.example.com.evil.com/done", "https://app.example.com@evil.com/done",
                    "https://app.example.com:8443/done", "http://app.example.com/done",
                    "https://evil.com/https://app.example.com", "https://evil.com/?u=https://app.example.com",
                    "https://app.example.com\\@evil.com/", "https://app.example.com/#frag", "javascript:alert(1)"):
            status, err = self.link_token(u["id"], connector="openai", callback_url=url)
            self.assertEqual(status, 400, url)
            self.assertIn("callback_url", err, url)
        status, listing = self.api("GET", "/api/v1/callback-origins/")
        self.assertIn("https://app.example.com", [o["origin"] for o in listing["results"]])
        self.assertEqual(self.api("POST", "/api/v1/callback-origins/", {"origin": "https://x.example.com/path"})[0], 400)
        self.assertEqual(self.api("POST", "/api/v1/callback-origins/", {"origin": "https://app.example.com"})[0], 400)
        self.assertEqual(self.api("POST", "/api/v1/callback-origins/", {"origin": "https://tmp.example.com:8443"})[0],
                         201)
        q = urllib.parse.quote("https://tmp.example.com:8443", safe="")
        self.assertEqual(self.api("DELETE", "/api/v1/callback-origins/?origin=" + q)[0], 204)
        self.assertEqual(self.api("DELETE", "/api/v1/callback-origins/?origin=" + q)[0], 404)

    def test_link_token_validation(self):
        u = self.user()
        cases = [
            ({}, "connector"),
            ({"connector": "nosuch"}, "connector"),
            ({"connector": "openai", "state": "s1"}, "state"),  # state needs callback_url
            ({"connector": "openai", "callback_url": "https://app.example.com/cb?state=x", "state": "s1"}, "state"),
            ({"connector": "openai", "callback_url": "https://app.example.com/" + "p" * 2100}, "callback_url"),
            ({"connector": "openai", "callback_url": "https://app.example.com/", "state": "s" * 256}, "state"),
            ({"connector": "openai", "callback_url": "https://app.example.com/cb?%73tate=x", "state": "s1"}, "state"),
            ({"connector": "openai", "callback_url": "https://app.example.com/cb?a=1&state", "state": "s1"}, "state"),
            ({"connector": "openai", "callback_url": "https://app.example.com/caf\u00e9"}, "callback_url"),
            ({"connector": "openai", "callback_url": "https://app.example.com/\u2028"}, "callback_url"),
        ]
        for body, field in cases:
            status, err = self.link_token(u["id"], **body)
            self.assertEqual(status, 400, body)
            self.assertIn(field, err, body)
        self.assertEqual(self.link_token("no-such-user", connector="openai")[0], 404)
        # a parameter that merely ends in "state" is not the state
        status, _ = self.link_token(u["id"], connector="openai", callback_url="https://app.example.com/cb?oauth_state=1",
                                    state="s1")
        self.assertEqual(status, 201)
        # a NUL would cut a value short: refused
        status, err = self.link_token(u["id"], connector="openai", callback_url="https://app.example.com/",
                                      state="a\u0000b")
        self.assertEqual(status, 400)
        self.assertIn("U+0000", err["detail"])

    def test_link_token_single_use_with_callback_and_state(self):
        u = self.user("single_use")
        status, lt = self.link_token(u["id"], connector="openai", callback_url="https://app.example.com/done?x=1",
                                     state="st-42")
        self.assertEqual(status, 201, lt)
        self.assertEqual(set(lt), {"link_token", "magic_link_url", "expires_at"})
        self.assertTrue(lt["magic_link_url"].startswith(self.relay.url + "/_authrelay/link/ltk_"))
        status, _, page = request("GET", lt["magic_link_url"])
        self.assertEqual(status, 200)
        self.assertIn('name="api_key"', page)
        self.assertIn("<h1>Connect OpenAI</h1>", page)  # the catalog's name
        results = []

        def submit():
            results.append(request("POST", lt["magic_link_url"], "api_key=sk-live-0000",
                                   {"Content-Type": "application/x-www-form-urlencoded"}))

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses, [303, 410], results)  # two concurrent uses: one wins
        won = [r for r in results if r[0] == 303][0]
        self.assertEqual(won[1]["Location"], "https://app.example.com/done?x=1&state=st-42")
        status, user = self.api("GET", "/api/v1/registered-users/" + u["id"] + "/")
        self.assertEqual(user["authenticated_connectors"], ["openai"])
        self.assertNotIn(b"sk-live-0000", secrets_on_disk(self.relay.data_dir))
        self.assertFalse([r for r in self.relay.logs if "sk-live-0000" in json.dumps(r)])

    def test_expired_link_is_refused(self):
        # --pause-timeout-s 2: a stream's link lives 2 s.
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=openai",
                   {"X-Registered-User-Id": "expiry_user"})
        _, url = link_of(s)
        s.wait_for(rb"event: link_expired", timeout=10)
        status, _, page = request("POST", url, "api_key=k", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 410)
        self.assertIn("no longer be used", page)
        s.finish()

    def test_stream_link_is_stored_and_completes_through_the_page(self):
        s = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=openai",
                   {"X-Registered-User-Id": "stream_user"})
        _, url = link_of(s)
        status, _, page = request("POST", url, "api_key=sk-stream", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertIn("Connected", page)
        body = s.finish()
        self.assertIn(b"event: auth_complete", body)
        self.assertIn(b'"seq":4', body)
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=stream_user")
        self.assertEqual(page["results"][0]["authenticated_connectors"], ["openai"])

    def test_detection_for_a_connector_outside_the_catalog_is_not_paused(self):
        _, body, _ = curl("-H", "X-Registered-User-Id: user_1",
                          self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=evilcorp")
        self.assertNotIn(b"event: link_token", body)
        self.assertIn(b'"seq":3', body)

    # --- unified-API link token ---

    def test_unified_link_token(self):
        good = {"end_user_email_address": "a@example.com", "end_user_organization_name": "Acme",
                "end_user_origin_id": "unified_1", "categories": ["crm"], "integration": "openai"}
        status, lt = self.api("POST", "/api/crm/v1/link-token", good)
        self.assertEqual(status, 200, lt)
        self.assertEqual(set(lt), {"link_token", "integration_name", "magic_link_url"})
        self.assertEqual((lt["integration_name"], lt["magic_link_url"]), ("OpenAI", None))
        status, lt = self.api("POST", "/api/crm/v1/link-token",
                              dict(good, should_create_magic_link_url=True, link_expiry_mins=10080))
        self.assertEqual(status, 200, lt)
        self.assertTrue(lt["magic_link_url"].endswith(lt["link_token"]))
        self.assertEqual(request("GET", lt["magic_link_url"])[0], 200)
        cases = [
            ({k: v for k, v in good.items() if k != "end_user_email_address"}, "end_user_email_address"),
            (dict(good, end_user_email_address=""), "end_user_email_address"),
            (dict(good, end_user_organization_name="o" * 101), "end_user_organization_name"),
            (dict(good, end_user_origin_id="i" * 101), "end_user_origin_id"),
            (dict(good, categories=[]), "categories"),
            (dict(good, categories=["crm", "weather"]), "categories"),
            (dict(good, integration="nosuch"), "integration"),
            (dict(good, link_expiry_mins=29), "link_expiry_mins"),
            (dict(good, link_expiry_mins=721), "link_expiry_mins"),
            (dict(good, link_expiry_mins=10081, should_create_magic_link_url=True), "link_expiry_mins"),
            (dict(good, link_expiry_mins="60"), "link_expiry_mins"),
        ]
        for body, field in cases:
            status, err = self.api("POST", "/api/crm/v1/link-token", body)
            self.assertEqual(status, 400, body)
            self.assertIn(field, err, body)
        self.assertEqual(self.api("POST", "/api/crm/v1/link-token", dict(good, link_expiry_mins=720))[0], 200)
        self.assertEqual(self.api("POST", "/api/weather/v1/link-token", good)[0], 404)

    def test_control_api_body_limit_and_unknown_paths(self):
        status, _, _ = request("POST", self.relay.control_url + "/api/v1/registered-users/",
                               b"{" + b" " * (70 * 1024) + b"}",
                               {"Authorization": "Bearer " + ADMIN_KEY, "Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertEqual(self.api("GET", "/api/v1/nothing-here/")[0], 404)


def start_provider(client_id, client_secret):
    return StandIn("oauth_provider.py", "--client-id", client_id, "--client-secret", client_secret)


def oauth2_connector(slug, name, provider_url, **extra):
    """A catalog entry: an OAuth2 connector on the stand-in provider at provider_url."""
    return {"slug": slug, "name": name, "auth": "oauth2", "authorize_url": provider_url + "/authorize",
            "token_url": provider_url + "/token", **extra}


OPENAI = {"slug": "openai", "name": "OpenAI", "auth": "api_key"}


class OAuth2Test(unittest.TestCase):
    """The authorization-code flow with PKCE against the stand-in provider."""

    @classmethod
    def setUpClass(cls):
        cls.provider = start_provider("acme-client", CLIENT_SECRET)
        cls.provider_url = cls.provider.url
        cls.catalog = catalog_file([
            oauth2_connector("acme", "Acme CRM", cls.provider_url, scopes="crm.read crm.write"),
            # Notion's way: HTTP Basic client authentication and owner=user on the authorize URL
            oauth2_connector("acme-basic", "Acme Basic", cls.provider_url, scopes="crm.read crm.write",
                             token_auth="client_secret_basic", authorize_params={"owner": "user"}),
            OPENAI])
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--connectors", cls.catalog, "--provider-timeout-s", "2",
                          env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay)
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        assert status == 201
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme-basic", "client_id": "acme-client",
                             "client_secret": CLIENT_SECRET})
        assert status == 201

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        cls.provider.stop()
        os.unlink(cls.catalog)
        assert code == 0, "authrelay exited with %r" % code

    def set_mode(self, **modes):
        self.assertEqual(self.provider.mode(**modes), 200)

    def provider_log(self):
        return self.provider.log()

    def begin(self, link_url):
        """GET the link page: a redirect to the provider (and a cookie binding
        the sign-in to this browser); the provider approves (auto=1) and
        redirects back to authrelay's callback URL. Returns (callback URL,
        cookie headers for it)."""
        status, headers, _ = request("GET", link_url)
        self.assertEqual(status, 302)
        cookie = headers["Set-Cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Lax", cookie)
        self.assertIn("Path=/_authrelay/oauth/", cookie)
        self.jar = {"Cookie": cookie.split(";", 1)[0]}
        authorize = headers["Location"]
        q = urllib.parse.parse_qs(urllib.parse.urlparse(authorize).query)
        self.assertTrue(authorize.startswith(self.provider_url + "/authorize?"), authorize)
        self.assertEqual((q["client_id"], q["code_challenge_method"], q["scope"]),
                         (["acme-client"], ["S256"], ["crm.read crm.write"]))
        self.assertEqual(q["redirect_uri"], [self.relay.url + "/_authrelay/oauth/callback"])
        self.assertEqual(len(q["code_challenge"][0]), 43)
        status, headers, _ = request("GET", authorize + "&auto=1")
        self.assertEqual(status, 302)
        callback = headers["Location"]
        self.assertTrue(callback.startswith(self.relay.url + "/_authrelay/oauth/callback?"), callback)
        return callback

    def test_end_to_end_stream_resumes(self):
        s = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=acme",
                   {"X-Registered-User-Id": "oauth_user"})
        _, url = link_of(s)
        callback = self.begin(url)
        status, _, page = request("GET", callback)  # no cookie: another browser
        self.assertEqual(status, 400)
        self.assertIn("another browser", page)
        callback = self.begin(url)
        status, _, page = request("GET", callback, headers=self.jar)
        self.assertEqual(status, 200, page)
        self.assertIn("Connected", page)
        self.assertIn("Acme CRM", page)
        body = s.finish()
        self.assertIn(b"event: auth_complete", body)
        self.assertIn(b'"seq":4', body)
        exchanges = [e for e in self.provider_log() if e.get("result") == "ok"]
        self.assertTrue(exchanges and exchanges[-1]["verifier_ok"] and exchanges[-1]["client_ok"], exchanges)
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=oauth_user")
        self.assertEqual(page["results"][0]["authenticated_connectors"], ["acme"])
        self.assertGreaterEqual(self.relay.metrics()['authrelay_links_completed_total{auth="oauth2"}'], 1)
        # the callback cannot be replayed: its state was single use
        self.assertEqual(request("GET", callback, headers=self.jar)[0], 400)
        # the access log shows neither the code nor the state nor a whole link token
        paths = [r["path"] for r in self.relay.logs if r.get("msg") == "access" and "/_authrelay/" in r["path"]]
        self.assertTrue(paths)
        self.assertFalse([p for p in paths if "code=" in p or "state=" in p or len(p) > 30], paths)
        self.assertNotIn(CLIENT_SECRET.encode(), secrets_on_disk(self.relay.data_dir))
        self.assertFalse([r for r in self.relay.logs if CLIENT_SECRET in json.dumps(r)])

    def test_connector_options_basic_auth_and_authorize_params(self):
        # the provider refuses a client_secret in the body: only HTTP Basic gets through
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=acme-basic",
                   {"X-Registered-User-Id": "basic_user"})
        _, url = link_of(s)
        self.set_mode(token_auth="basic")
        try:
            callback = self.begin(url)
            stats = json.loads(request("GET", self.provider_url + "/_control/stats")[2])
            self.assertEqual(stats["last_authorize"].get("owner"), "user")
            status, _, page = request("GET", callback, headers=self.jar)
        finally:
            self.set_mode(token_auth="any")
        self.assertEqual(status, 200, page)
        self.assertIn("Acme Basic", page)
        exchanges = [e for e in self.provider_log() if e.get("grant") == "authorization_code"]
        self.assertEqual((exchanges[-1]["result"], exchanges[-1]["client_ok"]), ("ok", True), exchanges)
        self.assertIn(b"event: auth_complete", s.finish())

    def test_external_id_picks_the_application_credential(self):
        status, _ = self.api("POST", "/api/v1/application-credentials/",
                             {"connector_slug": "acme", "client_id": "acme-tenant-b", "external_id": "tenant_b"})
        self.assertEqual(status, 201)
        status, u = self.api("POST", "/api/v1/registered-users/", {"origin_user_id": "tb", "origin_user_name": "TB"})
        path = "/api/v1/registered-users/%s/link-token/" % u["id"]
        status, err = self.api("POST", path, {"connector": "acme", "external_id": "tenant_x"})
        self.assertEqual(status, 400)
        self.assertIn("external_id", err)
        for external_id, client_id in (("tenant_b", "acme-tenant-b"), (None, "acme-client")):
            body = {"connector": "acme"}
            if external_id:
                body["external_id"] = external_id
            status, lt = self.api("POST", path, body)
            self.assertEqual(status, 201, lt)
            status, headers, _ = request("GET", lt["magic_link_url"])
            self.assertEqual(status, 302)
            q = urllib.parse.parse_qs(urllib.parse.urlparse(headers["Location"]).query)
            self.assertEqual(q["client_id"], [client_id])

    def test_one_sign_in_per_link_and_none_on_head(self):
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=acme",
                   {"X-Registered-User-Id": "flow_user"})
        _, url = link_of(s)
        waiting = self.relay.metrics()["authrelay_oauth_flows_waiting"]
        self.assertEqual(request("HEAD", url)[0], 200)  # a link preview starts no sign-in
        self.assertEqual(self.relay.metrics()["authrelay_oauth_flows_waiting"], waiting)
        first = self.begin(url)
        first_jar = self.jar
        second = self.begin(url)  # opening the link again replaces the first sign-in
        self.assertEqual(self.relay.metrics()["authrelay_oauth_flows_waiting"], waiting + 1)
        self.assertEqual(request("GET", first, headers=first_jar)[0], 400)
        self.assertEqual(request("GET", second, headers=self.jar)[0], 200)
        self.assertIn(b"event: auth_complete", s.finish())

    def test_wrong_state_and_provider_denial(self):
        status, _, page = request("GET", self.relay.url + "/_authrelay/oauth/callback?code=abc&state=forged")
        self.assertEqual(status, 400)
        status, _, _ = request("GET", self.relay.url + "/_authrelay/oauth/callback?code=abc")
        self.assertEqual(status, 400)
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=acme",
                   {"X-Registered-User-Id": "deny_user"})
        _, url = link_of(s)
        self.set_mode(authorize="deny")
        try:
            status, headers, _ = request("GET", url)
            jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
            status, headers, _ = request("GET", headers["Location"] + "&auto=1")
            denied = headers["Location"]
            self.assertIn("error=access_denied", denied)
            self.assertEqual(request("GET", denied, headers=jar)[0], 400)
        finally:
            self.set_mode(authorize="ok")
        # the link is still pending: a second try goes through
        self.assertEqual(request("GET", self.begin(url), headers=self.jar)[0], 200)
        self.assertIn(b"event: auth_complete", s.finish())

    def test_provider_error_then_retry(self):
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=acme",
                   {"X-Registered-User-Id": "error_user"})
        _, url = link_of(s)
        callback = self.begin(url)
        failures = self.relay.metrics()["authrelay_oauth_exchange_failures_total"]
        self.set_mode(token="error")
        try:
            status, _, page = request("GET", callback, headers=self.jar)
        finally:
            self.set_mode(token="ok")
        self.assertEqual(status, 502)
        self.assertIn("refused", page)
        self.assertEqual(self.relay.metrics()["authrelay_oauth_exchange_failures_total"], failures + 1)
        with s.lock:
            self.assertNotIn(b"auth_complete", s.data)
        self.assertEqual(request("GET", self.begin(url), headers=self.jar)[0], 200)
        self.assertIn(b"event: auth_complete", s.finish())

    def test_provider_that_does_not_answer_times_out_and_the_loop_keeps_serving(self):
        s = Stream(self.relay.url + "/stream?format=sse&count=4&auth_at=1&shape=mcp&connector=acme",
                   {"X-Registered-User-Id": "hang_user"})
        _, url = link_of(s)
        callback = self.begin(url)
        other = Stream(self.relay.url + "/stream?format=sse&count=200&rate=50")
        other.wait_for(rb'"seq":5\b')
        seen = len(self.provider_log())
        self.set_mode(token="hang")
        answer = {}

        def exchange():
            answer["got"] = request("GET", callback, headers=self.jar, timeout=15)
        t = threading.Thread(target=exchange)
        try:
            t.start()
            # the provider holds the token request: the exchange hangs (until provider_timeout_s 2)
            wait_until(lambda: any(e.get("result") == "hang" for e in self.provider_log()[seen:]),
                       "the token request held by the provider")
            with other.lock:
                before = other.data.count(b"\n\n")
            # the loop keeps serving: another stream's next event (50/s) arrives while it hangs
            other.wait_data(lambda data: data.count(b"\n\n") > before, "the other stream's next event")
            self.assertTrue(t.is_alive(), "the exchange ended before the other stream's next event")
            t.join(15)
        finally:
            self.set_mode(token="ok")
        status, _, page = answer["got"]
        self.assertEqual(status, 504, page)
        other.kill()
        self.assertEqual(request("GET", self.begin(url), headers=self.jar)[0], 200)
        self.assertIn(b"event: auth_complete", s.finish())


class RestartTest(unittest.TestCase):
    """Link tokens, credentials and users survive a restart; paused clients
    get a clear end."""

    def test_restart_during_a_pause(self):
        agent = AgentServer()
        data_dir = tempfile.mkdtemp(prefix="authrelay-restart-")
        env = {"AUTHRELAY_ADMIN_KEY": ADMIN_KEY}
        relay = Relay(agent.url, "--connectors", CATALOG, data_dir=data_dir, env=env)
        try:
            api = Api(relay)
            status, u = api("POST", "/api/v1/registered-users/", {"origin_user_id": "r_user", "origin_user_name": "R"})
            self.assertEqual(status, 201)
            status, app = api("POST", "/api/v1/application-credentials/",
                              {"connector_slug": "github", "client_id": "gh", "client_secret": CLIENT_SECRET})
            self.assertEqual(status, 201)
            status, lt = api("POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": "openai"})
            self.assertEqual(status, 201)
            writes = relay.metrics()["authrelay_link_store_writes_total"]
            s = Stream(relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp&connector=stripe",
                       {"X-Registered-User-Id": "r_user"})
            _, stream_link = link_of(s)
            # the journal reaches the store on the control loop
            wait_until(lambda: relay.metrics()["authrelay_link_store_writes_total"] > writes, "the link stored")
            self.assertEqual(relay.stop(signal.SIGTERM), 0)
            body = s.finish()
            # a clear end: relay_error 503, then the chunked body's last chunk
            self.assertIn(b"event: relay_error", body)
            self.assertIn(b'"status":503', body)
            self.assertEqual(s.proc.returncode, 0)

            relay = Relay(agent.url, "--connectors", CATALOG, data_dir=data_dir, env=env)
            api = Api(relay)
            self.assertEqual(api("GET", "/api/v1/registered-users/" + u["id"] + "/")[0], 200)
            status, got = api("GET", "/api/v1/application-credentials/" + app["id"] + "/")
            self.assertEqual((status, got["client_id"]), (200, "gh"))
            port_then = urllib.parse.urlparse(stream_link).port
            link_now = stream_link.replace(":%d/" % port_then, ":%d/" % relay.port)
            api_link = lt["magic_link_url"].replace(":%d/" % urllib.parse.urlparse(lt["magic_link_url"]).port,
                                                    ":%d/" % relay.port)
            for link in (link_now, api_link):
                self.assertEqual(request("GET", link)[0], 200, link)
                self.assertEqual(request("POST", link, "api_key=after-restart",
                                         {"Content-Type": "application/x-www-form-urlencoded"})[0], 200)
            status, got = api("GET", "/api/v1/registered-users/" + u["id"] + "/")
            self.assertEqual(sorted(got["authenticated_connectors"]), ["openai", "stripe"])

            # kill -9 while paused: the client sees a broken transfer, not a clean
            # end, and the link still works after the restart.
            writes = relay.metrics()["authrelay_link_store_writes_total"]
            s = Stream(relay.url + "/stream?format=sse&count=6&auth_at=2&shape=mcp&connector=anthropic",
                       {"X-Registered-User-Id": "r_user"})
            _, killed_link = link_of(s)
            wait_until(lambda: relay.metrics()["authrelay_link_store_writes_total"] > writes, "the link stored")
            relay.stop(signal.SIGKILL)
            s.finish()
            self.assertNotEqual(s.proc.returncode, 0)  # curl: transfer closed with data outstanding
            relay = Relay(agent.url, "--connectors", CATALOG, data_dir=data_dir, env=env)
            link_now = killed_link.replace(":%d/" % urllib.parse.urlparse(killed_link).port, ":%d/" % relay.port)
            self.assertEqual(request("POST", link_now, "api_key=k", {"Content-Type": "application/x-www-form-urlencoded"})[0],
                             200)
            # used links stay used across restarts
            used = api_link.replace(":%d/" % urllib.parse.urlparse(api_link).port, ":%d/" % relay.port)
            self.assertEqual(request("GET", used)[0], 410)
        finally:
            relay.stop()
            agent.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
