/* test_mcpsession: MCP URL elicitation's state (proxy/relay/mcpsession.c):
 * what a JSON-RPC body says (initialize with and without the URL
 * capability, ids of both kinds, the caps on size and depth); the session
 * table's bounds (count: least recently used first; idle time; ids that
 * are not session ids); the GET stream registration; an elicitation on a
 * real pausehub: the trusted URL, notifications/elicitation/complete on
 * the session's GET stream once the link completes (only to the same
 * user's stream), the cap on waiting elicitations, cancel and a worker
 * going away, the wait on the GET stream's worker; the answer and the
 * notification byte for byte. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpsession.h"
#include "timefmt.h"
#include "unit.h"

#define CHECK_OUT(buf, text) CHECK_MEM((buf).ptr, (buf).len, text)

static int parse(const char *body, mcpsession_rpc *rpc) {
  return mcpsession_parse(body, strlen(body), rpc);
}

static void reads_requests(void) {
  mcpsession_rpc rpc;
  char *big;
  size_t i;
  CHECK(parse("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
              "\"2025-11-25\",\"capabilities\":{\"elicitation\":{\"url\":{}}}}}", &rpc) == 0);
  CHECK(rpc.initialize && !rpc.tools_call && rpc.url_elicitation);
  CHECK(strcmp(rpc.id, "0") == 0);
  /* form mode only, or a url member that is not an object: not declared */
  CHECK(parse("{\"id\":1,\"method\":\"initialize\",\"params\":{\"capabilities\":{\"elicitation\":{}}}}", &rpc) == 0);
  CHECK(rpc.initialize && !rpc.url_elicitation);
  CHECK(parse("{\"id\":1,\"method\":\"initialize\",\"params\":{\"capabilities\":{\"elicitation\":{\"url\":true}}}}",
              &rpc) == 0);
  CHECK(!rpc.url_elicitation);
  /* the capability counts only in an initialize */
  CHECK(parse("{\"id\":1,\"method\":\"ping\",\"params\":{\"capabilities\":{\"elicitation\":{\"url\":{}}}}}", &rpc) == 0);
  CHECK(!rpc.initialize && !rpc.url_elicitation);
  /* ids: a number as written, a string re-escaped; others are none */
  CHECK(parse("{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\\n\",\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
              &rpc) == 0);
  CHECK(rpc.tools_call);
  CHECK(strcmp(rpc.id, "\"a\\\"b\\n\"") == 0);
  CHECK(parse("{\"id\":-12.5e3,\"method\":\"tools/call\"}", &rpc) == 0);
  CHECK(strcmp(rpc.id, "-12.5e3") == 0);
  CHECK(parse("{\"id\":null,\"method\":\"tools/call\"}", &rpc) == 0);
  CHECK(rpc.id[0] == '\0');
  CHECK(parse("{\"method\":\"tools/call\"}", &rpc) == 0);
  CHECK(rpc.id[0] == '\0');
  /* an id longer than MCPSESSION_RPC_ID_MAX is not echoed */
  big = malloc(MCPSESSION_BODY_MAX + 64);
  CHECK(big != NULL);
  if (big == NULL)
    return;
  strcpy(big, "{\"method\":\"tools/call\",\"id\":\"");
  for (i = 0; i < MCPSESSION_RPC_ID_MAX; i++)
    strcat(big, "x");
  strcat(big, "\"}");
  CHECK(parse(big, &rpc) == 0);
  CHECK(rpc.tools_call && rpc.id[0] == '\0');
  /* not a request object */
  CHECK(parse("[{\"id\":1,\"method\":\"tools/call\"}]", &rpc) == -EINVAL);
  CHECK(parse("{\"id\":1,", &rpc) == -EINVAL);
  CHECK(parse("", &rpc) == -EINVAL);
  /* nested past MCPSESSION_DEPTH_MAX: refused before any tree is built */
  big[0] = '\0';
  strcat(big, "{\"method\":\"initialize\",\"params\":");
  for (i = 0; i < MCPSESSION_DEPTH_MAX; i++)
    strcat(big, "[");
  for (i = 0; i < MCPSESSION_DEPTH_MAX; i++)
    strcat(big, "]");
  strcat(big, "}");
  CHECK(parse(big, &rpc) == -EINVAL);
  /* longer than MCPSESSION_BODY_MAX: not read at all */
  memset(big, ' ', MCPSESSION_BODY_MAX + 1);
  memcpy(big, "{\"id\":1}", 8);
  CHECK(mcpsession_parse(big, MCPSESSION_BODY_MAX + 1, &rpc) == -E2BIG);
  CHECK(mcpsession_parse(big, MCPSESSION_BODY_MAX, &rpc) == 0);
  free(big);
}

static void table_bounds(void) {
  mcpsession_table *t = mcpsession_table_new(3, 1000, 8);
  char long_id[MCPSESSION_SID_MAX + 2];
  CHECK(t != NULL);
  if (t == NULL)
    return;
  CHECK(mcpsession_remember(t, "s1", 2, 1, 0) == 0);
  CHECK(mcpsession_remember(t, "s2", 2, 1, 10) == 0);
  CHECK(mcpsession_remember(t, "s3", 2, 0, 20) == 0); /* not declared: not kept */
  CHECK(mcpsession_count(t) == 2);
  CHECK(mcpsession_declared(t, "s1", 2, 30) == 1);
  CHECK(mcpsession_declared(t, "s2", 2, 30) == 1);
  CHECK(mcpsession_declared(t, "s3", 2, 30) == 0);
  CHECK(mcpsession_declared(t, "s", 1, 30) == 0);
  /* full: the least recently used goes (s1 was used after s2) */
  CHECK(mcpsession_declared(t, "s1", 2, 40) == 1);
  CHECK(mcpsession_remember(t, "s4", 2, 1, 50) == 0);
  CHECK(mcpsession_remember(t, "s5", 2, 1, 60) == 0);
  CHECK(mcpsession_count(t) == 3);
  CHECK(mcpsession_declared(t, "s2", 2, 70) == 0);
  CHECK(mcpsession_declared(t, "s1", 2, 70) == 1);
  /* the same id given to a session that did not declare it: forgotten */
  CHECK(mcpsession_remember(t, "s1", 2, 0, 80) == 0);
  CHECK(mcpsession_declared(t, "s1", 2, 80) == 0);
  /* idle past idle_ms: forgotten, unless a GET stream is open */
  CHECK(mcpsession_stream_open(t, "s4", 2, t, NULL, (mcpsession_notify_fn)1, "u", 90) == 0);
  CHECK(mcpsession_declared(t, "s5", 2, 1000) == 1);
  CHECK(mcpsession_declared(t, "s5", 2, 2001) == 0);
  CHECK(mcpsession_declared(t, "s4", 2, 2001) == 1);
  /* ids the spec does not allow, or longer than the cap */
  CHECK(mcpsession_remember(t, "a b", 3, 1, 2001) == -EINVAL);
  CHECK(mcpsession_remember(t, "", 0, 1, 2001) == -EINVAL);
  memset(long_id, 'a', sizeof long_id);
  CHECK(mcpsession_remember(t, long_id, MCPSESSION_SID_MAX + 1, 1, 2001) == -EINVAL);
  CHECK(mcpsession_remember(t, long_id, MCPSESSION_SID_MAX, 1, 2001) == 0);
  CHECK(mcpsession_declared(t, long_id, MCPSESSION_SID_MAX, 2001) == 1);
  mcpsession_table_free(t);
}

/* ---- elicitations on a real pausehub ---------------------------------- */

typedef struct stream_rec {
  char ev[1024];
  size_t len;
  int calls;
  int rc;           /* what the notify answers */
} stream_rec;

static stream_rec streams[2];

static int record_event(void *owner, const char *ev, size_t len) {
  stream_rec *s = owner;
  s->calls++;
  if (s->rc == 0 && s->len + len < sizeof s->ev) { /* every event, in order */
    memcpy(s->ev + s->len, ev, len);
    s->len += len;
    s->ev[s->len] = '\0';
  }
  return s->rc;
}

typedef struct bench {
  pausehub_t hub;
  uv_loop_t loop;
  pausehub_mailbox box;
  mcpsession_table *t;
} bench;

static int bench_open(bench *b, size_t max_elicitations) {
  memset(streams, 0, sizeof streams);
  if (pausehub_init(&b->hub, NULL) != 0 || uv_loop_init(&b->loop) != 0 ||
      pausehub_mailbox_init(&b->box, &b->hub, &b->loop) != 0)
    return -1;
  b->t = mcpsession_table_new(16, 3600 * 1000, max_elicitations);
  return b->t != NULL ? 0 : -1;
}

static void bench_close(bench *b) {
  mcpsession_worker_gone(b->t, &b->box);
  pausehub_mailbox_close(&b->box, NULL);
  uv_run(&b->loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&b->loop) == 0);
  pausehub_close(&b->hub);
  mcpsession_table_free(b->t);
}

/* Runs the loop without blocking until pred holds or a bounded number of
 * turns passed. */
static void run_until(uv_loop_t *loop, const int *counter, int n) {
  int spins;
  for (spins = 0; spins < 100000 && *counter < n; spins++)
    uv_run(loop, UV_RUN_NOWAIT);
}

static mcpsession_call call_of(const char *sid, const char *user) {
  mcpsession_call c;
  c.sid = sid;
  c.sid_len = strlen(sid);
  c.user = user;
  c.connector = "slack";
  c.stream_id = "st_0_000001";
  c.base_url = "http://127.0.0.1:8080";
  return c;
}

static const char *token_of(const char *url) {
  const char *p = strstr(url, LINKSVC_PATH_PREFIX);
  return p != NULL ? p + sizeof LINKSVC_PATH_PREFIX - 1 : "";
}

static void completion_reaches_the_get_stream(void) {
  bench b;
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char id2[MCPSESSION_ELICITATION_ID_LEN + 1];
  char url[512];
  char url2[512];
  mcpsession_call c = call_of("sess-1", "alice");
  dynbuf want;
  size_t i;
  CHECK(bench_open(&b, 8) == 0);
  CHECK(mcpsession_remember(b.t, "sess-1", 6, 1, 1) == 0);
  /* a session that did not declare: no GET stream to carry anything */
  CHECK(mcpsession_stream_open(b.t, "sess-x", 6, &streams[1], &b.box, record_event, "alice", 1) == -ENOENT);
  CHECK(mcpsession_stream_open(b.t, "sess-1", 6, &streams[0], &b.box, record_event, "alice", 1) == 0);
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  /* the trusted link: the base, then /_authrelay/link/ltk_<32 hex> */
  CHECK(strncmp(url, "http://127.0.0.1:8080/_authrelay/link/ltk_", 42) == 0);
  CHECK(strlen(url) == strlen("http://127.0.0.1:8080") + LINKSVC_PATH_LEN);
  CHECK(strlen(id) == MCPSESSION_ELICITATION_ID_LEN && strncmp(id, "el_", 3) == 0);
  for (i = 3; i < MCPSESSION_ELICITATION_ID_LEN; i++)
    CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
  /* a second call of the same user and connector joins the same link,
   * with an elicitationId of its own */
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id2, url2, sizeof url2) == 0);
  CHECK(strcmp(url, url2) == 0 && strcmp(id, id2) != 0);
  CHECK(mcpsession_elicitations(b.t) == 2);
  /* nothing is sent before the link completes */
  uv_run(&b.loop, UV_RUN_NOWAIT);
  CHECK(streams[0].calls == 0);
  CHECK(pausehub_complete(&b.hub, token_of(url), strlen(token_of(url)), timefmt_now_ms()) == 0);
  run_until(&b.loop, &streams[0].calls, 2);
  CHECK(streams[0].calls == 2);
  CHECK(mcpsession_elicitations(b.t) == 0);
  /* each elicitationId once, as an SSE event named message */
  dynbuf_init(&want, 1024);
  CHECK(mcpsession_render_complete(&want, id) == 0);
  CHECK(want.len > 0 && memmem(streams[0].ev, streams[0].len, want.ptr, want.len) != NULL);
  want.len = 0;
  CHECK(mcpsession_render_complete(&want, id2) == 0);
  CHECK(want.len > 0 && memmem(streams[0].ev, streams[0].len, want.ptr, want.len) != NULL);
  CHECK(streams[0].len == 2 * want.len);
  dynbuf_free(&want);
  bench_close(&b);
}

static void only_to_the_same_users_open_stream(void) {
  bench b;
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char url[512];
  mcpsession_call c = call_of("sess-2", "bob");
  int ended = 0;
  CHECK(bench_open(&b, 8) == 0);
  CHECK(mcpsession_remember(b.t, "sess-2", 6, 1, 1) == 0);
  /* the GET stream of the session belongs to another user: not told */
  CHECK(mcpsession_stream_open(b.t, "sess-2", 6, &streams[0], &b.box, record_event, "mallory", 1) == 0);
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  CHECK(pausehub_complete(&b.hub, token_of(url), strlen(token_of(url)), timefmt_now_ms()) == 0);
  for (ended = 0; ended < 100000 && mcpsession_elicitations(b.t) > 0; ended++)
    uv_run(&b.loop, UV_RUN_NOWAIT);
  CHECK(mcpsession_elicitations(b.t) == 0);
  CHECK(streams[0].calls == 0);
  /* bob's stream, closed before the link completes: not told either */
  CHECK(mcpsession_stream_open(b.t, "sess-2", 6, &streams[1], &b.box, record_event, "bob", 1) == 0);
  mcpsession_stream_close(b.t, "sess-2", 6, &streams[0]); /* not its stream: no-op */
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  mcpsession_stream_close(b.t, "sess-2", 6, &streams[1]);
  CHECK(pausehub_complete(&b.hub, token_of(url), strlen(token_of(url)), timefmt_now_ms()) == 0);
  for (ended = 0; ended < 100000 && mcpsession_elicitations(b.t) > 0; ended++)
    uv_run(&b.loop, UV_RUN_NOWAIT);
  CHECK(mcpsession_elicitations(b.t) == 0);
  CHECK(streams[1].calls == 0);
  bench_close(&b);
}

static void caps_cancel_and_worker_gone(void) {
  bench b;
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char id2[MCPSESSION_ELICITATION_ID_LEN + 1];
  char url[512];
  char small[40];
  mcpsession_call c = call_of("sess-3", "carol");
  pausehub_link_view view;
  CHECK(bench_open(&b, 1) == 0);
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, small, sizeof small) == -ENOSPC);
  c.sid = "bad id";
  c.sid_len = 6;
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == -EINVAL);
  c = call_of("sess-3", "carol");
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  /* one waiting at most (max_elicitations 1) */
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id2, url, sizeof url) == -EBUSY);
  CHECK(mcpsession_elicitations(b.t) == 1);
  /* withdrawn: the link, waited on by nobody else, is revoked */
  mcpsession_elicit_cancel(b.t, &b.box, id);
  mcpsession_elicit_cancel(b.t, &b.box, id); /* unknown now: no-op */
  CHECK(mcpsession_elicitations(b.t) == 0);
  CHECK(pausehub_lookup(&b.hub, token_of(url), strlen(token_of(url)), &view) == 0);
  CHECK(view.state == LINKSVC_STATE_REVOKED);
  /* the worker goes away: its elicitations stop waiting */
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  CHECK(mcpsession_elicitations(b.t) == 1);
  mcpsession_worker_gone(b.t, &b.box);
  CHECK(mcpsession_elicitations(b.t) == 0);
  CHECK(b.hub.npaused == 0);
  bench_close(&b);
}

/* The call is answered on one worker, the session's GET stream is relayed
 * by another: the elicitation waits, and is delivered, on the stream's. */
static void waits_on_the_get_streams_worker(void) {
  bench b;
  uv_loop_t loop2;
  pausehub_mailbox box2;
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char url[512];
  mcpsession_call c = call_of("sess-4", "dave");
  int spins;
  CHECK(bench_open(&b, 8) == 0);
  CHECK(uv_loop_init(&loop2) == 0);
  CHECK(pausehub_mailbox_init(&box2, &b.hub, &loop2) == 0);
  CHECK(mcpsession_remember(b.t, "sess-4", 6, 1, 1) == 0);
  CHECK(mcpsession_stream_open(b.t, "sess-4", 6, &streams[0], &box2, record_event, "dave", 1) == 0);
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  /* only its own loop may withdraw it */
  mcpsession_elicit_cancel(b.t, &b.box, id);
  CHECK(mcpsession_elicitations(b.t) == 1);
  CHECK(pausehub_complete(&b.hub, token_of(url), strlen(token_of(url)), timefmt_now_ms()) == 0);
  for (spins = 0; spins < 1000; spins++)
    uv_run(&b.loop, UV_RUN_NOWAIT);
  CHECK(streams[0].calls == 0); /* nothing arrives on the caller's loop */
  run_until(&loop2, &streams[0].calls, 1);
  CHECK(streams[0].calls == 1);
  CHECK(strstr(streams[0].ev, id) != NULL);
  CHECK(mcpsession_elicitations(b.t) == 0);
  /* and a worker going away withdraws those waiting on it */
  CHECK(mcpsession_elicit(b.t, &b.box, &c, timefmt_now_ms(), id, url, sizeof url) == 0);
  mcpsession_worker_gone(b.t, &b.box);
  CHECK(mcpsession_elicitations(b.t) == 1);
  mcpsession_worker_gone(b.t, &box2);
  CHECK(mcpsession_elicitations(b.t) == 0);
  pausehub_mailbox_close(&box2, NULL);
  uv_run(&loop2, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop2) == 0);
  bench_close(&b);
}

static void wire_forms(void) {
  dynbuf out;
  dynbuf_init(&out, 4096);
  CHECK(mcpsession_render_answer(&out, 0, "7", "el_1", "http://h/_authrelay/link/ltk_a", "Connect \"Slack\"") == 0);
  CHECK_OUT(out, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32042,\"message\":\"URL elicitation required\","
                 "\"data\":{\"elicitations\":[{\"mode\":\"url\",\"elicitationId\":\"el_1\","
                 "\"url\":\"http://h/_authrelay/link/ltk_a\",\"message\":\"Connect \\\"Slack\\\"\"}]}}}");
  out.len = 0;
  CHECK(mcpsession_render_answer(&out, 1, "\"r-1\"", "el_1", "http://h/l", "m\nn") == 0);
  CHECK_OUT(out, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"error\":{\"code\":-32042,"
                 "\"message\":\"URL elicitation required\",\"data\":{\"elicitations\":[{\"mode\":\"url\","
                 "\"elicitationId\":\"el_1\",\"url\":\"http://h/l\",\"message\":\"m\\nn\"}]}}}\n\n");
  out.len = 0;
  CHECK(mcpsession_render_complete(&out, "el_2") == 0);
  CHECK_OUT(out, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/elicitation/complete\","
                 "\"params\":{\"elicitationId\":\"el_2\"}}\n\n");
  dynbuf_free(&out);
  /* over the buffer's cap: the error, not a cut answer */
  dynbuf_init(&out, 64);
  CHECK(mcpsession_render_answer(&out, 1, "7", "el_1", "http://h/l", "m") == -E2BIG);
  dynbuf_free(&out);
}

int main(void) {
  RUN(reads_requests);
  RUN(table_bounds);
  RUN(completion_reaches_the_get_stream);
  RUN(only_to_the_same_users_open_stream);
  RUN(caps_cancel_and_worker_gone);
  RUN(waits_on_the_get_streams_worker);
  RUN(wire_forms);
  return unit_report();
}
