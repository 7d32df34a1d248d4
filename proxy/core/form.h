/* form: application/x-www-form-urlencoded, the one reader and writer of
 * "a=1&b=x%20y" text: the Link page's POST body (api_key), OAuth callback
 * queries (state, code, error), the token endpoint's body, API query
 * strings (/v1/events?registered_user=, ?origin=), and the values
 * authrelay writes into authorize URLs and redirects.
 *
 * Decoding: '+' is a space, %XX one byte (two hex digits, either case).
 * Encoding: RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) as they are,
 * every other byte %XX (upper case), so the output is safe in a query, a
 * form body and a path segment alike.
 *
 * Inputs are borrowed and only read; outputs go to caller-owned buffers.
 */
#ifndef AUTHRELAY_FORM_H
#define AUTHRELAY_FORM_H

#include <stddef.h>

#include "dynbuf.h"

/* Finds field name in body[0, len) and decodes its value into out (cap
 * bytes, NUL-terminated). The first field called name decides. Returns the
 * decoded length (> 0), or -ENOENT (absent or empty), -EINVAL (malformed:
 * a bad or cut %XX, or a NUL byte, raw or %00: the value is read as a C
 * string) or -E2BIG (the value and its NUL do not fit; cap 0 writes
 * nothing). */
long form_field(const char *body, size_t len, const char *name, char *out, size_t cap);

/* 1 when query[0, len) has a field whose decoded name is name ("name",
 * "name=" and "name=x" all count), else 0. A '%' without two hex digits is
 * read as itself. */
int form_has_field(const char *query, size_t len, const char *name);

/* Appends s[0, len) to out, encoded. Returns 0 or dynbuf_add's error
 * (-E2BIG past the buffer's cap, -ENOMEM); on error nothing is appended. */
int form_encode(dynbuf *out, const char *s, size_t len);

/* Appends sep, name, '=' and value encoded ("&state=a%20b"). sep and name
 * are appended as they are. Returns 0 or dynbuf_add's error; on error
 * nothing is appended. */
int form_add(dynbuf *out, const char *sep, const char *name, const char *value);

#endif
