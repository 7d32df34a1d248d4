/* test_sqldb_users: the SQLite core's users, credentials, origins and OAuth
 * tables (proxy/link/store/sqlite/sqldb_users.c), on disk (sqldb_test.h).
 *
 * Covers: registered users (create, duplicate origin_user_id -> -EEXIST
 * with the existing user filled in, get, by_origin, update of the mutable
 * fields only, list with paging, filter and total, delete taking the user's
 * credentials and links with it); application credentials (create with and
 * without a secret, (connector_slug, external_id) uniqueness with NULL
 * external ids colliding too, one global default per connector, app_for
 * picking and decrypting, update with and without set_secret, list,
 * delete); connected credentials (round trip, replace, binary values); that
 * no secret is ever in clear in the database or its WAL file, and that a
 * sealed value moved to another row, or read with another key, does not
 * open; callback origins; OAuth applications (check with the right and
 * wrong secret hash) and their tokens (expiry, deletion with their app).
 */
#include "sqldb_test.h"

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

int main(void) {
  int rc = sqldb_test_setup();
  if (rc != 0)
    return rc;
  RUN(users);
  RUN(app_credentials);
  RUN(credentials);
  RUN(origins);
  RUN(oauth_apps);
  sqldb_test_cleanup();
  return unit_report();
}
