/* test_posted: the posted-work queue a relay worker runs after each poll
 * (proxy/event/posted.c): entries run once per posting, in order; posting
 * twice is one run; an entry taken off (its owner went away) never runs,
 * also when a handler of the same pass takes it off; work posted by a
 * handler waits for the next iteration (a handler that posts itself cannot
 * hold the loop); work posted from a timer does not let the poll block
 * (a heartbeat goes out now, not at the next I/O); an empty queue leaves
 * the loop free to end. No sockets: a loop, its timers and the queue. */
#include <stddef.h>
#include <string.h>

#include "posted.h"
#include "unit.h"

typedef struct item {
  posted_entry e;        /* first: the handler finds its item */
  int runs;
  int order;             /* when it last ran, counting every run */
  int repost;            /* posts itself again this many times */
  struct item *victim;   /* taken off the queue by this one's handler */
} item;

static posted_queue queue;
static int clock_ticks;

static void on_item(posted_entry *e) {
  item *it = (item *)e;
  it->runs++;
  it->order = ++clock_ticks;
  if (it->victim != NULL)
    posted_remove(&it->victim->e);
  if (it->repost > 0) {
    it->repost--;
    CHECK(posted_add(&queue, &it->e) == 0);
  }
}

static void item_init(item *it) {
  memset(it, 0, sizeof *it);
  it->e.handler = on_item;
}

static void runs_once_in_order(void) {
  uv_loop_t loop;
  item a, b, c;
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(posted_init(&queue, &loop) == 0);
  item_init(&a);
  item_init(&b);
  item_init(&c);
  CHECK(posted_add(&queue, &a.e) == 0);
  CHECK(posted_add(&queue, &b.e) == 0);
  CHECK(posted_add(&queue, &a.e) == 0); /* already posted: still one run */
  CHECK(posted_add(&queue, &c.e) == 0);
  CHECK(posted_is_posted(&b.e));
  posted_remove(&b.e);                  /* b's owner goes away */
  CHECK(!posted_is_posted(&b.e));
  posted_remove(&b.e);                  /* twice is harmless */
  /* One pass runs it all; the queue keeps the loop alive only while
   * something is posted. */
  CHECK(uv_run(&loop, UV_RUN_NOWAIT) == 0);
  CHECK(a.runs == 1);
  CHECK(b.runs == 0);
  CHECK(c.runs == 1);
  CHECK(a.order < c.order);
  CHECK(!posted_is_posted(&a.e));
  CHECK(!uv_is_active((uv_handle_t *)&queue.check));
  posted_close(&queue);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

static void handler_posting_waits_a_pass(void) {
  uv_loop_t loop;
  item a, b;
  CHECK(uv_loop_init(&loop) == 0);
  CHECK(posted_init(&queue, &loop) == 0);
  item_init(&a);
  item_init(&b);
  a.repost = 3;   /* posts itself again three times */
  a.victim = &b;  /* and takes b off in its first pass */
  CHECK(posted_add(&queue, &a.e) == 0);
  CHECK(posted_add(&queue, &b.e) == 0);
  (void)uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(a.runs == 1); /* one run per pass, not a loop inside the check */
  CHECK(b.runs == 0); /* taken off by a handler of the same pass */
  CHECK(posted_is_posted(&a.e));
  (void)uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(a.runs == 2);
  (void)uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(uv_run(&loop, UV_RUN_NOWAIT) == 0); /* reposted twice more, then done */
  CHECK(a.runs == 4);
  CHECK(b.runs == 0);
  /* Closing with work posted: it never runs, the loop ends. */
  CHECK(posted_add(&queue, &b.e) == 0);
  posted_close(&queue);
  CHECK(!posted_is_posted(&b.e));
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(b.runs == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

static uv_loop_t timer_loop;
static item timer_item;
static uint64_t timeout_after_post;

static void on_timer_posts(uv_timer_t *t) {
  (void)t;
  CHECK(posted_add(&queue, &timer_item.e) == 0);
  timeout_after_post = (uint64_t)uv_backend_timeout(&timer_loop);
}

/* A timer callback runs before the poll; what it posts must not wait for
 * the poll's timeout (here the guard timer's 10 s: without the idle handle
 * the poll would sleep until then before the check runs). */
static void timer_posts_run_this_iteration(void) {
  uv_timer_t now;
  uv_timer_t guard;
  CHECK(uv_loop_init(&timer_loop) == 0);
  CHECK(posted_init(&queue, &timer_loop) == 0);
  item_init(&timer_item);
  CHECK(uv_timer_init(&timer_loop, &now) == 0);
  CHECK(uv_timer_init(&timer_loop, &guard) == 0);
  CHECK(uv_timer_start(&now, on_timer_posts, 0, 0) == 0);
  CHECK(uv_timer_start(&guard, on_timer_posts, 10000, 0) == 0);
  (void)uv_run(&timer_loop, UV_RUN_ONCE);
  CHECK(timeout_after_post == 0); /* the poll returned at once */
  CHECK(timer_item.runs == 1);    /* and the check ran it in that iteration */
  uv_close((uv_handle_t *)&now, NULL);
  uv_close((uv_handle_t *)&guard, NULL);
  posted_close(&queue);
  CHECK(uv_run(&timer_loop, UV_RUN_DEFAULT) == 0);
  CHECK(timer_item.runs == 1);
  CHECK(uv_loop_close(&timer_loop) == 0);
}

int main(void) {
  RUN(runs_once_in_order);
  RUN(handler_posting_waits_a_pass);
  RUN(timer_posts_run_this_iteration);
  return unit_report();
}
