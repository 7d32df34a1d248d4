/* linkstore: the synchronous store API the link service's callers used
 * before store.h, kept as a thin shim while they move to store.h's
 * asynchronous operations (issue #13). It runs sqldb.h's calls at once on
 * the control loop, and seals and opens secrets itself (secretbox, with the
 * key it was given), so the store below it keeps ciphertext only. New code
 * uses store.h; this file goes once no caller is left.
 *
 * Errors: 0, -ENOENT (no such row), -EEXIST (a uniqueness rule), -EIO (SQLite
 * failed, or a secret that does not open; logged), -ENOMEM.
 *
 * A write that fails is rolled back, returns -EIO and is counted in
 * *health (store.h). Inside a caller's linkstore_begin() the rollback
 * happens at its linkstore_commit(), which then fails.
 */
#ifndef AUTHRELAY_LINKSTORE_H
#define AUTHRELAY_LINKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "secretbox.h"
#include "sqldb.h"
#include "store.h"

#define LINKSTORE_FILE SQLDB_FILE
#define LINKSTORE_ID_LEN STORE_ID_LEN
#define LINKSTORE_TEXT_MAX STORE_TEXT_MAX
#define LINKSTORE_CHARS_BYTES(n) STORE_CHARS_BYTES(n)

typedef struct linkstore_t {
  sqldb_t own;                            /* the database, when linkstore_open() opened it */
  store_health own_health;                /* own's */
  sqldb_t *q;                             /* &own, or a store_t's (linkstore_attach); NULL: closed */
  store_health *health;                   /* q's write failures */
  unsigned char key[SECRETBOX_KEY_BYTES]; /* seals secrets; wiped at close */
} linkstore_t;

typedef store_user linkstore_user;
typedef store_app_credential linkstore_app_credential;
typedef store_oauth_app linkstore_oauth_app;
typedef store_link linkstore_link;
typedef store_event linkstore_event;

/* Opens (creating) data_dir/authrelay.db and migrates it; key is copied.
 * Returns 0 or a negative error with a one-line message in err. */
int linkstore_open(linkstore_t *st, const char *data_dir, const unsigned char key[SECRETBOX_KEY_BYTES],
                   char *err, size_t errlen);

/* Groups the store calls that follow into one transaction, ended by
 * linkstore_commit() (calls nest). Returns 0 or -EIO; when the commit
 * fails, everything since linkstore_begin() is rolled back. */
int linkstore_begin(linkstore_t *st);
int linkstore_commit(linkstore_t *st);

/* A small write that means nothing (a counter in table store_probe): 0 and
 * cannot_write cleared when it commits, else -EIO. */
int linkstore_probe(linkstore_t *st);

/* Uses the database of an open SQLite store (store_sqlite_db()) rather
 * than opening one: -ENOTSUP for another backend. key is copied. */
int linkstore_attach(linkstore_t *st, store_t *store, const unsigned char key[SECRETBOX_KEY_BYTES]);

/* Closes the database (unless attached) and wipes the key. Safe on a
 * zeroed or closed store. */
void linkstore_close(linkstore_t *st);

/* ---- registered users ---- */

/* Inserts u (id generated into u->id, created_ms set). -EEXIST when
 * origin_user_id is taken: *u is then filled with the existing user. */
int linkstore_user_create(linkstore_t *st, linkstore_user *u, uint64_t now_ms);
int linkstore_user_get(linkstore_t *st, const char *id, linkstore_user *u);
int linkstore_user_by_origin(linkstore_t *st, const char *origin_user_id, linkstore_user *u);
/* Writes u's mutable fields (name, group, user_type, is_test) to row u->id. */
int linkstore_user_update(linkstore_t *st, const linkstore_user *u);
/* Deletes the user, its connected credentials and its links. */
int linkstore_user_delete(linkstore_t *st, const char *id);
/* Calls cb for each user (filtered by origin_user_id when not NULL), oldest
 * first, skipping offset and stopping after limit; *total: all that match. */
int linkstore_user_list(linkstore_t *st, const char *origin_user_id, size_t offset, size_t limit,
                        int (*cb)(void *ctx, const linkstore_user *u), void *ctx, size_t *total);
/* Calls cb with each connector slug the user has a credential for. */
int linkstore_user_connectors(linkstore_t *st, const char *origin_user_id,
                              int (*cb)(void *ctx, const char *slug), void *ctx);

/* ---- application credentials (OAuth client of a connector) ---- */

/* Inserts c (id, times generated); secret (may be NULL) is sealed. When
 * c->is_global_default, the connector's other credentials lose the flag.
 * -EEXIST: (connector_slug, external_id) taken. */
int linkstore_app_create(linkstore_t *st, linkstore_app_credential *c, const char *secret,
                         uint64_t now_ms);
int linkstore_app_get(linkstore_t *st, const char *id, linkstore_app_credential *c);
/* Writes client_id, external_id and is_global_default of row c->id; when
 * set_secret, secret (NULL: none) replaces the stored one. */
int linkstore_app_update(linkstore_t *st, linkstore_app_credential *c, int set_secret,
                         const char *secret, uint64_t now_ms);
int linkstore_app_delete(linkstore_t *st, const char *id);
int linkstore_app_list(linkstore_t *st, const char *connector_slug,
                       int (*cb)(void *ctx, const linkstore_app_credential *c), void *ctx);
/* The credential the Link page uses for a connector: the one whose
 * external_id matches (when external_id is not NULL), else the global
 * default, else the only one. Its secret (when any) is appended to secret
 * (NULL: not wanted). */
int linkstore_app_for(linkstore_t *st, const char *connector_slug, const char *external_id,
                      linkstore_app_credential *c, dynbuf *secret);

/* ---- connected credentials ---- */

/* Stores (sealed) the credential of user for connector, replacing any.
 * kind: "api_key" or "oauth2". */
int linkstore_credential_put(linkstore_t *st, const char *user, const char *connector,
                             const char *kind, const char *secret, size_t len, uint64_t now_ms);
/* Appends the credential's plaintext to out (wipe it after use). */
int linkstore_credential_get(linkstore_t *st, const char *user, const char *connector, dynbuf *out);

/* ---- links ---- */

/* Inserts or replaces link l (by token). */
int linkstore_link_put(linkstore_t *st, const linkstore_link *l);
/* Sets status and ended_ms of token. */
int linkstore_link_end(linkstore_t *st, const char *token, int status, uint64_t ended_ms);
/* Copies the row of token into *l. Returns 0, -ENOENT or -EIO. */
int linkstore_link_get(linkstore_t *st, const char *token, linkstore_link *l);
/* Calls cb for every link created after since_ms, oldest first. */
int linkstore_link_each(linkstore_t *st, uint64_t since_ms,
                        int (*cb)(void *ctx, const linkstore_link *l), void *ctx);
/* Deletes links that ended before before_ms. */
int linkstore_link_prune(linkstore_t *st, uint64_t before_ms);
/* The link-token API's external_id of token: which application credential
 * its OAuth2 flow uses. Kept apart from the link row, which the journal
 * writes later. */
int linkstore_link_set_external_id(linkstore_t *st, const char *token, const char *external_id);
/* Copies it into out (cap bytes). -ENOENT when the link has none. */
int linkstore_link_external_id(linkstore_t *st, const char *token, char *out, size_t cap);

/* ---- callback origins ---- */
int linkstore_origin_add(linkstore_t *st, const char *origin, uint64_t now_ms);
int linkstore_origin_delete(linkstore_t *st, const char *origin);
/* 0 when origin (scheme://host[:port], normalised by the caller) is allowed. */
int linkstore_origin_allowed(linkstore_t *st, const char *origin);
int linkstore_origin_list(linkstore_t *st, int (*cb)(void *ctx, const char *origin, uint64_t created_ms),
                          void *ctx);

/* ---- OAuth applications and their tokens ---- */

/* Inserts a (id, client_id, created_ms generated); only secret_hash is kept
 * of its secret. -EEXIST: name taken. */
int linkstore_oauth_app_create(linkstore_t *st, linkstore_oauth_app *a, const char *secret_hash,
                               uint64_t now_ms);
int linkstore_oauth_app_list(linkstore_t *st, int (*cb)(void *ctx, const linkstore_oauth_app *a),
                             void *ctx);
int linkstore_oauth_app_delete(linkstore_t *st, const char *id);
/* The app of client_id whose secret hashes to secret_hash. */
int linkstore_oauth_app_check(linkstore_t *st, const char *client_id, const char *secret_hash,
                              linkstore_oauth_app *a);
int linkstore_oauth_token_put(linkstore_t *st, const char *token_hash, const char *app_id,
                              const char *scopes, uint64_t expires_ms);
/* The scopes (into scopes, cap bytes) of an unexpired token. */
int linkstore_oauth_token_get(linkstore_t *st, const char *token_hash, uint64_t now_ms, char *scopes,
                              size_t cap);
/* The client_id (into client_id, cap bytes) of the app a token was issued
 * to: who the audit log names. */
int linkstore_oauth_token_client(linkstore_t *st, const char *token_hash, char *client_id, size_t cap);

/* ---- events and the webhook outbox ---- */

/* Stores an event and a delivery due now for each of hooks[0, nhooks) (urls,
 * borrowed), in one transaction. *seq: its place in the log. */
int linkstore_event_add(linkstore_t *st, const char *id, const char *type, const char *user,
                        const char *body, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                        uint64_t *seq);
/* The seq of event id (Last-Event-ID). -ENOENT when unknown. */
int linkstore_event_seq(linkstore_t *st, const char *id, uint64_t *seq);
/* Calls cb for up to limit events after after_seq (of user, when not NULL),
 * in order. */
int linkstore_events_after(linkstore_t *st, uint64_t after_seq, const char *user, size_t limit,
                           int (*cb)(void *ctx, const linkstore_event *e), void *ctx);
/* Calls cb for up to limit deliveries due at now_ms, oldest first, and
 * leases each until lease_until_ms (not due again before then, unless
 * linkstore_delivery_retry sets another time). */
int linkstore_deliveries_due(linkstore_t *st, uint64_t now_ms, uint64_t lease_until_ms, size_t limit,
                             int (*cb)(void *ctx, const linkstore_event *e), void *ctx);
/* The webhook accepted the event: the delivery is deleted. */
int linkstore_delivery_done(linkstore_t *st, uint64_t seq, const char *hook);
/* Another attempt later. */
int linkstore_delivery_retry(linkstore_t *st, uint64_t seq, const char *hook, unsigned attempts,
                             uint64_t next_ms);
/* Deletes deliveries owed to webhooks not in hooks (no longer configured);
 * *dropped: how many. */
int linkstore_deliveries_keep_hooks(linkstore_t *st, const char *const *hooks, size_t nhooks, size_t *dropped);
/* Deliveries not yet accepted. */
int linkstore_deliveries_pending(linkstore_t *st, size_t *count);
/* Deletes events created before before_ms that no webhook is owed. */
int linkstore_events_prune(linkstore_t *st, uint64_t before_ms);

#endif
