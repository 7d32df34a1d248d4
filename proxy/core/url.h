/* url: the one place that decides whether a URL is an acceptable absolute
 * http(s) URL and what its origin is, through libcurl's URL API (CURLU), so
 * the URL checked is the URL curl will go to.
 *
 * Where browsers and curl read a URL differently, it refuses instead of
 * picking one reading: user info ("https://app@evil.com"), backslashes,
 * spaces, control and non-ASCII bytes, scheme-relative or slash-short
 * forms ("https:/x"). The scheme matches without regard to case
 * everywhere ("HTTP://X" is http).
 *
 * Every function takes a NUL-terminated string it only reads; output goes
 * to buffers the caller owns. Returns 0 or a negative errno code.
 */
#ifndef AUTHRELAY_URL_H
#define AUTHRELAY_URL_H

#include <stddef.h>

#define URL_MAX 2048 /* the longest URL any check takes (max_len 0) */

/* url_check flags: what else to refuse */
#define URL_NO_FRAGMENT 0x1u /* a '#' anywhere */
#define URL_NO_QUERY 0x2u    /* a '?' anywhere */

/* 0 when url is an absolute http:// or https:// URL with a host that
 * libcurl parses, at most max_len bytes (0: URL_MAX), with none of the
 * refusals above nor those flags asks for; else -EINVAL. */
int url_check(const char *url, size_t max_len, unsigned flags);

/* The origin of url (url_check rules, and no fragment): "scheme://host"
 * plus ":port" unless it is the scheme's default, lower-case, an IPv6 host
 * bracketed in the one spelling browsers use ("[0::1]" is "[::1]"), a host
 * name only of [a-z0-9.-]. Written into origin (cap bytes with the NUL).
 * Returns 0, or -EINVAL (not a URL with an origin, or cap too small: an
 * origin is never cut). */
int url_origin(const char *url, char *origin, size_t cap);

/* 1 when url starts with "https://" (any case), else 0. */
int url_is_https(const char *url);

/* 1 when url starts with "http://" or "https://" (any case), else 0: a
 * first cut before url_check, for callers that tell apart "not a URL at
 * all" from "a bad one". */
int url_has_http_scheme(const char *url);

/* 1 when url (url_check rules) names this host: localhost, 127.x.x.x or
 * [::1]; else 0. */
int url_is_loopback(const char *url);

#endif
