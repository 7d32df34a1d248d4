/* linkform: the hosted Link page's decisions for a known link, on the
 * control loop (linkhost looks the link up, then calls linkform_serve).
 *
 * - "Not now" (POST decline=1): the link ends declined (pausehub_decline),
 *   its waiting streams go on with auth_declined.
 * - A picker link (connector ""): GET lists the catalog's connectors that
 *   can be connected (API-key ones, and OAuth2 ones with an application
 *   credential: the others are left out, logged and counted), each a link
 *   to ?connector=SLUG; without a catalog, a form takes the slug and the
 *   key. The choice continues as for a link of that connector, on the same
 *   token: its API-key form (the slug in a hidden field) or its OAuth2
 *   redirect; the link then completes for it (pausehub_complete_as).
 * - Otherwise the connector's API-key form or its OAuth2 sign-in, as
 *   before; pages name the app (link.app_name, link.logo_url).
 */
#ifndef AUTHRELAY_LINKFORM_H
#define AUTHRELAY_LINKFORM_H

#include "linkhost.h"

/* Answers pg (now, or from a store callback) for the link found (pg and
 * lh borrowed; found copied). */
void linkform_serve(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *found);

/* Answers pg with the page of a connector (display name) that cannot be
 * connected yet (an OAuth2 connector without its application credential):
 * no operator jargon, "Not now" on it; logged and counted. */
void linkform_render_unavailable(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v,
                                 const char *name);

#endif
