/* ai-sdk: the Vercel AI SDK UI message stream (header
 * `x-vercel-ai-ui-message-stream: v1`; `data: {"type":...}` parts without
 * SSE event names; `data: [DONE]` at the end). The SDK validates every part
 * against its schema, so notices are parts it knows: transient data parts
 * `{"type":"data-link_token","data":{...},"transient":true}` (and
 * data-auth_complete, data-link_expired, data-auth_declined), which reach
 * useChat's onData and are not stored in the message; a relay_error is the
 * protocol's error part `{"type":"error","errorText":...}`.
 *
 * Tool calls: tool-input-start / tool-input-available parts (toolCallId,
 * toolName); the result is a tool-output-available part naming toolCallId.
 */
#include <string.h>

#include "dialect_int.h"

static int ai_sdk_sniff(const dialect_probe *p) {
  static const char *const first_parts[] = {"start", "start-step", "text-start", "reasoning-start",
                                            "tool-input-start", "message-metadata", NULL};
  size_t i;
  if (p->ai_sdk_header)
    return 100;
  for (i = 0; first_parts[i] != NULL; i++) {
    if (strcmp(p->type, first_parts[i]) == 0)
      return 50; /* the header was lost on the way (a proxy in between) */
  }
  return 0;
}

static int ai_sdk_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"\"tool-input-start\"", "\"tool-input-available\"", NULL};
  (void)s;
  return dialect_has_marker(data, len, markers);
}

static void ai_sdk_on_object(dialect_stream *s, const jscan_obj *o) {
  jscan_str type = o->f[JSCAN_TYPE];
  if (type.ptr != NULL && type.len > 11 && memcmp(type.ptr, "tool-input-", 11) == 0)
    dialect_track(s, o->f[JSCAN_TOOL_CALL_ID], o->f[JSCAN_TOOL_NAME]);
}

static void ai_sdk_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  if (!dout_open_notice(o, s, n, NULL))
    return;
  if (n->kind == DIALECT_NOTICE_RELAY_ERROR) {
    dout_raw(o, "{\"type\":\"error\"");
    dout_member(o, "errorText", n->message);
    dout_raw(o, "}");
  } else {
    dout_raw(o, "{\"type\":\"data-");
    dout_raw(o, dialect_notice_type(n->kind));
    dout_raw(o, "\",\"data\":");
    dout_notice_object(o, n);
    dout_raw(o, ",\"transient\":true}");
  }
  dout_close(o, s);
}

const dialect_ops dialect_ai_sdk_ops = {
    DIALECT_AI_SDK, "ai-sdk", 0, ai_sdk_sniff, ai_sdk_wants, ai_sdk_on_object, ai_sdk_render,
};
