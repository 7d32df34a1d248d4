/* fuzz_request: libFuzzer harness for the client request head and body
 * framing, through the code the exchange runs (proxy/http/proxyhead.c): llhttp
 * strict with the proxyhead callbacks and checks exactly as exchange.c
 * installs them, then, for an accepted request, the head authrelay sends
 * upstream (proxyhead_build_request) and the body re-framed as exchange.c's
 * on_body / on_message_complete do (chunked: one chunk per piece, then the
 * last chunk; otherwise the bytes as they are).
 *
 * Input layout:
 *   byte 0   bit 0     feed the request in pieces (else whole)
 *            bit 1     a trusted user is forwarded ("u-1")
 *            bit 2     the route inspects (Accept-Encoding: identity)
 *            bits 3-7  piece size - 1 (1..32)
 *   rest     the bytes a client sends
 *
 * Invariants (abort() on violation):
 *   - whole and piecewise feeding agree: the same verdict (a head both too
 *     large and malformed may get 431 or 400), and for an accepted request
 *     the same upstream bytes;
 *   - a refusal has a status among 400 413 431 501 505 (500 only for
 *     memory), an accepted body never passes the body limit;
 *   - what goes upstream, parsed again by a fresh strict llhttp, is exactly
 *     one complete request using every byte (no second message smuggled),
 *     with the same method, the origin-form target, the same body, one Host
 *     that is valid, at most one of Content-Length / Transfer-Encoding and
 *     the one parsed (Content-Length as the canonical number), no
 *     hop-by-hop header, no header the client's Connection named (but those
 *     authrelay writes itself), no Expect, no X-Registered-User-Sig, no
 *     X-Authrelay-Retry, the identity header only as the forwarded user;
 *   - that request passes the same checks again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "fuzz.h"
#include "fuzz_head.h"
#include "proxyhead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096
#define MAX_HEAD 4096
#define MAX_HEADERS 64
#define IDENTITY "X-Registered-User-Id"
#define USER "u-1"

/* One pass of the exchange's request reading. */
typedef struct pass {
  fuzz_head h; /* first: the fuzz_head_* callbacks find it */
  proxyhead_request rq;
  llhttp_t parser;
  dynbuf body;      /* as sent upstream (framed) */
  dynbuf plain;     /* the body's bytes */
  uint64_t body_bytes;
  int done;         /* on_message_complete */
  int status;       /* 0: accepted */
} pass;

static pass *pass_of(llhttp_t *p) {
  return p->data;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_url(&pass_of(p)->h.rd, p, at, n);
}
static int on_headers(llhttp_t *p) {
  pass *ps = pass_of(p);
  proxyhead_rules rules = {MAX_BODY, IDENTITY};
  return proxyhead_check_request(&ps->h.rd, p, &rules, &ps->rq) == 0 ? 0 : -1;
}
static int on_ext(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_chunk_extension(&pass_of(p)->h.rd, p, at, n);
}
static int on_chunk(llhttp_t *p) {
  return proxyhead_on_chunk_header(&pass_of(p)->h.rd, p, pass_of(p)->body_bytes, MAX_BODY);
}
/* exchange.c's on_body: the limit, then the bytes re-chunked or as they are. */
static int on_body(llhttp_t *p, const char *at, size_t n) {
  pass *ps = pass_of(p);
  char line[HTTP_CHUNK_LINE_MAX];
  ps->body_bytes += n;
  if (ps->body_bytes > MAX_BODY) {
    ps->h.rd.error_status = 413;
    return -1;
  }
  REQUIRE(dynbuf_add(&ps->plain, at, n) == 0);
  if (ps->rq.chunked) {
    REQUIRE(dynbuf_add(&ps->body, line, http_chunk_line(n, line)) == 0);
    REQUIRE(dynbuf_add(&ps->body, at, n) == 0);
    REQUIRE(dynbuf_add(&ps->body, "\r\n", 2) == 0);
  } else {
    REQUIRE(dynbuf_add(&ps->body, at, n) == 0);
  }
  return 0;
}
static int on_complete(llhttp_t *p) {
  pass *ps = pass_of(p);
  if (ps->rq.chunked)
    REQUIRE(dynbuf_add(&ps->body, "0\r\n\r\n", 5) == 0);
  ps->done = 1;
  return HPE_PAUSED; /* the next pipelined request waits, as in the exchange */
}

static const llhttp_settings_t settings = {
    .on_message_begin = fuzz_head_on_begin,
    .on_url = on_url,
    .on_header_field = fuzz_head_on_field,
    .on_header_value = fuzz_head_on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
    .on_chunk_header = on_chunk,
    .on_chunk_extension_name = on_ext,
    .on_chunk_extension_value = on_ext,
};

/* roomy: a pass over what goes upstream, which carries authrelay's headers too */
static void run_pass(pass *ps, const char *p, size_t n, size_t piece, int roomy) {
  size_t off = 0;
  memset(ps, 0, sizeof *ps);
  fuzz_head_init(&ps->h, roomy ? 4 * MAX_HEAD + 4096 : MAX_HEAD, roomy ? 4 * MAX_HEADERS : MAX_HEADERS);
  dynbuf_init(&ps->body, 3 * MAX_BODY + 64);
  dynbuf_init(&ps->plain, MAX_BODY + 1);
  llhttp_init(&ps->parser, HTTP_REQUEST, &settings);
  ps->parser.data = ps;
  ps->status = -1; /* incomplete */
  while (off < n) {
    size_t k = piece == 0 || n - off < piece ? n - off : piece;
    llhttp_errno_t err;
    proxyhead_feed_begin(&ps->h.rd, p + off, k);
    err = llhttp_execute(&ps->parser, p + off, k);
    proxyhead_feed_end(&ps->h.rd, p + off, k);
    if (err == HPE_PAUSED && ps->done) {
      ps->status = 0;
      return;
    }
    if (err != HPE_OK) {
      ps->status = ps->h.rd.error_status != 0 ? ps->h.rd.error_status : 400;
      return;
    }
    off += k;
  }
}

static void free_pass(pass *ps) {
  fuzz_head_free(&ps->h);
  dynbuf_free(&ps->body);
  dynbuf_free(&ps->plain);
}

/* ---- the upstream side: parsing what authrelay sends --------------------- */

typedef struct seen {
  fuzz_head h; /* first: the fuzz_head_* callbacks find it */
  dynbuf body;
  int messages;
  int method;
  int flags;
  uint64_t content_length;
} seen;

static int s_headers(llhttp_t *p) {
  seen *s = p->data;
  s->method = p->method;
  s->flags = p->flags;
  s->content_length = p->content_length;
  s->h.rd.in_trailers = 1;
  return 0;
}
static int s_body(llhttp_t *p, const char *at, size_t n) {
  REQUIRE(dynbuf_add(&((seen *)p->data)->body, at, n) == 0);
  return 0;
}
static int s_complete(llhttp_t *p) {
  ((seen *)p->data)->messages++;
  return 0;
}

static const llhttp_settings_t seen_settings = {
    .on_message_begin = fuzz_head_on_begin,
    .on_url = fuzz_head_on_target,
    .on_header_field = fuzz_head_on_field,
    .on_header_value = fuzz_head_on_value,
    .on_headers_complete = s_headers,
    .on_body = s_body,
    .on_message_complete = s_complete,
};

/* 1 when authrelay writes a header of this name itself. */
static int written_by_authrelay(const char *name, size_t len) {
  static const char *const ours[] = {"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                     "via", "accept-encoding", "transfer-encoding", "content-length",
                                     IDENTITY};
  size_t i;
  for (i = 0; i < sizeof ours / sizeof ours[0]; i++) {
    if (http_equals_nocase(name, len, ours[i]))
      return 1;
  }
  return 0;
}

static void check_upstream(const pass *in, const dynbuf *head, const dynbuf *body, int trusted) {
  static const char *const banned[] = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                       "upgrade", "proxy-authorization", "proxy-authenticate", "expect",
                                       PROXYHEAD_SIG_HEADER, PROXYHEAD_RETRY_HEADER};
  const http_head *ih = &in->h.head;
  seen s;
  llhttp_t p;
  llhttp_errno_t err;
  size_t i, j;
  const http_header *host;
  memset(&s, 0, sizeof s);
  fuzz_head_init(&s.h, 4 * MAX_HEAD + 4096, 4 * MAX_HEADERS);
  dynbuf_init(&s.body, MAX_BODY + 1);
  llhttp_init(&p, HTTP_REQUEST, &seen_settings);
  p.data = &s;
  err = llhttp_execute(&p, head->ptr, head->len);
  if (err == HPE_OK && body->len > 0)
    err = llhttp_execute(&p, body->ptr, body->len);
  REQUIRE(err == HPE_OK);    /* all of it parses ... */
  REQUIRE(s.messages == 1);  /* ... as exactly one request, complete */
  REQUIRE(llhttp_finish(&p) == HPE_OK);
  REQUIRE(s.method == in->rq.method);
  REQUIRE(s.h.head.target.len == ih->target.len &&
          memcmp(http_head_str(&s.h.head, s.h.head.target), http_head_str(ih, ih->target), ih->target.len) == 0);
  REQUIRE(http_head_str(ih, ih->target)[0] == '/');
  REQUIRE(s.body.len == in->plain.len && (s.body.len == 0 || memcmp(s.body.ptr, in->plain.ptr, s.body.len) == 0));
  /* framing: the parsed one */
  REQUIRE(!((s.flags & F_CHUNKED) && (s.flags & F_CONTENT_LENGTH)));
  REQUIRE(((s.flags & F_CHUNKED) != 0) == (in->rq.chunked != 0));
  REQUIRE(((s.flags & F_CONTENT_LENGTH) != 0) == (!in->rq.chunked && in->rq.has_length));
  if (s.flags & F_CONTENT_LENGTH)
    REQUIRE(s.content_length == in->rq.content_length);
  REQUIRE(fuzz_head_count(&s.h.head, "content-length") + fuzz_head_count(&s.h.head, "transfer-encoding") <= 1);
  /* routing */
  REQUIRE(fuzz_head_count(&s.h.head, "host") == 1);
  host = http_head_find(&s.h.head, "host");
  REQUIRE(proxyhead_host_valid(http_head_str(&s.h.head, host->value), host->value.len));
  /* what authrelay does not forward */
  for (i = 0; i < sizeof banned / sizeof banned[0]; i++)
    REQUIRE(fuzz_head_count(&s.h.head, banned[i]) == 0);
  REQUIRE(fuzz_head_count(&s.h.head, IDENTITY) == (size_t)(trusted ? 1 : 0));
  if (trusted) {
    const http_header *id = http_head_find(&s.h.head, IDENTITY);
    REQUIRE(id->value.len == strlen(USER) && memcmp(http_head_str(&s.h.head, id->value), USER, strlen(USER)) == 0);
  }
  for (i = 0; i < s.h.head.nheaders; i++) {
    const http_header *hd = &s.h.head.headers[i];
    const char *name = http_head_str(&s.h.head, hd->name);
    REQUIRE(hd->name.len > 0);
    if (written_by_authrelay(name, hd->name.len))
      continue;
    for (j = 0; j < ih->nheaders; j++) {
      const http_header *c = &ih->headers[j];
      if (http_equals_nocase(http_head_str(ih, c->name), c->name.len, "connection"))
        REQUIRE(!http_token_list_has(http_head_str(ih, c->value), c->value.len, name, hd->name.len));
    }
  }
  fuzz_head_free(&s.h);
  dynbuf_free(&s.body);

  /* The request sent upstream passes the same rules. */
  {
    pass again;
    dynbuf all;
    dynbuf_init(&all, head->len + body->len + 1);
    REQUIRE(dynbuf_add(&all, head->ptr, head->len) == 0);
    REQUIRE(body->len == 0 || dynbuf_add(&all, body->ptr, body->len) == 0);
    run_pass(&again, all.ptr, all.len, 0, 1);
    REQUIRE(again.status == 0);
    REQUIRE(again.plain.len == in->plain.len);
    free_pass(&again);
    dynbuf_free(&all);
  }
}

static void build(pass *ps, int trusted, int inspect, dynbuf *out) {
  proxyhead_forward fw = {"127.0.0.1", "upstream.test", "8080", inspect, IDENTITY, trusted ? USER : NULL};
  dynbuf_init(out, 4 * MAX_HEAD + 4096);
  REQUIRE(proxyhead_build_request(&ps->h.head, &ps->rq, &fw, out) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pass whole, pieces;
  int trusted, inspect;
  size_t piece;
  if (size < 1)
    return 0;
  trusted = (data[0] & 2) != 0;
  inspect = (data[0] & 4) != 0;
  piece = (data[0] & 1) ? (size_t)(data[0] >> 3) + 1 : 0;
  run_pass(&whole, (const char *)data + 1, size - 1, 0, 0);
  run_pass(&pieces, (const char *)data + 1, size - 1, piece, 0);
  if (getenv("FUZZ_REQUEST_DEBUG") != NULL)
    fprintf(stderr, "whole: %d (%s), pieces of %zu: %d (%s)\n", whole.status,
            whole.h.rd.error_reason != NULL ? whole.h.rd.error_reason : llhttp_get_error_reason(&whole.parser),
            piece, pieces.status,
            pieces.h.rd.error_reason != NULL ? pieces.h.rd.error_reason : llhttp_get_error_reason(&pieces.parser));
  /* The same verdict; only which refusal may differ when the head is too
   * large as well as malformed (sizes are counted as pieces arrive, llhttp
   * finds a bad byte before it hands over the piece). */
  REQUIRE(whole.status == pieces.status ||
          (whole.status > 0 && pieces.status > 0 && (whole.status == 431 || pieces.status == 431)));
  REQUIRE(whole.status <= 0 || whole.status == 400 || whole.status == 413 || whole.status == 431 ||
          whole.status == 501 || whole.status == 505);
  if (whole.status == 0) {
    dynbuf a, b;
    REQUIRE(whole.plain.len <= MAX_BODY);
    build(&whole, trusted, inspect, &a);
    build(&pieces, trusted, inspect, &b);
    REQUIRE(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
    REQUIRE(whole.plain.len == pieces.plain.len &&
            (whole.plain.len == 0 || memcmp(whole.plain.ptr, pieces.plain.ptr, whole.plain.len) == 0));
    check_upstream(&whole, &a, &whole.body, trusted);
    dynbuf_free(&a);
    dynbuf_free(&b);
  }
  free_pass(&whole);
  free_pass(&pieces);
  return 0;
}
