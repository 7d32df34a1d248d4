/* fuzz_response: libFuzzer harness for the upstream response head, through
 * the code the upstream pool and the exchange run (proxy/http/proxyhead.c):
 * llhttp strict reading a response with proxyhead's header callbacks and
 * status-line watch, interim 1xx responses skipped as upstream.c's
 * parse_response() does, proxyhead_check_response() on the final head, and
 * the head rewritten for the client (proxyhead_build_response) with the
 * framing exchange.c's up_on_head chooses.
 *
 * Input layout:
 *   byte 0   bit 0  the request was HEAD
 *            bit 1  the client speaks HTTP/1.0 (else 1.1)
 *            bit 2  the client does not keep the connection alive
 *            bit 3  the body is reframed (an SSE/NDJSON body with a length)
 *            bit 4  feed byte by byte (else whole)
 *   rest     the bytes the upstream sends
 *
 * Invariants (abort() on violation):
 *   - whole and byte-by-byte feeding agree on the verdict and on the head
 *     sent to the client;
 *   - an accepted head has a status of 200-599 written as three digits;
 *   - the head sent to the client, parsed by a fresh strict llhttp, is one
 *     complete response head using every byte: the same status, one Via,
 *     no hop-by-hop header but "Connection: close", never both
 *     Content-Length and Transfer-Encoding, Transfer-Encoding exactly when
 *     the body is chunked for the client, Content-Length only as the one
 *     parsed (and never with 204), no empty header name;
 *   - it passes the response checks again.
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

#define MAX_HEAD 4096
#define MAX_HEADERS 64

typedef struct pass {
  fuzz_head h; /* first: the fuzz_head_* callbacks find it */
  proxyhead_status st;
  proxyhead_response resp;
  llhttp_t parser;
  int head_request;
  int interim;      /* the head being read is 1xx */
  int interim_done; /* ... and it ended */
  int final;        /* the final head was accepted */
  int bad;          /* refused */
} pass;

/* upstream.c's on_headers_complete */
static int on_headers(llhttp_t *p) {
  pass *ps = p->data;
  int rc = proxyhead_check_response(&ps->h.head, p, &ps->st, ps->head_request, &ps->resp);
  if (rc < 0) {
    ps->bad = 1;
    return -1;
  }
  if (rc == 1) {
    ps->interim = 1;
    proxyhead_begin(&ps->h.rd);
    return 1;
  }
  ps->h.rd.in_trailers = 1;
  ps->final = 1;
  return HPE_PAUSED; /* the head is what this harness looks at */
}
static int on_complete(llhttp_t *p) {
  pass *ps = p->data;
  if (ps->interim) {
    ps->interim = 0;
    ps->interim_done = 1;
    return HPE_PAUSED;
  }
  return 0;
}

static const llhttp_settings_t settings = {
    .on_status = fuzz_head_on_target,
    .on_header_field = fuzz_head_on_field,
    .on_header_value = fuzz_head_on_value,
    .on_headers_complete = on_headers,
    .on_message_complete = on_complete,
};

/* upstream.c's parse_response(): returns llhttp's error. */
static llhttp_errno_t feed(pass *ps, const char *p, size_t n) {
  const char *end = p + n;
  llhttp_errno_t err;
  for (;;) {
    proxyhead_status_feed(&ps->st, p, (size_t)(end - p));
    proxyhead_feed_begin(&ps->h.rd, p, (size_t)(end - p));
    err = llhttp_execute(&ps->parser, p, (size_t)(end - p));
    proxyhead_feed_end(&ps->h.rd, p, (size_t)(end - p));
    if (err != HPE_PAUSED || !ps->interim_done)
      return err;
    ps->interim_done = 0;
    p = llhttp_get_error_pos(&ps->parser);
    llhttp_resume(&ps->parser);
    proxyhead_status_begin(&ps->st);
    if (p >= end)
      return HPE_OK;
  }
}

/* roomy: a pass over the head sent on, which carries authrelay's headers too */
static void run_pass(pass *ps, const char *p, size_t n, int head_request, int bytewise, int roomy) {
  size_t off;
  memset(ps, 0, sizeof *ps);
  fuzz_head_init(&ps->h, roomy ? 4 * MAX_HEAD + 4096 : MAX_HEAD, roomy ? 4 * MAX_HEADERS : MAX_HEADERS);
  proxyhead_status_begin(&ps->st);
  ps->head_request = head_request;
  llhttp_init(&ps->parser, HTTP_RESPONSE, &settings);
  ps->parser.data = ps;
  for (off = 0; off < n && !ps->final && !ps->bad;) {
    size_t k = bytewise ? 1 : n - off;
    llhttp_errno_t err = feed(ps, p + off, k);
    if (err != HPE_OK && !ps->final) {
      ps->bad = 1;
      break;
    }
    off += k;
  }
}

/* exchange.c's up_on_head: how the body goes to the client. */
static void client_framing(const proxyhead_response *r, int http10, int no_keep_alive, int reframe,
                           proxyhead_client *cl) {
  cl->chunked = 0;
  cl->close = no_keep_alive;
  cl->reframed = reframe && !r->no_body && r->content_length >= 0;
  if (!r->no_body && (r->content_length < 0 || cl->reframed)) {
    if (!http10)
      cl->chunked = 1;
    else
      cl->close = 1;
  }
}

typedef struct seen {
  fuzz_head h; /* first: the fuzz_head_* callbacks find it */
  int done;
  int status;
  int flags;
  uint64_t content_length;
} seen;

static int s_headers(llhttp_t *p) {
  seen *s = p->data;
  s->done = 1;
  s->status = p->status_code;
  s->flags = p->flags;
  s->content_length = p->content_length;
  return HPE_PAUSED;
}

static const llhttp_settings_t seen_settings = {
    .on_status = fuzz_head_on_target,
    .on_header_field = fuzz_head_on_field,
    .on_header_value = fuzz_head_on_value,
    .on_headers_complete = s_headers,
};

static void check_client_head(const pass *in, const proxyhead_client *cl, const dynbuf *out) {
  static const char *const banned[] = {"keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                                       "proxy-authenticate", "proxy-authorization"};
  seen s;
  llhttp_t p;
  llhttp_errno_t err;
  size_t i;
  memset(&s, 0, sizeof s);
  fuzz_head_init(&s.h, 4 * MAX_HEAD + 4096, 4 * MAX_HEADERS);
  llhttp_init(&p, HTTP_RESPONSE, &seen_settings);
  p.data = &s;
  REQUIRE(out->len >= 17 && memcmp(out->ptr, "HTTP/1.1 ", 9) == 0);
  err = llhttp_execute(&p, out->ptr, out->len);
  REQUIRE(err == HPE_PAUSED && s.done);
  REQUIRE(llhttp_get_error_pos(&p) == out->ptr + out->len); /* the head ends where the bytes do */
  REQUIRE(s.status == in->resp.status);
  REQUIRE(out->ptr[9] == '0' + in->resp.status / 100 && out->ptr[12] == ' ');
  REQUIRE(fuzz_head_count(&s.h.head, "via") == 1);
  for (i = 0; i < sizeof banned / sizeof banned[0]; i++)
    REQUIRE(fuzz_head_count(&s.h.head, banned[i]) == 0);
  for (i = 0; i < s.h.head.nheaders; i++) {
    const http_header *hd = &s.h.head.headers[i];
    REQUIRE(hd->name.len > 0);
    if (http_equals_nocase(http_head_str(&s.h.head, hd->name), hd->name.len, "connection"))
      REQUIRE(cl->close && http_equals_nocase(http_head_str(&s.h.head, hd->value), hd->value.len, "close"));
  }
  REQUIRE(fuzz_head_count(&s.h.head, "connection") == (size_t)(cl->close ? 1 : 0));
  REQUIRE(!((s.flags & F_CHUNKED) && (s.flags & F_CONTENT_LENGTH)));
  REQUIRE(fuzz_head_count(&s.h.head, "transfer-encoding") == (size_t)(cl->chunked ? 1 : 0));
  REQUIRE(((s.flags & F_CHUNKED) != 0) == (cl->chunked != 0));
  REQUIRE(fuzz_head_count(&s.h.head, "content-length") <= 1);
  if (s.flags & F_CONTENT_LENGTH) {
    REQUIRE(!cl->reframed && in->resp.status != 204);
    REQUIRE(in->resp.content_length >= 0 && s.content_length == (uint64_t)in->resp.content_length);
  } else if (!cl->chunked && !cl->reframed && in->resp.status != 204 && !in->resp.no_body) {
    REQUIRE(in->resp.content_length < 0); /* a length parsed is a length sent */
  }
  fuzz_head_free(&s.h);

  /* The head sent on passes the same checks. */
  {
    pass again;
    run_pass(&again, out->ptr, out->len, in->head_request, 0, 1);
    REQUIRE(again.final && !again.bad);
    REQUIRE(again.resp.status == in->resp.status);
    fuzz_head_free(&again.h);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pass whole, bytes;
  proxyhead_client cl;
  int head_request, http10, no_keep_alive, reframe;
  if (size < 1)
    return 0;
  head_request = data[0] & 1;
  http10 = (data[0] & 2) != 0;
  no_keep_alive = (data[0] & 4) != 0;
  reframe = (data[0] & 8) != 0;
  run_pass(&whole, (const char *)data + 1, size - 1, head_request, 0, 0);
  run_pass(&bytes, (const char *)data + 1, size - 1, head_request, 1, 0);
  REQUIRE(whole.final == bytes.final);
  if (whole.final) {
    dynbuf a, b;
    REQUIRE(whole.resp.status >= 200 && whole.resp.status <= 599);
    REQUIRE(whole.st.state == 2);
    client_framing(&whole.resp, http10, no_keep_alive, reframe, &cl);
    dynbuf_init(&a, 4 * MAX_HEAD + 4096);
    dynbuf_init(&b, 4 * MAX_HEAD + 4096);
    REQUIRE(proxyhead_build_response(&whole.resp, &cl, &a) == 0);
    REQUIRE(proxyhead_build_response(&bytes.resp, &cl, &b) == 0);
    REQUIRE(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
    check_client_head(&whole, &cl, &a);
    dynbuf_free(&a);
    dynbuf_free(&b);
  }
  fuzz_head_free(&whole.h);
  fuzz_head_free(&bytes.h);
  return 0;
}
