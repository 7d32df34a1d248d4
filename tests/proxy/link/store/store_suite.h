/* store_suite: the harness of tests/proxy/link/store/test_store.c: one
 * libuv loop, the store under test, the callbacks of every result type
 * (each records what it saw into r, and whether it ran before its
 * operation returned or inside a transaction), CALL (start one operation,
 * run the loop until its callback), and row makers. test_store.c includes
 * it once, before the shared cases; test_store_sqlite.h and
 * test_store_pg.h use it too. Static: one copy, in test_store.c.
 */
#ifndef AUTHRELAY_TEST_STORE_SUITE_H
#define AUTHRELAY_TEST_STORE_SUITE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sqlite3.h>
#include <uv.h>

#include "store.h"
#include "store_sqlite.h"
#include "unit.h"

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */

static char dir[] = "/tmp/test_store.XXXXXX";
static char spec[4096];
static int pg;                 /* the PostgreSQL run */
static uv_loop_t loop;
static store_t st;

/* What the callbacks saw. */
static struct {
  int returned;           /* the operation being tested has returned */
  int calls;              /* callbacks run since reset */
  int early;              /* callbacks that ran before their operation returned */
  int in_tx;              /* callbacks that ran inside a transaction */
  int status;
  store_user user;
  store_app_credential app;
  store_link link;
  store_credential credential;
  store_oauth_app oauth_app;
  store_oauth_token token;
  char blob[256];
  size_t blob_len;
  int has_blob;
  char text[512];
  uint64_t seq;
  size_t count;
  size_t n;
  size_t total;
  char first[512];        /* the first row's name or id */
  char last[512];         /* the last row's */
  uint64_t last_ms;       /* the last link's created_ms */
  unsigned attempts;      /* the first event's */
  int order[8];           /* tags of completed operations, in order */
  size_t norder;
} r;

static void reset(void) {
  int early = r.early;
  int in_tx = r.in_tx;
  memset(&r, 0, sizeof r);
  r.early = early;
  r.in_tx = in_tx;
}

static void note(int status) {
  sqldb_t *q = store_sqlite_db(&st);
  r.calls++;
  r.status = status;
  if (!r.returned)
    r.early++;
  if (q != NULL && q->db != NULL && !sqlite3_get_autocommit(q->db))
    r.in_tx++;
}

/* Runs the loop until n callbacks ran (the store's own timeout bounds
 * the wait: every operation ends by then). */
static void run_until(int n) {
  while (r.calls < n && uv_run(&loop, UV_RUN_ONCE) != 0)
    ;
  /* what SQLite finishes in this iteration shows a second callback too */
  (void)uv_run(&loop, UV_RUN_NOWAIT);
}

/* Runs one operation: it must return 0, its callback must not have run
 * yet, and must run once when the loop runs. */
#define CALL(expr)                         \
  do {                                     \
    int call_rc_;                          \
    reset();                               \
    call_rc_ = (expr);                     \
    r.returned = 1;                        \
    CHECK(call_rc_ == 0);                  \
    CHECK(r.calls == 0);                   \
    run_until(1);                          \
    CHECK(r.calls == 1);                   \
  } while (0)

static void on_done(void *data, int status) {
  (void)data;
  note(status);
}

static void on_user(void *data, int status, const store_user *u) {
  (void)data;
  note(status);
  if (u != NULL)
    r.user = *u;
}

static void on_users(void *data, int status, const store_user *rows, size_t n, size_t total) {
  (void)data;
  note(status);
  r.n = n;
  r.total = total;
  if (n > 0) {
    snprintf(r.first, sizeof r.first, "%s", rows[0].origin_user_id);
    snprintf(r.last, sizeof r.last, "%s", rows[n - 1].origin_user_id);
  }
}

static void on_names(void *data, int status, const char *const *names, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0) {
    snprintf(r.first, sizeof r.first, "%s", names[0]);
    snprintf(r.last, sizeof r.last, "%s", names[n - 1]);
  }
}

static void keep_blob(const store_blob *b) {
  r.has_blob = b != NULL && b->ptr != NULL;
  if (r.has_blob && b->len <= sizeof r.blob) {
    memcpy(r.blob, b->ptr, b->len);
    r.blob_len = b->len;
  }
}

static void on_app(void *data, int status, const store_app_credential *c, const store_blob *secret) {
  (void)data;
  note(status);
  if (c != NULL)
    r.app = *c;
  keep_blob(secret);
}

static void on_apps(void *data, int status, const store_app_credential *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0)
    snprintf(r.first, sizeof r.first, "%.500s", rows[0].client_id);
}

static void on_credential(void *data, int status, const store_credential *c, const store_blob *b) {
  (void)data;
  note(status);
  keep_blob(b);
  if (c != NULL)
    r.credential = *c;
  CHECK((c == NULL) == (b == NULL));
}

static void on_credentials(void *data, int status, const store_credential *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0) {
    snprintf(r.first, sizeof r.first, "%s", rows[0].connector);
    snprintf(r.last, sizeof r.last, "%s", rows[n - 1].connector);
    r.credential = rows[n - 1];
  }
}

static void on_link(void *data, int status, const store_link *l) {
  (void)data;
  note(status);
  if (l != NULL)
    r.link = *l;
}

static void on_links(void *data, int status, const store_link *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0) {
    snprintf(r.first, sizeof r.first, "%s", rows[0].token);
    snprintf(r.last, sizeof r.last, "%s", rows[n - 1].token);
    r.last_ms = rows[n - 1].created_ms;
  }
}

static void on_text(void *data, int status, const char *text) {
  (void)data;
  note(status);
  if (text != NULL)
    snprintf(r.text, sizeof r.text, "%s", text);
}

static void on_origins(void *data, int status, const store_origin *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0)
    snprintf(r.first, sizeof r.first, "%s", rows[0].origin);
}

static void on_oauth_app(void *data, int status, const store_oauth_app *a) {
  (void)data;
  note(status);
  if (a != NULL)
    r.oauth_app = *a;
}

static void on_oauth_apps(void *data, int status, const store_oauth_app *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0)
    snprintf(r.first, sizeof r.first, "%s", rows[0].name);
}

static void on_token(void *data, int status, const store_oauth_token *t) {
  (void)data;
  note(status);
  if (t != NULL)
    r.token = *t;
}

static void on_seq(void *data, int status, uint64_t seq) {
  (void)data;
  note(status);
  r.seq = seq;
}

static void on_events(void *data, int status, const store_event *rows, size_t n) {
  (void)data;
  note(status);
  r.n = n;
  if (n > 0) {
    snprintf(r.first, sizeof r.first, "%s %s", rows[0].id, rows[0].hook != NULL ? rows[0].hook : "-");
    snprintf(r.last, sizeof r.last, "%s", rows[n - 1].body);
    r.attempts = rows[0].attempts;
  }
}

static void on_count(void *data, int status, size_t count) {
  (void)data;
  note(status);
  r.count = count;
}

static void open_store(void) {
  if (store_open(&st, &loop, spec) != 0) {
    fprintf(stderr, "store_open: %s\n", st.error);
    exit(2);
  }
}

static int closed;

static void on_closed(store_t *s) {
  (void)s;
  closed++;
  if (r.norder < 8)
    r.order[r.norder++] = 99;
}

static void close_store(void) {
  closed = 0;
  store_close(&st, on_closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 1);
}

static store_user a_user(const char *id, const char *origin, uint64_t at) {
  store_user u;
  memset(&u, 0, sizeof u);
  snprintf(u.id, sizeof u.id, "%s", id);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "%s", origin);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "Name of %s", origin);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  u.created_ms = at;
  return u;
}

static store_link a_link(const char *token, const char *user, uint64_t at) {
  store_link l;
  memset(&l, 0, sizeof l);
  snprintf(l.token, sizeof l.token, "%s", token);
  snprintf(l.user, sizeof l.user, "%s", user);
  snprintf(l.connector, sizeof l.connector, "github");
  l.created_ms = at;
  l.expires_ms = at + 1800000;
  return l;
}

#define UID(n) "00000000-0000-4000-8000-00000000000" #n

#endif
