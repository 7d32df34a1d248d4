/* exchange_int: the exchange module's own header, shared by its files and
 * by no one else:
 *   exchange.c  the client connection: accepting, writing to the client
 *               (gathered, one write per iteration, back-pressure), closing,
 *               authrelay's own answers (errors, the link page)
 *   request.c   the request side: llhttp callbacks, the proxy rules, the
 *               body streamed up, the upstream connection, the next request
 *   response.c  the response side: head, event-atomic forwarding through
 *               the framer, the end; and the exchange's side of the pause
 *               seam (pause.h: pause_ops)
 *   retry.c     resume: retry and tool mode: the kept request sent again,
 *               its response spliced in or put in place of the held one
 *   exchange_mcp.c  tool mode, MCP: URL elicitation (mcpsession.h)
 *   credinject.c    tool mode: the user's credential added to the request
 * The interrupt logic itself (pause.c) does not see this struct.
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
#include "pause.h"
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
  worker_conn conn;            /* on the worker's list of connections */
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
  /* the pause (pause.h) */
  char *user;                  /* trusted registered user (heap); NULL when none */
  pause_t *pause;              /* heap, from the first detection acted on; owned */
  int pause_pending;           /* the framer stopped on a detection to act on */
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
  dialect_stream dialect;      /* the response's dialect (dialect.h): sniffed,
                                  told every event; its memory owned */
  dynbuf held;                 /* body bytes [forwarded, framer offset) */
  uint64_t forwarded;          /* body bytes passed to the client */
  int upstream_paused;         /* upstream reads stopped: client not keeping up */
  uint64_t bytes_in;           /* client bytes read for this request */
  uint64_t bytes_out;          /* bytes written to the client for this request */
  netio_batch out;             /* client output of this loop iteration, not yet written */
  posted_entry flush;          /* posted to the worker while out waits */
  uint64_t start_ms;
  /* credential injection (credinject.h) */
  pausehub_page *cred_req;     /* credential asked of the control loop, not answered yet */
  int cred_for_retry;          /* ... for a retry (else for the first send) */
  int cred_wait_body;          /* the body is being read before the credential is asked */
  char *cred_line;             /* "Header: value\r\n" for upstream (heap, wiped); NULL: none */
  size_t cred_line_len;
  char *mcp_get_sid;           /* tool mode: the Mcp-Session-Id whose events this
                                  GET stream carries (mcpsession.h); heap, NULL: none */
  char stream_id[32];
} exchange;

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

/* ---- exchange.c --------------------------------------------------------- */

/* Closes the client connection at once. */
void ex_close(exchange *ex);

/* Closes once what was written has gone out. */
void ex_close_after_writes(exchange *ex);

/* Gathers bytes for the client: they go out as one write at the end of
 * the upstream read being relayed, or after this loop iteration's I/O
 * callbacks (the worker's posted work). Returns 0, or an error (the
 * connection is then closed). */
int ex_client_write(exchange *ex, const uv_buf_t *bufs, unsigned n);

/* Sends what was gathered now, then checks back-pressure. Returns 0, or an
 * error (the connection is then closed). */
int ex_client_flush(exchange *ex);

/* Writes the response head if it is still waiting. Returns as
 * ex_client_write(). */
int ex_client_flush_head(exchange *ex);

/* Starts or stops reading the client, as paused_for_body and
 * paused_for_unparsed say. */
void ex_client_update_reading(exchange *ex);

/* Writes response body bytes: nparts (at most EX_WRITE_MAX_PARTS) buffers,
 * as one chunk when the response is chunked; the head goes first if it is
 * still waiting. Returns 0, UV_EINVAL for more parts, or a write error (the
 * connection is then closed). */
#define EX_WRITE_MAX_PARTS 4
int ex_write_body(exchange *ex, const uv_buf_t *parts, unsigned nparts);

/* Answers status with a JSON error body and closes (only when nothing of a
 * response was sent; else closes). */
void ex_refuse(exchange *ex, int status, const char *message);

/* The access log line of the request. */
void ex_log_access(exchange *ex, const char *outcome);

/* The response no longer counts in streams_active (and a GET stream no
 * longer carries its MCP session's notifications). */
void ex_stream_uncount(exchange *ex);

/* The base of this request's links (linkbase_of(): public_url, else
 * "http://" + its Host): of magic_link_url and of the Link page's own URLs. */
void ex_base_url(const exchange *ex, char *out, size_t cap);

/* /_authrelay/...: hands the request to the control loop (the link page). */
void ex_answer_local(exchange *ex);

/* ---- request.c ----------------------------------------------------------- */

/* Prepares the request side of a new connection (parser, head, buffers)
 * and starts reading. Returns 0 or a libuv error. */
int ex_request_init(exchange *ex);

/* libuv's read callback of the client connection. */
void ex_client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* The response is complete and the request was read: next request, or
 * close. */
void ex_finish_request(exchange *ex);

/* The upstream connection is ready or failed (status). */
void ex_up_on_connect(void *ctx, int status);

/* The upstream took the request body bytes it had queued. */
void ex_up_on_writable(void *ctx);

/* ---- response.c ---------------------------------------------------------- */

extern const upstream_callbacks ex_upstream_callbacks; /* the exchange's upstream events */

/* The framer for a response of format fmt, with the exchange's callbacks. */
void ex_framer_init(exchange *ex, framer_format fmt);

/* Starts the response's dialect over (dialect.h): the route's setting, the
 * response head r, the request as kept. */
void ex_dialect_init(exchange *ex, const upstream_response *r, framer_format fmt);

/* Writes relay_error (status, message) in the response's dialect. */
void ex_write_relay_error(exchange *ex, int status, const char *message);

/* The framer_format for a response, or -1 when it must be refused. */
int ex_response_format(exchange *ex, const upstream_response *r);

/* Forwards body bytes [forwarded, target): held ones first, then from p
 * (which starts at stream offset off0); keeps the rest of p held. */
void ex_send_until(exchange *ex, uint64_t target, const char *p, size_t n, uint64_t off0);

/* ex_send_until() from the held bytes only. */
void ex_flush_held_until(exchange *ex, uint64_t target);

/* Drops held bytes up to target: counted as forwarded, never sent. */
void ex_withhold_until(exchange *ex, uint64_t target);

/* Frames the held bytes not yet framed, forwards, reads upstream again (or
 * ends a response that ended while paused). */
void ex_resume_relaying(exchange *ex);

/* The upstream response ended (status as upstream's on_end): end the
 * client's response. */
void ex_response_ended(exchange *ex, int status);

/* Ends the client's response now (after an injected event). */
void ex_end_stream(exchange *ex);

/* The form authrelay's own events take in this response (SSE or NDJSON). */
inject_form ex_inject_form(const exchange *ex);

/* Writes an event rendered into ev when rc (the inject_* result) is 0, then
 * frees ev. */
void ex_write_event(exchange *ex, dynbuf *ev, int rc);

/* Tool mode: drops the held response (head and body, nothing sent yet)
 * and the upstream connection, so that a retry's response takes its place. */
void ex_forget_response(exchange *ex);

/* Tool mode: 1 while the response to a POST is held whole (nothing of it
 * forwarded yet), so that a retry or an answer of authrelay's replaces it. */
int ex_holds_whole(const exchange *ex);

/* 1 on a mode: tool route. */
int ex_tool_mode(const exchange *ex);

/* Tool mode: 1 while nothing of the held response reached the caller. */
int ex_tool_unsent(const exchange *ex);

/* Builds the request head sent upstream (proxyhead.h says what goes; on a
 * route with credentials without the agent's header of that name). Returns
 * 0 or dynbuf's error. */
int ex_build_request_head(exchange *ex, dynbuf *out);

/* The request may go upstream: acquires a connection and sends it. */
void ex_start_upstream(exchange *ex);

/* ---- credinject.c -------------------------------------------------------- */

/* The request head was read (or, while cred_wait_body, more of the body):
 * sends it upstream, first asking for the user's credential on a route
 * with credentials (credinject.h). */
void ex_cred_start(exchange *ex);

/* A retry is about to connect: asks for the credential again first, then
 * retry_connect(). */
void ex_cred_retry(exchange *ex);

/* The control loop answered the credential request pg (its owner is there). */
void ex_cred_answered(pausehub_page *pg);

/* A request ends or the exchange goes: the credential request in flight
 * is abandoned, the line wiped. */
void ex_cred_reset(exchange *ex);

/* ---- exchange_mcp.c ------------------------------------------------------ */

/* Tool mode, at a response head (format fmt): remembers an initialize's
 * URL elicitation capability, or registers a GET event stream. */
void ex_mcp_on_head(exchange *ex, const upstream_response *r, framer_format fmt);

/* Tool mode, at a detection acted on: answers a tools/call of a session
 * that declared URL elicitation with -32042 and the trusted link. Returns
 * 0 when answered (the exchange went on), else an error: hold it. */
int ex_mcp_elicit(exchange *ex);

/* The response ends: a GET stream stops carrying its MCP session's
 * notifications. */
void ex_mcp_stream_end(exchange *ex);

#endif
