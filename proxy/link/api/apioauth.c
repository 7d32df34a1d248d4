/* apioauth: the OAuth applications of the link API and POST /oauth/token.
 * See apioauth.h. */
#include "apioauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jsonw.h"
#include "crypto.h"
#include "url.h"
#include "form.h"
#include "timefmt.h"

/* The application as the reference's OAuth application; secret (or NULL)
 * only in the answer to its creation. */
static void render_oauth_app(apicall_ctx *c, const store_oauth_app *a, const char *secret) {
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

/* What a request keeps across the store's answers. */
typedef struct oauth_state {
  int status;
  store_oauth_app app;
  char id[STORE_ID_LEN + 8];
  char secret[80];             /* a new application's, shown once */
  char scope[512];             /* POST /oauth/token: granted */
  char token[80];              /* POST /oauth/token: the new access token */
  char hash[65];
} oauth_state;

static void on_list(void *data, int status, const store_oauth_app *rows, size_t n) {
  apicall_ctx *c = data;
  size_t i;
  if (apicall_results_begin(c, status) == 0) {
    for (i = 0; i < n; i++) {
      if (i > 0)
        apicall_raw(c, ",");
      render_oauth_app(c, &rows[i], NULL);
    }
    apicall_results_end(c, n, "");
  }
  apicall_run(c, NULL);
}

static void deleted(apicall_ctx *c) {
  oauth_state *st = c->state;
  if (c->status != 0) {
    apicall_write_failed(c, c->status, "No OAuth application with this id.");
    return;
  }
  APICALL_AUDIT(c, "oauth_application.delete", LOG_STR("id", st->id));
  c->rs->status = 204;
}

static void created(apicall_ctx *c) {
  oauth_state *st = c->state;
  if (st->status == -EEXIST) {
    apicall_field_error(c, "name", "An OAuth application with this name already exists.");
    (void)apicall_fail_if_invalid(c);
  } else if (st->status != 0) {
    apicall_store_failed(c);
  } else {
    APICALL_AUDIT(c, "oauth_application.create", LOG_STR("id", st->app.id), LOG_STR("client_id", st->app.client_id),
                  LOG_STR("scopes", st->app.scopes));
    c->rs->status = 201;
    render_oauth_app(c, &st->app, st->secret); /* the one time the secret is shown */
    apicall_raw(c, "\n");
  }
}

static void on_created(void *data, int status, const store_oauth_app *a) {
  apicall_ctx *c = data;
  ((oauth_state *)c->state)->status = status;
  (void)a;
  apicall_run(c, created);
}

void apioauth_apps(apicall_ctx *c, const apicall_principal *p, const char *id) {
  oauth_state *st;
  if (apicall_require_admin(c, p) != 0)
    return;
  if (id != NULL) {
    if (apicall_require_method(c, "DELETE") != 0)
      return;
    if (!apivalid_is_uuid(id)) {
      apicall_write_failed(c, -ENOENT, "No OAuth application with this id.");
      return;
    }
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    snprintf(st->id, sizeof st->id, "%s", id);
    apicall_after(c, deleted);
    apicall_wait(c, apicall_store(c)->ops->oauth_app_delete(apicall_store(c), id, apicall_done, c));
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    apicall_wait(c, apicall_store(c)->ops->oauth_app_list(apicall_store(c), on_list, c));
  } else if (strcmp(c->rq->method, "POST") == 0) {
    store_oauth_app *a;
    yajl_val scopes = apicall_member(c, "scopes");
    unsigned bits = 0;
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    a = &st->app;
    (void)apivalid_check(c->body, &apivalid_oauth_app, 0, &c->errs);
    apicall_copy_text(a->name, sizeof a->name, apivalid_string(c->body, "name"));
    apicall_copy_text(a->description, sizeof a->description, apivalid_string(c->body, "description"));
    apicall_copy_text(a->redirect_uri, sizeof a->redirect_uri, apivalid_string(c->body, "redirectUri"));
    if (apicall_field_ok(c, "redirectUri")) {
      char origin[600];
      if (url_origin(a->redirect_uri, origin, sizeof origin) != 0)
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
                                   "write:webhooks, admin:organization, admin:all or read:credentials.");
          break;
        }
        bits |= one;
      }
    }
    /* read:credentials hands out users' secrets: only the owner or an
     * admin:all token grants it (which need not hold it), never a token
     * that merely holds it */
    if (c->errs.count == 0 && (bits & LINKAPI_READ_CREDENTIALS) && !p->all)
      apicall_field_error(c, "scopes", "Only the owner or an admin:all token may grant read:credentials.");
    if (c->errs.count == 0 && (bits & ~p->scopes & ~(unsigned)LINKAPI_READ_CREDENTIALS) != 0)
      apicall_field_error(c, "scopes", "A token cannot grant scopes it does not hold.");
    if (c->errs.count == 0 && (bits & LINKAPI_ADMIN_ALL) && !p->all)
      apicall_field_error(c, "scopes", "Only the owner or an admin:all token may grant admin:all.");
    if (apicall_fail_if_invalid(c))
      return;
    apicall_scopes_text(bits, a->scopes, sizeof a->scopes);
    memcpy(st->secret, "arcs_", 5);
    if (crypto_random_hex(st->secret + 5, 24) != 0 || crypto_uuid(a->id) != 0 ||
        crypto_uuid(a->client_id) != 0) {
      apicall_detail(c, 500, "No random source.");
      return;
    }
    a->created_ms = timefmt_now_ms();
    crypto_sha256_hex(st->secret, strlen(st->secret), st->hash);
    apicall_wait(c, apicall_store(c)->ops->oauth_app_create(apicall_store(c), a, st->hash, on_created, c));
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

/* The access token is stored: it goes to the client. */
static void token_stored(apicall_ctx *c) {
  oauth_state *st = c->state;
  char actor[STORE_TEXT_MAX + 8];
  if (c->status != 0) {
    apicall_store_failed(c);
    return;
  }
  snprintf(actor, sizeof actor, "app:%s", st->app.client_id);
  c->rs->status = 200;
  LOG_AUDIT(actor, "oauth_token.create", LOG_STR("scope", st->scope));
  apicall_raw(c, "{");
  apicall_member_str(c, "access_token", st->token, 1);
  apicall_member_str(c, "token_type", "Bearer", 0);
  apicall_raw(c, ",\"expires_in\":");
  (void)jsonw_u64(c->out, LINKAPI_TOKEN_TTL_S);
  apicall_member_str(c, "scope", st->scope, 0);
  apicall_raw(c, "}\n");
}

/* The client is known (or not): a token with the scopes asked for. */
static void client_checked(apicall_ctx *c) {
  oauth_state *st = c->state;
  unsigned granted = 0;
  unsigned asked = 0;
  if (st->status == -ENOENT) {
    apioauth_error(c, 401, "invalid_client", "Unknown client or wrong secret.");
    c->rs->www_authenticate = "Bearer";
    return;
  }
  if (st->status != 0) {
    apicall_read_failed(c, st->status);
    return;
  }
  (void)apicall_parse_scopes(st->app.scopes, &granted);
  if (st->scope[0] != '\0') {
    if (apicall_parse_scopes(st->scope, &asked) != 0 || (asked & ~granted) != 0) {
      apioauth_error(c, 400, "invalid_scope", "A requested scope is not granted to this application.");
      return;
    }
    granted = asked;
  }
  apicall_scopes_text(granted, st->scope, sizeof st->scope);
  memcpy(st->token, "arat_", 5);
  if (crypto_random_hex(st->token + 5, 32) != 0) {
    apicall_detail(c, 500, "No random source.");
    return;
  }
  crypto_sha256_hex(st->token, strlen(st->token), st->hash);
  apicall_after(c, token_stored);
  apicall_wait(c, apicall_store(c)->ops->oauth_token_put(apicall_store(c), st->hash, st->app.id, st->scope,
                                                          timefmt_now_ms() + (uint64_t)LINKAPI_TOKEN_TTL_S * 1000,
                                                          apicall_done, c));
}

static void on_client(void *data, int status, const store_oauth_app *a) {
  apicall_ctx *c = data;
  oauth_state *st = c->state;
  st->status = status;
  if (a != NULL)
    st->app = *a;
  apicall_run(c, client_checked);
}

/* POST /oauth/token: client_credentials, from a form or JSON body, client
 * authentication in the body (client_id, client_secret). */
void apioauth_token(apicall_ctx *c) {
  char grant[64];
  char client_id[STORE_TEXT_MAX + 1];
  char secret[256];
  char scope[512];
  oauth_state *st;
  int has_scope;
  int json = c->rq->content_type != NULL && strncmp(c->rq->content_type, "application/json", 16) == 0;
  if (apicall_require_method(c, "POST") != 0)
    return;
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
  st = apicall_state(c, sizeof *st);
  if (st == NULL) {
    OPENSSL_cleanse(secret, sizeof secret);
    return;
  }
  crypto_sha256_hex(secret, strlen(secret), st->hash);
  OPENSSL_cleanse(secret, sizeof secret);
  if (has_scope)
    snprintf(st->scope, sizeof st->scope, "%s", scope);
  if (client_id[0] == '\0') {
    apioauth_error(c, 401, "invalid_client", "Unknown client or wrong secret.");
    c->rs->www_authenticate = "Bearer";
    return;
  }
  apicall_wait(c, apicall_store(c)->ops->oauth_app_check(apicall_store(c), client_id, st->hash, on_client, c));
}
