/* exchange: client connections, their requests, and the relay of responses.
 * See exchange.h for what it does; exchange_int.h for the files it is made
 * of. This file is the client connection: accepting, writing to the client,
 * closing, and the answers authrelay gives itself.
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
 *
 * Writes to the client are gathered in ex->out and go out as one uv_write:
 * at the end of the upstream read being relayed (response.c), or through
 * the worker's posted work once the loop iteration's I/O callbacks are done.
 * Back-pressure: past write_high_watermark queued for the client, upstream
 * reads stop until the queue drains under write_low_watermark.
 * The connection is on the worker's list (worker_conn); the worker calls
 * ex_conn_drain / ex_conn_close on it.
 */
#include "exchange.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "exchange_int.h"
#include "jsonw.h"
#include "linkbase.h"
#include "linkpage.h"
#include "log.h"

/* ---- client writing ------------------------------------------------------ */

void ex_client_update_reading(exchange *ex) {
  int rc;
  if (ex->state == EX_CLOSING)
    return;
  if (ex->paused_for_body || ex->paused_for_unparsed) {
    (void)uv_read_stop((uv_stream_t *)&ex->tcp); /* always 0 */
    return;
  }
  rc = uv_read_start((uv_stream_t *)&ex->tcp, netio_alloc, ex_client_on_read);
  if (rc != 0 && rc != UV_EALREADY) {
    if (ex->end_outcome == NULL)
      ex->end_outcome = "client_closed";
    ex_close(ex);
  }
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
  if (ex->upstream_paused && ex->up != NULL && !pause_waiting(ex->pause) &&
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
static int client_flush_now(exchange *ex) {
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

int ex_client_flush(exchange *ex) {
  int rc = client_flush_now(ex);
  if (rc == 0)
    client_check_backpressure(ex);
  return rc;
}

/* The worker runs the posted flush: the output this exchange gathered
 * during the loop iteration goes out as one write. */
static void on_flush_posted(posted_entry *p) {
  exchange *ex = (exchange *)((char *)p - offsetof(exchange, flush));
  if (ex->state != EX_CLOSING)
    (void)ex_client_flush(ex);
}

/* Writes to the client: the bytes are gathered and go out as one write at
 * the end of the upstream read being relayed (up_on_read_end), or when the
 * loop iteration's callbacks are done (the posted flush) for bytes written
 * outside a read. On failure the connection is closed. */
int ex_client_write(exchange *ex, const uv_buf_t *bufs, unsigned n) {
  size_t total = 0;
  unsigned i;
  int rc;
  for (i = 0; i < n; i++)
    total += bufs[i].len;
  if (total == 0)
    return 0;
  if (netio_batch_add(&ex->out, bufs, n) != 0) {
    ex_close(ex);
    return UV_ENOMEM;
  }
  rc = worker_post(ex->w, &ex->flush);
  if (rc != 0) {
    ex_close(ex);
    return rc;
  }
  ex->bytes_out += total;
  METRICS_ADD(&ex->w->metrics, bytes_to_clients, total);
  return 0;
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
  rc = ex_client_write(ex, bufs, n); /* copies: resp_head may go now */
  dynbuf_reset(&ex->resp_head, 0);
  return rc;
}

/* Writes the response head if it is still waiting. */
int ex_client_flush_head(exchange *ex) {
  uv_buf_t buf;
  int rc;
  if (ex->resp_head.len == 0)
    return 0;
  buf = uv_buf_init(ex->resp_head.ptr, (unsigned)ex->resp_head.len);
  rc = ex_client_write(ex, &buf, 1);
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
  worker_unpost(&ex->flush);
  pause_free(ex->pause);
  dialect_stream_close(&ex->dialect);
  dynbuf_free(&ex->resp_head);
  dynbuf_free(&ex->replay_head);
  dynbuf_free(&ex->replay_body);
  dynbuf_free(&ex->unparsed);
  dynbuf_free(&ex->early_body);
  dynbuf_free(&ex->held);
  free(ex);
}

void ex_log_access(exchange *ex, const char *outcome) {
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
           LOG_U64("paused_ms", pause_ms(ex->pause)), LOG_STR("upstream", ex->local ? "" : c->routes[ex->route_index].upstream),
           LOG_STR("outcome", outcome));
}

void ex_stream_uncount(exchange *ex) {
  ex_mcp_stream_end(ex);
  if (ex->stream_counted) {
    ex->stream_counted = 0;
    METRICS_SUB(&ex->w->metrics, streams_active, 1);
  }
}

/* Takes ex out of service: releases the upstream, leaves the worker's list
 * and closes the timer. The caller closes tcp, now or after a shutdown. */
static void ex_detach(exchange *ex) {
  if (ex->state != EX_IDLE && ex->resp_status != 0 && ex->stream_counted)
    ex_log_access(ex, ex->end_outcome != NULL ? ex->end_outcome : "error");
  ex->state = EX_CLOSING;
  if (ex->page != NULL) {
    pausehub_page_abandon(ex->page);
    ex->page = NULL;
  }
  ex_cred_reset(ex);
  pause_client_gone(ex->pause);
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  ex_stream_uncount(ex);
  framer_close(&ex->framer);
  uv_close((uv_handle_t *)&ex->timer, on_handle_closed);
  worker_conn_remove(ex->w, &ex->conn);
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

void ex_close_after_writes(exchange *ex) {
  if (ex->state == EX_CLOSING)
    return;
  (void)uv_read_stop((uv_stream_t *)&ex->tcp); /* always 0 */
  if (client_flush_now(ex) != 0)
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
void ex_refuse(exchange *ex, int status, const char *message) {
  proxyhead_answer a;
  dynbuf head;
  dynbuf body;
  uv_buf_t bufs[2];
  int rc;
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
  dynbuf_init(&head, 256);
  rc = jsonw_raw(&body, "{\"detail\":");
  if (rc == 0)
    rc = jsonw_cstring(&body, message);
  if (rc == 0)
    rc = jsonw_raw(&body, ",\"status\":");
  if (rc == 0)
    rc = jsonw_u64(&body, (uint64_t)status);
  if (rc == 0)
    rc = jsonw_raw(&body, "}\n");
  memset(&a, 0, sizeof a);
  a.status = status;
  a.content_type = "application/json";
  a.content_length = body.len;
  a.close = 1;
  if (rc == 0)
    rc = proxyhead_build_answer(&a, &head);
  ex->resp_status = status;
  ex->resp_started = 1;
  metrics_count_status(&ex->w->metrics, status);
  METRICS_ADD(&ex->w->metrics, requests_total, 1);
  if (rc != 0) {
    ex_close(ex); /* an answer over its caps: a caller's bug */
  } else {
    bufs[0] = uv_buf_init(head.ptr, (unsigned)head.len);
    bufs[1] = uv_buf_init(body.ptr, (unsigned)body.len);
    if (ex_client_write(ex, bufs, 2) == 0) {
      ex_log_access(ex, ex->end_outcome);
      ex_close_after_writes(ex);
    }
  }
  dynbuf_free(&head);
  dynbuf_free(&body);
}

/* ---- the link page -------------------------------------------------------- */

#define LOCAL_HEAD_MAX 4096 /* a link page answer's head stays under this */

/* Sends a complete HTML answer (or a redirect to location, when not NULL)
 * to a local request, then goes on like any finished exchange (keep-alive,
 * pipelining). */
static void ex_local_respond(exchange *ex, int status, const dynbuf *html, const char *location,
                             const char *form_origin, const char *set_cookie) {
  static const char csp_base[] = LINKPAGE_CSP "; form-action 'self'";
  char csp[LOCAL_HEAD_MAX];
  proxyhead_field fields[6];
  proxyhead_answer a;
  dynbuf head;
  uv_buf_t bufs[2];
  int n;
  int rc;
  ex->resp_status = status;
  ex->resp_close = !ex->client_keep_alive || worker_draining(ex->w);
  n = snprintf(csp, sizeof csp, "%s%s%s", csp_base, form_origin != NULL ? " " : "",
               form_origin != NULL ? form_origin : "");
  fields[0] = (proxyhead_field){"Cache-Control", "no-store"};
  fields[1] = (proxyhead_field){"X-Frame-Options", "DENY"};
  fields[2] = (proxyhead_field){"Referrer-Policy", "no-referrer"};
  fields[3] = (proxyhead_field){"Content-Security-Policy", csp};
  fields[4] = (proxyhead_field){"Location", location};
  fields[5] = (proxyhead_field){"Set-Cookie", set_cookie};
  a.status = status;
  a.content_type = "text/html; charset=utf-8";
  a.content_length = html->len;
  a.fields = fields;
  a.nfields = sizeof fields / sizeof fields[0];
  a.close = ex->resp_close;
  dynbuf_init(&head, LOCAL_HEAD_MAX);
  rc = n < 0 || (size_t)n >= sizeof csp ? -E2BIG : proxyhead_build_answer(&a, &head);
  if (rc != 0) {
    dynbuf_free(&head);
    ex_refuse(ex, 500, "answer too large");
    return;
  }
  bufs[0] = uv_buf_init(head.ptr, (unsigned)head.len);
  bufs[1] = uv_buf_init(html->ptr, (unsigned)(ex->head_request ? 0 : html->len));
  ex->resp_started = 1;
  rc = ex_client_write(ex, bufs, 2);
  dynbuf_free(&head);
  if (rc != 0)
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
void ex_answer_local(exchange *ex) {
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
  if (pg->credential) {
    ex_cred_answered(pg); /* credinject.h */
    return;
  }
  ex->page = NULL;
  if (pg->status == 0)
    pg->status = 500;
  ex_local_respond(ex, pg->status, &pg->html, pg->location, pg->form_origin, pg->set_cookie);
  pausehub_page_free(pg);
}

/* ---- the worker's list ----------------------------------------------------- */

static exchange *ex_of_conn(worker_conn *c) {
  return (exchange *)((char *)c - offsetof(exchange, conn));
}

/* Drain: an idle keep-alive connection closes now; a busy one once its
 * response is done (a paused stream ends now: pause_shutdown). */
static void ex_conn_drain(worker_conn *c) {
  exchange *ex = ex_of_conn(c);
  if (ex->state == EX_IDLE || (ex->state == EX_HEAD && ex->req.bytes == 0)) {
    ex_close(ex);
    return;
  }
  ex->resp_close = 1;
  pause_shutdown(ex->pause);
}

/* End of drain time: closes now. */
static void ex_conn_close(worker_conn *c) {
  exchange *ex = ex_of_conn(c);
  ex->end_outcome = "shutdown"; /* cut at the end of the drain */
  ex_close(ex);
}

/* ---- accepting ---------------------------------------------------------- */

int exchange_accept(worker_t *w) {
  struct sockaddr_storage peer;
  int peer_len = sizeof peer;
  exchange *ex = calloc(1, sizeof *ex);
  int rc;
  if (ex == NULL)
    return UV_ENOMEM;
  ex->w = w;
  ex->conn.drain = ex_conn_drain;
  ex->conn.close = ex_conn_close;
  ex->flush.handler = on_flush_posted;
  rc = uv_tcp_init(&w->loop, &ex->tcp);
  if (rc != 0) {
    free(ex);
    return rc;
  }
  ex->gen = worker_gen_hold(w);
  ex->tcp.data = ex;
  ex->handles_open = 1;
  rc = uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)&ex->tcp);
  if (rc == 0)
    rc = worker_conn_add(w, &ex->conn);
  if (rc == 0)
    rc = uv_timer_init(&w->loop, &ex->timer);
  if (rc != 0) {
    worker_conn_remove(w, &ex->conn); /* a no-op when it was not listed */
    uv_close((uv_handle_t *)&ex->tcp, on_handle_closed);
    return rc == UV_EBUSY ? 0 : rc; /* refused (counted): not an accept error */
  }
  ex->timer.data = ex;
  ex->handles_open = 2;
  (void)uv_tcp_nodelay(&ex->tcp, 1); /* a latency hint: the relay works without it */
  if (uv_tcp_getpeername(&ex->tcp, (struct sockaddr *)&peer, &peer_len) == 0) {
    ex->peer = peer;
    if (peer.ss_family == AF_INET6)
      rc = uv_ip6_name((struct sockaddr_in6 *)&peer, ex->peer_ip, sizeof ex->peer_ip);
    else
      rc = uv_ip4_name((struct sockaddr_in *)&peer, ex->peer_ip, sizeof ex->peer_ip);
    if (rc != 0)
      ex->peer_ip[0] = '\0';
  }
  ex->start_ms = uv_now(&w->loop);
  rc = ex_request_init(ex);
  if (rc != 0)
    ex_close(ex);
  return 0;
}
