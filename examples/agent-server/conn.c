/* conn: connections of the example agent server: accept, read and parse,
 * write under back-pressure, finish responses, shut down and close. See
 * conn.h. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big.h"
#include "resp.h"
#include "stats.h"
#include "stream.h"

const char *const conn_framing_names[3] = {"length", "chunked", "close"};

#define INBUF_MAX (64 * 1024) /* unparsed input held while a response runs */
#define DRAIN_MS 2000         /* after our FIN, wait this long for the peer's */

conn *conn_list;

static void conn_on_drain(conn *c);
static void pump_input(conn *c);

size_t conn_queued(conn *c) { return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp); }

/* ---- back-pressure ---------------------------------------------------- */

void conn_block(conn *c) {
  if (!c->blocked) {
    c->blocked = 1;
    c->blocked_since = uv_hrtime();
  }
}

void conn_unblock(conn *c) {
  if (c->blocked) {
    c->blocked = 0;
    stats.blocked_ns += uv_hrtime() - c->blocked_since;
  }
}

/* ---- writing ----------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  c->pending_writes--;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  conn_on_drain(c);
}

wreq *conn_wreq_new(conn *c, size_t cap) {
  wreq *w = malloc(sizeof *w + cap);
  if (w == NULL) {
    fputs("agent-server: out of memory\n", stderr);
    abort();
  }
  w->c = c;
  w->len = 0;
  return w;
}

void conn_wreq_send(conn *c, wreq *w) {
  if (c->closing || c->shutting) {
    free(w);
    return;
  }
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->pending_writes++;
  if (!c->stats_req) {
    stats.bytes_sent += w->len;
    size_t q = conn_queued(c);
    if (q > stats.write_queue_max)
      stats.write_queue_max = q;
  }
}

void conn_write(conn *c, const void *data, size_t len) {
  if (len == 0)
    return;
  wreq *w = conn_wreq_new(c, len);
  memcpy(w->data, data, len);
  w->len = len;
  conn_wreq_send(c, w);
}

void conn_body_write(conn *c, const char *data, size_t len, int last) {
  if (c->framing != FR_CHUNKED) {
    conn_write(c, data, len);
    return;
  }
  wreq *w = conn_wreq_new(c, len + 32);
  if (len)
    w->len = (size_t)sprintf(w->data, "%zx\r\n", len);
  if (len) {
    memcpy(w->data + w->len, data, len);
    w->len += len;
    memcpy(w->data + w->len, "\r\n", 2);
    w->len += 2;
  }
  if (last) {
    memcpy(w->data + w->len, "0\r\n\r\n", 5);
    w->len += 5;
  }
  if (w->len == 0) {
    free(w);
    return;
  }
  conn_wreq_send(c, w);
}

/* ---- connection lifecycle ---------------------------------------------- */

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->closes_pending > 0)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    conn_list = c->next;
  if (c->next)
    c->next->prev = c->prev;
  buf_free(&c->inbuf);
  buf_free(&c->url);
  buf_free(&c->hbuf);
  buf_free(&c->scratch);
  free(c);
}

void conn_close(conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->resp_active && c->kind == R_STREAM)
    stats.streams_aborted++;
  c->resp_active = 0;
  conn_unblock(c);
  c->closes_pending = 2;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_drain_timeout(uv_timer_t *t) { conn_close(t->data); }

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* Our FIN is out; read (and discard) until the peer's, so that closing never
   * resets a connection whose peer is still reading our last bytes. */
  uv_timer_start(&c->timer, on_drain_timeout, DRAIN_MS, 0);
  conn_update_reading(c);
}

static void conn_shutdown(conn *c) {
  if (c->closing || c->shutting)
    return;
  c->shutting = 1;
  c->shut.data = c;
  if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
    conn_close(c);
}

void conn_resp_done(conn *c) {
  c->resp_active = 0;
  c->kind = R_NONE;
  c->stats_req = 0; /* its bytes are all queued */
  conn_unblock(c);
  uv_timer_stop(&c->timer);
  if (c->close_after) {
    conn_shutdown(c); /* uv_shutdown waits for the queued writes */
    return;
  }
  if (c->parser_paused && !c->in_execute) {
    c->parser_paused = 0;
    llhttp_resume(&c->parser);
    pump_input(c);
  }
}

static void conn_on_drain(conn *c) {
  if (c->blocked && conn_queued(c) <= WQ_LOW) {
    conn_unblock(c);
    if (c->kind == R_STREAM && c->rate > 0) { /* no catch-up burst after a stall */
      c->anchor_t = uv_hrtime();
      c->anchor_piece = c->next_piece;
    }
  }
  if (c->resp_active && !c->blocked) {
    if (c->kind == R_STREAM)
      stream_produce(c);
    else if (c->kind == R_BIG)
      big_produce(c);
  }
  if (!c->closing)
    conn_update_reading(c);
}

/* ---- reading ------------------------------------------------------------- */

static void bad_input(conn *c, int code) {
  if (!c->stats_req) {
    stats_count_connection(c);
    stats.bad_requests++;
    if (!c->req_counted)
      stats.requests++;
  }
  if (c->resp_active) { /* a broken body under a running response: just drop */
    conn_close(c);
    return;
  }
  resp_error_close(c, code);
}

static void pump_input(conn *c) {
  while (!c->closing && !c->shutting && !c->parser_paused && c->inbuf.len > 0) {
    c->in_execute = 1;
    llhttp_errno_t err = llhttp_execute(&c->parser, c->inbuf.p, c->inbuf.len);
    c->in_execute = 0;
    if (c->closing)
      return;
    if (err == HPE_OK) {
      c->inbuf.len = 0;
    } else if (err == HPE_PAUSED) {
      size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - c->inbuf.p);
      buf_consume(&c->inbuf, used);
      c->parser_paused = 1;
      /* the response may have finished inside the callback after all */
      if (!c->resp_active && !c->close_after && !c->shutting) {
        c->parser_paused = 0;
        llhttp_resume(&c->parser);
      }
    } else {
      c->inbuf.len = 0;
      bad_input(c, c->err_status ? c->err_status : 400);
      return;
    }
  }
  conn_update_reading(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn *c = h->data;
  (void)suggested;
  buf_reserve(&c->inbuf, 64 * 1024);
  size_t room = c->inbuf.cap - c->inbuf.len - 1;
  if (c->resp_active && c->kind == R_ECHO && room > BATCH)
    room = BATCH; /* bounds what one read adds to the write queue */
  *b = uv_buf_init(c->inbuf.p + c->inbuf.len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn *c = s->data;
  (void)b;
  if (c->closing)
    return;
  if (nread < 0) { /* EOF or error: the peer is gone (half-close counts as gone) */
    conn_close(c);
    return;
  }
  if (nread == 0)
    return;
  if (c->shutting) /* discarding until the peer's FIN */
    return;
  c->inbuf.len += (size_t)nread;
  c->inbuf.p[c->inbuf.len] = '\0';
  pump_input(c);
}

void conn_update_reading(conn *c) {
  if (c->closing)
    return;
  int want;
  if (c->shutting)
    want = 1; /* discard input until the peer's FIN */
  else if (c->resp_active && c->kind == R_ECHO && conn_queued(c) > WQ_HIGH - BATCH)
    want = 0; /* a read echoes at most BATCH bytes (see on_alloc) */
  else
    want = c->inbuf.len < INBUF_MAX;
  if (c->resp_active && c->kind == R_ECHO) {
    if (!want)
      conn_block(c);
    else if (c->blocked && conn_queued(c) <= WQ_LOW)
      conn_unblock(c);
  }
  if (c->shutting) { /* inbuf is not used any more */
    c->inbuf.len = 0;
  }
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
      c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* ---- accept, close all -------------------------------------------------- */

void conn_accept(uv_loop_t *loop, uv_stream_t *srv, const llhttp_settings_t *settings) {
  conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    abort();
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    c->closes_pending = 2;
    c->closing = 1;
    c->next = conn_list;
    if (conn_list)
      conn_list->prev = c;
    conn_list = c;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, settings);
  c->parser.data = c;
  c->next = conn_list;
  if (conn_list)
    conn_list->prev = c;
  conn_list = c;
  conn_update_reading(c);
}

void conn_close_all(void) {
  for (conn *c = conn_list; c; c = c->next)
    conn_close(c);
}
