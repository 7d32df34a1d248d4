/* web: the example chat page (examples/web/) served by the example agent
 * server, so that a browser reaches the page and the streams through
 * authrelay on one origin. With --web-dir DIR, a fixed whitelist of files
 * (GET/HEAD /, /app.js, /authrelay-link.js, /style.css, /favicon.svg) is read
 * from DIR once at start, each capped at WEB_MAX_FILE_BYTES, and answered
 * from memory with its Content-Type and a strict Content-Security-Policy
 * (default-src 'self', no inline script or style). The request path only
 * selects an entry of the whitelist: it never becomes part of a file name,
 * so no path traversal is possible. Without --web-dir these paths are 404. */
#ifndef AGENT_WEB_H
#define AGENT_WEB_H

#include <stddef.h>

#include "conn.h"

#define WEB_MAX_FILE_BYTES (256 * 1024) /* a larger whitelisted file fails the start */

/* The Content-Security-Policy sent with every file. */
#define WEB_CSP                                                                                    \
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                \
  "frame-ancestors 'none'"

/* Reads every whitelisted file from dir (borrowed; not kept). 0, or a
 * negative errno naming the first failure (*failed: the file's name). */
int web_load(const char *dir, const char **failed);
/* Whether path[0..plen) is a whitelisted file and web_load() succeeded. */
int web_has(const char *path, size_t plen);
/* Answers the current request of c for a path web_has() accepted: 200 for
 * GET and HEAD, 405 for any other method. */
void web_serve(conn *c, const char *path, size_t plen);
/* Frees what web_load() read. */
void web_free(void);

#endif
