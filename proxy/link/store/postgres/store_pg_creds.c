/* store_pg_creds: the PostgreSQL store's connected credentials (store.h
 * credential_*): a registered user's account per connector, its sealed
 * secret (bytea) and its state (broken, version, times, expiry). Same
 * semantics as sqlite/sqldb_credentials.c: a new connection replaces the
 * row with the next version; a refresh or a status change writes only over
 * the version it read (-ENOENT otherwise), and ends the refresh lease.
 *
 * The refresh lease (credential_lease) is the row lock of the single
 * flight across replicas: a conditional UPDATE (this version, no lease in
 * force) claims it in a transaction that commits at once; a replica that
 * claims at the same time waits on the row lock, then finds the lease in
 * force (PostgreSQL re-checks the WHERE on the committed row) and gets
 * -EBUSY. No transaction stays open across the provider's HTTP call: the
 * lease is a column, which ends at its time even if its holder died, at
 * the row's next write, or when its holder gives it up (credential_lease_end,
 * matched by its end time: later claims of a version always end later). See
 * store_pg.h. */
#include "store_pg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { P_START, P_ONE, P_CHECK };

#define CREDENTIAL_COLS "connector, kind, broken, version, created_ms, modified_ms, expires_ms"

static void read_credential(const PGresult *res, int row, void *out) {
  store_credential *c = out;
  memset(c, 0, sizeof *c);
  pg_col_text(res, row, 0, c->connector, sizeof c->connector);
  pg_col_text(res, row, 1, c->kind, sizeof c->kind);
  c->broken = (int)pg_col_u64(res, row, 2);
  c->version = pg_col_u64(res, row, 3);
  c->created_ms = pg_col_u64(res, row, 4);
  c->modified_ms = pg_col_u64(res, row, 5);
  c->expires_ms = pg_col_u64(res, row, 6);
}

/* A write whose RETURNING gave no row: -ENOENT (none, or another version). */
static void end_guarded(pg_op *op, int status, const PGresult *res) {
  if (!pg_failed(op, status))
    pg_op_end(op, PQntuples(res) > 0 ? 0 : -ENOENT);
}

/* A new op with a required sealed blob: NULL and *rc when refused. */
static pg_op *with_blob(pg_op *op, const store_blob *sealed, int *rc) {
  *rc = 0;
  if (op == NULL)
    return NULL;
  if (sealed == NULL || sealed->ptr == NULL || sq_copy_blob(&op->j, sealed) != 0) {
    *rc = sealed == NULL || sealed->ptr == NULL ? -EINVAL : -ENOMEM;
    pg_op_free(op);
    return NULL;
  }
  return op;
}

static void put_step(pg_op *op, int status, const PGresult *res) {
  char expires[24], now[24];
  const char *params[6];
  char *secret;
  int none;
  (void)res;
  if (op->phase == P_START) {
    secret = pg_blob_param(op, &none);
    if (secret == NULL) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    params[0] = op->j.s[0];
    params[1] = op->j.s[1];
    params[2] = op->j.s[2];
    params[3] = secret;
    params[4] = pg_u64(now, op->j.n[1]);
    params[5] = pg_u64(expires, op->j.n[0]);
    pg_op_query(op, P_ONE,
                "INSERT INTO credentials (origin_user_id, connector, kind, secret, created_ms, broken, version, "
                "modified_ms, expires_ms) VALUES ($1, $2, $3, $4::bytea, $5, 0, 1, $5, $6) "
                "ON CONFLICT (origin_user_id, connector) DO UPDATE SET kind = EXCLUDED.kind, "
                "secret = EXCLUDED.secret, created_ms = EXCLUDED.created_ms, broken = 0, "
                "version = credentials.version + 1, modified_ms = EXCLUDED.modified_ms, "
                "expires_ms = EXCLUDED.expires_ms, lease_until_ms = 0",
                params, 6);
    free(secret);
    return;
  }
  if (!pg_failed(op, status))
    pg_op_end(op, 0);
}

int pg_op_credential_put(store_t *st, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                         void *data) {
  int rc;
  pg_op *op = with_blob(pg_op_new(st, put_step, sq_deliver_done, data, user, connector, kind), sealed, &rc);
  if (rc != 0)
    return rc;
  if (op != NULL) {
    op->j.n[0] = expires_ms;
    op->j.n[1] = now_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void get_step(pg_op *op, int status, const PGresult *res) {
  const char *params[2] = {op->j.s[0], op->j.s[1]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT " CREDENTIAL_COLS ", secret FROM credentials WHERE origin_user_id = $1 AND connector = $2",
                params, 2);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  read_credential(res, 0, &op->j.r.credential);
  pg_op_end(op, pg_col_bytea(res, 0, 7, &op->j.blob_out));
}

int pg_op_credential_get(store_t *st, const char *user, const char *connector, store_credential_cb cb, void *data) {
  pg_op *op = pg_op_new(st, get_step, sq_deliver_credential, data, user, connector, NULL);
  if (op != NULL)
    op->j.cb.credential = cb;
  return pg_op_start(st, op, 0);
}

static void list_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT " CREDENTIAL_COLS " FROM credentials WHERE origin_user_id = $1 ORDER BY connector "
                "LIMIT " PGSTORE_LIST_ROWS,
                params, 1);
    return;
  }
  if (pg_failed(op, status))
    return;
  pg_rows_end(op, res, read_credential, sizeof(store_credential));
}

int pg_op_credential_list(store_t *st, const char *user, store_credentials_cb cb, void *data) {
  pg_op *op = pg_op_new(st, list_step, sq_deliver_credentials, data, user, NULL, NULL);
  if (op != NULL)
    op->j.cb.credentials = cb;
  return pg_op_start(st, op, 0);
}

static void update_step(pg_op *op, int status, const PGresult *res) {
  char expires[24], now[24], version[24];
  const char *params[6];
  char *secret;
  int none;
  if (op->phase == P_START) {
    secret = pg_blob_param(op, &none);
    if (secret == NULL) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    params[0] = secret;
    params[1] = pg_u64(expires, op->j.n[1]);
    params[2] = pg_u64(now, op->j.n[2]);
    params[3] = op->j.s[0];
    params[4] = op->j.s[1];
    params[5] = pg_u64(version, op->j.n[0]);
    pg_op_query(op, P_ONE,
                "UPDATE credentials SET secret = $1::bytea, expires_ms = $2, modified_ms = $3, broken = 0, "
                "version = version + 1, lease_until_ms = 0 WHERE origin_user_id = $4 AND connector = $5 AND "
                "version = $6 RETURNING 1",
                params, 6);
    free(secret);
    return;
  }
  end_guarded(op, status, res);
}

int pg_op_credential_update(store_t *st, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                            void *data) {
  int rc;
  pg_op *op = with_blob(pg_op_new(st, update_step, sq_deliver_done, data, user, connector, NULL), sealed, &rc);
  if (rc != 0)
    return rc;
  if (op != NULL) {
    op->j.n[0] = version;
    op->j.n[1] = expires_ms;
    op->j.n[2] = now_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void set_status_step(pg_op *op, int status, const PGresult *res) {
  char broken[24], now[24], version[24];
  const char *params[5] = {pg_u64(broken, (uint64_t)op->j.flag), pg_u64(now, op->j.n[1]), op->j.s[0], op->j.s[1],
                           pg_u64(version, op->j.n[0])};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "UPDATE credentials SET broken = $1, modified_ms = $2, version = version + 1, lease_until_ms = 0 "
                "WHERE origin_user_id = $3 AND connector = $4 AND version = $5 RETURNING 1",
                params, 5);
    return;
  }
  end_guarded(op, status, res);
}

int pg_op_credential_set_status(store_t *st, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, set_status_step, sq_deliver_done, data, user, connector, NULL);
  if (op != NULL) {
    op->j.n[0] = version;
    op->j.n[1] = now_ms;
    op->j.flag = broken != 0;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void delete_step(pg_op *op, int status, const PGresult *res) {
  const char *params[2] = {op->j.s[0], op->j.s[1]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "DELETE FROM credentials WHERE origin_user_id = $1 AND connector = $2 RETURNING 1",
                params, 2);
    return;
  }
  end_guarded(op, status, res);
}

int pg_op_credential_delete(store_t *st, const char *user, const char *connector, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, delete_step, sq_deliver_done, data, user, connector, NULL);
  if (op != NULL)
    op->j.cb.done = cb;
  return pg_op_start(st, op, 1);
}

static void lease_step(pg_op *op, int status, const PGresult *res) {
  char version[24], now[24], until[24];
  const char *params[5] = {pg_u64(until, op->j.n[2]), op->j.s[0], op->j.s[1], pg_u64(version, op->j.n[0]),
                           pg_u64(now, op->j.n[1])};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "UPDATE credentials SET lease_until_ms = $1 WHERE origin_user_id = $2 AND connector = $3 "
                "AND version = $4 AND lease_until_ms <= $5 RETURNING 1",
                params, 5);
    return;
  }
  if (pg_failed(op, status))
    return;
  if (op->phase == P_ONE) {
    if (PQntuples(res) > 0) {
      pg_op_end(op, 0);
      return;
    }
    /* not claimed: another's lease is in force on this version, or the row changed */
    pg_op_query(op, P_CHECK, "SELECT 1 FROM credentials WHERE origin_user_id = $1 AND connector = $2 AND version = $3",
                params + 1, 3);
    return;
  }
  pg_op_end(op, PQntuples(res) > 0 ? -EBUSY : -ENOENT);
}

int pg_op_credential_lease(store_t *st, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, lease_step, sq_deliver_done, data, user, connector, NULL);
  if (op != NULL) {
    op->j.n[0] = version;
    op->j.n[1] = now_ms;
    op->j.n[2] = until_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void lease_end_step(pg_op *op, int status, const PGresult *res) {
  char version[24], until[24];
  const char *params[4] = {op->j.s[0], op->j.s[1], pg_u64(version, op->j.n[0]), pg_u64(until, op->j.n[1])};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "UPDATE credentials SET lease_until_ms = 0 WHERE origin_user_id = $1 AND connector = $2 "
                "AND version = $3 AND lease_until_ms = $4 RETURNING 1",
                params, 4);
    return;
  }
  end_guarded(op, status, res);
}

int pg_op_credential_lease_end(store_t *st, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, lease_end_step, sq_deliver_done, data, user, connector, NULL);
  if (op != NULL) {
    op->j.n[0] = version;
    op->j.n[1] = until_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}
