#!/usr/bin/env python3
"""A stand-in for the hosted Agent Handler link service, for the tests.

authrelay can use a remote, Agent Handler-compatible link service instead of
its embedded one (link_service.url). The hosted service cannot run here, so
this small server (Python 3 standard library) plays it, with just what
authrelay calls and what a browser does on its link page:

    python3 remote_link_service.py --listen 127.0.0.1:0 --api-key KEY

prints {"listening": "127.0.0.1:PORT"} on stdout, then serves:

  POST /api/v1/registered-users/               {origin_user_id, origin_user_name}
       201 {id, origin_user_id, ...}, or 200 with the existing user.
  POST /api/v1/registered-users/{id}/link-token/ {connector, callback_url, state}
       201 {link_token, magic_link_url}; 404 for an unknown user.
  GET  /api/v1/registered-users/{id}/          {..., authenticated_connectors}
  GET  /link/{token}                           the hosted page (a form)
  POST /link/{token}                           connects the account; 302 to
       callback_url?state=... (or 200 "Connected" without a callback_url)
  POST /_control/connect?token=...             connects without the redirect (for polling)
  POST /_control/mode  form: api=ok|error|hold|pollerror  error: 500 on the API;
       hold: an API call waits until the mode changes, then answers as the new
       mode says (a remote that hangs, for as long as the test wants);
       pollerror: minting works, every status poll (GET of a registered user)
       answers 500
  GET  /_control/log                           the API calls seen
  GET  /_control/held                          {"held": API calls waiting in hold}

Every API call needs "Authorization: Bearer KEY" (401 otherwise).
"""

import argparse
import html
import json
import secrets
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, api_key):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.users = {}        # id -> user dict
        self.tokens = {}       # link token -> {user_id, connector, callback_url, state, used}
        self.mode = "ok"
        self.changed = threading.Condition(self.lock)  # mode changes wake held calls
        self.held = 0
        self.log = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def st(self):
        return self.server.state

    def send(self, status, body, ctype="application/json", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(n, 65536)) if n else b""

    def api_gate(self, method, path):
        """Checks the key and the mode; returns True when the call may go on."""
        with self.st.lock:
            self.st.log.append({"method": method, "path": path, "mode": self.st.mode})
        if self.headers.get("Authorization") != "Bearer " + self.st.api_key:
            self.send(401, json.dumps({"detail": "Invalid token."}))
            return False
        with self.st.changed:
            self.st.held += 1
            while self.st.mode == "hold":
                self.st.changed.wait()
            self.st.held -= 1
            mode = self.st.mode
        if mode == "error" or (mode == "pollerror" and method == "GET"):
            self.send(500, json.dumps({"detail": "internal error"}))
            return False
        return True

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        parts = u.path.strip("/").split("/")
        if u.path == "/_control/log":
            with self.st.lock:
                return self.send(200, json.dumps(self.st.log))
        if u.path == "/_control/held":
            with self.st.lock:
                return self.send(200, json.dumps({"held": self.st.held}))
        if len(parts) == 4 and parts[:3] == ["api", "v1", "registered-users"]:
            if not self.api_gate("GET", u.path):
                return
            with self.st.lock:
                user = self.st.users.get(parts[3])
            return self.send(200, json.dumps(user)) if user else self.send(404, '{"detail":"Not found."}')
        if len(parts) == 2 and parts[0] == "link":
            with self.st.lock:
                t = self.st.tokens.get(parts[1])
            if t is None or t["used"]:
                return self.send(404, "unknown or used link", "text/plain")
            page = ('<!doctype html><title>Connect %s</title><form method="post">'
                    '<input name="api_key" id="api_key"><button id="connect">Connect</button></form>'
                    % html.escape(t["connector"]))
            return self.send(200, page, "text/html")
        self.send(404, '{"detail":"Not found."}')

    def connect(self, token):
        with self.st.lock:
            t = self.st.tokens.get(token)
            if t is None or t["used"]:
                return None
            t["used"] = True
            user = self.st.users[t["user_id"]]
            if t["connector"] not in user["authenticated_connectors"]:
                user["authenticated_connectors"].append(t["connector"])
            return t

    def do_POST(self):
        u = urllib.parse.urlparse(self.path)
        parts = u.path.strip("/").split("/")
        raw = self.body()
        if u.path == "/_control/mode":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            with self.st.changed:
                self.st.mode = form.get("api", self.st.mode)
                self.st.changed.notify_all()
            return self.send(200, json.dumps({"api": self.st.mode}))
        if u.path == "/_control/connect":
            token = dict(urllib.parse.parse_qsl(u.query)).get("token", "")
            return self.send(200 if self.connect(token) else 404, "{}")
        if parts == ["api", "v1", "registered-users"]:
            if not self.api_gate("POST", u.path):
                return
            req = json.loads(raw or b"{}")
            if not req.get("origin_user_id") or not req.get("origin_user_name"):
                return self.send(400, json.dumps({"origin_user_id": ["This field is required."]}))
            with self.st.lock:
                for user in self.st.users.values():
                    if user["origin_user_id"] == req["origin_user_id"]:
                        return self.send(200, json.dumps(user))
                uid = "ru_" + secrets.token_hex(8)
                user = {"id": uid, "origin_user_id": req["origin_user_id"],
                        "origin_user_name": req["origin_user_name"], "authenticated_connectors": []}
                self.st.users[uid] = user
            return self.send(201, json.dumps(user))
        if len(parts) == 5 and parts[:3] == ["api", "v1", "registered-users"] and parts[4] == "link-token":
            if not self.api_gate("POST", u.path):
                return
            req = json.loads(raw or b"{}")
            with self.st.lock:
                if parts[3] not in self.st.users:
                    return self.send(404, '{"detail":"Not found."}')
                token = "rlt_" + secrets.token_hex(12)
                self.st.tokens[token] = {"user_id": parts[3], "connector": req.get("connector", ""),
                                         "callback_url": req.get("callback_url", ""),
                                         "state": req.get("state", ""), "used": False}
            host = self.headers.get("Host")
            return self.send(201, json.dumps({"link_token": token,
                                              "magic_link_url": "http://%s/link/%s" % (host, token)}))
        if len(parts) == 2 and parts[0] == "link":
            t = self.connect(parts[1])
            if t is None:
                return self.send(404, "unknown or used link", "text/plain")
            if t["callback_url"]:
                q = urllib.parse.urlencode({"state": t["state"]})
                sep = "&" if "?" in t["callback_url"] else "?"
                return self.send(302, "", "text/plain", [("Location", t["callback_url"] + sep + q)])
            return self.send(200, "Connected", "text/plain")
        self.send(404, '{"detail":"Not found."}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--api-key", required=True)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.state = State(args.api_key)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"listening": "%s:%d" % server.server_address[:2]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
