/* router: maps a complete request (other than /echo with a body, which
 * request.c starts early) to its endpoint: /stream (stream.c), /big (big.c),
 * /slow-head and /malformed (faults.c), and the small ones answered here:
 * /headers, /status, /hang, /stats and /stats/reset (stats.c); 405 for a
 * wrong method, 404 for anything else. */
#ifndef AGENT_ROUTER_H
#define AGENT_ROUTER_H

#include "conn.h"

/* Starts (or completes) the response to the request just parsed on c. */
void router_dispatch(conn *c);

#endif
