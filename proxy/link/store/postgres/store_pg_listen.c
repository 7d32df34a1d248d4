/* store_pg_listen: the PostgreSQL store's wake-ups across replicas
 * (DESIGN.md "Store and replicas": NOTIFY carries an id only, one LISTEN
 * connection per replica, a re-read after every reconnect). See
 * store_pg.h's store_pg_listen() and store_pg_notify().
 *
 * The listener is one connection of its own, outside the pool (a pooled
 * connection runs transactions; this one only waits): after every connect
 * it sends LISTEN, and once that is answered calls on_resync, because
 * whatever was notified while it was down is lost and must be re-read from
 * the tables. A lost connection reconnects with the pool's back-off.
 * Once listening, a ping (`SELECT 1`) store_timeout after the last answer
 * finds a connection that died silently (pgconn closes it when the answer
 * is late); store_pg_resync_later() sends LISTEN again for a re-read. One
 * query at a time, on one timer (retry).
 * Notifications arrive on the control loop, from pgconn's poll callback.
 */
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* [a-z0-9_], not starting with a digit: usable as an identifier unquoted. */
static int channel_ok(const char *c) {
  size_t i, n = c != NULL ? strlen(c) : 0;
  if (n == 0 || n > PGSTORE_CHANNEL_MAX || (c[0] >= '0' && c[0] <= '9'))
    return 0;
  for (i = 0; i < n; i++)
    if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '_'))
      return 0;
  return 1;
}

static void on_retry(uv_timer_t *t);

/* The next ping, store_timeout from now (PGSTORE_PING_MIN_MS at least),
 * or the re-read asked for. */
static void arm(pg_listener *l) {
  uint64_t ping_ms = l->s->timeout_ms > PGSTORE_PING_MIN_MS ? (uint64_t)l->s->timeout_ms : PGSTORE_PING_MIN_MS;
  (void)uv_timer_start(&l->retry, on_retry, l->resync_wanted ? l->resync_backoff_ms : ping_ms, 0);
}

static void on_listening(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_listener *l = ctx;
  (void)res;
  l->busy = 0;
  if (status == -ECANCELED || l->s->closing)
    return;
  if (status != 0) {
    /* a refused LISTEN on a live connection: sent again later; a lost
     * connection: on_status reconnects */
    LOG_WARN("link store LISTEN failed", LOG_STR("error", errmsg));
    if (l->pc.state == PGCONN_READY)
      (void)uv_timer_start(&l->retry, on_retry, PGSTORE_RETRY_MAX_MS, 0);
    return;
  }
  l->listening = 1;
  l->resync_wanted = 0;
  arm(l);                /* before on_resync, which may ask for a re-read again */
  l->on_resync(l->data); /* what was notified while down is lost: re-read */
}

/* A ping's answer; one not in within store_timeout closed the connection
 * (pgconn), and on_status reconnects. */
static void on_pinged(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_listener *l = ctx;
  (void)res;
  (void)errmsg;
  l->busy = 0;
  if (status == -ECANCELED || l->s->closing || l->pc.state != PGCONN_READY)
    return;
  arm(l);
}

/* Sends LISTEN (once connected, and for a re-read) or a ping. */
static void send_next(pg_listener *l) {
  char sql[PGSTORE_CHANNEL_MAX + 16];
  int listen = !l->listening || l->resync_wanted;
  int rc;
  if (l->busy)
    return; /* its answer arms the timer again */
  snprintf(sql, sizeof sql, "LISTEN %s", l->channel);
  rc = pgconn_query(&l->pc, listen ? sql : "SELECT 1", NULL, 0, l->s->timeout_ms, listen ? on_listening : on_pinged,
                    l);
  if (rc != 0) {
    (void)uv_timer_start(&l->retry, on_retry, PGSTORE_RETRY_MAX_MS, 0);
    return;
  }
  l->busy = 1;
}

static void on_notify(pgconn_t *pc, const char *channel, const char *payload, int be_pid) {
  pg_listener *l = pc->data;
  (void)be_pid;
  if (strcmp(channel, l->channel) == 0)
    l->on_notify(l->data, payload);
}

static void on_status(pgconn_t *pc, int status) {
  pg_listener *l = pc->data;
  l->listening = 0;
  l->busy = 0; /* its queries had their callbacks first */
  if (status == 0) {
    l->backoff_ms = 0;
    l->resync_wanted = 0; /* LISTEN's answer re-reads */
    l->resync_backoff_ms = 0;
    send_next(l);
    return;
  }
  if (l->backoff_ms == 0)
    LOG_WARN("link store LISTEN connection lost", LOG_STR("error", pgconn_error(pc)));
  l->backoff_ms = l->backoff_ms == 0 ? PGSTORE_RETRY_MIN_MS : l->backoff_ms * 2;
  if (l->backoff_ms > PGSTORE_RETRY_MAX_MS)
    l->backoff_ms = PGSTORE_RETRY_MAX_MS;
  (void)uv_timer_start(&l->retry, on_retry, l->backoff_ms, 0);
}

/* Reconnects; or, connected: LISTEN (refused before, or a re-read asked
 * for), else a ping. */
static void on_retry(uv_timer_t *t) {
  pg_listener *l = t->data;
  if (l->s->closing)
    return;
  if (l->pc.state == PGCONN_READY) {
    send_next(l);
    return;
  }
  if (l->pc.state != PGCONN_DOWN && l->pc.state != PGCONN_IDLE)
    return;
  if (pgconn_connect(&l->pc, l->s->conninfo, l->s->timeout_ms, on_status, on_notify) != 0)
    (void)uv_timer_start(&l->retry, on_retry, PGSTORE_RETRY_MAX_MS, 0);
}

void store_pg_resync_done(store_t *st) {
  pg_store *s = st->ops == &store_pg_ops ? st->impl : NULL;
  if (s != NULL)
    s->listener.resync_backoff_ms = 0;
}

int store_pg_resync_later(store_t *st) {
  pg_store *s = st->ops == &store_pg_ops ? st->impl : NULL;
  pg_listener *l;
  if (s == NULL || s->closing)
    return s == NULL ? -ENOTSUP : -ECANCELED;
  l = &s->listener;
  if (l->on_notify == NULL)
    return -ENOTSUP;
  l->resync_backoff_ms = l->resync_backoff_ms == 0 ? PGSTORE_RETRY_MIN_MS : l->resync_backoff_ms * 2;
  if (l->resync_backoff_ms > PGSTORE_RETRY_MAX_MS)
    l->resync_backoff_ms = PGSTORE_RETRY_MAX_MS;
  if (l->pc.state != PGCONN_READY || !l->listening)
    return 0; /* LISTEN's answer, after the (re)connect, re-reads */
  l->resync_wanted = 1;
  if (!l->busy)
    arm(l);
  return 0;
}

int store_pg_listen(store_t *st, const char *channel, store_pg_notify_fn on_notify_fn,
                    store_pg_resync_fn on_resync, void *data) {
  pg_store *s = st->ops == &store_pg_ops ? st->impl : NULL;
  pg_listener *l;
  if (s == NULL || s->closing)
    return s == NULL ? -ENOTSUP : -ECANCELED;
  if (!channel_ok(channel) || on_notify_fn == NULL || on_resync == NULL)
    return -EINVAL;
  l = &s->listener;
  if (l->on_notify != NULL)
    return -EBUSY;
  snprintf(l->channel, sizeof l->channel, "%s", channel);
  l->on_notify = on_notify_fn;
  l->on_resync = on_resync;
  l->data = data;
  if (pgconn_connect(&l->pc, s->conninfo, s->timeout_ms, on_status, on_notify) != 0)
    (void)uv_timer_start(&l->retry, on_retry, PGSTORE_RETRY_MIN_MS, 0);
  return 0;
}

int store_pg_notify(store_t *st, const char *channel, const char *payload, store_done_cb cb, void *data) {
  if (st->ops != &store_pg_ops)
    return -ENOTSUP;
  if (!channel_ok(channel) || payload == NULL || strlen(payload) > PGSTORE_PAYLOAD_MAX)
    return -EINVAL;
  return pg_notify_op(st, channel, payload, cb, data);
}

static void on_retry_closed(uv_handle_t *h) {
  pg_listener *l = h->data;
  pg_store_handle_closed(l->s);
}

static void on_pgconn_closed(pgconn_t *pc) {
  pg_listener *l = pc->data;
  pg_store_handle_closed(l->s);
}

int pg_listener_init(pg_store *s, uv_loop_t *loop) {
  pg_listener *l = &s->listener;
  int rc = uv_timer_init(loop, &l->retry);
  if (rc < 0)
    return rc;
  l->s = s;
  l->retry.data = l;
  s->open_handles++;
  rc = pgconn_init(&l->pc, loop);
  if (rc < 0)
    return rc;
  l->pc.data = l;
  s->open_handles++;
  l->inited = 1;
  return 0;
}

void pg_listener_close(pg_store *s) {
  pg_listener *l = &s->listener;
  if (l->s == NULL)
    return; /* never initialised */
  uv_close((uv_handle_t *)&l->retry, on_retry_closed);
  if (l->inited)
    pgconn_close(&l->pc, on_pgconn_closed);
}
