/* apicreds: the application credentials of the link API (linkapi.h;
 * DESIGN.md "Link service", "Application credentials"): a connector's OAuth
 * client (client_id, client_secret sealed at rest, external_id,
 * is_global_default). Create, list (?connector_slug=), get, update (not the
 * connector), delete; the secret is never answered. linkapi.c routes here
 * after authenticating the caller. All pointers borrowed. */
#ifndef AUTHRELAY_APICREDS_H
#define AUTHRELAY_APICREDS_H

#include "apicall.h"

/* GET/POST /api/v1/application-credentials/ */
void apicreds_collection(apicall_ctx *c, const apicall_principal *p);

/* GET/PATCH/DELETE /api/v1/application-credentials/{id}/ */
void apicreds_item(apicall_ctx *c, const apicall_principal *p, const char *id);

#endif
