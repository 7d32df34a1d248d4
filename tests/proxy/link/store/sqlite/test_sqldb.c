/* test_sqldb: the SQLite store's synchronous core (proxy/link/store/sqlite/
 * sqldb.c), on disk (sqldb_test.h). test_sqldb_users.c and
 * test_sqldb_links.c test its tables; test_store covers the asynchronous
 * operations store_sqlite.c runs these calls from.
 *
 * Covers: open creates authrelay.db in WAL mode and migrates it to schema
 * version 1, reopening is idempotent and keeps the data, a newer schema is
 * refused; failed writes on a full file system (RLIMIT_FSIZE, so every
 * write to a file fails with EFBIG): a failed commit of a grouped
 * transaction rolls all of it back and leaves no transaction open, so the
 * writes after it are not swallowed by one that never commits; each failure
 * is counted and marks the store as unable to write until a write (or
 * sqldb_probe) commits again, and only what was acknowledged is there after
 * reopening.
 */
#include "sqldb_test.h"

static void open_and_migrate(void) {
  struct stat sb;
  store_user u;
  caller_t zero;
  sqlite3_stmt *stmt = NULL;
  char mode[16] = "";

  CHECK(stat(dbpath, &sb) != 0); /* not there before */
  err[0] = '\0';
  CHECK(t_open(&st, dir, key, err, sizeof err) == 0);
  CHECK(st.q.db != NULL);
  CHECK(stat(dbpath, &sb) == 0 && S_ISREG(sb.st_mode));
  CHECK(st.q.schema_version == 4);
  CHECK(query_int("SELECT version FROM schema_version") == 4);
  CHECK(query_int("SELECT COUNT(*) FROM schema_version") == 1);
  CHECK(query_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                  "('registered_users', 'app_credentials', 'credentials', 'links', "
                  "'callback_origins', 'oauth_apps', 'oauth_tokens', 'events', 'deliveries')") == 9);
  if (sqlite3_prepare_v2(st.q.db, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  CHECK(strcmp(mode, "wal") == 0);
  u = new_user("persisted-user", "P");
  CHECK(t_user_create(&st, &u, T0) == 0);
  t_close(&st);
  CHECK(st.q.db == NULL);
  t_close(&st); /* twice: harmless */

  /* reopening migrates nothing and keeps the rows */
  CHECK(t_open(&st, dir, key, err, sizeof err) == 0);
  CHECK(st.q.schema_version == 4);
  CHECK(query_int("SELECT version FROM schema_version") == 4);
  CHECK(query_int("SELECT COUNT(*) FROM schema_version") == 1);
  CHECK(sqldb_user_by_origin(&st.q, "persisted-user", &u) == 0);
  CHECK(sqldb_user_delete(&st.q, u.id) == 0);

  /* a database from a newer authrelay is refused */
  CHECK(exec("UPDATE schema_version SET version = 99") == 0);
  t_close(&st);
  err[0] = '\0';
  CHECK(t_open(&st, dir, key, err, sizeof err) == -EINVAL);
  CHECK(strstr(err, "99") != NULL);
  CHECK(st.q.db == NULL);
  /* make it a version-1 database (the file is the test's): opening
   * applies migrations 2 to 4 and keeps the rows of version 1 (a
   * credential gets its state: active, version 1, modified when created) */
  {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "DROP TABLE deliveries; DROP TABLE events; UPDATE schema_version SET version = 1;"
                       "INSERT INTO callback_origins (origin, created_ms) VALUES ('https://v1.example.com', 1);"
                       "DROP TABLE credentials; CREATE TABLE credentials (user TEXT NOT NULL, connector TEXT "
                       "NOT NULL, kind TEXT NOT NULL, secret BLOB NOT NULL, created_ms INTEGER NOT NULL, "
                       "PRIMARY KEY (user, connector));"
                       "INSERT INTO credentials VALUES ('v1-user', 'github', 'oauth2', x'00', 77)",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
  }
  CHECK(t_open(&st, dir, key, err, sizeof err) == 0 && st.q.schema_version == 4);
  CHECK(query_int("SELECT version FROM schema_version") == 4);
  CHECK(query_int("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('events', 'deliveries')") == 2);
  CHECK(sqldb_origin_allowed(&st.q, "https://v1.example.com") == 0);
  CHECK(query_int("SELECT COUNT(*) FROM credentials WHERE user = 'v1-user' AND broken = 0 AND version = 1 AND "
                  "modified_ms = 77 AND expires_ms = 0") == 1);
  CHECK(exec("DELETE FROM credentials WHERE user = 'v1-user'") == 0);
  CHECK(sqldb_origin_delete(&st.q, "https://v1.example.com") == 0); /* the later tests start clean */
  t_close(&st);

  /* a data dir that does not exist */
  {
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    err[0] = '\0';
    CHECK(t_open(&st, missing, key, err, sizeof err) < 0);
    CHECK(err[0] != '\0' && st.q.db == NULL);
  }
  memset(&zero, 0, sizeof zero);
  t_close(&zero); /* a zeroed store: harmless */
  CHECK(zero.q.db == NULL);
}

static void failed_writes(void) {
  store_link l1 = a_link("ltk_batch_lost");
  store_link l2 = a_link("ltk_after");
  store_user u;
  signal(SIGXFSZ, SIG_IGN);
  open_store();
  CHECK(st.health.cannot_write == 0 && st.health.write_errors == 0);
  CHECK(sqldb_probe(&st.q) == 0);
  /* a grouped transaction (the journal's) whose commit fails */
  disk_full(1);
  CHECK(sqldb_begin(&st.q) == 0);
  CHECK(sqldb_link_put(&st.q, &l1) == 0); /* in the page cache only */
  CHECK(sqldb_commit(&st.q) == -EIO);
  CHECK(sqlite3_get_autocommit(st.q.db) != 0); /* rolled back: nothing left open */
  CHECK(st.q.depth == 0);
  CHECK(st.health.cannot_write == 1 && st.health.write_errors == 1);
  CHECK(st.health.write_error[0] != '\0');
  /* a write of its own fails too, and says so */
  memset(&u, 0, sizeof u);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "user_fw");
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "FW");
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  CHECK(t_user_create(&st, &u, T0) == -EIO);
  CHECK(sqlite3_get_autocommit(st.q.db) != 0);
  CHECK(sqldb_origin_add(&st.q, "https://lost.example.com", T0) == -EIO);
  CHECK(sqldb_probe(&st.q) == -EIO);
  CHECK(st.health.cannot_write == 1 && st.health.write_errors == 4);
  /* reads still work; a write that changes nothing does not count as one
   * that committed */
  CHECK(sqldb_origin_allowed(&st.q, "https://lost.example.com") == -ENOENT);
  /* space is back: the next write commits and the mark goes */
  disk_full(0);
  CHECK(sqldb_origin_delete(&st.q, "https://never.example.com") == -ENOENT);
  CHECK(st.health.cannot_write == 1);
  CHECK(sqldb_origin_add(&st.q, "https://kept.example.com", T0) == 0);
  CHECK(st.health.cannot_write == 0 && st.health.write_errors == 4);
  CHECK(sqldb_link_put(&st.q, &l2) == 0);
  /* the probe alone brings it back too */
  disk_full(1);
  CHECK(sqldb_probe(&st.q) == -EIO && st.health.cannot_write == 1);
  disk_full(0);
  CHECK(sqldb_probe(&st.q) == 0 && st.health.cannot_write == 0);
  t_close(&st);
  /* after a restart: what was acknowledged is there, nothing else */
  open_store();
  CHECK(sqldb_origin_allowed(&st.q, "https://kept.example.com") == 0);
  CHECK(sqldb_origin_allowed(&st.q, "https://lost.example.com") == -ENOENT);
  CHECK(has_link("ltk_after"));
  CHECK(!has_link("ltk_batch_lost"));
  CHECK(sqldb_user_by_origin(&st.q, "user_fw", &u) == -ENOENT);
  CHECK(st.health.cannot_write == 0 && st.health.write_errors == 0);
  t_close(&st);
}

int main(void) {
  int rc = sqldb_test_setup();
  if (rc != 0)
    return rc;
  RUN(open_and_migrate);
  RUN(failed_writes);
  sqldb_test_cleanup();
  return unit_report();
}
