/* worker: one relay event loop, on its own thread.
 *
 * Each worker binds the proxy port with SO_REUSEPORT, so the kernel spreads
 * new connections over the workers; a connection then lives on one loop for
 * its whole life, with its exchanges and upstream connections (each worker
 * has its own upstream pools and metrics). The main thread talks to a worker
 * only through worker_drain()/worker_stop(), which wake it with uv_async_t.
 */
#ifndef AUTHRELAY_WORKER_H
#define AUTHRELAY_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "pausehub.h"
#include "upstream.h"

struct exchange;

typedef struct worker_t {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t wakeup;           /* the main thread asks for drain or stop */
  uv_timer_t drain_timer;      /* ends the drain after drain_timeout_s */
  uv_thread_t thread;
  int id;
  const config_t *cfg;         /* not owned; outlives the worker */
  metrics_t metrics;           /* written by this loop only */
  upstream_pool *pools;        /* one per configured route; owned */
  size_t npools;
  struct exchange *exchanges;  /* every open client connection */
  size_t nconns;
  int listening;               /* the listener is open */
  int draining;                /* stop accepting, finish what is open */
  int drain_requested;         /* set by the main thread (atomic access) */
  uv_async_t *exited;          /* main loop's; sent when this loop has ended */
  int loop_ended;              /* set (atomic) just before exited is sent */
  pausehub_t *hub;             /* process-wide link state; not owned */
  pausehub_mailbox mailbox;    /* pause outcomes for this loop's streams */
  uv_check_t flush_check;      /* after each poll: sends the output gathered */
  struct exchange *flush_list; /* exchanges with output gathered this iteration */
} worker_t;

/* Prepares worker id for cfg and binds its listener (SO_REUSEPORT), in the
 * calling thread. Returns 0 or a libuv error. */
int worker_init(worker_t *w, int id, const config_t *cfg);

/* Runs the loop on a new thread; exited (the main loop's, not owned) is sent
 * when the loop has ended. hub (not owned) outlives the worker. Returns 0 or
 * a libuv error. */
int worker_start(worker_t *w, uv_async_t *exited, pausehub_t *hub);

/* From any thread: stop accepting, let open exchanges finish, then end the
 * loop (after cfg->drain_timeout_s at most). */
void worker_drain(worker_t *w);

/* Waits for the worker's thread to end and frees what it holds. */
void worker_join(worker_t *w);

/* The loop calls these as client connections come and go. */
void worker_connection_closed(worker_t *w);

/* An exchange gathered output: flush_check must run this iteration. */
void worker_want_flush(worker_t *w);

#endif
