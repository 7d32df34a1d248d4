/* dialect_int: what dialect.c and the one-file-per-dialect tables share.
 *
 * A dialect is a dialect_ops table: how sure it is that a stream speaks it
 * (sniff, from a probe of the head and the first event), which events it
 * parses for tool calls and ids (wants: a memmem prefilter; on_object: the
 * objects jscan reports), whether on_detect replace may withhold, and how
 * it renders notices (with the dout_* writers below). Only dialect.c and
 * the dialect files include this header.
 */
#ifndef AUTHRELAY_DIALECT_INT_H
#define AUTHRELAY_DIALECT_INT_H

#include <stddef.h>

#include "dialect.h"
#include "dynbuf.h"
#include "jscan.h"

#define PROBE_TEXT_MAX 64 /* a probed member value kept (longer ones are cut) */

/* What sniffing sees of a response: its head and one event. */
typedef struct dialect_probe {
  int ai_sdk_header;              /* x-vercel-ai-ui-message-stream */
  int tool_route;                 /* mode: tool */
  const char *event;              /* SSE event name, NULL: none */
  size_t event_len;
  int object;                     /* the event's data is a JSON object */
  char type[PROBE_TEXT_MAX + 1];  /* top-level "type" ("" absent) */
  char object_name[PROBE_TEXT_MAX + 1]; /* top-level "object" */
  char method[PROBE_TEXT_MAX + 1]; /* top-level "method" */
  char result_kind[PROBE_TEXT_MAX + 1]; /* "result"."kind" (A2A v0.3), or the member
                                           "result" wraps its object in (A2A v1.0:
                                           "task", "statusUpdate", ...) */
  int jsonrpc;                    /* top-level "jsonrpc" */
  int has_result;                 /* top-level "result" */
  int result_content;             /* "result"."content" is an array (MCP tool result) */
} dialect_probe;

/* Writes into a dynbuf; the first error sticks and later writes do nothing. */
typedef struct dialect_out {
  dynbuf *b;
  int rc; /* 0, or the first dynbuf error */
} dialect_out;

typedef struct dialect_ops {
  dialect_id id;
  const char *name;        /* the config word */
  int replace_ok;          /* on_detect replace may withhold an event (generic) */
  /* 0 (not this dialect) to 100 (certain). */
  int (*sniff)(const dialect_probe *p);
  /* 1 when data may hold what on_object looks for (a memmem prefilter). */
  int (*wants)(const dialect_stream *s, const char *data, size_t len);
  /* An object of an event that passed wants (jscan.h). May be NULL. */
  void (*on_object)(dialect_stream *s, const jscan_obj *o);
  /* Appends n to o in the stream's framing (nothing: no carrier). */
  void (*render)(dialect_stream *s, const dialect_notice *n, dialect_out *o);
} dialect_ops;

extern const dialect_ops dialect_generic_ops;
extern const dialect_ops dialect_openai_responses_ops;
extern const dialect_ops dialect_openai_chat_ops;
extern const dialect_ops dialect_anthropic_ops;
extern const dialect_ops dialect_ai_sdk_ops;
extern const dialect_ops dialect_ag_ui_ops;
extern const dialect_ops dialect_a2a_ops;
extern const dialect_ops dialect_mcp_ops;

/* ---- dialect.c, for the dialect files ---- */

/* Remembers that call id is for tool name (nothing when the name names no
 * connector: "authenticate_<slug>" or "<slug>__<tool>"). */
void dialect_track(dialect_stream *s, jscan_str id, jscan_str tool_name);

/* 1 when data[0, len) contains one of the NULL-terminated markers. */
int dialect_has_marker(const char *data, size_t len, const char *const *markers);

/* Copies a JSON-RPC id (its JSON text: a number, or a string re-quoted)
 * into s->rpc_id when it is not known yet. */
void dialect_keep_rpc_id(dialect_stream *s, jscan_str id, int is_number);

/* The stream's JSON-RPC ids to write into, allocated on first use; NULL
 * when that failed (nothing is kept then). */
dialect_rpc *dialect_rpc_mut(dialect_stream *s);

/* Copies v into dst[cap] when it fits (else leaves dst as it is). */
void dialect_copy(char *dst, size_t cap, jscan_str v);

/* The notice's "type": "link_token", "auth_complete", ... */
const char *dialect_notice_type(dialect_notice_kind kind);

/* ---- writers ---- */

void dout_raw(dialect_out *o, const char *s);
/* A quoted JSON string; NULL writes "". */
void dout_str(dialect_out *o, const char *s);
void dout_u64(dialect_out *o, uint64_t v);
/* ,"name":"value" */
void dout_member(dialect_out *o, const char *name, const char *value);
/* Opens one event: SSE "event: NAME\n" (when name is not NULL) + "data: ";
 * NDJSON nothing. */
void dout_open(dialect_out *o, const dialect_stream *s, const char *event_name);
/* Closes it: SSE "\n\n", NDJSON "\n". */
void dout_close(dialect_out *o, const dialect_stream *s);
/* The notice as authrelay's own JSON object (DESIGN.md "Events authrelay
 * writes into a stream"): {"type":"link_token","stream_id":...}. */
void dout_notice_object(dialect_out *o, const dialect_notice *n);
/* SSE: the notice object in a comment line, ": authrelay {...}\n\n", or the
 * heartbeat ": paused\n\n"; NDJSON and JSON: nothing (no comments). */
void dout_comment(dialect_out *o, const dialect_stream *s, const dialect_notice *n);
/* The start of a notice in a dialect that gives every notice an event of its
 * own: nothing in JSON framing (a body has no room for one), a heartbeat as
 * dout_comment(). Returns 1 when the event is open (dout_open(event_name)):
 * the caller writes its JSON, then dout_close(); 0 when all is written. */
int dout_open_notice(dialect_out *o, const dialect_stream *s, const dialect_notice *n,
                     const char *event_name);
/* The same in a dialect whose only event of authrelay's is its error event:
 * every other notice, and any in JSON framing, as dout_comment(). Returns 1
 * when the relay_error event is open (dout_open(event_name)). */
int dout_open_error(dialect_out *o, const dialect_stream *s, const dialect_notice *n,
                    const char *event_name);

#endif
