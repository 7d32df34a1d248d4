/* inject: renders authrelay's own stream events. See inject.h. */
#include "inject.h"

#include <string.h>

#include "jsonw.h"

/* Opens an event of the given type: the SSE lines up to the JSON object's
 * first member, or the NDJSON object's start. */
static int begin(dynbuf *out, inject_form form, const char *type, const char *stream_id) {
  int rc = 0;
  if (form == INJECT_SSE) {
    rc |= jsonw_raw(out, "event: ");
    rc |= jsonw_raw(out, type);
    rc |= jsonw_raw(out, "\ndata: ");
  }
  rc |= jsonw_raw(out, "{\"type\":");
  rc |= jsonw_cstring(out, type);
  rc |= jsonw_raw(out, ",\"stream_id\":");
  rc |= jsonw_cstring(out, stream_id);
  return rc;
}

static int member(dynbuf *out, const char *name, const char *value) {
  int rc = 0;
  rc |= jsonw_raw(out, ",\"");
  rc |= jsonw_raw(out, name);
  rc |= jsonw_raw(out, "\":");
  rc |= jsonw_cstring(out, value);
  return rc;
}

static int end(dynbuf *out, inject_form form) {
  return jsonw_raw(out, form == INJECT_SSE ? "}\n\n" : "}\n");
}

/* dynbuf errors are negative; or-ing them keeps "nonzero means failed". */
static int result(int rc) {
  return rc == 0 ? 0 : -1;
}

int inject_link_token(dynbuf *out, inject_form form, const inject_link *link) {
  int rc = begin(out, form, "link_token", link->stream_id);
  rc |= member(out, "connector", link->connector);
  rc |= member(out, "link_token", link->link_token);
  rc |= member(out, "magic_link_url", link->magic_link_url);
  rc |= member(out, "expires_at", link->expires_at);
  if (link->message != NULL) {
    rc |= member(out, "message", link->message);
  } else if (link->connector[0] == '\0') {
    rc |= jsonw_raw(out, ",\"message\":\"Please connect an account to continue.\""); /* a picker link */
  } else {
    rc |= jsonw_raw(out, ",\"message\":\"Please connect ");
    rc |= jsonw_raw(out, link->connector); /* a validated slug: no escaping needed */
    rc |= jsonw_raw(out, " to continue.\"");
  }
  rc |= end(out, form);
  return result(rc);
}

int inject_auth_complete(dynbuf *out, inject_form form, const char *stream_id,
                         const char *connector) {
  int rc = begin(out, form, "auth_complete", stream_id);
  rc |= member(out, "connector", connector);
  rc |= end(out, form);
  return result(rc);
}

int inject_auth_declined(dynbuf *out, inject_form form, const char *stream_id,
                         const char *connector) {
  int rc = begin(out, form, "auth_declined", stream_id);
  rc |= member(out, "connector", connector);
  rc |= end(out, form);
  return result(rc);
}

int inject_link_expired(dynbuf *out, inject_form form, const char *stream_id,
                        const char *connector) {
  int rc = begin(out, form, "link_expired", stream_id);
  rc |= member(out, "connector", connector);
  rc |= end(out, form);
  return result(rc);
}

int inject_relay_error(dynbuf *out, inject_form form, const char *stream_id, int status,
                       const char *message) {
  int rc = begin(out, form, "relay_error", stream_id);
  rc |= jsonw_raw(out, ",\"status\":");
  rc |= jsonw_u64(out, (uint64_t)(status < 0 ? 0 : status));
  rc |= member(out, "message", message);
  rc |= end(out, form);
  return result(rc);
}

int inject_heartbeat(dynbuf *out, inject_form form) {
  if (form != INJECT_SSE)
    return 0;
  return result(jsonw_raw(out, ": paused\n\n"));
}
