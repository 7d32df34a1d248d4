"""Integration tests of the dialect layer (DESIGN.md "Dialects": on_detect
rewrite / replace / keep, one interrupt per tool call, connector inference).

Real processes on loopback. Generic streams come from the example agent
server; an OpenAI Responses stream (the shapes of
tests/integration/dialects/llm, as the API sends them) from a small server
in this file. curl reads through authrelay; the test opens the link page and
submits its form as a browser would. Every wait is bounded (poll until a
condition holds, never a fixed sleep to synchronise).
"""

import json
import os
import re
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentCase, Relay, Stream, curl, http, link_of  # noqa: E402

USER = {"X-Registered-User-Id": "user_1"}
UPSTREAM_TOKEN = "upstream-own-link-token-7f3a9c2e"
UPSTREAM_URL = "https://connect.agent-handler.example/link/" + UPSTREAM_TOKEN


def sse_blocks(raw):
    """Splits an SSE body into its blocks (each with its blank line)."""
    return [b + b"\n\n" for b in raw.split(b"\n\n") if b]


def data_of(block):
    return json.loads(block.split(b"data: ", 1)[1])


def complete(url, key="sk-test-123"):
    status, page = http("GET", url)
    assert status == 200, (status, page[:200])
    return http("POST", url, urllib.parse.urlencode({"api_key": key}).encode())


def wait_until(cond, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def openai_responses_events():
    """A Responses stream: a function_call item (call_id, tool slack__send_message),
    its function_call_output whose output is the JSON text of the magic-link
    payload (no connector), a message, and response.completed repeating both
    items, as the API does."""
    call_id = "call_q7Zl2mK9xWv4"
    magic = json.dumps({"message": "Slack is not connected.", "magic_link_url": UPSTREAM_URL,
                        "link_token": UPSTREAM_TOKEN}, separators=(",", ":"))
    fc = {"id": "fc_1", "type": "function_call", "status": "completed", "arguments": "{}",
          "call_id": call_id, "name": "slack__send_message"}
    fco = {"id": "fco_1", "type": "function_call_output", "call_id": call_id, "output": magic,
           "status": "completed"}
    msg = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "annotations": [], "text": "Posted."}]}
    events = []

    def push(t, **body):
        events.append((t, dict(type=t, sequence_number=len(events), **body)))

    resp = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
    push("response.created", response=resp)
    push("response.output_item.added", output_index=0, item=dict(fc, status="in_progress", arguments=""))
    push("response.output_item.done", output_index=0, item=fc)
    push("response.output_item.done", output_index=1, item=fco)
    push("response.output_item.added", output_index=2, item=dict(msg, content=[]))
    push("response.output_text.delta", item_id="msg_1", output_index=2, content_index=0, delta="Posted.")
    push("response.output_item.done", output_index=2, item=msg)
    push("response.completed", response=dict(resp, status="completed", output=[fc, fco, msg]))
    return "".join("event: %s\ndata: %s\n\n" % (t, json.dumps(e, separators=(",", ":")))
                   for t, e in events).encode()


def ai_sdk_events():
    """An AI SDK UI message stream (v5): a tool call of slack__send_message
    whose output is the magic-link payload (no connector), then text."""
    magic = {"message": "Slack is not connected.", "magic_link_url": UPSTREAM_URL,
             "link_token": UPSTREAM_TOKEN}
    parts = [
        {"type": "start", "messageId": "msg_1"},
        {"type": "start-step"},
        {"type": "tool-input-start", "toolCallId": "call_Bv5r", "toolName": "slack__send_message"},
        {"type": "tool-input-available", "toolCallId": "call_Bv5r", "toolName": "slack__send_message",
         "input": {"channel": "#general"}},
        {"type": "tool-output-available", "toolCallId": "call_Bv5r", "output": magic},
        {"type": "finish-step"},
        {"type": "text-start", "id": "t1"},
        {"type": "text-delta", "id": "t1", "delta": "Posted."},
        {"type": "text-end", "id": "t1"},
        {"type": "finish"},
    ]
    return "".join("data: %s\n\n" % json.dumps(p, separators=(",", ":")) for p in parts).encode() + \
        b"data: [DONE]\n\n"


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited body, as many SSE servers send

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        ai = self.path.startswith("/api/chat")
        body = ai_sdk_events() if ai else openai_responses_events()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        if ai:
            self.send_header("x-vercel-ai-ui-message-stream", "v1")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


class Standin:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), StandinHandler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class GenericDialectTest(AgentCase):
    """The example agent server's streams are generic."""

    def run_paused(self, relay, path):
        """Reads path directly and through relay, completes the link; returns
        (direct bytes, relayed bytes, trusted token, link url)."""
        _, direct, _ = curl(self.agent.url + path)
        s = Stream(relay.url + path, USER)
        token, url = link_of(s)
        self.assertEqual(complete(url)[0], 200)
        return direct, s.finish(), token, url

    def test_rewrite_is_the_default(self):
        relay = Relay(self.agent.url)
        try:
            path = "/stream?format=sse&count=8&auth_at=5&shape=authenticate_meta&connector=slack"
            direct, body, token, url = self.run_paused(relay, path)
            d = sse_blocks(direct)
            b = sse_blocks(body)
            auth = [i for i, blk in enumerate(d) if b"authenticate_meta" in blk]
            self.assertEqual(auth, [5])
            upstream = data_of(d[5])["result"]
            # The event is where it was, in its own shape, with the trusted
            # link_token and expires_at, every other byte as the upstream sent it.
            got = b[5]
            link = data_of([blk for blk in b if blk.startswith(b"event: link_token")][0])
            want = d[5].replace(upstream["link_token"].encode(), token.encode()).replace(
                upstream["expires_at"].encode(), link["expires_at"].encode())
            self.assertEqual(got, want)
            self.assertNotIn(b"magic_link_url", got)  # a member the upstream did not send is not added
            # Then link_token, heartbeats maybe, auth_complete, and the rest.
            self.assertTrue(b[6].startswith(b"event: link_token"), b[6])
            self.assertEqual(link["link_token"], token)
            self.assertEqual(link["magic_link_url"], url)
            rest = [blk for blk in b[7:] if not blk.startswith(b": paused")]
            self.assertTrue(rest[0].startswith(b"event: auth_complete"), rest[0])
            self.assertEqual(rest[1:], d[6:])
            self.assertEqual(b[:5], d[:5])
            self.assertNotIn(upstream["link_token"].encode(), body)
        finally:
            self.assertEqual(relay.stop(), 0)

    def test_rewrite_ndjson_magic_link(self):
        relay = Relay(self.agent.url)
        try:
            path = "/stream?format=ndjson&count=6&auth_at=4&shape=magic_link&connector=github"
            direct, body, token, url = self.run_paused(relay, path)
            d = direct.splitlines(keepends=True)
            b = body.splitlines(keepends=True)
            upstream = json.loads(d[4])["result"]
            # the URL first: it holds the upstream's token
            want = d[4].replace(upstream["magic_link_url"].encode(), url.encode()).replace(
                upstream["link_token"].encode(), token.encode())
            self.assertEqual(b[4], want)
            self.assertEqual(json.loads(b[5])["type"], "link_token")
            self.assertEqual(json.loads(b[5])["connector"], "github")  # from the call's tool name
            self.assertEqual(json.loads(b[6])["type"], "auth_complete")
            self.assertEqual(b[:4] + b[7:], d[:4] + d[5:])
        finally:
            self.assertEqual(relay.stop(), 0)

    def test_replace_and_keep_as_before(self):
        path = "/stream?format=sse&count=8&auth_at=5&shape=authenticate_meta&connector=slack"
        for mode in ("replace", "keep"):
            relay = Relay(self.agent.url, "--on-detect", mode)
            try:
                direct, body, token, _ = self.run_paused(relay, path)
                d = sse_blocks(direct)
                b = [blk for blk in sse_blocks(body) if not blk.startswith(b": paused")]
                if mode == "replace":
                    self.assertTrue(b[5].startswith(b"event: link_token"), (mode, b[5]))
                    self.assertEqual(b[:5] + b[7:], d[:5] + d[6:])
                else:
                    self.assertEqual(b[5], d[5])  # untouched: the operator's choice
                    self.assertTrue(b[6].startswith(b"event: link_token"), (mode, b[6]))
                    self.assertEqual(b[:6] + b[8:], d[:6] + d[6:])
                self.assertEqual(data_of([blk for blk in b if blk.startswith(b"event: link_token")][0])
                                 ["link_token"], token)
            finally:
                self.assertEqual(relay.stop(), 0)


class OpenAIResponsesTest(unittest.TestCase):
    def test_one_pause_per_call_and_connector_from_the_call(self):
        standin = Standin()
        relay = Relay(standin.url)
        try:
            s = Stream(relay.url + "/v1/responses", USER)
            # openai-responses: no event an SDK would read; the notice is a comment.
            m = s.wait_for(rb": authrelay (\{[^\n]*\})\n\n")
            notice = json.loads(m.group(1))
            self.assertEqual(notice["type"], "link_token")
            self.assertEqual(notice["connector"], "slack")  # the function_call's tool name
            token, url = notice["link_token"], notice["magic_link_url"]
            self.assertEqual(complete(url)[0], 200)
            body = s.finish()
            direct = openai_responses_events()
            b = sse_blocks(body)
            d = sse_blocks(direct)
            rewritten = [blk for blk in b if not blk.startswith(b":")]
            # Every upstream event, in order, numbering intact; the two
            # copies of the auth result carry the same trusted link.
            self.assertEqual(len(rewritten), len(d))
            for got, want in zip(rewritten, d):
                self.assertEqual(got, want.replace(UPSTREAM_URL.encode(), url.encode()).replace(
                    UPSTREAM_TOKEN.encode(), token.encode()))
            self.assertEqual(body.count(url.encode()), 2 + 1)  # the two results and the notice
            self.assertNotIn(UPSTREAM_TOKEN.encode(), body)
            wait_until(lambda: relay.metrics().get("authrelay_pauses_total", 0) >= 1, what="pause count")
            self.assertEqual(relay.metrics()["authrelay_pauses_total"], 1)  # one call: one pause
        finally:
            self.assertEqual(relay.stop(), 0)
            standin.stop()


class AISdkTest(unittest.TestCase):
    def test_transient_data_parts_and_the_rewritten_output(self):
        standin = Standin()
        relay = Relay(standin.url)
        try:
            s = Stream(relay.url + "/api/chat", USER)
            m = s.wait_for(rb"data: (\{\"type\":\"data-link_token\"[^\n]*\})\n\n")
            notice = json.loads(m.group(1))
            self.assertTrue(notice["transient"])
            link = notice["data"]
            self.assertEqual(link["connector"], "slack")  # the tool-input part's tool name
            self.assertEqual(complete(link["magic_link_url"])[0], 200)
            body = s.finish()
            parts = [json.loads(b[len(b"data: "):-2]) for b in sse_blocks(body)
                     if b.startswith(b"data: {")]
            kinds = [p["type"] for p in parts]
            # every upstream part in order; the two notices right after the output
            i = kinds.index("tool-output-available")
            self.assertEqual(kinds[i + 1:i + 3], ["data-link_token", "data-auth_complete"])
            self.assertEqual([k for k in kinds if not k.startswith("data-")],
                             [p["type"] for p in (json.loads(b[len(b"data: "):-2])
                                                  for b in sse_blocks(ai_sdk_events())
                                                  if b.startswith(b"data: {"))])
            out = parts[i]["output"]
            self.assertEqual((out["link_token"], out["magic_link_url"]),
                             (link["link_token"], link["magic_link_url"]))
            self.assertTrue(body.endswith(b"data: [DONE]\n\n"))
            self.assertNotIn(UPSTREAM_TOKEN.encode(), body)
        finally:
            self.assertEqual(relay.stop(), 0)
            standin.stop()


if __name__ == "__main__":
    unittest.main()
