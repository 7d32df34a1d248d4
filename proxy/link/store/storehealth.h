/* storehealth: whether the link store can write, for /readyz and /metrics.
 *
 * The store marks a write that failed (store_health.cannot_write: a full
 * disk, a read-only data directory, an I/O error; the write was rolled back
 * and its caller told) and clears the mark when a later write commits.
 * While the mark is set /readyz answers 503, saying why. So that it comes
 * back without traffic, a timer on the control loop tries ops->probe
 * every STOREHEALTH_PROBE_MS while the mark is set (and does nothing
 * otherwise). The store is probed once at start, so a data directory that
 * cannot be written is reported before the first request.
 *
 * Control loop only, like the store. A probe in flight when the store
 * closes completes with -ECANCELED: the struct must outlive the store.
 */
#ifndef AUTHRELAY_STOREHEALTH_H
#define AUTHRELAY_STOREHEALTH_H

#include <uv.h>

#include "dynbuf.h"
#include "store.h"

#define STOREHEALTH_PROBE_MS 1000

typedef struct storehealth_t {
  uv_timer_t timer;     /* the probe, while the store cannot write */
  store_t *store;       /* not owned; outlives the timer */
  int probing;          /* a probe is in flight */
} storehealth_t;

/* Probes store once and starts the timer on loop. Returns 0 or a libuv
 * error. */
int storehealth_init(storehealth_t *h, uv_loop_t *loop, store_t *store);

/* Stops the timer (uv_close: the loop must run once more). */
void storehealth_close(storehealth_t *h);

/* 0 when the store can write; else -EIO, with the JSON body of /readyz's
 * 503 appended to body. */
int storehealth_ready(const store_t *st, dynbuf *body);

/* Appends authrelay_store_write_errors_total and authrelay_store_writable.
 * Returns 0 or a dynbuf error. */
int storehealth_render_metrics(const store_t *st, dynbuf *out);

#endif
