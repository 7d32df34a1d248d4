"""Integration tests of link binding (issue #15; DESIGN.md "Connections",
link binding): with link.verifier_url set, nothing is stored until the
app's verifier confirms the link's own user.

Real processes on loopback: the example agent server, authrelay (SQLite in
a temporary data directory, a temporary catalog: "openai" api_key, "acme"
oauth2 at oauth_provider.py, the stand-in for a third-party provider),
verifier_app.py (a stand-in for the operator's own app: its signed-in user
is the app_user cookie, its API token has write:user), and urllib as the
browser (redirects followed by hand, so every hop is checked).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import AUTHRELAY, AgentServer, Relay, StandIn, Stream, catalog_file, link_of, wait_until  # noqa: E402
from test_linkservice import OPENAI, Api, oauth2_connector, request, secrets_on_disk, start_provider  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_KEY = "test-owner-key-linkbind"
CLIENT_SECRET = "cs-linkbind-secret-0077"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class LinkBindTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = start_provider("acme-client", CLIENT_SECRET)
        cls.provider_url = cls.provider.url
        cls.catalog = catalog_file([
            oauth2_connector("acme", "Acme CRM", cls.provider_url, scopes="crm.read"),
            OPENAI])
        cls.verifier_config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        cls.verifier_config.close()
        cls.verifier = StandIn("verifier_app.py", "--config", cls.verifier_config.name)
        cls.verifier_url = cls.verifier.url
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--connectors", cls.catalog,
                          "--link-verifier-url", cls.verifier_url + "/verify",
                          env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay, ADMIN_KEY)
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        assert status == 201, status
        cls.app_token = cls.token_with("write:user", "the app")
        with open(cls.verifier_config.name, "w") as f:
            json.dump({"control_url": cls.relay.control_url, "token": cls.app_token}, f)

    @classmethod
    def token_with(cls, scopes, name):
        status, app = cls.api("POST", "/api/v1/oauth/applications", {"name": name, "scopes": [scopes]})
        assert status == 201, app
        status, _, text = request("POST", cls.relay.control_url + "/oauth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": app["clientId"],
             "client_secret": app["clientSecret"]}), FORM)
        assert status == 200, text
        return json.loads(text)["access_token"]

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        cls.provider.stop()
        cls.verifier.stop()
        os.unlink(cls.catalog)
        os.unlink(cls.verifier_config.name)
        assert code == 0, "authrelay exited with %r" % code

    def stream(self, connector, user):
        s = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=" + connector,
                   {"X-Registered-User-Id": user})
        _, url = link_of(s)
        return s, url

    def connectors_of(self, user):
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=" + urllib.parse.quote(user))
        self.assertEqual(status, 200, page)
        return page["results"][0]["authenticated_connectors"] if page["results"] else []

    def submit_key(self, url, key):
        """The API-key form: answered with a 303 to the verifier, nothing stored. Returns the flow id."""
        status, headers, page = request("GET", url)
        self.assertEqual(status, 200, page)
        # the form's 303 goes to the verifier: the page's CSP lets the form go there
        self.assertIn("form-action 'self' " + self.verifier_url, headers["Content-Security-Policy"])
        status, headers, _ = request("POST", url, "api_key=" + key, FORM)
        self.assertEqual(status, 303)
        return self.flow_of(headers["Location"])

    def flow_of(self, location):
        self.assertTrue(location.startswith(self.verifier_url + "/verify?flow_id=lbf_"), location)
        return urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["flow_id"][0]

    def verify_as(self, flow_id, app_user):
        """The browser at the app's verifier, signed in to the app as app_user:
        the app confirms and sends the browser on. Returns (status, Location)."""
        status, headers, page = request("GET", self.verifier_url + "/verify?flow_id=" + flow_id,
                                        headers={"Cookie": "app_user=" + app_user})
        return status, headers.get("Location"), page

    def confirm(self, flow_id, body, token=None):
        return self.api("POST", "/api/v1/link-flows/" + flow_id + "/confirm", body, token=token)

    def test_same_user_stores_and_the_stream_resumes(self):
        s, url = self.stream("openai", "bind_alice")
        flow = self.submit_key(url, "sk-bind-alice-1")
        # nothing stored before the app confirms; the stream still waits
        self.assertEqual(self.connectors_of("bind_alice"), [])
        self.assertNotIn(b"auth_complete", s.data)
        status, location, _ = self.verify_as(flow, "bind_alice")
        self.assertEqual(status, 303)
        self.assertEqual(location, self.relay.url + "/_authrelay/link-flows/done?flow_id=" + flow)
        status, _, page = request("GET", location)
        self.assertEqual(status, 200, page)
        self.assertIn("Connected", page)
        body = s.finish()
        self.assertIn(b'"type":"auth_complete"', body)
        self.assertIn(b'"seq":4', body)
        self.assertEqual(self.connectors_of("bind_alice"), ["openai"])
        self.assertEqual(request("GET", url)[0], 410)  # the link is spent
        # the flow is single use
        status, answer = self.confirm(flow, {"origin_user_id": "bind_alice"})
        self.assertEqual(status, 404, answer)
        self.assertFalse([r for r in list(self.relay.logs) if "sk-bind-alice-1" in json.dumps(r)])
        self.assertNotIn(b"sk-bind-alice-1", secrets_on_disk(self.relay.data_dir))  # sealed at rest

    def test_other_user_stores_nothing_and_ends_the_link(self):
        feed = Stream(self.relay.control_url + "/v1/events?registered_user=bind_victim",
                      {"Authorization": "Bearer " + ADMIN_KEY})
        try:
            s, url = self.stream("openai", "bind_victim")
            # the victim forwarded the link; the attacker, signed in to the app, enters their own key
            flow = self.submit_key(url, "sk-attacker-key-9")
            status, location, _ = self.verify_as(flow, "bind_mallory")
            self.assertEqual(status, 303)
            self.assertEqual(location, self.relay.url + "/_authrelay/link-flows/done?flow_id=" + flow)
            status, _, page = request("GET", location)
            self.assertEqual(status, 403, page)
            self.assertIn("Not connected", page)
            self.assertEqual([e["status"] for e in json.loads(request("GET", self.verifier_url + "/_control/log")[2])
                              if e["flow_id"] == flow], [409])
            # nothing stored, for either user; the link is ended: the stream hears link_expired
            self.assertEqual(self.connectors_of("bind_victim"), [])
            self.assertEqual(self.connectors_of("bind_mallory"), [])
            body = s.finish()
            self.assertIn(b'"type":"link_expired"', body)
            self.assertNotIn(b'"type":"auth_complete"', body)
            self.assertEqual(request("GET", url)[0], 410)
            feed.wait_for(rb'"type":"link_binding_refused"')
            self.assertNotIn(b"sk-attacker-key-9", feed.data)
            # the flow is spent: the real user cannot confirm it afterwards
            self.assertEqual(self.confirm(flow, {"origin_user_id": "bind_victim"})[0], 404)
            self.assertEqual(self.connectors_of("bind_victim"), [])
            wait_until(lambda: [r for r in list(self.relay.logs) if r.get("action") == "link_flow.refuse"],
                       "the audit line")
            self.assertFalse([r for r in list(self.relay.logs) if "sk-attacker-key-9" in json.dumps(r)])
            self.assertGreaterEqual(self.relay.metrics()["authrelay_link_bindings_refused_total"], 1)
        finally:
            feed.kill()

    def test_confirm_api_validation_and_scopes(self):
        s, url = self.stream("openai", "bind_carol")
        flow = self.submit_key(url, "sk-bind-carol")
        status, answer = self.confirm(flow, {})
        self.assertEqual((status, answer), (400, {"detail": "Invalid input: see the fields named.",
                                                   "origin_user_id": ["This field is required."]}))
        status, answer = self.confirm(flow, {"origin_user_id": 7})
        self.assertEqual(status, 400)
        self.assertIn("origin_user_id", answer)
        status, answer = self.confirm(flow, {"origin_user_id": "x" * 256})
        self.assertEqual(status, 400)
        self.assertIn("origin_user_id", answer)
        self.assertEqual(self.confirm(flow, {"origin_user_id": "bind_carol"}, token="nope")[0], 401)
        reader = self.token_with("read:user", "a reader")
        self.assertEqual(self.confirm(flow, {"origin_user_id": "bind_carol"}, token=reader)[0], 403)
        self.assertEqual(self.api("GET", "/api/v1/link-flows/" + flow + "/confirm")[0], 405)
        self.assertEqual(self.confirm("lbf_" + "0" * 32, {"origin_user_id": "bind_carol"})[0], 404)
        self.assertEqual(self.confirm("nonsense", {"origin_user_id": "bind_carol"})[0], 404)
        self.assertEqual(self.connectors_of("bind_carol"), [])
        # none of the refusals spent the flow: the right confirmation still works (owner key here)
        status, answer = self.confirm(flow, {"origin_user_id": "bind_carol"})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["connector"], "openai")
        self.assertTrue(answer["redirect_url"].endswith("/_authrelay/link-flows/done?flow_id=" + flow))
        self.assertIn(b'"type":"auth_complete"', s.finish())
        self.assertEqual(self.connectors_of("bind_carol"), ["openai"])

    def test_callback_url_is_where_the_browser_goes(self):
        self.assertEqual(self.api("POST", "/api/v1/callback-origins/", {"origin": "https://app.example.com"})[0], 201)
        status, u = self.api("POST", "/api/v1/registered-users/",
                             {"origin_user_id": "bind_dave", "origin_user_name": "Dave"})
        self.assertEqual(status, 201, u)
        status, lt = self.api("POST", "/api/v1/registered-users/" + u["id"] + "/link-token/",
                              {"connector": "openai", "callback_url": "https://app.example.com/back", "state": "s 1"})
        self.assertEqual(status, 201, lt)
        flow = self.submit_key(lt["magic_link_url"], "sk-bind-dave")
        status, location, _ = self.verify_as(flow, "bind_dave")
        self.assertEqual((status, location), (303, "https://app.example.com/back?state=s%201"))
        self.assertEqual(self.connectors_of("bind_dave"), ["openai"])

    def test_oauth_connector_waits_for_the_app(self):
        s, url = self.stream("acme", "bind_oauth")
        status, headers, _ = request("GET", url)
        self.assertEqual(status, 302)
        jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
        status, headers, _ = request("GET", headers["Location"] + "&auto=1")
        self.assertEqual(status, 302)
        # after the provider's consent and the code exchange: to the verifier, nothing stored
        status, headers, _ = request("GET", headers["Location"], headers=jar)
        self.assertEqual(status, 303)
        flow = self.flow_of(headers["Location"])
        self.assertTrue([e for e in json.loads(request("GET", self.provider_url + "/_control/log")[2])
                         if e.get("result") == "ok"])
        self.assertEqual(self.connectors_of("bind_oauth"), [])
        self.assertNotIn(b"auth_complete", s.data)
        status, location, _ = self.verify_as(flow, "bind_oauth")
        self.assertEqual(status, 303)
        self.assertIn("Acme CRM", request("GET", location)[2])
        body = s.finish()
        self.assertIn(b'"type":"auth_complete"', body)
        self.assertIn(b'"seq":4', body)
        self.assertEqual(self.connectors_of("bind_oauth"), ["acme"])

    def test_oauth_connector_other_user_stores_nothing(self):
        s, url = self.stream("acme", "bind_oauth_victim")
        status, headers, _ = request("GET", url)
        jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
        status, headers, _ = request("GET", headers["Location"] + "&auto=1")
        status, headers, _ = request("GET", headers["Location"], headers=jar)
        self.assertEqual(status, 303)
        flow = self.flow_of(headers["Location"])
        status, location, _ = self.verify_as(flow, "bind_oauth_mallory")
        self.assertEqual(status, 303)
        self.assertEqual(request("GET", location)[0], 403)
        self.assertIn(b'"type":"link_expired"', s.finish())
        self.assertEqual(self.connectors_of("bind_oauth_victim"), [])


class VerifierUrlConfigTest(unittest.TestCase):
    def check(self, url):
        return subprocess.run([AUTHRELAY, "--check-config", "--upstream", "http://127.0.0.1:1",
                               "--link-verifier-url", url], capture_output=True, timeout=10)

    def test_https_or_loopback_http_only(self):
        for good in ("https://app.example.com/verify", "https://app.example.com/v?tenant=1",
                     "http://127.0.0.1:8000/verify", "http://localhost/verify", "http://[::1]:9/verify", ""):
            p = self.check(good)
            self.assertEqual(p.returncode, 0, (good, p.stderr))
        for bad in ("http://app.example.com/verify", "https://app.example.com/v#frag", "ftp://127.0.0.1/v",
                    "/verify", "https://user@app.example.com/v", "https://app.example.com/" + "a" * 2100):
            p = self.check(bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn(b"verifier", p.stderr + p.stdout)
        p = subprocess.run([AUTHRELAY, "--check-config", "--upstream", "http://127.0.0.1:1", "--link-verifier-url",
                            "https://app.example.com/verify", "--link-service-url", "https://links.example.com"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"not with link_service.url", p.stderr + p.stdout)


if __name__ == "__main__":
    unittest.main()
