/* linkpage: the hosted Link page, /_authrelay/link/{token} on the proxy
 * listener.
 *
 * The magic_link_url of a link_token event points here. GET shows a form that
 * asks for the connector's API key; POST (application/x-www-form-urlencoded,
 * field api_key) completes the link, which resumes every stream waiting on
 * it. A picker link (no connector) first lists the connectors to choose
 * from (each a link to ?connector=SLUG), or, without a catalog, asks for
 * the slug with the key (field connector). Every pending page has "Not
 * now" (a form posting decline=1). Pages name the app (link.app_name, its
 * logo) and show the expiry as a <time datetime="RFC 3339"> that one inline
 * script (LINKPAGE_SCRIPT, allowed by its hash in the page's CSP) rewrites
 * in the browser's local time. This module only renders pages (core/form
 * reads the form); the exchange does the HTTP, linkform the deciding.
 */
#ifndef AUTHRELAY_LINKPAGE_H
#define AUTHRELAY_LINKPAGE_H

#include <stddef.h>

#include "dynbuf.h"
#include "linksvc.h"

#define LINKPAGE_MAX_FORM_BYTES 8192 /* request body cap of the form POST (413 above) */

/* The page's only script: <time datetime> elements in local time. */
#define LINKPAGE_SCRIPT                                                                            \
  "document.querySelectorAll('time[datetime]').forEach(function(t){var d=new "                   \
  "Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=d.toLocaleString();});"
/* Its CSP source: 'sha256-' + base64(SHA-256(LINKPAGE_SCRIPT)) (a unit test checks it). */
#define LINKPAGE_SCRIPT_HASH "'sha256-HqNFId3oydrnMkg3AFHwG+tkB9mCrzHSdQo1Eq4Itog='"
/* The Content-Security-Policy of every page (the exchange adds form-action). */
#define LINKPAGE_CSP                                                                               \
  "default-src 'none'; style-src 'unsafe-inline'; img-src https:; script-src " LINKPAGE_SCRIPT_HASH

/* Who asks: config link.app_name and link.logo_url (https), "" for none.
 * Borrowed. */
typedef struct linkpage_brand {
  const char *app_name;
  const char *logo_url;
} linkpage_brand;

/* A connector the picker offers. Borrowed. */
typedef struct linkpage_choice {
  const char *slug;
  const char *name;
} linkpage_choice;

/* The GET page for a link in state, as HTML into out; name: the
 * connector's display name (the catalog's), borrowed. Returns the HTTP
 * status to send it with (200; 410 for a used, expired or revoked link). */
int linkpage_render(dynbuf *out, const linksvc_link_info *info, linksvc_state state, const char *name);

/* The API-key form of a pending link, for connector name; chosen: the
 * connector a picker link was given (a hidden field), or NULL. brand may be
 * NULL. */
void linkpage_render_key_form(dynbuf *out, const linksvc_link_info *info, const char *name, const char *chosen,
                              const linkpage_brand *brand);

/* A picker link's page: choices[0, n) to choose from; open (no catalog:
 * any slug is an API-key connector): a form taking the slug and the key. */
void linkpage_render_picker(dynbuf *out, const linksvc_link_info *info, const linkpage_choice *choices, size_t n,
                            int open, const linkpage_brand *brand);

/* The connector name cannot be connected from here yet (an OAuth
 * connector without its application): no jargon, and "Not now". */
void linkpage_render_unavailable(dynbuf *out, const linksvc_link_info *info, const char *name,
                                 const linkpage_brand *brand);

/* The page after the provider did not grant access (reason: a sentence)
 * on link path (its "/_authrelay/link/ltk_..."): try again, or "Not now". */
void linkpage_render_denied(dynbuf *out, const char *path, const char *reason);

/* The page after "Not now". */
void linkpage_render_declined(dynbuf *out, const linkpage_brand *brand);

/* The page for an unknown token (404). */
void linkpage_render_unknown(dynbuf *out);

/* The page after a successful POST ("Connected"). */
void linkpage_render_connected(dynbuf *out, const char *connector);

/* The page for a POST the link could not take: reason is a short sentence. */
void linkpage_render_refused(dynbuf *out, const char *reason);

#endif
