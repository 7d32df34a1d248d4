/* apilinks: the link-token resources of the link API: a registered user's
 * link token (both forms) and the unified API's link token. See apilinks.h. */
#include "apilinks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "form.h"
#include "url.h"
#include "timefmt.h"

#define LINK_TOKEN_TTL_S 1800 /* registered-user link tokens: 30 minutes */

/* 1 when url's query has a parameter called name (form_has_field). */
static int query_has_param(const char *url, const char *name) {
  const char *q = strchr(url, '?');
  return q != NULL && form_has_field(q + 1, strcspn(q + 1, "#"), name);
}

/* Writes the link just minted for the API (the journal would write it only
 * after the answer): a link token is handed out only once it is stored. */
static int keep_minted(apicall_ctx *c, const char *user, const linksvc_link_info *info, const char *callback_url,
                       const char *state) {
  linkstore_link l;
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
  return linkstore_link_put(&c->lh->store, &l);
}

/* POST /api/v1/registered-users/{id}/link-token/ with "connector", or the
 * Link guide's POST /api/registered-users/{id}/link-token with "Connector"
 * (guide), where an omitted connector asks for a picker link. */
void apilinks_user_token(apicall_ctx *c, const apicall_principal *p, const linkstore_user *u, int guide) {
  const char *field = guide ? "Connector" : "connector";
  const char *connector;
  const char *external_id;
  const char *callback_url;
  const char *state;
  char origin[600];
  char url[3000];
  catalog_connector cc;
  linksvc_link_info info;
  int rc;
  if (strcmp(c->rq->method, "POST") != 0) {
    apicall_detail(c, 405, "Method not allowed.");
    return;
  }
  if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  (void)apivalid_check(c->body, guide ? &apivalid_guide_link_token : &apivalid_link_token, 0, &c->errs);
  connector = apivalid_string(c->body, field);
  external_id = apivalid_string(c->body, "external_id");
  callback_url = apivalid_string(c->body, "callback_url");
  state = apivalid_string(c->body, "state");
  if (connector != NULL && apicall_field_ok(c, field) && catalog_lookup(c->lh->catalog, connector, &cc) != 0)
    apicall_field_error(c, field, "Not a connector of the catalog.");
  if (external_id != NULL && apicall_field_ok(c, "external_id")) {
    linkstore_app_credential app;
    if (connector == NULL || !apicall_field_ok(c, field) ||
        linkstore_app_for(&c->lh->store, connector, external_id, &app, NULL) != 0)
      apicall_field_error(c, "external_id", "No application credential of this connector has this external_id.");
  }
  if (callback_url != NULL && apicall_field_ok(c, "callback_url")) {
    if (url_origin(callback_url, origin, sizeof origin) != 0)
      apicall_field_error(c, "callback_url", "Enter a valid absolute http(s) URL without user info or fragment.");
    else if (linkstore_origin_allowed(&c->lh->store, origin) != 0)
      apicall_field_error(c, "callback_url", "Its origin is not an allowed callback origin.");
  }
  if (state != NULL && apicall_field_ok(c, "state")) {
    if (callback_url == NULL)
      apicall_field_error(c, "state", "state requires callback_url.");
    else if (query_has_param(callback_url, "state"))
      apicall_field_error(c, "state", "callback_url already has a state query parameter.");
  }
  if (apicall_fail_if_invalid(c))
    return;
  if (connector == NULL) {
    apicall_detail(c, 501, "Picker links (no Connector) are not supported yet: name the Connector.");
    return;
  }
  rc = pausehub_mint(c->lh->hub, u->origin_user_id, connector, LINK_TOKEN_TTL_S,
                     callback_url != NULL ? callback_url : "", state != NULL ? state : "", timefmt_now_ms(), &info);
  if (rc != 0) {
    apicall_detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  rc = keep_minted(c, u->origin_user_id, &info, callback_url != NULL ? callback_url : "", state != NULL ? state : "");
  if (rc == 0 && external_id != NULL)
    rc = linkstore_link_set_external_id(&c->lh->store, info.token, external_id);
  if (rc != 0) {
    (void)pausehub_expire_link(c->lh->hub, info.token, timefmt_now_ms()); /* never handed out */
    apicall_store_failed(c);
    return;
  }
  APICALL_AUDIT(c, "link_token.create", LOG_STR("registered_user_id", u->id), LOG_STR("connector", connector));
  linkhost_base_url(c->lh, url, sizeof url - LINKSVC_PATH_LEN);
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", info.path);
  c->rs->status = 201;
  apicall_raw(c, "{");
  apicall_member_str(c, "link_token", info.token, 1);
  apicall_member_str(c, "magic_link_url", url, 0);
  apicall_member_str(c, "expires_at", info.expires_at, 0);
  apicall_raw(c, "}\n");
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

/* POST /api/{category}/v1/link-token: creates (or reuses) the registered
 * user end_user_origin_id and mints a link for integration. */
void apilinks_unified_token(apicall_ctx *c, const apicall_principal *p, const char *category, size_t category_len) {
  const char *email;
  const char *org;
  const char *origin_id;
  const char *integration;
  char url[3000];
  catalog_connector cc;
  linksvc_link_info info;
  linkstore_user u;
  long long mins;
  int magic;
  int rc;
  if (!known_category(category, category_len)) {
    apicall_detail(c, 404, "Unknown category.");
    return;
  }
  if (strcmp(c->rq->method, "POST") != 0) {
    apicall_detail(c, 405, "Method not allowed.");
    return;
  }
  if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  (void)apivalid_check(c->body, &apivalid_unified_link_token, 0, &c->errs);
  email = apivalid_string(c->body, "end_user_email_address");
  org = apivalid_string(c->body, "end_user_organization_name");
  origin_id = apivalid_string(c->body, "end_user_origin_id");
  integration = apivalid_string(c->body, "integration");
  magic = apivalid_bool(c->body, "should_create_magic_link_url", 0);
  mins = apivalid_integer(c->body, "link_expiry_mins", 30);
  if (integration != NULL && apicall_field_ok(c, "integration") &&
      catalog_lookup(c->lh->catalog, integration, &cc) != 0)
    apicall_field_error(c, "integration", "Not a connector of the catalog.");
  if (!magic && mins > 720)
    apicall_field_error(c, "link_expiry_mins", "Ensure this value is less than or equal to 720 (10080 with "
                                       "should_create_magic_link_url).");
  if (apicall_fail_if_invalid(c))
    return;
  if (integration == NULL) {
    apicall_detail(c, 501, "Picker links (no integration) are not supported yet: name the integration.");
    return;
  }
  memset(&u, 0, sizeof u);
  apicall_copy_text(u.origin_user_id, sizeof u.origin_user_id, origin_id);
  apicall_copy_text(u.origin_user_name, sizeof u.origin_user_name, email);
  u.has_group = 1;
  apicall_copy_text(u.company_id, sizeof u.company_id, org);
  apicall_copy_text(u.company_name, sizeof u.company_name, org);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  rc = linkstore_user_create(&c->lh->store, &u, timefmt_now_ms());
  if (rc != 0 && rc != -EEXIST) {
    apicall_store_failed(c);
    return;
  }
  if (rc == 0)
    APICALL_AUDIT(c, "registered_user.create", LOG_STR("id", u.id), LOG_STR("origin_user_id", u.origin_user_id));
  rc = pausehub_mint(c->lh->hub, u.origin_user_id, cc.slug, (unsigned)mins * 60, "", "", timefmt_now_ms(), &info);
  if (rc != 0) {
    apicall_detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  if (keep_minted(c, origin_id, &info, "", "") != 0) {
    (void)pausehub_expire_link(c->lh->hub, info.token, timefmt_now_ms()); /* never handed out */
    apicall_store_failed(c);
    return;
  }
  APICALL_AUDIT(c, "link_token.create", LOG_STR("origin_user_id", u.origin_user_id), LOG_STR("connector", cc.slug));
  linkhost_base_url(c->lh, url, sizeof url - LINKSVC_PATH_LEN);
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", info.path);
  c->rs->status = 200;
  apicall_raw(c, "{");
  apicall_member_str(c, "link_token", info.token, 1);
  apicall_member_str(c, "integration_name", cc.name, 0);
  apicall_member_str(c, "magic_link_url", magic ? url : NULL, 0);
  apicall_raw(c, "}\n");
}
