/* resp: response heads and in-memory responses of the example agent server.
 * See resp.h. */
#include "resp.h"

#include <stdio.h>
#include <string.h>

const char *resp_reason(int code) {
  switch (code) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

void resp_head_begin(buf_t *h, int code) {
  buf_printf(h, "HTTP/1.1 %d %s\r\n", code, resp_reason(code));
}

void resp_head_end(conn *c, buf_t *h) {
  if (c->close_after)
    buf_puts(h, "Connection: close\r\n");
  else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
    buf_puts(h, "Connection: keep-alive\r\n");
  buf_puts(h, "\r\n");
}

void resp_simple(conn *c, int code, const char *ctype, const char *body, size_t len) {
  buf_t h = {0};
  resp_head_begin(&h, code);
  int bodyless = code == 204 || code == 304 || (code >= 100 && code < 200);
  if (!bodyless) {
    if (ctype)
      buf_printf(&h, "Content-Type: %s\r\n", ctype);
    buf_printf(&h, "Content-Length: %zu\r\n", len);
  }
  resp_head_end(c, &h);
  if (!bodyless && !c->is_head)
    buf_append(&h, body, len);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  conn_resp_done(c);
}

void resp_text(conn *c, int code, const char *text) {
  resp_simple(c, code, "text/plain; charset=utf-8", text, strlen(text));
}

void resp_error_close(conn *c, int code) {
  char body[128];
  snprintf(body, sizeof body, "%d %s\n", code, resp_reason(code));
  c->close_after = 1;
  c->is_head = 0;
  resp_text(c, code, body);
}
