"""The whole loop end to end (issue #15, "What must hold" 1): a connected
account reaches the tool that needs it, across token expiry, and a broken
connection is repaired from inside the stream that needed it.

Real processes on loopback:
- oauth_provider.py, a stand-in for a third-party OAuth provider (a real
  one cannot run here), issuing access tokens that live 5 s plus refresh
  tokens, with a protected /resource that accepts only valid access tokens;
- loop_tool_server.py, a tool server of ours: per call it POSTs authrelay's
  token API for (X-Registered-User-Id, acme) with a read:credentials token,
  uses the access token at /resource and returns the provider's answer; a
  409 body goes back verbatim as the tool result;
- loop_agent.py, an SSE agent of ours: text, a tool call, the tool result as
  an event, more text;
- authrelay in front of the agent on a `resume: retry` route.

Why `resume: retry` (DESIGN "The pause"): the agent has to call the tool
again once the account is connected, and the retry (the same request sent
again with X-Authrelay-Retry once the link completes) is the agent's signal to
do it. With `continue` authrelay only reads on in the old response, which
already carries the failed result: the agent could only poll the tool until
it works, minting a link per 409 meanwhile. The agent resumes its run at the
tool call on the retry, so the client gets every text event once.

The refresh margin is authrelay's fixed 60 s: with a 5 s access TTL every
token call refreshes (one refresh grant per call at the provider), and
"across expiry" is shown literally: the previous token is refused by the
provider (polled until it expired, bounded) and the next call works. A
refresh held at the provider (its token=hang mode) while 50 tool calls wait
in the token API shows the single flight without timing: the 50 waiters are
counted in authrelay's gauge before the provider is released.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Relay, Stream, wait_until  # noqa: E402
from test_linkservice import Api, complete_oauth, request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_KEY = "test-owner-key-loop"
CLIENT_SECRET = "cs-loop-secret-4711"
ACCESS_TTL_S = "5"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def start(script, *args):
    """A Python helper process that prints {"listening": ADDR}: (proc, URL)."""
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), "--listen", "127.0.0.1:0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(script + " did not start")
    return proc, "http://" + json.loads(line)["listening"]


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def sse_blocks(raw):
    """(event name, data JSON) of every SSE event in raw, comments skipped."""
    out = []
    for block in raw.decode().split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        name = next(ln[7:] for ln in lines if ln.startswith("event: "))
        data = next(ln[6:] for ln in lines if ln.startswith("data: "))
        out.append((name, json.loads(data)))
    return out


def text_events(raw):
    """The exact text of every `text` event in an SSE body, in order."""
    return [b + "\n\n" for b in raw.decode().split("\n\n") if b.startswith("event: text\n")]


class LoopTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.provider, cls.provider_url = start("oauth_provider.py", "--client-id", "acme-client",
                                               "--client-secret", CLIENT_SECRET, "--access-ttl", ACCESS_TTL_S)
        cls.procs.append(cls.provider)
        cls.tool, cls.tool_url = start("loop_tool_server.py", "--resource", cls.provider_url + "/resource")
        cls.procs.append(cls.tool)
        cls.agent, cls.agent_url = start("loop_agent.py", "--tool-url", cls.tool_url + "/tools/acme")
        cls.procs.append(cls.agent)
        cls.catalog = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"connectors": [
            {"slug": "acme", "name": "Acme CRM", "auth": "oauth2", "authorize_url": cls.provider_url + "/authorize",
             "token_url": cls.provider_url + "/token", "scopes": "crm.read"}]}, cls.catalog)
        cls.catalog.close()
        routes = json.dumps([{"prefix": "/", "upstream": cls.agent_url, "resume": "retry"}])
        cls.relay = Relay(None, "--routes", routes, "--connectors", cls.catalog.name,
                          "--provider-timeout-s", "30", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.api = Api(cls.relay, ADMIN_KEY)
        status, _ = cls.api("POST", "/api/v1/application-credentials/",
                            {"connector_slug": "acme", "client_id": "acme-client", "client_secret": CLIENT_SECRET})
        assert status == 201, status
        # the tool server's own token: read:credentials and nothing else
        status, app = cls.api("POST", "/api/v1/oauth/applications",
                              {"name": "loop-tool", "scopes": ["read:credentials"]})
        assert status == 201, app
        status, _, text = request("POST", cls.relay.control_url + "/oauth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": app["clientId"],
             "client_secret": app["clientSecret"]}), FORM)
        assert status == 200, text
        cls.bearer = json.loads(text)["access_token"]
        status, _, _ = request("POST", cls.tool_url + "/_control/configure",
                               {"relay_control": cls.relay.control_url, "bearer": cls.bearer})
        assert status == 200

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        for proc in cls.procs:
            stop(proc)
        os.unlink(cls.catalog.name)
        assert code == 0, "authrelay exited with %r" % code

    # --- helpers ---

    def set_mode(self, **modes):
        status, _, _ = request("POST", self.provider_url + "/_control/mode", urllib.parse.urlencode(modes), FORM)
        self.assertEqual(status, 200)

    def stats(self):
        return json.loads(request("GET", self.provider_url + "/_control/stats")[2])

    def tool_calls(self):
        return json.loads(request("GET", self.tool_url + "/_control/log")[2])

    def agent_log(self, run_id):
        return [e for e in json.loads(request("GET", self.agent_url + "/_log")[2]) if e["run_id"] == run_id]

    def complete_oauth(self, link_url):
        complete_oauth(self, link_url, self.relay.url)

    def connect(self, user):
        """The account connected through the Link page, as an app does it:
        a link token for the user, opened in the browser."""
        status, u = self.api("POST", "/api/v1/registered-users/", {"origin_user_id": user, "origin_user_name": "N"})
        self.assertIn(status, (200, 201))
        status, lt = self.api("POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": "acme"})
        self.assertEqual(status, 201, lt)
        self.complete_oauth(lt["magic_link_url"])

    def chat(self, user, run_id):
        return Stream(self.relay.url + "/chat?run_id=" + run_id, {"X-Registered-User-Id": user})

    def assert_turn_worked(self, body, run_id):
        """A whole turn with the tool's genuine result, all text once."""
        events = sse_blocks(body)
        self.assertEqual([n for n, _ in events], ["text", "text", "tool_call", "tool_result", "text", "text", "done"])
        self.assertEqual(events[3][1]["content"], {"client_id": "acme-client", "scope": "crm.read"})
        sent = self.agent_log(run_id)
        self.assertEqual(len(sent), 1)
        self.assertEqual(text_events(body), [e for e in sent[0]["events"] if e.startswith("event: text\n")])

    def assert_no_secret_leaked(self, client_bodies):
        """No access token handed out, nor the tool server's bearer or the
        client secret, in authrelay's log (audit lines included) or what the
        clients received."""
        tokens = [c["access_token"] for c in self.tool_calls() if c["access_token"]]
        self.assertTrue(tokens)
        logs = "\n".join(json.dumps(r) for r in self.relay.logs)
        seen = b"".join(client_bodies).decode()
        for s in tokens + [self.bearer, CLIENT_SECRET]:
            self.assertNotIn(s, logs)
            self.assertNotIn(s, seen)
        self.assertTrue([r for r in self.relay.logs if r.get("action") == "connection.token"])

    # --- the tests ---

    def test_tool_keeps_working_across_expiry_and_fifty_calls_refresh_once(self):
        self.set_mode(access_ttl=ACCESS_TTL_S, rotate="on", token="ok")
        self.connect("alice")
        first_call = len(self.tool_calls())
        before = self.stats()
        bodies = []
        for i in range(3):
            if i > 0:
                # the token of the last call has expired at the provider
                last = len(self.tool_calls()) - 1
                wait_until(lambda: json.loads(request("GET", self.tool_url + "/_control/recheck?call=%d" % last)[2])
                           ["status"] == 401, "the last access token expired at the provider")
            s = self.chat("alice", "alice-%d" % i)
            body = s.finish()
            self.assert_turn_worked(body, "alice-%d" % i)
            bodies.append(body)
        calls = self.tool_calls()[first_call:]
        self.assertEqual([(c["user"], c["token_status"], c["resource_status"]) for c in calls],
                         [("alice", 200, 200)] * 3)
        self.assertEqual(len({c["access_token"] for c in calls}), 3)
        # one refresh grant per call (rotating refresh tokens: each used the
        # one the last refresh stored), all answered
        after = self.stats()
        self.assertEqual(after["refresh_requests"], before["refresh_requests"] + 3)
        self.assertEqual(after["refreshes"], before["refreshes"] + 3)

        # 50 tool calls at once while the provider holds the one refresh; the
        # token it then issues lives 30 s (inside the margin, so the calls do
        # refresh) so that all 50 can use it however slowly they run
        self.set_mode(token="hang", access_ttl="30")
        results = []
        lock = threading.Lock()

        def call():
            status, _, text = request("POST", self.tool_url + "/tools/acme", b"{}",
                                      dict(JSON, **{"X-Registered-User-Id": "alice"}), timeout=60)
            with lock:
                results.append((status, json.loads(text)))
        threads = [threading.Thread(target=call) for _ in range(50)]
        try:
            for th in threads:
                th.start()
            wait_until(lambda: self.relay.metrics().get("authrelay_connection_token_waiters") == 50,
                       "50 token calls waiting", 30)
            wait_until(lambda: self.stats()["refresh_requests"] == after["refresh_requests"] + 1,
                       "the refresh at the provider")
        finally:
            self.set_mode(token="ok")
        for th in threads:
            th.join(60)
        self.assertEqual(results, [(200, {"client_id": "acme-client", "scope": "crm.read"})] * 50)
        calls = self.tool_calls()[-50:]
        self.assertEqual({(c["token_status"], c["resource_status"]) for c in calls}, {(200, 200)})
        self.assertEqual(len({c["access_token"] for c in calls}), 1)
        self.assertEqual(self.stats()["refresh_requests"], after["refresh_requests"] + 1)
        self.assertEqual(self.stats()["refreshes"], after["refreshes"] + 1)
        self.assertEqual(self.relay.metrics().get("authrelay_connection_token_waiters"), 0)
        self.assert_no_secret_leaked(bodies)

    def test_invalid_grant_pauses_the_stream_and_the_same_stream_resumes_after_reconnecting(self):
        self.set_mode(access_ttl=ACCESS_TTL_S, rotate="off", token="ok")
        self.connect("bob")
        body = self.chat("bob", "bob-0").finish()
        self.assert_turn_worked(body, "bob-0")

        # the provider now refuses the refresh token: invalid_grant
        self.set_mode(token="error")
        try:
            before = self.stats()["refresh_requests"]
            s = self.chat("bob", "bob-1")
            m = s.wait_for(rb"event: link_token\ndata: (\{.*\})\n")
            notice = json.loads(m.group(1))
            self.assertEqual(self.stats()["refresh_requests"], before + 1)
        finally:
            self.set_mode(token="ok")
        status, listed = self.api("GET", "/api/v1/registered-users/origin:bob/connections/")
        self.assertEqual(status, 200)
        self.assertEqual([(c["connector"], c["status"]) for c in listed["results"]], [("acme", "broken")])
        # the tool server got the 409 and returned its body as the tool result
        self.assertEqual(self.tool_calls()[-1]["token_status"], 409)
        attempt0 = self.agent_log("bob-1")
        self.assertEqual([(e["attempt"], e["ended"]) for e in attempt0], [(0, "auth_required")])
        # the client: the tool result in its own shape with authrelay's
        # trusted link in it, then the link_token notice; the stream is paused
        with s.lock:
            paused = s.data
        events = sse_blocks(paused)
        self.assertEqual([n for n, _ in events], ["text", "text", "tool_call", "tool_result", "link_token"])
        meta = events[3][1]["content"]
        self.assertEqual((events[3][1]["tool_call_id"], meta["type"], meta["Connector"]),
                         ("call_1", "authenticate_meta", "acme"))
        link = notice["magic_link_url"]
        self.assertTrue(link.startswith(self.relay.url + "/_authrelay/link/ltk_"), link)
        self.assertEqual((meta["magic_link_url"], meta["link_token"]), (link, notice["link_token"]))
        self.assertEqual(notice["connector"], "acme")
        status, st = self.api("GET", "/v1/streams/" + notice["stream_id"])
        self.assertEqual((status, st["state"]), (200, "paused"))

        # the user reconnects through the Link page; the same stream resumes
        self.complete_oauth(link)
        body = s.finish()
        self.assertTrue(body.startswith(paused))
        events = sse_blocks(body)
        self.assertEqual([n for n, _ in events], ["text", "text", "tool_call", "tool_result", "link_token",
                                                  "auth_complete", "tool_result", "text", "text", "done"])
        self.assertEqual(events[6][1], {"type": "tool_result", "tool_call_id": "call_1",
                                        "content": {"client_id": "acme-client", "scope": "crm.read"}})
        # the agent was asked again (X-Authrelay-Retry: 1) and went on from
        # its tool call with a working token
        sent = self.agent_log("bob-1")
        self.assertEqual([(e["attempt"], e["ended"]) for e in sent], [(0, "auth_required"), (1, "done")])
        last = self.tool_calls()[-1]
        self.assertEqual((last["user"], last["token_status"], last["resource_status"]), ("bob", 200, 200))
        # nothing lost or doubled: the client's text events are exactly the
        # ones the agent sent, in order
        self.assertEqual(text_events(body), [e for a in sent for e in a["events"] if e.startswith("event: text\n")])
        self.assertEqual([d["seq"] for n, d in events if n == "text"], [0, 1, 2, 3])
        status, listed = self.api("GET", "/api/v1/registered-users/origin:bob/connections/")
        self.assertEqual([(c["connector"], c["status"]) for c in listed["results"]], [("acme", "active")])
        self.assert_no_secret_leaked([paused, body])


if __name__ == "__main__":
    unittest.main()
