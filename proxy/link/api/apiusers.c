/* apiusers: the registered-users resource of the link API: create, list,
 * get, update, delete, and the route to a user's link token (apilinks.c).
 * See apiusers.h. */
#include "apiusers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apilinks.h"
#include "jsonw.h"
#include "timefmt.h"

#define PAGE_SIZE_DEFAULT 100  /* GET .../registered-users/ without page_size */
#define PAGE_SIZE_MAX 1000     /* the largest page_size */

/* One slug of the user's authenticated_connectors list. */
static int connector_cb(void *ctx, const char *slug) {
  apicall_list *l = ctx;
  if (l->n++ > 0)
    apicall_raw(l->c, ",");
  apicall_str(l->c, slug);
  return 0;
}

/* The user as the reference's RegisteredUser object. */
static void render_user(apicall_ctx *c, const linkstore_user *u) {
  apicall_list l = {c, 0};
  apicall_raw(c, "{");
  apicall_member_str(c, "id", u->id, 1);
  apicall_member_str(c, "origin_user_id", u->origin_user_id, 0);
  apicall_member_str(c, "origin_user_name", u->origin_user_name, 0);
  apicall_raw(c, ",\"shared_credential_group\":");
  if (u->has_group) {
    apicall_raw(c, "{");
    apicall_member_str(c, "origin_company_id", u->company_id, 1);
    apicall_member_str(c, "origin_company_name", u->company_name[0] ? u->company_name : NULL, 0);
    apicall_raw(c, "}");
  } else {
    apicall_raw(c, "null");
  }
  apicall_member_str(c, "user_type", u->user_type, 0);
  apicall_raw(c, ",\"authenticated_connectors\":[");
  (void)linkstore_user_connectors(&c->lh->store, u->origin_user_id, connector_cb, &l);
  apicall_raw(c, "]");
  apicall_member_bool(c, "is_test", u->is_test);
  apicall_raw(c, "}");
}

/* Checks the user fields of the body (create: all; update: those present)
 * and reads them into u. */
static void read_user_fields(apicall_ctx *c, linkstore_user *u, int create) {
  yajl_val group = apicall_member(c, "shared_credential_group");
  const char *s;
  if (apivalid_check(c->body, &apivalid_user, !create, &c->errs) != 0)
    return;
  if (create)
    apicall_copy_text(u->origin_user_id, sizeof u->origin_user_id, apivalid_string(c->body, "origin_user_id"));
  s = apivalid_string(c->body, "origin_user_name");
  if (s != NULL)
    apicall_copy_text(u->origin_user_name, sizeof u->origin_user_name, s);
  if (group != NULL) {
    u->has_group = !YAJL_IS_NULL(group);
    apicall_copy_text(u->company_id, sizeof u->company_id, apivalid_string(group, "origin_company_id"));
    apicall_copy_text(u->company_name, sizeof u->company_name, apivalid_string(group, "origin_company_name"));
  }
  s = apivalid_string(c->body, "user_type");
  if (s != NULL)
    apicall_copy_text(u->user_type, sizeof u->user_type, s);
  u->is_test = apivalid_bool(c->body, "is_test", u->is_test);
}

static int user_list_cb(void *ctx, const linkstore_user *u) {
  apicall_list *l = ctx;
  if (l->n++ > 0)
    apicall_raw(l->c, ",");
  render_user(l->c, u);
  return 0;
}

/* GET: the page of users (?origin_user_id=, ?page=, ?page_size=); POST:
 * create, 200 with the existing one when origin_user_id is taken. */
void apiusers_collection(apicall_ctx *c, const apicall_principal *p) {
  if (strcmp(c->rq->method, "GET") == 0) {
    char origin[LINKSTORE_TEXT_MAX + 1];
    char num[64];
    size_t page = 1;
    size_t size = PAGE_SIZE_DEFAULT;
    size_t total = 0;
    apicall_list l = {c, 0};
    int has_origin;
    if (apicall_require(c, p, LINKAPI_READ_USER) != 0)
      return;
    has_origin = apicall_query_param(c, "origin_user_id", origin, sizeof origin);
    if (apicall_query_param(c, "page", num, sizeof num))
      page = strtoul(num, NULL, 10);
    if (apicall_query_param(c, "page_size", num, sizeof num))
      size = strtoul(num, NULL, 10);
    if (page == 0 || size == 0 || size > PAGE_SIZE_MAX) {
      apicall_detail(c, 400, "page must be 1 or more and page_size 1 to 1000.");
      return;
    }
    c->rs->status = 200;
    apicall_raw(c, "{\"results\":[");
    if (linkstore_user_list(&c->lh->store, has_origin ? origin : NULL, (page - 1) * size, size, user_list_cb, &l,
                            &total) != 0) {
      apicall_detail(c, 500, "The store failed.");
      return;
    }
    apicall_raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, total);
    apicall_raw(c, ",\"next\":");
    if (page * size < total) {
      snprintf(num, sizeof num, "?page=%zu&page_size=%zu", page + 1, size);
      apicall_str(c, num);
    } else {
      apicall_raw(c, "null");
    }
    apicall_raw(c, ",\"previous\":");
    if (page > 1) {
      snprintf(num, sizeof num, "?page=%zu&page_size=%zu", page - 1, size);
      apicall_str(c, num);
    } else {
      apicall_raw(c, "null");
    }
    apicall_raw(c, "}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_user u;
    int rc;
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    memset(&u, 0, sizeof u);
    snprintf(u.user_type, sizeof u.user_type, "HUMAN");
    read_user_fields(c, &u, 1);
    if (apicall_fail_if_invalid(c))
      return;
    rc = linkstore_user_create(&c->lh->store, &u, timefmt_now_ms());
    if (rc != 0 && rc != -EEXIST) {
      apicall_store_failed(c);
      return;
    }
    c->rs->status = rc == -EEXIST ? 200 : 201; /* idempotent on origin_user_id */
    if (rc == 0)
      APICALL_AUDIT(c, "registered_user.create", LOG_STR("id", u.id), LOG_STR("origin_user_id", u.origin_user_id));
    render_user(c, &u);
    apicall_raw(c, "\n");
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

void apiusers_item(apicall_ctx *c, const apicall_principal *p, const char *id, const char *rest, int guide) {
  linkstore_user u;
  int rc;
  if (!apivalid_is_uuid(id) || linkstore_user_get(&c->lh->store, id, &u) != 0) {
    if (apicall_require(c, p, LINKAPI_READ_USER) == 0)
      apicall_detail(c, 404, "No registered user with this id.");
    return;
  }
  if (strcmp(rest, "link-token/") == 0 || strcmp(rest, "link-token") == 0) {
    apilinks_user_token(c, p, &u, guide);
    return;
  }
  if (rest[0] != '\0' || guide) {
    apicall_detail(c, 404, "Not found.");
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    if (apicall_require(c, p, LINKAPI_READ_USER) != 0)
      return;
    c->rs->status = 200;
    render_user(c, &u);
    apicall_raw(c, "\n");
  } else if (strcmp(c->rq->method, "PATCH") == 0 || strcmp(c->rq->method, "PUT") == 0) {
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    read_user_fields(c, &u, 0);
    if (apicall_fail_if_invalid(c))
      return;
    rc = linkstore_user_update(&c->lh->store, &u);
    if (rc != 0) {
      apicall_write_failed(c, rc, "No registered user with this id.");
      return;
    }
    APICALL_AUDIT(c, "registered_user.update", LOG_STR("id", u.id));
    c->rs->status = 200;
    render_user(c, &u);
    apicall_raw(c, "\n");
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    rc = linkstore_user_delete(&c->lh->store, id);
    if (rc != 0) {
      apicall_write_failed(c, rc, "No registered user with this id.");
      return;
    }
    APICALL_AUDIT(c, "registered_user.delete", LOG_STR("id", id));
    c->rs->status = 204;
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}
