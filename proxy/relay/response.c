/* response: the response side of an exchange (exchange_int.h), and the
 * exchange's side of the pause seam (pause.h).
 *
 * Raw bodies go straight through. Inspected bodies go through the framer:
 * bytes before its safe offset go to the client, the rest wait in held (the
 * event in progress), so that each event reaches the client once it is
 * complete, byte for byte. held is capped at max_event_bytes: past that the
 * bytes go out anyway. A detected event is handed to the interrupt logic
 * (pause_on_detect, in fr_on_event); when it acts, the framer stops at the
 * event's end, everything before the event goes out, and pause_begin()
 * takes over. While the pause waits, what arrives is held; the pause asks
 * this file (ex_pause_ops) to forward, withhold, write its notices, and
 * resume or end the stream. Every complete event is also shown to the
 * response's dialect (dialect/dialect.h: which protocol, which tool call),
 * whose decisions the pause applies.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "exchange_int.h"
#include "inject.h"
#include "log.h"
#include "retry.h"

static void up_on_head(void *ctx, const upstream_response *r);
static void up_on_body(void *ctx, const char *p, size_t n);
static void up_on_end(void *ctx, int status);
static void up_on_read_end(void *ctx);
static const pause_ops ex_pause_ops;

const upstream_callbacks ex_upstream_callbacks = {
    ex_up_on_connect, up_on_head, up_on_body, up_on_end, ex_up_on_writable, up_on_read_end,
};

int ex_tool_mode(const exchange *ex) {
  return ex_cfg(ex)->routes[ex->route_index].mode == CONFIG_MODE_TOOL;
}

int ex_tool_unsent(const exchange *ex) {
  return ex->resp_head.len > 0 && ex->forwarded == 0;
}

/* Tool mode: the response to a POST (a tool call: MCP tools/call) is held
 * whole until it ends (or passes max_held_bytes, or max_event_bytes), so
 * that a retry replaces it whole: events before the result (MCP progress
 * notifications) are not seen twice. A GET (a long-lived notification
 * stream) is relayed event by event. 1 while that holding applies. */
int ex_holds_whole(const exchange *ex) {
  return ex->forwarded == 0 && ex->parser.method == HTTP_POST && ex_tool_mode(ex);
}

/* Where forwarding stops when a detection pauses: the detected event's
 * start, or (a response held whole) where it is now. */
static uint64_t ex_before_pause(const exchange *ex) {
  return ex_holds_whole(ex) ? ex->forwarded : pause_event_start(ex->pause);
}

/* ---- the framer and the hook into the pause ------------------------------ */

/* What the pause is told about this response at a detection. */
static void ex_pause_stream(exchange *ex, pause_stream *st) {
  st->ops = &ex_pause_ops;
  st->owner = ex;
  st->loop = &ex->w->loop;
  st->metrics = &ex->w->metrics;
  st->mailbox = &ex->w->mailbox;
  st->cfg = ex_cfg(ex);
  st->route = &ex_cfg(ex)->routes[ex->route_index];
  st->catalog = ex_catalog(ex);
  st->format = ex->framer.format;
  st->user = ex->user;
  st->stream_id = ex->stream_id;
  /* a chunked request is kept framed: not a JSON text */
  st->request_body = ex->replay_body.len > 0 && !ex->req_chunked ? ex->replay_body.ptr : NULL;
  st->request_body_len = st->request_body != NULL ? ex->replay_body.len : 0;
  st->dialect = &ex->dialect;
}

/* config_dialect has dialect_id's values (config.h). */
_Static_assert((int)CONFIG_DIALECT_AUTO == (int)DIALECT_AUTO && (int)CONFIG_DIALECT_MCP == (int)DIALECT_MCP &&
                   (int)CONFIG_DIALECT_AI_SDK == (int)DIALECT_AI_SDK,
               "config_dialect and dialect_id agree");

/* A new response (not a retry's spliced body): its dialect starts over, from
 * the route's setting, the response head and the request as sent. */
void ex_dialect_init(exchange *ex, const upstream_response *r, framer_format fmt) {
  const config_route *route = &ex_cfg(ex)->routes[ex->route_index];
  dialect_head head;
  head.ai_sdk_header = http_head_find(r->head, "x-vercel-ai-ui-message-stream") != NULL;
  head.tool_route = route->mode == CONFIG_MODE_TOOL;
  dialect_stream_close(&ex->dialect);
  dialect_stream_init(&ex->dialect, (dialect_id)route->dialect,
                      fmt == FRAMER_NDJSON ? DIALECT_FRAMING_NDJSON
                      : fmt == FRAMER_JSON ? DIALECT_FRAMING_JSON
                                           : DIALECT_FRAMING_SSE,
                      &head);
  if (ex->replay_body.len > 0 && !ex->req_chunked)
    dialect_note_request(&ex->dialect, ex->replay_body.ptr, ex->replay_body.len);
}

static int fr_on_event(void *ctx, const framer_event *ev) {
  exchange *ex = ctx;
  metrics_t *m = &ex->w->metrics;
  METRICS_ADD(m, events_by_format[ex->framer.format], 1);
  if (!ev->oversized)
    dialect_observe(&ex->dialect, ev->type, ev->type_len, ev->data, ev->data_len);
  if (ev->status == DETECT_MATCH) {
    pause_stream st;
    ex_pause_stream(ex, &st);
    if (pause_on_detect(&ex->pause, &st, ev)) {
      ex->pause_pending = 1;
      return 1; /* stop here: the relay acts once framer_feed() returns */
    }
  } else if (ev->status == DETECT_MALFORMED) {
    METRICS_ADD(m, events_malformed, 1);
  }
  return 0;
}

static void fr_on_oversized(void *ctx, uint64_t index) {
  exchange *ex = ctx;
  (void)index;
  METRICS_ADD(&ex->w->metrics, events_oversized, 1);
}

static const framer_callbacks ex_framer_callbacks = {fr_on_event, NULL, fr_on_oversized};

void ex_framer_init(exchange *ex, framer_format fmt) {
  framer_options fo;
  fo.max_event_bytes = ex_cfg(ex)->max_event_bytes;
  fo.inspect = 1;
  framer_init(&ex->framer, fmt, &fo, &ex_framer_callbacks, ex);
}

/* Everything before the detected event went out: the pause takes over
 * (tool mode: unless the call is answered with a URL elicitation). */
static void ex_pause_begin(exchange *ex) {
  ex->pause_pending = 0;
  if (ex->state == EX_CLOSING)
    return;
  if (ex_tool_mode(ex) && ex_mcp_elicit(ex) == 0)
    return;
  pause_begin(ex->pause, ex->forwarded, ex->held.len);
}

/* ---- the response ------------------------------------------------------- */

/* Chooses how the body is framed for inspection: a framer_format, or -1 when
 * the body must be refused (compressed, and on_uninspectable is fail). */
int ex_response_format(exchange *ex, const upstream_response *r) {
  const config_route *route = &ex_cfg(ex)->routes[ex->route_index];
  const http_header *ct = http_head_find(r->head, "content-type");
  const http_header *ce = http_head_find(r->head, "content-encoding");
  framer_format fmt;
  switch (route->format) {
  case CONFIG_FORMAT_RAW:
    return FRAMER_RAW;
  case CONFIG_FORMAT_SSE:
    fmt = FRAMER_SSE;
    break;
  case CONFIG_FORMAT_NDJSON:
    fmt = FRAMER_NDJSON;
    break;
  case CONFIG_FORMAT_JSON:
    fmt = FRAMER_JSON;
    break;
  case CONFIG_FORMAT_AUTO:
  default:
    fmt = ct != NULL ? framer_format_from_content_type(http_head_str(r->head, ct->value), ct->value.len)
                     : FRAMER_RAW;
    break;
  }
  if (fmt != FRAMER_RAW && ce != NULL &&
      !http_equals_nocase(http_head_str(r->head, ce->value), ce->value.len, "identity")) {
    METRICS_ADD(&ex->w->metrics, uninspected_encoding, 1);
    LOG_WARN(ex_cfg(ex)->on_uninspectable == CONFIG_UNINSPECTABLE_FAIL
                 ? "compressed body refused (on_uninspectable: fail)"
                 : "compressed body passed uninspected",
             LOG_STR("stream_id", ex->stream_id),
             LOG_STRN("content_encoding", http_head_str(r->head, ce->value), ce->value.len));
    return ex_cfg(ex)->on_uninspectable == CONFIG_UNINSPECTABLE_FAIL ? -1 : FRAMER_RAW;
  }
  return fmt;
}

static void up_on_head(void *ctx, const upstream_response *r) {
  exchange *ex = ctx;
  const config_t *c = ex_cfg(ex);
  const http_head *h = r->head;
  framer_format fmt;
  proxyhead_client client;
  dynbuf head;
  int rc;
  int chosen;
  if (ex->retrying && !ex->retry_fresh) {
    (void)retry_on_head(ex, r);
    return;
  }
  ex->retrying = 0;
  ex->retry_fresh = 0; /* tool mode: the retry's response is the response */
  chosen = ex_response_format(ex, r);
  if (chosen < 0) {
    ex_refuse(ex, 502, "upstream body is compressed and cannot be inspected");
    return;
  }
  fmt = (framer_format)chosen;
  ex_framer_init(ex, fmt);
  ex_dialect_init(ex, r, fmt);
  ex->inspect = fmt != FRAMER_RAW;
  ex->resp_status = r->status;
  ex->resp_close = !ex->client_keep_alive || worker_draining(ex->w);
  ex->reframed = !r->no_body && r->content_length >= 0 && (fmt == FRAMER_SSE || fmt == FRAMER_NDJSON);
  if (!r->no_body && (r->content_length < 0 || ex->reframed)) {
    if (ex->client_http_minor >= 1)
      ex->resp_chunked = 1;
    else
      ex->resp_close = 1;
  }
  if (!ex->req_done)
    ex->resp_close = 1; /* answered before the request ended: do not reuse */
  dynbuf_init(&head, h->max_bytes * 2 + 4096);
  client.chunked = ex->resp_chunked;
  client.close = ex->resp_close;
  client.reframed = ex->reframed;
  rc = proxyhead_build_response(r, &client, &head);
  if (rc != 0) {
    dynbuf_free(&head);
    ex_refuse(ex, 502, "upstream response head too large");
    return;
  }
  dynbuf_init(&ex->held, c->max_event_bytes + NETIO_READ_BUFFER_BYTES + 1);
  ex_mcp_on_head(ex, r, fmt);
  ex->resp_started = 1;
  ex->stream_counted = 1;
  METRICS_ADD(&ex->w->metrics, streams_active, 1);
  dynbuf_free(&ex->resp_head);
  ex->resp_head = head; /* written by ex_write_body or up_on_read_end */
}

/* llhttp has parsed one upstream read: a head still waiting goes out now
 * (a stream's head must reach the client before its first event does), and
 * what the read gave the client is sent as one write, so that no event
 * waits for the other reads of the loop iteration. */
static void up_on_read_end(void *ctx) {
  exchange *ex = ctx;
  if (ex->state == EX_CLOSING)
    return;
  /* Tool mode: the head waits for the first event (it may have to be
   * replaced by a retry's), or for the end. */
  if (!(ex_cfg(ex)->routes[ex->route_index].mode == CONFIG_MODE_TOOL && ex->inspect) &&
      ex_client_flush_head(ex) != 0)
    return;
  if (ex->out.len > 0)
    (void)ex_client_flush(ex); /* on failure the connection closed */
}

/* Sends body bytes [forwarded, target) to the client: the first ones from
 * held, then from p (which starts at stream offset off0), and keeps the
 * rest of p in held. */
void ex_send_until(exchange *ex, uint64_t target, const char *p, size_t n, uint64_t off0) {
  size_t from_held = 0;
  size_t from_p = 0;
  uv_buf_t parts[2];
  if (target > off0 + n)
    target = off0 + n; /* only bytes it has: an ended stream may have dropped held ones */
  if (target > ex->forwarded) {
    uint64_t held_end = target < off0 ? target : off0;
    from_held = (size_t)(held_end - ex->forwarded);
    from_p = target > off0 ? (size_t)(target - off0) : 0;
  }
  parts[0] = uv_buf_init(ex->held.ptr, (unsigned)from_held);
  parts[1] = uv_buf_init((char *)p, (unsigned)from_p);
  if (from_held + from_p > 0) {
    if (ex_write_body(ex, parts, 2) != 0)
      return;
    if (from_held > 0) {
      memmove(ex->held.ptr, ex->held.ptr + from_held, ex->held.len - from_held);
      ex->held.len -= from_held;
    }
    ex->forwarded += from_held + from_p;
  }
  if (n > from_p && dynbuf_add(&ex->held, p + from_p, n - from_p) != 0)
    ex_close(ex);
}

/* Where forwarding may go up to now: the framer's safe offset, or all of
 * received when the event in progress is longer than max_event_bytes. */
static uint64_t ex_forward_target(const exchange *ex, uint64_t received) {
  const config_t *c = ex_cfg(ex);
  uint64_t target = framer_safe_offset(&ex->framer);
  if (ex_holds_whole(ex) && received <= c->max_held_bytes && received <= c->max_event_bytes)
    return 0; /* a tool call's response goes out whole, or is replaced whole by a retry */
  if (target < ex->forwarded)
    target = ex->forwarded;
  if (received - target > c->max_event_bytes)
    target = received; /* an event in progress this long is forwarded in pieces */
  return target;
}

void ex_flush_held_until(exchange *ex, uint64_t target) {
  ex_send_until(ex, target, NULL, 0, ex->forwarded + ex->held.len);
}

void ex_withhold_until(exchange *ex, uint64_t target) {
  size_t n = target > ex->forwarded ? (size_t)(target - ex->forwarded) : 0;
  if (n > ex->held.len)
    n = ex->held.len;
  if (n == 0)
    return;
  memmove(ex->held.ptr, ex->held.ptr + n, ex->held.len - n);
  ex->held.len -= n;
  ex->forwarded += n;
}

static void up_on_body(void *ctx, const char *p, size_t n) {
  exchange *ex = ctx;
  uint64_t off0;
  if (ex->state == EX_CLOSING)
    return;
  if (!ex->inspect) {
    uv_buf_t part = uv_buf_init((char *)p, (unsigned)n);
    (void)ex_write_body(ex, &part, 1);
    return;
  }
  if (pause_waiting(ex->pause)) {
    /* The rest of a read that was parsed after the pause began. */
    if (ex->held.len + n > ex_cfg(ex)->max_held_bytes || dynbuf_add(&ex->held, p, n) != 0)
      pause_overflow(ex->pause);
    return;
  }
  off0 = ex->forwarded + ex->held.len;
  (void)framer_feed(&ex->framer, p, n);
  if (ex->pause_pending) {
    ex_send_until(ex, ex_before_pause(ex), p, n, off0); /* the rest of p stays held */
    ex_pause_begin(ex);
    return;
  }
  ex_send_until(ex, ex_forward_target(ex, off0 + n), p, n, off0);
}

inject_form ex_inject_form(const exchange *ex) {
  return ex->framer.format == FRAMER_NDJSON ? INJECT_NDJSON : INJECT_SSE;
}

void ex_write_relay_error(exchange *ex, int status, const char *message) {
  dialect_notice n;
  dynbuf ev;
  int rc;
  memset(&n, 0, sizeof n);
  n.kind = DIALECT_NOTICE_RELAY_ERROR;
  n.stream_id = ex->stream_id;
  n.status = status;
  n.message = message;
  dynbuf_init(&ev, DIALECT_NOTICE_MAX);
  if (ex->dialect.ops != NULL)
    rc = dialect_render(&ex->dialect, &n, &ev);
  else
    rc = inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, status, message);
  ex_write_event(ex, &ev, rc == 0 && ev.len > 0 ? 0 : -ENODATA);
}

void ex_write_event(exchange *ex, dynbuf *ev, int rc) {
  if (rc == 0) {
    uv_buf_t part = uv_buf_init(ev->ptr, (unsigned)ev->len);
    (void)ex_write_body(ex, &part, 1);
  }
  dynbuf_free(ev);
}

/* The upstream response ended (status as upstream's on_end) and the body
 * bytes it delivered were all relayed: end the client's response. */
void ex_response_ended(exchange *ex, int status) {
  if (status == 0) {
    if (ex->inspect) {
      framer_finish(&ex->framer);
      if (ex->pause_pending) {
        /* The last NDJSON line, without its newline, was an auth-required
         * result: pause there; the response ends when the pause does. */
        ex_flush_held_until(ex, ex_before_pause(ex));
        ex->deferred_end = 1;
        ex->deferred_status = 0;
        ex_pause_begin(ex);
        return;
      }
      ex_send_until(ex, framer_safe_offset(&ex->framer), NULL, 0, ex->forwarded + ex->held.len);
      if (ex->state == EX_CLOSING)
        return;
    }
    if (ex_client_flush_head(ex) != 0)
      return;
    if (ex->resp_chunked) {
      uv_buf_t last = uv_buf_init("0\r\n\r\n", 5);
      if (ex_client_write(ex, &last, 1) != 0)
        return;
    }
    ex_finish_request(ex);
    return;
  }
  if (ex->resp_head.len > 0) {
    /* The head never left: the client gets a clean error instead. */
    dynbuf_reset(&ex->resp_head, 0);
    ex_stream_uncount(ex);
    ex->resp_started = 0;
  }
  if (!ex->resp_started) {
    LOG_WARN("upstream response failed", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("error", status == UPSTREAM_E_MALFORMED ? "malformed response" : uv_strerror(status)));
    ex_refuse(ex, status == UV_ETIMEDOUT ? 504 : 502,
              status == UPSTREAM_E_MALFORMED ? "malformed upstream response"
              : status == UV_ETIMEDOUT       ? "upstream timed out"
                                             : "upstream closed the connection");
    return;
  }
  /* Mid-stream: the client learns the stream broke; the chunked body is
   * left without its last chunk, so no client mistakes it for complete. */
  LOG_WARN("upstream gone mid-stream", LOG_STR("stream_id", ex->stream_id),
           LOG_STR("error", status == UPSTREAM_E_MALFORMED ? "malformed response" : uv_strerror(status)));
  if (ex->inspect && (ex->framer.format == FRAMER_SSE || ex->framer.format == FRAMER_NDJSON)) {
    ex->held.len = 0; /* an unterminated event: no client would dispatch it */
    /* as before the head: an upstream that stops answering is a timeout (504), one that fails is 502 */
    ex_write_relay_error(ex, status == UV_ETIMEDOUT ? 504 : 502,
                         status == UV_ETIMEDOUT ? "upstream timed out" : "upstream closed the stream");
  } else if (ex->held.len > 0) {
    ex_send_until(ex, ex->forwarded + ex->held.len, NULL, 0, ex->forwarded + ex->held.len);
  }
  metrics_count_status(&ex->w->metrics, ex->resp_status);
  METRICS_ADD(&ex->w->metrics, requests_total, 1);
  ex_log_access(ex, ex->end_outcome != NULL ? ex->end_outcome
                    : status == UV_ETIMEDOUT ? "upstream_timeout"
                                             : "upstream_error");
  ex_stream_uncount(ex); /* logged: closing must not log it again */
  ex_close_after_writes(ex);
}

static void up_on_end(void *ctx, int status) {
  exchange *ex = ctx;
  if (ex->state == EX_CLOSING)
    return;
  /* Every body byte has been handed over: the connection may go. */
  upstream_release(ex->up, status == 0 && ex->req_done);
  ex->up = NULL;
  if (pause_waiting(ex->pause)) {
    ex->deferred_end = 1; /* held bytes go out first, when the pause ends */
    ex->deferred_status = status;
    return;
  }
  ex_response_ended(ex, status);
}

void ex_forget_response(exchange *ex) {
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  framer_close(&ex->framer);
  framer_init(&ex->framer, FRAMER_RAW, NULL, NULL, NULL);
  dynbuf_free(&ex->held);
  dynbuf_init(&ex->held, 1);
  dynbuf_reset(&ex->resp_head, 0);
  ex_stream_uncount(ex);
  ex->resp_started = 0;
  ex->resp_chunked = 0;
  ex->reframed = 0;
  ex->inspect = 0;
  ex->forwarded = 0;
  ex->deferred_end = 0;
}

/* Frames the held bytes the framer has not seen (they may pause the stream
 * again), forwards what is complete, then reads upstream again or ends the
 * response if it ended while paused. */
void ex_resume_relaying(exchange *ex) {
  uint64_t received = ex->forwarded + ex->held.len;
  if (ex->inspect && ex->framer.offset < received) {
    size_t skip = (size_t)(ex->framer.offset - ex->forwarded);
    (void)framer_feed(&ex->framer, ex->held.ptr + skip, (size_t)(received - ex->framer.offset));
    if (ex->pause_pending) {
      ex_flush_held_until(ex, ex_before_pause(ex));
      ex_pause_begin(ex);
      return;
    }
  }
  ex_flush_held_until(ex, ex->inspect ? ex_forward_target(ex, received) : received);
  if (ex->state == EX_CLOSING)
    return;
  if (ex->deferred_end) {
    ex->deferred_end = 0;
    ex_response_ended(ex, ex->deferred_status);
    return;
  }
  if (ex->up == NULL)
    return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&ex->tcp) > ex_cfg(ex)->write_high_watermark) {
    ex->upstream_paused = 1; /* client_on_written resumes it */
    return;
  }
  ex->upstream_paused = 0;
  upstream_resume(ex->up);
}

/* Ends the client's response at once after an injected event: complete
 * for the client, and the upstream, whose response is cut short, is never
 * pooled. */
void ex_end_stream(exchange *ex) {
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  ex->held.len = 0;
  ex->deferred_end = 0;
  ex->resp_close = 1;
  ex_response_ended(ex, 0);
}

/* ---- what the pause asks of the exchange (pause.h) ------------------------ */

static int op_forward(void *owner, uint64_t upto) {
  exchange *ex = owner;
  ex_flush_held_until(ex, upto);
  return ex->state == EX_CLOSING ? UV_ECANCELED : 0;
}

static void op_withhold(void *owner, uint64_t upto) {
  ex_withhold_until(owner, upto);
}

static int op_write_event(void *owner, dynbuf *ev) {
  exchange *ex = owner;
  ex_write_event(ex, ev, 0);
  return ex->state == EX_CLOSING ? UV_ECANCELED : 0;
}

static void op_stop_upstream(void *owner) {
  exchange *ex = owner;
  if (ex->up != NULL)
    upstream_pause(ex->up);
}

static void op_resume(void *owner, pause_next next) {
  exchange *ex = owner;
  if (ex->state == EX_CLOSING)
    return;
  switch (next) {
  case PAUSE_RETRY:
    if (ex_tool_mode(ex))
      retry_tool(ex);
    else
      retry_start(ex);
    break;
  case PAUSE_RELEASE:
    retry_tool_release(ex);
    break;
  case PAUSE_CONTINUE:
  default:
    ex_resume_relaying(ex);
    break;
  }
}

static void op_end(void *owner) {
  exchange *ex = owner;
  if (ex->state != EX_CLOSING)
    ex_end_stream(ex);
}

static int op_fail_unsent(void *owner, int status, const char *message) {
  exchange *ex = owner;
  if (!ex_tool_unsent(ex))
    return -EALREADY;
  ex_forget_response(ex);
  ex_refuse(ex, status >= 400 && status <= 599 ? status : 502, message);
  return 0;
}

static void on_heartbeat(uv_timer_t *t) {
  exchange *ex = t->data;
  pause_heartbeat(ex->pause);
}

static void op_heartbeat(void *owner, uint64_t period_ms) {
  exchange *ex = owner;
  if (period_ms == 0) {
    (void)uv_timer_stop(&ex->timer); /* always 0 */
    return;
  }
  if (uv_timer_start(&ex->timer, on_heartbeat, period_ms, period_ms) != 0)
    LOG_WARN("heartbeat not started", LOG_STR("stream_id", ex->stream_id));
}

static void op_outcome(void *owner, const char *outcome) {
  exchange *ex = owner;
  ex->end_outcome = outcome;
}

static void op_base_url(void *owner, char *out, size_t cap) {
  ex_base_url(owner, out, cap);
}

static const char *op_held(void *owner, uint64_t from, uint64_t to, size_t *len) {
  exchange *ex = owner;
  if (from < ex->forwarded || to < from || to - ex->forwarded > ex->held.len)
    return NULL;
  *len = (size_t)(to - from);
  return ex->held.ptr + (from - ex->forwarded);
}

static int op_answer_held(void *owner, uint64_t from, uint64_t to, dynbuf *ev) {
  exchange *ex = owner;
  if (ex->state == EX_CLOSING) {
    dynbuf_free(ev);
    return UV_ECANCELED;
  }
  return retry_tool_answer(ex, from, to, ev);
}

static const pause_ops ex_pause_ops = {
    op_forward, op_withhold, op_write_event, op_stop_upstream, op_resume,   op_end,
    op_fail_unsent, op_heartbeat, op_outcome, op_base_url, op_held, op_answer_held,
};
