/* test_proxyhead: the HTTP/1.1 proxy rules of proxy/proxyhead.c.
 *
 * Requests go through llhttp (strict) with the same proxyhead callbacks the
 * exchange installs, fed in one piece and byte by byte; the checks' status,
 * the origin-form target, the authority, and the head built for the
 * upstream are compared with what RFC 9112/9110 and DESIGN.md ask.
 * Responses go through proxyhead's status-line watch and response checks,
 * and the head rebuilt for the client is checked for its framing. The heads
 * of authrelay's own answers are compared byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <llhttp.h>

#include "proxyhead.h"
#include "unit.h"

#define MAX_BODY 1000

typedef struct req_run {
  http_head head;
  proxyhead_reader rd;
  proxyhead_request rq;
  llhttp_t parser;
  int headers_done;
  uint64_t body;
  int status; /* 0: accepted; else the refusal's status */
} req_run;

static req_run *run_of(llhttp_t *p) {
  return p->data;
}

static int cb_begin(llhttp_t *p) {
  proxyhead_begin(&run_of(p)->rd);
  return 0;
}
static int cb_url(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_url(&run_of(p)->rd, p, at, n);
}
static int cb_field(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_field(&run_of(p)->rd, p, at, n);
}
static int cb_value(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_value(&run_of(p)->rd, p, at, n);
}
static int cb_headers(llhttp_t *p) {
  req_run *r = run_of(p);
  proxyhead_rules rules = {MAX_BODY, "X-Registered-User-Id"};
  if (proxyhead_check_request(&r->rd, p, &rules, &r->rq) != 0)
    return -1;
  r->headers_done = 1;
  return 0;
}
static int cb_ext(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_chunk_extension(&run_of(p)->rd, p, at, n);
}
static int cb_chunk(llhttp_t *p) {
  return proxyhead_on_chunk_header(&run_of(p)->rd, p, run_of(p)->body, MAX_BODY);
}
static int cb_body(llhttp_t *p, const char *at, size_t n) {
  (void)at;
  run_of(p)->body += n;
  return 0;
}
static int cb_complete(llhttp_t *p) {
  (void)p;
  return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = cb_begin,
    .on_url = cb_url,
    .on_header_field = cb_field,
    .on_header_value = cb_value,
    .on_headers_complete = cb_headers,
    .on_body = cb_body,
    .on_message_complete = cb_complete,
    .on_chunk_header = cb_chunk,
    .on_chunk_extension_name = cb_ext,
    .on_chunk_extension_value = cb_ext,
};

/* Parses raw (len bytes) in pieces of step bytes (0: one piece). */
static void parse_req(req_run *r, const char *raw, size_t len, size_t step) {
  size_t off = 0;
  memset(r, 0, sizeof *r);
  http_head_init(&r->head, 4096, 50);
  proxyhead_reader_init(&r->rd, &r->head);
  llhttp_init(&r->parser, HTTP_REQUEST, &settings);
  r->parser.data = r;
  while (off < len) {
    size_t n = step == 0 || len - off < step ? len - off : step;
    llhttp_errno_t err;
    proxyhead_feed_begin(&r->rd, raw + off, n);
    err = llhttp_execute(&r->parser, raw + off, n);
    proxyhead_feed_end(&r->rd, raw + off, n);
    if (err == HPE_PAUSED)
      break;
    if (err != HPE_OK) {
      r->status = r->rd.error_status != 0 ? r->rd.error_status : 400;
      return;
    }
    off += n;
  }
}

/* The status for raw, fed whole and byte by byte (they must agree). */
static int status_of(const char *raw) {
  req_run a, b;
  int st;
  parse_req(&a, raw, strlen(raw), 0);
  parse_req(&b, raw, strlen(raw), 1);
  if (a.status != b.status)
    fprintf(stderr, "split feeding differs for %s: %d vs %d\n", raw, a.status, b.status);
  CHECK_EQ_U64(a.status, b.status);
  st = a.status;
  http_head_free(&a.head);
  http_head_free(&b.head);
  return st;
}

#define GET_HOST(extra) "GET / HTTP/1.1\r\nHost: a\r\n" extra "\r\n"

static void connection_may_not_remove_framing(void) {
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello"), 400);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Transfer-Encoding\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of(GET_HOST("Connection: HOST\r\n")), 400);
  CHECK_EQ_U64(status_of(GET_HOST("Connection: keep-alive, x-drop\r\nX-Drop: 1\r\n")), 0);
}

static void host_rules(void) {
  static const char *const bad[] = {"", "a b", "a/b", "a@b", "[::1", "[::1]x", "[zz]", "a:99999", "a:1x",
                                    ":80", "a%zz", "\"a\"", "a,b:80:1"};
  static const char *const good[] = {"example.com", "example.com:8080", "[::1]:80", "127.0.0.1", "a_b.c~",
                                     "a%41", "[v1.x:y]", "a:", "xn--bcher-kva.example"};
  char raw[256];
  size_t i;
  CHECK_EQ_U64(status_of("GET / HTTP/1.1\r\n\r\n"), 400);              /* missing */
  CHECK_EQ_U64(status_of("GET / HTTP/1.0\r\n\r\n"), 0);                /* optional in 1.0 */
  CHECK_EQ_U64(status_of(GET_HOST("Host: a\r\n")), 400);               /* repeated */
  CHECK_EQ_U64(status_of(GET_HOST("hOsT: b\r\n")), 400);
  CHECK_EQ_U64(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
    if (status_of(raw) != 400)
      fprintf(stderr, "Host %s accepted\n", bad[i]);
    CHECK_EQ_U64(status_of(raw), 400);
    CHECK(!proxyhead_host_valid(bad[i], strlen(bad[i])));
  }
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
    CHECK_EQ_U64(status_of(raw), 0);
  }
}

static void framing_rules(void) {
  CHECK_EQ_U64(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n0\r\n\r\n"), 0);
  CHECK_EQ_U64(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
  CHECK_EQ_U64(status_of("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
  CHECK_EQ_U64(status_of(GET_HOST(": empty\r\n")), 400);
  CHECK_EQ_U64(status_of(GET_HOST("X-A: 1\r\n  folded\r\n")), 400);
  CHECK_EQ_U64(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n"), 413);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"), 0);
  /* The chunk size line alone is enough to refuse. */
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n"), 413);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "1f4\r\n"), 0);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"), 413);
}

/* Chunk extensions and trailers are dropped, and capped like a head (4096
 * here): a client cannot stream them forever. */
static void extensions_and_trailers_capped(void) {
  static char raw[12000];
  req_run r;
  size_t n = (size_t)snprintf(raw, sizeof raw, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
  memset(raw + n, 'a', 5000);
  memcpy(raw + n + 5000, "\r\nx\r\n0\r\n\r\n", 10);
  parse_req(&r, raw, n + 5010, 0);
  CHECK_EQ_U64(r.status, 400);
  http_head_free(&r.head);
  parse_req(&r, raw, n + 5010, 7);
  CHECK_EQ_U64(r.status, 400);
  http_head_free(&r.head);
  n = (size_t)snprintf(raw, sizeof raw, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ");
  memset(raw + n, 'a', 5000);
  memcpy(raw + n + 5000, "\r\n\r\n", 4);
  parse_req(&r, raw, n + 5004, 0);
  CHECK_EQ_U64(r.status, 431);
  http_head_free(&r.head);
  CHECK_EQ_U64(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "1;a=b\r\nx\r\n1;c\r\ny\r\n0\r\nX-T: 1\r\n\r\n"), 0);
}

static void identity_not_repeated(void) {
  CHECK_EQ_U64(status_of(GET_HOST("X-Registered-User-Id: a\r\nx-registered-user-id: b\r\n")), 400);
  CHECK_EQ_U64(status_of(GET_HOST("X-Registered-User-Sig: a\r\nX-Registered-User-Sig: b\r\n")), 400);
  CHECK_EQ_U64(status_of(GET_HOST("X-Registered-User-Id: a\r\nX-Registered-User-Sig: b\r\n")), 0);
}

static void targets(void) {
  /* an absolute-form target: the path goes upstream, its authority is the host */
  static const struct {
    const char *raw;
    size_t piece; /* parse_req's feeding size */
    const char *target;
    const char *host;
  } ok[] = {
      {"GET http://h:81/p?q HTTP/1.1\r\nHost: a\r\n\r\n", 0, "/p?q", "h:81"},
      {"GET HTTP://h?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", 3, "/?q=1", "h"},
      {"GET https://[::1]:8443 HTTP/1.1\r\nHost: a\r\n\r\n", 0, "/", "[::1]:8443"},
  };
  size_t i;
  for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    req_run r;
    parse_req(&r, ok[i].raw, strlen(ok[i].raw), ok[i].piece);
    CHECK_EQ_U64(r.status, 0);
    CHECK_MEM(http_head_str(&r.head, r.head.target), r.head.target.len, ok[i].target);
    CHECK_MEM(http_head_str(&r.head, r.rq.host), r.rq.host.len, ok[i].host);
    http_head_free(&r.head);
  }
  CHECK_EQ_U64(status_of("GET http://u:p@h/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  CHECK_EQ_U64(status_of("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

/* Builds the upstream head of raw (accepted) into out. */
static void build(const char *raw, const char *user, dynbuf *out, req_run *r) {
  proxyhead_forward fw = {"10.0.0.9", "up", "8080", 1, "X-Registered-User-Id", user};
  parse_req(r, raw, strlen(raw), 0);
  CHECK_EQ_U64(r->status, 0);
  dynbuf_init(out, 65536);
  CHECK(proxyhead_build_request(&r->head, &r->rq, &fw, out) == 0);
  CHECK(dynbuf_add(out, "", 1) == 0); /* NUL, for strstr */
}

static void upstream_head(void) {
  req_run r;
  dynbuf out;
  build("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 005\r\nX-Registered-User-Id: mallory\r\n"
        "X-Registered-User-Sig: t=1,v1=00\r\nConnection: x-a\r\nX-A: 1\r\nX-Authrelay-Retry: 9\r\n"
        "Accept-Encoding: gzip\r\nX-Forwarded-For: 1.2.3.4\r\nVia: 1.0 a\r\nExpect: 100-continue\r\n\r\nhello",
        "alice", &out, &r);
  CHECK(strncmp(out.ptr, "POST /p HTTP/1.1\r\n", 18) == 0);
  CHECK(strstr(out.ptr, "\r\nContent-Length: 5\r\n") != NULL);
  CHECK(strstr(out.ptr, "005") == NULL);
  CHECK(strstr(out.ptr, "mallory") == NULL);
  CHECK(strstr(out.ptr, "\r\nX-Registered-User-Id: alice\r\n") != NULL);
  CHECK(strstr(out.ptr, "Sig") == NULL);
  CHECK(strstr(out.ptr, "X-A:") == NULL);
  CHECK(strstr(out.ptr, "Retry") == NULL);
  CHECK(strstr(out.ptr, "gzip") == NULL);
  CHECK(strstr(out.ptr, "Expect") == NULL);
  CHECK(strstr(out.ptr, "\r\nHost: h\r\n") != NULL);
  CHECK(strstr(out.ptr, "\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.9\r\n") != NULL);
  CHECK(strstr(out.ptr, "\r\nVia: 1.0 a, 1.1 authrelay\r\n") != NULL);
  CHECK(strstr(out.ptr, "\r\nAccept-Encoding: identity\r\n") != NULL);
  CHECK(strstr(out.ptr, "Transfer-Encoding") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);

  /* Untrusted: no identity at all; chunked stays chunked, once. */
  build("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Registered-User-Id: mallory\r\n\r\n"
        "0\r\n\r\n", NULL, &out, &r);
  CHECK(strstr(out.ptr, "mallory") == NULL);
  CHECK(strstr(out.ptr, "X-Registered-User-Id") == NULL);
  CHECK(strstr(out.ptr, "\r\nTransfer-Encoding: chunked\r\n") != NULL);
  CHECK(strstr(out.ptr, "Content-Length") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);

  /* No Host (HTTP/1.0): the upstream's; absolute-form: its authority. */
  build("GET /x HTTP/1.0\r\n\r\n", NULL, &out, &r);
  CHECK(strstr(out.ptr, "\r\nHost: up:8080\r\n") != NULL);
  CHECK(strstr(out.ptr, "X-Forwarded-Host") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);
  build("GET http://b.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL, &out, &r);
  CHECK(strncmp(out.ptr, "GET /x HTTP/1.1\r\n", 17) == 0);
  CHECK(strstr(out.ptr, "\r\nHost: b.example\r\n") != NULL);
  CHECK(strstr(out.ptr, "a.example") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);

  /* Trailers are dropped, never merged into the head. */
  build("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        "X-Registered-User-Id: mallory\r\nContent-Length: 3\r\n\r\n", NULL, &out, &r);
  CHECK(strstr(out.ptr, "mallory") == NULL);
  CHECK(strstr(out.ptr, "Content-Length") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);
}

/* ---- responses ----------------------------------------------------------- */

typedef struct resp_run {
  http_head head;
  proxyhead_reader rd;
  proxyhead_status st;
  proxyhead_response out;
  int rc;
} resp_run;

static int rcb_status(llhttp_t *p, const char *at, size_t n) {
  return http_head_add_target(&((resp_run *)p->data)->head, at, n) == 0 ? 0 : -1;
}
static int rcb_field(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_field(&((resp_run *)p->data)->rd, p, at, n);
}
static int rcb_value(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_value(&((resp_run *)p->data)->rd, p, at, n);
}
static int rcb_headers(llhttp_t *p) {
  resp_run *r = p->data;
  r->rc = proxyhead_check_response(&r->head, p, &r->st, 0, &r->out);
  return r->rc < 0 ? -1 : HPE_PAUSED;
}

static const llhttp_settings_t rsettings = {
    .on_status = rcb_status,
    .on_header_field = rcb_field,
    .on_header_value = rcb_value,
    .on_headers_complete = rcb_headers,
};

/* Parses one response head fed byte by byte; returns the check's result
 * (-1 also when llhttp refused it). */
static int check_resp(resp_run *r, const char *raw) {
  llhttp_t p;
  size_t i;
  memset(r, 0, sizeof *r);
  http_head_init(&r->head, 4096, 50);
  proxyhead_reader_init(&r->rd, &r->head);
  proxyhead_status_begin(&r->st);
  llhttp_init(&p, HTTP_RESPONSE, &rsettings);
  p.data = r;
  r->rc = -1;
  for (i = 0; raw[i] != '\0'; i++) {
    llhttp_errno_t err;
    proxyhead_status_feed(&r->st, raw + i, 1);
    proxyhead_feed_begin(&r->rd, raw + i, 1);
    err = llhttp_execute(&p, raw + i, 1);
    proxyhead_feed_end(&r->rd, raw + i, 1);
    if (err == HPE_PAUSED)
      return r->rc < 0 ? -1 : r->rc;
    if (err != HPE_OK)
      return -1;
  }
  return -1;
}

static int resp_rc(const char *raw) {
  resp_run r;
  int rc = check_resp(&r, raw);
  http_head_free(&r.head);
  return rc;
}

static void response_rules(void) {
  CHECK(resp_rc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == 0);
  CHECK(resp_rc("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") == 0);
  CHECK(resp_rc("HTTP/1.1 100 Continue\r\n\r\n") == 1);
  CHECK(resp_rc("HTTP/1.1 20 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 0200 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1  200 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 999 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 099 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 101 Switching Protocols\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/2.0 200 OK\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 200 O\x01K\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 200 OK\r\n: x\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") < 0);
  CHECK(resp_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
  CHECK(resp_rc("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n") < 0); /* obs-fold: 502 */
}

static void client_head(void) {
  resp_run r;
  proxyhead_client cl = {0, 0, 0};
  dynbuf out;
  /* The upstream's Connection may not strip the framing sent on. */
  CHECK(check_resp(&r, "HTTP/1.1 200 OK\r\nConnection: content-length, x-a\r\nX-A: 1\r\nContent-Length: 05\r\n"
                       "Via: 1.1 up\r\n\r\n") == 0);
  dynbuf_init(&out, 65536);
  CHECK(proxyhead_build_response(&r.out, &cl, &out) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0);
  CHECK(strncmp(out.ptr, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(out.ptr, "\r\nContent-Length: 5\r\n") != NULL);
  CHECK(strstr(out.ptr, "X-A") == NULL);
  CHECK(strstr(out.ptr, "\r\nVia: 1.1 up, 1.1 authrelay\r\n") != NULL);
  dynbuf_free(&out);
  /* Reframed: chunked, no Content-Length. */
  cl.chunked = 1;
  cl.reframed = 1;
  cl.close = 1;
  dynbuf_init(&out, 65536);
  CHECK(proxyhead_build_response(&r.out, &cl, &out) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0);
  CHECK(strstr(out.ptr, "Content-Length") == NULL);
  CHECK(strstr(out.ptr, "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n") != NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);
  /* 204: never a Content-Length (RFC 9110 8.6). */
  CHECK(check_resp(&r, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n") == 0);
  cl.chunked = cl.reframed = cl.close = 0;
  dynbuf_init(&out, 65536);
  CHECK(proxyhead_build_response(&r.out, &cl, &out) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0);
  CHECK(strstr(out.ptr, "Content-Length") == NULL);
  dynbuf_free(&out);
  http_head_free(&r.head);
}

/* Answers authrelay writes itself: one builder for its JSON errors and the
 * link page's HTML (exchange.c had a hand-written copy for each); a value
 * that could split the head is refused, and the head has a cap. */
static void own_answers(void) {
  static const char want_error[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 42\r\nConnection: close\r\n\r\n";
  static const char want_page[] = "HTTP/1.1 302 Found\r\nContent-Type: text/html; charset=utf-8\r\n"
                                  "Content-Length: 0\r\nCache-Control: no-store\r\n"
                                  "Location: /_authrelay/link/x\r\n\r\n";
  proxyhead_field fields[3] = {{"Cache-Control", "no-store"}, {"Set-Cookie", NULL}, {"Location", "/_authrelay/link/x"}};
  proxyhead_answer a;
  dynbuf out;
  memset(&a, 0, sizeof a);
  a.status = 502;
  a.content_type = "application/json";
  a.content_length = 42;
  a.close = 1;
  dynbuf_init(&out, 4096);
  CHECK(proxyhead_build_answer(&a, &out) == 0);
  CHECK_MEM(out.ptr, out.len, want_error);
  dynbuf_free(&out);
  /* Fields in order, a NULL value left out, no Connection: close. */
  a.status = 302;
  a.content_type = "text/html; charset=utf-8";
  a.content_length = 0;
  a.close = 0;
  a.fields = fields;
  a.nfields = 3;
  dynbuf_init(&out, 4096);
  CHECK(proxyhead_build_answer(&a, &out) == 0);
  CHECK_MEM(out.ptr, out.len, want_page);
  dynbuf_free(&out);
  /* A CR LF in a value (a Location built from input) never splits the head. */
  fields[2].value = "/x\r\nSet-Cookie: sid=evil";
  dynbuf_init(&out, 4096);
  CHECK(proxyhead_build_answer(&a, &out) == -EINVAL);
  dynbuf_free(&out);
  fields[2].value = "/x\ty"; /* HTAB is allowed in a field value */
  dynbuf_init(&out, 4096);
  CHECK(proxyhead_build_answer(&a, &out) == 0);
  dynbuf_free(&out);
  /* Over the cap the caller chose: refused, not cut. */
  fields[2].value = "/_authrelay/link/x";
  dynbuf_init(&out, sizeof want_page - 1);
  CHECK(proxyhead_build_answer(&a, &out) == -E2BIG);
  dynbuf_free(&out);
}

int main(void) {
  RUN(connection_may_not_remove_framing);
  RUN(host_rules);
  RUN(framing_rules);
  RUN(extensions_and_trailers_capped);
  RUN(identity_not_repeated);
  RUN(targets);
  RUN(upstream_head);
  RUN(response_rules);
  RUN(client_head);
  RUN(own_answers);
  return unit_report();
}
