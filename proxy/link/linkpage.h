/* linkpage: the hosted Link page, /_authrelay/link/{token} on the proxy
 * listener.
 *
 * The magic_link_url of a link_token event points here. GET shows a form that
 * asks for the connector's API key; POST (application/x-www-form-urlencoded,
 * field api_key) completes the link, which resumes every stream waiting on
 * it. This module only renders pages (core/form reads the form); the exchange does
 * the HTTP and pausehub the completing.
 */
#ifndef AUTHRELAY_LINKPAGE_H
#define AUTHRELAY_LINKPAGE_H

#include <stddef.h>

#include "dynbuf.h"
#include "linksvc.h"

#define LINKPAGE_MAX_FORM_BYTES 8192 /* request body cap of the form POST (413 above) */

/* The GET page for a link in state, as HTML into out; name: the
 * connector's display name (the catalog's), borrowed. Returns the HTTP
 * status to send it with (200; 410 for a used, expired or revoked link). */
int linkpage_render(dynbuf *out, const linksvc_link_info *info, linksvc_state state, const char *name);

/* The page for an unknown token (404). */
void linkpage_render_unknown(dynbuf *out);

/* The page after a successful POST ("Connected"). */
void linkpage_render_connected(dynbuf *out, const char *connector);

/* The page for a POST the link could not take: reason is a short sentence. */
void linkpage_render_refused(dynbuf *out, const char *reason);

#endif
