/* store_pg_clients: the PostgreSQL store's callback origins, OAuth
 * applications and their tokens (the control API's clients). Same
 * semantics as sqlite/sqldb_users.c; see store_pg.h. */
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"

enum { P_START, P_ONE };

/* ---- callback origins ---- */

static void origin_add_step(pg_op *op, int status, const PGresult *res) {
  char now[24];
  const char *params[2] = {op->j.s[0], pg_u64(now, op->j.n[0])};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "INSERT INTO callback_origins (origin, created_ms) VALUES ($1, $2)", params, 2);
    return;
  }
  if (!pg_failed(op, status))
    pg_op_end(op, 0);
}

int pg_op_origin_add(store_t *st, const char *origin, uint64_t now_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, origin_add_step, sq_deliver_done, data, origin, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = now_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

int pg_op_origin_delete(store_t *st, const char *origin, store_done_cb cb, void *data) {
  return pg_simple_op(st, "DELETE FROM callback_origins WHERE origin = $1 RETURNING 1", 1, origin, cb, data);
}

int pg_op_origin_allowed(store_t *st, const char *origin, store_done_cb cb, void *data) {
  return pg_simple_op(st, "SELECT 1 FROM callback_origins WHERE origin = $1", 0, origin, cb, data);
}

static void origin_list_step(pg_op *op, int status, const PGresult *res) {
  int i;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT origin, created_ms FROM callback_origins ORDER BY origin LIMIT " PGSTORE_LIST_ROWS,
                NULL, 0);
    return;
  }
  if (pg_failed(op, status))
    return;
  for (i = 0; i < PQntuples(res); i++) {
    sq_origin_rec rec;
    rec.created_ms = pg_col_u64(res, i, 1);
    if (sq_arena_add(&op->j, PQgetvalue(res, i, 0), &rec.origin) != 0 || sq_rows_add(&op->j, &rec, sizeof rec) != 0)
      break;
  }
  pg_op_end(op, 0);
}

int pg_op_origin_list(store_t *st, store_origins_cb cb, void *data) {
  pg_op *op = pg_op_new(st, origin_list_step, sq_deliver_origins, data, NULL, NULL, NULL);
  if (op != NULL)
    op->j.cb.origins = cb;
  return pg_op_start(st, op, 0);
}

/* ---- OAuth applications and tokens ---- */

#define OAUTH_APP_COLS "id, name, description, redirect_uri, scopes, client_id, created_ms"

static void read_oauth_app(const PGresult *res, int row, void *out) {
  store_oauth_app *a = out;
  memset(a, 0, sizeof *a);
  pg_col_text(res, row, 0, a->id, sizeof a->id);
  pg_col_text(res, row, 1, a->name, sizeof a->name);
  pg_col_text(res, row, 2, a->description, sizeof a->description);
  pg_col_text(res, row, 3, a->redirect_uri, sizeof a->redirect_uri);
  pg_col_text(res, row, 4, a->scopes, sizeof a->scopes);
  pg_col_text(res, row, 5, a->client_id, sizeof a->client_id);
  a->created_ms = pg_col_u64(res, row, 6);
}

static void oauth_app_create_step(pg_op *op, int status, const PGresult *res) {
  const store_oauth_app *a = &op->j.r.oauth_app;
  char created[24];
  const char *params[8];
  (void)res;
  if (op->phase == P_START) {
    params[0] = a->id;
    params[1] = a->name;
    params[2] = a->description;
    params[3] = a->redirect_uri;
    params[4] = a->scopes;
    params[5] = a->client_id;
    params[6] = op->j.s[0];
    params[7] = pg_u64(created, a->created_ms);
    pg_op_query(op, P_ONE,
                "INSERT INTO oauth_apps (id, name, description, redirect_uri, scopes, client_id, secret_hash, "
                "created_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                params, 8);
    return;
  }
  if (!pg_failed(op, status))
    pg_op_end(op, 0);
}

int pg_op_oauth_app_create(store_t *st, const store_oauth_app *a, const char *secret_hash, store_oauth_app_cb cb,
                           void *data) {
  pg_op *op = pg_op_new(st, oauth_app_create_step, sq_deliver_oauth_app, data, secret_hash, NULL, NULL);
  if (op != NULL) {
    op->j.r.oauth_app = *a;
    op->j.cb.oauth_app = cb;
  }
  return pg_op_start(st, op, 1);
}

static void oauth_app_list_step(pg_op *op, int status, const PGresult *res) {
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT " OAUTH_APP_COLS " FROM oauth_apps ORDER BY created_ms LIMIT " PGSTORE_LIST_ROWS,
                NULL, 0);
    return;
  }
  if (pg_failed(op, status))
    return;
  pg_rows_end(op, res, read_oauth_app, sizeof(store_oauth_app));
}

int pg_op_oauth_app_list(store_t *st, store_oauth_apps_cb cb, void *data) {
  pg_op *op = pg_op_new(st, oauth_app_list_step, sq_deliver_oauth_apps, data, NULL, NULL, NULL);
  if (op != NULL)
    op->j.cb.oauth_apps = cb;
  return pg_op_start(st, op, 0);
}

int pg_op_oauth_app_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  return pg_simple_op(st, "DELETE FROM oauth_apps WHERE id = $1 RETURNING 1", 1, id, cb, data);
}

static void oauth_app_check_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  const char *hash;
  int ok;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT " OAUTH_APP_COLS ", secret_hash FROM oauth_apps WHERE client_id = $1", params, 1);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  read_oauth_app(res, 0, &op->j.r.oauth_app);
  hash = PQgetvalue(res, 0, 7);
  ok = op->j.s[1] != NULL && strlen(hash) == 64 && strlen(op->j.s[1]) == 64 && crypto_equal(hash, op->j.s[1], 64);
  pg_op_end(op, ok ? 0 : -ENOENT);
}

int pg_op_oauth_app_check(store_t *st, const char *client_id, const char *secret_hash, store_oauth_app_cb cb,
                          void *data) {
  pg_op *op = pg_op_new(st, oauth_app_check_step, sq_deliver_oauth_app, data, client_id, secret_hash, NULL);
  if (op != NULL)
    op->j.cb.oauth_app = cb;
  return pg_op_start(st, op, 0);
}

/* The new token, and the tokens expired for two hours gone: one statement. */
static void oauth_token_put_step(pg_op *op, int status, const PGresult *res) {
  char expires[24], stale[24];
  uint64_t e = op->j.n[0];
  const char *params[5] = {op->j.s[0], op->j.s[1], op->j.s[2], pg_u64(expires, e),
                           pg_u64(stale, e > 7200000 ? e - 7200000 : 0)};
  (void)res;
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "WITH gone AS (DELETE FROM oauth_tokens WHERE expires_ms < $5) "
                "INSERT INTO oauth_tokens (token_hash, app_id, scopes, expires_ms) VALUES ($1, $2, $3, $4)",
                params, 5);
    return;
  }
  if (!pg_failed(op, status))
    pg_op_end(op, 0);
}

int pg_op_oauth_token_put(store_t *st, const char *token_hash, const char *app_id, const char *scopes,
                          uint64_t expires_ms, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, oauth_token_put_step, sq_deliver_done, data, token_hash, app_id, scopes);
  if (op != NULL) {
    op->j.n[0] = expires_ms;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

static void oauth_token_get_step(pg_op *op, int status, const PGresult *res) {
  char now[24];
  const char *params[2] = {op->j.s[0], pg_u64(now, op->j.n[0])};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT t.scopes, a.client_id FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id "
                "WHERE t.token_hash = $1 AND t.expires_ms > $2",
                params, 2);
    return;
  }
  if (pg_no_row(op, status, res))
    return;
  memset(&op->j.r.token, 0, sizeof op->j.r.token);
  pg_col_text(res, 0, 0, op->j.r.token.scopes, sizeof op->j.r.token.scopes);
  pg_col_text(res, 0, 1, op->j.r.token.client_id, sizeof op->j.r.token.client_id);
  pg_op_end(op, 0);
}

int pg_op_oauth_token_get(store_t *st, const char *token_hash, uint64_t now_ms, store_token_cb cb, void *data) {
  pg_op *op = pg_op_new(st, oauth_token_get_step, sq_deliver_token, data, token_hash, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = now_ms;
    op->j.cb.token = cb;
  }
  return pg_op_start(st, op, 0);
}
