/* apiorigins: the callback origins of the link API (linkapi.h; DESIGN.md
 * "Link service"): the allow-list a link token's callback_url must match.
 * Listed with read:organization; added and removed by an owner or admin.
 * linkapi.c routes here after authenticating the caller. All pointers
 * borrowed. */
#ifndef AUTHRELAY_APIORIGINS_H
#define AUTHRELAY_APIORIGINS_H

#include "apicall.h"

/* GET/POST /api/v1/callback-origins/, DELETE ...?origin=<origin> */
void apiorigins_handle(apicall_ctx *c, const apicall_principal *p);

#endif
