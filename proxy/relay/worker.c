/* worker: a relay loop on its own thread. See worker.h.
 *
 * Its connection list is circular with the head in worker_t, so an entry
 * leaves in O(1), also while the list is walked. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exchange.h"
#include "mcpsession.h"
#include "log.h"
#include "netio.h"

static void on_connection(uv_stream_t *listener, int status) {
  worker_t *w = listener->data;
  int rc;
  if (status < 0) {
    LOG_WARN("accept failed", LOG_STR("error", uv_strerror(status)));
    return;
  }
  rc = exchange_accept(w);
  if (rc != 0 && rc != UV_EAGAIN)
    LOG_WARN("accept failed", LOG_STR("error", uv_strerror(rc)));
}

/* ---- generations: a config snapshot and its upstream pools ---- */

static void gen_free(worker_gen *g) {
  free(g->pools);
  cfgsnap_release(g->snap);
  free(g);
}

/* Frees a retired generation once no request pins it and its pools'
 * connections have all been freed. */
static void gen_maybe_free(worker_gen *g) {
  worker_t *w = g->w;
  worker_gen **link = &w->retired;
  size_t i;
  if (g->refs > 0 || g == w->gen)
    return;
  for (i = 0; i < g->npools; i++) {
    if (g->pools[i].nconns > 0)
      return;
  }
  while (*link != NULL && *link != g)
    link = &(*link)->next;
  if (*link == g)
    *link = g->next;
  gen_free(g);
}

static void on_pool_empty(upstream_pool *p) {
  gen_maybe_free(p->data);
}

/* A generation for snap (a reference is taken), current-referenced once. */
static worker_gen *gen_new(worker_t *w, cfgsnap *snap) {
  const config_t *cfg = &snap->cfg;
  worker_gen *g = calloc(1, sizeof *g);
  size_t i;
  if (g == NULL)
    return NULL;
  g->pools = calloc(cfg->nroutes > 0 ? cfg->nroutes : 1, sizeof *g->pools);
  if (g->pools == NULL) {
    free(g);
    return NULL;
  }
  g->w = w;
  g->snap = cfgsnap_hold(snap);
  g->npools = cfg->nroutes;
  g->refs = 1;
  for (i = 0; i < g->npools; i++) {
    const config_route *r = &cfg->routes[i];
    upstream_pool *p = &g->pools[i];
    upstream_pool_init(p, &w->loop, r->upstream_host, r->upstream_port, &w->metrics);
    p->max_idle = cfg->pool_max_idle;
    p->idle_timeout_ms = (uint64_t)cfg->pool_idle_timeout_s * 1000;
    p->connect_timeout_ms = (uint64_t)cfg->upstream_connect_timeout_s * 1000;
    p->response_timeout_ms = (uint64_t)cfg->upstream_idle_timeout_s * 1000;
    p->max_head_bytes = cfg->max_head_bytes * 4;
    p->max_headers = cfg->max_headers * 2;
    p->low_watermark = cfg->write_low_watermark;
    p->on_empty = on_pool_empty;
    p->data = g;
  }
  return g;
}

/* The current generation steps down: its idle upstream connections close,
 * busy ones when their request ends; it is freed after the last one. */
static void gen_retire(worker_t *w) {
  worker_gen *g = w->gen;
  size_t i;
  if (g == NULL)
    return;
  w->gen = NULL;
  w->cfg = NULL;
  g->next = w->retired;
  w->retired = g;
  for (i = 0; i < g->npools; i++)
    upstream_pool_close(&g->pools[i]);
  worker_gen_release(g);
}

worker_gen *worker_gen_hold(worker_t *w) {
  w->gen->refs++;
  return w->gen;
}

void worker_gen_pin(worker_t *w, worker_gen **g) {
  if (*g == w->gen || w->gen == NULL)
    return;
  worker_gen_release(*g);
  *g = worker_gen_hold(w);
}

void worker_gen_release(worker_gen *g) {
  if (g == NULL)
    return;
  g->refs--;
  if (g->refs == 0)
    gen_maybe_free(g);
}

/* On the loop: new requests use snap from now on. */
static void apply_snapshot(worker_t *w, cfgsnap *snap) {
  worker_gen *g = gen_new(w, snap);
  if (g == NULL) {
    LOG_ERROR("config reload failed", LOG_U64("worker", (uint64_t)w->id), LOG_STR("error", "out of memory"));
    __atomic_store_n(&w->failed_generation, snap->generation, __ATOMIC_RELEASE);
    return;
  }
  gen_retire(w);
  w->gen = g;
  w->cfg = &snap->cfg;
  __atomic_store_n(&w->applied_generation, snap->generation, __ATOMIC_RELEASE);
}

void worker_reload(worker_t *w, cfgsnap *snap) {
  cfgsnap *old = __atomic_exchange_n(&w->next_snap, cfgsnap_hold(snap), __ATOMIC_ACQ_REL);
  cfgsnap_release(old);
  (void)uv_async_send(&w->wakeup); /* 0: libuv aborts rather than fail */
}

/* ---- the loop ---- */

int worker_init(worker_t *w, int id, cfgsnap *snap) {
  const config_t *cfg = &snap->cfg;
  struct sockaddr_storage addr;
  uv_os_fd_t fd;
  int on = 1;
  int rc;
  memset(w, 0, sizeof *w);
  w->id = id;
  w->conns.prev = w->conns.next = &w->conns;
  rc = uv_loop_init(&w->loop);
  if (rc != 0)
    return rc;
  rc = netio_parse_addr(cfg->listen_host, cfg->listen_port, &addr);
  if (rc == 0)
    rc = uv_tcp_init_ex(&w->loop, &w->listener, addr.ss_family);
  if (rc != 0) {
    (void)uv_loop_close(&w->loop); /* nothing was opened on it */
    return rc;
  }
  w->listener.data = w;
  w->listening = 1;
  /* libuv 1.44 has no flag for SO_REUSEPORT: set it on the socket that
   * uv_tcp_init_ex made, before binding. */
  rc = uv_fileno((uv_handle_t *)&w->listener, &fd);
  if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc == 0)
    rc = uv_tcp_bind(&w->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&w->listener, 1024, on_connection);
  if (rc != 0) {
    uv_close((uv_handle_t *)&w->listener, NULL);
    (void)uv_run(&w->loop, UV_RUN_DEFAULT);  /* runs the close */
    (void)uv_loop_close(&w->loop);           /* nothing else was opened */
    return rc;
  }
  w->gen = gen_new(w, snap);
  if (w->gen == NULL) {
    w->listening = 0;
    uv_close((uv_handle_t *)&w->listener, NULL);
    (void)uv_run(&w->loop, UV_RUN_DEFAULT);  /* runs the close */
    (void)uv_loop_close(&w->loop);           /* nothing else was opened */
    return UV_ENOMEM;
  }
  w->cfg = &snap->cfg;
  w->applied_generation = snap->generation;
  return 0;
}

/* Every connection closes now (the end of the drain time). */
static void close_all_conns(worker_t *w) {
  while (w->conns.next != &w->conns) {
    worker_conn *c = w->conns.next;
    c->close(c);
    if (w->conns.next == c)
      worker_conn_remove(w, c); /* a close that did not leave the list: never loop on it */
  }
}

/* Every open connection is told the worker drains. */
static void drain_all_conns(worker_t *w) {
  worker_conn *c = w->conns.next;
  while (c != &w->conns) {
    worker_conn *next = c->next;
    c->drain(c); /* may close c (it leaves the list), never another one */
    c = next;
  }
}

/* Every handle of the loop closes; uv_run then returns. */
static void worker_finish(worker_t *w) {
  close_all_conns(w);
  gen_retire(w); /* the generations go as their connections close */
  if (!uv_is_closing((uv_handle_t *)&w->drain_timer))
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
  if (!uv_is_closing((uv_handle_t *)&w->wakeup))
    uv_close((uv_handle_t *)&w->wakeup, NULL);
  if (!uv_is_closing((uv_handle_t *)&w->mailbox.async)) {
    if (mcpsession_shared() != NULL)
      mcpsession_worker_gone(mcpsession_shared(), &w->mailbox); /* its URL elicitations stop waiting */
    pausehub_mailbox_close(&w->mailbox, NULL);
  }
  if (!uv_is_closing((uv_handle_t *)&w->posted.check))
    posted_close(&w->posted);
  if (w->listening) {
    w->listening = 0;
    uv_close((uv_handle_t *)&w->listener, NULL);
  }
}

static void on_drain_timeout(uv_timer_t *t) {
  worker_t *w = t->data;
  LOG_WARN("drain time over, closing open connections", LOG_U64("worker", (uint64_t)w->id),
           LOG_U64("connections", w->nconns));
  worker_finish(w);
}

static void on_wakeup(uv_async_t *a) {
  worker_t *w = a->data;
  cfgsnap *snap = __atomic_exchange_n(&w->next_snap, NULL, __ATOMIC_ACQ_REL);
  if (snap != NULL) {
    if (!w->draining)
      apply_snapshot(w, snap);
    cfgsnap_release(snap);
    (void)uv_async_send(w->reloaded); /* 0: libuv aborts rather than fail */
  }
  if (__atomic_load_n(&w->drain_requested, __ATOMIC_ACQUIRE) && !w->draining) {
    w->draining = 1;
    if (w->listening) {
      w->listening = 0;
      uv_close((uv_handle_t *)&w->listener, NULL);
    }
    drain_all_conns(w);
    if (w->nconns == 0) {
      worker_finish(w);
      return;
    }
    if (uv_timer_start(&w->drain_timer, on_drain_timeout, (uint64_t)w->cfg->drain_timeout_s * 1000, 0) != 0)
      worker_finish(w); /* the drain cannot be timed: end it now */
  }
}

int worker_conn_add(worker_t *w, worker_conn *c) {
  if (w->nconns >= w->cfg->max_connections || w->draining) {
    METRICS_ADD(&w->metrics, connections_refused, 1);
    return UV_EBUSY;
  }
  c->next = w->conns.next;
  c->prev = &w->conns;
  w->conns.next->prev = c;
  w->conns.next = c;
  w->nconns++;
  METRICS_ADD(&w->metrics, connections_total, 1);
  METRICS_ADD(&w->metrics, connections_active, 1);
  return 0;
}

void worker_conn_remove(worker_t *w, worker_conn *c) {
  if (c->next == NULL)
    return; /* not listed */
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->prev = c->next = NULL;
  w->nconns--;
  METRICS_SUB(&w->metrics, connections_active, 1);
  if (w->draining && w->nconns == 0)
    worker_finish(w);
}

int worker_draining(const worker_t *w) {
  return w->draining;
}

int worker_post(worker_t *w, posted_entry *e) {
  return posted_add(&w->posted, e);
}

void worker_unpost(posted_entry *e) {
  posted_remove(e);
}

static void worker_main(void *arg) {
  worker_t *w = arg;
  sigset_t stop_signals;
  /* The main loop handles SIGTERM, SIGINT and SIGHUP: they are delivered to
   * its thread only, also while it closes their handles at exit. */
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  (void)pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  (void)uv_run(&w->loop, UV_RUN_DEFAULT); /* returns once every handle closed */
  netio_pool_trim();
  __atomic_store_n(&w->loop_ended, 1, __ATOMIC_RELEASE);
  (void)uv_async_send(w->exited); /* 0: libuv aborts rather than fail */
}

int worker_start(worker_t *w, uv_async_t *exited, uv_async_t *reloaded, pausehub_t *hub) {
  int rc = uv_async_init(&w->loop, &w->wakeup, on_wakeup);
  if (rc != 0)
    return rc;
  w->hub = hub;
  rc = pausehub_mailbox_init(&w->mailbox, hub, &w->loop);
  if (rc != 0)
    return rc;
  w->mailbox.page_done = exchange_page_done;
  rc = posted_init(&w->posted, &w->loop);
  if (rc != 0)
    return rc;
  w->wakeup.data = w;
  w->exited = exited;
  w->reloaded = reloaded;
  rc = uv_timer_init(&w->loop, &w->drain_timer);
  if (rc != 0)
    return rc;
  w->drain_timer.data = w;
  return uv_thread_create(&w->thread, worker_main, w);
}

void worker_drain(worker_t *w) {
  __atomic_store_n(&w->drain_requested, 1, __ATOMIC_RELEASE);
  (void)uv_async_send(&w->wakeup); /* 0: libuv aborts rather than fail */
}

void worker_join(worker_t *w) {
  if (uv_thread_join(&w->thread) != 0) {
    /* e.g. a thread that never started */
    LOG_WARN("worker thread not joined", LOG_U64("worker", (uint64_t)w->id));
  }
  if (uv_loop_close(&w->loop) != 0)
    LOG_WARN("worker loop closed with handles open", LOG_U64("worker", (uint64_t)w->id));
  /* The loop has ended: nothing uses a generation any more. */
  if (w->gen != NULL) {
    gen_free(w->gen);
    w->gen = NULL;
  }
  while (w->retired != NULL) {
    worker_gen *g = w->retired;
    w->retired = g->next;
    gen_free(g);
  }
  cfgsnap_release(__atomic_exchange_n(&w->next_snap, NULL, __ATOMIC_ACQ_REL));
  w->cfg = NULL;
}
