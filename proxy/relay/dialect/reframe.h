/* reframe: an event's payload taken out of its raw bytes, and put back.
 *
 * on_detect rewrite forwards the auth-required event in its own place with
 * only its link values changed. The relay holds the event's raw bytes (the
 * framer's span: SSE field lines up to and including the blank line, an
 * NDJSON line with its line end, a whole JSON body); the rewriter
 * (parser/rewrite.h) works on the payload (SSE data values joined by LF, the
 * line without its line end, the body). reframe_payload() derives the
 * payload from the raw bytes by the framer's rules (parser/SEMANTICS.md);
 * reframe_event() writes the raw bytes again around a new payload: every
 * line that is not a data line (event, id, retry, comments, unknown fields),
 * every field prefix ("data:" or "data: ") and every line end stay as they
 * were; data line i gets line i of the new payload. The rewriter changes
 * only bytes inside JSON strings, which hold no raw LF, so the new payload
 * has as many lines as the old one; otherwise -EINVAL. reframe_rewrite()
 * does the three steps with the trusted link of a pause.
 */
#ifndef AUTHRELAY_REFRAME_H
#define AUTHRELAY_REFRAME_H

#include <stddef.h>

#include "dialect.h"
#include "dynbuf.h"

/* Appends the payload of the event raw[0, len) to payload. Returns 0, a
 * dynbuf error, or -EINVAL (SSE bytes without a data line). */
int reframe_payload(dialect_framing framing, const char *raw, size_t len, dynbuf *payload);

/* Appends the event raw[0, len) with its payload replaced by
 * payload[0, plen) to out. Returns 0, a dynbuf error, or -EINVAL (the new
 * payload has another number of lines). On error out is as it was. */
int reframe_event(dialect_framing framing, const char *raw, size_t len, const char *payload,
                  size_t plen, dynbuf *out);

/* on_detect rewrite of one event: appends raw[0, len) to out with the
 * trusted link's values in every auth-required object of its payload
 * (rewrite_auth_values(), parser/rewrite.h), and message (when not NULL)
 * in place of their string message values (a declined tool call), and sets *count (if not NULL)
 * to the objects rewritten. out's toobig caps the result. Returns 0,
 * -ENOENT (no auth-required object), -EINVAL (not valid JSON, a link value
 * the rewriter refuses), -E2BIG or -ENOMEM; out is then as it was, and the
 * caller must not forward the upstream's event as it is. */
int reframe_rewrite(dialect_framing framing, const char *raw, size_t len, const dialect_link *link,
                    const char *message, dynbuf *out, size_t *count);

#endif
