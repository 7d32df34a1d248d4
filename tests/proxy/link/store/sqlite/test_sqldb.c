/* test_sqldb: the SQLite store's synchronous core (proxy/link/store/sqlite/
 * sqldb*.c), on disk in a mkdtemp() directory, with secrets sealed above it
 * the way the link service's callers do (linkseal.h: the core sees only
 * ciphertext blobs, and callers choose row ids). test_store covers the
 * asynchronous operations store_sqlite.c runs these calls from.
 *
 * Covers: open creates authrelay.db in WAL mode and migrates it to schema
 * version 1, reopening is idempotent and keeps the data, a newer schema is
 * refused; registered users (create, duplicate origin_user_id -> -EEXIST
 * with the existing user filled in, get, by_origin, update of the mutable
 * fields only, list with paging, filter and total, delete taking the user's
 * credentials and links with it); application credentials (create with and
 * without a secret, (connector_slug, external_id) uniqueness with NULL
 * external ids colliding too, one global default per connector, app_for
 * picking and decrypting, update with and without set_secret, list,
 * delete); connected credentials (round trip, replace, binary values); that
 * no secret is ever in clear in the database or its WAL file, and that a
 * sealed value moved to another row, or read with another key, does not
 * open; links (put, end, each, prune); callback origins; OAuth applications
 * (check with the right and wrong secret hash) and their tokens (expiry,
 * deletion with their app); failed writes on a full file system
 * (RLIMIT_FSIZE, so every write to a file fails with EFBIG): a failed
 * commit of a grouped transaction rolls all of it back and leaves no
 * transaction open, so the writes after it are not swallowed by one that
 * never commits; each failure is counted and marks the store as unable to
 * write until a write (or sqldb_probe) commits again, and only what was
 * acknowledged is there after reopening.
 */
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

static int t_open(caller_t *c, const char *data_dir, const unsigned char k[SECRETBOX_KEY_BYTES], char *e,
                  size_t elen) {
  char path[4200];
  memset(c, 0, sizeof *c);
  memcpy(c->key, k, SECRETBOX_KEY_BYTES);
  snprintf(path, sizeof path, "%s/%s", data_dir, SQLDB_FILE);
  return sqldb_open(&c->q, path, &c->health, e, elen);
}

static void t_close(caller_t *c) {
  sqldb_close(&c->q);
}

static int t_user_create(caller_t *c, store_user *u, uint64_t now_ms) {
  if (crypto_uuid(u->id) != 0)
    return -EIO;
  u->created_ms = now_ms;
  return sqldb_user_create(&c->q, u);
}

static int t_app_create(caller_t *c, store_app_credential *a, const char *secret, uint64_t now_ms) {
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

static int t_app_update(caller_t *c, store_app_credential *a, int set_secret, const char *secret, uint64_t now_ms) {
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
static int t_app_for(caller_t *c, const char *slug, const char *external_id, store_app_credential *a,
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

static int t_credential_put(caller_t *c, const char *user, const char *connector, const char *kind,
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

static int t_credential_get(caller_t *c, const char *user, const char *connector, dynbuf *out) {
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

static int t_link_each(caller_t *c, uint64_t since_ms, int (*cb)(void *ctx, const store_link *l), void *ctx) {
  return sqldb_link_each(&c->q, since_ms, 0, "", 0, cb, ctx);
}

static int t_oauth_app_create(caller_t *c, store_oauth_app *a, const char *secret_hash, uint64_t now_ms) {
  if (crypto_uuid(a->id) != 0 || crypto_uuid(a->client_id) != 0)
    return -EIO;
  a->created_ms = now_ms;
  return sqldb_oauth_app_create(&c->q, a, secret_hash);
}

static int t_oauth_token_get(caller_t *c, const char *token_hash, uint64_t now_ms, char *scopes, size_t cap) {
  store_oauth_token t;
  int rc = sqldb_oauth_token_get(&c->q, token_hash, now_ms, &t);
  if (rc == 0)
    snprintf(scopes, cap, "%s", t.scopes);
  return rc;
}

static int t_event_add(caller_t *c, const char *id, const char *type, const char *user, const char *body,
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

static void open_store(void) {
  err[0] = '\0';
  if (t_open(&st, dir, key, err, sizeof err) != 0) {
    fprintf(stderr, "sqldb_open: %s\n", err);
    exit(2);
  }
}

/* Appends the whole file at p to out (nothing when it does not exist). */
static void slurp(const char *p, dynbuf *out) {
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
static int on_disk(const char *s) {
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
static int exec(const char *sql) {
  char *msg = NULL;
  int rc = sqlite3_exec(st.q.db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fprintf(stderr, "  sql: %s: %s\n", sql, msg != NULL ? msg : "?");
  sqlite3_free(msg);
  return rc == SQLITE_OK ? 0 : -1;
}

/* The integer the query returns, or -1. */
static long long query_int(const char *sql) {
  sqlite3_stmt *stmt = NULL;
  long long v = -1;
  if (sqlite3_prepare_v2(st.q.db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

static int uuid_ok(const char *s) {
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

static store_user new_user(const char *origin, const char *name) {
  store_user u;
  memset(&u, 0, sizeof u);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "%s", origin);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "%s", name);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  return u;
}

/* ---- open and migrations ---- */

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
  CHECK(st.q.schema_version == 3);
  CHECK(query_int("SELECT version FROM schema_version") == 3);
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
  CHECK(st.q.schema_version == 3);
  CHECK(query_int("SELECT version FROM schema_version") == 3);
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
   * applies migrations 2 and 3 and keeps the rows of version 1 (a
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
  CHECK(t_open(&st, dir, key, err, sizeof err) == 0 && st.q.schema_version == 3);
  CHECK(query_int("SELECT version FROM schema_version") == 3);
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

/* ---- registered users ---- */

typedef struct collected {
  char origin[8][STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  int n;
  int stop_after; /* 0: never */
} collected;

static int collect_user(void *ctx, const store_user *u) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", u->origin_user_id);
  c->n++;
  return c->stop_after != 0 && c->n >= c->stop_after;
}

static int collect_slug(void *ctx, const char *slug) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", slug);
  c->n++;
  return 0;
}

static int count_link(void *ctx, const store_link *l) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", l->token);
  c->n++;
  return c->stop_after != 0 && c->n >= c->stop_after;
}

static store_link new_link(const char *token, const char *user, const char *connector,
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

static void users(void) {
  store_user a, dup, g, b;
  collected c;
  size_t total = 0;
  const char *names[] = {"bob", "carol", "dave", "erin"};
  store_link l;
  dynbuf out;
  int i;
  open_store();

  a = new_user("alice@example.com", "Alice");
  CHECK(t_user_create(&st, &a, T0) == 0);
  CHECK(uuid_ok(a.id));
  CHECK(a.created_ms == T0);

  /* the same origin_user_id: -EEXIST, and the existing user */
  dup = new_user("alice@example.com", "Someone else");
  CHECK(t_user_create(&st, &dup, T0 + 1) == -EEXIST);
  CHECK(strcmp(dup.id, a.id) == 0);
  CHECK(strcmp(dup.origin_user_name, "Alice") == 0);
  CHECK(dup.created_ms == T0);

  /* get, by_origin */
  memset(&g, 0, sizeof g);
  CHECK(sqldb_user_get(&st.q, a.id, &g) == 0);
  CHECK(strcmp(g.id, a.id) == 0 && strcmp(g.origin_user_id, "alice@example.com") == 0);
  CHECK(strcmp(g.origin_user_name, "Alice") == 0 && strcmp(g.user_type, "HUMAN") == 0);
  CHECK(g.has_group == 0 && g.is_test == 0 && g.created_ms == T0);
  memset(&g, 0, sizeof g);
  CHECK(sqldb_user_by_origin(&st.q, "alice@example.com", &g) == 0 && strcmp(g.id, a.id) == 0);
  CHECK(sqldb_user_get(&st.q, "00000000-0000-4000-8000-000000000000", &g) == -ENOENT);
  CHECK(sqldb_user_by_origin(&st.q, "ALICE@example.com", &g) == -ENOENT);

  /* update: the mutable fields, not origin_user_id */
  g = a;
  snprintf(g.origin_user_name, sizeof g.origin_user_name, "Alice B.");
  g.has_group = 1;
  snprintf(g.company_id, sizeof g.company_id, "acme-1");
  snprintf(g.company_name, sizeof g.company_name, "Acme");
  snprintf(g.user_type, sizeof g.user_type, "SYSTEM");
  g.is_test = 1;
  snprintf(g.origin_user_id, sizeof g.origin_user_id, "mallory");
  CHECK(sqldb_user_update(&st.q, &g) == 0);
  memset(&g, 0, sizeof g);
  CHECK(sqldb_user_get(&st.q, a.id, &g) == 0);
  CHECK(strcmp(g.origin_user_name, "Alice B.") == 0);
  CHECK(g.has_group == 1 && strcmp(g.company_id, "acme-1") == 0 && strcmp(g.company_name, "Acme") == 0);
  CHECK(strcmp(g.user_type, "SYSTEM") == 0 && g.is_test == 1);
  CHECK(strcmp(g.origin_user_id, "alice@example.com") == 0);
  CHECK(g.created_ms == T0);
  CHECK(sqldb_user_by_origin(&st.q, "mallory", &b) == -ENOENT);
  /* dropping the group */
  g.has_group = 0;
  CHECK(sqldb_user_update(&st.q, &g) == 0);
  CHECK(sqldb_user_get(&st.q, a.id, &g) == 0 && g.has_group == 0 && g.company_id[0] == '\0');
  /* an unknown id */
  snprintf(g.id, sizeof g.id, "00000000-0000-4000-8000-000000000000");
  CHECK(sqldb_user_update(&st.q, &g) == -ENOENT);

  /* list: oldest first, paging, filter, total */
  for (i = 0; i < 4; i++) {
    b = new_user(names[i], names[i]);
    CHECK(t_user_create(&st, &b, T0 + 10 + (uint64_t)i) == 0);
  }
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, NULL, 0, 100, collect_user, &c, &total) == 0);
  CHECK(total == 5 && c.n == 5);
  CHECK(strcmp(c.origin[0], "alice@example.com") == 0 && strcmp(c.origin[1], "bob") == 0 &&
        strcmp(c.origin[4], "erin") == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, NULL, 1, 2, collect_user, &c, &total) == 0);
  CHECK(total == 5 && c.n == 2);
  CHECK(strcmp(c.origin[0], "bob") == 0 && strcmp(c.origin[1], "carol") == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, NULL, 4, 2, collect_user, &c, &total) == 0);
  CHECK(total == 5 && c.n == 1 && strcmp(c.origin[0], "erin") == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, NULL, 10, 2, collect_user, &c, &total) == 0);
  CHECK(total == 5 && c.n == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, "carol", 0, 100, collect_user, &c, &total) == 0);
  CHECK(total == 1 && c.n == 1 && strcmp(c.origin[0], "carol") == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_list(&st.q, "nobody", 0, 100, collect_user, &c, &total) == 0);
  CHECK(total == 0 && c.n == 0);
  memset(&c, 0, sizeof c);
  c.stop_after = 2; /* the callback stops the listing */
  CHECK(sqldb_user_list(&st.q, NULL, 0, 100, collect_user, &c, &total) == 0);
  CHECK(c.n == 2 && total == 5);

  /* delete takes the user's credentials and links, nobody else's */
  CHECK(t_credential_put(&st, "alice@example.com", "github", "oauth2", "a-gh", 4, T0) == 0);
  CHECK(t_credential_put(&st, "alice@example.com", "slack", "api_key", "a-sl", 4, T0) == 0);
  CHECK(t_credential_put(&st, "bob", "github", "oauth2", "b-gh", 4, T0) == 0);
  l = new_link("ltk_a0000000000000000000000000000001", "alice@example.com", "github", T0);
  CHECK(sqldb_link_put(&st.q, &l) == 0);
  l = new_link("ltk_b0000000000000000000000000000001", "bob", "github", T0);
  CHECK(sqldb_link_put(&st.q, &l) == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_connectors(&st.q, "alice@example.com", collect_slug, &c) == 0);
  CHECK(c.n == 2 && strcmp(c.origin[0], "github") == 0 && strcmp(c.origin[1], "slack") == 0);

  CHECK(sqldb_user_delete(&st.q, a.id) == 0);
  CHECK(sqldb_user_get(&st.q, a.id, &g) == -ENOENT);
  CHECK(sqldb_user_by_origin(&st.q, "alice@example.com", &g) == -ENOENT);
  dynbuf_init(&out, 4096);
  CHECK(t_credential_get(&st, "alice@example.com", "github", &out) == -ENOENT);
  CHECK(t_credential_get(&st, "alice@example.com", "slack", &out) == -ENOENT);
  CHECK(out.len == 0);
  memset(&c, 0, sizeof c);
  CHECK(sqldb_user_connectors(&st.q, "alice@example.com", collect_slug, &c) == 0 && c.n == 0);
  memset(&c, 0, sizeof c);
  CHECK(t_link_each(&st, 0, count_link, &c) == 0);
  CHECK(c.n == 1 && strcmp(c.origin[0], "ltk_b0000000000000000000000000000001") == 0);
  CHECK(t_credential_get(&st, "bob", "github", &out) == 0);
  CHECK_MEM(out.ptr, out.len, "b-gh");
  CHECK(sqldb_user_delete(&st.q, a.id) == -ENOENT);
  CHECK(sqldb_user_list(&st.q, NULL, 0, 100, collect_user, &(collected){0}, &total) == 0 &&
        total == 4);
  dynbuf_free(&out);
  t_close(&st);
}

/* ---- application credentials ---- */

#define GH_SECRET "S3cr3t-github-client-secret-XYZ"
#define GH_SECRET2 "other-tenant-secret-QQQ"
#define GH_SECRET3 "rotated-secret-value-123"

static store_app_credential new_app(const char *slug, const char *client_id, const char *external,
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

static int count_app(void *ctx, const store_app_credential *c) {
  collected *col = ctx;
  if (col->n < 8)
    snprintf(col->origin[col->n], sizeof col->origin[0], "%s", c->client_id);
  col->n++;
  return 0;
}

static void app_credentials(void) {
  store_app_credential c1, c2, c3, c5, c6, g;
  dynbuf secret;
  collected col;
  char sql[256];
  open_store();
  dynbuf_init(&secret, 4096);

  c1 = new_app("github", "cid-github-one", NULL, 1);
  CHECK(t_app_create(&st, &c1, GH_SECRET, T0) == 0);
  CHECK(uuid_ok(c1.id) && c1.has_secret == 1 && c1.created_ms == T0 && c1.modified_ms == T0);
  memset(&g, 0, sizeof g);
  CHECK(sqldb_app_get(&st.q, c1.id, &g) == 0);
  CHECK(strcmp(g.connector_slug, "github") == 0 && strcmp(g.client_id, "cid-github-one") == 0);
  CHECK(g.has_secret == 1 && g.has_external_id == 0 && g.is_global_default == 1);
  CHECK(g.created_ms == T0 && g.modified_ms == T0);

  /* (connector_slug, external_id) is unique; two NULL external ids collide */
  c2 = new_app("github", "cid-github-two", NULL, 0);
  CHECK(t_app_create(&st, &c2, NULL, T0 + 1) == -EEXIST);
  c3 = new_app("github", "cid-tenant-a", "tenant-a", 0);
  CHECK(t_app_create(&st, &c3, NULL, T0 + 2) == 0);
  CHECK(c3.has_secret == 0);
  CHECK(sqldb_app_get(&st.q, c3.id, &g) == 0 && g.has_secret == 0 && g.has_external_id == 1 &&
        strcmp(g.external_id, "tenant-a") == 0);
  c2 = new_app("github", "cid-tenant-a-again", "tenant-a", 0);
  CHECK(t_app_create(&st, &c2, "x", T0 + 3) == -EEXIST);
  c5 = new_app("gitlab", "cid-gitlab", NULL, 0); /* another connector: no clash */
  CHECK(t_app_create(&st, &c5, NULL, T0 + 4) == 0);
  c2 = new_app("gitlab", "cid-gitlab-2", "tenant-a", 0);
  CHECK(t_app_create(&st, &c2, NULL, T0 + 5) == 0);

  /* app_for: the default, with its secret opened */
  CHECK(t_app_for(&st, "github", NULL, &g, &secret) == 0);
  CHECK(strcmp(g.id, c1.id) == 0);
  CHECK_MEM(secret.ptr, secret.len, GH_SECRET);
  secret.len = 0;
  /* by external_id: that one (no secret: nothing appended) */
  CHECK(t_app_for(&st, "github", "tenant-a", &g, &secret) == 0);
  CHECK(strcmp(g.id, c3.id) == 0 && secret.len == 0);
  CHECK(t_app_for(&st, "slack", NULL, &g, &secret) == -ENOENT);

  /* a new default takes the flag from the old one */
  c6 = new_app("github", "cid-tenant-b", "tenant-b", 1);
  CHECK(t_app_create(&st, &c6, GH_SECRET2, T0 + 6) == 0);
  CHECK(sqldb_app_get(&st.q, c1.id, &g) == 0 && g.is_global_default == 0);
  CHECK(sqldb_app_get(&st.q, c6.id, &g) == 0 && g.is_global_default == 1);
  CHECK(query_int("SELECT COUNT(*) FROM app_credentials WHERE connector_slug = 'github' AND "
                  "is_global_default = 1") == 1);
  CHECK(t_app_for(&st, "github", NULL, &g, &secret) == 0);
  CHECK(strcmp(g.id, c6.id) == 0);
  CHECK_MEM(secret.ptr, secret.len, GH_SECRET2);
  secret.len = 0;
  /* other connectors keep theirs */
  CHECK(t_app_for(&st, "gitlab", NULL, &g, &secret) == 0 && strcmp(g.id, c5.id) == 0);

  /* the secrets are not in the file in clear; client ids are (the scan works) */
  CHECK(on_disk("cid-github-one"));
  CHECK(!on_disk(GH_SECRET));
  CHECK(!on_disk(GH_SECRET2));

  /* update: set_secret and the default flag */
  g = c1;
  g.is_global_default = 1;
  snprintf(g.client_id, sizeof g.client_id, "cid-github-one-v2");
  CHECK(t_app_update(&st, &g, 1, GH_SECRET3, T0 + 100) == 0);
  CHECK(g.modified_ms == T0 + 100 && g.has_secret == 1);
  CHECK(sqldb_app_get(&st.q, c6.id, &g) == 0 && g.is_global_default == 0);
  CHECK(sqldb_app_get(&st.q, c1.id, &g) == 0 && g.is_global_default == 1 &&
        strcmp(g.client_id, "cid-github-one-v2") == 0 && g.modified_ms == T0 + 100 &&
        g.created_ms == T0);
  CHECK(t_app_for(&st, "github", NULL, &g, &secret) == 0 && strcmp(g.id, c1.id) == 0);
  CHECK_MEM(secret.ptr, secret.len, GH_SECRET3);
  secret.len = 0;
  CHECK(!on_disk(GH_SECRET3));
  /* without set_secret the secret stays */
  CHECK(t_app_update(&st, &g, 0, NULL, T0 + 200) == 0);
  CHECK(t_app_for(&st, "github", NULL, &g, &secret) == 0);
  CHECK_MEM(secret.ptr, secret.len, GH_SECRET3);
  secret.len = 0;
  /* set_secret with NULL removes it */
  CHECK(t_app_update(&st, &g, 1, NULL, T0 + 300) == 0);
  CHECK(g.has_secret == 0);
  CHECK(sqldb_app_get(&st.q, c1.id, &g) == 0 && g.has_secret == 0);
  CHECK(t_app_for(&st, "github", NULL, &g, &secret) == 0 && secret.len == 0);
  /* an update onto a taken (connector_slug, external_id), or an unknown id */
  g = c3;
  snprintf(g.external_id, sizeof g.external_id, "tenant-b");
  CHECK(t_app_update(&st, &g, 0, NULL, T0 + 400) == -EEXIST);
  CHECK(sqldb_app_get(&st.q, c3.id, &g) == 0 && strcmp(g.external_id, "tenant-a") == 0);
  g = c3;
  snprintf(g.id, sizeof g.id, "00000000-0000-4000-8000-000000000000");
  CHECK(t_app_update(&st, &g, 0, NULL, T0 + 400) == -ENOENT);

  /* a sealed secret moved to another row does not open there */
  snprintf(sql, sizeof sql,
           "UPDATE app_credentials SET client_secret = (SELECT client_secret FROM app_credentials "
           "WHERE id = '%s') WHERE id = '%s'",
           c6.id, c3.id);
  CHECK(exec(sql) == 0);
  CHECK(sqldb_app_get(&st.q, c3.id, &g) == 0 && g.has_secret == 1);
  secret.len = 0;
  CHECK(t_app_for(&st, "github", "tenant-a", &g, &secret) == -EIO);
  CHECK(secret.len == 0);

  /* list and delete */
  memset(&col, 0, sizeof col);
  CHECK(sqldb_app_list(&st.q, "github", count_app, &col) == 0);
  CHECK(col.n == 3);
  CHECK(strcmp(col.origin[0], "cid-github-one-v2") == 0 && strcmp(col.origin[1], "cid-tenant-a") == 0 &&
        strcmp(col.origin[2], "cid-tenant-b") == 0);
  memset(&col, 0, sizeof col);
  CHECK(sqldb_app_list(&st.q, NULL, count_app, &col) == 0 && col.n == 5);
  CHECK(sqldb_app_delete(&st.q, c3.id) == 0);
  CHECK(sqldb_app_delete(&st.q, c3.id) == -ENOENT);
  CHECK(sqldb_app_get(&st.q, c3.id, &g) == -ENOENT);
  /* its (connector, external_id) is free again */
  c2 = new_app("github", "cid-tenant-a-new", "tenant-a", 0);
  CHECK(t_app_create(&st, &c2, NULL, T0 + 600) == 0);

  dynbuf_free(&secret);
  t_close(&st);
  /* after close (the WAL checkpointed into the file): still not in clear */
  CHECK(on_disk("cid-github-one-v2"));
  CHECK(!on_disk(GH_SECRET) && !on_disk(GH_SECRET2) && !on_disk(GH_SECRET3));
}

/* ---- connected credentials ---- */

#define CRED_A "gho_alice_token_ABCDEFGHIJ"
#define CRED_B "xoxb-bob-token-KLMNOPQRST"

static void credentials(void) {
  dynbuf out;
  unsigned char other_key[SECRETBOX_KEY_BYTES];
  static const char binary[] = {'k', 0, 'e', 0, 'y', '\xff', '\n'};
  char sql[256];
  open_store();
  dynbuf_init(&out, 4096);

  CHECK(t_credential_put(&st, "alice", "github", "oauth2", CRED_A, strlen(CRED_A), T0) == 0);
  CHECK(t_credential_get(&st, "alice", "github", &out) == 0);
  CHECK_MEM(out.ptr, out.len, CRED_A);
  out.len = 0;
  CHECK(t_credential_get(&st, "alice", "slack", &out) == -ENOENT);
  CHECK(t_credential_get(&st, "nobody", "github", &out) == -ENOENT);
  CHECK(out.len == 0);
  /* replaced, not added */
  CHECK(t_credential_put(&st, "alice", "github", "oauth2", "newer", 5, T0 + 1) == 0);
  CHECK(t_credential_get(&st, "alice", "github", &out) == 0);
  CHECK_MEM(out.ptr, out.len, "newer");
  out.len = 0;
  CHECK(query_int("SELECT COUNT(*) FROM credentials WHERE user = 'alice'") == 1);
  CHECK(t_credential_put(&st, "alice", "github", "oauth2", CRED_A, strlen(CRED_A), T0 + 2) == 0);
  /* binary values, by length */
  CHECK(t_credential_put(&st, "carol-binary", "openai", "api_key", binary, sizeof binary, T0) ==
        0);
  CHECK(t_credential_get(&st, "carol-binary", "openai", &out) == 0);
  CHECK(out.len == sizeof binary && memcmp(out.ptr, binary, sizeof binary) == 0);
  out.len = 0;

  /* not in clear on disk; the user names are (the scan works) */
  CHECK(t_credential_put(&st, "bob", "slack", "api_key", CRED_B, strlen(CRED_B), T0) == 0);
  CHECK(on_disk("carol-binary"));
  CHECK(!on_disk(CRED_A) && !on_disk(CRED_B));
  CHECK(!on_disk("xoxb-bob"));
  CHECK(!on_disk("gho_alice"));

  /* alice's sealed credential copied into bob's row is not bob's */
  snprintf(sql, sizeof sql,
           "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE user = 'alice' AND "
           "connector = 'github') WHERE user = 'bob' AND connector = 'slack'");
  CHECK(exec(sql) == 0);
  CHECK(t_credential_get(&st, "bob", "slack", &out) == -EIO);
  CHECK(out.len == 0);
  /* nor alice's for another connector */
  CHECK(t_credential_put(&st, "alice", "slack", "api_key", "a-slack", 7, T0) == 0);
  CHECK(exec("UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE user = 'alice' "
             "AND connector = 'github') WHERE user = 'alice' AND connector = 'slack'") == 0);
  CHECK(t_credential_get(&st, "alice", "slack", &out) == -EIO);
  CHECK(out.len == 0);
  CHECK(t_credential_get(&st, "alice", "github", &out) == 0);
  CHECK_MEM(out.ptr, out.len, CRED_A);
  out.len = 0;
  t_close(&st);
  CHECK(!on_disk(CRED_A) && !on_disk(CRED_B));

  /* with another key nothing opens */
  memcpy(other_key, key, sizeof other_key);
  other_key[0] ^= 0x80;
  CHECK(t_open(&st, dir, other_key, err, sizeof err) == 0);
  CHECK(t_credential_get(&st, "alice", "github", &out) == -EIO);
  CHECK(out.len == 0);
  t_close(&st);
  open_store();
  CHECK(t_credential_get(&st, "alice", "github", &out) == 0);
  CHECK_MEM(out.ptr, out.len, CRED_A);
  dynbuf_free(&out);
  t_close(&st);
}

/* ---- links ---- */

#define LT1 "ltk_11111111111111111111111111111111"
#define LT2 "ltk_22222222222222222222222222222222"
#define LT3 "ltk_33333333333333333333333333333333"

typedef struct links_seen {
  store_link l[4];
  int n;
} links_seen;

static int keep_link(void *ctx, const store_link *l) {
  links_seen *s = ctx;
  if (s->n < 4)
    s->l[s->n] = *l;
  s->n++;
  return 0;
}

static void links(void) {
  store_link l1, l2, l3;
  links_seen s;
  collected c;
  open_store();
  CHECK(exec("DELETE FROM links") == 0);
  l1 = new_link(LT1, "alice", "slack", T0);
  l2 = new_link(LT2, "bob", "github", T0 + 10);
  snprintf(l2.callback_url, sizeof l2.callback_url, "https://app.example.com/cb?x=1");
  snprintf(l2.state, sizeof l2.state, "st-42");
  l2.pinned = 1;
  l2.expires_ms = T0 + 10 + 600000;
  l3 = new_link(LT3, "carol", "slack", T0 + 20);
  /* put in another order than created */
  CHECK(sqldb_link_put(&st.q, &l3) == 0);
  CHECK(sqldb_link_put(&st.q, &l1) == 0);
  CHECK(sqldb_link_put(&st.q, &l2) == 0);

  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3);
  CHECK(strcmp(s.l[0].token, LT1) == 0 && strcmp(s.l[1].token, LT2) == 0 &&
        strcmp(s.l[2].token, LT3) == 0); /* oldest first */
  CHECK(strcmp(s.l[1].user, "bob") == 0 && strcmp(s.l[1].connector, "github") == 0);
  CHECK(strcmp(s.l[1].callback_url, "https://app.example.com/cb?x=1") == 0);
  CHECK(strcmp(s.l[1].state, "st-42") == 0);
  CHECK(s.l[1].pinned == 1 && s.l[1].status == 0);
  CHECK(s.l[1].created_ms == T0 + 10 && s.l[1].expires_ms == T0 + 10 + 600000 && s.l[1].ended_ms == 0);
  CHECK(s.l[0].pinned == 0 && s.l[0].callback_url[0] == '\0' && s.l[0].state[0] == '\0');

  /* since: only later ones */
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, T0 + 5, keep_link, &s) == 0);
  CHECK(s.n == 2 && strcmp(s.l[0].token, LT2) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, T0 + 21, keep_link, &s) == 0);
  CHECK(s.n == 0);
  /* the callback stops it */
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  CHECK(t_link_each(&st, 0, count_link, &c) == 0 && c.n == 1);

  /* end */
  CHECK(sqldb_link_end(&st.q, LT1, 1 /* completed */, T0 + 100) == 0);
  CHECK(sqldb_link_end(&st.q, LT3, 3 /* revoked */, T0 + 300) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3 && s.l[0].status == 1 && s.l[0].ended_ms == T0 + 100);
  CHECK(s.l[1].status == 0 && s.l[1].ended_ms == 0);
  CHECK(s.l[2].status == 3 && s.l[2].ended_ms == T0 + 300);
  CHECK(strcmp(s.l[0].user, "alice") == 0 && s.l[0].created_ms == T0); /* the rest unchanged */

  /* put again: replaced by token, not added */
  l2.status = 2;
  l2.ended_ms = T0 + 200;
  CHECK(sqldb_link_put(&st.q, &l2) == 0);
  CHECK(query_int("SELECT COUNT(*) FROM links") == 3);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3 && s.l[1].status == 2 && s.l[1].ended_ms == T0 + 200);

  /* prune: links that ended before the time; pending ones stay */
  CHECK(sqldb_link_prune(&st.q, T0 + 100) == 0);
  CHECK(query_int("SELECT COUNT(*) FROM links") == 3);
  CHECK(sqldb_link_prune(&st.q, T0 + 101) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 2 && strcmp(s.l[0].token, LT2) == 0 && strcmp(s.l[1].token, LT3) == 0);
  l1 = new_link(LT1, "alice", "slack", T0 + 1000); /* pending, ended_ms 0 */
  CHECK(sqldb_link_put(&st.q, &l1) == 0);
  CHECK(sqldb_link_prune(&st.q, T0 + 1000000) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 1 && strcmp(s.l[0].token, LT1) == 0 && s.l[0].status == 0);
  t_close(&st);
}

/* ---- callback origins ---- */

typedef struct origins_seen {
  char o[4][64];
  uint64_t t[4];
  int n;
} origins_seen;

static int keep_origin(void *ctx, const char *origin, uint64_t created_ms) {
  origins_seen *s = ctx;
  if (s->n < 4) {
    snprintf(s->o[s->n], sizeof s->o[0], "%s", origin);
    s->t[s->n] = created_ms;
  }
  s->n++;
  return 0;
}

static void origins(void) {
  origins_seen s;
  open_store();
  CHECK(sqldb_origin_allowed(&st.q, "https://app.example.com") == -ENOENT);
  CHECK(sqldb_origin_add(&st.q, "https://app.example.com", T0) == 0);
  CHECK(sqldb_origin_add(&st.q, "https://app.example.com", T0 + 1) == -EEXIST);
  CHECK(sqldb_origin_allowed(&st.q, "https://app.example.com") == 0);
  CHECK(sqldb_origin_allowed(&st.q, "http://app.example.com") == -ENOENT);
  CHECK(sqldb_origin_allowed(&st.q, "https://app.example.com:8443") == -ENOENT);
  CHECK(sqldb_origin_allowed(&st.q, "https://app.example.com.evil.com") == -ENOENT);
  CHECK(sqldb_origin_add(&st.q, "http://127.0.0.1:3000", T0 + 2) == 0);
  memset(&s, 0, sizeof s);
  CHECK(sqldb_origin_list(&st.q, keep_origin, &s) == 0);
  CHECK(s.n == 2);
  CHECK(strcmp(s.o[0], "http://127.0.0.1:3000") == 0 && s.t[0] == T0 + 2);
  CHECK(strcmp(s.o[1], "https://app.example.com") == 0 && s.t[1] == T0);
  CHECK(sqldb_origin_delete(&st.q, "https://app.example.com") == 0);
  CHECK(sqldb_origin_allowed(&st.q, "https://app.example.com") == -ENOENT);
  CHECK(sqldb_origin_delete(&st.q, "https://app.example.com") == -ENOENT);
  memset(&s, 0, sizeof s);
  CHECK(sqldb_origin_list(&st.q, keep_origin, &s) == 0 && s.n == 1);
  t_close(&st);
}

/* ---- OAuth applications and tokens ---- */

static int count_oauth_app(void *ctx, const store_oauth_app *a) {
  collected *c = ctx;
  if (c->n < 8)
    snprintf(c->origin[c->n], sizeof c->origin[0], "%s", a->name);
  c->n++;
  return 0;
}

static void oauth_apps(void) {
  store_oauth_app a, b, got;
  char hash[65], wrong[65], thash[65], thash2[65];
  char scopes[512];
  collected c;
  open_store();
  memset(&a, 0, sizeof a);
  snprintf(a.name, sizeof a.name, "CI bot");
  snprintf(a.description, sizeof a.description, "runs the nightly sync");
  snprintf(a.scopes, sizeof a.scopes, "read:user write:user");
  crypto_sha256_hex("client-secret-ONE-abcdef", strlen("client-secret-ONE-abcdef"), hash);
  crypto_sha256_hex("client-secret-TWO-abcdef", strlen("client-secret-TWO-abcdef"), wrong);
  CHECK(t_oauth_app_create(&st, &a, hash, T0) == 0);
  CHECK(uuid_ok(a.id) && uuid_ok(a.client_id) && strcmp(a.id, a.client_id) != 0);
  CHECK(a.created_ms == T0);
  /* the name is unique */
  memset(&b, 0, sizeof b);
  snprintf(b.name, sizeof b.name, "CI bot");
  snprintf(b.scopes, sizeof b.scopes, "read:user");
  CHECK(t_oauth_app_create(&st, &b, wrong, T0 + 1) == -EEXIST);
  snprintf(b.name, sizeof b.name, "Dashboard");
  snprintf(b.redirect_uri, sizeof b.redirect_uri, "https://dash.example.com/cb");
  CHECK(t_oauth_app_create(&st, &b, wrong, T0 + 2) == 0);

  /* check: the right hash, the wrong one, an unknown client */
  memset(&got, 0, sizeof got);
  CHECK(sqldb_oauth_app_check(&st.q, a.client_id, hash, &got) == 0);
  CHECK(strcmp(got.id, a.id) == 0 && strcmp(got.name, "CI bot") == 0);
  CHECK(strcmp(got.scopes, "read:user write:user") == 0);
  CHECK(strcmp(got.description, "runs the nightly sync") == 0);
  CHECK(sqldb_oauth_app_check(&st.q, a.client_id, wrong, &got) == -ENOENT);
  CHECK(sqldb_oauth_app_check(&st.q, b.client_id, hash, &got) == -ENOENT);
  CHECK(sqldb_oauth_app_check(&st.q, b.client_id, wrong, &got) == 0 && strcmp(got.id, b.id) == 0);
  CHECK(sqldb_oauth_app_check(&st.q, "00000000-0000-4000-8000-000000000000", hash, &got) == -ENOENT);
  CHECK(sqldb_oauth_app_check(&st.q, a.client_id, "", &got) == -ENOENT);
  CHECK(sqldb_oauth_app_check(&st.q, a.client_id, "ab", &got) == -ENOENT);
  /* only the hash is kept */
  CHECK(on_disk(hash));
  CHECK(!on_disk("client-secret-ONE-abcdef"));

  memset(&c, 0, sizeof c);
  CHECK(sqldb_oauth_app_list(&st.q, count_oauth_app, &c) == 0);
  CHECK(c.n == 2 && strcmp(c.origin[0], "CI bot") == 0 && strcmp(c.origin[1], "Dashboard") == 0);

  /* tokens: scopes until expiry */
  crypto_sha256_hex("bearer-token-1", 14, thash);
  crypto_sha256_hex("bearer-token-2", 14, thash2);
  CHECK(sqldb_oauth_token_put(&st.q, thash, a.id, "read:user", T0 + 3600000) == 0);
  CHECK(sqldb_oauth_token_put(&st.q, thash2, b.id, "write:user", T0 + 3600000) == 0);
  memset(scopes, 0, sizeof scopes);
  CHECK(t_oauth_token_get(&st, thash, T0, scopes, sizeof scopes) == 0);
  CHECK(strcmp(scopes, "read:user") == 0);
  CHECK(t_oauth_token_get(&st, thash, T0 + 3600000 - 1, scopes, sizeof scopes) == 0);
  CHECK(t_oauth_token_get(&st, thash, T0 + 3600000, scopes, sizeof scopes) == -ENOENT);
  CHECK(t_oauth_token_get(&st, wrong, T0, scopes, sizeof scopes) == -ENOENT);
  CHECK(!on_disk("bearer-token-1"));
  /* deleting an app takes its tokens */
  CHECK(sqldb_oauth_app_delete(&st.q, a.id) == 0);
  CHECK(sqldb_oauth_app_delete(&st.q, a.id) == -ENOENT);
  CHECK(sqldb_oauth_app_check(&st.q, a.client_id, hash, &got) == -ENOENT);
  CHECK(t_oauth_token_get(&st, thash, T0, scopes, sizeof scopes) == -ENOENT);
  CHECK(t_oauth_token_get(&st, thash2, T0, scopes, sizeof scopes) == 0 &&
        strcmp(scopes, "write:user") == 0);
  t_close(&st);
}

/* Collects what a store_events_after / deliveries_due callback saw. */
typedef struct seen {
  char ids[8][40];
  char hooks[8][64];
  unsigned attempts[8];
  size_t n;
} seen;

static int collect(void *ctx, const store_event *e) {
  seen *sn = ctx;
  if (sn->n < 8) {
    snprintf(sn->ids[sn->n], sizeof sn->ids[0], "%s", e->id);
    snprintf(sn->hooks[sn->n], sizeof sn->hooks[0], "%s", e->hook != NULL ? e->hook : "");
    sn->attempts[sn->n] = e->attempts;
  }
  sn->n++;
  return 0;
}

static void events_and_outbox(void) {
  const char *both[] = {"http://a/hook", "http://b/hook"};
  const char *only_a[] = {"http://a/hook"};
  uint64_t seq1 = 0;
  uint64_t seq2 = 0;
  uint64_t seq3 = 0;
  uint64_t found = 0;
  size_t pending = 0;
  size_t dropped = 0;
  seen sn;
  open_store();
  CHECK(t_event_add(&st, "evt_1", "link_token", "u1", "{\"id\":\"evt_1\"}", T0, both, 2, &seq1) == 0);
  CHECK(t_event_add(&st, "evt_2", "auth_complete", "u2", "{\"id\":\"evt_2\"}", T0 + 1, only_a, 1,
                            &seq2) == 0);
  CHECK(t_event_add(&st, "evt_3", "link_expired", "u1", "{}", T0 + 2, NULL, 0, &seq3) == 0);
  CHECK(seq1 < seq2 && seq2 < seq3);
  CHECK(t_event_add(&st, "evt_1", "link_token", "u1", "{}", T0, NULL, 0, &found) == -EEXIST);
  CHECK(sqldb_event_seq(&st.q, "evt_2", &found) == 0 && found == seq2);
  CHECK(sqldb_event_seq(&st.q, "evt_none", &found) == -ENOENT);
  /* the log, in order, filtered by user */
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_events_after(&st.q, 0, NULL, 10, collect, &sn) == 0 && sn.n == 3);
  CHECK(strcmp(sn.ids[0], "evt_1") == 0 && strcmp(sn.ids[2], "evt_3") == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_events_after(&st.q, seq1, "u1", 10, collect, &sn) == 0 && sn.n == 1 &&
        strcmp(sn.ids[0], "evt_3") == 0);
  /* the outbox: 3 deliveries due, leased while in flight */
  CHECK(sqldb_deliveries_pending(&st.q, &pending) == 0 && pending == 3);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 10, T0 + 60000, 10, collect, &sn) == 0 && sn.n == 3);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 20, T0 + 60000, 10, collect, &sn) == 0 && sn.n == 0); /* leased */
  CHECK(sqldb_delivery_done(&st.q, seq1, "http://a/hook") == 0);
  CHECK(sqldb_delivery_retry(&st.q, seq1, "http://b/hook", 3, T0 + 1000) == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 999, T0 + 60000, 10, collect, &sn) == 0 && sn.n == 0);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 1000, T0 + 60000, 10, collect, &sn) == 0 && sn.n == 1);
  CHECK(strcmp(sn.hooks[0], "http://b/hook") == 0 && sn.attempts[0] == 3 && strcmp(sn.ids[0], "evt_1") == 0);
  CHECK(sqldb_deliveries_pending(&st.q, &pending) == 0 && pending == 2);
  /* a webhook no longer configured: its deliveries go */
  CHECK(sqldb_deliveries_keep_hooks(&st.q, only_a, 1, &dropped) == 0 && dropped == 1);
  CHECK(sqldb_deliveries_pending(&st.q, &pending) == 0 && pending == 1);
  /* pruning keeps events still owed to a webhook */
  CHECK(sqldb_events_prune(&st.q, T0 + 100) == 0);
  CHECK(sqldb_event_seq(&st.q, "evt_1", &found) == -ENOENT);
  CHECK(sqldb_event_seq(&st.q, "evt_2", &found) == 0); /* owed to http://a/hook */
  CHECK(sqldb_event_seq(&st.q, "evt_3", &found) == -ENOENT);
  t_close(&st);
}

/* ---- failed writes ---- */

/* Every write to a file past its first byte fails (EFBIG: SIGXFSZ is
 * ignored), as on a full disk; full 0 lifts that. */
static void disk_full(int full) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = full ? 1 : rl.rlim_max;
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static store_link a_link(const char *token) {
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

static int find_token(void *ctx, const store_link *l) {
  const char **want = ctx;
  if (strcmp(l->token, want[0]) == 0)
    want[1] = "found";
  return 0;
}

static int has_link(const char *token) {
  const char *want[2] = {token, NULL};
  CHECK(t_link_each(&st, 0, find_token, want) == 0);
  return want[1] != NULL;
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
  size_t i;
  for (i = 0; i < SECRETBOX_KEY_BYTES; i++)
    key[i] = (unsigned char)(0xa0 + i);
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(dbpath, sizeof dbpath, "%s/%s", dir, SQLDB_FILE);
  snprintf(walpath, sizeof walpath, "%s/%s-wal", dir, SQLDB_FILE);
  RUN(open_and_migrate);
  RUN(users);
  RUN(app_credentials);
  RUN(credentials);
  RUN(links);
  RUN(origins);
  RUN(oauth_apps);
  RUN(events_and_outbox);
  RUN(failed_writes);
  {
    char p[160];
    const char *files[] = {SQLDB_FILE, SQLDB_FILE "-wal", SQLDB_FILE "-shm"};
    for (i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s/%s", dir, files[i]);
      (void)unlink(p);
    }
    if (rmdir(dir) != 0)
      perror("rmdir");
  }
  return unit_report();
}
