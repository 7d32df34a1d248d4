/* linkapi: the Agent Handler-compatible API of the embedded link service,
 * on the control listener (DESIGN.md "Link service", "Control API").
 *
 * control.c parses the HTTP request and calls linkapi_handle() for /api/...
 * and /oauth/token, and linkapi_authorize() for its own /v1 endpoints. This
 * module (linkapi.c routes; apicall.h is shared; one api*.c per resource)
 * authenticates the bearer (the owner key, or an access token from
 * POST /oauth/token, checked against its scopes), parses and validates the
 * JSON body with apivalid.h (the reference tables: lengths in characters,
 * types, enums, nullability, uuid) and answers from the store (store.h,
 * through linkhost.h), once the store's callbacks have answered.
 * Validation errors are 400 with a body naming each wrong field, as Django
 * REST framework does: {"origin_user_id": ["This field is required."]};
 * other errors are {"detail": "..."}. Every successful change writes one
 * audit line (log_audit: actor "owner" or "app:<client_id>", action, ids;
 * never a secret).
 *
 *   POST/GET          /api/v1/registered-users/
 *   GET/PATCH/DELETE  /api/v1/registered-users/{id}/
 *   POST              /api/v1/registered-users/{id}/link-token/
 *   POST              /api/registered-users/{id}/link-token  (the Link guide's
 *                     form: "Connector"; without it a picker link: 501 for now)
 *   POST/GET          /api/v1/application-credentials/
 *   GET/PATCH/DELETE  /api/v1/application-credentials/{id}/
 *   POST/GET/DELETE   /api/v1/callback-origins/   (DELETE ?origin=...)
 *   POST/GET          /api/v1/oauth/applications  DELETE .../{id}
 *   POST              /api/v1/registered-users/{id}/connections/{connector}/token
 *   GET               /api/v1/registered-users/{id}/connections/
 *   DELETE            /api/v1/registered-users/{id}/connections/{connector}/
 *                     (apiconnections.h; {id} also origin:<origin_user_id>)
 *   POST              /api/{category}/v1/link-token
 *   POST              /api/v1/link-flows/{flow_id}/confirm  (link binding: apilinkflows.h)
 *   POST              /oauth/token (client_credentials)
 */
#ifndef AUTHRELAY_LINKAPI_H
#define AUTHRELAY_LINKAPI_H

#include <stddef.h>

#include "dynbuf.h"
#include "linkhost.h"

#define LINKAPI_BODY_MAX (64 * 1024) /* request body cap on the control listener (413) */
#define LINKAPI_TOKEN_TTL_S 3600     /* access tokens from /oauth/token */

/* Scopes, as bits. */
enum {
  LINKAPI_READ_USER = 1 << 0,
  LINKAPI_WRITE_USER = 1 << 1,
  LINKAPI_READ_ORGANIZATION = 1 << 2,
  LINKAPI_WRITE_ORGANIZATION = 1 << 3,
  LINKAPI_READ_MEMBERS = 1 << 4,
  LINKAPI_WRITE_MEMBERS = 1 << 5,
  LINKAPI_READ_WEBHOOKS = 1 << 6,
  LINKAPI_WRITE_WEBHOOKS = 1 << 7,
  LINKAPI_ADMIN_ORGANIZATION = 1 << 8,
  LINKAPI_ADMIN_ALL = 1 << 9,
  /* authrelay's extension: the token API hands out connected credentials.
   * Never implied by another scope (admin:all included); only the owner
   * key or an admin:all token may grant it to an OAuth application. */
  LINKAPI_READ_CREDENTIALS = 1 << 10
};

/* A request on the control listener, as control.c read it. All borrowed. */
typedef struct linkapi_request {
  const char *method;        /* "GET", "POST", ... */
  const char *path;          /* target without the query, NUL-terminated */
  const char *query;         /* after '?', or "" */
  const char *authorization; /* the Authorization header, or NULL */
  const char *content_type;  /* or NULL */
  const char *body;          /* body bytes (NUL-terminated copy) */
  size_t body_len;
  const char *owner_key;     /* the owner key ("" when none) */
} linkapi_request;

/* The answer: status, and a JSON body appended to out. */
typedef struct linkapi_response {
  int status;
  const char *www_authenticate; /* for 401, or NULL (static string) */
} linkapi_response;

/* 1 when path is one of linkapi's. */
int linkapi_owns(const char *path);

/* The answer to a request: status and JSON body (valid during the call). */
typedef void (*linkapi_done_cb)(void *data, const linkapi_response *rs, const dynbuf *body);

/* Answers rq (copied: the caller may free it on return). done(data, ...)
 * runs exactly once: before linkapi_handle returns when no store call is
 * needed, else later from the store's callback on the control loop. */
void linkapi_handle(linkhost_t *lh, const linkapi_request *rq, linkapi_done_cb done, void *data);

/* For the control API's own endpoints: done gets status 0 when rq's
 * bearer is the owner key or a live token holding every scope in need;
 * else the status to refuse with (401 or 403) and its body. Runs done as
 * linkapi_handle does. */
void linkapi_authorize(linkhost_t *lh, const linkapi_request *rq, unsigned need, linkapi_done_cb done, void *data);

#endif
