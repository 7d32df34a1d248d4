/* linkbase: the one rule for the base URL of every link authrelay hands
 * out ("scheme://authority[/path]", no trailing "/"): magic_link_url in a
 * stream, on the /v1/events feed and in webhooks, in the link-token API's
 * answers; the remote link service's callback_url; the Link page's own
 * URLs (the OAuth redirect_uri). Everyone calls linkbase_of().
 *
 * The base is, in this order:
 *   1. public_url, when configured;
 *   2. "http://" + the Host of the request that caused the link (the paused
 *      request, or the browser's request on the Link page), when it is a
 *      well-formed authority. A pause carries it with its link to the
 *      journal (pausehub_pause.base_url), so that the feed, the webhooks and
 *      the remote's callback_url use the same base as the stream's
 *      magic_link_url;
 *   3. the listen address, unless it is a wildcard (0.0.0.0, ::), which is
 *      never used as a host: then the loopback address of its family, which
 *      only this machine can open. linkbase_warning() says so at start and
 *      in --check-config: out-of-band links need public_url there.
 */
#ifndef AUTHRELAY_LINKBASE_H
#define AUTHRELAY_LINKBASE_H

#include <stddef.h>

#include "config.h"

#define LINKBASE_MAX 512      /* bytes of a base URL, NUL included */
#define LINKBASE_HOST_MAX 255 /* bytes of a Host value used as the authority */

/* Writes the base URL for a link caused by a request with Host value
 * host[0, host_len) (NULL or malformed: none) into out (cap bytes, at most
 * LINKBASE_MAX needed). Returns 0, or -ENOSPC when it did not fit (out then
 * holds "", never a cut URL). */
int linkbase_of(const config_t *c, const char *host, size_t host_len, char *out, size_t cap);

/* 1 when host[0, len) is an authority linkbase_of() uses: a name or IPv4
 * of [A-Za-z0-9._~-], or an IPv6 literal in brackets, then an optional
 * ":port" of 1 to 5 digits; at most LINKBASE_HOST_MAX bytes. */
int linkbase_host_ok(const char *host, size_t len);

/* Why some links cannot get an absolute URL that works off this machine
 * (public_url unset and a wildcard listen address; or a public_url too long
 * for a link), or NULL. A static string, for a warning at start and in
 * --check-config. */
const char *linkbase_warning(const config_t *c);

#endif
