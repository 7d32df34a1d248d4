/* sqldb: the SQLite store's synchronous core: open, migrations,
 * transactions and the statement helpers. See sqldb.h; the tables' calls
 * are in sqldb_users.c and sqldb_links.c. */
#include "sqldb_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

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
    /* 3: connections: a credential's state beside its secret */
    "ALTER TABLE credentials ADD COLUMN broken INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE credentials ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE credentials ADD COLUMN modified_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE credentials ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;" /* 0: unknown */
    "UPDATE credentials SET modified_ms = created_ms;",
    /* 4: a credential's refresh lease: one refresh at a time across
     * processes (store.h credential_lease); 0: none */
    "ALTER TABLE credentials ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int sqldb_error(sqldb_t *q, const char *what) {
  LOG_ERROR("link store", LOG_STR("op", what), LOG_STR("error", sqlite3_errmsg(q->db)));
  return -EIO;
}

int sqldb_exec(sqldb_t *q, const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);
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
static int write_failed(sqldb_t *q, const char *what) {
  snprintf(q->health->write_error, sizeof q->health->write_error, "%s", sqlite3_errmsg(q->db));
  LOG_ERROR("link store write failed, rolled back", LOG_STR("op", what), LOG_STR("error", q->health->write_error));
  q->health->write_errors++;
  q->health->cannot_write = 1;
  if (q->depth == 0 && !sqlite3_get_autocommit(q->db))
    (void)sqldb_exec(q, "ROLLBACK");
  return -EIO;
}

/* A write committed: the store can write (again). */
static void write_committed(sqldb_t *q) {
  if (q->health->cannot_write)
    LOG_INFO("link store writes again");
  q->health->cannot_write = 0;
}

/* Transactions nest (SAVEPOINT): a caller may group several store calls,
 * each of which is a transaction of its own otherwise. (An outermost
 * SAVEPOINT is a deferred transaction: this connection is the database's
 * only writer, the control loop, so no lock upgrade can fail.) */
int sqldb_tx_begin(sqldb_t *q) {
  if (sqldb_exec(q, "SAVEPOINT linkstore") != 0)
    return -EIO;
  if (q->depth++ == 0)
    q->changes_at_begin = sqlite3_total_changes(q->db);
  return 0;
}

/* Ends what sqldb_tx_begin() began: kept when ok, undone otherwise. The
 * outermost end commits; when that fails, all of it is rolled back. */
int sqldb_tx_end(sqldb_t *q, int ok) {
  int rc;
  if (q->depth > 0)
    q->depth--;
  if (!ok)
    (void)sqldb_exec(q, "ROLLBACK TO linkstore");
  rc = sqldb_exec(q, "RELEASE linkstore");
  if (q->depth > 0)
    return rc;
  if (rc != 0 && ok)
    return write_failed(q, "commit");
  if (!sqlite3_get_autocommit(q->db))
    (void)sqldb_exec(q, "ROLLBACK");
  if (rc == 0 && ok && sqlite3_total_changes(q->db) != q->changes_at_begin)
    write_committed(q);
  return rc;
}

int sqldb_begin(sqldb_t *q) {
  return sqldb_tx_begin(q);
}

int sqldb_commit(sqldb_t *q) {
  return sqldb_tx_end(q, 1);
}

/* Prepares sql and binds the arguments described by types, one letter each:
 * 's' const char * (NULL or "" for 'S': SQL NULL), 'S' text or NULL when
 * empty, 'i' int64_t, 'b' blob (const void *, size_t). */
sqlite3_stmt *sqldb_prepare(sqldb_t *q, const char *sql, const char *types, ...) {
  sqlite3_stmt *stmt = NULL;
  va_list ap;
  int i;
  if (sqlite3_prepare_v2(q->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
    sqldb_error(q, "prepare");
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
      sqldb_error(q, "bind");
      return NULL;
    }
  }
  va_end(ap);
  return stmt;
}

/* Steps a statement that returns no rows (a write). Returns 0, -EEXIST
 * (constraint) or -EIO (write_failed()); finalizes it. *changes: rows
 * changed (may be NULL). */
int sqldb_run(sqldb_t *q, sqlite3_stmt *stmt, int *changes) {
  int rc;
  int n;
  if (stmt == NULL)
    return write_failed(q, "prepare");
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_CONSTRAINT)
    return -EEXIST;
  if (rc != SQLITE_DONE)
    return write_failed(q, "step");
  n = sqlite3_changes(q->db);
  if (changes != NULL)
    *changes = n;
  if (n > 0 && q->depth == 0)
    write_committed(q); /* its own transaction, committed */
  return 0;
}

void sqldb_col_text(sqlite3_stmt *stmt, int col, char *out, size_t cap) {
  const unsigned char *t = sqlite3_column_text(stmt, col);
  size_t n = t != NULL ? strlen((const char *)t) : 0;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, t != NULL ? (const char *)t : "", n);
  out[n] = '\0';
}

/* Steps stmt to its end, calling row(ctx, stmt) for each row until it
 * returns non-zero; finalizes it. Returns 0 or -EIO (logged as what). */
int sqldb_each_row(sqldb_t *q, sqlite3_stmt *stmt, int (*row)(void *ctx, sqlite3_stmt *stmt), void *ctx,
                    const char *what) {
  int rc;
  if (stmt == NULL)
    return -EIO;
  for (rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    if (row(ctx, stmt) != 0)
      break;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqldb_error(q, what);
}

/* Steps stmt once and finalizes it: 0 when there was a row (read, when not
 * NULL, copied it into out), -ENOENT when there was none, -EIO (logged as
 * what). */
int sqldb_one_row(sqldb_t *q, sqlite3_stmt *stmt, void (*read)(sqlite3_stmt *stmt, void *out), void *out,
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
  return rc == SQLITE_DONE ? -ENOENT : sqldb_error(q, what);
}

/* sqldb_one_row readers of a first column (sqldb_int.h). */
void sqldb_read_text(sqlite3_stmt *stmt, void *out) {
  sqldb_text_out *t = out;
  sqldb_col_text(stmt, 0, t->p, t->cap);
}

void sqldb_read_u64(sqlite3_stmt *stmt, void *out) {
  *(uint64_t *)out = (uint64_t)sqlite3_column_int64(stmt, 0);
}

int sqldb_open(sqldb_t *q, const char *path, store_health *health, char *err, size_t errlen) {
  sqlite3_stmt *stmt;
  int version = 0;
  int i;
  memset(q, 0, sizeof *q);
  q->health = health;
  if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path, q->db != NULL ? sqlite3_errmsg(q->db) : "?");
    sqldb_close(q);
    return -EIO;
  }
  if (sqlite3_db_readonly(q->db, "main") == 1) { /* SQLite fell back to reading only */
    snprintf(err, errlen, "%s cannot be written (read-only file or data directory); the link store must write",
             path);
    sqldb_close(q);
    return -EROFS;
  }
  (void)chmod(path, 0600);
  sqlite3_busy_timeout(q->db, 1000);
  if (sqldb_exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                   "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
                   /* one row that sqldb_probe() changes */
                   "CREATE TABLE IF NOT EXISTS store_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);") != 0) {
    snprintf(err, errlen, "cannot prepare %s: %s", path, sqlite3_errmsg(q->db));
    sqldb_close(q);
    return -EIO;
  }
  stmt = sqldb_prepare(q, "SELECT version FROM schema_version", "");
  if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
    version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version > NMIGRATIONS) {
    snprintf(err, errlen, "%s has schema version %d, newer than this authrelay (%d)", path, version,
             NMIGRATIONS);
    sqldb_close(q);
    return -EINVAL;
  }
  for (i = version; i < NMIGRATIONS; i++) {
    char bump[96];
    if (i == 0)
      snprintf(bump, sizeof bump, "INSERT INTO schema_version (version) VALUES (%d);", i + 1);
    else
      snprintf(bump, sizeof bump, "UPDATE schema_version SET version = %d;", i + 1);
    if (sqldb_exec(q, "BEGIN IMMEDIATE") != 0 || sqldb_exec(q, migrations[i]) != 0 ||
        sqldb_exec(q, bump) != 0 || sqldb_exec(q, "COMMIT") != 0) {
      (void)sqldb_exec(q, "ROLLBACK");
      snprintf(err, errlen, "%s: migration %d failed", path, i + 1);
      sqldb_close(q);
      return -EIO;
    }
    LOG_INFO("link store migrated", LOG_U64("schema_version", (uint64_t)(i + 1)));
  }
  q->schema_version = NMIGRATIONS;
  return 0;
}

int sqldb_probe(sqldb_t *q) {
  /* a row that really changes: SQLite writes nothing for an unchanged one */
  return sqldb_run(q,
             sqldb_prepare(q,
                     "INSERT INTO store_probe (id, n) VALUES (1, 1) "
                     "ON CONFLICT (id) DO UPDATE SET n = (n + 1) % 1000000",
                     ""),
             NULL);
}

void sqldb_close(sqldb_t *q) {
  if (q->db != NULL)
    sqlite3_close(q->db);
  q->db = NULL;
}
