/* test_pausehub: shared link state and delivery to a worker's loop
 * (proxy/pausehub.c): waiters of one (user, connector) share a link; a
 * completion made on another thread reaches every waiter on its own loop,
 * once; control commands and cancels; the listing; what pausehub_lookup
 * shows of a link (stream links and the link-token API's pinned ones); a
 * burst of pauses past the caps (the bound on ended links in memory). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pausehub.h"
#include "unit.h"
#include "timefmt.h"

typedef struct rec {
  pausehub_waiter pw;
  int calls;
  pausehub_outcome outcome;
  unsigned pause_no;       /* of the outcome delivered */
  uv_thread_t thread;
} rec;

static uv_thread_t loop_thread;
static int delivered;
static pausehub_mailbox box;

static void on_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome) {
  rec *r = (rec *)pw;
  r->calls++;
  r->outcome = outcome;
  r->pause_no = pause_no;
  r->thread = uv_thread_self();
  delivered++;
}

/* pausehub_wait() for pause pause_no of stream_id. */
static int wait_on(rec *r, const char *stream_id, unsigned pause_no, const char *user, const char *connector,
                   uint64_t held, uint64_t now) {
  pausehub_pause p;
  memset(&p, 0, sizeof p);
  p.stream_id = stream_id;
  p.pause_no = pause_no;
  p.user = user;
  p.connector = connector;
  p.held_bytes = held;
  return pausehub_wait(&box, &r->pw, &p, now, on_done);
}

typedef struct completer {
  pausehub_t *hub;
  char token[64];
  int rc;
} completer;

static void complete_elsewhere(void *arg) {
  completer *c = arg;
  c->rc = pausehub_complete(c->hub, c->token, strlen(c->token), timefmt_now_ms());
}

/* Runs the loop without blocking until n outcomes have been delivered, or a
 * bounded number of turns has passed. */
static void run_until(uv_loop_t *loop, int n) {
  int spins;
  for (spins = 0; spins < 100000 && delivered < n; spins++)
    uv_run(loop, UV_RUN_NOWAIT);
}

static void shared_link_completed_from_another_thread(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec r[3];
  completer c;
  uv_thread_t t;
  int i;
  memset(r, 0, sizeof r);
  CHECK(pausehub_init(&hub, NULL) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  loop_thread = uv_thread_self();
  for (i = 0; i < 3; i++)
    CHECK(wait_on(&r[i], "st_0_00000" "1", 1, "user_1", "slack", 10, timefmt_now_ms()) == 0);
  CHECK(strcmp(r[0].pw.w.link.token, r[1].pw.w.link.token) == 0);
  CHECK(strcmp(r[0].pw.w.link.token, r[2].pw.w.link.token) == 0);
  CHECK(hub.npaused == 3);
  c.hub = &hub;
  strcpy(c.token, r[0].pw.w.link.token);
  CHECK(uv_thread_create(&t, complete_elsewhere, &c) == 0);
  uv_thread_join(&t);
  CHECK(c.rc == 0);
  CHECK(delivered == 0); /* nothing runs on the completing thread */
  run_until(&loop, 3);
  for (i = 0; i < 3; i++) {
    CHECK(r[i].calls == 1);
    CHECK(r[i].outcome == PAUSEHUB_COMPLETED);
    CHECK(uv_thread_equal(&r[i].thread, &loop_thread));
  }
  CHECK(hub.npaused == 0);
  CHECK(pausehub_complete(&hub, c.token, strlen(c.token), timefmt_now_ms()) == -EALREADY);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

static void commands_cancel_and_listing(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec a, b, gone;
  dynbuf out;
  pausehub_link_view view;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&gone, 0, sizeof gone);
  delivered = 0;
  CHECK(pausehub_init(&hub, NULL) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  CHECK(wait_on(&a, "st_a", 1, "u1", "github", 5, 1000) == 0);
  CHECK(wait_on(&b, "st_b", 1, "u2", "notion", 6, 1000) == 0);
  CHECK(wait_on(&gone, "st_g", 1, "u3", "jira", 7, 1000) == 0);
  dynbuf_init(&out, 65536);
  CHECK(pausehub_render(&hub, &out, NULL, 0) == 0);
  (void)dynbuf_add(&out, "", 1);
  CHECK(strstr(out.ptr, "\"stream_id\":\"st_a\",\"registered_user\":\"u1\",\"connector\":\"github\","
                        "\"pause\":1,\"state\":\"paused\",\"paused_since_ms\":1000,\"held_bytes\":5") != NULL);
  CHECK(strstr(out.ptr, "\"stream_id\":\"st_b\"") != NULL);
  out.len = 0;
  CHECK(pausehub_render(&hub, &out, "st_b", 4) == 0);
  CHECK(pausehub_render(&hub, &out, "st_x", 4) == -ENOENT);
  dynbuf_free(&out);
  CHECK(pausehub_command(&hub, "st_a", 4, 0, PAUSEHUB_RESUMED, NULL) == 0);
  CHECK(pausehub_command(&hub, "st_a", 4, 0, PAUSEHUB_CANCELLED, NULL) == -EALREADY); /* ending already */
  CHECK(pausehub_command(&hub, "st_b", 4, 0, PAUSEHUB_CANCELLED, NULL) == 0);
  CHECK(pausehub_command(&hub, "st_nope", 7, 0, PAUSEHUB_CANCELLED, NULL) == -ENOENT);
  /* a stream that goes away: its link is revoked, its callback never runs */
  memset(&view, 0x55, sizeof view);
  CHECK(pausehub_lookup(&hub, gone.pw.w.link.token, strlen(gone.pw.w.link.token), &view) == 0);
  CHECK(view.state == LINKSVC_STATE_PENDING);
  CHECK(strcmp(view.info.token, gone.pw.w.link.token) == 0);
  CHECK(strcmp(view.info.path, gone.pw.w.link.path) == 0);
  CHECK(strcmp(view.info.connector, "jira") == 0);
  CHECK(view.info.expires_ms == gone.pw.w.link.expires_ms);
  CHECK(strcmp(view.user, "u3") == 0);
  CHECK(strcmp(view.callback_url, "") == 0 && strcmp(view.state_param, "") == 0);
  pausehub_cancel(&gone.pw);
  CHECK(pausehub_lookup(&hub, gone.pw.w.link.token, strlen(gone.pw.w.link.token), &view) == 0);
  CHECK(view.state == LINKSVC_STATE_REVOKED);
  CHECK(pausehub_lookup(&hub, "ltk_0123456789abcdef0123456789abcdef", LINKSVC_TOKEN_LEN, &view) ==
        -ENOENT);
  run_until(&loop, 2);
  CHECK(a.calls == 1 && a.outcome == PAUSEHUB_RESUMED);
  CHECK(b.calls == 1 && b.outcome == PAUSEHUB_CANCELLED);
  CHECK(gone.calls == 0);
  CHECK(hub.npaused == 0);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

static void expiry_is_delivered(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec r;
  linksvc_options opt;
  memset(&r, 0, sizeof r);
  memset(&opt, 0, sizeof opt);
  opt.link_ttl_s = 60;
  delivered = 0;
  CHECK(pausehub_init(&hub, &opt) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  CHECK(wait_on(&r, "st_e", 1, "u", "slack", 0, 1000) == 0);
  pausehub_expire(&hub, 1000 + 59 * 1000);
  run_until(&loop, 1);
  CHECK(r.calls == 0); /* not yet */
  pausehub_expire(&hub, 1000 + 60 * 1000);
  run_until(&loop, 1);
  CHECK(r.calls == 1 && r.outcome == PAUSEHUB_EXPIRED);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

/* The link-token API's link (pausehub_mint): lookup shows its user,
 * callback_url and state; completing it resumes the pair's paused stream. */
static void minted_link(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec r;
  linksvc_link_info info;
  pausehub_link_view view;
  memset(&r, 0, sizeof r);
  delivered = 0;
  CHECK(pausehub_init(&hub, NULL) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  CHECK(pausehub_mint(&hub, "u9", "slack", 600, "https://app.example.com/cb", "s-42", 5000, &info) == 0);
  CHECK(pausehub_lookup(&hub, info.token, strlen(info.token), &view) == 0);
  CHECK(view.state == LINKSVC_STATE_PENDING);
  CHECK(strcmp(view.user, "u9") == 0);
  CHECK(strcmp(view.callback_url, "https://app.example.com/cb") == 0);
  CHECK(strcmp(view.state_param, "s-42") == 0);
  CHECK(view.info.expires_ms == 5000 + 600 * 1000);
  CHECK(wait_on(&r, "st_m", 1, "u9", "slack", 0, 6000) == 0);
  CHECK(strcmp(r.pw.w.link.token, info.token) != 0); /* streams do not join it */
  CHECK(pausehub_complete(&hub, info.token, strlen(info.token), 7000) == 0);
  run_until(&loop, 1);
  CHECK(r.calls == 1 && r.outcome == PAUSEHUB_COMPLETED);
  CHECK(pausehub_lookup(&hub, info.token, strlen(info.token), &view) == 0);
  CHECK(view.state == LINKSVC_STATE_COMPLETED);
  CHECK(pausehub_complete(&hub, info.token, strlen(info.token), 8000) == -EALREADY);
  CHECK(hub.npaused == 0);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

/* The relay's picker pause: pausehub_wait with connector "" waits on the
 * user's picker link; completing it for a connector (the Link page's
 * choice) delivers PAUSEHUB_COMPLETED with that connector in w.link, to the
 * picker's streams and those paused on the chosen connector; "Not now"
 * delivers PAUSEHUB_DECLINED. */
static void picker_pause_and_decline(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec r[4];
  memset(r, 0, sizeof r);
  delivered = 0;
  CHECK(pausehub_init(&hub, NULL) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  CHECK(wait_on(&r[0], "st_p0", 1, "u7", "", 0, 1000) == 0);
  CHECK(wait_on(&r[1], "st_p1", 1, "u7", "slack", 0, 1000) == 0);
  CHECK(strcmp(r[0].pw.w.link.connector, "") == 0);
  CHECK(pausehub_complete_as(&hub, r[0].pw.w.link.token, LINKSVC_TOKEN_LEN, "slack", 2000) == 0);
  run_until(&loop, 2);
  CHECK(r[0].calls == 1 && r[0].outcome == PAUSEHUB_COMPLETED);
  CHECK(r[1].calls == 1 && r[1].outcome == PAUSEHUB_COMPLETED);
  CHECK(strcmp(r[0].pw.w.link.connector, "slack") == 0);
  CHECK(wait_on(&r[2], "st_p2", 1, "u7", "github", 0, 3000) == 0);
  CHECK(wait_on(&r[3], "st_p3", 1, "u7", "github", 0, 3000) == 0);
  CHECK(pausehub_decline(&hub, r[2].pw.w.link.token, LINKSVC_TOKEN_LEN, 4000) == 0);
  run_until(&loop, 4);
  CHECK(r[2].calls == 1 && r[2].outcome == PAUSEHUB_DECLINED);
  CHECK(r[3].calls == 1 && r[3].outcome == PAUSEHUB_DECLINED);
  CHECK(pausehub_decline(&hub, r[2].pw.w.link.token, LINKSVC_TOKEN_LEN, 5000) == -EALREADY);
  CHECK(hub.npaused == 0);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

/* Commands name a pause: one meant for a pause that ended is refused
 * (-ESTALE), never applied to the stream's next pause; one taken for a
 * pause that then ends otherwise (the stream's own cancel) is dropped; an
 * outcome carries the number of the pause it was decided for. */
static void commands_name_the_pause(void) {
  pausehub_t hub;
  uv_loop_t loop;
  rec r;
  unsigned current = 99;
  dynbuf out;
  memset(&r, 0, sizeof r);
  delivered = 0;
  CHECK(pausehub_init(&hub, NULL) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  /* pause 1 ends (completed) */
  CHECK(wait_on(&r, "st_p", 1, "u1", "slack", 0, 1000) == 0);
  CHECK(pausehub_command(&hub, "st_p", 4, 2, PAUSEHUB_CANCELLED, &current) == -ESRCH); /* not begun */
  CHECK(current == 1);
  CHECK(pausehub_complete(&hub, r.pw.w.link.token, strlen(r.pw.w.link.token), 2000) == 0);
  CHECK(pausehub_command(&hub, "st_p", 4, 1, PAUSEHUB_CANCELLED, &current) == -EALREADY);
  run_until(&loop, 1);
  CHECK(r.calls == 1 && r.outcome == PAUSEHUB_COMPLETED && r.pause_no == 1);
  /* between pauses: pause 1 is known to have ended */
  CHECK(pausehub_command(&hub, "st_p", 4, 1, PAUSEHUB_CANCELLED, &current) == -ESTALE);
  CHECK(current == 1);
  CHECK(pausehub_command(&hub, "st_p", 4, 0, PAUSEHUB_CANCELLED, NULL) == -ENOENT); /* not paused now */
  CHECK(pausehub_command(&hub, "st_p", 4, 2, PAUSEHUB_CANCELLED, NULL) == -ESRCH);
  /* pause 2: a cancel for pause 1 is refused and pause 2 goes on */
  CHECK(wait_on(&r, "st_p", 2, "u1", "slack", 0, 3000) == 0);
  CHECK(pausehub_command(&hub, "st_p", 4, 1, PAUSEHUB_CANCELLED, &current) == -ESTALE);
  CHECK(current == 2);
  CHECK(r.pw.w.waiting && !r.pw.queued);
  dynbuf_init(&out, 4096);
  CHECK(pausehub_render(&hub, &out, "st_p", 4) == 0);
  (void)dynbuf_add(&out, "", 1);
  CHECK(strstr(out.ptr, "\"pause\":2,\"state\":\"paused\"") != NULL);
  dynbuf_free(&out);
  run_until(&loop, 2);
  CHECK(r.calls == 1);
  /* naming pause 2 works */
  CHECK(pausehub_command(&hub, "st_p", 4, 2, PAUSEHUB_RESUMED, &current) == 0);
  CHECK(current == 2);
  run_until(&loop, 2);
  CHECK(r.calls == 2 && r.outcome == PAUSEHUB_RESUMED && r.pause_no == 2);
  /* pause 3: a command taken, then the stream leaves the pause itself
   * (client gone) before delivery: dropped, never delivered */
  CHECK(wait_on(&r, "st_p", 3, "u1", "slack", 0, 4000) == 0);
  CHECK(pausehub_command(&hub, "st_p", 4, 0, PAUSEHUB_CANCELLED, &current) == 0);
  CHECK(current == 3);
  pausehub_cancel(&r.pw);
  run_until(&loop, 3);
  CHECK(r.calls == 2);
  CHECK(pausehub_command(&hub, "st_p", 4, 3, PAUSEHUB_CANCELLED, NULL) == -ESTALE);
  CHECK(hub.npaused == 0);
  /* ended pauses are remembered up to PAUSEHUB_ENDED_MAX: then unknown */
  {
    char id[32];
    int i;
    for (i = 0; i < PAUSEHUB_ENDED_MAX - 1; i++) {
      snprintf(id, sizeof id, "st_r%d", i);
      CHECK(wait_on(&r, id, 1, "u1", "slack", 0, 5000) == 0);
      pausehub_cancel(&r.pw);
    }
    CHECK(pausehub_command(&hub, "st_p", 4, 3, PAUSEHUB_CANCELLED, NULL) == -ESTALE);
    CHECK(wait_on(&r, "st_last", 1, "u1", "slack", 0, 5000) == 0);
    pausehub_cancel(&r.pw);
    CHECK(pausehub_command(&hub, "st_p", 4, 3, PAUSEHUB_CANCELLED, NULL) == -ENOENT);
    CHECK(pausehub_command(&hub, "st_last", 7, 1, PAUSEHUB_CANCELLED, NULL) == -ESTALE);
  }
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

/* A burst of pauses whose links end (completed, or revoked by the stream
 * leaving), far past max_links: the hub keeps at most ended_max ended
 * links, never refuses a new pause for them, keeps the held pauses'
 * links, and a forgotten token is unknown here (the link page answers it
 * from the store) and never completes. */
static void burst_at_the_cap(void) {
  pausehub_t hub;
  uv_loop_t loop;
  linksvc_options o;
  rec held[5];
  rec r;
  pausehub_link_view view;
  char first[LINKSVC_TOKEN_LEN + 1];
  char id[32];
  char user[32];
  size_t most_ended = 0;
  int refused = 0;
  int i;
  memset(held, 0, sizeof held);
  memset(&o, 0, sizeof o);
  o.max_links = 64; /* 300 links pass through it */
  o.ended_max = 3;
  delivered = 0;
  CHECK(pausehub_init(&hub, &o) == 0);
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(pausehub_mailbox_init(&box, &hub, &loop) == 0);
  for (i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "st_h%d", i);
    snprintf(user, sizeof user, "held-%d", i);
    CHECK(wait_on(&held[i], id, 1, user, "slack", 0, 1000) == 0);
  }
  for (i = 0; i < 300; i++) {
    memset(&r, 0, sizeof r);
    snprintf(id, sizeof id, "st_b%d", i);
    snprintf(user, sizeof user, "burst-%d", i);
    if (wait_on(&r, id, 1, user, "github", 0, 2000 + (uint64_t)i) != 0) {
      refused++;
      continue;
    }
    if (i == 0)
      memcpy(first, r.pw.w.link.token, sizeof first);
    if (i % 2 == 0) {
      CHECK(pausehub_complete(&hub, r.pw.w.link.token, strlen(r.pw.w.link.token), 2000 + (uint64_t)i) == 0);
      run_until(&loop, delivered + 1);
      CHECK(r.calls == 1 && r.outcome == PAUSEHUB_COMPLETED);
    } else {
      pausehub_cancel(&r.pw);
    }
    if (hub.links.nended > most_ended)
      most_ended = hub.links.nended;
  }
  CHECK(refused == 0);
  CHECK(most_ended <= 3 && hub.links.nended == 3 && hub.links.npending == 5);
  for (i = 0; i < 5; i++)
    CHECK(held[i].pw.w.waiting && pausehub_lookup(&hub, held[i].pw.w.link.token, LINKSVC_TOKEN_LEN, &view) == 0 &&
          view.state == LINKSVC_STATE_PENDING);
  CHECK(pausehub_lookup(&hub, first, LINKSVC_TOKEN_LEN, &view) == -ENOENT);
  CHECK(pausehub_complete(&hub, first, LINKSVC_TOKEN_LEN, 9000) == -ENOENT);
  /* the control API still refuses commands for a recently ended pause */
  CHECK(pausehub_command(&hub, "st_b299", 7, 1, PAUSEHUB_CANCELLED, NULL) == -ESTALE);
  for (i = 0; i < 5; i++)
    pausehub_cancel(&held[i].pw);
  pausehub_mailbox_close(&box, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  pausehub_close(&hub);
}

int main(void) {
  RUN(shared_link_completed_from_another_thread);
  RUN(commands_cancel_and_listing);
  RUN(expiry_is_delivered);
  RUN(minted_link);
  RUN(commands_name_the_pause);
  RUN(burst_at_the_cap);
  RUN(picker_pause_and_decline);
  return unit_report();
}
