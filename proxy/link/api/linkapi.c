/* linkapi: the link service's HTTP API. See linkapi.h. */
#include "linkapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <yajl/yajl_tree.h>

#include "apivalid.h"
#include "http.h"
#include "jsonw.h"
#include "linkpage.h"
#include "log.h"
#include "secretbox.h"

#define PAGE_SIZE_DEFAULT 100
#define PAGE_SIZE_MAX 1000
#define LINK_TOKEN_TTL_S 1800 /* registered-user link tokens: 30 minutes */

static const char *const scope_names[] = {
    "read:user",        "write:user",        "read:organization", "write:organization",
    "read:members",     "write:members",     "read:webhooks",     "write:webhooks",
    "admin:organization", "admin:all",       NULL};

/* Who is calling. */
typedef struct principal {
  unsigned scopes;
  int admin;              /* owner key, or a token with an admin scope */
  int all;                /* owner key, or a token with admin:all */
  char actor[LINKSTORE_TEXT_MAX + 8]; /* for the audit log: "owner" or "app:<client_id>" */
} principal;

/* One request being answered. */
typedef struct call {
  linkhost_t *lh;
  const linkapi_request *rq;
  linkapi_response *rs;
  dynbuf *out;
  yajl_val body;          /* parsed JSON body, or NULL */
  apivalid_errors errs;   /* field errors being collected */
  const principal *who;   /* the caller, once authenticated (for the audit log) */
} call;

/* ---- small helpers ---- */

static int parse_scopes(const char *text, unsigned *bits) {
  unsigned b = 0;
  while (*text != '\0') {
    size_t n = strcspn(text, " ");
    size_t i;
    int found = 0;
    for (i = 0; scope_names[i] != NULL; i++) {
      if (strlen(scope_names[i]) == n && memcmp(scope_names[i], text, n) == 0) {
        b |= 1u << i;
        found = 1;
      }
    }
    if (!found && n > 0)
      return -EINVAL;
    text += n;
    while (*text == ' ')
      text++;
  }
  *bits = b;
  return 0;
}

static void scopes_text(unsigned bits, char *out, size_t cap) {
  size_t i;
  size_t len = 0;
  out[0] = '\0';
  for (i = 0; scope_names[i] != NULL; i++) {
    if (bits & (1u << i))
      len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", len ? " " : "", scope_names[i]);
  }
}

static void iso_time(uint64_t ms, char out[32]) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  size_t n;
  gmtime_r(&t, &tm);
  n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

static void raw(call *c, const char *s) {
  (void)jsonw_raw(c->out, s);
}

static void str(call *c, const char *s) {
  (void)jsonw_cstring(c->out, s);
}

/* "name": value-string, with a comma before unless first. */
static void member_str(call *c, const char *name, const char *value, int first) {
  if (!first)
    raw(c, ",");
  str(c, name);
  raw(c, ":");
  if (value == NULL)
    raw(c, "null");
  else
    str(c, value);
}

static void member_bool(call *c, const char *name, int v) {
  raw(c, ",");
  str(c, name);
  raw(c, v ? ":true" : ":false");
}

static void detail(call *c, int status, const char *msg) {
  c->rs->status = status;
  c->out->len = 0;
  raw(c, "{\"detail\":");
  str(c, msg);
  raw(c, "}\n");
}

/* A store write failed and was rolled back: nothing was saved. 503 when
 * the store cannot write (/readyz says so too, until it writes again). */
static void store_failed(call *c) {
  if (c->lh->store.cannot_write)
    detail(c, 503, "The store cannot save changes right now (see /readyz); nothing was saved. Try again later.");
  else
    detail(c, 500, "The store failed.");
}

/* A store write that returned rc != 0: -ENOENT is a 404 saying missing. */
static void write_failed(call *c, int rc, const char *missing) {
  if (rc == -ENOENT)
    detail(c, 404, missing);
  else
    store_failed(c);
}

/* Records an error on field (the first one per field is kept). */
static void field_error(call *c, const char *field, const char *msg) {
  (void)apivalid_error(&c->errs, field, msg);
}

/* 1 when field is in the body and has passed the checks so far. */
static int field_ok(const call *c, const char *field) {
  return apivalid_member(c->body, field) != NULL && !apivalid_has_error(&c->errs, field);
}

/* Answers 400 with the field errors when there are any. Returns 1 then. */
static int fail_if_invalid(call *c) {
  if (c->errs.count == 0)
    return 0;
  c->rs->status = 400;
  c->out->len = 0;
  (void)apivalid_errors_render(&c->errs, c->out);
  return 1;
}

static yajl_val member(const call *c, const char *name) {
  return apivalid_member(c->body, name);
}

/* Copies a checked string (NULL: "") into dst, cap bytes. The tables'
 * limits fit the store's buffers (LINKSTORE_CHARS_BYTES). */
static void copy_text(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* One audit line for a change the caller made (never a secret in it). */
#define AUDIT(c, ...) LOG_AUDIT((c)->who != NULL ? (c)->who->actor : "owner", __VA_ARGS__)

/* The value of query parameter name into out; 1 found, 0 not. */
static int query_param(const call *c, const char *name, char *out, size_t cap) {
  return linkpage_form_field(c->rq->query, strlen(c->rq->query), name, out, cap) > 0;
}

/* ---- authentication ---- */

/* Fills *p from the Authorization header. Returns 0, or answers 401. */
static int authenticate(call *c, principal *p) {
  const char *auth = c->rq->authorization;
  const char *key = c->rq->owner_key;
  char hash[65];
  char scopes[512];
  char client_id[LINKSTORE_TEXT_MAX + 1];
  memset(p, 0, sizeof *p);
  c->rs->www_authenticate = "Bearer";
  if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
    detail(c, 401, "Authentication credentials were not provided.");
    return -1;
  }
  auth += 7;
  if (key[0] != '\0' && strlen(auth) == strlen(key) && secretbox_equal(auth, key, strlen(key))) {
    p->scopes = ~0u;
    p->admin = 1;
    p->all = 1;
    snprintf(p->actor, sizeof p->actor, "owner");
    c->rs->www_authenticate = NULL;
    return 0;
  }
  secretbox_sha256_hex(auth, strlen(auth), hash);
  if (linkstore_oauth_token_get(&c->lh->store, hash, linkhost_now_ms(), scopes, sizeof scopes) != 0 ||
      parse_scopes(scopes, &p->scopes) != 0) {
    detail(c, 401, "Invalid or expired token.");
    return -1;
  }
  /* named now, before any change: a token may delete its own app */
  if (linkstore_oauth_token_client(&c->lh->store, hash, client_id, sizeof client_id) != 0)
    snprintf(client_id, sizeof client_id, "unknown");
  snprintf(p->actor, sizeof p->actor, "app:%s", client_id);
  if (p->scopes & LINKAPI_ADMIN_ALL) {
    p->scopes = ~0u;
    p->all = 1;
  }
  if (p->scopes & LINKAPI_ADMIN_ORGANIZATION)
    p->scopes |= LINKAPI_READ_ORGANIZATION | LINKAPI_WRITE_ORGANIZATION | LINKAPI_READ_MEMBERS |
                 LINKAPI_WRITE_MEMBERS;
  p->admin = (p->scopes & (LINKAPI_ADMIN_ALL | LINKAPI_ADMIN_ORGANIZATION)) != 0;
  c->rs->www_authenticate = NULL;
  return 0;
}

/* 0 when p holds every scope in need; else answers 403. */
static int require(call *c, const principal *p, unsigned need) {
  char names[512];
  char msg[600];
  if ((p->scopes & need) == need)
    return 0;
  scopes_text(need & ~p->scopes, names, sizeof names);
  snprintf(msg, sizeof msg, "The token lacks the scope: %s.", names);
  detail(c, 403, msg);
  return -1;
}

static int require_admin(call *c, const principal *p) {
  if (p->admin)
    return 0;
  detail(c, 403, "Only an OWNER or ADMIN may do this.");
  return -1;
}

/* ---- registered users ---- */

typedef struct list_ctx {
  call *c;
  size_t n;
} list_ctx;

static int connector_cb(void *ctx, const char *slug) {
  list_ctx *l = ctx;
  if (l->n++ > 0)
    raw(l->c, ",");
  str(l->c, slug);
  return 0;
}

static void render_user(call *c, const linkstore_user *u) {
  list_ctx l = {c, 0};
  raw(c, "{");
  member_str(c, "id", u->id, 1);
  member_str(c, "origin_user_id", u->origin_user_id, 0);
  member_str(c, "origin_user_name", u->origin_user_name, 0);
  raw(c, ",\"shared_credential_group\":");
  if (u->has_group) {
    raw(c, "{");
    member_str(c, "origin_company_id", u->company_id, 1);
    member_str(c, "origin_company_name", u->company_name[0] ? u->company_name : NULL, 0);
    raw(c, "}");
  } else {
    raw(c, "null");
  }
  member_str(c, "user_type", u->user_type, 0);
  raw(c, ",\"authenticated_connectors\":[");
  (void)linkstore_user_connectors(&c->lh->store, u->origin_user_id, connector_cb, &l);
  raw(c, "]");
  member_bool(c, "is_test", u->is_test);
  raw(c, "}");
}

/* Checks the user fields of the body (create: all; update: those present)
 * and reads them into u. */
static void read_user_fields(call *c, linkstore_user *u, int create) {
  yajl_val group = member(c, "shared_credential_group");
  const char *s;
  if (apivalid_check(c->body, &apivalid_user, !create, &c->errs) != 0)
    return;
  if (create)
    copy_text(u->origin_user_id, sizeof u->origin_user_id, apivalid_string(c->body, "origin_user_id"));
  s = apivalid_string(c->body, "origin_user_name");
  if (s != NULL)
    copy_text(u->origin_user_name, sizeof u->origin_user_name, s);
  if (group != NULL) {
    u->has_group = !YAJL_IS_NULL(group);
    copy_text(u->company_id, sizeof u->company_id, apivalid_string(group, "origin_company_id"));
    copy_text(u->company_name, sizeof u->company_name, apivalid_string(group, "origin_company_name"));
  }
  s = apivalid_string(c->body, "user_type");
  if (s != NULL)
    copy_text(u->user_type, sizeof u->user_type, s);
  u->is_test = apivalid_bool(c->body, "is_test", u->is_test);
}

static int user_list_cb(void *ctx, const linkstore_user *u) {
  list_ctx *l = ctx;
  if (l->n++ > 0)
    raw(l->c, ",");
  render_user(l->c, u);
  return 0;
}

static void users_collection(call *c, const principal *p) {
  if (strcmp(c->rq->method, "GET") == 0) {
    char origin[LINKSTORE_TEXT_MAX + 1];
    char num[64];
    size_t page = 1;
    size_t size = PAGE_SIZE_DEFAULT;
    size_t total = 0;
    list_ctx l = {c, 0};
    int has_origin;
    if (require(c, p, LINKAPI_READ_USER) != 0)
      return;
    has_origin = query_param(c, "origin_user_id", origin, sizeof origin);
    if (query_param(c, "page", num, sizeof num))
      page = strtoul(num, NULL, 10);
    if (query_param(c, "page_size", num, sizeof num))
      size = strtoul(num, NULL, 10);
    if (page == 0 || size == 0 || size > PAGE_SIZE_MAX) {
      detail(c, 400, "page must be 1 or more and page_size 1 to 1000.");
      return;
    }
    c->rs->status = 200;
    raw(c, "{\"results\":[");
    if (linkstore_user_list(&c->lh->store, has_origin ? origin : NULL, (page - 1) * size, size, user_list_cb, &l,
                            &total) != 0) {
      detail(c, 500, "The store failed.");
      return;
    }
    raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, total);
    raw(c, ",\"next\":");
    if (page * size < total) {
      snprintf(num, sizeof num, "?page=%zu&page_size=%zu", page + 1, size);
      str(c, num);
    } else {
      raw(c, "null");
    }
    raw(c, ",\"previous\":");
    if (page > 1) {
      snprintf(num, sizeof num, "?page=%zu&page_size=%zu", page - 1, size);
      str(c, num);
    } else {
      raw(c, "null");
    }
    raw(c, "}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_user u;
    int rc;
    if (require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    memset(&u, 0, sizeof u);
    snprintf(u.user_type, sizeof u.user_type, "HUMAN");
    read_user_fields(c, &u, 1);
    if (fail_if_invalid(c))
      return;
    rc = linkstore_user_create(&c->lh->store, &u, linkhost_now_ms());
    if (rc != 0 && rc != -EEXIST) {
      store_failed(c);
      return;
    }
    c->rs->status = rc == -EEXIST ? 200 : 201; /* idempotent on origin_user_id */
    if (rc == 0)
      AUDIT(c, "registered_user.create", LOG_STR("id", u.id), LOG_STR("origin_user_id", u.origin_user_id));
    render_user(c, &u);
    raw(c, "\n");
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

/* 1 when url's query has a parameter called name (percent-decoded;
 * "name", "name=" and "name=x" all count). */
static int query_has_param(const char *url, const char *name) {
  const char *q = strchr(url, '?');
  size_t name_len = strlen(name);
  while (q != NULL && *q != '\0') {
    char decoded[64];
    size_t n = 0;
    const char *p = q + 1;
    while (*p != '\0' && *p != '&' && *p != '=' && *p != '#') {
      char ch = *p;
      if (ch == '%' && http_hex_digit(p[1]) >= 0 && http_hex_digit(p[2]) >= 0) {
        ch = (char)(http_hex_digit(p[1]) * 16 + http_hex_digit(p[2]));
        p += 2;
      } else if (ch == '+') {
        ch = ' ';
      }
      if (n < sizeof decoded - 1)
        decoded[n++] = ch;
      p++;
    }
    if (n == name_len && memcmp(decoded, name, n) == 0)
      return 1;
    q = strchr(p, '&');
  }
  return 0;
}

/* Writes the link just minted for the API (the journal would write it only
 * after the answer): a link token is handed out only once it is stored. */
static int keep_minted(call *c, const char *user, const linksvc_link_info *info, const char *callback_url,
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
static void user_link_token(call *c, const principal *p, const linkstore_user *u, int guide) {
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
    detail(c, 405, "Method not allowed.");
    return;
  }
  if (require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  (void)apivalid_check(c->body, guide ? &apivalid_guide_link_token : &apivalid_link_token, 0, &c->errs);
  connector = apivalid_string(c->body, field);
  external_id = apivalid_string(c->body, "external_id");
  callback_url = apivalid_string(c->body, "callback_url");
  state = apivalid_string(c->body, "state");
  if (connector != NULL && field_ok(c, field) && catalog_lookup(c->lh->catalog, connector, &cc) != 0)
    field_error(c, field, "Not a connector of the catalog.");
  if (external_id != NULL && field_ok(c, "external_id")) {
    linkstore_app_credential app;
    if (connector == NULL || !field_ok(c, field) ||
        linkstore_app_for(&c->lh->store, connector, external_id, &app, NULL) != 0)
      field_error(c, "external_id", "No application credential of this connector has this external_id.");
  }
  if (callback_url != NULL && field_ok(c, "callback_url")) {
    if (linkhost_origin_of(callback_url, origin, sizeof origin) != 0)
      field_error(c, "callback_url", "Enter a valid absolute http(s) URL without user info or fragment.");
    else if (linkstore_origin_allowed(&c->lh->store, origin) != 0)
      field_error(c, "callback_url", "Its origin is not an allowed callback origin.");
  }
  if (state != NULL && field_ok(c, "state")) {
    if (callback_url == NULL)
      field_error(c, "state", "state requires callback_url.");
    else if (query_has_param(callback_url, "state"))
      field_error(c, "state", "callback_url already has a state query parameter.");
  }
  if (fail_if_invalid(c))
    return;
  if (connector == NULL) {
    detail(c, 501, "Picker links (no Connector) are not supported yet: name the Connector.");
    return;
  }
  rc = pausehub_mint(c->lh->hub, u->origin_user_id, connector, LINK_TOKEN_TTL_S,
                     callback_url != NULL ? callback_url : "", state != NULL ? state : "", linkhost_now_ms(), &info);
  if (rc != 0) {
    detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  rc = keep_minted(c, u->origin_user_id, &info, callback_url != NULL ? callback_url : "", state != NULL ? state : "");
  if (rc == 0 && external_id != NULL)
    rc = linkstore_link_set_external_id(&c->lh->store, info.token, external_id);
  if (rc != 0) {
    (void)pausehub_expire_link(c->lh->hub, info.token, linkhost_now_ms()); /* never handed out */
    store_failed(c);
    return;
  }
  AUDIT(c, "link_token.create", LOG_STR("registered_user_id", u->id), LOG_STR("connector", connector));
  linkhost_base_url(c->lh, url, sizeof url - LINKSVC_PATH_LEN);
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", info.path);
  c->rs->status = 201;
  raw(c, "{");
  member_str(c, "link_token", info.token, 1);
  member_str(c, "magic_link_url", url, 0);
  member_str(c, "expires_at", info.expires_at, 0);
  raw(c, "}\n");
}

static void users_item(call *c, const principal *p, const char *id, const char *rest, int guide) {
  linkstore_user u;
  int rc;
  if (!apivalid_is_uuid(id) || linkstore_user_get(&c->lh->store, id, &u) != 0) {
    if (require(c, p, LINKAPI_READ_USER) == 0)
      detail(c, 404, "No registered user with this id.");
    return;
  }
  if (strcmp(rest, "link-token/") == 0 || strcmp(rest, "link-token") == 0) {
    user_link_token(c, p, &u, guide);
    return;
  }
  if (rest[0] != '\0' || guide) {
    detail(c, 404, "Not found.");
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    if (require(c, p, LINKAPI_READ_USER) != 0)
      return;
    c->rs->status = 200;
    render_user(c, &u);
    raw(c, "\n");
  } else if (strcmp(c->rq->method, "PATCH") == 0 || strcmp(c->rq->method, "PUT") == 0) {
    if (require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    read_user_fields(c, &u, 0);
    if (fail_if_invalid(c))
      return;
    rc = linkstore_user_update(&c->lh->store, &u);
    if (rc != 0) {
      write_failed(c, rc, "No registered user with this id.");
      return;
    }
    AUDIT(c, "registered_user.update", LOG_STR("id", u.id));
    c->rs->status = 200;
    render_user(c, &u);
    raw(c, "\n");
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    if (require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    rc = linkstore_user_delete(&c->lh->store, id);
    if (rc != 0) {
      write_failed(c, rc, "No registered user with this id.");
      return;
    }
    AUDIT(c, "registered_user.delete", LOG_STR("id", id));
    c->rs->status = 204;
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

/* ---- application credentials ---- */

static void render_app(call *c, const linkstore_app_credential *a) {
  char created[32];
  char modified[32];
  iso_time(a->created_ms, created);
  iso_time(a->modified_ms, modified);
  raw(c, "{");
  member_str(c, "id", a->id, 1);
  member_str(c, "connector_slug", a->connector_slug, 0);
  member_str(c, "client_id", a->client_id, 0);
  member_str(c, "external_id", a->has_external_id ? a->external_id : NULL, 0);
  member_bool(c, "is_global_default", a->is_global_default);
  member_str(c, "created_at", created, 0);
  member_str(c, "modified_at", modified, 0);
  raw(c, "}");
}

static int app_list_cb(void *ctx, const linkstore_app_credential *a) {
  list_ctx *l = ctx;
  if (l->n++ > 0)
    raw(l->c, ",");
  render_app(l->c, a);
  return 0;
}

static int count_cb(void *ctx, const linkstore_app_credential *a) {
  (void)a;
  (*(size_t *)ctx)++;
  return 0;
}


/* client_id, external_id and is_global_default of a checked body into a
 * (those present); *secret: client_secret (NULL when absent or null; a
 * pointer into the body), *set_secret when the body has the member. */
static void read_app_fields(call *c, linkstore_app_credential *a, const char **secret, int *set_secret) {
  yajl_val ext = member(c, "external_id");
  const char *s = apivalid_string(c->body, "client_id");
  if (s != NULL)
    copy_text(a->client_id, sizeof a->client_id, s);
  *set_secret = member(c, "client_secret") != NULL;
  *secret = apivalid_string(c->body, "client_secret");
  if (ext != NULL) {
    s = apivalid_string(c->body, "external_id");
    a->has_external_id = s != NULL;
    copy_text(a->external_id, sizeof a->external_id, s);
  }
  a->is_global_default = apivalid_bool(c->body, "is_global_default", a->is_global_default);
}

/* Answers a create (201) or update (200) of application credential a
 * whose store call returned rc. */
static void answer_app_saved(call *c, int rc, const linkstore_app_credential *a, int status) {
  if (rc == -EEXIST) {
    field_error(c, "external_id", "An application credential with this connector_slug and external_id already exists.");
    (void)fail_if_invalid(c);
  } else if (rc != 0) {
    write_failed(c, rc, "No application credential with this id.");
  } else {
    AUDIT(c, status == 201 ? "application_credential.create" : "application_credential.update", LOG_STR("id", a->id),
          LOG_STR("connector", a->connector_slug));
    c->rs->status = status;
    render_app(c, a);
    raw(c, "\n");
  }
}

static void apps_collection(call *c, const principal *p) {
  if (strcmp(c->rq->method, "GET") == 0) {
    char slug[LINKSTORE_TEXT_MAX + 1];
    list_ctx l = {c, 0};
    int has_slug;
    if (require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    has_slug = query_param(c, "connector_slug", slug, sizeof slug);
    c->rs->status = 200;
    raw(c, "{\"results\":[");
    if (linkstore_app_list(&c->lh->store, has_slug ? slug : NULL, app_list_cb, &l) != 0) {
      detail(c, 500, "The store failed.");
      return;
    }
    raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    raw(c, ",\"next\":null,\"previous\":null}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_app_credential a;
    catalog_connector cc;
    const char *secret = NULL;
    int set_secret = 0;
    int explicit_default = 0;
    size_t existing = 0;
    int rc;
    if (require(c, p, LINKAPI_WRITE_ORGANIZATION) != 0)
      return;
    memset(&a, 0, sizeof a);
    (void)apivalid_check(c->body, &apivalid_app_credential, 0, &c->errs);
    if (field_ok(c, "connector_slug") &&
        catalog_lookup(c->lh->catalog, apivalid_string(c->body, "connector_slug"), &cc) != 0)
      field_error(c, "connector_slug", "Not a connector of the catalog.");
    if (fail_if_invalid(c))
      return;
    copy_text(a.connector_slug, sizeof a.connector_slug, cc.slug);
    read_app_fields(c, &a, &secret, &set_secret);
    explicit_default = member(c, "is_global_default") != NULL;
    if (!explicit_default) {
      (void)linkstore_app_list(&c->lh->store, a.connector_slug, count_cb, &existing);
      a.is_global_default = existing == 0; /* the first one of a connector */
    }
    rc = linkstore_app_create(&c->lh->store, &a, set_secret && secret != NULL && secret[0] != '\0' ? secret : NULL,
                              linkhost_now_ms());
    answer_app_saved(c, rc, &a, 201);
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

static void apps_item(call *c, const principal *p, const char *id) {
  linkstore_app_credential a;
  int rc;
  if (require(c, p, strcmp(c->rq->method, "GET") == 0 ? LINKAPI_READ_ORGANIZATION : LINKAPI_WRITE_ORGANIZATION) != 0)
    return;
  if (!apivalid_is_uuid(id) || linkstore_app_get(&c->lh->store, id, &a) != 0) {
    detail(c, 404, "No application credential with this id.");
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    c->rs->status = 200;
    render_app(c, &a);
    raw(c, "\n");
  } else if (strcmp(c->rq->method, "PATCH") == 0) {
    const char *secret = NULL;
    int set_secret = 0;
    if (member(c, "connector_slug") != NULL)
      field_error(c, "connector_slug", "This field cannot be changed.");
    (void)apivalid_check(c->body, &apivalid_app_credential, 1, &c->errs);
    if (fail_if_invalid(c))
      return;
    read_app_fields(c, &a, &secret, &set_secret);
    rc = linkstore_app_update(&c->lh->store, &a, set_secret, secret != NULL && secret[0] != '\0' ? secret : NULL,
                              linkhost_now_ms());
    answer_app_saved(c, rc, &a, 200);
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    rc = linkstore_app_delete(&c->lh->store, id);
    if (rc != 0) {
      write_failed(c, rc, "No application credential with this id.");
      return;
    }
    AUDIT(c, "application_credential.delete", LOG_STR("id", a.id), LOG_STR("connector", a.connector_slug));
    c->rs->status = 204;
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

/* ---- callback origins ---- */

static int origin_list_cb(void *ctx, const char *origin, uint64_t created_ms) {
  list_ctx *l = ctx;
  char created[32];
  iso_time(created_ms, created);
  if (l->n++ > 0)
    raw(l->c, ",");
  raw(l->c, "{");
  member_str(l->c, "origin", origin, 1);
  member_str(l->c, "created_at", created, 0);
  raw(l->c, "}");
  return 0;
}

static void origins(call *c, const principal *p) {
  char given[2100];
  char origin[600];
  if (strcmp(c->rq->method, "GET") == 0) {
    list_ctx l = {c, 0};
    if (require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    c->rs->status = 200;
    raw(c, "{\"results\":[");
    (void)linkstore_origin_list(&c->lh->store, origin_list_cb, &l);
    raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    raw(c, "}\n");
    return;
  }
  if (require_admin(c, p) != 0)
    return;
  if (strcmp(c->rq->method, "POST") == 0) {
    const char *rest;
    int rc;
    if (apivalid_check(c->body, &apivalid_callback_origin, 0, &c->errs) == 0) {
      copy_text(given, sizeof given, apivalid_string(c->body, "origin"));
      if (linkhost_origin_of(given, origin, sizeof origin) != 0)
        field_error(c, "origin", "Enter scheme://host[:port], http or https.");
      rest = strstr(given, "://");
      rest = rest != NULL ? rest + 3 + strcspn(rest + 3, "/?") : given;
      if (c->errs.count == 0 && !(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        field_error(c, "origin", "An origin has no path or query.");
    }
    if (fail_if_invalid(c))
      return;
    rc = linkstore_origin_add(&c->lh->store, origin, linkhost_now_ms());
    if (rc == -EEXIST) {
      field_error(c, "origin", "This origin is allowed already.");
      (void)fail_if_invalid(c);
      return;
    }
    if (rc != 0) {
      store_failed(c);
      return;
    }
    AUDIT(c, "callback_origin.create", LOG_STR("origin", origin));
    c->rs->status = 201;
    raw(c, "{");
    member_str(c, "origin", origin, 1);
    raw(c, "}\n");
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    int rc;
    if (!query_param(c, "origin", given, sizeof given) || linkhost_origin_of(given, origin, sizeof origin) != 0) {
      detail(c, 400, "Name the origin: ?origin=https%3A%2F%2Fapp.example.com");
      return;
    }
    rc = linkstore_origin_delete(&c->lh->store, origin);
    if (rc != 0) {
      write_failed(c, rc, "This origin is not allowed.");
      return;
    }
    AUDIT(c, "callback_origin.delete", LOG_STR("origin", origin));
    c->rs->status = 204;
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

/* ---- OAuth applications and tokens ---- */

static void render_oauth_app(call *c, const linkstore_oauth_app *a, const char *secret) {
  char created[32];
  const char *s = a->scopes;
  int first = 1;
  iso_time(a->created_ms, created);
  raw(c, "{");
  member_str(c, "id", a->id, 1);
  member_str(c, "name", a->name, 0);
  member_str(c, "description", a->description, 0);
  member_str(c, "redirectUri", a->redirect_uri[0] ? a->redirect_uri : NULL, 0);
  raw(c, ",\"scopes\":[");
  while (*s != '\0') {
    size_t n = strcspn(s, " ");
    if (!first)
      raw(c, ",");
    (void)jsonw_string(c->out, s, n);
    first = 0;
    s += n;
    while (*s == ' ')
      s++;
  }
  raw(c, "]");
  member_str(c, "clientId", a->client_id, 0);
  if (secret != NULL)
    member_str(c, "clientSecret", secret, 0);
  member_str(c, "createdAt", created, 0);
  raw(c, "}");
}

static int oauth_list_cb(void *ctx, const linkstore_oauth_app *a) {
  list_ctx *l = ctx;
  if (l->n++ > 0)
    raw(l->c, ",");
  render_oauth_app(l->c, a, NULL);
  return 0;
}

static void oauth_apps(call *c, const principal *p, const char *id) {
  if (require_admin(c, p) != 0)
    return;
  if (id != NULL) {
    int rc;
    if (strcmp(c->rq->method, "DELETE") != 0) {
      detail(c, 405, "Method not allowed.");
      return;
    }
    rc = apivalid_is_uuid(id) ? linkstore_oauth_app_delete(&c->lh->store, id) : -ENOENT;
    if (rc != 0) {
      write_failed(c, rc, "No OAuth application with this id.");
      return;
    }
    AUDIT(c, "oauth_application.delete", LOG_STR("id", id));
    c->rs->status = 204;
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    list_ctx l = {c, 0};
    c->rs->status = 200;
    raw(c, "{\"results\":[");
    (void)linkstore_oauth_app_list(&c->lh->store, oauth_list_cb, &l);
    raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    raw(c, "}\n");
  } else if (strcmp(c->rq->method, "POST") == 0) {
    linkstore_oauth_app a;
    yajl_val scopes = member(c, "scopes");
    unsigned bits = 0;
    char secret[80];
    char hash[65];
    int rc;
    memset(&a, 0, sizeof a);
    (void)apivalid_check(c->body, &apivalid_oauth_app, 0, &c->errs);
    copy_text(a.name, sizeof a.name, apivalid_string(c->body, "name"));
    copy_text(a.description, sizeof a.description, apivalid_string(c->body, "description"));
    copy_text(a.redirect_uri, sizeof a.redirect_uri, apivalid_string(c->body, "redirectUri"));
    if (field_ok(c, "redirectUri")) {
      char origin[600];
      if (linkhost_origin_of(a.redirect_uri, origin, sizeof origin) != 0)
        field_error(c, "redirectUri", "Enter a valid absolute URL.");
    }
    if (field_ok(c, "scopes")) {
      size_t i;
      for (i = 0; i < YAJL_GET_ARRAY(scopes)->len; i++) {
        const char *sv = YAJL_GET_STRING(YAJL_GET_ARRAY(scopes)->values[i]);
        unsigned one = 0;
        if (sv == NULL || strchr(sv, ' ') != NULL || parse_scopes(sv, &one) != 0 || one == 0) {
          field_error(c, "scopes", "Unknown scope: use read:user, write:user, read:organization, "
                                   "write:organization, read:members, write:members, read:webhooks, "
                                   "write:webhooks, admin:organization or admin:all.");
          break;
        }
        bits |= one;
      }
    }
    if (c->errs.count == 0 && (bits & ~p->scopes) != 0)
      field_error(c, "scopes", "A token cannot grant scopes it does not hold.");
    if (c->errs.count == 0 && (bits & LINKAPI_ADMIN_ALL) && !p->all)
      field_error(c, "scopes", "Only the owner or an admin:all token may grant admin:all.");
    if (fail_if_invalid(c))
      return;
    scopes_text(bits, a.scopes, sizeof a.scopes);
    memcpy(secret, "arcs_", 5);
    if (secretbox_random_hex(secret + 5, 24) != 0) {
      detail(c, 500, "No random source.");
      return;
    }
    secretbox_sha256_hex(secret, strlen(secret), hash);
    rc = linkstore_oauth_app_create(&c->lh->store, &a, hash, linkhost_now_ms());
    if (rc == -EEXIST) {
      field_error(c, "name", "An OAuth application with this name already exists.");
      (void)fail_if_invalid(c);
    } else if (rc != 0) {
      store_failed(c);
    } else {
      AUDIT(c, "oauth_application.create", LOG_STR("id", a.id), LOG_STR("client_id", a.client_id),
            LOG_STR("scopes", a.scopes));
      c->rs->status = 201;
      render_oauth_app(c, &a, secret); /* the one time the secret is shown */
      raw(c, "\n");
    }
    OPENSSL_cleanse(secret, sizeof secret);
  } else {
    detail(c, 405, "Method not allowed.");
  }
}

/* RFC 6749 error answer. */
static void oauth_error(call *c, int status, const char *error, const char *description) {
  c->rs->status = status;
  c->out->len = 0;
  raw(c, "{\"error\":");
  str(c, error);
  raw(c, ",\"error_description\":");
  str(c, description);
  raw(c, "}\n");
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
static void oauth_token(call *c) {
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
    detail(c, 405, "Method not allowed.");
    return;
  }
  if (json) {
    if (c->body == NULL) {
      oauth_error(c, 400, "invalid_request", "The body is not JSON.");
      return;
    }
    json_param(c->body, "grant_type", grant, sizeof grant);
    json_param(c->body, "client_id", client_id, sizeof client_id);
    json_param(c->body, "client_secret", secret, sizeof secret);
    has_scope = json_param(c->body, "scope", scope, sizeof scope) == 0;
  } else {
    const char *b = c->rq->body;
    size_t n = c->rq->body_len;
    if (linkpage_form_field(b, n, "grant_type", grant, sizeof grant) <= 0)
      grant[0] = '\0';
    if (linkpage_form_field(b, n, "client_id", client_id, sizeof client_id) <= 0)
      client_id[0] = '\0';
    if (linkpage_form_field(b, n, "client_secret", secret, sizeof secret) <= 0)
      secret[0] = '\0';
    has_scope = linkpage_form_field(b, n, "scope", scope, sizeof scope) > 0;
  }
  if (strcmp(grant, "client_credentials") != 0) {
    oauth_error(c, 400, grant[0] ? "unsupported_grant_type" : "invalid_request",
                "grant_type must be client_credentials.");
    OPENSSL_cleanse(secret, sizeof secret);
    return;
  }
  secretbox_sha256_hex(secret, strlen(secret), hash);
  OPENSSL_cleanse(secret, sizeof secret);
  if (client_id[0] == '\0' || linkstore_oauth_app_check(&c->lh->store, client_id, hash, &a) != 0) {
    oauth_error(c, 401, "invalid_client", "Unknown client or wrong secret.");
    c->rs->www_authenticate = "Bearer";
    return;
  }
  snprintf(actor, sizeof actor, "app:%s", a.client_id);
  (void)parse_scopes(a.scopes, &granted);
  if (has_scope) {
    if (parse_scopes(scope, &asked) != 0 || (asked & ~granted) != 0) {
      oauth_error(c, 400, "invalid_scope", "A requested scope is not granted to this application.");
      return;
    }
    granted = asked;
  }
  scopes_text(granted, scope, sizeof scope);
  memcpy(token, "arat_", 5);
  if (secretbox_random_hex(token + 5, 32) != 0) {
    detail(c, 500, "No random source.");
    return;
  }
  secretbox_sha256_hex(token, strlen(token), hash);
  if (linkstore_oauth_token_put(&c->lh->store, hash, a.id, scope,
                                linkhost_now_ms() + (uint64_t)LINKAPI_TOKEN_TTL_S * 1000) != 0) {
    store_failed(c);
    return;
  }
  c->rs->status = 200;
  LOG_AUDIT(actor, "oauth_token.create", LOG_STR("scope", scope));
  raw(c, "{");
  member_str(c, "access_token", token, 1);
  member_str(c, "token_type", "Bearer", 0);
  raw(c, ",\"expires_in\":");
  (void)jsonw_u64(c->out, LINKAPI_TOKEN_TTL_S);
  member_str(c, "scope", scope, 0);
  raw(c, "}\n");
  OPENSSL_cleanse(token, sizeof token);
}

/* ---- unified-API link token ---- */

static int known_category(const char *s, size_t n) {
  size_t i;
  for (i = 0; apivalid_categories[i] != NULL; i++) {
    if (strlen(apivalid_categories[i]) == n && memcmp(apivalid_categories[i], s, n) == 0)
      return 1;
  }
  return 0;
}

static void unified_link_token(call *c, const principal *p, const char *category, size_t category_len) {
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
    detail(c, 404, "Unknown category.");
    return;
  }
  if (strcmp(c->rq->method, "POST") != 0) {
    detail(c, 405, "Method not allowed.");
    return;
  }
  if (require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  (void)apivalid_check(c->body, &apivalid_unified_link_token, 0, &c->errs);
  email = apivalid_string(c->body, "end_user_email_address");
  org = apivalid_string(c->body, "end_user_organization_name");
  origin_id = apivalid_string(c->body, "end_user_origin_id");
  integration = apivalid_string(c->body, "integration");
  magic = apivalid_bool(c->body, "should_create_magic_link_url", 0);
  mins = apivalid_integer(c->body, "link_expiry_mins", 30);
  if (integration != NULL && field_ok(c, "integration") && catalog_lookup(c->lh->catalog, integration, &cc) != 0)
    field_error(c, "integration", "Not a connector of the catalog.");
  if (!magic && mins > 720)
    field_error(c, "link_expiry_mins", "Ensure this value is less than or equal to 720 (10080 with "
                                       "should_create_magic_link_url).");
  if (fail_if_invalid(c))
    return;
  if (integration == NULL) {
    detail(c, 501, "Picker links (no integration) are not supported yet: name the integration.");
    return;
  }
  memset(&u, 0, sizeof u);
  copy_text(u.origin_user_id, sizeof u.origin_user_id, origin_id);
  copy_text(u.origin_user_name, sizeof u.origin_user_name, email);
  u.has_group = 1;
  copy_text(u.company_id, sizeof u.company_id, org);
  copy_text(u.company_name, sizeof u.company_name, org);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  rc = linkstore_user_create(&c->lh->store, &u, linkhost_now_ms());
  if (rc != 0 && rc != -EEXIST) {
    store_failed(c);
    return;
  }
  if (rc == 0)
    AUDIT(c, "registered_user.create", LOG_STR("id", u.id), LOG_STR("origin_user_id", u.origin_user_id));
  rc = pausehub_mint(c->lh->hub, u.origin_user_id, cc.slug, (unsigned)mins * 60, "", "", linkhost_now_ms(), &info);
  if (rc != 0) {
    detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  if (keep_minted(c, origin_id, &info, "", "") != 0) {
    (void)pausehub_expire_link(c->lh->hub, info.token, linkhost_now_ms()); /* never handed out */
    store_failed(c);
    return;
  }
  AUDIT(c, "link_token.create", LOG_STR("origin_user_id", u.origin_user_id), LOG_STR("connector", cc.slug));
  linkhost_base_url(c->lh, url, sizeof url - LINKSVC_PATH_LEN);
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", info.path);
  c->rs->status = 200;
  raw(c, "{");
  member_str(c, "link_token", info.token, 1);
  member_str(c, "integration_name", cc.name, 0);
  member_str(c, "magic_link_url", magic ? url : NULL, 0);
  raw(c, "}\n");
}

/* ---- routing ---- */

#define USERS "/api/v1/registered-users/"
#define APPS "/api/v1/application-credentials/"
#define ORIGINS "/api/v1/callback-origins/"
#define OAUTH_APPS "/api/v1/oauth/applications"
#define GUIDE_USERS "/api/registered-users/" /* the Link guide's form of the link-token call */

static int prefixed(const char *path, const char *prefix) {
  return strncmp(path, prefix, strlen(prefix)) == 0;
}

int linkapi_owns(const char *path) {
  return prefixed(path, "/api/") || strcmp(path, "/oauth/token") == 0;
}

/* Splits "{id}/rest" into id (cap bytes) and rest. Returns 0 or -1. */
static int split_id(const char *s, char *id, size_t cap, const char **rest) {
  size_t n = strcspn(s, "/");
  if (n == 0 || n >= cap)
    return -1;
  memcpy(id, s, n);
  id[n] = '\0';
  *rest = s[n] == '/' ? s + n + 1 : s + n;
  return 0;
}

void linkapi_handle(linkhost_t *lh, const linkapi_request *rq, linkapi_response *rs, dynbuf *out) {
  call c;
  principal p;
  const char *path = rq->path;
  const char *rest;
  char id[LINKSTORE_ID_LEN + 8];
  char perr[128];
  memset(&c, 0, sizeof c);
  c.lh = lh;
  c.rq = rq;
  c.rs = rs;
  c.out = out;
  rs->status = 500;
  rs->www_authenticate = NULL;
  apivalid_errors_init(&c.errs);
  if (lh->store.db == NULL) {
    detail(&c, 503, "authrelay is shutting down.");
    goto done;
  }
  if (memchr(rq->body, '\0', rq->body_len) != NULL) {
    /* C strings end at a NUL: a value holding one would be cut short */
    detail(&c, 400, "JSON strings may not contain U+0000.");
    goto done;
  }
  if (rq->body_len > 0 && (strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PATCH") == 0 ||
                           strcmp(rq->method, "PUT") == 0)) {
    /* /oauth/token takes a form (RFC 6749) or JSON; everything else JSON,
     * whatever Content-Type says (curl -d labels JSON as a form). */
    int is_form = strcmp(path, "/oauth/token") == 0 && rq->content_type != NULL &&
                  strncmp(rq->content_type, "application/x-www-form-urlencoded", 33) == 0;
    if (!is_form) {
      int rc = apivalid_parse(rq->body, rq->body_len, &c.body, perr, sizeof perr);
      if (rc == -ENOMEM) {
        detail(&c, 503, "Out of memory.");
        goto done;
      }
      if (rc != 0) {
        if (strcmp(path, "/oauth/token") == 0)
          oauth_error(&c, 400, "invalid_request", "The body is not a JSON object.");
        else
          detail(&c, 400, perr);
        goto done;
      }
    }
  }
  if (strcmp(path, "/oauth/token") == 0) {
    oauth_token(&c);
    goto done;
  }
  if (authenticate(&c, &p) != 0)
    goto done;
  c.who = &p;
  if (strcmp(path, USERS) == 0 || strcmp(path, "/api/v1/registered-users") == 0) {
    users_collection(&c, &p);
  } else if (prefixed(path, USERS)) {
    if (split_id(path + strlen(USERS), id, sizeof id, &rest) != 0)
      detail(&c, 404, "Not found.");
    else
      users_item(&c, &p, id, rest, 0);
  } else if (prefixed(path, GUIDE_USERS)) {
    if (split_id(path + strlen(GUIDE_USERS), id, sizeof id, &rest) != 0)
      detail(&c, 404, "Not found.");
    else
      users_item(&c, &p, id, rest, 1);
  } else if (strcmp(path, APPS) == 0 || strcmp(path, "/api/v1/application-credentials") == 0) {
    apps_collection(&c, &p);
  } else if (prefixed(path, APPS)) {
    if (split_id(path + strlen(APPS), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      detail(&c, 404, "Not found.");
    else
      apps_item(&c, &p, id);
  } else if (strcmp(path, ORIGINS) == 0 || strcmp(path, "/api/v1/callback-origins") == 0) {
    origins(&c, &p);
  } else if (strcmp(path, OAUTH_APPS) == 0 || strcmp(path, OAUTH_APPS "/") == 0) {
    oauth_apps(&c, &p, NULL);
  } else if (prefixed(path, OAUTH_APPS "/")) {
    if (split_id(path + strlen(OAUTH_APPS "/"), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      detail(&c, 404, "Not found.");
    else
      oauth_apps(&c, &p, id);
  } else {
    /* /api/{category}/v1/link-token */
    const char *cat = path + strlen("/api/");
    size_t n = strcspn(cat, "/");
    if (n > 0 && (strcmp(cat + n, "/v1/link-token") == 0 || strcmp(cat + n, "/v1/link-token/") == 0))
      unified_link_token(&c, &p, cat, n);
    else
      detail(&c, 404, "Not found.");
  }
done:
  if (c.body != NULL)
    yajl_tree_free(c.body);
  apivalid_errors_free(&c.errs);
}

int linkapi_authorize(linkhost_t *lh, const linkapi_request *rq, unsigned need, dynbuf *out) {
  linkapi_response rs = {0, NULL};
  call c;
  principal p;
  memset(&c, 0, sizeof c);
  c.lh = lh;
  c.rq = rq;
  c.rs = &rs;
  c.out = out;
  if (lh->store.db == NULL) {
    detail(&c, 503, "authrelay is shutting down.");
    return rs.status;
  }
  if (authenticate(&c, &p) != 0)
    return rs.status;
  if (require(&c, &p, need) != 0)
    return rs.status;
  return 0;
}
