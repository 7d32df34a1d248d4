/* jsonw: writes JSON strings and numbers into a dynbuf.
 *
 * authrelay never re-serializes a relayed event, but it does write JSON of its
 * own: authrelay-scan's output lines, and (in the proxy) the events it injects
 * into a stream. Strings may come from the wire, so invalid UTF-8 is replaced
 * with U+FFFD, one per maximal subpart, as the WHATWG UTF-8 decoder does.
 *
 * Every call is a sticky append (dynbuf_put() in dynbuf.h): after the first
 * failure on a buffer the later calls append nothing and return that
 * failure, so a writer makes its calls in a row and checks dynbuf_error()
 * once at the end. dynbuf_reset() or dynbuf_free() forgets the failure.
 */
#ifndef AUTHRELAY_JSONW_H
#define AUTHRELAY_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

/* Appends s[0, len) as a quoted JSON string. Returns 0 or the buffer's first
 * error (-E2BIG, -ENOMEM); the string may then be cut anywhere. */
int jsonw_string(dynbuf *out, const char *s, size_t len);

/* Appends a NUL-terminated C string as a quoted JSON string. */
int jsonw_cstring(dynbuf *out, const char *s);

/* Appends the decimal digits of v. */
int jsonw_u64(dynbuf *out, uint64_t v);

/* Appends a NUL-terminated string as it is (JSON punctuation, member names). */
int jsonw_raw(dynbuf *out, const char *s);

#endif
