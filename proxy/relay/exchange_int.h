/* exchange_int: what exchange.c (one client connection and the response it
 * relays) and pause.c (auth interrupts on that response) share.
 *
 * Only these two files include it. exchange.c owns the connection: request
 * parsing, the upstream exchange, event-atomic forwarding, ending the
 * response. pause.c owns what DESIGN.md "The pause" adds: withholding the
 * detected event, link_token, heartbeats, the outcome from pausehub, and
 * resuming (continue, or retry with the kept request).
 */
#ifndef AUTHRELAY_EXCHANGE_INT_H
#define AUTHRELAY_EXCHANGE_INT_H

#include <stdint.h>
#include <uv.h>

#include <llhttp.h>

#include "dynbuf.h"
#include "framer.h"
#include "http.h"
#include "identity.h"
#include "inject.h"
#include "linksvc.h"
#include "metrics.h"
#include "netio.h"
#include "pausehub.h"
#include "proxyhead.h"
#include "upstream.h"
#include "worker.h"

enum exchange_state { EX_IDLE = 0, EX_HEAD, EX_CONNECTING, EX_ACTIVE, EX_CLOSING };

#define UNPARSED_MAX (2 * NETIO_READ_BUFFER_BYTES) /* pipelined bytes kept while busy */

typedef struct exchange {
  uv_tcp_t tcp;                /* the client connection */
  uv_timer_t timer;            /* head timeout, or keep-alive idle timeout */
  uv_shutdown_t shutdown;      /* graceful close after the last response */
  worker_t *w;
  worker_gen *gen;             /* config and pools of the request (pinned at its
                                  start, kept until the next one); a reference */
  struct exchange *next;       /* worker's list of connections */
  struct exchange *prev;
  int handles_open;            /* tcp and timer not yet closed */
  int state;                   /* enum exchange_state */
  llhttp_t parser;
  http_head req;               /* head of the request being read */
  dynbuf unparsed;             /* client bytes waiting for the parser */
  dynbuf early_body;           /* request body, framed for upstream, waiting for it */
  proxyhead_reader rd;         /* reads req with the request rules (proxyhead.h) */
  proxyhead_request rq;        /* what they found in the head of the request */
  const char *end_outcome;     /* static; the access log's outcome when authrelay
                                  ends the exchange for a reason (NULL: none) */
  int in_parse;                /* client_parse() is on the stack */
  int reparse;                 /* a request finished inside it: parse unparsed next */
  char peer_ip[64];            /* client address, for X-Forwarded-For and logs */
  struct sockaddr_storage peer; /* client address, for the identity rules */
  /* answers authrelay gives itself (the link page) */
  int local;                   /* the request is for /_authrelay/: no upstream */
  int local_ready;             /* its body was read: answer once parsing stops */
  pausehub_page *page;         /* handed to the control loop, not answered yet */
  /* the pause (DESIGN.md "The pause") */
  char *user;                  /* trusted registered user (heap); NULL when none */
  struct ex_pause *pause;      /* heap, from the first detection acted on */
  unsigned pauses;             /* pauses so far in this response */
  int pause_pending;           /* the framer stopped on a detection to act on */
  uint64_t pause_start;        /* stream span of the detected event */
  uint64_t pause_end;
  int paused;                  /* waiting on the link: upstream not read */
  uint64_t paused_since;       /* uv_now() when the pause began */
  uint64_t paused_ms;          /* time paused in this response, for the access log */
  /* resume: retry (the request is kept to be sent again) */
  dynbuf replay_head;          /* request head as sent upstream; empty: not kept */
  dynbuf replay_body;          /* request body as sent upstream (framed) */
  int replay_ok;               /* the whole request fits under max_replay_body */
  unsigned retries;            /* X-Authrelay-Retry of the attempt in flight */
  int retrying;                /* the upstream exchange in flight is a retry */
  int retry_fresh;             /* ... whose response replaces the held one whole
                                  (tool mode, nothing sent to the client yet) */
  int deferred_end;            /* the upstream response ended while paused */
  int deferred_status;         /* its on_end status */
  /* the request */
  size_t route_index;
  upstream_conn *up;
  int need_upstream;           /* head complete: acquire once this read is parsed */
  int upstream_ready;          /* request head written upstream */
  int head_request;
  int req_chunked;             /* request body is chunked: re-chunk it upstream */
  int req_done;                /* the whole request was read */
  int expect_continue;         /* answer 100 Continue once the upstream is ready */
  uint64_t req_body_bytes;
  int client_keep_alive;       /* the client allows another request */
  int client_http_minor;
  int paused_for_body;         /* client reads stopped: upstream not keeping up */
  int paused_for_unparsed;     /* client reads stopped: unparsed is full */
  /* the response */
  int resp_status;
  int resp_started;            /* head sent, or in resp_head about to be sent */
  dynbuf resp_head;            /* head built but not written yet: it goes out with
                                  the first body bytes or at the end of the read, so
                                  that a response malformed within its first read
                                  still becomes a clean 502 */
  int resp_chunked;            /* body framed as chunked for the client */
  int reframed;                /* an SSE/NDJSON body with Content-Length goes out chunked
                                  (or close-delimited): a pause changes its length */
  int resp_close;              /* close the connection after this response */
  int stream_counted;          /* counted in streams_active */
  int inspect;                 /* body goes through the framer */
  framer_t framer;
  dynbuf held;                 /* body bytes [forwarded, framer offset) */
  uint64_t forwarded;          /* body bytes passed to the client */
  int upstream_paused;         /* upstream reads stopped: client not keeping up */
  uint64_t bytes_in;           /* client bytes read for this request */
  uint64_t bytes_out;          /* bytes written to the client for this request */
  netio_batch out;             /* client output of this loop iteration, not yet written */
  int out_listed;              /* on the worker's flush_list */
  struct exchange *out_next;   /* next on that list */
  uint64_t start_ms;
  char stream_id[32];
} exchange;

/* The base of this request's links (linkbase_of(): public_url, else
 * "http://" + its Host): of magic_link_url and of the Link page's own URLs. */
void ex_base_url(const exchange *ex, char *out, size_t cap);

/* What a pause needs beyond the exchange's counters, kept apart so that a
 * stream that never pauses does not carry it: allocated at the first
 * detection acted on, reused by later pauses, freed with the exchange. */
typedef struct ex_pause {
  pausehub_waiter waiter;      /* valid while paused */
  exchange *ex;                /* the owner */
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  char message[512];           /* the detection's message ("" when none) */
} ex_pause;

/* The config the request began with: a reload does not change it. */
static inline const config_t *ex_cfg(const exchange *ex) {
  return &ex->gen->snap->cfg;
}

/* The upstream pool of the request's route, in its config. */
static inline upstream_pool *ex_pool(const exchange *ex) {
  return &ex->gen->pools[ex->route_index];
}

/* The connectors a detection may pause for in the request's config, or
 * NULL when any is accepted. */
static inline const catalog_t *ex_catalog(const exchange *ex) {
  return cfgsnap_catalog(ex->gen->snap);
}

/* ---- exchange.c, for pause.c ---- */

extern const upstream_callbacks ex_upstream_callbacks; /* the exchange's upstream events */
extern const framer_callbacks ex_framer_callbacks;     /* the exchange's framer events */

/* Closes the client connection at once. */
void ex_close(exchange *ex);

/* Writes response body bytes: nparts (at most EX_WRITE_MAX_PARTS) buffers,
 * as one chunk when the response is chunked; the head goes first if it is
 * still waiting. Returns 0, UV_EINVAL for more parts, or a write error (the
 * connection is then closed). */
#define EX_WRITE_MAX_PARTS 4
int ex_write_body(exchange *ex, const uv_buf_t *parts, unsigned nparts);

/* Forwards body bytes [forwarded, target): held ones first, then from p
 * (which starts at stream offset off0); keeps the rest of p held. */
void ex_send_until(exchange *ex, uint64_t target, const char *p, size_t n, uint64_t off0);

/* ex_send_until() from the held bytes only. */
void ex_flush_held_until(exchange *ex, uint64_t target);

/* How far forwarding may go now, with received bytes of body so far. */
uint64_t ex_forward_target(const exchange *ex, uint64_t received);

/* The upstream response ended (status as upstream's on_end): end the
 * client's response. */
void ex_response_ended(exchange *ex, int status);

/* The form authrelay's own events take in this response (SSE or NDJSON). */
inject_form ex_inject_form(const exchange *ex);

/* Writes an event rendered into ev when rc (the inject_* result) is 0, then
 * frees ev. */
void ex_write_event(exchange *ex, dynbuf *ev, int rc);

/* The framer_format for a response, or -1 when it must be refused. */
int ex_response_format(exchange *ex, const upstream_response *r);

/* ---- pause.c, for exchange.c ---- */

/* Why a detection is not acted on, or NULL when the stream may pause. */
const char *pause_refusal(const exchange *ex, const detect_match *m);

/* Keeps what the pause needs from the matched event (during on_event). */
void pause_note(exchange *ex, const framer_event *ev);

/* Everything before the detected event has gone out: pause the stream. */
void pause_begin(exchange *ex);

/* The pause is over (any outcome): stop waiting, count it. */
void pause_leave(exchange *ex, metrics_resume outcome);

/* More than max_held_bytes arrived while paused: relay_error, end. */
void pause_overflow(exchange *ex);

/* Frames the held bytes not yet framed, forwards, reads upstream again. */
void pause_resume_relaying(exchange *ex);

/* Ends the client's response now (after an injected event). */
void pause_end_stream(exchange *ex);

/* Draining: a paused stream ends now with relay_error 503. */
void pause_shutdown(exchange *ex);

/* 1 on a mode: tool route. */
int pause_tool_mode(const exchange *ex);

/* Tool mode: the response to a POST (a tool call: MCP tools/call) is held
 * whole until it ends (or passes max_held_bytes, or max_event_bytes), so
 * that a retry replaces it whole: events before the result (MCP progress
 * notifications) are not seen twice. A GET (a long-lived notification
 * stream) is relayed event by event. 1 while that holding applies. */
int ex_holds_whole(const exchange *ex);

/* Where forwarding stops when a detection pauses: the detected event's
 * start, or (a response held whole) where it is now. */
uint64_t ex_before_pause(const exchange *ex);

/* Tool mode: 1 while nothing of the held response reached the caller. */
int pause_tool_unsent(const exchange *ex);

/* Tool mode: the account is connected, send the call again. */
void pause_tool_retry(exchange *ex);

/* Tool mode: the link expired or was cancelled: the original response goes out. */
void pause_tool_release(exchange *ex);

/* Tool mode: drops the held response (head and body, nothing sent yet)
 * and the upstream connection, so that a retry's response takes its place. */
void ex_forget_response(exchange *ex);

/* Nothing was sent yet: answers status with a JSON error body, ending the
 * exchange (the connection closes). */
void ex_fail_unsent(exchange *ex, int status, const char *message);

/* resume: retry: the kept request is sent again on a new connection. */
void pause_retry_start(exchange *ex);
void pause_retry_send(exchange *ex);
void pause_retry_failed(exchange *ex, int status, const char *message);

/* The retried request's head: 0 when its body is spliced in. */
int pause_retry_on_head(exchange *ex, const upstream_response *r);

#endif
