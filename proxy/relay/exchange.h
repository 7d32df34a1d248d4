/* exchange: a client connection and the request/response exchanges on it.
 *
 * This is the "exchange" box of DESIGN.md's data flow. It reads requests
 * with llhttp in strict mode and the proxy rules of proxyhead.h (keep-alive,
 * pipelining answered in order, head and body limits, 100-continue), picks
 * the route, gets an upstream connection, streams the request body up, and
 * relays the response down:
 * raw bodies straight through, inspected bodies through the framer so that
 * each event reaches the client only once it is complete, byte for byte.
 * Back-pressure: when one side's write queue passes the high watermark,
 * reading the other side stops until it drains under the low watermark.
 * An auth-required event is handed to the interrupt logic (pause.h), which
 * drives the stream through the pause_ops the exchange gives it. The
 * connection is on its worker's list; the worker drains and closes it.
 */
#ifndef AUTHRELAY_EXCHANGE_H
#define AUTHRELAY_EXCHANGE_H

#include <uv.h>

#include "worker.h"

/* Accepts a pending connection from w's listener and starts serving it.
 * Returns 0 or a libuv error. */
int exchange_accept(worker_t *w);

/* The control loop answered a Link-page request of this worker (the
 * mailbox's page_done callback): writes the answer; frees pg. */
void exchange_page_done(pausehub_page *pg);

#endif
