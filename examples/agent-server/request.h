/* request: parsing requests of the example agent server. The llhttp
 * callbacks keep the URL and headers in the conn (with hard caps: 414, 431),
 * count the request in stats.c, answer Expect, start /echo as soon as its
 * head is complete (the body is echoed as it arrives), and hand every other
 * complete request to router.c. After a request that starts a response they
 * pause the parser; conn.c resumes it once the response is fully queued. */
#ifndef AGENT_REQUEST_H
#define AGENT_REQUEST_H

#include <stddef.h>

#include <llhttp.h>

#include "buf.h"
#include "conn.h"

/* Fills settings with the request callbacks. */
void req_settings_init(llhttp_settings_t *settings);
/* Value of header name (lowercase) of the current request, or NULL; the value
 * points into c->hbuf, is not NUL-terminated, and is *len bytes long. */
const char *req_header_get(conn *c, const char *name, size_t *len);
/* Appends the headers as a JSON object: lowercased names, repeated names
 * joined by ", ". */
void req_headers_json(conn *c, buf_t *out);
/* Whether path[0..plen) is exactly want. */
int req_path_is(const char *path, size_t plen, const char *want);
/* The current URL's path length and query string (after '?', "" if none). */
void req_split_url(conn *c, size_t *plen, const char **query);

#endif
