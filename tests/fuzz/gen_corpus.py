#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_framer (tests/fuzz/corpus/fuzz_framer/).

Each file is a 4-byte header and a response body, as fuzz_framer.c reads it:
  byte 0   format (bits 0-1: 0 raw, 1 sse, 2 ndjson, 3 json),
           max_event_bytes (bits 2-3: 0 default, 1 -> 64, 2 -> 4096,
           3 -> 1 + bits 5-7), bit 4 set: inspect off
  byte 1-2 chunking seed, little endian (seed & 3: chunk-size distribution)
  byte 3   stop mask (on_event stops at events whose index % 8 bit is set)
The files are checked in; this script is kept to document and regenerate
them:  python3 tests/fuzz/gen_corpus.py [OUTDIR]
"""
import json
import os
import sys

RAW, SSE, NDJSON, JSON = 0, 1, 2, 3
MAX_DEFAULT, MAX_64, MAX_4096 = 0, 1, 2


def header(fmt, max_sel=MAX_DEFAULT, tiny=0, inspect=True, seed=0, stop=0):
    """tiny: with max_sel 3, max_event_bytes = 1 + tiny (0..7)."""
    b0 = fmt | (max_sel << 2) | (0 if inspect else 0x10) | (tiny << 5)
    return bytes([b0, seed & 0xFF, (seed >> 8) & 0xFF, stop])


def j(obj):
    return json.dumps(obj, separators=(",", ":"))


def sse(*events, eol="\n"):
    out = ""
    for ev in events:
        for line in ev:
            out += line + eol
        out += eol
    return out.encode()


AUTH_META = {
    "type": "authenticate_meta",
    "Connector": "gmail",
    "link_token": "lt_9f2c",
    "magic_link_url": "https://auth.example.com/l/9f2c",
    "expires_at": "2030-01-01T00:00:00Z",
    "message": "Sign in to Gmail",
}
MAGIC = {"link_token": "lt_77", "magic_link_url": "https://auth.example.com/m/77"}

SEEDS = {}

# SSE: OpenAI chat-completion token deltas, tiny chunks (seed & 3 == 0).
SEEDS["sse_token_deltas"] = header(SSE, seed=0x0100) + sse(
    *[["data: " + j({"id": "c1", "choices": [{"index": 0, "delta": {"content": t}}]})]
      for t in ["Hel", "lo", " wor", "ld"]],
    ["data: [DONE]"])

# SSE: MCP tools/call result whose text content is an authenticate_meta JSON
# text (JSON-in-string), stopping after every event.
SEEDS["sse_mcp_authenticate_meta"] = header(SSE, seed=0x0201, stop=0xFF) + sse(
    ["event: message", "id: 1",
     "data: " + j({"jsonrpc": "2.0", "id": 7, "result": {"content": [
         {"type": "text", "text": j(AUTH_META)}], "isError": False}})])

# SSE: OpenAI Responses function_call_output with call_id and a tool name.
SEEDS["sse_openai_function_output"] = header(SSE, seed=0x0302, stop=0x01) + sse(
    ["event: response.output_item.done",
     "data: " + j({"type": "response.output_item.done", "item": {
         "type": "function_call_output", "call_id": "call_abc", "name": "authenticate_slack",
         "output": j({"type": "authenticate_meta", "link_token": "x",
                      "magic_link_url": "https://a/b"})}})])

# SSE: Anthropic-style tool_result with tool_use_id, data split over lines.
SEEDS["sse_anthropic_tool_result"] = header(SSE, seed=0x0403) + sse(
    ["event: content_block_start",
     'data: {"type":"content_block_start","content_block":{"type":"tool_result",',
     'data: "tool_use_id":"toolu_01","content":' + j(j(MAGIC)) + "}}"])

# SSE: magic_link shape, members reversed, with toolCallId around it.
SEEDS["sse_magic_link"] = header(SSE, seed=0x0005, stop=0x02) + sse(
    ["data: " + j({"toolCallId": "tc_5", "toolName": "github__create_issue",
                   "result": {"magic_link_url": "https://m/1", "link_token": "lt_1",
                              "message": "Connect GitHub"}})],
    ["data: " + j({"ok": True})])

# SSE with CRLF line ends, event/id/retry fields, an empty event field.
SEEDS["sse_crlf"] = header(SSE, seed=0x0106) + sse(
    ["retry: 2500", "event: delta", "id: 41", "data: " + j({"d": "a"})],
    ["event:", "id:", "data:first", "data: second"],
    eol="\r\n")

# SSE with bare CR line ends and a CR blank line followed by LF.
SEEDS["sse_cr"] = header(SSE, seed=0x0207) + (
    b"data: one\r\r\ndata: two\rid: x\r\r:comment\r\rdata\r\r")

# SSE with a UTF-8 BOM, comments, keep-alives and a later BOM (ordinary bytes).
SEEDS["sse_bom_comments"] = header(SSE, seed=0x0008) + (
    b"\xef\xbb\xbf: keep-alive\n\n:\n\ndata: after bom\n\n\xef\xbb\xbfdata: ignored\n\ndata: x\n\n")

# SSE: retry values (digits, saturating, invalid), unknown fields, long names.
SEEDS["sse_retry_unknown"] = header(SSE, seed=0x0109, stop=0x05) + (
    b"retry: 3000\nretry: 99999999999999999999999\nretry: 12a\nretry:\n"
    b"foo: bar\nverylongfieldname: x\ndata : not data\nDATA: no\ndata: yes\n\n")

# SSE: id holding NUL is ignored, an id without a value, unterminated event.
SEEDS["sse_id_nul_unterminated"] = header(SSE, seed=0x020a) + (
    b"id: good\nid: b\x00d\ndata: 1\n\nid\ndata: 2\n\ndata: never dispatched")

# SSE, max_event_bytes 64: an oversized data event between normal ones.
SEEDS["sse_oversized_64"] = header(SSE, MAX_64, seed=0x030b, stop=0xAA) + sse(
    ["data: small"],
    ["data: " + "x" * 50, "data: " + j(AUTH_META)],
    ["data: " + j(MAGIC)])

# SSE, max_event_bytes 4: event and id values past the cap, one in a block
# without data.
SEEDS["sse_tiny_max"] = header(SSE, 3, tiny=3, seed=0x000c) + (
    b"event: toolong\n\ndata: ab\n\nid: 12345\ndata: c\n\ndata: abcd\ndata: e\n\n")

# NDJSON: lines with LF and CRLF, blank and whitespace lines, a lone CR,
# a match, and a last line without LF.
SEEDS["ndjson_lines"] = header(NDJSON, seed=0x010d, stop=0x04) + (
    j({"a": 1}).encode() + b"\n\n \t\r\n" + j({"b": "x\ry"}).encode() + b"\r\n"
    + j({"event": "tool", "data": AUTH_META}).encode() + b"\n" + b'{"tail":true}')

# NDJSON, max 64: an oversized line, then a small one.
SEEDS["ndjson_oversized"] = header(NDJSON, MAX_64, seed=0x030e) + (
    j({"pad": "p" * 70, "x": MAGIC}).encode() + b"\n"
    + j({"link_token": "l", "magic_link_url": "u"}).encode() + b"\n")

# NDJSON with inspection off.
SEEDS["ndjson_no_inspect"] = header(NDJSON, inspect=False, seed=0x000f) + (
    j(AUTH_META).encode() + b"\n" + j({"n": 2}).encode() + b"\n")

# JSON body: an MCP response, chunked mixed.
SEEDS["json_mcp_body"] = header(JSON, seed=0x0013) + j(
    {"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text", "text": j(
        {"type": "authenticate_meta", "connector_slug": "notion", "tool_call_id": "t9"})}]}}
).encode()

# JSON: \u escapes making the keyword (and a UTF-16 surrogate pair).
SEEDS["json_unicode_escapes"] = header(JSON, seed=0x0110) + (
    b'{"t":"\\ud83d\\ude00","x":{"type":"\\u0061uthenticate_meta","message":"caf\\u00e9",'
    b'"Connector":"\\u0067mail"}}')

# JSON: magic link nested in a JSON-in-string inside a JSON-in-string.
SEEDS["json_string_levels"] = header(JSON, seed=0x0211) + j(
    {"call_id": "outer", "output": j({"wrapped": j(MAGIC)})}).encode()

# JSON: three string levels (the third is not looked into).
SEEDS["json_string_levels_too_deep"] = header(JSON, seed=0x0012) + j(
    {"a": j({"b": j({"c": j(AUTH_META)})})}).encode()

# JSON: nesting past DETECT_MAX_DEPTH around a match (not matched) and a
# shallow match after it.
SEEDS["json_deep_nesting"] = header(JSON, seed=0x0314) + (
    b'{"x":' + b"[" * 70 + j(AUTH_META).encode() + b"]" * 70 + b',"y":'
    + j(MAGIC).encode() + b"}")

# JSON: invalid UTF-8 inside a matching object: malformed, never a match.
SEEDS["json_invalid_utf8"] = header(JSON, seed=0x0015) + (
    b'{"type":"authenticate_meta","message":"bad \xff\xc3\x28 utf8"}')

# NDJSON: UTF-8 in member names, valid (4-byte up to U+10FFFF) and invalid
# (past U+10FFFF, overlong, surrogate, truncated), each in a matching line.
SEEDS["ndjson_utf8_keys"] = header(NDJSON, seed=0x011a) + b"".join(
    b'{"' + key + b'":1,"type":"authenticate_meta"}\n'
    for key in [b"\xf4\x8f\xbf\xbf", b"\xf0\x90\x80\x80", b"\xe0\xa0\x80\xc2\xa9",
                b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xff"])

# JSON: truncated and trailing garbage bodies in NDJSON lines.
SEEDS["ndjson_malformed"] = header(NDJSON, seed=0x0116) + (
    b'{"type":"authenticate_meta"\n{"type":"authenticate_meta"} x\n'
    b'{"link_token":1,"magic_link_url":"u"}\n[\\u]\n')

# JSON body that is only white space: no event.
SEEDS["json_whitespace"] = header(JSON, seed=0x0017) + b" \r\n\t \n"

# JSON, max 64: oversized body.
SEEDS["json_oversized"] = header(JSON, MAX_64, seed=0x0218) + j(
    {"pad": "q" * 80, "m": AUTH_META}).encode()

# RAW: never parsed, even when it looks like SSE.
SEEDS["raw_body"] = header(RAW, seed=0x0019) + b"data: " + j(AUTH_META).encode() + b"\n\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_framer")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        assert len(data) <= 512, name
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
