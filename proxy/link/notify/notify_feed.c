/* notify_feed: /v1/events from the events log. See notify_feed.h. */
#include "notify_feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netio.h"
#include "timefmt.h"

/* A feed's read of the log in flight (its catch-up). */
typedef struct feed_read {
  list_node link;          /* on notify_t.reads */
  notify_t *n;
  notify_feed *f;          /* NULL once the feed went */
  uint64_t floor;          /* the tail when the read started: every event up to it had committed */
  int from_newest;         /* the start is the newest event (Last-Event-ID unknown or absent) */
  int waiting;             /* caught up, waiting for the tail's first read */
} feed_read;

static feed_read *read_new(notify_t *n, notify_feed *f) {
  feed_read *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->n = n;
  r->f = f;
  list_insert_head(&n->reads, &r->link);
  return r;
}

static void read_free(feed_read *r) {
  list_remove(&r->link);
  free(r);
}

/* Writes one SSE event (or a comment, when e is NULL) to f. */
static void feed_write(notify_feed *f, const store_event *e) {
  uv_buf_t bufs[7];
  unsigned nb = 0;
  if (uv_stream_get_write_queue_size(f->stream) > NOTIFY_FEED_QUEUE_MAX) {
    LOG_WARN("/v1/events subscriber too slow, dropped");
    f->gone(f);
    return;
  }
  if (e == NULL) {
    bufs[nb++] = uv_buf_init((char *)": keep-alive\n\n", 14);
  } else {
    bufs[nb++] = uv_buf_init("id: ", 4);
    bufs[nb++] = uv_buf_init((char *)e->id, (unsigned)strlen(e->id));
    bufs[nb++] = uv_buf_init("\nevent: ", 8);
    bufs[nb++] = uv_buf_init((char *)e->type, (unsigned)strlen(e->type));
    bufs[nb++] = uv_buf_init("\ndata: ", 7);
    bufs[nb++] = uv_buf_init((char *)e->body, (unsigned)strlen(e->body));
    bufs[nb++] = uv_buf_init("\n\n", 2);
  }
  if (netio_write(f->stream, bufs, nb, NULL, NULL) != 0)
    f->gone(f);
}

/* e, the next event of the log for f: written when it is f's user's. */
static void feed_event(notify_feed *f, const store_event *e) {
  f->seq = e->seq;
  if (f->user[0] == '\0' || strcmp(f->user, e->user) == 0)
    feed_write(f, e);
}

/* ---- a feed catching up ---- */

static void catch_read(feed_read *r);

/* A page of the log after f->seq: written; then more, or the feed is live
 * once it reached the tail. */
static void on_catch_rows(void *data, int status, const store_event *rows, size_t nrows) {
  feed_read *r = data;
  notify_t *n = r->n;
  size_t i;
  if (status == -ECANCELED || r->f == NULL) {
    read_free(r);
    return;
  }
  if (status != 0) {
    r->f->gone(r->f); /* the client resumes with Last-Event-ID */
    read_free(r);
    return;
  }
  for (i = 0; i < nrows && r->f != NULL; i++) {
    if (rows[i].seq > r->f->seq)
      feed_event(r->f, &rows[i]); /* may end the feed */
  }
  if (r->f == NULL) {
    read_free(r);
    return;
  }
  if (nrows == NOTIFY_FEED_PAGE) {
    catch_read(r);
    return;
  }
  /* A short page: every event committed when the read started was in it. */
  if (r->floor > r->f->seq)
    r->f->seq = r->floor;
  if (!n->tail_known) {
    r->waiting = 1; /* the tail's first read starts it again */
    return;
  }
  if (r->f->seq < n->tail_seq) {
    catch_read(r); /* the tail moved on meanwhile */
    return;
  }
  r->f->catching = 0; /* live: the tail sends it what comes after f->seq */
  read_free(r);
}

static void catch_read(feed_read *r) {
  notify_t *n = r->n;
  r->waiting = 0;
  r->floor = n->tail_known ? n->tail_seq : 0;
  if (n->store->ops->events_after(n->store, r->f->seq, NULL, NOTIFY_FEED_PAGE, on_catch_rows, r) != 0) {
    r->f->gone(r->f);
    read_free(r);
  }
}

/* f's access token, read again: the feed ends when it expired, its
 * application was deleted or it lost read:webhooks; else it catches up. */
static void on_token_checked(void *data, int status, const store_oauth_token *t) {
  feed_read *r = data;
  if (status == -ECANCELED || r->f == NULL) {
    read_free(r);
    return;
  }
  if (status != 0 || (strstr(t->scopes, "read:webhooks") == NULL && strstr(t->scopes, "admin:all") == NULL)) {
    r->f->gone(r->f);
    read_free(r);
    return;
  }
  catch_read(r);
}

/* A feed with an access token: its token checked, then the events after
 * f->seq read and sent (it is not live meanwhile). */
static void catch_up_checked(notify_t *n, notify_feed *f) {
  feed_read *r = read_new(n, f);
  if (r == NULL) {
    f->gone(f);
    return;
  }
  f->catching = 1;
  if (n->store->ops->oauth_token_get(n->store, f->token_hash, timefmt_now_ms(), on_token_checked, r) != 0) {
    f->gone(f);
    read_free(r);
  }
}

/* Where f starts in the log: Last-Event-ID's seq, or the newest event's. */
static void on_start(void *data, int status, uint64_t seq) {
  feed_read *r = data;
  notify_t *n = r->n;
  if (status == -ECANCELED || r->f == NULL) {
    read_free(r);
    return;
  }
  if (status == -ENOENT && !r->from_newest) {
    r->from_newest = 1; /* an unknown (or pruned) Last-Event-ID: from now on */
    if (n->store->ops->event_last(n->store, on_start, r) == 0)
      return;
    status = -ENOMEM;
  }
  if (status != 0) {
    r->f->gone(r->f);
    read_free(r);
    return;
  }
  r->f->seq = seq;
  catch_read(r);
}

/* ---- the tail ---- */

static void tail_read(notify_t *n);

/* Feeds that caught up before the tail was known read again up to it. */
static void kick_waiting(notify_t *n) {
  list_node *node;
  list_node *next;
  LIST_FOREACH_SAFE(node, next, &n->reads) {
    feed_read *r = LIST_ENTRY(node, feed_read, link);
    if (r->waiting && r->f != NULL)
      catch_read(r);
  }
}

/* e, the next event of the log, to the live feeds. */
static void dispatch(notify_t *n, const store_event *e) {
  list_node *node;
  list_node *next;
  LIST_FOREACH_SAFE(node, next, &n->feeds) { /* f may leave during the write */
    notify_feed *f = LIST_ENTRY(node, notify_feed, link);
    if (f->catching || e->seq <= f->seq)
      continue;
    if (f->token_hash[0] != '\0')
      catch_up_checked(n, f); /* reads e itself, once its token is checked */
    else
      feed_event(f, e);
  }
}

static void on_tail_rows(void *data, int status, const store_event *rows, size_t nrows) {
  notify_t *n = data;
  size_t i;
  if (status == -ECANCELED)
    return;
  n->tail_reading = 0;
  if (status == 0 && n->tail_known) {
    for (i = 0; i < nrows; i++) {
      dispatch(n, &rows[i]);
      n->tail_seq = rows[i].seq;
    }
    if (nrows == NOTIFY_FEED_PAGE)
      n->tail_again = 1;
  }
  if (n->tail_again)
    tail_read(n);
}

static void on_tail_last(void *data, int status, uint64_t seq) {
  notify_t *n = data;
  if (status == -ECANCELED)
    return;
  n->tail_reading = 0;
  if (status == 0 && n->nfeeds > 0) {
    n->tail_seq = seq;
    n->tail_known = 1;
    kick_waiting(n);
  }
  if (n->tail_again)
    tail_read(n);
}

/* Reads the events after the tail (first where the tail is: the newest
 * event), one read at a time. */
static void tail_read(notify_t *n) {
  int rc;
  if (n->closing || n->nfeeds == 0)
    return;
  if (n->tail_reading) {
    n->tail_again = 1;
    return;
  }
  n->tail_again = 0;
  if (!n->tail_known)
    rc = n->store->ops->event_last(n->store, on_tail_last, n);
  else
    rc = n->store->ops->events_after(n->store, n->tail_seq, NULL, NOTIFY_FEED_PAGE, on_tail_rows, n);
  n->tail_reading = rc == 0; /* else the next poll tries again */
}

static void on_poll(uv_timer_t *t) {
  tail_read(t->data);
}

/* ---- the interface ---- */

void notify_feed_init(notify_t *n) {
  list_init(&n->reads);
  list_init(&n->feeds);
  uv_timer_init(n->loop, &n->feed_timer);
  n->feed_timer.data = n;
}

void notify_feed_wake(notify_t *n) {
  tail_read(n);
}

void notify_feed_heartbeat(notify_t *n) {
  list_node *node;
  list_node *next;
  LIST_FOREACH_SAFE(node, next, &n->feeds) {
    notify_feed *f = LIST_ENTRY(node, notify_feed, link);
    feed_write(f, NULL); /* may end the feed */
    if (f->listed && f->token_hash[0] != '\0' && !f->catching)
      catch_up_checked(n, f);
  }
}

void notify_feed_close(notify_t *n) {
  uv_close((uv_handle_t *)&n->feed_timer, NULL);
}

int notify_feed_add(notify_t *n, notify_feed *f, const char *last_id) {
  feed_read *r;
  int rc;
  if (n->nfeeds >= NOTIFY_FEED_MAX)
    return -ENOSPC;
  r = read_new(n, f);
  if (r == NULL)
    return -ENOMEM;
  list_insert_head(&n->feeds, &f->link);
  f->listed = 1;
  f->catching = 1;
  f->seq = 0;
  if (n->nfeeds++ == 0)
    uv_timer_start(&n->feed_timer, on_poll, NOTIFY_FEED_POLL_MS, NOTIFY_FEED_POLL_MS);
  r->from_newest = last_id == NULL;
  if (last_id != NULL)
    rc = n->store->ops->event_seq(n->store, last_id, on_start, r);
  else
    rc = n->store->ops->event_last(n->store, on_start, r);
  if (rc != 0) {
    notify_feed_remove(n, f);
    read_free(r);
    return rc;
  }
  tail_read(n); /* where the tail is, when no feed was open */
  return 0;
}

void notify_feed_remove(notify_t *n, notify_feed *f) {
  list_node *node;
  list_node *next;
  if (!f->listed)
    return;
  LIST_FOREACH_SAFE(node, next, &n->reads) {
    feed_read *r = LIST_ENTRY(node, feed_read, link);
    if (r->f != f)
      continue;
    if (r->waiting)
      read_free(r); /* no store call in flight */
    else
      r->f = NULL; /* its answer finds no feed */
  }
  list_remove(&f->link);
  f->listed = 0;
  if (--n->nfeeds == 0) {
    uv_timer_stop(&n->feed_timer);
    n->tail_known = 0; /* read again when a feed comes: the log went on meanwhile */
  }
}
