/* sqldb_users: the SQLite store's tables of people and clients:
 * registered users, application credentials, connected credentials (sealed
 * blobs: sealing happens above the store), callback origins, OAuth
 * applications and their tokens. See sqldb.h. */
#include "sqldb_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"

/* ---- registered users ---- */

#define USER_COLS "id, origin_user_id, origin_user_name, company_id, company_name, user_type, " \
                  "is_test, created_ms"

static void read_user(sqlite3_stmt *stmt, store_user *u) {
  memset(u, 0, sizeof *u);
  sqldb_col_text(stmt, 0, u->id, sizeof u->id);
  sqldb_col_text(stmt, 1, u->origin_user_id, sizeof u->origin_user_id);
  sqldb_col_text(stmt, 2, u->origin_user_name, sizeof u->origin_user_name);
  u->has_group = sqlite3_column_type(stmt, 3) != SQLITE_NULL;
  sqldb_col_text(stmt, 3, u->company_id, sizeof u->company_id);
  sqldb_col_text(stmt, 4, u->company_name, sizeof u->company_name);
  sqldb_col_text(stmt, 5, u->user_type, sizeof u->user_type);
  u->is_test = sqlite3_column_int(stmt, 6);
  u->created_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
}

static void read_user_row(sqlite3_stmt *stmt, void *out) {
  read_user(stmt, out);
}

/* Runs a query expected to return at most one user. */
static int one_user(sqldb_t *q, sqlite3_stmt *stmt, store_user *u) {
  return sqldb_one_row(q, stmt, read_user_row, u, "user");
}

int sqldb_user_create(sqldb_t *q, store_user *u) {
  int rc = sqldb_run(q,
                     sqldb_prepare(q, "INSERT INTO registered_users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                   "sssSSsii", u->id, u->origin_user_id, u->origin_user_name,
                                   u->has_group ? u->company_id : NULL, u->has_group ? u->company_name : NULL,
                                   u->user_type, (int64_t)u->is_test, (int64_t)u->created_ms),
                     NULL);
  if (rc == -EEXIST && sqldb_user_by_origin(q, u->origin_user_id, u) != 0)
    return -EIO;
  return rc;
}

int sqldb_user_get(sqldb_t *q, const char *id, store_user *u) {
  return one_user(q, sqldb_prepare(q, "SELECT " USER_COLS " FROM registered_users WHERE id = ?", "s", id),
                  u);
}

int sqldb_user_by_origin(sqldb_t *q, const char *origin_user_id, store_user *u) {
  return one_user(
      q, sqldb_prepare(q, "SELECT " USER_COLS " FROM registered_users WHERE origin_user_id = ?", "s",
                  origin_user_id),
      u);
}

int sqldb_user_update(sqldb_t *q, const store_user *u) {
  int changes = 0;
  int rc = sqldb_run(q,
               sqldb_prepare(q,
                       "UPDATE registered_users SET origin_user_name = ?, company_id = ?, "
                       "company_name = ?, user_type = ?, is_test = ? WHERE id = ?",
                       "sSSsis", u->origin_user_name, u->has_group ? u->company_id : NULL,
                       u->has_group ? u->company_name : NULL, u->user_type, (int64_t)u->is_test, u->id),
               &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int sqldb_user_delete(sqldb_t *q, const char *id) {
  store_user u;
  int rc = sqldb_user_get(q, id, &u);
  if (rc != 0)
    return rc;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM credentials WHERE user = ?", "s", u.origin_user_id), NULL);
  if (rc == 0)
    rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM links WHERE user = ?", "s", u.origin_user_id), NULL);
  if (rc == 0)
    rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM registered_users WHERE id = ?", "s", id), NULL);
  if (sqldb_tx_end(q, rc == 0) != 0)
    return -EIO;
  return rc;
}

/* A caller's per-row callback and its context, one type per row kind. */
typedef struct user_call {
  int (*cb)(void *ctx, const store_user *u);
  void *ctx;
} user_call;

static int user_row(void *ctx, sqlite3_stmt *stmt) {
  user_call *call = ctx;
  store_user u;
  read_user(stmt, &u);
  return call->cb(call->ctx, &u);
}

int sqldb_user_list(sqldb_t *q, const char *origin_user_id, size_t offset, size_t limit,
                        int (*cb)(void *ctx, const store_user *u), void *ctx, size_t *total) {
  user_call call = {cb, ctx};
  sqlite3_stmt *stmt;
  stmt = sqldb_prepare(q, "SELECT COUNT(*) FROM registered_users WHERE ?1 IS NULL OR origin_user_id = ?1",
                 "S", origin_user_id);
  if (stmt == NULL)
    return -EIO;
  *total = sqlite3_step(stmt) == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  stmt = sqldb_prepare(q,
                 "SELECT " USER_COLS " FROM registered_users WHERE ?1 IS NULL OR origin_user_id = ?1 "
                 "ORDER BY created_ms, id LIMIT ?2 OFFSET ?3",
                 "Sii", origin_user_id, (int64_t)limit, (int64_t)offset);
  return sqldb_each_row(q, stmt, user_row, &call, "user list");
}

typedef struct text_call {
  int (*cb)(void *ctx, const char *text);
  void *ctx;
} text_call;

static int connector_row(void *ctx, sqlite3_stmt *stmt) {
  text_call *call = ctx;
  return call->cb(call->ctx, (const char *)sqlite3_column_text(stmt, 0));
}

int sqldb_user_connectors(sqldb_t *q, const char *origin_user_id,
                              int (*cb)(void *ctx, const char *slug), void *ctx) {
  text_call call = {cb, ctx};
  return sqldb_each_row(q,
                  sqldb_prepare(q, "SELECT connector FROM credentials WHERE user = ? ORDER BY connector", "s",
                          origin_user_id),
                  connector_row, &call, "connectors");
}

/* ---- application credentials ---- */

#define APP_COLS "id, connector_slug, client_id, client_secret IS NOT NULL, external_id, " \
                 "is_global_default, created_ms, modified_ms"

static void read_app(sqlite3_stmt *stmt, store_app_credential *c) {
  memset(c, 0, sizeof *c);
  sqldb_col_text(stmt, 0, c->id, sizeof c->id);
  sqldb_col_text(stmt, 1, c->connector_slug, sizeof c->connector_slug);
  sqldb_col_text(stmt, 2, c->client_id, sizeof c->client_id);
  c->has_secret = sqlite3_column_int(stmt, 3);
  c->has_external_id = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
  sqldb_col_text(stmt, 4, c->external_id, sizeof c->external_id);
  c->is_global_default = sqlite3_column_int(stmt, 5);
  c->created_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
  c->modified_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
}

/* A blob for a 'b' binding: NULL for none, never NULL for an empty one. */
static const void *blob_ptr(const store_blob *b) {
  if (b == NULL || b->ptr == NULL)
    return NULL;
  return b->len > 0 ? b->ptr : "";
}

static size_t blob_len(const store_blob *b) {
  return b != NULL && b->ptr != NULL ? b->len : 0;
}

int sqldb_app_create(sqldb_t *q, const store_app_credential *c, const store_blob *secret) {
  int rc = 0;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  if (c->is_global_default)
    rc = sqldb_run(q,
                   sqldb_prepare(q, "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = ?",
                                 "s", c->connector_slug),
                   NULL);
  if (rc == 0)
    rc = sqldb_run(q,
                   sqldb_prepare(q,
                                 "INSERT INTO app_credentials (id, connector_slug, client_id, client_secret, "
                                 "external_id, is_global_default, created_ms, modified_ms) VALUES (?,?,?,?,?,?,?,?)",
                                 "sssbSiii", c->id, c->connector_slug, c->client_id, blob_ptr(secret),
                                 blob_len(secret), c->has_external_id ? c->external_id : NULL,
                                 (int64_t)c->is_global_default, (int64_t)c->created_ms, (int64_t)c->modified_ms),
                   NULL);
  if (sqldb_tx_end(q, rc == 0) != 0)
    return -EIO;
  return rc;
}

static void read_app_row(sqlite3_stmt *stmt, void *out) {
  read_app(stmt, out);
}

int sqldb_app_get(sqldb_t *q, const char *id, store_app_credential *c) {
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT " APP_COLS " FROM app_credentials WHERE id = ?", "s", id), read_app_row,
                 c, "app get");
}

int sqldb_app_update(sqldb_t *q, store_app_credential *c, int set_secret, const store_blob *secret,
                     uint64_t now_ms) {
  int changes = 0;
  int rc = 0;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  if (c->is_global_default)
    rc = sqldb_run(q,
                   sqldb_prepare(q,
                                 "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = ? "
                                 "AND id != ?",
                                 "ss", c->connector_slug, c->id),
                   NULL);
  if (rc == 0)
    rc = sqldb_run(q,
                   sqldb_prepare(q,
                                 "UPDATE app_credentials SET client_id = ?, external_id = ?, is_global_default = ?, "
                                 "modified_ms = ? WHERE id = ?",
                                 "sSiis", c->client_id, c->has_external_id ? c->external_id : NULL,
                                 (int64_t)c->is_global_default, (int64_t)now_ms, c->id),
                   &changes);
  if (rc == 0 && changes == 0)
    rc = -ENOENT;
  if (rc == 0 && set_secret)
    rc = sqldb_run(q,
                   sqldb_prepare(q, "UPDATE app_credentials SET client_secret = ? WHERE id = ?", "bs",
                                 blob_ptr(secret), blob_len(secret), c->id),
                   NULL);
  if (sqldb_tx_end(q, rc == 0) != 0)
    return -EIO;
  if (rc == 0) {
    c->modified_ms = now_ms;
    if (set_secret)
      c->has_secret = blob_ptr(secret) != NULL;
  }
  return rc;
}

int sqldb_app_delete(sqldb_t *q, const char *id) {
  int changes = 0;
  int rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM app_credentials WHERE id = ?", "s", id), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

typedef struct app_call {
  int (*cb)(void *ctx, const store_app_credential *c);
  void *ctx;
} app_call;

static int app_row(void *ctx, sqlite3_stmt *stmt) {
  app_call *call = ctx;
  store_app_credential c;
  read_app(stmt, &c);
  return call->cb(call->ctx, &c);
}

int sqldb_app_list(sqldb_t *q, const char *connector_slug,
                       int (*cb)(void *ctx, const store_app_credential *c), void *ctx) {
  app_call call = {cb, ctx};
  return sqldb_each_row(q,
                  sqldb_prepare(q,
                          "SELECT " APP_COLS " FROM app_credentials WHERE ?1 IS NULL OR "
                          "connector_slug = ?1 ORDER BY created_ms, id",
                          "S", connector_slug),
                  app_row, &call, "app list");
}

int sqldb_app_for(sqldb_t *q, const char *connector_slug, const char *external_id,
                      store_app_credential *c, dynbuf *secret) {
  sqlite3_stmt *stmt;
  int rc;
  if (external_id != NULL && external_id[0] != '\0')
    stmt = sqldb_prepare(q,
                   "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = ? "
                   "AND external_id = ?",
                   "ss", connector_slug, external_id);
  else
    stmt = sqldb_prepare(q,
                   "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = ? "
                   "ORDER BY is_global_default DESC, external_id IS NULL DESC, created_ms LIMIT 1",
                   "s", connector_slug);
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    read_app(stmt, c);
    if (c->has_secret && secret != NULL &&
        dynbuf_add(secret, sqlite3_column_blob(stmt, 8), (size_t)sqlite3_column_bytes(stmt, 8)) != 0) {
      sqlite3_finalize(stmt);
      return -ENOMEM;
    }
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW)
    return 0;
  return rc == SQLITE_DONE ? -ENOENT : sqldb_error(q, "app for");
}

/* ---- callback origins ---- */

int sqldb_origin_add(sqldb_t *q, const char *origin, uint64_t now_ms) {
  return sqldb_run(q,
             sqldb_prepare(q, "INSERT INTO callback_origins (origin, created_ms) VALUES (?, ?)", "si", origin,
                     (int64_t)now_ms),
             NULL);
}

int sqldb_origin_delete(sqldb_t *q, const char *origin) {
  int changes = 0;
  int rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM callback_origins WHERE origin = ?", "s", origin), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int sqldb_origin_allowed(sqldb_t *q, const char *origin) {
  return sqldb_one_row(q, sqldb_prepare(q, "SELECT 1 FROM callback_origins WHERE origin = ?", "s", origin), NULL, NULL,
                 "origin");
}

typedef struct origin_call {
  int (*cb)(void *ctx, const char *origin, uint64_t created_ms);
  void *ctx;
} origin_call;

static int origin_row(void *ctx, sqlite3_stmt *stmt) {
  origin_call *call = ctx;
  return call->cb(call->ctx, (const char *)sqlite3_column_text(stmt, 0), (uint64_t)sqlite3_column_int64(stmt, 1));
}

int sqldb_origin_list(sqldb_t *q, int (*cb)(void *ctx, const char *origin, uint64_t created_ms),
                          void *ctx) {
  origin_call call = {cb, ctx};
  return sqldb_each_row(q, sqldb_prepare(q, "SELECT origin, created_ms FROM callback_origins ORDER BY origin", ""),
                  origin_row, &call, "origins");
}

/* ---- OAuth applications ---- */

int sqldb_oauth_app_create(sqldb_t *q, const store_oauth_app *a, const char *secret_hash) {
  return sqldb_run(q,
                   sqldb_prepare(q,
                                 "INSERT INTO oauth_apps (id, name, description, redirect_uri, scopes, client_id, "
                                 "secret_hash, created_ms) VALUES (?,?,?,?,?,?,?,?)",
                                 "sssssssi", a->id, a->name, a->description, a->redirect_uri, a->scopes,
                                 a->client_id, secret_hash, (int64_t)a->created_ms),
                   NULL);
}

static void read_oauth_app(sqlite3_stmt *stmt, store_oauth_app *a) {
  memset(a, 0, sizeof *a);
  sqldb_col_text(stmt, 0, a->id, sizeof a->id);
  sqldb_col_text(stmt, 1, a->name, sizeof a->name);
  sqldb_col_text(stmt, 2, a->description, sizeof a->description);
  sqldb_col_text(stmt, 3, a->redirect_uri, sizeof a->redirect_uri);
  sqldb_col_text(stmt, 4, a->scopes, sizeof a->scopes);
  sqldb_col_text(stmt, 5, a->client_id, sizeof a->client_id);
  a->created_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
}

#define OAUTH_APP_COLS "id, name, description, redirect_uri, scopes, client_id, created_ms"

typedef struct oauth_app_call {
  int (*cb)(void *ctx, const store_oauth_app *a);
  void *ctx;
} oauth_app_call;

static int oauth_app_row(void *ctx, sqlite3_stmt *stmt) {
  oauth_app_call *call = ctx;
  store_oauth_app a;
  read_oauth_app(stmt, &a);
  return call->cb(call->ctx, &a);
}

int sqldb_oauth_app_list(sqldb_t *q, int (*cb)(void *ctx, const store_oauth_app *a),
                             void *ctx) {
  oauth_app_call call = {cb, ctx};
  return sqldb_each_row(q, sqldb_prepare(q, "SELECT " OAUTH_APP_COLS " FROM oauth_apps ORDER BY created_ms", ""),
                  oauth_app_row, &call, "oauth apps");
}

int sqldb_oauth_app_delete(sqldb_t *q, const char *id) {
  int changes = 0;
  int rc = sqldb_run(q, sqldb_prepare(q, "DELETE FROM oauth_apps WHERE id = ?", "s", id), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int sqldb_oauth_app_check(sqldb_t *q, const char *client_id, const char *secret_hash,
                              store_oauth_app *a) {
  sqlite3_stmt *stmt = sqldb_prepare(q,
                               "SELECT " OAUTH_APP_COLS ", secret_hash FROM oauth_apps WHERE client_id = ?",
                               "s", client_id);
  int rc;
  int ok = 0;
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char *h = sqlite3_column_text(stmt, 7);
    read_oauth_app(stmt, a);
    ok = h != NULL && strlen((const char *)h) == 64 && strlen(secret_hash) == 64 &&
         crypto_equal(h, secret_hash, 64);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sqldb_error(q, "oauth check");
  return ok ? 0 : -ENOENT;
}

int sqldb_oauth_token_put(sqldb_t *q, const char *token_hash, const char *app_id,
                              const char *scopes, uint64_t expires_ms) {
  (void)sqldb_run(q, sqldb_prepare(q, "DELETE FROM oauth_tokens WHERE expires_ms < ?", "i", (int64_t)expires_ms - 7200000), NULL);
  return sqldb_run(q,
             sqldb_prepare(q, "INSERT INTO oauth_tokens (token_hash, app_id, scopes, expires_ms) VALUES (?,?,?,?)",
                     "sssi", token_hash, app_id, scopes, (int64_t)expires_ms),
             NULL);
}

static void read_token(sqlite3_stmt *stmt, void *out) {
  store_oauth_token *t = out;
  memset(t, 0, sizeof *t);
  sqldb_col_text(stmt, 0, t->scopes, sizeof t->scopes);
  sqldb_col_text(stmt, 1, t->client_id, sizeof t->client_id);
}

int sqldb_oauth_token_get(sqldb_t *q, const char *token_hash, uint64_t now_ms, store_oauth_token *t) {
  return sqldb_one_row(q,
                       sqldb_prepare(q,
                                     "SELECT t.scopes, a.client_id FROM oauth_tokens t JOIN oauth_apps a "
                                     "ON a.id = t.app_id WHERE t.token_hash = ? AND t.expires_ms > ?",
                                     "si", token_hash, (int64_t)now_ms),
                       read_token, t, "oauth token");
}
