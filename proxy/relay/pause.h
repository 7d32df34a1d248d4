/* pause: the interrupt state machine of one relayed response (DESIGN.md
 * "The pause").
 *
 * The exchange (exchange.h) relays bytes; this module decides what an
 * auth-required event does to the stream and runs the wait:
 *
 *   idle --pause_on_detect() says act--> detected
 *   detected --pause_begin()--> waiting        (or back to idle: the link
 *                                               service refused, the event passes)
 *   waiting --outcome on this loop--> completed / resumed   -> resume: continue | retry
 *                                     expired               -> continue, or end (after_expiry)
 *                                     declined ("Not now")  -> continue (tool mode: the held
 *                                                              result in rewrite form, its
 *                                                              message saying so)
 *                                     cancelled (control)   -> relay_error, end
 *   waiting --pause_overflow / pause_shutdown / pause_client_gone--> ended
 *
 * While waiting, the stream's upstream is not read (TCP back-pressure holds
 * the agent server), the exchange holds what was already read, and SSE
 * streams get a heartbeat. The pause renders the notices (link_token,
 * auth_complete, link_expired, relay_error, heartbeats) in the stream's
 * dialect (dialect/dialect.h) and hands them to the exchange to write.
 *
 * The dialect layer decides at each detection (dialect_decide): how the
 * event goes out (rewrite: in place with the trusted link's values;
 * replace: withheld, generic streams only; keep: untouched), for which
 * connector, and whether to wait at all: a tool call interrupted before in
 * this response (OpenAI's response.completed repeats every item) is only
 * rewritten with the link it got, without a second wait.
 *
 * The seam, both ways:
 *   exchange -> pause: pause_on_detect (in the framer's on_event: the one
 *     place a detected event reaches the interrupt logic; the dialect layer
 *     plugs in there), pause_begin (everything before the event went out),
 *     pause_overflow, pause_shutdown, pause_client_gone, pause_heartbeat,
 *     pause_request_begin, and the getters.
 *   pause -> exchange: the pause_ops table below, with the exchange as owner.
 * The pause never sees the exchange's struct, sockets or buffers, so that
 * tests/proxy/relay/test_pause.c drives it with a stand-in owner.
 *
 * Memory: a pause_t is allocated by the first detection acted on (a stream
 * that never pauses carries nothing), reused by the later pauses of the
 * connection, freed by pause_free(). No allocation per event.
 */
#ifndef AUTHRELAY_PAUSE_H
#define AUTHRELAY_PAUSE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "dialect.h"
#include "dynbuf.h"
#include "framer.h"
#include "metrics.h"
#include "pausehub.h"

typedef struct pause_t pause_t;

/* How the stream goes on after a wait. */
typedef enum pause_next {
  PAUSE_CONTINUE = 0, /* flush the held bytes (framed and detected again), read upstream again */
  PAUSE_RETRY,        /* send the kept request again (resume: retry; tool mode: the call) */
  PAUSE_RELEASE       /* tool mode: the held response goes out as the upstream sent it */
} pause_next;

/* What the pause asks of the exchange it interrupts. owner is
 * pause_stream.owner. Functions returning int return 0, or a negative
 * error when the exchange closed meanwhile (the pause then stops). */
typedef struct pause_ops {
  /* Forwards held body bytes up to stream offset upto. */
  int (*forward)(void *owner, uint64_t upto);
  /* Drops held body bytes up to upto: they count as forwarded but never
   * reach the client (the withheld event). */
  void (*withhold)(void *owner, uint64_t upto);
  /* Writes a notice rendered into ev (frees ev). */
  int (*write_event)(void *owner, dynbuf *ev);
  /* Stops reading the upstream. */
  void (*stop_upstream)(void *owner);
  /* The wait is over: go on as next says (PAUSE_CONTINUE also after a
   * detection the link service refused). */
  void (*resume)(void *owner, pause_next next);
  /* Ends the client's response now, after a final notice; the upstream
   * response is cut short. */
  void (*end)(void *owner);
  /* Tool mode: nothing of the held response reached the caller yet:
   * answers status with message instead and returns 0; else -EALREADY. */
  int (*fail_unsent)(void *owner, int status, const char *message);
  /* Starts (period_ms > 0) or stops (0) the heartbeat: the exchange calls
   * pause_heartbeat() every period_ms while it runs. */
  void (*heartbeat)(void *owner, uint64_t period_ms);
  /* Why the response ends, for the access log (a static string). */
  void (*outcome)(void *owner, const char *outcome);
  /* The base of the request's links (linkbase_of()), NUL-terminated. */
  void (*base_url)(void *owner, char *out, size_t cap);
  /* The held body bytes [from, to) as one span (*len bytes at the returned
   * pointer, valid until the exchange is called again), or NULL when they
   * are not all held (rewrite: the detected event's raw bytes). */
  const char *(*held)(void *owner, uint64_t from, uint64_t to, size_t *len);
  /* Tool mode, the user declined: the held bytes [from, to) give way to ev
   * (freed: the result in rewrite form) and the held response goes out
   * with it, the rest as PAUSE_RELEASE sends it. Returns 0, or -EALREADY
   * when [from, to) is not held whole (nothing done, ev freed). */
  int (*answer_held)(void *owner, uint64_t from, uint64_t to, dynbuf *ev);
} pause_ops;

/* What the exchange tells the pause about the response, at each detection.
 * Pointers are borrowed and must stay valid until the response ends. */
typedef struct pause_stream {
  const pause_ops *ops;
  void *owner;                 /* the exchange */
  uv_loop_t *loop;             /* the worker's: uv_now() for paused time */
  metrics_t *metrics;          /* the worker's */
  pausehub_mailbox *mailbox;   /* the worker's: outcomes arrive through it */
  const config_t *cfg;         /* the request's config */
  const config_route *route;   /* its route in cfg */
  const catalog_t *catalog;    /* connectors that may pause; NULL: any */
  framer_format format;        /* of the response body */
  const char *user;            /* trusted registered user; NULL: none */
  const char *stream_id;
  const char *request_body;    /* tool mode: the request body as kept (JSON-RPC
                                  params.name names the tool); NULL when none */
  size_t request_body_len;
  dialect_stream *dialect;     /* the response's dialect: tool calls seen, notices */
} pause_stream;

/* ---- the exchange tells the pause ---------------------------------------- */

/* The hook: the framer dispatched an event the detector matched (during the
 * framer's on_event; ev is valid for the call only). Decides whether the
 * stream is interrupted: returns 1 when the exchange must stop the framer
 * there and call pause_begin() once everything before the event went out,
 * 0 when the event passes (counted and logged as unhandled, with why).
 * *ps is allocated on the first detection acted on (*ps NULL before);
 * -ENOMEM is not returned: without memory the event passes. Counts the
 * detection by shape. */
int pause_on_detect(pause_t **ps, const pause_stream *st, const framer_event *ev);

/* The interrupted event's span in the body: where forwarding stops before
 * it (its first byte), and just past its last byte. */
uint64_t pause_event_start(const pause_t *ps);
uint64_t pause_event_end(const pause_t *ps);

/* The connector of the detection acted on (lower case), and its message
 * ("" when none): valid until the next detection or pause_free(). */
const char *pause_connector(const pause_t *ps);
const char *pause_message(const pause_t *ps);

/* Everything before the detected event went out; forwarded is the body
 * offset sent so far and held the bytes read past it. Waits on the link:
 * the event is rewritten with the trusted link (on_detect: rewrite),
 * withheld (replace) or forwarded (keep), the upstream stops, the client
 * gets the dialect's link notice (tool mode: nothing; the user hears of it
 * out of band). A call interrupted before is only rewritten with its link
 * and the stream goes on (ops->resume(PAUSE_CONTINUE)). More than max_held_bytes held ends the stream
 * (pause_overflow). When the link service refuses, the event passes and
 * the stream goes on (ops->resume(PAUSE_CONTINUE)). */
void pause_begin(pause_t *ps, uint64_t forwarded, size_t held);

/* 1 while waiting on a link (the upstream is not read); NULL gives 0. */
int pause_waiting(const pause_t *ps);

/* More than max_held_bytes arrived while waiting: relay_error 507 and the
 * stream ends (tool mode with nothing sent: a 507 answer). */
void pause_overflow(pause_t *ps);

/* Draining: a waiting stream ends now with relay_error 503 (its link stays
 * valid). No-op when not waiting; NULL is ignored. */
void pause_shutdown(pause_t *ps);

/* The client went away: the wait is cancelled (the link is revoked when
 * nobody else waits). No-op when not waiting; NULL is ignored. */
void pause_client_gone(pause_t *ps);

/* The heartbeat period passed: writes ": paused" (SSE). */
void pause_heartbeat(pause_t *ps);

/* A new request begins on the connection: the per-response counts restart.
 * NULL is ignored. */
void pause_request_begin(pause_t *ps);

/* Milliseconds spent waiting in this response, for the access log. */
uint64_t pause_ms(const pause_t *ps);

/* Frees ps (not waiting any more: see pause_client_gone); NULL is ignored. */
void pause_free(pause_t *ps);

#endif
