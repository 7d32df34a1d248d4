/* inject: renders authrelay's own stream events. See inject.h. */
#include "inject.h"

#include <string.h>

#include "jsonw.h"

/* The event is written with sticky appends (jsonw.h): after the first
 * failure the rest appends nothing, and each inject_ call returns
 * dynbuf_error() once at the end. */

/* Opens an event of the given type: the SSE lines up to the JSON object's
 * first member, or the NDJSON object's start. */
static void begin(dynbuf *out, inject_form form, const char *type, const char *stream_id) {
  if (form == INJECT_SSE) {
    (void)jsonw_raw(out, "event: ");
    (void)jsonw_raw(out, type);
    (void)jsonw_raw(out, "\ndata: ");
  }
  (void)jsonw_raw(out, "{\"type\":");
  (void)jsonw_cstring(out, type);
  (void)jsonw_raw(out, ",\"stream_id\":");
  (void)jsonw_cstring(out, stream_id);
}

static void member(dynbuf *out, const char *name, const char *value) {
  (void)jsonw_raw(out, ",\"");
  (void)jsonw_raw(out, name);
  (void)jsonw_raw(out, "\":");
  (void)jsonw_cstring(out, value);
}

/* Closes the event. Returns 0 or the buffer's first error. */
static int end(dynbuf *out, inject_form form) {
  return jsonw_raw(out, form == INJECT_SSE ? "}\n\n" : "}\n");
}

int inject_link_token(dynbuf *out, inject_form form, const inject_link *link) {
  begin(out, form, "link_token", link->stream_id);
  member(out, "connector", link->connector);
  member(out, "link_token", link->link_token);
  member(out, "magic_link_url", link->magic_link_url);
  member(out, "expires_at", link->expires_at);
  if (link->message != NULL) {
    member(out, "message", link->message);
  } else {
    (void)jsonw_raw(out, ",\"message\":\"Please connect ");
    (void)jsonw_raw(out, link->connector); /* a validated slug: no escaping needed */
    (void)jsonw_raw(out, " to continue.\"");
  }
  return end(out, form);
}

int inject_auth_complete(dynbuf *out, inject_form form, const char *stream_id,
                         const char *connector) {
  begin(out, form, "auth_complete", stream_id);
  member(out, "connector", connector);
  return end(out, form);
}

int inject_link_expired(dynbuf *out, inject_form form, const char *stream_id,
                        const char *connector) {
  begin(out, form, "link_expired", stream_id);
  member(out, "connector", connector);
  return end(out, form);
}

int inject_relay_error(dynbuf *out, inject_form form, const char *stream_id, int status,
                       const char *message) {
  begin(out, form, "relay_error", stream_id);
  (void)jsonw_raw(out, ",\"status\":");
  (void)jsonw_u64(out, (uint64_t)(status < 0 ? 0 : status));
  member(out, "message", message);
  return end(out, form);
}

int inject_heartbeat(dynbuf *out, inject_form form) {
  if (form != INJECT_SSE)
    return 0;
  return jsonw_raw(out, ": paused\n\n");
}
