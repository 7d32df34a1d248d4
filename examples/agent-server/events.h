/* events: renders the deterministic event streams of GET /stream.
 *
 * A body is cut into count + 1 pieces: pieces 0..count-1 are the events
 * (seq = piece index) and piece count is the trailer (the "done" event for SSE
 * and NDJSON, the closing of the array for json). Rendering depends only on the
 * spec and the piece index, except for "ts" (CLOCK_MONOTONIC at render time),
 * so two requests with the same query give byte-identical bodies when ts is off.
 *
 * Normal event (JSON):  {"type":"delta","seq":3[,"stream":ID][,"ts":NS],"text":"..."}
 *   "text" is padded with a fixed pattern so that the JSON is about `size` bytes.
 * SSE:     [id: SEQ\n]event: delta\ndata: JSON\n\n     trailer  event: done\ndata: {"type":"done",...}\n\n
 * NDJSON:  JSON\n                                      trailer  {"type":"done",...}\n
 * json:    {"type":"response"[,"stream":ID],"events":[JSON,JSON,...],"count":N}\n
 *
 * The auth-required event replaces event auth_at (same seq) and is wrapped by shape:
 *   authenticate_meta  {"type":"tool_result","seq":K,...,"tool_call_id":"call_K","tool_name":"slack__send_message",
 *                       "result":{"type":"authenticate_meta","Connector":"slack","link_token":...,"expires_at":...,"message":...}}
 *   magic_link         {"type":"tool_result",...,"result":{"message":...,"magic_link_url":...,"link_token":...}}
 *   mcp                {"jsonrpc":"2.0","id":K,"seq":K,...,"result":{"content":[{"type":"text","text":"<authenticate_meta JSON as a string>"}],"isError":false}}
 *   openai             {"type":"function_call_output","seq":K,...,"call_id":"call_K","output":"<authenticate_meta JSON as a string>"}
 *   vercel             {"type":"tool-output-available","seq":K,...,"toolCallId":"call_K","output":{authenticate_meta object}}
 * SSE event names: tool_result (authenticate_meta, magic_link), message (mcp),
 * response.output_item.done (openai), none (vercel: data-only, as the AI SDK sends).
 */
#ifndef AGENT_EVENTS_H
#define AGENT_EVENTS_H

#include "buf.h"

enum ev_format { EV_SSE, EV_NDJSON, EV_JSON };
enum ev_shape { EV_AUTHENTICATE_META, EV_MAGIC_LINK, EV_MCP, EV_OPENAI, EV_VERCEL };

typedef struct {
  enum ev_format format;
  enum ev_shape shape;
  long count;          /* number of events (the trailer is extra) */
  long size;           /* pad each event's JSON to about this many bytes */
  long auth_at;        /* index of the auth-required event, -1 = none */
  int ts;              /* put "ts" (CLOCK_MONOTONIC ns) in each event */
  int ts_fixed;        /* render ts at a fixed width (for Content-Length bodies) */
  int sse_ids;         /* SSE: an "id: SEQ" line per event */
  int has_stream_id;   /* put "stream":stream_id in each event */
  long long stream_id;
  char connector[64];
  char link_token[128];
  char expires_at[64];
} ev_spec;

int ev_parse_format(const char *s, enum ev_format *out);
int ev_parse_shape(const char *s, enum ev_shape *out);
const char *ev_content_type(enum ev_format f);
/* Appends piece i (0 <= i <= count) to out. Returns 1 when it was the
 * auth-required event, else 0. */
int ev_render_piece(const ev_spec *s, long i, buf_t *out);

#endif
