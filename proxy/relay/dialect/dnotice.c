/* dnotice: the writers the dialects render their notices with (the dout_*
 * functions of dialect_int.h): JSON pieces, the stream's framing, and
 * authrelay's own notice object, which every carrier wraps (an AI SDK data
 * part's data, an AG-UI CUSTOM event's value, an A2A data part, an SSE
 * comment) so that a front end finds the same members whatever the dialect.
 */
#include <stdio.h>
#include <string.h>

#include "dialect_int.h"
#include "jsonw.h"

void dout_raw(dialect_out *o, const char *s) {
  if (o->rc == 0)
    o->rc = jsonw_raw(o->b, s);
}

void dout_str(dialect_out *o, const char *s) {
  if (o->rc == 0)
    o->rc = jsonw_cstring(o->b, s != NULL ? s : "");
}

void dout_u64(dialect_out *o, uint64_t v) {
  if (o->rc == 0)
    o->rc = jsonw_u64(o->b, v);
}

void dout_member(dialect_out *o, const char *name, const char *value) {
  dout_raw(o, ",\"");
  dout_raw(o, name);
  dout_raw(o, "\":");
  dout_str(o, value);
}

void dout_open(dialect_out *o, const dialect_stream *s, const char *event_name) {
  if (s->framing != DIALECT_FRAMING_SSE)
    return;
  if (event_name != NULL) {
    dout_raw(o, "event: ");
    dout_raw(o, event_name);
    dout_raw(o, "\n");
  }
  dout_raw(o, "data: ");
}

void dout_close(dialect_out *o, const dialect_stream *s) {
  dout_raw(o, s->framing == DIALECT_FRAMING_SSE ? "\n\n" : "\n");
}

const char *dialect_notice_type(dialect_notice_kind kind) {
  switch (kind) {
  case DIALECT_NOTICE_LINK_TOKEN:
    return "link_token";
  case DIALECT_NOTICE_AUTH_COMPLETE:
    return "auth_complete";
  case DIALECT_NOTICE_LINK_EXPIRED:
    return "link_expired";
  case DIALECT_NOTICE_AUTH_DECLINED:
    return "auth_declined";
  case DIALECT_NOTICE_RELAY_ERROR:
    return "relay_error";
  case DIALECT_NOTICE_HEARTBEAT:
    break;
  }
  return "heartbeat";
}

static const char *connector_of(const dialect_notice *n) {
  return n->connector != NULL ? n->connector : "";
}

void dout_notice_object(dialect_out *o, const dialect_notice *n) {
  char sentence[DIALECT_SLUG_MAX + 64];
  dout_raw(o, "{\"type\":");
  dout_str(o, dialect_notice_type(n->kind));
  dout_member(o, "stream_id", n->stream_id);
  switch (n->kind) {
  case DIALECT_NOTICE_LINK_TOKEN:
    dout_member(o, "connector", connector_of(n));
    dout_member(o, "link_token", n->link_token);
    dout_member(o, "magic_link_url", n->magic_link_url);
    dout_member(o, "expires_at", n->expires_at);
    if (n->message != NULL && n->message[0] != '\0') {
      dout_member(o, "message", n->message);
    } else {
      if (connector_of(n)[0] != '\0')
        snprintf(sentence, sizeof sentence, "Please connect %.*s to continue.", DIALECT_SLUG_MAX,
                 connector_of(n));
      else
        snprintf(sentence, sizeof sentence, "Please connect an account to continue.");
      dout_member(o, "message", sentence);
    }
    break;
  case DIALECT_NOTICE_RELAY_ERROR:
    dout_raw(o, ",\"status\":");
    dout_u64(o, (uint64_t)(n->status < 0 ? 0 : n->status));
    dout_member(o, "message", n->message);
    break;
  case DIALECT_NOTICE_AUTH_COMPLETE:
  case DIALECT_NOTICE_LINK_EXPIRED:
  case DIALECT_NOTICE_AUTH_DECLINED:
  case DIALECT_NOTICE_HEARTBEAT:
    dout_member(o, "connector", connector_of(n));
    break;
  }
  dout_raw(o, "}");
}

void dout_comment(dialect_out *o, const dialect_stream *s, const dialect_notice *n) {
  if (s->framing != DIALECT_FRAMING_SSE)
    return;
  if (n->kind == DIALECT_NOTICE_HEARTBEAT) {
    dout_raw(o, ": paused\n\n");
    return;
  }
  /* jsonw escapes every control character: the object is one line. */
  dout_raw(o, ": authrelay ");
  dout_notice_object(o, n);
  dout_raw(o, "\n\n");
}

int dout_open_notice(dialect_out *o, const dialect_stream *s, const dialect_notice *n,
                     const char *event_name) {
  if (s->framing == DIALECT_FRAMING_JSON)
    return 0;
  if (n->kind == DIALECT_NOTICE_HEARTBEAT) {
    dout_comment(o, s, n); /* NDJSON has no comments: nothing */
    return 0;
  }
  dout_open(o, s, event_name);
  return 1;
}

int dout_open_error(dialect_out *o, const dialect_stream *s, const dialect_notice *n,
                    const char *event_name) {
  if (n->kind != DIALECT_NOTICE_RELAY_ERROR || s->framing == DIALECT_FRAMING_JSON) {
    dout_comment(o, s, n);
    return 0;
  }
  dout_open(o, s, event_name);
  return 1;
}
