/* pause: auth interrupts on a relayed response (DESIGN.md "The pause").
 *
 * When the framer stops on an auth-required result that may be acted on
 * (pause_refusal), exchange.c forwards everything before the event and calls
 * pause_begin(): the event is withheld (on_detect replace) or forwarded
 * (keep), upstream reads stop, the stream waits in pausehub on (user,
 * connector), and the client gets link_token and then heartbeats. The
 * outcome arrives on this loop (pause_done): auth_complete and the held
 * bytes framed again (continue) or the request sent again (retry),
 * link_expired, or relay_error. See exchange_int.h for what the two files
 * share.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "catalog.h"
#include "exchange_int.h"
#include "inject.h"
#include "log.h"

/* A paused stream's user id (identity.h) is copied into its pausehub waiter,
 * whose field the link service sizes. */
_Static_assert(IDENTITY_USER_MAX <= LINKSVC_USER_MAX, "identity user ids fit a link waiter");

/* The connector a tool call is for, from the request's JSON-RPC
 * params.name: "authenticate_<slug>" or "<slug>__<tool>" (tool mode, when
 * the result names none). Returns 0 with the lower-case slug in out. */
static int connector_from_request(const exchange *ex, char out[LINKSVC_CONNECTOR_MAX + 1]) {
  const char *path[] = {"params", "name", NULL};
  char body[4096 + 1];
  char err[64];
  yajl_val root;
  const char *name;
  const char *sep;
  size_t n;
  size_t i;
  int rc = -ENOENT;
  if (ex->replay_body.len == 0 || ex->replay_body.len >= sizeof body || ex->req_chunked)
    return -ENOENT; /* a tools/call request is small; a chunked one is kept framed */
  memcpy(body, ex->replay_body.ptr, ex->replay_body.len);
  body[ex->replay_body.len] = '\0';
  root = yajl_tree_parse(body, err, sizeof err);
  if (root == NULL)
    return -ENOENT;
  name = YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
  if (name != NULL) {
    if (strncmp(name, "authenticate_", 13) == 0) {
      name += 13;
      n = strlen(name);
    } else {
      sep = strstr(name, "__");
      n = sep != NULL ? (size_t)(sep - name) : 0;
    }
    if (n > 0 && n <= LINKSVC_CONNECTOR_MAX) {
      rc = 0;
      for (i = 0; i < n && rc == 0; i++) {
        char ch = name[i];
        ch = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
          rc = -EINVAL;
        out[i] = ch;
      }
      out[n] = '\0';
    }
  }
  yajl_tree_free(root);
  return rc;
}

/* The connector of a detection, lower case, into out: the one the result
 * names, else (tool mode) the one of the tool called. Returns NULL or why
 * there is none. */
static const char *match_connector(const exchange *ex, const detect_match *m,
                                   char out[LINKSVC_CONNECTOR_MAX + 1]) {
  size_t i;
  if (m->connector.ptr == NULL || m->connector.len == 0) {
    if (ex_cfg(ex)->routes[ex->route_index].mode == CONFIG_MODE_TOOL && connector_from_request(ex, out) == 0)
      return NULL;
    return "no connector named";
  }
  if (m->connector.len > LINKSVC_CONNECTOR_MAX)
    return "no connector named";
  for (i = 0; i < m->connector.len; i++) {
    char ch = m->connector.ptr[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-'))
      return "connector is not a slug";
    out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  out[m->connector.len] = '\0';
  return NULL;
}

int pause_tool_mode(const exchange *ex) {
  return ex_cfg(ex)->routes[ex->route_index].mode == CONFIG_MODE_TOOL;
}

/* Why a detection is not acted on, or NULL when the stream may pause. */
const char *pause_refusal(const exchange *ex, const detect_match *m) {
  const config_t *c = ex_cfg(ex);
  char slug[LINKSVC_CONNECTOR_MAX + 1];
  const char *why;
  if (pause_tool_mode(ex)) {
    if (ex->framer.format == FRAMER_RAW)
      return "raw bodies are not inspected";
  } else if (ex->framer.format != FRAMER_SSE && ex->framer.format != FRAMER_NDJSON) {
    return "only SSE and NDJSON streams are paused in band (a JSON body needs mode: tool)";
  }
  if (ex->user == NULL)
    return "no trusted registered user";
  if (ex->pauses >= c->max_pauses_per_stream)
    return "max_pauses_per_stream reached";
  why = match_connector(ex, m, slug);
  if (why != NULL)
    return why;
  if (ex_catalog(ex) != NULL) {
    catalog_connector cc;
    if (catalog_lookup(ex_catalog(ex), slug, &cc) != 0)
      return "connector is not in the catalog";
  }
  return NULL;
}

/* Keeps what the pause needs from the event (valid only during on_event). */
void pause_note(exchange *ex, const framer_event *ev) {
  const detect_match *m = ev->match;
  ex_pause *ps = ex->pause;
  ex->pause_pending = 1;
  ex->pause_start = ev->start;
  ex->pause_end = ev->end;
  (void)match_connector(ex, m, ps->connector); /* pause_refusal said it has one */
  ps->message[0] = '\0';
  if (m->message.ptr != NULL && m->message.len < sizeof ps->message) {
    memcpy(ps->message, m->message.ptr, m->message.len);
    ps->message[m->message.len] = '\0';
  }
}

/* ---- the pause ----------------------------------------------------------- */

static void on_heartbeat(uv_timer_t *t) {
  exchange *ex = t->data;
  dynbuf ev;
  if (!ex->paused)
    return;
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  ex_write_event(ex, &ev, inject_heartbeat(&ev, ex_inject_form(ex)));
}

static void pause_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome);
static void pause_tool_fail(exchange *ex, int status, const char *message);

/* Drops the detected event, [pause_start, pause_end), from the front of
 * held: it counts as forwarded but never reaches the client. */
static void withhold_event(exchange *ex) {
  size_t n = (size_t)(ex->pause_end - ex->forwarded);
  if (n > ex->held.len)
    n = ex->held.len;
  memmove(ex->held.ptr, ex->held.ptr + n, ex->held.len - n);
  ex->held.len -= n;
  ex->forwarded += n;
}

/* The framer stopped on a detection to act on, and everything before the
 * event has gone out: withhold or forward the event, hold the rest, stop
 * reading upstream, and tell the client where to connect the account. */
void pause_begin(exchange *ex) {
  const config_t *c = ex_cfg(ex);
  const config_route *route = &c->routes[ex->route_index];
  char url[1024];
  inject_link link;
  pausehub_pause pp;
  dynbuf ev;
  int rc;
  ex->pause_pending = 0;
  if (ex->state == EX_CLOSING)
    return;
  if (ex->held.len > c->max_held_bytes) {
    pause_overflow(ex); /* the read that brought the event brought too much after it */
    return;
  }
  ex_base_url(ex, url, sizeof url - LINKSVC_PATH_LEN);
  pp.stream_id = ex->stream_id;
  pp.pause_no = ex->pauses + 1;
  pp.user = ex->user;
  pp.connector = ex->pause->connector;
  pp.base_url = url; /* out of band, the link has the same base as in the stream */
  pp.held_bytes = ex->held.len;
  rc = pausehub_wait(&ex->w->mailbox, &ex->pause->waiter, &pp, pausehub_now_ms(), pause_done);
  if (rc != 0) {
    /* Not paused after all: the event passes, as for any unhandled one. */
    LOG_WARN("cannot pause: link service refused", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("connector", ex->pause->connector), LOG_I64("error", rc));
    METRICS_ADD(&ex->w->metrics, detections_unhandled, 1);
    ex_flush_held_until(ex, ex->pause_end);
    if (ex->state != EX_CLOSING)
      pause_resume_relaying(ex);
    return;
  }
  ex->paused = 1; /* from here on, closing the exchange cancels the wait */
  ex->pauses++;
  ex->paused_since = uv_now(&ex->w->loop);
  if (ex->up != NULL)
    upstream_pause(ex->up);
  METRICS_ADD(&ex->w->metrics, pauses_total, 1);
  METRICS_ADD(&ex->w->metrics, pauses_active, 1);
  if (pause_tool_mode(ex)) {
    /* Tool mode: the caller hears nothing; the result stays held, to be
     * replaced by the retry's or released on expiry. The user is told out
     * of band (/v1/events, webhooks: the link's journal). */
    LOG_INFO("tool call held", LOG_STR("stream_id", ex->stream_id), LOG_STR("registered_user", ex->user),
             LOG_STR("connector", ex->pause->connector));
    return;
  }
  /* rewrite withholds too until the dialect hook rewrites the event in
   * place: the upstream's own link must not reach the client. */
  if (route->on_detect != CONFIG_ON_DETECT_KEEP && ex->forwarded == ex->pause_start) {
    withhold_event(ex);
  } else {
    /* keep, or an event so long that its first bytes went out already
     * (more than max_event_bytes of raw SSE lines): forward it whole. */
    ex_flush_held_until(ex, ex->pause_end);
    if (ex->state == EX_CLOSING)
      return;
  }
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", ex->pause->waiter.w.link.path);
  link.stream_id = ex->stream_id;
  link.connector = ex->pause->connector;
  link.link_token = ex->pause->waiter.w.link.token;
  link.magic_link_url = url;
  link.expires_at = ex->pause->waiter.w.link.expires_at;
  link.message = ex->pause->message[0] != '\0' ? ex->pause->message : NULL;
  LOG_INFO("paused", LOG_STR("stream_id", ex->stream_id), LOG_STR("registered_user", ex->user),
           LOG_STR("connector", ex->pause->connector), LOG_U64("held_bytes", ex->held.len));
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  ex_write_event(ex, &ev, inject_link_token(&ev, ex_inject_form(ex), &link));
  if (ex->state != EX_CLOSING && ex_inject_form(ex) == INJECT_SSE)
    uv_timer_start(&ex->timer, on_heartbeat, (uint64_t)c->heartbeat_s * 1000,
                   (uint64_t)c->heartbeat_s * 1000);
}

/* The pause is over (any outcome): stop waiting and count it. */
void pause_leave(exchange *ex, metrics_resume outcome) {
  metrics_t *m = &ex->w->metrics;
  if (!ex->paused)
    return;
  ex->paused = 0;
  pausehub_cancel(&ex->pause->waiter); /* a no-op when the outcome was delivered */
  uv_timer_stop(&ex->timer);
  METRICS_SUB(m, pauses_active, 1);
  ex->paused_ms += uv_now(&ex->w->loop) - ex->paused_since;
  METRICS_ADD(m, pause_ms_total, uv_now(&ex->w->loop) - ex->paused_since);
  METRICS_ADD(m, resumes_by_outcome[outcome], 1);
}

/* Frames the held bytes the framer has not seen (they may pause the stream
 * again), forwards what is complete, then reads upstream again or ends the
 * response if it ended while paused. */
void pause_resume_relaying(exchange *ex) {
  uint64_t received = ex->forwarded + ex->held.len;
  if (ex->inspect && ex->framer.offset < received) {
    size_t skip = (size_t)(ex->framer.offset - ex->forwarded);
    (void)framer_feed(&ex->framer, ex->held.ptr + skip, (size_t)(received - ex->framer.offset));
    if (ex->pause_pending) {
      ex_flush_held_until(ex, ex_before_pause(ex));
      pause_begin(ex);
      return;
    }
  }
  ex_flush_held_until(ex, ex->inspect ? ex_forward_target(ex, received) : received);
  if (ex->state == EX_CLOSING)
    return;
  if (ex->deferred_end) {
    ex->deferred_end = 0;
    ex_response_ended(ex, ex->deferred_status);
    return;
  }
  if (ex->up == NULL)
    return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&ex->tcp) > ex_cfg(ex)->write_high_watermark) {
    ex->upstream_paused = 1; /* client_on_written resumes it */
    return;
  }
  ex->upstream_paused = 0;
  upstream_resume(ex->up);
}

/* Ends the client's response at once after an injected event: complete
 * for the client, and the upstream, whose response is cut short, is never
 * pooled. */
void pause_end_stream(exchange *ex) {
  if (ex->up != NULL) {
    upstream_release(ex->up, 0);
    ex->up = NULL;
  }
  ex->held.len = 0;
  ex->deferred_end = 0;
  ex->resp_close = 1;
  ex_response_ended(ex, 0);
}

/* A paused stream received more than max_held_bytes: it ends with
 * relay_error rather than hold more. */
void pause_overflow(exchange *ex) {
  dynbuf ev;
  LOG_WARN("paused stream over max_held_bytes", LOG_STR("stream_id", ex->stream_id));
  pause_leave(ex, METRICS_RESUME_CANCELLED);
  ex->end_outcome = "overflow";
  if (pause_tool_mode(ex) && pause_tool_unsent(ex)) {
    pause_tool_fail(ex, 507, "more upstream bytes than max_held_bytes while the call was held");
    return;
  }
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  ex_write_event(ex, &ev, inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, 507,
                                             "more upstream bytes than max_held_bytes while paused"));
  if (ex->state != EX_CLOSING)
    pause_end_stream(ex);
}

/* How pause pause_no ended, on this loop (pausehub delivers it). An
 * outcome for a pause the stream is no longer in (it ended otherwise
 * first) is dropped: a control command never reaches a later pause. */
static void pause_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome) {
  static const metrics_resume counted[] = {METRICS_RESUME_COMPLETED, METRICS_RESUME_EXPIRED,
                                           METRICS_RESUME_OPERATOR, METRICS_RESUME_CANCELLED};
  static const char *const names[] = {"auth_complete", "link_expired", "operator_resume",
                                      "operator_cancel"};
  exchange *ex = ((ex_pause *)((char *)pw - offsetof(ex_pause, waiter)))->ex;
  const config_t *c;
  dynbuf ev;
  int rc;
  if (ex->state == EX_CLOSING || !ex->paused || pause_no != ex->pauses)
    return;
  c = ex_cfg(ex);
  pause_leave(ex, counted[outcome]);
  if (outcome == PAUSEHUB_CANCELLED)
    ex->end_outcome = "cancelled";
  LOG_INFO("pause ended", LOG_STR("stream_id", ex->stream_id), LOG_STR("connector", ex->pause->connector),
           LOG_STR("outcome", names[outcome]));
  if (pause_tool_mode(ex)) {
    if (outcome == PAUSEHUB_COMPLETED || outcome == PAUSEHUB_RESUMED)
      pause_tool_retry(ex);
    else
      pause_tool_release(ex);
    return;
  }
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  switch (outcome) {
  case PAUSEHUB_EXPIRED:
    rc = inject_link_expired(&ev, ex_inject_form(ex), ex->stream_id, ex->pause->connector);
    break;
  case PAUSEHUB_CANCELLED:
    rc = inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, 499, "cancelled by the operator");
    break;
  case PAUSEHUB_COMPLETED:
  case PAUSEHUB_RESUMED:
  default:
    rc = inject_auth_complete(&ev, ex_inject_form(ex), ex->stream_id, ex->pause->connector);
    break;
  }
  ex_write_event(ex, &ev, rc);
  if (ex->state == EX_CLOSING)
    return;
  if (outcome == PAUSEHUB_CANCELLED ||
      (outcome == PAUSEHUB_EXPIRED && c->after_expiry == CONFIG_AFTER_EXPIRY_CLOSE)) {
    if (outcome == PAUSEHUB_EXPIRED)
      ex->end_outcome = "expired"; /* after_expiry: close */
    pause_end_stream(ex);
    return;
  }
  if (outcome != PAUSEHUB_EXPIRED && c->routes[ex->route_index].resume == CONFIG_RESUME_RETRY) {
    pause_retry_start(ex);
    return;
  }
  pause_resume_relaying(ex);
}

/* The relay is shutting down (SIGTERM): a paused stream ends at once with
 * relay_error 503 rather than hold the drain; its link stays valid in the
 * store, so the user can still connect the account and ask again. */
void pause_shutdown(exchange *ex) {
  dynbuf ev;
  if (ex->state == EX_CLOSING || !ex->paused)
    return;
  pause_leave(ex, METRICS_RESUME_CANCELLED);
  ex->end_outcome = "shutdown";
  LOG_INFO("pause ended", LOG_STR("stream_id", ex->stream_id), LOG_STR("connector", ex->pause->connector),
           LOG_STR("outcome", "shutdown"));
  if (pause_tool_mode(ex) && pause_tool_unsent(ex)) {
    pause_tool_fail(ex, 503, "authrelay is restarting: call the tool again");
    return;
  }
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  ex_write_event(ex, &ev,
                 inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, 503,
                                    "authrelay is restarting: connect the account with the same link, then ask again"));
  if (ex->state != EX_CLOSING)
    pause_end_stream(ex);
}

/* ---- resume: retry ------------------------------------------------------- */

/* Sends the kept request again on a fresh upstream connection; its 2xx body
 * is spliced into the client's stream (pause_retry_on_head). Falls back to
 * continue when the request could not be kept. */
void pause_retry_start(exchange *ex) {
  upstream_pool *pool = ex_pool(ex);
  int reused = 0;
  if (!ex->replay_ok || !ex->req_done || ex->replay_head.len == 0 || (!ex->resp_chunked && !ex->retry_fresh)) {
    if (ex->retry_fresh) {
      ex->retry_fresh = 0;
      pause_tool_release(ex); /* cannot send it again: the caller gets the original */
      return;
    }
    LOG_WARN("retry not possible, continuing instead", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("reason", !ex->replay_ok ? "request larger than max_replay_body"
                               : !ex->resp_chunked ? "response not chunked to the client"
                                                   : "request not complete"));
    pause_resume_relaying(ex);
    return;
  }
  if (ex->up != NULL) {
    upstream_release(ex->up, 0); /* the old response is abandoned */
    ex->up = NULL;
  }
  ex->held.len = 0;
  ex->deferred_end = 0;
  ex->retries++;
  ex->retrying = 1;
  if (upstream_acquire(pool, &ex_upstream_callbacks, ex, &ex->up, &reused) != 0) {
    ex->up = NULL;
    pause_retry_failed(ex, 502, "retry: upstream unavailable");
    return;
  }
  if (reused)
    pause_retry_send(ex);
}

/* Writes the kept head with X-Authrelay-Retry and the kept body. */
void pause_retry_send(exchange *ex) {
  char line[64];
  uv_buf_t bufs[4];
  int n = snprintf(line, sizeof line, "X-Authrelay-Retry: %u\r\n\r\n", ex->retries);
  bufs[0] = uv_buf_init(ex->replay_head.ptr, (unsigned)(ex->replay_head.len - 2)); /* without its blank line */
  bufs[1] = uv_buf_init(line, (unsigned)n);
  bufs[2] = uv_buf_init(ex->replay_body.ptr, (unsigned)ex->replay_body.len);
  if (upstream_write(ex->up, bufs, ex->replay_body.len > 0 ? 3 : 2) != 0 ||
      upstream_start_response(ex->up, ex->head_request) != 0) {
    pause_retry_failed(ex, 502, "retry: upstream connection failed");
    return;
  }
  LOG_INFO("retrying request", LOG_STR("stream_id", ex->stream_id), LOG_U64("retry", ex->retries));
}

/* The retried request's response head: a 2xx body continues the client's
 * stream through a fresh framer; anything else ends it with relay_error.
 * Returns 0 when the body is spliced. */
int pause_retry_on_head(exchange *ex, const upstream_response *r) {
  framer_options fo;
  int chosen;
  ex->retrying = 0;
  if (r->status < 200 || r->status > 299) {
    char msg[64];
    snprintf(msg, sizeof msg, "retry answered %d", r->status);
    pause_retry_failed(ex, r->status, msg);
    return -1;
  }
  fo.max_event_bytes = ex_cfg(ex)->max_event_bytes;
  fo.inspect = 1;
  framer_close(&ex->framer);
  chosen = ex_response_format(ex, r);
  if (chosen != (int)ex->framer.format) {
    pause_retry_failed(ex, 502, "retry answered in another format than the stream");
    return -1;
  }
  framer_init(&ex->framer, (framer_format)chosen, &fo, &ex_framer_callbacks, ex);
  ex->forwarded = 0;
  ex->held.len = 0;
  return 0;
}

/* The retry failed: the client's stream ends with relay_error (a tool
 * call with nothing sent yet gets an error response instead). */
void pause_retry_failed(exchange *ex, int status, const char *message) {
  dynbuf ev;
  ex->retrying = 0;
  ex->end_outcome = "upstream_error";
  LOG_WARN("retry failed", LOG_STR("stream_id", ex->stream_id), LOG_STR("error", message));
  if (ex->retry_fresh) {
    ex->retry_fresh = 0;
    ex_fail_unsent(ex, status, message);
    return;
  }
  dynbuf_init(&ev, INJECT_MAX_BYTES);
  ex_write_event(ex, &ev, inject_relay_error(&ev, ex_inject_form(ex), ex->stream_id, status, message));
  if (ex->state != EX_CLOSING)
    pause_end_stream(ex);
}


/* ---- tool mode ----------------------------------------------------------- */

/* The account is connected: the tool call is sent again. When nothing of
 * the held response reached the caller (the usual case: the head waits for
 * the first event), the retry's response replaces it whole, whatever its
 * status; otherwise (events went out before the result) the held result is
 * dropped and the retry's events are spliced in, as resume: retry does. */
void pause_tool_retry(exchange *ex) {
  int unsent = pause_tool_unsent(ex);
  if (!ex->replay_ok || !ex->req_done || ex->replay_head.len == 0 || (!unsent && !ex->resp_chunked)) {
    /* It cannot be sent again (a request over max_replay_body, or a
     * response that cannot take spliced events): the original goes out
     * untouched rather than nothing. */
    LOG_WARN("tool call cannot be retried, releasing the original response", LOG_STR("stream_id", ex->stream_id));
    pause_tool_release(ex);
    return;
  }
  if (unsent) {
    ex_forget_response(ex);
    ex->retry_fresh = 1;
  } else if (ex->forwarded == ex->pause_start) {
    withhold_event(ex);
  }
  pause_retry_start(ex);
}

/* A held tool call whose response never reached the caller ends with a
 * clean error response (a relay_error event would follow a JSON head). */
static void pause_tool_fail(exchange *ex, int status, const char *message) {
  ex_forget_response(ex);
  ex_fail_unsent(ex, status, message);
}

int pause_tool_unsent(const exchange *ex) {
  return ex->resp_head.len > 0 && ex->forwarded == 0;
}

/* The link expired (or the operator cancelled): the caller gets the
 * original response, as the tool server sent it, uninspected from here. */
void pause_tool_release(exchange *ex) {
  framer_close(&ex->framer);
  framer_init(&ex->framer, FRAMER_RAW, NULL, NULL, NULL);
  ex->inspect = 0;
  pause_resume_relaying(ex);
}
