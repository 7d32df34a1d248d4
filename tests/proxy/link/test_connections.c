/* test_connections: proxy/link/connections.c on a real SQLite store (in a
 * mkdtemp() directory, driven by a libuv loop) with a stand-in for the
 * provider: conn.refresh/revoke/cancel are replaced by functions that keep
 * the request until the test answers it, so every interleaving is chosen
 * by the test, never by timing.
 *
 * Covers: one refresh for many concurrent callers (single flight), all
 * answered with the refreshed token, none before the call returned, and
 * the next caller served from the store without a refresh; a refresh
 * token kept unless rotated, a rotated one stored; invalid_grant marks the
 * connection broken (and broken stays broken: no second refresh); a
 * reconnection while a refresh is in flight wins (the refresh's write is
 * refused by the row's version and the new row is read again); a refreshed
 * token the store cannot write is not handed out (-EIO) and the row is
 * unchanged; a failing provider: the current token while it is valid,
 * the error once it expired, and its refresh lease given up at once (the
 * next caller tries again without waiting); no connection (-ENOENT); an
 * API key; the waiters' cap; closing answers the waiters (-ECANCELED) and cancels the
 * request; deletion revokes the refresh token first when the catalog has
 * a revocation_url.
 *
 * The refresh lease (single flight across replicas; the other replica is
 * played by the test, claiming the row's lease through the store): a
 * flight that finds it held hands out a still-valid token at once and
 * never refreshes; with an expired token it waits, re-reading the row
 * (lease timer) until the other replica's refreshed token is there (no
 * refresh of its own), or until the lease of a holder that never came
 * back ends: then it claims the lease and refreshes, once.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "connections.h"
#include "linkhost.h"
#include "linkseal.h"
#include "timefmt.h"
#include "unit.h"

static char dir[] = "/tmp/test_connections.XXXXXX";
static uv_loop_t loop;
static linkhost_t lh;
static catalog_t cat;

/* the stand-in provider: one request at a time */
static struct {
  int refreshes;
  int revokes;
  int cancels;
  oauth2_done_cb cb;
  void *ctx;
  char token[256]; /* the refresh (or revoked) token sent */
  char hint[32];
} prov;

static int fake_refresh(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                        const char *refresh_token, long timeout_ms, oauth2_done_cb cb, void *ctx, oauth2_req **out) {
  (void)cl;
  (void)cc;
  (void)client;
  (void)timeout_ms;
  prov.refreshes++;
  prov.cb = cb;
  prov.ctx = ctx;
  snprintf(prov.token, sizeof prov.token, "%s", refresh_token);
  *out = (oauth2_req *)&prov;
  return 0;
}

static int fake_revoke(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client, const char *token,
                       const char *hint, long timeout_ms, oauth2_done_cb cb, void *ctx, oauth2_req **out) {
  (void)cl;
  (void)cc;
  (void)client;
  (void)timeout_ms;
  prov.revokes++;
  prov.cb = cb;
  prov.ctx = ctx;
  snprintf(prov.token, sizeof prov.token, "%s", token);
  snprintf(prov.hint, sizeof prov.hint, "%s", hint != NULL ? hint : "");
  *out = (oauth2_req *)&prov;
  return 0;
}

static void fake_cancel(oauth2_req *r) {
  CHECK(r == (oauth2_req *)&prov);
  prov.cancels++;
  prov.cb = NULL;
}

/* The provider answers the request it holds. */
static void provider_answers(int status, const char *access, const char *refresh, long expires_in) {
  oauth2_token tok;
  oauth2_done_cb cb = prov.cb;
  memset(&tok, 0, sizeof tok);
  snprintf(tok.access_token, sizeof tok.access_token, "%s", access != NULL ? access : "");
  snprintf(tok.refresh_token, sizeof tok.refresh_token, "%s", refresh != NULL ? refresh : "");
  snprintf(tok.token_type, sizeof tok.token_type, "Bearer");
  tok.expires_in = expires_in;
  tok.http_status = status == 0 ? 200 : 400;
  CHECK(cb != NULL);
  prov.cb = NULL;
  if (cb != NULL)
    cb(prov.ctx, status, &tok);
}

/* what the callers got */
#define CALLERS 8
static struct {
  int returned; /* the calls have returned */
  int early;    /* answers before that */
  int answers;
  int status[CALLERS];
  char secret[CALLERS][64];
  char kind[8];
  uint64_t expires_ms;
  char scopes[64];
} got;

static void on_token(void *data, int status, const connections_cred *t) {
  int i = (int)(intptr_t)data;
  if (!got.returned)
    got.early++;
  got.answers++;
  if (i < CALLERS) {
    got.status[i] = status;
    snprintf(got.secret[i], sizeof got.secret[i], "%s", status == 0 ? t->secret : "");
  }
  if (status == 0) {
    snprintf(got.kind, sizeof got.kind, "%s", t->kind);
    snprintf(got.scopes, sizeof got.scopes, "%s", t->scopes);
    got.expires_ms = t->expires_ms;
  }
}

static void reset(void) {
  memset(&got, 0, sizeof got);
}

/* n callers ask for user's token; the loop runs until nothing is left
 * but (maybe) the provider's request. */
static void ask(const char *user, const char *connector, int n) {
  int i;
  reset();
  for (i = 0; i < n; i++)
    CHECK(connections_token(&lh.conns, user, connector, on_token, (void *)(intptr_t)i) == 0);
  got.returned = 1;
  CHECK(got.answers == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static int stored_status;
static store_credential stored;
static char stored_plain[4096];

static void on_done(void *data, int status) {
  (void)data;
  stored_status = status;
}

static void on_stored(void *data, int status, const store_credential *c, const store_blob *sealed) {
  dynbuf plain;
  (void)data;
  stored_status = status;
  stored_plain[0] = '\0';
  if (status != 0)
    return;
  stored = *c;
  dynbuf_init(&plain, sizeof stored_plain - 1);
  if (linkseal_credential_open(lh.key, "u", c->connector, sealed, &plain) == 0 && plain.ptr != NULL) {
    memcpy(stored_plain, plain.ptr, plain.len);
    stored_plain[plain.len] = '\0';
  }
  dynbuf_free(&plain);
}

/* The row of user for connector, its secret opened (the tests' user is "u"). */
static void read_row(const char *user, const char *connector) {
  stored_status = 1;
  CHECK(lh.store.ops->credential_get(&lh.store, user, connector, on_stored, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
}

/* Stores a credential for user: an OAuth2 token response, or a key. */
static void store_connection(const char *user, const char *connector, const char *kind, const char *secret,
                             uint64_t expires_ms) {
  dynbuf sealed;
  store_blob b;
  dynbuf_init(&sealed, 65536);
  CHECK(linkseal_credential(lh.key, user, connector, secret, strlen(secret), &sealed) == 0);
  b = linkseal_blob(&sealed);
  stored_status = 1;
  CHECK(lh.store.ops->credential_put(&lh.store, user, connector, kind, &b, expires_ms, timefmt_now_ms(), on_done,
                                     NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(stored_status == 0);
  dynbuf_free(&sealed);
}

#define EXPIRING() (timefmt_now_ms() + 10000) /* within the refresh margin */
#define FAR() (timefmt_now_ms() + 3600000)

static void single_flight(void) {
  int i;
  prov.refreshes = 0;
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"a1\",\"refresh_token\":\"r1\",\"expires_in\":10}",
                   EXPIRING());
  ask("u", "acme", 5);
  CHECK(prov.refreshes == 1 && strcmp(prov.token, "r1") == 0);
  CHECK(got.answers == 0 && lh.conns.waiting == 5);
  provider_answers(0, "a2", NULL, 3600);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.answers == 5 && got.early == 0 && lh.conns.waiting == 0 && lh.conns.nflights == 0);
  for (i = 0; i < 5; i++)
    CHECK(got.status[i] == 0 && strcmp(got.secret[i], "a2") == 0);
  CHECK(strcmp(got.kind, "oauth2") == 0 && strcmp(got.scopes, "crm.read crm.write") == 0);
  CHECK(got.expires_ms > FAR() - 60000 && got.expires_ms <= FAR());
  read_row("u", "acme"); /* sealed and written before anyone was answered; the refresh token kept */
  CHECK(stored.version == 2 && stored.expires_ms == got.expires_ms && strstr(stored_plain, "\"a2\"") != NULL &&
        strstr(stored_plain, "\"r1\"") != NULL);
  ask("u", "acme", 1); /* fresh now: from the store, no refresh */
  CHECK(got.answers == 1 && got.status[0] == 0 && strcmp(got.secret[0], "a2") == 0 && prov.refreshes == 1);
  CHECK(lh.conns.refreshes == 1);
  /* a rotated refresh token replaces the old one */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"a3\",\"refresh_token\":\"r3\",\"expires_in\":10}",
                   EXPIRING());
  ask("u", "acme", 1);
  provider_answers(0, "a4", "r4", 30);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.status[0] == 0 && strcmp(got.secret[0], "a4") == 0);
  read_row("u", "acme");
  CHECK(strstr(stored_plain, "\"r4\"") != NULL && strstr(stored_plain, "\"r3\"") == NULL);
}

static void broken(void) {
  int refreshes = prov.refreshes;
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"b1\",\"refresh_token\":\"rb\",\"expires_in\":10}",
                   EXPIRING());
  ask("u", "acme", 3);
  provider_answers(-EKEYREJECTED, NULL, NULL, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.answers == 3 && got.status[0] == -ENOLINK && got.status[2] == -ENOLINK);
  read_row("u", "acme");
  CHECK(stored.broken == 1);
  ask("u", "acme", 1); /* broken stays broken: no second refresh */
  CHECK(got.answers == 1 && got.status[0] == -ENOLINK && prov.refreshes == refreshes + 1 && prov.cb == NULL);
  CHECK(lh.conns.broken == 1);
}

static void reconnected_during_refresh(void) {
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"c1\",\"refresh_token\":\"rc\",\"expires_in\":10}",
                   EXPIRING());
  ask("u", "acme", 2);
  CHECK(prov.cb != NULL);
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"new-connection\",\"expires_in\":3600}", FAR());
  provider_answers(0, "stale", NULL, 3600);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.answers == 2 && got.status[0] == 0 && strcmp(got.secret[0], "new-connection") == 0 &&
        strcmp(got.secret[1], "new-connection") == 0);
  read_row("u", "acme");
  CHECK(strstr(stored_plain, "new-connection") != NULL && strstr(stored_plain, "stale") == NULL);
}

/* The other replica: claims the refresh lease of user's row (at the
 * version stored) until now + ms, as a replica refreshing it would. */
static void other_replica_leases(const char *user, const char *connector, uint64_t ms) {
  uint64_t now = timefmt_now_ms();
  read_row(user, connector);
  stored_status = 1;
  CHECK(lh.store.ops->credential_lease(&lh.store, user, connector, stored.version, now, now + ms, on_done, NULL) ==
        0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(stored_status == 0);
}

static void another_replica_refreshes(void) {
  int refreshes = prov.refreshes;
  uint64_t waits = lh.conns.lease_waits;
  dynbuf sealed;
  store_blob b;
  const char *theirs = "{\"access_token\":\"theirs\",\"refresh_token\":\"r-theirs\",\"expires_in\":3600}";
  /* still valid: handed out at once, nobody waits, no second refresh */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"h1\",\"refresh_token\":\"rh\",\"expires_in\":10}",
                   EXPIRING());
  other_replica_leases("u", "acme", 60000);
  ask("u", "acme", 2);
  CHECK(got.answers == 2 && got.status[0] == 0 && strcmp(got.secret[1], "h1") == 0);
  CHECK(prov.refreshes == refreshes && prov.cb == NULL && lh.conns.lease_waits == waits);
  /* expired: the callers wait for the other replica's token */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"h2\",\"refresh_token\":\"rh\"}",
                   timefmt_now_ms() - 1000);
  other_replica_leases("u", "acme", 60000);
  reset();
  CHECK(connections_token(&lh.conns, "u", "acme", on_token, (void *)0) == 0);
  CHECK(connections_token(&lh.conns, "u", "acme", on_token, (void *)1) == 0);
  got.returned = 1;
  while (lh.conns.lease_waits == waits && uv_run(&loop, UV_RUN_ONCE) != 0)
    ;
  CHECK(lh.conns.lease_waits == waits + 1 && got.answers == 0 && prov.refreshes == refreshes);
  /* ... which stores it (and so ends its lease) */
  dynbuf_init(&sealed, 65536);
  CHECK(linkseal_credential(lh.key, "u", "acme", theirs, strlen(theirs), &sealed) == 0);
  b = linkseal_blob(&sealed);
  CHECK(lh.store.ops->credential_update(&lh.store, "u", "acme", stored.version, &b, FAR(), timefmt_now_ms(), on_done,
                                        NULL) == 0);
  dynbuf_free(&sealed);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.answers == 2 && got.early == 0 && got.status[0] == 0 && strcmp(got.secret[0], "theirs") == 0 &&
        strcmp(got.secret[1], "theirs") == 0);
  CHECK(prov.refreshes == refreshes && lh.conns.nflights == 0 && lh.conns.waiting == 0);
  /* the holder died mid-refresh: its lease ends, then this flight claims it and refreshes, once */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"h3\",\"refresh_token\":\"rh3\"}",
                   timefmt_now_ms() - 1000);
  other_replica_leases("u", "acme", 300);
  ask("u", "acme", 1); /* runs until the provider holds the request */
  CHECK(lh.conns.lease_waits == waits + 2 && got.answers == 0);
  CHECK(prov.refreshes == refreshes + 1 && strcmp(prov.token, "rh3") == 0);
  provider_answers(0, "after-lease", "rh4", 3600);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.answers == 1 && got.status[0] == 0 && strcmp(got.secret[0], "after-lease") == 0);
  read_row("u", "acme");
  CHECK(strstr(stored_plain, "\"rh4\"") != NULL);
  /* the lease ended with that write: the next refresh is not held up */
  other_replica_leases("u", "acme", 60000);
}

static void disk_full(int full) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = full ? 1 : rl.rlim_max;
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void unsaved_token_not_handed_out(void) {
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"d1\",\"refresh_token\":\"rd\",\"expires_in\":10}",
                   EXPIRING());
  read_row("u", "acme");
  ask("u", "acme", 2);
  disk_full(1);
  provider_answers(0, "never-saved", "rd2", 3600);
  uv_run(&loop, UV_RUN_DEFAULT);
  disk_full(0);
  CHECK(got.answers == 2 && got.status[0] == -EIO && got.status[1] == -EIO && got.early == 0);
  CHECK(lh.store.ops->probe(&lh.store, on_done, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  {
    uint64_t version = stored.version;
    read_row("u", "acme");
    CHECK(stored.version == version && strstr(stored_plain, "\"d1\"") != NULL &&
          strstr(stored_plain, "never-saved") == NULL);
  }
}

static void failing_provider(void) {
  /* the current token is still valid: handed out, the refresh tried again next time */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"e1\",\"refresh_token\":\"re\",\"expires_in\":10}",
                   EXPIRING());
  ask("u", "acme", 1);
  provider_answers(-EAGAIN, NULL, NULL, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.status[0] == 0 && strcmp(got.secret[0], "e1") == 0);
  other_replica_leases("u", "acme", 60000); /* the failed refresh gave its lease up: free at once */
  /* expired: the provider's error */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"e2\",\"refresh_token\":\"re\"}",
                   timefmt_now_ms() - 1000);
  ask("u", "acme", 1);
  provider_answers(-ETIMEDOUT, NULL, NULL, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(got.status[0] == -ETIMEDOUT);
  {
    uint64_t waits = lh.conns.lease_waits;
    int refreshes = prov.refreshes;
    ask("u", "acme", 1); /* the next caller tries again at once, nothing to wait for */
    CHECK(prov.refreshes == refreshes + 1 && lh.conns.lease_waits == waits && got.answers == 0);
    provider_answers(-ETIMEDOUT, NULL, NULL, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(got.status[0] == -ETIMEDOUT);
  }
  /* expired without a refresh token: a new link is needed */
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"e3\"}", timefmt_now_ms() - 1000);
  ask("u", "acme", 1);
  CHECK(got.status[0] == -EKEYEXPIRED && prov.cb == NULL);
}

static void api_key_and_none(void) {
  store_connection("u", "keyed", "api_key", "sk-test-123", 0);
  ask("u", "keyed", 1);
  CHECK(got.status[0] == 0 && strcmp(got.secret[0], "sk-test-123") == 0 && strcmp(got.kind, "api_key") == 0 &&
        got.expires_ms == 0);
  ask("nobody", "keyed", 1);
  CHECK(got.answers == 1 && got.status[0] == -ENOENT);
}

static void caps_and_close(void) {
  int i;
  store_connection("u", "acme", "oauth2", "{\"access_token\":\"f1\",\"refresh_token\":\"rf\",\"expires_in\":10}",
                   EXPIRING());
  reset();
  for (i = 0; i < CONNECTIONS_WAITERS_MAX; i++)
    CHECK(connections_token(&lh.conns, "u", "acme", on_token, (void *)(intptr_t)CALLERS) == 0);
  CHECK(connections_token(&lh.conns, "u", "acme", on_token, NULL) == -EBUSY);
  got.returned = 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(prov.cb != NULL && got.answers == 0);
  connections_close(&lh.conns);
  CHECK(prov.cancels == 1 && got.answers == CONNECTIONS_WAITERS_MAX && lh.conns.waiting == 0);
  CHECK(connections_token(&lh.conns, "u", "acme", on_token, NULL) == -ECANCELED);
  lh.conns.closing = 0;
}

static int deleted_status;

static void on_deleted(void *data, int status) {
  (void)data;
  deleted_status = status;
}

static void delete_revokes(void) {
  store_connection("u", "revocable", "oauth2", "{\"access_token\":\"g1\",\"refresh_token\":\"rg\",\"expires_in\":3600}",
                   FAR());
  deleted_status = 1;
  CHECK(connections_delete(&lh.conns, "u", "revocable", on_deleted, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(prov.revokes == 1 && strcmp(prov.token, "rg") == 0 && strcmp(prov.hint, "refresh_token") == 0);
  CHECK(deleted_status == 1); /* nothing deleted before the provider answered */
  provider_answers(0, NULL, NULL, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(deleted_status == 0);
  read_row("u", "revocable");
  CHECK(stored_status == -ENOENT);
  CHECK(connections_delete(&lh.conns, "u", "revocable", on_deleted, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(deleted_status == -ENOENT && prov.revokes == 1);
  /* a revocation that fails: logged and counted, the row deleted all the same */
  store_connection("u", "revocable", "oauth2", "{\"access_token\":\"g2\",\"expires_in\":3600}", FAR());
  deleted_status = 1;
  CHECK(connections_delete(&lh.conns, "u", "revocable", on_deleted, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(prov.revokes == 2 && strcmp(prov.token, "g2") == 0 && strcmp(prov.hint, "access_token") == 0);
  provider_answers(-ECONNREFUSED, NULL, NULL, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(deleted_status == 0 && lh.conns.revocations_failed == 1);
  read_row("u", "revocable");
  CHECK(stored_status == -ENOENT);
  /* no revocation_url: deleted at once */
  store_connection("u", "keyed", "api_key", "sk-x", 0);
  CHECK(connections_delete(&lh.conns, "u", "keyed", on_deleted, NULL) == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(deleted_status == 0 && prov.revokes == 2);
}

static void on_app(void *data, int status, const store_app_credential *c, const store_blob *secret) {
  (void)data;
  (void)c;
  (void)secret;
  stored_status = status;
}

static void setup(void) {
  char path[256];
  char spec[300];
  char err[256];
  FILE *f;
  store_app_credential app;
  const char *slugs[] = {"acme", "revocable"};
  size_t i;
  snprintf(path, sizeof path, "%s/connectors.json", dir);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("{\"connectors\": [{\"slug\": \"acme\", \"name\": \"Acme\", \"auth\": \"oauth2\", \"authorize_url\": "
        "\"http://127.0.0.1:1/authorize\", \"token_url\": \"http://127.0.0.1:1/token\", \"scopes\": \"crm.read "
        "crm.write\"}, {\"slug\": \"revocable\", \"name\": \"R\", \"auth\": \"oauth2\", \"authorize_url\": "
        "\"http://127.0.0.1:1/authorize\", \"token_url\": \"http://127.0.0.1:1/token\", \"revocation_url\": "
        "\"http://127.0.0.1:1/revoke\"}, {\"slug\": \"keyed\", \"name\": \"K\", \"auth\": \"api_key\"}]}",
        f);
  fclose(f);
  CHECK(catalog_load(&cat, path, err, sizeof err) == 0);
  snprintf(spec, sizeof spec, "sqlite:%s/authrelay.db", dir);
  CHECK(store_open(&lh.store, &loop, spec) == 0);
  memset(lh.key, 7, sizeof lh.key);
  lh.loop = &loop;
  lh.catalog = &cat;
  connections_init(&lh.conns, &lh);
  lh.conns.refresh = fake_refresh;
  lh.conns.revoke = fake_revoke;
  lh.conns.cancel = fake_cancel;
  for (i = 0; i < 2; i++) {
    memset(&app, 0, sizeof app);
    snprintf(app.id, sizeof app.id, "00000000-0000-4000-8000-00000000000%zu", i + 1);
    snprintf(app.connector_slug, sizeof app.connector_slug, "%s", slugs[i]);
    snprintf(app.client_id, sizeof app.client_id, "client-%zu", i);
    CHECK(lh.store.ops->app_create(&lh.store, &app, NULL, on_app, NULL) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(stored_status == 0);
  }
}

int main(void) {
  char cmd[300];
  signal(SIGXFSZ, SIG_IGN);
  if (mkdtemp(dir) == NULL || uv_loop_init(&loop) != 0) {
    perror("setup");
    return 2;
  }
  setup();
  RUN(single_flight);
  RUN(broken);
  RUN(reconnected_during_refresh);
  RUN(another_replica_refreshes);
  RUN(unsaved_token_not_handed_out);
  RUN(failing_provider);
  RUN(api_key_and_none);
  RUN(caps_and_close);
  RUN(delete_revokes);
  store_close(&lh.store, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  catalog_free(&cat);
  (void)uv_loop_close(&loop);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  return unit_report();
}
