/* apiconnections: a registered user's connected accounts in the link API
 * (linkapi.h; DESIGN.md "Connections: the credential reaches the tool"):
 *
 *   POST   /api/v1/registered-users/{id}/connections/{connector}/token
 *          read:credentials (the owner key, or a token granted it; never
 *          implied) -> 200 {connector, auth, access_token | api_key,
 *          token_type, expires_at, scopes}, fresh (connections.h refreshes an
 *          expiring OAuth2 token first). No usable connection -> 409 whose
 *          body is an authenticate_meta result {type, Connector,
 *          link_token, magic_link_url, expires_at, message} with a fresh
 *          trusted link for (user, connector): a tool server returns it
 *          verbatim as its tool result.
 *   GET    /api/v1/registered-users/{id}/connections/      read:user
 *          -> {"results": [{connector, auth, status active|broken,
 *          created_at, modified_at, expires_at}]}: never a secret.
 *   DELETE /api/v1/registered-users/{id}/connections/{connector}/
 *          write:user -> 204 (revoked at the provider first, connections.h).
 *
 * {id} is a registered user's id, or "origin:" + its URL-encoded
 * origin_user_id (what a tool server sees in X-Registered-User-Id); for the
 * token API an origin_user_id not registered yet has no connection (409,
 * the link registers it). In remote mode (link_service.url) the remote
 * holds the credentials: 501. All pointers borrowed.
 */
#ifndef AUTHRELAY_APICONNECTIONS_H
#define AUTHRELAY_APICONNECTIONS_H

#include "apicall.h"

/* 1 when rest (the path after /api/v1/registered-users/) names a
 * connections resource: "{id}/connections" and below. */
int apiconnections_owns(const char *rest);

/* Answers the request for rest (apiconnections_owns said yes). */
void apiconnections_handle(apicall_ctx *c, const apicall_principal *p, const char *rest);

#endif
