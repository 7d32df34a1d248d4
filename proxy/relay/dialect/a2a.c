/* a2a: the A2A protocol's JSON-RPC streams: v0.3 (message/stream,
 * tasks/resubscribe): `data: {"jsonrpc":"2.0","id":...,"result":{"kind":
 * "task"|"status-update"|"artifact-update"|"message",...}}`; v1.0
 * (SendStreamingMessage, ProtoJSON): `"result":{"task"|"statusUpdate"|
 * "artifactUpdate"|"message":{...}}`, states TASK_STATE_*, role ROLE_AGENT.
 * Notices follow the version the stream speaks. The protocol
 * has a task state for this very case, so the link notice is a
 * status-update to "auth-required" on the request's JSON-RPC id, with the
 * stream's taskId and contextId and a message whose parts carry the link
 * (a text part for people, a data part with authrelay's notice object for
 * front ends); completion, expiry and "Not now" set the task "working"
 * again; a relay_error sets it "failed" (final). Until the ids are known
 * from the stream (or the request), notices are SSE comments.
 *
 * No tool-call ids in A2A: one interrupt per result rests on the upstream
 * link (dialect.c).
 */
#include <stdio.h>
#include <string.h>

#include "dialect_int.h"

static int a2a_sniff(const dialect_probe *p) {
  static const char *const kinds[] = {"task", "status-update", "artifact-update", "message",
                                      "statusUpdate", "artifactUpdate", NULL};
  size_t i;
  if (!p->jsonrpc || !p->has_result)
    return 0;
  for (i = 0; kinds[i] != NULL; i++) {
    if (strcmp(p->result_kind, kinds[i]) == 0)
      return 90;
  }
  return 0;
}

/* Every event carries the ids; they are read until known, then never. */
static int a2a_wants(const dialect_stream *s, const char *data, size_t len) {
  static const char *const markers[] = {"\"jsonrpc\"", NULL};
  const dialect_rpc *r = dialect_rpc_of(s);
  if (r->rpc_id[0] != '\0' && r->task_id[0] != '\0' && r->context_id[0] != '\0')
    return 0;
  return dialect_has_marker(data, len, markers);
}

static void a2a_on_object(dialect_stream *s, const jscan_obj *o) {
  dialect_rpc *r;
  if (o->depth == 1 && o->f[JSCAN_JSONRPC].ptr != NULL) {
    dialect_keep_rpc_id(s, o->f[JSCAN_ID], (o->flags & JSCAN_ID_IS_NUMBER) != 0);
    return;
  }
  if (o->depth == 3 && (jscan_is(o->key, "task") || jscan_is(o->key, "statusUpdate") ||
                         jscan_is(o->key, "artifactUpdate"))) {
    s->a2a_v1 = 1; /* v1.0: the result wraps the object in a oneof member */
  } else if (o->depth != 2 || !jscan_is(o->key, "result")) {
    return;
  }
  r = dialect_rpc_mut(s);
  if (r == NULL)
    return;
  if (r->task_id[0] == '\0') {
    if (jscan_is(o->f[JSCAN_KIND], "task") || jscan_is(o->key, "task"))
      dialect_copy(r->task_id, sizeof r->task_id, o->f[JSCAN_ID]);
    else
      dialect_copy(r->task_id, sizeof r->task_id, o->f[JSCAN_TASK_ID]);
  }
  if (r->context_id[0] == '\0')
    dialect_copy(r->context_id, sizeof r->context_id, o->f[JSCAN_CONTEXT_ID]);
}

/* The people-facing text of a notice. */
static void notice_text(const dialect_notice *n, char *buf, size_t cap) {
  const char *connector = n->connector != NULL && n->connector[0] != '\0' ? n->connector : "the account";
  switch (n->kind) {
  case DIALECT_NOTICE_LINK_TOKEN:
    if (n->message != NULL && n->message[0] != '\0')
      snprintf(buf, cap, "%s %s", n->message, n->magic_link_url != NULL ? n->magic_link_url : "");
    else
      snprintf(buf, cap, "Please connect %s to continue: %s", connector,
               n->magic_link_url != NULL ? n->magic_link_url : "");
    break;
  case DIALECT_NOTICE_AUTH_COMPLETE:
    snprintf(buf, cap, "Connected %s.", connector);
    break;
  case DIALECT_NOTICE_LINK_EXPIRED:
    snprintf(buf, cap, "The link to connect %s expired.", connector);
    break;
  case DIALECT_NOTICE_AUTH_DECLINED:
    snprintf(buf, cap, "Connecting %s was declined.", connector);
    break;
  case DIALECT_NOTICE_RELAY_ERROR:
    snprintf(buf, cap, "%s", n->message != NULL ? n->message : "relay error");
    break;
  case DIALECT_NOTICE_HEARTBEAT:
    buf[0] = '\0';
    break;
  }
}

/* v0.3: {"kind":"status-update",...,"status":{"state":"auth-required",
 * "message":{"kind":"message",...,"parts":[text, data]}},"final":false}. */
static void status_v03(dialect_out *o, const dialect_stream *s, const dialect_notice *n,
                       const char *state, int final, const char *message_id, const char *text) {
  dout_raw(o, "{\"kind\":\"status-update\"");
  dout_member(o, "taskId", dialect_rpc_of(s)->task_id);
  dout_member(o, "contextId", dialect_rpc_of(s)->context_id);
  dout_raw(o, ",\"status\":{\"state\":");
  dout_str(o, state);
  dout_raw(o, ",\"message\":{\"kind\":\"message\",\"role\":\"agent\"");
  dout_member(o, "messageId", message_id);
  dout_member(o, "taskId", dialect_rpc_of(s)->task_id);
  dout_member(o, "contextId", dialect_rpc_of(s)->context_id);
  dout_raw(o, ",\"parts\":[{\"kind\":\"text\"");
  dout_member(o, "text", text);
  dout_raw(o, "},{\"kind\":\"data\",\"data\":");
  dout_notice_object(o, n);
  dout_raw(o, "}]}},\"final\":");
  dout_raw(o, final ? "true" : "false");
  dout_raw(o, "}");
}

/* v1.0: {"statusUpdate":{...,"status":{"state":"TASK_STATE_AUTH_REQUIRED",
 * "message":{...,"role":"ROLE_AGENT","parts":[{"text":...}]}}}}. */
static void status_v1(dialect_out *o, const dialect_stream *s, const char *state,
                      const char *message_id, const char *text) {
  dout_raw(o, "{\"statusUpdate\":{\"taskId\":");
  dout_str(o, dialect_rpc_of(s)->task_id);
  dout_member(o, "contextId", dialect_rpc_of(s)->context_id);
  dout_raw(o, ",\"status\":{\"state\":");
  dout_str(o, state);
  dout_raw(o, ",\"message\":{\"messageId\":");
  dout_str(o, message_id);
  dout_member(o, "contextId", dialect_rpc_of(s)->context_id);
  dout_member(o, "taskId", dialect_rpc_of(s)->task_id);
  dout_raw(o, ",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":");
  dout_str(o, text);
  dout_raw(o, "}]}}}}");
}

static void a2a_render(dialect_stream *s, const dialect_notice *n, dialect_out *o) {
  char text[2048];
  char message_id[96];
  int final = 0;
  int state = 0; /* 0 working, 1 auth-required, 2 failed */
  static const char *const v03_states[] = {"working", "auth-required", "failed"};
  static const char *const v1_states[] = {"TASK_STATE_WORKING", "TASK_STATE_AUTH_REQUIRED",
                                          "TASK_STATE_FAILED"};
  if (s->framing == DIALECT_FRAMING_JSON)
    return;
  if (n->kind == DIALECT_NOTICE_HEARTBEAT || dialect_rpc_of(s)->rpc_id[0] == '\0' || dialect_rpc_of(s)->task_id[0] == '\0' ||
      dialect_rpc_of(s)->context_id[0] == '\0') {
    dout_comment(o, s, n);
    return;
  }
  if (n->kind == DIALECT_NOTICE_LINK_TOKEN) {
    state = 1;
  } else if (n->kind == DIALECT_NOTICE_RELAY_ERROR) {
    state = 2;
    final = 1;
  }
  notice_text(n, text, sizeof text);
  snprintf(message_id, sizeof message_id, "authrelay-%s-%u", n->stream_id != NULL ? n->stream_id : "",
           s->notices + 1);
  dout_open(o, s, NULL);
  dout_raw(o, "{\"jsonrpc\":\"2.0\",\"id\":");
  dout_raw(o, dialect_rpc_of(s)->rpc_id); /* JSON text kept by dialect_keep_rpc_id() */
  dout_raw(o, ",\"result\":");
  if (s->a2a_v1)
    status_v1(o, s, v1_states[state], message_id, text);
  else
    status_v03(o, s, n, v03_states[state], final, message_id, text);
  dout_raw(o, "}");
  dout_close(o, s);
}

const dialect_ops dialect_a2a_ops = {
    DIALECT_A2A, "a2a", 0, a2a_sniff, a2a_wants, a2a_on_object, a2a_render,
};
