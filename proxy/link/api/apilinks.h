/* apilinks: link tokens minted through the link API (linkapi.h; DESIGN.md
 * "Link service", "Link token", "Unified-API link token"): a registered
 * user's link token (/api/v1/registered-users/{id}/link-token/ with
 * "connector", or the Link guide's /api/registered-users/{id}/link-token
 * with "Connector"), and the unified API's /api/{category}/v1/link-token,
 * which creates the registered user on the way. A link is minted on the
 * hub (pausehub.h) and stored before its token is handed out. All pointers
 * borrowed. */
#ifndef AUTHRELAY_APILINKS_H
#define AUTHRELAY_APILINKS_H

#include <stddef.h>

#include "apicall.h"

/* POST a link token for user u (apiusers.c found it); guide: the Link
 * guide's form. Without a connector (a picker link): 501 for now. */
void apilinks_user_token(apicall_ctx *c, const apicall_principal *p, const store_user *u, int guide);

/* Writes the link info just minted on the hub for user (the journal would
 * write it only after the answer; pinned: minted by the API) and waits for
 * the store: next runs then (apicall_done: c->status), and calls
 * apilinks_kept(); a link token is handed out only once it is stored. A
 * link the store does not take is expired: never handed out. info: in c's
 * state (it is read again in next). */
void apilinks_wait_kept(apicall_ctx *c, const char *user, const linksvc_link_info *info, const char *callback_url,
                        const char *state, apicall_step next);

/* In apilinks_wait_kept()'s next: 0 when info's link is stored (c->status
 * 0), its magic link URL in url (cap bytes, at least LINKSVC_PATH_LEN);
 * else the link is expired, the answer is a store failure, and -1. */
int apilinks_kept(apicall_ctx *c, const linksvc_link_info *info, char *url, size_t cap);

/* POST /api/{category}/v1/link-token; category: category_len bytes of the
 * path (404 unless one of apivalid_categories). */
void apilinks_unified_token(apicall_ctx *c, const apicall_principal *p, const char *category, size_t category_len);

#endif
