/* http: HTTP/1.1 message heads, shared by the client side (requests) and the
 * upstream side (responses).
 *
 * llhttp hands over a head in pieces (a header name may be split across
 * reads); http_head collects them into one capped buffer with a capped list
 * of headers, which is also the head-size accounting llhttp lacks. The rest
 * are small helpers: hop-by-hop headers, token lists, reason phrases, and
 * writing a head out.
 */
#ifndef AUTHRELAY_HTTP_H
#define AUTHRELAY_HTTP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

typedef struct http_span {
  uint32_t off; /* offset into http_head.buf */
  uint32_t len;
} http_span;

typedef struct http_header {
  http_span name;
  http_span value;
} http_header;

typedef struct http_head {
  dynbuf buf;            /* target (URL) or reason, then header names and values */
  http_span target;      /* request target, or response reason */
  http_header *headers;  /* headers_cap entries, grown up to max_headers; owned */
  size_t headers_cap;
  size_t nheaders;
  size_t max_headers;
  size_t max_bytes;      /* the head may not exceed this (431 / 502) */
  size_t bytes;          /* head size counted so far, line overhead included */
  int in_value;          /* the last piece was part of a value */
} http_head;

#define HTTP_E_HEAD_TOO_LARGE (-EMSGSIZE) /* head over max_bytes */
#define HTTP_E_TOO_MANY_HEADERS (-E2BIG)   /* more than max_headers */

void http_head_init(http_head *h, size_t max_bytes, size_t max_headers);
void http_head_reset(http_head *h); /* empty it for the next message, keep storage */
void http_head_free(http_head *h);

/* Pieces from llhttp's on_url / on_status, on_header_field, on_header_value.
 * Return 0, HTTP_E_HEAD_TOO_LARGE, HTTP_E_TOO_MANY_HEADERS or -ENOMEM. */
int http_head_add_target(http_head *h, const char *p, size_t n);
int http_head_add_name(http_head *h, const char *p, size_t n);
int http_head_add_value(http_head *h, const char *p, size_t n);

/* Pointer to the bytes of a span (valid until the head changes). */
const char *http_head_str(const http_head *h, http_span s);

/* The first header named name (case-insensitive), or NULL. */
const http_header *http_head_find(const http_head *h, const char *name);

/* 1 when value is equal to lit, ignoring case. */
int http_equals_nocase(const char *value, size_t len, const char *lit);

/* 1 when value[0, len) begins with the NUL-terminated lit (case matters). */
int http_starts_with(const char *value, size_t len, const char *lit);

/* 1 when the comma-separated token list value holds token (case-insensitive). */
int http_token_list_has(const char *value, size_t len, const char *token, size_t token_len);

/* 1 when a header must not be forwarded by a proxy: the hop-by-hop headers of
 * RFC 9110 7.6.1 (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization) and
 * any header named in the message's Connection header. */
int http_is_hop_by_hop(const http_head *h, const http_header *hd);

/* Standard reason phrase for a status code ("Unknown" for others). */
const char *http_reason(int status);

/* Appends "name: value\r\n". */
int http_write_header(dynbuf *out, const char *name, const char *value, size_t value_len);
/* The same with the name given as name[0, name_len) (a header read from a head). */
int http_write_header_n(dynbuf *out, const char *name, size_t name_len, const char *value,
                        size_t value_len);

/* Room for http_chunk_line's output: 16 hex digits, CR LF. */
#define HTTP_CHUNK_LINE_MAX 18

/* Writes the chunk-size line of a chunk of n bytes ("1a2f\r\n", lower-case
 * hex, no NUL) into out; returns its length. (snprintf's cost showed in the
 * relay's profile: this runs once per forwarded event.) */
size_t http_chunk_line(size_t n, char out[HTTP_CHUNK_LINE_MAX]);

#endif
