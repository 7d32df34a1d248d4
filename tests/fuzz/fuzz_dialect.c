/* fuzz_dialect: libFuzzer harness for the dialect layer
 * (proxy/relay/dialect/): sniffing, tool-call tracking, decisions and
 * notices on hostile event streams.
 *
 * Input layout (corpus/fuzz_dialect/ holds seeds):
 *   byte 0   bits 0-3  configured dialect (mod DIALECT_COUNT; 0: auto)
 *            bits 4-5  framing: 0 SSE, 1 NDJSON, 2 JSON, 3 SSE
 *            bit 6     head: x-vercel-ai-ui-message-stream
 *            bit 7     head: tool route
 *   rest     events separated by "\n\n"; an event whose first line starts
 *            with "event:" takes that line's rest as its SSE event name;
 *            the first event is also handed over as the request body
 *            (dialect_note_request)
 *
 * Every event is observed; its detector match (if any) is decided with
 * each on_detect, and the first decision of a call is noted as an
 * interrupt with a trusted link. After each event every notice is
 * rendered. Invariants (abort() on violation):
 *   - a decision: action replace only in generic; keep and rewrite as
 *     asked; pause 0 exactly when a link is known, and then a second
 *     decision of the same match agrees; the connector is "" or a
 *     lower-case slug; every result has a key (call id or result hash);
 *   - a notice: SSE output is "" or lines each starting with "event: ",
 *     "data: " or ":" and ending in one blank line, with no CR; NDJSON is ""
 *     or one line; JSON framing gets nothing; every data line (joined) is
 *     one valid JSON text (A2A ids come from the stream: they must stay
 *     valid JSON); the heartbeat is ": paused" or nothing;
 *   - bounds: the trusted links kept never exceed DIALECT_MAX_LINKS, the
 *     calls DIALECT_MAX_CALLS (by construction), scans <= events;
 *   - reframe: each event's raw bytes (with "\n\n", as SSE, and as an
 *     NDJSON line) give back the same bytes around the same payload, and a
 *     payload with each line changed comes out of the new bytes again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "detect.h"
#include "dialect.h"
#include "dynbuf.h"
#include "reframe.h"

#define CHECK(cond, what)                                            \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "fuzz_dialect: %s (%s)\n", what, #cond);       \
      abort();                                                       \
    }                                                                \
  } while (0)

static int slug_ok(const char *s) {
  size_t i;
  for (i = 0; s[i] != '\0'; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return 0;
  }
  return i <= DIALECT_SLUG_MAX;
}

/* One JSON text: parses it (a copy, NUL-terminated). */
static int valid_json(const char *p, size_t len) {
  char err[64];
  char *copy = malloc(len + 1);
  yajl_val v;
  CHECK(copy != NULL, "out of memory");
  memcpy(copy, p, len);
  copy[len] = '\0';
  v = yajl_tree_parse(copy, err, sizeof err);
  free(copy);
  if (v == NULL)
    return 0;
  yajl_tree_free(v);
  return 1;
}

static void check_sse(const char *p, size_t len, dialect_notice_kind kind) {
  char data[DIALECT_NOTICE_MAX];
  size_t data_len = 0;
  size_t at = 0;
  int comment_only = 1;
  if (len == 0)
    return;
  CHECK(len >= 2 && p[len - 1] == '\n' && p[len - 2] == '\n', "SSE notice ends in a blank line");
  CHECK(memchr(p, '\r', len) == NULL, "no CR in an SSE notice");
  while (at < len - 1) {
    const char *nl = memchr(p + at, '\n', len - 1 - at);
    size_t line_len;
    CHECK(nl != NULL, "SSE notice lines end");
    line_len = (size_t)(nl - (p + at));
    CHECK(line_len > 0, "no blank line inside an SSE notice");
    if (line_len >= 6 && memcmp(p + at, "data: ", 6) == 0) {
      comment_only = 0;
      if (data_len > 0)
        data[data_len++] = '\n';
      CHECK(data_len + line_len - 6 < sizeof data, "data fits");
      memcpy(data + data_len, p + at + 6, line_len - 6);
      data_len += line_len - 6;
    } else if (line_len >= 7 && memcmp(p + at, "event: ", 7) == 0) {
      comment_only = 0;
    } else {
      CHECK(p[at] == ':', "an SSE notice line is a field or a comment");
      if (kind != DIALECT_NOTICE_HEARTBEAT && line_len > 12 && memcmp(p + at, ": authrelay ", 12) == 0)
        CHECK(valid_json(p + at + 12, line_len - 12), "a comment notice holds one JSON text");
    }
    at += line_len + 1;
  }
  if (!comment_only)
    CHECK(valid_json(data, data_len), "SSE notice data is one JSON text");
  if (kind == DIALECT_NOTICE_HEARTBEAT)
    CHECK(len == 10 && memcmp(p, ": paused\n\n", 10) == 0, "heartbeat");
}

static void render_all(dialect_stream *s, const dialect_link *l) {
  static const dialect_notice_kind kinds[] = {
      DIALECT_NOTICE_LINK_TOKEN,    DIALECT_NOTICE_AUTH_COMPLETE, DIALECT_NOTICE_LINK_EXPIRED,
      DIALECT_NOTICE_AUTH_DECLINED, DIALECT_NOTICE_RELAY_ERROR,   DIALECT_NOTICE_HEARTBEAT};
  size_t k;
  for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    dialect_notice n;
    dynbuf out;
    memset(&n, 0, sizeof n);
    n.kind = kinds[k];
    n.stream_id = "st_0_000001";
    n.connector = l->connector;
    n.link_token = l->link_token;
    n.magic_link_url = l->magic_link_url;
    n.expires_at = l->expires_at;
    n.message = k == 0 ? NULL : "line\nbreak \"quoted\"";
    n.status = 502;
    dynbuf_init(&out, DIALECT_NOTICE_MAX);
    CHECK(dialect_render(s, &n, &out) == 0, "a notice renders");
    if (s->framing == DIALECT_FRAMING_JSON) {
      CHECK(out.len == 0, "nothing goes into a JSON body");
    } else if (s->framing == DIALECT_FRAMING_NDJSON) {
      if (out.len > 0) {
        CHECK(out.ptr[out.len - 1] == '\n' && memchr(out.ptr, '\n', out.len - 1) == NULL, "one NDJSON line");
        CHECK(valid_json(out.ptr, out.len - 1), "an NDJSON notice is one JSON text");
      }
    } else {
      check_sse(out.ptr, out.len, kinds[k]);
    }
    dynbuf_free(&out);
  }
}

/* reframe_payload / reframe_event on raw[0, len). */
static void check_reframe(dialect_framing framing, const char *raw, size_t len) {
  dynbuf payload;
  dynbuf out;
  dynbuf again;
  size_t i;
  dynbuf_init(&payload, 1 << 24);
  dynbuf_init(&out, 1 << 24);
  dynbuf_init(&again, 1 << 24);
  if (reframe_payload(framing, raw, len, &payload) == 0) {
    CHECK(reframe_event(framing, raw, len, payload.ptr, payload.len, &out) == 0, "reframe the same payload");
    CHECK(out.len == len && (len == 0 || memcmp(out.ptr, raw, len) == 0), "the same bytes back");
    for (i = 0; i < payload.len; i++) {
      if (payload.ptr[i] != '\n')
        payload.ptr[i] = 'x';
    }
    if (dynbuf_add(&payload, "yz", 2) == 0) {
      out.len = 0;
      CHECK(reframe_event(framing, raw, len, payload.ptr, payload.len, &out) == 0, "reframe a new payload");
      CHECK(reframe_payload(framing, out.ptr, out.len, &again) == 0, "payload of the new bytes");
      CHECK(again.len == payload.len && memcmp(again.ptr, payload.ptr, payload.len) == 0,
            "the new payload comes back");
    }
  }
  dynbuf_free(&payload);
  dynbuf_free(&out);
  dynbuf_free(&again);
}

static void check_decision(const dialect_stream *s, const detect_match *m, dialect_action asked,
                           const dialect_decision *d) {
  if (asked == DIALECT_REPLACE)
    CHECK(d->action == (dialect_current(s) == DIALECT_GENERIC ? DIALECT_REPLACE : DIALECT_REWRITE),
          "replace only in generic");
  else
    CHECK(d->action == asked, "keep and rewrite as asked");
  CHECK((d->pause == 0) == (d->link != NULL), "no pause exactly when a link is known");
  CHECK(slug_ok(d->connector), "connector is a lower-case slug or empty");
  (void)m;
  CHECK(d->key[0] != '\0' && d->link_key[0] != '\0', "every result has a key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  dialect_stream s;
  dialect_head head;
  dialect_link link;
  detect_t det;
  size_t at = 1;
  int first = 1;
  unsigned interrupts = 0;
  static const dialect_framing framings[] = {DIALECT_FRAMING_SSE, DIALECT_FRAMING_NDJSON,
                                             DIALECT_FRAMING_JSON, DIALECT_FRAMING_SSE};
  if (size < 1)
    return 0;
  head.ai_sdk_header = (data[0] >> 6) & 1;
  head.tool_route = (data[0] >> 7) & 1;
  dialect_stream_init(&s, (dialect_id)((data[0] & 15) % DIALECT_COUNT), framings[(data[0] >> 4) & 3],
                      &head);
  memset(&link, 0, sizeof link);
  snprintf(link.connector, sizeof link.connector, "slack");
  snprintf(link.link_token, sizeof link.link_token, "ltk_0");
  snprintf(link.magic_link_url, sizeof link.magic_link_url, "http://r/_authrelay/link/ltk_0");
  snprintf(link.expires_at, sizeof link.expires_at, "2026-12-05T03:00:00Z");
  detect_init(&det);
  while (at < size) {
    const char *ev = p + at;
    size_t rest = size - at;
    const char *sep = NULL;
    const char *chunk;
    size_t chunk_len;
    const char *name = NULL;
    size_t name_len = 0;
    size_t len = rest;
    size_t i;
    const detect_match *m = NULL;
    for (i = 0; i + 1 < rest; i++) {
      if (ev[i] == '\n' && ev[i + 1] == '\n') {
        sep = ev + i;
        break;
      }
    }
    if (sep != NULL)
      len = (size_t)(sep - ev);
    chunk = ev;
    chunk_len = len;
    at += len + (sep != NULL ? 2 : 0);
    if (len > 6 && memcmp(ev, "event:", 6) == 0) {
      const char *nl = memchr(ev, '\n', len);
      if (nl != NULL) {
        name = ev + 6;
        name_len = (size_t)(nl - name);
        len -= (size_t)(nl + 1 - ev);
        ev = nl + 1;
      }
    }
    {
      /* the chunk as an SSE event (with its blank line) and an NDJSON line */
      size_t raw_len = chunk_len;
      const char *raw = chunk;
      char *copy = malloc(raw_len + 2);
      CHECK(copy != NULL, "out of memory");
      memcpy(copy, raw, raw_len);
      memcpy(copy + raw_len, "\n\n", 2);
      check_reframe(DIALECT_FRAMING_SSE, copy, raw_len + 2);
      if (memchr(raw, '\n', raw_len) == NULL) {
        copy[raw_len] = '\n';
        check_reframe(DIALECT_FRAMING_NDJSON, copy, raw_len + 1);
      }
      free(copy);
    }
    if (first) {
      dialect_note_request(&s, ev, len);
      first = 0;
    }
    dialect_observe(&s, name, name_len, ev, len);
    CHECK(s.scans <= s.events, "scans <= events");
    detect_reset(&det);
    detect_feed(&det, ev, len);
    if (detect_finish(&det, ev, len, &m) == DETECT_MATCH) {
      dialect_decision d;
      dialect_decision again;
      dialect_decide(&s, m, DIALECT_KEEP, &d);
      check_decision(&s, m, DIALECT_KEEP, &d);
      dialect_decide(&s, m, DIALECT_REPLACE, &d);
      check_decision(&s, m, DIALECT_REPLACE, &d);
      dialect_decide(&s, m, DIALECT_REWRITE, &d);
      check_decision(&s, m, DIALECT_REWRITE, &d);
      if (d.pause) {
        snprintf(link.link_token, sizeof link.link_token, "ltk_%u", interrupts++ % 7);
        CHECK(dialect_note_interrupt(&s, &d, &link) == 0, "note_interrupt");
        dialect_decide(&s, m, DIALECT_REWRITE, &again);
        CHECK(again.pause == 0 && again.link != NULL &&
              strcmp(again.link->link_token, link.link_token) == 0,
              "the same match again: no second pause, the same link");
      }
    }
    if (s.mem != NULL)
      CHECK(s.mem->nlinks == 0 || interrupts > 0, "links only from interrupts");
    render_all(&s, &link);
  }
  detect_close(&det);
  dialect_stream_close(&s);
  return 0;
}
