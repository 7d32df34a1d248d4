/* store_pg_links: the PostgreSQL store's links, events log and webhook
 * outbox, the probe, NOTIFY, and the ops table. Same semantics as
 * sqlite/sqldb_links.c; deliveries are claimed with FOR UPDATE SKIP LOCKED,
 * so replicas draining one outbox never lease the same delivery. */
#include "store_pg.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_START, P_ONE, P_TWO, P_ROWS, P_LOCK, P_SET };

/* Ends op with 0 once its one statement ran. */
static void end_ok(pg_op *op, int status) {
  if (!pg_failed(op, status))
    pg_op_end(op, 0);
}

/* ---- probe ---- */

static void probe_step(pg_op *op, int status, const PGresult *res) {
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "INSERT INTO store_probe (id, n) VALUES (1, 1) "
                "ON CONFLICT (id) DO UPDATE SET n = (store_probe.n + 1) % 1000000",
                NULL, 0);
    return;
  }
  end_ok(op, status);
}

static int op_probe(store_t *st, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, probe_step, sq_deliver_done, data, NULL, NULL, NULL);
  if (op != NULL)
    op->j.cb.done = cb;
  return pg_op_start(st, op, 1);
}

/* ---- NOTIFY (store_pg_notify) ---- */

static void notify_step(pg_op *op, int status, const PGresult *res) {
  const char *params[2] = {op->j.s[0], op->j.s[1]};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT pg_notify($1, $2)", params, 2); /* sent when the write commits */
    return;
  }
  end_ok(op, status);
}

int pg_notify_op(store_t *st, const char *channel, const char *payload, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, notify_step, sq_deliver_done, data, channel, payload, NULL);
  if (op != NULL)
    op->j.cb.done = cb;
  return pg_op_start(st, op, 1);
}

/* ---- links ---- */

#define LINK_COLS \
  "token, origin_user_id, connector, callback_url, state, status, pinned, created_ms, expires_ms, ended_ms"

static void read_link(const PGresult *res, int row, void *out) {
  store_link *l = out;
  memset(l, 0, sizeof *l);
  pg_col_text(res, row, 0, l->token, sizeof l->token);
  pg_col_text(res, row, 1, l->user, sizeof l->user);
  pg_col_text(res, row, 2, l->connector, sizeof l->connector);
  pg_col_text(res, row, 3, l->callback_url, sizeof l->callback_url);
  pg_col_text(res, row, 4, l->state, sizeof l->state);
  l->status = (int)(int64_t)pg_col_u64(res, row, 5);
  l->pinned = (int)pg_col_u64(res, row, 6);
  l->created_ms = pg_col_u64(res, row, 7);
  l->expires_ms = pg_col_u64(res, row, 8);
  l->ended_ms = pg_col_u64(res, row, 9);
}

/* One upsert per row, in the write's transaction: all or none. Each row
 * is NOTIFYd on PGSTORE_LINKS_CHANNEL with its token (never more) in the
 * same transaction, delivered to the replicas when it commits. */
static void link_put_step(pg_op *op, int status, const PGresult *res) {
  const store_link *rows = (const store_link *)op->j.list_in.ptr;
  char num[5][24];
  const char *params[10];
  (void)res;
  if (pg_failed(op, status))
    return;
  if (op->index < op->j.nlist_in) {
    const store_link *l = &rows[op->index++];
    snprintf(num[0], sizeof num[0], "%d", l->status);
    params[0] = l->token;
    params[1] = l->user;
    params[2] = l->connector;
    params[3] = l->callback_url;
    params[4] = l->state;
    params[5] = num[0];
    params[6] = pg_u64(num[1], (uint64_t)l->pinned);
    params[7] = pg_u64(num[2], l->created_ms);
    params[8] = pg_u64(num[3], l->expires_ms);
    params[9] = pg_u64(num[4], l->ended_ms);
    pg_op_query(op, P_ROWS,
                "WITH up AS (INSERT INTO links (" LINK_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
                "ON CONFLICT (token) DO UPDATE SET origin_user_id = EXCLUDED.origin_user_id, "
                "connector = EXCLUDED.connector, callback_url = EXCLUDED.callback_url, state = EXCLUDED.state, "
                "status = EXCLUDED.status, pinned = EXCLUDED.pinned, created_ms = EXCLUDED.created_ms, "
                "expires_ms = EXCLUDED.expires_ms, ended_ms = EXCLUDED.ended_ms WHERE links.status = 0 "
                "RETURNING token) "
                "SELECT pg_notify('" PGSTORE_LINKS_CHANNEL "', token) FROM up",
                params, 10);
    return;
  }
  pg_op_end(op, 0);
}

static int op_link_put(store_t *st, const store_link *rows, size_t n, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, link_put_step, sq_deliver_done, data, NULL, NULL, NULL);
  if (op != NULL) {
    if (n > 0 && dynbuf_add(&op->j.list_in, rows, n * sizeof *rows) != 0) {
      pg_op_free(op);
      return -ENOMEM;
    }
    op->j.nlist_in = n;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void link_end_step(pg_op *op, int status, const PGresult *res) {
  char st_text[24], ended[24];
  const char *params[3] = {st_text, pg_u64(ended, op->j.n[1]), op->j.s[0]};
  (void)res;
  if (op->phase == P_START) {
    snprintf(st_text, sizeof st_text, "%d", (int)(int64_t)op->j.n[0]);
    pg_op_query(op, P_ONE, "UPDATE links SET status = $1, ended_ms = $2 WHERE token = $3", params, 3);
    return;
  }
  end_ok(op, status);
}

static int op_link_end(store_t *st, const char *token, int status, uint64_t ended_ms, store_done_cb cb,
                       void *data) {
  pg_op *op = pg_op_new(st, link_end_step, sq_deliver_done, data, token, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = (uint64_t)(int64_t)status;
    op->j.n[1] = ended_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void link_get_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT " LINK_COLS " FROM links WHERE token = $1", params, 1);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  read_link(res, 0, &op->j.r.link);
  pg_op_end(op, 0);
}

static int op_link_get(store_t *st, const char *token, store_link_cb cb, void *data) {
  pg_op *op = pg_op_new(st, link_get_step, sq_deliver_link, data, token, NULL, NULL);
  if (op != NULL)
    op->j.cb.link = cb;
  return pg_op_start(st, op, 0);
}

static void link_page_step(pg_op *op, int status, const PGresult *res) {
  char since[24], after[24], limit[24];
  const char *params[4] = {pg_u64(since, op->j.n[0]), pg_u64(after, op->j.n[1]), op->j.s[0],
                           pg_u64(limit, op->j.limit)};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT " LINK_COLS " FROM links WHERE created_ms >= $1 AND "
                "(created_ms > $2 OR (created_ms = $2 AND token > $3)) ORDER BY created_ms, token LIMIT $4",
                params, 4);
    return;
  }
  if (pg_failed(op, status))
    return;
  pg_rows_end(op, res, read_link, sizeof(store_link));
}

static int op_link_page(store_t *st, uint64_t since_ms, uint64_t after_ms, const char *after_token, size_t limit,
                        store_links_cb cb, void *data) {
  pg_op *op = pg_op_new(st, link_page_step, sq_deliver_links, data, after_token != NULL ? after_token : "", NULL,
                        NULL);
  if (op != NULL) {
    op->j.n[0] = since_ms;
    op->j.n[1] = after_ms;
    op->j.limit = limit > 0 && limit < STORE_PAGE_MAX ? limit : STORE_PAGE_MAX;
    op->j.cb.links = cb;
  }
  return pg_op_start(st, op, 0);
}

/* The ended links, then the app choices of links no longer there (two
 * statements, as in SQLite). */
static void link_prune_step(pg_op *op, int status, const PGresult *res) {
  char before[24];
  const char *params[1] = {pg_u64(before, op->j.n[0])};
  (void)res;
  if (pg_failed(op, status))
    return;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "DELETE FROM links WHERE ended_ms > 0 AND ended_ms < $1", params, 1);
    return;
  }
  if (op->phase == P_ONE) {
    pg_op_query(op, P_TWO,
                "DELETE FROM link_app_choice c WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.token = c.token)",
                NULL, 0);
    return;
  }
  pg_op_end(op, 0);
}

static int op_link_prune(store_t *st, uint64_t before_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, link_prune_step, sq_deliver_done, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = before_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void link_set_external_id_step(pg_op *op, int status, const PGresult *res) {
  const char *params[2] = {op->j.s[0], op->j.s[1]};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "INSERT INTO link_app_choice (token, external_id) VALUES ($1, $2) "
                "ON CONFLICT (token) DO UPDATE SET external_id = EXCLUDED.external_id",
                params, 2);
    return;
  }
  end_ok(op, status);
}

static int op_link_set_external_id(store_t *st, const char *token, const char *external_id, store_done_cb cb,
                                   void *data) {
  pg_op *op = pg_op_new(st, link_set_external_id_step, sq_deliver_done, data, token, external_id, NULL);
  if (op != NULL)
    op->j.cb.done = cb;
  return pg_op_start(st, op, 1);
}

static void link_external_id_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT external_id FROM link_app_choice WHERE token = $1", params, 1);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  pg_col_text(res, 0, 0, op->j.r.text, sizeof op->j.r.text);
  pg_op_end(op, 0);
}

static int op_link_external_id(store_t *st, const char *token, store_text_cb cb, void *data) {
  pg_op *op = pg_op_new(st, link_external_id_step, sq_deliver_text, data, token, NULL, NULL);
  if (op != NULL)
    op->j.cb.text = cb;
  return pg_op_start(st, op, 0);
}

/* ---- events and the webhook outbox ---- */

/* Copies hooks[0, n) into op: offsets in list_in, strings in the arena. */
static int copy_hooks(pg_op *op, const char *const *hooks, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    size_t off;
    if (sq_arena_add(&op->j, hooks[i], &off) != 0 || dynbuf_add(&op->j.list_in, &off, sizeof off) != 0)
      return -ENOMEM;
  }
  op->j.nlist_in = n;
  op->j.overflow = 0;
  return 0;
}

static const char *op_hook(const pg_op *op, size_t i) {
  return op->j.arena.ptr + ((const size_t *)op->j.list_in.ptr)[i];
}

/* pg_advisory_xact_lock's key: event inserts, one transaction at a time
 * (another key than the migrations' session lock). */
#define EVENTS_LOCK_KEY "4150174210"

/* The event (its seq), then one delivery per hook, in the write's
 * transaction.
 *
 * Seq order is commit order: events.seq is taken from its sequence at the
 * INSERT, but concurrent transactions on other replicas could commit in
 * another order, and a reader of "seq > the last seq I saw" (a /v1/events
 * feed) would then skip for ever an event that became visible after a
 * higher seq. So the transaction first takes an advisory lock held until
 * it ends: a seq is taken only once every transaction that took a lower
 * one has committed or rolled back. Events are rare (links, connections);
 * the wait is one short transaction's. The lock is bounded on the server
 * too, for this transaction: a waiter gives up after store_timeout
 * (lock_timeout), and a holder cut from its replica (a partition: nothing
 * closes its session) is ended once idle in it for twice that
 * (idle_in_transaction_session_timeout), not after TCP keepalive's hours. */
static void event_add_step(pg_op *op, int status, const PGresult *res) {
  char now[24], seq[24];
  const char *params[5];
  if (pg_failed(op, status))
    return;
  if (op->phase == P_START) {
    snprintf(now, sizeof now, "%ldms", op->s->timeout_ms);
    snprintf(seq, sizeof seq, "%ldms", 2 * op->s->timeout_ms);
    params[0] = now;
    params[1] = seq;
    pg_op_query(op, P_SET,
                "SELECT set_config('lock_timeout', $1, true), "
                "set_config('idle_in_transaction_session_timeout', $2, true)",
                params, 2);
    return;
  }
  if (op->phase == P_SET) {
    pg_op_query(op, P_LOCK, "SELECT pg_advisory_xact_lock(" EVENTS_LOCK_KEY ")", NULL, 0);
    return;
  }
  if (op->phase == P_LOCK) {
    params[0] = op->j.s[0];
    params[1] = op->j.s[1];
    params[2] = op->j.s[2];
    params[3] = op->j.s[3];
    params[4] = pg_u64(now, op->j.n[0]);
    pg_op_query(op, P_ONE,
                "INSERT INTO events (id, type, origin_user_id, body, created_ms) VALUES ($1, $2, $3, $4, $5) "
                "RETURNING seq",
                params, 5);
    return;
  }
  if (op->phase == P_ONE) {
    op->j.r.seq = PQntuples(res) == 1 ? pg_col_u64(res, 0, 0) : 0;
    op->index = 0;
  }
  if (op->index < op->j.nlist_in) {
    params[0] = pg_u64(seq, op->j.r.seq);
    params[1] = op_hook(op, op->index++);
    params[2] = pg_u64(now, op->j.n[0]);
    pg_op_query(op, P_ROWS, "INSERT INTO deliveries (seq, hook, attempts, next_ms) VALUES ($1, $2, 0, $3)", params,
                3);
    return;
  }
  pg_op_end(op, 0);
}

static int op_event_add(store_t *st, const store_event *e, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                        store_seq_cb cb, void *data) {
  pg_op *op = pg_op_new(st, event_add_step, sq_deliver_seq, data, e->id, e->type, e->user);
  if (op != NULL) {
    op->j.n[0] = now_ms;
    op->j.cb.seq = cb;
    op->j.s[3] = strdup(e->body != NULL ? e->body : "");
    if (op->j.s[3] == NULL || copy_hooks(op, hooks, nhooks) != 0) {
      pg_op_free(op);
      return -ENOMEM;
    }
  }
  return pg_op_start(st, op, 1);
}

static void event_seq_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT seq FROM events WHERE id = $1", params, 1);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  op->j.r.seq = pg_col_u64(res, 0, 0);
  pg_op_end(op, 0);
}

static int op_event_seq(store_t *st, const char *id, store_seq_cb cb, void *data) {
  pg_op *op = pg_op_new(st, event_seq_step, sq_deliver_seq, data, id, NULL, NULL);
  if (op != NULL)
    op->j.cb.seq = cb;
  return pg_op_start(st, op, 0);
}

static void event_last_step(pg_op *op, int status, const PGresult *res) {
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT COALESCE(max(seq), 0) FROM events", NULL, 0);
    return;
  }
  if (pg_failed(op, status))
    return;
  op->j.r.seq = PQntuples(res) == 1 ? pg_col_u64(res, 0, 0) : 0;
  pg_op_end(op, 0);
}

static int op_event_last(store_t *st, store_seq_cb cb, void *data) {
  pg_op *op = pg_op_new(st, event_last_step, sq_deliver_seq, data, NULL, NULL, NULL);
  if (op != NULL)
    op->j.cb.seq = cb;
  return pg_op_start(st, op, 0);
}

/* Rows (seq, id, type, user, body[, hook, attempts]) into event records. */
static void end_events(pg_op *op, int status, const PGresult *res, int with_hook) {
  int i;
  if (pg_failed(op, status))
    return;
  for (i = 0; i < PQntuples(res); i++) {
    sq_event_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.seq = pg_col_u64(res, i, 0);
    rec.hook = SIZE_MAX;
    if (sq_arena_add(&op->j, PQgetvalue(res, i, 1), &rec.id) != 0 ||
        sq_arena_add(&op->j, PQgetvalue(res, i, 2), &rec.type) != 0 ||
        sq_arena_add(&op->j, PQgetvalue(res, i, 3), &rec.user) != 0 ||
        sq_arena_add(&op->j, PQgetvalue(res, i, 4), &rec.body) != 0 ||
        (with_hook && sq_arena_add(&op->j, PQgetvalue(res, i, 5), &rec.hook) != 0))
      break;
    if (with_hook)
      rec.attempts = (unsigned)pg_col_u64(res, i, 6);
    if (sq_rows_add(&op->j, &rec, sizeof rec) != 0)
      break;
  }
  pg_op_end(op, 0);
}

static void events_after_step(pg_op *op, int status, const PGresult *res) {
  char after[24], limit[24];
  const char *params[3] = {pg_u64(after, op->j.n[0]), op->j.s[0], pg_u64(limit, op->j.limit)};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT seq, id, type, origin_user_id, body FROM events WHERE seq > $1 AND "
                "($2::text IS NULL OR origin_user_id = $2) ORDER BY seq LIMIT $3",
                params, 3);
    return;
  }
  end_events(op, status, res, 0);
}

static int op_events_after(store_t *st, uint64_t after_seq, const char *user, size_t limit, store_events_cb cb,
                           void *data) {
  pg_op *op = pg_op_new(st, events_after_step, sq_deliver_events, data, user, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = after_seq;
    op->j.limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
    op->j.cb.events = cb;
  }
  return pg_op_start(st, op, 0);
}

/* hooks[0, op->j.nlist_in) as a text[] literal in a new string (free());
 * NULL when out of memory. */
static char *op_hooks_array(const pg_op *op) {
  const char **hooks = calloc(op->j.nlist_in + 1, sizeof *hooks);
  char *array;
  size_t i;
  if (hooks == NULL)
    return NULL;
  for (i = 0; i < op->j.nlist_in; i++)
    hooks[i] = op_hook(op, i);
  array = pg_text_array(hooks, op->j.nlist_in);
  free(hooks);
  return array;
}

/* Claims and leases the due deliveries owed to the caller's webhooks in one
 * statement: rows another replica holds are skipped, not waited for (each
 * delivery is leased by one replica), and a replica configured without a
 * webhook (a configuration being rolled out) leaves its deliveries to the
 * replicas that send to it. Times are the replicas' clocks (next_ms, the
 * lease): their skew must stay well under the lease (NOTIFY_TIMEOUT_MS +
 * 5 s), or a lease could look over to another replica while its POST runs. */
static void deliveries_due_step(pg_op *op, int status, const PGresult *res) {
  char now[24], lease[24], limit[24];
  const char *params[4] = {pg_u64(now, op->j.n[0]), pg_u64(lease, op->j.n[1]), pg_u64(limit, op->j.limit), NULL};
  char *hooks;
  if (op->phase == P_START) {
    hooks = op_hooks_array(op);
    if (hooks == NULL) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    params[3] = hooks;
    pg_op_query(op, P_ONE,
                "WITH due AS (SELECT seq, hook, next_ms FROM deliveries WHERE next_ms <= $1 AND "
                "hook = ANY ($4::text[]) ORDER BY next_ms, seq, hook LIMIT $3 FOR UPDATE SKIP LOCKED), "
                "leased AS (UPDATE deliveries d SET next_ms = $2 FROM due WHERE d.seq = due.seq AND "
                "d.hook = due.hook RETURNING d.seq, d.hook, d.attempts, due.next_ms AS due_ms) "
                "SELECT l.seq, e.id, e.type, e.origin_user_id, e.body, l.hook, l.attempts FROM leased l "
                "JOIN events e ON e.seq = l.seq ORDER BY l.due_ms, l.seq, l.hook",
                params, 4);
    free(hooks);
    return;
  }
  end_events(op, status, res, 1);
}

static int op_deliveries_due(store_t *st, uint64_t now_ms, uint64_t lease_until_ms, const char *const *hooks,
                             size_t nhooks, size_t limit, store_events_cb cb, void *data) {
  pg_op *op = pg_op_new(st, deliveries_due_step, sq_deliver_events, data, NULL, NULL, NULL);
  if (op != NULL && copy_hooks(op, hooks, nhooks) != 0) {
    pg_op_free(op);
    return -ENOMEM;
  }
  if (op != NULL) {
    op->j.n[0] = now_ms;
    op->j.n[1] = lease_until_ms;
    op->j.limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
    op->j.cb.events = cb;
  }
  return pg_op_start(st, op, 1);
}

static void delivery_done_step(pg_op *op, int status, const PGresult *res) {
  char seq[24];
  const char *params[2] = {pg_u64(seq, op->j.n[0]), op->j.s[0]};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "DELETE FROM deliveries WHERE seq = $1 AND hook = $2", params, 2);
    return;
  }
  end_ok(op, status);
}

static int op_delivery_done(store_t *st, uint64_t seq, const char *hook, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, delivery_done_step, sq_deliver_done, data, hook, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = seq;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void delivery_retry_step(pg_op *op, int status, const PGresult *res) {
  char attempts[24], next[24], seq[24];
  const char *params[4] = {pg_u64(attempts, op->j.n[1]), pg_u64(next, op->j.n[2]), pg_u64(seq, op->j.n[0]),
                           op->j.s[0]};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "UPDATE deliveries SET attempts = $1, next_ms = $2 WHERE seq = $3 AND hook = $4", params,
                4);
    return;
  }
  end_ok(op, status);
}

static int op_delivery_retry(store_t *st, uint64_t seq, const char *hook, unsigned attempts, uint64_t next_ms,
                             store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, delivery_retry_step, sq_deliver_done, data, hook, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = seq;
    op->j.n[1] = attempts;
    op->j.n[2] = next_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void deliveries_keep_hooks_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1];
  char *array;
  if (op->phase == P_START) {
    array = op_hooks_array(op);
    if (array == NULL) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    params[0] = array;
    pg_op_query(op, P_ONE,
                "WITH gone AS (DELETE FROM deliveries WHERE NOT (hook = ANY ($1::text[])) RETURNING 1) "
                "SELECT count(*) FROM gone",
                params, 1);
    free(array);
    return;
  }
  if (pg_failed(op, status))
    return;
  op->j.r.count = PQntuples(res) == 1 ? (size_t)pg_col_u64(res, 0, 0) : 0;
  pg_op_end(op, 0);
}

static int op_deliveries_keep_hooks(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb,
                                    void *data) {
  pg_op *op = pg_op_new(st, deliveries_keep_hooks_step, sq_deliver_count, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.cb.count = cb;
    if (copy_hooks(op, hooks, nhooks) != 0) {
      pg_op_free(op);
      return -ENOMEM;
    }
  }
  return pg_op_start(st, op, 1);
}

static void deliveries_pending_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1];
  char *hooks;
  if (op->phase == P_START) {
    hooks = op_hooks_array(op);
    if (hooks == NULL) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    params[0] = hooks;
    pg_op_query(op, P_ONE, "SELECT count(*) FROM deliveries WHERE hook = ANY ($1::text[])", params, 1);
    free(hooks);
    return;
  }
  if (pg_failed(op, status))
    return;
  op->j.r.count = PQntuples(res) == 1 ? (size_t)pg_col_u64(res, 0, 0) : 0;
  pg_op_end(op, 0);
}

static int op_deliveries_pending(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb,
                                 void *data) {
  pg_op *op = pg_op_new(st, deliveries_pending_step, sq_deliver_count, data, NULL, NULL, NULL);
  if (op != NULL && copy_hooks(op, hooks, nhooks) != 0) {
    pg_op_free(op);
    return -ENOMEM;
  }
  if (op != NULL)
    op->j.cb.count = cb;
  return pg_op_start(st, op, 0);
}

static void events_prune_step(pg_op *op, int status, const PGresult *res) {
  char before[24];
  const char *params[1] = {pg_u64(before, op->j.n[0])};
  (void)res;
  if (op->phase == P_START) {
    /* deliveries still owed go with their event (ON DELETE CASCADE): a
     * receiver down for the whole retention, or a webhook no replica has */
    pg_op_query(op, P_ONE, "DELETE FROM events WHERE created_ms < $1", params, 1);
    return;
  }
  end_ok(op, status);
}

static int op_events_prune(store_t *st, uint64_t before_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, events_prune_step, sq_deliver_done, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = before_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

const store_ops store_pg_ops = {
    .probe = op_probe,
    .user_create = pg_op_user_create,
    .user_get = pg_op_user_get,
    .user_by_origin = pg_op_user_by_origin,
    .user_update = pg_op_user_update,
    .user_delete = pg_op_user_delete,
    .user_list = pg_op_user_list,
    .user_connectors = pg_op_user_connectors,
    .app_create = pg_op_app_create,
    .app_get = pg_op_app_get,
    .app_update = pg_op_app_update,
    .app_delete = pg_op_app_delete,
    .app_list = pg_op_app_list,
    .app_for = pg_op_app_for,
    .credential_put = pg_op_credential_put,
    .credential_get = pg_op_credential_get,
    .credential_list = pg_op_credential_list,
    .credential_update = pg_op_credential_update,
    .credential_set_status = pg_op_credential_set_status,
    .credential_delete = pg_op_credential_delete,
    .credential_lease = pg_op_credential_lease,
    .credential_lease_end = pg_op_credential_lease_end,
    .link_put = op_link_put,
    .link_end = op_link_end,
    .link_get = op_link_get,
    .link_page = op_link_page,
    .link_prune = op_link_prune,
    .link_set_external_id = op_link_set_external_id,
    .link_external_id = op_link_external_id,
    .origin_add = pg_op_origin_add,
    .origin_delete = pg_op_origin_delete,
    .origin_allowed = pg_op_origin_allowed,
    .origin_list = pg_op_origin_list,
    .oauth_app_create = pg_op_oauth_app_create,
    .oauth_app_list = pg_op_oauth_app_list,
    .oauth_app_delete = pg_op_oauth_app_delete,
    .oauth_app_check = pg_op_oauth_app_check,
    .oauth_token_put = pg_op_oauth_token_put,
    .oauth_token_get = pg_op_oauth_token_get,
    .event_add = op_event_add,
    .event_seq = op_event_seq,
    .event_last = op_event_last,
    .events_after = op_events_after,
    .deliveries_due = op_deliveries_due,
    .delivery_done = op_delivery_done,
    .delivery_retry = op_delivery_retry,
    .deliveries_keep_hooks = op_deliveries_keep_hooks,
    .deliveries_pending = op_deliveries_pending,
    .events_prune = op_events_prune,
    .close = store_pg_close,
};
