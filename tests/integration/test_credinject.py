"""Integration tests of credential injection on tool routes (route key
`credentials`, DESIGN.md "Connections"), the cases beside the MCP SDK's
end to end test (tests/integration/mcp/mcp_inject.test.mjs).

Real processes on loopback: authrelay in front of a recording upstream (a
Python HTTP server in this process that answers every request with the
headers it received), curl and raw sockets as the agent:
  - no trusted registered user: the request goes upstream without a
    credential, and without the agent's own header of that name (the route
    owns it); counted as skipped;
  - an API key connected through the link-token API and the Link page's
    form: injected on the next call (a plain JSON body, connector fixed by
    the route), into X-Api-Key, whatever the agent sent in any case;
  - a body over the 64 KiB read for the tool name: not held, sent on
    without a credential (no connector), nothing lost;
  - Expect: 100-continue: authrelay answers 100 itself (it reads the body
    before any upstream is asked), the body comes in a later read;
  - remote mode (link_service.url): 501, nothing upstream;
  - the route key refused at start: an inband route, a framing header,
    {token} twice.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import AUTHRELAY, Relay, http  # noqa: E402
from test_linkservice import request  # noqa: E402

ADMIN_KEY = "test-owner-key-credinject"
KEY = "sk-credinject-SECRET-93"


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 with {"headers": {...lower-case...}, "body_len": N}."""

    seen = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        headers = {}
        for k, v in self.headers.items():
            headers.setdefault(k.lower(), []).append(v)
        Recorder.seen.append({"path": self.path, "headers": headers, "body_len": len(body)})
        out = json.dumps({"headers": headers, "body_len": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def post(url, body, headers):
    return http("POST", url, body=body, headers=headers)


class CredInjectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        up = "http://127.0.0.1:%d" % cls.upstream.server_address[1]
        routes = [
            {"prefix": "/fixed", "upstream": up, "mode": "tool",
             "credentials": {"connector": "acme", "header": "X-Api-Key", "value": "{token}"}},
            {"prefix": "/mcp", "upstream": up, "mode": "tool",
             "credentials": {"header": "Authorization", "value": "Bearer {token}"}},
        ]
        cls.relay = Relay(None, "--routes", json.dumps(routes), env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.upstream.shutdown()
        cls.upstream.server_close()
        assert code == 0, code
        for rec in cls.relay.logs:
            assert KEY not in json.dumps(rec), rec  # the key never in the log

    def connect(self, user, connector):
        """Connects an API key for (user, connector) through the control API
        (a registered user, its link token) and the Link page's form."""
        auth = {"Authorization": "Bearer " + ADMIN_KEY}
        status, _, body = request("POST", self.relay.control_url + "/api/v1/registered-users/",
                                  {"origin_user_id": user, "origin_user_name": "N"}, headers=auth)
        self.assertIn(status, (200, 201), body)
        status, _, body = request("POST", self.relay.control_url + "/api/v1/registered-users/%s/link-token/"
                                  % json.loads(body)["id"], {"connector": connector}, headers=auth)
        self.assertEqual(status, 201, body)
        status, _, body = request("POST", json.loads(body)["magic_link_url"], urllib.parse.urlencode({"api_key": KEY}),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)

    def test_no_trusted_user_no_injection_agent_header_stripped(self):
        before = self.relay.metrics().get("authrelay_credentials_skipped_total", 0)
        status, body = post(self.relay.url + "/fixed/call", b'{"q":1}',
                            {"Content-Type": "application/json", "x-api-key": "agent-chose-this"})
        self.assertEqual(status, 200, body)
        self.assertNotIn("x-api-key", json.loads(body)["headers"])
        self.assertEqual(self.relay.metrics()["authrelay_credentials_skipped_total"], before + 1)

    def test_connected_key_injected_agents_own_replaced(self):
        self.connect("ci_user_1", "acme")
        status, body = post(self.relay.url + "/fixed/call", b'{"q":1}',
                            {"Content-Type": "application/json", "X-Registered-User-Id": "ci_user_1",
                             "X-API-KEY": "agent-chose-this"})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["headers"]["x-api-key"], [KEY])

    def test_large_body_not_held_nothing_lost(self):
        big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "slack__post", "arguments": {"pad": "p" * 200000}}}).encode()
        status, body = post(self.relay.url + "/mcp", big,
                            {"Content-Type": "application/json", "X-Registered-User-Id": "ci_user_big",
                             "Authorization": "Bearer agent"})
        self.assertEqual(status, 200, body)
        got = json.loads(body)
        self.assertEqual(got["body_len"], len(big))
        self.assertNotIn("authorization", got["headers"])

    def test_body_after_100_continue(self):
        """The head alone with Expect: 100-continue: authrelay, which reads
        the body before asking for the credential, answers 100 Continue
        itself; the body then arrives in a later read and the call goes up
        with the credential."""
        self.connect("ci_user_2", "slack")
        call = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                           "params": {"name": "slack__post", "arguments": {}}}).encode()
        head = ("POST /mcp HTTP/1.1\r\nHost: x\r\nX-Registered-User-Id: ci_user_2\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n"
                "Connection: close\r\n\r\n" % len(call))
        with socket.create_connection(("127.0.0.1", self.relay.port), timeout=10) as s:
            s.sendall(head.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                self.assertTrue(chunk, data)
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), data)
            data = data[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
            s.sendall(call)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        got = json.loads(data.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(got["headers"]["authorization"], ["Bearer " + KEY])
        self.assertEqual(got["body_len"], len(call))


class RemoteAndConfigTest(unittest.TestCase):
    def test_remote_mode_answers_501(self):
        Recorder.seen = []
        upstream = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        up = "http://127.0.0.1:%d" % upstream.server_address[1]
        routes = [{"prefix": "/", "upstream": up, "mode": "tool",
                   "credentials": {"connector": "acme", "header": "Authorization", "value": "Bearer {token}"}}]
        relay = Relay(None, "--routes", json.dumps(routes), "--link-service-url", "http://127.0.0.1:9",
                      "--link-service-api-key", "remote-key", env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        try:
            status, body = post(relay.url + "/call", b"{}", {"X-Registered-User-Id": "u_remote",
                                                             "Content-Type": "application/json"})
            self.assertEqual(status, 501, body)
            self.assertIn("remote link service", body)
            self.assertEqual(Recorder.seen, [])
        finally:
            self.assertEqual(relay.stop(), 0)
            upstream.shutdown()
            upstream.server_close()

    def test_bad_route_keys_refused_at_start(self):
        bad = [
            ({"mode": "inband", "credentials": {"header": "Authorization", "value": "Bearer {token}"}}, "mode: tool"),
            ({"mode": "tool", "credentials": {"header": "Content-Length", "value": "{token}"}}, "framing"),
            ({"mode": "tool", "credentials": {"header": "Authorization", "value": "{token}{token}"}}, "exactly once"),
        ]
        for extra, why in bad:
            route = dict({"prefix": "/", "upstream": "http://127.0.0.1:1"}, **extra)
            p = subprocess.run([AUTHRELAY, "--check-config", "--routes", json.dumps([route])],
                               capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, extra)
            self.assertIn(why.encode(), p.stdout + p.stderr, (extra, p.stdout, p.stderr))


if __name__ == "__main__":
    unittest.main(verbosity=2)
