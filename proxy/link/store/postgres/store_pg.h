/* store_pg: the PostgreSQL store behind store.h (DESIGN.md "Store and
 * replicas"), on event/pgconn.h: libpq's asynchronous API driven by the
 * control loop, never blocking it.
 *
 * A pool of PGSTORE_POOL_DEFAULT connections to one conninfo (a
 * postgres:// URL or "key=value ..." string, passed to libpq as it is, so
 * TLS is whatever its sslmode etc. say). The first connection up applies
 * the numbered migrations (store_pg_schema.c) under an advisory lock, so
 * that replicas starting at once migrate one after the other; operations
 * wait until then.
 *
 * Every operation is a pg_op: its arguments copied, as the SQLite
 * backend's jobs (the same sq_job fields and deliverers), a step function
 * that sends its queries one at a time on the connection it holds (one
 * operation per connection at a time, so a transaction, BEGIN ... COMMIT,
 * is never interleaved with another operation's queries) and reads their
 * results. Every write runs in a transaction (BEGIN, its statements,
 * COMMIT): one whose connection is lost or closed by the timeout never
 * commits on its own. Order: a write starts once every operation started before it has
 * its result, a read once every earlier write has (reads run side by side
 * on the pool); callbacks run in the order the operations were started,
 * from a timer on the loop (never inside the operation's call).
 *
 * Time: an operation not finished store_timeout (opts.timeout_ms) after it
 * was started fails with -ETIMEDOUT, also while it waits for a connection
 * (the database unreachable); a query past it closes its connection
 * (pgconn.h: a cancel would block), which the server rolls back.
 *
 * Failures: a lost connection fails its operation with -EIO (a COMMIT whose
 * answer was lost is not acknowledged either), and is reconnected with
 * back-off (PGSTORE_RETRY_MIN_MS doubling up to PGSTORE_RETRY_MAX_MS). An
 * idle connection is pinged (SELECT 1) every store_timeout (at least
 * PGSTORE_PING_MIN_MS), so that one
 * that died silently (a partition, a failover) is replaced before an
 * operation takes it.
 * SQLSTATE class 23 (a unique or foreign key violation) is -EEXIST, as any
 * constraint is for SQLite. A failed write (-EIO, -ETIMEDOUT) sets
 * health.cannot_write until a write commits.
 *
 * The connection string's password is never logged nor put in st->error.
 *
 * store_pg.c: open, close, the pool, dispatch, delivery, helpers;
 * store_pg_schema.c: migrations; store_pg_users.c (users, application
 * credentials), store_pg_creds.c (connected credentials),
 * store_pg_clients.c (origins, OAuth) and store_pg_links.c (links, events,
 * the outbox, the ops table): one step function per operation. Internal to
 * proxy/link/store/.
 */
#ifndef AUTHRELAY_STORE_PG_H
#define AUTHRELAY_STORE_PG_H

#include <libpq-fe.h>

#include "pgconn.h"
#include "store.h"
#include "store_sqlite.h"

#define PGSTORE_POOL_DEFAULT 3
#define PGSTORE_POOL_MAX 8
#define PGSTORE_OPS_MAX 10000          /* operations started and not yet delivered; more: -EAGAIN */
#define PGSTORE_RETRY_MIN_MS 100
#define PGSTORE_RETRY_MAX_MS 5000
#define PGSTORE_PING_MIN_MS 1000       /* idle connections are pinged every store_timeout, at least this apart */
#define PGSTORE_MIGRATE_TIMEOUT_MS 60000L /* per query of the migrations (the lock may wait) */
#define PGSTORE_LIST_ROWS "1001"       /* LIMIT of a list: STORE_LIST_MAX + 1 tells -E2BIG */

typedef struct pg_store pg_store;
typedef struct pg_slot pg_slot;
typedef struct pg_op pg_op;

#define PGSTORE_CHANNEL_MAX 63   /* bytes of a NOTIFY channel: [a-z0-9_], a PostgreSQL identifier */
#define PGSTORE_PAYLOAD_MAX 7999 /* bytes of a NOTIFY payload (the server's limit) */
#define PGSTORE_LINKS_CHANNEL "authrelay_links" /* link_put NOTIFYs every row's token here */

/* Cross-replica wake-ups (the seam for cross-replica completion): a
 * NOTIFY's payload (valid during the call), and "re-read what may have
 * been missed" after every (re)connect of the listening connection. */
typedef void (*store_pg_notify_fn)(void *data, const char *payload);
typedef void (*store_pg_resync_fn)(void *data);

/* The LISTEN connection (store_pg_listen.c), outside the pool. */
typedef struct pg_listener {
  pgconn_t pc;         /* first: pc.data is the listener */
  uv_timer_t retry;    /* reconnect back-off; once listening, the next ping or re-read */
  pg_store *s;         /* NULL until initialised */
  int inited;          /* pc initialised (closed with the store) */
  char channel[PGSTORE_CHANNEL_MAX + 1];
  store_pg_notify_fn on_notify; /* NULL until store_pg_listen() */
  store_pg_resync_fn on_resync;
  void *data;          /* the caller's */
  unsigned backoff_ms;
  int listening;       /* LISTEN answered on this connection */
  int busy;            /* a LISTEN or a ping is in flight */
  int resync_wanted;   /* store_pg_resync_later() asked for on_resync again */
  unsigned resync_backoff_ms; /* its delay: doubles per ask, reset by a reconnect or a re-read done */
} pg_listener;

/* The outcome of the op's last query: status as store.h (0, -EEXIST,
 * -EIO, -ETIMEDOUT, -E2BIG), res the result (NULL unless status is 0). */
typedef void (*pg_step_fn)(pg_op *op, int status, const PGresult *res);

struct pg_op {
  sq_job j;            /* arguments, results, the caller's callback (store_sqlite.h) */
  pg_op *next;         /* the store's operations, in the order they were started */
  pg_store *s;
  pg_step_fn step;
  const void *fixed;   /* the step's constant data (a statement), or NULL */
  int write;           /* a write: after every earlier operation; counts for health */
  int phase;           /* what the query in flight is, for step (each op's own numbers) */
  size_t index;        /* a row or hook being written */
  int started;         /* holds or held a connection */
  int complete;        /* j.status is final */
  int in_tx;           /* BEGIN sent and neither COMMIT nor ROLLBACK answered */
  uint64_t deadline;   /* uv_now() ms */
  pg_slot *slot;       /* the connection held; NULL when none */
  char errmsg[160];    /* why the op failed (for health), "" when it did not */
};

struct pg_slot {
  pgconn_t pc;         /* first: pc.data is the slot */
  pg_store *s;
  uv_timer_t retry;    /* reconnect back-off; connected, the next ping */
  pg_op *op;           /* the operation holding the connection */
  int pinging;         /* a ping (SELECT 1) of the idle connection is in flight */
  int cleaning;        /* a ROLLBACK after a failed transaction is in flight */
  int migrating;       /* the migrations run on this connection */
  int was_up;          /* connected once: a loss is logged as such */
  unsigned backoff_ms;
};

/* The migrations' progress (store_pg_schema.c). */
typedef struct pg_migration {
  pg_slot *slot;       /* running on; NULL when none */
  int version;         /* found in the database */
  int next;            /* migration being applied (0-based) */
  int stmt;            /* its statement being run */
  int phase;           /* the query in flight (store_pg_schema.c's numbers) */
} pg_migration;

struct pg_store {
  store_t *st;
  char *conninfo;      /* owned; holds the password: never logged */
  long timeout_ms;     /* store_timeout */
  pg_slot slots[PGSTORE_POOL_MAX];
  int nslots;
  uv_timer_t timer;    /* deadlines of waiting ops, and deferred deliveries */
  pg_op *head;         /* started, not yet delivered, in order */
  pg_op *tail;
  size_t nops;
  int schema_ready;    /* migrations done: ops may run */
  int schema_failed;   /* migrations cannot run (a newer schema, a bad one): ops fail -EIO */
  pg_migration mig;
  int closing;
  unsigned open_handles;
  void (*done)(store_t *st);
  pg_listener listener; /* LISTEN, once store_pg_listen() was called */
};

/* Opens the store on conninfo (store_open's postgres half). */
int store_pg_open(store_t *st, uv_loop_t *loop, const char *conninfo, const store_opts *opts);
void store_pg_close(store_t *st, void (*done)(store_t *st));

/* Listens on channel ([a-z0-9_], at most PGSTORE_CHANNEL_MAX bytes) on a
 * connection of its own: on_notify for every NOTIFY on it (from any
 * replica, this one included), on_resync once LISTEN is in force after
 * every (re)connect, the first included (notifications sent while it was
 * down are lost: re-read the tables). The connection only waits, so
 * nothing would tell it died silently (a network partition, a failover:
 * no FIN, no RST): store_timeout after its last answer it sends
 * `SELECT 1`, and one not answered within store_timeout closes it
 * (pgconn), which reconnects, LISTENs and calls on_resync. One channel
 * per store. Returns 0,
 * -ENOTSUP (not a PostgreSQL store), -EINVAL, -EBUSY (listening already),
 * -ECANCELED (closing). */
int store_pg_listen(store_t *st, const char *channel, store_pg_notify_fn on_notify, store_pg_resync_fn on_resync,
                    void *data);
/* Asks for on_resync again, after a back-off (PGSTORE_RETRY_MIN_MS
 * doubling up to PGSTORE_RETRY_MAX_MS per ask, from the first ask after a
 * reconnect): the caller could not read what was notified, or its re-read
 * failed, and the LISTEN connection being fine, no reconnect would bring
 * the re-read. Sent as LISTEN again on that connection, whose answer calls
 * on_resync. Returns 0, -ENOTSUP (not a PostgreSQL store, or not
 * listening), -ECANCELED (closing). */
int store_pg_resync_later(store_t *st);
/* A re-read succeeded: the next store_pg_resync_later() waits the least
 * again. No-op on another backend. */
void store_pg_resync_done(store_t *st);
/* NOTIFY channel with payload (at most PGSTORE_PAYLOAD_MAX bytes: an id,
 * never a secret), as a write of the store (ordered with the others; the
 * server delivers it when it commits). Returns as a store operation, or
 * -ENOTSUP / -EINVAL. */
int store_pg_notify(store_t *st, const char *channel, const char *payload, store_done_cb cb, void *data);

/* ---- for the step functions ---- */

/* A new operation on st (its strings copied) and its start, which may
 * only queue it: 0, or -ECANCELED / -ENOMEM / -EAGAIN (op freed). op
 * NULL: sq_job_new failed. */
pg_op *pg_op_new(store_t *st, pg_step_fn step, sq_deliver_fn deliver, void *data, const char *s0, const char *s1,
                 const char *s2);
int pg_op_start(store_t *st, pg_op *op, int write);
void pg_op_free(pg_op *op);
/* Sends the op's next query (phase >= 0 says what it is): its result comes
 * to op->step. Text parameters, NULL for SQL NULL. On an error at once the
 * op ends with it. A write's queries run between a BEGIN and a COMMIT the
 * framework sends (step starts after BEGIN). */
void pg_op_query(pg_op *op, int phase, const char *sql, const char *const *params, int nparams);
/* Ends the op with status: a write's 0 after its COMMIT was answered; an
 * error rolls its transaction back. */
void pg_op_end(pg_op *op, int status);
/* Ends op with status unless it is 0: returns whether it ended. */
int pg_failed(pg_op *op, int status);
/* Ends op unless the query succeeded with a row: with status, or -ENOENT
 * when it found none. Returns whether it ended. */
int pg_no_row(pg_op *op, int status, const PGresult *res);
/* Reads row of res into out, a row struct of the reader's own type. */
typedef void (*pg_row_reader)(const PGresult *res, int row, void *out);
/* A list's answer: every row of res, read by read into a struct of size
 * bytes (a store.h row), added to op's rows; then ends op (0, or -ENOMEM
 * when rows could not be kept: those kept are delivered). */
void pg_rows_end(pg_op *op, const PGresult *res, pg_row_reader read, size_t size);
/* An operation of one statement sql with the one parameter s0: 0 when it
 * gave a row (RETURNING for a write), else -ENOENT. sql: a literal (kept). */
int pg_simple_op(store_t *st, const char *sql, int write, const char *s0, store_done_cb cb, void *data);

/* ---- helpers ---- */

/* Column col of row as text, copied into out (cap bytes, truncated). */
void pg_col_text(const PGresult *res, int row, int col, char *out, size_t cap);
uint64_t pg_col_u64(const PGresult *res, int row, int col);
int pg_col_null(const PGresult *res, int row, int col);
/* A bytea column (hex text) decoded and appended to out: 0, -EIO, -ENOMEM. */
int pg_col_bytea(const PGresult *res, int row, int col, dynbuf *out);
/* A blob as bytea input text ("\\x" and hex) in a new string (free()); NULL
 * when out of memory. */
char *pg_bytea_param(const void *p, size_t n);
/* The op's blob argument (sq_copy_blob) as a bytea parameter (free());
 * *none when it has none (NULL then, and no error). NULL and !*none: out
 * of memory. */
char *pg_blob_param(pg_op *op, int *none);
/* A number as text into buf (at least 24 bytes); returns buf. */
const char *pg_u64(char *buf, uint64_t v);
/* strings[0, n) as a text[] literal in a new string (free()); NULL when out
 * of memory. */
char *pg_text_array(const char *const *strings, size_t n);

/* ---- migrations (store_pg_schema.c) ---- */

/* Applies the migrations on slot, which is connected and free; on the end
 * (done or failed) the store dispatches again. */
void pg_migrate_start(pg_store *s, pg_slot *slot);
/* Dispatches waiting operations (after the migrations). */
void pg_store_kick(pg_store *s);
/* How many migrations this authrelay knows. */
int pg_schema_version(void);

/* ---- the listener (store_pg_listen.c) and its NOTIFY op ---- */
int pg_listener_init(pg_store *s, uv_loop_t *loop);
void pg_listener_close(pg_store *s);
int pg_notify_op(store_t *st, const char *channel, const char *payload, store_done_cb cb, void *data);
/* One of the store's handles closed (the last frees it). */
void pg_store_handle_closed(pg_store *s);

/* The operations of store_pg_users.c, store_pg_creds.c and
 * store_pg_clients.c, for the ops table. */
int pg_op_user_create(store_t *st, const store_user *u, store_user_cb cb, void *data);
int pg_op_user_get(store_t *st, const char *id, store_user_cb cb, void *data);
int pg_op_user_by_origin(store_t *st, const char *origin_user_id, store_user_cb cb, void *data);
int pg_op_user_update(store_t *st, const store_user *u, store_done_cb cb, void *data);
int pg_op_user_delete(store_t *st, const char *id, store_done_cb cb, void *data);
int pg_op_user_list(store_t *st, const char *origin_user_id, size_t offset, size_t limit, store_users_cb cb,
                    void *data);
int pg_op_user_connectors(store_t *st, const char *origin_user_id, store_names_cb cb, void *data);
int pg_op_app_create(store_t *st, const store_app_credential *c, const store_blob *secret, store_app_cb cb,
                     void *data);
int pg_op_app_get(store_t *st, const char *id, store_app_cb cb, void *data);
int pg_op_app_update(store_t *st, const store_app_credential *c, int set_secret, const store_blob *secret,
                     store_app_cb cb, void *data);
int pg_op_app_delete(store_t *st, const char *id, store_done_cb cb, void *data);
int pg_op_app_list(store_t *st, const char *connector_slug, store_apps_cb cb, void *data);
int pg_op_app_for(store_t *st, const char *connector_slug, const char *external_id, store_app_cb cb, void *data);
int pg_op_credential_put(store_t *st, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                         void *data);
int pg_op_credential_get(store_t *st, const char *user, const char *connector, store_credential_cb cb, void *data);
int pg_op_credential_list(store_t *st, const char *user, store_credentials_cb cb, void *data);
int pg_op_credential_update(store_t *st, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                            void *data);
int pg_op_credential_set_status(store_t *st, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms, store_done_cb cb, void *data);
int pg_op_credential_delete(store_t *st, const char *user, const char *connector, store_done_cb cb, void *data);
int pg_op_credential_lease(store_t *st, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms, store_done_cb cb, void *data);
int pg_op_credential_lease_end(store_t *st, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms, store_done_cb cb, void *data);
int pg_op_origin_add(store_t *st, const char *origin, uint64_t now_ms, store_done_cb cb, void *data);
int pg_op_origin_delete(store_t *st, const char *origin, store_done_cb cb, void *data);
int pg_op_origin_allowed(store_t *st, const char *origin, store_done_cb cb, void *data);
int pg_op_origin_list(store_t *st, store_origins_cb cb, void *data);
int pg_op_oauth_app_create(store_t *st, const store_oauth_app *a, const char *secret_hash, store_oauth_app_cb cb,
                           void *data);
int pg_op_oauth_app_list(store_t *st, store_oauth_apps_cb cb, void *data);
int pg_op_oauth_app_delete(store_t *st, const char *id, store_done_cb cb, void *data);
int pg_op_oauth_app_check(store_t *st, const char *client_id, const char *secret_hash, store_oauth_app_cb cb,
                          void *data);
int pg_op_oauth_token_put(store_t *st, const char *token_hash, const char *app_id, const char *scopes,
                          uint64_t expires_ms, store_done_cb cb, void *data);
int pg_op_oauth_token_get(store_t *st, const char *token_hash, uint64_t now_ms, store_token_cb cb, void *data);

extern const store_ops store_pg_ops;

#endif
