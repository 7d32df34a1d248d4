/* mcpsession: MCP URL elicitation in tool mode (DESIGN.md "Dialects", mcp;
 * MCP spec 2025-11-25, "URL mode elicitation").
 *
 * A tool call held until the user connects an account (hold and retry) is
 * the default in tool mode. An MCP client that declared URL elicitation in
 * its `initialize` (params.capabilities.elicitation.url) is answered at once
 * instead: the tools/call gets the JSON-RPC error -32042 whose
 * data.elicitations[0] carries authrelay's trusted link, and when the link
 * completes, `notifications/elicitation/complete` goes out on that
 * session's GET event stream; the client then calls the tool again.
 *
 * This module keeps what that needs across requests:
 * - the sessions that declared URL elicitation, keyed by the
 *   Mcp-Session-Id the upstream assigned in its answer to `initialize`
 *   (later requests name it in their own Mcp-Session-Id): a table bounded
 *   in count (least recently used goes first) and idle time;
 * - for each, the GET event stream relayed for it (at most one: the
 *   latest), as its exchange registered it;
 * - the elicitations given out, each a waiter on the link (pausehub.h)
 *   that keeps the link pending until it ends.
 * One table serves the process (mcpsession_shared): a session's
 * initialize, calls and GET stream may come on different connections,
 * hence on different workers, so the table is behind a mutex. An
 * elicitation waits on the worker that relays the session's GET stream
 * when it is given out (else on the one that answered the call) and is
 * delivered there; when no GET stream of the session is open on that
 * worker then (none, it closed, or it reopened on another worker), the
 * notification is dropped and logged: the spec lets the client call again
 * anyway.
 *
 * Trust: the capability is the client's own declaration and the URL is
 * authrelay's, so a forged session id gains nothing; a notification goes
 * only to a GET stream of the same registered user.
 *
 * The exchange (response.c) calls it; nothing here touches a socket.
 */
#ifndef AUTHRELAY_MCPSESSION_H
#define AUTHRELAY_MCPSESSION_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "linksvc.h"
#include "pausehub.h"

#define MCPSESSION_SID_MAX 128            /* longest Mcp-Session-Id remembered */
#define MCPSESSION_BODY_MAX 65536         /* longest JSON-RPC body parsed */
#define MCPSESSION_DEPTH_MAX 32           /* deepest nesting of a body parsed */
#define MCPSESSION_RPC_ID_MAX 200         /* longest request id (its JSON text) echoed */
#define MCPSESSION_SESSIONS_MAX 10000     /* sessions remembered by the shared table */
#define MCPSESSION_IDLE_MS (24ull * 3600 * 1000) /* a session unused this long is forgotten */
#define MCPSESSION_ELICITATIONS_MAX 4096  /* elicitations waiting at once, all sessions */
#define MCPSESSION_ELICITATION_ID_LEN 35  /* "el_" + 32 hex digits */
#define MCPSESSION_ERROR_CODE (-32042)    /* URLElicitationRequiredError */

typedef struct mcpsession_table mcpsession_table;

/* What a JSON-RPC request body says, as far as this module cares. */
typedef struct mcpsession_rpc {
  int initialize;      /* method "initialize" */
  int tools_call;      /* method "tools/call" */
  int url_elicitation; /* initialize: params.capabilities.elicitation.url is an object */
  char id[MCPSESSION_RPC_ID_MAX + 1]; /* the id as JSON text (a number or a
                                         quoted string); "" when none */
} mcpsession_rpc;

/* Reads a JSON-RPC request body body[0, len) (not NUL-terminated), at most
 * MCPSESSION_BODY_MAX bytes nested MCPSESSION_DEPTH_MAX deep. Returns 0
 * (*rpc filled), -E2BIG (too long), or -EINVAL (not one JSON-RPC request
 * object; a batch is not read). */
int mcpsession_parse(const char *body, size_t len, mcpsession_rpc *rpc);

/* ---- the table ------------------------------------------------------------ */

/* A table of at most max_sessions (>= 1) sessions forgotten after idle_ms
 * unused, and at most max_elicitations waiting elicitations. NULL when out
 * of memory. */
mcpsession_table *mcpsession_table_new(size_t max_sessions, uint64_t idle_ms, size_t max_elicitations);

/* Frees t; its elicitations must have ended (mcpsession_worker_gone). */
void mcpsession_table_free(mcpsession_table *t);

/* The process's table (MCPSESSION_SESSIONS_MAX, MCPSESSION_IDLE_MS,
 * MCPSESSION_ELICITATIONS_MAX), made on first use; NULL when out of
 * memory. Lives until the process ends. */
mcpsession_table *mcpsession_shared(void);

/* An `initialize` was answered with session id sid[0, len): remembers it
 * when declared (URL elicitation), else forgets it. Returns 0, -EINVAL (an
 * id longer than MCPSESSION_SID_MAX or with a byte outside 0x21-0x7e: not
 * remembered) or -ENOMEM. now_ms: any monotonic clock, the same for every
 * call on t. */
int mcpsession_remember(mcpsession_table *t, const char *sid, size_t len, int declared, uint64_t now_ms);

/* 1 when session sid declared URL elicitation (it counts as used now),
 * else 0. */
int mcpsession_declared(mcpsession_table *t, const char *sid, size_t len, uint64_t now_ms);

/* Sessions remembered, and elicitations waiting. */
size_t mcpsession_count(mcpsession_table *t);
size_t mcpsession_elicitations(mcpsession_table *t);

/* ---- the session's GET event stream --------------------------------------- */

/* Writes one SSE event ev[0, len) into the GET stream owner at an event
 * boundary. Returns 0, or a negative error when it cannot now (it is then
 * not written). Called on the stream's own loop, without the table's lock. */
typedef int (*mcpsession_notify_fn)(void *owner, const char *ev, size_t len);

/* The GET stream owner (an exchange on box's worker, relaying an SSE
 * response for registered user `user`) carries session sid's server
 * events. It replaces the session's previous one. Returns 0, -ENOENT (the
 * session did not declare URL elicitation: nothing to carry) or -EINVAL. */
int mcpsession_stream_open(mcpsession_table *t, const char *sid, size_t len, void *owner, pausehub_mailbox *box,
                           mcpsession_notify_fn notify, const char *user, uint64_t now_ms);

/* The GET stream owner of session sid ended (no-op when another stream
 * replaced it, or the session was forgotten). */
void mcpsession_stream_close(mcpsession_table *t, const char *sid, size_t len, const void *owner);

/* ---- elicitations ---------------------------------------------------------- */

/* A tools/call to answer with a URL elicitation. Strings are borrowed for
 * the call. */
typedef struct mcpsession_call {
  const char *sid;        /* the call's Mcp-Session-Id, sid_len bytes */
  size_t sid_len;
  const char *user;       /* trusted registered user */
  const char *connector;  /* lower-case slug */
  const char *stream_id;  /* the call's stream, as the control API lists it */
  const char *base_url;   /* the link base (linkbase_of()), NUL-terminated */
} mcpsession_call;

/* Starts an elicitation for call, answered on box's worker: the link of
 * (user, connector) is joined or minted (pausehub_wait) and kept pending
 * until it ends, waiting on the worker of the session's GET stream of the
 * same user if one is open, else on box's; then (completed, or resumed by
 * the operator) that GET stream gets notifications/elicitation/complete.
 * now_ms: the wall clock (the link's times). id gets the fresh
 * elicitationId, url (cap bytes) the trusted link: base_url + its path.
 * Returns 0, -EBUSY (MCPSESSION_ELICITATIONS_MAX waiting), -ENOSPC (url
 * too small), -ENOMEM, -EIO (no random source) or pausehub_wait()'s error. */
int mcpsession_elicit(mcpsession_table *t, pausehub_mailbox *box, const mcpsession_call *call, uint64_t now_ms,
                      char id[MCPSESSION_ELICITATION_ID_LEN + 1], char *url, size_t cap);

/* Withdraws elicitation id (the answer carrying it could not be given),
 * called on box's worker. No-op when unknown, or when it waits on another
 * worker (only that loop may cancel it): it then ends with its link, and
 * the GET stream may get a notification for an id its client never saw. */
void mcpsession_elicit_cancel(mcpsession_table *t, pausehub_mailbox *box, const char *id);

/* box's worker is going away: its elicitations stop waiting (before its
 * mailbox closes). */
void mcpsession_worker_gone(mcpsession_table *t, pausehub_mailbox *box);

/* ---- what goes on the wire ------------------------------------------------- */

/* Appends the answer to a tools/call: {"jsonrpc":"2.0","id":rpc_id,
 * "error":{"code":-32042,"message":...,"data":{"elicitations":[{"mode":"url",
 * "elicitationId":id,"url":url,"message":message}]}}}, as a JSON body, or
 * (sse) as one SSE event named message. Returns 0 or a dynbuf error. */
int mcpsession_render_answer(dynbuf *out, int sse, const char *rpc_id, const char *id, const char *url,
                             const char *message);

/* Appends notifications/elicitation/complete for elicitation id as one SSE
 * event named message. Returns 0 or a dynbuf error. */
int mcpsession_render_complete(dynbuf *out, const char *id);

#endif
