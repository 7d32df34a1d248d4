/* sqldb: the SQLite store's synchronous core, under store_sqlite.c.
 *
 * One file in WAL mode with synchronous=FULL: the WAL is synced at every
 * commit, so a change a caller was told is saved survives kill -9 and a
 * power cut. The schema has a version table and numbered migrations
 * applied in order at open, each in its own transaction.
 *
 * Tables: registered_users, app_credentials (client_secret: a sealed blob),
 * credentials (a user's connected account per connector, a sealed blob),
 * links, link_app_choice, callback_origins, oauth_apps (secret as a SHA-256
 * hash), oauth_tokens (hashes), events and deliveries (the webhook outbox).
 *
 * Only store_sqlite.c calls these (it runs them from its queue, one
 * operation at a time, between loop iterations), and tests. Not thread-safe. Each call is
 * one short transaction unless the caller grouped several with
 * sqldb_begin()/sqldb_commit(). Per-row callbacks (the *_each functions)
 * run while the statement is open: store_sqlite.c only copies rows there.
 *
 * Errors as store.h. A write that fails is rolled back (none is left open,
 * also after a failed COMMIT), returns -EIO, and is counted in *health;
 * inside sqldb_begin() the rollback happens at sqldb_commit(), which then
 * fails.
 */
#ifndef AUTHRELAY_SQLDB_H
#define AUTHRELAY_SQLDB_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "store.h"

#define SQLDB_FILE STORE_SQLITE_FILE

typedef struct sqlite3 sqlite3;

typedef struct sqldb_t {
  sqlite3 *db;
  int schema_version;     /* after migrations */
  int depth;              /* transactions open (they nest) */
  int changes_at_begin;   /* sqlite3_total_changes() when the outermost began */
  store_health *health;   /* where write failures are counted; not owned */
} sqldb_t;

/* Opens (creating, mode 0600) path and migrates it. health must outlive
 * the database. Returns 0 or -EIO / -EROFS / -EINVAL with a one-line
 * message in err. */
int sqldb_open(sqldb_t *q, const char *path, store_health *health, char *err, size_t errlen);
/* Safe on a zeroed or closed one. */
void sqldb_close(sqldb_t *q);

/* Groups the calls that follow into one transaction (they nest). */
int sqldb_begin(sqldb_t *q);
int sqldb_commit(sqldb_t *q);
int sqldb_probe(sqldb_t *q);

/* ---- registered users (sqldb_users.c) ---- */
int sqldb_user_create(sqldb_t *q, store_user *u);
int sqldb_user_get(sqldb_t *q, const char *id, store_user *u);
int sqldb_user_by_origin(sqldb_t *q, const char *origin_user_id, store_user *u);
int sqldb_user_update(sqldb_t *q, const store_user *u);
int sqldb_user_delete(sqldb_t *q, const char *id);
int sqldb_user_list(sqldb_t *q, const char *origin_user_id, size_t offset, size_t limit,
                    int (*cb)(void *ctx, const store_user *u), void *ctx, size_t *total);
int sqldb_user_connectors(sqldb_t *q, const char *origin_user_id, int (*cb)(void *ctx, const char *slug),
                          void *ctx);

/* ---- application credentials (sqldb_users.c) ----
 * Secrets are sealed blobs (ptr NULL: none). sqldb_app_for appends the
 * stored blob to secret when secret is not NULL. */
int sqldb_app_create(sqldb_t *q, const store_app_credential *c, const store_blob *secret);
int sqldb_app_get(sqldb_t *q, const char *id, store_app_credential *c);
int sqldb_app_update(sqldb_t *q, store_app_credential *c, int set_secret, const store_blob *secret,
                     uint64_t now_ms);
int sqldb_app_delete(sqldb_t *q, const char *id);
int sqldb_app_list(sqldb_t *q, const char *connector_slug, int (*cb)(void *ctx, const store_app_credential *c),
                   void *ctx);
int sqldb_app_for(sqldb_t *q, const char *connector_slug, const char *external_id, store_app_credential *c,
                  dynbuf *secret);

/* ---- connected credentials (sqldb_credentials.c), as store.h's ops ----
 * sqldb_credential_get appends the sealed blob to out. */
int sqldb_credential_put(sqldb_t *q, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms);
int sqldb_credential_get(sqldb_t *q, const char *user, const char *connector, store_credential *c, dynbuf *out);
int sqldb_credential_list(sqldb_t *q, const char *user, int (*cb)(void *ctx, const store_credential *c), void *ctx);
int sqldb_credential_update(sqldb_t *q, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms);
int sqldb_credential_set_status(sqldb_t *q, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms);
int sqldb_credential_delete(sqldb_t *q, const char *user, const char *connector);
int sqldb_credential_lease(sqldb_t *q, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms);
int sqldb_credential_lease_end(sqldb_t *q, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms);

/* ---- callback origins, OAuth applications and tokens (sqldb_users.c) ---- */
int sqldb_origin_add(sqldb_t *q, const char *origin, uint64_t now_ms);
int sqldb_origin_delete(sqldb_t *q, const char *origin);
int sqldb_origin_allowed(sqldb_t *q, const char *origin);
int sqldb_origin_list(sqldb_t *q, int (*cb)(void *ctx, const char *origin, uint64_t created_ms), void *ctx);
int sqldb_oauth_app_create(sqldb_t *q, const store_oauth_app *a, const char *secret_hash);
int sqldb_oauth_app_list(sqldb_t *q, int (*cb)(void *ctx, const store_oauth_app *a), void *ctx);
int sqldb_oauth_app_delete(sqldb_t *q, const char *id);
int sqldb_oauth_app_check(sqldb_t *q, const char *client_id, const char *secret_hash, store_oauth_app *a);
int sqldb_oauth_token_put(sqldb_t *q, const char *token_hash, const char *app_id, const char *scopes,
                          uint64_t expires_ms);
/* -ENOENT when unknown or expired. */
int sqldb_oauth_token_get(sqldb_t *q, const char *token_hash, uint64_t now_ms, store_oauth_token *t);

/* ---- links (sqldb_links.c) ---- */
int sqldb_link_put(sqldb_t *q, const store_link *l);
int sqldb_link_end(sqldb_t *q, const char *token, int status, uint64_t ended_ms);
int sqldb_link_get(sqldb_t *q, const char *token, store_link *l);
/* Links created at or after since_ms and after the key (after_ms,
 * after_token), in key order, up to limit (0: no limit). */
int sqldb_link_each(sqldb_t *q, uint64_t since_ms, uint64_t after_ms, const char *after_token, size_t limit,
                    int (*cb)(void *ctx, const store_link *l), void *ctx);
int sqldb_link_prune(sqldb_t *q, uint64_t before_ms);
int sqldb_link_set_external_id(sqldb_t *q, const char *token, const char *external_id);
int sqldb_link_external_id(sqldb_t *q, const char *token, char *out, size_t cap);

/* ---- events and the webhook outbox (sqldb_links.c) ---- */
int sqldb_event_add(sqldb_t *q, const store_event *e, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                    uint64_t *seq);
int sqldb_event_seq(sqldb_t *q, const char *id, uint64_t *seq);
/* The newest event's seq, 0 when there is none. */
int sqldb_event_last(sqldb_t *q, uint64_t *seq);
int sqldb_events_after(sqldb_t *q, uint64_t after_seq, const char *user, size_t limit,
                       int (*cb)(void *ctx, const store_event *e), void *ctx);
/* Leases and passes on each due delivery owed to one of hooks[0, nhooks)
 * in one transaction: cb must only copy (it runs before the commit; hooks
 * are read before cb first runs). */
int sqldb_deliveries_due(sqldb_t *q, uint64_t now_ms, uint64_t lease_until_ms, const char *const *hooks,
                         size_t nhooks, size_t limit, int (*cb)(void *ctx, const store_event *e), void *ctx);
int sqldb_delivery_done(sqldb_t *q, uint64_t seq, const char *hook);
int sqldb_delivery_retry(sqldb_t *q, uint64_t seq, const char *hook, unsigned attempts, uint64_t next_ms);
int sqldb_deliveries_keep_hooks(sqldb_t *q, const char *const *hooks, size_t nhooks, size_t *dropped);
int sqldb_deliveries_pending(sqldb_t *q, const char *const *hooks, size_t nhooks, size_t *count);
int sqldb_events_prune(sqldb_t *q, uint64_t before_ms);

#endif
