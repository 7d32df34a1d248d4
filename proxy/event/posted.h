/* posted: work posted to run once a loop iteration's I/O callbacks are
 * done, as nginx's posted events.
 *
 * A relay worker gathers what an exchange writes to its client during the
 * callbacks of one iteration and sends it as one write afterwards: the
 * exchange posts its flush (worker_post), and the queue's uv_check_t runs
 * it after the poll. An entry is embedded in its owner and is on the queue
 * at most once; it can leave in O(1) wherever it is (its owner goes away).
 * Work posted while the queue runs waits for the next iteration, so a
 * handler that posts again cannot hold the loop. Work posted before the
 * poll (from a timer: a heartbeat) must not wait for the next I/O: while
 * anything is posted an idle handle keeps the poll from blocking, so the
 * check runs in the same iteration. Loop thread only.
 */
#ifndef AUTHRELAY_POSTED_H
#define AUTHRELAY_POSTED_H

#include <uv.h>

typedef struct posted_entry {
  void (*handler)(struct posted_entry *e); /* set by the owner; runs on the loop */
  struct posted_entry *prev;   /* the queue's ring; NULL while not posted */
  struct posted_entry *next;
} posted_entry;

typedef struct posted_queue {
  posted_entry head;           /* the ring's head (handler unused) */
  uv_check_t check;            /* runs the queue after the poll; active while
                                  something is posted */
  uv_idle_t idle;              /* active with check: the poll does not block */
} posted_queue;

/* Prepares q on loop. Returns 0 or a libuv error. */
int posted_init(posted_queue *q, uv_loop_t *loop);

/* Runs e->handler after this iteration's I/O callbacks; a no-op when e is
 * posted already. Returns 0 or a libuv error (e is then queued all the
 * same, and runs if the queue runs again). */
int posted_add(posted_queue *q, posted_entry *e);

/* Takes e off its queue; a no-op when it is not posted. */
void posted_remove(posted_entry *e);

/* 1 while e waits on a queue. */
int posted_is_posted(const posted_entry *e);

/* Closes the queue's handles (uv_close); q must stay valid until the loop
 * has run their close callbacks (the worker's lives until its loop ended).
 * What is still posted never runs. */
void posted_close(posted_queue *q);

#endif
