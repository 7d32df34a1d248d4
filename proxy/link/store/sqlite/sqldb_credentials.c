/* sqldb_credentials: the SQLite store's connected credentials, a
 * registered user's account per connector: the sealed secret (sealing
 * happens above the store) and its state (broken, version, times, expiry).
 * See sqldb.h and store.h's credential_* operations. */
#include "sqldb_int.h"

#include <errno.h>
#include <string.h>

#define CREDENTIAL_COLS "connector, kind, broken, version, created_ms, modified_ms, expires_ms"

static void read_credential(sqlite3_stmt *stmt, store_credential *c) {
  memset(c, 0, sizeof *c);
  sqldb_col_text(stmt, 0, c->connector, sizeof c->connector);
  sqldb_col_text(stmt, 1, c->kind, sizeof c->kind);
  c->broken = sqlite3_column_int(stmt, 2);
  c->version = (uint64_t)sqlite3_column_int64(stmt, 3);
  c->created_ms = (uint64_t)sqlite3_column_int64(stmt, 4);
  c->modified_ms = (uint64_t)sqlite3_column_int64(stmt, 5);
  c->expires_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
}

int sqldb_credential_put(sqldb_t *q, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms) {
  if (sealed == NULL || sealed->ptr == NULL)
    return -EINVAL;
  /* A new connection replaces the old row; its version goes on from the
   * old one's, so a refresh that read the old row cannot overwrite it. */
  return sqldb_run(q,
                   sqldb_prepare(q,
                                 "INSERT OR REPLACE INTO credentials (user, connector, kind, secret, created_ms, "
                                 "broken, version, modified_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, 0, "
                                 "1 + IFNULL((SELECT version FROM credentials WHERE user = ?1 AND connector = ?2), "
                                 "0), ?5, ?6)",
                                 "sssbii", user, connector, kind, sealed->len > 0 ? sealed->ptr : "", sealed->len,
                                 (int64_t)now_ms, (int64_t)expires_ms),
                   NULL);
}

int sqldb_credential_get(sqldb_t *q, const char *user, const char *connector, store_credential *c, dynbuf *out) {
  sqlite3_stmt *stmt = sqldb_prepare(q,
                                     "SELECT " CREDENTIAL_COLS ", secret FROM credentials WHERE user = ? AND "
                                     "connector = ?",
                                     "ss", user, connector);
  int rc;
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    read_credential(stmt, c);
    rc = dynbuf_add(out, sqlite3_column_blob(stmt, 7), (size_t)sqlite3_column_bytes(stmt, 7)) == 0 ? 0 : -ENOMEM;
  } else {
    rc = rc == SQLITE_DONE ? -ENOENT : sqldb_error(q, "credential");
  }
  sqlite3_finalize(stmt);
  return rc;
}

typedef struct list_ctx {
  int (*cb)(void *ctx, const store_credential *c);
  void *ctx;
} list_ctx;

static int list_row(void *ctx, sqlite3_stmt *stmt) {
  list_ctx *l = ctx;
  store_credential c;
  read_credential(stmt, &c);
  return l->cb(l->ctx, &c);
}

int sqldb_credential_list(sqldb_t *q, const char *user, int (*cb)(void *ctx, const store_credential *c), void *ctx) {
  list_ctx l = {cb, ctx};
  return sqldb_each_row(q,
                        sqldb_prepare(q,
                                      "SELECT " CREDENTIAL_COLS " FROM credentials WHERE user = ? ORDER BY "
                                      "connector",
                                      "s", user),
                        list_row, &l, "credential list");
}

/* A guarded write's outcome: -ENOENT when no row had that version. */
static int guarded(int rc, int changes) {
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int sqldb_credential_update(sqldb_t *q, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms) {
  int changes = 0;
  int rc;
  if (sealed == NULL || sealed->ptr == NULL)
    return -EINVAL;
  rc = sqldb_run(q,
                 sqldb_prepare(q,
                               "UPDATE credentials SET secret = ?, expires_ms = ?, modified_ms = ?, broken = 0, "
                               "version = version + 1, lease_until_ms = 0 WHERE user = ? AND connector = ? AND "
                               "version = ?",
                               "biissi", sealed->len > 0 ? sealed->ptr : "", sealed->len, (int64_t)expires_ms,
                               (int64_t)now_ms, user, connector, (int64_t)version),
                 &changes);
  return guarded(rc, changes);
}

int sqldb_credential_set_status(sqldb_t *q, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms) {
  int changes = 0;
  int rc = sqldb_run(q,
                     sqldb_prepare(q,
                                   "UPDATE credentials SET broken = ?, modified_ms = ?, version = version + 1, "
                                   "lease_until_ms = 0 WHERE user = ? AND connector = ? AND version = ?",
                                   "iissi", (int64_t)(broken != 0), (int64_t)now_ms, user, connector, (int64_t)version),
                     &changes);
  return guarded(rc, changes);
}

int sqldb_credential_delete(sqldb_t *q, const char *user, const char *connector) {
  int changes = 0;
  int rc = sqldb_run(
      q, sqldb_prepare(q, "DELETE FROM credentials WHERE user = ? AND connector = ?", "ss", user, connector), &changes);
  return guarded(rc, changes);
}

int sqldb_credential_lease(sqldb_t *q, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms) {
  sqlite3_stmt *stmt;
  int changes = 0;
  int rc = sqldb_run(q,
                     sqldb_prepare(q,
                                   "UPDATE credentials SET lease_until_ms = ? WHERE user = ? AND connector = ? AND "
                                   "version = ? AND lease_until_ms <= ?",
                                   "issii", (int64_t)until_ms, user, connector, (int64_t)version, (int64_t)now_ms),
                     &changes);
  if (rc != 0 || changes > 0)
    return rc;
  /* not claimed: another's lease is in force on this version, or the row changed */
  stmt = sqldb_prepare(q, "SELECT 1 FROM credentials WHERE user = ? AND connector = ? AND version = ?", "ssi", user,
                       connector, (int64_t)version);
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  rc = rc == SQLITE_ROW ? -EBUSY : rc == SQLITE_DONE ? -ENOENT : sqldb_error(q, "credential lease");
  sqlite3_finalize(stmt);
  return rc;
}

int sqldb_credential_lease_end(sqldb_t *q, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms) {
  int changes = 0;
  int rc = sqldb_run(q,
                     sqldb_prepare(q,
                                   "UPDATE credentials SET lease_until_ms = 0 WHERE user = ? AND connector = ? AND "
                                   "version = ? AND lease_until_ms = ?",
                                   "ssii", user, connector, (int64_t)version, (int64_t)until_ms),
                     &changes);
  return guarded(rc, changes);
}
