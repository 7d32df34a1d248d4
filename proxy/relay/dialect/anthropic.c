/* anthropic: the Anthropic Messages stream (`event: message_start`,
 * content_block_start/delta/stop with an "index", message_delta,
 * message_stop). Content blocks are numbered: nothing is withheld (a
 * missing block shifts the indices and loses later text from the SDK's
 * final message), nothing injected in band; notices are SSE comments. A
 * relay_error ends the stream with the API's `error` event, which the SDK
 * raises.
 *
 * Tool calls: tool_use, server_tool_use and mcp_tool_use blocks (id, name);
 * their results (tool_result, mcp_tool_result) name them by tool_use_id.
 */
#include <string.h>

#include "dialect_int.h"

static int event_is(const dialect_probe *p, const char *name) {
  size_t n = strlen(name);
  return p->event != NULL && p->event_len == n && memcmp(p->event, name, n) == 0;
}

static int anthropic_sniff(const dialect_probe *p) {
  if (event_is(p, "message_start") || strcmp(p->type, "message_start") == 0)
    return 90;
  if (event_is(p, "content_block_start") || event_is(p, "content_block_delta") || event_is(p, "ping"))
    return 60; /* a stream joined late, or a proxy that dropped message_start */
  return 0;
}

static int anthropic_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"tool_use\"", NULL};
  (void)s;
  return dialect_has_marker(data, len, markers);
}

static void anthropic_on_object(dialect_stream *s, const jscan_obj *o) {
  jscan_str type = o->f[JSCAN_TYPE];
  if (jscan_is(type, "tool_use") || jscan_is(type, "server_tool_use") || jscan_is(type, "mcp_tool_use"))
    dialect_track(s, o->f[JSCAN_ID], o->f[JSCAN_NAME]);
}

static void anthropic_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  if (!dout_open_error(o, s, n, "error"))
    return;
  dout_raw(o, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\"");
  dout_member(o, "message", n->message);
  dout_raw(o, "}}");
  dout_close(o, s);
}

const dialect_ops dialect_anthropic_ops = {
    DIALECT_ANTHROPIC, "anthropic", 0, anthropic_sniff, anthropic_wants, anthropic_on_object,
    anthropic_render,
};
