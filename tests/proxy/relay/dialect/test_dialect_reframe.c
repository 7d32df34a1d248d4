/* test_dialect_reframe: an event's payload out of its raw bytes and back
 * (dialect/reframe.c), as on_detect rewrite needs it: SSE events with
 * event/id lines, comments, several data lines, CRLF and CR line ends,
 * "data:" without a space, a bare "data" line and a BOM; NDJSON lines with
 * LF, CRLF or no line end; whole JSON bodies. Every byte but the payload's
 * stays; a payload with another number of lines is refused. */
#include <errno.h>
#include <string.h>

#include "reframe.h"
#include "unit.h"

/* payload(raw) must be want_payload; reframe(raw, new_payload) must be want. */
static void roundtrip(dialect_framing framing, const char *raw, const char *want_payload,
                      const char *new_payload, const char *want) {
  dynbuf payload;
  dynbuf out;
  dynbuf_init(&payload, 1 << 20);
  dynbuf_init(&out, 1 << 20);
  CHECK(reframe_payload(framing, raw, strlen(raw), &payload) == 0);
  CHECK_MEM(payload.ptr != NULL ? payload.ptr : "", payload.len, want_payload);
  /* the same payload gives the same bytes */
  CHECK(reframe_event(framing, raw, strlen(raw), payload.ptr, payload.len, &out) == 0);
  CHECK_MEM(out.ptr, out.len, raw);
  out.len = 0;
  CHECK(reframe_event(framing, raw, strlen(raw), new_payload, strlen(new_payload), &out) == 0);
  CHECK_MEM(out.ptr, out.len, want);
  dynbuf_free(&payload);
  dynbuf_free(&out);
}

static void sse_events(void) {
  roundtrip(DIALECT_FRAMING_SSE,
            "event: response.output_item.done\nid: 7\ndata: {\"link_token\":\"up\"}\n\n",
            "{\"link_token\":\"up\"}", "{\"link_token\":\"ltk_1\"}",
            "event: response.output_item.done\nid: 7\ndata: {\"link_token\":\"ltk_1\"}\n\n");
  /* several data lines, CRLF, a comment in the block, "data:" without a space */
  roundtrip(DIALECT_FRAMING_SSE, "data:{\"a\":\r\n: note\r\ndata: \"up\"}\r\nretry: 10\r\n\r\n",
            "{\"a\":\n\"up\"}", "{\"a\":\n\"ltk_22\"}",
            "data:{\"a\":\r\n: note\r\ndata: \"ltk_22\"}\r\nretry: 10\r\n\r\n");
  /* CR line ends, a bare data line, a BOM at the stream's start */
  roundtrip(DIALECT_FRAMING_SSE, "\xEF\xBB\xBF" "data\rdata: {}\r\r", "\n{}", "\n[1]",
            "\xEF\xBB\xBF" "data\rdata: [1]\r\r");
  roundtrip(DIALECT_FRAMING_SSE, "data\n\n", "", "x", "data: x\n\n");
  /* "database:" is not a data line */
  roundtrip(DIALECT_FRAMING_SSE, "database: 1\ndata: a\n\n", "a", "b", "database: 1\ndata: b\n\n");
}

static void sse_refusals(void) {
  static const char raw[] = "data: a\ndata: b\n\n";
  dynbuf out;
  dynbuf payload;
  dynbuf_init(&out, 1 << 20);
  dynbuf_init(&payload, 1 << 20);
  CHECK(dynbuf_add(&out, "kept", 4) == 0);
  CHECK(reframe_event(DIALECT_FRAMING_SSE, raw, strlen(raw), "ab", 2, &out) == -EINVAL);
  CHECK(reframe_event(DIALECT_FRAMING_SSE, raw, strlen(raw), "a\nb\nc", 5, &out) == -EINVAL);
  CHECK_MEM(out.ptr, out.len, "kept");
  CHECK(reframe_payload(DIALECT_FRAMING_SSE, "event: x\n\n", 10, &payload) == -EINVAL);
  CHECK(payload.len == 0);
  CHECK(reframe_event(DIALECT_FRAMING_NDJSON, "{}\n", 3, "{\n}", 3, &out) == -EINVAL);
  /* over the cap: the dynbuf error, nothing appended */
  dynbuf_free(&out);
  dynbuf_init(&out, 8);
  CHECK(reframe_event(DIALECT_FRAMING_SSE, raw, strlen(raw), "a\nb", 3, &out) == -E2BIG);
  CHECK(out.len == 0);
  dynbuf_free(&out);
  dynbuf_free(&payload);
}

static void ndjson_and_json(void) {
  roundtrip(DIALECT_FRAMING_NDJSON, "{\"link_token\":\"up\"}\n", "{\"link_token\":\"up\"}",
            "{\"link_token\":\"ltk\"}", "{\"link_token\":\"ltk\"}\n");
  roundtrip(DIALECT_FRAMING_NDJSON, "{\"a\":1}\r\n", "{\"a\":1}", "{\"a\":22}", "{\"a\":22}\r\n");
  roundtrip(DIALECT_FRAMING_NDJSON, "{\"a\":1}", "{\"a\":1}", "{\"a\":2}", "{\"a\":2}");
  roundtrip(DIALECT_FRAMING_JSON, " {\"a\":1}\n", " {\"a\":1}\n", "{\"a\":3}", "{\"a\":3}");
}

/* The whole rewrite of an event: the OpenAI item whose output is the JSON
 * text of the magic-link payload, with the SSE event line kept. */
static void rewrite_whole_events(void) {
  static const char raw[] =
      "event: response.output_item.done\n"
      "data: {\"type\":\"response.output_item.done\",\"sequence_number\":8,\"output_index\":1,\"item\":"
      "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{\\\"message\\\":\\\"Connect\\\","
      "\\\"magic_link_url\\\":\\\"https://up.example/l/up_1\\\",\\\"link_token\\\":\\\"up_1\\\"}\"}}\n\n";
  static const char want[] =
      "event: response.output_item.done\n"
      "data: {\"type\":\"response.output_item.done\",\"sequence_number\":8,\"output_index\":1,\"item\":"
      "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{\\\"message\\\":\\\"Connect\\\","
      "\\\"magic_link_url\\\":\\\"http://relay.test/_authrelay/link/ltk_1\\\",\\\"link_token\\\":\\\"ltk_1\\\"}\"}}\n\n";
  static const char meta[] = "{\"type\":\"authenticate_meta\",\"link_token\":\"u\",\"expires_at\":\"x\"}\r\n";
  dialect_link l;
  dynbuf out;
  size_t count = 9;
  memset(&l, 0, sizeof l);
  strcpy(l.connector, "slack");
  strcpy(l.link_token, "ltk_1");
  strcpy(l.magic_link_url, "http://relay.test/_authrelay/link/ltk_1");
  strcpy(l.expires_at, "2026-12-05T03:00:00Z");
  dynbuf_init(&out, 1 << 20);
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, raw, strlen(raw), &l, NULL, &out, &count) == 0);
  CHECK(count == 1);
  CHECK_MEM(out.ptr, out.len, want);
  out.len = 0;
  /* NDJSON, authenticate_meta: expires_at too; members not sent are not added */
  CHECK(reframe_rewrite(DIALECT_FRAMING_NDJSON, meta, strlen(meta), &l, NULL, &out, &count) == 0);
  CHECK_MEM(out.ptr, out.len,
            "{\"type\":\"authenticate_meta\",\"link_token\":\"ltk_1\",\"expires_at\":\"2026-12-05T03:00:00Z\"}\r\n");
  out.len = 0;
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, "data: {\"a\":1}\n\n", 15, &l, NULL, &out, &count) == -ENOENT);
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, "data: {\"a\"\n\n", 12, &l, NULL, &out, &count) == -EINVAL);
  CHECK(out.len == 0 && count == 0);
  /* the result would pass out's cap: refused, nothing appended */
  dynbuf_free(&out);
  dynbuf_init(&out, 64);
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, raw, strlen(raw), &l, NULL, &out, &count) == -E2BIG);
  CHECK(out.len == 0);
  dynbuf_free(&out);
}

/* Two calls' results for different connectors in one event (parallel tool
 * calls in OpenAI's response.completed): one set of values for the event
 * (parser/SEMANTICS.md "Rewriter"): both carry the pause's trusted link,
 * neither keeps the upstream's; and a declined tool call's message. */
static void two_calls_one_event(void) {
  static const char raw[] =
      "event: response.completed\n"
      "data: {\"type\":\"response.completed\",\"response\":{\"output\":["
      "{\"type\":\"function_call_output\",\"call_id\":\"call_a\",\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\","
      "\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":\\\"up_a\\\",\\\"message\\\":\\\"Connect Slack\\\"}\"},"
      "{\"type\":\"function_call_output\",\"call_id\":\"call_b\",\"output\":\"{\\\"message\\\":\\\"Connect GitHub\\\","
      "\\\"magic_link_url\\\":\\\"https://up.example/l/up_b\\\",\\\"link_token\\\":\\\"up_b\\\"}\"}]}}\n\n";
  dialect_link l;
  dynbuf out;
  size_t count = 0;
  memset(&l, 0, sizeof l);
  strcpy(l.connector, "slack");
  strcpy(l.link_token, "ltk_1");
  strcpy(l.magic_link_url, "http://relay.test/_authrelay/link/ltk_1");
  strcpy(l.expires_at, "2026-12-05T03:00:00Z");
  dynbuf_init(&out, 1 << 20);
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, raw, strlen(raw), &l, NULL, &out, &count) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0);
  CHECK(count == 2);
  CHECK(strstr(out.ptr, "up_a") == NULL && strstr(out.ptr, "up_b") == NULL && strstr(out.ptr, "up.example") == NULL);
  CHECK(strstr(out.ptr, "\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":\\\"ltk_1\\\"") != NULL);
  CHECK(strstr(out.ptr, "\\\"magic_link_url\\\":\\\"http://relay.test/_authrelay/link/ltk_1\\\","
                        "\\\"link_token\\\":\\\"ltk_1\\\"") != NULL);
  CHECK(strstr(out.ptr, "Connect Slack") != NULL && strstr(out.ptr, "Connect GitHub") != NULL);
  out.len = 0;
  /* with a message: every result's message, once, as a value */
  CHECK(reframe_rewrite(DIALECT_FRAMING_SSE, raw, strlen(raw), &l, "Not \"now\"", &out, &count) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0);
  CHECK(strstr(out.ptr, "Connect Slack") == NULL && strstr(out.ptr, "Connect GitHub") == NULL);
  CHECK(strstr(out.ptr, "\\\"message\\\":\\\"Not \\\\\\\"now\\\\\\\"\\\"") != NULL);
  dynbuf_free(&out);
}

int main(void) {
  RUN(rewrite_whole_events);
  RUN(two_calls_one_event);
  RUN(sse_events);
  RUN(sse_refusals);
  RUN(ndjson_and_json);
  return unit_report();
}
