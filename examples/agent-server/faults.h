/* faults: the endpoints that misbehave on purpose, for testing how a relay
 * copes with a bad upstream: GET /slow-head (the head only after a delay) and
 * GET /malformed (a broken status line, header or chunk, or a body cut off
 * mid-event). /hang needs no code (router.c just never answers). */
#ifndef AGENT_FAULTS_H
#define AGENT_FAULTS_H

#include "conn.h"

/* Answers GET /slow-head?ms=N after N ms. */
void faults_slow_head(conn *c, const char *q);
/* Answers GET /malformed?kind=...[&ms=N], then closes. */
void faults_malformed(conn *c, const char *q);

#endif
