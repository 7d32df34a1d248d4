/* test_pause: the interrupt state machine (proxy/relay/pause.c) driven
 * through its seam alone: a stand-in owner implements pause_ops and
 * records what the pause asks of it; the link service is a real pausehub
 * on a loop of this thread (no sockets). Checked: which detections are
 * acted on and why not; pause_begin's withhold / forward, link_token and
 * heartbeat; each outcome (completed, operator resume and cancel, expiry,
 * client gone, overflow, shutdown) in band and in tool mode, what it
 * writes and how it tells the exchange to go on; an outcome for a pause
 * that ended otherwise first is dropped; the per-response pause count. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pause.h"
#include "timefmt.h"
#include "unit.h"

/* ---- the stand-in exchange ------------------------------------------------ */

typedef struct owner {
  int forwards;
  uint64_t forward_to;
  int withholds;
  uint64_t withhold_to;
  char events[8192];     /* every event written, in order */
  size_t events_len;
  int stops;
  int resumes;
  pause_next next;
  int ends;
  int unsent;            /* fail_unsent answers (tool mode, nothing sent) */
  int fails;
  int fail_status;
  uint64_t heartbeat_ms; /* the last period asked (0: stopped) */
  const char *outcome;
  const char *held;      /* the detected event's raw bytes, when set */
  int answers;           /* answer_held calls (tool mode, declined) */
  uint64_t answer_from;
  uint64_t answer_to;
  int answer_refused;    /* answer_held says -EALREADY */
} owner;

static int op_forward(void *o, uint64_t upto) {
  ((owner *)o)->forwards++;
  ((owner *)o)->forward_to = upto;
  return 0;
}

static void op_withhold(void *o, uint64_t upto) {
  ((owner *)o)->withholds++;
  ((owner *)o)->withhold_to = upto;
}

static int op_write_event(void *o, dynbuf *ev) {
  owner *w = o;
  if (w->events_len + ev->len < sizeof w->events) {
    memcpy(w->events + w->events_len, ev->ptr, ev->len);
    w->events_len += ev->len;
    w->events[w->events_len] = '\0';
  }
  dynbuf_free(ev);
  return 0;
}

static void op_stop_upstream(void *o) {
  ((owner *)o)->stops++;
}

static void op_resume(void *o, pause_next next) {
  ((owner *)o)->resumes++;
  ((owner *)o)->next = next;
}

static void op_end(void *o) {
  ((owner *)o)->ends++;
}

static int op_fail_unsent(void *o, int status, const char *message) {
  owner *w = o;
  (void)message;
  if (!w->unsent)
    return -EALREADY;
  w->fails++;
  w->fail_status = status;
  return 0;
}

static void op_heartbeat(void *o, uint64_t period_ms) {
  ((owner *)o)->heartbeat_ms = period_ms;
}

static void op_outcome(void *o, const char *outcome) {
  ((owner *)o)->outcome = outcome;
}

static void op_base_url(void *o, char *out, size_t cap) {
  (void)o;
  snprintf(out, cap, "http://relay.test");
}

/* The stand-in holds no body bytes (a rewrite withholds the event), unless
 * a test gives the event's. */
static const char *op_held(void *o, uint64_t from, uint64_t to, size_t *len) {
  owner *w = o;
  (void)from;
  (void)to;
  *len = w->held != NULL ? strlen(w->held) : 0;
  return w->held;
}

/* The answer goes where the events go. */
static int op_answer_held(void *o, uint64_t from, uint64_t to, dynbuf *ev) {
  owner *w = o;
  if (w->answer_refused) {
    dynbuf_free(ev);
    return -EALREADY;
  }
  w->answers++;
  w->answer_from = from;
  w->answer_to = to;
  w->resumes++; /* it goes on: the rest is released */
  w->next = PAUSE_RELEASE;
  return op_write_event(o, ev);
}

static const pause_ops ops = {
    op_forward, op_withhold, op_write_event, op_stop_upstream, op_resume,   op_end,
    op_fail_unsent, op_heartbeat, op_outcome, op_base_url, op_held, op_answer_held,
};

/* ---- a world: hub, loop, config, one stream ------------------------------ */

typedef struct world {
  pausehub_t hub;
  uv_loop_t loop;
  pausehub_mailbox box;
  metrics_t metrics;
  config_t cfg;
  config_route route;
  owner own;
  pause_stream st;
  detect_match match;
  framer_event ev;
  pause_t *ps;
} world;

static void world_init(world *w, const char *user, config_mode mode) {
  memset(w, 0, sizeof *w);
  CHECK(pausehub_init(&w->hub, NULL) == 0);
  CHECK(uv_loop_init(&w->loop) == 0);
  CHECK(pausehub_mailbox_init(&w->box, &w->hub, &w->loop) == 0);
  w->cfg.max_pauses_per_stream = 4;
  w->cfg.max_held_bytes = 1000;
  w->cfg.heartbeat_s = 15;
  w->route.mode = mode;
  w->st.ops = &ops;
  w->st.owner = &w->own;
  w->st.loop = &w->loop;
  w->st.metrics = &w->metrics;
  w->st.mailbox = &w->box;
  w->st.cfg = &w->cfg;
  w->st.route = &w->route;
  w->st.format = FRAMER_SSE;
  w->st.user = user;
  w->st.stream_id = "st_test_1";
  /* the detected event: bytes [100, 180) of the body */
  w->match.shape = DETECT_SHAPE_AUTHENTICATE_META;
  w->match.connector.ptr = "Slack";
  w->match.connector.len = 5;
  w->match.message.ptr = "Connect Slack please";
  w->match.message.len = 20;
  w->ev.start = 100;
  w->ev.end = 180;
  w->ev.status = DETECT_MATCH;
  w->ev.match = &w->match;
}

static void world_close(world *w) {
  pause_client_gone(w->ps); /* a no-op unless still waiting */
  pause_free(w->ps);
  pausehub_mailbox_close(&w->box, NULL);
  CHECK(uv_run(&w->loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&w->loop) == 0);
  pausehub_close(&w->hub);
}

/* Runs the loop without blocking until the owner was told to resume or
 * end, or a bounded number of turns has passed. */
static void run_until_told(world *w) {
  int spins;
  for (spins = 0; spins < 100000 && w->own.resumes == 0 && w->own.ends == 0; spins++)
    (void)uv_run(&w->loop, UV_RUN_NOWAIT);
}

/* The link token of the link_token event written, into out. */
static int token_of(const owner *o, char *out, size_t cap) {
  const char *p = strstr(o->events, "\"link_token\":\"");
  const char *q;
  if (p == NULL)
    return -ENOENT;
  p += 14;
  q = strchr(p, '"');
  if (q == NULL || (size_t)(q - p) >= cap)
    return -ENOENT;
  memcpy(out, p, (size_t)(q - p));
  out[q - p] = '\0';
  return 0;
}

/* The link token of a rewritten level-1 result (\"link_token\":\"...\"). */
static int token_of_escaped(const char *events, char *out, size_t cap) {
  const char *p = strstr(events, "\\\"link_token\\\":\\\"");
  const char *q;
  if (p == NULL)
    return -ENOENT;
  p += 17;
  q = strchr(p, '\\');
  if (q == NULL || (size_t)(q - p) >= cap)
    return -ENOENT;
  memcpy(out, p, (size_t)(q - p));
  out[q - p] = '\0';
  return 0;
}

/* Detected and begun: waiting, with everything before the event sent
 * (forwarded 100) and 30 bytes held past the event. */
static void detect_and_begin(world *w) {
  CHECK(pause_on_detect(&w->ps, &w->st, &w->ev) == 1);
  CHECK(w->ps != NULL);
  if (w->ps == NULL)
    return;
  CHECK_EQ_U64(pause_event_start(w->ps), 100);
  CHECK_EQ_U64(pause_event_end(w->ps), 180);
  pause_begin(w->ps, 100, 110);
  CHECK(pause_waiting(w->ps));
}

/* ---- the tests ----------------------------------------------------------- */

static void refusals(void) {
  world w;
  world_init(&w, NULL, CONFIG_MODE_INBAND);
  /* no trusted user */
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 0);
  CHECK(w.ps == NULL);
  /* in band, a JSON body is not paused */
  w.st.user = "user-r";
  w.st.format = FRAMER_JSON;
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 0);
  w.st.format = FRAMER_SSE;
  /* a connector that is not a slug (none at all is a picker link: below) */
  w.match.connector.ptr = "sl ck";
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 0);
  /* no pause left in this response */
  w.match.connector.ptr = "slack";
  w.match.connector.len = 5;
  w.cfg.max_pauses_per_stream = 0;
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 0);
  CHECK(w.ps == NULL);
  CHECK_EQ_U64(w.metrics.detections_unhandled, 4);
  CHECK_EQ_U64(w.metrics.detections_by_shape[DETECT_SHAPE_AUTHENTICATE_META], 4);
  CHECK(w.own.forwards + w.own.withholds + w.own.stops + w.own.resumes + w.own.ends == 0);
  world_close(&w);
}

/* Tool mode: the connector from the called tool's name when the result
 * names none; a chunked or absent body gives none: a picker link. */
static void tool_connector_from_request(void) {
  static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                             "\"params\":{\"name\":\"Slack__post_message\"}}";
  world w;
  world_init(&w, "user-t", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  w.match.connector.ptr = NULL;
  w.match.connector.len = 0;
  w.st.request_body = body;
  w.st.request_body_len = sizeof body - 1;
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 1);
  pause_begin(w.ps, 100, 110);
  CHECK(pause_waiting(w.ps));
  {
    dynbuf listing;
    dynbuf_init(&listing, 65536);
    CHECK(pausehub_render(&w.hub, &listing, NULL, 0) == 0);
    (void)dynbuf_add(&listing, "", 1);
    CHECK(strstr(listing.ptr, "\"connector\":\"slack\"") != NULL); /* its own, not a picker's */
    dynbuf_free(&listing);
  }
  world_close(&w);
}

/* No connector named nor found: a picker pause (connector ""): its link is
 * the user's picker link; completed for the connector chosen on the Link
 * page, the stream goes on with auth_complete naming that one; "Not now"
 * gives auth_declined and the stream goes on too (never a retry). */
static void picker_pause_and_decline(void) {
  world w;
  char token[128];
  world_init(&w, "user-p", CONFIG_MODE_INBAND);
  w.match.connector.ptr = NULL;
  w.match.connector.len = 0;
  detect_and_begin(&w);
  CHECK(strstr(w.own.events, "\"connector\":\"\"") != NULL);
  CHECK(token_of(&w.own, token, sizeof token) == 0);
  w.own.events_len = 0;
  w.own.events[0] = '\0';
  CHECK(pausehub_complete_as(&w.hub, token, strlen(token), "github", timefmt_now_ms()) == 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 1 && w.own.next == PAUSE_CONTINUE);
  CHECK(strstr(w.own.events, "event: auth_complete\n") != NULL);
  CHECK(strstr(w.own.events, "\"connector\":\"github\"") != NULL);
  /* the next pause of the response: "Not now" */
  w.own.resumes = 0;
  w.own.events_len = 0;
  w.own.events[0] = '\0';
  w.route.resume = CONFIG_RESUME_RETRY;
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 1);
  pause_begin(w.ps, 200, 10);
  CHECK(token_of(&w.own, token, sizeof token) == 0);
  w.own.events_len = 0;
  w.own.events[0] = '\0';
  CHECK(pausehub_decline(&w.hub, token, strlen(token), timefmt_now_ms()) == 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 1 && w.own.next == PAUSE_CONTINUE); /* not a retry */
  CHECK(strncmp(w.own.events, "event: auth_declined\n", 21) == 0);
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_DECLINED], 1);
  world_close(&w);
}

static void replace_begins(void) {
  world w;
  world_init(&w, "user-1", CONFIG_MODE_INBAND);
  detect_and_begin(&w);
  /* on_detect: replace: the event is withheld, not sent */
  CHECK(w.own.stops == 1);
  CHECK(w.own.withholds == 1);
  CHECK_EQ_U64(w.own.withhold_to, 180);
  CHECK(w.own.forwards == 0);
  CHECK(strncmp(w.own.events, "event: link_token\n", 18) == 0);
  CHECK(strstr(w.own.events, "\"connector\":\"slack\"") != NULL);
  CHECK(strstr(w.own.events, "\"magic_link_url\":\"http://relay.test/_authrelay/link/") != NULL);
  CHECK(strstr(w.own.events, "\"message\":\"Connect Slack please\"") != NULL);
  CHECK_EQ_U64(w.own.heartbeat_ms, 15000);
  CHECK_EQ_U64(w.metrics.pauses_total, 1);
  CHECK_EQ_U64(w.metrics.pauses_active, 1);
  /* a heartbeat while waiting */
  w.own.events_len = 0;
  pause_heartbeat(w.ps);
  CHECK(strcmp(w.own.events, ": paused\n\n") == 0);
  world_close(&w);
}

static void complete_resumes_continue(void) {
  world w;
  char token[128];
  world_init(&w, "user-2", CONFIG_MODE_INBAND);
  detect_and_begin(&w);
  CHECK(token_of(&w.own, token, sizeof token) == 0);
  w.own.events_len = 0;
  w.own.events[0] = '\0';
  CHECK(pausehub_complete(&w.hub, token, strlen(token), timefmt_now_ms()) == 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 1);
  CHECK(w.own.next == PAUSE_CONTINUE);
  CHECK(w.own.ends == 0);
  CHECK(strncmp(w.own.events, "event: auth_complete\n", 21) == 0);
  CHECK(!pause_waiting(w.ps));
  CHECK_EQ_U64(w.own.heartbeat_ms, 0); /* stopped */
  CHECK_EQ_U64(w.metrics.pauses_active, 0);
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_COMPLETED], 1);
  /* no heartbeat once the wait is over */
  w.own.events_len = 0;
  w.own.events[0] = '\0';
  pause_heartbeat(w.ps);
  CHECK(w.own.events_len == 0);
  /* the count of the response: max 1 pause, taken; the next response
   * on the connection starts again */
  w.cfg.max_pauses_per_stream = 1;
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 0);
  pause_request_begin(w.ps); /* the next response on the connection */
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 1);
  world_close(&w);
}

/* on_detect: keep, resume: retry: the event is forwarded whole; an
 * operator resume asks for the retry. */
static void keep_and_operator_resume_retries(void) {
  world w;
  world_init(&w, "user-3", CONFIG_MODE_INBAND);
  w.route.on_detect = CONFIG_ON_DETECT_KEEP;
  w.route.resume = CONFIG_RESUME_RETRY;
  w.st.format = FRAMER_NDJSON;
  detect_and_begin(&w);
  CHECK(w.own.withholds == 0);
  CHECK(w.own.forwards == 1);
  CHECK_EQ_U64(w.own.forward_to, 180);
  CHECK(strncmp(w.own.events, "{\"type\":\"link_token\"", 20) == 0); /* NDJSON */
  CHECK_EQ_U64(w.own.heartbeat_ms, 0); /* NDJSON has no heartbeat */
  w.own.events_len = 0;
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 1, PAUSEHUB_RESUMED, NULL) == 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 1);
  CHECK(w.own.next == PAUSE_RETRY);
  CHECK(strncmp(w.own.events, "{\"type\":\"auth_complete\"", 23) == 0);
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_OPERATOR], 1);
  world_close(&w);
}

/* An operator cancel ends the stream with relay_error 499. */
static void cancel_ends(void) {
  world w;
  world_init(&w, "user-4", CONFIG_MODE_INBAND);
  detect_and_begin(&w);
  w.own.events_len = 0;
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 0, PAUSEHUB_CANCELLED, NULL) == 0);
  run_until_told(&w);
  CHECK(w.own.ends == 1);
  CHECK(w.own.resumes == 0);
  CHECK(w.own.outcome != NULL && strcmp(w.own.outcome, "cancelled") == 0);
  CHECK(strncmp(w.own.events, "event: relay_error\n", 19) == 0);
  CHECK(strstr(w.own.events, "\"status\":499") != NULL);
  world_close(&w);
}

/* Expiry: link_expired, then continue, or end with after_expiry: close. */
static void expiry(void) {
  world w;
  world_init(&w, "user-5", CONFIG_MODE_INBAND);
  detect_and_begin(&w);
  w.own.events_len = 0;
  pausehub_expire(&w.hub, timefmt_now_ms() + 7200 * 1000ULL);
  run_until_told(&w);
  CHECK(w.own.resumes == 1 && w.own.next == PAUSE_CONTINUE);
  CHECK(strncmp(w.own.events, "event: link_expired\n", 20) == 0);
  world_close(&w);
  world_init(&w, "user-6", CONFIG_MODE_INBAND);
  w.cfg.after_expiry = CONFIG_AFTER_EXPIRY_CLOSE;
  detect_and_begin(&w);
  pausehub_expire(&w.hub, timefmt_now_ms() + 7200 * 1000ULL);
  run_until_told(&w);
  CHECK(w.own.ends == 1 && w.own.resumes == 0);
  CHECK(w.own.outcome != NULL && strcmp(w.own.outcome, "expired") == 0);
  world_close(&w);
}

/* Tool mode: nothing is written; completed -> retry, expired -> release. */
static void tool_mode(void) {
  world w;
  world_init(&w, "user-7", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  detect_and_begin(&w);
  CHECK(w.own.events_len == 0);
  CHECK(w.own.withholds + w.own.forwards == 0);
  CHECK_EQ_U64(w.own.heartbeat_ms, 0);
  /* nothing in band to read the token from: the operator resumes */
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 1, PAUSEHUB_RESUMED, NULL) == 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 1 && w.own.next == PAUSE_RETRY);
  CHECK(w.own.events_len == 0);
  world_close(&w);
  world_init(&w, "user-8", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  detect_and_begin(&w);
  pausehub_expire(&w.hub, timefmt_now_ms() + 7200 * 1000ULL);
  run_until_told(&w);
  CHECK(w.own.resumes == 1 && w.own.next == PAUSE_RELEASE);
  CHECK(w.own.events_len == 0);
  world_close(&w);
}

/* Tool mode, "Not now": the held result is answered in rewrite form: the
 * trusted link and a message saying the user declined, never the
 * upstream's link; one that cannot be rewritten gets an error answer. */
static void tool_mode_declined(void) {
  static const char body[] =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
      "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":"
      "\\\"ltk_upstream\\\",\\\"message\\\":\\\"Please connect\\\"}\"}]}}";
  world w;
  char token[128];
  world_init(&w, "user-d", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  w.own.held = body;
  detect_and_begin(&w);
  CHECK(w.own.events_len == 0);
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 1, PAUSEHUB_DECLINED, NULL) == 0);
  run_until_told(&w);
  CHECK(w.own.answers == 1 && w.own.fails == 0);
  CHECK_EQ_U64(w.own.answer_from, 100);
  CHECK_EQ_U64(w.own.answer_to, 180);
  CHECK(strstr(w.own.events, "ltk_upstream") == NULL && strstr(w.own.events, "Please connect") == NULL);
  CHECK(strstr(w.own.events, "\\\"message\\\":\\\"The user chose not to connect slack now.\\\"") != NULL);
  CHECK(token_of_escaped(w.own.events, token, sizeof token) == 0 && strncmp(token, "ltk_", 4) == 0);
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_DECLINED], 1);
  world_close(&w);
  /* not rewritable (nothing held): an error answer with the message */
  world_init(&w, "user-e", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  w.own.unsent = 1;
  detect_and_begin(&w);
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 1, PAUSEHUB_DECLINED, NULL) == 0);
  for (int spins = 0; spins < 100000 && w.own.fails == 0; spins++)
    (void)uv_run(&w.loop, UV_RUN_NOWAIT);
  CHECK(w.own.fails == 1 && w.own.fail_status == 403 && w.own.answers == 0 && w.own.resumes == 0);
  world_close(&w);
}

/* More than max_held_bytes: relay_error 507 and the end; in tool mode with
 * nothing sent, a 507 answer instead. */
static void overflow(void) {
  world w;
  world_init(&w, "user-9", CONFIG_MODE_INBAND);
  CHECK(pause_on_detect(&w.ps, &w.st, &w.ev) == 1);
  pause_begin(w.ps, 100, 1001); /* the read brought too much after the event */
  CHECK(!pause_waiting(w.ps));
  CHECK(w.own.stops == 0);
  CHECK(w.own.ends == 1);
  CHECK(w.own.outcome != NULL && strcmp(w.own.outcome, "overflow") == 0);
  CHECK(strstr(w.own.events, "\"status\":507") != NULL);
  world_close(&w);
  world_init(&w, "user-10", CONFIG_MODE_TOOL);
  w.st.format = FRAMER_JSON;
  w.own.unsent = 1;
  detect_and_begin(&w);
  pause_overflow(w.ps); /* more arrived while waiting */
  CHECK(!pause_waiting(w.ps));
  CHECK(w.own.fails == 1 && w.own.fail_status == 507);
  CHECK(w.own.ends == 0 && w.own.events_len == 0);
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_CANCELLED], 1);
  world_close(&w);
}

/* The client went away: the wait is cancelled, and the outcome of that
 * pause (an operator command racing with it) never reaches the owner. */
static void client_gone_drops_outcome(void) {
  world w;
  world_init(&w, "user-11", CONFIG_MODE_INBAND);
  detect_and_begin(&w);
  CHECK(pausehub_command(&w.hub, "st_test_1", 9, 1, PAUSEHUB_RESUMED, NULL) == 0);
  pause_client_gone(w.ps); /* before the loop delivered the command */
  CHECK(!pause_waiting(w.ps));
  CHECK_EQ_U64(w.metrics.resumes_by_outcome[METRICS_RESUME_CLIENT_GONE], 1);
  CHECK_EQ_U64(w.own.heartbeat_ms, 0);
  run_until_told(&w);
  CHECK(w.own.resumes == 0 && w.own.ends == 0);
  world_close(&w);
}

/* Draining: relay_error 503, the stream ends; a stream not waiting is
 * left alone. */
static void shutdown_ends(void) {
  world w;
  world_init(&w, "user-12", CONFIG_MODE_INBAND);
  pause_shutdown(NULL);
  detect_and_begin(&w);
  w.own.events_len = 0;
  pause_shutdown(w.ps);
  CHECK(w.own.ends == 1);
  CHECK(w.own.outcome != NULL && strcmp(w.own.outcome, "shutdown") == 0);
  CHECK(strstr(w.own.events, "\"status\":503") != NULL);
  pause_shutdown(w.ps); /* not waiting any more: nothing */
  CHECK(w.own.ends == 1);
  world_close(&w);
}

int main(void) {
  RUN(refusals);
  RUN(tool_connector_from_request);
  RUN(picker_pause_and_decline);
  RUN(replace_begins);
  RUN(complete_resumes_continue);
  RUN(keep_and_operator_resume_retries);
  RUN(cancel_ends);
  RUN(expiry);
  RUN(tool_mode);
  RUN(tool_mode_declined);
  RUN(overflow);
  RUN(client_gone_drops_outcome);
  RUN(shutdown_ends);
  return unit_report();
}
