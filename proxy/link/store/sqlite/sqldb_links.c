/* sqldb_links: the SQLite store's links, the events log and the webhook
 * outbox. See sqldb.h. */
#include "sqldb_int.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "jsonw.h"

/* ---- links ---- */

int sqldb_link_put(sqldb_t *q, const store_link *l) {
  return sqldb_run(q,
             sqldb_prepare(q,
                     "INSERT INTO links (token, user, connector, callback_url, state, status, "
                     "pinned, created_ms, expires_ms, ended_ms) VALUES (?,?,?,?,?,?,?,?,?,?) "
                     "ON CONFLICT (token) DO UPDATE SET user = excluded.user, connector = excluded.connector, "
                     "callback_url = excluded.callback_url, state = excluded.state, status = excluded.status, "
                     "pinned = excluded.pinned, created_ms = excluded.created_ms, expires_ms = excluded.expires_ms, "
                     "ended_ms = excluded.ended_ms WHERE links.status = 0", /* an ended link is final */
                     "sssssiiiii", l->token, l->user, l->connector, l->callback_url, l->state,
                     (int64_t)l->status, (int64_t)l->pinned, (int64_t)l->created_ms,
                     (int64_t)l->expires_ms, (int64_t)l->ended_ms),
             NULL);
}

int sqldb_link_end(sqldb_t *q, const char *token, int status, uint64_t ended_ms) {
  return sqldb_run(q,
             sqldb_prepare(q, "UPDATE links SET status = ?, ended_ms = ? WHERE token = ?", "iis",
                     (int64_t)status, (int64_t)ended_ms, token),
             NULL);
}

#define LINK_COLUMNS \
  "token, user, connector, callback_url, state, status, pinned, created_ms, expires_ms, ended_ms"

/* one_row reader of a LINK_COLUMNS row into a store_link. */
static void read_link(sqlite3_stmt *stmt, void *out) {
  store_link *l = out;
  memset(l, 0, sizeof *l);
  sqldb_col_text(stmt, 0, l->token, sizeof l->token);
  sqldb_col_text(stmt, 1, l->user, sizeof l->user);
  sqldb_col_text(stmt, 2, l->connector, sizeof l->connector);
  sqldb_col_text(stmt, 3, l->callback_url, sizeof l->callback_url);
  sqldb_col_text(stmt, 4, l->state, sizeof l->state);
  l->status = sqlite3_column_int(stmt, 5);
  l->pinned = sqlite3_column_int(stmt, 6);
  l->created_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
  l->expires_ms = (uint64_t)sqlite3_column_int64(stmt, 8);
  l->ended_ms = (uint64_t)sqlite3_column_int64(stmt, 9);
}

int sqldb_link_get(sqldb_t *q, const char *token, store_link *l) {
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT " LINK_COLUMNS " FROM links WHERE token = ?", "s", token), read_link, l,
                 "link");
}

typedef struct link_call {
  int (*cb)(void *ctx, const store_link *l);
  void *ctx;
} link_call;

static int link_row(void *ctx, sqlite3_stmt *stmt) {
  link_call *call = ctx;
  store_link l;
  read_link(stmt, &l);
  return call->cb(call->ctx, &l);
}

int sqldb_link_each(sqldb_t *q, uint64_t since_ms, uint64_t after_ms, const char *after_token, size_t limit,
                    int (*cb)(void *ctx, const store_link *l), void *ctx) {
  link_call call = {cb, ctx};
  return sqldb_each_row(q,
                        sqldb_prepare(q,
                                      "SELECT " LINK_COLUMNS " FROM links WHERE created_ms >= ?1 AND "
                                      "(created_ms > ?2 OR (created_ms = ?2 AND token > ?3)) "
                                      "ORDER BY created_ms, token LIMIT ?4",
                                      "iisi", (int64_t)since_ms, (int64_t)after_ms,
                                      after_token != NULL ? after_token : "", limit > 0 ? (int64_t)limit : (int64_t)-1),
                        link_row, &call, "links");
}

int sqldb_link_prune(sqldb_t *q, uint64_t before_ms) {
  int rc = sqldb_run(q,
               sqldb_prepare(q, "DELETE FROM links WHERE ended_ms > 0 AND ended_ms < ?", "i", (int64_t)before_ms),
               NULL);
  if (rc == 0)
    rc = sqldb_run(q,
             sqldb_prepare(q, "DELETE FROM link_app_choice WHERE token NOT IN (SELECT token FROM links)", ""),
             NULL);
  return rc;
}

int sqldb_link_set_external_id(sqldb_t *q, const char *token, const char *external_id) {
  return sqldb_run(q,
             sqldb_prepare(q, "INSERT OR REPLACE INTO link_app_choice (token, external_id) VALUES (?, ?)", "ss",
                     token, external_id),
             NULL);
}

int sqldb_link_external_id(sqldb_t *q, const char *token, char *out, size_t cap) {
  sqldb_text_out t = {out, cap};
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT external_id FROM link_app_choice WHERE token = ?", "s", token),
                 sqldb_read_text, &t, "link external_id");
}

/* ---- events and the webhook outbox ---- */

int sqldb_event_add(sqldb_t *q, const store_event *e, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                    uint64_t *seq) {
  size_t i;
  int rc;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  rc = sqldb_run(q,
                 sqldb_prepare(q, "INSERT INTO events (id, type, user, body, created_ms) VALUES (?, ?, ?, ?, ?)",
                               "ssssi", e->id, e->type, e->user, e->body, (int64_t)now_ms),
                 NULL);
  *seq = (uint64_t)sqlite3_last_insert_rowid(q->db);
  for (i = 0; i < nhooks && rc == 0; i++)
    rc = sqldb_run(q,
                   sqldb_prepare(q, "INSERT INTO deliveries (seq, hook, attempts, next_ms) VALUES (?, ?, 0, ?)",
                                 "isi", (int64_t)*seq, hooks[i], (int64_t)now_ms),
                   NULL);
  if (sqldb_tx_end(q, rc == 0) != 0)
    return -EIO;
  return rc;
}

int sqldb_event_seq(sqldb_t *q, const char *id, uint64_t *seq) {
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT seq FROM events WHERE id = ?", "s", id), sqldb_read_u64, seq, "event seq");
}

int sqldb_event_last(sqldb_t *q, uint64_t *seq) {
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT COALESCE(MAX(seq), 0) FROM events", ""), sqldb_read_u64, seq,
                       "event last");
}

/* The event of the current row: seq, id, type, user, body, then hook and
 * attempts when the statement has them (pointers into stmt's row). */
static void read_event(sqlite3_stmt *stmt, store_event *e) {
  int with_delivery = sqlite3_column_count(stmt) > 5;
  e->seq = (uint64_t)sqlite3_column_int64(stmt, 0);
  e->id = (const char *)sqlite3_column_text(stmt, 1);
  e->type = (const char *)sqlite3_column_text(stmt, 2);
  e->user = (const char *)sqlite3_column_text(stmt, 3);
  e->body = (const char *)sqlite3_column_text(stmt, 4);
  e->hook = with_delivery ? (const char *)sqlite3_column_text(stmt, 5) : NULL;
  e->attempts = with_delivery ? (unsigned)sqlite3_column_int(stmt, 6) : 0;
}

int sqldb_events_after(sqldb_t *q, uint64_t after_seq, const char *user, size_t limit,
                           int (*cb)(void *ctx, const store_event *e), void *ctx) {
  sqlite3_stmt *stmt = sqldb_prepare(q,
                               "SELECT seq, id, type, user, body FROM events WHERE seq > ?1 AND "
                               "(?2 IS NULL OR user = ?2) ORDER BY seq LIMIT ?3",
                               "iSi", (int64_t)after_seq, user, (int64_t)limit);
  store_event e;
  int rc;
  if (stmt == NULL)
    return -EIO;
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    read_event(stmt, &e);
    if (cb(ctx, &e) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqldb_error(q, "events");
}

/* hooks[0, n) as a JSON array of strings into out (NUL-terminated), for
 * "hook IN (SELECT value FROM json_each(?))": one parameter, and no write
 * (a temporary table's would count as the store writing again). */
static int hooks_json(const char *const *hooks, size_t n, dynbuf *out) {
  size_t i;
  dynbuf_init(out, (size_t)CONFIG_WEBHOOKS_MAX * 6 * 2048 + 64); /* \uXXXX at worst */
  dynbuf_put(out, "[", 1);
  for (i = 0; i < n; i++) {
    if (i > 0)
      dynbuf_put(out, ",", 1);
    (void)jsonw_cstring(out, hooks[i]);
  }
  dynbuf_put(out, "]", 2); /* and the NUL */
  return dynbuf_error(out);
}

int sqldb_deliveries_due(sqldb_t *q, uint64_t now_ms, uint64_t lease_until_ms, const char *const *hooks,
                         size_t nhooks, size_t limit, int (*cb)(void *ctx, const store_event *e), void *ctx) {
  sqlite3_stmt *stmt;
  store_event e;
  dynbuf list;
  int rc;
  if (hooks_json(hooks, nhooks, &list) != 0) {
    dynbuf_free(&list);
    return -ENOMEM;
  }
  if (sqldb_tx_begin(q) != 0) {
    dynbuf_free(&list);
    return -EIO;
  }
  stmt = sqldb_prepare(q,
                 "SELECT d.seq, e.id, e.type, e.user, e.body, d.hook, d.attempts FROM deliveries d "
                 "JOIN events e ON e.seq = d.seq WHERE d.next_ms <= ? AND "
                 "d.hook IN (SELECT value FROM json_each(?)) ORDER BY d.next_ms, d.seq LIMIT ?",
                 "isi", (int64_t)now_ms, (const char *)list.ptr, (int64_t)limit);
  dynbuf_free(&list); /* bound as a copy (sqldb_prepare: SQLITE_TRANSIENT) */
  if (stmt == NULL) {
    (void)sqldb_tx_end(q, 0);
    return -EIO;
  }
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    read_event(stmt, &e);
    /* leased: not due again while this attempt is in flight */
    (void)sqldb_run(q,
              sqldb_prepare(q, "UPDATE deliveries SET next_ms = ? WHERE seq = ? AND hook = ?", "iis",
                      (int64_t)lease_until_ms, (int64_t)e.seq, e.hook),
              NULL);
    if (cb(ctx, &e) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  if (sqldb_tx_end(q, 1) != 0)
    return -EIO;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqldb_error(q, "deliveries");
}

int sqldb_delivery_done(sqldb_t *q, uint64_t seq, const char *hook) {
  return sqldb_run(q, sqldb_prepare(q, "DELETE FROM deliveries WHERE seq = ? AND hook = ?", "is", (int64_t)seq, hook),
             NULL);
}

int sqldb_delivery_retry(sqldb_t *q, uint64_t seq, const char *hook, unsigned attempts,
                             uint64_t next_ms) {
  return sqldb_run(q,
             sqldb_prepare(q, "UPDATE deliveries SET attempts = ?, next_ms = ? WHERE seq = ? AND hook = ?", "iiis",
                     (int64_t)attempts, (int64_t)next_ms, (int64_t)seq, hook),
             NULL);
}

int sqldb_deliveries_keep_hooks(sqldb_t *q, const char *const *hooks, size_t nhooks, size_t *dropped) {
  dynbuf list;
  int changes = 0;
  int rc;
  *dropped = 0;
  if (hooks_json(hooks, nhooks, &list) != 0) {
    dynbuf_free(&list);
    return -ENOMEM;
  }
  rc = sqldb_run(q,
                 sqldb_prepare(q, "DELETE FROM deliveries WHERE hook NOT IN (SELECT value FROM json_each(?))", "s",
                               (const char *)list.ptr),
                 &changes);
  dynbuf_free(&list);
  *dropped = (size_t)changes;
  return rc;
}

int sqldb_deliveries_pending(sqldb_t *q, const char *const *hooks, size_t nhooks, size_t *count) {
  sqlite3_stmt *stmt;
  dynbuf list;
  *count = 0;
  if (hooks_json(hooks, nhooks, &list) != 0) {
    dynbuf_free(&list);
    return -ENOMEM;
  }
  stmt = sqldb_prepare(q, "SELECT COUNT(*) FROM deliveries WHERE hook IN (SELECT value FROM json_each(?))", "s",
                       (const char *)list.ptr);
  dynbuf_free(&list);
  if (stmt == NULL)
    return -EIO;
  *count = sqlite3_step(stmt) == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  return 0;
}

int sqldb_events_prune(sqldb_t *q, uint64_t before_ms) {
  int rc;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  /* deliveries still owed that long go with their event: a receiver down
   * for the whole retention, or a webhook no longer configured */
  rc = sqldb_run(q,
                 sqldb_prepare(q, "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM events WHERE created_ms < ?)",
                               "i", (int64_t)before_ms),
                 NULL);
  if (rc == 0)
    rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM events WHERE created_ms < ?", "i", (int64_t)before_ms), NULL);
  if (sqldb_tx_end(q, rc == 0) != 0 && rc == 0)
    rc = -EIO;
  return rc;
}
