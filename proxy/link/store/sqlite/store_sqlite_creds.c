/* store_sqlite_creds: the connected-credential operations of the embedded
 * store (store.h credential_*), as jobs (store_sqlite.h) running the
 * sqldb_credentials.c calls. */
#include "store_sqlite.h"

#include <errno.h>

/* A job whose blob argument is required: NULL when j is NULL or the copy
 * failed (j freed; *rc says why). */
static sq_job *with_blob(sq_job *j, const store_blob *sealed, int *rc) {
  *rc = 0;
  if (j == NULL)
    return NULL;
  if (sealed == NULL || sealed->ptr == NULL || sq_copy_blob(j, sealed) != 0) {
    *rc = sealed == NULL || sealed->ptr == NULL ? -EINVAL : -ENOMEM;
    sq_job_free(j);
    return NULL;
  }
  return j;
}

static int run_put(sqldb_t *q, sq_job *j) {
  store_blob b = sq_job_blob(j);
  return sqldb_credential_put(q, j->s[0], j->s[1], j->s[2], &b, j->n[0], j->n[1]);
}

int sq_op_credential_put(store_t *st, const char *user, const char *connector, const char *kind,
                         const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb, void *data) {
  int rc;
  sq_job *j = with_blob(sq_job_new(st, run_put, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, kind),
                        sealed, &rc);
  if (rc != 0)
    return rc;
  if (j != NULL) {
    j->n[0] = expires_ms;
    j->n[1] = now_ms;
  }
  return sq_job_queue(st, j);
}

static int run_get(sqldb_t *q, sq_job *j) {
  return sqldb_credential_get(q, j->s[0], j->s[1], &j->r.credential, &j->blob_out);
}

int sq_op_credential_get(store_t *st, const char *user, const char *connector, store_credential_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_get, sq_deliver_credential, (sq_cb){.credential = cb}, data, user, connector, NULL);
  return sq_job_queue(st, j);
}

static int keep_row(void *ctx, const store_credential *c) {
  return sq_rows_add(ctx, c, sizeof *c);
}

static int run_list(sqldb_t *q, sq_job *j) {
  return sqldb_credential_list(q, j->s[0], keep_row, j);
}

int sq_op_credential_list(store_t *st, const char *user, store_credentials_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_list, sq_deliver_credentials, (sq_cb){.credentials = cb}, data, user, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_update(sqldb_t *q, sq_job *j) {
  store_blob b = sq_job_blob(j);
  return sqldb_credential_update(q, j->s[0], j->s[1], j->n[0], &b, j->n[1], j->n[2]);
}

int sq_op_credential_update(store_t *st, const char *user, const char *connector, uint64_t version,
                            const store_blob *sealed, uint64_t expires_ms, uint64_t now_ms, store_done_cb cb,
                            void *data) {
  int rc;
  sq_job *j = with_blob(sq_job_new(st, run_update, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, NULL),
                        sealed, &rc);
  if (rc != 0)
    return rc;
  if (j != NULL) {
    j->n[0] = version;
    j->n[1] = expires_ms;
    j->n[2] = now_ms;
  }
  return sq_job_queue(st, j);
}

static int run_set_status(sqldb_t *q, sq_job *j) {
  return sqldb_credential_set_status(q, j->s[0], j->s[1], j->n[0], j->flag, j->n[1]);
}

int sq_op_credential_set_status(store_t *st, const char *user, const char *connector, uint64_t version, int broken,
                                uint64_t now_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_set_status, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, NULL);
  if (j != NULL) {
    j->n[0] = version;
    j->n[1] = now_ms;
    j->flag = broken != 0;
  }
  return sq_job_queue(st, j);
}

static int run_delete(sqldb_t *q, sq_job *j) {
  return sqldb_credential_delete(q, j->s[0], j->s[1]);
}

int sq_op_credential_delete(store_t *st, const char *user, const char *connector, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_delete, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, NULL);
  return sq_job_queue(st, j);
}

static int run_lease(sqldb_t *q, sq_job *j) {
  return sqldb_credential_lease(q, j->s[0], j->s[1], j->n[0], j->n[1], j->n[2]);
}

/* One process per SQLite file: the in-process single flight
 * (connections.c) already keeps refreshes one at a time; the lease is kept
 * all the same, so that both backends answer the same. */
int sq_op_credential_lease(store_t *st, const char *user, const char *connector, uint64_t version, uint64_t now_ms,
                           uint64_t until_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_lease, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, NULL);
  if (j != NULL) {
    j->n[0] = version;
    j->n[1] = now_ms;
    j->n[2] = until_ms;
  }
  return sq_job_queue(st, j);
}

static int run_lease_end(sqldb_t *q, sq_job *j) {
  return sqldb_credential_lease_end(q, j->s[0], j->s[1], j->n[0], j->n[1]);
}

int sq_op_credential_lease_end(store_t *st, const char *user, const char *connector, uint64_t version,
                               uint64_t until_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_lease_end, sq_deliver_done, (sq_cb){.done = cb}, data, user, connector, NULL);
  if (j != NULL) {
    j->n[0] = version;
    j->n[1] = until_ms;
  }
  return sq_job_queue(st, j);
}
