/* linkstore: the link service's SQLite store. See linkstore.h. */
#include "linkstore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "log.h"
#include "crypto.h"

/* Migrations, applied in order; schema_version holds how many ran. */
static const char *const migrations[] = {
    /* 1: the link service */
    "CREATE TABLE registered_users ("
    "  id TEXT PRIMARY KEY,"
    "  origin_user_id TEXT NOT NULL UNIQUE,"
    "  origin_user_name TEXT NOT NULL,"
    "  company_id TEXT,"                     /* shared_credential_group, NULL: none */
    "  company_name TEXT,"
    "  user_type TEXT NOT NULL DEFAULT 'HUMAN',"
    "  is_test INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE app_credentials ("
    "  id TEXT PRIMARY KEY,"
    "  connector_slug TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  client_secret BLOB,"                  /* secretbox-sealed; NULL: none */
    "  external_id TEXT,"
    "  is_global_default INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX app_credentials_slug_external"
    "  ON app_credentials (connector_slug, IFNULL(external_id, ''));"
    "CREATE UNIQUE INDEX app_credentials_one_default"
    "  ON app_credentials (connector_slug) WHERE is_global_default = 1;"
    "CREATE TABLE credentials ("
    "  user TEXT NOT NULL,"                  /* origin_user_id */
    "  connector TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  secret BLOB NOT NULL,"                /* secretbox-sealed */
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (user, connector));"
    "CREATE TABLE links ("
    "  token TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL,"
    "  connector TEXT NOT NULL,"
    "  callback_url TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL,"
    "  pinned INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  ended_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX links_created ON links (created_ms);"
    "CREATE TABLE link_app_choice ("           /* the link-token API's external_id */
    "  token TEXT PRIMARY KEY,"
    "  external_id TEXT NOT NULL);"
    "CREATE TABLE callback_origins ("
    "  origin TEXT PRIMARY KEY,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE oauth_apps ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  redirect_uri TEXT NOT NULL DEFAULT '',"
    "  scopes TEXT NOT NULL,"
    "  client_id TEXT NOT NULL UNIQUE,"
    "  secret_hash TEXT NOT NULL,"           /* SHA-256 of the client secret */
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE oauth_tokens ("
    "  token_hash TEXT PRIMARY KEY,"         /* SHA-256 of the bearer token */
    "  app_id TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,"
    "  scopes TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL);",
    /* 2: out-of-band notice: the event log and the webhook outbox */
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"                 /* evt_...: receivers deduplicate on it */
    "  type TEXT NOT NULL,"
    "  user TEXT NOT NULL,"
    "  body TEXT NOT NULL,"                      /* the JSON sent */
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE deliveries ("                 /* one per (event, webhook) not yet accepted */
    "  seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,"
    "  hook TEXT NOT NULL,"                      /* the webhook's url */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_ms INTEGER NOT NULL,"                /* due time; pushed ahead while in flight */
    "  PRIMARY KEY (seq, hook));"
    "CREATE INDEX deliveries_next ON deliveries (next_ms);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int db_error(linkstore_t *st, const char *what) {
  LOG_ERROR("link store", LOG_STR("op", what), LOG_STR("error", sqlite3_errmsg(st->db)));
  return -EIO;
}

static int exec_sql(linkstore_t *st, const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    LOG_ERROR("link store", LOG_STR("error", msg != NULL ? msg : "?"));
    sqlite3_free(msg);
    return -EIO;
  }
  return 0;
}

/* A write failed: counted and remembered (cannot_write, for /readyz) and,
 * outside a caller's transaction, nothing is left open: SQLite keeps the
 * transaction open after a failed COMMIT or RELEASE, and every later write
 * would join it, seem to succeed, and never reach the disk. Returns -EIO. */
static int write_failed(linkstore_t *st, const char *what) {
  snprintf(st->write_error, sizeof st->write_error, "%s", sqlite3_errmsg(st->db));
  LOG_ERROR("link store write failed, rolled back", LOG_STR("op", what), LOG_STR("error", st->write_error));
  st->write_errors++;
  st->cannot_write = 1;
  if (st->depth == 0 && !sqlite3_get_autocommit(st->db))
    (void)exec_sql(st, "ROLLBACK");
  return -EIO;
}

/* A write committed: the store can write (again). */
static void write_committed(linkstore_t *st) {
  if (st->cannot_write)
    LOG_INFO("link store writes again");
  st->cannot_write = 0;
}

/* Transactions nest (SAVEPOINT): a caller may group several store calls,
 * each of which is a transaction of its own otherwise. (An outermost
 * SAVEPOINT is a deferred transaction: this connection is the database's
 * only writer, the control loop, so no lock upgrade can fail.) */
static int tx_begin(linkstore_t *st) {
  if (exec_sql(st, "SAVEPOINT linkstore") != 0)
    return -EIO;
  if (st->depth++ == 0)
    st->changes_at_begin = sqlite3_total_changes(st->db);
  return 0;
}

/* Ends what tx_begin() began: kept when ok, undone otherwise. The
 * outermost end commits; when that fails, all of it is rolled back. */
static int tx_end(linkstore_t *st, int ok) {
  int rc;
  if (st->depth > 0)
    st->depth--;
  if (!ok)
    (void)exec_sql(st, "ROLLBACK TO linkstore");
  rc = exec_sql(st, "RELEASE linkstore");
  if (st->depth > 0)
    return rc;
  if (rc != 0 && ok)
    return write_failed(st, "commit");
  if (!sqlite3_get_autocommit(st->db))
    (void)exec_sql(st, "ROLLBACK");
  if (rc == 0 && ok && sqlite3_total_changes(st->db) != st->changes_at_begin)
    write_committed(st);
  return rc;
}

int linkstore_begin(linkstore_t *st) {
  return tx_begin(st);
}

int linkstore_commit(linkstore_t *st) {
  return tx_end(st, 1);
}

/* Prepares sql and binds the arguments described by types, one letter each:
 * 's' const char * (NULL or "" for 'S': SQL NULL), 'S' text or NULL when
 * empty, 'i' int64_t, 'b' blob (const void *, size_t). */
static sqlite3_stmt *prepare(linkstore_t *st, const char *sql, const char *types, ...) {
  sqlite3_stmt *stmt = NULL;
  va_list ap;
  int i;
  if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
    db_error(st, "prepare");
    return NULL;
  }
  va_start(ap, types);
  for (i = 0; types[i] != '\0'; i++) {
    int rc = SQLITE_OK;
    if (types[i] == 's') {
      rc = sqlite3_bind_text(stmt, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    } else if (types[i] == 'S') {
      const char *s = va_arg(ap, const char *);
      rc = s == NULL || s[0] == '\0' ? sqlite3_bind_null(stmt, i + 1)
                                     : sqlite3_bind_text(stmt, i + 1, s, -1, SQLITE_TRANSIENT);
    } else if (types[i] == 'i') {
      rc = sqlite3_bind_int64(stmt, i + 1, (sqlite3_int64)va_arg(ap, int64_t));
    } else if (types[i] == 'b') {
      const void *p = va_arg(ap, const void *);
      size_t n = va_arg(ap, size_t);
      rc = p == NULL ? sqlite3_bind_null(stmt, i + 1)
                     : sqlite3_bind_blob(stmt, i + 1, p, (int)n, SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) {
      va_end(ap);
      sqlite3_finalize(stmt);
      db_error(st, "bind");
      return NULL;
    }
  }
  va_end(ap);
  return stmt;
}

/* Steps a statement that returns no rows (a write). Returns 0, -EEXIST
 * (constraint) or -EIO (write_failed()); finalizes it. *changes: rows
 * changed (may be NULL). */
static int run(linkstore_t *st, sqlite3_stmt *stmt, int *changes) {
  int rc;
  int n;
  if (stmt == NULL)
    return write_failed(st, "prepare");
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_CONSTRAINT)
    return -EEXIST;
  if (rc != SQLITE_DONE)
    return write_failed(st, "step");
  n = sqlite3_changes(st->db);
  if (changes != NULL)
    *changes = n;
  if (n > 0 && st->depth == 0)
    write_committed(st); /* its own transaction, committed */
  return 0;
}

static void col_text(sqlite3_stmt *stmt, int col, char *out, size_t cap) {
  const unsigned char *t = sqlite3_column_text(stmt, col);
  size_t n = t != NULL ? strlen((const char *)t) : 0;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, t != NULL ? (const char *)t : "", n);
  out[n] = '\0';
}

/* Steps stmt to its end, calling row(ctx, stmt) for each row until it
 * returns non-zero; finalizes it. Returns 0 or -EIO (logged as what). */
static int each_row(linkstore_t *st, sqlite3_stmt *stmt, int (*row)(void *ctx, sqlite3_stmt *stmt), void *ctx,
                    const char *what) {
  int rc;
  if (stmt == NULL)
    return -EIO;
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    if (row(ctx, stmt) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, what);
}

/* Steps stmt once and finalizes it: 0 when there was a row (read, when not
 * NULL, copied it into out), -ENOENT when there was none, -EIO (logged as
 * what). */
static int one_row(linkstore_t *st, sqlite3_stmt *stmt, void (*read)(sqlite3_stmt *stmt, void *out), void *out,
                   const char *what) {
  int rc;
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && read != NULL)
    read(stmt, out);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW)
    return 0;
  return rc == SQLITE_DONE ? -ENOENT : db_error(st, what);
}

/* one_row readers of a first column: text into a capped buffer, a number. */
typedef struct text_out {
  char *p;
  size_t cap;
} text_out;

static void read_text(sqlite3_stmt *stmt, void *out) {
  text_out *t = out;
  col_text(stmt, 0, t->p, t->cap);
}

static void read_u64(sqlite3_stmt *stmt, void *out) {
  *(uint64_t *)out = (uint64_t)sqlite3_column_int64(stmt, 0);
}

int linkstore_open(linkstore_t *st, const char *data_dir, const unsigned char key[SECRETBOX_KEY_BYTES],
                   char *err, size_t errlen) {
  char path[4200];
  sqlite3_stmt *stmt;
  int version = 0;
  int i;
  memset(st, 0, sizeof *st);
  memcpy(st->key, key, SECRETBOX_KEY_BYTES);
  snprintf(path, sizeof path, "%s/%s", data_dir, LINKSTORE_FILE);
  if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path, st->db != NULL ? sqlite3_errmsg(st->db) : "?");
    linkstore_close(st);
    return -EIO;
  }
  if (sqlite3_db_readonly(st->db, "main") == 1) { /* SQLite fell back to reading only */
    snprintf(err, errlen, "%s cannot be written (read-only file or data directory); the link store must write",
             path);
    linkstore_close(st);
    return -EROFS;
  }
  (void)chmod(path, 0600);
  sqlite3_busy_timeout(st->db, 1000);
  if (exec_sql(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                   "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
                   /* one row that linkstore_probe() changes */
                   "CREATE TABLE IF NOT EXISTS store_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);") != 0) {
    snprintf(err, errlen, "cannot prepare %s: %s", path, sqlite3_errmsg(st->db));
    linkstore_close(st);
    return -EIO;
  }
  stmt = prepare(st, "SELECT version FROM schema_version", "");
  if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version > NMIGRATIONS) {
    snprintf(err, errlen, "%s has schema version %d, newer than this authrelay (%d)", path, version,
             NMIGRATIONS);
    linkstore_close(st);
    return -EINVAL;
  }
  for (i = version; i < NMIGRATIONS; i++) {
    char bump[96];
    if (i == 0)
      snprintf(bump, sizeof bump, "INSERT INTO schema_version (version) VALUES (%d);", i + 1);
    else
      snprintf(bump, sizeof bump, "UPDATE schema_version SET version = %d;", i + 1);
    if (exec_sql(st, "BEGIN IMMEDIATE") != 0 || exec_sql(st, migrations[i]) != 0 ||
        exec_sql(st, bump) != 0 || exec_sql(st, "COMMIT") != 0) {
      (void)exec_sql(st, "ROLLBACK");
      snprintf(err, errlen, "%s: migration %d failed", path, i + 1);
      linkstore_close(st);
      return -EIO;
    }
    LOG_INFO("link store migrated", LOG_U64("schema_version", (uint64_t)(i + 1)));
  }
  st->schema_version = NMIGRATIONS;
  return 0;
}

int linkstore_probe(linkstore_t *st) {
  /* a row that really changes: SQLite writes nothing for an unchanged one */
  return run(st,
             prepare(st,
                     "INSERT INTO store_probe (id, n) VALUES (1, 1) "
                     "ON CONFLICT (id) DO UPDATE SET n = (n + 1) % 1000000",
                     ""),
             NULL);
}

void linkstore_close(linkstore_t *st) {
  if (st->db != NULL)
    sqlite3_close(st->db);
  st->db = NULL;
  OPENSSL_cleanse(st->key, sizeof st->key);
}

/* ---- registered users ---- */

#define USER_COLS "id, origin_user_id, origin_user_name, company_id, company_name, user_type, " \
                  "is_test, created_ms"

static void read_user(sqlite3_stmt *stmt, linkstore_user *u) {
  memset(u, 0, sizeof *u);
  col_text(stmt, 0, u->id, sizeof u->id);
  col_text(stmt, 1, u->origin_user_id, sizeof u->origin_user_id);
  col_text(stmt, 2, u->origin_user_name, sizeof u->origin_user_name);
  u->has_group = sqlite3_column_type(stmt, 3) != SQLITE_NULL;
  col_text(stmt, 3, u->company_id, sizeof u->company_id);
  col_text(stmt, 4, u->company_name, sizeof u->company_name);
  col_text(stmt, 5, u->user_type, sizeof u->user_type);
  u->is_test = sqlite3_column_int(stmt, 6);
  u->created_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
}

static void read_user_row(sqlite3_stmt *stmt, void *out) {
  read_user(stmt, out);
}

/* Runs a query expected to return at most one user. */
static int one_user(linkstore_t *st, sqlite3_stmt *stmt, linkstore_user *u) {
  return one_row(st, stmt, read_user_row, u, "user");
}

int linkstore_user_create(linkstore_t *st, linkstore_user *u, uint64_t now_ms) {
  int rc;
  if (crypto_uuid(u->id) != 0)
    return -EIO;
  u->created_ms = now_ms;
  rc = run(st,
           prepare(st,
                   "INSERT INTO registered_users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   "sssSSsii", u->id, u->origin_user_id, u->origin_user_name,
                   u->has_group ? u->company_id : NULL, u->has_group ? u->company_name : NULL,
                   u->user_type, (int64_t)u->is_test, (int64_t)now_ms),
           NULL);
  if (rc == -EEXIST && linkstore_user_by_origin(st, u->origin_user_id, u) != 0)
    return -EIO;
  return rc;
}

int linkstore_user_get(linkstore_t *st, const char *id, linkstore_user *u) {
  return one_user(st, prepare(st, "SELECT " USER_COLS " FROM registered_users WHERE id = ?", "s", id),
                  u);
}

int linkstore_user_by_origin(linkstore_t *st, const char *origin_user_id, linkstore_user *u) {
  return one_user(
      st, prepare(st, "SELECT " USER_COLS " FROM registered_users WHERE origin_user_id = ?", "s",
                  origin_user_id),
      u);
}

int linkstore_user_update(linkstore_t *st, const linkstore_user *u) {
  int changes = 0;
  int rc = run(st,
               prepare(st,
                       "UPDATE registered_users SET origin_user_name = ?, company_id = ?, "
                       "company_name = ?, user_type = ?, is_test = ? WHERE id = ?",
                       "sSSsis", u->origin_user_name, u->has_group ? u->company_id : NULL,
                       u->has_group ? u->company_name : NULL, u->user_type, (int64_t)u->is_test, u->id),
               &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int linkstore_user_delete(linkstore_t *st, const char *id) {
  linkstore_user u;
  int rc = linkstore_user_get(st, id, &u);
  if (rc != 0)
    return rc;
  if (tx_begin(st) != 0)
    return -EIO;
  rc = run(st, prepare(st, "DELETE FROM credentials WHERE user = ?", "s", u.origin_user_id), NULL);
  if (rc == 0)
    rc = run(st, prepare(st, "DELETE FROM links WHERE user = ?", "s", u.origin_user_id), NULL);
  if (rc == 0)
    rc = run(st, prepare(st, "DELETE FROM registered_users WHERE id = ?", "s", id), NULL);
  if (tx_end(st, rc == 0) != 0)
    return -EIO;
  return rc;
}

/* A caller's per-row callback and its context, one type per row kind. */
typedef struct user_call {
  int (*cb)(void *ctx, const linkstore_user *u);
  void *ctx;
} user_call;

static int user_row(void *ctx, sqlite3_stmt *stmt) {
  user_call *call = ctx;
  linkstore_user u;
  read_user(stmt, &u);
  return call->cb(call->ctx, &u);
}

int linkstore_user_list(linkstore_t *st, const char *origin_user_id, size_t offset, size_t limit,
                        int (*cb)(void *ctx, const linkstore_user *u), void *ctx, size_t *total) {
  user_call call = {cb, ctx};
  sqlite3_stmt *stmt;
  stmt = prepare(st, "SELECT COUNT(*) FROM registered_users WHERE ?1 IS NULL OR origin_user_id = ?1",
                 "S", origin_user_id);
  if (stmt == NULL)
    return -EIO;
  *total = sqlite3_step(stmt) == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  stmt = prepare(st,
                 "SELECT " USER_COLS " FROM registered_users WHERE ?1 IS NULL OR origin_user_id = ?1 "
                 "ORDER BY created_ms, id LIMIT ?2 OFFSET ?3",
                 "Sii", origin_user_id, (int64_t)limit, (int64_t)offset);
  return each_row(st, stmt, user_row, &call, "user list");
}

typedef struct text_call {
  int (*cb)(void *ctx, const char *text);
  void *ctx;
} text_call;

static int connector_row(void *ctx, sqlite3_stmt *stmt) {
  text_call *call = ctx;
  return call->cb(call->ctx, (const char *)sqlite3_column_text(stmt, 0));
}

int linkstore_user_connectors(linkstore_t *st, const char *origin_user_id,
                              int (*cb)(void *ctx, const char *slug), void *ctx) {
  text_call call = {cb, ctx};
  return each_row(st,
                  prepare(st, "SELECT connector FROM credentials WHERE user = ? ORDER BY connector", "s",
                          origin_user_id),
                  connector_row, &call, "connectors");
}

/* ---- application credentials ---- */

#define APP_COLS "id, connector_slug, client_id, client_secret IS NOT NULL, external_id, " \
                 "is_global_default, created_ms, modified_ms"

static void read_app(sqlite3_stmt *stmt, linkstore_app_credential *c) {
  memset(c, 0, sizeof *c);
  col_text(stmt, 0, c->id, sizeof c->id);
  col_text(stmt, 1, c->connector_slug, sizeof c->connector_slug);
  col_text(stmt, 2, c->client_id, sizeof c->client_id);
  c->has_secret = sqlite3_column_int(stmt, 3);
  c->has_external_id = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
  col_text(stmt, 4, c->external_id, sizeof c->external_id);
  c->is_global_default = sqlite3_column_int(stmt, 5);
  c->created_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
  c->modified_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
}

/* Seals secret for row id into out. */
static int seal_for(linkstore_t *st, const char *what, const char *id, const char *secret, size_t len,
                    dynbuf *out) {
  char aad[LINKSTORE_TEXT_MAX * 2 + 64];
  snprintf(aad, sizeof aad, "%s:%s", what, id);
  return secretbox_seal(st->key, aad, secret, len, out);
}

static int open_for(linkstore_t *st, const char *what, const char *id, const void *sealed, size_t len,
                    dynbuf *out) {
  char aad[LINKSTORE_TEXT_MAX * 2 + 64];
  snprintf(aad, sizeof aad, "%s:%s", what, id);
  return secretbox_open(st->key, aad, sealed, len, out);
}

int linkstore_app_create(linkstore_t *st, linkstore_app_credential *c, const char *secret,
                         uint64_t now_ms) {
  dynbuf sealed;
  int rc;
  if (crypto_uuid(c->id) != 0)
    return -EIO;
  c->created_ms = now_ms;
  c->modified_ms = now_ms;
  c->has_secret = secret != NULL;
  dynbuf_init(&sealed, 4096);
  if (secret != NULL && seal_for(st, "app_credential", c->id, secret, strlen(secret), &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  if (tx_begin(st) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  rc = 0;
  if (c->is_global_default)
    rc = run(st,
             prepare(st, "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = ?", "s",
                     c->connector_slug),
             NULL);
  if (rc == 0)
    rc = run(st,
             prepare(st,
                     "INSERT INTO app_credentials (id, connector_slug, client_id, client_secret, "
                     "external_id, is_global_default, created_ms, modified_ms) VALUES (?,?,?,?,?,?,?,?)",
                     "sssbSiii", c->id, c->connector_slug, c->client_id,
                     secret != NULL ? (const void *)(sealed.ptr != NULL ? sealed.ptr : "") : NULL,
                     sealed.len, c->has_external_id ? c->external_id : NULL,
                     (int64_t)c->is_global_default, (int64_t)now_ms, (int64_t)now_ms),
             NULL);
  dynbuf_free(&sealed);
  if (tx_end(st, rc == 0) != 0)
    return -EIO;
  return rc;
}

static void read_app_row(sqlite3_stmt *stmt, void *out) {
  read_app(stmt, out);
}

int linkstore_app_get(linkstore_t *st, const char *id, linkstore_app_credential *c) {
  return one_row(st, prepare(st, "SELECT " APP_COLS " FROM app_credentials WHERE id = ?", "s", id), read_app_row,
                 c, "app get");
}

int linkstore_app_update(linkstore_t *st, linkstore_app_credential *c, int set_secret,
                         const char *secret, uint64_t now_ms) {
  dynbuf sealed;
  int changes = 0;
  int rc = 0;
  dynbuf_init(&sealed, 4096);
  if (set_secret && secret != NULL &&
      seal_for(st, "app_credential", c->id, secret, strlen(secret), &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  if (tx_begin(st) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  if (c->is_global_default)
    rc = run(st,
             prepare(st,
                     "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = ? AND id != ?",
                     "ss", c->connector_slug, c->id),
             NULL);
  if (rc == 0)
    rc = run(st,
             prepare(st,
                     "UPDATE app_credentials SET client_id = ?, external_id = ?, is_global_default = ?, "
                     "modified_ms = ? WHERE id = ?",
                     "sSiis", c->client_id, c->has_external_id ? c->external_id : NULL,
                     (int64_t)c->is_global_default, (int64_t)now_ms, c->id),
             &changes);
  if (rc == 0 && changes == 0)
    rc = -ENOENT;
  if (rc == 0 && set_secret)
    rc = run(st,
             prepare(st, "UPDATE app_credentials SET client_secret = ? WHERE id = ?", "bs",
                     secret != NULL ? (const void *)(sealed.ptr != NULL ? sealed.ptr : "") : NULL,
                     sealed.len, c->id),
             NULL);
  dynbuf_free(&sealed);
  if (tx_end(st, rc == 0) != 0)
    return -EIO;
  if (rc == 0) {
    c->modified_ms = now_ms;
    if (set_secret)
      c->has_secret = secret != NULL;
  }
  return rc;
}

int linkstore_app_delete(linkstore_t *st, const char *id) {
  int changes = 0;
  int rc = run(st, prepare(st, "DELETE FROM app_credentials WHERE id = ?", "s", id), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

typedef struct app_call {
  int (*cb)(void *ctx, const linkstore_app_credential *c);
  void *ctx;
} app_call;

static int app_row(void *ctx, sqlite3_stmt *stmt) {
  app_call *call = ctx;
  linkstore_app_credential c;
  read_app(stmt, &c);
  return call->cb(call->ctx, &c);
}

int linkstore_app_list(linkstore_t *st, const char *connector_slug,
                       int (*cb)(void *ctx, const linkstore_app_credential *c), void *ctx) {
  app_call call = {cb, ctx};
  return each_row(st,
                  prepare(st,
                          "SELECT " APP_COLS " FROM app_credentials WHERE ?1 IS NULL OR "
                          "connector_slug = ?1 ORDER BY created_ms, id",
                          "S", connector_slug),
                  app_row, &call, "app list");
}

int linkstore_app_for(linkstore_t *st, const char *connector_slug, const char *external_id,
                      linkstore_app_credential *c, dynbuf *secret) {
  sqlite3_stmt *stmt;
  int rc;
  if (external_id != NULL && external_id[0] != '\0')
    stmt = prepare(st,
                   "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = ? "
                   "AND external_id = ?",
                   "ss", connector_slug, external_id);
  else
    stmt = prepare(st,
                   "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = ? "
                   "ORDER BY is_global_default DESC, external_id IS NULL DESC, created_ms LIMIT 1",
                   "s", connector_slug);
  if (stmt == NULL)
    return -EIO;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    read_app(stmt, c);
    if (c->has_secret && secret != NULL &&
        open_for(st, "app_credential", c->id, sqlite3_column_blob(stmt, 8),
                 (size_t)sqlite3_column_bytes(stmt, 8), secret) != 0) {
      sqlite3_finalize(stmt);
      LOG_ERROR("link store: a client secret does not open with this secret key",
                LOG_STR("application_credential", c->id));
      return -EIO;
    }
  }
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW)
    return 0;
  return rc == SQLITE_DONE ? -ENOENT : db_error(st, "app for");
}

/* ---- connected credentials ---- */

int linkstore_credential_put(linkstore_t *st, const char *user, const char *connector,
                             const char *kind, const char *secret, size_t len, uint64_t now_ms) {
  char row[LINKSTORE_TEXT_MAX * 2 + 8];
  dynbuf sealed;
  int rc;
  snprintf(row, sizeof row, "%s/%s", user, connector);
  dynbuf_init(&sealed, len + SECRETBOX_OVERHEAD + 1);
  if (seal_for(st, "credential", row, secret, len, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  rc = run(st,
           prepare(st,
                   "INSERT OR REPLACE INTO credentials (user, connector, kind, secret, created_ms) "
                   "VALUES (?, ?, ?, ?, ?)",
                   "sssbi", user, connector, kind, (const void *)sealed.ptr, sealed.len, (int64_t)now_ms),
           NULL);
  dynbuf_free(&sealed);
  return rc;
}

int linkstore_credential_get(linkstore_t *st, const char *user, const char *connector, dynbuf *out) {
  char row[LINKSTORE_TEXT_MAX * 2 + 8];
  sqlite3_stmt *stmt = prepare(st, "SELECT secret FROM credentials WHERE user = ? AND connector = ?",
                               "ss", user, connector);
  int rc;
  if (stmt == NULL)
    return -EIO;
  snprintf(row, sizeof row, "%s/%s", user, connector);
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    rc = open_for(st, "credential", row, sqlite3_column_blob(stmt, 0),
                  (size_t)sqlite3_column_bytes(stmt, 0), out) == 0 ? 0 : -EIO;
  else
    rc = rc == SQLITE_DONE ? -ENOENT : db_error(st, "credential");
  sqlite3_finalize(stmt);
  return rc;
}

/* ---- links ---- */

int linkstore_link_put(linkstore_t *st, const linkstore_link *l) {
  return run(st,
             prepare(st,
                     "INSERT OR REPLACE INTO links (token, user, connector, callback_url, state, status, "
                     "pinned, created_ms, expires_ms, ended_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     "sssssiiiii", l->token, l->user, l->connector, l->callback_url, l->state,
                     (int64_t)l->status, (int64_t)l->pinned, (int64_t)l->created_ms,
                     (int64_t)l->expires_ms, (int64_t)l->ended_ms),
             NULL);
}

int linkstore_link_end(linkstore_t *st, const char *token, int status, uint64_t ended_ms) {
  return run(st,
             prepare(st, "UPDATE links SET status = ?, ended_ms = ? WHERE token = ?", "iis",
                     (int64_t)status, (int64_t)ended_ms, token),
             NULL);
}

#define LINK_COLUMNS \
  "token, user, connector, callback_url, state, status, pinned, created_ms, expires_ms, ended_ms"

/* one_row reader of a LINK_COLUMNS row into a linkstore_link. */
static void read_link(sqlite3_stmt *stmt, void *out) {
  linkstore_link *l = out;
  memset(l, 0, sizeof *l);
  col_text(stmt, 0, l->token, sizeof l->token);
  col_text(stmt, 1, l->user, sizeof l->user);
  col_text(stmt, 2, l->connector, sizeof l->connector);
  col_text(stmt, 3, l->callback_url, sizeof l->callback_url);
  col_text(stmt, 4, l->state, sizeof l->state);
  l->status = sqlite3_column_int(stmt, 5);
  l->pinned = sqlite3_column_int(stmt, 6);
  l->created_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
  l->expires_ms = (uint64_t)sqlite3_column_int64(stmt, 8);
  l->ended_ms = (uint64_t)sqlite3_column_int64(stmt, 9);
}

int linkstore_link_get(linkstore_t *st, const char *token, linkstore_link *l) {
  return one_row(st, prepare(st, "SELECT " LINK_COLUMNS " FROM links WHERE token = ?", "s", token), read_link, l,
                 "link");
}

int linkstore_link_each(linkstore_t *st, uint64_t since_ms,
                        int (*cb)(void *ctx, const linkstore_link *l), void *ctx) {
  sqlite3_stmt *stmt = prepare(st, "SELECT " LINK_COLUMNS " FROM links WHERE created_ms >= ? ORDER BY created_ms",
                               "i", (int64_t)since_ms);
  linkstore_link l;
  int rc;
  if (stmt == NULL)
    return -EIO;
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    read_link(stmt, &l);
    if (cb(ctx, &l) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "links");
}

int linkstore_link_prune(linkstore_t *st, uint64_t before_ms) {
  int rc = run(st,
               prepare(st, "DELETE FROM links WHERE ended_ms > 0 AND ended_ms < ?", "i", (int64_t)before_ms),
               NULL);
  if (rc == 0)
    rc = run(st,
             prepare(st, "DELETE FROM link_app_choice WHERE token NOT IN (SELECT token FROM links)", ""),
             NULL);
  return rc;
}

int linkstore_link_set_external_id(linkstore_t *st, const char *token, const char *external_id) {
  return run(st,
             prepare(st, "INSERT OR REPLACE INTO link_app_choice (token, external_id) VALUES (?, ?)", "ss",
                     token, external_id),
             NULL);
}

int linkstore_link_external_id(linkstore_t *st, const char *token, char *out, size_t cap) {
  text_out t = {out, cap};
  return one_row(st, prepare(st, "SELECT external_id FROM link_app_choice WHERE token = ?", "s", token),
                 read_text, &t, "link external_id");
}

/* ---- callback origins ---- */

int linkstore_origin_add(linkstore_t *st, const char *origin, uint64_t now_ms) {
  return run(st,
             prepare(st, "INSERT INTO callback_origins (origin, created_ms) VALUES (?, ?)", "si", origin,
                     (int64_t)now_ms),
             NULL);
}

int linkstore_origin_delete(linkstore_t *st, const char *origin) {
  int changes = 0;
  int rc = run(st, prepare(st, "DELETE FROM callback_origins WHERE origin = ?", "s", origin), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int linkstore_origin_allowed(linkstore_t *st, const char *origin) {
  return one_row(st, prepare(st, "SELECT 1 FROM callback_origins WHERE origin = ?", "s", origin), NULL, NULL,
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

int linkstore_origin_list(linkstore_t *st, int (*cb)(void *ctx, const char *origin, uint64_t created_ms),
                          void *ctx) {
  origin_call call = {cb, ctx};
  return each_row(st, prepare(st, "SELECT origin, created_ms FROM callback_origins ORDER BY origin", ""),
                  origin_row, &call, "origins");
}

/* ---- OAuth applications ---- */

int linkstore_oauth_app_create(linkstore_t *st, linkstore_oauth_app *a, const char *secret_hash,
                               uint64_t now_ms) {
  if (crypto_uuid(a->id) != 0 || crypto_uuid(a->client_id) != 0)
    return -EIO;
  a->created_ms = now_ms;
  return run(st,
             prepare(st,
                     "INSERT INTO oauth_apps (id, name, description, redirect_uri, scopes, client_id, "
                     "secret_hash, created_ms) VALUES (?,?,?,?,?,?,?,?)",
                     "sssssssi", a->id, a->name, a->description, a->redirect_uri, a->scopes, a->client_id,
                     secret_hash, (int64_t)now_ms),
             NULL);
}

static void read_oauth_app(sqlite3_stmt *stmt, linkstore_oauth_app *a) {
  memset(a, 0, sizeof *a);
  col_text(stmt, 0, a->id, sizeof a->id);
  col_text(stmt, 1, a->name, sizeof a->name);
  col_text(stmt, 2, a->description, sizeof a->description);
  col_text(stmt, 3, a->redirect_uri, sizeof a->redirect_uri);
  col_text(stmt, 4, a->scopes, sizeof a->scopes);
  col_text(stmt, 5, a->client_id, sizeof a->client_id);
  a->created_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
}

#define OAUTH_APP_COLS "id, name, description, redirect_uri, scopes, client_id, created_ms"

typedef struct oauth_app_call {
  int (*cb)(void *ctx, const linkstore_oauth_app *a);
  void *ctx;
} oauth_app_call;

static int oauth_app_row(void *ctx, sqlite3_stmt *stmt) {
  oauth_app_call *call = ctx;
  linkstore_oauth_app a;
  read_oauth_app(stmt, &a);
  return call->cb(call->ctx, &a);
}

int linkstore_oauth_app_list(linkstore_t *st, int (*cb)(void *ctx, const linkstore_oauth_app *a),
                             void *ctx) {
  oauth_app_call call = {cb, ctx};
  return each_row(st, prepare(st, "SELECT " OAUTH_APP_COLS " FROM oauth_apps ORDER BY created_ms", ""),
                  oauth_app_row, &call, "oauth apps");
}

int linkstore_oauth_app_delete(linkstore_t *st, const char *id) {
  int changes = 0;
  int rc = run(st, prepare(st, "DELETE FROM oauth_apps WHERE id = ?", "s", id), &changes);
  return rc == 0 && changes == 0 ? -ENOENT : rc;
}

int linkstore_oauth_app_check(linkstore_t *st, const char *client_id, const char *secret_hash,
                              linkstore_oauth_app *a) {
  sqlite3_stmt *stmt = prepare(st,
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
    return db_error(st, "oauth check");
  return ok ? 0 : -ENOENT;
}

int linkstore_oauth_token_put(linkstore_t *st, const char *token_hash, const char *app_id,
                              const char *scopes, uint64_t expires_ms) {
  (void)run(st, prepare(st, "DELETE FROM oauth_tokens WHERE expires_ms < ?", "i", (int64_t)expires_ms - 7200000), NULL);
  return run(st,
             prepare(st, "INSERT INTO oauth_tokens (token_hash, app_id, scopes, expires_ms) VALUES (?,?,?,?)",
                     "sssi", token_hash, app_id, scopes, (int64_t)expires_ms),
             NULL);
}

int linkstore_oauth_token_get(linkstore_t *st, const char *token_hash, uint64_t now_ms, char *scopes,
                              size_t cap) {
  text_out t = {scopes, cap};
  return one_row(st,
                 prepare(st, "SELECT scopes FROM oauth_tokens WHERE token_hash = ? AND expires_ms > ?", "si",
                         token_hash, (int64_t)now_ms),
                 read_text, &t, "oauth token");
}

int linkstore_oauth_token_client(linkstore_t *st, const char *token_hash, char *client_id, size_t cap) {
  text_out t = {client_id, cap};
  return one_row(st,
                 prepare(st,
                         "SELECT a.client_id FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id "
                         "WHERE t.token_hash = ?",
                         "s", token_hash),
                 read_text, &t, "oauth token client");
}

/* ---- events and the webhook outbox ---- */

int linkstore_event_add(linkstore_t *st, const char *id, const char *type, const char *user,
                        const char *body, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                        uint64_t *seq) {
  size_t i;
  int rc;
  if (tx_begin(st) != 0)
    return -EIO;
  rc = run(st,
           prepare(st, "INSERT INTO events (id, type, user, body, created_ms) VALUES (?, ?, ?, ?, ?)", "ssssi",
                   id, type, user, body, (int64_t)now_ms),
           NULL);
  *seq = (uint64_t)sqlite3_last_insert_rowid(st->db);
  for (i = 0; i < nhooks && rc == 0; i++)
    rc = run(st,
             prepare(st, "INSERT INTO deliveries (seq, hook, attempts, next_ms) VALUES (?, ?, 0, ?)", "isi",
                     (int64_t)*seq, hooks[i], (int64_t)now_ms),
             NULL);
  if (tx_end(st, rc == 0) != 0)
    return -EIO;
  return rc;
}

int linkstore_event_seq(linkstore_t *st, const char *id, uint64_t *seq) {
  return one_row(st, prepare(st, "SELECT seq FROM events WHERE id = ?", "s", id), read_u64, seq, "event seq");
}

int linkstore_events_after(linkstore_t *st, uint64_t after_seq, const char *user, size_t limit,
                           int (*cb)(void *ctx, const linkstore_event *e), void *ctx) {
  sqlite3_stmt *stmt = prepare(st,
                               "SELECT seq, id, type, user, body FROM events WHERE seq > ?1 AND "
                               "(?2 IS NULL OR user = ?2) ORDER BY seq LIMIT ?3",
                               "iSi", (int64_t)after_seq, user, (int64_t)limit);
  linkstore_event e;
  int rc;
  if (stmt == NULL)
    return -EIO;
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    e.seq = (uint64_t)sqlite3_column_int64(stmt, 0);
    e.id = (const char *)sqlite3_column_text(stmt, 1);
    e.type = (const char *)sqlite3_column_text(stmt, 2);
    e.user = (const char *)sqlite3_column_text(stmt, 3);
    e.body = (const char *)sqlite3_column_text(stmt, 4);
    e.hook = NULL;
    e.attempts = 0;
    if (cb(ctx, &e) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "events");
}

int linkstore_deliveries_due(linkstore_t *st, uint64_t now_ms, uint64_t lease_until_ms, size_t limit,
                             int (*cb)(void *ctx, const linkstore_event *e), void *ctx) {
  sqlite3_stmt *stmt;
  linkstore_event e;
  int rc;
  if (tx_begin(st) != 0)
    return -EIO;
  stmt = prepare(st,
                 "SELECT d.seq, e.id, e.type, e.user, e.body, d.hook, d.attempts FROM deliveries d "
                 "JOIN events e ON e.seq = d.seq WHERE d.next_ms <= ? ORDER BY d.next_ms, d.seq LIMIT ?",
                 "ii", (int64_t)now_ms, (int64_t)limit);
  if (stmt == NULL) {
    (void)tx_end(st, 0);
    return -EIO;
  }
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    e.seq = (uint64_t)sqlite3_column_int64(stmt, 0);
    e.id = (const char *)sqlite3_column_text(stmt, 1);
    e.type = (const char *)sqlite3_column_text(stmt, 2);
    e.user = (const char *)sqlite3_column_text(stmt, 3);
    e.body = (const char *)sqlite3_column_text(stmt, 4);
    e.hook = (const char *)sqlite3_column_text(stmt, 5);
    e.attempts = (unsigned)sqlite3_column_int(stmt, 6);
    /* leased: not due again while this attempt is in flight */
    (void)run(st,
              prepare(st, "UPDATE deliveries SET next_ms = ? WHERE seq = ? AND hook = ?", "iis",
                      (int64_t)lease_until_ms, (int64_t)e.seq, e.hook),
              NULL);
    if (cb(ctx, &e) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  if (tx_end(st, 1) != 0)
    return -EIO;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, "deliveries");
}

int linkstore_delivery_done(linkstore_t *st, uint64_t seq, const char *hook) {
  return run(st, prepare(st, "DELETE FROM deliveries WHERE seq = ? AND hook = ?", "is", (int64_t)seq, hook),
             NULL);
}

int linkstore_delivery_retry(linkstore_t *st, uint64_t seq, const char *hook, unsigned attempts,
                             uint64_t next_ms) {
  return run(st,
             prepare(st, "UPDATE deliveries SET attempts = ?, next_ms = ? WHERE seq = ? AND hook = ?", "iiis",
                     (int64_t)attempts, (int64_t)next_ms, (int64_t)seq, hook),
             NULL);
}

int linkstore_deliveries_keep_hooks(linkstore_t *st, const char *const *hooks, size_t nhooks, size_t *dropped) {
  int rc;
  size_t i;
  *dropped = 0;
  /* The kept urls go into a temporary table; every other hook's deliveries go. */
  rc = exec_sql(st, "CREATE TEMP TABLE IF NOT EXISTS kept_hooks (hook TEXT PRIMARY KEY); DELETE FROM kept_hooks;");
  for (i = 0; i < nhooks && rc == 0; i++)
    rc = run(st, prepare(st, "INSERT OR IGNORE INTO kept_hooks (hook) VALUES (?)", "s", hooks[i]), NULL);
  if (rc == 0) {
    int changes = 0;
    rc = run(st, prepare(st, "DELETE FROM deliveries WHERE hook NOT IN (SELECT hook FROM kept_hooks)", ""),
             &changes);
    *dropped = (size_t)changes;
  }
  return rc;
}

int linkstore_deliveries_pending(linkstore_t *st, size_t *count) {
  sqlite3_stmt *stmt = prepare(st, "SELECT COUNT(*) FROM deliveries", "");
  if (stmt == NULL)
    return -EIO;
  *count = sqlite3_step(stmt) == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  return 0;
}

int linkstore_events_prune(linkstore_t *st, uint64_t before_ms) {
  return run(st,
             prepare(st,
                     "DELETE FROM events WHERE created_ms < ? AND seq NOT IN (SELECT seq FROM deliveries)", "i",
                     (int64_t)before_ms),
             NULL);
}
