/* store_pg: the PostgreSQL store's pool, dispatch and delivery, open and
 * close, and the helpers its operations share. See store_pg.h. */
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"

static void on_timer(uv_timer_t *t);
static void dispatch(pg_store *s);
static pg_slot *free_slot(pg_store *s);
static void finish(pg_op *op, int status);

/* ---- the timer: deadlines of waiting ops, deferred deliveries ---- */

/* Runs on_timer from the loop now (a delivery, a dispatch). */
void pg_store_kick(pg_store *s) {
  if (!s->closing)
    (void)uv_timer_start(&s->timer, on_timer, 0, 0);
}

/* The nearest deadline of an operation still waiting for a connection
 * (those started hold pgconn deadlines of their own), or now when the
 * first operation has its result. */
static void rearm(pg_store *s) {
  uint64_t now = uv_now(s->st->loop);
  pg_op *op;
  if (s->head != NULL && s->head->complete) { /* one ended at once (finish): delivered next */
    (void)uv_timer_start(&s->timer, on_timer, 0, 0);
    return;
  }
  for (op = s->head; op != NULL; op = op->next) {
    if (!op->started && !op->complete) {
      (void)uv_timer_start(&s->timer, on_timer, op->deadline > now ? op->deadline - now : 0, 0);
      return;
    }
  }
  (void)uv_timer_stop(&s->timer);
}

/* Callbacks of the ops at the head that have their result, in order. A
 * callback may start operations (queued at the tail) or close the store. */
static void deliver_ready(pg_store *s) {
  while (s->head != NULL && s->head->complete && !s->closing) {
    pg_op *op = s->head;
    s->head = op->next;
    if (s->head == NULL)
      s->tail = NULL;
    s->nops--;
    if (op->j.status == 0 && op->j.overflow != 0)
      op->j.status = op->j.overflow;
    op->j.deliver(&op->j);
    pg_op_free(op);
  }
}

static void on_timer(uv_timer_t *t) {
  pg_store *s = t->data;
  uint64_t now = uv_now(s->st->loop);
  pg_op *op;
  if (s->closing)
    return;
  for (op = s->head; op != NULL; op = op->next) {
    if (!op->started && !op->complete && op->deadline <= now) {
      if (s->st->health.unreachable)
        snprintf(op->errmsg, sizeof op->errmsg, "PostgreSQL unreachable: %.130s", s->st->health.reach_error);
      else
        snprintf(op->errmsg, sizeof op->errmsg, "store_timeout passed before a connection was free");
      finish(op, s->schema_failed ? -EIO : -ETIMEDOUT);
    }
  }
  deliver_ready(s);
  if (s->closing)
    return;
  if (!s->schema_ready && !s->schema_failed && s->mig.slot == NULL) {
    pg_slot *slot = free_slot(s);
    if (slot != NULL)
      pg_migrate_start(s, slot);
  }
  dispatch(s);
  rearm(s);
}

/* ---- health ---- */

static void note_write(pg_store *s, pg_op *op) {
  store_health *h = &s->st->health;
  if (op->j.status == 0) {
    if (h->cannot_write)
      LOG_INFO("link store writes again");
    h->cannot_write = 0;
  } else if (op->j.status == -EIO || op->j.status == -ETIMEDOUT) {
    snprintf(h->write_error, sizeof h->write_error, "%s", op->errmsg[0] != '\0' ? op->errmsg : "write failed");
    LOG_ERROR("link store write failed, rolled back", LOG_STR("error", h->write_error));
    h->write_errors++;
    h->cannot_write = 1;
  }
}

/* ---- operations ---- */

pg_op *pg_op_new(store_t *st, pg_step_fn step, sq_deliver_fn deliver, void *data, const char *s0, const char *s1,
                 const char *s2) {
  pg_store *s = st->impl;
  pg_op *op;
  if (s == NULL || s->closing)
    return NULL;
  op = calloc(1, sizeof *op);
  if (op == NULL)
    return NULL;
  if (sq_job_prepare(&op->j, deliver, data, s0, s1, s2) != 0) {
    pg_op_free(op);
    return NULL;
  }
  op->s = s;
  op->step = step;
  return op;
}

void pg_op_free(pg_op *op) {
  sq_job_clear(&op->j); /* wipes the blobs */
  free(op);
}

int pg_op_start(store_t *st, pg_op *op, int write) {
  pg_store *s = st->impl;
  if (op == NULL)
    return s == NULL || s->closing ? -ECANCELED : -ENOMEM;
  if (s->closing || s->nops >= PGSTORE_OPS_MAX) {
    pg_op_free(op);
    return s->closing ? -ECANCELED : -EAGAIN;
  }
  op->write = write;
  op->deadline = uv_now(st->loop) + (uint64_t)s->timeout_ms;
  if (s->tail != NULL)
    s->tail->next = op;
  else
    s->head = op;
  s->tail = op;
  s->nops++;
  if (s->schema_failed) {
    snprintf(op->errmsg, sizeof op->errmsg, "the store's migrations failed");
    finish(op, -EIO);
    return 0;
  }
  dispatch(s);
  if (!op->started && !op->complete)
    rearm(s);
  return 0;
}

/* A store status from pgconn's: class 23 (integrity) is -EEXIST. The
 * server's message may quote a row's values (its DETAIL): only the primary
 * message and the SQLSTATE are kept, for the log. */
static int map_status(pg_op *op, int status, const PGresult *res, const char *errmsg) {
  const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (status == 0)
    return 0;
  if (status == -EIO && state != NULL && strncmp(state, "23", 2) == 0)
    return -EEXIST;
  if (status == -ECANCELED)
    return -ECANCELED;
  if (primary != NULL)
    snprintf(op->errmsg, sizeof op->errmsg, "%s (SQLSTATE %s)", primary, state != NULL ? state : "?");
  else
    snprintf(op->errmsg, sizeof op->errmsg, "%s", errmsg != NULL && errmsg[0] != '\0' ? errmsg : strerror(-status));
  if (!op->write || status == -E2BIG)
    LOG_ERROR("link store", LOG_STR("error", op->errmsg));
  if (status == -E2BIG)
    return -E2BIG;
  return status == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
}

/* The op's own phases are >= 0; the framework's BEGIN and COMMIT: */
#define PH_BEGIN (-1)
#define PH_COMMIT (-2)

static void on_result(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_op *op = ctx;
  int st = map_status(op, status, res, errmsg);
  if (st == -ECANCELED || op->s->closing) {
    finish(op, -ECANCELED);
    return;
  }
  if (op->phase == PH_BEGIN) {
    if (st != 0) {
      finish(op, st);
      return;
    }
    op->phase = 0;
    op->step(op, 0, NULL); /* the op's first query, inside the transaction */
    return;
  }
  if (op->phase == PH_COMMIT) {
    if (st == 0)
      op->in_tx = 0;
    finish(op, st);
    return;
  }
  op->step(op, st, st == 0 ? res : NULL);
}

/* Sends a query of op, of its own (phase >= 0) or the framework's. */
static void send_query(pg_op *op, int phase, const char *sql, const char *const *params, int nparams) {
  uint64_t now = uv_now(op->s->st->loop);
  int rc;
  if (op->deadline <= now) {
    snprintf(op->errmsg, sizeof op->errmsg, "store_timeout passed");
    finish(op, -ETIMEDOUT);
    return;
  }
  op->phase = phase;
  rc = pgconn_query(&op->slot->pc, sql, params, nparams, (long)(op->deadline - now), on_result, op);
  if (rc < 0) {
    snprintf(op->errmsg, sizeof op->errmsg, "cannot send a query: %s", strerror(-rc));
    finish(op, rc == -E2BIG ? -E2BIG : -EIO);
  }
}

void pg_op_query(pg_op *op, int phase, const char *sql, const char *const *params, int nparams) {
  send_query(op, phase, sql, params, nparams);
}

static void on_cleaned(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_slot *slot = ctx;
  (void)status;
  (void)res;
  (void)errmsg;
  slot->cleaning = 0;
  pg_store_kick(slot->s);
}

/* The op's status is final: its connection is free again (after a
 * ROLLBACK when its transaction is still open and the connection lives). */
static void finish(pg_op *op, int status) {
  pg_slot *slot = op->slot;
  pg_store *s = op->s;
  op->j.status = status;
  op->complete = 1;
  op->slot = NULL;
  if (op->write && status != -ECANCELED)
    note_write(s, op);
  if (slot != NULL) {
    slot->op = NULL;
    if (op->in_tx && slot->pc.state == PGCONN_READY &&
        pgconn_query(&slot->pc, "ROLLBACK", NULL, 0, s->timeout_ms, on_cleaned, slot) == 0)
      slot->cleaning = 1;
  }
  op->in_tx = 0;
  pg_store_kick(s);
}

/* A write's statements ran: COMMIT, and the op ends with its answer. A
 * write that failed, or a read, ends at once. */
void pg_op_end(pg_op *op, int status) {
  if (status == 0 && op->in_tx && op->slot != NULL) {
    send_query(op, PH_COMMIT, "COMMIT", NULL, 0);
    return;
  }
  finish(op, status);
}

int pg_failed(pg_op *op, int status) {
  if (status == 0)
    return 0;
  pg_op_end(op, status);
  return 1;
}

int pg_no_row(pg_op *op, int status, const PGresult *res) {
  if (pg_failed(op, status))
    return 1;
  if (PQntuples(res) >= 1)
    return 0;
  pg_op_end(op, -ENOENT);
  return 1;
}

void pg_rows_end(pg_op *op, const PGresult *res, pg_row_reader read, size_t size) {
  union {
    store_user user;
    store_app_credential app;
    store_credential credential;
    store_link link;
    store_oauth_app oauth_app;
  } row; /* room for any reader's row */
  int i;
  if (size > sizeof row) {
    pg_op_end(op, -EINVAL);
    return;
  }
  for (i = 0; i < PQntuples(res); i++) {
    read(res, i, &row);
    if (sq_rows_add(&op->j, &row, size) != 0)
      break;
  }
  pg_op_end(op, 0);
}

/* pg_simple_op's step: op->fixed is the statement. */
static void simple_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == 0) {
    pg_op_query(op, 1, op->fixed, params, 1);
    return;
  }
  if (!pg_failed(op, status))
    pg_op_end(op, PQntuples(res) == 0 ? -ENOENT : 0);
}

int pg_simple_op(store_t *st, const char *sql, int write, const char *s0, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, simple_step, sq_deliver_done, data, s0, NULL, NULL);
  if (op != NULL) {
    op->fixed = sql;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, write);
}

/* ---- dispatch ---- */

static pg_slot *free_slot(pg_store *s) {
  int i;
  for (i = 0; i < s->nslots; i++) {
    pg_slot *slot = &s->slots[i];
    if (slot->pc.state == PGCONN_READY && slot->op == NULL && !slot->cleaning && !slot->migrating &&
        !slot->pinging)
      return slot;
  }
  return NULL;
}

/* Starts what may start: a write once every earlier op has its result, a
 * read once every earlier write has; each on a free connection. */
static void dispatch(pg_store *s) {
  int any_pending = 0;
  int write_pending = 0;
  pg_op *op;
  if (!s->schema_ready || s->closing)
    return;
  for (op = s->head; op != NULL; op = op->next) {
    if (!op->started && !op->complete) {
      pg_slot *slot;
      if (op->write ? any_pending : write_pending)
        break;
      slot = free_slot(s);
      if (slot == NULL)
        break;
      op->started = 1;
      op->slot = slot;
      slot->op = op;
      if (op->write) {
        /* every write is a transaction: a statement cut off by the
         * timeout or a lost connection can never commit on its own */
        op->in_tx = 1;
        send_query(op, PH_BEGIN, "BEGIN", NULL, 0);
      } else {
        op->step(op, 0, NULL); /* its first query */
      }
    }
    if (!op->complete) {
      any_pending = 1;
      if (op->write)
        write_pending = 1;
    }
  }
}

/* ---- connections ---- */

static void on_retry(uv_timer_t *t);

/* health.unreachable: set when a try failed and no connection is up,
 * cleared by the first one up. */
static void note_reach(pg_store *s, pgconn_t *pc, int status) {
  store_health *h = &s->st->health;
  int i;
  if (status == 0) {
    if (h->unreachable)
      LOG_INFO("link store reaches PostgreSQL again");
    h->unreachable = 0;
    return;
  }
  for (i = 0; i < s->nslots; i++)
    if (s->slots[i].pc.state == PGCONN_READY)
      return;
  snprintf(h->reach_error, sizeof h->reach_error, "%s", pgconn_error(pc));
  h->unreachable = 1;
}

/* An idle connection is pinged store_timeout after it came up or its
 * last ping: one that died silently (a network partition, a failover: no
 * FIN, no RST) would otherwise fail the next operation that takes it, after
 * making it wait store_timeout. A late answer closes it (pgconn), and it
 * reconnects. A connection in use is left alone: the operation's own
 * timeout finds out. */
static void arm_ping(pg_slot *slot) {
  long ms = slot->s->timeout_ms > PGSTORE_PING_MIN_MS ? slot->s->timeout_ms : PGSTORE_PING_MIN_MS;
  if (!slot->s->closing)
    (void)uv_timer_start(&slot->retry, on_retry, (uint64_t)ms, 0);
}

static void on_pinged(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_slot *slot = ctx;
  (void)res;
  (void)errmsg;
  slot->pinging = 0;
  if (status == -ECANCELED || slot->s->closing || slot->pc.state != PGCONN_READY)
    return; /* lost or closed by the timeout: on_status reconnects */
  arm_ping(slot);
  pg_store_kick(slot->s); /* an operation may wait for the connection */
}

static void ping(pg_slot *slot) {
  if (slot->op != NULL || slot->cleaning || slot->migrating || slot->pinging ||
      pgconn_query(&slot->pc, "SELECT 1", NULL, 0, slot->s->timeout_ms, on_pinged, slot) != 0) {
    arm_ping(slot);
    return;
  }
  slot->pinging = 1;
}

static void on_status(pgconn_t *pc, int status) {
  pg_slot *slot = pc->data;
  pg_store *s = slot->s;
  note_reach(s, pc, status);
  slot->pinging = 0; /* its callback came first */
  if (status == 0) {
    if (slot->backoff_ms > 0 || !slot->was_up)
      LOG_INFO("link store connected to PostgreSQL", LOG_U64("connection", (uint64_t)(slot - s->slots)));
    slot->was_up = 1;
    slot->backoff_ms = 0;
    slot->cleaning = 0;
    arm_ping(slot);
    pg_store_kick(s); /* migrations (the first one up), then operations */
    return;
  }
  /* the op it held (if any) gets its query's error next */
  slot->cleaning = 0;
  if (slot->backoff_ms == 0 || slot->backoff_ms == PGSTORE_RETRY_MAX_MS)
    LOG_WARN("link store connection to PostgreSQL failed", LOG_U64("connection", (uint64_t)(slot - s->slots)),
             LOG_STR("error", pgconn_error(pc)));
  slot->backoff_ms = slot->backoff_ms == 0 ? PGSTORE_RETRY_MIN_MS : slot->backoff_ms * 2;
  if (slot->backoff_ms > PGSTORE_RETRY_MAX_MS)
    slot->backoff_ms = PGSTORE_RETRY_MAX_MS;
  (void)uv_timer_start(&slot->retry, on_retry, slot->backoff_ms, 0);
}

static int slot_connect(pg_slot *slot) {
  return pgconn_connect(&slot->pc, slot->s->conninfo, slot->s->timeout_ms, on_status, NULL);
}

/* Reconnects after the back-off; or, connected, pings. */
static void on_retry(uv_timer_t *t) {
  pg_slot *slot = t->data;
  int rc;
  if (slot->s->closing)
    return;
  if (slot->pc.state == PGCONN_READY) {
    ping(slot);
    return;
  }
  if (slot->pc.state != PGCONN_DOWN)
    return;
  rc = slot_connect(slot);
  if (rc < 0) {
    LOG_ERROR("link store cannot reconnect", LOG_STR("error", strerror(-rc)));
    (void)uv_timer_start(&slot->retry, on_retry, PGSTORE_RETRY_MAX_MS, 0);
  }
}

/* ---- open and close ---- */

static void handle_closed(pg_store *s);

void pg_store_handle_closed(pg_store *s) {
  handle_closed(s);
}

static void on_handle_closed(uv_handle_t *h) {
  handle_closed(h->data);
}

static void on_retry_closed(uv_handle_t *h) {
  pg_slot *slot = h->data;
  handle_closed(slot->s);
}

static void on_pgconn_closed(pgconn_t *pc) {
  pg_slot *slot = pc->data;
  handle_closed(slot->s);
}

int store_pg_open(store_t *st, uv_loop_t *loop, const char *conninfo, const store_opts *opts) {
  pg_store *s = calloc(1, sizeof *s);
  char *err = NULL;
  PQconninfoOption *parsed;
  int i, rc;
  if (s == NULL) {
    snprintf(st->error, sizeof st->error, "out of memory");
    return -ENOMEM;
  }
  /* The message of a failed parse could quote the password: not passed on. */
  parsed = PQconninfoParse(conninfo, &err);
  if (parsed == NULL) {
    snprintf(st->error, sizeof st->error, "the PostgreSQL URL cannot be parsed (libpq refused it)");
    PQfreemem(err);
    free(s);
    return -EINVAL;
  }
  PQconninfoFree(parsed);
  s->conninfo = strdup(conninfo);
  rc = s->conninfo != NULL ? uv_timer_init(loop, &s->timer) : -ENOMEM;
  if (rc < 0) {
    snprintf(st->error, sizeof st->error, "cannot start the store: %s", uv_strerror(rc));
    free(s->conninfo);
    free(s);
    return rc;
  }
  s->st = st;
  s->timeout_ms = opts->timeout_ms;
  s->timer.data = s;
  s->open_handles = 1;
  st->impl = s;
  st->ops = &store_pg_ops;
  st->shared = 1;
  rc = pg_listener_init(s, loop);
  for (i = 0; i < opts->pool && rc == 0; i++) {
    pg_slot *slot = &s->slots[i];
    slot->s = s;
    rc = pgconn_init(&slot->pc, loop);
    if (rc < 0)
      break;
    slot->pc.data = slot;
    s->open_handles++;
    s->nslots++;
    rc = uv_timer_init(loop, &slot->retry);
    if (rc < 0)
      break;
    slot->retry.data = slot;
    s->open_handles++;
    rc = slot_connect(slot);
  }
  if (rc < 0) {
    if (rc == -EINVAL && s->nslots > 0)
      snprintf(st->error, sizeof st->error, "the PostgreSQL conninfo is refused: %s",
               pgconn_error(&s->slots[s->nslots - 1].pc));
    else
      snprintf(st->error, sizeof st->error, "cannot start connecting to PostgreSQL: %s", strerror(-rc));
    s->st = NULL; /* the handles close on the loop, without st: nothing needs closing */
    store_pg_close(st, NULL);
    st->impl = NULL;
    st->ops = NULL;
    return rc == -EINVAL ? -EINVAL : -EIO;
  }
  return 0;
}

/* Every handle closed: the ops left complete with -ECANCELED (those done
 * keep their status), in order; then the store is freed. */
static void handle_closed(pg_store *s) {
  store_t *st = s->st;
  void (*done)(store_t *st) = s->done;
  pg_op *op;
  if (--s->open_handles > 0)
    return;
  while (s->head != NULL) {
    op = s->head;
    s->head = op->next;
    if (!op->complete)
      op->j.status = -ECANCELED;
    else if (op->j.status == 0 && op->j.overflow != 0)
      op->j.status = op->j.overflow;
    op->j.deliver(&op->j);
    pg_op_free(op);
  }
  OPENSSL_cleanse(s->conninfo, strlen(s->conninfo));
  free(s->conninfo);
  free(s);
  if (st == NULL) /* store_pg_open failed: the caller has nothing to close */
    return;
  st->impl = NULL;
  st->ops = NULL;
  if (done != NULL)
    done(st);
}

void store_pg_close(store_t *st, void (*done)(store_t *st)) {
  pg_store *s = st->impl;
  int i;
  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  s->done = done;
  uv_close((uv_handle_t *)&s->timer, on_handle_closed);
  pg_listener_close(s);
  for (i = 0; i < s->nslots; i++) {
    uv_close((uv_handle_t *)&s->slots[i].retry, on_retry_closed);
    pgconn_close(&s->slots[i].pc, on_pgconn_closed);
  }
}

/* ---- helpers ---- */

void pg_col_text(const PGresult *res, int row, int col, char *out, size_t cap) {
  const char *v = PQgetvalue(res, row, col);
  size_t n = (size_t)PQgetlength(res, row, col);
  if (n >= cap)
    n = cap - 1;
  memcpy(out, v != NULL ? v : "", v != NULL ? n : 0);
  out[v != NULL ? n : 0] = '\0';
}

uint64_t pg_col_u64(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? 0 : (uint64_t)strtoull(PQgetvalue(res, row, col), NULL, 10);
}

int pg_col_null(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int pg_col_bytea(const PGresult *res, int row, int col, dynbuf *out) {
  const char *v = PQgetvalue(res, row, col);
  size_t n = (size_t)PQgetlength(res, row, col);
  size_t i;
  if (n < 2 || v[0] != '\\' || v[1] != 'x' || n % 2 != 0)
    return -EIO; /* bytea_output is hex since PostgreSQL 9.0 */
  for (i = 2; i < n; i += 2) {
    int hi = hexval(v[i]), lo = hexval(v[i + 1]);
    unsigned char b;
    if (hi < 0 || lo < 0)
      return -EIO;
    b = (unsigned char)(hi << 4 | lo);
    if (dynbuf_add(out, &b, 1) != 0)
      return -ENOMEM;
  }
  return 0;
}

char *pg_bytea_param(const void *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *b = p;
  char *out = malloc(2 + 2 * n + 1);
  size_t i;
  if (out == NULL)
    return NULL;
  out[0] = '\\';
  out[1] = 'x';
  for (i = 0; i < n; i++) {
    out[2 + 2 * i] = hex[b[i] >> 4];
    out[3 + 2 * i] = hex[b[i] & 15];
  }
  out[2 + 2 * n] = '\0';
  return out;
}

char *pg_blob_param(pg_op *op, int *none) {
  *none = !op->j.has_blob;
  if (*none)
    return NULL;
  return pg_bytea_param(op->j.blob_in.ptr != NULL ? op->j.blob_in.ptr : "", op->j.blob_in.len);
}

const char *pg_u64(char *buf, uint64_t v) {
  snprintf(buf, 24, "%llu", (unsigned long long)v);
  return buf;
}

char *pg_text_array(const char *const *strings, size_t n) {
  dynbuf b;
  size_t i, k;
  int rc = 0;
  dynbuf_init(&b, PGCONN_PARAMS_BYTES_MAX);
  rc = dynbuf_add(&b, "{", 1);
  for (i = 0; i < n && rc == 0; i++) {
    const char *p = strings[i] != NULL ? strings[i] : "";
    if (i > 0)
      rc = dynbuf_add(&b, ",", 1);
    if (rc == 0)
      rc = dynbuf_add(&b, "\"", 1);
    for (k = 0; p[k] != '\0' && rc == 0; k++) {
      if (p[k] == '"' || p[k] == '\\')
        rc = dynbuf_add(&b, "\\", 1);
      if (rc == 0)
        rc = dynbuf_add(&b, &p[k], 1);
    }
    if (rc == 0)
      rc = dynbuf_add(&b, "\"", 1);
  }
  if (rc == 0)
    rc = dynbuf_add(&b, "}", 2); /* with the NUL */
  if (rc != 0) {
    dynbuf_free(&b);
    return NULL;
  }
  return b.ptr;
}
