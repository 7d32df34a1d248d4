/* proxyhead: the HTTP/1.1 proxy rules on message heads, with no I/O.
 *
 * The exchange (client side) and the upstream pool (server side) parse with
 * llhttp in strict mode; llhttp 8.1 leaves some of RFC 9112/9110 to its
 * user, and a relay must never read a message differently from the server
 * behind it. This module is that user: the llhttp callbacks that collect a
 * request head (and refuse what llhttp lets through), the checks run when a
 * head is complete, and the two heads authrelay writes: the request it
 * sends upstream and the response head it sends the client. No libuv, so
 * tests/fuzz/fuzz_request.c and fuzz_response.c drive exactly this code.
 *
 * Rules, in DESIGN.md "Operations" terms (status answered to the client):
 *   request:  HTTP major version other than 1: 505; Upgrade/CONNECT: 501;
 *             an empty header name: 400; Transfer-Encoding in HTTP/1.0: 400;
 *             Transfer-Encoding repeated: 400, other than "chunked": 501;
 *             a Connection header naming Content-Length, Transfer-Encoding
 *             or Host: 400; Host missing (HTTP/1.1), repeated or invalid:
 *             400; a target that is neither origin-form nor http(s)
 *             absolute-form, or with a fragment: 400; the identity or the
 *             signature header repeated: 400; Content-Length or a chunk
 *             size beyond the body limit: 413 at once; trailer fields and
 *             chunk extensions are read (capped like a head: 431, 400) and
 *             dropped, never merged.
 *   response: the status code not exactly three digits or outside 100-599,
 *             a version other than HTTP/1.x, a reason phrase with control
 *             bytes, an empty header name, Transfer-Encoding in HTTP/1.0 or
 *             other than "chunked": malformed (the exchange answers 502).
 * Framing sent on is always the one parsed: the client's Content-Length and
 * Transfer-Encoding headers are never copied; authrelay writes its own.
 */
#ifndef AUTHRELAY_PROXYHEAD_H
#define AUTHRELAY_PROXYHEAD_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "dynbuf.h"
#include "http.h"

#define PROXYHEAD_SIG_HEADER "x-registered-user-sig" /* identity.h's, lower case */
#define PROXYHEAD_RETRY_HEADER "x-authrelay-retry"   /* authrelay's own, never the client's */

/* ---- requests ------------------------------------------------------------ */

/* Reads one request head from llhttp's pieces. The owner points head at its
 * http_head and calls the proxyhead_on_* functions from its llhttp
 * callbacks, with proxyhead_feed_begin/end around every llhttp_execute. */
typedef struct proxyhead_reader {
  http_head *head;          /* the request head being collected; not owned */
  const char *parse_start;  /* bytes llhttp is parsing now: [parse_start, parse_end) */
  const char *parse_end;
  char tail[2];             /* last two bytes of the previous feed, oldest first */
  int value_at_end;         /* the last header value piece ended at parse_end */
  int in_trailers;          /* the head is complete: field lines are trailers */
  size_t extra_bytes;       /* trailer and chunk-extension bytes seen, capped
                               like the head (neither is kept nor sent on) */
  int error_status;         /* status a check chose (0: llhttp's error, 400) */
  const char *error_reason; /* static: why, for a 400 (NULL: llhttp's reason) */
} proxyhead_reader;

/* What the checks of a complete request head found. */
typedef struct proxyhead_request {
  int method;               /* llhttp_method_t */
  int http_minor;           /* 0 or 1 */
  int keep_alive;           /* the client allows another request */
  int chunked;              /* the body is chunked: re-chunked upstream */
  int has_length;           /* the body has a Content-Length ... */
  uint64_t content_length;  /* ... of this many bytes, as parsed */
  int has_host;             /* host below is the authority the client named */
  http_span host;           /* Host value, or the authority of an absolute-form
                               target; a span of the head's buffer */
} proxyhead_request;

/* Limits and names the request checks need. Strings are borrowed. */
typedef struct proxyhead_rules {
  uint64_t max_body_bytes;     /* 413 beyond */
  const char *identity_header; /* identity.header (any case) */
} proxyhead_rules;

void proxyhead_reader_init(proxyhead_reader *r, http_head *head);

/* A new request starts (llhttp's on_message_begin): empties the head. */
void proxyhead_begin(proxyhead_reader *r);

/* Call with the bytes given to llhttp_execute, before and after it. */
void proxyhead_feed_begin(proxyhead_reader *r, const char *data, size_t len);
void proxyhead_feed_end(proxyhead_reader *r, const char *data, size_t len);

/* llhttp's on_url, on_header_field, on_header_value. Return 0, or -1 with
 * r->error_status set (431, or 400 with r->error_reason). (llhttp replaces
 * its reason when a callback fails, hence error_reason.) */
int proxyhead_on_url(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len);
int proxyhead_on_header_field(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len);
int proxyhead_on_header_value(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len);

/* The head is complete (llhttp's on_headers_complete): runs the request
 * rules above, rewrites an absolute-form target in place to origin-form,
 * and fills out. Returns 0, or -1 with r->error_status set (400 also with
 * r->error_reason). */
int proxyhead_check_request(proxyhead_reader *r, llhttp_t *p, const proxyhead_rules *rules,
                            proxyhead_request *out);

/* llhttp's on_chunk_header: body_so_far bytes were read; refuses (413) a
 * chunk that would pass max_body_bytes before any of it arrives. */
int proxyhead_on_chunk_header(proxyhead_reader *r, llhttp_t *p, uint64_t body_so_far,
                              uint64_t max_body_bytes);

/* llhttp's on_chunk_extension_name and _value: chunk extensions are
 * dropped (RFC 9112 7.1.1), their bytes counted with the trailers' against
 * the head limit: past it, 400. */
int proxyhead_on_chunk_extension(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len);

/* 1 when [p, p + n) is a valid Host value (RFC 9110 7.2: uri-host
 * [":" port], RFC 3986 grammar; an empty host is refused, as nginx does). */
int proxyhead_host_valid(const char *p, size_t n);

/* What authrelay adds to a forwarded request. Strings are borrowed. */
typedef struct proxyhead_forward {
  const char *peer_ip;          /* appended to X-Forwarded-For */
  const char *upstream_host;    /* Host when the request named none */
  const char *upstream_port;
  int inspect;                  /* the route inspects: Accept-Encoding: identity */
  const char *identity_header;  /* identity.header */
  const char *user;             /* the trusted registered user, or NULL */
} proxyhead_forward;

/* Appends the request head sent upstream: the request line in origin-form,
 * the client's end-to-end headers (not: hop-by-hop ones and those its
 * Connection names, Expect, Host, Content-Length, the identity and
 * signature headers, X-Authrelay-Retry, Accept-Encoding when inspecting),
 * then Host, X-Forwarded-*, Via, the identity header with the user
 * authrelay vouches for, and the framing parsed (Content-Length or
 * Transfer-Encoding: chunked, or none). Returns 0 or dynbuf's error. */
int proxyhead_build_request(const http_head *h, const proxyhead_request *rq,
                            const proxyhead_forward *fw, dynbuf *out);

/* ---- responses ----------------------------------------------------------- */

/* Watches the raw bytes of a status line for the status code's digits
 * (llhttp 8.1 takes "20", "0200" and "HTTP/1.1  200" without complaint). */
typedef struct proxyhead_status {
  uint8_t state;  /* 0 version, 1 digits, 2 well formed, 3 malformed */
  uint8_t digits; /* digits seen */
  uint8_t seen;   /* bytes of the version seen */
} proxyhead_status;

/* Starts watching a new status line. */
void proxyhead_status_begin(proxyhead_status *s);

/* Feeds response bytes from where the status line starts; stops looking
 * once decided, so passing a whole read is fine. */
void proxyhead_status_feed(proxyhead_status *s, const char *p, size_t n);

/* A response head as the upstream side understood it. */
typedef struct proxyhead_response {
  int status;
  int http_minor;           /* 0 or 1 (HTTP/1.x) */
  const http_head *head;    /* reason (as target) and headers; not owned */
  int64_t content_length;   /* -1 when the response has none */
  int chunked;              /* Transfer-Encoding: chunked */
  int no_body;              /* HEAD, 204 or 304: no body follows */
} proxyhead_response;

/* The response head h is complete (llhttp's on_headers_complete). Returns
 * 1 for an interim 1xx response (to skip), 0 with out filled for a final
 * one, or -EBADMSG when it is malformed (see the rules above; 101 too). */
int proxyhead_check_response(const http_head *h, const llhttp_t *p, const proxyhead_status *s,
                             int head_request, proxyhead_response *out);

/* How the response goes to the client. */
typedef struct proxyhead_client {
  int chunked;   /* the body is framed chunked for the client */
  int close;     /* Connection: close */
  int reframed;  /* the upstream's Content-Length does not apply */
} proxyhead_client;

/* Appends the response head sent to the client: the status line, the
 * upstream's end-to-end headers (not: hop-by-hop ones, those its
 * Connection names, Content-Length, Via), then Via, and the framing:
 * Content-Length as parsed (unless reframed, 1xx or 204), or
 * Transfer-Encoding: chunked, and Connection: close. Returns 0 or
 * dynbuf's error. */
int proxyhead_build_response(const proxyhead_response *r, const proxyhead_client *cl, dynbuf *out);

/* ---- answers authrelay gives itself -------------------------------------- */

/* One more header line of such an answer. */
typedef struct proxyhead_field {
  const char *name;
  const char *value;        /* NULL: the line is left out */
} proxyhead_field;

/* An answer authrelay writes itself (its own errors, the link page), with
 * a body of content_length bytes. Strings are borrowed. */
typedef struct proxyhead_answer {
  int status;
  const char *content_type;
  size_t content_length;
  const proxyhead_field *fields; /* in order, after Content-Length */
  size_t nfields;
  int close;                /* Connection: close */
} proxyhead_answer;

/* Appends its head: the status line with the standard reason, Content-Type,
 * Content-Length, the fields, Connection: close. Returns 0, -EINVAL when a
 * value holds a control byte other than HTAB (it could split the head:
 * nothing is written past the bytes appended so far), or dynbuf's error. */
int proxyhead_build_answer(const proxyhead_answer *a, dynbuf *out);

#endif
