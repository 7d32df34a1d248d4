/* ag-ui: the AG-UI event stream (`data: {"type":"RUN_STARTED",...}`, then
 * TEXT_MESSAGE_*, TOOL_CALL_START/ARGS/END/RESULT, ..., RUN_FINISHED). The
 * client checks event order, so notices are what it allows anywhere in a
 * run: CUSTOM events `{"type":"CUSTOM","name":"authrelay.link_token",
 * "value":{...}}` (authrelay.auth_complete, .link_expired, .auth_declined);
 * a relay_error is RUN_ERROR, after which the run is over.
 *
 * Tool calls: TOOL_CALL_START (toolCallId, toolCallName); the result is a
 * TOOL_CALL_RESULT naming toolCallId, its content a string.
 */
#include <string.h>

#include "dialect_int.h"

static int ag_ui_sniff(const dialect_probe *p) {
  static const char *const other_events[] = {"TEXT_MESSAGE_START", "STATE_SNAPSHOT",
                                             "MESSAGES_SNAPSHOT", "STEP_STARTED",
                                             "TOOL_CALL_START", NULL};
  size_t i;
  if (strcmp(p->type, "RUN_STARTED") == 0)
    return 90;
  for (i = 0; other_events[i] != NULL; i++) {
    if (strcmp(p->type, other_events[i]) == 0)
      return 60;
  }
  return 0;
}

static int ag_ui_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"TOOL_CALL_START", NULL};
  (void)s;
  return dialect_has_marker(data, len, markers);
}

static void ag_ui_on_object(dialect_stream *s, const jscan_obj *o) {
  if (o->depth == 1 && jscan_is(o->f[JSCAN_TYPE], "TOOL_CALL_START"))
    dialect_track(s, o->f[JSCAN_TOOL_CALL_ID], o->f[JSCAN_TOOL_NAME]);
}

static void ag_ui_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  if (!dout_open_notice(o, s, n, NULL))
    return;
  if (n->kind == DIALECT_NOTICE_RELAY_ERROR) {
    dout_raw(o, "{\"type\":\"RUN_ERROR\"");
    dout_member(o, "message", n->message);
    dout_member(o, "code", "relay_error");
    dout_raw(o, "}");
  } else {
    dout_raw(o, "{\"type\":\"CUSTOM\",\"name\":\"authrelay.");
    dout_raw(o, dialect_notice_type(n->kind));
    dout_raw(o, "\",\"value\":");
    dout_notice_object(o, n);
    dout_raw(o, "}");
  }
  dout_close(o, s);
}

const dialect_ops dialect_ag_ui_ops = {
    DIALECT_AG_UI, "ag-ui", 0, ag_ui_sniff, ag_ui_wants, ag_ui_on_object, ag_ui_render,
};
