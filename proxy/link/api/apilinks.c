/* apilinks: the link-token resources of the link API: a registered user's
 * link token (both forms) and the unified API's link token. See apilinks.h. */
#include "apilinks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "crypto.h"
#include "form.h"
#include "url.h"
#include "timefmt.h"

#define LINK_TOKEN_TTL_S 1800 /* registered-user link tokens: 30 minutes */

/* 1 when url's query has a parameter called name (form_has_field). */
static int query_has_param(const char *url, const char *name) {
  const char *q = strchr(url, '?');
  return q != NULL && form_has_field(q + 1, strcspn(q + 1, "#"), name);
}

/* What a link-token request keeps across the store's answers. Strings
 * point into the call's body (alive until the answer). */
typedef struct links_state {
  int status;
  store_user user;             /* the registered user */
  int guide;                   /* the Link guide's form */
  const char *field;           /* "connector" or "Connector" */
  const char *connector;
  const char *external_id;
  const char *callback_url;
  const char *state;
  char origin[600];            /* callback_url's */
  int check_app;               /* external_id is to be checked */
  int check_origin;            /* origin is to be checked */
  catalog_connector cc;        /* unified: the integration */
  int magic;                   /* unified: should_create_magic_link_url */
  long long mins;              /* unified: link_expiry_mins */
  linksvc_link_info info;      /* the link minted */
} links_state;

static int keep_minted(apicall_ctx *c, const char *user, const linksvc_link_info *info, const char *callback_url,
                       const char *state, store_done_cb cb) {
  store_link l;
  memset(&l, 0, sizeof l);
  snprintf(l.token, sizeof l.token, "%s", info->token);
  snprintf(l.user, sizeof l.user, "%s", user);
  snprintf(l.connector, sizeof l.connector, "%s", info->connector);
  snprintf(l.callback_url, sizeof l.callback_url, "%s", callback_url);
  snprintf(l.state, sizeof l.state, "%s", state);
  l.status = LINKSVC_STATE_PENDING;
  l.pinned = 1;
  l.created_ms = info->created_ms;
  l.expires_ms = info->expires_ms;
  return apicall_store(c)->ops->link_put(apicall_store(c), &l, 1, cb, c);
}

void apilinks_wait_kept(apicall_ctx *c, const char *user, const linksvc_link_info *info, const char *callback_url,
                        const char *state, apicall_step next) {
  apicall_after(c, next);
  apicall_wait(c, keep_minted(c, user, info, callback_url, state, apicall_done));
  if (!c->waiting)
    (void)pausehub_expire_link(c->lh->hub, info->token, timefmt_now_ms()); /* never handed out */
}

int apilinks_kept(apicall_ctx *c, const linksvc_link_info *info, char *url, size_t cap) {
  if (c->status != 0) {
    (void)pausehub_expire_link(c->lh->hub, info->token, timefmt_now_ms()); /* never handed out */
    apicall_store_failed(c);
    return -1;
  }
  linkhost_base_url(c->lh, url, cap - LINKSVC_PATH_LEN);
  snprintf(url + strlen(url), cap - strlen(url), "%s", info->path);
  return 0;
}

/* The link's rows are stored: its token goes out. */
static void user_token_kept(apicall_ctx *c) {
  links_state *st = c->state;
  char url[3000];
  if (apilinks_kept(c, &st->info, url, sizeof url) != 0)
    return;
  APICALL_AUDIT(c, "link_token.create", LOG_STR("registered_user_id", st->user.id),
                LOG_STR("connector", st->connector));
  c->rs->status = 201;
  apicall_raw(c, "{");
  apicall_member_str(c, "link_token", st->info.token, 1);
  apicall_member_str(c, "magic_link_url", url, 0);
  apicall_member_str(c, "expires_at", st->info.expires_at, 0);
  apicall_raw(c, "}\n");
}

/* The link row is stored; its external_id next, when it has one. */
static void user_token_row_kept(apicall_ctx *c) {
  links_state *st = c->state;
  if (c->status != 0 || st->external_id == NULL) {
    user_token_kept(c);
    return;
  }
  apicall_after(c, user_token_kept);
  apicall_wait(c, apicall_store(c)->ops->link_set_external_id(apicall_store(c), st->info.token, st->external_id,
                                                               apicall_done, c));
  if (!c->waiting)
    (void)pausehub_expire_link(c->lh->hub, st->info.token, timefmt_now_ms());
}

static void on_app_checked(void *data, int status, const store_app_credential *a, const store_blob *secret);
static void on_origin_checked(void *data, int status);

/* The checks that need the store, one at a time; then the link. */
static void user_token_checks(apicall_ctx *c) {
  links_state *st = c->state;
  const char *cb_url;
  const char *state;
  int rc;
  if (st->check_app) {
    st->check_app = 0;
    apicall_wait(c, apicall_store(c)->ops->app_for(apicall_store(c), st->connector, st->external_id,
                                                    on_app_checked, c));
    return;
  }
  if (st->check_origin) {
    st->check_origin = 0;
    apicall_wait(c, apicall_store(c)->ops->origin_allowed(apicall_store(c), st->origin, on_origin_checked, c));
    return;
  }
  if (apicall_fail_if_invalid(c))
    return;
  /* no Connector: a picker link (connector ""), where the Link page lists the catalog's connectors */
  cb_url = st->callback_url != NULL ? st->callback_url : "";
  state = st->state != NULL ? st->state : "";
  rc = pausehub_mint(c->lh->hub, st->user.origin_user_id, st->connector != NULL ? st->connector : "",
                     LINK_TOKEN_TTL_S, cb_url, state, timefmt_now_ms(), &st->info);
  if (rc != 0) {
    apicall_detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  apilinks_wait_kept(c, st->user.origin_user_id, &st->info, cb_url, state, user_token_row_kept);
}

static void on_app_checked(void *data, int status, const store_app_credential *a, const store_blob *secret) {
  apicall_ctx *c = data;
  (void)a;
  (void)secret;
  if (status != 0)
    apicall_field_error(c, "external_id", "No application credential of this connector has this external_id.");
  apicall_run(c, user_token_checks);
}

static void on_origin_checked(void *data, int status) {
  apicall_ctx *c = data;
  if (status != 0)
    apicall_field_error(c, "callback_url", "Its origin is not an allowed callback origin.");
  apicall_run(c, user_token_checks);
}

/* POST /api/v1/registered-users/{id}/link-token/ with "connector", or the
 * Link guide's POST /api/registered-users/{id}/link-token with "Connector"
 * (guide), where an omitted connector asks for a picker link. */
void apilinks_user_token(apicall_ctx *c, const apicall_principal *p, const store_user *u, int guide) {
  links_state *st;
  catalog_connector cc;
  if (apicall_require_method(c, "POST") != 0)
    return;
  if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  st->user = *u;
  st->guide = guide;
  st->field = guide ? "Connector" : "connector";
  (void)apivalid_check(c->body, guide ? &apivalid_guide_link_token : &apivalid_link_token, 0, &c->errs);
  st->connector = apivalid_string(c->body, st->field);
  st->external_id = apivalid_string(c->body, "external_id");
  st->callback_url = apivalid_string(c->body, "callback_url");
  st->state = apivalid_string(c->body, "state");
  if (st->connector != NULL && apicall_field_ok(c, st->field) && catalog_lookup(c->lh->catalog, st->connector, &cc) != 0)
    apicall_field_error(c, st->field, "Not a connector of the catalog.");
  if (st->external_id != NULL && apicall_field_ok(c, "external_id")) {
    if (st->connector == NULL || !apicall_field_ok(c, st->field))
      apicall_field_error(c, "external_id", "No application credential of this connector has this external_id.");
    else
      st->check_app = 1;
  }
  if (st->callback_url != NULL && apicall_field_ok(c, "callback_url")) {
    if (url_origin(st->callback_url, st->origin, sizeof st->origin) != 0)
      apicall_field_error(c, "callback_url", "Enter a valid absolute http(s) URL without user info or fragment.");
    else
      st->check_origin = 1;
  }
  if (st->state != NULL && apicall_field_ok(c, "state")) {
    if (st->callback_url == NULL)
      apicall_field_error(c, "state", "state requires callback_url.");
    else if (query_has_param(st->callback_url, "state"))
      apicall_field_error(c, "state", "callback_url already has a state query parameter.");
  }
  user_token_checks(c);
}

/* 1 when s (n bytes) is one of the reference's categories. */
static int known_category(const char *s, size_t n) {
  size_t i;
  for (i = 0; apivalid_categories[i] != NULL; i++) {
    if (strlen(apivalid_categories[i]) == n && memcmp(apivalid_categories[i], s, n) == 0)
      return 1;
  }
  return 0;
}

/* The unified link is stored: its token goes out. */
static void unified_kept(apicall_ctx *c) {
  links_state *st = c->state;
  char url[3000];
  if (apilinks_kept(c, &st->info, url, sizeof url) != 0)
    return;
  APICALL_AUDIT(c, "link_token.create", LOG_STR("origin_user_id", st->user.origin_user_id),
                LOG_STR("connector", st->cc.slug));
  c->rs->status = 200;
  apicall_raw(c, "{");
  apicall_member_str(c, "link_token", st->info.token, 1);
  apicall_member_str(c, "integration_name", st->cc.slug[0] != '\0' ? st->cc.name : NULL, 0);
  apicall_member_str(c, "magic_link_url", st->magic ? url : NULL, 0);
  apicall_raw(c, "}\n");
}

/* The registered user exists (made now, or already): the link. */
static void unified_user_ready(apicall_ctx *c) {
  links_state *st = c->state;
  int rc;
  if (st->status != 0 && st->status != -EEXIST) {
    apicall_store_failed(c);
    return;
  }
  if (st->status == 0)
    APICALL_AUDIT(c, "registered_user.create", LOG_STR("id", st->user.id),
                  LOG_STR("origin_user_id", st->user.origin_user_id));
  rc = pausehub_mint(c->lh->hub, st->user.origin_user_id, st->cc.slug, (unsigned)st->mins * 60, "", "",
                     timefmt_now_ms(), &st->info);
  if (rc != 0) {
    apicall_detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  apilinks_wait_kept(c, st->user.origin_user_id, &st->info, "", "", unified_kept);
}

static void on_unified_user(void *data, int status, const store_user *u) {
  apicall_ctx *c = data;
  links_state *st = c->state;
  st->status = status;
  if (u != NULL)
    st->user = *u;
  apicall_run(c, unified_user_ready);
}

/* POST /api/{category}/v1/link-token: creates (or reuses) the registered
 * user end_user_origin_id and mints a link for integration. */
void apilinks_unified_token(apicall_ctx *c, const apicall_principal *p, const char *category, size_t category_len) {
  const char *email;
  const char *org;
  const char *origin_id;
  const char *integration;
  links_state *st;
  store_user *u;
  if (!known_category(category, category_len)) {
    apicall_detail(c, 404, "Unknown category.");
    return;
  }
  if (apicall_require_method(c, "POST") != 0)
    return;
  if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  (void)apivalid_check(c->body, &apivalid_unified_link_token, 0, &c->errs);
  email = apivalid_string(c->body, "end_user_email_address");
  org = apivalid_string(c->body, "end_user_organization_name");
  origin_id = apivalid_string(c->body, "end_user_origin_id");
  integration = apivalid_string(c->body, "integration");
  st->magic = apivalid_bool(c->body, "should_create_magic_link_url", 0);
  st->mins = apivalid_integer(c->body, "link_expiry_mins", 30);
  if (integration != NULL && apicall_field_ok(c, "integration") &&
      catalog_lookup(c->lh->catalog, integration, &st->cc) != 0)
    apicall_field_error(c, "integration", "Not a connector of the catalog.");
  if (!st->magic && st->mins > 720)
    apicall_field_error(c, "link_expiry_mins", "Ensure this value is less than or equal to 720 (10080 with "
                                       "should_create_magic_link_url).");
  if (apicall_fail_if_invalid(c))
    return;
  /* no integration: a picker link (st->cc.slug ""), the Link page lists the catalog's connectors */
  u = &st->user;
  apicall_copy_text(u->origin_user_id, sizeof u->origin_user_id, origin_id);
  apicall_copy_text(u->origin_user_name, sizeof u->origin_user_name, email);
  u->has_group = 1;
  apicall_copy_text(u->company_id, sizeof u->company_id, org);
  apicall_copy_text(u->company_name, sizeof u->company_name, org);
  snprintf(u->user_type, sizeof u->user_type, "HUMAN");
  u->created_ms = timefmt_now_ms();
  if (crypto_uuid(u->id) != 0) {
    apicall_detail(c, 500, "No random source.");
    return;
  }
  apicall_wait(c, apicall_store(c)->ops->user_create(apicall_store(c), u, on_unified_user, c));
}
