/* mcp: Model Context Protocol, Streamable HTTP: JSON-RPC messages in a JSON
 * body or as SSE events named "message" (the TypeScript SDK drops events of
 * any other name). The auth-required result is the response to tools/call
 * itself, so nothing is injected in band: tool mode holds the call and
 * retries it (pause.c); notices are SSE comments. URL elicitation (error
 * -32042, notifications/elicitation/complete) is for clients that declared
 * it at initialize and is answered by the relay, not rendered here.
 *
 * The request's params.name ("<slug>__<tool>", "authenticate_<slug>") names
 * the connector of a result that names none (dialect_note_request).
 */
#include <string.h>

#include "dialect_int.h"

static int mcp_sniff(const dialect_probe *p) {
  if (!p->jsonrpc)
    return 0;
  if (p->result_content || strncmp(p->method, "notifications/", 14) == 0)
    return 80;
  if (p->event != NULL && p->event_len == 7 && memcmp(p->event, "message", 7) == 0)
    return 60;
  return 0;
}

static int mcp_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"\"jsonrpc\"", NULL};
  if (dialect_rpc_of(s)->rpc_id[0] != '\0')
    return 0;
  return dialect_has_marker(data, len, markers);
}

/* Responses give the id; a request (dialect_note_request) its id and the
 * connector of the tool it calls. */
static void mcp_on_object(dialect_stream *s, const jscan_obj *o) {
  char slug[DIALECT_SLUG_MAX + 1];
  dialect_rpc *r;
  detect_str found;
  size_t i;
  jscan_str name = o->f[JSCAN_NAME];
  if (o->depth == 1 && o->f[JSCAN_JSONRPC].ptr != NULL) {
    dialect_keep_rpc_id(s, o->f[JSCAN_ID], (o->flags & JSCAN_ID_IS_NUMBER) != 0);
    return;
  }
  if (o->depth != 2 || !jscan_is(o->key, "params") || name.ptr == NULL ||
      dialect_rpc_of(s)->request_connector[0] != '\0')
    return;
  if (!detect_connector_from_tool_name(name.ptr, name.len, &found) || found.len > DIALECT_SLUG_MAX)
    return;
  for (i = 0; i < found.len; i++) {
    char ch = found.ptr[i];
    slug[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  slug[found.len] = '\0';
  r = dialect_rpc_mut(s);
  if (r != NULL)
    memcpy(r->request_connector, slug, found.len + 1);
}

static void mcp_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  dout_comment(o, s, n);
}

const dialect_ops dialect_mcp_ops = {
    DIALECT_MCP, "mcp", 0, mcp_sniff, mcp_wants, mcp_on_object, mcp_render,
};
