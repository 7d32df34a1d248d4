/* store_pg_users: the PostgreSQL store's operations on people and clients:
 * registered users, application credentials, connected credentials (sealed
 * blobs, bytea), callback origins, OAuth applications and their tokens.
 * Each op_* copies its arguments into a pg_op (store_pg.h); its step
 * function sends its queries and reads their results. Same semantics as
 * sqlite/sqldb_users.c. */
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secretbox.h"

/* Phases of the steps: 0 is the start (no result yet). */
enum { P_START, P_ONE, P_TWO, P_THREE, P_FOUR, P_READ };


/* ---- registered users ---- */

#define USER_COLS "id, origin_user_id, origin_user_name, company_id, company_name, user_type, is_test, created_ms"

static void read_user(const PGresult *res, int row, void *out) {
  store_user *u = out;
  memset(u, 0, sizeof *u);
  pg_col_text(res, row, 0, u->id, sizeof u->id);
  pg_col_text(res, row, 1, u->origin_user_id, sizeof u->origin_user_id);
  pg_col_text(res, row, 2, u->origin_user_name, sizeof u->origin_user_name);
  u->has_group = !pg_col_null(res, row, 3);
  pg_col_text(res, row, 3, u->company_id, sizeof u->company_id);
  pg_col_text(res, row, 4, u->company_name, sizeof u->company_name);
  pg_col_text(res, row, 5, u->user_type, sizeof u->user_type);
  u->is_test = (int)pg_col_u64(res, row, 6);
  u->created_ms = pg_col_u64(res, row, 7);
}

/* One user row into op->j.r.user, or -ENOENT. */
static void end_user_row(pg_op *op, const PGresult *res, int found_status) {
  if (PQntuples(res) < 1) {
    pg_op_end(op, found_status == -EEXIST ? -EIO : -ENOENT);
    return;
  }
  read_user(res, 0, &op->j.r.user);
  pg_op_end(op, found_status);
}

/* A conflict inserts nothing (the transaction goes on) and the existing
 * user comes back with -EEXIST; a conflict on the id alone is -EIO, as
 * for SQLite. */
static void user_create_step(pg_op *op, int status, const PGresult *res) {
  const store_user *u = &op->j.r.user;
  char is_test[24], created[24];
  const char *params[8];
  if (pg_failed(op, status))
    return;
  if (op->phase == P_START) {
    params[0] = u->id;
    params[1] = u->origin_user_id;
    params[2] = u->origin_user_name;
    params[3] = u->has_group && u->company_id[0] != '\0' ? u->company_id : NULL;
    params[4] = u->has_group && u->company_name[0] != '\0' ? u->company_name : NULL;
    params[5] = u->user_type;
    params[6] = pg_u64(is_test, (uint64_t)u->is_test);
    params[7] = pg_u64(created, u->created_ms);
    pg_op_query(op, P_ONE,
                "INSERT INTO registered_users (" USER_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                params, 8);
    return;
  }
  if (op->phase == P_ONE && PQntuples(res) == 0) {
    params[0] = op->j.r.user.origin_user_id;
    pg_op_query(op, P_TWO, "SELECT " USER_COLS " FROM registered_users WHERE origin_user_id = $1", params, 1);
    return;
  }
  if (op->phase == P_TWO) {
    end_user_row(op, res, -EEXIST);
    return;
  }
  pg_op_end(op, 0);
}

int pg_op_user_create(store_t *st, const store_user *u, store_user_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_create_step, sq_deliver_user, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.r.user = *u;
    op->j.cb.user = cb;
  }
  return pg_op_start(st, op, 1);
}

static void user_get_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                op->j.s[1] != NULL ? "SELECT " USER_COLS " FROM registered_users WHERE origin_user_id = $1"
                                   : "SELECT " USER_COLS " FROM registered_users WHERE id = $1",
                params, 1);
    return;
  }
  if (!pg_failed(op, status))
    end_user_row(op, res, 0);
}

int pg_op_user_get(store_t *st, const char *id, store_user_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_get_step, sq_deliver_user, data, id, NULL, NULL);
  if (op != NULL)
    op->j.cb.user = cb;
  return pg_op_start(st, op, 0);
}

int pg_op_user_by_origin(store_t *st, const char *origin_user_id, store_user_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_get_step, sq_deliver_user, data, origin_user_id, "by origin", NULL);
  if (op != NULL)
    op->j.cb.user = cb;
  return pg_op_start(st, op, 0);
}

/* Ends op: 0 when the write's RETURNING gave a row, else -ENOENT. */
static void end_changed(pg_op *op, int status, const PGresult *res) {
  if (!pg_failed(op, status))
    pg_op_end(op, PQntuples(res) > 0 ? 0 : -ENOENT);
}

static void user_update_step(pg_op *op, int status, const PGresult *res) {
  const store_user *u = &op->j.r.user;
  char is_test[24];
  const char *params[6];
  if (op->phase == P_START) {
    params[0] = u->origin_user_name;
    params[1] = u->has_group && u->company_id[0] != '\0' ? u->company_id : NULL;
    params[2] = u->has_group && u->company_name[0] != '\0' ? u->company_name : NULL;
    params[3] = u->user_type;
    params[4] = pg_u64(is_test, (uint64_t)u->is_test);
    params[5] = u->id;
    pg_op_query(op, P_ONE,
                "UPDATE registered_users SET origin_user_name = $1, company_id = $2, company_name = $3, "
                "user_type = $4, is_test = $5 WHERE id = $6 RETURNING 1",
                params, 6);
    return;
  }
  end_changed(op, status, res);
}

int pg_op_user_update(store_t *st, const store_user *u, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_update_step, sq_deliver_done, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.r.user = *u;
    op->j.cb.done = cb;
  }
  return pg_op_start(st, op, 1);
}

/* The user, its credentials and its links: one statement, all or none. */
static void user_delete_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "WITH u AS (DELETE FROM registered_users WHERE id = $1 RETURNING origin_user_id), "
                "c AS (DELETE FROM credentials WHERE origin_user_id IN (SELECT origin_user_id FROM u)), "
                "l AS (DELETE FROM links WHERE origin_user_id IN (SELECT origin_user_id FROM u)) "
                "SELECT 1 FROM u",
                params, 1);
    return;
  }
  end_changed(op, status, res);
}

int pg_op_user_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_delete_step, sq_deliver_done, data, id, NULL, NULL);
  if (op != NULL)
    op->j.cb.done = cb;
  return pg_op_start(st, op, 1);
}

static void user_list_step(pg_op *op, int status, const PGresult *res) {
  char limit[24], offset[24];
  const char *params[3] = {op->j.s[0], pg_u64(limit, op->j.limit), pg_u64(offset, op->j.n[0])};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT count(*) FROM registered_users WHERE $1::text IS NULL OR origin_user_id = $1",
                params, 1);
    return;
  }
  if (pg_failed(op, status))
    return;
  if (op->phase == P_ONE) {
    op->j.total = PQntuples(res) == 1 ? (size_t)pg_col_u64(res, 0, 0) : 0;
    pg_op_query(op, P_TWO,
                "SELECT " USER_COLS " FROM registered_users WHERE $1::text IS NULL OR origin_user_id = $1 "
                "ORDER BY created_ms, id LIMIT $2 OFFSET $3",
                params, 3);
    return;
  }
  pg_rows_end(op, res, read_user, sizeof(store_user));
}

int pg_op_user_list(store_t *st, const char *origin_user_id, size_t offset, size_t limit, store_users_cb cb,
                    void *data) {
  pg_op *op = pg_op_new(st, user_list_step, sq_deliver_users, data, origin_user_id, NULL, NULL);
  if (op != NULL) {
    op->j.n[0] = offset;
    op->j.limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
    op->j.cb.users = cb;
  }
  return pg_op_start(st, op, 0);
}

/* Rows of one text column as names (offsets into the arena). */
static void end_names(pg_op *op, int status, const PGresult *res) {
  int i;
  if (pg_failed(op, status))
    return;
  for (i = 0; i < PQntuples(res); i++) {
    size_t off;
    if (sq_arena_add(&op->j, PQgetvalue(res, i, 0), &off) != 0 || sq_rows_add(&op->j, &off, sizeof off) != 0)
      break;
  }
  pg_op_end(op, 0);
}

static void user_connectors_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT connector FROM credentials WHERE origin_user_id = $1 ORDER BY connector "
                "LIMIT " PGSTORE_LIST_ROWS,
                params, 1);
    return;
  }
  end_names(op, status, res);
}

int pg_op_user_connectors(store_t *st, const char *origin_user_id, store_names_cb cb, void *data) {
  pg_op *op = pg_op_new(st, user_connectors_step, sq_deliver_names, data, origin_user_id, NULL, NULL);
  if (op != NULL)
    op->j.cb.names = cb;
  return pg_op_start(st, op, 0);
}

/* ---- application credentials ---- */

#define APP_COLS "id, connector_slug, client_id, client_secret IS NOT NULL, external_id, is_global_default, " \
                 "created_ms, modified_ms"

static void read_app(const PGresult *res, int row, void *out) {
  store_app_credential *c = out;
  memset(c, 0, sizeof *c);
  pg_col_text(res, row, 0, c->id, sizeof c->id);
  pg_col_text(res, row, 1, c->connector_slug, sizeof c->connector_slug);
  pg_col_text(res, row, 2, c->client_id, sizeof c->client_id);
  c->has_secret = strcmp(PQgetvalue(res, row, 3), "t") == 0;
  c->has_external_id = !pg_col_null(res, row, 4);
  pg_col_text(res, row, 4, c->external_id, sizeof c->external_id);
  c->is_global_default = (int)pg_col_u64(res, row, 5);
  c->created_ms = pg_col_u64(res, row, 6);
  c->modified_ms = pg_col_u64(res, row, 7);
}

/* One app row (and, when asked, its secret in column 8) or -ENOENT. */
static void end_app_row(pg_op *op, int status, const PGresult *res, int with_secret) {
  int rc = 0;
  if (pg_no_row(op, status, res))
    return;
  read_app(res, 0, &op->j.r.app);
  if (with_secret && op->j.r.app.has_secret)
    rc = pg_col_bytea(res, 0, 8, &op->j.blob_out);
  pg_op_end(op, rc);
}

static void app_create_step(pg_op *op, int status, const PGresult *res) {
  store_app_credential *c = &op->j.r.app;
  char def[24], created[24], modified[24];
  const char *params[8];
  char *secret;
  int none;
  (void)res;
  if (pg_failed(op, status))
    return;
  switch (op->phase) {
  case P_START:
    if (c->is_global_default) {
      params[0] = c->connector_slug;
      pg_op_query(op, P_TWO, "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = $1", params,
                  1);
      return;
    }
    /* fall through - no other default to clear */
  case P_TWO:
    secret = pg_blob_param(op, &none);
    if (secret == NULL && !none) {
      pg_op_end(op, -ENOMEM);
      return;
    }
    c->has_secret = !none;
    params[0] = c->id;
    params[1] = c->connector_slug;
    params[2] = c->client_id;
    params[3] = secret;
    params[4] = c->has_external_id ? c->external_id : NULL;
    params[5] = pg_u64(def, (uint64_t)c->is_global_default);
    params[6] = pg_u64(created, c->created_ms);
    params[7] = pg_u64(modified, c->modified_ms);
    pg_op_query(op, P_THREE,
                "INSERT INTO app_credentials (id, connector_slug, client_id, client_secret, external_id, "
                "is_global_default, created_ms, modified_ms) VALUES ($1,$2,$3,$4::bytea,$5,$6,$7,$8)",
                params, 8);
    free(secret);
    return;
  default:
    pg_op_end(op, 0);
  }
}

int pg_op_app_create(store_t *st, const store_app_credential *c, const store_blob *secret, store_app_cb cb,
                     void *data) {
  pg_op *op = pg_op_new(st, app_create_step, sq_deliver_app, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.r.app = *c;
    op->j.cb.app = cb;
    if (sq_copy_blob(&op->j, secret) != 0) {
      pg_op_free(op);
      return -ENOMEM;
    }
  }
  return pg_op_start(st, op, 1);
}

static void app_get_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE, "SELECT " APP_COLS " FROM app_credentials WHERE id = $1", params, 1);
    return;
  }
  end_app_row(op, status, res, 0);
}

int pg_op_app_get(store_t *st, const char *id, store_app_cb cb, void *data) {
  pg_op *op = pg_op_new(st, app_get_step, sq_deliver_app, data, id, NULL, NULL);
  if (op != NULL)
    op->j.cb.app = cb;
  return pg_op_start(st, op, 0);
}

/* In the write's transaction: [clear the other defaults]; the row; [its
 * secret]; the row as stored. */
static void app_update_step(pg_op *op, int status, const PGresult *res) {
  store_app_credential *c = &op->j.r.app;
  char def[24], modified[24];
  const char *params[5];
  char *secret;
  int none;
  if (pg_failed(op, status))
    return;
  switch (op->phase) {
  case P_START:
    if (c->is_global_default) {
      params[0] = c->connector_slug;
      params[1] = c->id;
      pg_op_query(op, P_TWO,
                  "UPDATE app_credentials SET is_global_default = 0 WHERE connector_slug = $1 AND id <> $2",
                  params, 2);
      return;
    }
    /* fall through */
  case P_TWO:
    params[0] = c->client_id;
    params[1] = c->has_external_id ? c->external_id : NULL;
    params[2] = pg_u64(def, (uint64_t)c->is_global_default);
    params[3] = pg_u64(modified, op->j.n[0]);
    params[4] = c->id;
    pg_op_query(op, P_THREE,
                "UPDATE app_credentials SET client_id = $1, external_id = $2, is_global_default = $3, "
                "modified_ms = $4 WHERE id = $5 RETURNING 1",
                params, 5);
    return;
  case P_THREE:
    if (PQntuples(res) == 0) {
      pg_op_end(op, -ENOENT); /* rolled back */
      return;
    }
    if (op->j.flag) {
      secret = pg_blob_param(op, &none);
      if (secret == NULL && !none) {
        pg_op_end(op, -ENOMEM);
        return;
      }
      params[0] = secret;
      params[1] = c->id;
      pg_op_query(op, P_FOUR, "UPDATE app_credentials SET client_secret = $1::bytea WHERE id = $2", params, 2);
      free(secret);
      return;
    }
    /* fall through */
  case P_FOUR:
    params[0] = c->id;
    pg_op_query(op, P_READ, "SELECT " APP_COLS " FROM app_credentials WHERE id = $1", params, 1);
    return;
  case P_READ:
    if (PQntuples(res) < 1) {
      pg_op_end(op, -ENOENT);
      return;
    }
    read_app(res, 0, c);
    pg_op_end(op, 0);
    return;
  default:
    pg_op_end(op, 0);
  }
}

int pg_op_app_update(store_t *st, const store_app_credential *c, int set_secret, const store_blob *secret,
                     store_app_cb cb, void *data) {
  pg_op *op = pg_op_new(st, app_update_step, sq_deliver_app, data, NULL, NULL, NULL);
  if (op != NULL) {
    op->j.r.app = *c;
    op->j.flag = set_secret;
    op->j.n[0] = c->modified_ms;
    op->j.cb.app = cb;
    if (set_secret && sq_copy_blob(&op->j, secret) != 0) {
      pg_op_free(op);
      return -ENOMEM;
    }
  }
  return pg_op_start(st, op, 1);
}

int pg_op_app_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  return pg_simple_op(st, "DELETE FROM app_credentials WHERE id = $1 RETURNING 1", 1, id, cb, data);
}

static void app_list_step(pg_op *op, int status, const PGresult *res) {
  const char *params[1] = {op->j.s[0]};
  if (op->phase == P_START) {
    pg_op_query(op, P_ONE,
                "SELECT " APP_COLS " FROM app_credentials WHERE $1::text IS NULL OR connector_slug = $1 "
                "ORDER BY created_ms, id LIMIT " PGSTORE_LIST_ROWS,
                params, 1);
    return;
  }
  if (pg_failed(op, status))
    return;
  pg_rows_end(op, res, read_app, sizeof(store_app_credential));
}

int pg_op_app_list(store_t *st, const char *connector_slug, store_apps_cb cb, void *data) {
  pg_op *op = pg_op_new(st, app_list_step, sq_deliver_apps, data, connector_slug, NULL, NULL);
  if (op != NULL)
    op->j.cb.apps = cb;
  return pg_op_start(st, op, 0);
}

static void app_for_step(pg_op *op, int status, const PGresult *res) {
  const char *params[2] = {op->j.s[0], op->j.s[1]};
  if (op->phase == P_START) {
    if (op->j.s[1] != NULL && op->j.s[1][0] != '\0')
      pg_op_query(op, P_ONE,
                  "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = $1 "
                  "AND external_id = $2",
                  params, 2);
    else
      pg_op_query(op, P_ONE,
                  "SELECT " APP_COLS ", client_secret FROM app_credentials WHERE connector_slug = $1 "
                  "ORDER BY is_global_default DESC, (external_id IS NULL) DESC, created_ms LIMIT 1",
                  params, 1);
    return;
  }
  end_app_row(op, status, res, 1);
}

int pg_op_app_for(store_t *st, const char *connector_slug, const char *external_id, store_app_cb cb, void *data) {
  pg_op *op = pg_op_new(st, app_for_step, sq_deliver_app, data, connector_slug, external_id, NULL);
  if (op != NULL)
    op->j.cb.app = cb;
  return pg_op_start(st, op, 0);
}
