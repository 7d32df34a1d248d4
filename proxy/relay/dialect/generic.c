/* generic: streams in no dialect authrelay knows (DESIGN.md "Events
 * authrelay writes into a stream"). Notices are authrelay's own events,
 * byte for byte those of inject.c: `event: TYPE` + `data: {...}` in SSE, one
 * line in NDJSON; the heartbeat is the ": paused" comment. on_detect
 * replace may withhold the detected event here, and only here.
 *
 * Tool calls are tracked in whichever shape they come (any object with a
 * call id and a tool name: tool_call_id, toolCallId, call_id, or the id of a
 * tool_use / function_call / mcp_call object).
 */
#include <string.h>

#include "dialect_int.h"

static int generic_sniff(const dialect_probe *p) {
  (void)p;
  return 1; /* the fallback */
}

static int generic_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"call_id\"", "toolCallId\"", "tool_use\"", "\"tool_calls\"",
                                        "\"mcp_call\"", "TOOL_CALL_START", NULL};
  (void)s;
  /* Every marker holds a '_' or a 'C': most token events have neither. */
  if (memchr(data, '_', len) == NULL && memchr(data, 'C', len) == NULL)
    return 0;
  return dialect_has_marker(data, len, markers);
}

/* 1 when an object of this type carries its call id in "id". */
static int id_is_call_id(jscan_str type) {
  return jscan_is(type, "tool_use") || jscan_is(type, "mcp_tool_use") ||
         jscan_is(type, "server_tool_use") || jscan_is(type, "mcp_call") ||
         jscan_is(type, "function_call");
}

static void generic_on_object(dialect_stream *s, const jscan_obj *o) {
  jscan_str id = o->f[JSCAN_CALL_ID];
  jscan_str name = o->f[JSCAN_FUNCTION_NAME];
  if (id.ptr == NULL)
    id = o->f[JSCAN_TOOL_CALL_ID];
  if (id.ptr == NULL && (id_is_call_id(o->f[JSCAN_TYPE]) || name.ptr != NULL))
    id = o->f[JSCAN_ID];
  if (name.ptr == NULL)
    name = o->f[JSCAN_TOOL_NAME];
  if (name.ptr == NULL)
    name = o->f[JSCAN_NAME];
  dialect_track(s, id, name);
}

static void generic_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  if (!dout_open_notice(o, s, n, dialect_notice_type(n->kind)))
    return;
  dout_notice_object(o, n);
  dout_close(o, s);
}

const dialect_ops dialect_generic_ops = {
    DIALECT_GENERIC, "generic", 1, generic_sniff, generic_wants, generic_on_object, generic_render,
};
