/* pause: the interrupt state machine of one relayed response. See pause.h
 * for the states and the seam; this comment says how.
 *
 * pause_on_detect() asks the dialect (dialect_decide: rewrite / replace /
 * keep, the connector, a call interrupted before), decides (pause_refusal:
 * format, trusted user, count, connector, catalog) and keeps what the wait
 * needs from the event (its span, connector, message, the decision).
 * pause_begin() makes the stream a waiter in pausehub on (user, connector),
 * puts the trusted link into the event (rewrite) or withholds it
 * (replace), and writes the dialect's link notice; the outcome comes back
 * on this loop through the worker's mailbox (pause_done), which renders the
 * closing notice and tells the exchange how to go on (ops->resume /
 * ops->end). A call interrupted before is rewritten with its link and the
 * stream goes on, without a wait.
 */
#include "pause.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "identity.h"
#include "linksvc.h"
#include "log.h"
#include "reframe.h"
#include "timefmt.h"

/* A paused stream's user id (identity.h) is copied into its pausehub waiter,
 * whose field the link service sizes. */
_Static_assert(IDENTITY_USER_MAX <= LINKSVC_USER_MAX, "identity user ids fit a link waiter");

#define PAUSE_URL_MAX 1024 /* magic_link_url: the base, then the link's path */

struct pause_t {
  pausehub_waiter waiter;      /* valid while waiting */
  pause_stream st;             /* the stream, as at the last detection acted on */
  unsigned pauses;             /* pauses begun in this response */
  int waiting;                 /* waiting on the link: upstream not read */
  uint64_t start;              /* stream span of the detected event */
  uint64_t end;
  uint64_t since;              /* uv_now() when the wait began */
  uint64_t paused_ms;          /* time waited in this response */
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  char message[512];           /* the detection's message ("" when none) */
  dialect_decision decision;   /* the dialect's, for the detected event */
  int rewrite_only;            /* the call was interrupted before: rewrite, no wait */
  int downgrade_logged;        /* "replace acts as rewrite here" was logged */
  dialect_stream own_dialect;  /* for an owner that has none (st.dialect NULL): generic */
};

_Static_assert(DIALECT_SLUG_MAX == LINKSVC_CONNECTOR_MAX, "dialect connectors are link connectors");

/* The route's on_detect in the dialect layer's terms. */
static dialect_action action_of(config_on_detect d) {
  switch (d) {
  case CONFIG_ON_DETECT_REPLACE:
    return DIALECT_REPLACE;
  case CONFIG_ON_DETECT_KEEP:
    return DIALECT_KEEP;
  case CONFIG_ON_DETECT_REWRITE:
  default:
    return DIALECT_REWRITE;
  }
}

static dialect_framing framing_of(framer_format f) {
  return f == FRAMER_NDJSON ? DIALECT_FRAMING_NDJSON : f == FRAMER_JSON ? DIALECT_FRAMING_JSON : DIALECT_FRAMING_SSE;
}

/* ps takes the stream st; an owner without a dialect gets a generic one of
 * the pause's own (it remembers nothing across detections). */
static void adopt_stream(pause_t *ps, const pause_stream *st) {
  ps->st = *st;
  if (ps->st.dialect == NULL) {
    dialect_stream_close(&ps->own_dialect);
    dialect_stream_init(&ps->own_dialect, DIALECT_GENERIC, framing_of(st->format), NULL);
    ps->st.dialect = &ps->own_dialect;
  }
}

static int tool_mode(const pause_t *ps) {
  return ps->st.route->mode == CONFIG_MODE_TOOL;
}

/* Renders notice n in the stream's dialect and writes it. Returns 0 (also
 * when the dialect has no carrier for it, or it could not be rendered: the
 * stream goes on as if it had been written), or the exchange's error. */
static int write_notice(pause_t *ps, const dialect_notice *n) {
  dynbuf ev;
  dynbuf_init(&ev, DIALECT_NOTICE_MAX);
  if (dialect_render(ps->st.dialect, n, &ev) != 0 || ev.len == 0) {
    dynbuf_free(&ev);
    return 0;
  }
  return ps->st.ops->write_event(ps->st.owner, &ev);
}

/* A notice of kind about the paused connector. */
static dialect_notice notice_of(const pause_t *ps, dialect_notice_kind kind) {
  dialect_notice n;
  memset(&n, 0, sizeof n);
  n.kind = kind;
  n.stream_id = ps->st.stream_id;
  n.connector = ps->connector;
  return n;
}

/* Copies a connector slug lower case into out. Returns NULL, or why it is
 * not a slug. */
static const char *slug_copy(const char *p, size_t n, char out[LINKSVC_CONNECTOR_MAX + 1]) {
  size_t i;
  if (p == NULL || n == 0 || n > LINKSVC_CONNECTOR_MAX)
    return "no connector named";
  for (i = 0; i < n; i++) {
    char ch = p[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-'))
      return "connector is not a slug";
    out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  out[n] = '\0';
  return NULL;
}

/* The connector a tool call is for, from the request's JSON-RPC
 * params.name (tool mode, when the result names none), by detect.h's tool
 * name rules. Returns 0 with the lower-case slug in out. */
static int connector_from_request(const pause_stream *st, char out[LINKSVC_CONNECTOR_MAX + 1]) {
  const char *path[] = {"params", "name", NULL};
  char body[4096 + 1];
  char err[64];
  yajl_val root;
  const char *name;
  detect_str slug;
  int rc = -ENOENT;
  if (st->request_body == NULL || st->request_body_len == 0 || st->request_body_len >= sizeof body)
    return -ENOENT; /* a tools/call request is small */
  memcpy(body, st->request_body, st->request_body_len);
  body[st->request_body_len] = '\0';
  root = yajl_tree_parse(body, err, sizeof err);
  if (root == NULL)
    return -ENOENT;
  name = YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
  if (name != NULL && detect_connector_from_tool_name(name, strlen(name), &slug) &&
      slug_copy(slug.ptr, slug.len, out) == NULL)
    rc = 0;
  yajl_tree_free(root);
  return rc;
}

/* The connector of a detection, lower case, into out: the dialect's (the
 * result's, else the tool's of the same call), else (tool mode) the one of
 * the tool called. Returns NULL or why there is none. */
static const char *match_connector(const pause_stream *st, const detect_match *m,
                                   const dialect_decision *d, char out[LINKSVC_CONNECTOR_MAX + 1]) {
  if (d->connector[0] != '\0') {
    memcpy(out, d->connector, sizeof d->connector);
    return NULL;
  }
  if (m->connector.ptr == NULL || m->connector.len == 0) {
    if (st->route->mode == CONFIG_MODE_TOOL && connector_from_request(st, out) == 0)
      return NULL;
    out[0] = '\0'; /* none to be found: a picker link, the user chooses on the Link page */
    return NULL;
  }
  return slug_copy(m->connector.ptr, m->connector.len, out);
}

/* Why a detection is not acted on, or NULL when the stream may pause
 * (pauses: already begun in this response). */
static const char *pause_refusal(const pause_stream *st, unsigned pauses, const detect_match *m,
                                 const dialect_decision *d, char slug[LINKSVC_CONNECTOR_MAX + 1]) {
  const char *why;
  if (st->route->mode == CONFIG_MODE_TOOL) {
    if (st->format == FRAMER_RAW)
      return "raw bodies are not inspected";
  } else if (st->format != FRAMER_SSE && st->format != FRAMER_NDJSON) {
    return "only SSE and NDJSON streams are paused in band (a JSON body needs mode: tool)";
  }
  if (st->user == NULL)
    return "no trusted registered user";
  if (pauses >= st->cfg->max_pauses_per_stream)
    return "max_pauses_per_stream reached";
  why = match_connector(st, m, d, slug);
  if (why != NULL)
    return why;
  if (st->catalog != NULL && slug[0] != '\0') {
    catalog_connector cc;
    if (catalog_lookup(st->catalog, slug, &cc) != 0)
      return "connector is not in the catalog";
  }
  return NULL;
}

int pause_on_detect(pause_t **slot, const pause_stream *st, const framer_event *ev) {
  const detect_match *m = ev->match;
  char slug[LINKSVC_CONNECTOR_MAX + 1];
  pause_t *ps = *slot;
  dialect_stream fallback;
  dialect_stream *dl = st->dialect;
  dialect_decision d;
  const char *why;
  METRICS_ADD(st->metrics, detections_by_shape[m->shape], 1);
  if (dl == NULL) { /* an owner without a dialect: generic, nothing remembered */
    dialect_stream_init(&fallback, DIALECT_GENERIC, framing_of(st->format), NULL);
    dl = &fallback;
  }
  dialect_decide(dl, m, action_of(st->route->on_detect), &d);
  if (!d.pause && st->route->mode != CONFIG_MODE_TOOL) {
    /* This call was interrupted before: the same link again, no second
     * wait (keep: the event passes as it is). */
    if (d.action == DIALECT_KEEP)
      return 0;
    if (ps == NULL) {
      ps = calloc(1, sizeof *ps);
      if (ps == NULL) { /* out of memory: it passes, as an unhandled one */
        METRICS_ADD(st->metrics, detections_unhandled, 1);
        return 0;
      }
      *slot = ps;
    }
    adopt_stream(ps, st);
    ps->start = ev->start;
    ps->end = ev->end;
    ps->decision = d;
    ps->rewrite_only = 1;
    return 1;
  }
  why = pause_refusal(st, ps != NULL ? ps->pauses : 0, m, &d, slug);
  if (why == NULL && ps == NULL) {
    ps = calloc(1, sizeof *ps);
    if (ps == NULL)
      why = "out of memory";
    *slot = ps;
  }
  if (why != NULL) {
    METRICS_ADD(st->metrics, detections_unhandled, 1);
    LOG_WARN("auth-required result passed through", LOG_STR("stream_id", st->stream_id),
             LOG_STR("shape", detect_shape_name(m->shape)),
             LOG_STRN("connector", m->connector.ptr != NULL ? m->connector.ptr : "", m->connector.len),
             LOG_STR("reason", why));
    return 0;
  }
  /* Acted on: what the wait needs, and the dialect's decision on how the
   * event itself goes out (rewrite, replace, keep). */
  adopt_stream(ps, st);
  ps->start = ev->start;
  ps->end = ev->end;
  ps->decision = d;
  ps->rewrite_only = 0;
  memcpy(ps->connector, slug, sizeof slug);
  if (d.downgraded && !ps->downgrade_logged) {
    ps->downgrade_logged = 1;
    LOG_INFO("on_detect replace acts as rewrite in this dialect", LOG_STR("stream_id", st->stream_id),
             LOG_STR("dialect", dialect_name(dialect_current(ps->st.dialect))));
  }
  ps->message[0] = '\0';
  if (m->message.ptr != NULL && m->message.len < sizeof ps->message) {
    memcpy(ps->message, m->message.ptr, m->message.len);
    ps->message[m->message.len] = '\0';
  }
  return 1;
}

uint64_t pause_event_start(const pause_t *ps) {
  return ps->start;
}

uint64_t pause_event_end(const pause_t *ps) {
  return ps->end;
}

const char *pause_connector(const pause_t *ps) {
  return ps->connector;
}

const char *pause_message(const pause_t *ps) {
  return ps->message;
}

int pause_waiting(const pause_t *ps) {
  return ps != NULL && ps->waiting;
}

uint64_t pause_ms(const pause_t *ps) {
  return ps != NULL ? ps->paused_ms : 0;
}

void pause_request_begin(pause_t *ps) {
  if (ps == NULL)
    return;
  ps->pauses = 0;
  ps->paused_ms = 0;
}

void pause_free(pause_t *ps) {
  if (ps != NULL)
    dialect_stream_close(&ps->own_dialect);
  free(ps);
}

/* Renders a relay_error notice and writes it. */
static int write_relay_error(pause_t *ps, int status, const char *message) {
  dialect_notice n = notice_of(ps, DIALECT_NOTICE_RELAY_ERROR);
  n.status = status;
  n.message = message;
  return write_notice(ps, &n);
}

/* The wait is over (any outcome): stop waiting and count it. */
static void pause_leave(pause_t *ps, metrics_resume outcome) {
  metrics_t *m = ps->st.metrics;
  uint64_t waited;
  if (!ps->waiting)
    return;
  ps->waiting = 0;
  pausehub_cancel(&ps->waiter); /* a no-op when the outcome was delivered */
  ps->st.ops->heartbeat(ps->st.owner, 0);
  waited = uv_now(ps->st.loop) - ps->since;
  METRICS_SUB(m, pauses_active, 1);
  ps->paused_ms += waited;
  METRICS_ADD(m, pause_ms_total, waited);
  METRICS_ADD(m, resumes_by_outcome[outcome], 1);
}

/* Ends the stream with relay_error (tool mode with nothing sent: an error
 * answer instead). */
static void end_with_error(pause_t *ps, int status, const char *tool_message, const char *message) {
  const pause_ops *ops = ps->st.ops;
  if (tool_mode(ps) && ops->fail_unsent(ps->st.owner, status, tool_message) == 0)
    return;
  if (write_relay_error(ps, status, message) == 0)
    ops->end(ps->st.owner);
}

void pause_overflow(pause_t *ps) {
  LOG_WARN("paused stream over max_held_bytes", LOG_STR("stream_id", ps->st.stream_id));
  pause_leave(ps, METRICS_RESUME_CANCELLED);
  ps->st.ops->outcome(ps->st.owner, "overflow");
  end_with_error(ps, 507, "more upstream bytes than max_held_bytes while the call was held",
                 "more upstream bytes than max_held_bytes while paused");
}

void pause_shutdown(pause_t *ps) {
  if (ps == NULL || !ps->waiting)
    return;
  pause_leave(ps, METRICS_RESUME_CANCELLED);
  ps->st.ops->outcome(ps->st.owner, "shutdown");
  LOG_INFO("pause ended", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("connector", ps->connector),
           LOG_STR("outcome", "shutdown"));
  end_with_error(ps, 503, "authrelay is restarting: call the tool again",
                 "authrelay is restarting: connect the account with the same link, then ask again");
}

void pause_client_gone(pause_t *ps) {
  if (ps != NULL)
    pause_leave(ps, METRICS_RESUME_CLIENT_GONE);
}

void pause_heartbeat(pause_t *ps) {
  dialect_notice n;
  if (ps == NULL || !ps->waiting)
    return;
  n = notice_of(ps, DIALECT_NOTICE_HEARTBEAT);
  (void)write_notice(ps, &n);
}

/* The trusted link of the wait (the link pausehub minted), with url the
 * base of the request's links, which has room for the link's path. */
static void trusted_link(const pause_t *ps, const char *url, dialect_link *trusted) {
  size_t base_len = strlen(url);
  size_t path_len = strnlen(ps->waiter.w.link.path, sizeof ps->waiter.w.link.path);
  memset(trusted, 0, sizeof *trusted);
  snprintf(trusted->connector, sizeof trusted->connector, "%s", ps->connector);
  snprintf(trusted->link_token, sizeof trusted->link_token, "%s", ps->waiter.w.link.token);
  if (base_len + path_len < sizeof trusted->magic_link_url) {
    memcpy(trusted->magic_link_url, url, base_len);
    memcpy(trusted->magic_link_url + base_len, ps->waiter.w.link.path, path_len);
    trusted->magic_link_url[base_len + path_len] = '\0';
  }
  snprintf(trusted->expires_at, sizeof trusted->expires_at, "%s", ps->waiter.w.link.expires_at);
}

/* Tool mode, "Not now": the held call is answered with its auth-required
 * result in rewrite form (DESIGN.md "Connections": the trusted link, and
 * the message saying the user declined), never with the upstream's link.
 * chosen: the connector of the link ("" for a picker link). A result that
 * cannot be rewritten gets an error answer with that message instead (or,
 * when part of it went out already, the rest is released). */
static void answer_declined(pause_t *ps, const char *chosen) {
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  const char *slug = ps->connector[0] != '\0' ? ps->connector : chosen;
  const char *name = slug;
  char url[PAUSE_URL_MAX];
  char message[LINKSVC_CONNECTOR_MAX + CATALOG_NAME_MAX + 64];
  catalog_connector cc;
  dialect_link trusted;
  const char *raw = NULL;
  size_t len = 0;
  dynbuf out;
  int rc;
  if (slug[0] != '\0' && ps->st.catalog != NULL && catalog_lookup(ps->st.catalog, slug, &cc) == 0 &&
      cc.name[0] != '\0')
    name = cc.name;
  if (name[0] != '\0')
    snprintf(message, sizeof message, "The user chose not to connect %s now.", name);
  else
    snprintf(message, sizeof message, "The user chose not to connect an account now.");
  ops->base_url(owner, url, sizeof url - LINKSVC_PATH_LEN);
  trusted_link(ps, url, &trusted);
  if (ops->held != NULL)
    raw = ops->held(owner, ps->start, ps->end, &len);
  dynbuf_init(&out, 2 * len + 65536);
  rc = raw != NULL ? reframe_rewrite(ps->st.dialect->framing, raw, len, &trusted, message, &out, NULL)
                   : -ENODATA;
  if (rc == 0)
    rc = ops->answer_held(owner, ps->start, ps->end, &out); /* frees out */
  else
    dynbuf_free(&out);
  if (rc == 0)
    return;
  LOG_WARN("declined tool call: its result could not be rewritten", LOG_STR("stream_id", ps->st.stream_id),
           LOG_I64("error", rc));
  if (rc == UV_ECANCELED || ops->fail_unsent(owner, 403, message) == 0)
    return;
  ops->resume(owner, PAUSE_RELEASE); /* part of it went out already */
}

/* How pause pause_no ended, on this loop (pausehub delivers it). An
 * outcome for a pause the stream is no longer in (it ended otherwise
 * first) is dropped: a control command never reaches a later pause. */
static void pause_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome) {
  static const metrics_resume counted[] = {METRICS_RESUME_COMPLETED, METRICS_RESUME_EXPIRED,
                                           METRICS_RESUME_OPERATOR, METRICS_RESUME_CANCELLED,
                                           METRICS_RESUME_DECLINED};
  static const char *const names[] = {"auth_complete", "link_expired", "operator_resume",
                                      "operator_cancel", "auth_declined"};
  pause_t *ps = (pause_t *)((char *)pw - offsetof(pause_t, waiter));
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  dialect_notice n;
  if (!ps->waiting || pause_no != ps->pauses)
    return;
  pause_leave(ps, counted[outcome]);
  if (outcome == PAUSEHUB_CANCELLED)
    ops->outcome(owner, "cancelled");
  LOG_INFO("pause ended", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("connector", ps->connector),
           LOG_STR("outcome", names[outcome]));
  if (tool_mode(ps) && outcome == PAUSEHUB_DECLINED) {
    answer_declined(ps, pw->w.link.connector);
    return;
  }
  if (tool_mode(ps)) {
    ops->resume(owner, outcome == PAUSEHUB_COMPLETED || outcome == PAUSEHUB_RESUMED ? PAUSE_RETRY
                                                                                     : PAUSE_RELEASE);
    return;
  }
  switch (outcome) {
  case PAUSEHUB_EXPIRED:
    n = notice_of(ps, DIALECT_NOTICE_LINK_EXPIRED);
    break;
  case PAUSEHUB_CANCELLED:
    n = notice_of(ps, DIALECT_NOTICE_RELAY_ERROR);
    n.status = 499;
    n.message = "cancelled by the operator";
    break;
  case PAUSEHUB_DECLINED:
    n = notice_of(ps, DIALECT_NOTICE_AUTH_DECLINED);
    break;
  case PAUSEHUB_COMPLETED:
  case PAUSEHUB_RESUMED:
  default:
    n = notice_of(ps, DIALECT_NOTICE_AUTH_COMPLETE);
    break;
  }
  if (ps->connector[0] == '\0')
    n.connector = pw->w.link.connector; /* a picker pause: the connector the user chose */
  if (write_notice(ps, &n) != 0)
    return; /* the exchange closed */
  if (outcome == PAUSEHUB_CANCELLED ||
      (outcome == PAUSEHUB_EXPIRED && ps->st.cfg->after_expiry == CONFIG_AFTER_EXPIRY_CLOSE)) {
    if (outcome == PAUSEHUB_EXPIRED)
      ops->outcome(owner, "expired"); /* after_expiry: close */
    ops->end(owner);
    return;
  }
  /* declined: the stream goes on as it is (a retry would only ask again) */
  if ((outcome == PAUSEHUB_COMPLETED || outcome == PAUSEHUB_RESUMED) && ps->st.route->resume == CONFIG_RESUME_RETRY) {
    ops->resume(owner, PAUSE_RETRY);
    return;
  }
  ops->resume(owner, PAUSE_CONTINUE);
}

/* Puts the trusted link into the detected event (on_detect rewrite): its
 * held bytes give way to their rewritten copy, in the same place. An event
 * whose first bytes went out already (longer than max_event_bytes) goes on
 * as it is; one that cannot be rewritten (the rewriter refuses it, its
 * bytes are not held whole) is withheld rather than forwarded with the
 * upstream's link. Returns 0 or the exchange's error. */
static int rewrite_event(pause_t *ps, uint64_t forwarded, const dialect_link *link) {
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  const char *raw = NULL;
  size_t len = 0;
  size_t count = 0;
  dynbuf out;
  int rc;
  if (forwarded != ps->start)
    return ops->forward(owner, ps->end);
  if (ops->held != NULL)
    raw = ops->held(owner, ps->start, ps->end, &len);
  /* the trusted values may be longer than the upstream's, once per copy */
  dynbuf_init(&out, 2 * len + 65536);
  rc = raw != NULL ? reframe_rewrite(ps->st.dialect->framing, raw, len, link, NULL, &out, &count) : -ENODATA;
  ops->withhold(owner, ps->end);
  if (rc != 0) {
    LOG_WARN("auth-required event withheld: it could not be rewritten", LOG_STR("stream_id", ps->st.stream_id),
             LOG_I64("error", rc));
    dynbuf_free(&out);
    return 0;
  }
  if (count > 1) /* one link for all (parser/SEMANTICS.md "Rewriter"): say so */
    LOG_INFO("several auth-required results in one event rewritten with one link",
             LOG_STR("stream_id", ps->st.stream_id), LOG_STR("connector", link->connector),
             LOG_U64("results", count));
  return ops->write_event(owner, &out);
}

/* Tells the client where to connect the account: the dialect's link notice. */
static int write_link_token(pause_t *ps, const dialect_link *link) {
  dialect_notice n = notice_of(ps, DIALECT_NOTICE_LINK_TOKEN);
  n.link_token = link->link_token;
  n.magic_link_url = link->magic_link_url;
  n.expires_at = link->expires_at;
  n.message = ps->message[0] != '\0' ? ps->message : NULL;
  return write_notice(ps, &n);
}

/* A call interrupted before in this response: its link again, no wait. */
static void pause_repeat(pause_t *ps, uint64_t forwarded) {
  const pause_ops *ops = ps->st.ops;
  int rc;
  ps->rewrite_only = 0;
  if (ps->decision.action == DIALECT_REPLACE && forwarded == ps->start) {
    ops->withhold(ps->st.owner, ps->end); /* replace: its link_token went out the first time */
    rc = 0;
  } else {
    rc = rewrite_event(ps, forwarded, ps->decision.link);
  }
  LOG_INFO("auth-required result of an interrupted call rewritten", LOG_STR("stream_id", ps->st.stream_id),
           LOG_STR("dialect", dialect_name(dialect_current(ps->st.dialect))));
  if (rc == 0)
    ops->resume(ps->st.owner, PAUSE_CONTINUE);
}

void pause_begin(pause_t *ps, uint64_t forwarded, size_t held) {
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  const config_t *c = ps->st.cfg;
  char url[PAUSE_URL_MAX];
  pausehub_pause pp;
  dialect_link trusted;
  int rc;
  if (ps->rewrite_only) {
    pause_repeat(ps, forwarded);
    return;
  }
  if (held > c->max_held_bytes) {
    pause_overflow(ps); /* the read that brought the event brought too much after it */
    return;
  }
  ops->base_url(owner, url, sizeof url - LINKSVC_PATH_LEN);
  pp.stream_id = ps->st.stream_id;
  pp.pause_no = ps->pauses + 1;
  pp.user = ps->st.user;
  pp.connector = ps->connector;
  pp.base_url = url; /* out of band, the link has the same base as in the stream */
  pp.held_bytes = held;
  rc = pausehub_wait(ps->st.mailbox, &ps->waiter, &pp, timefmt_now_ms(), pause_done);
  if (rc != 0) {
    /* Not paused after all: the event passes, as for any unhandled one. */
    LOG_WARN("cannot pause: link service refused", LOG_STR("stream_id", ps->st.stream_id),
             LOG_STR("connector", ps->connector), LOG_I64("error", rc));
    METRICS_ADD(ps->st.metrics, detections_unhandled, 1);
    if (ops->forward(owner, ps->end) == 0)
      ops->resume(owner, PAUSE_CONTINUE);
    return;
  }
  ps->waiting = 1; /* from here on, the client going away cancels the wait */
  ps->pauses++;
  ps->since = uv_now(ps->st.loop);
  ops->stop_upstream(owner);
  METRICS_ADD(ps->st.metrics, pauses_total, 1);
  METRICS_ADD(ps->st.metrics, pauses_active, 1);
  if (tool_mode(ps)) {
    /* Tool mode: the caller hears nothing; the result stays held, to be
     * replaced by the retry's or released on expiry. The user is told out
     * of band (/v1/events, webhooks: the link's journal). */
    LOG_INFO("tool call held", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("registered_user", ps->st.user),
             LOG_STR("connector", ps->connector));
    return;
  }
  trusted_link(ps, url, &trusted); /* base_url left room for the path */
  if (dialect_note_interrupt(ps->st.dialect, &ps->decision, &trusted) != 0)
    LOG_WARN("interrupted call not remembered: a repeat pauses again", LOG_STR("stream_id", ps->st.stream_id));
  if (ps->decision.action == DIALECT_REPLACE && forwarded == ps->start) {
    ops->withhold(owner, ps->end);
  } else if (ps->decision.action == DIALECT_REWRITE) {
    if (rewrite_event(ps, forwarded, &trusted) != 0)
      return;
  } else if (ops->forward(owner, ps->end) != 0) {
    /* keep, or an event so long that its first bytes went out already
     * (more than max_event_bytes of raw SSE lines): forwarded whole. */
    return;
  }
  if (ps->end > forwarded) /* the event left held either way */
    held -= ps->end - forwarded < held ? (size_t)(ps->end - forwarded) : held;
  LOG_INFO("paused", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("registered_user", ps->st.user),
           LOG_STR("connector", ps->connector), LOG_STR("dialect", dialect_name(dialect_current(ps->st.dialect))),
           LOG_U64("held_bytes", held));
  if (write_link_token(ps, &trusted) == 0 && ps->st.dialect->framing == DIALECT_FRAMING_SSE)
    ops->heartbeat(owner, (uint64_t)c->heartbeat_s * 1000);
}
