#!/usr/bin/env python3
"""A tool server of our own for the end-to-end loop test (test_loop.py).

It is what a real tool server behind an agent does with authrelay's token
API (README "Connections"): for every call it asks authrelay for the calling
user's credential, uses it at the provider, and returns what the provider
said. It has no auth code of its own: when authrelay answers 409, the body
(an authenticate_meta result with authrelay's trusted link) is returned
verbatim as the tool result, and authrelay's pause takes over when the agent
streams it. Python 3 standard library only.

    python3 loop_tool_server.py --listen 127.0.0.1:0 --resource http://127.0.0.1:PORT/resource

Prints one line on stdout, {"listening": "127.0.0.1:PORT"}, then serves:

  POST /_control/configure   JSON {"relay_control": authrelay's control URL,
       "bearer": a token holding read:credentials}: set once authrelay runs
       (the agent, and so authrelay's route, need this server's URL first;
       the bearer goes in a body, never in argv, which ps shows).

  POST /tools/<connector>   X-Registered-User-Id: the user (as authrelay
       forwarded it to the agent). 200, application/json: the provider's
       /resource answer when the token API gave a token (or
       {"error":"resource_refused","status":N} when the provider refused it),
       or the token API's 409 body, byte for byte. Any other token API
       answer: 502 {"error":"token_api","status":N}.
  GET  /_control/log   JSON list, one entry per call: user, connector,
       token_status, access_token (the token handed out, so that the test can
       look for it where it must not be; only on this loopback test fixture),
       resource_status.
  GET  /_control/recheck?call=N   the provider's status now for call N's
       access token (shows that a token expired).

Every body is capped (64 KiB); SIGTERM ends the process.
"""

import argparse
import json
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 64 * 1024
LOG_MAX = 10000
TIMEOUT_S = 60  # a token call may wait on a refresh held at the provider


def fetch(method, url, headers):
    """(status, body bytes) of one HTTP exchange; body capped."""
    req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
            return r.status, r.read(BODY_MAX)
    except urllib.error.HTTPError as e:
        return e.code, e.read(BODY_MAX)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        server = self.server
        if url.path == "/_control/log":
            with server.lock:
                self.send(200, json.dumps(server.calls).encode())
            return
        if url.path == "/_control/recheck":
            call = urllib.parse.parse_qs(url.query).get("call", [""])[0]
            with server.lock:
                entry = server.calls[int(call)] if call.isdigit() and int(call) < len(server.calls) else None
            if entry is None or not entry.get("access_token"):
                self.send(404, b'{"error":"no such call with a token"}')
                return
            status, _ = fetch("GET", server.resource_url, {"Authorization": "Bearer " + entry["access_token"]})
            self.send(200, json.dumps({"status": status}).encode())
            return
        self.send(404, b'{"error":"not found"}')

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length", "0") or "0")
        if length < 0 or length > BODY_MAX:
            self.close_connection = True
            self.send(413, b'{"error":"body too large"}')
            return
        body = self.rfile.read(length)
        if self.path == "/_control/configure":
            try:
                conf = json.loads(body)
                relay_control, bearer = conf["relay_control"].rstrip("/"), conf["bearer"]
            except (ValueError, TypeError, KeyError, AttributeError):
                self.send(400, b'{"error":"want {\\"relay_control\\": URL, \\"bearer\\": token}"}')
                return
            with server.lock:
                server.relay_control, server.bearer = relay_control, bearer
            self.send(200, b"{}")
            return
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        user = self.headers.get("X-Registered-User-Id", "")
        if len(parts) != 3 or parts[1] != "tools" or not parts[2] or not user:
            self.send(404, b'{"error":"POST /tools/<connector> with X-Registered-User-Id"}')
            return
        connector = parts[2]
        if server.bearer is None:
            self.send(503, b'{"error":"not configured: POST /_control/configure first"}')
            return
        entry = {"user": user, "connector": connector, "token_status": None, "access_token": None,
                 "resource_status": None}
        token_url = "%s/api/v1/registered-users/origin:%s/connections/%s/token" % (
            server.relay_control, urllib.parse.quote(user, safe=""), urllib.parse.quote(connector, safe=""))
        status, body = fetch("POST", token_url, {"Authorization": "Bearer " + server.bearer})
        entry["token_status"] = status
        if status == 409:
            result = body  # the authenticate_meta result, verbatim
        elif status == 200:
            token = json.loads(body)["access_token"]
            entry["access_token"] = token
            rstatus, rbody = fetch("GET", server.resource_url, {"Authorization": "Bearer " + token})
            entry["resource_status"] = rstatus
            result = rbody if rstatus == 200 else json.dumps({"error": "resource_refused", "status": rstatus}).encode()
        else:
            result = None
        with server.lock:
            server.calls.append(entry)
            del server.calls[:-LOG_MAX]
        if result is None:
            self.send(502, json.dumps({"error": "token_api", "status": status}).encode())
        else:
            self.send(200, result)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 concurrent calls connect at once


def main():
    ap = argparse.ArgumentParser(description="Tool server for the loop test")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--resource", required=True, help="the provider's protected resource URL")
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = Server((host, int(port)), Handler)
    server.relay_control = None  # set by /_control/configure
    server.resource_url = args.resource
    server.bearer = None
    server.lock = threading.Lock()
    server.calls = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"listening": "%s:%d" % server.server_address[:2]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
