/* apicreds: the application-credentials resource of the link API. See
 * apicreds.h. */
#include "apicreds.h"

#include <errno.h>
#include <string.h>

#include "jsonw.h"
#include "timefmt.h"

/* The credential as the reference's ApplicationCredential (no secret). */
static void render_app(apicall_ctx *c, const linkstore_app_credential *a) {
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

static int app_list_cb(void *ctx, const linkstore_app_credential *a) {
  apicall_list *l = ctx;
  if (l->n++ > 0)
    apicall_raw(l->c, ",");
  render_app(l->c, a);
  return 0;
}

/* Counts the credentials listed (ctx: a size_t). */
static int count_cb(void *ctx, const linkstore_app_credential *a) {
  (void)a;
  (*(size_t *)ctx)++;
  return 0;
}

/* client_id, external_id and is_global_default of a checked body into a
 * (those present); *secret: client_secret (NULL when absent or null; a
 * pointer into the body), *set_secret when the body has the member. */
static void read_app_fields(apicall_ctx *c, linkstore_app_credential *a, const char **secret, int *set_secret) {
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

/* Answers a create (201) or update (200) of application credential a
 * whose store call returned rc. */
static void answer_app_saved(apicall_ctx *c, int rc, const linkstore_app_credential *a, int status) {
  if (rc == -EEXIST) {
    apicall_field_error(c, "external_id",
                        "An application credential with this connector_slug and external_id already exists.");
    (void)apicall_fail_if_invalid(c);
  } else if (rc != 0) {
    apicall_write_failed(c, rc, "No application credential with this id.");
  } else {
    APICALL_AUDIT(c, status == 201 ? "application_credential.create" : "application_credential.update",
                  LOG_STR("id", a->id), LOG_STR("connector", a->connector_slug));
    c->rs->status = status;
    render_app(c, a);
    apicall_raw(c, "\n");
  }
}

void apicreds_collection(apicall_ctx *c, const apicall_principal *p) {
  if (strcmp(c->rq->method, "GET") == 0) {
    char slug[LINKSTORE_TEXT_MAX + 1];
    apicall_list l = {c, 0};
    int has_slug;
    if (apicall_require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    has_slug = apicall_query_param(c, "connector_slug", slug, sizeof slug);
    c->rs->status = 200;
    apicall_raw(c, "{\"results\":[");
    if (linkstore_app_list(&c->lh->store, has_slug ? slug : NULL, app_list_cb, &l) != 0) {
      apicall_detail(c, 500, "The store failed.");
      return;
    }
    apicall_raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    apicall_raw(c, ",\"next\":null,\"previous\":null}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_app_credential a;
    catalog_connector cc;
    const char *secret = NULL;
    int set_secret = 0;
    int explicit_default = 0;
    size_t existing = 0;
    int rc;
    if (apicall_require(c, p, LINKAPI_WRITE_ORGANIZATION) != 0)
      return;
    memset(&a, 0, sizeof a);
    (void)apivalid_check(c->body, &apivalid_app_credential, 0, &c->errs);
    if (apicall_field_ok(c, "connector_slug") &&
        catalog_lookup(c->lh->catalog, apivalid_string(c->body, "connector_slug"), &cc) != 0)
      apicall_field_error(c, "connector_slug", "Not a connector of the catalog.");
    if (apicall_fail_if_invalid(c))
      return;
    apicall_copy_text(a.connector_slug, sizeof a.connector_slug, cc.slug);
    read_app_fields(c, &a, &secret, &set_secret);
    explicit_default = apicall_member(c, "is_global_default") != NULL;
    if (!explicit_default) {
      (void)linkstore_app_list(&c->lh->store, a.connector_slug, count_cb, &existing);
      a.is_global_default = existing == 0; /* the first one of a connector */
    }
    rc = linkstore_app_create(&c->lh->store, &a, set_secret && secret != NULL && secret[0] != '\0' ? secret : NULL,
                              timefmt_now_ms());
    answer_app_saved(c, rc, &a, 201);
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

void apicreds_item(apicall_ctx *c, const apicall_principal *p, const char *id) {
  linkstore_app_credential a;
  int rc;
  if (apicall_require(c, p,
                      strcmp(c->rq->method, "GET") == 0 ? LINKAPI_READ_ORGANIZATION : LINKAPI_WRITE_ORGANIZATION) != 0)
    return;
  if (!apivalid_is_uuid(id) || linkstore_app_get(&c->lh->store, id, &a) != 0) {
    apicall_detail(c, 404, "No application credential with this id.");
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    c->rs->status = 200;
    render_app(c, &a);
    apicall_raw(c, "\n");
  } else if (strcmp(c->rq->method, "PATCH") == 0) {
    const char *secret = NULL;
    int set_secret = 0;
    if (apicall_member(c, "connector_slug") != NULL)
      apicall_field_error(c, "connector_slug", "This field cannot be changed.");
    (void)apivalid_check(c->body, &apivalid_app_credential, 1, &c->errs);
    if (apicall_fail_if_invalid(c))
      return;
    read_app_fields(c, &a, &secret, &set_secret);
    rc = linkstore_app_update(&c->lh->store, &a, set_secret, secret != NULL && secret[0] != '\0' ? secret : NULL,
                              timefmt_now_ms());
    answer_app_saved(c, rc, &a, 200);
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    rc = linkstore_app_delete(&c->lh->store, id);
    if (rc != 0) {
      apicall_write_failed(c, rc, "No application credential with this id.");
      return;
    }
    APICALL_AUDIT(c, "application_credential.delete", LOG_STR("id", a.id), LOG_STR("connector", a.connector_slug));
    c->rs->status = 204;
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}
