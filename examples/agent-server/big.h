/* big: GET /big, a body of N bytes of a fixed, checkable pattern (described
 * at the top of agent_server.c) in any framing, for relays' byte-exactness and
 * back-pressure tests. conn.c calls big_produce() again whenever the write
 * queue drained. */
#ifndef AGENT_BIG_H
#define AGENT_BIG_H

#include "conn.h"

/* Answers GET/HEAD /big?q (q: the query string, no '?'). */
void big_route(conn *c, const char *q);
/* Produces what fits in the write queue; finishes the response at the end. */
void big_produce(conn *c);

#endif
