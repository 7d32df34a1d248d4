/* proxyhead: HTTP/1.1 proxy rules on message heads. See proxyhead.h.
 *
 * Comments cite the RFC 9112 / 9110 requirement each check enforces; where
 * authrelay is stricter than the RFC requires, it is as strict as nginx.
 */
#include "proxyhead.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

/* ---- requests: collecting the head -------------------------------------- */

void proxyhead_reader_init(proxyhead_reader *r, http_head *head) {
  memset(r, 0, sizeof *r);
  r->head = head;
}

void proxyhead_begin(proxyhead_reader *r) {
  http_head_reset(r->head);
  r->in_trailers = 0;
  r->extra_bytes = 0;
  r->error_status = 0;
  r->error_reason = NULL;
}

void proxyhead_feed_begin(proxyhead_reader *r, const char *data, size_t len) {
  r->parse_start = data;
  r->parse_end = data + len;
}

void proxyhead_feed_end(proxyhead_reader *r, const char *data, size_t len) {
  if (len >= 2) {
    r->tail[0] = data[len - 2];
    r->tail[1] = data[len - 1];
  } else if (len == 1) {
    r->tail[0] = r->tail[1];
    r->tail[1] = data[0];
  }
}

static int refuse(proxyhead_reader *r, llhttp_t *p, int status, const char *reason) {
  (void)p;
  r->error_status = status;
  r->error_reason = reason;
  return -1;
}

static int head_error(proxyhead_reader *r, int rc) {
  r->error_status = (rc == HTTP_E_HEAD_TOO_LARGE || rc == HTTP_E_TOO_MANY_HEADERS) ? 431 : 500;
  return -1;
}

/* The byte k (1 or 2) places before at, which may lie in the previous feed. */
static char byte_before(const proxyhead_reader *r, const char *at, size_t k) {
  size_t here = (size_t)(at - r->parse_start);
  return k <= here ? at[-(ptrdiff_t)k] : r->tail[2 - (k - here)];
}

int proxyhead_on_url(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len) {
  int rc;
  /* llhttp skips any number of spaces before the target; RFC 9112 3 allows
   * exactly one, and a relay must not read a request line differently from
   * the server behind it. */
  if (r->head->target.len == 0 && byte_before(r, at, 2) == ' ')
    return refuse(r, p, 400, "more than one space before the request target");
  rc = http_head_add_target(r->head, at, len);
  return rc == 0 ? 0 : head_error(r, rc);
}

/* Trailer fields (RFC 9110 6.5) are counted against the head limit and
 * dropped: never merged into the head (6.5.1), never sent upstream. */
static int trailer_piece(proxyhead_reader *r, size_t len) {
  r->extra_bytes += len + 1;
  if (r->extra_bytes > r->head->max_bytes) {
    r->error_status = 431;
    return -1;
  }
  return 0;
}

int proxyhead_on_chunk_extension(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len) {
  (void)at;
  r->extra_bytes += len + 1;
  if (r->extra_bytes > r->head->max_bytes)
    return refuse(r, p, 400, "chunk extensions too long");
  return 0;
}

int proxyhead_on_header_field(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len) {
  int rc;
  (void)p;
  if (r->in_trailers)
    return trailer_piece(r, len);
  rc = http_head_add_name(r->head, at, len);
  return rc == 0 ? 0 : head_error(r, rc);
}

/* llhttp 8.1 accepts obs-fold (a header line starting with a space or tab
 * continues the previous value) even in strict mode, and hands the piece
 * after the fold to this callback as more of the same value. A value may also
 * arrive in pieces because the head was split across reads; only then does a
 * piece start exactly where a read starts after the last one ended where its
 * read ended. Any other second piece skipped a line end: a fold, refused
 * (RFC 9112 5.2 lets a server refuse it with 400). */
int proxyhead_on_header_value(proxyhead_reader *r, llhttp_t *p, const char *at, size_t len) {
  int rc;
  if (r->in_trailers)
    return trailer_piece(r, len);
  if (r->head->in_value && !(r->value_at_end && at == r->parse_start))
    return refuse(r, p, 400, "obs-fold header line");
  r->value_at_end = at + len == r->parse_end;
  rc = http_head_add_value(r->head, at, len);
  return rc == 0 ? 0 : head_error(r, rc);
}

int proxyhead_on_chunk_header(proxyhead_reader *r, llhttp_t *p, uint64_t body_so_far,
                              uint64_t max_body_bytes) {
  /* p->content_length is the size of the chunk that starts now. */
  if (body_so_far > max_body_bytes || p->content_length > max_body_bytes - body_so_far)
    return refuse(r, p, 413, NULL);
  return 0;
}

/* ---- requests: the checks on a complete head ----------------------------- */

static int is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int is_sub_delim(char c) {
  return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* IPvFuture (RFC 3986 3.2.2): "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int ipvfuture_valid(const char *p, size_t n) {
  size_t i = 1;
  size_t start;
  if (n < 4 || (p[0] != 'v' && p[0] != 'V'))
    return 0;
  while (i < n && OPENSSL_hexchar2int((unsigned char)p[i]) >= 0)
    i++;
  if (i == 1 || i >= n || p[i] != '.')
    return 0;
  start = ++i;
  while (i < n && (is_unreserved(p[i]) || is_sub_delim(p[i]) || p[i] == ':'))
    i++;
  return i == n && i > start;
}

int proxyhead_host_valid(const char *p, size_t n) {
  size_t i = 0;
  size_t digits;
  unsigned long port = 0;
  if (n == 0)
    return 0; /* RFC 9110 7.2 allows it without an authority; nginx refuses it */
  if (p[0] == '[') {
    const char *close = memchr(p, ']', n);
    size_t inner;
    if (close == NULL)
      return 0;
    inner = (size_t)(close - p) - 1;
    if (inner > 0 && (p[1] == 'v' || p[1] == 'V')) {
      if (!ipvfuture_valid(p + 1, inner))
        return 0;
    } else {
      char addr[INET6_ADDRSTRLEN + 1];
      unsigned char bin[16];
      if (inner == 0 || inner >= sizeof addr)
        return 0;
      memcpy(addr, p + 1, inner);
      addr[inner] = '\0';
      if (inet_pton(AF_INET6, addr, bin) != 1)
        return 0;
    }
    i = inner + 2;
  } else {
    /* reg-name or IPv4address: unreserved, pct-encoded, sub-delims. */
    while (i < n && p[i] != ':') {
      if (is_unreserved(p[i]) || is_sub_delim(p[i]))
        i++;
      else if (p[i] == '%' && i + 2 < n && OPENSSL_hexchar2int((unsigned char)p[i + 1]) >= 0 &&
               OPENSSL_hexchar2int((unsigned char)p[i + 2]) >= 0)
        i += 3;
      else
        return 0;
    }
    if (i == 0)
      return 0;
  }
  if (i == n)
    return 1;
  if (p[i] != ':')
    return 0;
  /* port = *DIGIT; authrelay also wants it to be one (<= 65535). */
  for (digits = 0, i++; i < n; i++, digits++) {
    if (p[i] < '0' || p[i] > '9' || digits >= 5)
      return 0;
    port = port * 10 + (unsigned long)(p[i] - '0');
  }
  return port <= 65535;
}

/* Trims spaces and tabs at both ends of [*p, *p + *n). */
static void trim_ows(const char **p, size_t *n) {
  while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
    (*p)++;
    (*n)--;
  }
  while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
    (*n)--;
}

static int value_is(const http_head *h, const http_header *hd, const char *lit) {
  const char *v = http_head_str(h, hd->value);
  size_t n = hd->value.len;
  trim_ows(&v, &n);
  return http_equals_nocase(v, n, lit);
}

/* The request target (RFC 9112 3.2): origin-form, or absolute-form, which
 * a server MUST accept (3.2.2) and whose authority replaces the Host header
 * (the origin server MUST ignore the received one). An absolute-form target
 * becomes origin-form in place: the empty path of "http://h?q" becomes "/"
 * (3.2.1) by moving the authority one byte left over the dropped scheme.
 * The asterisk-form (OPTIONS *) and anything else are refused, as nginx
 * does; so is a fragment, which no request-target form contains. */
static int check_target(proxyhead_reader *r, llhttp_t *p, proxyhead_request *out) {
  http_head *h = r->head;
  const char *t = http_head_str(h, h->target);
  size_t n = h->target.len;
  size_t a;
  size_t e;
  uint32_t off = h->target.off;
  if (n == 0)
    return refuse(r, p, 400, "empty request target");
  if (memchr(t, '#', n) != NULL)
    return refuse(r, p, 400, "fragment in the request target");
  if (t[0] == '/')
    return 0;
  if (n > 7 && strncasecmp(t, "http://", 7) == 0)
    a = 7;
  else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
    a = 8;
  else
    return refuse(r, p, 400, "request target is neither origin-form nor absolute-form");
  for (e = a; e < n && t[e] != '/' && t[e] != '?'; e++)
    ;
  if (memchr(t + a, '@', e - a) != NULL)
    return refuse(r, p, 400, "userinfo in the request target"); /* RFC 9110 4.2.4 */
  if (!proxyhead_host_valid(t + a, e - a))
    return refuse(r, p, 400, "invalid host in the request target");
  out->has_host = 1;
  if (e < n && t[e] == '/') {
    out->host.off = off + (uint32_t)a;
    out->host.len = (uint32_t)(e - a);
    h->target.off = off + (uint32_t)e;
    h->target.len = (uint32_t)(n - e);
    return 0;
  }
  memmove(h->buf.ptr + off + a - 1, h->buf.ptr + off + a, e - a);
  h->buf.ptr[off + e - 1] = '/';
  out->host.off = off + (uint32_t)a - 1;
  out->host.len = (uint32_t)(e - a);
  h->target.off = off + (uint32_t)e - 1;
  h->target.len = (uint32_t)(n - e + 1);
  return 0;
}

int proxyhead_check_request(proxyhead_reader *r, llhttp_t *p, const proxyhead_rules *rules,
                            proxyhead_request *out) {
  http_head *h = r->head;
  const http_header *host = NULL;
  const http_header *te = NULL;
  size_t nhost = 0;
  size_t nte = 0;
  size_t nid = 0;
  size_t nsig = 0;
  size_t i;
  r->in_trailers = 1;
  memset(out, 0, sizeof *out);
  out->method = p->method;
  out->http_minor = p->http_minor;
  /* RFC 9110 6.2, 15.6.6: one major version is spoken here. */
  if (p->http_major != 1)
    return refuse(r, p, 505, NULL);
  if (p->upgrade || p->method == HTTP_CONNECT)
    return refuse(r, p, 501, NULL);
  for (i = 0; i < h->nheaders; i++) {
    const http_header *hd = &h->headers[i];
    const char *name = http_head_str(h, hd->name);
    size_t len = hd->name.len;
    /* RFC 9110 5.1: field-name = token, never empty (llhttp lets "" by). */
    if (len == 0)
      return refuse(r, p, 400, "empty header name");
    if (http_equals_nocase(name, len, "host")) {
      host = hd;
      nhost++;
    } else if (http_equals_nocase(name, len, "transfer-encoding")) {
      te = hd;
      nte++;
    } else if (http_equals_nocase(name, len, PROXYHEAD_SIG_HEADER)) {
      nsig++;
    } else if (http_equals_nocase(name, len, "connection")) {
      /* RFC 9110 7.6.1 lets Connection remove what it names; framing and
       * routing headers are not the client's to remove on the way up. */
      const char *v = http_head_str(h, hd->value);
      if (http_token_list_has(v, hd->value.len, "content-length", 14) ||
          http_token_list_has(v, hd->value.len, "transfer-encoding", 17) ||
          http_token_list_has(v, hd->value.len, "host", 4))
        return refuse(r, p, 400, "Connection names Content-Length, Transfer-Encoding or Host");
    }
    if (rules->identity_header != NULL && http_equals_nocase(name, len, rules->identity_header))
      nid++;
  }
  if (nte > 0 || (p->flags & F_TRANSFER_ENCODING)) {
    /* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing. */
    if (p->http_minor == 0)
      return refuse(r, p, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (nte != 1)
      return refuse(r, p, 400, "Transfer-Encoding repeated");
    /* RFC 9112 6.3: chunked not the final coding: 400 (MUST); 6.1: a
     * coding not understood before it SHOULD be 501 (nginx does). */
    if (!(p->flags & F_CHUNKED))
      return refuse(r, p, 400, "chunked is not the final transfer coding");
    if (!value_is(h, te, "chunked"))
      return refuse(r, p, 501, NULL);
  }
  /* RFC 9112 3.2: 400 for a repeated or invalid Host, and for HTTP/1.1
   * without one. */
  if (nhost > 1)
    return refuse(r, p, 400, "Host repeated");
  if (host != NULL) {
    const char *v = http_head_str(h, host->value);
    size_t n = host->value.len;
    trim_ows(&v, &n);
    if (!proxyhead_host_valid(v, n))
      return refuse(r, p, 400, "invalid Host");
    out->has_host = 1;
    out->host.off = (uint32_t)(v - h->buf.ptr);
    out->host.len = (uint32_t)n;
  } else if (p->http_minor >= 1) {
    return refuse(r, p, 400, "Host missing");
  }
  if (check_target(r, p, out) != 0)
    return -1;
  /* authrelay and the upstream must not read different users. */
  if (nid > 1 || nsig > 1)
    return refuse(r, p, 400, "identity header repeated");
  out->chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_CONTENT_LENGTH) {
    out->has_length = 1;
    out->content_length = p->content_length;
    if (p->content_length > rules->max_body_bytes)
      return refuse(r, p, 413, NULL);
  }
  out->keep_alive = llhttp_should_keep_alive(p) != 0;
  return 0;
}

/* ---- requests: the head sent upstream ------------------------------------ */

/* 1 when h has a header named name that its Connection does not remove. */
static int has_forwardable(const http_head *h, const char *name) {
  size_t i;
  for (i = 0; i < h->nheaders; i++) {
    const http_header *hd = &h->headers[i];
    if (http_equals_nocase(http_head_str(h, hd->name), hd->name.len, name) && !http_is_hop_by_hop(h, hd))
      return 1;
  }
  return 0;
}

/* Adds "Name: v1, v2, ..., mine\r\n": the values of every forwardable
 * header named name (lower case), then mine. */
static int add_list_header(dynbuf *out, const http_head *h, const char *label, const char *name,
                           const char *mine, size_t mine_len) {
  size_t i;
  int rc = dynbuf_add(out, label, strlen(label));
  if (rc == 0)
    rc = dynbuf_add(out, ": ", 2);
  for (i = 0; i < h->nheaders && rc == 0; i++) {
    const http_header *hd = &h->headers[i];
    if (!http_equals_nocase(http_head_str(h, hd->name), hd->name.len, name) || http_is_hop_by_hop(h, hd))
      continue;
    rc = dynbuf_add(out, http_head_str(h, hd->value), hd->value.len);
    if (rc == 0)
      rc = dynbuf_add(out, ", ", 2);
  }
  if (rc == 0)
    rc = dynbuf_add(out, mine, mine_len);
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  return rc;
}

/* 1 when a client header is copied to the upstream request as it is. */
static int copied_upstream(const http_head *h, const http_header *hd, const proxyhead_forward *fw) {
  static const char *const ours[] = {
      "expect", "x-forwarded-for", "via", "host", "content-length", PROXYHEAD_SIG_HEADER,
      PROXYHEAD_RETRY_HEADER,
  };
  const char *name = http_head_str(h, hd->name);
  size_t i;
  for (i = 0; i < sizeof ours / sizeof ours[0]; i++) {
    if (http_equals_nocase(name, hd->name.len, ours[i]))
      return 0;
  }
  if (fw->identity_header != NULL && http_equals_nocase(name, hd->name.len, fw->identity_header))
    return 0;
  if (fw->inspect && http_equals_nocase(name, hd->name.len, "accept-encoding"))
    return 0;
  return !http_is_hop_by_hop(h, hd);
}

int proxyhead_build_request(const http_head *h, const proxyhead_request *rq,
                            const proxyhead_forward *fw, dynbuf *out) {
  const char *method = llhttp_method_name((llhttp_method_t)rq->method);
  char line[32];
  size_t i;
  int rc = 0;
  rc = dynbuf_add(out, method, strlen(method));
  if (rc == 0)
    rc = dynbuf_add(out, " ", 1);
  if (rc == 0)
    rc = dynbuf_add(out, http_head_str(h, h->target), h->target.len);
  if (rc == 0)
    rc = dynbuf_add(out, " HTTP/1.1\r\n", 11);
  for (i = 0; i < h->nheaders && rc == 0; i++) {
    const http_header *hd = &h->headers[i];
    if (copied_upstream(h, hd, fw))
      rc = http_write_header_n(out, http_head_str(h, hd->name), hd->name.len,
                               http_head_str(h, hd->value), hd->value.len);
  }
  if (rc != 0)
    return rc;
  if (rq->has_host) {
    rc = http_write_header(out, "Host", http_head_str(h, rq->host), rq->host.len);
  } else {
    int v6 = strchr(fw->upstream_host, ':') != NULL;
    rc = dynbuf_add(out, v6 ? "Host: [" : "Host: ", v6 ? 7 : 6);
    if (rc == 0)
      rc = dynbuf_add(out, fw->upstream_host, strlen(fw->upstream_host));
    if (rc == 0)
      rc = dynbuf_add(out, v6 ? "]:" : ":", v6 ? 2 : 1);
    if (rc == 0)
      rc = dynbuf_add(out, fw->upstream_port, strlen(fw->upstream_port));
    if (rc == 0)
      rc = dynbuf_add(out, "\r\n", 2);
  }
  if (rc == 0)
    rc = add_list_header(out, h, "X-Forwarded-For", "x-forwarded-for", fw->peer_ip, strlen(fw->peer_ip));
  if (rc == 0 && !has_forwardable(h, "x-forwarded-proto"))
    rc = http_write_header(out, "X-Forwarded-Proto", "http", 4);
  if (rc == 0 && rq->has_host && !has_forwardable(h, "x-forwarded-host"))
    rc = http_write_header(out, "X-Forwarded-Host", http_head_str(h, rq->host), rq->host.len);
  if (rc == 0)
    rc = add_list_header(out, h, "Via", "via", "1.1 authrelay", 13);
  if (rc == 0 && fw->inspect)
    rc = http_write_header(out, "Accept-Encoding", "identity", 8);
  if (rc == 0 && fw->user != NULL && fw->identity_header != NULL)
    rc = http_write_header(out, fw->identity_header, fw->user, strlen(fw->user));
  /* The framing parsed, and nothing else (RFC 9112 6). */
  if (rc == 0 && rq->chunked) {
    rc = http_write_header(out, "Transfer-Encoding", "chunked", 7);
  } else if (rc == 0 && rq->has_length) {
    int n = snprintf(line, sizeof line, "%llu", (unsigned long long)rq->content_length);
    rc = http_write_header(out, "Content-Length", line, (size_t)n);
  }
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  return rc;
}

/* ---- responses ----------------------------------------------------------- */

void proxyhead_status_begin(proxyhead_status *s) {
  memset(s, 0, sizeof *s);
}

/* RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ],
 * status-code = 3DIGIT. (A missing SP before an empty reason is let by, as
 * llhttp and nginx do.) */
void proxyhead_status_feed(proxyhead_status *s, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n && s->state < 2; i++) {
    char c = p[i];
    if (s->state == 0) {
      if (c == ' ')
        s->state = 1;
      else if (++s->seen > 8) /* "HTTP/1.1" */
        s->state = 3;
    } else if (c >= '0' && c <= '9') {
      if (++s->digits > 3)
        s->state = 3;
    } else {
      s->state = (c == ' ' || c == '\r') && s->digits == 3 ? 2 : 3;
    }
  }
}

int proxyhead_check_response(const http_head *h, const llhttp_t *p, const proxyhead_status *s,
                             int head_request, proxyhead_response *out) {
  const char *reason = http_head_str(h, h->target);
  const http_header *te = NULL;
  size_t nte = 0;
  size_t i;
  int status = p->status_code;
  if (s->state != 2 || p->http_major != 1 || status < 100 || status > 599)
    return -EBADMSG; /* RFC 9110 15: codes outside 100-599 are invalid */
  /* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) */
  for (i = 0; i < h->target.len; i++) {
    unsigned char c = (unsigned char)reason[i];
    if (c != '\t' && (c < 0x20 || c == 0x7f))
      return -EBADMSG;
  }
  for (i = 0; i < h->nheaders; i++) {
    const http_header *hd = &h->headers[i];
    if (hd->name.len == 0)
      return -EBADMSG;
    if (http_equals_nocase(http_head_str(h, hd->name), hd->name.len, "transfer-encoding")) {
      te = hd;
      nte++;
    }
  }
  if (status < 200)
    return status == 101 ? -EBADMSG : 1; /* no upgrades through the relay */
  if (nte > 0 || (p->flags & F_TRANSFER_ENCODING)) {
    /* RFC 9112 6.1: faulty framing in HTTP/1.0; a coding other than
     * chunked could not be passed on (it is hop-by-hop): nginx says 502. */
    if (p->http_minor == 0 || nte != 1 || !value_is(h, te, "chunked"))
      return -EBADMSG;
  }
  out->status = status;
  out->http_minor = p->http_minor;
  out->head = h;
  out->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
  out->chunked = (p->flags & F_CHUNKED) != 0;
  out->no_body = head_request || status == 204 || status == 304;
  return 0;
}

int proxyhead_build_response(const proxyhead_response *r, const proxyhead_client *cl, dynbuf *out) {
  const http_head *h = r->head;
  char line[32];
  size_t i;
  int n;
  int rc = dynbuf_addf(out, "HTTP/1.1 %d ", r->status);
  if (rc == 0 && h->target.len > 0)
    rc = dynbuf_add(out, http_head_str(h, h->target), h->target.len);
  else if (rc == 0)
    rc = dynbuf_add(out, http_reason(r->status), strlen(http_reason(r->status)));
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  for (i = 0; i < h->nheaders && rc == 0; i++) {
    const http_header *hd = &h->headers[i];
    const char *name = http_head_str(h, hd->name);
    if (http_is_hop_by_hop(h, hd) || http_equals_nocase(name, hd->name.len, "via") ||
        http_equals_nocase(name, hd->name.len, "content-length"))
      continue;
    rc = http_write_header_n(out, name, hd->name.len, http_head_str(h, hd->value), hd->value.len);
  }
  if (rc == 0)
    rc = add_list_header(out, h, "Via", "via", "1.1 authrelay", 13);
  /* RFC 9110 8.6: no Content-Length in a 1xx or 204 response. */
  if (rc == 0 && r->content_length >= 0 && !cl->reframed && !cl->chunked && r->status >= 200 &&
      r->status != 204) {
    n = snprintf(line, sizeof line, "%lld", (long long)r->content_length);
    rc = http_write_header(out, "Content-Length", line, (size_t)n);
  }
  if (rc == 0 && cl->chunked)
    rc = http_write_header(out, "Transfer-Encoding", "chunked", 7);
  if (rc == 0 && cl->close)
    rc = http_write_header(out, "Connection", "close", 5);
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  return rc;
}

/* 1 when value may go in a header line: no control byte but HTAB (RFC 9110
 * 5.5: CR and LF would end the line, and so the head, early). */
static int field_value_ok(const char *value) {
  const unsigned char *p = (const unsigned char *)value;
  for (; *p != '\0'; p++) {
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return 0;
  }
  return 1;
}

int proxyhead_build_answer(const proxyhead_answer *a, dynbuf *out) {
  char line[32];
  size_t i;
  int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", a->status);
  int rc = dynbuf_add(out, line, (size_t)n);
  if (rc == 0)
    rc = dynbuf_add(out, http_reason(a->status), strlen(http_reason(a->status)));
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  if (rc == 0)
    rc = http_write_header(out, "Content-Type", a->content_type, strlen(a->content_type));
  if (rc == 0) {
    n = snprintf(line, sizeof line, "%zu", a->content_length);
    rc = http_write_header(out, "Content-Length", line, (size_t)n);
  }
  for (i = 0; i < a->nfields && rc == 0; i++) {
    const proxyhead_field *f = &a->fields[i];
    if (f->value == NULL)
      continue;
    if (!field_value_ok(f->value))
      return -EINVAL;
    rc = http_write_header(out, f->name, f->value, strlen(f->value));
  }
  if (rc == 0 && a->close)
    rc = http_write_header(out, "Connection", "close", 5);
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  return rc;
}
