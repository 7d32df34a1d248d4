/* openai-chat: OpenAI chat completion chunks (`data: {"object":
 * "chat.completion.chunk","choices":[...]}`, ending with `data: [DONE]`).
 * Chunks must keep their shape: nothing is injected, nothing withheld; an
 * auth result is rewritten only where it arrives whole in one chunk (the
 * detector sees no other). Notices are SSE comments; a relay_error is a
 * chunk with an "error" member, which the SDK raises as an APIError.
 *
 * Tool calls: choices[].delta.tool_calls[] elements with "id" and
 * "function": {"name"} (the first chunk of each call).
 */
#include <stdio.h>
#include <string.h>

#include "dialect_int.h"

static int chat_sniff(const dialect_probe *p) {
  if (strcmp(p->object_name, "chat.completion.chunk") == 0)
    return 90;
  return 0;
}

static int chat_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"\"tool_calls\"", NULL};
  (void)s;
  return dialect_has_marker(data, len, markers);
}

static void chat_on_object(dialect_stream *s, const jscan_obj *o) {
  if (o->f[JSCAN_FUNCTION_NAME].ptr != NULL)
    dialect_track(s, o->f[JSCAN_ID], o->f[JSCAN_FUNCTION_NAME]);
}

static void chat_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  char code[16];
  if (!dout_open_error(o, s, n, NULL))
    return;
  snprintf(code, sizeof code, "%d", n->status);
  dout_raw(o, "{\"error\":{\"type\":\"relay_error\"");
  dout_member(o, "code", code);
  dout_member(o, "message", n->message);
  dout_raw(o, "}}");
  dout_close(o, s);
}

const dialect_ops dialect_openai_chat_ops = {
    DIALECT_OPENAI_CHAT, "openai-chat", 0, chat_sniff, chat_wants, chat_on_object, chat_render,
};
