/* credserve: the control loop's side of credential injection on tool
 * routes (DESIGN.md "Connections": injection; relay/credinject.h is the
 * worker's side).
 *
 * A relay worker that must add a user's credential to a tool call asks
 * the control loop, which owns the store and the refreshes, through the
 * link-page queue of pausehub.h: a pausehub_page with credential set,
 * target the connector, body the registered user (origin_user_id). This
 * module answers it with connections_token() (a fresh token, refreshed
 * first when due, single flight per connection) and sends it back to the
 * worker's mailbox:
 *   200  html holds the secret (access token or API key), nothing else;
 *   409  no usable connection (none, broken, expired without refresh, not
 *        readable): the call is to be answered with an auth-required result;
 *   501  remote mode (link_service.url): the remote holds the credentials;
 *   502  the provider did not refresh an expired token; the secret was too long;
 *   503  busy, shutting down, or the store failed.
 * The secret is wiped when the page is freed (pausehub_page_free); nothing
 * here logs it.
 */
#ifndef AUTHRELAY_CREDSERVE_H
#define AUTHRELAY_CREDSERVE_H

#include "linkhost.h"
#include "pausehub.h"

#define CREDSERVE_SECRET_MAX 4096 /* bytes of a secret handed to a worker (as the token API's) */

/* Answers the credential request pg (pg->credential set) later, or at once
 * on an error; pg goes back to its worker either way. */
void credserve_answer(linkhost_t *lh, pausehub_page *pg);

#endif
