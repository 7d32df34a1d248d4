/* stream: GET /stream (parameters, head, rate-limited body). See stream.h. */
#include "stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "query.h"
#include "request.h"
#include "resp.h"
#include "stats.h"

static void on_stream_timer(uv_timer_t *t) { stream_produce(t->data); }

/* Number of pieces (events + trailer) that may have been sent by now. */
static long stream_due(conn *c, uint64_t now) {
  long total = c->spec.count + 1;
  if (c->rate <= 0)
    return total;
  double el = (double)(now - c->anchor_t) / 1e9;
  long due = c->anchor_piece + 1 + (long)(el * c->rate);
  if (due >= c->spec.count) /* the trailer goes right after the last event */
    due = total;
  return due < total ? due : total;
}

static void stream_schedule(conn *c, uint64_t now) {
  double at = (double)c->anchor_t + (double)(c->next_piece - c->anchor_piece) * 1e9 / c->rate;
  double ms = (at - (double)now) / 1e6;
  uint64_t wait = ms < 1 ? 1 : (uint64_t)(ms + 0.999);
  uv_timer_start(&c->timer, on_stream_timer, wait, 0);
}

void stream_produce(conn *c) {
  size_t turn = 0;
  long total = c->spec.count + 1;
  while (c->resp_active && !c->closing && c->next_piece < total) {
    uint64_t now = uv_hrtime();
    long due = stream_due(c, now);
    if (c->next_piece >= due) {
      stream_schedule(c, now);
      return;
    }
    if (conn_queued(c) > WQ_HIGH - BATCH) { /* the next write could pass WQ_HIGH */
      conn_block(c);
      return;
    }
    if (turn >= TURN_MAX)
      return; /* the write callbacks continue */
    c->scratch.len = 0;
    while (c->next_piece < due && c->scratch.len < BATCH) {
      int auth = ev_render_piece(&c->spec, c->next_piece, &c->scratch);
      if (c->next_piece < c->spec.count) {
        stats.events_sent++;
        stats.auth_events_sent += (uint64_t)auth;
      }
      c->next_piece++;
    }
    int last = c->next_piece >= total;
    conn_body_write(c, c->scratch.p, c->scratch.len, last);
    turn += c->scratch.len;
  }
  if (c->resp_active && !c->closing && c->next_piece >= total) {
    stats.streams_completed++;
    conn_resp_done(c);
  }
}

void stream_route(conn *c, const char *q) {
  ev_spec *s = &c->spec;
  memset(s, 0, sizeof *s);
  int ok = 1;
  char v[64];
  s->format = EV_SSE;
  s->shape = EV_AUTHENTICATE_META;
  if (query_get(q, "format", v, sizeof v) == 1 && ev_parse_format(v, &s->format) != 0)
    ok = 0;
  if (query_get(q, "shape", v, sizeof v) == 1 && ev_parse_shape(v, &s->shape) != 0)
    ok = 0;
  s->count = (long)query_ll(q, "count", 10, 0, 1000000000, &ok);
  s->size = (long)query_ll(q, "size", 0, 0, 64 * 1024 * 1024, &ok);
  s->auth_at = (long)query_ll(q, "auth_at", -1, -1, 1000000000, &ok);
  char idv[32];
  if (query_get(q, "id", idv, sizeof idv) == 1) {
    s->has_stream_id = 1;
    s->stream_id = query_ll(q, "id", 0, -999999999999LL, 999999999999LL, &ok);
  }
  s->ts = query_flag(q, "ts");
  s->sse_ids = query_flag(q, "sse_ids");
  if (query_token(q, "connector", "slack", "_-", s->connector, sizeof s->connector) < 0 ||
      query_token(q, "link_token", "ltk_upstream", "_-.", s->link_token, sizeof s->link_token) < 0 ||
      query_token(q, "expires_at", "2099-01-01T00:00:00Z", "-:.+", s->expires_at, sizeof s->expires_at) < 0)
    ok = 0;
  c->rate = 0;
  if (query_get(q, "rate", v, sizeof v) == 1 && v[0]) {
    char *end;
    c->rate = strtod(v, &end);
    if (*end || !(c->rate >= 0 && c->rate <= 1e9))
      ok = 0;
  }
  c->framing = (enum framing)query_choice(q, "framing", conn_framing_names, 3, FR_CHUNKED, &ok);
  if (!ok) {
    resp_text(c, 400, "bad /stream parameters\n");
    return;
  }
  size_t rl;
  if (query_flag(q, "auth_unless_retry") && req_header_get(c, "x-authrelay-retry", &rl))
    s->auth_at = -1;
  if (c->framing == FR_CHUNKED && c->parser.http_minor == 0)
    c->framing = FR_CLOSE; /* no chunked encoding for HTTP/1.0 */
  if (c->framing == FR_CLOSE)
    c->close_after = 1;

  buf_t h = {0};
  resp_head_begin(&h, 200);
  buf_printf(&h, "Content-Type: %s\r\nCache-Control: no-cache\r\n", ev_content_type(s->format));
  char encoding[32];
  if (query_token(q, "encoding", "", "-", encoding, sizeof encoding) == 0 && encoding[0] != '\0')
    buf_printf(&h, "Content-Encoding: %s\r\n", encoding); /* a label only: the body is not compressed */
  if (c->framing == FR_CHUNKED) {
    buf_puts(&h, "Transfer-Encoding: chunked\r\n");
  } else if (c->framing == FR_LENGTH) {
    /* Dry run to learn the length; ts is rendered at a fixed width. */
    s->ts_fixed = 1;
    uint64_t total = 0;
    for (long i = 0; i <= s->count; i++) {
      c->scratch.len = 0;
      ev_render_piece(s, i, &c->scratch);
      total += c->scratch.len;
    }
    buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", total);
  }
  resp_head_end(c, &h);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  if (c->is_head) {
    conn_resp_done(c);
    return;
  }
  stats.streams_started++;
  c->kind = R_STREAM;
  c->resp_active = 1;
  c->next_piece = 0;
  c->anchor_t = uv_hrtime();
  c->anchor_piece = 0;
  stream_produce(c);
}
