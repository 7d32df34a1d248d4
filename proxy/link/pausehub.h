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
 * way. Pauses are numbered per stream (1, 2, ...): a command is taken for
 * one pause, named by the caller or the current one, and is never applied
 * to a later pause of the same stream (the outcome carries the number; the
 * worker drops one that is not for the pause it is in).
 *
 * Two more queues run the other way, to the control loop, which owns the
 * store (DESIGN.md "Operations": loops talk only through queues woken by
 * uv_async_t):
 * - the journal: every link minted or ended, as a pausehub_record, to be
 *   written to SQLite (a stream pausing on a worker never waits for a disk);
 * - link-page requests (/_authrelay/...): a worker hands the request over as
 *   a pausehub_page, the control loop answers it (at once, or after an OAuth
 *   token exchange) and the answer comes back through the worker's mailbox.
 */
#ifndef AUTHRELAY_PAUSEHUB_H
#define AUTHRELAY_PAUSEHUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dynbuf.h"
#include "linksvc.h"
#include "list.h"

#define PAUSEHUB_ENDED_MAX 1024 /* ended pauses remembered for the control API */

typedef struct pausehub_waiter pausehub_waiter;
typedef struct pausehub_page pausehub_page;
typedef struct pausehub_record pausehub_record;

/* A link minted or ended, on its way to the store. One allocation; the
 * strings follow the struct. */
struct pausehub_record {
  pausehub_record *next;
  char token[LINKSVC_TOKEN_LEN + 1];
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  const char *user;
  const char *callback_url;
  const char *state_param;
  const char *base_url;     /* base of the link's URL out of band: the paused
                               request's; "" when none (API links, endings) */
  linksvc_state state;
  int pinned;
  uint64_t created_ms;
  uint64_t expires_ms;
  uint64_t ended_ms;
};

/* The control loop's side: called on its loop with records (a list the
 * callee frees with pausehub_records_free) and with page requests. */
typedef void (*pausehub_journal_cb)(void *ctx, pausehub_record *records);
typedef void (*pausehub_page_cb)(void *ctx, pausehub_page *pg);

typedef struct pausehub_t {
  uv_mutex_t lock;           /* guards links, registry and every queue */
  linksvc_t links;
  list_node registry;        /* paused streams, newest first (pausehub_waiter.reg_link) */
  size_t npaused;
  /* the control loop (pausehub_attach) */
  uv_async_t control_async;  /* wakes it for journal records and pages */
  int attached;
  pausehub_journal_cb journal_cb;
  pausehub_page_cb page_cb;
  void *control_ctx;
  pausehub_record *journal_head; /* oldest first */
  pausehub_record *journal_tail;
  size_t journal_len;        /* records queued */
  size_t journal_dropped;    /* records lost to a full queue or no memory */
  pausehub_page *pages_head; /* page requests waiting for the control loop */
  pausehub_page *pages_tail;
  const char *mint_base;     /* base_url of the pausehub_wait in progress (under lock) */
  /* recently ended pauses, a ring: a command naming one is refused (409)
   * rather than unknown (404) */
  struct pausehub_ended {
    char stream_id[32];
    unsigned pause_no;
  } ended[PAUSEHUB_ENDED_MAX];
  size_t ended_next;
} pausehub_t;

/* How a pause ends. */
typedef enum pausehub_outcome {
  PAUSEHUB_COMPLETED = 0, /* the link was completed: auth_complete, go on */
  PAUSEHUB_EXPIRED,       /* the link expired: link_expired, then after_expiry */
  PAUSEHUB_RESUMED,       /* control API resume: go on without a credential */
  PAUSEHUB_CANCELLED,     /* control API cancel: relay_error, the stream ends */
  PAUSEHUB_DECLINED       /* the user chose "Not now": auth_declined, go on */
} pausehub_outcome;

typedef struct pausehub_mailbox pausehub_mailbox;

/* Called on the waiter's own loop when its pause ends. pause_no: the number
 * of the pause the outcome was decided for; a caller that is no longer in
 * that pause drops it. */
typedef void (*pausehub_done_cb)(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome);

/* Embedded by the waiting stream; valid from pausehub_wait() until the done
 * callback has run or pausehub_cancel() returned. */
struct pausehub_waiter {
  linksvc_waiter w;        /* w.link: the shared link's token, path, expiry */
  pausehub_mailbox *box;   /* the waiting stream's worker */
  pausehub_done_cb done;
  pausehub_outcome outcome; /* set when queued */
  unsigned outcome_pause;  /* the pause_no the queued outcome is for */
  int queued;              /* on box's queue, its done callback due */
  list_node queue_link;    /* on box->queue while queued */
  /* what the control API shows (copied at pausehub_wait) */
  char stream_id[32];
  char user[LINKSVC_USER_MAX + 1];
  unsigned pause_no;       /* this pause's number in its stream, from 1 */
  uint64_t since_ms;       /* wall clock when the pause began */
  uint64_t held_bytes;     /* upstream bytes held when it began */
  int registered;          /* on hub->registry */
  list_node reg_link;      /* on hub->registry while registered */
};

/* A link-page request handed from a worker to the control loop, and its
 * answer. Allocated by pausehub_page_new(); owned by the hub from
 * pausehub_page_submit() until the worker's page_done callback, which frees
 * it with pausehub_page_free(). */
struct pausehub_page {
  /* the request, set by the worker */
  int method;               /* llhttp method: HTTP_GET, HTTP_HEAD or HTTP_POST */
  char *target;             /* request target, NUL-terminated; owned */
  char *base_url;           /* "http://host:port" the browser used, or public_url; owned */
  dynbuf body;              /* form body (capped) */
  dynbuf cookie;            /* the Cookie header's value (capped), not NUL-terminated */
  /* the answer, set by the control loop */
  int status;
  dynbuf html;              /* body, text/html */
  char *location;           /* a redirect's Location, or NULL; owned */
  char *form_origin;        /* an origin the page's form may end up on (its
                               303 to callback_url), or NULL; owned */
  char *set_cookie;         /* a Set-Cookie value to send, or NULL; owned */
  int credential;           /* 1: not a page but a credential request of
                               relay/credinject (target: the connector, body:
                               the user; html: the secret, wiped when freed);
                               never set for a client's request */
  /* private */
  void *owner;              /* the waiting exchange; NULL once it went away */
  pausehub_mailbox *box;
  pausehub_page *next;
};

/* Called on the worker's loop with an answered page whose owner is still there. */
typedef void (*pausehub_page_done_cb)(pausehub_page *pg);

/* One per worker loop, embedded in the worker. */
struct pausehub_mailbox {
  pausehub_t *hub;         /* not owned */
  uv_async_t async;        /* wakes the worker's loop */
  list_node queue;         /* waiters whose outcome is due, oldest first (under hub->lock) */
  pausehub_page *pages;    /* answered pages to deliver, newest first (under hub->lock) */
  pausehub_page_done_cb page_done; /* set by the worker */
  int closed;              /* its loop is going away: answers are dropped */
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

/* One pause of a stream, as pausehub_wait() takes it. Strings are borrowed
 * for the call. */
typedef struct pausehub_pause {
  const char *stream_id;
  unsigned pause_no;       /* 1 for the stream's first pause, then 2, ... */
  const char *user;
  const char *connector;
  const char *base_url;    /* the paused request's link base (linkbase.h), carried
                              to the journal when a link is minted; NULL: none */
  uint64_t held_bytes;     /* upstream bytes held when it began */
} pausehub_pause;

/* Makes pw wait on (user, connector): joins the pending link or mints one,
 * (connector "": the user's picker link, where the Link page lists the
 * catalog's connectors; pw->w.link.connector names the chosen one when the
 * outcome arrives),
 * and lists the stream (stream_id, pause_no, held_bytes) for the control
 * API. Returns 0 (pw->w.link filled) or a negative error from
 * linksvc_wait(). now_ms: wall-clock milliseconds. */
int pausehub_wait(pausehub_mailbox *box, pausehub_waiter *pw, const pausehub_pause *p, uint64_t now_ms,
                  pausehub_done_cb done);

/* pw stops waiting (its stream went away). Its done callback will not run.
 * When it was the last waiter of a pending link, the link is revoked. */
void pausehub_cancel(pausehub_waiter *pw);

/* The link page: the account is connected; completes the link of token.
 * Returns as linksvc_complete(). */
int pausehub_complete(pausehub_t *hub, const char *token, size_t token_len, uint64_t now_ms);

/* The link page: the account of connector is connected through token's
 * link (a picker link completes for connector). Returns as
 * linksvc_complete_as(). */
int pausehub_complete_as(pausehub_t *hub, const char *token, size_t token_len, const char *connector,
                         uint64_t now_ms);

/* The link page: the user chose "Not now". Returns as linksvc_decline(). */
int pausehub_decline(pausehub_t *hub, const char *token, size_t token_len, uint64_t now_ms);

/* What the link page needs to know of a link. */
typedef struct pausehub_link_view {
  linksvc_link_info info;
  linksvc_state state;
  char user[LINKSVC_USER_MAX + 1];
  char callback_url[2049];  /* "" when none */
  char state_param[256];    /* "" when none */
} pausehub_link_view;

/* Copies what the link page shows about token into *view. Returns 0 or
 * -ENOENT. */
int pausehub_lookup(pausehub_t *hub, const char *token, size_t token_len, pausehub_link_view *view);

/* The link-token API: linksvc_mint() under the lock. */
int pausehub_mint(pausehub_t *hub, const char *user, const char *connector, unsigned ttl_s,
                  const char *callback_url, const char *state, uint64_t now_ms, linksvc_link_info *info);

/* At start, before any worker runs: linksvc_restore() under the lock. */
int pausehub_restore(pausehub_t *hub, const char *token, const char *user, const char *connector,
                     const char *callback_url, const char *state, linksvc_state status, int pinned,
                     uint64_t created_ms, uint64_t expires_ms, uint64_t ended_ms);

/* Makes loop (the control loop, on its thread) the receiver of journal
 * records and page requests. Returns 0 or a libuv error. */
int pausehub_attach(pausehub_t *hub, uv_loop_t *loop, pausehub_journal_cb journal_cb,
                    pausehub_page_cb page_cb, void *ctx);

/* Closes the control loop's handle. Records still queued are freed. */
void pausehub_detach(pausehub_t *hub);

/* Frees a list of records. */
void pausehub_records_free(pausehub_record *r);

/* A page request for owner (not owned), from box's worker. NULL when out
 * of memory. target is copied. */
pausehub_page *pausehub_page_new(pausehub_mailbox *box, void *owner, int method, const char *target,
                                 size_t target_len, const char *base_url);
void pausehub_page_free(pausehub_page *pg);

/* Worker: hands pg to the control loop. Returns 0, or -ENOTCONN when no
 * control loop is attached (pg is then still the caller's). */
int pausehub_page_submit(pausehub_page *pg);

/* Worker: its exchange went away; the answer will be dropped. */
void pausehub_page_abandon(pausehub_page *pg);

/* Control loop: pg is answered (status, html, location); back to its worker. */
void pausehub_page_answer(pausehub_page *pg);

/* Control API: ends pause pause_no (0: the current one) of stream id with
 * PAUSEHUB_RESUMED or PAUSEHUB_CANCELLED, delivered on its loop, where it
 * is dropped if that pause ended otherwise first (client gone, overflow,
 * shutdown). *current (may be NULL) gets the number of the stream's current
 * or last pause, 0 when unknown. Returns 0 (taken for pause *current),
 * -ENOENT (no paused stream id, nor a recently ended pause of it; and
 * without pause_no: not paused now), -EALREADY (the pause is ending
 * already), -ESTALE (pause pause_no ended: never applied to a later one) or
 * -ESRCH (pause pause_no has not begun). */
int pausehub_command(pausehub_t *hub, const char *id, size_t id_len, unsigned pause_no, pausehub_outcome command,
                     unsigned *current);

/* Control API: appends the paused streams as JSON to out: {"streams":[...]}
 * when id is NULL, else the one object of stream id. Returns 0, -ENOENT or
 * a dynbuf error. */
int pausehub_render(pausehub_t *hub, dynbuf *out, const char *id, size_t id_len);

/* The remote link service gave up on token: it expires now. */
int pausehub_expire_link(pausehub_t *hub, const char *token, uint64_t now_ms);

/* Shutting down: pending links outlive the streams that leave now. */
void pausehub_keep_links(pausehub_t *hub);

/* Expires links past their time (any thread; the main loop's timer). */
void pausehub_expire(pausehub_t *hub, uint64_t now_ms);

#endif
