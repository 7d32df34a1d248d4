/* test_pgconn: proxy/event/pgconn.c against a real PostgreSQL server.
 *
 * Runs under tests/pg/pgcluster.py, which starts a throwaway cluster on
 * 127.0.0.1 and sets PG_PORT, PG_CLUSTER_DIR and PG_CLUSTER_SCRIPT (used
 * here to restart the server). Without PG_PORT the test fails: it proves
 * nothing without a server. Every wait runs the loop until a condition,
 * bounded by a guard timer; nothing sleeps and no timing is asserted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pgconn.h"
#include "unit.h"

#define GUARD_MS 20000

static uv_loop_t *loop;
static const char *pg_port;
static int guard_fired;

/* What a connection's callbacks saw (pc->data). */
typedef struct {
  int nstatus;
  int status;          /* the last status */
  int nnotify;
  char channel[64];
  char payload[64];
  int be_pid;
  int closed;          /* the close callback ran */
  int nresults_at_close; /* results seen when it ran */
} conn_seen;

/* One query's outcome (its ctx). */
typedef struct {
  int done;            /* callbacks run (must end at 1) */
  int status;
  int order;           /* global order of completion */
  char value[64];      /* row 0, column 0 */
  int ntuples;
  char last[64];       /* the last row's column 0, "NULL" when null */
  char sqlstate[8];
  char msg[256];
} result_seen;

static int nresults;

static void on_guard(uv_timer_t *t) {
  (void)t;
  guard_fired = 1;
}

static void on_tick(uv_timer_t *t) {
  (void)t;
}

/* Runs the loop until cond holds or GUARD_MS pass; evaluates to cond. A
 * repeating tick makes every uv_run(UV_RUN_ONCE) return soon: after the
 * timers it runs, UV_RUN_ONCE would otherwise block in the poll until the
 * next event, and a timer (pgconn's kick) can make cond true. */
#define RUN_UNTIL(cond)                                                      \
  ({                                                                         \
    uv_timer_t guard_, tick_;                                                \
    guard_fired = 0;                                                         \
    uv_timer_init(loop, &guard_);                                            \
    uv_timer_start(&guard_, on_guard, GUARD_MS, 0);                          \
    uv_timer_init(loop, &tick_);                                             \
    uv_timer_start(&tick_, on_tick, 2, 2);                                   \
    while (!(cond) && !guard_fired)                                          \
      uv_run(loop, UV_RUN_ONCE);                                             \
    uv_close((uv_handle_t *)&guard_, NULL);                                  \
    uv_close((uv_handle_t *)&tick_, NULL);                                   \
    uv_run(loop, UV_RUN_NOWAIT);                                             \
    (cond);                                                                  \
  })

static void on_status(pgconn_t *pc, int status) {
  conn_seen *s = pc->data;
  s->nstatus++;
  s->status = status;
}

static void on_notify(pgconn_t *pc, const char *channel, const char *payload, int be_pid) {
  conn_seen *s = pc->data;
  s->nnotify++;
  snprintf(s->channel, sizeof s->channel, "%s", channel);
  snprintf(s->payload, sizeof s->payload, "%s", payload);
  s->be_pid = be_pid;
}

static void on_result(void *ctx, int status, const PGresult *res, const char *errmsg) {
  result_seen *r = ctx;
  r->done++;
  r->status = status;
  r->order = ++nresults;
  snprintf(r->msg, sizeof r->msg, "%s", errmsg);
  if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
    int last = PQntuples(res) - 1;
    r->ntuples = PQntuples(res);
    snprintf(r->value, sizeof r->value, "%s", PQgetvalue(res, 0, 0));
    snprintf(r->last, sizeof r->last, "%s",
             PQgetisnull(res, last, 0) ? "NULL" : PQgetvalue(res, last, 0));
  }
  if (res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
    snprintf(r->sqlstate, sizeof r->sqlstate, "%s", PQresultErrorField(res, PG_DIAG_SQLSTATE));
}

static void on_closed(pgconn_t *pc) {
  conn_seen *s = pc->data;
  s->closed = 1;
  s->nresults_at_close = nresults;
}

static void url(char *buf, size_t size, const char *host, const char *port) {
  snprintf(buf, size, "postgresql://authrelay@%s:%s/postgres?application_name=test_pgconn", host,
           port);
}

/* Connects pc (data: s) to url u; returns whether it connected. */
static int connect_ok(pgconn_t *pc, conn_seen *s, const char *u) {
  int before = s->nstatus;
  CHECK(pgconn_connect(pc, u, 0, on_status, on_notify) == 0);
  CHECK(RUN_UNTIL(s->nstatus > before));
  CHECK(s->status == 0);
  CHECK(pc->state == PGCONN_READY);
  return s->status == 0 && s->nstatus == before + 1;
}

static void close_and_wait(pgconn_t *pc, conn_seen *s) {
  pgconn_close(pc, on_closed);
  CHECK(RUN_UNTIL(s->closed));
}

/* A closed loopback port: bound and closed again (nothing listens). */
static int closed_port(void) {
  uv_tcp_t t;
  struct sockaddr_in sa;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  uv_tcp_init(loop, &t);
  uv_tcp_bind(&t, (const struct sockaddr *)&sa, 0);
  uv_tcp_getsockname(&t, (struct sockaddr *)&ss, &len);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The value libpq holds for an option of conn ("" when unset). */
static const char *conn_option(PGconn *conn, const char *keyword) {
  static char value[256];
  PQconninfoOption *opts = PQconninfo(conn), *o;
  value[0] = '\0';
  for (o = opts; o != NULL && o->keyword != NULL; o++)
    if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
      snprintf(value, sizeof value, "%s", o->val);
  PQconninfoFree(opts);
  return value;
}

/* "localhost" goes through uv_getaddrinfo and reaches libpq as hostaddr;
 * queries queued while connecting run in order, with parameters and NULL. */
static void test_connect_by_name_and_query(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r1 = {0}, r2 = {0}, r3 = {0};
  const char *p1[] = {"2", "3"};
  const char *p2[] = {NULL, "x'y\"z\\"};
  char u[256];
  url(u, sizeof u, "localhost", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r1) == -ENOTCONN);
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == 0);
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == -EISCONN);
  CHECK(pgconn_query(&pc, "SELECT $1::int + $2::int", p1, 2, 0, on_result, &r1) == 0);
  CHECK(pgconn_query(&pc, "SELECT ($1::text IS NULL)::text || $2", p2, 2, 0, on_result, &r2) ==
        0);
  CHECK(pgconn_query(&pc, "", NULL, 0, 0, on_result, &r3) == 0);
  CHECK(pc.nqueries == 3);
  CHECK(s.nstatus == 0 && r1.done == 0); /* nothing from inside the calls */
  CHECK(RUN_UNTIL(r3.done));
  CHECK(s.nstatus == 1 && s.status == 0);
  CHECK(r1.done == 1 && r1.status == 0 && strcmp(r1.value, "5") == 0);
  CHECK(r2.done == 1 && r2.status == 0 && strcmp(r2.value, "truex'y\"z\\") == 0);
  CHECK(r3.done == 1 && r3.status == 0);
  CHECK(r1.order < r2.order && r2.order < r3.order);
  CHECK(pc.nqueries == 0);
  /* libpq was given the address as hostaddr: it resolved nothing itself. */
  CHECK(pc.conn_ != NULL && strcmp(PQhost(pc.conn_), "localhost") == 0);
  CHECK(pc.conn_ != NULL && strcmp(conn_option(pc.conn_, "hostaddr"), "127.0.0.1") == 0);
  close_and_wait(&pc, &s);
  CHECK(s.nstatus == 1);
}

/* Bad SQL: -EIO, the server's message and SQLSTATE; the connection goes on. */
static void test_sql_error(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r1 = {0}, r2 = {0}, r3 = {0};
  const char *bad[] = {"abc"};
  char u[256];
  url(u, sizeof u, "127.0.0.1", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(pgconn_query(&pc, "SELEC 1", NULL, 0, 0, on_result, &r1) == 0);
    CHECK(pgconn_query(&pc, "SELECT $1::int", bad, 1, 0, on_result, &r2) == 0);
    CHECK(pgconn_query(&pc, "SELECT 'still here'", NULL, 0, 0, on_result, &r3) == 0);
    CHECK(RUN_UNTIL(r3.done));
    CHECK(r1.done == 1 && r1.status == -EIO && strcmp(r1.sqlstate, "42601") == 0);
    CHECK(strstr(r1.msg, "syntax error") != NULL);
    CHECK(r2.done == 1 && r2.status == -EIO && strcmp(r2.sqlstate, "22P02") == 0);
    CHECK(r3.status == 0 && strcmp(r3.value, "still here") == 0);
    CHECK(s.nstatus == 1);
  }
  close_and_wait(&pc, &s);
}

/* Rows come one by one and are gathered into one result; a result over
 * PGCONN_RESULT_MAX is dropped (-E2BIG) and the connection goes on. */
static void test_rows_and_result_cap(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen many = {0}, nulls = {0}, huge = {0}, none = {0}, after = {0};
  char u[256];
  url(u, sizeof u, "127.0.0.1", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(pgconn_query(&pc, "SELECT g::text, repeat('x', g) FROM generate_series(1, 5000) g", NULL,
                       0, 0, on_result, &many) == 0);
    CHECK(pgconn_query(&pc, "SELECT CASE WHEN g < 3 THEN 'v' END FROM generate_series(1, 3) g",
                       NULL, 0, 0, on_result, &nulls) == 0);
    /* 20 MiB of values */
    CHECK(pgconn_query(&pc, "SELECT repeat('x', 1024 * 1024) FROM generate_series(1, 20)", NULL, 0,
                       0, on_result, &huge) == 0);
    CHECK(pgconn_query(&pc, "SELECT 1 WHERE false", NULL, 0, 0, on_result, &none) == 0);
    CHECK(pgconn_query(&pc, "SELECT 'after'", NULL, 0, 0, on_result, &after) == 0);
    CHECK(RUN_UNTIL(after.done));
    CHECK(many.status == 0 && many.ntuples == 5000);
    CHECK(strcmp(many.value, "1") == 0 && strcmp(many.last, "5000") == 0);
    CHECK(nulls.status == 0 && nulls.ntuples == 3 && strcmp(nulls.value, "v") == 0);
    CHECK(strcmp(nulls.last, "NULL") == 0);
    CHECK(huge.done == 1 && huge.status == -E2BIG && huge.ntuples == 0);
    CHECK(none.done == 1 && none.status == 0 && none.ntuples == 0);
    CHECK(after.status == 0 && strcmp(after.value, "after") == 0);
    CHECK(s.nstatus == 1 && pc.state == PGCONN_READY);
  }
  close_and_wait(&pc, &s);
}

/* COPY is not spoken: the query gets -EIO, the connection -EPROTO. */
static void test_copy_refused(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r1 = {0}, r2 = {0};
  char u[256];
  url(u, sizeof u, "127.0.0.1", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(pgconn_query(&pc, "COPY (SELECT 1) TO STDOUT", NULL, 0, 0, on_result, &r1) == 0);
    CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r2) == 0);
    CHECK(RUN_UNTIL(r2.done));
    CHECK(r1.done == 1 && r1.status == -EIO && strstr(r1.msg, "COPY") != NULL);
    CHECK(r2.done == 1 && r2.status == -ECONNRESET);
    CHECK(s.nstatus == 2 && s.status == -EPROTO && pc.state == PGCONN_DOWN);
  }
  close_and_wait(&pc, &s);
}

/* A refused connection is reported later, by the status callback, and the
 * queries that waited for it get the same status. */
static void test_refused(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r = {0};
  char u[256], port[16];
  snprintf(port, sizeof port, "%d", closed_port());
  url(u, sizeof u, "127.0.0.1", port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == 0);
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r) == 0);
  CHECK(s.nstatus == 0);
  CHECK(RUN_UNTIL(r.done));
  CHECK(s.nstatus == 1 && s.status == -ECONNREFUSED);
  CHECK(pc.state == PGCONN_DOWN);
  CHECK(strstr(pgconn_error(&pc), "refused") != NULL);
  CHECK(r.done == 1 && r.status == -ECONNREFUSED);
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r) == -ENOTCONN);
  close_and_wait(&pc, &s);
  CHECK(s.nstatus == 1 && r.done == 1);
}

/* Two hosts, the first refusing: libpq closes its socket and opens another,
 * most often with the same descriptor number. Connecting needs the poll
 * handle re-armed on the new socket. */
static void test_second_host_new_socket(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r = {0};
  char u[256];
  snprintf(u, sizeof u, "postgresql://authrelay@localhost:%d,localhost:%s/postgres",
           closed_port(), pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(strcmp(PQport(pc.conn_), pg_port) == 0);
    CHECK(pgconn_query(&pc, "SELECT 42", NULL, 0, 0, on_result, &r) == 0);
    CHECK(RUN_UNTIL(r.done) && r.status == 0 && strcmp(r.value, "42") == 0);
  }
  close_and_wait(&pc, &s);
}

/* TLS, as libpq does it, driven by PQconnectPoll: verify-full against the
 * cluster's certificate for "localhost" works while libpq connects to the
 * resolved address, because `host` stays beside `hostaddr`; the same check
 * against 127.0.0.1 fails, so the verification is really on. */
static void test_tls_verify_full(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r = {0};
  const char *ca = getenv("PG_TLS_CA");
  char u[512];
  CHECK(ca != NULL);
  if (ca == NULL)
    return;
  snprintf(u, sizeof u,
           "postgresql://authrelay@localhost:%s/postgres?sslmode=verify-full&sslrootcert=%s",
           pg_port, ca);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(PQsslInUse(pc.conn_) == 1);
    CHECK(pgconn_query(&pc, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                       NULL, 0, 0, on_result, &r) == 0);
    CHECK(RUN_UNTIL(r.done) && r.status == 0 && strcmp(r.value, "true") == 0);
  }
  snprintf(u, sizeof u,
           "postgresql://authrelay@127.0.0.1:%s/postgres?sslmode=verify-full&sslrootcert=%s",
           pg_port, ca);
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == -EISCONN);
  close_and_wait(&pc, &s);
  memset(&s, 0, sizeof s);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == 0);
  CHECK(RUN_UNTIL(s.nstatus > 0));
  CHECK(s.status == -ECONNREFUSED && strstr(pgconn_error(&pc), "does not match") != NULL);
  close_and_wait(&pc, &s);
}

/* A Unix-socket directory is used as is (nothing to resolve). */
static void test_unix_socket(void) {
  pgconn_t pc;
  conn_seen s = {0};
  char u[512];
  const char *dir = getenv("PG_CLUSTER_DIR");
  CHECK(dir != NULL);
  if (dir == NULL)
    return;
  snprintf(u, sizeof u, "host=%s/sock port=%s user=authrelay dbname=postgres", dir, pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  connect_ok(&pc, &s, u);
  close_and_wait(&pc, &s);
}

/* LISTEN on one connection, NOTIFY from another. */
static void test_listen_notify(void) {
  pgconn_t a, b;
  conn_seen sa = {0}, sb = {0};
  result_seen r1 = {0}, r2 = {0};
  const char *args[] = {"authrelay_test", "link 42"};
  char u[256];
  url(u, sizeof u, "localhost", pg_port);
  CHECK(pgconn_init(&a, loop) == 0);
  CHECK(pgconn_init(&b, loop) == 0);
  a.data = &sa;
  b.data = &sb;
  if (connect_ok(&a, &sa, u) && connect_ok(&b, &sb, u)) {
    CHECK(pgconn_query(&a, "LISTEN authrelay_test", NULL, 0, 0, on_result, &r1) == 0);
    CHECK(RUN_UNTIL(r1.done) && r1.status == 0);
    CHECK(pgconn_query(&b, "SELECT pg_notify($1, $2)", args, 2, 0, on_result, &r2) == 0);
    CHECK(RUN_UNTIL(sa.nnotify > 0 && r2.done)); /* in either order */
    CHECK(r2.done == 1 && r2.status == 0);
    CHECK(sa.nnotify == 1 && strcmp(sa.channel, "authrelay_test") == 0);
    CHECK(strcmp(sa.payload, "link 42") == 0);
    CHECK(sa.be_pid == PQbackendPID(b.conn_));
    CHECK(sb.nnotify == 0);
  }
  close_and_wait(&a, &sa);
  close_and_wait(&b, &sb);
}

/* A parameter larger than the socket buffers goes out through PQflush and
 * writability; the limits are enforced. */
static void test_large_send_and_limits(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r = {0};
  size_t big = 4 * 1024 * 1024;
  char *param = malloc(PGCONN_PARAMS_BYTES_MAX + 2);
  char *sql = malloc(PGCONN_SQL_MAX + 2);
  const char *params[PGCONN_PARAMS_MAX + 1];
  char u[256];
  int i;
  CHECK(param != NULL && sql != NULL);
  if (param == NULL || sql == NULL)
    goto out;
  url(u, sizeof u, "127.0.0.1", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    /* A small send buffer, so that the kernel takes the query in many
     * pieces whatever its defaults: PQflush has to wait for writability. */
    int sndbuf = 4096;
    CHECK(setsockopt(PQsocket(pc.conn_), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
    memset(param, 'a', big);
    param[big] = '\0';
    params[0] = param;
    CHECK(pgconn_query(&pc, "SELECT length($1)", params, 1, 0, on_result, &r) == 0);
    CHECK(RUN_UNTIL(r.done) && r.status == 0 && strcmp(r.value, "4194304") == 0);
    memset(param, 'a', PGCONN_PARAMS_BYTES_MAX);
    param[PGCONN_PARAMS_BYTES_MAX] = '\0';
    CHECK(pgconn_query(&pc, "SELECT length($1)", params, 1, 0, on_result, &r) == -E2BIG);
    memset(sql, ' ', PGCONN_SQL_MAX + 1);
    sql[PGCONN_SQL_MAX + 1] = '\0';
    CHECK(pgconn_query(&pc, sql, NULL, 0, 0, on_result, &r) == -E2BIG);
    for (i = 0; i <= PGCONN_PARAMS_MAX; i++)
      params[i] = "1";
    CHECK(pgconn_query(&pc, "SELECT 1", params, PGCONN_PARAMS_MAX + 1, 0, on_result, &r) ==
          -E2BIG);
    CHECK(pgconn_query(&pc, "SELECT 1", NULL, 1, 0, on_result, &r) == -EINVAL);
    CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, PGCONN_TIMEOUT_MAX_MS + 1, on_result, &r) ==
          -EINVAL);
    CHECK(pc.nqueries == 0);
  }
  close_and_wait(&pc, &s);
  CHECK(r.done == 1);
out:
  free(param);
  free(sql);
}

/* A query past its timeout closes the connection (libpq 15 cannot cancel
 * without blocking): -ETIMEDOUT for it and the status callback,
 * -ECONNRESET for the one behind it; the same pgconn_t connects again. */
static void test_query_timeout(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen slow = {0}, behind = {0}, after = {0};
  char u[256];
  url(u, sizeof u, "127.0.0.1", pg_port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    CHECK(pgconn_query(&pc, "SELECT pg_sleep(60)", NULL, 0, 300, on_result, &slow) == 0);
    CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &behind) == 0);
    CHECK(RUN_UNTIL(behind.done));
    CHECK(s.nstatus == 2 && s.status == -ETIMEDOUT);
    CHECK(pc.state == PGCONN_DOWN);
    CHECK(slow.done == 1 && slow.status == -ETIMEDOUT);
    CHECK(behind.done == 1 && behind.status == -ECONNRESET);
    CHECK(slow.order < behind.order);
    if (connect_ok(&pc, &s, u)) {
      CHECK(pgconn_query(&pc, "SELECT 'again'", NULL, 0, 0, on_result, &after) == 0);
      CHECK(RUN_UNTIL(after.done) && after.status == 0 && strcmp(after.value, "again") == 0);
    }
  }
  close_and_wait(&pc, &s);
}

/* The connect timeout: a loopback listener that accepts and never answers. */
static void on_silent_conn(uv_stream_t *server, int status) {
  uv_tcp_t *c = malloc(sizeof *c);
  (void)status;
  uv_tcp_init(loop, c);
  if (uv_accept(server, (uv_stream_t *)c) != 0)
    uv_close((uv_handle_t *)c, (uv_close_cb)free);
  else
    server->data = c;
}

static void test_connect_timeout(void) {
  pgconn_t pc;
  conn_seen s = {0};
  uv_tcp_t server;
  struct sockaddr_in sa;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char u[256], port[16];
  uv_ip4_addr("127.0.0.1", 0, &sa);
  uv_tcp_init(loop, &server);
  server.data = NULL;
  uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0);
  CHECK(uv_listen((uv_stream_t *)&server, 4, on_silent_conn) == 0);
  uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len);
  snprintf(port, sizeof port, "%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  url(u, sizeof u, "127.0.0.1", port);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, u, 300, on_status, NULL) == 0);
  CHECK(RUN_UNTIL(s.nstatus > 0));
  CHECK(s.nstatus == 1 && s.status == -ETIMEDOUT && pc.state == PGCONN_DOWN);
  CHECK(server.data != NULL); /* it did get that far */
  close_and_wait(&pc, &s);
  if (server.data != NULL)
    uv_close(server.data, (uv_close_cb)free);
  uv_close((uv_handle_t *)&server, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* Closing with queries queued and in flight: each gets -ECANCELED before
 * the close callback; nothing else runs; everything is freed (ASan). */
static void test_close_pending(void) {
  pgconn_t pc;
  conn_seen s = {0};
  result_seen r[4];
  char u[256];
  int i;
  memset(r, 0, sizeof r);
  url(u, sizeof u, "localhost", pg_port);
  /* while connecting */
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == 0);
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r[0]) == 0);
  pgconn_close(&pc, on_closed);
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r[1]) == -ECANCELED);
  CHECK(r[0].done == 0);
  CHECK(RUN_UNTIL(s.closed));
  CHECK(r[0].done == 1 && r[0].status == -ECANCELED && r[0].order <= s.nresults_at_close);
  CHECK(s.nstatus == 0);
  /* one in flight, two queued */
  memset(&s, 0, sizeof s);
  memset(r, 0, sizeof r);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  if (connect_ok(&pc, &s, u)) {
    for (i = 0; i < 3; i++)
      CHECK(pgconn_query(&pc, "SELECT pg_sleep(60)", NULL, 0, 0, on_result, &r[i]) == 0);
    CHECK(RUN_UNTIL(pc.inflight_ != NULL));
    pgconn_close(&pc, on_closed);
    CHECK(RUN_UNTIL(s.closed));
    for (i = 0; i < 3; i++)
      CHECK(r[i].done == 1 && r[i].status == -ECANCELED && r[i].order <= s.nresults_at_close);
    CHECK(s.nstatus == 1);
  } else {
    close_and_wait(&pc, &s);
  }
  /* the queue's cap */
  memset(&s, 0, sizeof s);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, u, 0, on_status, NULL) == 0);
  for (i = 0; i < PGCONN_QUERIES_MAX; i++)
    if (pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r[3]) != 0)
      break;
  CHECK(i == PGCONN_QUERIES_MAX);
  CHECK(pgconn_query(&pc, "SELECT 1", NULL, 0, 0, on_result, &r[3]) == -ENOSPC);
  close_and_wait(&pc, &s);
  CHECK(r[3].done == PGCONN_QUERIES_MAX && r[3].status == -ECANCELED);
}

/* Conninfo strings pgconn refuses at once, with a reason. */
static void test_bad_conninfo(void) {
  pgconn_t pc;
  conn_seen s = {0};
  char *huge = malloc(PGCONN_CONNINFO_MAX + 2);
  CHECK(pgconn_init(&pc, loop) == 0);
  pc.data = &s;
  CHECK(pgconn_connect(&pc, "postgresql://[oops", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_error(&pc)[0] != '\0');
  CHECK(pgconn_connect(&pc, "nonsense=1", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_connect(&pc, "service=x", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_connect(&pc, "host=a,b,c,d,e", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_connect(&pc, "host=a,/tmp", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_connect(&pc, "host=a,b port=1,2,3", 0, on_status, NULL) == -EINVAL);
  CHECK(pgconn_connect(&pc, "host=a", -1, on_status, NULL) == -EINVAL);
  if (huge != NULL) {
    memset(huge, ' ', PGCONN_CONNINFO_MAX + 1);
    huge[PGCONN_CONNINFO_MAX + 1] = '\0';
    CHECK(pgconn_connect(&pc, huge, 0, on_status, NULL) == -E2BIG);
  }
  CHECK(pc.state == PGCONN_IDLE);
  close_and_wait(&pc, &s);
  CHECK(s.nstatus == 0);
  free(huge);
}

/* ---- server restart ---- */

static int child_exited;
static int64_t child_status;

static void on_child_exit(uv_process_t *p, int64_t status, int signo) {
  (void)signo;
  child_exited = 1;
  child_status = status;
  uv_close((uv_handle_t *)p, NULL);
}

/* The server restarts: the idle connection reports the loss; the same
 * pgconn_t and a new one connect again. */
static void test_server_restart(void) {
  pgconn_t a, b;
  conn_seen sa = {0}, sb = {0};
  result_seen r1 = {0}, r2 = {0};
  uv_process_t proc;
  uv_process_options_t opts;
  uv_stdio_container_t stdio[3];
  const char *script = getenv("PG_CLUSTER_SCRIPT");
  char *args[4];
  char u[256];
  CHECK(script != NULL);
  if (script == NULL)
    return;
  url(u, sizeof u, "localhost", pg_port);
  CHECK(pgconn_init(&a, loop) == 0);
  a.data = &sa;
  if (connect_ok(&a, &sa, u)) {
    args[0] = "python3";
    args[1] = (char *)script;
    args[2] = "restart";
    args[3] = NULL;
    memset(&opts, 0, sizeof opts);
    memset(stdio, 0, sizeof stdio);
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_IGNORE;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    opts.file = "python3";
    opts.args = args;
    opts.exit_cb = on_child_exit;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    child_exited = 0;
    CHECK(uv_spawn(loop, &proc, &opts) == 0);
    CHECK(RUN_UNTIL(sa.nstatus == 2 && child_exited));
    CHECK(child_status == 0);
    CHECK(sa.status == -ECONNRESET && a.state == PGCONN_DOWN);
    CHECK(strstr(pgconn_error(&a), "administrator command") != NULL);
    if (connect_ok(&a, &sa, u)) {
      CHECK(pgconn_query(&a, "SELECT 'a back'", NULL, 0, 0, on_result, &r1) == 0);
      CHECK(RUN_UNTIL(r1.done) && r1.status == 0 && strcmp(r1.value, "a back") == 0);
    }
    CHECK(pgconn_init(&b, loop) == 0);
    b.data = &sb;
    if (connect_ok(&b, &sb, u)) {
      CHECK(pgconn_query(&b, "SELECT 'b new'", NULL, 0, 0, on_result, &r2) == 0);
      CHECK(RUN_UNTIL(r2.done) && r2.status == 0 && strcmp(r2.value, "b new") == 0);
    }
    close_and_wait(&b, &sb);
  }
  close_and_wait(&a, &sa);
}

int main(void) {
  uv_loop_t l;
  pg_port = getenv("PG_PORT");
  if (pg_port == NULL) {
    fprintf(stderr, "PG_PORT is not set: run under tests/pg/pgcluster.py run\n");
    return 1;
  }
  uv_loop_init(&l);
  loop = &l;
  RUN(test_bad_conninfo);
  RUN(test_connect_by_name_and_query);
  RUN(test_sql_error);
  RUN(test_copy_refused);
  RUN(test_rows_and_result_cap);
  RUN(test_refused);
  RUN(test_second_host_new_socket);
  RUN(test_unix_socket);
  RUN(test_tls_verify_full);
  RUN(test_listen_notify);
  RUN(test_large_send_and_limits);
  RUN(test_connect_timeout);
  RUN(test_query_timeout);
  RUN(test_close_pending);
  RUN(test_server_restart); /* last: it restarts the server */
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(loop) == 0);
  return unit_report();
}
