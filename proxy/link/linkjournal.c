/* linkjournal: the journal's rows to the store, in order, retried when
 * refused. See linkjournal.h. */
#include "linkjournal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void send_batch(linkjournal_t *j);

/* Drops the first n rows (written, or given up). */
static void shift(linkjournal_t *j, size_t n) {
  memmove(j->rows, j->rows + n, (j->nrows - n) * sizeof *j->rows);
  j->nrows -= n;
}

static void free_rows(linkjournal_t *j) {
  free(j->rows);
  j->rows = NULL;
  j->nrows = 0;
  j->cap = 0;
}

/* Tells the owner of rows[0, n) that did not reach the store (refused:
 * written again later; or dropped). */
static void tell_unwritten(linkjournal_t *j, const store_link *rows, size_t n) {
  if (j->unwritten_cb != NULL && n > 0 && !j->closing)
    j->unwritten_cb(j->ctx, rows, n);
}

static void on_retry(uv_timer_t *t) {
  send_batch(t->data);
}

static void on_written(void *data, int status) {
  linkjournal_t *j = data;
  size_t n = j->inflight;
  j->inflight = 0;
  if (status == 0) {
    j->written += n;
    j->backoff_ms = 0;
    j->full_logged = 0;
    shift(j, n);
  } else {
    j->refused += n;
    if (j->closing) {
      j->dropped += j->nrows;
      j->nrows = 0;
    } else {
      /* ahead of the rows recorded since: written again after a back-off */
      if (j->backoff_ms == 0)
        LOG_WARN("link journal not written: trying again", LOG_I64("error", status), LOG_U64("rows", n));
      j->backoff_ms = j->backoff_ms == 0 ? LINKJOURNAL_RETRY_MIN_MS : j->backoff_ms * 2;
      if (j->backoff_ms > LINKJOURNAL_RETRY_MAX_MS)
        j->backoff_ms = LINKJOURNAL_RETRY_MAX_MS;
      (void)uv_timer_start(&j->retry, on_retry, j->backoff_ms, 0);
      tell_unwritten(j, j->rows, j->nrows); /* the batch and every row waiting behind it */
    }
  }
  if (status == 0 || j->closing)
    send_batch(j);
  if (j->closing && j->inflight == 0)
    free_rows(j);
  j->release(j->ctx);
}

/* The oldest rows, as one transaction, unless one is in flight or a
 * refused one waits for its back-off. */
static void send_batch(linkjournal_t *j) {
  size_t n = j->nrows < LINKJOURNAL_BATCH_MAX ? j->nrows : LINKJOURNAL_BATCH_MAX;
  int rc;
  if (j->inflight > 0 || n == 0 || (!j->closing && j->timer_open && uv_is_active((uv_handle_t *)&j->retry)))
    return;
  j->hold(j->ctx);
  j->inflight = n;
  rc = j->store->ops != NULL ? j->store->ops->link_put(j->store, j->rows, n, on_written, j) : -ECANCELED;
  if (rc == 0)
    return;
  /* refused at once (-ENOMEM, -EAGAIN: a full store queue; -ECANCELED) */
  j->inflight = 0;
  j->refused += n;
  tell_unwritten(j, j->rows, j->nrows);
  if (j->closing || rc == -ECANCELED) {
    j->dropped += j->nrows;
    j->nrows = 0;
  } else {
    j->backoff_ms = j->backoff_ms == 0 ? LINKJOURNAL_RETRY_MIN_MS : j->backoff_ms;
    (void)uv_timer_start(&j->retry, on_retry, j->backoff_ms, 0);
  }
  j->release(j->ctx);
}

void linkjournal_put(linkjournal_t *j, const store_link *rows, size_t n) {
  size_t room = LINKJOURNAL_ROWS_MAX - j->nrows;
  if (j->closing) {
    j->dropped += n; /* nothing is recorded after the hub let go */
    return;
  }
  if (n > room) {
    if (!j->full_logged)
      LOG_WARN("link journal full: rows dropped", LOG_U64("rows", n - room));
    j->full_logged = 1; /* once, until a batch is written */
    j->dropped += n - room;
    tell_unwritten(j, rows + room, n - room);
    n = room;
  }
  if (n == 0)
    return;
  if (j->nrows + n > j->cap) {
    size_t cap = j->cap == 0 ? 16 : j->cap;
    store_link *grown;
    while (cap < j->nrows + n)
      cap *= 2;
    if (cap > LINKJOURNAL_ROWS_MAX)
      cap = LINKJOURNAL_ROWS_MAX;
    grown = realloc(j->rows, cap * sizeof *grown);
    if (grown == NULL) {
      j->dropped += n;
      tell_unwritten(j, rows, n);
      return;
    }
    j->rows = grown;
    j->cap = cap;
  }
  memcpy(j->rows + j->nrows, rows, n * sizeof *rows);
  j->nrows += n;
  send_batch(j);
}

size_t linkjournal_backlog(const linkjournal_t *j) {
  return j->nrows;
}

int linkjournal_init(linkjournal_t *j, uv_loop_t *loop, store_t *store, linkjournal_hold_fn hold,
                     linkjournal_hold_fn release, linkjournal_unwritten_fn unwritten, void *ctx) {
  int rc;
  memset(j, 0, sizeof *j);
  j->store = store;
  j->hold = hold;
  j->release = release;
  j->unwritten_cb = unwritten;
  j->ctx = ctx;
  rc = uv_timer_init(loop, &j->retry);
  if (rc < 0)
    return rc;
  j->retry.data = j;
  j->timer_open = 1;
  return 0;
}

void linkjournal_close(linkjournal_t *j) {
  if (j->closing)
    return;
  j->closing = 1;
  if (j->timer_open) {
    j->timer_open = 0;
    uv_close((uv_handle_t *)&j->retry, NULL);
  }
  send_batch(j);
  if (j->inflight == 0)
    free_rows(j);
}
