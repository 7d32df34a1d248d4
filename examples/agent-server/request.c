/* request: llhttp callbacks and header access of the example agent server.
 * See request.h. */
#include "request.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "resp.h"
#include "router.h"
#include "stats.h"

#define MAX_HEAD_BYTES (64 * 1024) /* header names and values, all together */
#define MAX_URL 16384

const char *req_header_get(conn *c, const char *name, size_t *len) {
  size_t n = strlen(name);
  for (int i = 0; i < c->nhdrs; i++) {
    hdr_t *h = &c->hdrs[i];
    if (h->name_len == n && strncasecmp(c->hbuf.p + h->name_off, name, n) == 0) {
      *len = h->val_len;
      return c->hbuf.p + h->val_off;
    }
  }
  return NULL;
}

void req_headers_json(conn *c, buf_t *out) {
  buf_puts(out, "{");
  int first = 1;
  for (int i = 0; i < c->nhdrs; i++) {
    hdr_t *h = &c->hdrs[i];
    const char *name = c->hbuf.p + h->name_off;
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = c->hdrs[j].name_len == h->name_len &&
             memcmp(c->hbuf.p + c->hdrs[j].name_off, name, h->name_len) == 0;
    if (seen)
      continue;
    buf_t v = {0};
    for (int j = i; j < c->nhdrs; j++) {
      hdr_t *k = &c->hdrs[j];
      if (k->name_len != h->name_len || memcmp(c->hbuf.p + k->name_off, name, h->name_len) != 0)
        continue;
      if (v.len)
        buf_append(&v, ", ", 2);
      buf_append(&v, c->hbuf.p + k->val_off, k->val_len);
    }
    if (!first)
      buf_puts(out, ",");
    first = 0;
    buf_json_str(out, name, h->name_len);
    buf_puts(out, ":");
    buf_json_str(out, v.p ? v.p : "", v.len);
    buf_free(&v);
  }
  buf_puts(out, "}");
}

int req_path_is(const char *path, size_t plen, const char *want) {
  return plen == strlen(want) && memcmp(path, want, plen) == 0;
}

void req_split_url(conn *c, size_t *plen, const char **query) {
  const char *u = c->url.p ? c->url.p : "";
  const char *qm = strchr(u, '?');
  *plen = qm ? (size_t)(qm - u) : strlen(u);
  *query = qm ? qm + 1 : "";
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int cb_message_begin(llhttp_t *p) {
  conn *c = p->data;
  c->url.len = 0;
  c->hbuf.len = 0;
  c->nhdrs = 0;
  c->in_field = 0;
  c->err_status = 0;
  c->stats_req = 0;
  c->req_counted = 0;
  c->is_head = 0;
  c->echo_chunked = 0;
  return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->url.len + len > MAX_URL) {
    c->err_status = 414;
    return -1;
  }
  buf_append(&c->url, at, len);
  return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->hbuf.len + len > MAX_HEAD_BYTES) {
    c->err_status = 431;
    return -1;
  }
  if (!c->in_field) {
    if (c->nhdrs >= MAX_HEADERS) {
      c->err_status = 431;
      return -1;
    }
    c->in_field = 1;
    c->hdrs[c->nhdrs].name_off = c->hbuf.len;
  }
  buf_append(&c->hbuf, at, len);
  return 0;
}

static int cb_header_field_complete(llhttp_t *p) {
  conn *c = p->data;
  if (!c->in_field) { /* empty name: llhttp rejects it, but stay safe */
    if (c->nhdrs >= MAX_HEADERS) {
      c->err_status = 431;
      return -1;
    }
    c->hdrs[c->nhdrs].name_off = c->hbuf.len;
  }
  hdr_t *h = &c->hdrs[c->nhdrs];
  h->name_len = c->hbuf.len - h->name_off;
  for (size_t i = 0; i < h->name_len; i++) {
    char *ch = &c->hbuf.p[h->name_off + i];
    if (*ch >= 'A' && *ch <= 'Z')
      *ch = (char)(*ch - 'A' + 'a');
  }
  h->val_off = c->hbuf.len;
  c->in_field = 0;
  return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->hbuf.len + len > MAX_HEAD_BYTES) {
    c->err_status = 431;
    return -1;
  }
  buf_append(&c->hbuf, at, len);
  return 0;
}

static int cb_header_value_complete(llhttp_t *p) {
  conn *c = p->data;
  hdr_t *h = &c->hdrs[c->nhdrs];
  h->val_len = c->hbuf.len - h->val_off;
  c->nhdrs++;
  return 0;
}

static int cb_headers_complete(llhttp_t *p) {
  conn *c = p->data;
  const char *q;
  size_t plen;
  req_split_url(c, &plen, &q);
  const char *path = c->url.p ? c->url.p : "";
  int m = llhttp_get_method(p);
  c->stats_req = req_path_is(path, plen, "/stats") || req_path_is(path, plen, "/stats/reset");
  c->is_head = m == HTTP_HEAD;
  c->keep_alive = llhttp_should_keep_alive(p);
  c->close_after = !c->keep_alive;
  size_t vl;
  if (!c->stats_req) {
    stats_count_connection(c);
    stats.requests++;
    c->req_counted = 1;
    if (req_header_get(c, "x-authrelay-retry", &vl))
      stats.retry_requests++;
    stats.last_headers.len = 0;
    req_headers_json(c, &stats.last_headers);
  }
  int has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
  const char *ex = req_header_get(c, "expect", &vl);
  if (ex) {
    if (!(vl == 12 && strncasecmp(ex, "100-continue", 12) == 0)) {
      c->err_status = 417;
      return -1;
    }
    if (has_body)
      conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  if (req_path_is(path, plen, "/echo") && (m == HTTP_POST || m == HTTP_PUT)) {
    size_t cl;
    const char *ct = req_header_get(c, "content-type", &cl);
    c->echo_chunked = (p->flags & F_CHUNKED) != 0;
    c->framing = c->echo_chunked ? FR_CHUNKED : FR_LENGTH;
    buf_t h = {0};
    resp_head_begin(&h, 200);
    buf_puts(&h, "Content-Type: ");
    if (ct)
      buf_append(&h, ct, cl);
    else
      buf_puts(&h, "application/octet-stream");
    buf_puts(&h, "\r\n");
    if (c->echo_chunked)
      buf_puts(&h, "Transfer-Encoding: chunked\r\n");
    else
      buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", p->content_length);
    resp_head_end(c, &h);
    conn_write(c, h.p, h.len);
    buf_free(&h);
    c->kind = R_ECHO;
    c->resp_active = 1;
  }
  return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->kind == R_ECHO && c->resp_active)
    conn_body_write(c, at, len, 0);
  return 0;
}

static int cb_message_complete(llhttp_t *p) {
  conn *c = p->data;
  if (c->kind == R_ECHO && c->resp_active) {
    if (c->echo_chunked)
      conn_write(c, "0\r\n\r\n", 5);
    conn_resp_done(c);
  } else {
    router_dispatch(c);
  }
  if (c->closing || c->resp_active || c->close_after) {
    c->parser_paused = 1;
    return HPE_PAUSED;
  }
  return 0;
}

void req_settings_init(llhttp_settings_t *settings) {
  llhttp_settings_init(settings);
  settings->on_message_begin = cb_message_begin;
  settings->on_url = cb_url;
  settings->on_header_field = cb_header_field;
  settings->on_header_field_complete = cb_header_field_complete;
  settings->on_header_value = cb_header_value;
  settings->on_header_value_complete = cb_header_value_complete;
  settings->on_headers_complete = cb_headers_complete;
  settings->on_body = cb_body;
  settings->on_message_complete = cb_message_complete;
}
