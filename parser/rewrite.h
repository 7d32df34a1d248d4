/* rewrite: puts authrelay's trusted link into an auth-required event.
 *
 * `on_detect: rewrite` (DESIGN.md "Dialects") forwards the auth-required
 * event in its own shape and place with only the values of link_token,
 * magic_link_url and expires_at replaced. The proxy calls this once the
 * detector (detect.h) has matched an event, with that event's payload (the
 * JSON text of an SSE data field, an NDJSON line or a whole JSON body); it
 * costs nothing on events that did not match.
 *
 * What is rewritten: every auth-required object of the payload, found by
 * the detector's rules (SEMANTICS.md "Detector"): shape (a) "type" is the
 * string "authenticate_meta", or shape (b) both a "link_token" and a
 * "magic_link_url" string member; at any depth up to DETECT_MAX_DEPTH, or
 * inside a string value that is itself a complete JSON text, up to
 * DETECT_MAX_STRING_LEVELS levels down. Not only the detector's first match:
 * OpenAI's response.completed repeats every output item, and a front end may
 * read any copy, so all copies get the trusted values. In each such object,
 * every member named link_token, magic_link_url or expires_at (and message,
 * when a message is given; names after JSON unescaping, duplicates included)
 * whose value is a string gets the new value; a member with any other value (null, number, object...) is left as
 * it is, and a member the upstream did not send is not added.
 *
 * Byte identity: only the bytes inside those string values change. Inside a
 * JSON-in-string, positions are mapped through each escape layer, so the rest
 * of every string level stays as the upstream wrote it. The new value is
 * escaped once per level it sits under: as a JSON string's content, with
 * '"', '\\' and control characters escaped, and also '<', '>', '&', U+2028
 * and U+2029 as \u escapes (safe to embed in HTML and in JavaScript source);
 * other UTF-8 is copied as it is. Decoding each level gives the new value.
 *
 * A value inside a link_token (etc.) that is itself a JSON-in-string holding
 * an auth-required object is replaced as a whole: the inner object goes away
 * with the upstream's value.
 */
#ifndef AUTHRELAY_REWRITE_H
#define AUTHRELAY_REWRITE_H

#include <stddef.h>

#include "dynbuf.h"

/* Auth-required objects and rewritten values a payload may hold; a payload
 * with more is refused with -E2BIG (the caller withholds it). */
#define REWRITE_MAX_EDITS 65536

/* The trusted values. message is optional (a held tool call the user
 * declined is answered with its message saying so, DESIGN.md
 * "Connections"): when set, the string value of every "message" member of
 * an auth-required object is replaced too, by the same rules as the link
 * values (a message member the upstream did not send is not added; one
 * whose value is not a string is left as it is). Each must be valid UTF-8 (RFC 3629), at most
 * DETECT_FIELD_MAX bytes, and must not look like a JSON text (start with '{'
 * or '[' after white space): the detector would look inside it. The
 * pointers are the caller's and only read during the call. */
typedef struct rewrite_values {
  const char *link_token;
  size_t link_token_len;
  const char *magic_link_url; /* absolute, from public_url */
  size_t magic_link_url_len;
  const char *expires_at;     /* RFC 3339, as in the link_token event */
  size_t expires_at_len;
  const char *message;        /* optional: NULL leaves every message as it is */
  size_t message_len;
} rewrite_values;

/* Appends to out the payload in[0, len) with the values of every
 * auth-required object replaced by *v (see above), and sets *count (if not
 * NULL) to the number of auth-required objects found (each had all its
 * string link_token, magic_link_url and expires_at values replaced, maybe
 * none). in is only read, and must not point into out (out may move). out
 * is the caller's; its toobig is the output cap.
 * Returns 0, or:
 *   -EINVAL  in is not valid JSON by the detector's rules (UTF-8, no raw
 *            vertical tab or form feed, yajl), a value of *v breaks the rules
 *            above, or a position could not be mapped through an escape layer
 *            (never seen with the yajl this is built with; see rewrite.c);
 *   -ENOENT  valid JSON without an auth-required object;
 *   -E2BIG   out would reach its toobig, or more than REWRITE_MAX_EDITS edits;
 *   -ENOMEM.
 * On error out is left as it was (its length is restored) and *count is 0.
 * A caller that cannot rewrite must not forward the upstream's event as it
 * is: it carries the upstream's link. */
int rewrite_auth_values(const char *in, size_t len, const rewrite_values *v, dynbuf *out,
                        size_t *count);

#endif
