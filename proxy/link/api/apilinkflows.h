/* apilinkflows: link binding's confirmation on the link API (linkapi.h;
 * DESIGN.md "Connections", link binding; linkbind.h):
 *
 *   POST /api/v1/link-flows/{flow_id}/confirm  {"origin_user_id": "..."}
 *
 * The app's verifier page got flow_id from the browser and knows its own
 * signed-in user; it confirms that user. Caller: the owner key or a token
 * with write:user (it connects an account to a registered user).
 *   - the link's registered user: the credential is stored, the link
 *     completes (waiting streams resume): 200 {"redirect_url": ...}, where
 *     the app sends the browser (the link's callback_url with state, else
 *     authrelay's "Connected" page);
 *   - another user: nothing is stored, the flow is spent and the link is
 *     ended (it expires now: a forwarded link is taken as phished; the
 *     agent asks again for a new one); an audit line, the feed event
 *     link_binding_refused: 409 {"detail": ..., "redirect_url": ...} (a
 *     "Not connected" page);
 *   - unknown, expired or spent flow: 404; a link that ended meanwhile:
 *     410; origin_user_id missing or wrong: 400 {"origin_user_id": [...]}.
 * linkapi.c routes here after authenticating the caller. All pointers
 * borrowed. */
#ifndef AUTHRELAY_APILINKFLOWS_H
#define AUTHRELAY_APILINKFLOWS_H

#include "apicall.h"

/* /api/v1/link-flows/ + rest ("{flow_id}/confirm"). */
void apilinkflows_handle(apicall_ctx *c, const apicall_principal *p, const char *rest);

#endif
