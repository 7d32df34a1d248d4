/* test_dialect_generic: the generic dialect (dialect/generic.c). Its
 * notices are byte for byte today's events of inject.c, in SSE and NDJSON
 * (auth_declined in the same shape), the heartbeat is ": paused" in SSE and
 * nothing in NDJSON, nothing goes into a JSON body; tool calls are tracked
 * in the shapes agent servers use (tool_call_id + tool_name, toolCallId +
 * toolName, call_id + name). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dialect_test.h"
#include "inject.h"

static void same_bytes_as_inject(dialect_framing framing, inject_form form) {
  dialect_stream s;
  dialect_link l;
  dialect_notice n;
  dynbuf want;
  dynbuf got;
  inject_link il;
  int k;
  trusted_link(&l, "slack", "ltk_ab");
  il.stream_id = "st_0_000001";
  il.connector = "slack";
  il.link_token = "ltk_ab";
  il.magic_link_url = l.magic_link_url;
  il.expires_at = l.expires_at;
  dialect_stream_init(&s, DIALECT_GENERIC, framing, NULL);
  for (k = 0; k < 6; k++) {
    dynbuf_init(&want, INJECT_MAX_BYTES);
    dynbuf_init(&got, DIALECT_NOTICE_MAX);
    switch (k) {
    case 0:
      il.message = "Say \"hi\"\nnow";
      n = link_notice(&l, il.message);
      CHECK(inject_link_token(&want, form, &il) == 0);
      break;
    case 1:
      il.message = NULL;
      n = link_notice(&l, NULL);
      CHECK(inject_link_token(&want, form, &il) == 0);
      break;
    case 2:
      n = simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack");
      CHECK(inject_auth_complete(&want, form, "st_0_000001", "slack") == 0);
      break;
    case 3:
      n = simple_notice(DIALECT_NOTICE_LINK_EXPIRED, "slack");
      CHECK(inject_link_expired(&want, form, "st_0_000001", "slack") == 0);
      break;
    case 4:
      n = simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack");
      CHECK(inject_relay_error(&want, form, "st_0_000001", 503, "authrelay is restarting") == 0);
      break;
    default:
      n = simple_notice(DIALECT_NOTICE_HEARTBEAT, "slack");
      CHECK(inject_heartbeat(&want, form) == 0);
      break;
    }
    CHECK(dialect_render(&s, &n, &got) == 0);
    CHECK(got.len == want.len && (want.len == 0 || memcmp(got.ptr, want.ptr, want.len) == 0));
    if (got.len != want.len || (want.len != 0 && memcmp(got.ptr, want.ptr, want.len) != 0))
      fprintf(stderr, "notice %d:\n got  %.*s\n want %.*s\n", k, (int)got.len, got.ptr ? got.ptr : "",
              (int)want.len, want.ptr ? want.ptr : "");
    dynbuf_free(&want);
    dynbuf_free(&got);
  }
  dialect_stream_close(&s);
}

static void notices_are_todays_events(void) {
  same_bytes_as_inject(DIALECT_FRAMING_SSE, INJECT_SSE);
  same_bytes_as_inject(DIALECT_FRAMING_NDJSON, INJECT_NDJSON);
}

static void auth_declined_and_picker(void) {
  dialect_stream s;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, NULL);
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_DECLINED, "slack"),
               "event: auth_declined\ndata: {\"type\":\"auth_declined\",\"stream_id\":\"st_0_000001\","
               "\"connector\":\"slack\"}\n\n");
  /* No connector found: a picker link, connector "" and a neutral sentence. */
  trusted_link(&l, "", "ltk_pick");
  CHECK_RENDER(&s, link_notice(&l, NULL),
               "event: link_token\ndata: {\"type\":\"link_token\",\"stream_id\":\"st_0_000001\","
               "\"connector\":\"\",\"link_token\":\"ltk_pick\",\"magic_link_url\":"
               "\"http://relay.test/_authrelay/link/ltk_pick\",\"expires_at\":\"2026-12-05T03:00:00Z\","
               "\"message\":\"Please connect an account to continue.\"}\n\n");
  dialect_stream_close(&s);
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_JSON, NULL);
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"), "");
  dialect_stream_close(&s);
}

/* A notice over the cap fails and leaves the buffer as it was. */
static void capped(void) {
  static char big[40000];
  dialect_stream s;
  dialect_notice n = simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack");
  dynbuf out;
  memset(big, 'm', sizeof big - 1);
  n.message = big;
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, NULL);
  dynbuf_init(&out, DIALECT_NOTICE_MAX);
  CHECK(dynbuf_add(&out, "kept", 4) == 0);
  CHECK(dialect_render(&s, &n, &out) == -E2BIG);
  CHECK_MEM(out.ptr, out.len, "kept");
  dynbuf_free(&out);
  dialect_stream_close(&s);
}

static void tracks_agent_server_shapes(void) {
  static const wire_event evs[] = {
      {"tool_call", "{\"type\":\"tool_call\",\"tool_call_id\":\"call_1\",\"tool_name\":\"slack__send_message\"}"},
      {NULL, "{\"type\":\"tool-input-start\",\"toolCallId\":\"call_2\",\"toolName\":\"authenticate_github\"}"},
      {NULL, "{\"type\":\"function_call\",\"call_id\":\"call_3\",\"name\":\"Jira__search\",\"arguments\":\"{}\"}"},
  };
  static const char *const results[] = {
      "{\"type\":\"tool_result\",\"tool_call_id\":\"call_1\",\"result\":{\"magic_link_url\":\"https://u/1\",\"link_token\":\"u1\"}}",
      "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_2\",\"output\":{\"magic_link_url\":\"https://u/2\",\"link_token\":\"u2\"}}",
      "{\"type\":\"function_call_output\",\"call_id\":\"call_3\",\"output\":\"{\\\"magic_link_url\\\":\\\"https://u/3\\\",\\\"link_token\\\":\\\"u3\\\"}\"}",
  };
  static const char *const want[] = {"slack", "github", "jira"};
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  size_t i;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, 3);
  CHECK_EQ_U64(s.scans, 3);
  for (i = 0; i < 3; i++) {
    m = match_of(&det, results[i]);
    CHECK(m != NULL);
    if (m == NULL)
      continue;
    dialect_decide(&s, m, DIALECT_REPLACE, &d);
    CHECK(strcmp(d.connector, want[i]) == 0 && strcmp(d.connector_from, "tool_call") == 0);
    CHECK(d.action == DIALECT_REPLACE);
  }
  dialect_stream_close(&s);
  detect_close(&det);
}

int main(void) {
  RUN(notices_are_todays_events);
  RUN(auth_declined_and_picker);
  RUN(capped);
  RUN(tracks_agent_server_shapes);
  return unit_report();
}
