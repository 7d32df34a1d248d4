/* test_upstream: proxy/http/upstream.c, the upstream connections and their
 * pool, against a scripted server on 127.0.0.1 in the same libuv loop.
 *
 * Covers: a new connection (on_connect 0, not reused), a Content-Length
 * response (head, body, end 0), the connection kept and reused by the next
 * acquire (reused 1, the server sees one connection, two requests); a
 * chunked body handed over decoded; a 100 Continue skipped before the final
 * 204; a malformed status line ending in UPSTREAM_E_MALFORMED (counted);
 * a close-delimited body ending at EOF, its connection not pooled; a
 * refused connect reported to on_connect; pool_close freeing the idle
 * connections and calling on_empty later, never within the call. Every
 * wait is the loop's, bounded by a guard timer: nothing sleeps.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "dynbuf.h"
#include "metrics.h"
#include "upstream.h"
#include "unit.h"

/* ---- the scripted server ---- */

typedef struct server {
  uv_tcp_t tcp;
  char port[8];
  const char *reply; /* sent for each request head */
  int close_after;   /* close the connection after the reply */
  int accepted;
  int requests;
} server;

typedef struct sconn {
  uv_tcp_t tcp;
  server *srv;
  char buf[4096];
  size_t len;
} sconn;

static void on_sconn_closed(uv_handle_t *h) {
  free((sconn *)h); /* the handle is sconn's first member */
}

static void s_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  sconn *sc = (sconn *)h;
  (void)suggested;
  *buf = uv_buf_init(sc->buf + sc->len, (unsigned)(sizeof sc->buf - sc->len));
}

static void on_reply_written(uv_write_t *w, int status) {
  sconn *sc = w->data;
  (void)status;
  if (sc->srv->close_after && !uv_is_closing((uv_handle_t *)&sc->tcp))
    uv_close((uv_handle_t *)&sc->tcp, on_sconn_closed);
  free(w);
}

static void s_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  sconn *sc = (sconn *)s;
  char *end;
  (void)buf;
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)s))
      uv_close((uv_handle_t *)s, on_sconn_closed);
    return;
  }
  sc->len += (size_t)n;
  while ((end = memmem(sc->buf, sc->len, "\r\n\r\n", 4)) != NULL) {
    size_t used = (size_t)(end + 4 - sc->buf);
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t reply = uv_buf_init((char *)sc->srv->reply, (unsigned)strlen(sc->srv->reply));
    memmove(sc->buf, sc->buf + used, sc->len - used);
    sc->len -= used;
    sc->srv->requests++;
    if (w == NULL)
      return;
    w->data = sc;
    if (uv_write(w, s, &reply, 1, on_reply_written) != 0)
      free(w);
  }
}

static void on_accept(uv_stream_t *l, int status) {
  server *srv = l->data;
  sconn *sc;
  if (status != 0)
    return;
  sc = calloc(1, sizeof *sc);
  if (sc == NULL)
    return;
  sc->srv = srv;
  uv_tcp_init(l->loop, &sc->tcp);
  sc->tcp.data = NULL;
  if (uv_accept(l, (uv_stream_t *)&sc->tcp) != 0) {
    uv_close((uv_handle_t *)&sc->tcp, on_sconn_closed);
    return;
  }
  srv->accepted++;
  uv_read_start((uv_stream_t *)&sc->tcp, s_alloc, s_read);
}

static int server_start(server *srv, uv_loop_t *loop) {
  struct sockaddr_in a;
  int len = sizeof a;
  memset(srv, 0, sizeof *srv);
  uv_tcp_init(loop, &srv->tcp);
  srv->tcp.data = srv;
  uv_ip4_addr("127.0.0.1", 0, &a);
  if (uv_tcp_bind(&srv->tcp, (struct sockaddr *)&a, 0) != 0 || uv_listen((uv_stream_t *)&srv->tcp, 8, on_accept) != 0 ||
      uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&a, &len) != 0)
    return -1;
  snprintf(srv->port, sizeof srv->port, "%d", ntohs(a.sin_port));
  return 0;
}

/* ---- the client side ---- */

typedef struct client {
  int connected;       /* on_connect ran */
  int connect_status;
  int status;          /* the final head's status, 0 before */
  dynbuf body;
  int ended;           /* on_end ran */
  int end_status;
} client;

static void c_connect(void *ctx, int status) {
  client *cl = ctx;
  cl->connected = 1;
  cl->connect_status = status;
}

static void c_head(void *ctx, const upstream_response *r) {
  ((client *)ctx)->status = r->status;
}

static void c_body(void *ctx, const char *p, size_t n) {
  CHECK(dynbuf_add(&((client *)ctx)->body, p, n) == 0);
}

static void c_end(void *ctx, int status) {
  client *cl = ctx;
  cl->ended = 1;
  cl->end_status = status;
}

static const upstream_callbacks callbacks = {c_connect, c_head, c_body, c_end, NULL, NULL};

static int guard_fired;

static void on_guard(uv_timer_t *t) {
  (void)t;
  guard_fired = 1;
}

/* Turns the loop until *flag is set, bounded by a 10 s guard. */
static void run_until(uv_loop_t *loop, const int *flag) {
  uv_timer_t guard;
  guard_fired = 0;
  uv_timer_init(loop, &guard);
  uv_timer_start(&guard, on_guard, 10000, 0);
  while (!*flag && !guard_fired)
    uv_run(loop, UV_RUN_ONCE);
  CHECK(*flag);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct fixture {
  uv_loop_t loop;
  server srv;
  metrics_t metrics;
  upstream_pool pool;
  int emptied; /* on_empty ran */
} fixture;

static void on_empty(upstream_pool *p) {
  ((fixture *)p->data)->emptied = 1;
}

static int setup(fixture *f) {
  memset(f, 0, sizeof *f);
  uv_loop_init(&f->loop);
  if (server_start(&f->srv, &f->loop) != 0)
    return -1;
  upstream_pool_init(&f->pool, &f->loop, "127.0.0.1", f->srv.port, &f->metrics);
  f->pool.on_empty = on_empty;
  f->pool.data = f;
  return 0;
}

static void teardown(fixture *f) {
  upstream_pool_close(&f->pool);
  CHECK(f->emptied == 0); /* on_empty: from a later loop iteration, never within the call */
  if (f->pool.nconns > 0)
    run_until(&f->loop, &f->emptied);
  CHECK(f->pool.nconns == 0);
  uv_close((uv_handle_t *)&f->srv.tcp, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT); /* the server's side sees EOF and closes */
  CHECK(uv_loop_close(&f->loop) == 0);
}

/* One request on a connection acquired from the pool; returns the
 * connection (released by the caller). */
static upstream_conn *request(fixture *f, client *cl, int *reused) {
  upstream_conn *c = NULL;
  uv_buf_t req = uv_buf_init((char *)"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  memset(cl, 0, sizeof *cl);
  dynbuf_init(&cl->body, 1 << 16);
  CHECK(upstream_acquire(&f->pool, &callbacks, cl, &c, reused) == 0);
  if (c == NULL)
    return NULL;
  if (!*reused) {
    run_until(&f->loop, &cl->connected);
    CHECK(cl->connect_status == 0);
  }
  CHECK(upstream_write(c, &req, 1) == 0);
  CHECK(upstream_start_response(c, 0) == 0);
  run_until(&f->loop, &cl->ended);
  return c;
}

static void keep_alive_and_reuse(void) {
  fixture f;
  client cl;
  upstream_conn *c;
  int reused = -1;
  CHECK(setup(&f) == 0);
  f.srv.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  c = request(&f, &cl, &reused);
  CHECK(reused == 0);
  CHECK(cl.status == 200 && cl.end_status == 0);
  CHECK_MEM(cl.body.ptr, cl.body.len, "hello");
  upstream_release(c, 1);
  CHECK(f.pool.nidle == 1);
  dynbuf_free(&cl.body);
  c = request(&f, &cl, &reused);
  CHECK(reused == 1);
  CHECK(cl.status == 200 && cl.end_status == 0);
  CHECK_MEM(cl.body.ptr, cl.body.len, "hello");
  CHECK(f.srv.accepted == 1 && f.srv.requests == 2);
  CHECK(f.metrics.pool_reuses == 1);
  upstream_release(c, 1);
  dynbuf_free(&cl.body);
  teardown(&f);
}

static void chunked_and_interim(void) {
  fixture f;
  client cl;
  upstream_conn *c;
  int reused;
  CHECK(setup(&f) == 0);
  f.srv.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  c = request(&f, &cl, &reused);
  CHECK(cl.status == 200 && cl.end_status == 0);
  CHECK_MEM(cl.body.ptr, cl.body.len, "abcde"); /* decoded */
  upstream_release(c, 1);
  dynbuf_free(&cl.body);
  f.srv.reply = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  c = request(&f, &cl, &reused);
  CHECK(cl.status == 204 && cl.end_status == 0 && cl.body.len == 0);
  upstream_release(c, 1);
  dynbuf_free(&cl.body);
  teardown(&f);
}

static void malformed_and_close_delimited(void) {
  fixture f;
  client cl;
  upstream_conn *c;
  int reused;
  CHECK(setup(&f) == 0);
  f.srv.reply = "HTTP/1.1 2000 OK\r\n\r\n";
  c = request(&f, &cl, &reused);
  CHECK(cl.end_status == UPSTREAM_E_MALFORMED);
  CHECK(f.metrics.upstream_errors[METRICS_UPSTREAM_MALFORMED] == 1);
  upstream_release(c, 1);
  CHECK(f.pool.nidle == 0); /* not kept */
  dynbuf_free(&cl.body);
  f.srv.reply = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
  f.srv.close_after = 1;
  c = request(&f, &cl, &reused);
  CHECK(cl.status == 200 && cl.end_status == 0);
  CHECK_MEM(cl.body.ptr, cl.body.len, "until the end");
  upstream_release(c, 1);
  CHECK(f.pool.nidle == 0); /* closed, not pooled */
  dynbuf_free(&cl.body);
  teardown(&f);
}

static void refused_connect(void) {
  fixture f;
  client cl;
  upstream_conn *c = NULL;
  int reused;
  char port[8];
  CHECK(setup(&f) == 0);
  snprintf(port, sizeof port, "%s", f.srv.port);
  uv_close((uv_handle_t *)&f.srv.tcp, NULL); /* nobody listens there now */
  uv_run(&f.loop, UV_RUN_NOWAIT);
  uv_tcp_init(&f.loop, &f.srv.tcp); /* for teardown's close */
  f.pool.port = port;
  memset(&cl, 0, sizeof cl);
  CHECK(upstream_acquire(&f.pool, &callbacks, &cl, &c, &reused) == 0);
  CHECK(reused == 0);
  run_until(&f.loop, &cl.connected);
  CHECK(cl.connect_status == UV_ECONNREFUSED);
  CHECK(f.metrics.upstream_errors[METRICS_UPSTREAM_CONNECT] >= 1);
  teardown(&f);
}

int main(void) {
  RUN(keep_alive_and_reuse);
  RUN(chunked_and_interim);
  RUN(malformed_and_close_delimited);
  RUN(refused_connect);
  return unit_report();
}
