"""Integration tests of the Link page's choices (issues #14, #15): picker
links (no connector), "Not now" (decline), the app's name, and OAuth2
connectors without an application credential.

Real processes on loopback: the example agent server, authrelay with its
SQLite store in a temporary data directory and a temporary catalog
("openai": api_key; "acme": oauth2 pointing at oauth_provider.py, a stand-in
for a third-party provider, with an application credential; "nocred": oauth2
without one), and urllib as the browser. Streams are read with curl.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import AUTHRELAY, AgentServer, Relay, Stream, catalog_file, link_of  # noqa: E402
from test_linkservice import OPENAI, Api, oauth2_connector, request, start_provider  # noqa: E402

ADMIN_KEY = "test-owner-key-linkpage"
CLIENT_SECRET = "cs-linkpage-secret-0042"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
APP_NAME = "Acme <Assistant>"


def feed_of(relay, user):
    """The event feed of one user, subscribed before anything happens."""
    before = relay.metrics()["authrelay_events_subscribers"]
    feed = Stream(relay.control_url + "/v1/events?registered_user=" + user,
                  {"Authorization": "Bearer " + ADMIN_KEY})
    deadline = time.time() + 5
    while relay.metrics()["authrelay_events_subscribers"] <= before and time.time() < deadline:
        time.sleep(0.01)
    return feed


class NoConnectorUpstream:
    """A loopback upstream answering every GET with one SSE stream whose
    magic-link result names no connector and no tool (close-delimited)."""

    BODY = (b'event: delta\ndata: {"type":"delta","seq":1}\n\n'
            b'event: tool_result\ndata: {"type":"tool_result","seq":2,"result":{"message":"Connect your account.",'
            b'"magic_link_url":"https://agent.example.com/link/ltk_up","link_token":"ltk_up"}}\n\n'
            b'event: delta\ndata: {"type":"delta","seq":3}\n\n'
            b'event: done\ndata: {"type":"done"}\n\n')

    def __init__(self):
        body = self.BODY

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def wait_paused(relay, user, timeout=10):
    """Polls the control API until a stream of user is paused; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, text = request("GET", relay.control_url + "/v1/streams",
                                  headers={"Authorization": "Bearer " + ADMIN_KEY})
        if status == 200:
            for s in json.loads(text)["streams"]:
                if s.get("registered_user") == user:
                    return s
        time.sleep(0.02)
    raise AssertionError("no paused stream of " + user)


class LinkPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = start_provider("acme-client", CLIENT_SECRET)
        cls.provider_url = cls.provider.url
        cls.catalog = catalog_file([
            oauth2_connector("acme", "Acme CRM", cls.provider_url, scopes="crm.read"),
            oauth2_connector("nocred", "No Cred Docs", cls.provider_url),
            OPENAI])
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--connectors", cls.catalog, "--link-app-name", APP_NAME,
                          "--link-logo-url", "https://cdn.example.com/logo.png",
                          env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay, ADMIN_KEY)
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        assert status == 201, status

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        cls.provider.stop()
        os.unlink(cls.catalog)
        assert code == 0, "authrelay exited with %r" % code

    def user(self, origin_user_id):
        status, u = self.api("POST", "/api/v1/registered-users/",
                             {"origin_user_id": origin_user_id, "origin_user_name": origin_user_id})
        self.assertIn(status, (200, 201), u)
        return u

    def picker_link(self, origin_user_id):
        """A picker link from the Link guide's API form (no Connector)."""
        u = self.user(origin_user_id)
        status, lt = self.api("POST", "/api/registered-users/" + u["id"] + "/link-token", {})
        self.assertEqual(status, 201, lt)
        return u, lt["magic_link_url"]

    def stream(self, connector, user):
        s = Stream(self.relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=" + connector,
                   {"X-Registered-User-Id": user})
        _, url = link_of(s)
        return s, url

    def test_picker_lists_what_can_be_connected_and_names_the_app(self):
        _, url = self.picker_link("picker_list")
        status, headers, page = request("GET", url)
        self.assertEqual(status, 200, page)
        self.assertIn("?connector=openai\">OpenAI</a>", page)
        self.assertIn("?connector=acme\">Acme CRM</a>", page)
        self.assertNotIn("nocred", page)  # an OAuth2 connector without application credential: not offered
        self.assertIn("Acme &lt;Assistant&gt;", page)
        self.assertIn('src="https://cdn.example.com/logo.png"', page)
        self.assertIn(">Not now</button>", page)
        self.assertIn("script-src 'sha256-", headers["Content-Security-Policy"])
        self.assertIn("img-src https:", headers["Content-Security-Policy"])
        self.assertGreaterEqual(self.relay.metrics()["authrelay_connectors_unusable_total"], 1)
        # the operator is told in the log (read by a thread: polled, bounded)
        deadline = time.time() + 10
        while time.time() < deadline and not [
                r for r in list(self.relay.logs)
                if r.get("msg", "").startswith("OAuth2 connector not offered") and r.get("connector") == "nocred"]:
            time.sleep(0.02)
        self.assertTrue([r for r in list(self.relay.logs)
                         if r.get("msg", "").startswith("OAuth2 connector not offered")
                         and r.get("connector") == "nocred"])
        # a choice outside the catalog is refused, the link stays usable
        status, _, page = request("GET", url + "?connector=evilcorp")
        self.assertEqual(status, 400)
        self.assertEqual(request("GET", url)[0], 200)
        # the unified API's picker (no integration)
        status, lt = self.api("POST", "/api/hris/v1/link-token", {
            "end_user_email_address": "p@example.com", "end_user_organization_name": "Org",
            "end_user_origin_id": "picker_unified", "categories": ["hris"], "should_create_magic_link_url": True})
        self.assertEqual(status, 200, lt)
        self.assertIsNone(lt["integration_name"])
        self.assertIn("?connector=openai", request("GET", lt["magic_link_url"])[2])

    def test_picker_api_key_choice_resumes_the_paused_stream(self):
        s, _ = self.stream("openai", "picker_key")
        _, url = self.picker_link("picker_key")
        status, _, page = request("GET", url + "?connector=openai")
        self.assertEqual(status, 200)
        self.assertIn('<input type="hidden" name="connector" value="openai">', page)
        self.assertIn("<h1>Connect OpenAI</h1>", page)
        status, _, page = request("POST", url, "connector=openai&api_key=sk-picker-1", FORM)
        self.assertEqual(status, 200, page)
        self.assertIn("Connected", page)
        body = s.finish()
        self.assertIn(b'event: auth_complete\ndata: {"type":"auth_complete","stream_id"', body)
        self.assertIn(b'"connector":"openai"}', body)
        self.assertIn(b'"seq":4', body)
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=picker_key")
        self.assertEqual(page["results"][0]["authenticated_connectors"], ["openai"])
        self.assertEqual(request("GET", url)[0], 410)  # single use

    def test_result_without_connector_pauses_on_a_picker_link(self):
        # an upstream whose magic-link result names no connector, and no tool either
        upstream = NoConnectorUpstream()
        relay = Relay(upstream.url, "--connectors", self.catalog, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        try:
            s = Stream(relay.url + "/chat", {"X-Registered-User-Id": "picker_stream"})
            m = s.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
            event = json.loads(m.group(1))
            self.assertEqual((event["connector"], event["message"]), ("", "Connect your account."))
            status, _, page = request("GET", event["magic_link_url"])
            self.assertEqual(status, 200)
            self.assertIn("?connector=openai\">OpenAI</a>", page)
            status, _, page = request("POST", event["magic_link_url"], "connector=openai&api_key=sk-picker-2", FORM)
            self.assertEqual(status, 200, page)
            body = s.finish()
            status, page = Api(relay, ADMIN_KEY)("GET", "/api/v1/registered-users/?origin_user_id=picker_stream")
            self.assertEqual(page["results"][0]["authenticated_connectors"], ["openai"])
        finally:
            code = relay.stop()
            upstream.stop()
        self.assertEqual(code, 0)
        self.assertIn(b'"type":"auth_complete"', body)
        self.assertIn(b'"connector":"openai"}', body)
        self.assertLess(body.index(b'"type":"auth_complete"'), body.index(b'"seq":3'))
        self.assertIn(b"event: done", body)
        self.assertNotIn(b"agent.example.com", body)  # the upstream's own link never reaches the client

    def test_picker_oauth_choice_signs_in_and_resumes_the_paused_stream(self):
        s, _ = self.stream("acme", "picker_oauth")
        _, url = self.picker_link("picker_oauth")
        status, headers, _ = request("GET", url + "?connector=acme")
        self.assertEqual(status, 302)
        jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
        self.assertTrue(headers["Location"].startswith(self.provider_url + "/authorize?"))
        status, headers, _ = request("GET", headers["Location"] + "&auto=1")
        self.assertEqual(status, 302)
        status, _, page = request("GET", headers["Location"], headers=jar)
        self.assertEqual(status, 200, page)
        self.assertIn("Acme CRM", page)
        body = s.finish()
        self.assertIn(b'"type":"auth_complete"', body)
        self.assertIn(b'"connector":"acme"}', body)
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=picker_oauth")
        self.assertEqual(page["results"][0]["authenticated_connectors"], ["acme"])

    def test_not_now_releases_the_generic_stream(self):
        feed = feed_of(self.relay, "decline_user")
        try:
            s, url = self.stream("openai", "decline_user")
            status, _, page = request("GET", url)
            self.assertIn(">Not now</button>", page)
            before = self.relay.metrics()["authrelay_links_declined_total"]
            status, _, page = request("POST", url, "decline=1", FORM)
            self.assertEqual(status, 200, page)
            self.assertIn("No account was connected", page)
            body = s.finish()
            feed.wait_for(rb"event: link_declined\ndata: \{[^\n]*\"connector\":\"openai\"")
        finally:
            feed.kill()
        self.assertRegex(body, rb'event: auth_declined\ndata: \{"type":"auth_declined","stream_id":"st_[0-9_]+",'
                               rb'"connector":"openai"\}\n\n')
        self.assertNotIn(b"auth_complete", body)
        # the stream went on: every later event, in order, and the end
        after = body.split(b"event: auth_declined", 1)[1]
        self.assertLess(after.index(b'"seq":3'), after.index(b'"seq":4'))
        # rewrite (the default): the auth-required event went out with authrelay's link only
        self.assertNotIn(b"agent.example.com/link/", body)
        self.assertEqual(self.relay.metrics()["authrelay_links_declined_total"], before + 1)
        self.assertEqual(self.relay.metrics()['authrelay_resumes_total{outcome="declined"}'], 1)
        status, _, page = request("POST", url, "decline=1", FORM)
        self.assertEqual(status, 410)
        status, _, page = request("POST", url, "api_key=k", FORM)
        self.assertEqual(status, 410)
        self.assertIn("declined", request("GET", url)[2])

    def test_provider_denial_offers_not_now(self):
        s, url = self.stream("acme", "deny_then_decline")
        status, _, _ = request("POST", self.provider_url + "/_control/mode", "authorize=deny", FORM)
        self.assertEqual(status, 200)
        try:
            status, headers, _ = request("GET", url)
            jar = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
            status, headers, _ = request("GET", headers["Location"] + "&auto=1")
            status, _, page = request("GET", headers["Location"], headers=jar)
        finally:
            request("POST", self.provider_url + "/_control/mode", "authorize=ok", FORM)
        self.assertEqual(status, 400)
        self.assertIn("did not grant access", page)
        self.assertIn('<a href="%s">Try again</a>' % urllib.parse.urlparse(url).path, page)
        self.assertIn(">Not now</button>", page)
        status, _, page = request("POST", url, "decline=1", FORM)
        self.assertEqual(status, 200, page)
        body = s.finish()
        self.assertIn(b'"type":"auth_declined"', body)
        self.assertIn(b'"connector":"acme"}', body)

    def test_connector_without_application_credential_gets_a_plain_page(self):
        u = self.user("nocred_user")
        status, lt = self.api("POST", "/api/v1/registered-users/" + u["id"] + "/link-token/", {"connector": "nocred"})
        self.assertEqual(status, 201, lt)
        status, _, page = request("GET", lt["magic_link_url"])
        self.assertEqual(status, 503)
        self.assertIn("No Cred Docs cannot be connected yet", page)
        self.assertIn(">Not now</button>", page)
        for jargon in ("OAuth", "application", "credential", "client_id", "catalog"):
            self.assertNotIn(jargon, page)
        status, _, page = request("POST", lt["magic_link_url"], "decline=1", FORM)
        self.assertEqual(status, 200, page)


class NoCatalogToolModeTest(unittest.TestCase):
    """No catalog (any slug is an API-key connector) and a tool-mode route."""

    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        routes = json.dumps([{"prefix": "/", "upstream": cls.agent.url, "mode": "tool"}])
        cls.relay = Relay(None, "--routes", routes, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay, ADMIN_KEY)

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        assert code == 0, "authrelay exited with %r" % code

    def test_picker_without_catalog_asks_for_the_slug_and_the_key(self):
        q = "format=json&count=3&auth_at=1&shape=mcp&auth_unless_retry=1&connector=foo-crm"
        s = Stream(self.relay.url + "/stream?" + q, {"X-Registered-User-Id": "open_picker"})
        wait_paused(self.relay, "open_picker")
        status, u = self.api("POST", "/api/v1/registered-users/",
                             {"origin_user_id": "open_picker", "origin_user_name": "Open"})
        self.assertIn(status, (200, 201), u)
        status, lt = self.api("POST", "/api/registered-users/" + u["id"] + "/link-token", {})
        self.assertEqual(status, 201, lt)
        status, _, page = request("GET", lt["magic_link_url"])
        self.assertIn('name="connector"', page)
        self.assertIn('name="api_key"', page)
        self.assertEqual(request("POST", lt["magic_link_url"], "connector=Bad%20Slug&api_key=k", FORM)[0], 400)
        self.assertEqual(request("POST", lt["magic_link_url"], "api_key=k", FORM)[0], 400)
        status, _, page = request("POST", lt["magic_link_url"], "connector=foo-crm&api_key=sk-open", FORM)
        self.assertEqual(status, 200, page)
        body = s.finish()
        # the held call was sent again and its genuine answer returned
        self.assertIn(b'"seq":2', body)
        self.assertNotIn(b"agent.example.com/link/", body)
        status, page = self.api("GET", "/api/v1/registered-users/?origin_user_id=open_picker")
        self.assertEqual(page["results"][0]["authenticated_connectors"], ["foo-crm"])

    def test_held_tool_call_is_answered_after_not_now(self):
        # chunked, and with the upstream's Content-Length (the answer is longer: the head follows it)
        for n, framing in enumerate(("chunked", "length")):
            with self.subTest(framing=framing):
                self.held_call_declined("tool_decline_%d" % n, framing)

    def held_call_declined(self, user, framing):
        q = "format=json&count=3&auth_at=1&shape=mcp&auth_unless_retry=1&connector=slack&framing=" + framing
        feed = feed_of(self.relay, user)
        try:
            s = Stream(self.relay.url + "/stream?" + q, {"X-Registered-User-Id": user})
            m = feed.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
            event = json.loads(m.group(1))
            wait_paused(self.relay, user)
            with s.lock:
                self.assertEqual(s.data, b"")  # held: the agent got nothing yet
            status, _, page = request("POST", event["magic_link_url"], "decline=1", FORM)
            self.assertEqual(status, 200, page)
            body = s.finish()
            feed.wait_for(rb"event: link_declined")
        finally:
            feed.kill()
        self.assertEqual(s.proc.returncode, 0, body[-200:])  # the length the head said, no more, no less
        # the held call's own answer, its auth-required result in rewrite form (DESIGN.md
        # "Connections"): the trusted link, a message saying the user declined
        self.assertNotIn(b"ltk_upstream", body)
        self.assertNotIn(b"Please connect", body)
        answer = json.loads(body)
        self.assertEqual([e["seq"] for e in answer["events"]], [0, 1, 2])
        result = json.loads(answer["events"][1]["result"]["content"][0]["text"])
        self.assertEqual(result, {"type": "authenticate_meta", "Connector": "slack",
                                  "link_token": event["link_token"], "expires_at": event["expires_at"],
                                  "message": "The user chose not to connect slack now."})


class DeclineReplaceTest(unittest.TestCase):
    """on_detect: replace: the withheld auth-required event is never released, not even on "Not now"."""

    def test_withheld_event_stays_withheld(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--on-detect", "replace", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        try:
            s = Stream(relay.url + "/stream?format=ndjson&count=5&auth_at=2&shape=mcp&connector=openai",
                       {"X-Registered-User-Id": "replace_decline"})
            _, url = link_of(s)
            status, _, page = request("POST", url, "decline=1", FORM)
            self.assertEqual(status, 200, page)
            body = s.finish()
        finally:
            code = relay.stop()
            agent.stop()
        self.assertEqual(code, 0)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        types = [l.get("type") for l in lines]
        self.assertIn("link_token", types)
        self.assertEqual(types[types.index("link_token") + 1], "auth_declined")
        self.assertEqual(lines[types.index("auth_declined")]["connector"], "openai")
        self.assertNotIn(b"agent.example.com/link/", body)
        self.assertNotIn(b"authenticate_meta", body)
        self.assertIn(b'"seq":4', body)


class ConfigTest(unittest.TestCase):
    def test_logo_url_must_be_https(self):
        base = [AUTHRELAY, "--check-config", "--upstream", "http://127.0.0.1:9"]
        bad = subprocess.run(base + ["--link-logo-url", "http://cdn.example.com/l.png"], capture_output=True,
                             timeout=10)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(b"logo", bad.stderr + bad.stdout)
        self.assertIn(b"https://", bad.stderr + bad.stdout)
        ok = subprocess.run(base + ["--link-logo-url", "https://cdn.example.com/l.png", "--link-app-name", "Acme"],
                            capture_output=True, timeout=10)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        long_name = subprocess.run(base + ["--link-app-name", "x" * 101], capture_output=True, timeout=10)
        self.assertNotEqual(long_name.returncode, 0)
        self.assertIn(b"app-name", long_name.stderr + long_name.stdout)


if __name__ == "__main__":
    unittest.main()
