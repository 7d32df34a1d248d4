/* store: what the link service keeps, behind a table of asynchronous
 * operations (DESIGN.md "Store and replicas").
 *
 * The link service talks to its store only through store_t.ops. Every
 * operation takes its arguments (copied: the caller may free them when the
 * call returns) and a completion callback with the caller's data:
 *   - it returns 0, and then its callback runs exactly once, later, on the
 *     loop the store was opened on: never before the operation returned,
 *     also for SQLite, and never inside the store's transaction (a caller
 *     may start another operation, or I/O, from its callback);
 *   - or it returns a negative error (-ENOMEM, -ECANCELED once store_close
 *     began) and its callback never runs.
 * Rows, strings and blobs handed to a callback are valid during the callback
 * only (copy what you keep). Operations complete in the order they were
 * started.
 *
 * Status codes: 0, -ENOENT (no such row), -EEXIST (a uniqueness rule),
 * -EBUSY (credential_lease: another holds the lease),
 * -EIO (the backend failed; logged), -ENOMEM, -E2BIG (a list longer than
 * STORE_LIST_MAX), -ECANCELED (store_close() came first).
 *
 * Rows are the truth: in-memory state elsewhere is a cache of them. Secrets
 * are sealed above the store (secretbox.h): the store keeps and returns
 * ciphertext blobs only, and never sees a key. Row ids (users, application
 * credentials, OAuth applications) are chosen by the caller (crypto_uuid),
 * so a secret can be sealed to its row before the row is written.
 *
 * A write that fails is never acknowledged: its transaction is rolled back,
 * the callback gets -EIO, health.write_errors counts it and
 * health.cannot_write stays set until a later write commits (ops->probe
 * tries one); /readyz and /metrics read health (storehealth.h).
 *
 * Backends, chosen by store_open()'s spec: "sqlite:<path>" or a plain path
 * (sqlite/: the embedded store, one file in WAL mode); "postgres://..." or
 * "postgresql://..." (postgres/: libpq's asynchronous API on the loop, for
 * replicas sharing one database; see store_pg.h). Beyond the codes above
 * the PostgreSQL store answers -ETIMEDOUT (store_opts.timeout_ms passed)
 * and -EAGAIN (too many operations pending).
 */
#ifndef AUTHRELAY_STORE_H
#define AUTHRELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define STORE_ID_LEN 36          /* a UUID */
#define STORE_TEXT_MAX 255       /* most names and ids */
/* Bytes for a text of n characters (up to 4 bytes of UTF-8 each) and its NUL:
 * lengths are counted in characters (apivalid.h). */
#define STORE_CHARS_BYTES(n) ((n) * 4 + 1)
#define STORE_LIST_MAX 1000      /* rows one list operation delivers; more: -E2BIG */
#define STORE_PAGE_MAX 256       /* rows one ops->link_page delivers at most */
#define STORE_SECRET_MAX 65536   /* bytes of a sealed blob */
#define STORE_SPEC_MAX 4096      /* bytes of a spec */
#define STORE_SQLITE_FILE "authrelay.db" /* the embedded store's file in the data directory */

typedef struct store_t store_t;

/* ---- rows ---- */

typedef struct store_user {
  char id[STORE_ID_LEN + 1];
  char origin_user_id[STORE_TEXT_MAX + 2]; /* up to 256 bytes: an identity header value */
  char origin_user_name[STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  int has_group;                       /* shared_credential_group is set */
  char company_id[STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  char company_name[STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  char user_type[8];                   /* "HUMAN" or "SYSTEM" */
  int is_test;
  uint64_t created_ms;
} store_user;

/* An application credential: the OAuth client of a connector. */
typedef struct store_app_credential {
  char id[STORE_ID_LEN + 1];
  char connector_slug[STORE_TEXT_MAX + 1];
  char client_id[STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  int has_secret;                      /* a sealed client_secret is stored (never shown) */
  int has_external_id;
  char external_id[STORE_TEXT_MAX + 1];
  int is_global_default;
  uint64_t created_ms;
  uint64_t modified_ms;
} store_app_credential;

/* A client of the control API (POST /api/v1/oauth/applications). */
typedef struct store_oauth_app {
  char id[STORE_ID_LEN + 1];
  char name[STORE_CHARS_BYTES(100)];
  char description[STORE_CHARS_BYTES(500)];
  char redirect_uri[2049];
  char scopes[512];                    /* space-separated */
  char client_id[STORE_TEXT_MAX + 1];
  uint64_t created_ms;
} store_oauth_app;

/* A live access token of an OAuth application. */
typedef struct store_oauth_token {
  char scopes[512];                    /* space-separated */
  char client_id[STORE_TEXT_MAX + 1];  /* of its application: who the audit log names */
} store_oauth_token;

/* A connected account: a registered user's credential for one connector,
 * without its secret (credential_get hands the sealed secret beside it). */
typedef struct store_credential {
  char connector[STORE_TEXT_MAX + 1];
  char kind[8];                        /* "api_key" or "oauth2" */
  int broken;                          /* its provider refused a refresh: a new link is needed */
  uint64_t version;                    /* 1 when connected, +1 at every write: credential_update's guard */
  uint64_t created_ms;                 /* connected (through the Link page) */
  uint64_t modified_ms;                /* last written (connected, refreshed, marked broken) */
  uint64_t expires_ms;                 /* oauth2: when the access token expires; 0 unknown or never */
} store_credential;

/* A link token and its state. */
typedef struct store_link {
  char token[64];
  char user[STORE_TEXT_MAX + 2];       /* origin_user_id (up to 256 bytes) */
  char connector[STORE_TEXT_MAX + 1];
  char callback_url[2049];             /* "" when none */
  char state[STORE_TEXT_MAX + 1];      /* the caller's state, "" when none */
  int status;                          /* linksvc_state */
  int pinned;                          /* minted by the API: outlives its waiters */
  uint64_t created_ms;
  uint64_t expires_ms;
  uint64_t ended_ms;
} store_link;

/* An allowed callback origin. */
typedef struct store_origin {
  const char *origin;                  /* scheme://host[:port] */
  uint64_t created_ms;
} store_origin;

/* An event of the log (and, from ops->deliveries_due, one webhook it is
 * owed to). */
typedef struct store_event {
  uint64_t seq;          /* order of the events */
  const char *id;        /* evt_... */
  const char *type;      /* link_token, auth_complete, link_expired */
  const char *user;      /* origin_user_id */
  const char *body;      /* the JSON */
  const char *hook;      /* the webhook url, or NULL */
  unsigned attempts;     /* deliveries tried so far */
} store_event;

/* Sealed bytes (secretbox_seal's output). ptr NULL: none. */
typedef struct store_blob {
  const void *ptr;
  size_t len;
} store_blob;

/* ---- completion callbacks (see the top of this file) ---- */

typedef void (*store_done_cb)(void *data, int status);
typedef void (*store_user_cb)(void *data, int status, const store_user *u);
/* rows[0, n) of a page; total: all rows that match. */
typedef void (*store_users_cb)(void *data, int status, const store_user *rows, size_t n, size_t total);
typedef void (*store_names_cb)(void *data, int status, const char *const *names, size_t n);
/* secret: the sealed client secret, when asked for and stored (else ptr NULL). */
typedef void (*store_app_cb)(void *data, int status, const store_app_credential *c, const store_blob *secret);
typedef void (*store_apps_cb)(void *data, int status, const store_app_credential *rows, size_t n);
typedef void (*store_blob_cb)(void *data, int status, const store_blob *b);
/* sealed: the credential's sealed secret (NULL when c is). */
typedef void (*store_credential_cb)(void *data, int status, const store_credential *c, const store_blob *sealed);
typedef void (*store_credentials_cb)(void *data, int status, const store_credential *rows, size_t n);
typedef void (*store_link_cb)(void *data, int status, const store_link *l);
typedef void (*store_links_cb)(void *data, int status, const store_link *rows, size_t n);
typedef void (*store_text_cb)(void *data, int status, const char *text);
typedef void (*store_origins_cb)(void *data, int status, const store_origin *rows, size_t n);
typedef void (*store_oauth_app_cb)(void *data, int status, const store_oauth_app *a);
typedef void (*store_oauth_apps_cb)(void *data, int status, const store_oauth_app *rows, size_t n);
typedef void (*store_token_cb)(void *data, int status, const store_oauth_token *t);
typedef void (*store_seq_cb)(void *data, int status, uint64_t seq);
typedef void (*store_events_cb)(void *data, int status, const store_event *rows, size_t n);
typedef void (*store_count_cb)(void *data, int status, size_t count);

/* ---- the operations ---- */

typedef struct store_ops {
  /* A small write that means nothing: 0 and health.cannot_write cleared
   * when it commits, else -EIO. */
  int (*probe)(store_t *st, store_done_cb cb, void *data);

  /* registered users. user_create: u->id and created_ms set by the caller;
   * -EEXIST when origin_user_id is taken, the callback then gets the
   * existing user. user_update writes the mutable fields (name, group,
   * user_type, is_test) of row u->id. user_delete also deletes the user's
   * credentials and links. user_list: oldest first, filtered by
   * origin_user_id when not NULL, offset/limit (limit <= STORE_LIST_MAX).
   * user_connectors: the slugs the user has a credential for. */
  int (*user_create)(store_t *st, const store_user *u, store_user_cb cb, void *data);
  int (*user_get)(store_t *st, const char *id, store_user_cb cb, void *data);
  int (*user_by_origin)(store_t *st, const char *origin_user_id, store_user_cb cb, void *data);
  int (*user_update)(store_t *st, const store_user *u, store_done_cb cb, void *data);
  int (*user_delete)(store_t *st, const char *id, store_done_cb cb, void *data);
  int (*user_list)(store_t *st, const char *origin_user_id, size_t offset, size_t limit, store_users_cb cb,
                   void *data);
  int (*user_connectors)(store_t *st, const char *origin_user_id, store_names_cb cb, void *data);

  /* application credentials. app_create: c->id, created_ms, modified_ms set
   * by the caller, secret sealed (NULL: none); when c->is_global_default
   * the connector's others lose the flag; -EEXIST: (connector_slug,
   * external_id) taken. app_update writes client_id, external_id and
   * is_global_default of row c->id and modified_ms; when set_secret,
   * secret (NULL: none) replaces the stored one; the callback gets the row
   * as stored. app_for: the credential the Link page uses for a connector
   * (external_id's when not NULL or "", else the global default, else the
   * oldest, one without external_id first), with its sealed secret. */
  int (*app_create)(store_t *st, const store_app_credential *c, const store_blob *secret, store_app_cb cb,
                    void *data);
  int (*app_get)(store_t *st, const char *id, store_app_cb cb, void *data);
  int (*app_update)(store_t *st, const store_app_credential *c, int set_secret, const store_blob *secret,
                    store_app_cb cb, void *data);
  int (*app_delete)(store_t *st, const char *id, store_done_cb cb, void *data);
  int (*app_list)(store_t *st, const char *connector_slug, store_apps_cb cb, void *data);
  int (*app_for)(store_t *st, const char *connector_slug, const char *external_id, store_app_cb cb, void *data);

  /* connected credentials (user: an origin_user_id). credential_put: the
   * sealed credential of user for connector (kind "api_key" or "oauth2";
   * expires_ms: its access token's expiry, 0 unknown), replacing any (a
   * new connection: active, created now, version one more than the
   * replaced row's). credential_get: the row and its sealed secret.
   * credential_list: the user's rows by connector (no secrets).
   * credential_update: a refreshed secret (sealed, expires_ms), the row
   * active again; credential_set_status: broken or not. Both write only
   * when the row's version is still version (else -ENOENT: deleted or
   * replaced meanwhile, e.g. reconnected while a refresh was in flight),
   * and bump it. credential_delete: -ENOENT when there was none.
   * credential_lease: the refresh lease of the row at version, the single
   * flight of refreshes across replicas sharing the store: claimed (0, its
   * end until_ms) when the row is still at version and no lease is in
   * force at now_ms (none, or one that ended); -EBUSY when another's lease
   * on that version is still in force; -ENOENT when the row is gone or at
   * another version. Two claims at once: one wins (a row lock, held only
   * for the claim's own transaction, never across the refresh). Every
   * write of the row (put, update, set_status) ends its lease. A lease
   * holder that dies blocks nobody past until_ms. Times are the callers'
   * clocks (replicas' clocks are assumed in sync to well within a lease).
   * credential_lease_end: the holder gives its lease up (a refresh that
   * failed: the next caller may try at once): 0, or -ENOENT when the lease
   * claimed until until_ms at version is no longer in the row (ended,
   * written over, or another's since). */
  int (*credential_put)(store_t *st, const char *user, const char *connector, const char *kind,
                        const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                        void *data);
  int (*credential_get)(store_t *st, const char *user, const char *connector, store_credential_cb cb,
                        void *data);
  int (*credential_list)(store_t *st, const char *user, store_credentials_cb cb, void *data);
  int (*credential_update)(store_t *st, const char *user, const char *connector, uint64_t version,
                           const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                           void *data);
  int (*credential_set_status)(store_t *st, const char *user, const char *connector, uint64_t version,
                               int broken, uint64_t now_ms, store_done_cb cb, void *data);
  int (*credential_delete)(store_t *st, const char *user, const char *connector, store_done_cb cb, void *data);
  int (*credential_lease)(store_t *st, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                          uint64_t until_ms, store_done_cb cb, void *data);
  int (*credential_lease_end)(store_t *st, const char *user, const char *connector, uint64_t version,
                              uint64_t until_ms, store_done_cb cb, void *data);

  /* links. link_put inserts or replaces rows[0, n) (by token) in one
   * transaction: all or none. link_page: up to limit (<= STORE_PAGE_MAX)
   * links created at or after since_ms, ordered by (created_ms, token),
   * after the key (after_ms, after_token) of the last row of the previous
   * page (after_token "" for the first page). link_prune deletes links
   * ended before before_ms. link_set_external_id / link_external_id: the
   * link-token API's external_id of a link (which application credential
   * its OAuth2 flow uses); -ENOENT when it has none. */
  int (*link_put)(store_t *st, const store_link *rows, size_t n, store_done_cb cb, void *data);
  int (*link_end)(store_t *st, const char *token, int status, uint64_t ended_ms, store_done_cb cb, void *data);
  int (*link_get)(store_t *st, const char *token, store_link_cb cb, void *data);
  int (*link_page)(store_t *st, uint64_t since_ms, uint64_t after_ms, const char *after_token, size_t limit,
                   store_links_cb cb, void *data);
  int (*link_prune)(store_t *st, uint64_t before_ms, store_done_cb cb, void *data);
  int (*link_set_external_id)(store_t *st, const char *token, const char *external_id, store_done_cb cb,
                              void *data);
  int (*link_external_id)(store_t *st, const char *token, store_text_cb cb, void *data);

  /* callback origins (scheme://host[:port], normalised by the caller).
   * origin_allowed: 0 or -ENOENT. */
  int (*origin_add)(store_t *st, const char *origin, uint64_t now_ms, store_done_cb cb, void *data);
  int (*origin_delete)(store_t *st, const char *origin, store_done_cb cb, void *data);
  int (*origin_allowed)(store_t *st, const char *origin, store_done_cb cb, void *data);
  int (*origin_list)(store_t *st, store_origins_cb cb, void *data);

  /* OAuth applications and their tokens. oauth_app_create: a->id,
   * client_id, created_ms set by the caller; only secret_hash (SHA-256 hex)
   * of its secret is kept; -EEXIST: name taken. oauth_app_check: the app of
   * client_id whose secret hashes to secret_hash (compared in constant
   * time), else -ENOENT. oauth_token_get: an unexpired token's scopes and
   * its application's client_id. */
  int (*oauth_app_create)(store_t *st, const store_oauth_app *a, const char *secret_hash, store_oauth_app_cb cb,
                          void *data);
  int (*oauth_app_list)(store_t *st, store_oauth_apps_cb cb, void *data);
  int (*oauth_app_delete)(store_t *st, const char *id, store_done_cb cb, void *data);
  int (*oauth_app_check)(store_t *st, const char *client_id, const char *secret_hash, store_oauth_app_cb cb,
                         void *data);
  int (*oauth_token_put)(store_t *st, const char *token_hash, const char *app_id, const char *scopes,
                         uint64_t expires_ms, store_done_cb cb, void *data);
  int (*oauth_token_get)(store_t *st, const char *token_hash, uint64_t now_ms, store_token_cb cb, void *data);

  /* the events log and the webhook outbox. event_add stores e (id, type,
   * user, body; seq, hook, attempts ignored) and a delivery due at now_ms
   * for each of hooks[0, nhooks), in one transaction; the callback gets its
   * seq. Seqs grow in commit order (on PostgreSQL event_add takes a
   * transaction-level lock for that), so a reader of "seq > the last one
   * read" never skips an event committed later with a lower seq.
   * event_seq: the seq of event id (Last-Event-ID), -ENOENT when unknown.
   * event_last: the newest event's seq, 0 when the log is empty.
   * events_after: up to limit (<= STORE_LIST_MAX) events after after_seq
   * (of user, when not NULL), in order. deliveries_due: up to limit
   * deliveries due at now_ms and owed to one of hooks[0, nhooks) (the
   * webhooks the caller sends to: replicas sharing a store may be
   * configured differently for a while), oldest first, each leased until
   * lease_until_ms (not due again before then unless delivery_retry sets
   * another time), delivered after the lease committed. delivery_done: the
   * webhook accepted it. deliveries_keep_hooks: deletes deliveries owed to
   * webhooks not in hooks; the callback gets how many. deliveries_pending:
   * how many deliveries owed to one of hooks[0, nhooks) are not accepted
   * yet (a shared outbox may hold others' too). events_prune deletes
   * the events created before before_ms, and with them the deliveries still
   * owed of them, in one transaction. */
  int (*event_add)(store_t *st, const store_event *e, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                   store_seq_cb cb, void *data);
  int (*event_seq)(store_t *st, const char *id, store_seq_cb cb, void *data);
  int (*event_last)(store_t *st, store_seq_cb cb, void *data);
  int (*events_after)(store_t *st, uint64_t after_seq, const char *user, size_t limit, store_events_cb cb,
                      void *data);
  int (*deliveries_due)(store_t *st, uint64_t now_ms, uint64_t lease_until_ms, const char *const *hooks,
                        size_t nhooks, size_t limit, store_events_cb cb, void *data);
  int (*delivery_done)(store_t *st, uint64_t seq, const char *hook, store_done_cb cb, void *data);
  int (*delivery_retry)(store_t *st, uint64_t seq, const char *hook, unsigned attempts, uint64_t next_ms,
                        store_done_cb cb, void *data);
  int (*deliveries_keep_hooks)(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb,
                               void *data);
  int (*deliveries_pending)(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb, void *data);
  int (*events_prune)(store_t *st, uint64_t before_ms, store_done_cb cb, void *data);

  /* store_close()'s backend half: pending operations complete with
   * -ECANCELED, then done(st) runs (later, on the loop). */
  void (*close)(store_t *st, void (*done)(store_t *st));
} store_ops;

/* Whether the store can write (storehealth.h reads it). */
typedef struct store_health {
  int cannot_write;      /* the last write failed; cleared by one that commits */
  uint64_t write_errors; /* writes that failed (rolled back, never acknowledged) */
  char write_error[160]; /* the backend's message for the last failed write */
  int unreachable;       /* PostgreSQL: no connection is up and the last try failed */
  char reach_error[160]; /* why (libpq's message; never the password) */
} store_health;

typedef void (*store_close_cb)(store_t *st);

struct store_t {
  const store_ops *ops;  /* NULL until store_open() succeeded */
  uv_loop_t *loop;       /* callbacks run here; not owned */
  void *impl;            /* the backend's state; owned, freed before the close callback */
  store_health health;   /* written by the backend */
  int schema_version;    /* after migrations */
  int shared;            /* 1: other processes (replicas) use it too (PostgreSQL) */
  char error[256];       /* why store_open() failed */
  store_close_cb close_cb;
};

/* Options of store_open_opts(); zeroed: the defaults. */
typedef struct store_opts {
  long timeout_ms;  /* store_timeout_s: an operation not done by then fails -ETIMEDOUT (postgres);
                       0: STORE_TIMEOUT_DEFAULT_MS */
  int pool;         /* postgres connections, 1 to 8; 0: 3 */
} store_opts;

#define STORE_TIMEOUT_DEFAULT_MS 5000L
#define STORE_TIMEOUT_MAX_MS 600000L

/* Opens the store spec names on loop: "sqlite:<path>" or a path (created,
 * mode 0600, and migrated), or a postgres:// URL. Returns 0 with the
 * store ready for operations, or a negative error with a one-line message
 * in st->error: -EINVAL (bad spec, or a database newer than this
 * authrelay), -ENOTSUP (a backend not built), -EROFS / -EIO (the file
 * cannot be opened or written), -ENOMEM. On error nothing needs closing.
 * PostgreSQL connects asynchronously: store_open() checks the conninfo
 * only (-EINVAL), and the first operations run once connected and migrated,
 * or fail with -ETIMEDOUT (unreachable) or -EIO (migrations failed). */
int store_open(store_t *st, uv_loop_t *loop, const char *spec);
/* store_open() with options (NULL: the defaults); -EINVAL when out of range. */
int store_open_opts(store_t *st, uv_loop_t *loop, const char *spec, const store_opts *opts);

/* Closes st, libuv-style: operations not yet completed complete with
 * -ECANCELED, new ones are refused with -ECANCELED, and cb (may be NULL)
 * runs on the loop once everything is freed; st's memory is the caller's
 * and may be reused after cb. The loop must run for it. Safe on a zeroed
 * store (cb then runs at once). */
void store_close(store_t *st, store_close_cb cb);

#endif
