/* test_inject: the events authrelay writes into a stream (proxy/inject.c),
 * byte for byte in both forms, with strings that need escaping. */
#include <errno.h>
#include <string.h>

#include "inject.h"
#include "unit.h"

#define CHECK_OUT(buf, text) CHECK_MEM((buf).ptr, (buf).len, text)

static void link_token_in_both_forms(void) {
  inject_link l = {"st_0_000001", "slack", "ltk_ab", "http://h/_authrelay/link/ltk_ab",
                   "2026-05-04T18:30:00Z", "Say \"hi\"\nnow"};
  dynbuf out;
  dynbuf_init(&out, INJECT_MAX_BYTES);
  CHECK(inject_link_token(&out, INJECT_SSE, &l) == 0);
  CHECK_OUT(out, "event: link_token\ndata: {\"type\":\"link_token\",\"stream_id\":\"st_0_000001\","
                 "\"connector\":\"slack\",\"link_token\":\"ltk_ab\",\"magic_link_url\":"
                 "\"http://h/_authrelay/link/ltk_ab\",\"expires_at\":\"2026-05-04T18:30:00Z\","
                 "\"message\":\"Say \\\"hi\\\"\\nnow\"}\n\n");
  dynbuf_free(&out);
  dynbuf_init(&out, INJECT_MAX_BYTES);
  l.message = NULL;
  CHECK(inject_link_token(&out, INJECT_NDJSON, &l) == 0);
  CHECK_OUT(out, "{\"type\":\"link_token\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\","
                 "\"link_token\":\"ltk_ab\",\"magic_link_url\":\"http://h/_authrelay/link/ltk_ab\","
                 "\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":\"Please connect slack to continue.\"}\n");
  dynbuf_free(&out);
}

static void the_other_events(void) {
  dynbuf out;
  dynbuf_init(&out, INJECT_MAX_BYTES);
  CHECK(inject_auth_complete(&out, INJECT_SSE, "st_1", "github") == 0);
  CHECK_OUT(out, "event: auth_complete\ndata: {\"type\":\"auth_complete\",\"stream_id\":\"st_1\","
                 "\"connector\":\"github\"}\n\n");
  out.len = 0;
  CHECK(inject_link_expired(&out, INJECT_NDJSON, "st_1", "github") == 0);
  CHECK_OUT(out, "{\"type\":\"link_expired\",\"stream_id\":\"st_1\",\"connector\":\"github\"}\n");
  out.len = 0;
  CHECK(inject_relay_error(&out, INJECT_SSE, "st_1", 502, "upstream closed the stream") == 0);
  CHECK_OUT(out, "event: relay_error\ndata: {\"type\":\"relay_error\",\"stream_id\":\"st_1\","
                 "\"status\":502,\"message\":\"upstream closed the stream\"}\n\n");
  out.len = 0;
  CHECK(inject_heartbeat(&out, INJECT_SSE) == 0);
  CHECK_OUT(out, ": paused\n\n");
  out.len = 0;
  CHECK(inject_heartbeat(&out, INJECT_NDJSON) == 0);
  CHECK(out.len == 0);
  dynbuf_free(&out);
}

static void capped(void) {
  dynbuf out;
  char big[40000];
  memset(big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  dynbuf_init(&out, INJECT_MAX_BYTES);
  /* over the cap: refused with the real code, not an OR of codes */
  CHECK(inject_relay_error(&out, INJECT_SSE, "st_1", 500, big) == -E2BIG);
  /* the failure sticks: a later event on the same buffer is refused too */
  CHECK(inject_heartbeat(&out, INJECT_SSE) == -E2BIG);
  dynbuf_free(&out);
}

int main(void) {
  RUN(link_token_in_both_forms);
  RUN(the_other_events);
  RUN(capped);
  return unit_report();
}
