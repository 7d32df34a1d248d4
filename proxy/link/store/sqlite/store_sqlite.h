/* store_sqlite: the embedded store behind store.h, on sqldb.h.
 *
 * SQLite is a local file, so an operation is quick, but its result must
 * still arrive later (store.h): every operation is a job, copied with its
 * arguments into a queue; a uv_idle_t handle on the store's loop, active
 * while the queue is not empty, runs the jobs of one loop iteration in
 * order. A job runs its statement(s) to the end (one transaction; rows of a
 * list are copied into the job) and only then calls its callback: no
 * callback ever runs inside a transaction or before its operation
 * returned. Jobs queued by a callback run in the next iteration.
 *
 * store_sqlite.c: the queue, open and close, and how each kind of result
 * is delivered; store_sqlite_ops.c: one function per operation and the
 * ops table; store_sqlite_creds.c: the connected-credential operations. Internal to proxy/link/store/.
 */
#ifndef AUTHRELAY_STORE_SQLITE_H
#define AUTHRELAY_STORE_SQLITE_H

#include "dynbuf.h"
#include "list.h"
#include "sqldb.h"
#include "store.h"

typedef struct sq_job sq_job;

/* Runs a job's statements (never a callback of the caller); returns its status. */
typedef int (*sq_run_fn)(sqldb_t *q, sq_job *j);
/* Calls the job's callback with its status and results. */
typedef void (*sq_deliver_fn)(sq_job *j);

/* The caller's callback, of the type its deliverer calls. */
typedef union sq_cb {
  store_done_cb done;
  store_user_cb user;
  store_users_cb users;
  store_names_cb names;
  store_app_cb app;
  store_apps_cb apps;
  store_blob_cb blob;
  store_credential_cb credential;
  store_credentials_cb credentials;
  store_link_cb link;
  store_links_cb links;
  store_text_cb text;
  store_origins_cb origins;
  store_oauth_app_cb oauth_app;
  store_oauth_apps_cb oauth_apps;
  store_token_cb token;
  store_seq_cb seq;
  store_events_cb events;
  store_count_cb count;
} sq_cb;

struct sq_job {
  list_node link;                      /* on the store's queue */
  sq_run_fn run;
  sq_deliver_fn deliver;
  sq_cb cb;                            /* the caller's callback; deliver knows which */
  void *data;                          /* the caller's */
  int status;
  char *s[4];                          /* string arguments, copied (NULL: none) */
  uint64_t n[3];                       /* number arguments */
  size_t limit;                        /* of a list */
  int flag;                            /* app_update's set_secret */
  int has_blob;                        /* blob_in holds a blob argument */
  dynbuf blob_in;                      /* a sealed blob argument */
  dynbuf blob_out;                     /* a sealed blob result */
  dynbuf list_in;                      /* link_put's rows, event_add's / keep_hooks' hook offsets */
  size_t nlist_in;
  union {                              /* a row argument and/or result */
    store_user user;
    store_app_credential app;
    store_credential credential;
    store_link link;
    store_oauth_app oauth_app;
    store_oauth_token token;
    char text[STORE_TEXT_MAX + 1];
    uint64_t seq;
    size_t count;
  } r;
  dynbuf rows;                         /* rows of a list result, fixed-size records */
  size_t nrows;
  size_t total;                        /* user_list: all that match */
  dynbuf arena;                        /* strings of the rows (offsets in the records) */
  int overflow;                        /* the list passed its cap: -E2BIG */
};

/* Opens the file at path for st (store_open's sqlite half). */
int store_sqlite_open(store_t *st, uv_loop_t *loop, const char *path);

/* The synchronous core of an open SQLite store (for tests: they look at
 * the database directly), or NULL when st is another backend. */
sqldb_t *store_sqlite_db(store_t *st);

/* ops->close: see store_close(). */
void store_sqlite_close(store_t *st, void (*done)(store_t *st));

/* ---- for store_sqlite_ops.c ---- */

/* A new job on st that runs run, then deliver calls cb with data, its
 * strings copied (each may be NULL); NULL when out of memory or closing
 * (sq_job_refused() says which). An operation with only string arguments
 * is `return sq_job_queue(st, sq_job_new(...));`. */
sq_job *sq_job_new(store_t *st, sq_run_fn run, sq_deliver_fn deliver, sq_cb cb, void *data, const char *s0,
                   const char *s1, const char *s2);
int sq_job_refused(const store_t *st);
/* Queues j: 0, or -ECANCELED when closing (j freed); j NULL (sq_job_new
 * failed): sq_job_refused(). */
int sq_job_queue(store_t *st, sq_job *j);
void sq_job_free(sq_job *j);
/* For another backend that embeds an sq_job in its own operation (the
 * arguments, results and deliverers are the same): sq_job_prepare() fills
 * a zeroed j (its strings copied; -ENOMEM), sq_job_clear() frees what j
 * holds but not j itself. */
int sq_job_prepare(sq_job *j, sq_deliver_fn deliver, void *data, const char *s0, const char *s1,
                   const char *s2);
void sq_job_clear(sq_job *j);
/* Copies n bytes at p as the next record of j's rows; non-zero (and
 * overflow set) past STORE_LIST_MAX rows or the arena's cap. */
int sq_rows_add(sq_job *j, const void *p, size_t n);
/* Copies s (NUL included) into j's arena; its offset into *off. */
int sq_arena_add(sq_job *j, const char *s, size_t *off);

/* Deliverers, one per callback type. */
void sq_deliver_done(sq_job *j);
void sq_deliver_user(sq_job *j);
void sq_deliver_users(sq_job *j);
void sq_deliver_names(sq_job *j);
void sq_deliver_app(sq_job *j);
void sq_deliver_apps(sq_job *j);
void sq_deliver_blob(sq_job *j);
void sq_deliver_credential(sq_job *j);
void sq_deliver_credentials(sq_job *j);
void sq_deliver_link(sq_job *j);
void sq_deliver_links(sq_job *j);
void sq_deliver_text(sq_job *j);
void sq_deliver_origins(sq_job *j);
void sq_deliver_oauth_app(sq_job *j);
void sq_deliver_oauth_apps(sq_job *j);
void sq_deliver_token(sq_job *j);
void sq_deliver_seq(sq_job *j);
void sq_deliver_events(sq_job *j);
void sq_deliver_count(sq_job *j);

/* Records in rows for the lists whose rows hold strings: offsets into the arena. */
typedef struct sq_origin_rec {
  size_t origin;
  uint64_t created_ms;
} sq_origin_rec;

typedef struct sq_event_rec {
  uint64_t seq;
  size_t id, type, user, body, hook; /* hook: SIZE_MAX when none */
  unsigned attempts;
} sq_event_rec;

/* j's blob argument: a copy of b (nothing when b or b->ptr is NULL). */
int sq_copy_blob(sq_job *j, const store_blob *b);
/* The blob argument sq_copy_blob kept (ptr NULL: none). */
store_blob sq_job_blob(const sq_job *j);

/* The connected-credential operations (store_sqlite_creds.c). */
int sq_op_credential_put(store_t *st, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                         void *data);
int sq_op_credential_get(store_t *st, const char *user, const char *connector, store_credential_cb cb, void *data);
int sq_op_credential_list(store_t *st, const char *user, store_credentials_cb cb, void *data);
int sq_op_credential_update(store_t *st, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                            void *data);
int sq_op_credential_set_status(store_t *st, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms, store_done_cb cb, void *data);
int sq_op_credential_delete(store_t *st, const char *user, const char *connector, store_done_cb cb, void *data);
int sq_op_credential_lease(store_t *st, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms, store_done_cb cb, void *data);
int sq_op_credential_lease_end(store_t *st, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms, store_done_cb cb, void *data);

extern const store_ops store_sqlite_ops;

#endif
