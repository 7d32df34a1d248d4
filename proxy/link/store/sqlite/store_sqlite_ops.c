/* store_sqlite_ops: one function per store.h operation for the embedded
 * store: each copies its arguments into a job (store_sqlite.h) and names
 * the sqldb.h call that runs it and the deliverer of its result. */
#include "store_sqlite.h"

#include "sqldb_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sq_copy_blob(sq_job *j, const store_blob *b) {
  if (b == NULL || b->ptr == NULL)
    return 0;
  j->has_blob = 1;
  return b->len == 0 ? 0 : dynbuf_add(&j->blob_in, b->ptr, b->len);
}

store_blob sq_job_blob(const sq_job *j) {
  store_blob b = {NULL, 0};
  if (j->has_blob) {
    b.ptr = j->blob_in.ptr != NULL ? j->blob_in.ptr : "";
    b.len = j->blob_in.len;
  }
  return b;
}

/* Copies hooks[0, n) into j: offsets in list_in, strings in arena. */
static int copy_hooks(sq_job *j, const char *const *hooks, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    size_t off;
    if (sq_arena_add(j, hooks[i], &off) != 0 || dynbuf_add(&j->list_in, &off, sizeof off) != 0)
      return -ENOMEM;
  }
  j->nlist_in = n;
  j->overflow = 0;
  return 0;
}

/* The hooks copy_hooks() kept, as pointers (*out freed by the caller). */
static int job_hooks(sq_job *j, const char ***out) {
  size_t i;
  *out = NULL;
  if (j->nlist_in == 0)
    return 0;
  *out = calloc(j->nlist_in, sizeof **out);
  if (*out == NULL)
    return -ENOMEM;
  for (i = 0; i < j->nlist_in; i++)
    (*out)[i] = j->arena.ptr + ((const size_t *)j->list_in.ptr)[i];
  return 0;
}

/* ---- probe ---- */

static int run_probe(sqldb_t *q, sq_job *j) {
  (void)j;
  return sqldb_probe(q);
}

static int op_probe(store_t *st, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_probe, sq_deliver_done, (sq_cb){.done = cb}, data, NULL, NULL, NULL);
  return sq_job_queue(st, j);
}

/* ---- registered users ---- */

static int run_user_create(sqldb_t *q, sq_job *j) {
  return sqldb_user_create(q, &j->r.user);
}

static int op_user_create(store_t *st, const store_user *u, store_user_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_user_create, sq_deliver_user, (sq_cb){.user = cb}, data, NULL, NULL, NULL);
  if (j != NULL)
    j->r.user = *u;
  return sq_job_queue(st, j);
}

static int run_user_get(sqldb_t *q, sq_job *j) {
  return sqldb_user_get(q, j->s[0], &j->r.user);
}

static int op_user_get(store_t *st, const char *id, store_user_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_user_get, sq_deliver_user, (sq_cb){.user = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_user_by_origin(sqldb_t *q, sq_job *j) {
  return sqldb_user_by_origin(q, j->s[0], &j->r.user);
}

static int op_user_by_origin(store_t *st, const char *origin_user_id, store_user_cb cb, void *data) {
  sq_job *j =
      sq_job_new(st, run_user_by_origin, sq_deliver_user, (sq_cb){.user = cb}, data, origin_user_id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_user_update(sqldb_t *q, sq_job *j) {
  return sqldb_user_update(q, &j->r.user);
}

static int op_user_update(store_t *st, const store_user *u, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_user_update, sq_deliver_done, (sq_cb){.done = cb}, data, NULL, NULL, NULL);
  if (j != NULL)
    j->r.user = *u;
  return sq_job_queue(st, j);
}

static int run_user_delete(sqldb_t *q, sq_job *j) {
  return sqldb_user_delete(q, j->s[0]);
}

static int op_user_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_user_delete, sq_deliver_done, (sq_cb){.done = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int keep_user(void *ctx, const store_user *u) {
  return sq_rows_add(ctx, u, sizeof *u);
}

static int run_user_list(sqldb_t *q, sq_job *j) {
  return sqldb_user_list(q, j->s[0], (size_t)j->n[0], j->limit, keep_user, j, &j->total);
}

static int op_user_list(store_t *st, const char *origin_user_id, size_t offset, size_t limit, store_users_cb cb,
                        void *data) {
  sq_job *j = sq_job_new(st, run_user_list, sq_deliver_users, (sq_cb){.users = cb}, data, origin_user_id, NULL, NULL);
  if (j != NULL) {
    j->n[0] = offset;
    j->limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
  }
  return sq_job_queue(st, j);
}

static int keep_name(void *ctx, const char *name) {
  sq_job *j = ctx;
  size_t off;
  return sq_arena_add(j, name, &off) != 0 || sq_rows_add(j, &off, sizeof off) != 0;
}

static int run_user_connectors(sqldb_t *q, sq_job *j) {
  return sqldb_user_connectors(q, j->s[0], keep_name, j);
}

static int op_user_connectors(store_t *st, const char *origin_user_id, store_names_cb cb, void *data) {
  sq_job *j =
      sq_job_new(st, run_user_connectors, sq_deliver_names, (sq_cb){.names = cb}, data, origin_user_id, NULL, NULL);
  return sq_job_queue(st, j);
}

/* ---- application credentials ---- */

static int run_app_create(sqldb_t *q, sq_job *j) {
  store_blob b = sq_job_blob(j);
  j->r.app.has_secret = b.ptr != NULL;
  return sqldb_app_create(q, &j->r.app, b.ptr != NULL ? &b : NULL);
}

static int op_app_create(store_t *st, const store_app_credential *c, const store_blob *secret, store_app_cb cb,
                         void *data) {
  sq_job *j = sq_job_new(st, run_app_create, sq_deliver_app, (sq_cb){.app = cb}, data, NULL, NULL, NULL);
  if (j != NULL) {
    j->r.app = *c;
    if (sq_copy_blob(j, secret) != 0) {
      sq_job_free(j);
      return -ENOMEM;
    }
  }
  return sq_job_queue(st, j);
}

static int run_app_get(sqldb_t *q, sq_job *j) {
  return sqldb_app_get(q, j->s[0], &j->r.app);
}

static int op_app_get(store_t *st, const char *id, store_app_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_app_get, sq_deliver_app, (sq_cb){.app = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_app_update(sqldb_t *q, sq_job *j) {
  store_blob b = sq_job_blob(j);
  int rc = sqldb_app_update(q, &j->r.app, j->flag, b.ptr != NULL ? &b : NULL, j->n[0]);
  if (rc == 0)
    rc = sqldb_app_get(q, j->r.app.id, &j->r.app);
  return rc;
}

static int op_app_update(store_t *st, const store_app_credential *c, int set_secret, const store_blob *secret,
                         store_app_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_app_update, sq_deliver_app, (sq_cb){.app = cb}, data, NULL, NULL, NULL);
  if (j != NULL) {
    j->r.app = *c;
    j->flag = set_secret;
    j->n[0] = c->modified_ms;
    if (set_secret && sq_copy_blob(j, secret) != 0) {
      sq_job_free(j);
      return -ENOMEM;
    }
  }
  return sq_job_queue(st, j);
}

static int run_app_delete(sqldb_t *q, sq_job *j) {
  return sqldb_app_delete(q, j->s[0]);
}

static int op_app_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_app_delete, sq_deliver_done, (sq_cb){.done = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int keep_app(void *ctx, const store_app_credential *c) {
  return sq_rows_add(ctx, c, sizeof *c);
}

static int run_app_list(sqldb_t *q, sq_job *j) {
  return sqldb_app_list(q, j->s[0], keep_app, j);
}

static int op_app_list(store_t *st, const char *connector_slug, store_apps_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_app_list, sq_deliver_apps, (sq_cb){.apps = cb}, data, connector_slug, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_app_for(sqldb_t *q, sq_job *j) {
  return sqldb_app_for(q, j->s[0], j->s[1], &j->r.app, &j->blob_out);
}

static int op_app_for(store_t *st, const char *connector_slug, const char *external_id, store_app_cb cb,
                      void *data) {
  sq_job *j = sq_job_new(st, run_app_for, sq_deliver_app, (sq_cb){.app = cb}, data, connector_slug, external_id, NULL);
  return sq_job_queue(st, j);
}

/* ---- links ---- */

/* All rows in one transaction: all or none reach the disk. */
static int run_link_put(sqldb_t *q, sq_job *j) {
  const store_link *rows = (const store_link *)j->list_in.ptr;
  size_t i;
  int rc;
  if (sqldb_tx_begin(q) != 0)
    return -EIO;
  rc = 0;
  for (i = 0; i < j->nlist_in && rc == 0; i++)
    rc = sqldb_link_put(q, &rows[i]);
  if (sqldb_tx_end(q, rc == 0) != 0) /* rolled back unless every row was written */
    return -EIO;
  return rc;
}

static int op_link_put(store_t *st, const store_link *rows, size_t n, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_link_put, sq_deliver_done, (sq_cb){.done = cb}, data, NULL, NULL, NULL);
  if (j != NULL) {
    if (n > 0 && dynbuf_add(&j->list_in, rows, n * sizeof *rows) != 0) {
      sq_job_free(j);
      return -ENOMEM;
    }
    j->nlist_in = n;
  }
  return sq_job_queue(st, j);
}

static int run_link_end(sqldb_t *q, sq_job *j) {
  return sqldb_link_end(q, j->s[0], (int)j->n[0], j->n[1]);
}

static int op_link_end(store_t *st, const char *token, int status, uint64_t ended_ms, store_done_cb cb,
                       void *data) {
  sq_job *j = sq_job_new(st, run_link_end, sq_deliver_done, (sq_cb){.done = cb}, data, token, NULL, NULL);
  if (j != NULL) {
    j->n[0] = (uint64_t)status;
    j->n[1] = ended_ms;
  }
  return sq_job_queue(st, j);
}

static int run_link_get(sqldb_t *q, sq_job *j) {
  return sqldb_link_get(q, j->s[0], &j->r.link);
}

static int op_link_get(store_t *st, const char *token, store_link_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_link_get, sq_deliver_link, (sq_cb){.link = cb}, data, token, NULL, NULL);
  return sq_job_queue(st, j);
}

static int keep_link(void *ctx, const store_link *l) {
  return sq_rows_add(ctx, l, sizeof *l);
}

static int run_link_page(sqldb_t *q, sq_job *j) {
  return sqldb_link_each(q, j->n[0], j->n[1], j->s[0], j->limit, keep_link, j);
}

static int op_link_page(store_t *st, uint64_t since_ms, uint64_t after_ms, const char *after_token, size_t limit,
                        store_links_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_link_page, sq_deliver_links, (sq_cb){.links = cb}, data,
                         after_token != NULL ? after_token : "", NULL, NULL);
  if (j != NULL) {
    j->n[0] = since_ms;
    j->n[1] = after_ms;
    j->limit = limit > 0 && limit < STORE_PAGE_MAX ? limit : STORE_PAGE_MAX;
  }
  return sq_job_queue(st, j);
}

static int run_link_prune(sqldb_t *q, sq_job *j) {
  return sqldb_link_prune(q, j->n[0]);
}

static int op_link_prune(store_t *st, uint64_t before_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_link_prune, sq_deliver_done, (sq_cb){.done = cb}, data, NULL, NULL, NULL);
  if (j != NULL)
    j->n[0] = before_ms;
  return sq_job_queue(st, j);
}

static int run_link_set_external_id(sqldb_t *q, sq_job *j) {
  return sqldb_link_set_external_id(q, j->s[0], j->s[1]);
}

static int op_link_set_external_id(store_t *st, const char *token, const char *external_id, store_done_cb cb,
                                   void *data) {
  sq_job *j =
      sq_job_new(st, run_link_set_external_id, sq_deliver_done, (sq_cb){.done = cb}, data, token, external_id, NULL);
  return sq_job_queue(st, j);
}

static int run_link_external_id(sqldb_t *q, sq_job *j) {
  return sqldb_link_external_id(q, j->s[0], j->r.text, sizeof j->r.text);
}

static int op_link_external_id(store_t *st, const char *token, store_text_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_link_external_id, sq_deliver_text, (sq_cb){.text = cb}, data, token, NULL, NULL);
  return sq_job_queue(st, j);
}

/* ---- callback origins ---- */

static int run_origin_add(sqldb_t *q, sq_job *j) {
  return sqldb_origin_add(q, j->s[0], j->n[0]);
}

static int op_origin_add(store_t *st, const char *origin, uint64_t now_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_origin_add, sq_deliver_done, (sq_cb){.done = cb}, data, origin, NULL, NULL);
  if (j != NULL)
    j->n[0] = now_ms;
  return sq_job_queue(st, j);
}

static int run_origin_delete(sqldb_t *q, sq_job *j) {
  return sqldb_origin_delete(q, j->s[0]);
}

static int op_origin_delete(store_t *st, const char *origin, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_origin_delete, sq_deliver_done, (sq_cb){.done = cb}, data, origin, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_origin_allowed(sqldb_t *q, sq_job *j) {
  return sqldb_origin_allowed(q, j->s[0]);
}

static int op_origin_allowed(store_t *st, const char *origin, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_origin_allowed, sq_deliver_done, (sq_cb){.done = cb}, data, origin, NULL, NULL);
  return sq_job_queue(st, j);
}

static int keep_origin(void *ctx, const char *origin, uint64_t created_ms) {
  sq_job *j = ctx;
  sq_origin_rec rec;
  rec.created_ms = created_ms;
  return sq_arena_add(j, origin, &rec.origin) != 0 || sq_rows_add(j, &rec, sizeof rec) != 0;
}

static int run_origin_list(sqldb_t *q, sq_job *j) {
  return sqldb_origin_list(q, keep_origin, j);
}

static int op_origin_list(store_t *st, store_origins_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_origin_list, sq_deliver_origins, (sq_cb){.origins = cb}, data, NULL, NULL, NULL);
  return sq_job_queue(st, j);
}

/* ---- OAuth applications and tokens ---- */

static int run_oauth_app_create(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_app_create(q, &j->r.oauth_app, j->s[0]);
}

static int op_oauth_app_create(store_t *st, const store_oauth_app *a, const char *secret_hash,
                               store_oauth_app_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_oauth_app_create, sq_deliver_oauth_app, (sq_cb){.oauth_app = cb}, data, secret_hash,
                         NULL, NULL);
  if (j != NULL)
    j->r.oauth_app = *a;
  return sq_job_queue(st, j);
}

static int keep_oauth_app(void *ctx, const store_oauth_app *a) {
  return sq_rows_add(ctx, a, sizeof *a);
}

static int run_oauth_app_list(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_app_list(q, keep_oauth_app, j);
}

static int op_oauth_app_list(store_t *st, store_oauth_apps_cb cb, void *data) {
  sq_job *j =
      sq_job_new(st, run_oauth_app_list, sq_deliver_oauth_apps, (sq_cb){.oauth_apps = cb}, data, NULL, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_oauth_app_delete(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_app_delete(q, j->s[0]);
}

static int op_oauth_app_delete(store_t *st, const char *id, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_oauth_app_delete, sq_deliver_done, (sq_cb){.done = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_oauth_app_check(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_app_check(q, j->s[0], j->s[1], &j->r.oauth_app);
}

static int op_oauth_app_check(store_t *st, const char *client_id, const char *secret_hash, store_oauth_app_cb cb,
                              void *data) {
  sq_job *j = sq_job_new(st, run_oauth_app_check, sq_deliver_oauth_app, (sq_cb){.oauth_app = cb}, data, client_id,
                         secret_hash, NULL);
  return sq_job_queue(st, j);
}

static int run_oauth_token_put(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_token_put(q, j->s[0], j->s[1], j->s[2], j->n[0]);
}

static int op_oauth_token_put(store_t *st, const char *token_hash, const char *app_id, const char *scopes,
                              uint64_t expires_ms, store_done_cb cb, void *data) {
  sq_job *j =
      sq_job_new(st, run_oauth_token_put, sq_deliver_done, (sq_cb){.done = cb}, data, token_hash, app_id, scopes);
  if (j != NULL)
    j->n[0] = expires_ms;
  return sq_job_queue(st, j);
}

static int run_oauth_token_get(sqldb_t *q, sq_job *j) {
  return sqldb_oauth_token_get(q, j->s[0], j->n[0], &j->r.token);
}

static int op_oauth_token_get(store_t *st, const char *token_hash, uint64_t now_ms, store_token_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_oauth_token_get, sq_deliver_token, (sq_cb){.token = cb}, data, token_hash, NULL, NULL);
  if (j != NULL)
    j->n[0] = now_ms;
  return sq_job_queue(st, j);
}

/* ---- events and the webhook outbox ---- */

static int run_event_add(sqldb_t *q, sq_job *j) {
  store_event e;
  const char **hooks;
  int rc = job_hooks(j, &hooks);
  if (rc != 0)
    return rc;
  memset(&e, 0, sizeof e);
  e.id = j->s[0];
  e.type = j->s[1];
  e.user = j->s[2];
  e.body = j->s[3];
  rc = sqldb_event_add(q, &e, j->n[0], hooks, j->nlist_in, &j->r.seq);
  free(hooks);
  return rc;
}

static int op_event_add(store_t *st, const store_event *e, uint64_t now_ms, const char *const *hooks, size_t nhooks,
                        store_seq_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_event_add, sq_deliver_seq, (sq_cb){.seq = cb}, data, e->id, e->type, e->user);
  if (j != NULL) {
    j->n[0] = now_ms;
    j->s[3] = strdup(e->body != NULL ? e->body : "");
    if (j->s[3] == NULL || copy_hooks(j, hooks, nhooks) != 0) {
      sq_job_free(j);
      return -ENOMEM;
    }
  }
  return sq_job_queue(st, j);
}

static int run_event_seq(sqldb_t *q, sq_job *j) {
  return sqldb_event_seq(q, j->s[0], &j->r.seq);
}

static int op_event_seq(store_t *st, const char *id, store_seq_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_event_seq, sq_deliver_seq, (sq_cb){.seq = cb}, data, id, NULL, NULL);
  return sq_job_queue(st, j);
}

static int run_event_last(sqldb_t *q, sq_job *j) {
  return sqldb_event_last(q, &j->r.seq);
}

static int op_event_last(store_t *st, store_seq_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_event_last, sq_deliver_seq, (sq_cb){.seq = cb}, data, NULL, NULL, NULL);
  return sq_job_queue(st, j);
}

static int keep_event(void *ctx, const store_event *e) {
  sq_job *j = ctx;
  sq_event_rec rec;
  memset(&rec, 0, sizeof rec);
  rec.seq = e->seq;
  rec.attempts = e->attempts;
  rec.hook = SIZE_MAX;
  if (sq_arena_add(j, e->id, &rec.id) != 0 || sq_arena_add(j, e->type, &rec.type) != 0 ||
      sq_arena_add(j, e->user, &rec.user) != 0 || sq_arena_add(j, e->body, &rec.body) != 0 ||
      (e->hook != NULL && sq_arena_add(j, e->hook, &rec.hook) != 0))
    return 1;
  return sq_rows_add(j, &rec, sizeof rec);
}

static int run_events_after(sqldb_t *q, sq_job *j) {
  return sqldb_events_after(q, j->n[0], j->s[0], j->limit, keep_event, j);
}

static int op_events_after(store_t *st, uint64_t after_seq, const char *user, size_t limit, store_events_cb cb,
                           void *data) {
  sq_job *j = sq_job_new(st, run_events_after, sq_deliver_events, (sq_cb){.events = cb}, data, user, NULL, NULL);
  if (j != NULL) {
    j->n[0] = after_seq;
    j->limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
  }
  return sq_job_queue(st, j);
}

/* The hooks point into the arena, which the rows then grow: sqldb reads
 * them before the first row. */
static int run_deliveries_due(sqldb_t *q, sq_job *j) {
  const char **hooks;
  int rc = job_hooks(j, &hooks);
  if (rc == 0)
    rc = sqldb_deliveries_due(q, j->n[0], j->n[1], hooks, j->nlist_in, j->limit, keep_event, j);
  free(hooks);
  return rc;
}

static int op_deliveries_due(store_t *st, uint64_t now_ms, uint64_t lease_until_ms, const char *const *hooks,
                             size_t nhooks, size_t limit, store_events_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_deliveries_due, sq_deliver_events, (sq_cb){.events = cb}, data, NULL, NULL, NULL);
  if (j != NULL && copy_hooks(j, hooks, nhooks) != 0) {
    sq_job_free(j);
    return -ENOMEM;
  }
  if (j != NULL) {
    j->n[0] = now_ms;
    j->n[1] = lease_until_ms;
    j->limit = limit < STORE_LIST_MAX ? limit : STORE_LIST_MAX;
  }
  return sq_job_queue(st, j);
}

static int run_delivery_done(sqldb_t *q, sq_job *j) {
  return sqldb_delivery_done(q, j->n[0], j->s[0]);
}

static int op_delivery_done(store_t *st, uint64_t seq, const char *hook, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_delivery_done, sq_deliver_done, (sq_cb){.done = cb}, data, hook, NULL, NULL);
  if (j != NULL)
    j->n[0] = seq;
  return sq_job_queue(st, j);
}

static int run_delivery_retry(sqldb_t *q, sq_job *j) {
  return sqldb_delivery_retry(q, j->n[0], j->s[0], (unsigned)j->n[1], j->n[2]);
}

static int op_delivery_retry(store_t *st, uint64_t seq, const char *hook, unsigned attempts, uint64_t next_ms,
                             store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_delivery_retry, sq_deliver_done, (sq_cb){.done = cb}, data, hook, NULL, NULL);
  if (j != NULL) {
    j->n[0] = seq;
    j->n[1] = attempts;
    j->n[2] = next_ms;
  }
  return sq_job_queue(st, j);
}

static int run_deliveries_keep_hooks(sqldb_t *q, sq_job *j) {
  const char **hooks;
  int rc = job_hooks(j, &hooks);
  if (rc == 0)
    rc = sqldb_deliveries_keep_hooks(q, hooks, j->nlist_in, &j->r.count);
  free(hooks);
  return rc;
}

static int op_deliveries_keep_hooks(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb,
                                    void *data) {
  sq_job *j = sq_job_new(st, run_deliveries_keep_hooks, sq_deliver_count, (sq_cb){.count = cb}, data, NULL, NULL, NULL);
  if (j != NULL && copy_hooks(j, hooks, nhooks) != 0) {
    sq_job_free(j);
    return -ENOMEM;
  }
  return sq_job_queue(st, j);
}

static int run_deliveries_pending(sqldb_t *q, sq_job *j) {
  const char **hooks;
  int rc = job_hooks(j, &hooks);
  if (rc == 0)
    rc = sqldb_deliveries_pending(q, hooks, j->nlist_in, &j->r.count);
  free(hooks);
  return rc;
}

static int op_deliveries_pending(store_t *st, const char *const *hooks, size_t nhooks, store_count_cb cb,
                                 void *data) {
  sq_job *j = sq_job_new(st, run_deliveries_pending, sq_deliver_count, (sq_cb){.count = cb}, data, NULL, NULL, NULL);
  if (j != NULL && copy_hooks(j, hooks, nhooks) != 0) {
    sq_job_free(j);
    return -ENOMEM;
  }
  return sq_job_queue(st, j);
}

static int run_events_prune(sqldb_t *q, sq_job *j) {
  return sqldb_events_prune(q, j->n[0]);
}

static int op_events_prune(store_t *st, uint64_t before_ms, store_done_cb cb, void *data) {
  sq_job *j = sq_job_new(st, run_events_prune, sq_deliver_done, (sq_cb){.done = cb}, data, NULL, NULL, NULL);
  if (j != NULL)
    j->n[0] = before_ms;
  return sq_job_queue(st, j);
}

const store_ops store_sqlite_ops = {
    .probe = op_probe,
    .user_create = op_user_create,
    .user_get = op_user_get,
    .user_by_origin = op_user_by_origin,
    .user_update = op_user_update,
    .user_delete = op_user_delete,
    .user_list = op_user_list,
    .user_connectors = op_user_connectors,
    .app_create = op_app_create,
    .app_get = op_app_get,
    .app_update = op_app_update,
    .app_delete = op_app_delete,
    .app_list = op_app_list,
    .app_for = op_app_for,
    .credential_put = sq_op_credential_put,
    .credential_get = sq_op_credential_get,
    .credential_list = sq_op_credential_list,
    .credential_update = sq_op_credential_update,
    .credential_set_status = sq_op_credential_set_status,
    .credential_delete = sq_op_credential_delete,
    .credential_lease = sq_op_credential_lease,
    .credential_lease_end = sq_op_credential_lease_end,
    .link_put = op_link_put,
    .link_end = op_link_end,
    .link_get = op_link_get,
    .link_page = op_link_page,
    .link_prune = op_link_prune,
    .link_set_external_id = op_link_set_external_id,
    .link_external_id = op_link_external_id,
    .origin_add = op_origin_add,
    .origin_delete = op_origin_delete,
    .origin_allowed = op_origin_allowed,
    .origin_list = op_origin_list,
    .oauth_app_create = op_oauth_app_create,
    .oauth_app_list = op_oauth_app_list,
    .oauth_app_delete = op_oauth_app_delete,
    .oauth_app_check = op_oauth_app_check,
    .oauth_token_put = op_oauth_token_put,
    .oauth_token_get = op_oauth_token_get,
    .event_add = op_event_add,
    .event_seq = op_event_seq,
    .event_last = op_event_last,
    .events_after = op_events_after,
    .deliveries_due = op_deliveries_due,
    .delivery_done = op_delivery_done,
    .delivery_retry = op_delivery_retry,
    .deliveries_keep_hooks = op_deliveries_keep_hooks,
    .deliveries_pending = op_deliveries_pending,
    .events_prune = op_events_prune,
    .close = store_sqlite_close,
};
