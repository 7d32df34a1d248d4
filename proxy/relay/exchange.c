/* exchange: client connections, their requests, and the relay of responses.
 * See exchange.h for what it does; this comment says how.
 *
 * One struct exchange per client connection; its requests are handled one
 * at a time. A request goes through these states:
 *   EX_IDLE        between requests (keep-alive idle timer)
 *   EX_HEAD        reading the head (client head timer)
 *   EX_CONNECTING  head complete, waiting for an upstream connection; body
 *                  bytes read meanwhile wait in early_body
 *   EX_ACTIVE      request head sent upstream, body streaming up, response
 *                  streaming down
 *   EX_CLOSING     handles closing; memory freed when both have closed
 * The upstream is contacted only after the whole read that completed the
 * head parsed cleanly, so a malformed request in one packet never reaches it.
 * llhttp is paused at the end of each request; bytes of a pipelined request
 * wait in unparsed until the response is done.
 *
 * Inspected responses: body bytes go to the framer; bytes before its safe
 * offset go to the client, the rest wait in held (the event in progress).
 * held is capped at max_event_bytes: past that the bytes go out anyway.
 * A detection that may be acted on stops the framer at the event's end and
 * hands over to pause.c (exchange_int.h holds what the two share).
 * Requests for /_authrelay/ (the link page) are answered here, not proxied.
 */
#include "exchange.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "exchange_int.h"
#include "inject.h"
#include "jsonw.h"
#include "linkbase.h"
#include "linkpage.h"
#include "log.h"
#include "timefmt.h"

void ex_close(exchange *ex);
static void ex_finish_request(exchange *ex);
static void client_parse(exchange *ex, const char *data, size_t len);
static void ex_start_upstream(exchange *ex);
static void ex_answer_local(exchange *ex);

/* ---- client reading and writing ----------------------------------------- */

static void client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void client_update_reading(exchange *ex) {
  if (ex->state == EX_CLOSING)
    return;
  if (ex->paused_for_body || ex->paused_for_unparsed)
    (void)uv_read_stop((uv_stream_t *)&ex->tcp);
  else
    (void)uv_read_start((uv_stream_t *)&ex->tcp, netio_alloc, client_on_read);
}

static void client_on_written(void *ctx, int status) {
  exchange *ex = ctx;
  if (ex->state == EX_CLOSING)
    return;
  if (status != 0) {
    if (ex->end_outcome == NULL)
      ex->end_outcome = "client_closed"; /* a write to the client failed */
    ex_close(ex);
    return;
  }
  if (ex->upstream_paused && ex->up != NULL && !ex->paused &&
      uv_stream_get_write_queue_size((uv_stream_t *)&ex->tcp) <= ex_cfg(ex)->write_low_watermark) {
    ex->upstream_paused = 0;
    upstream_resume(ex->up);
  }
}

/* Stops reading upstream once the bytes the client's socket did not take
 * pass the high watermark. Checked after a flush: bytes gathered for the
 * write in progress are not a backlog (a full upstream read is as large as
 * the watermark, and would stop and restart the upstream every time). */
static void client_check_backpressure(exchange *ex) {
  if (ex->up != NULL && !ex->upstream_paused &&
      uv_stream_get_write_queue_size((uv_stream_t *)&ex->tcp) > ex_cfg(ex)->write_high_watermark) {
    ex->upstream_paused = 1;
    upstream_pause(ex->up);
  }
}

/* Sends what was gathered for the client as one write; on failure the
 * connection is closed. */
static int client_flush(exchange *ex) {
  int rc = netio_batch_flush(&ex->out, (uv_stream_t *)&ex->tcp, client_on_written, ex);
  if (rc < 0) {
    if (ex->end_outcome == NULL)
      ex->end_outcome = "client_closed";
    ex_close(ex);
    return rc;
  }
  if (rc == 1)
    client_on_written(ex, 0); /* all written at once: what a completed write would check */
  return 0;
}

/* Writes to the client: the bytes are gathered and go out as one write at
 * the end of the upstream read being relayed (up_on_read_end), or when the
 * loop iteration's callbacks are done (exchange_flush_all) for bytes written
 * outside a read. On failure the connection is closed. */
static int client_write(exchange *ex, const uv_buf_t *bufs, unsigned n) {
  size_t total = 0;
  unsigned i;
  for (i = 0; i < n; i++)
    total += bufs[i].len;
  if (total == 0)
    return 0;
  if (netio_batch_add(&ex->out, bufs, n) != 0) {
    ex_close(ex);
    return UV_ENOMEM;
  }
  if (!ex->out_listed) {
    ex->out_listed = 1;
    ex->out_next = ex->w->flush_list;
    ex->w->flush_list = ex;
    worker_want_flush(ex->w);
  }
  ex->bytes_out += total;
  METRICS_ADD(&ex->w->metrics, bytes_to_clients, total);
  return 0;
}

void exchange_flush_all(worker_t *w) {
  exchange *ex = w->flush_list;
  w->flush_list = NULL;
  while (ex != NULL) {
    exchange *next = ex->out_next;
    ex->out_listed = 0;
    if (ex->state != EX_CLOSING && client_flush(ex) == 0)
      client_check_backpressure(ex);
    ex = next;
  }
}

/* Writes response body bytes, in chunked framing when the response is. */
int ex_write_body(exchange *ex, const uv_buf_t *parts, unsigned nparts) {
  uv_buf_t bufs[EX_WRITE_MAX_PARTS + 3]; /* head, chunk-size line, parts, chunk end */
  char size_line[HTTP_CHUNK_LINE_MAX];
  size_t total = 0;
  unsigned i;
  unsigned n = 0;
  int rc;
  if (nparts > EX_WRITE_MAX_PARTS)
    return UV_EINVAL; /* a caller's bug: never send a chunk whose size miscounts its parts */
  for (i = 0; i < nparts; i++)
    total += parts[i].len;
  if (total == 0)
    return 0;
  if (ex->resp_head.len > 0)
    bufs[n++] = uv_buf_init(ex->resp_head.ptr, (unsigned)ex->resp_head.len);
  if (ex->resp_chunked) {
    bufs[n++] = uv_buf_init(size_line, (unsigned)http_chunk_line(total, size_line));
  }
  for (i = 0; i < nparts; i++)
    bufs[n++] = parts[i];
  if (ex->resp_chunked)
    bufs[n++] = uv_buf_init("\r\n", 2);
  rc = client_write(ex, bufs, n); /* copies: resp_head may go now */
  dynbuf_reset(&ex->resp_head, 0);
  return rc;
}

/* Writes the response head if it is still waiting. */
static int client_flush_head(exchange *ex) {
  uv_buf_t buf;
  int rc;
  if (ex->resp_head.len == 0)
    return 0;
  buf = uv_buf_init(ex->resp_head.ptr, (unsigned)ex->resp_head.len);
  rc = client_write(ex, &buf, 1);
  dynbuf_reset(&ex->resp_head, 0);
  return rc;
}

/* ---- closing ------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h) {
  exchange *ex = h->data;
  if (--ex->handles_open > 0)
    return;
  worker_gen_release(ex->gen);
  http_head_free(&ex->req);
  netio_batch_discard(&ex->out);
  free(ex->user);
  free(ex->pause);
  dynbuf_free(&ex->resp_head);
  dynbuf_free(&ex->replay_head);
  dynbuf_free(&ex->replay_body);
  dynbuf_free(&ex->unparsed);
  dynbuf_free(&ex->early_body);
  dynbuf_free(&ex->held);
  free(ex);
}

static void ex_log_access(exchange *ex, const char *outcome) {
  const config_t *c = ex_cfg(ex);
  const char *method = llhttp_method_name((llhttp_method_t)ex->parser.method);
  const char *target = http_head_str(&ex->req, ex->req.target);
  size_t shown = ex->req.target.len;
  uint64_t now = uv_now(&ex->w->loop);
  /* Link-page URLs carry secrets (a link token, an OAuth code and state):
   * their query is left out and a token is cut to its first 8 characters. */
  if (http_starts_with(target, shown, "/_authrelay/")) {
    const char *q = memchr(target, '?', shown);
    if (q != NULL)
      shown = (size_t)(q - target);
    if (http_starts_with(target, shown, LINKSVC_PATH_PREFIX) &&
        shown > sizeof LINKSVC_PATH_PREFIX - 1 + sizeof LINKSVC_TOKEN_PREFIX - 1 + 4)
      shown = sizeof LINKSVC_PATH_PREFIX - 1 + sizeof LINKSVC_TOKEN_PREFIX - 1 + 4;
  }
  LOG_INFO("access", LOG_STR("stream_id", ex->stream_id), LOG_STR("client", ex->peer_ip),
           LOG_STR("method", method), LOG_STRN("path", target, shown),
           LOG_U64("status", (uint64_t)ex->resp_status), LOG_U64("bytes_in", ex->bytes_in),
           LOG_U64("bytes_out", ex->bytes_out), LOG_U64("duration_ms", now - ex->start_ms),
           LOG_U64("paused_ms", ex->paused_ms), LOG_STR("upstream", ex->local ? "" : c->routes[ex->route_index].upstream),
           LOG_STR("outcome", outcome));
}

static void ex_stream_uncount(exchange *ex) {
  if (ex->stream_counted) {
    ex->stream_counted = 0;
    METRICS_SUB(&ex->w->metrics, streams_active, 1);
  }
}

/* Takes ex out of service: releases the upstream, leaves the worker's list
 * and closes the timer. The caller closes tcp, now or after a shutdown. */
static void ex_detach(exchange *ex) {
  worker_t *w = ex->w;
  if (ex->state != EX_IDLE && ex->resp_status != 0 && ex->stream_counted)
    ex_log_access(ex, ex->end_outcome != NULL ? ex->end_outcome : "error");
  ex->state = EX_CLOSING;
  if (ex->page != NULL) {
    pausehub_page_abandon(ex->page);
    ex->page = NULL;
  }
  if (ex->paused)
    pause_leave(ex, METRICS_RESUME_CLIENT_GONE);
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  ex_stream_uncount(ex);
  framer_close(&ex->framer);
  if (ex->prev != NULL)
    ex->prev->next = ex->next;
  else
    w->exchanges = ex->next;
  if (ex->next != NULL)
    ex->next->prev = ex->prev;
  METRICS_SUB(&w->metrics, connections_active, 1);
  uv_close((uv_handle_t *)&ex->timer, on_handle_closed);
  worker_connection_closed(w);
}

void ex_close(exchange *ex) {
  if (ex->state == EX_CLOSING)
    return;
  ex_detach(ex);
  if (!uv_is_closing((uv_handle_t *)&ex->tcp))
    uv_close((uv_handle_t *)&ex->tcp, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  exchange *ex = req->data;
  (void)status;
  if (!uv_is_closing((uv_handle_t *)&ex->tcp))
    uv_close((uv_handle_t *)&ex->tcp, on_handle_closed);
}

/* Closes once what was written has gone out. */
static void ex_close_after_writes(exchange *ex) {
  if (ex->state == EX_CLOSING)
    return;
  (void)uv_read_stop((uv_stream_t *)&ex->tcp);
  if (client_flush(ex) != 0)
    return; /* closed */
  ex->shutdown.data = ex;
  if (uv_shutdown(&ex->shutdown, (uv_stream_t *)&ex->tcp, on_shutdown) != 0) {
    ex_close(ex);
    return;
  }
  ex_detach(ex);
}

/* ---- answers authrelay writes itself ------------------------------------ */

/* The access log's outcome of an answer authrelay gives itself: its own
 * refusal, or an error it answers for the upstream. */
static const char *refusal_outcome(int status) {
  if (status == 504)
    return "upstream_timeout";
  if (status == 502)
    return "upstream_error";
  return "refused";
}

/* Answers the request with status and a JSON error body, then closes. */
static void ex_refuse(exchange *ex, int status, const char *message) {
  char head[256];
  dynbuf body;
  uv_buf_t bufs[2];
  int n;
  if (ex->state == EX_CLOSING)
    return;
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  if (ex->end_outcome == NULL)
    ex->end_outcome = refusal_outcome(status);
  if (ex->resp_started) {
    ex_close(ex);
    return;
  }
  dynbuf_init(&body, 4096);
  (void)jsonw_raw(&body, "{\"error\":");
  (void)jsonw_cstring(&body, message);
  (void)jsonw_raw(&body, ",\"status\":");
  (void)jsonw_u64(&body, (uint64_t)status);
  (void)jsonw_raw(&body, "}\n");
  n = snprintf(head, sizeof head,
               "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n",
               status, http_reason(status), body.len);
  bufs[0] = uv_buf_init(head, (unsigned)n);
  bufs[1] = uv_buf_init(body.ptr, (unsigned)body.len);
  ex->resp_status = status;
  ex->resp_started = 1;
  metrics_count_status(&ex->w->metrics, status);
  METRICS_ADD(&ex->w->metrics, requests_total, 1);
  if (client_write(ex, bufs, 2) == 0) {
    ex_log_access(ex, ex->end_outcome);
    ex_close_after_writes(ex);
  }
  dynbuf_free(&body);
}

/* ---- request parsing ---------------------------------------------------- */

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

void ex_fail_unsent(exchange *ex, int status, const char *message) {
  ex_refuse(ex, status >= 400 && status <= 599 ? status : 502, message);
}

static exchange *ex_of(llhttp_t *p) {
  return p->data;
}

static void on_head_timeout(uv_timer_t *t) {
  exchange *ex = t->data;
  if (ex->state == EX_HEAD)
    ex_refuse(ex, 408, "request head not received in time");
  else if (ex->state == EX_IDLE)
    ex_close(ex);
}

static void new_stream_id(exchange *ex) {
  static _Thread_local uint64_t counter;
  snprintf(ex->stream_id, sizeof ex->stream_id, "st_%x_%06llx", (unsigned)ex->w->id,
           (unsigned long long)++counter);
}

static int on_message_begin(llhttp_t *p) {
  exchange *ex = ex_of(p);
  const config_t *c;
  worker_gen_pin(ex->w, &ex->gen); /* a request uses the config in force when it begins */
  c = ex_cfg(ex);
  ex->state = EX_HEAD;
  ex->end_outcome = NULL;
  ex->need_upstream = 0;
  ex->upstream_ready = 0;
  ex->head_request = 0;
  ex->req_chunked = 0;
  ex->req_done = 0;
  ex->expect_continue = 0;
  ex->req_body_bytes = 0;
  ex->resp_status = 0;
  ex->resp_started = 0;
  ex->resp_chunked = 0;
  ex->resp_close = 0;
  ex->inspect = 0;
  ex->forwarded = 0;
  ex->upstream_paused = 0;
  ex->local = 0;
  ex->local_ready = 0;
  free(ex->user);
  ex->user = NULL;
  ex->pauses = 0;
  ex->paused_ms = 0;
  ex->retries = 0;
  ex->retrying = 0;
  ex->replay_ok = 0;
  dynbuf_reset(&ex->replay_head, 0);
  dynbuf_reset(&ex->replay_body, 0);
  ex->pause_pending = 0;
  ex->deferred_end = 0;
  ex->start_ms = uv_now(&ex->w->loop);
  proxyhead_begin(&ex->rd);
  dynbuf_reset(&ex->early_body, 0);
  dynbuf_reset(&ex->held, 0);
  new_stream_id(ex);
  uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)c->client_head_timeout_s * 1000, 0);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  return proxyhead_on_url(&ex_of(p)->rd, p, at, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  return proxyhead_on_header_field(&ex_of(p)->rd, p, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  return proxyhead_on_header_value(&ex_of(p)->rd, p, at, len);
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len) {
  return proxyhead_on_chunk_extension(&ex_of(p)->rd, p, at, len);
}

static int on_chunk_header(llhttp_t *p) {
  exchange *ex = ex_of(p);
  if (ex->local)
    return proxyhead_on_chunk_header(&ex->rd, p, ex->early_body.len, LINKPAGE_MAX_FORM_BYTES);
  return proxyhead_on_chunk_header(&ex->rd, p, ex->req_body_bytes, ex_cfg(ex)->max_body_bytes);
}

/* Who the request is for (DESIGN.md "Identity"). */
static void ex_resolve_identity(exchange *ex) {
  const config_t *c = ex_cfg(ex);
  const http_head *h = &ex->req;
  const http_header *id = http_head_find(h, c->identity.header);
  const http_header *sig = http_head_find(h, "x-registered-user-sig");
  identity_result r;
  if (id == NULL)
    return;
  if (identity_resolve(c, (const struct sockaddr *)&ex->peer, http_head_str(h, id->value), id->value.len,
                       sig != NULL ? http_head_str(h, sig->value) : NULL, sig != NULL ? sig->value.len : 0,
                       timefmt_now_ms() / 1000, &r) == 0 &&
      r.trusted) {
    ex->user = malloc(r.user_len + 1);
    if (ex->user != NULL)
      memcpy(ex->user, r.user, r.user_len + 1);
  } else {
    LOG_DEBUG("registered user not trusted", LOG_STR("stream_id", ex->stream_id),
              LOG_STR("reason", r.reason != NULL ? r.reason : "error"));
  }
}

static int on_headers_complete(llhttp_t *p) {
  exchange *ex = ex_of(p);
  const config_t *c = ex_cfg(ex);
  const http_header *expect;
  const config_route *route;
  proxyhead_rules rules;
  uv_timer_stop(&ex->timer);
  rules.max_body_bytes = c->max_body_bytes;
  rules.identity_header = c->identity.header;
  if (proxyhead_check_request(&ex->rd, p, &rules, &ex->rq) != 0)
    return -1;
  ex->client_keep_alive = ex->rq.keep_alive;
  ex->client_http_minor = ex->rq.http_minor;
  if (http_starts_with(http_head_str(&ex->req, ex->req.target), ex->req.target.len, "/_authrelay/")) {
    if (p->method != HTTP_GET && p->method != HTTP_HEAD && p->method != HTTP_POST) {
      ex->rd.error_status = 405;
      return -1;
    }
    ex->local = 1;
    ex->head_request = p->method == HTTP_HEAD;
    ex->state = EX_ACTIVE;
    return 0;
  }
  route = config_route_match(c, http_head_str(&ex->req, ex->req.target), ex->req.target.len);
  if (route == NULL) {
    ex->rd.error_status = 404;
    return -1;
  }
  ex_resolve_identity(ex);
  ex->route_index = (size_t)(route - c->routes);
  expect = http_head_find(&ex->req, "expect");
  if (expect != NULL) {
    if (!http_equals_nocase(http_head_str(&ex->req, expect->value), expect->value.len,
                            "100-continue")) {
      ex->rd.error_status = 417;
      return -1;
    }
    ex->expect_continue = p->http_minor >= 1;
  }
  ex->head_request = p->method == HTTP_HEAD;
  ex->req_chunked = ex->rq.chunked;
  ex->state = EX_CONNECTING;
  ex->need_upstream = 1;
  if (route->resume == CONFIG_RESUME_RETRY || route->mode == CONFIG_MODE_TOOL) {
    dynbuf_init(&ex->replay_body, c->max_replay_body + 1);
    ex->replay_ok = 1;
  }
  return 0;
}

/* Sends request body bytes upstream, or keeps them until it is ready. */
static int send_up(exchange *ex, const uv_buf_t *bufs, unsigned n) {
  unsigned i;
  if (ex->replay_ok) {
    for (i = 0; i < n && ex->replay_ok; i++) {
      if (dynbuf_add(&ex->replay_body, bufs[i].base, bufs[i].len) != 0) {
        ex->replay_ok = 0; /* too big to send again: a pause resumes by continuing */
        dynbuf_reset(&ex->replay_body, 0);
      }
    }
  }
  if (ex->upstream_ready) {
    if (ex->up == NULL)
      return 0; /* the response ended first (while paused): the rest is read and dropped */
    if (upstream_write(ex->up, bufs, n) != 0)
      return -1;
    if (upstream_write_queue(ex->up) > ex_cfg(ex)->write_high_watermark && !ex->paused_for_body) {
      ex->paused_for_body = 1;
      client_update_reading(ex);
    }
    return 0;
  }
  for (i = 0; i < n; i++) {
    if (dynbuf_add(&ex->early_body, bufs[i].base, bufs[i].len) != 0)
      return -1;
  }
  if (ex->early_body.len > ex_cfg(ex)->write_high_watermark && !ex->paused_for_body) {
    ex->paused_for_body = 1;
    client_update_reading(ex);
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  exchange *ex = ex_of(p);
  uv_buf_t bufs[3];
  char size_line[24];
  if (ex->local) {
    if (ex->early_body.len + len > LINKPAGE_MAX_FORM_BYTES ||
        dynbuf_add(&ex->early_body, at, len) != 0) {
      ex->rd.error_status = 413;
      return -1;
    }
    return 0;
  }
  ex->req_body_bytes += len;
  if (ex->req_body_bytes > ex_cfg(ex)->max_body_bytes) {
    ex->rd.error_status = 413;
    return -1;
  }
  if (ex->req_chunked) {
    bufs[0] = uv_buf_init(size_line, (unsigned)http_chunk_line(len, size_line));
    bufs[1] = uv_buf_init((char *)at, (unsigned)len);
    bufs[2] = uv_buf_init("\r\n", 2);
    return send_up(ex, bufs, 3) == 0 ? 0 : -1;
  }
  bufs[0] = uv_buf_init((char *)at, (unsigned)len);
  return send_up(ex, bufs, 1) == 0 ? 0 : -1;
}

static int on_message_complete(llhttp_t *p) {
  exchange *ex = ex_of(p);
  ex->req_done = 1;
  if (ex->local) {
    ex->local_ready = 1;
    return HPE_PAUSED;
  }
  if (ex->req_chunked) {
    uv_buf_t last = uv_buf_init("0\r\n\r\n", 5);
    if (send_up(ex, &last, 1) != 0)
      return -1;
  }
  return HPE_PAUSED; /* the next pipelined request waits for this response */
}

static const llhttp_settings_t request_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_value = on_chunk_extension,
};

/* Gives client bytes to llhttp, then acts on what it found. */
static void client_parse_once(exchange *ex, const char *data, size_t len) {
  llhttp_errno_t err;
  proxyhead_feed_begin(&ex->rd, data, len);
  err = llhttp_execute(&ex->parser, data, len);
  proxyhead_feed_end(&ex->rd, data, len);
  if (ex->state == EX_CLOSING)
    return;
  if (err == HPE_PAUSED) {
    const char *stop = llhttp_get_error_pos(&ex->parser);
    size_t rest = (size_t)(data + len - stop);
    if (rest > 0 && dynbuf_add(&ex->unparsed, stop, rest) != 0) {
      ex_close(ex);
      return;
    }
  } else if (err != HPE_OK) {
    int status = ex->rd.error_status != 0 ? ex->rd.error_status : 400;
    const char *reason = ex->rd.error_reason != NULL ? ex->rd.error_reason : llhttp_get_error_reason(&ex->parser);
    if (status == 400)
      LOG_WARN("bad request", LOG_STR("client", ex->peer_ip),
               LOG_STR("error", reason != NULL ? reason : llhttp_errno_name(err)));
    ex_refuse(ex, status, status == 400 && reason != NULL ? reason : http_reason(status));
    return;
  }
  if (ex->need_upstream) {
    ex->need_upstream = 0;
    ex_start_upstream(ex);
  } else if (ex->local_ready) {
    ex->local_ready = 0;
    ex_answer_local(ex);
  }
}

/* client_parse_once(), then the pipelined requests that a request answered
 * meanwhile (the link page answers at once) let through: a loop, not a
 * recursion, so that many pipelined requests cost no stack. */
static void client_parse(exchange *ex, const char *data, size_t len) {
  ex->in_parse = 1;
  client_parse_once(ex, data, len);
  while (ex->state != EX_CLOSING && ex->reparse) {
    dynbuf pipelined = ex->unparsed;
    ex->reparse = 0;
    dynbuf_init(&ex->unparsed, UNPARSED_MAX + 1);
    if (pipelined.len > 0)
      client_parse_once(ex, pipelined.ptr, pipelined.len);
    dynbuf_free(&pipelined);
  }
  ex->in_parse = 0;
  /* Read again once the pipelined bytes kept are few enough that another
   * read cannot overflow them (a request answered later, e.g. by the
   * control loop, leaves the rest waiting). */
  if (ex->state != EX_CLOSING && ex->paused_for_unparsed && ex->unparsed.len < NETIO_READ_BUFFER_BYTES) {
    ex->paused_for_unparsed = 0;
    client_update_reading(ex);
  }
}

static void client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  exchange *ex = s->data;
  if (ex->state == EX_CLOSING || nread == 0)
    return;
  if (nread < 0) {
    if (ex->end_outcome == NULL)
      ex->end_outcome = "client_closed";
    ex_close(ex); /* client gone: the upstream connection goes too */
    return;
  }
  ex->bytes_in += (uint64_t)nread;
  METRICS_ADD(&ex->w->metrics, bytes_from_clients, nread);
  if (llhttp_get_errno(&ex->parser) == HPE_PAUSED) {
    /* Busy with a response: keep pipelined bytes, within bounds. */
    if (ex->unparsed.len + (size_t)nread > UNPARSED_MAX ||
        dynbuf_add(&ex->unparsed, buf->base, (size_t)nread) != 0) {
      ex->end_outcome = "refused"; /* too many pipelined bytes */
      ex_close(ex);
      return;
    }
    if (ex->unparsed.len >= NETIO_READ_BUFFER_BYTES) {
      ex->paused_for_unparsed = 1;
      client_update_reading(ex);
    }
    return;
  }
  client_parse(ex, buf->base, (size_t)nread);
}

/* ---- toward the upstream ------------------------------------------------ */

static void up_on_connect(void *ctx, int status);
static void up_on_head(void *ctx, const upstream_response *r);
static void up_on_body(void *ctx, const char *p, size_t n);
static void up_on_end(void *ctx, int status);
static void up_on_writable(void *ctx);
static void up_on_read_end(void *ctx);

const upstream_callbacks ex_upstream_callbacks = {
    up_on_connect, up_on_head, up_on_body, up_on_end, up_on_writable, up_on_read_end,
};

static int route_inspects(const config_route *route) {
  return route->format != CONFIG_FORMAT_RAW;
}

/* Builds the request head sent upstream (proxyhead.h says what goes). */
static int build_request_head(exchange *ex, dynbuf *out) {
  const config_t *c = ex_cfg(ex);
  const config_route *route = &c->routes[ex->route_index];
  proxyhead_forward fw;
  fw.peer_ip = ex->peer_ip;
  fw.upstream_host = route->upstream_host;
  fw.upstream_port = route->upstream_port;
  fw.inspect = route_inspects(route);
  fw.identity_header = c->identity.header;
  fw.user = ex->user;
  return proxyhead_build_request(&ex->req, &ex->rq, &fw, out) == 0 ? 0 : -1;
}

static void ex_upstream_ready(exchange *ex) {
  dynbuf head;
  uv_buf_t bufs[2];
  dynbuf_init(&head, ex_cfg(ex)->max_head_bytes * 2 + 4096);
  if (build_request_head(ex, &head) != 0) {
    dynbuf_free(&head);
    ex_refuse(ex, 431, "request head too large to forward");
    return;
  }
  if (ex->replay_ok) {
    dynbuf_free(&ex->replay_head);
    dynbuf_init(&ex->replay_head, head.len + 64);
    if (dynbuf_add(&ex->replay_head, head.ptr, head.len) != 0)
      ex->replay_ok = 0;
  }
  bufs[0] = uv_buf_init(head.ptr, (unsigned)head.len);
  bufs[1] = uv_buf_init(ex->early_body.ptr, (unsigned)ex->early_body.len);
  if (upstream_write(ex->up, bufs, ex->early_body.len > 0 ? 2 : 1) != 0 ||
      upstream_start_response(ex->up, ex->head_request) != 0) {
    dynbuf_free(&head);
    ex_refuse(ex, 502, "upstream connection failed");
    return;
  }
  dynbuf_free(&head);
  dynbuf_reset(&ex->early_body, 0);
  ex->upstream_ready = 1;
  ex->state = EX_ACTIVE;
  if (ex->expect_continue && !ex->req_done) {
    uv_buf_t cont = uv_buf_init("HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (client_write(ex, &cont, 1) != 0)
      return;
  }
  if (ex->paused_for_body) {
    ex->paused_for_body = 0;
    client_update_reading(ex);
  }
}

static void ex_start_upstream(exchange *ex) {
  upstream_pool *pool = ex_pool(ex);
  int reused = 0;
  int rc = upstream_acquire(pool, &ex_upstream_callbacks, ex, &ex->up, &reused);
  if (rc != 0) {
    ex->up = NULL;
    ex_refuse(ex, 502, "upstream unavailable");
    return;
  }
  if (reused)
    ex_upstream_ready(ex);
}

static void up_on_connect(void *ctx, int status) {
  exchange *ex = ctx;
  if (status != 0) {
    ex->up = NULL;
    LOG_WARN("upstream connect failed", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("upstream", ex_cfg(ex)->routes[ex->route_index].upstream),
             LOG_STR("error", uv_strerror(status)));
    if (ex->retrying) {
      pause_retry_failed(ex, 502, "retry: upstream connection failed");
      return;
    }
    ex_refuse(ex, status == UV_ETIMEDOUT ? 504 : 502,
              status == UV_ETIMEDOUT ? "upstream connect timed out" : "upstream refused the connection");
    return;
  }
  if (ex->retrying)
    pause_retry_send(ex);
  else
    ex_upstream_ready(ex);
}

static void up_on_writable(void *ctx) {
  exchange *ex = ctx;
  if (ex->paused_for_body) {
    ex->paused_for_body = 0;
    client_update_reading(ex);
  }
}

/* ---- the response ------------------------------------------------------- */

static int fr_on_event(void *ctx, const framer_event *ev) {
  exchange *ex = ctx;
  metrics_t *m = &ex->w->metrics;
  METRICS_ADD(m, events_by_format[ex->framer.format], 1);
  if (ev->status == DETECT_MATCH) {
    const char *why;
    METRICS_ADD(m, detections_by_shape[ev->match->shape], 1);
    why = pause_refusal(ex, ev->match);
    if (why == NULL && ex->pause == NULL) {
      ex->pause = calloc(1, sizeof *ex->pause);
      if (ex->pause == NULL)
        why = "out of memory";
      else
        ex->pause->ex = ex;
    }
    if (why == NULL) {
      pause_note(ex, ev);
      return 1; /* stop here: the relay acts once framer_feed() returns */
    }
    METRICS_ADD(m, detections_unhandled, 1);
    LOG_WARN("auth-required result passed through", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("shape", detect_shape_name(ev->match->shape)),
             LOG_STRN("connector", ev->match->connector.ptr != NULL ? ev->match->connector.ptr : "",
                      ev->match->connector.len),
             LOG_STR("reason", why));
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

const framer_callbacks ex_framer_callbacks = {fr_on_event, NULL, fr_on_oversized};

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
  framer_options fo;
  framer_format fmt;
  proxyhead_client client;
  dynbuf head;
  int rc;
  int chosen;
  if (ex->retrying && !ex->retry_fresh) {
    (void)pause_retry_on_head(ex, r);
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
  fo.max_event_bytes = c->max_event_bytes;
  fo.inspect = 1;
  framer_init(&ex->framer, fmt, &fo, &ex_framer_callbacks, ex);
  ex->inspect = fmt != FRAMER_RAW;
  ex->resp_status = r->status;
  ex->resp_close = !ex->client_keep_alive || ex->w->draining;
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
      client_flush_head(ex) != 0)
    return;
  if (ex->out.len > 0 && client_flush(ex) == 0)
    client_check_backpressure(ex);
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
uint64_t ex_forward_target(const exchange *ex, uint64_t received) {
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

uint64_t ex_before_pause(const exchange *ex) {
  return ex_holds_whole(ex) ? ex->forwarded : ex->pause_start;
}

int ex_holds_whole(const exchange *ex) {
  return ex->forwarded == 0 && ex->parser.method == HTTP_POST &&
         ex_cfg(ex)->routes[ex->route_index].mode == CONFIG_MODE_TOOL;
}

void ex_flush_held_until(exchange *ex, uint64_t target) {
  ex_send_until(ex, target, NULL, 0, ex->forwarded + ex->held.len);
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
  if (ex->paused) {
    /* The rest of a read that was parsed after the pause began. */
    if (ex->held.len + n > ex_cfg(ex)->max_held_bytes || dynbuf_add(&ex->held, p, n) != 0)
      pause_overflow(ex);
    return;
  }
  off0 = ex->forwarded + ex->held.len;
  (void)framer_feed(&ex->framer, p, n);
  if (ex->pause_pending) {
    ex_send_until(ex, ex_before_pause(ex), p, n, off0); /* the rest of p stays held */
    pause_begin(ex);
    return;
  }
  ex_send_until(ex, ex_forward_target(ex, off0 + n), p, n, off0);
}

inject_form ex_inject_form(const exchange *ex) {
  return ex->framer.format == FRAMER_NDJSON ? INJECT_NDJSON : INJECT_SSE;
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
        pause_begin(ex);
        return;
      }
      ex_send_until(ex, framer_safe_offset(&ex->framer), NULL, 0, ex->forwarded + ex->held.len);
      if (ex->state == EX_CLOSING)
        return;
    }
    if (client_flush_head(ex) != 0)
      return;
    if (ex->resp_chunked) {
      uv_buf_t last = uv_buf_init("0\r\n\r\n", 5);
      if (client_write(ex, &last, 1) != 0)
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
    dynbuf ev;
    ex->held.len = 0; /* an unterminated event: no client would dispatch it */
    dynbuf_init(&ev, INJECT_MAX_BYTES);
    ex_write_event(ex, &ev, inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, 502,
                                               status == UV_ETIMEDOUT ? "upstream timed out"
                                                                      : "upstream closed the stream"));
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
  if (ex->paused) {
    ex->deferred_end = 1; /* held bytes go out first, when the pause ends */
    ex->deferred_status = status;
    return;
  }
  ex_response_ended(ex, status);
}

/* The response is complete and the request was read: next request, or close. */
static void ex_finish_request(exchange *ex) {
  dynbuf pipelined;
  metrics_count_status(&ex->w->metrics, ex->resp_status);
  METRICS_ADD(&ex->w->metrics, requests_total, 1);
  ex_log_access(ex, ex->end_outcome != NULL ? ex->end_outcome : "ok");
  ex->end_outcome = NULL; /* logged: the connection may serve another request */
  ex_stream_uncount(ex);
  framer_close(&ex->framer);
  dynbuf_free(&ex->held);
  if (ex->resp_close || ex->w->draining) {
    ex_close_after_writes(ex);
    return;
  }
  ex->state = EX_IDLE;
  ex->bytes_in = 0;
  ex->bytes_out = 0;
  uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)ex_cfg(ex)->client_idle_timeout_s * 1000, 0);
  llhttp_resume(&ex->parser);
  if (ex->in_parse) {
    ex->reparse = 1; /* client_parse() goes on with ex->unparsed */
    return;
  }
  pipelined = ex->unparsed;
  dynbuf_init(&ex->unparsed, UNPARSED_MAX + 1);
  client_parse(ex, pipelined.ptr != NULL ? pipelined.ptr : "", pipelined.len);
  dynbuf_free(&pipelined);
}

/* ---- the link page -------------------------------------------------------- */

/* Sends a complete HTML answer (or a redirect to location, when not NULL)
 * to a local request, then goes on like any finished exchange (keep-alive,
 * pipelining). */
static void ex_local_respond(exchange *ex, int status, const dynbuf *html, const char *location,
                             const char *form_origin, const char *set_cookie) {
  char head[4096];
  uv_buf_t bufs[2];
  int n;
  ex->resp_status = status;
  ex->resp_close = !ex->client_keep_alive || ex->w->draining;
  n = snprintf(head, sizeof head,
               "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
               "Cache-Control: no-store\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
               "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'%s%s\r\n"
               "%s%s%s%s%s%s%s\r\n",
               status, http_reason(status), html->len, form_origin != NULL ? " " : "",
               form_origin != NULL ? form_origin : "", location != NULL ? "Location: " : "",
               location != NULL ? location : "", location != NULL ? "\r\n" : "",
               set_cookie != NULL ? "Set-Cookie: " : "", set_cookie != NULL ? set_cookie : "",
               set_cookie != NULL ? "\r\n" : "",
               ex->resp_close ? "Connection: close\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof head) {
    ex_refuse(ex, 500, "answer too large");
    return;
  }
  bufs[0] = uv_buf_init(head, (unsigned)n);
  bufs[1] = uv_buf_init(html->ptr, (unsigned)(ex->head_request ? 0 : html->len));
  ex->resp_started = 1;
  if (client_write(ex, bufs, 2) != 0)
    return;
  ex_finish_request(ex);
}

void ex_base_url(const exchange *ex, char *out, size_t cap) {
  /* The Host authrelay parsed (an absolute-form target's authority too). */
  (void)linkbase_of(ex_cfg(ex), ex->rq.has_host ? http_head_str(&ex->req, ex->rq.host) : NULL,
                    ex->rq.has_host ? ex->rq.host.len : 0, out, cap);
}

/* /_authrelay/...: the Link page, served by the control loop (it owns the
 * store): the request is handed over, and answered by exchange_page_done(). */
static void ex_answer_local(exchange *ex) {
  char base[512];
  dynbuf html;
  pausehub_page *pg;
  ex_base_url(ex, base, sizeof base);
  pg = pausehub_page_new(&ex->w->mailbox, ex, (int)ex->parser.method, http_head_str(&ex->req, ex->req.target),
                         ex->req.target.len, base);
  if (pg != NULL && ex->early_body.len > 0 && dynbuf_add(&pg->body, ex->early_body.ptr, ex->early_body.len) != 0) {
    pausehub_page_free(pg);
    pg = NULL;
  }
  if (pg != NULL) {
    const http_header *cookie = http_head_find(&ex->req, "cookie");
    if (cookie != NULL && dynbuf_add(&pg->cookie, http_head_str(&ex->req, cookie->value), cookie->value.len) != 0)
      dynbuf_reset(&pg->cookie, 0); /* too long: as if absent */
  }
  dynbuf_reset(&ex->early_body, 0);
  if (pg == NULL || pausehub_page_submit(pg) != 0) {
    pausehub_page_free(pg);
    dynbuf_init(&html, 64);
    ex_local_respond(ex, 503, &html, NULL, NULL, NULL);
    return;
  }
  ex->page = pg;
}

void exchange_page_done(pausehub_page *pg) {
  exchange *ex = pg->owner;
  ex->page = NULL;
  if (pg->status == 0)
    pg->status = 500;
  ex_local_respond(ex, pg->status, &pg->html, pg->location, pg->form_origin, pg->set_cookie);
  pausehub_page_free(pg);
}

/* ---- accepting ---------------------------------------------------------- */

int exchange_accept(worker_t *w) {
  const config_t *c = w->cfg;
  struct sockaddr_storage peer;
  int peer_len = sizeof peer;
  exchange *ex = calloc(1, sizeof *ex);
  int rc;
  if (ex == NULL)
    return UV_ENOMEM;
  ex->w = w;
  ex->gen = worker_gen_hold(w);
  uv_tcp_init(&w->loop, &ex->tcp);
  ex->tcp.data = ex;
  ex->handles_open = 1;
  rc = uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)&ex->tcp);
  if (rc != 0 || w->nconns >= c->max_connections || w->draining) {
    if (rc == 0)
      METRICS_ADD(&w->metrics, connections_refused, 1);
    uv_close((uv_handle_t *)&ex->tcp, on_handle_closed);
    return rc;
  }
  uv_timer_init(&w->loop, &ex->timer);
  ex->timer.data = ex;
  ex->handles_open = 2;
  (void)uv_tcp_nodelay(&ex->tcp, 1);
  if (uv_tcp_getpeername(&ex->tcp, (struct sockaddr *)&peer, &peer_len) == 0) {
    ex->peer = peer;
    if (peer.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&peer, ex->peer_ip, sizeof ex->peer_ip);
    else
      uv_ip4_name((struct sockaddr_in *)&peer, ex->peer_ip, sizeof ex->peer_ip);
  }
  llhttp_init(&ex->parser, HTTP_REQUEST, &request_settings);
  ex->parser.data = ex;
  http_head_init(&ex->req, c->max_head_bytes, c->max_headers);
  proxyhead_reader_init(&ex->rd, &ex->req);
  dynbuf_init(&ex->unparsed, UNPARSED_MAX + 1);
  dynbuf_init(&ex->early_body, c->write_high_watermark + NETIO_READ_BUFFER_BYTES + 64);
  dynbuf_init(&ex->held, 1);
  framer_init(&ex->framer, FRAMER_RAW, NULL, NULL, NULL);
  ex->state = EX_IDLE;
  ex->start_ms = uv_now(&w->loop);
  ex->next = w->exchanges;
  if (w->exchanges != NULL)
    w->exchanges->prev = ex;
  w->exchanges = ex;
  w->nconns++;
  METRICS_ADD(&w->metrics, connections_total, 1);
  METRICS_ADD(&w->metrics, connections_active, 1);
  /* A new connection must send its first head within the head timeout. */
  uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)c->client_head_timeout_s * 1000, 0);
  ex->state = EX_HEAD;
  rc = uv_read_start((uv_stream_t *)&ex->tcp, netio_alloc, client_on_read);
  if (rc != 0)
    ex_close(ex);
  return 0;
}

void exchange_drain_all(worker_t *w) {
  exchange *ex = w->exchanges;
  while (ex != NULL) {
    exchange *next = ex->next;
    if (ex->state == EX_IDLE || (ex->state == EX_HEAD && ex->req.bytes == 0)) {
      ex_close(ex);
    } else {
      ex->resp_close = 1;
      if (ex->paused)
        pause_shutdown(ex);
    }
    ex = next;
  }
}

void exchange_close_all(worker_t *w) {
  while (w->exchanges != NULL) {
    w->exchanges->end_outcome = "shutdown"; /* cut at the end of the drain */
    ex_close(w->exchanges);
  }
}
