/* apiusers: the registered users of the link API (linkapi.h; DESIGN.md
 * "Link service", "Registered users"): create (idempotent on
 * origin_user_id), list (paged, ?origin_user_id=), get, update, delete.
 * linkapi.c routes here after authenticating the caller; a user's
 * link-token/ sub-resource goes on to apilinks.h. All pointers borrowed. */
#ifndef AUTHRELAY_APIUSERS_H
#define AUTHRELAY_APIUSERS_H

#include "apicall.h"

/* GET/POST /api/v1/registered-users/ */
void apiusers_collection(apicall_ctx *c, const apicall_principal *p);

/* /api/v1/registered-users/{id}/{rest}: GET/PATCH/PUT/DELETE when rest is
 * "", POST link-token[/]. guide: the Link guide's /api/registered-users/
 * form, which serves only link-token. */
void apiusers_item(apicall_ctx *c, const apicall_principal *p, const char *id, const char *rest, int guide);

#endif
