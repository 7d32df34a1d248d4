/* inject: the events authrelay itself writes into a relayed stream.
 *
 * DESIGN.md "Events authrelay writes into a stream": link_token, auth_complete,
 * link_expired and relay_error, each a JSON object with a "type" member, sent
 * in the stream's own format: an SSE event (`event: TYPE` + one `data:` line
 * + blank line) or one NDJSON line. Also the SSE heartbeat comment sent while
 * a stream is paused. The exchange writes what these functions render; they
 * never touch the network.
 */
#ifndef AUTHRELAY_INJECT_H
#define AUTHRELAY_INJECT_H

#include <stddef.h>

#include "dynbuf.h"

#define INJECT_MAX_BYTES 32768 /* cap of one rendered event */

typedef enum inject_form {
  INJECT_SSE = 0, /* event: TYPE\ndata: {...}\n\n */
  INJECT_NDJSON   /* {...}\n */
} inject_form;

/* What a link_token event carries. Strings are NUL-terminated, not owned;
 * message may be NULL (then a default sentence naming the connector). */
typedef struct inject_link {
  const char *stream_id;
  const char *connector;
  const char *link_token;
  const char *magic_link_url;
  const char *expires_at;
  const char *message;
} inject_link;

/* Each appends one event to out (initialise out with a cap of at least
 * INJECT_MAX_BYTES). Returns 0 or a dynbuf error (-E2BIG, -ENOMEM). */
int inject_link_token(dynbuf *out, inject_form form, const inject_link *link);
int inject_auth_complete(dynbuf *out, inject_form form, const char *stream_id,
                         const char *connector);
int inject_link_expired(dynbuf *out, inject_form form, const char *stream_id,
                        const char *connector);
int inject_relay_error(dynbuf *out, inject_form form, const char *stream_id, int status,
                       const char *message);

/* The SSE comment sent while paused (": paused\n\n"); nothing for NDJSON,
 * which has no comments: an empty line would be skipped by readers but is
 * not promised by the format. Returns 0 or a dynbuf error. */
int inject_heartbeat(dynbuf *out, inject_form form);

#endif
