/* test_store: store.h's table of asynchronous operations, one suite run
 * against both backends, driven by a real libuv loop:
 *   test_store [sqlite]   the embedded SQLite store, in a mkdtemp() directory
 *   test_store postgres   the PostgreSQL store on PG_URL (under
 *                         tests/pg/pgcluster.py), in a database of its own
 *
 * Shared: store_open's specs; every operation of the table, with its
 * results and errors; that no callback runs before its operation returned
 * (and, for SQLite, none inside a transaction: autocommit is on in every
 * callback); that operations complete in the order they were started and
 * one started from a callback completes later, not inside it; that a list
 * over STORE_LIST_MAX rows is refused (-E2BIG) rather than cut; that sealed
 * blobs come back byte for byte (the store never sees plaintext); a
 * credential's refresh lease: one holder at a time, ended by its time, by
 * the next write of the row or by its holder, never claimed over another
 * version; that
 * store_close() completes the operations still queued with -ECANCELED
 * before its own callback, and refuses new ones.
 *
 * SQLite only (test_store_sqlite.h): a write on a full file system
 * (RLIMIT_FSIZE) is reported (-EIO, health.cannot_write, write_errors) and
 * not acknowledged: a batch of links is all lost, the probe brings the
 * store back, and only what was acknowledged is there after reopening.
 *
 * PostgreSQL only (test_store_pg.h): replicas opening one new database at
 * once migrate it once; an unreachable server and a lock held past
 * store_timeout give -ETIMEDOUT; a server restarted under a write in flight
 * fails it (-EIO, never acknowledged), and the store reconnects by itself;
 * NOTIFY through one store reaches another's LISTEN, which asks for a
 * re-read after every reconnect.
 */
#include "store_suite.h"

/* ---- open ---- */

static void open_specs(void) {
  store_t s;
  char path[300];
  CHECK(store_open(&s, &loop, "") == -EINVAL && s.error[0] != '\0' && s.ops == NULL);
  CHECK(store_open(&s, &loop, "sqlite:") == -EINVAL);
  /* a URL libpq cannot parse: refused at once, its text (which could hold
   * a password) not quoted */
  CHECK(store_open(&s, &loop, "postgresql://u:sekrit@db.example/authrelay?nonsense=1") == -EINVAL &&
        s.ops == NULL && s.error[0] != '\0' && strstr(s.error, "sekrit") == NULL);
  if (pg)
    return; /* the rest opens SQLite files */
  snprintf(path, sizeof path, "%s/nope/x.db", dir);
  CHECK(store_open(&s, &loop, path) == -EIO && s.ops == NULL);
  snprintf(path, sizeof path, "%s/plain.db", dir);
  CHECK(store_open(&s, &loop, path) == 0 && s.ops != NULL && s.schema_version == 4);
  closed = 0;
  store_close(&s, on_closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 1 && s.ops == NULL);
  memset(&s, 0, sizeof s);
  closed = 0;
  store_close(&s, on_closed); /* a zeroed store: at once */
  CHECK(closed == 1);
  (void)unlink(path);
}

/* ---- registered users ---- */

static void users(void) {
  store_user u = a_user(UID(1), "alice", T0);
  store_user b = a_user(UID(2), "bob", T0 + 1);
  open_store();
  CALL(st.ops->user_create(&st, &u, on_user, NULL));
  CHECK(r.status == 0 && strcmp(r.user.id, UID(1)) == 0);
  CALL(st.ops->user_create(&st, &b, on_user, NULL));
  u = a_user(UID(3), "alice", T0 + 2);
  CALL(st.ops->user_create(&st, &u, on_user, NULL));
  CHECK(r.status == -EEXIST && strcmp(r.user.id, UID(1)) == 0); /* the existing one */
  CALL(st.ops->user_get(&st, UID(2), on_user, NULL));
  CHECK(r.status == 0 && strcmp(r.user.origin_user_id, "bob") == 0 && r.user.created_ms == T0 + 1);
  CALL(st.ops->user_get(&st, UID(9), on_user, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->user_by_origin(&st, "alice", on_user, NULL));
  CHECK(r.status == 0 && strcmp(r.user.id, UID(1)) == 0);
  u = a_user(UID(1), "alice", T0);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "Alice Liddell");
  u.is_test = 1;
  CALL(st.ops->user_update(&st, &u, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->user_get(&st, UID(1), on_user, NULL));
  CHECK(strcmp(r.user.origin_user_name, "Alice Liddell") == 0 && r.user.is_test == 1);
  u = a_user(UID(8), "nobody", T0);
  CALL(st.ops->user_update(&st, &u, on_done, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->user_list(&st, NULL, 0, 10, on_users, NULL));
  CHECK(r.status == 0 && r.n == 2 && r.total == 2 && strcmp(r.first, "alice") == 0 && strcmp(r.last, "bob") == 0);
  CALL(st.ops->user_list(&st, NULL, 1, 10, on_users, NULL));
  CHECK(r.n == 1 && r.total == 2 && strcmp(r.first, "bob") == 0);
  CALL(st.ops->user_list(&st, "bob", 0, 10, on_users, NULL));
  CHECK(r.n == 1 && r.total == 1);
  {
    store_blob b1 = {"sealed-gh", 9};
    store_link l = a_link("ltk_alice", "alice", T0);
    CALL(st.ops->credential_put(&st, "alice", "github", "oauth2", &b1, 0, T0, on_done, NULL));
    CALL(st.ops->credential_put(&st, "alice", "slack", "api_key", &b1, 0, T0, on_done, NULL));
    CALL(st.ops->link_put(&st, &l, 1, on_done, NULL));
  }
  CALL(st.ops->user_connectors(&st, "alice", on_names, NULL));
  CHECK(r.status == 0 && r.n == 2 && strcmp(r.first, "github") == 0 && strcmp(r.last, "slack") == 0);
  CALL(st.ops->user_delete(&st, UID(1), on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->user_delete(&st, UID(1), on_done, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->user_connectors(&st, "alice", on_names, NULL)); /* its credentials went with it */
  CHECK(r.status == 0 && r.n == 0);
  CALL(st.ops->link_get(&st, "ltk_alice", on_link, NULL)); /* and its links */
  CHECK(r.status == -ENOENT);
  close_store();
}

/* ---- application credentials and connected credentials ---- */

static void credentials(void) {
  store_app_credential c;
  store_blob sealed = {"\x01nonce-and-ciphertext\x00tail", 27};
  open_store();
  memset(&c, 0, sizeof c);
  snprintf(c.id, sizeof c.id, UID(1));
  snprintf(c.connector_slug, sizeof c.connector_slug, "github");
  snprintf(c.client_id, sizeof c.client_id, "gh-client");
  c.is_global_default = 1;
  c.created_ms = c.modified_ms = T0;
  CALL(st.ops->app_create(&st, &c, &sealed, on_app, NULL));
  CHECK(r.status == 0 && r.app.has_secret == 1);
  CALL(st.ops->app_create(&st, &c, NULL, on_app, NULL));
  CHECK(r.status == -EEXIST); /* same id, same (slug, no external_id) */
  snprintf(c.id, sizeof c.id, UID(2));
  snprintf(c.client_id, sizeof c.client_id, "gh-tenant");
  c.has_external_id = 1;
  snprintf(c.external_id, sizeof c.external_id, "tenant-a");
  c.is_global_default = 0;
  CALL(st.ops->app_create(&st, &c, NULL, on_app, NULL));
  CHECK(r.status == 0 && r.app.has_secret == 0);
  CALL(st.ops->app_get(&st, UID(2), on_app, NULL));
  CHECK(r.status == 0 && strcmp(r.app.external_id, "tenant-a") == 0 && !r.has_blob);
  CALL(st.ops->app_get(&st, UID(9), on_app, NULL));
  CHECK(r.status == -ENOENT);
  /* the Link page's pick, with its sealed secret byte for byte */
  CALL(st.ops->app_for(&st, "github", NULL, on_app, NULL));
  CHECK(r.status == 0 && strcmp(r.app.id, UID(1)) == 0 && r.has_blob && r.blob_len == sealed.len &&
        memcmp(r.blob, sealed.ptr, sealed.len) == 0);
  CALL(st.ops->app_for(&st, "github", "tenant-a", on_app, NULL));
  CHECK(r.status == 0 && strcmp(r.app.id, UID(2)) == 0 && !r.has_blob);
  CALL(st.ops->app_for(&st, "slack", NULL, on_app, NULL));
  CHECK(r.status == -ENOENT);
  /* update: the row as stored comes back */
  snprintf(c.client_id, sizeof c.client_id, "gh-tenant-2");
  c.modified_ms = T0 + 5;
  CALL(st.ops->app_update(&st, &c, 1, &sealed, on_app, NULL));
  CHECK(r.status == 0 && strcmp(r.app.client_id, "gh-tenant-2") == 0 && r.app.has_secret == 1 &&
        r.app.modified_ms == T0 + 5);
  CALL(st.ops->app_update(&st, &c, 1, NULL, on_app, NULL)); /* secret removed */
  CHECK(r.status == 0 && r.app.has_secret == 0);
  snprintf(c.id, sizeof c.id, UID(9));
  CALL(st.ops->app_update(&st, &c, 0, NULL, on_app, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->app_list(&st, "github", on_apps, NULL));
  CHECK(r.status == 0 && r.n == 2 && strcmp(r.first, "gh-client") == 0);
  CALL(st.ops->app_list(&st, "gitlab", on_apps, NULL));
  CHECK(r.status == 0 && r.n == 0);
  CALL(st.ops->app_delete(&st, UID(2), on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->app_delete(&st, UID(2), on_done, NULL));
  CHECK(r.status == -ENOENT);
  /* connected credentials: blobs in, the same blobs out */
  CALL(st.ops->credential_put(&st, "carol", "openai", "api_key", &sealed, 0, T0, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_get(&st, "carol", "openai", on_credential, NULL));
  CHECK(r.status == 0 && r.blob_len == sealed.len && memcmp(r.blob, sealed.ptr, sealed.len) == 0);
  CHECK(strcmp(r.credential.connector, "openai") == 0 && strcmp(r.credential.kind, "api_key") == 0);
  CHECK(r.credential.version == 1 && r.credential.broken == 0 && r.credential.created_ms == T0 &&
        r.credential.modified_ms == T0 && r.credential.expires_ms == 0);
  CALL(st.ops->credential_get(&st, "carol", "github", on_credential, NULL));
  CHECK(r.status == -ENOENT && !r.has_blob);
  CHECK(st.ops->credential_put(&st, "carol", "x", "api_key", NULL, 0, T0, on_done, NULL) == -EINVAL);
  {
    store_blob fresh = {"sealed-refreshed", 16};
    CALL(st.ops->credential_put(&st, "carol", "github", "oauth2", &sealed, T0 + 3600000, T0, on_done, NULL));
    CALL(st.ops->credential_list(&st, "carol", on_credentials, NULL));
    CHECK(r.status == 0 && r.n == 2 && strcmp(r.first, "github") == 0 && strcmp(r.last, "openai") == 0);
    CALL(st.ops->credential_list(&st, "nobody", on_credentials, NULL));
    CHECK(r.status == 0 && r.n == 0);
    /* a refresh writes only over the version it read */
    CALL(st.ops->credential_update(&st, "carol", "github", 1, &fresh, T0 + 7200000, T0 + 5, on_done, NULL));
    CHECK(r.status == 0);
    CALL(st.ops->credential_update(&st, "carol", "github", 1, &fresh, T0 + 9, T0 + 6, on_done, NULL));
    CHECK(r.status == -ENOENT);
    CHECK(st.ops->credential_update(&st, "carol", "github", 2, NULL, 0, T0, on_done, NULL) == -EINVAL);
    CALL(st.ops->credential_get(&st, "carol", "github", on_credential, NULL));
    CHECK(r.status == 0 && r.blob_len == 16 && memcmp(r.blob, "sealed-refreshed", 16) == 0);
    CHECK(r.credential.version == 2 && r.credential.expires_ms == T0 + 7200000 &&
          r.credential.modified_ms == T0 + 5 && r.credential.created_ms == T0);
    CALL(st.ops->credential_set_status(&st, "carol", "github", 2, 1, T0 + 7, on_done, NULL));
    CHECK(r.status == 0);
    CALL(st.ops->credential_set_status(&st, "carol", "github", 2, 1, T0 + 8, on_done, NULL));
    CHECK(r.status == -ENOENT);
    CALL(st.ops->credential_list(&st, "carol", on_credentials, NULL));
    CHECK(r.n == 2 && strcmp(r.first, "github") == 0);
    CALL(st.ops->credential_get(&st, "carol", "github", on_credential, NULL));
    CHECK(r.credential.broken == 1 && r.credential.version == 3 && r.credential.modified_ms == T0 + 7);
    /* reconnecting replaces the row: active, a later version */
    CALL(st.ops->credential_put(&st, "carol", "github", "oauth2", &sealed, 0, T0 + 10, on_done, NULL));
    CALL(st.ops->credential_get(&st, "carol", "github", on_credential, NULL));
    CHECK(r.credential.broken == 0 && r.credential.version == 4 && r.credential.created_ms == T0 + 10);
    CALL(st.ops->credential_update(&st, "carol", "github", 3, &fresh, 0, T0 + 11, on_done, NULL));
    CHECK(r.status == -ENOENT); /* a refresh of the old connection does not overwrite the new one */
    CALL(st.ops->credential_delete(&st, "carol", "github", on_done, NULL));
    CHECK(r.status == 0);
    CALL(st.ops->credential_delete(&st, "carol", "github", on_done, NULL));
    CHECK(r.status == -ENOENT);
    CALL(st.ops->credential_get(&st, "carol", "github", on_credential, NULL));
    CHECK(r.status == -ENOENT);
  }
  close_store();
}

/* ---- the refresh lease of a credential ---- */

static void leases(void) {
  store_blob sealed = {"sealed", 6};
  store_blob fresh = {"sealed-refreshed", 16};
  open_store();
  CALL(st.ops->credential_put(&st, "erin", "github", "oauth2", &sealed, T0 + 30000, T0, on_done, NULL));
  CHECK(r.status == 0);
  /* claimed once; another claimer is refused while it is in force */
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1, T0 + 1000, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 2, T0 + 1002, on_done, NULL));
  CHECK(r.status == -EBUSY);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 999, T0 + 1999, on_done, NULL));
  CHECK(r.status == -EBUSY);
  /* a lease writes nothing a reader sees */
  CALL(st.ops->credential_get(&st, "erin", "github", on_credential, NULL));
  CHECK(r.status == 0 && r.credential.version == 1 && r.credential.modified_ms == T0 &&
        r.credential.expires_ms == T0 + 30000 && r.blob_len == 6);
  /* its holder never came back: the lease ends at its time, another claims it */
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1000, T0 + 2000, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1500, T0 + 2500, on_done, NULL));
  CHECK(r.status == -EBUSY);
  /* given up by its holder (known by its end): free before its time */
  CALL(st.ops->credential_lease_end(&st, "erin", "github", 1, T0 + 1999, on_done, NULL));
  CHECK(r.status == -ENOENT); /* not that lease */
  CALL(st.ops->credential_lease_end(&st, "erin", "github", 2, T0 + 2000, on_done, NULL));
  CHECK(r.status == -ENOENT); /* nor that version */
  CALL(st.ops->credential_lease_end(&st, "erin", "github", 1, T0 + 2000, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease_end(&st, "erin", "github", 1, T0 + 2000, on_done, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1500, T0 + 2500, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1550, T0 + 2550, on_done, NULL));
  CHECK(r.status == -EBUSY);
  /* the refreshed token written: the lease ends with the version it was on */
  CALL(st.ops->credential_update(&st, "erin", "github", 1, &fresh, T0 + 3600000, T0 + 1600, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease(&st, "erin", "github", 1, T0 + 1601, T0 + 2601, on_done, NULL));
  CHECK(r.status == -ENOENT); /* a claim over the version it read, never a later one */
  CALL(st.ops->credential_lease(&st, "erin", "github", 2, T0 + 1602, T0 + 2602, on_done, NULL));
  CHECK(r.status == 0); /* not in force on the new version */
  /* marked broken, or reconnected: the lease ends too */
  CALL(st.ops->credential_set_status(&st, "erin", "github", 2, 1, T0 + 1603, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_lease(&st, "erin", "github", 3, T0 + 1604, T0 + 2604, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_put(&st, "erin", "github", "oauth2", &sealed, 0, T0 + 1605, on_done, NULL));
  CALL(st.ops->credential_lease(&st, "erin", "github", 4, T0 + 1606, T0 + 2606, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->credential_get(&st, "erin", "github", on_credential, NULL));
  CHECK(r.credential.version == 4 && r.credential.broken == 0);
  /* no row: nothing to lease */
  CALL(st.ops->credential_lease(&st, "erin", "slack", 1, T0, T0 + 1000, on_done, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->credential_delete(&st, "erin", "github", on_done, NULL));
  CALL(st.ops->credential_lease(&st, "erin", "github", 4, T0 + 5000, T0 + 6000, on_done, NULL));
  CHECK(r.status == -ENOENT);
  close_store();
}

/* ---- links ---- */

static void links(void) {
  store_link rows[3];
  open_store();
  rows[0] = a_link("ltk_b", "dave", T0 + 10);
  rows[1] = a_link("ltk_a", "dave", T0 + 10); /* same time: the token orders them */
  rows[2] = a_link("ltk_c", "dave", T0 + 20);
  snprintf(rows[2].callback_url, sizeof rows[2].callback_url, "https://app.example.com/back");
  CALL(st.ops->link_put(&st, rows, 3, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->link_get(&st, "ltk_c", on_link, NULL));
  CHECK(r.status == 0 && strcmp(r.link.callback_url, "https://app.example.com/back") == 0 &&
        r.link.expires_ms == T0 + 20 + 1800000);
  CALL(st.ops->link_end(&st, "ltk_c", 2, T0 + 30, on_done, NULL));
  CALL(st.ops->link_get(&st, "ltk_c", on_link, NULL));
  CHECK(r.link.status == 2 && r.link.ended_ms == T0 + 30);
  /* an ended link is final: its pending row written again late (a journal
   * retried after a lost answer) changes nothing */
  CALL(st.ops->link_put(&st, &rows[2], 1, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->link_get(&st, "ltk_c", on_link, NULL));
  CHECK(r.link.status == 2 && r.link.ended_ms == T0 + 30);
  CALL(st.ops->link_get(&st, "ltk_none", on_link, NULL));
  CHECK(r.status == -ENOENT);
  /* pages by key */
  CALL(st.ops->link_page(&st, 0, 0, "", 2, on_links, NULL));
  CHECK(r.status == 0 && r.n == 2 && strcmp(r.first, "ltk_a") == 0 && strcmp(r.last, "ltk_b") == 0);
  {
    uint64_t after_ms = r.last_ms;
    char after[512];
    snprintf(after, sizeof after, "%s", r.last);
    CALL(st.ops->link_page(&st, 0, after_ms, after, 2, on_links, NULL));
    CHECK(r.n == 1 && strcmp(r.first, "ltk_c") == 0);
    after_ms = r.last_ms; /* CALL resets r before the call */
    CALL(st.ops->link_page(&st, 0, after_ms, "ltk_c", 2, on_links, NULL));
    CHECK(r.status == 0 && r.n == 0);
  }
  CALL(st.ops->link_page(&st, T0 + 15, 0, "", 10, on_links, NULL));
  CHECK(r.n == 1 && strcmp(r.first, "ltk_c") == 0);
  CALL(st.ops->link_set_external_id(&st, "ltk_a", "tenant-a", on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->link_external_id(&st, "ltk_a", on_text, NULL));
  CHECK(r.status == 0 && strcmp(r.text, "tenant-a") == 0);
  CALL(st.ops->link_external_id(&st, "ltk_b", on_text, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->link_prune(&st, T0 + 31, on_done, NULL)); /* ltk_c ended before */
  CHECK(r.status == 0);
  CALL(st.ops->link_get(&st, "ltk_c", on_link, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->link_get(&st, "ltk_a", on_link, NULL));
  CHECK(r.status == 0);
  close_store();
}

/* ---- callback origins, OAuth applications and tokens ---- */

static void origins_and_oauth(void) {
  store_oauth_app a;
  char hash[65];
  char other[65];
  open_store();
  CALL(st.ops->origin_add(&st, "https://app.example.com", T0, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->origin_add(&st, "https://app.example.com", T0, on_done, NULL));
  CHECK(r.status == -EEXIST);
  CALL(st.ops->origin_allowed(&st, "https://app.example.com", on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->origin_allowed(&st, "https://evil.example.com", on_done, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->origin_list(&st, on_origins, NULL));
  CHECK(r.status == 0 && r.n == 1 && strcmp(r.first, "https://app.example.com") == 0);
  CALL(st.ops->origin_delete(&st, "https://app.example.com", on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->origin_delete(&st, "https://app.example.com", on_done, NULL));
  CHECK(r.status == -ENOENT);
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, UID(5));
  snprintf(a.client_id, sizeof a.client_id, UID(6));
  snprintf(a.name, sizeof a.name, "dashboard");
  snprintf(a.scopes, sizeof a.scopes, "read:user");
  a.created_ms = T0;
  memset(hash, 'a', 64);
  hash[64] = '\0';
  memset(other, 'b', 64);
  other[64] = '\0';
  CALL(st.ops->oauth_app_create(&st, &a, hash, on_oauth_app, NULL));
  CHECK(r.status == 0);
  snprintf(a.id, sizeof a.id, UID(7));
  snprintf(a.client_id, sizeof a.client_id, UID(8));
  CALL(st.ops->oauth_app_create(&st, &a, hash, on_oauth_app, NULL));
  CHECK(r.status == -EEXIST); /* the name */
  CALL(st.ops->oauth_app_list(&st, on_oauth_apps, NULL));
  CHECK(r.status == 0 && r.n == 1 && strcmp(r.first, "dashboard") == 0);
  CALL(st.ops->oauth_app_check(&st, UID(6), hash, on_oauth_app, NULL));
  CHECK(r.status == 0 && strcmp(r.oauth_app.id, UID(5)) == 0);
  CALL(st.ops->oauth_app_check(&st, UID(6), other, on_oauth_app, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->oauth_token_put(&st, other, UID(5), "read:user", T0 + 3600000, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->oauth_token_get(&st, other, T0, on_token, NULL));
  CHECK(r.status == 0 && strcmp(r.token.scopes, "read:user") == 0 && strcmp(r.token.client_id, UID(6)) == 0);
  CALL(st.ops->oauth_token_get(&st, other, T0 + 3600000, on_token, NULL));
  CHECK(r.status == -ENOENT); /* expired */
  CALL(st.ops->oauth_app_delete(&st, UID(5), on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->oauth_token_get(&st, other, T0, on_token, NULL));
  CHECK(r.status == -ENOENT); /* went with its app */
  CALL(st.ops->oauth_app_delete(&st, UID(5), on_done, NULL));
  CHECK(r.status == -ENOENT);
  close_store();
}

/* ---- events and the outbox ---- */

static void events(void) {
  const char *hooks[] = {"http://a/hook", "http://b/hook"};
  store_event e;
  uint64_t seq1;
  open_store();
  memset(&e, 0, sizeof e);
  e.id = "evt_1";
  e.type = "link_token";
  e.user = "u1";
  e.body = "{\"n\":1}";
  CALL(st.ops->event_last(&st, on_seq, NULL));
  CHECK(r.status == 0 && r.seq == 0); /* an empty log */
  CALL(st.ops->event_add(&st, &e, T0, hooks, 2, on_seq, NULL));
  CHECK(r.status == 0 && r.seq > 0);
  seq1 = r.seq;
  CALL(st.ops->event_add(&st, &e, T0, NULL, 0, on_seq, NULL));
  CHECK(r.status == -EEXIST);
  e.id = "evt_2";
  e.user = "u2";
  e.body = "{\"n\":2}";
  CALL(st.ops->event_add(&st, &e, T0 + 1, NULL, 0, on_seq, NULL));
  CHECK(r.status == 0 && r.seq > seq1);
  CALL(st.ops->event_seq(&st, "evt_1", on_seq, NULL));
  CHECK(r.status == 0 && r.seq == seq1);
  CALL(st.ops->event_seq(&st, "evt_none", on_seq, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->event_last(&st, on_seq, NULL));
  CHECK(r.status == 0 && r.seq > seq1); /* evt_2's */
  CALL(st.ops->events_after(&st, 0, NULL, 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 2 && strcmp(r.first, "evt_1 -") == 0 && strcmp(r.last, "{\"n\":2}") == 0);
  CALL(st.ops->events_after(&st, seq1, "u1", 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 0);
  CALL(st.ops->deliveries_pending(&st, hooks, 2, on_count, NULL));
  CHECK(r.status == 0 && r.count == 2);
  CALL(st.ops->deliveries_pending(&st, hooks + 1, 1, on_count, NULL));
  CHECK(r.status == 0 && r.count == 1); /* only those owed to the hooks named */
  CALL(st.ops->deliveries_pending(&st, NULL, 0, on_count, NULL));
  CHECK(r.status == 0 && r.count == 0);
  /* due: leased (and committed) before the callback, which runs outside
   * it; only those owed to the hooks asked for (a replica configured
   * without http://b/hook leaves its deliveries to the others) */
  CALL(st.ops->deliveries_due(&st, T0 + 10, T0 + 60000, hooks, 1, 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 1 && strcmp(r.first, "evt_1 http://a/hook") == 0 && r.attempts == 0);
  CALL(st.ops->deliveries_due(&st, T0 + 10, T0 + 60000, hooks, 2, 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 1 && strcmp(r.first, "evt_1 http://b/hook") == 0);
  CALL(st.ops->deliveries_due(&st, T0 + 20, T0 + 60000, hooks, 2, 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 0); /* leased */
  CALL(st.ops->delivery_done(&st, seq1, "http://a/hook", on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->delivery_retry(&st, seq1, "http://b/hook", 3, T0 + 1000, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->deliveries_due(&st, T0 + 1000, T0 + 60000, hooks, 1, 10, on_events, NULL));
  CHECK(r.status == 0 && r.n == 0);
  CALL(st.ops->deliveries_due(&st, T0 + 1000, T0 + 60000, hooks, 2, 10, on_events, NULL));
  CHECK(r.n == 1 && strcmp(r.first, "evt_1 http://b/hook") == 0 && r.attempts == 3);
  CALL(st.ops->deliveries_keep_hooks(&st, hooks, 1, on_count, NULL));
  CHECK(r.status == 0 && r.count == 1);
  CALL(st.ops->deliveries_pending(&st, hooks, 2, on_count, NULL));
  CHECK(r.count == 0);
  /* an event still owed to a webhook after the retention goes with its
   * delivery (a receiver down that long, or a webhook no replica has) */
  e.id = "evt_0";
  CALL(st.ops->event_add(&st, &e, T0 - 5, hooks, 1, on_seq, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->deliveries_pending(&st, hooks, 2, on_count, NULL));
  CHECK(r.count == 1);
  CALL(st.ops->events_prune(&st, T0 + 1, on_done, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->deliveries_pending(&st, hooks, 2, on_count, NULL));
  CHECK(r.count == 0);
  CALL(st.ops->event_seq(&st, "evt_0", on_seq, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->event_seq(&st, "evt_1", on_seq, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->event_seq(&st, "evt_2", on_seq, NULL));
  CHECK(r.status == 0);
  close_store();
}

/* ---- order, re-entry, caps ---- */

static void on_tagged(void *data, int status) {
  note(status);
  if (r.norder < 8)
    r.order[r.norder++] = (int)(size_t)data;
}

/* Starts another operation from inside a callback. */
static void on_start_more(void *data, int status) {
  int rc;
  on_tagged(data, status);
  rc = st.ops->probe(&st, on_tagged, (void *)(size_t)3);
  CHECK(rc == 0);
  CHECK(r.norder == 1); /* its callback did not run inside this one */
}

static void order_and_caps(void) {
  int i;
  open_store();
  reset();
  CHECK(st.ops->probe(&st, on_start_more, (void *)(size_t)1) == 0);
  CHECK(st.ops->origin_add(&st, "https://one.example.com", T0, on_tagged, (void *)(size_t)2) == 0);
  r.returned = 1;
  CHECK(r.calls == 0);
  run_until(3);
  CHECK(r.calls == 3 && r.norder == 3 && r.order[0] == 1 && r.order[1] == 2 && r.order[2] == 3);
  /* a list longer than STORE_LIST_MAX is refused, not cut */
  reset();
  for (i = 0; i < STORE_LIST_MAX - 1; i++) {
    char o[64];
    snprintf(o, sizeof o, "https://h%d.example.com", i);
    CHECK(st.ops->origin_add(&st, o, T0, on_done, NULL) == 0);
  }
  r.returned = 1;
  run_until(STORE_LIST_MAX - 1);
  CHECK(r.calls == STORE_LIST_MAX - 1 && r.status == 0);
  CALL(st.ops->origin_add(&st, "https://two.example.com", T0, on_done, NULL));
  CALL(st.ops->origin_list(&st, on_origins, NULL));
  CHECK(r.status == -E2BIG && r.n == 0);
  CALL(st.ops->origin_delete(&st, "https://one.example.com", on_done, NULL));
  CALL(st.ops->origin_list(&st, on_origins, NULL));
  CHECK(r.status == 0 && r.n == STORE_LIST_MAX);
  close_store();
}

/* ---- close ---- */

static void close_cancels(void) {
  store_link l = a_link("ltk_cancelled", "erin", T0);
  open_store();
  reset();
  CHECK(st.ops->link_put(&st, &l, 1, on_tagged, (void *)(size_t)1) == 0);
  CHECK(st.ops->link_get(&st, "ltk_cancelled", on_link, NULL) == 0);
  CHECK(st.ops->probe(&st, on_tagged, (void *)(size_t)2) == 0);
  r.returned = 1;
  closed = 0;
  store_close(&st, on_closed);
  CHECK(r.calls == 0 && closed == 0); /* later, on the loop */
  CHECK(st.ops->probe(&st, on_tagged, (void *)(size_t)3) == -ECANCELED);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(r.calls == 3 && r.status == -ECANCELED && closed == 1);
  CHECK(r.norder == 3 && r.order[0] == 1 && r.order[1] == 2 && r.order[2] == 99); /* close last */
  CHECK(st.ops == NULL && st.impl == NULL);
  /* nothing ran: the link is not there */
  open_store();
  CALL(st.ops->link_get(&st, "ltk_cancelled", on_link, NULL));
  CHECK(r.status == -ENOENT);
  close_store();
}

#include "test_store_sqlite.h"
#include "test_store_pg.h"

/* ---- PostgreSQL: two replicas claim one lease at the same moment ---- */

static int lease_status[2];
static int lease_calls;

static void on_lease(void *data, int status) {
  lease_status[(size_t)data] = status;
  lease_calls++;
}

/* Backends of the test's database waiting on a lock (blocking: test code). */
static int lock_waiters(void) {
  char out[32] = "";
  if (pg_exec(spec,
              "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
              "datname = current_database()",
              out, sizeof out) != 0)
    return -1;
  return atoi(out);
}

/* Both claims reach the server while a side connection holds the row (so
 * they run truly at once, each on its own connection, when it lets go):
 * exactly one wins, the other gets -EBUSY. */
static void pg_lease_race(void) {
  store_t b;
  PGconn *side;
  PGresult *res;
  store_blob sealed = {"sealed", 6};
  int i;
  open_store();
  open_with(&b, spec, 5000);
  CALL(st.ops->credential_put(&st, "race", "github", "oauth2", &sealed, 0, T0, on_done, NULL));
  CHECK(r.status == 0);
  CALL(b.ops->probe(&b, on_done, NULL)); /* b is connected too */
  side = PQconnectdb(spec);
  CHECK(PQstatus(side) == CONNECTION_OK);
  res = PQexec(side, "BEGIN; SELECT 1 FROM credentials WHERE origin_user_id = 'race' FOR UPDATE");
  CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
  PQclear(res);
  lease_calls = 0;
  CHECK(st.ops->credential_lease(&st, "race", "github", 1, T0 + 1, T0 + 60000, on_lease, (void *)0) == 0);
  CHECK(b.ops->credential_lease(&b, "race", "github", 1, T0 + 2, T0 + 60000, on_lease, (void *)1) == 0);
  for (i = 0; i < 5000 && lock_waiters() < 2; i++)
    (void)uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(lock_waiters() == 2 && lease_calls == 0);
  res = PQexec(side, "COMMIT");
  PQclear(res);
  PQfinish(side);
  CHECK(wait_count(&lease_calls, 2));
  CHECK((lease_status[0] == 0 && lease_status[1] == -EBUSY) || (lease_status[0] == -EBUSY && lease_status[1] == 0));
  closed = 0;
  store_close(&b, on_closed);
  store_close(&st, on_closed);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed == 2);
}

int main(int argc, char **argv) {
  char p[300];
  const char *files[] = {"s.db", "s.db-wal", "s.db-shm"};
  size_t i;
  pg = argc > 1 && strcmp(argv[1], "postgres") == 0;
  if (argc > 1 && !pg && strcmp(argv[1], "sqlite") != 0) {
    fprintf(stderr, "usage: test_store [sqlite | postgres]\n");
    return 2;
  }
  if (mkdtemp(dir) == NULL || uv_loop_init(&loop) != 0) {
    perror("setup");
    return 2;
  }
  if (pg) {
    if (pg_setup(spec, sizeof spec) != 0)
      return 2;
  } else {
    snprintf(spec, sizeof spec, "sqlite:%s/s.db", dir);
  }
  RUN(open_specs);
  RUN(users);
  RUN(credentials);
  RUN(leases);
  RUN(links);
  RUN(origins_and_oauth);
  RUN(events);
  RUN(order_and_caps);
  RUN(close_cancels);
  if (pg) {
    RUN(pg_migrate_at_once);
    RUN(pg_unreachable);
    RUN(pg_timeout);
    RUN(pg_restart);
    RUN(pg_listen);
    RUN(pg_lease_race);
  } else {
    RUN(failed_writes);
  }
  /* every callback of every test: after its operation returned, outside any transaction */
  CHECK(r.early == 0);
  CHECK(r.in_tx == 0);
  for (i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    (void)unlink(p);
  }
  (void)rmdir(dir);
  CHECK(uv_loop_close(&loop) == 0);
  return unit_report();
}
