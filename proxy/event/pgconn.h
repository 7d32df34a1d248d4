/* pgconn: one PostgreSQL connection driven by a libuv loop through libpq's
 * asynchronous API.
 *
 * The PostgreSQL store (DESIGN.md, "Store and replicas") runs on the control
 * loop, which must never block, so nothing here calls PQexec, PQconnectdb,
 * PQcancel or anything else that waits. A connection is:
 *   - resolved first: every host name of the conninfo goes through
 *     uv_getaddrinfo (the thread pool) and libpq gets the addresses as
 *     `hostaddr`, because PQconnectStart would resolve names synchronously;
 *     `host` stays, for TLS verification and the messages (pgaddr.h does
 *     the bookkeeping);
 *   - connected with PQconnectStartParams + PQconnectPoll on a uv_poll_t, re-armed
 *     whenever the socket changes (libpq opens a new one per address it
 *     tries and for some retries; the descriptor number is often the same
 *     one, so the socket's identity is compared, not just its number); libpq
 *     does TLS itself (sslmode etc. pass through from the conninfo);
 *   - bounded by a timeout (uv_timer_t) from the start of the resolution;
 *   - then a FIFO of queries sent one at a time with PQsendQueryParams (text
 *     parameters, text results) on a non-blocking connection (PQsetnonblocking;
 *     PQflush waits for writability for large sends); rows arrive in libpq's
 *     single-row mode and are gathered into one PGresult up to
 *     PGCONN_RESULT_MAX, so that a huge result cannot take the memory;
 *   - LISTEN is a query like any other; notifications (PQnotifies after every
 *     PQconsumeInput) go to a callback.
 *
 * A query past its timeout cannot be cancelled without blocking on libpq 15
 * (PQcancel and PQrequestCancel open a connection synchronously; the
 * non-blocking PQcancelStart arrived in libpq 17), so the connection is
 * closed instead: the query gets -ETIMEDOUT, the queries behind it
 * -ECONNRESET, and the status callback -ETIMEDOUT. The server notices the
 * closed socket and ends the backend (and its transaction) the next time it
 * writes or checks (client_connection_check_interval when set).
 *
 * One pgconn_t per connection, used from its loop's thread only (not
 * thread-safe). It follows the libuv object model: the caller embeds it,
 * pgconn_init() / pgconn_close() pair up, and its memory may be freed only
 * once the close callback has run. After a connect failure or a loss the same
 * pgconn_t may connect again (pgconn_connect), which is how a caller
 * reconnects with back-off.
 *
 * Callbacks run only from the loop's callbacks, never from inside a pgconn_*
 * call. Any callback may call any pgconn_* function on its pgconn_t,
 * pgconn_close() included.
 *
 * Messages (pgconn_error(), errmsg of a query) come from libpq or the server:
 * they never hold the password, but a server message may quote the values of
 * a row (e.g. a unique violation): log them with care.
 */
#ifndef AUTHRELAY_PGCONN_H
#define AUTHRELAY_PGCONN_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#define PGCONN_CONNINFO_MAX 4096                /* bytes in a conninfo string or URL */
#define PGCONN_HOSTS_MAX 4                      /* hosts in a conninfo's host list */
#define PGCONN_ADDRS_MAX 16                     /* addresses tried, over all hosts */
#define PGCONN_SQL_MAX (64 * 1024)              /* bytes of SQL in one query */
#define PGCONN_PARAMS_MAX 100                   /* parameters of one query */
#define PGCONN_PARAMS_BYTES_MAX (8 * 1024 * 1024) /* bytes of all parameters of one query */
#define PGCONN_QUERIES_MAX 1024                 /* queries queued or in flight */
#define PGCONN_ERROR_MAX 512                    /* bytes kept of a message (pgconn_error) */
#define PGCONN_RESULT_MAX (16 * 1024 * 1024)    /* bytes of a result: values + 16 per field */
#define PGCONN_TIMEOUT_MAX_MS (10 * 60 * 1000L) /* largest timeout */
#define PGCONN_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define PGCONN_DEFAULT_QUERY_TIMEOUT_MS 10000L

typedef struct pgconn_t pgconn_t;
typedef struct pgconn_query_ pgconn_query_;
typedef struct pgconn_sock_ pgconn_sock_;

enum pgconn_state {
  PGCONN_IDLE,       /* initialised, or connect may be called again after PGCONN_DOWN */
  PGCONN_CONNECTING, /* resolving, then PQconnectPoll */
  PGCONN_READY,      /* connected: queries run */
  PGCONN_DOWN,       /* the connect failed or the connection was lost */
  PGCONN_CLOSING     /* pgconn_close() was called */
};

/* The outcome of a connect, and later of the connection. status:
 *   0             connected; queries queued while connecting are sent now
 *   -ECONNREFUSED libpq could not connect (refused, unreachable, TLS,
 *                 authentication, ...: pgconn_error() says which)
 *   -ETIMEDOUT    the connect timeout passed; or, once connected, a query
 *                 passed its timeout and the connection was closed
 *   -ECONNRESET   the connection was lost (server restart, network)
 *   -EPROTO       a query started COPY, which pgconn does not speak: the
 *                 connection was closed (the query got -EIO)
 *   UV_EAI_*      a host name did not resolve (libuv's code)
 *   -ENOMEM
 * Every status but 0 leaves the connection PGCONN_DOWN: its socket is
 * closed, and every query that was queued has had its callback first. */
typedef void (*pgconn_status_cb)(pgconn_t *pc, int status);

/* The end of one query, called exactly once per accepted query. status:
 *   0             the server ran it: res is PGRES_COMMAND_OK, PGRES_TUPLES_OK
 *                 or PGRES_EMPTY_QUERY
 *   -E2BIG        its result passed PGCONN_RESULT_MAX bytes (it was read to
 *                 the end and dropped, row by row: the connection goes on)
 *   -EIO          the server (or libpq) refused it: res is the
 *                 PGRES_FATAL_ERROR result when there is one (SQLSTATE via
 *                 PQresultErrorField(res, PG_DIAG_SQLSTATE)), else NULL
 *   -ETIMEDOUT    its timeout passed (the connection was closed if it had
 *                 been sent)
 *   -ECONNRESET   the connection was lost, or closed by another query's
 *                 timeout
 *   -ECONNREFUSED, UV_EAI_*, ...: the connect it waited for failed (the
 *                 connect's status)
 *   -ECANCELED    pgconn_close() was called before it ended
 * res: owned by pgconn, valid only during the call, NULL but for 0 and
 * -EIO. A result with rows is gathered from single rows: its column names
 * and types are there, but PQcmdStatus/PQcmdTuples are empty (count the
 * rows with PQntuples; RETURNING for writes). errmsg: never NULL ("" on success); owned by pgconn, valid only
 * during the call. ctx: as given to pgconn_query, not owned. */
typedef void (*pgconn_result_cb)(void *ctx, int status, const PGresult *res,
                                 const char *errmsg);

/* One NOTIFY received on a channel this connection LISTENs to. channel and
 * payload: owned by pgconn, valid only during the call. be_pid: the
 * notifying backend's process id. */
typedef void (*pgconn_notify_cb)(pgconn_t *pc, const char *channel, const char *payload,
                                 int be_pid);

/* Embedded by the caller. */
struct pgconn_t {
  uv_loop_t *loop;            /* not owned */
  void *data;                 /* the caller's; pgconn never touches it */
  enum pgconn_state state;    /* read-only */
  size_t nqueries;            /* read-only: queries queued or in flight */
  /* private */
  PGconn *conn_;              /* owned; NULL unless connecting (after resolution) or ready */
  pgconn_sock_ *sock_;        /* the poll handle of PQsocket(); NULL when none */
  struct pgresolve *resolve_; /* the resolution in flight (pgresolve.h); NULL when none */
  uv_timer_t timer_;          /* the nearest deadline, and a kick to send queued queries */
  uint64_t connect_deadline_; /* uv_now() ms when the connect times out */
  pgconn_query_ *head_;       /* queued, oldest first (not yet sent); owned */
  pgconn_query_ *tail_;
  pgconn_query_ *inflight_;   /* the query sent, whose results are awaited; owned */
  PGresult *result_;          /* inflight_'s result so far; owned */
  size_t result_bytes_;       /* counted against PGCONN_RESULT_MAX */
  int result_too_big_;        /* over PGCONN_RESULT_MAX: the rest is read and dropped */
  int flushing_;              /* PQflush left data to send: wait for writability */
  int fatal_notice_;          /* errmsg_ holds a FATAL the server sent before closing */
  PQconninfoOption *opts_;    /* the parsed conninfo while connecting; owned */
  char errmsg_[PGCONN_ERROR_MAX]; /* the last connect or loss message */
  unsigned gen_;              /* bumped by every connect, loss and close: callers of
                                 user callbacks compare it to see whether to go on */
  unsigned open_handles_;     /* uv handles not yet closed: timer_ and the polls */
  pgconn_status_cb status_cb_;
  pgconn_notify_cb notify_cb_;
  void (*close_cb_)(pgconn_t *pc); /* may be NULL */
};

/* Prepares pc on loop (borrowed; must outlive pc). Returns 0 or a libuv
 * error (then pc needs no close). */
int pgconn_init(pgconn_t *pc, uv_loop_t *loop);

/* Starts connecting (state IDLE or DOWN only). conninfo: a postgres:// or
 * postgresql:// URL or a "key=value ..." string (PQconninfoParse), at most
 * PGCONN_CONNINFO_MAX bytes; copied. At most PGCONN_HOSTS_MAX hosts; a
 * Unix-socket directory (host starting with '/' or '@') only as the single
 * host; `service` is refused (a service file could name a host that libpq
 * would resolve synchronously). A conninfo without host nor hostaddr takes
 * PGHOST from the environment the same way, or libpq's default socket.
 * timeout_ms: for the whole connect, resolution included; 1 to
 * PGCONN_TIMEOUT_MAX_MS, 0 for PGCONN_DEFAULT_CONNECT_TIMEOUT_MS.
 * status_cb (not NULL) runs later with the connect's outcome and, once
 * connected, once more when the connection is lost. notify_cb may be NULL.
 * Returns 0, -EINVAL (bad conninfo or argument: pgconn_error() says why),
 * -E2BIG, -EISCONN (connecting or connected), -ECANCELED (closing),
 * -ENOMEM; no callback then. */
int pgconn_connect(pgconn_t *pc, const char *conninfo, long timeout_ms,
                   pgconn_status_cb status_cb, pgconn_notify_cb notify_cb);

/* Queues one SQL statement (at most PGCONN_SQL_MAX bytes, a single statement:
 * the extended protocol) with nparams text parameters $1..$n (params[i] NULL
 * is SQL NULL; at most PGCONN_PARAMS_MAX of them and PGCONN_PARAMS_BYTES_MAX
 * bytes in all). Everything is copied. It is sent when it reaches the head of
 * the queue, on a later loop iteration (never from inside this call), once
 * connected. timeout_ms counts from now: 1 to PGCONN_TIMEOUT_MAX_MS, 0 for
 * PGCONN_DEFAULT_QUERY_TIMEOUT_MS. cb (not NULL) runs exactly once, later,
 * with ctx (not owned). Accepted while CONNECTING or READY. Returns 0,
 * -EINVAL, -E2BIG, -ENOTCONN (IDLE or DOWN), -ENOSPC (PGCONN_QUERIES_MAX),
 * -ECANCELED (closing), -ENOMEM; no callback then. */
int pgconn_query(pgconn_t *pc, const char *sql, const char *const *params, int nparams,
                 long timeout_ms, pgconn_result_cb cb, void *ctx);

/* The last connect failure or loss message (libpq's or the server's, one
 * line, at most PGCONN_ERROR_MAX - 1 bytes), "" when none. Owned by pc,
 * valid until the next pgconn_* call. */
const char *pgconn_error(const pgconn_t *pc);

/* Closes the connection (PQfinish) and the uv handles; every pending query
 * gets its callback with -ECANCELED, then close_cb(pc) (may be NULL) runs
 * once, from the loop. No status callback follows. A second call is a no-op.
 * pc's memory must stay valid until close_cb has run. */
void pgconn_close(pgconn_t *pc, void (*close_cb)(pgconn_t *pc));

#endif
