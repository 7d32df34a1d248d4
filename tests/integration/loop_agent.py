#!/usr/bin/env python3
"""A tiny SSE agent server of our own for the end-to-end loop test
(test_loop.py): a scripted agent turn with one tool call, behind authrelay.

    python3 loop_agent.py --listen 127.0.0.1:0 --tool-url http://127.0.0.1:PORT/tools/acme

Prints one line on stdout, {"listening": "127.0.0.1:PORT"}, then serves:

  GET /chat?run_id=R   X-Registered-User-Id: the user (authrelay forwards the
      identity it vouches for). A chunked text/event-stream, one chunk per
      event: `text` events {"type":"text","run_id","seq","delta"} (seq 0, 1),
      a `tool_call` {"type":"tool_call","tool_call_id":"call_1","name":
      "acme__lookup"}, then the tool server is called with the user's id and
      its answer goes out as `tool_result` {"type":"tool_result",
      "tool_call_id":"call_1","content":<the tool result JSON>}, then text
      seq 2, 3 and `done`.
      When the tool result is an auth-required one (authenticate_meta), the
      turn ends right after it: there is nothing to say until the user has
      connected. The run waits at its tool call. A request carrying
      X-Authrelay-Retry (authrelay's `resume: retry` after the link
      completed) for a run waiting at its tool call resumes the run there:
      the tool is called again and the turn goes on from the tool result, so
      that what the client already has is not sent twice.
  GET /_log   JSON list, one entry per request: run_id, attempt (the
      X-Authrelay-Retry value, 0 without), user, events (every SSE event
      written, as text, in order), ended ("done" or "auth_required").

Python 3 standard library only; SIGTERM ends the process.
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
RUNS_MAX = 10000
PRE = ["Looking up ", "your CRM account."]
POST = [" Found it:", " all good."]


def call_tool(url, user):
    """The tool server's answer (bytes) for user."""
    req = urllib.request.Request(url, data=b"{}", method="POST",
                                 headers={"X-Registered-User-Id": user, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read(BODY_MAX)
    except urllib.error.HTTPError as e:
        return e.read(BODY_MAX)


def sse(kind, obj):
    return "event: %s\ndata: %s\n\n" % (kind, json.dumps(obj, separators=(",", ":")))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        server = self.server
        if url.path == "/_log":
            with server.lock:
                body = json.dumps(server.log).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        run_id = urllib.parse.parse_qs(url.query).get("run_id", [""])[0]
        user = self.headers.get("X-Registered-User-Id", "")
        if url.path != "/chat" or not run_id or not user:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        attempt = int(self.headers.get("X-Authrelay-Retry", "0") or "0")
        entry = {"run_id": run_id, "attempt": attempt, "user": user, "events": [], "ended": None}
        with server.lock:
            server.log.append(entry)
            del server.log[:-RUNS_MAX]
            resuming = attempt > 0 and server.waiting.pop(run_id, False)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(kind, obj):
            text = sse(kind, obj)
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            with server.lock:
                entry["events"].append(text)

        if not resuming:
            for seq, delta in enumerate(PRE):
                emit("text", {"type": "text", "run_id": run_id, "seq": seq, "delta": delta})
            emit("tool_call", {"type": "tool_call", "tool_call_id": "call_1", "name": "acme__lookup"})
        result = json.loads(call_tool(server.tool_url, user))
        emit("tool_result", {"type": "tool_result", "tool_call_id": "call_1", "content": result})
        if isinstance(result, dict) and result.get("type") == "authenticate_meta":
            with server.lock:
                server.waiting[run_id] = True
                while len(server.waiting) > RUNS_MAX:
                    server.waiting.pop(next(iter(server.waiting)))
                entry["ended"] = "auth_required"
        else:
            for i, delta in enumerate(POST):
                emit("text", {"type": "text", "run_id": run_id, "seq": len(PRE) + i, "delta": delta})
            emit("done", {"type": "done"})
            with server.lock:
                entry["ended"] = "done"
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description="SSE agent for the loop test")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--tool-url", required=True)
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = Server((host, int(port)), Handler)
    server.tool_url = args.tool_url
    server.lock = threading.Lock()
    server.log = []
    server.waiting = {}  # run_id -> True while the run waits at its tool call
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"listening": "%s:%d" % server.server_address[:2]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
