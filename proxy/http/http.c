/* http: message heads and header helpers. See http.h. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_LINE_OVERHEAD 4 /* ": " and CRLF of a header line */

void http_head_init(http_head *h, size_t max_bytes, size_t max_headers) {
  memset(h, 0, sizeof *h);
  dynbuf_init(&h->buf, max_bytes + 1);
  h->max_headers = max_headers;
  h->max_bytes = max_bytes;
}

void http_head_reset(http_head *h) {
  dynbuf_reset(&h->buf, 4096);
  h->target.off = 0;
  h->target.len = 0;
  h->nheaders = 0;
  h->bytes = 0;
  h->in_value = 0;
}

void http_head_free(http_head *h) {
  dynbuf_free(&h->buf);
  free(h->headers);
  h->headers = NULL;
  h->headers_cap = 0;
  h->nheaders = 0;
}

static int head_count(http_head *h, size_t n) {
  if (n > h->max_bytes - h->bytes)
    return HTTP_E_HEAD_TOO_LARGE;
  h->bytes += n;
  return 0;
}

static int head_append(http_head *h, http_span *span, const char *p, size_t n) {
  int rc = head_count(h, n);
  if (rc != 0)
    return rc;
  if (span->len == 0)
    span->off = (uint32_t)h->buf.len;
  rc = dynbuf_add(&h->buf, p, n);
  if (rc == -E2BIG)
    return HTTP_E_HEAD_TOO_LARGE;
  if (rc != 0)
    return rc;
  span->len += (uint32_t)n;
  return 0;
}

int http_head_add_target(http_head *h, const char *p, size_t n) {
  return head_append(h, &h->target, p, n);
}

int http_head_add_name(http_head *h, const char *p, size_t n) {
  http_header *hd;
  int rc;
  if (h->nheaders == 0 || h->in_value) {
    if (h->nheaders >= h->max_headers)
      return HTTP_E_TOO_MANY_HEADERS;
    if (h->nheaders == h->headers_cap) {
      /* Grown as needed (most heads have a handful of headers): a head
       * held for a whole stream then costs little. */
      size_t cap = h->headers_cap > 0 ? h->headers_cap * 2 : 8;
      http_header *grown;
      if (cap > h->max_headers)
        cap = h->max_headers;
      grown = realloc(h->headers, cap * sizeof *grown);
      if (grown == NULL)
        return -ENOMEM;
      h->headers = grown;
      h->headers_cap = cap;
    }
    rc = head_count(h, HTTP_LINE_OVERHEAD);
    if (rc != 0)
      return rc;
    hd = &h->headers[h->nheaders++];
    memset(hd, 0, sizeof *hd);
    h->in_value = 0;
  }
  hd = &h->headers[h->nheaders - 1];
  return head_append(h, &hd->name, p, n);
}

int http_head_add_value(http_head *h, const char *p, size_t n) {
  http_header *hd;
  if (h->nheaders == 0)
    return 0; /* llhttp never sends a value before a name */
  hd = &h->headers[h->nheaders - 1];
  if (!h->in_value) {
    h->in_value = 1;
    hd->value.off = (uint32_t)h->buf.len;
    hd->value.len = 0;
  }
  return head_append(h, &hd->value, p, n);
}

const char *http_head_str(const http_head *h, http_span s) {
  if (h->buf.ptr == NULL)
    return "";
  return h->buf.ptr + s.off;
}

int http_equals_nocase(const char *value, size_t len, const char *lit) {
  return strlen(lit) == len && strncasecmp(value, lit, len) == 0;
}

const http_header *http_head_find(const http_head *h, const char *name) {
  size_t i;
  for (i = 0; i < h->nheaders; i++) {
    const http_header *hd = &h->headers[i];
    if (http_equals_nocase(http_head_str(h, hd->name), hd->name.len, name))
      return hd;
  }
  return NULL;
}

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

int http_token_list_has(const char *value, size_t len, const char *token, size_t token_len) {
  size_t i = 0;
  while (i < len) {
    size_t start;
    size_t end;
    while (i < len && (is_ows(value[i]) || value[i] == ','))
      i++;
    start = i;
    while (i < len && value[i] != ',')
      i++;
    end = i;
    while (end > start && is_ows(value[end - 1]))
      end--;
    if (end - start == token_len && strncasecmp(value + start, token, token_len) == 0)
      return 1;
  }
  return 0;
}

int http_is_hop_by_hop(const http_head *h, const http_header *hd) {
  static const char *const always[] = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization",
  };
  const char *name = http_head_str(h, hd->name);
  const http_header *conn;
  size_t i;
  for (i = 0; i < sizeof always / sizeof always[0]; i++) {
    if (http_equals_nocase(name, hd->name.len, always[i]))
      return 1;
  }
  for (i = 0; i < h->nheaders; i++) {
    conn = &h->headers[i];
    if (http_equals_nocase(http_head_str(h, conn->name), conn->name.len, "connection") &&
        http_token_list_has(http_head_str(h, conn->value), conn->value.len, name, hd->name.len))
      return 1;
  }
  return 0;
}

const char *http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

int http_write_header(dynbuf *out, const char *name, const char *value, size_t value_len) {
  return http_write_header_n(out, name, strlen(name), value, value_len);
}

int http_write_header_n(dynbuf *out, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
  int rc = dynbuf_add(out, name, name_len);
  if (rc == 0)
    rc = dynbuf_add(out, ": ", 2);
  if (rc == 0)
    rc = dynbuf_add(out, value, value_len);
  if (rc == 0)
    rc = dynbuf_add(out, "\r\n", 2);
  return rc;
}

int http_starts_with(const char *value, size_t len, const char *lit) {
  size_t n = strlen(lit);
  return len >= n && memcmp(value, lit, n) == 0;
}

size_t http_chunk_line(size_t n, char out[HTTP_CHUNK_LINE_MAX]) {
  static const char digits[] = "0123456789abcdef";
  char rev[16];
  size_t k = 0;
  size_t i;
  do {
    rev[k++] = digits[n & 15];
    n >>= 4;
  } while (n != 0);
  for (i = 0; i < k; i++)
    out[i] = rev[k - 1 - i];
  out[k] = '\r';
  out[k + 1] = '\n';
  return k + 2;
}
