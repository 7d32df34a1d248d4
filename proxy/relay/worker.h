/* worker: one relay event loop, on its own thread.
 *
 * Each worker binds the proxy port with SO_REUSEPORT, so the kernel spreads
 * new connections over the workers; a connection then lives on one loop for
 * its whole life, with its exchanges and upstream connections (each worker
 * has its own upstream pools and metrics). The main thread talks to a worker
 * only through worker_drain() and worker_reload(), which wake it with
 * uv_async_t.
 *
 * The worker owns its lists: the open connections (worker_conn_add/remove,
 * walked on drain) and the posted work (worker_post, posted.h: run after
 * the poll of each iteration). Exchanges ask; they do not edit them.
 *
 * Config reload: the worker runs with a generation, a config snapshot
 * (cfgsnap.h) and the upstream pools of its routes. worker_reload() hands
 * the worker a new snapshot; on its own loop it builds a new generation for
 * the requests that begin from then on and retires the old one: the old
 * pools close their idle connections and keep serving the requests in
 * flight, each of which pinned the generation it began with
 * (worker_gen_pin); the last of them frees it.
 */
#ifndef AUTHRELAY_WORKER_H
#define AUTHRELAY_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cfgsnap.h"
#include "config.h"
#include "metrics.h"
#include "pausehub.h"
#include "posted.h"
#include "upstream.h"

struct worker_t;

/* A client connection as the worker lists it (embedded in its owner, the
 * exchange). The worker calls these on drain and at the end of it. */
typedef struct worker_conn {
  void (*drain)(struct worker_conn *c); /* stop reusing the connection: finish
                                           the response (or close if idle) */
  void (*close)(struct worker_conn *c); /* close now; must call worker_conn_remove */
  struct worker_conn *prev;    /* the worker's list */
  struct worker_conn *next;
} worker_conn;

/* A config snapshot and the upstream pools built from it. Worker thread only. */
typedef struct worker_gen {
  struct worker_t *w;
  cfgsnap *snap;            /* a reference */
  upstream_pool *pools;     /* one per route of snap->cfg, same order; owned */
  size_t npools;
  size_t refs;              /* requests pinned to it, +1 while it is the current one */
  struct worker_gen *next;  /* the worker's list of retired generations */
} worker_gen;

typedef struct worker_t {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wakeup;           /* the main thread asks for drain or reload */
  uv_timer_t drain_timer;      /* ends the drain after drain_timeout_s */
  uv_thread_t thread;
  int id;
  const config_t *cfg;         /* the current generation's config; this loop only */
  metrics_t metrics;           /* written by this loop only */
  worker_gen *gen;             /* the current generation: new requests take it; owned */
  worker_gen *retired;         /* older ones, freed once nothing uses them */
  cfgsnap *next_snap;          /* handed over by worker_reload, not applied yet (atomic) */
  unsigned applied_generation; /* the last snapshot applied (atomic) */
  unsigned failed_generation;  /* the last snapshot it could not apply (atomic) */
  uv_async_t *reloaded;        /* main loop's; sent when a snapshot was applied (or not) */
  worker_conn conns;           /* every open client connection: the list's head */
  size_t nconns;               /* on conns */
  int listening;               /* the listener is open */
  int draining;                /* stop accepting, finish what is open */
  int drain_requested;         /* set by the main thread (atomic access) */
  uv_async_t *exited;          /* main loop's; sent when this loop has ended */
  int loop_ended;              /* set (atomic) just before exited is sent */
  pausehub_t *hub;             /* process-wide link state; not owned */
  pausehub_mailbox mailbox;    /* pause outcomes for this loop's streams */
  posted_queue posted;         /* work run after each poll (posted.h) */
} worker_t;

/* Prepares worker id for snap's config (it takes a reference) and binds its
 * listener (SO_REUSEPORT), in the calling thread. Returns 0 or a libuv
 * error. */
int worker_init(worker_t *w, int id, cfgsnap *snap);

/* Runs the loop on a new thread; exited (the main loop's, not owned) is sent
 * when the loop has ended, reloaded (the same) when a snapshot given by
 * worker_reload was applied or refused (see applied_generation and
 * failed_generation). hub (not owned) outlives the worker. Returns 0 or a
 * libuv error. */
int worker_start(worker_t *w, uv_async_t *exited, uv_async_t *reloaded, pausehub_t *hub);

/* From the main thread: new requests on w use snap (w takes a reference);
 * open ones go on with the config they began with. A snapshot handed over
 * before and not applied yet is dropped. Its listener keys must equal the
 * running ones (cfgsnap_keep_restart_keys). */
void worker_reload(worker_t *w, cfgsnap *snap);

/* The current generation, with one more reference (this loop only). */
worker_gen *worker_gen_hold(worker_t *w);

/* A request begins: *g becomes the current generation (the reference to the
 * old one is dropped, one to the new one taken) unless it is already. */
void worker_gen_pin(worker_t *w, worker_gen **g);

/* Drops a reference from worker_gen_hold/pin; NULL is ignored. */
void worker_gen_release(worker_gen *g);

/* From any thread: stop accepting, let open exchanges finish, then end the
 * loop (after cfg->drain_timeout_s at most). */
void worker_drain(worker_t *w);

/* Waits for the worker's thread to end and frees what it holds. */
void worker_join(worker_t *w);

/* A client connection was accepted: lists c (its drain and close set).
 * Returns 0, or UV_EBUSY (counted as refused) when the worker is draining
 * or has max_connections open: the caller closes it. */
int worker_conn_add(worker_t *w, worker_conn *c);

/* The connection c leaves the list (it is closing). The last one to go
 * while draining ends the loop. */
void worker_conn_remove(worker_t *w, worker_conn *c);

/* 1 once the worker drains: responses close their connection. */
int worker_draining(const worker_t *w);

/* Runs e->handler once this loop iteration's I/O callbacks are done (an
 * exchange posts the flush of what it gathered for its client); a no-op
 * when e is posted already. Returns 0 or a libuv error. */
int worker_post(worker_t *w, posted_entry *e);

/* Takes e off the queue (its owner goes away); a no-op when not posted. */
void worker_unpost(posted_entry *e);

#endif
