/* linkapi: the link service's HTTP API, its entry points and routing table.
 * See linkapi.h. Each request's body is parsed here (apivalid.h), its
 * caller authenticated (apicall.h), and it is handed to the file of its
 * resource:
 *   apiusers.c    registered users
 *   apilinks.c    link tokens (registered user, Link guide form, unified API)
 *   apicreds.c    application credentials
 *   apiorigins.c  callback origins
 *   apioauth.c    OAuth applications and POST /oauth/token
 *   apiconnections.c  a user's connections and the token API
 */
#include "linkapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apicall.h"
#include "apiconnections.h"
#include "apicreds.h"
#include "apilinkflows.h"
#include "apilinks.h"
#include "apioauth.h"
#include "apiorigins.h"
#include "apiusers.h"

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

/* A new call with a copy of rq, or NULL. */
static apicall_ctx *call_new(linkhost_t *lh, const linkapi_request *rq, linkapi_done_cb done, void *data) {
  const char *in[6] = {rq->method, rq->path, rq->query, rq->authorization, rq->content_type, rq->owner_key};
  apicall_ctx *c = calloc(1, sizeof *c);
  size_t len = rq->body_len + 1;
  size_t i;
  char *p;
  if (c == NULL)
    return NULL;
  for (i = 0; i < 6; i++)
    len += in[i] != NULL ? strlen(in[i]) + 1 : 0;
  c->req_buf = malloc(len);
  if (c->req_buf == NULL) {
    free(c);
    return NULL;
  }
  p = c->req_buf;
  memcpy(p, rq->body, rq->body_len);
  p[rq->body_len] = '\0';
  c->req.body = p;
  c->req.body_len = rq->body_len;
  p += rq->body_len + 1;
  for (i = 0; i < 6; i++) {
    const char *copy = NULL;
    if (in[i] != NULL) {
      size_t n = strlen(in[i]) + 1;
      memcpy(p, in[i], n);
      copy = p;
      p += n;
    }
    if (i == 0)
      c->req.method = copy;
    else if (i == 1)
      c->req.path = copy;
    else if (i == 2)
      c->req.query = copy != NULL ? copy : "";
    else if (i == 3)
      c->req.authorization = copy;
    else if (i == 4)
      c->req.content_type = copy;
    else
      c->req.owner_key = copy != NULL ? copy : "";
  }
  c->lh = lh;
  c->rq = &c->req;
  c->rs = &c->resp;
  c->out = &c->answer;
  dynbuf_init(&c->answer, 16 * 1024 * 1024);
  c->resp.status = 500;
  apivalid_errors_init(&c->errs);
  c->done = done;
  c->done_data = data;
  return c;
}

/* Out of memory before a call exists: the answer without one. */
static void answer_no_memory(linkapi_done_cb done, void *data) {
  static const char body[] = "{\"detail\":\"Out of memory.\"}\n";
  linkapi_response rs = {503, NULL};
  dynbuf out = {(char *)body, sizeof body - 1, sizeof body, sizeof body, 0};
  done(data, &rs, &out);
}

/* The caller is authenticated: to the file of the resource. */
static void route(apicall_ctx *c) {
  const apicall_principal *p = c->who;
  const char *path = c->rq->path;
  const char *rest;
  char id[STORE_ID_LEN + 8];
  if (strcmp(path, USERS) == 0 || strcmp(path, "/api/v1/registered-users") == 0) {
    apiusers_collection(c, p);
  } else if (prefixed(path, USERS) && apiconnections_owns(path + strlen(USERS))) {
    apiconnections_handle(c, p, path + strlen(USERS));
  } else if (prefixed(path, USERS)) {
    if (split_id(path + strlen(USERS), id, sizeof id, &rest) != 0)
      apicall_detail(c, 404, "Not found.");
    else
      apiusers_item(c, p, id, rest, 0);
  } else if (prefixed(path, GUIDE_USERS)) {
    if (split_id(path + strlen(GUIDE_USERS), id, sizeof id, &rest) != 0)
      apicall_detail(c, 404, "Not found.");
    else
      apiusers_item(c, p, id, rest, 1);
  } else if (strcmp(path, APPS) == 0 || strcmp(path, "/api/v1/application-credentials") == 0) {
    apicreds_collection(c, p);
  } else if (prefixed(path, APPS)) {
    if (split_id(path + strlen(APPS), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      apicall_detail(c, 404, "Not found.");
    else
      apicreds_item(c, p, id);
  } else if (prefixed(path, "/api/v1/link-flows/")) {
    apilinkflows_handle(c, p, path + strlen("/api/v1/link-flows/"));
  } else if (strcmp(path, ORIGINS) == 0 || strcmp(path, "/api/v1/callback-origins") == 0) {
    apiorigins_handle(c, p);
  } else if (strcmp(path, OAUTH_APPS) == 0 || strcmp(path, OAUTH_APPS "/") == 0) {
    apioauth_apps(c, p, NULL);
  } else if (prefixed(path, OAUTH_APPS "/")) {
    if (split_id(path + strlen(OAUTH_APPS "/"), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      apicall_detail(c, 404, "Not found.");
    else
      apioauth_apps(c, p, id);
  } else {
    /* /api/{category}/v1/link-token */
    const char *cat = path + strlen("/api/");
    size_t n = strcspn(cat, "/");
    if (n > 0 && (strcmp(cat + n, "/v1/link-token") == 0 || strcmp(cat + n, "/v1/link-token/") == 0))
      apilinks_unified_token(c, p, cat, n);
    else
      apicall_detail(c, 404, "Not found.");
  }
}

/* Parses the body and authenticates the caller. */
static void begin(apicall_ctx *c) {
  const linkapi_request *rq = c->rq;
  const char *path = rq->path;
  char perr[128];
  if (c->lh->store.ops == NULL || c->lh->closing) {
    apicall_detail(c, 503, "authrelay is shutting down.");
    return;
  }
  if (memchr(rq->body, '\0', rq->body_len) != NULL) {
    /* C strings end at a NUL: a value holding one would be cut short */
    apicall_detail(c, 400, "JSON strings may not contain U+0000.");
    return;
  }
  if (rq->body_len > 0 && (strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PATCH") == 0 ||
                           strcmp(rq->method, "PUT") == 0)) {
    /* /oauth/token takes a form (RFC 6749) or JSON; everything else JSON,
     * whatever Content-Type says (curl -d labels JSON as a form). */
    int is_form = strcmp(path, "/oauth/token") == 0 && rq->content_type != NULL &&
                  strncmp(rq->content_type, "application/x-www-form-urlencoded", 33) == 0;
    if (!is_form) {
      int rc = apivalid_parse(rq->body, rq->body_len, &c->body, perr, sizeof perr);
      if (rc == -ENOMEM) {
        apicall_detail(c, 503, "Out of memory.");
        return;
      }
      if (rc != 0) {
        if (strcmp(path, "/oauth/token") == 0)
          apioauth_error(c, 400, "invalid_request", "The body is not a JSON object.");
        else
          apicall_detail(c, 400, perr);
        return;
      }
    }
  }
  if (strcmp(path, "/oauth/token") == 0) {
    apioauth_token(c);
    return;
  }
  apicall_authenticate(c, route);
}

void linkapi_handle(linkhost_t *lh, const linkapi_request *rq, linkapi_done_cb done, void *data) {
  apicall_ctx *c = call_new(lh, rq, done, data);
  if (c == NULL) {
    answer_no_memory(done, data);
    return;
  }
  apicall_run(c, begin);
}

/* The caller is authenticated: does it hold the scopes? */
static void check_scopes(apicall_ctx *c) {
  if (apicall_require(c, c->who, c->need) == 0)
    c->rs->status = 0;
}

static void begin_authorize(apicall_ctx *c) {
  if (c->lh->store.ops == NULL || c->lh->closing) {
    apicall_detail(c, 503, "authrelay is shutting down.");
    return;
  }
  apicall_authenticate(c, check_scopes);
}

void linkapi_authorize(linkhost_t *lh, const linkapi_request *rq, unsigned need, linkapi_done_cb done, void *data) {
  apicall_ctx *c = call_new(lh, rq, done, data);
  if (c == NULL) {
    answer_no_memory(done, data);
    return;
  }
  c->need = need;
  apicall_run(c, begin_authorize);
}
