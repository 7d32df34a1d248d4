/* request: the request side of an exchange (exchange_int.h).
 *
 * Client bytes go to llhttp in strict mode, with the proxy rules of
 * proxyhead.h (keep-alive, pipelining answered in order, head and body
 * limits, 100-continue). The upstream is contacted only after the whole
 * read that completed the head parsed cleanly, so a malformed request in
 * one packet never reaches it. llhttp is paused at the end of each request;
 * bytes of a pipelined request wait in unparsed until the response is done
 * (ex_finish_request). The body streams up as it arrives (re-chunked when
 * chunked), kept too when the route may send it again (retry.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "credinject.h"
#include "exchange_int.h"
#include "linkpage.h"
#include "log.h"
#include "retry.h"
#include "timefmt.h"

/* ---- request parsing ---------------------------------------------------- */

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

/* "st_<worker>_<n>": the worker's index and its count of requests since
 * start, both decimal (n zero-padded to 6 digits, longer past 999999).
 * Unique among the exchanges of one run; a restart counts from 1 again (no
 * stream outlives its process). */
static void new_stream_id(exchange *ex) {
  static _Thread_local uint64_t counter;
  snprintf(ex->stream_id, sizeof ex->stream_id, "st_%u_%06llu", (unsigned)ex->w->id,
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
  ex_cred_reset(ex);
  pause_request_begin(ex->pause);
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
  if (uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)c->client_head_timeout_s * 1000, 0) != 0)
    return -1; /* the timer is closing: cannot happen before the connection closes */
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
  (void)uv_timer_stop(&ex->timer); /* always 0 */
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

/* Sends request body bytes upstream, or keeps them until it is ready.
 * Returns 0, or the write's or the buffer's error. */
static int send_up(exchange *ex, const uv_buf_t *bufs, unsigned n) {
  unsigned i;
  int rc;
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
    rc = upstream_write(ex->up, bufs, n);
    if (rc != 0)
      return rc;
    if (upstream_write_queue(ex->up) > ex_cfg(ex)->write_high_watermark && !ex->paused_for_body) {
      ex->paused_for_body = 1;
      ex_client_update_reading(ex);
    }
    return 0;
  }
  for (i = 0; i < n; i++) {
    rc = dynbuf_add(&ex->early_body, bufs[i].base, bufs[i].len);
    if (rc != 0)
      return rc;
  }
  if (ex->early_body.len > ex_cfg(ex)->write_high_watermark && !ex->paused_for_body) {
    ex->paused_for_body = 1;
    ex_client_update_reading(ex);
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
    ex_cred_start(ex);
  } else if (ex->cred_wait_body) {
    ex_cred_start(ex); /* more of the body arrived (credinject.h) */
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
    ex_client_update_reading(ex);
  }
}

void ex_client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
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
      ex_client_update_reading(ex);
    }
    return;
  }
  client_parse(ex, buf->base, (size_t)nread);
}

int ex_request_init(exchange *ex) {
  const config_t *c = ex_cfg(ex);
  int rc;
  llhttp_init(&ex->parser, HTTP_REQUEST, &request_settings);
  ex->parser.data = ex;
  http_head_init(&ex->req, c->max_head_bytes, c->max_headers);
  proxyhead_reader_init(&ex->rd, &ex->req);
  dynbuf_init(&ex->unparsed, UNPARSED_MAX + 1);
  dynbuf_init(&ex->early_body, c->write_high_watermark + NETIO_READ_BUFFER_BYTES + 64);
  dynbuf_init(&ex->held, 1);
  framer_init(&ex->framer, FRAMER_RAW, NULL, NULL, NULL);
  /* A new connection must send its first head within the head timeout. */
  ex->state = EX_HEAD;
  rc = uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)c->client_head_timeout_s * 1000, 0);
  if (rc != 0)
    return rc;
  return uv_read_start((uv_stream_t *)&ex->tcp, netio_alloc, ex_client_on_read);
}

/* ---- toward the upstream ------------------------------------------------ */

static int route_inspects(const config_route *route) {
  return route->format != CONFIG_FORMAT_RAW;
}

int ex_build_request_head(exchange *ex, dynbuf *out) {
  const config_t *c = ex_cfg(ex);
  const config_route *route = &c->routes[ex->route_index];
  proxyhead_forward fw;
  int rc;
  fw.peer_ip = ex->peer_ip;
  fw.upstream_host = route->upstream_host;
  fw.upstream_port = route->upstream_port;
  fw.inspect = route_inspects(route);
  fw.identity_header = c->identity.header;
  fw.user = ex->user;
  rc = proxyhead_build_request(&ex->req, &ex->rq, &fw, out);
  if (rc == 0 && route->credentials.header != NULL)
    (void)credinject_strip(out, route->credentials.header); /* the route owns that header */
  return rc;
}

static void ex_upstream_ready(exchange *ex) {
  dynbuf head;
  uv_buf_t bufs[4];
  unsigned nbufs = 0;
  int rc;
  dynbuf_init(&head, ex_cfg(ex)->max_head_bytes * 2 + 4096);
  if (ex_build_request_head(ex, &head) != 0) {
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
  if (ex->cred_line != NULL) {
    /* the user's credential (credinject.h), never kept in replay_head */
    bufs[nbufs++] = uv_buf_init(head.ptr, (unsigned)head.len - 2);
    bufs[nbufs++] = uv_buf_init(ex->cred_line, (unsigned)ex->cred_line_len);
    bufs[nbufs++] = uv_buf_init("\r\n", 2);
  } else {
    bufs[nbufs++] = uv_buf_init(head.ptr, (unsigned)head.len);
  }
  if (ex->early_body.len > 0)
    bufs[nbufs++] = uv_buf_init(ex->early_body.ptr, (unsigned)ex->early_body.len);
  /* an injected credential: its copy is zeroed once written */
  rc = ex->cred_line != NULL ? upstream_write_wiped(ex->up, bufs, nbufs) : upstream_write(ex->up, bufs, nbufs);
  if (rc != 0 || upstream_start_response(ex->up, ex->head_request) != 0) {
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
    if (ex_client_write(ex, &cont, 1) != 0)
      return;
  }
  if (ex->paused_for_body) {
    ex->paused_for_body = 0;
    ex_client_update_reading(ex);
  }
}

void ex_start_upstream(exchange *ex) {
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

void ex_up_on_connect(void *ctx, int status) {
  exchange *ex = ctx;
  if (status != 0) {
    ex->up = NULL;
    LOG_WARN("upstream connect failed", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("upstream", ex_cfg(ex)->routes[ex->route_index].upstream),
             LOG_STR("error", uv_strerror(status)));
    if (ex->retrying) {
      retry_failed(ex, status == UV_ETIMEDOUT ? 504 : 502,
                   status == UV_ETIMEDOUT ? "retry: upstream connect timed out" : "retry: upstream connection failed");
      return;
    }
    ex_refuse(ex, status == UV_ETIMEDOUT ? 504 : 502,
              status == UV_ETIMEDOUT ? "upstream connect timed out" : "upstream refused the connection");
    return;
  }
  if (ex->retrying)
    retry_send(ex);
  else
    ex_upstream_ready(ex);
}

void ex_up_on_writable(void *ctx) {
  exchange *ex = ctx;
  if (ex->paused_for_body) {
    ex->paused_for_body = 0;
    ex_client_update_reading(ex);
  }
}

/* The response is complete and the request was read: next request, or close. */
void ex_finish_request(exchange *ex) {
  dynbuf pipelined;
  metrics_count_status(&ex->w->metrics, ex->resp_status);
  METRICS_ADD(&ex->w->metrics, requests_total, 1);
  ex_log_access(ex, ex->end_outcome != NULL ? ex->end_outcome : "ok");
  ex->end_outcome = NULL; /* logged: the connection may serve another request */
  ex_cred_reset(ex); /* the injected credential is wiped once the request is done */
  ex_stream_uncount(ex);
  framer_close(&ex->framer);
  dynbuf_free(&ex->held);
  if (ex->resp_close || worker_draining(ex->w)) {
    ex_close_after_writes(ex);
    return;
  }
  ex->state = EX_IDLE;
  ex->bytes_in = 0;
  ex->bytes_out = 0;
  if (uv_timer_start(&ex->timer, on_head_timeout, (uint64_t)ex_cfg(ex)->client_idle_timeout_s * 1000, 0) != 0) {
    ex_close(ex);
    return;
  }
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
