/* apioauth: the OAuth applications of the link API and POST /oauth/token.
 * See apioauth.h. */
#include "apioauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jsonw.h"
#include "crypto.h"
#include "secretbox.h"
#include "url.h"
#include "form.h"
#include "timefmt.h"

/* The application as the reference's OAuth application; secret (or NULL)
 * only in the answer to its creation. */
static void render_oauth_app(apicall_ctx *c, const linkstore_oauth_app *a, const char *secret) {
  char created[32];
  const char *s = a->scopes;
  int first = 1;
  (void)timefmt_rfc3339(a->created_ms, 1, created); /* "" past the year 9999 */
  apicall_raw(c, "{");
  apicall_member_str(c, "id", a->id, 1);
  apicall_member_str(c, "name", a->name, 0);
  apicall_member_str(c, "description", a->description, 0);
  apicall_member_str(c, "redirectUri", a->redirect_uri[0] ? a->redirect_uri : NULL, 0);
  apicall_raw(c, ",\"scopes\":[");
  while (*s != '\0') {
    size_t n = strcspn(s, " ");
    if (!first)
      apicall_raw(c, ",");
    (void)jsonw_string(c->out, s, n);
    first = 0;
    s += n;
    while (*s == ' ')
      s++;
  }
  apicall_raw(c, "]");
  apicall_member_str(c, "clientId", a->client_id, 0);
  if (secret != NULL)
    apicall_member_str(c, "clientSecret", secret, 0);
  apicall_member_str(c, "createdAt", created, 0);
  apicall_raw(c, "}");
}

static int oauth_list_cb(void *ctx, const linkstore_oauth_app *a) {
  apicall_list *l = ctx;
  if (l->n++ > 0)
    apicall_raw(l->c, ",");
  render_oauth_app(l->c, a, NULL);
  return 0;
}

void apioauth_apps(apicall_ctx *c, const apicall_principal *p, const char *id) {
  if (apicall_require_admin(c, p) != 0)
    return;
  if (id != NULL) {
    int rc;
    if (strcmp(c->rq->method, "DELETE") != 0) {
      apicall_detail(c, 405, "Method not allowed.");
      return;
    }
    rc = apivalid_is_uuid(id) ? linkstore_oauth_app_delete(&c->lh->store, id) : -ENOENT;
    if (rc != 0) {
      apicall_write_failed(c, rc, "No OAuth application with this id.");
      return;
    }
    APICALL_AUDIT(c, "oauth_application.delete", LOG_STR("id", id));
    c->rs->status = 204;
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    apicall_list l = {c, 0};
    c->rs->status = 200;
    apicall_raw(c, "{\"results\":[");
    (void)linkstore_oauth_app_list(&c->lh->store, oauth_list_cb, &l);
    apicall_raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    apicall_raw(c, "}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_oauth_app a;
    yajl_val scopes = apicall_member(c, "scopes");
    unsigned bits = 0;
    char secret[80];
    char hash[65];
    int rc;
    memset(&a, 0, sizeof a);
    (void)apivalid_check(c->body, &apivalid_oauth_app, 0, &c->errs);
    apicall_copy_text(a.name, sizeof a.name, apivalid_string(c->body, "name"));
    apicall_copy_text(a.description, sizeof a.description, apivalid_string(c->body, "description"));
    apicall_copy_text(a.redirect_uri, sizeof a.redirect_uri, apivalid_string(c->body, "redirectUri"));
    if (apicall_field_ok(c, "redirectUri")) {
      char origin[600];
      if (url_origin(a.redirect_uri, origin, sizeof origin) != 0)
        apicall_field_error(c, "redirectUri", "Enter a valid absolute URL.");
    }
    if (apicall_field_ok(c, "scopes")) {
      size_t i;
      for (i = 0; i < YAJL_GET_ARRAY(scopes)->len; i++) {
        const char *sv = YAJL_GET_STRING(YAJL_GET_ARRAY(scopes)->values[i]);
        unsigned one = 0;
        if (sv == NULL || strchr(sv, ' ') != NULL || apicall_parse_scopes(sv, &one) != 0 || one == 0) {
          apicall_field_error(c, "scopes", "Unknown scope: use read:user, write:user, read:organization, "
                                   "write:organization, read:members, write:members, read:webhooks, "
                                   "write:webhooks, admin:organization or admin:all.");
          break;
        }
        bits |= one;
      }
    }
    if (c->errs.count == 0 && (bits & ~p->scopes) != 0)
      apicall_field_error(c, "scopes", "A token cannot grant scopes it does not hold.");
    if (c->errs.count == 0 && (bits & LINKAPI_ADMIN_ALL) && !p->all)
      apicall_field_error(c, "scopes", "Only the owner or an admin:all token may grant admin:all.");
    if (apicall_fail_if_invalid(c))
      return;
    apicall_scopes_text(bits, a.scopes, sizeof a.scopes);
    memcpy(secret, "arcs_", 5);
    if (crypto_random_hex(secret + 5, 24) != 0) {
      apicall_detail(c, 500, "No random source.");
      return;
    }
    crypto_sha256_hex(secret, strlen(secret), hash);
    rc = linkstore_oauth_app_create(&c->lh->store, &a, hash, timefmt_now_ms());
    if (rc == -EEXIST) {
      apicall_field_error(c, "name", "An OAuth application with this name already exists.");
      (void)apicall_fail_if_invalid(c);
    } else if (rc != 0) {
      apicall_store_failed(c);
    } else {
      APICALL_AUDIT(c, "oauth_application.create", LOG_STR("id", a.id), LOG_STR("client_id", a.client_id),
                    LOG_STR("scopes", a.scopes));
      c->rs->status = 201;
      render_oauth_app(c, &a, secret); /* the one time the secret is shown */
      apicall_raw(c, "\n");
    }
    OPENSSL_cleanse(secret, sizeof secret);
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

/* RFC 6749 error answer. */
void apioauth_error(apicall_ctx *c, int status, const char *error, const char *description) {
  c->rs->status = status;
  dynbuf_reset(c->out, c->out->cap); /* keeps the storage, forgets a failed write */
  apicall_raw(c, "{\"error\":");
  apicall_str(c, error);
  apicall_raw(c, ",\"error_description\":");
  apicall_str(c, description);
  apicall_raw(c, "}\n");
}

/* A string member of a JSON token request into out (cap bytes): 0, or
 * -EINVAL when absent, not a string or too long (out is "" then). */
static int json_param(yajl_val body, const char *name, char *out, size_t cap) {
  const char *s = apivalid_string(body, name);
  out[0] = '\0';
  if (s == NULL || s[0] == '\0' || strlen(s) >= cap)
    return -EINVAL;
  memcpy(out, s, strlen(s) + 1);
  return 0;
}

/* POST /oauth/token: client_credentials, from a form or JSON body, client
 * authentication in the body (client_id, client_secret). */
void apioauth_token(apicall_ctx *c) {
  char grant[64];
  char client_id[LINKSTORE_TEXT_MAX + 1];
  char secret[256];
  char scope[512];
  char hash[65];
  char token[80];
  char actor[LINKSTORE_TEXT_MAX + 8];
  linkstore_oauth_app a;
  unsigned granted = 0;
  unsigned asked = 0;
  int has_scope;
  int json = c->rq->content_type != NULL && strncmp(c->rq->content_type, "application/json", 16) == 0;
  if (strcmp(c->rq->method, "POST") != 0) {
    apicall_detail(c, 405, "Method not allowed.");
    return;
  }
  if (json) {
    if (c->body == NULL) {
      apioauth_error(c, 400, "invalid_request", "The body is not JSON.");
      return;
    }
    json_param(c->body, "grant_type", grant, sizeof grant);
    json_param(c->body, "client_id", client_id, sizeof client_id);
    json_param(c->body, "client_secret", secret, sizeof secret);
    has_scope = json_param(c->body, "scope", scope, sizeof scope) == 0;
  } else {
    const char *b = c->rq->body;
    size_t n = c->rq->body_len;
    if (form_field(b, n, "grant_type", grant, sizeof grant) <= 0)
      grant[0] = '\0';
    if (form_field(b, n, "client_id", client_id, sizeof client_id) <= 0)
      client_id[0] = '\0';
    if (form_field(b, n, "client_secret", secret, sizeof secret) <= 0)
      secret[0] = '\0';
    has_scope = form_field(b, n, "scope", scope, sizeof scope) > 0;
  }
  if (strcmp(grant, "client_credentials") != 0) {
    apioauth_error(c, 400, grant[0] ? "unsupported_grant_type" : "invalid_request",
                "grant_type must be client_credentials.");
    OPENSSL_cleanse(secret, sizeof secret);
    return;
  }
  crypto_sha256_hex(secret, strlen(secret), hash);
  OPENSSL_cleanse(secret, sizeof secret);
  if (client_id[0] == '\0' || linkstore_oauth_app_check(&c->lh->store, client_id, hash, &a) != 0) {
    apioauth_error(c, 401, "invalid_client", "Unknown client or wrong secret.");
    c->rs->www_authenticate = "Bearer";
    return;
  }
  snprintf(actor, sizeof actor, "app:%s", a.client_id);
  (void)apicall_parse_scopes(a.scopes, &granted);
  if (has_scope) {
    if (apicall_parse_scopes(scope, &asked) != 0 || (asked & ~granted) != 0) {
      apioauth_error(c, 400, "invalid_scope", "A requested scope is not granted to this application.");
      return;
    }
    granted = asked;
  }
  apicall_scopes_text(granted, scope, sizeof scope);
  memcpy(token, "arat_", 5);
  if (crypto_random_hex(token + 5, 32) != 0) {
    apicall_detail(c, 500, "No random source.");
    return;
  }
  crypto_sha256_hex(token, strlen(token), hash);
  if (linkstore_oauth_token_put(&c->lh->store, hash, a.id, scope,
                                timefmt_now_ms() + (uint64_t)LINKAPI_TOKEN_TTL_S * 1000) != 0) {
    apicall_store_failed(c);
    return;
  }
  c->rs->status = 200;
  LOG_AUDIT(actor, "oauth_token.create", LOG_STR("scope", scope));
  apicall_raw(c, "{");
  apicall_member_str(c, "access_token", token, 1);
  apicall_member_str(c, "token_type", "Bearer", 0);
  apicall_raw(c, ",\"expires_in\":");
  (void)jsonw_u64(c->out, LINKAPI_TOKEN_TTL_S);
  apicall_member_str(c, "scope", scope, 0);
  apicall_raw(c, "}\n");
  OPENSSL_cleanse(token, sizeof token);
}
