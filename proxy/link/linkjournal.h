/* linkjournal: the writer of linkhost's journal (linkhost.h): the link
 * rows minted or ended, to the store in the order they were recorded.
 *
 * One batch (one transaction, at most LINKJOURNAL_BATCH_MAX rows) is in
 * flight at a time; rows recorded meanwhile wait and go in the next one.
 * A batch the store refused (the database down or slow, a full disk) is
 * written again after a back-off (LINKJOURNAL_RETRY_MIN_MS doubling up to
 * LINKJOURNAL_RETRY_MAX_MS), ahead of everything recorded since; at each
 * refusal the unwritten callback is told of every row waiting, and of every
 * row dropped (linkhost ends the pauses of a new link among them:
 * link_expired). So every row reaches the store once it can (on
 * PostgreSQL, the other replicas too), and a later row of a link (its end)
 * is never overwritten by an earlier one written late. At most LINKJOURNAL_ROWS_MAX rows wait;
 * rows beyond are dropped (counted).
 *
 * Control loop only. hold() is called when a batch goes to the store and
 * release() after its answer (linkhost counts the writes that must land
 * before the store closes). linkjournal_close() sends what waits once
 * more, without retries.
 */
#ifndef AUTHRELAY_LINKJOURNAL_H
#define AUTHRELAY_LINKJOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

#define LINKJOURNAL_ROWS_MAX 4096     /* rows waiting at most (about 12 MiB) */
#define LINKJOURNAL_BATCH_MAX 256     /* rows per transaction */
#define LINKJOURNAL_RETRY_MIN_MS 100
#define LINKJOURNAL_RETRY_MAX_MS 5000

typedef void (*linkjournal_hold_fn)(void *ctx);
/* rows[0, n) (borrowed for the call) did not reach the store: refused (it
 * will be written again) or dropped. It must not call linkjournal_put():
 * rows may be the journal's own array. */
typedef void (*linkjournal_unwritten_fn)(void *ctx, const store_link *rows, size_t n);

typedef struct linkjournal_t {
  store_t *store;            /* not owned */
  uv_timer_t retry;          /* the back-off after a refused batch */
  store_link *rows;          /* waiting, oldest first; the first `inflight` are in the store's hands; owned */
  size_t nrows;
  size_t cap;                /* rows allocated */
  size_t inflight;           /* rows of the batch in flight; 0 when none */
  unsigned backoff_ms;       /* 0 after a batch was written */
  int closing;               /* linkjournal_close() ran: no retries */
  int timer_open;
  int full_logged;           /* "full" was logged since the last batch written */
  linkjournal_hold_fn hold;
  linkjournal_hold_fn release;
  linkjournal_unwritten_fn unwritten_cb; /* may be NULL */
  void *ctx;                 /* for hold, release and unwritten_cb */
  uint64_t written;          /* rows written */
  uint64_t refused;          /* rows of batches the store refused (each try counts) */
  uint64_t dropped;          /* rows dropped: the queue was full, no memory, or closing */
} linkjournal_t;

/* Prepares j on loop for store (both borrowed); unwritten (NULL: none) is
 * told of the rows that did not reach the store. Returns 0 or a libuv
 * error. */
int linkjournal_init(linkjournal_t *j, uv_loop_t *loop, store_t *store, linkjournal_hold_fn hold,
                     linkjournal_hold_fn release, linkjournal_unwritten_fn unwritten, void *ctx);

/* Queues rows[0, n) (copied) after those waiting; sends a batch when none
 * is in flight. */
void linkjournal_put(linkjournal_t *j, const store_link *rows, size_t n);

/* Rows waiting (in flight included). */
size_t linkjournal_backlog(const linkjournal_t *j);

/* Sends what waits once more (no retry after that), then frees it; closes
 * the timer (the loop must run on for its close callback). */
void linkjournal_close(linkjournal_t *j);

#endif
