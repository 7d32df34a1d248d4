/* stream: GET /stream, the event streams authrelay relays. Reads the query
 * parameters (listed at the top of agent_server.c) into the conn's ev_spec,
 * writes the head, then produces the body piece by piece (events.c renders
 * them) at the requested rate and under back-pressure: conn.c calls
 * stream_produce() again whenever the write queue drained. */
#ifndef AGENT_STREAM_H
#define AGENT_STREAM_H

#include "conn.h"

/* Answers GET/HEAD /stream?q (q: the query string, no '?'). */
void stream_route(conn *c, const char *q);
/* Produces what is due and fits in the write queue; finishes the response
 * after the trailer. */
void stream_produce(conn *c);

#endif
