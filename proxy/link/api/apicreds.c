/* apicreds: the application-credentials resource of the link API. See
 * apicreds.h. */
#include "apicreds.h"

#include <errno.h>
#include <string.h>

#include "linkseal.h"
#include "secretbox.h"
#include "crypto.h"
#include "timefmt.h"

/* The credential as the reference's ApplicationCredential (no secret). */
static void render_app(apicall_ctx *c, const store_app_credential *a) {
  char created[32];
  char modified[32];
  (void)timefmt_rfc3339(a->created_ms, 1, created); /* "" past the year 9999 */
  (void)timefmt_rfc3339(a->modified_ms, 1, modified); /* "" past the year 9999 */
  apicall_raw(c, "{");
  apicall_member_str(c, "id", a->id, 1);
  apicall_member_str(c, "connector_slug", a->connector_slug, 0);
  apicall_member_str(c, "client_id", a->client_id, 0);
  apicall_member_str(c, "external_id", a->has_external_id ? a->external_id : NULL, 0);
  apicall_member_bool(c, "is_global_default", a->is_global_default);
  apicall_member_str(c, "created_at", created, 0);
  apicall_member_str(c, "modified_at", modified, 0);
  apicall_raw(c, "}");
}

/* client_id, external_id and is_global_default of a checked body into a
 * (those present); *secret: client_secret (NULL when absent or null; a
 * pointer into the body), *set_secret when the body has the member. */
static void read_app_fields(apicall_ctx *c, store_app_credential *a, const char **secret, int *set_secret) {
  yajl_val ext = apicall_member(c, "external_id");
  const char *s = apivalid_string(c->body, "client_id");
  if (s != NULL)
    apicall_copy_text(a->client_id, sizeof a->client_id, s);
  *set_secret = apicall_member(c, "client_secret") != NULL;
  *secret = apivalid_string(c->body, "client_secret");
  if (ext != NULL) {
    s = apivalid_string(c->body, "external_id");
    a->has_external_id = s != NULL;
    apicall_copy_text(a->external_id, sizeof a->external_id, s);
  }
  a->is_global_default = apivalid_bool(c->body, "is_global_default", a->is_global_default);
}

/* What a request keeps across the store's answers. */
typedef struct creds_state {
  int status;
  store_app_credential app;    /* being created or updated; as stored after */
  int set_secret;              /* the body has client_secret */
  size_t sealed_len;           /* the client secret sealed to the row; 0: none */
  char sealed[STORE_CHARS_BYTES(STORE_TEXT_MAX) + SECRETBOX_OVERHEAD];
} creds_state;

/* Seals secret (NULL or "": none) for st->app into st->sealed. */
static int seal_secret(apicall_ctx *c, creds_state *st, const char *secret) {
  dynbuf b;
  int rc = 0;
  st->sealed_len = 0;
  if (secret == NULL || secret[0] == '\0')
    return 0;
  dynbuf_init(&b, sizeof st->sealed + 1);
  rc = linkseal_app_secret(c->lh->key, st->app.id, secret, &b);
  if (rc == 0) {
    memcpy(st->sealed, b.ptr, b.len);
    st->sealed_len = b.len;
  }
  dynbuf_free(&b);
  return rc;
}

/* The sealed secret as a store_blob: NULL for none. */
static const store_blob *secret_blob(const creds_state *st, store_blob *b) {
  if (st->sealed_len == 0)
    return NULL;
  b->ptr = st->sealed;
  b->len = st->sealed_len;
  return b;
}

/* Answers a create (201) or update (200) the store answered. */
static void saved(apicall_ctx *c) {
  creds_state *st = c->state;
  int status = strcmp(c->rq->method, "POST") == 0 ? 201 : 200;
  if (st->status == -EEXIST) {
    apicall_field_error(c, "external_id",
                        "An application credential with this connector_slug and external_id already exists.");
    (void)apicall_fail_if_invalid(c);
  } else if (st->status != 0) {
    apicall_write_failed(c, st->status, "No application credential with this id.");
  } else {
    APICALL_AUDIT(c, status == 201 ? "application_credential.create" : "application_credential.update",
                  LOG_STR("id", st->app.id), LOG_STR("connector", st->app.connector_slug));
    c->rs->status = status;
    render_app(c, &st->app);
    apicall_raw(c, "\n");
  }
}

/* The store's answer about one credential (its secret not needed), kept in the state. */
static void keep_app(apicall_ctx *c, int status, const store_app_credential *a) {
  creds_state *st = c->state;
  st->status = status;
  if (a != NULL)
    st->app = *a;
}

static void on_saved(void *data, int status, const store_app_credential *a, const store_blob *secret) {
  (void)secret;
  keep_app(data, status, a);
  apicall_run(data, saved);
}

/* GET list: as the store gave it. */
static void on_list(void *data, int status, const store_app_credential *rows, size_t n) {
  apicall_ctx *c = data;
  size_t i;
  if (apicall_results_begin(c, status) == 0) {
    for (i = 0; i < n; i++) {
      if (i > 0)
        apicall_raw(c, ",");
      render_app(c, &rows[i]);
    }
    apicall_results_end(c, n, ",\"next\":null,\"previous\":null");
  }
  apicall_run(c, NULL);
}

static void create(apicall_ctx *c) {
  creds_state *st = c->state;
  store_blob b;
  apicall_wait(c, apicall_store(c)->ops->app_create(apicall_store(c), &st->app, secret_blob(st, &b), on_saved, c));
}

/* POST without is_global_default: the first one of a connector is its default. */
static void on_existing(void *data, int status, const store_app_credential *rows, size_t n) {
  apicall_ctx *c = data;
  creds_state *st = c->state;
  (void)rows;
  if (status != 0) {
    apicall_store_failed(c);
    apicall_run(c, NULL);
    return;
  }
  st->app.is_global_default = n == 0;
  apicall_run(c, create);
}

void apicreds_collection(apicall_ctx *c, const apicall_principal *p) {
  if (strcmp(c->rq->method, "GET") == 0) {
    char slug[STORE_TEXT_MAX + 1];
    int has_slug;
    if (apicall_require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    has_slug = apicall_query_param(c, "connector_slug", slug, sizeof slug);
    apicall_wait(c, apicall_store(c)->ops->app_list(apicall_store(c), has_slug ? slug : NULL, on_list, c));
  } else if (strcmp(c->rq->method, "POST") == 0) {
    creds_state *st;
    catalog_connector cc;
    const char *secret = NULL;
    uint64_t now = timefmt_now_ms();
    if (apicall_require(c, p, LINKAPI_WRITE_ORGANIZATION) != 0)
      return;
    (void)apivalid_check(c->body, &apivalid_app_credential, 0, &c->errs);
    if (apicall_field_ok(c, "connector_slug") &&
        catalog_lookup(c->lh->catalog, apivalid_string(c->body, "connector_slug"), &cc) != 0)
      apicall_field_error(c, "connector_slug", "Not a connector of the catalog.");
    if (apicall_fail_if_invalid(c))
      return;
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    apicall_copy_text(st->app.connector_slug, sizeof st->app.connector_slug, cc.slug);
    read_app_fields(c, &st->app, &secret, &st->set_secret);
    st->app.created_ms = now;
    st->app.modified_ms = now;
    if (crypto_uuid(st->app.id) != 0 || seal_secret(c, st, st->set_secret ? secret : NULL) != 0) {
      apicall_detail(c, 500, "The client secret could not be sealed.");
      return;
    }
    if (apicall_member(c, "is_global_default") != NULL) {
      create(c);
      return;
    }
    apicall_wait(c, apicall_store(c)->ops->app_list(apicall_store(c), st->app.connector_slug, on_existing, c));
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

static void deleted(apicall_ctx *c) {
  creds_state *st = c->state;
  if (c->status != 0) {
    apicall_write_failed(c, c->status, "No application credential with this id.");
    return;
  }
  APICALL_AUDIT(c, "application_credential.delete", LOG_STR("id", st->app.id),
                LOG_STR("connector", st->app.connector_slug));
  c->rs->status = 204;
}

/* The credential is read (or not): what the method asks. */
static void item(apicall_ctx *c) {
  creds_state *st = c->state;
  if (st->status != 0) {
    if (st->status == -ENOENT)
      apicall_detail(c, 404, "No application credential with this id.");
    else
      apicall_store_failed(c);
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    c->rs->status = 200;
    render_app(c, &st->app);
    apicall_raw(c, "\n");
  } else if (strcmp(c->rq->method, "PATCH") == 0) {
    const char *secret = NULL;
    store_blob b;
    if (apicall_member(c, "connector_slug") != NULL)
      apicall_field_error(c, "connector_slug", "This field cannot be changed.");
    (void)apivalid_check(c->body, &apivalid_app_credential, 1, &c->errs);
    if (apicall_fail_if_invalid(c))
      return;
    read_app_fields(c, &st->app, &secret, &st->set_secret);
    st->app.modified_ms = timefmt_now_ms();
    if (seal_secret(c, st, st->set_secret ? secret : NULL) != 0) {
      apicall_detail(c, 500, "The client secret could not be sealed.");
      return;
    }
    apicall_wait(c, apicall_store(c)->ops->app_update(apicall_store(c), &st->app, st->set_secret,
                                                       secret_blob(st, &b), on_saved, c));
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    apicall_after(c, deleted);
    apicall_wait(c, apicall_store(c)->ops->app_delete(apicall_store(c), st->app.id, apicall_done, c));
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

static void on_app(void *data, int status, const store_app_credential *a, const store_blob *secret) {
  (void)secret;
  keep_app(data, status, a);
  apicall_run(data, item);
}

void apicreds_item(apicall_ctx *c, const apicall_principal *p, const char *id) {
  creds_state *st;
  if (apicall_require(c, p,
                      strcmp(c->rq->method, "GET") == 0 ? LINKAPI_READ_ORGANIZATION : LINKAPI_WRITE_ORGANIZATION) != 0)
    return;
  if (!apivalid_is_uuid(id)) {
    apicall_detail(c, 404, "No application credential with this id.");
    return;
  }
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  apicall_wait(c, apicall_store(c)->ops->app_get(apicall_store(c), id, on_app, c));
}
