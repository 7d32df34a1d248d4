/* store_sqlite: the embedded store's queue, open and close, and the
 * delivery of results. See store_sqlite.h. */
#include "store_sqlite.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define SQ_ARENA_MAX (64u * 1024 * 1024) /* bytes of strings one list result may carry */

typedef struct sq_store {
  sqldb_t q;
  uv_idle_t idle;                /* active while jobs wait */
  list_node jobs;                /* sq_job.link, in the order they were started */
  int closing;                   /* store_close() began: no new jobs, none run */
  void (*done)(store_t *st);     /* store_close()'s, once freed */
  store_t *st;
} sq_store;

sqldb_t *store_sqlite_db(store_t *st) {
  sq_store *s;
  if (st == NULL || st->ops != &store_sqlite_ops)
    return NULL;
  s = st->impl;
  return &s->q;
}

/* ---- jobs ---- */

static void on_idle(uv_idle_t *h);

void sq_job_clear(sq_job *j) {
  int i;
  for (i = 0; i < 4; i++)
    free(j->s[i]);
  if (j->blob_in.ptr != NULL)
    OPENSSL_cleanse(j->blob_in.ptr, j->blob_in.len);
  if (j->blob_out.ptr != NULL)
    OPENSSL_cleanse(j->blob_out.ptr, j->blob_out.len);
  dynbuf_free(&j->blob_in);
  dynbuf_free(&j->blob_out);
  dynbuf_free(&j->list_in);
  dynbuf_free(&j->rows);
  dynbuf_free(&j->arena);
}

void sq_job_free(sq_job *j) {
  sq_job_clear(j);
  free(j);
}

int sq_job_refused(const store_t *st) {
  const sq_store *s = st->impl;
  return s == NULL || s->closing ? -ECANCELED : -ENOMEM;
}

sq_job *sq_job_new(store_t *st, sq_run_fn run, sq_deliver_fn deliver, sq_cb cb, void *data, const char *s0,
                   const char *s1, const char *s2) {
  sq_store *s = st->impl;
  sq_job *j;
  if (s == NULL || s->closing)
    return NULL;
  j = calloc(1, sizeof *j);
  if (j == NULL)
    return NULL;
  j->run = run;
  j->cb = cb;
  if (sq_job_prepare(j, deliver, data, s0, s1, s2) != 0) {
    sq_job_free(j);
    return NULL;
  }
  return j;
}

int sq_job_prepare(sq_job *j, sq_deliver_fn deliver, void *data, const char *s0, const char *s1,
                   const char *s2) {
  const char *in[3] = {s0, s1, s2};
  int i;
  j->deliver = deliver;
  j->data = data;
  dynbuf_init(&j->blob_in, STORE_SECRET_MAX + 1);
  dynbuf_init(&j->blob_out, STORE_SECRET_MAX + 1);
  dynbuf_init(&j->list_in, SQ_ARENA_MAX);
  dynbuf_init(&j->rows, SQ_ARENA_MAX);
  dynbuf_init(&j->arena, SQ_ARENA_MAX);
  for (i = 0; i < 3; i++) {
    if (in[i] != NULL) {
      j->s[i] = strdup(in[i]);
      if (j->s[i] == NULL)
        return -ENOMEM;
    }
  }
  return 0;
}

int sq_job_queue(store_t *st, sq_job *j) {
  sq_store *s = st->impl;
  if (j == NULL)
    return sq_job_refused(st);
  if (s->closing) {
    sq_job_free(j);
    return -ECANCELED;
  }
  if (list_empty(&s->jobs) && uv_idle_start(&s->idle, on_idle) != 0) {
    sq_job_free(j);
    return -ENOMEM;
  }
  list_insert_tail(&s->jobs, &j->link);
  return 0;
}

int sq_rows_add(sq_job *j, const void *p, size_t n) {
  if (j->nrows >= STORE_LIST_MAX || dynbuf_add(&j->rows, p, n) != 0) {
    j->overflow = -E2BIG;
    return 1;
  }
  j->nrows++;
  return 0;
}

int sq_arena_add(sq_job *j, const char *s, size_t *off) {
  *off = j->arena.len;
  if (dynbuf_add(&j->arena, s != NULL ? s : "", strlen(s != NULL ? s : "") + 1) != 0) {
    j->overflow = -E2BIG;
    return 1;
  }
  return 0;
}

static sq_job *pop(sq_store *s) {
  sq_job *j;
  if (list_empty(&s->jobs))
    return NULL;
  j = LIST_ENTRY(list_first(&s->jobs), sq_job, link);
  list_remove(&j->link);
  return j;
}

/* One loop iteration's jobs: each runs to its end, then its callback. */
static void on_idle(uv_idle_t *h) {
  sq_store *s = h->data;
  /* jobs queued by the callbacks below wait for the next iteration */
  sq_job *last = list_empty(&s->jobs) ? NULL : LIST_ENTRY(list_last(&s->jobs), sq_job, link);
  sq_job *j;
  int more = 1;
  while (more && !s->closing) {
    j = pop(s);
    if (j == NULL)
      break;
    more = j != last;
    j->status = j->run(&s->q, j);
    if (j->status == 0 && j->overflow != 0)
      j->status = j->overflow;
    j->deliver(j);
    sq_job_free(j);
  }
  if (list_empty(&s->jobs) && !s->closing)
    (void)uv_idle_stop(&s->idle);
}

/* ---- open and close ---- */

int store_sqlite_open(store_t *st, uv_loop_t *loop, const char *path) {
  sq_store *s = calloc(1, sizeof *s);
  int rc;
  if (s == NULL) {
    snprintf(st->error, sizeof st->error, "out of memory");
    return -ENOMEM;
  }
  list_init(&s->jobs);
  rc = sqldb_open(&s->q, path, &st->health, st->error, sizeof st->error);
  if (rc == 0) {
    rc = uv_idle_init(loop, &s->idle);
    if (rc != 0) {
      snprintf(st->error, sizeof st->error, "cannot start the store's queue: %s", uv_strerror(rc));
      sqldb_close(&s->q);
    }
  }
  if (rc != 0) {
    free(s);
    return rc;
  }
  s->idle.data = s;
  s->st = st;
  st->impl = s;
  st->schema_version = s->q.schema_version;
  st->ops = &store_sqlite_ops;
  return 0;
}

/* The idle handle is closed: the jobs left complete with -ECANCELED (they
 * may not start new ones: refused), then the file closes. */
static void on_idle_closed(uv_handle_t *h) {
  sq_store *s = h->data;
  store_t *st = s->st;
  sq_job *j;
  for (j = pop(s); j != NULL; j = pop(s)) {
    j->status = -ECANCELED;
    j->deliver(j);
    sq_job_free(j);
  }
  sqldb_close(&s->q);
  st->impl = NULL;
  st->ops = NULL;
  if (s->done != NULL) {
    void (*done)(store_t *st) = s->done;
    free(s);
    done(st);
    return;
  }
  free(s);
}

void store_sqlite_close(store_t *st, void (*done)(store_t *st)) {
  sq_store *s = st->impl;
  if (s->closing)
    return;
  s->closing = 1;
  s->done = done;
  uv_close((uv_handle_t *)&s->idle, on_idle_closed);
}

/* ---- delivery, one function per callback type ---- */

/* A list result's records (fixed-size rows), none unless the job succeeded. */
static const void *list_rows(const sq_job *j) {
  return j->status == 0 ? j->rows.ptr : NULL;
}

static size_t list_count(const sq_job *j) {
  return j->status == 0 ? j->nrows : 0;
}

/* For a list whose records hold arena offsets: a zeroed array of its rows,
 * size bytes each, filled by the caller and freed after the callback; NULL
 * when the job failed, has no rows or memory ran out (j->status -ENOMEM). */
static void *result_array(sq_job *j, size_t size) {
  void *a;
  if (j->status != 0 || j->nrows == 0)
    return NULL;
  a = calloc(j->nrows, size);
  if (a == NULL)
    j->status = -ENOMEM;
  return a;
}

void sq_deliver_done(sq_job *j) {
  j->cb.done(j->data, j->status);
}

void sq_deliver_user(sq_job *j) {
  int row = j->status == 0 || j->status == -EEXIST;
  j->cb.user(j->data, j->status, row ? &j->r.user : NULL);
}

void sq_deliver_users(sq_job *j) {
  j->cb.users(j->data, j->status, list_rows(j), list_count(j), j->status == 0 ? j->total : 0);
}

void sq_deliver_names(sq_job *j) {
  const char **names = result_array(j, sizeof *names);
  size_t i;
  for (i = 0; names != NULL && i < j->nrows; i++)
    names[i] = j->arena.ptr + ((const size_t *)j->rows.ptr)[i];
  j->cb.names(j->data, j->status, names, list_count(j));
  free(names);
}

void sq_deliver_app(sq_job *j) {
  store_blob b = {NULL, 0};
  if (j->status == 0 && j->r.app.has_secret && j->blob_out.ptr != NULL) {
    b.ptr = j->blob_out.ptr;
    b.len = j->blob_out.len;
  }
  j->cb.app(j->data, j->status, j->status == 0 ? &j->r.app : NULL, &b);
}

void sq_deliver_apps(sq_job *j) {
  j->cb.apps(j->data, j->status, list_rows(j), list_count(j));
}

void sq_deliver_blob(sq_job *j) {
  store_blob b = {j->blob_out.ptr != NULL ? j->blob_out.ptr : "", j->blob_out.len};
  j->cb.blob(j->data, j->status, j->status == 0 ? &b : NULL);
}

void sq_deliver_credential(sq_job *j) {
  store_blob b = {j->blob_out.ptr != NULL ? j->blob_out.ptr : "", j->blob_out.len};
  j->cb.credential(j->data, j->status, j->status == 0 ? &j->r.credential : NULL, j->status == 0 ? &b : NULL);
}

void sq_deliver_credentials(sq_job *j) {
  j->cb.credentials(j->data, j->status, list_rows(j), list_count(j));
}

void sq_deliver_link(sq_job *j) {
  j->cb.link(j->data, j->status, j->status == 0 ? &j->r.link : NULL);
}

void sq_deliver_links(sq_job *j) {
  j->cb.links(j->data, j->status, list_rows(j), list_count(j));
}

void sq_deliver_text(sq_job *j) {
  j->cb.text(j->data, j->status, j->status == 0 ? j->r.text : NULL);
}

void sq_deliver_origins(sq_job *j) {
  store_origin *rows = result_array(j, sizeof *rows);
  size_t i;
  for (i = 0; rows != NULL && i < j->nrows; i++) {
    const sq_origin_rec *rec = (const sq_origin_rec *)j->rows.ptr + i;
    rows[i].origin = j->arena.ptr + rec->origin;
    rows[i].created_ms = rec->created_ms;
  }
  j->cb.origins(j->data, j->status, rows, list_count(j));
  free(rows);
}

void sq_deliver_oauth_app(sq_job *j) {
  j->cb.oauth_app(j->data, j->status, j->status == 0 ? &j->r.oauth_app : NULL);
}

void sq_deliver_oauth_apps(sq_job *j) {
  j->cb.oauth_apps(j->data, j->status, list_rows(j), list_count(j));
}

void sq_deliver_token(sq_job *j) {
  j->cb.token(j->data, j->status, j->status == 0 ? &j->r.token : NULL);
}

void sq_deliver_seq(sq_job *j) {
  j->cb.seq(j->data, j->status, j->status == 0 ? j->r.seq : 0);
}

void sq_deliver_events(sq_job *j) {
  store_event *rows = result_array(j, sizeof *rows);
  size_t i;
  for (i = 0; rows != NULL && i < j->nrows; i++) {
    const sq_event_rec *rec = (const sq_event_rec *)j->rows.ptr + i;
    rows[i].seq = rec->seq;
    rows[i].id = j->arena.ptr + rec->id;
    rows[i].type = j->arena.ptr + rec->type;
    rows[i].user = j->arena.ptr + rec->user;
    rows[i].body = j->arena.ptr + rec->body;
    rows[i].hook = rec->hook != SIZE_MAX ? j->arena.ptr + rec->hook : NULL;
    rows[i].attempts = rec->attempts;
  }
  j->cb.events(j->data, j->status, rows, list_count(j));
  free(rows);
}

void sq_deliver_count(sq_job *j) {
  j->cb.count(j->data, j->status, j->status == 0 ? j->r.count : 0);
}
