/* dialect: the interrupt in each client's own terms (DESIGN.md "Dialects").
 *
 * Front ends read agent streams with SDKs that validate every part; a part
 * they do not know breaks the stream, a withheld one shifts numbered blocks.
 * A dialect_stream follows one relayed response and knows its dialect:
 *   - which it is: configured per route, or sniffed (dialect: auto) from the
 *     response head and the first event, falling back to generic;
 *   - which tool call is for which tool: dialect_observe() reads every event
 *     (a memmem prefilter first, so events without a tool-call marker cost
 *     a few scans and nothing else) and remembers up to DIALECT_MAX_CALLS
 *     call ids with the connector their tool name names;
 *   - what to do with an auth-required result (dialect_decide()): rewrite,
 *     replace (generic only) or keep; pause, or not (the call was
 *     interrupted before: one interrupt per tool call); for which connector
 *     (the result's, else the tool's of the same call, else none: a picker);
 *   - how to tell the client (dialect_render()): the notices link_token,
 *     auth_complete, link_expired, auth_declined, relay_error and the
 *     heartbeat in the dialect's own carrier, in the stream's framing.
 * It does no I/O and knows nothing of the exchange: the relay hands it
 * events and detections and writes what it renders.
 *
 * One file per dialect (generic.c, openai_responses.c, openai_chat.c,
 * anthropic.c, ai_sdk.c, ag_ui.c, a2a.c, mcp.c) fills a dialect_ops table
 * (dialect_int.h); dialect.c holds the registry, sniffing, the call table
 * and the decision.
 */
#ifndef AUTHRELAY_DIALECT_H
#define AUTHRELAY_DIALECT_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "dynbuf.h"

#define DIALECT_MAX_CALLS 64     /* tool calls remembered per stream; the oldest goes first */
#define DIALECT_MAX_LINKS 4      /* trusted links remembered per stream (for repeats) */
#define DIALECT_KEY_MAX 64       /* a call id longer than this is kept as a hash */
#define DIALECT_SLUG_MAX 64      /* connector slug (LINKSVC_CONNECTOR_MAX) */
#define DIALECT_TOKEN_MAX 128    /* trusted link token kept */
#define DIALECT_URL_MAX 1024     /* trusted magic_link_url kept */
#define DIALECT_TIME_MAX 64      /* trusted expires_at kept */
#define DIALECT_RPC_ID_MAX 64    /* JSON text of a JSON-RPC id kept (A2A, MCP) */
#define DIALECT_SNIFF_EVENTS 1   /* events dialect: auto looks at (DESIGN.md: the first) */
#define DIALECT_NOTICE_MAX 32768 /* cap of one rendered notice (INJECT_MAX_BYTES) */

/* The route key `dialect`, in config order (config_dialect has the same values). */
typedef enum dialect_id {
  DIALECT_AUTO = 0,
  DIALECT_GENERIC,
  DIALECT_OPENAI_RESPONSES,
  DIALECT_OPENAI_CHAT,
  DIALECT_ANTHROPIC,
  DIALECT_AI_SDK,
  DIALECT_AG_UI,
  DIALECT_A2A,
  DIALECT_MCP,
  DIALECT_COUNT
} dialect_id;

/* What happens to the bytes of a detected event (route key on_detect). */
typedef enum dialect_action {
  DIALECT_REWRITE = 0, /* forwarded in place, only the link values replaced */
  DIALECT_REPLACE,     /* withheld, the link notice in its place (generic only) */
  DIALECT_KEEP         /* forwarded untouched (the operator's explicit choice) */
} dialect_action;

/* How the stream is framed (the notices take the same form). */
typedef enum dialect_framing {
  DIALECT_FRAMING_SSE = 0,
  DIALECT_FRAMING_NDJSON,
  DIALECT_FRAMING_JSON /* one JSON body (tool mode): notices are never written into it */
} dialect_framing;

/* What the response head and route say, for sniffing. */
typedef struct dialect_head {
  int ai_sdk_header; /* the response has x-vercel-ai-ui-message-stream */
  int tool_route;    /* the route's mode is tool (MCP tools/call) */
} dialect_head;

/* A trusted link authrelay minted for a call (strings NUL-terminated). */
typedef struct dialect_link {
  char connector[DIALECT_SLUG_MAX + 1];
  char link_token[DIALECT_TOKEN_MAX + 1];
  char magic_link_url[DIALECT_URL_MAX + 1];
  char expires_at[DIALECT_TIME_MAX + 1];
} dialect_link;

/* One remembered tool call, or an interrupted result without a call id. */
typedef struct dialect_call {
  char key[DIALECT_KEY_MAX + 1];       /* call id, or a hash ("" free) */
  char connector[DIALECT_SLUG_MAX + 1]; /* from the call's tool name ("" none) */
  uint8_t hashed;                      /* key is a hash (long id, or a link token) */
  uint8_t interrupted;                 /* a pause was taken for it */
  uint8_t link;                        /* 1 + index into links of its trusted link, 0 none */
  uint32_t seq;                        /* insertion order: the lowest is evicted first */
} dialect_call;

/* What a stream remembers, allocated at its first tool call or detection. */
typedef struct dialect_memory {
  dialect_call calls[DIALECT_MAX_CALLS];
  uint32_t next_seq;
  dialect_link links[DIALECT_MAX_LINKS];
  unsigned nlinks;                     /* links stored so far (past the cap, the oldest slot is reused) */
} dialect_memory;

struct dialect_ops;

/* What a JSON-RPC stream (A2A, MCP) and its request name, kept for notices. */
typedef struct dialect_rpc {
  char rpc_id[DIALECT_RPC_ID_MAX + 1];          /* JSON text of the request's id ("" unknown) */
  char task_id[DIALECT_KEY_MAX + 1];            /* A2A taskId of the stream ("" unknown) */
  char context_id[DIALECT_KEY_MAX + 1];         /* A2A contextId ("" unknown) */
  char request_connector[DIALECT_SLUG_MAX + 1]; /* from the request's params.name ("" none) */
} dialect_rpc;

typedef struct dialect_stream {
  const struct dialect_ops *ops; /* the dialect in effect (generic until sniffed) */
  dialect_id configured;   /* the route's setting (DIALECT_AUTO: sniff) */
  dialect_framing framing;
  dialect_head head;
  int settled;             /* the dialect is decided for good */
  unsigned sniffed;        /* events looked at while sniffing */
  dialect_memory *mem;     /* heap, NULL until needed; owned */
  int mem_failed;          /* the allocation failed: nothing is remembered */
  uint64_t events;         /* events observed */
  uint64_t scans;          /* events parsed after the prefilter (for tests and bench) */
  dialect_rpc *rpc;        /* JSON-RPC ids (A2A, MCP): heap, NULL until one is kept
                              (an idle stream carries only the pointer); owned */
  int a2a_v1;              /* A2A v1.0 wire: results wrap task / statusUpdate /
                              artifactUpdate / message, states are TASK_STATE_* */
  unsigned notices;        /* notices rendered (A2A message ids) */
} dialect_stream;

/* What dialect_decide() found. */
typedef struct dialect_decision {
  dialect_action action;   /* what happens to the event's bytes */
  int pause;               /* 1: first detection of this call: pause; 0: interrupted before */
  int downgraded;          /* on_detect replace acts as rewrite here (not generic) */
  const dialect_link *link; /* pause == 0: the link this call got (rewrite with it
                               again); NULL when none is known. Owned by the stream;
                               valid until the next dialect_note_interrupt() */
  char connector[DIALECT_SLUG_MAX + 1]; /* lower-case slug; "" none: a picker link */
  const char *connector_from; /* "result", "tool_call", "stream_calls", "request" or
                                 "none"; static */
  char key[DIALECT_KEY_MAX + 1]; /* the call's id, or a hash of the result's link */
  int hashed;              /* key is a hash */
  char link_key[DIALECT_KEY_MAX + 1]; /* hash of the upstream link (else of the
                                         result's connector, message, expires_at):
                                         the same result repeated without a call id */
} dialect_decision;

typedef enum dialect_notice_kind {
  DIALECT_NOTICE_LINK_TOKEN = 0,
  DIALECT_NOTICE_AUTH_COMPLETE,
  DIALECT_NOTICE_LINK_EXPIRED,
  DIALECT_NOTICE_AUTH_DECLINED,
  DIALECT_NOTICE_RELAY_ERROR,
  DIALECT_NOTICE_HEARTBEAT
} dialect_notice_kind;

/* A notice to render. Strings are NUL-terminated, not owned; NULL or "" when
 * they do not apply. */
typedef struct dialect_notice {
  dialect_notice_kind kind;
  const char *stream_id;
  const char *connector;      /* "" or NULL: none (a picker link) */
  const char *link_token;     /* link_token */
  const char *magic_link_url; /* link_token */
  const char *expires_at;     /* link_token */
  const char *message;        /* link_token (NULL: a default sentence), relay_error */
  int status;                 /* relay_error */
} dialect_notice;

/* Prepares s for one response. configured is the route's dialect; head
 * what its response head says. Allocates nothing. */
void dialect_stream_init(dialect_stream *s, dialect_id configured, dialect_framing framing,
                         const dialect_head *head);

/* Frees what s holds. It may be initialised again. */
void dialect_stream_close(dialect_stream *s);

/* The stream's JSON-RPC ids: never NULL (all "" while none is known). The
 * result is owned by the stream; valid until dialect_stream_close(). */
const dialect_rpc *dialect_rpc_of(const dialect_stream *s);

/* The request as sent upstream (a JSON-RPC call: its id, and for tools/call
 * the connector of params.name). Bodies that are not one small JSON object
 * are ignored. */
void dialect_note_request(dialect_stream *s, const char *body, size_t len);

/* One complete event: name is the SSE event field (NULL: none), data its
 * payload. Sniffs while the dialect is not settled, then remembers tool
 * calls and JSON-RPC ids. Events without a marker of the dialect cost a
 * few memmem scans. */
void dialect_observe(dialect_stream *s, const char *name, size_t name_len, const char *data,
                     size_t len);

/* The dialect in effect. */
dialect_id dialect_current(const dialect_stream *s);

/* An auth-required result m was detected in the current event; on_detect
 * is the route's setting. Settles the dialect. Fills *d; never fails (a
 * stream whose memory could not be allocated pauses every detection). */
void dialect_decide(dialect_stream *s, const detect_match *m, dialect_action on_detect,
                    dialect_decision *d);

/* The pause for d was taken with the trusted link: later detections of the
 * same call (or the same upstream link) are rewritten with it, not paused.
 * Returns 0 or -ENOMEM (then they pause again). */
int dialect_note_interrupt(dialect_stream *s, const dialect_decision *d, const dialect_link *link);

/* Appends notice n in the stream's dialect and framing to out (nothing when
 * the dialect has no carrier for it: NDJSON comments, A2A before its ids
 * are known). Returns 0 or a dynbuf error (out is then as it was). */
int dialect_render(dialect_stream *s, const dialect_notice *n, dynbuf *out);

/* "auto", "generic", "openai-responses", ... (the config words). */
const char *dialect_name(dialect_id id);

/* Parses a config word. Returns 0 or -EINVAL. */
int dialect_parse(const char *word, dialect_id *out);

#endif
