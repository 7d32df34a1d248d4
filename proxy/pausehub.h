/* pausehub: the link state all workers share, and the way an outcome reaches
 * the worker whose stream is waiting.
 *
 * A paused stream waits on (registered user, connector) in the link service
 * (linksvc.h). The link page that completes the link may be served by any
 * worker, and expiry is driven from the main loop, so the link service lives
 * here once per process behind a mutex. Its callbacks run on whichever thread
 * completed or expired the link: they only queue the waiter on its worker's
 * mailbox and wake that loop (uv_async_send); the worker then calls the
 * waiter's done callback on its own loop, where the stream lives.
 *
 * The hub also lists the paused streams for the control API (GET
 * /v1/streams) and carries its commands (resume, cancel) to them the same
 * way.
 */
#ifndef AUTHRELAY_PAUSEHUB_H
#define AUTHRELAY_PAUSEHUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dynbuf.h"
#include "identity.h"
#include "linksvc.h"

typedef struct pausehub_waiter pausehub_waiter;

typedef struct pausehub_t {
  uv_mutex_t lock;           /* guards links, registry and every mailbox queue */
  linksvc_t links;
  pausehub_waiter *registry; /* paused streams, newest first */
  size_t npaused;
} pausehub_t;

/* How a pause ends. */
typedef enum pausehub_outcome {
  PAUSEHUB_COMPLETED = 0, /* the link was completed: auth_complete, go on */
  PAUSEHUB_EXPIRED,       /* the link expired: link_expired, then after_expiry */
  PAUSEHUB_RESUMED,       /* control API resume: go on without a credential */
  PAUSEHUB_CANCELLED      /* control API cancel: relay_error, the stream ends */
} pausehub_outcome;

typedef struct pausehub_mailbox pausehub_mailbox;

/* Called on the waiter's own loop when its pause ends. */
typedef void (*pausehub_done_cb)(pausehub_waiter *pw, pausehub_outcome outcome);

/* Embedded by the waiting stream; valid from pausehub_wait() until the done
 * callback has run or pausehub_cancel() returned. */
struct pausehub_waiter {
  linksvc_waiter w;        /* w.link: the shared link's token, path, expiry */
  pausehub_mailbox *box;   /* the waiting stream's worker */
  pausehub_done_cb done;
  pausehub_outcome outcome; /* set when queued */
  int queued;              /* on box's queue, its done callback due */
  pausehub_waiter *next;   /* box's queue */
  pausehub_waiter *prev;
  /* what the control API shows (copied at pausehub_wait) */
  char stream_id[32];
  char user[IDENTITY_USER_MAX + 1];
  uint64_t since_ms;       /* wall clock when the pause began */
  uint64_t held_bytes;     /* upstream bytes held when it began */
  int registered;          /* on hub->registry */
  pausehub_waiter *reg_next;
  pausehub_waiter *reg_prev;
};

/* One per worker loop, embedded in the worker. */
struct pausehub_mailbox {
  pausehub_t *hub;         /* not owned */
  uv_async_t async;        /* wakes the worker's loop */
  pausehub_waiter *head;   /* outcomes to deliver, oldest first (under hub->lock) */
  pausehub_waiter *tail;
};

/* Prepares the hub. opt as linksvc_init(). Returns 0 or a negative error. */
int pausehub_init(pausehub_t *hub, const linksvc_options *opt);

/* Frees the hub; every mailbox must be closed first. */
void pausehub_close(pausehub_t *hub);

/* Prepares a mailbox on loop (the worker's, called on its thread). Returns 0
 * or a libuv error. */
int pausehub_mailbox_init(pausehub_mailbox *box, pausehub_t *hub, uv_loop_t *loop);

/* Closes the mailbox's handle (uv_close; close_cb may be NULL). Waiters must
 * have been cancelled. */
void pausehub_mailbox_close(pausehub_mailbox *box, uv_close_cb close_cb);

/* Makes pw wait on (user, connector): joins the pending link or mints one,
 * and lists the stream (stream_id, held_bytes) for the control API. Strings
 * are copied. Returns 0 (pw->w.link filled) or a negative error from
 * linksvc_wait(). now_ms: wall-clock milliseconds. */
int pausehub_wait(pausehub_mailbox *box, pausehub_waiter *pw, const char *stream_id,
                  const char *user, const char *connector, uint64_t held_bytes, uint64_t now_ms,
                  pausehub_done_cb done);

/* pw stops waiting (its stream went away). Its done callback will not run.
 * When it was the last waiter of a pending link, the link is revoked. */
void pausehub_cancel(pausehub_waiter *pw);

/* The link page: completes the link of token with a credential. Returns as
 * linksvc_complete(). */
int pausehub_complete(pausehub_t *hub, const char *token, size_t token_len,
                      const char *credential, size_t cred_len, uint64_t now_ms);

/* Copies what the link page shows about token into *info and *state.
 * Returns 0 or -ENOENT. */
int pausehub_lookup(pausehub_t *hub, const char *token, size_t token_len,
                    linksvc_link_info *info, linksvc_state *state);

/* Control API: ends the pause of stream id with PAUSEHUB_RESUMED or
 * PAUSEHUB_CANCELLED (delivered on its loop). Returns 0, -ENOENT (no such
 * paused stream) or -EALREADY (its pause is ending already). */
int pausehub_command(pausehub_t *hub, const char *id, size_t id_len, pausehub_outcome command);

/* Control API: appends the paused streams as JSON to out: {"streams":[...]}
 * when id is NULL, else the one object of stream id. Returns 0, -ENOENT or
 * a dynbuf error. */
int pausehub_render(pausehub_t *hub, dynbuf *out, const char *id, size_t id_len);

/* Expires links past their time (any thread; the main loop's timer). */
void pausehub_expire(pausehub_t *hub, uint64_t now_ms);

/* Wall-clock milliseconds, as the link service counts time. */
uint64_t pausehub_now_ms(void);

#endif
