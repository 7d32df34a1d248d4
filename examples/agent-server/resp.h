/* resp: response heads and complete in-memory responses of the example agent
 * server. Streaming responses (stream.c, big.c, /echo in request.c) build
 * their own head with resp_head_begin/resp_head_end and write the body
 * themselves; everything else is one resp_simple(). */
#ifndef AGENT_RESP_H
#define AGENT_RESP_H

#include <stddef.h>

#include "buf.h"
#include "conn.h"

/* The reason phrase for code ("Status" when unknown). */
const char *resp_reason(int code);
/* Appends the status line. */
void resp_head_begin(buf_t *h, int code);
/* Appends the Connection header the request needs and the blank line. */
void resp_head_end(conn *c, buf_t *h);
/* Complete response with a body held in memory (copied; no body for HEAD,
 * 1xx, 204, 304), then conn_resp_done(). ctype may be NULL. */
void resp_simple(conn *c, int code, const char *ctype, const char *body, size_t len);
/* resp_simple() with a text/plain body. */
void resp_text(conn *c, int code, const char *text);
/* Error for a request that could not be parsed: always closes. */
void resp_error_close(conn *c, int code);

#endif
