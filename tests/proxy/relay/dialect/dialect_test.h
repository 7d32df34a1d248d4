/* dialect_test: helpers the dialect unit tests share: feed a stream of
 * events to a dialect_stream, detect an event's auth-required result, and
 * render a notice into a fresh buffer. */
#ifndef AUTHRELAY_TEST_DIALECT_H
#define AUTHRELAY_TEST_DIALECT_H

#include <stdio.h>
#include <string.h>

#include "detect.h"
#include "dialect.h"
#include "unit.h"

/* One wire event: SSE event name (NULL: none) and data. */
typedef struct wire_event {
  const char *name;
  const char *data;
} wire_event;

static inline void observe_all(dialect_stream *s, const wire_event *evs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    dialect_observe(s, evs[i].name, evs[i].name != NULL ? strlen(evs[i].name) : 0, evs[i].data,
                    strlen(evs[i].data));
}

/* The detector's match on data, or NULL (d must be initialised; the match
 * is valid until the next call). */
static inline const detect_match *match_of(detect_t *d, const char *data) {
  const detect_match *m = NULL;
  detect_reset(d);
  detect_feed(d, data, strlen(data));
  if (detect_finish(d, data, strlen(data), &m) != DETECT_MATCH)
    return NULL;
  return m;
}

/* dialect_decide() on data's auth-required result with action, into *d
 * (which owns its strings). Returns 0, or -1 after a failed check when data
 * does not match. The detector is its own. */
static inline int decide_on(dialect_stream *s, const char *data, dialect_action action,
                            dialect_decision *d) {
  detect_t det;
  const detect_match *m;
  int rc = -1;
  detect_init(&det);
  m = match_of(&det, data);
  CHECK(m != NULL);
  if (m != NULL) {
    dialect_decide(s, m, action, d);
    rc = 0;
  }
  detect_close(&det);
  return rc;
}

/* A trusted link as the pause would mint it. */
static inline void trusted_link(dialect_link *l, const char *connector, const char *token) {
  memset(l, 0, sizeof *l);
  snprintf(l->connector, sizeof l->connector, "%s", connector);
  snprintf(l->link_token, sizeof l->link_token, "%s", token);
  snprintf(l->magic_link_url, sizeof l->magic_link_url, "http://relay.test/_authrelay/link/%s", token);
  snprintf(l->expires_at, sizeof l->expires_at, "2026-12-05T03:00:00Z");
}

/* The link_token notice of l. */
static inline dialect_notice link_notice(const dialect_link *l, const char *message) {
  dialect_notice n;
  memset(&n, 0, sizeof n);
  n.kind = DIALECT_NOTICE_LINK_TOKEN;
  n.stream_id = "st_0_000001";
  n.connector = l->connector;
  n.link_token = l->link_token;
  n.magic_link_url = l->magic_link_url;
  n.expires_at = l->expires_at;
  n.message = message;
  return n;
}

static inline dialect_notice simple_notice(dialect_notice_kind kind, const char *connector) {
  dialect_notice n;
  memset(&n, 0, sizeof n);
  n.kind = kind;
  n.stream_id = "st_0_000001";
  n.connector = connector;
  if (kind == DIALECT_NOTICE_RELAY_ERROR) {
    n.status = 503;
    n.message = "authrelay is restarting";
  }
  return n;
}

/* Renders n and compares with want; out is freed. */
#define CHECK_RENDER(s, n, want)                                   \
  do {                                                             \
    dynbuf out_;                                                   \
    dialect_notice n_ = (n);                                       \
    dynbuf_init(&out_, DIALECT_NOTICE_MAX);                        \
    CHECK(dialect_render((s), &n_, &out_) == 0);                   \
    CHECK_MEM(out_.ptr != NULL ? out_.ptr : "", out_.len, (want)); \
    dynbuf_free(&out_);                                            \
  } while (0)

#endif
