/* apioauth: the OAuth side of the link API (linkapi.h; DESIGN.md "Link
 * service", "OAuth applications"): the OAuth applications that are clients
 * of the control API (create with scopes no wider than the caller's, list,
 * delete; owner or admin only; the client secret shown once), and
 * POST /oauth/token, the client_credentials grant that turns an
 * application's id and secret into an access token apicall_authenticate()
 * accepts. Only hashes of secrets and tokens are stored. All pointers
 * borrowed. */
#ifndef AUTHRELAY_APIOAUTH_H
#define AUTHRELAY_APIOAUTH_H

#include "apicall.h"

/* GET/POST /api/v1/oauth/applications (id NULL), DELETE .../{id}. */
void apioauth_apps(apicall_ctx *c, const apicall_principal *p, const char *id);

/* POST /oauth/token; authenticates the client itself (form or JSON body). */
void apioauth_token(apicall_ctx *c);

/* Answers status with the RFC 6749 error body {"error", "error_description"},
 * replacing what was written. */
void apioauth_error(apicall_ctx *c, int status, const char *error, const char *description);

#endif
