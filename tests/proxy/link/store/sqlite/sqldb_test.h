/* sqldb_test.h: what the SQLite core's unit tests share (test_sqldb.c,
 * test_sqldb_users.c, test_sqldb_links.c): the store opened on disk in a
 * mkdtemp() directory, with secrets sealed above it the way the link
 * service's callers do (linkseal.h: the core sees only ciphertext blobs, and
 * callers choose row ids); raw SQL and file reads to look behind it; the
 * rows the tests create. Static inline, one copy per test binary.
 */
#ifndef AUTHRELAY_TEST_SQLDB_H
#define AUTHRELAY_TEST_SQLDB_H

#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "linkseal.h"
#include "secretbox.h"
#include "sqldb.h"
#include "unit.h"
#include "crypto.h"

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */

static char dir[] = "/tmp/test_sqldb.XXXXXX";
static char dbpath[128];
static char walpath[128];
static char err[512];
static unsigned char key[SECRETBOX_KEY_BYTES];

/* The store as a caller above it holds it: the core and the key that seals
 * secrets before they reach it. */
typedef struct caller_t {
  sqldb_t q;
  store_health health;
  unsigned char key[SECRETBOX_KEY_BYTES];
} caller_t;

static caller_t st;

/* ---- the caller's side: row ids, times and sealing above the store ---- */

static inline int t_open(caller_t *c, const char *data_dir, const unsigned char k[SECRETBOX_KEY_BYTES], char *e,
                  size_t elen) {
  char path[4200];
  memset(c, 0, sizeof *c);
  memcpy(c->key, k, SECRETBOX_KEY_BYTES);
  snprintf(path, sizeof path, "%s/%s", data_dir, SQLDB_FILE);
  return sqldb_open(&c->q, path, &c->health, e, elen);
}

static inline void t_close(caller_t *c) {
  sqldb_close(&c->q);
}

static inline int t_user_create(caller_t *c, store_user *u, uint64_t now_ms) {
  if (crypto_uuid(u->id) != 0)
    return -EIO;
  u->created_ms = now_ms;
  return sqldb_user_create(&c->q, u);
}

static inline int t_app_create(caller_t *c, store_app_credential *a, const char *secret, uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  if (crypto_uuid(a->id) != 0)
    return -EIO;
  a->created_ms = now_ms;
  a->modified_ms = now_ms;
  a->has_secret = secret != NULL;
  dynbuf_init(&sealed, STORE_SECRET_MAX);
  if (secret != NULL && linkseal_app_secret(c->key, a->id, secret, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_app_create(&c->q, a, secret != NULL ? &b : NULL);
  dynbuf_free(&sealed);
  return rc;
}

static inline int t_app_update(caller_t *c, store_app_credential *a, int set_secret, const char *secret, uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX);
  if (set_secret && secret != NULL && linkseal_app_secret(c->key, a->id, secret, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_app_update(&c->q, a, set_secret, secret != NULL ? &b : NULL, now_ms);
  dynbuf_free(&sealed);
  return rc;
}

/* The Link page's credential, its secret opened into secret (NULL: not wanted). */
static inline int t_app_for(caller_t *c, const char *slug, const char *external_id, store_app_credential *a,
                     dynbuf *secret) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX + 1);
  rc = sqldb_app_for(&c->q, slug, external_id, a, secret != NULL ? &sealed : NULL);
  b = linkseal_blob(&sealed);
  if (rc == 0 && a->has_secret && secret != NULL && linkseal_app_open(c->key, a->id, &b, secret) != 0)
    rc = -EIO;
  dynbuf_free(&sealed);
  return rc;
}

static inline int t_credential_put(caller_t *c, const char *user, const char *connector, const char *kind,
                            const char *secret, size_t len, uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, len + SECRETBOX_OVERHEAD + 1);
  if (linkseal_credential(c->key, user, connector, secret, len, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_credential_put(&c->q, user, connector, kind, &b, 0, now_ms);
  dynbuf_free(&sealed);
  return rc;
}

static inline int t_credential_get(caller_t *c, const char *user, const char *connector, dynbuf *out) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX + 1);
  store_credential row;
  rc = sqldb_credential_get(&c->q, user, connector, &row, &sealed);
  b = linkseal_blob(&sealed);
  if (rc == 0 && linkseal_credential_open(c->key, user, connector, &b, out) != 0)
    rc = -EIO;
  dynbuf_free(&sealed);
  return rc;
}

static inline int t_link_each(caller_t *c, uint64_t since_ms, int (*cb)(void *ctx, const store_link *l), void *ctx) {
  return sqldb_link_each(&c->q, since_ms, 0, "", 0, cb, ctx);
}

static inline int t_oauth_app_create(caller_t *c, store_oauth_app *a, const char *secret_hash, uint64_t now_ms) {
  if (crypto_uuid(a->id) != 0 || crypto_uuid(a->client_id) != 0)
    return -EIO;
  a->created_ms = now_ms;
  return sqldb_oauth_app_create(&c->q, a, secret_hash);
}

static inline int t_oauth_token_get(caller_t *c, const char *token_hash, uint64_t now_ms, char *scopes, size_t cap) {
  store_oauth_token t;
  int rc = sqldb_oauth_token_get(&c->q, token_hash, now_ms, &t);
  if (rc == 0)
    snprintf(scopes, cap, "%s", t.scopes);
  return rc;
}

static inline int t_event_add(caller_t *c, const char *id, const char *type, const char *user, const char *body,
                       uint64_t now_ms, const char *const *hooks, size_t nhooks, uint64_t *seq) {
  store_event e;
  memset(&e, 0, sizeof e);
  e.id = id;
  e.type = type;
  e.user = user;
  e.body = body;
  return sqldb_event_add(&c->q, &e, now_ms, hooks, nhooks, seq);
}

/* ---- helpers ---- */

static inline void open_store(void) {
  err[0] = '\0';
  if (t_open(&st, dir, key, err, sizeof err) != 0) {
    fprintf(stderr, "sqldb_open: %s\n", err);
    exit(2);
  }
}

/* Appends the whole file at p to out (nothing when it does not exist). */
static inline void slurp(const char *p, dynbuf *out) {
  char buf[65536];
  size_t n;
  FILE *f = fopen(p, "rb");
  if (f == NULL)
    return;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    if (dynbuf_add(out, buf, n) != 0)
      break;
  fclose(f);
}

/* 1 when s occurs in the bytes of authrelay.db or authrelay.db-wal. */
static inline int on_disk(const char *s) {
  dynbuf b;
  int found;
  dynbuf_init(&b, (size_t)1 << 30);
  slurp(dbpath, &b);
  slurp(walpath, &b);
  found = b.ptr != NULL && memmem(b.ptr, b.len, s, strlen(s)) != NULL;
  dynbuf_free(&b);
  return found;
}

/* Runs sql on the store's database directly (to tamper with rows). */
static inline int exec(const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(st.q.db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fprintf(stderr, "  sql: %s: %s\n", sql, msg != NULL ? msg : "?");
  sqlite3_free(msg);
  return rc == SQLITE_OK ? 0 : -1;
}

/* The integer the query returns, or -1. */
static inline long long query_int(const char *sql) {
  sqlite3_stmt *stmt = NULL;
  long long v = -1;
  if (sqlite3_prepare_v2(st.q.db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

static inline int uuid_ok(const char *s) {
  size_t i;
  if (strlen(s) != 36)
    return 0;
  for (i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
      return 0;
    }
  }
  return 1;
}

static inline store_user new_user(const char *origin, const char *name) {
  store_user u;
  memset(&u, 0, sizeof u);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "%s", origin);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "%s", name);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  return u;
}

/* ---- for the users tests ---- */

typedef struct collected {
  char origin[8][STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  int n;
  int stop_after; /* 0: never */
} collected;

static inline int collect_user(void *ctx, const store_user *u) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", u->origin_user_id);
  c->n++;
  return c->stop_after != 0 && c->n >= c->stop_after;
}

static inline int collect_slug(void *ctx, const char *slug) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", slug);
  c->n++;
  return 0;
}

static inline int count_link(void *ctx, const store_link *l) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", l->token);
  c->n++;
  return c->stop_after != 0 && c->n >= c->stop_after;
}

static inline store_link new_link(const char *token, const char *user, const char *connector,
                               uint64_t created) {
  store_link l;
  memset(&l, 0, sizeof l);
  snprintf(l.token, sizeof l.token, "%s", token);
  snprintf(l.user, sizeof l.user, "%s", user);
  snprintf(l.connector, sizeof l.connector, "%s", connector);
  l.status = 0;
  l.created_ms = created;
  l.expires_ms = created + 1800000;
  return l;
}

/* ---- for the application credential tests ---- */

#define GH_SECRET "S3cr3t-github-client-secret-XYZ"
#define GH_SECRET2 "other-tenant-secret-QQQ"
#define GH_SECRET3 "rotated-secret-value-123"

static inline store_app_credential new_app(const char *slug, const char *client_id, const char *external,
                                        int is_default) {
  store_app_credential c;
  memset(&c, 0, sizeof c);
  snprintf(c.connector_slug, sizeof c.connector_slug, "%s", slug);
  snprintf(c.client_id, sizeof c.client_id, "%s", client_id);
  if (external != NULL) {
    c.has_external_id = 1;
    snprintf(c.external_id, sizeof c.external_id, "%s", external);
  }
  c.is_global_default = is_default;
  return c;
}

static inline int count_app(void *ctx, const store_app_credential *c) {
  collected *col = ctx;
  if (col->n < 8)
    snprintf(col->origin[col->n], sizeof col->origin[0], "%s", c->client_id);
  col->n++;
  return 0;
}

/* ---- for the connected credential tests ---- */

#define CRED_A "gho_alice_token_ABCDEFGHIJ"
#define CRED_B "xoxb-bob-token-KLMNOPQRST"

/* ---- for the links tests ---- */

#define LT1 "ltk_11111111111111111111111111111111"
#define LT2 "ltk_22222222222222222222222222222222"
#define LT3 "ltk_33333333333333333333333333333333"

typedef struct links_seen {
  store_link l[4];
  int n;
} links_seen;

static inline int keep_link(void *ctx, const store_link *l) {
  links_seen *s = ctx;
  if (s->n < 4)
    s->l[s->n] = *l;
  s->n++;
  return 0;
}

/* ---- for the origins tests ---- */

typedef struct origins_seen {
  char o[4][64];
  uint64_t t[4];
  int n;
} origins_seen;

static inline int keep_origin(void *ctx, const char *origin, uint64_t created_ms) {
  origins_seen *s = ctx;
  if (s->n < 4) {
    snprintf(s->o[s->n], sizeof s->o[0], "%s", origin);
    s->t[s->n] = created_ms;
  }
  s->n++;
  return 0;
}

/* ---- for the OAuth tests ---- */

static inline int count_oauth_app(void *ctx, const store_oauth_app *a) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", a->name);
  c->n++;
  return 0;
}

/* Collects what a store_events_after / deliveries_due callback saw. */
typedef struct seen {
  char ids[8][40];
  char hooks[8][64];
  unsigned attempts[8];
  size_t n;
} seen;

static inline int collect(void *ctx, const store_event *e) {
  seen *sn = ctx;
  if (sn->n < 8) {
    snprintf(sn->ids[sn->n], sizeof sn->ids[0], "%s", e->id);
    snprintf(sn->hooks[sn->n], sizeof sn->hooks[0], "%s", e->hook != NULL ? e->hook : "");
    sn->attempts[sn->n] = e->attempts;
  }
  sn->n++;
  return 0;
}

/* ---- for the failed-write tests ---- */

/* Every write to a file past its first byte fails (EFBIG: SIGXFSZ is
 * ignored), as on a full disk; full 0 lifts that. */
static inline void disk_full(int full) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = full ? 1 : rl.rlim_max;
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static inline store_link a_link(const char *token) {
  store_link l;
  memset(&l, 0, sizeof l);
  snprintf(l.token, sizeof l.token, "%s", token);
  snprintf(l.user, sizeof l.user, "user_fw");
  snprintf(l.connector, sizeof l.connector, "github");
  l.status = 0;
  l.created_ms = T0;
  l.expires_ms = T0 + 1800000;
  return l;
}

static inline int find_token(void *ctx, const store_link *l) {
  const char **want = ctx;
  if (strcmp(l->token, want[0]) == 0)
    want[1] = "found";
  return 0;
}

static inline int has_link(const char *token) {
  const char *want[2] = {token, NULL};
  CHECK(t_link_each(&st, 0, find_token, want) == 0);
  return want[1] != NULL;
}

/* Makes the test's directory and the key; 0, or 2 (the exit status) when
 * the directory cannot be made. */
static inline int sqldb_test_setup(void) {
  size_t i;
  for (i = 0; i < SECRETBOX_KEY_BYTES; i++)
    key[i] = (unsigned char)(0xa0 + i);
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(dbpath, sizeof dbpath, "%s/%s", dir, SQLDB_FILE);
  snprintf(walpath, sizeof walpath, "%s/%s-wal", dir, SQLDB_FILE);
  return 0;
}

/* Removes the database files and the directory. */
static inline void sqldb_test_cleanup(void) {
  char p[160];
  const char *files[] = {SQLDB_FILE, SQLDB_FILE "-wal", SQLDB_FILE "-shm"};
  size_t i;
  for (i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    (void)unlink(p);
  }
  if (rmdir(dir) != 0)
    perror("rmdir");
}

#endif
