/* test_linkjournal: linkjournal (proxy/link/linkjournal.c), the journal's
 * rows to the store in order, written again when refused.
 *
 * Covers: one batch in flight, the rows recorded meanwhile in the next
 * one, in order; a refused batch written again after the back-off, ahead
 * of the rows recorded since (never a later row of a link before an
 * earlier one), nothing sent during the back-off; at most
 * LINKJOURNAL_BATCH_MAX rows per batch; LINKJOURNAL_ROWS_MAX rows waiting
 * at most, the rest dropped and counted; a refusal at once (the store's
 * queue full) retried too; close: what waits is sent once more, a refusal
 * then drops it (no retry), and hold/release pair up. The store is a fake
 * whose link_put records each batch; the test answers it, as the store
 * would, later.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkjournal.h"
#include "unit.h"

static uv_loop_t loop;

/* The fake store: every link_put, its tokens, and its answer to give. */
#define BATCHES_MAX 16
static struct {
  size_t n;
  char first[64];            /* the token of its first row */
  char last[64];
  store_done_cb cb;
  void *data;
  int answered;
} batches[BATCHES_MAX];
static size_t nbatches;
static int refuse_at_once;    /* link_put returns this (0: accepts) */
static int holds;             /* hold() minus release() */

static int fake_link_put(store_t *st, const store_link *rows, size_t n, store_done_cb cb, void *data) {
  (void)st;
  if (refuse_at_once != 0)
    return refuse_at_once;
  if (nbatches == BATCHES_MAX)
    return -ENOSPC;
  batches[nbatches].n = n;
  snprintf(batches[nbatches].first, sizeof batches[0].first, "%s", rows[0].token);
  snprintf(batches[nbatches].last, sizeof batches[0].last, "%s", rows[n - 1].token);
  batches[nbatches].cb = cb;
  batches[nbatches].data = data;
  batches[nbatches].answered = 0;
  nbatches++;
  return 0;
}

static const store_ops fake_ops = {.link_put = fake_link_put};
static store_t fake_store = {.ops = &fake_ops};

static void hold(void *ctx) {
  (void)ctx;
  holds++;
}

static void release(void *ctx) {
  (void)ctx;
  holds--;
}

static void answer(size_t i, int status) {
  batches[i].answered = 1;
  batches[i].cb(batches[i].data, status);
}

static void put(linkjournal_t *j, const char *token) {
  store_link row;
  memset(&row, 0, sizeof row);
  snprintf(row.token, sizeof row.token, "%s", token);
  linkjournal_put(j, &row, 1);
}

static void reset(void) {
  nbatches = 0;
  refuse_at_once = 0;
  holds = 0;
}

/* Runs the loop until the back-off sent a batch (bounded: the longest
 * back-off and a margin). */
static void run_until_batches(size_t want) {
  uint64_t deadline = uv_now(&loop) + LINKJOURNAL_RETRY_MAX_MS + 2000;
  while (nbatches < want && uv_now(&loop) < deadline)
    (void)uv_run(&loop, UV_RUN_ONCE);
}

static void close_journal(linkjournal_t *j) {
  linkjournal_close(j);
  (void)uv_run(&loop, UV_RUN_NOWAIT); /* the timer's close callback */
}

static void test_in_order_one_batch_in_flight(void) {
  linkjournal_t j;
  reset();
  CHECK(linkjournal_init(&j, &loop, &fake_store, hold, release, NULL, NULL) == 0);
  put(&j, "a");
  CHECK_EQ_U64(nbatches, 1);
  CHECK_EQ_U64(holds, 1);
  put(&j, "b");
  put(&j, "c");
  CHECK_EQ_U64(nbatches, 1); /* waiting for the first */
  CHECK_EQ_U64(linkjournal_backlog(&j), 3);
  answer(0, 0);
  CHECK_EQ_U64(nbatches, 2);
  CHECK_EQ_U64(batches[1].n, 2);
  CHECK(strcmp(batches[1].first, "b") == 0 && strcmp(batches[1].last, "c") == 0);
  answer(1, 0);
  CHECK_EQ_U64(j.written, 3);
  CHECK_EQ_U64(linkjournal_backlog(&j), 0);
  CHECK_EQ_U64(holds, 0);
  close_journal(&j);
}

static size_t nrefused_told; /* rows the unwritten callback was told of */
static char refused_first[sizeof(((store_link *)0)->token)];

static void on_unwritten(void *ctx, const store_link *rows, size_t n) {
  (void)ctx;
  nrefused_told += n;
  snprintf(refused_first, sizeof refused_first, "%s", rows[0].token);
}

static void test_refused_written_again_first(void) {
  linkjournal_t j;
  reset();
  nrefused_told = 0;
  CHECK(linkjournal_init(&j, &loop, &fake_store, hold, release, on_unwritten, NULL) == 0);
  put(&j, "minted");
  answer(0, -ETIMEDOUT); /* the database down */
  CHECK_EQ_U64(j.refused, 1);
  CHECK_EQ_U64(nrefused_told, 1); /* the owner was told (linkhost expires a new link's pauses) */
  CHECK(strcmp(refused_first, "minted") == 0);
  put(&j, "ended"); /* a later row of the same link */
  CHECK_EQ_U64(nbatches, 1); /* nothing during the back-off */
  run_until_batches(2);
  CHECK_EQ_U64(nbatches, 2);
  CHECK_EQ_U64(batches[1].n, 2);
  CHECK(strcmp(batches[1].first, "minted") == 0 && strcmp(batches[1].last, "ended") == 0);
  answer(1, -EIO); /* refused again: the back-off doubles, the order holds */
  CHECK_EQ_U64(nrefused_told, 3); /* told of every row waiting, the later one too */
  run_until_batches(3);
  CHECK_EQ_U64(nbatches, 3);
  CHECK(strcmp(batches[2].first, "minted") == 0 && strcmp(batches[2].last, "ended") == 0);
  answer(2, 0);
  CHECK_EQ_U64(j.written, 2);
  CHECK_EQ_U64(j.refused, 3);
  CHECK_EQ_U64(linkjournal_backlog(&j), 0);
  CHECK_EQ_U64(holds, 0);
  close_journal(&j);
}

static void test_refused_at_once(void) {
  linkjournal_t j;
  reset();
  CHECK(linkjournal_init(&j, &loop, &fake_store, hold, release, NULL, NULL) == 0);
  refuse_at_once = -EAGAIN; /* the store's queue full */
  put(&j, "x");
  CHECK_EQ_U64(nbatches, 0);
  CHECK_EQ_U64(j.refused, 1);
  CHECK_EQ_U64(holds, 0);
  refuse_at_once = 0;
  run_until_batches(1);
  CHECK_EQ_U64(nbatches, 1);
  answer(0, 0);
  CHECK_EQ_U64(j.written, 1);
  close_journal(&j);
}

static void test_limits(void) {
  linkjournal_t j;
  char token[32];
  size_t i, sent = 0;
  reset();
  nrefused_told = 0;
  CHECK(linkjournal_init(&j, &loop, &fake_store, hold, release, on_unwritten, NULL) == 0);
  for (i = 0; i < LINKJOURNAL_ROWS_MAX + 10; i++) {
    snprintf(token, sizeof token, "t%zu", i);
    put(&j, token);
  }
  CHECK_EQ_U64(linkjournal_backlog(&j), LINKJOURNAL_ROWS_MAX);
  CHECK_EQ_U64(j.dropped, 10);
  CHECK_EQ_U64(nrefused_told, 10); /* the dropped rows were told of */
  snprintf(token, sizeof token, "t%zu", (size_t)LINKJOURNAL_ROWS_MAX + 9);
  CHECK(strcmp(refused_first, token) == 0);
  /* drained a batch of at most LINKJOURNAL_BATCH_MAX at a time, in order */
  answer(0, 0);
  sent = 1;
  for (i = 1; i < BATCHES_MAX && i < nbatches; i++) {
    CHECK(batches[i].n <= LINKJOURNAL_BATCH_MAX);
    snprintf(token, sizeof token, "t%zu", sent);
    CHECK(strcmp(batches[i].first, token) == 0);
    sent += batches[i].n;
    if (i + 1 < BATCHES_MAX)
      answer(i, 0);
  }
  CHECK_EQ_U64(batches[1].n, LINKJOURNAL_BATCH_MAX);
  /* the last batch recorded stays unanswered: closing sends nothing more
   * until it is, and a refusal then drops the rest */
  close_journal(&j);
  CHECK_EQ_U64(nbatches, BATCHES_MAX);
  answer(BATCHES_MAX - 1, -EIO);
  CHECK_EQ_U64(linkjournal_backlog(&j), 0);
  CHECK_EQ_U64(j.dropped, 10 + LINKJOURNAL_ROWS_MAX - j.written);
  CHECK_EQ_U64(holds, 0);
}

static void test_close_sends_once_more(void) {
  linkjournal_t j;
  reset();
  CHECK(linkjournal_init(&j, &loop, &fake_store, hold, release, NULL, NULL) == 0);
  put(&j, "a");
  answer(0, -ETIMEDOUT); /* waiting for its back-off */
  put(&j, "b");
  close_journal(&j); /* sent now, not after the back-off */
  CHECK_EQ_U64(nbatches, 2);
  CHECK_EQ_U64(batches[1].n, 2);
  answer(1, 0);
  CHECK_EQ_U64(j.written, 2);
  CHECK_EQ_U64(holds, 0);
  put(&j, "late"); /* after close: dropped */
  CHECK_EQ_U64(nbatches, 2);
  CHECK_EQ_U64(j.dropped, 1);
}

int main(void) {
  uv_loop_init(&loop);
  RUN(test_in_order_one_batch_in_flight);
  RUN(test_refused_written_again_first);
  RUN(test_refused_at_once);
  RUN(test_limits);
  RUN(test_close_sends_once_more);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  return unit_report();
}
