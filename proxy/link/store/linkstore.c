/* linkstore: the synchronous shim over sqldb.h, sealing secrets above it.
 * See linkstore.h. */
#include "linkstore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "linkseal.h"
#include "log.h"
#include "store_sqlite.h"

int linkstore_open(linkstore_t *st, const char *data_dir, const unsigned char key[SECRETBOX_KEY_BYTES],
                   char *err, size_t errlen) {
  char path[4200];
  int rc;
  memset(st, 0, sizeof *st);
  snprintf(path, sizeof path, "%s/%s", data_dir, LINKSTORE_FILE);
  rc = sqldb_open(&st->own, path, &st->own_health, err, errlen);
  if (rc != 0)
    return rc;
  memcpy(st->key, key, SECRETBOX_KEY_BYTES);
  st->q = &st->own;
  st->health = &st->own_health;
  return 0;
}

int linkstore_attach(linkstore_t *st, store_t *store, const unsigned char key[SECRETBOX_KEY_BYTES]) {
  sqldb_t *q = store_sqlite_db(store);
  memset(st, 0, sizeof *st);
  if (q == NULL)
    return -ENOTSUP;
  memcpy(st->key, key, SECRETBOX_KEY_BYTES);
  st->q = q;
  st->health = &store->health;
  return 0;
}

void linkstore_close(linkstore_t *st) {
  if (st->q == &st->own)
    sqldb_close(&st->own);
  st->q = NULL;
  OPENSSL_cleanse(st->key, sizeof st->key);
}

int linkstore_begin(linkstore_t *st) {
  return sqldb_begin(st->q);
}

int linkstore_commit(linkstore_t *st) {
  return sqldb_commit(st->q);
}

int linkstore_probe(linkstore_t *st) {
  return sqldb_probe(st->q);
}

/* ---- registered users ---- */

int linkstore_user_create(linkstore_t *st, linkstore_user *u, uint64_t now_ms) {
  if (secretbox_uuid(u->id) != 0)
    return -EIO;
  u->created_ms = now_ms;
  return sqldb_user_create(st->q, u);
}

int linkstore_user_get(linkstore_t *st, const char *id, linkstore_user *u) {
  return sqldb_user_get(st->q, id, u);
}

int linkstore_user_by_origin(linkstore_t *st, const char *origin_user_id, linkstore_user *u) {
  return sqldb_user_by_origin(st->q, origin_user_id, u);
}

int linkstore_user_update(linkstore_t *st, const linkstore_user *u) {
  return sqldb_user_update(st->q, u);
}

int linkstore_user_delete(linkstore_t *st, const char *id) {
  return sqldb_user_delete(st->q, id);
}

int linkstore_user_list(linkstore_t *st, const char *origin_user_id, size_t offset, size_t limit,
                        int (*cb)(void *ctx, const linkstore_user *u), void *ctx, size_t *total) {
  return sqldb_user_list(st->q, origin_user_id, offset, limit, cb, ctx, total);
}

int linkstore_user_connectors(linkstore_t *st, const char *origin_user_id,
                              int (*cb)(void *ctx, const char *slug), void *ctx) {
  return sqldb_user_connectors(st->q, origin_user_id, cb, ctx);
}

/* ---- application credentials ---- */

int linkstore_app_create(linkstore_t *st, linkstore_app_credential *c, const char *secret, uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  if (secretbox_uuid(c->id) != 0)
    return -EIO;
  c->created_ms = now_ms;
  c->modified_ms = now_ms;
  c->has_secret = secret != NULL;
  dynbuf_init(&sealed, STORE_SECRET_MAX);
  if (secret != NULL && linkseal_app_secret(st->key, c->id, secret, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_app_create(st->q, c, secret != NULL ? &b : NULL);
  dynbuf_free(&sealed);
  return rc;
}

int linkstore_app_get(linkstore_t *st, const char *id, linkstore_app_credential *c) {
  return sqldb_app_get(st->q, id, c);
}

int linkstore_app_update(linkstore_t *st, linkstore_app_credential *c, int set_secret, const char *secret,
                         uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX);
  if (set_secret && secret != NULL && linkseal_app_secret(st->key, c->id, secret, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_app_update(st->q, c, set_secret, secret != NULL ? &b : NULL, now_ms);
  dynbuf_free(&sealed);
  return rc;
}

int linkstore_app_delete(linkstore_t *st, const char *id) {
  return sqldb_app_delete(st->q, id);
}

int linkstore_app_list(linkstore_t *st, const char *connector_slug,
                       int (*cb)(void *ctx, const linkstore_app_credential *c), void *ctx) {
  return sqldb_app_list(st->q, connector_slug, cb, ctx);
}

int linkstore_app_for(linkstore_t *st, const char *connector_slug, const char *external_id,
                      linkstore_app_credential *c, dynbuf *secret) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX + 1);
  rc = sqldb_app_for(st->q, connector_slug, external_id, c, secret != NULL ? &sealed : NULL);
  b = linkseal_blob(&sealed);
  if (rc == 0 && c->has_secret && secret != NULL && linkseal_app_open(st->key, c->id, &b, secret) != 0) {
    LOG_ERROR("link store: a client secret does not open with this secret key",
              LOG_STR("application_credential", c->id));
    rc = -EIO;
  }
  dynbuf_free(&sealed);
  return rc;
}

/* ---- connected credentials ---- */

int linkstore_credential_put(linkstore_t *st, const char *user, const char *connector, const char *kind,
                             const char *secret, size_t len, uint64_t now_ms) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, len + SECRETBOX_OVERHEAD + 1);
  if (linkseal_credential(st->key, user, connector, secret, len, &sealed) != 0) {
    dynbuf_free(&sealed);
    return -EIO;
  }
  b = linkseal_blob(&sealed);
  rc = sqldb_credential_put(st->q, user, connector, kind, &b, now_ms);
  dynbuf_free(&sealed);
  return rc;
}

int linkstore_credential_get(linkstore_t *st, const char *user, const char *connector, dynbuf *out) {
  dynbuf sealed;
  store_blob b;
  int rc;
  dynbuf_init(&sealed, STORE_SECRET_MAX + 1);
  rc = sqldb_credential_get(st->q, user, connector, &sealed);
  b = linkseal_blob(&sealed);
  if (rc == 0 && linkseal_credential_open(st->key, user, connector, &b, out) != 0)
    rc = -EIO;
  dynbuf_free(&sealed);
  return rc;
}

/* ---- links ---- */

int linkstore_link_put(linkstore_t *st, const linkstore_link *l) {
  return sqldb_link_put(st->q, l);
}

int linkstore_link_end(linkstore_t *st, const char *token, int status, uint64_t ended_ms) {
  return sqldb_link_end(st->q, token, status, ended_ms);
}

int linkstore_link_get(linkstore_t *st, const char *token, linkstore_link *l) {
  return sqldb_link_get(st->q, token, l);
}

int linkstore_link_each(linkstore_t *st, uint64_t since_ms, int (*cb)(void *ctx, const linkstore_link *l),
                        void *ctx) {
  return sqldb_link_each(st->q, since_ms, 0, "", 0, cb, ctx);
}

int linkstore_link_prune(linkstore_t *st, uint64_t before_ms) {
  return sqldb_link_prune(st->q, before_ms);
}

int linkstore_link_set_external_id(linkstore_t *st, const char *token, const char *external_id) {
  return sqldb_link_set_external_id(st->q, token, external_id);
}

int linkstore_link_external_id(linkstore_t *st, const char *token, char *out, size_t cap) {
  return sqldb_link_external_id(st->q, token, out, cap);
}

/* ---- callback origins ---- */

int linkstore_origin_add(linkstore_t *st, const char *origin, uint64_t now_ms) {
  return sqldb_origin_add(st->q, origin, now_ms);
}

int linkstore_origin_delete(linkstore_t *st, const char *origin) {
  return sqldb_origin_delete(st->q, origin);
}

int linkstore_origin_allowed(linkstore_t *st, const char *origin) {
  return sqldb_origin_allowed(st->q, origin);
}

int linkstore_origin_list(linkstore_t *st, int (*cb)(void *ctx, const char *origin, uint64_t created_ms),
                          void *ctx) {
  return sqldb_origin_list(st->q, cb, ctx);
}

/* ---- OAuth applications ---- */

int linkstore_oauth_app_create(linkstore_t *st, linkstore_oauth_app *a, const char *secret_hash,
                               uint64_t now_ms) {
  if (secretbox_uuid(a->id) != 0 || secretbox_uuid(a->client_id) != 0)
    return -EIO;
  a->created_ms = now_ms;
  return sqldb_oauth_app_create(st->q, a, secret_hash);
}

int linkstore_oauth_app_list(linkstore_t *st, int (*cb)(void *ctx, const linkstore_oauth_app *a), void *ctx) {
  return sqldb_oauth_app_list(st->q, cb, ctx);
}

int linkstore_oauth_app_delete(linkstore_t *st, const char *id) {
  return sqldb_oauth_app_delete(st->q, id);
}

int linkstore_oauth_app_check(linkstore_t *st, const char *client_id, const char *secret_hash,
                              linkstore_oauth_app *a) {
  return sqldb_oauth_app_check(st->q, client_id, secret_hash, a);
}

int linkstore_oauth_token_put(linkstore_t *st, const char *token_hash, const char *app_id, const char *scopes,
                              uint64_t expires_ms) {
  return sqldb_oauth_token_put(st->q, token_hash, app_id, scopes, expires_ms);
}

int linkstore_oauth_token_get(linkstore_t *st, const char *token_hash, uint64_t now_ms, char *scopes,
                              size_t cap) {
  store_oauth_token t;
  int rc = sqldb_oauth_token_get(st->q, token_hash, now_ms, &t);
  if (rc == 0)
    snprintf(scopes, cap, "%s", t.scopes);
  return rc;
}

int linkstore_oauth_token_client(linkstore_t *st, const char *token_hash, char *client_id, size_t cap) {
  store_oauth_token t;
  int rc = sqldb_oauth_token_get(st->q, token_hash, 0, &t); /* expired or not */
  if (rc == 0)
    snprintf(client_id, cap, "%s", t.client_id);
  return rc;
}

/* ---- events and the webhook outbox ---- */

int linkstore_event_add(linkstore_t *st, const char *id, const char *type, const char *user, const char *body,
                        uint64_t now_ms, const char *const *hooks, size_t nhooks, uint64_t *seq) {
  store_event e;
  memset(&e, 0, sizeof e);
  e.id = id;
  e.type = type;
  e.user = user;
  e.body = body;
  return sqldb_event_add(st->q, &e, now_ms, hooks, nhooks, seq);
}

int linkstore_event_seq(linkstore_t *st, const char *id, uint64_t *seq) {
  return sqldb_event_seq(st->q, id, seq);
}

int linkstore_events_after(linkstore_t *st, uint64_t after_seq, const char *user, size_t limit,
                           int (*cb)(void *ctx, const linkstore_event *e), void *ctx) {
  return sqldb_events_after(st->q, after_seq, user, limit, cb, ctx);
}

int linkstore_deliveries_due(linkstore_t *st, uint64_t now_ms, uint64_t lease_until_ms, size_t limit,
                             int (*cb)(void *ctx, const linkstore_event *e), void *ctx) {
  return sqldb_deliveries_due(st->q, now_ms, lease_until_ms, limit, cb, ctx);
}

int linkstore_delivery_done(linkstore_t *st, uint64_t seq, const char *hook) {
  return sqldb_delivery_done(st->q, seq, hook);
}

int linkstore_delivery_retry(linkstore_t *st, uint64_t seq, const char *hook, unsigned attempts,
                             uint64_t next_ms) {
  return sqldb_delivery_retry(st->q, seq, hook, attempts, next_ms);
}

int linkstore_deliveries_keep_hooks(linkstore_t *st, const char *const *hooks, size_t nhooks, size_t *dropped) {
  return sqldb_deliveries_keep_hooks(st->q, hooks, nhooks, dropped);
}

int linkstore_deliveries_pending(linkstore_t *st, size_t *count) {
  return sqldb_deliveries_pending(st->q, count);
}

int linkstore_events_prune(linkstore_t *st, uint64_t before_ms) {
  return sqldb_events_prune(st->q, before_ms);
}
