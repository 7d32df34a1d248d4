/* pause: the interrupt state machine of one relayed response. See pause.h
 * for the states and the seam; this comment says how.
 *
 * pause_on_detect() decides (pause_refusal: format, trusted user, count,
 * connector, catalog) and keeps what the wait needs from the event (its
 * span, connector, message). pause_begin() makes the stream a waiter in
 * pausehub on (user, connector); the outcome comes back on this loop
 * through the worker's mailbox (pause_done), which renders the closing
 * notice and tells the exchange how to go on (ops->resume / ops->end).
 */
#include "pause.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "identity.h"
#include "inject.h"
#include "linksvc.h"
#include "log.h"
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
};

static int tool_mode(const pause_t *ps) {
  return ps->st.route->mode == CONFIG_MODE_TOOL;
}

static inject_form form_of(const pause_t *ps) {
  return ps->st.format == FRAMER_NDJSON ? INJECT_NDJSON : INJECT_SSE;
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

/* The connector of a detection, lower case, into out: the one the result
 * names, else (tool mode) the one of the tool called. Returns NULL or why
 * there is none. */
static const char *match_connector(const pause_stream *st, const detect_match *m,
                                   char out[LINKSVC_CONNECTOR_MAX + 1]) {
  if (m->connector.ptr == NULL || m->connector.len == 0) {
    if (st->route->mode == CONFIG_MODE_TOOL && connector_from_request(st, out) == 0)
      return NULL;
    return "no connector named";
  }
  return slug_copy(m->connector.ptr, m->connector.len, out);
}

/* Why a detection is not acted on, or NULL when the stream may pause
 * (pauses: already begun in this response). */
static const char *pause_refusal(const pause_stream *st, unsigned pauses, const detect_match *m,
                                 char slug[LINKSVC_CONNECTOR_MAX + 1]) {
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
  why = match_connector(st, m, slug);
  if (why != NULL)
    return why;
  if (st->catalog != NULL) {
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
  const char *why;
  METRICS_ADD(st->metrics, detections_by_shape[m->shape], 1);
  why = pause_refusal(st, ps != NULL ? ps->pauses : 0, m, slug);
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
  /* Acted on. The dialect layer (DESIGN.md "Dialects") decides here how the
   * event itself goes out (rewrite, replace, keep). */
  ps->st = *st;
  ps->start = ev->start;
  ps->end = ev->end;
  memcpy(ps->connector, slug, sizeof slug);
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
  free(ps);
}

/* Renders a relay_error notice and writes it. */
static int write_relay_error(pause_t *ps, int status, const char *message) {
  dynbuf ev;
  int rc;
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  rc = inject_relay_error(&ev, form_of(ps), ps->st.stream_id, status, message);
  if (rc != 0) {
    dynbuf_free(&ev);
    return 0; /* not rendered: nothing written, the stream goes on as if it had been */
  }
  return ps->st.ops->write_event(ps->st.owner, &ev);
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
  dynbuf ev;
  if (ps == NULL || !ps->waiting)
    return;
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  if (inject_heartbeat(&ev, form_of(ps)) != 0 || ev.len == 0) {
    dynbuf_free(&ev);
    return;
  }
  (void)ps->st.ops->write_event(ps->st.owner, &ev);
}

/* How pause pause_no ended, on this loop (pausehub delivers it). An
 * outcome for a pause the stream is no longer in (it ended otherwise
 * first) is dropped: a control command never reaches a later pause. */
static void pause_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome) {
  static const metrics_resume counted[] = {METRICS_RESUME_COMPLETED, METRICS_RESUME_EXPIRED,
                                           METRICS_RESUME_OPERATOR, METRICS_RESUME_CANCELLED};
  static const char *const names[] = {"auth_complete", "link_expired", "operator_resume",
                                      "operator_cancel"};
  pause_t *ps = (pause_t *)((char *)pw - offsetof(pause_t, waiter));
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  dynbuf ev;
  int rc;
  if (!ps->waiting || pause_no != ps->pauses)
    return;
  pause_leave(ps, counted[outcome]);
  if (outcome == PAUSEHUB_CANCELLED)
    ops->outcome(owner, "cancelled");
  LOG_INFO("pause ended", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("connector", ps->connector),
           LOG_STR("outcome", names[outcome]));
  if (tool_mode(ps)) {
    ops->resume(owner, outcome == PAUSEHUB_COMPLETED || outcome == PAUSEHUB_RESUMED ? PAUSE_RETRY
                                                                                     : PAUSE_RELEASE);
    return;
  }
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  switch (outcome) {
  case PAUSEHUB_EXPIRED:
    rc = inject_link_expired(&ev, form_of(ps), ps->st.stream_id, ps->connector);
    break;
  case PAUSEHUB_CANCELLED:
    rc = inject_relay_error(&ev, form_of(ps), ps->st.stream_id, 499, "cancelled by the operator");
    break;
  case PAUSEHUB_COMPLETED:
  case PAUSEHUB_RESUMED:
  default:
    rc = inject_auth_complete(&ev, form_of(ps), ps->st.stream_id, ps->connector);
    break;
  }
  if (rc != 0)
    dynbuf_free(&ev);
  else if (ops->write_event(owner, &ev) != 0)
    return; /* the exchange closed */
  if (outcome == PAUSEHUB_CANCELLED ||
      (outcome == PAUSEHUB_EXPIRED && ps->st.cfg->after_expiry == CONFIG_AFTER_EXPIRY_CLOSE)) {
    if (outcome == PAUSEHUB_EXPIRED)
      ops->outcome(owner, "expired"); /* after_expiry: close */
    ops->end(owner);
    return;
  }
  if (outcome != PAUSEHUB_EXPIRED && ps->st.route->resume == CONFIG_RESUME_RETRY) {
    ops->resume(owner, PAUSE_RETRY);
    return;
  }
  ops->resume(owner, PAUSE_CONTINUE);
}

/* Tells the client where to connect the account: the link_token notice. */
static int write_link_token(pause_t *ps, char *url, size_t cap) {
  inject_link link;
  dynbuf ev;
  size_t base_len = strlen(url);
  int n = snprintf(url + base_len, cap - base_len, "%s", ps->waiter.w.link.path);
  if (n < 0 || (size_t)n >= cap - base_len)
    return 0; /* cannot happen: the base left room for the path */
  link.stream_id = ps->st.stream_id;
  link.connector = ps->connector;
  link.link_token = ps->waiter.w.link.token;
  link.magic_link_url = url;
  link.expires_at = ps->waiter.w.link.expires_at;
  link.message = ps->message[0] != '\0' ? ps->message : NULL;
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  if (inject_link_token(&ev, form_of(ps), &link) != 0) {
    dynbuf_free(&ev);
    return 0;
  }
  return ps->st.ops->write_event(ps->st.owner, &ev);
}

void pause_begin(pause_t *ps, uint64_t forwarded, size_t held) {
  const pause_ops *ops = ps->st.ops;
  void *owner = ps->st.owner;
  const config_t *c = ps->st.cfg;
  char url[PAUSE_URL_MAX];
  pausehub_pause pp;
  int rc;
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
  if (ps->st.route->on_detect == CONFIG_ON_DETECT_REPLACE && forwarded == ps->start) {
    ops->withhold(owner, ps->end);
  } else if (ops->forward(owner, ps->end) != 0) {
    /* keep, or an event so long that its first bytes went out already
     * (more than max_event_bytes of raw SSE lines): forwarded whole. */
    return;
  }
  if (ps->end > forwarded) /* the event left held either way */
    held -= ps->end - forwarded < held ? (size_t)(ps->end - forwarded) : held;
  LOG_INFO("paused", LOG_STR("stream_id", ps->st.stream_id), LOG_STR("registered_user", ps->st.user),
           LOG_STR("connector", ps->connector), LOG_U64("held_bytes", held));
  if (write_link_token(ps, url, sizeof url) == 0 && form_of(ps) == INJECT_SSE)
    ops->heartbeat(owner, (uint64_t)c->heartbeat_s * 1000);
}
