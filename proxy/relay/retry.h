/* retry: the kept request sent again (DESIGN.md "The pause": resume: retry;
 * routes in mode: tool).
 *
 * Part of the exchange (exchange_int.h): when pause.c decides PAUSE_RETRY,
 * the old upstream connection is dropped and the request head (with
 * X-Authrelay-Retry: N) and body kept while it was first sent go out on a
 * new one. A 2xx response's events are spliced into the client's stream
 * through a fresh framer; tool mode, with nothing of the held response sent
 * yet, puts the retry's response in its place whole. When the request could
 * not be kept (over max_replay_body), the stream continues instead (tool
 * mode: the held response is released as it came).
 */
#ifndef AUTHRELAY_RETRY_H
#define AUTHRELAY_RETRY_H

#include "exchange_int.h"

/* resume: retry: sends the kept request again on a new connection (falls
 * back to continue when it cannot). */
void retry_start(exchange *ex);

/* The retry's upstream connection (after the credential, credinject.h). */
void retry_connect(exchange *ex);

/* The retry's upstream connection is ready: writes the kept request. */
void retry_send(exchange *ex);

/* The retried request's response head: 0 when its body is spliced in,
 * else the stream ended with relay_error and a negative error. */
int retry_on_head(exchange *ex, const upstream_response *r);

/* The retry failed: relay_error, the stream ends (tool mode with nothing
 * sent: an error answer). */
void retry_failed(exchange *ex, int status, const char *message);

/* Tool mode: the account is connected: the call is sent again. */
void retry_tool(exchange *ex);

/* Tool mode: the link expired or was cancelled: the held response goes
 * out as it came, uninspected from here. */
void retry_tool_release(exchange *ex);

/* Tool mode: the user declined: the held bytes [from, to) (the auth-required
 * result) give way to ev (freed; the result in rewrite form), and the held
 * response goes out with it, the rest as retry_tool_release() sends it. A
 * Content-Length in the head still waiting follows the new length. Returns
 * 0, or -EALREADY when [from, to) is not held whole (nothing was done). */
int retry_tool_answer(exchange *ex, uint64_t from, uint64_t to, dynbuf *ev);

#endif
