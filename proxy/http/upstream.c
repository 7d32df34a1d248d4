/* upstream: connect, pool and parse responses. See upstream.h. */
#include "upstream.h"

#include <stdlib.h>
#include <string.h>

#include "netio.h"

enum upstream_state {
  UPSTREAM_RESOLVING = 0, /* uv_getaddrinfo in flight */
  UPSTREAM_CONNECTING,    /* uv_tcp_connect in flight */
  UPSTREAM_BUSY,          /* lent to an exchange */
  UPSTREAM_IDLE,          /* in the pool */
  UPSTREAM_CLOSING        /* handles closing; freed when pending reaches 0 */
};

struct upstream_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;             /* connect, response or idle timeout */
  uv_getaddrinfo_t resolve;
  uv_connect_t connect;
  upstream_pool *pool;
  const upstream_callbacks *cb; /* the exchange's callbacks; NULL once released */
  void *ctx;                    /* the exchange; not owned */
  llhttp_t parser;
  http_head head;               /* response head */
  proxyhead_reader rd;          /* collects it (obs-fold refused, trailers dropped) */
  upstream_response resp;
  struct addrinfo *addrs;       /* resolved addresses; owned */
  struct addrinfo *next_addr;   /* next address to try */
  upstream_conn *next_idle;
  int state;
  int pending;                  /* handles and requests yet to call back */
  int last_error;               /* last connect error, reported if all fail */
  uint8_t tcp_open;             /* tcp was initialised and not closed */
  uint8_t head_request;         /* the request was HEAD */
  uint8_t interim;              /* the response being parsed is 1xx */
  uint8_t interim_done;         /* ... and it ended: the next status line starts */
  proxyhead_status sline;       /* the status line being read */
  uint8_t message_done;         /* the final response ended */
  uint8_t keep_alive;           /* ... and the connection may be reused */
  uint64_t last_read_ms;        /* uv_now() of the last read: the response timer is lazy */
};

static void conn_close(upstream_conn *c);

/* ---- lifetime ----------------------------------------------------------- */

static void maybe_free(upstream_conn *c) {
  upstream_pool *p = c->pool;
  if (c->pending > 0)
    return;
  if (c->addrs != NULL)
    uv_freeaddrinfo(c->addrs);
  http_head_free(&c->head);
  free(c);
  p->nconns--;
  if (p->closing && p->nconns == 0 && p->on_empty != NULL)
    p->on_empty(p);
}

static void on_handle_closed(uv_handle_t *h) {
  upstream_conn *c = h->data;
  c->pending--;
  if ((uv_handle_t *)&c->tcp == h)
    c->tcp_open = 0;
  maybe_free(c);
}

static void idle_remove(upstream_conn *c) {
  upstream_pool *p = c->pool;
  upstream_conn **link = &p->idle;
  while (*link != NULL && *link != c)
    link = &(*link)->next_idle;
  if (*link == c) {
    *link = c->next_idle;
    c->next_idle = NULL;
    p->nidle--;
    METRICS_SUB(p->metrics, pool_idle, 1);
  }
}

static void conn_close(upstream_conn *c) {
  if (c->state == UPSTREAM_CLOSING)
    return;
  if (c->state == UPSTREAM_IDLE)
    idle_remove(c);
  if (c->state == UPSTREAM_RESOLVING)
    (void)uv_cancel((uv_req_t *)&c->resolve);
  c->state = UPSTREAM_CLOSING;
  c->cb = NULL;
  c->ctx = NULL;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* ---- connecting --------------------------------------------------------- */

static void connect_failed(upstream_conn *c, int status) {
  const upstream_callbacks *cb = c->cb;
  void *ctx = c->ctx;
  upstream_pool *p = c->pool;
  METRICS_ADD(p->metrics, upstream_errors[status == UV_ETIMEDOUT ? METRICS_UPSTREAM_TIMEOUT
                                                                 : METRICS_UPSTREAM_CONNECT],
              1);
  conn_close(c);
  if (cb != NULL)
    cb->on_connect(ctx, status);
}

static void on_connect_timeout(uv_timer_t *t) {
  upstream_conn *c = t->data;
  if (c->state == UPSTREAM_RESOLVING || c->state == UPSTREAM_CONNECTING)
    connect_failed(c, UV_ETIMEDOUT);
}

static void start_connect(upstream_conn *c);

/* The socket of a failed address has closed: try the next address. */
static void on_closed_try_next(uv_handle_t *h) {
  upstream_conn *c = h->data;
  c->pending--;
  c->tcp_open = 0;
  if (c->state == UPSTREAM_CLOSING) {
    maybe_free(c);
    return;
  }
  start_connect(c);
}

/* A connect attempt failed with status: next address, or give up. */
static void connect_attempt_failed(upstream_conn *c, int status) {
  c->last_error = status;
  if (c->next_addr != NULL) {
    uv_close((uv_handle_t *)&c->tcp, on_closed_try_next);
    return;
  }
  connect_failed(c, status);
}

static void on_connected(uv_connect_t *req, int status) {
  upstream_conn *c = req->data;
  c->pending--;
  if (c->state == UPSTREAM_CLOSING) {
    maybe_free(c);
    return;
  }
  if (status < 0) {
    connect_attempt_failed(c, status);
    return;
  }
  uv_timer_stop(&c->timer);
  (void)uv_tcp_nodelay(&c->tcp, 1);
  c->state = UPSTREAM_BUSY;
  METRICS_ADD(c->pool->metrics, pool_connects, 1);
  c->cb->on_connect(c->ctx, 0);
}

/* Connects to next_addr; tcp is closed or was never opened. */
static void start_connect(upstream_conn *c) {
  struct addrinfo *ai = c->next_addr;
  int rc;
  c->next_addr = ai->ai_next;
  rc = uv_tcp_init(c->pool->loop, &c->tcp);
  if (rc != 0) {
    connect_failed(c, rc);
    return;
  }
  c->tcp.data = c;
  c->tcp_open = 1;
  c->pending++;
  c->connect.data = c;
  rc = uv_tcp_connect(&c->connect, &c->tcp, ai->ai_addr, on_connected);
  if (rc != 0) {
    connect_attempt_failed(c, rc);
    return;
  }
  c->pending++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  upstream_conn *c = req->data;
  c->pending--;
  c->addrs = res;
  if (c->state == UPSTREAM_CLOSING) {
    maybe_free(c);
    return;
  }
  if (status < 0 || res == NULL) {
    connect_failed(c, status < 0 ? status : UV_EAI_NONAME);
    return;
  }
  c->state = UPSTREAM_CONNECTING;
  c->next_addr = res;
  start_connect(c);
}

/* ---- responses ---------------------------------------------------------- */

static upstream_conn *conn_of(llhttp_t *parser) {
  return parser->data;
}

static int on_status(llhttp_t *parser, const char *at, size_t len) {
  return http_head_add_target(&conn_of(parser)->head, at, len) == 0 ? 0 : -1;
}

static int on_header_field(llhttp_t *parser, const char *at, size_t len) {
  return proxyhead_on_header_field(&conn_of(parser)->rd, parser, at, len);
}

static int on_header_value(llhttp_t *parser, const char *at, size_t len) {
  return proxyhead_on_header_value(&conn_of(parser)->rd, parser, at, len);
}

static int on_headers_complete(llhttp_t *parser) {
  upstream_conn *c = conn_of(parser);
  int rc = proxyhead_check_response(&c->head, parser, &c->sline, c->head_request, &c->resp);
  if (rc < 0)
    return -1;
  if (rc == 1) {
    c->interim = 1;
    proxyhead_begin(&c->rd);
    return 1;
  }
  c->rd.in_trailers = 1; /* field lines after the body are dropped */
  if (c->cb != NULL)
    c->cb->on_head(c->ctx, &c->resp);
  if (c->cb == NULL)
    return -1;
  return c->resp.no_body ? 1 : 0;
}

static int on_body(llhttp_t *parser, const char *at, size_t len) {
  upstream_conn *c = conn_of(parser);
  if (c->cb != NULL)
    c->cb->on_body(c->ctx, at, len);
  return c->cb != NULL ? 0 : -1;
}

static int on_message_complete(llhttp_t *parser) {
  upstream_conn *c = conn_of(parser);
  if (c->interim) {
    c->interim = 0;
    c->interim_done = 1;
    return HPE_PAUSED; /* on_read watches the next status line from here */
  }
  c->message_done = 1;
  c->keep_alive = llhttp_should_keep_alive(parser) != 0;
  return HPE_PAUSED; /* stop: nothing may follow the response */
}

static const llhttp_settings_t response_settings = {
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void response_end(upstream_conn *c, int status) {
  const upstream_callbacks *cb = c->cb;
  uv_timer_stop(&c->timer);
  if (status != 0) {
    c->keep_alive = 0;
    if (status == UPSTREAM_E_MALFORMED)
      METRICS_ADD(c->pool->metrics, upstream_errors[METRICS_UPSTREAM_MALFORMED], 1);
    else if (status == UV_ETIMEDOUT)
      METRICS_ADD(c->pool->metrics, upstream_errors[METRICS_UPSTREAM_TIMEOUT], 1);
    else
      METRICS_ADD(c->pool->metrics, upstream_errors[METRICS_UPSTREAM_CLOSED], 1);
  }
  if (cb != NULL)
    cb->on_end(c->ctx, status);
}

/* The response timer is lazy: reads only note their time (last_read_ms),
 * and the timer, when it fires, re-arms itself for what is left of the
 * silence allowed; so a read costs no timer-heap work. */
static void on_response_timeout(uv_timer_t *t) {
  upstream_conn *c = t->data;
  uint64_t silent;
  if (c->state == UPSTREAM_IDLE) {
    conn_close(c);
    return;
  }
  if (c->state != UPSTREAM_BUSY || c->message_done)
    return;
  silent = uv_now(c->pool->loop) - c->last_read_ms;
  if (silent < c->pool->response_timeout_ms) {
    uv_timer_start(&c->timer, on_response_timeout, c->pool->response_timeout_ms - silent, 0);
    return;
  }
  response_end(c, UV_ETIMEDOUT);
}

/* Parses response bytes, watching each status line's raw bytes; after an
 * interim response llhttp pauses, and the next status line is watched from
 * where it starts. */
static llhttp_errno_t parse_response(upstream_conn *c, const char *p, size_t n) {
  const char *end = p + n;
  llhttp_errno_t err;
  for (;;) {
    proxyhead_status_feed(&c->sline, p, (size_t)(end - p));
    proxyhead_feed_begin(&c->rd, p, (size_t)(end - p));
    err = llhttp_execute(&c->parser, p, (size_t)(end - p));
    proxyhead_feed_end(&c->rd, p, (size_t)(end - p));
    if (err != HPE_PAUSED || !c->interim_done || c->cb == NULL)
      return err;
    c->interim_done = 0;
    p = llhttp_get_error_pos(&c->parser);
    llhttp_resume(&c->parser);
    proxyhead_status_begin(&c->sline);
    if (p >= end)
      return HPE_OK;
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  upstream_conn *c = s->data;
  llhttp_errno_t err;
  if (nread == 0)
    return;
  if (c->state == UPSTREAM_IDLE || c->state == UPSTREAM_CLOSING || c->message_done) {
    /* Bytes or EOF on a connection with no response due: it is done. */
    if (c->state == UPSTREAM_BUSY)
      c->keep_alive = 0;
    else
      conn_close(c);
    return;
  }
  if (nread < 0) {
    if (nread == UV_EOF) {
      err = llhttp_finish(&c->parser);
      if (c->message_done) {
        c->keep_alive = 0;
        response_end(c, 0);
        return;
      }
      response_end(c, err == HPE_OK ? UV_EOF : UPSTREAM_E_MALFORMED);
      return;
    }
    response_end(c, (int)nread);
    return;
  }
  METRICS_ADD(c->pool->metrics, bytes_from_upstreams, nread);
  c->last_read_ms = uv_now(c->pool->loop);
  err = parse_response(c, buf->base, (size_t)nread);
  if (c->cb == NULL)
    return; /* released from a callback */
  if (err == HPE_PAUSED && c->message_done) {
    if (llhttp_get_error_pos(&c->parser) != buf->base + nread)
      c->keep_alive = 0; /* bytes after the response: not reusable */
    response_end(c, 0);
    return;
  }
  if (err != HPE_OK) {
    response_end(c, UPSTREAM_E_MALFORMED);
    return;
  }
  if (c->cb->on_read_end != NULL)
    c->cb->on_read_end(c->ctx);
}

/* ---- public API --------------------------------------------------------- */

void upstream_pool_init(upstream_pool *p, uv_loop_t *loop, const char *host, const char *port,
                        metrics_t *metrics) {
  memset(p, 0, sizeof *p);
  p->loop = loop;
  p->host = host;
  p->port = port;
  p->metrics = metrics;
  p->max_idle = 64;
  p->idle_timeout_ms = 60000;
  p->connect_timeout_ms = 5000;
  p->response_timeout_ms = 300000;
  p->max_head_bytes = 65536;
  p->max_headers = 200;
  p->low_watermark = 16384;
}

void upstream_pool_close(upstream_pool *p) {
  p->closing = 1;
  while (p->idle != NULL)
    conn_close(p->idle);
}

int upstream_acquire(upstream_pool *p, const upstream_callbacks *cb, void *ctx,
                     upstream_conn **out, int *reused) {
  struct addrinfo hints;
  upstream_conn *c = p->idle;
  int rc;
  if (c != NULL) {
    idle_remove(c);
    uv_timer_stop(&c->timer);
    c->state = UPSTREAM_BUSY;
    c->cb = cb;
    c->ctx = ctx;
    METRICS_ADD(p->metrics, pool_reuses, 1);
    *out = c;
    *reused = 1;
    return 0;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL)
    return UV_ENOMEM;
  c->pool = p;
  c->cb = cb;
  c->ctx = ctx;
  c->state = UPSTREAM_RESOLVING;
  http_head_init(&c->head, p->max_head_bytes, p->max_headers);
  proxyhead_reader_init(&c->rd, &c->head);
  uv_timer_init(p->loop, &c->timer);
  c->timer.data = c;
  c->pending = 1; /* the timer */
  p->nconns++;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  c->resolve.data = c;
  rc = uv_getaddrinfo(p->loop, &c->resolve, on_resolved, p->host, p->port, &hints);
  if (rc != 0) {
    c->cb = NULL;
    conn_close(c);
    return rc;
  }
  c->pending++;
  uv_timer_start(&c->timer, on_connect_timeout, p->connect_timeout_ms, 0);
  *out = c;
  *reused = 0;
  return 0;
}

static void on_written(void *ctx, int status) {
  upstream_conn *c = ctx;
  if (status != 0 || c->cb == NULL || c->cb->on_writable == NULL)
    return;
  if (upstream_write_queue(c) <= c->pool->low_watermark)
    c->cb->on_writable(c->ctx);
}

int upstream_write(upstream_conn *c, const uv_buf_t *bufs, unsigned nbufs) {
  unsigned i;
  int rc = netio_write((uv_stream_t *)&c->tcp, bufs, nbufs, on_written, c);
  if (rc == 0) {
    for (i = 0; i < nbufs; i++)
      METRICS_ADD(c->pool->metrics, bytes_to_upstreams, bufs[i].len);
  }
  return rc;
}

int upstream_write_wiped(upstream_conn *c, const uv_buf_t *bufs, unsigned nbufs) {
  unsigned i;
  int rc = netio_write_wiped((uv_stream_t *)&c->tcp, bufs, nbufs, on_written, c);
  if (rc == 0) {
    for (i = 0; i < nbufs; i++)
      METRICS_ADD(c->pool->metrics, bytes_to_upstreams, bufs[i].len);
  }
  return rc;
}

size_t upstream_write_queue(const upstream_conn *c) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

int upstream_start_response(upstream_conn *c, int head_request) {
  int rc;
  llhttp_init(&c->parser, HTTP_RESPONSE, &response_settings);
  c->parser.data = c;
  proxyhead_begin(&c->rd);
  memset(&c->resp, 0, sizeof c->resp);
  c->head_request = (uint8_t)head_request;
  c->interim = 0;
  c->interim_done = 0;
  proxyhead_status_begin(&c->sline);
  c->message_done = 0;
  c->keep_alive = 0;
  rc = uv_read_start((uv_stream_t *)&c->tcp, netio_alloc, on_read);
  if (rc == UV_EALREADY)
    rc = 0; /* a pooled connection keeps reading while idle */
  c->last_read_ms = uv_now(c->pool->loop);
  if (rc == 0 && c->pool->response_timeout_ms > 0)
    uv_timer_start(&c->timer, on_response_timeout, c->pool->response_timeout_ms, 0);
  return rc;
}

/* While reads are stopped the upstream's silence is ours, not its own: the
 * response timer is stopped too (a pause may last pause_timeout_s, far
 * longer than upstream_idle_timeout_s), and starts again on resume. */
void upstream_pause(upstream_conn *c) {
  if (c->state != UPSTREAM_BUSY)
    return;
  (void)uv_read_stop((uv_stream_t *)&c->tcp);
  if (!c->message_done)
    uv_timer_stop(&c->timer);
}

void upstream_resume(upstream_conn *c) {
  if (c->state != UPSTREAM_BUSY)
    return;
  (void)uv_read_start((uv_stream_t *)&c->tcp, netio_alloc, on_read);
  c->last_read_ms = uv_now(c->pool->loop); /* silence counts from now */
  if (!c->message_done && c->pool->response_timeout_ms > 0)
    uv_timer_start(&c->timer, on_response_timeout, c->pool->response_timeout_ms, 0);
}

void upstream_release(upstream_conn *c, int reusable) {
  upstream_pool *p = c->pool;
  c->cb = NULL;
  c->ctx = NULL;
  if (c->state != UPSTREAM_BUSY) {
    conn_close(c);
    return;
  }
  if (!reusable || !c->message_done || !c->keep_alive || p->closing ||
      p->nidle >= p->max_idle || upstream_write_queue(c) > 0) {
    conn_close(c);
    return;
  }
  /* Idle: keep reading so that a close by the server is seen at once. */
  if (uv_read_start((uv_stream_t *)&c->tcp, netio_alloc, on_read) != 0 &&
      !uv_is_active((uv_handle_t *)&c->tcp)) {
    conn_close(c);
    return;
  }
  c->state = UPSTREAM_IDLE;
  c->next_idle = p->idle;
  p->idle = c;
  p->nidle++;
  METRICS_ADD(p->metrics, pool_idle, 1);
  uv_timer_start(&c->timer, on_response_timeout, p->idle_timeout_ms, 0);
}
