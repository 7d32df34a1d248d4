/* linkapi: the link service's HTTP API, its entry points and routing table.
 * See linkapi.h. Each request's body is parsed here (apivalid.h), its
 * caller authenticated (apicall.h), and it is handed to the file of its
 * resource:
 *   apiusers.c    registered users
 *   apilinks.c    link tokens (registered user, Link guide form, unified API)
 *   apicreds.c    application credentials
 *   apiorigins.c  callback origins
 *   apioauth.c    OAuth applications and POST /oauth/token
 */
#include "linkapi.h"

#include <errno.h>
#include <string.h>

#include "apicall.h"
#include "apicreds.h"
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

void linkapi_handle(linkhost_t *lh, const linkapi_request *rq, linkapi_response *rs, dynbuf *out) {
  apicall_ctx c;
  apicall_principal p;
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
  if (lh->store.ops == NULL) {
    apicall_detail(&c, 503, "authrelay is shutting down.");
    goto done;
  }
  if (memchr(rq->body, '\0', rq->body_len) != NULL) {
    /* C strings end at a NUL: a value holding one would be cut short */
    apicall_detail(&c, 400, "JSON strings may not contain U+0000.");
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
        apicall_detail(&c, 503, "Out of memory.");
        goto done;
      }
      if (rc != 0) {
        if (strcmp(path, "/oauth/token") == 0)
          apioauth_error(&c, 400, "invalid_request", "The body is not a JSON object.");
        else
          apicall_detail(&c, 400, perr);
        goto done;
      }
    }
  }
  if (strcmp(path, "/oauth/token") == 0) {
    apioauth_token(&c);
    goto done;
  }
  if (apicall_authenticate(&c, &p) != 0)
    goto done;
  c.who = &p;
  if (strcmp(path, USERS) == 0 || strcmp(path, "/api/v1/registered-users") == 0) {
    apiusers_collection(&c, &p);
  } else if (prefixed(path, USERS)) {
    if (split_id(path + strlen(USERS), id, sizeof id, &rest) != 0)
      apicall_detail(&c, 404, "Not found.");
    else
      apiusers_item(&c, &p, id, rest, 0);
  } else if (prefixed(path, GUIDE_USERS)) {
    if (split_id(path + strlen(GUIDE_USERS), id, sizeof id, &rest) != 0)
      apicall_detail(&c, 404, "Not found.");
    else
      apiusers_item(&c, &p, id, rest, 1);
  } else if (strcmp(path, APPS) == 0 || strcmp(path, "/api/v1/application-credentials") == 0) {
    apicreds_collection(&c, &p);
  } else if (prefixed(path, APPS)) {
    if (split_id(path + strlen(APPS), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      apicall_detail(&c, 404, "Not found.");
    else
      apicreds_item(&c, &p, id);
  } else if (strcmp(path, ORIGINS) == 0 || strcmp(path, "/api/v1/callback-origins") == 0) {
    apiorigins_handle(&c, &p);
  } else if (strcmp(path, OAUTH_APPS) == 0 || strcmp(path, OAUTH_APPS "/") == 0) {
    apioauth_apps(&c, &p, NULL);
  } else if (prefixed(path, OAUTH_APPS "/")) {
    if (split_id(path + strlen(OAUTH_APPS "/"), id, sizeof id, &rest) != 0 || rest[0] != '\0')
      apicall_detail(&c, 404, "Not found.");
    else
      apioauth_apps(&c, &p, id);
  } else {
    /* /api/{category}/v1/link-token */
    const char *cat = path + strlen("/api/");
    size_t n = strcspn(cat, "/");
    if (n > 0 && (strcmp(cat + n, "/v1/link-token") == 0 || strcmp(cat + n, "/v1/link-token/") == 0))
      apilinks_unified_token(&c, &p, cat, n);
    else
      apicall_detail(&c, 404, "Not found.");
  }
done:
  if (c.body != NULL)
    yajl_tree_free(c.body);
  apivalid_errors_free(&c.errs);
}

int linkapi_authorize(linkhost_t *lh, const linkapi_request *rq, unsigned need, dynbuf *out) {
  linkapi_response rs = {0, NULL};
  apicall_ctx c;
  apicall_principal p;
  memset(&c, 0, sizeof c);
  c.lh = lh;
  c.rq = rq;
  c.rs = &rs;
  c.out = out;
  if (lh->store.ops == NULL) {
    apicall_detail(&c, 503, "authrelay is shutting down.");
    return rs.status;
  }
  if (apicall_authenticate(&c, &p) != 0)
    return rs.status;
  if (apicall_require(&c, &p, need) != 0)
    return rs.status;
  return 0;
}
