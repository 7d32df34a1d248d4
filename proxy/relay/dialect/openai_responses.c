/* openai-responses: the OpenAI Responses API stream (`event: response.*`,
 * each data object with "type" the same name and a "sequence_number").
 * Items are numbered (output_index, sequence_number): nothing is withheld
 * and nothing is injected in band; notices are SSE comments, which the
 * SDK's SSE reader skips. response.completed repeats every output item:
 * the call id (or the upstream link) makes that a rewrite without a second
 * pause (dialect.c). A relay_error ends the stream with the API's own
 * `error` event, so that the SDK reports it rather than a cut stream.
 *
 * Tool calls: function_call / custom_tool_call items (call_id, name) and
 * mcp_call items (id, name; their output arrives in the same item).
 */
#include <string.h>

#include "dialect_int.h"

static int starts_with(const char *p, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return p != NULL && len >= n && memcmp(p, prefix, n) == 0;
}

static int responses_sniff(const dialect_probe *p) {
  if (starts_with(p->event, p->event_len, "response."))
    return 90;
  if (starts_with(p->type, strlen(p->type), "response."))
    return 80; /* the same objects without SSE event names */
  return 0;
}

static int responses_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"\"call_id\"", "\"mcp_call\"", NULL};
  (void)s;
  return dialect_has_marker(data, len, markers);
}

static void responses_on_object(dialect_stream *s, const jscan_obj *o) {
  jscan_str type = o->f[JSCAN_TYPE];
  if (jscan_is(type, "function_call") || jscan_is(type, "custom_tool_call"))
    dialect_track(s, o->f[JSCAN_CALL_ID], o->f[JSCAN_NAME]);
  else if (jscan_is(type, "mcp_call"))
    dialect_track(s, o->f[JSCAN_ID], o->f[JSCAN_NAME]);
}

static void responses_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  if (!dout_open_error(o, s, n, "error"))
    return;
  dout_raw(o, "{\"type\":\"error\",\"code\":\"relay_error\"");
  dout_member(o, "message", n->message);
  dout_raw(o, ",\"param\":null}");
  dout_close(o, s);
}

const dialect_ops dialect_openai_responses_ops = {
    DIALECT_OPENAI_RESPONSES, "openai-responses", 0, responses_sniff, responses_wants,
    responses_on_object, responses_render,
};
