/* pgconn: one PostgreSQL connection on a libuv loop (see pgconn.h).
 *
 * Everything that can call back into the caller runs from a loop callback:
 * the poll handle of the socket (connect steps, results, notifications), the
 * resolution's callback, and one timer that serves both as the nearest
 * deadline (connect, queries) and as a kick (a zero timeout) for work a
 * pgconn_* call only scheduled (starting libpq, sending a queued query).
 * After every user callback the generation counter says whether the caller
 * closed, lost or reconnected the connection meanwhile; the code returns then.
 */
#include "pgconn.h"

#include "pgaddr.h"
#include "pgresolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(PGCONN_CONNINFO_MAX == PGADDR_CONNINFO_MAX && PGCONN_HOSTS_MAX == PGADDR_HOSTS_MAX &&
                   PGCONN_ADDRS_MAX == PGADDR_ADDRS_MAX,
               "pgconn.h's limits are pgaddr.h's");

struct pgconn_query_ {
  pgconn_query_ *next;        /* pc's queue */
  uint64_t deadline;          /* uv_now() ms */
  pgconn_result_cb cb;
  void *ctx;                  /* not owned */
  int nparams;
  const char **params;        /* into this allocation */
  char *sql;                  /* into this allocation */
};

/* The poll handle of one socket libpq opened. */
struct pgconn_sock_ {
  uv_poll_t poll;             /* first: the handle's address is the struct's */
  pgconn_t *pc;               /* not owned */
  int fd;                     /* libpq's; libpq closes it */
  dev_t dev;                  /* the socket's identity: the number may be reused */
  ino_t ino;
  int events;                 /* UV_READABLE / UV_WRITABLE being watched */
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void go_down(pgconn_t *pc, int status, int inflight_status, int queue_status);
static void rearm(pgconn_t *pc);

/* ---- messages ---- */

/* Keeps msg, on one line, in pc->errmsg_. */
static void set_error(pgconn_t *pc, const char *msg) {
  size_t i, n = 0;
  for (i = 0; msg != NULL && msg[i] != '\0' && n + 1 < sizeof pc->errmsg_; i++)
    pc->errmsg_[n++] = msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t' ? ' ' : msg[i];
  while (n > 0 && pc->errmsg_[n - 1] == ' ')
    n--;
  pc->errmsg_[n] = '\0';
}

const char *pgconn_error(const pgconn_t *pc) {
  return pc->errmsg_;
}

/* Notices: libpq's default prints them to stderr, which is the JSON log, so
 * they are dropped, but for a FATAL one (e.g. "terminating connection due
 * to administrator command" before a restart): libpq passes an error that
 * arrives while no query runs here, and it is a better reason for the loss
 * that follows than libpq's own "server closed the connection". */
static void on_notice(void *arg, const PGresult *res) {
  pgconn_t *pc = arg;
  const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
    set_error(pc, PQresultErrorMessage(res));
    pc->fatal_notice_ = 1;
  }
}

/* ---- handles ---- */

static void handle_closed(pgconn_t *pc);

static void on_sock_closed(uv_handle_t *h) {
  pgconn_sock_ *s = (pgconn_sock_ *)h;
  pgconn_t *pc = s->pc;
  free(s);
  handle_closed(pc);
}

static void sock_close(pgconn_t *pc) {
  pgconn_sock_ *s = pc->sock_;
  if (s == NULL)
    return;
  pc->sock_ = NULL;
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* Watches PQsocket() for events, with a new poll handle when the socket is
 * not the one watched so far (another number, or the same number reused by
 * a new socket: libpq closes the old one first). */
static int sock_watch(pgconn_t *pc, int events) {
  pgconn_sock_ *s = pc->sock_;
  struct stat st;
  int fd = PQsocket(pc->conn_);
  int rc;
  if (fd < 0)
    return -EBADF;
  if (fstat(fd, &st) != 0)
    return -errno;
  if (s != NULL && (s->fd != fd || s->dev != st.st_dev || s->ino != st.st_ino)) {
    sock_close(pc);
    s = NULL;
  }
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    if (s == NULL)
      return -ENOMEM;
    rc = uv_poll_init(pc->loop, &s->poll, fd);
    if (rc < 0) {
      free(s);
      return rc;
    }
    s->pc = pc;
    s->fd = fd;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    pc->sock_ = s;
    pc->open_handles_++;
  }
  if (s->events == events)
    return 0;
  rc = uv_poll_start(&s->poll, events, on_poll);
  if (rc == 0)
    s->events = events;
  return rc;
}

/* ---- queries ---- */

/* Ends q: its callback, then its memory. */
static void query_finish(pgconn_t *pc, pgconn_query_ *q, int status, const PGresult *res,
                         const char *errmsg) {
  pc->nqueries--;
  q->cb(q->ctx, status, res, errmsg != NULL ? errmsg : "");
  free(q);
}

/* Ends every query of a detached list with status. */
static void query_finish_list(pgconn_t *pc, pgconn_query_ *q, int status, const char *errmsg) {
  while (q != NULL) {
    pgconn_query_ *next = q->next;
    query_finish(pc, q, status, NULL, errmsg);
    q = next;
  }
}

/* Ends the queued (unsent) queries whose deadline passed. */
static void expire_queued(pgconn_t *pc) {
  uint64_t now = uv_now(pc->loop);
  pgconn_query_ **link = &pc->head_;
  pgconn_query_ *expired = NULL, **expired_tail = &expired;
  pc->tail_ = NULL;
  while (*link != NULL) {
    pgconn_query_ *q = *link;
    if (q->deadline <= now) {
      *link = q->next;
      q->next = NULL;
      *expired_tail = q;
      expired_tail = &q->next;
    } else {
      pc->tail_ = q;
      link = &q->next;
    }
  }
  query_finish_list(pc, expired, -ETIMEDOUT, "query timeout expired before it was sent");
}

/* ---- going down ---- */

/* Lets go of the resolution, the socket, libpq's connection and the
 * connect's options; stops the timer. No callback. */
static void release_conn(pgconn_t *pc) {
  if (pc->resolve_ != NULL) {
    pgresolve_abandon(pc->resolve_);
    pc->resolve_ = NULL;
  }
  sock_close(pc);
  if (pc->conn_ != NULL) {
    PQfinish(pc->conn_);
    pc->conn_ = NULL;
  }
  if (pc->result_ != NULL) {
    PQclear(pc->result_);
    pc->result_ = NULL;
  }
  pc->flushing_ = 0;
  if (pc->opts_ != NULL) {
    PQconninfoFree(pc->opts_);
    pc->opts_ = NULL;
  }
  if (!uv_is_closing((uv_handle_t *)&pc->timer_))
    uv_timer_stop(&pc->timer_);
}

/* The connect failed or the connection was lost: everything is released,
 * the state is DOWN, the status callback runs, then the query in flight
 * gets inflight_status and the queued ones queue_status. pc->errmsg_ holds
 * the reason. Called from loop callbacks only. */
static void go_down(pgconn_t *pc, int status, int inflight_status, int queue_status) {
  pgconn_query_ *inflight = pc->inflight_;
  pgconn_query_ *queued = pc->head_;
  char msg[PGCONN_ERROR_MAX];
  pc->inflight_ = NULL;
  pc->head_ = NULL;
  pc->tail_ = NULL;
  release_conn(pc);
  pc->state = PGCONN_DOWN;
  pc->gen_++;
  memcpy(msg, pc->errmsg_, sizeof msg);
  pc->status_cb_(pc, status);
  if (inflight != NULL)
    query_finish(pc, inflight, inflight_status, NULL, msg);
  query_finish_list(pc, queued, queue_status, msg);
}

/* go_down with one status for all, and msg (NULL: libuv's text of status). */
static void fail(pgconn_t *pc, int status, const char *msg) {
  set_error(pc, msg != NULL ? msg : uv_strerror(status));
  go_down(pc, status, status, status);
}

static void lose(pgconn_t *pc, int status) {
  PGnotify *n;
  /* Parses what was read before the loss, for a FATAL notice (on_notice);
   * notifications are lost with the connection anyway. */
  if (pc->state == PGCONN_READY) {
    for (n = PQnotifies(pc->conn_); n != NULL; n = PQnotifies(pc->conn_))
      PQfreemem(n);
  }
  if (!pc->fatal_notice_)
    set_error(pc, PQerrorMessage(pc->conn_));
  go_down(pc, status, status, status);
}

/* ---- closing ---- */

static void handle_closed(pgconn_t *pc) {
  void (*cb)(pgconn_t *pc);
  pgconn_query_ *q;
  pc->open_handles_--;
  if (pc->state != PGCONN_CLOSING || pc->open_handles_ > 0)
    return;
  /* Queries may not be added while closing: these lists only shrink. */
  q = pc->inflight_;
  pc->inflight_ = NULL;
  if (q != NULL)
    query_finish(pc, q, -ECANCELED, NULL, "connection closed");
  q = pc->head_;
  pc->head_ = NULL;
  pc->tail_ = NULL;
  query_finish_list(pc, q, -ECANCELED, "connection closed");
  cb = pc->close_cb_;
  pc->close_cb_ = NULL;
  if (cb != NULL)
    cb(pc);
}

static void on_timer_closed(uv_handle_t *h) {
  handle_closed(h->data);
}

void pgconn_close(pgconn_t *pc, void (*close_cb)(pgconn_t *pc)) {
  if (pc->state == PGCONN_CLOSING)
    return;
  release_conn(pc);
  pc->state = PGCONN_CLOSING;
  pc->gen_++;
  pc->close_cb_ = close_cb;
  uv_close((uv_handle_t *)&pc->timer_, on_timer_closed);
}

/* ---- connecting ---- */

/* PQconnectStartParams, with the addresses resolved if there was anything
 * to resolve. Returns 0 (conn_ set, even when libpq already failed: PQstatus
 * says) or -ENOMEM. */
static int start_libpq(pgconn_t *pc) {
  pgresolve *r = pc->resolve_;
  pc->conn_ = pgaddr_connect_start(pc->opts_, r != NULL ? &r->plan : NULL);
  if (r != NULL) {
    pc->resolve_ = NULL;
    pgresolve_free(r);
  }
  if (pc->conn_ == NULL)
    return -ENOMEM;
  PQsetNoticeReceiver(pc->conn_, on_notice, pc);
  return 0;
}

/* One step of PQconnectPoll, and the watch for the next one. The first
 * call comes right after PQconnectStartParams (as if it returned WRITING). */
static void connect_step(pgconn_t *pc, int first) {
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  int rc;
  if (PQstatus(pc->conn_) == CONNECTION_BAD) {
    lose(pc, -ECONNREFUSED);
    return;
  }
  if (!first)
    st = PQconnectPoll(pc->conn_);
  if (st == PGRES_POLLING_FAILED) {
    lose(pc, -ECONNREFUSED);
    return;
  }
  if (st == PGRES_POLLING_OK) {
    unsigned gen;
    if (PQsetnonblocking(pc->conn_, 1) != 0) {
      lose(pc, -ECONNRESET);
      return;
    }
    rc = sock_watch(pc, UV_READABLE);
    if (rc < 0) {
      fail(pc, rc, NULL);
      return;
    }
    PQconninfoFree(pc->opts_);
    pc->opts_ = NULL;
    pc->state = PGCONN_READY;
    pc->errmsg_[0] = '\0';
    gen = pc->gen_;
    pc->status_cb_(pc, 0);
    if (pc->gen_ == gen)
      rearm(pc);
    return;
  }
  rc = sock_watch(pc, st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE);
  if (rc < 0)
    fail(pc, rc, NULL);
}

static void start_connect(pgconn_t *pc) {
  int rc = start_libpq(pc);
  if (rc < 0) {
    fail(pc, rc, "out of memory");
    return;
  }
  connect_step(pc, 1);
  if (pc->state == PGCONN_CONNECTING)
    rearm(pc);
}

/* The resolution is done: connect to what it found, or fail. */
static void on_resolved(void *owner, pgresolve *r, int status, const char *msg) {
  pgconn_t *pc = owner;
  if (status < 0) {
    pc->resolve_ = NULL;
    pgresolve_free(r);
    fail(pc, status, msg);
    return;
  }
  start_connect(pc);
}

int pgconn_connect(pgconn_t *pc, const char *conninfo, long timeout_ms,
                   pgconn_status_cb status_cb, pgconn_notify_cb notify_cb) {
  char *err = NULL;
  const char *why = "";
  int rc;
  if (pc->state == PGCONN_CLOSING)
    return -ECANCELED;
  if (pc->state == PGCONN_CONNECTING || pc->state == PGCONN_READY)
    return -EISCONN;
  if (conninfo == NULL || status_cb == NULL || timeout_ms < 0 ||
      timeout_ms > PGCONN_TIMEOUT_MAX_MS)
    return -EINVAL;
  if (strlen(conninfo) > PGCONN_CONNINFO_MAX)
    return -E2BIG;
  pc->errmsg_[0] = '\0';
  pc->fatal_notice_ = 0;
  pc->opts_ = PQconninfoParse(conninfo, &err);
  if (pc->opts_ == NULL) {
    set_error(pc, err != NULL ? err : "out of memory");
    rc = err != NULL ? -EINVAL : -ENOMEM;
    PQfreemem(err);
    return rc;
  }
  rc = pgresolve_start(pc->loop, pc->opts_, on_resolved, pc, &pc->resolve_, &why);
  if (rc < 0 || pc->resolve_ == NULL)
    set_error(pc, why);
  if (rc < 0) {
    PQconninfoFree(pc->opts_);
    pc->opts_ = NULL;
    return rc;
  }
  pc->status_cb_ = status_cb;
  pc->notify_cb_ = notify_cb;
  pc->connect_deadline_ =
      uv_now(pc->loop) + (uint64_t)(timeout_ms > 0 ? timeout_ms : PGCONN_DEFAULT_CONNECT_TIMEOUT_MS);
  pc->state = PGCONN_CONNECTING;
  pc->gen_++;
  rearm(pc); /* starts libpq from the loop when there is nothing to resolve */
  return 0;
}

/* ---- running queries ---- */

/* Sends queued queries while none is in flight. */
static void pump(pgconn_t *pc) {
  unsigned gen = pc->gen_;
  while (pc->state == PGCONN_READY && pc->inflight_ == NULL && pc->head_ != NULL) {
    pgconn_query_ *q = pc->head_;
    int rc;
    pc->head_ = q->next;
    if (pc->head_ == NULL)
      pc->tail_ = NULL;
    q->next = NULL;
    if (q->deadline <= uv_now(pc->loop)) {
      query_finish(pc, q, -ETIMEDOUT, NULL, "query timeout expired before it was sent");
      if (pc->gen_ != gen)
        return;
      continue;
    }
    if (!PQsendQueryParams(pc->conn_, q->sql, q->nparams, NULL, q->params, NULL, NULL, 0)) {
      if (PQstatus(pc->conn_) == CONNECTION_BAD) {
        pc->inflight_ = q;
        lose(pc, -ECONNRESET);
        return;
      }
      query_finish(pc, q, -EIO, NULL, PQerrorMessage(pc->conn_));
      if (pc->gen_ != gen)
        return;
      continue;
    }
    pc->inflight_ = q;
    pc->result_bytes_ = 0;
    pc->result_too_big_ = 0;
    (void)PQsetSingleRowMode(pc->conn_); /* 0 only when it cannot apply: rows come whole */
    rc = PQflush(pc->conn_);
    if (rc < 0) {
      lose(pc, -ECONNRESET);
      return;
    }
    pc->flushing_ = rc == 1;
  }
}

/* The in-flight query's results are all in: its callback. */
static void deliver(pgconn_t *pc) {
  pgconn_query_ *q = pc->inflight_;
  PGresult *res = pc->result_;
  int status = -EIO;
  const char *msg = "";
  pc->inflight_ = NULL;
  pc->result_ = NULL;
  if (pc->result_too_big_) {
    PQclear(res);
    res = NULL;
    status = -E2BIG;
    msg = "result larger than PGCONN_RESULT_MAX";
  } else if (res == NULL) {
    msg = "no result";
  } else {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
      status = 0;
    else
      msg = PQresultErrorMessage(res);
  }
  query_finish(pc, q, status, res, msg);
  PQclear(res);
}

/* Appends the one row of res (PGRES_SINGLE_TUPLE) to pc->result_, or
 * drops it once the result is over PGCONN_RESULT_MAX. Returns 0 or
 * -ENOMEM. */
static int add_row(pgconn_t *pc, const PGresult *res) {
  int f, row, nfields = PQnfields(res);
  if (pc->result_too_big_)
    return 0;
  for (f = 0; f < nfields; f++)
    pc->result_bytes_ += (size_t)PQgetlength(res, 0, f) + 16;
  if (pc->result_bytes_ > PGCONN_RESULT_MAX) {
    pc->result_too_big_ = 1;
    PQclear(pc->result_);
    pc->result_ = NULL;
    return 0;
  }
  if (pc->result_ == NULL) {
    pc->result_ = PQcopyResult(res, PG_COPYRES_ATTRS); /* PGRES_TUPLES_OK, no rows */
    if (pc->result_ == NULL)
      return -ENOMEM;
  }
  row = PQntuples(pc->result_);
  for (f = 0; f < nfields; f++) {
    int isnull = PQgetisnull(res, 0, f);
    if (!PQsetvalue(pc->result_, row, f, isnull ? NULL : PQgetvalue(res, 0, f),
                    isnull ? -1 : PQgetlength(res, 0, f)))
      return -ENOMEM;
  }
  return 0;
}

/* Collects the in-flight query's results and the notifications libpq has
 * read. Returns 0, or -1 when a callback changed the connection (closed,
 * lost, reconnected it): the caller stops then. */
static int drain(pgconn_t *pc) {
  unsigned gen = pc->gen_;
  PGnotify *n;
  while (pc->inflight_ != NULL && !PQisBusy(pc->conn_)) {
    PGresult *res = PQgetResult(pc->conn_);
    ExecStatusType st;
    if (res == NULL) {
      if (PQstatus(pc->conn_) == CONNECTION_BAD) {
        lose(pc, -ECONNRESET); /* the query gets -ECONNRESET, not libpq's error result */
        return -1;
      }
      deliver(pc);
      if (pc->gen_ != gen)
        return -1;
      break;
    }
    st = PQresultStatus(res);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
      PQclear(res);
      set_error(pc, "COPY is not supported");
      go_down(pc, -EPROTO, -EIO, -ECONNRESET);
      return -1;
    }
    if (st == PGRES_SINGLE_TUPLE) {
      int rc = add_row(pc, res);
      PQclear(res);
      if (rc < 0) {
        set_error(pc, "out of memory for a result");
        go_down(pc, rc, rc, -ECONNRESET);
        return -1;
      }
      continue;
    }
    if (st == PGRES_TUPLES_OK && (pc->result_ != NULL || pc->result_too_big_) &&
        (pc->result_ == NULL || PQresultStatus(pc->result_) == PGRES_TUPLES_OK)) {
      PQclear(res); /* the end of single rows: what was gathered stands */
      continue;
    }
    /* One statement gives one result; keep an error over anything else. */
    if (pc->result_ == NULL) {
      pc->result_ = res;
    } else if (st == PGRES_FATAL_ERROR && PQresultStatus(pc->result_) != PGRES_FATAL_ERROR) {
      PQclear(pc->result_);
      pc->result_ = res;
    } else {
      PQclear(res);
    }
  }
  for (n = PQnotifies(pc->conn_); n != NULL; n = PQnotifies(pc->conn_)) {
    if (pc->notify_cb_ != NULL)
      pc->notify_cb_(pc, n->relname, n->extra, n->be_pid);
    PQfreemem(n);
    if (pc->gen_ != gen)
      return -1;
  }
  return 0;
}

/* Socket events of a ready connection. */
static void io_step(pgconn_t *pc, int status, int events) {
  unsigned gen = pc->gen_;
  int rc;
  if (status < 0) {
    set_error(pc, uv_strerror(status));
    go_down(pc, -ECONNRESET, -ECONNRESET, -ECONNRESET);
    return;
  }
  if (events & UV_READABLE) {
    if (!PQconsumeInput(pc->conn_)) {
      lose(pc, -ECONNRESET);
      return;
    }
    if (drain(pc) < 0)
      return;
  }
  if (pc->flushing_) {
    rc = PQflush(pc->conn_);
    if (rc < 0) {
      lose(pc, -ECONNRESET);
      return;
    }
    pc->flushing_ = rc == 1;
  }
  if (PQstatus(pc->conn_) == CONNECTION_BAD) {
    lose(pc, -ECONNRESET);
    return;
  }
  pump(pc);
  if (pc->gen_ == gen)
    rearm(pc);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  pgconn_sock_ *s = (pgconn_sock_ *)h;
  pgconn_t *pc = s->pc;
  if (s != pc->sock_)
    return; /* a socket libpq gave up; its handle is closing */
  if (pc->state == PGCONN_CONNECTING)
    connect_step(pc, 0);
  else if (pc->state == PGCONN_READY)
    io_step(pc, status, events);
}

/* ---- the timer: deadlines and kicks ---- */

/* Watches the socket as the state needs and sets the timer to the nearest
 * deadline, or to now when there is work to start (libpq, a queued query). */
static void rearm(pgconn_t *pc) {
  uint64_t now = uv_now(pc->loop);
  uint64_t deadline = UINT64_MAX;
  pgconn_query_ *q;
  int rc;
  if (pc->state != PGCONN_CONNECTING && pc->state != PGCONN_READY)
    return;
  if (pc->state == PGCONN_READY) {
    rc = sock_watch(pc, UV_READABLE | (pc->flushing_ ? UV_WRITABLE : 0));
    if (rc < 0) {
      fail(pc, rc, NULL); /* from loop callbacks only: pgconn_query never gets here */
      return;
    }
    if (pc->inflight_ == NULL && pc->head_ != NULL)
      deadline = now;
  } else {
    deadline = pc->connect_deadline_;
    if (pc->conn_ == NULL && pc->resolve_ == NULL)
      deadline = now;
  }
  if (pc->inflight_ != NULL && pc->inflight_->deadline < deadline)
    deadline = pc->inflight_->deadline;
  for (q = pc->head_; q != NULL; q = q->next)
    if (q->deadline < deadline)
      deadline = q->deadline;
  if (deadline == UINT64_MAX) {
    uv_timer_stop(&pc->timer_);
    return;
  }
  uv_timer_start(&pc->timer_, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  pgconn_t *pc = t->data;
  uint64_t now = uv_now(pc->loop);
  unsigned gen = pc->gen_;
  if (pc->state == PGCONN_CONNECTING) {
    if (now >= pc->connect_deadline_) {
      fail(pc, -ETIMEDOUT, "connect timeout expired");
      return;
    }
    if (pc->conn_ == NULL && pc->resolve_ == NULL) {
      start_connect(pc);
      if (pc->gen_ != gen)
        return;
    }
  } else if (pc->state == PGCONN_READY) {
    if (pc->inflight_ != NULL && pc->inflight_->deadline <= now) {
      /* Cancelling without blocking needs libpq 17 (PQcancelStart). */
      set_error(pc, "query timeout expired: connection closed");
      go_down(pc, -ETIMEDOUT, -ETIMEDOUT, -ECONNRESET);
      return;
    }
  } else {
    return;
  }
  expire_queued(pc);
  if (pc->gen_ != gen)
    return;
  pump(pc);
  if (pc->gen_ != gen)
    return;
  rearm(pc);
}

/* ---- public ---- */

int pgconn_init(pgconn_t *pc, uv_loop_t *loop) {
  int rc;
  memset(pc, 0, sizeof *pc);
  pc->loop = loop;
  pc->state = PGCONN_IDLE;
  rc = uv_timer_init(loop, &pc->timer_);
  if (rc < 0)
    return rc;
  pc->timer_.data = pc;
  pc->open_handles_ = 1;
  return 0;
}

int pgconn_query(pgconn_t *pc, const char *sql, const char *const *params, int nparams,
                 long timeout_ms, pgconn_result_cb cb, void *ctx) {
  size_t sql_len, total = 0, size;
  pgconn_query_ *q;
  char *p;
  int i;
  if (pc->state == PGCONN_CLOSING)
    return -ECANCELED;
  if (pc->state != PGCONN_CONNECTING && pc->state != PGCONN_READY)
    return -ENOTCONN;
  if (sql == NULL || cb == NULL || nparams < 0 || (nparams > 0 && params == NULL) ||
      timeout_ms < 0 || timeout_ms > PGCONN_TIMEOUT_MAX_MS)
    return -EINVAL;
  sql_len = strlen(sql);
  if (sql_len > PGCONN_SQL_MAX || nparams > PGCONN_PARAMS_MAX)
    return -E2BIG;
  for (i = 0; i < nparams; i++) {
    if (params[i] != NULL)
      total += strlen(params[i]) + 1;
    if (total > PGCONN_PARAMS_BYTES_MAX)
      return -E2BIG;
  }
  if (pc->nqueries >= PGCONN_QUERIES_MAX)
    return -ENOSPC;
  size = sizeof *q + (size_t)nparams * sizeof(char *) + sql_len + 1 + total;
  q = malloc(size);
  if (q == NULL)
    return -ENOMEM;
  memset(q, 0, sizeof *q);
  q->params = (const char **)(q + 1);
  p = (char *)(q->params + nparams);
  for (i = 0; i < nparams; i++) {
    if (params[i] == NULL) {
      q->params[i] = NULL;
    } else {
      size_t n = strlen(params[i]) + 1;
      memcpy(p, params[i], n);
      q->params[i] = p;
      p += n;
    }
  }
  q->sql = p;
  memcpy(q->sql, sql, sql_len + 1);
  q->nparams = nparams;
  q->cb = cb;
  q->ctx = ctx;
  q->deadline =
      uv_now(pc->loop) + (uint64_t)(timeout_ms > 0 ? timeout_ms : PGCONN_DEFAULT_QUERY_TIMEOUT_MS);
  if (pc->tail_ != NULL)
    pc->tail_->next = q;
  else
    pc->head_ = q;
  pc->tail_ = q;
  pc->nqueries++;
  uv_timer_start(&pc->timer_, on_timer, 0, 0); /* sent from the loop */
  return 0;
}
