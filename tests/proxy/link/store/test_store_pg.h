/* test_store_pg: the PostgreSQL-only cases of test_store.c, which includes
 * this file once (they use its loop, callbacks and CALL). The test talks to
 * the server itself with libpq's blocking calls, as test code may: to make
 * databases, hold a lock, look at what is stored.
 *
 * Runs under tests/pg/pgcluster.py (PG_URL, PG_CLUSTER_SCRIPT).
 */
#include <libpq-fe.h>

#include "store_pg.h"

#define PG_TEST_DB "authrelay_test_store"
#define PG_MIG_DB "authrelay_test_migrate"

/* url with its database (the path) replaced by db, into out. */
static int pg_url_with_db(const char *url, const char *db, char *out, size_t cap) {
  const char *scheme = strstr(url, "://");
  const char *path, *query;
  int n;
  if (scheme == NULL)
    return -1;
  path = strchr(scheme + 3, '/');
  query = strchr(scheme + 3, '?');
  if (path == NULL || (query != NULL && query < path))
    path = query != NULL ? query : url + strlen(url);
  n = snprintf(out, cap, "%.*s/%s%s", (int)(path - url), url, db, query != NULL ? query : "");
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Runs sql on url (blocking: test code); 0 when it succeeded. out, when
 * not NULL, gets the first value. */
static int pg_exec(const char *url, const char *sql, char *out, size_t cap) {
  PGconn *c = PQconnectdb(url);
  PGresult *res;
  int ok;
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "connect: %s", PQerrorMessage(c));
    PQfinish(c);
    return -1;
  }
  res = PQexec(c, sql);
  ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  if (!ok)
    fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
  if (ok && out != NULL)
    snprintf(out, cap, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  PQfinish(c);
  return ok ? 0 : -1;
}

/* A new empty database named db on PG_URL's server; its URL into out. */
static int pg_fresh_db(const char *db, char *out, size_t cap) {
  const char *url = getenv("PG_URL");
  char sql[128];
  if (url == NULL) {
    fprintf(stderr, "PG_URL is not set: run under tests/pg/pgcluster.py run\n");
    return -1;
  }
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
  if (pg_exec(url, sql, NULL, 0) != 0)
    return -1;
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
  if (pg_exec(url, sql, NULL, 0) != 0)
    return -1;
  return pg_url_with_db(url, db, out, cap);
}

static int pg_setup(char *out, size_t cap) {
  return pg_fresh_db(PG_TEST_DB, out, cap);
}

/* ---- replicas starting at once ---- */

static int at_once_status[3];
static int at_once_calls;

static void on_at_once(void *data, int status) {
  at_once_status[(size_t)data] = status;
  at_once_calls++;
  r.calls++;
}

/* Three stores open one new database at once: each waits for the others'
 * migrations (an advisory lock), every probe succeeds, and each migration
 * is recorded once. */
static void pg_migrate_at_once(void) {
  store_t s[3];
  char url[4096];
  char value[64];
  char want[64];
  size_t i;
  CHECK(pg_fresh_db(PG_MIG_DB, url, sizeof url) == 0);
  for (i = 0; i < 3; i++)
    CHECK(store_open(&s[i], &loop, url) == 0 && s[i].schema_version == 0);
  reset();
  for (i = 0; i < 3; i++)
    CHECK(s[i].ops->probe(&s[i], on_at_once, (void *)i) == 0);
  r.returned = 1;
  run_until(3);
  CHECK(at_once_calls == 3);
  for (i = 0; i < 3; i++)
    CHECK(at_once_status[i] == 0 && s[i].schema_version == pg_schema_version());
  CHECK(pg_exec(url, "SELECT count(*) || ' ' || max(version) FROM schema_version", value, sizeof value) == 0);
  snprintf(want, sizeof want, "%d %d", pg_schema_version(), pg_schema_version());
  CHECK(strcmp(value, want) == 0);
  closed = 0;
  for (i = 0; i < 3; i++)
    store_close(&s[i], on_closed);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 3);
}

/* ---- time ---- */

static void open_with(store_t *s, const char *url, long timeout_ms) {
  store_opts o = {timeout_ms, 0};
  if (store_open_opts(s, &loop, url, &o) != 0) {
    fprintf(stderr, "store_open: %s\n", s->error);
    exit(2);
  }
}

static void close_one(store_t *s) {
  closed = 0;
  store_close(s, on_closed);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 1);
}

/* Nothing listens: store_open succeeds (it connects later), operations
 * wait for a connection until store_timeout, then -ETIMEDOUT; health says
 * the database is unreachable, and why. */
static void pg_unreachable(void) {
  store_t saved = st;
  open_with(&st, "postgresql://authrelay@127.0.0.1:1/postgres", 300);
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == -ETIMEDOUT && st.health.cannot_write == 1 && st.health.write_errors == 1);
  CHECK(st.health.unreachable == 1 && strstr(st.health.reach_error, "127.0.0.1") != NULL);
  CHECK(strstr(st.health.write_error, "unreachable") != NULL);
  CALL(st.ops->link_get(&st, "ltk_none", on_link, NULL));
  CHECK(r.status == -ETIMEDOUT);
  close_one(&st);
  st = saved;
}

/* A lock held by another session past store_timeout: the write gets
 * -ETIMEDOUT and is not there after the lock goes; the store goes on. */
static void pg_timeout(void) {
  PGconn *side = PQconnectdb(spec);
  PGresult *res;
  CHECK(PQstatus(side) == CONNECTION_OK);
  open_with(&st, spec, 1000);
  CALL(st.ops->probe(&st, on_done, NULL)); /* connected and migrated */
  CHECK(r.status == 0);
  res = PQexec(side, "BEGIN; LOCK TABLE callback_origins IN ACCESS EXCLUSIVE MODE");
  CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
  PQclear(res);
  CALL(st.ops->origin_add(&st, "https://slow.example.com", T0, on_done, NULL));
  CHECK(r.status == -ETIMEDOUT && st.health.cannot_write == 1);
  res = PQexec(side, "ROLLBACK");
  PQclear(res);
  PQfinish(side);
  CALL(st.ops->origin_allowed(&st, "https://slow.example.com", on_done, NULL));
  CHECK(r.status == -ENOENT); /* never acknowledged, never committed */
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == 0 && st.health.cannot_write == 0);
  CALL(st.ops->origin_add(&st, "https://slow.example.com", T0, on_done, NULL));
  CHECK(r.status == 0);
  close_one(&st);
}

/* ---- a server restart ---- */

/* Waits (bounded) until a session waits for a lock. */
static int pg_lock_waiter(PGconn *side) {
  uint64_t until = uv_hrtime() + 10 * 1000000000ull;
  while (uv_hrtime() < until) {
    PGresult *res;
    int n;
    (void)uv_run(&loop, UV_RUN_NOWAIT);
    res = PQexec(side, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
    n = PQresultStatus(res) == PGRES_TUPLES_OK ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (n > 0)
      return 1;
  }
  return 0;
}

/* The server restarts under a write in flight: the write fails (-EIO),
 * is not there afterwards, and the store reconnects by itself: a probe
 * succeeds again within a bounded number of tries, then writes do. */
static void pg_restart(void) {
  const char *script = getenv("PG_CLUSTER_SCRIPT");
  char cmd[1024];
  store_link l = a_link("ltk_restart_lost", "rs", T0);
  store_link kept = a_link("ltk_restart_kept", "rs", T0);
  PGconn *side = PQconnectdb(spec);
  PGresult *res;
  int tries;
  CHECK(script != NULL && PQstatus(side) == CONNECTION_OK);
  open_with(&st, spec, 30000);
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == 0);
  res = PQexec(side, "BEGIN; LOCK TABLE links IN ACCESS EXCLUSIVE MODE");
  CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
  PQclear(res);
  reset();
  CHECK(st.ops->link_put(&st, &l, 1, on_done, NULL) == 0);
  r.returned = 1;
  CHECK(pg_lock_waiter(side)); /* the write is on the server, waiting */
  snprintf(cmd, sizeof cmd, "python3 '%s' restart", script);
  CHECK(system(cmd) == 0);
  PQfinish(side);
  run_until(1);
  CHECK(r.calls == 1 && r.status == -EIO); /* not acknowledged */
  CHECK(st.health.cannot_write == 1);
  for (tries = 0; tries < 50; tries++) {
    CALL(st.ops->probe(&st, on_done, NULL));
    if (r.status == 0)
      break;
  }
  CHECK(r.status == 0 && st.health.cannot_write == 0 && st.health.unreachable == 0);
  CALL(st.ops->link_get(&st, "ltk_restart_lost", on_link, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->link_put(&st, &kept, 1, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->link_get(&st, "ltk_restart_kept", on_link, NULL));
  CHECK(r.status == 0);
  close_one(&st);
}

/* ---- LISTEN / NOTIFY ---- */

static int notified, resynced;
static char last_payload[64];

static void on_note(void *data, const char *payload) {
  (void)data;
  notified++;
  snprintf(last_payload, sizeof last_payload, "%s", payload);
}

static void on_resync(void *data) {
  (void)data;
  resynced++;
}

static void on_tick(uv_timer_t *t) {
  (void)t;
}

/* Runs the loop until *counter reaches n or 20 s pass (a ticking timer
 * keeps each turn short). */
static int wait_count(const int *counter, int n) {
  uv_timer_t tick;
  uint64_t until = uv_hrtime() + 20 * 1000000000ull;
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  while (*counter < n && uv_hrtime() < until)
    (void)uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  (void)uv_run(&loop, UV_RUN_NOWAIT);
  return *counter >= n;
}

/* Sends a NOTIFY through b, trying again while b reconnects (bounded). */
static int notify_from(store_t *b, const char *payload) {
  int tries;
  for (tries = 0; tries < 50; tries++) {
    CALL(store_pg_notify(b, "authrelay_links", payload, on_done, NULL));
    if (r.status == 0)
      return 1;
  }
  return 0;
}

/* A NOTIFY sent through one store reaches the listener of another; the
 * listener asks for a re-read once LISTEN is in force, and again after the
 * server restarted, when notifications reach it again. */
static void pg_listen(void) {
  const char *script = getenv("PG_CLUSTER_SCRIPT");
  char cmd[1024];
  store_t b;
  char big[PGSTORE_PAYLOAD_MAX + 2];
  open_with(&st, spec, 5000);
  open_with(&b, spec, 5000);
  CHECK(store_pg_listen(&st, "Bad-Name", on_note, on_resync, NULL) == -EINVAL);
  CHECK(store_pg_listen(&st, "authrelay_links", NULL, on_resync, NULL) == -EINVAL);
  CHECK(store_pg_listen(&st, "authrelay_links", on_note, on_resync, NULL) == 0);
  CHECK(store_pg_listen(&st, "authrelay_links", on_note, on_resync, NULL) == -EBUSY);
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK(store_pg_notify(&b, "authrelay_links", big, on_done, NULL) == -EINVAL);
  CHECK(wait_count(&resynced, 1) && notified == 0);
  CHECK(notify_from(&b, "ltk_first"));
  CHECK(wait_count(&notified, 1) && strcmp(last_payload, "ltk_first") == 0);
  snprintf(cmd, sizeof cmd, "python3 '%s' restart", script != NULL ? script : "?");
  CHECK(script != NULL && system(cmd) == 0);
  CHECK(wait_count(&resynced, 2)); /* reconnected, LISTEN again: re-read what was missed */
  CHECK(notify_from(&b, "ltk_after_restart"));
  CHECK(wait_count(&notified, 2) && strcmp(last_payload, "ltk_after_restart") == 0);
  closed = 0;
  store_close(&b, on_closed);
  store_close(&st, on_closed);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 2);
}
