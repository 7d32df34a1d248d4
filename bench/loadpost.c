/* loadpost: the one POST of bench-load's pause storm (see loadpost.h). */
#include "loadpost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void post_close_cb(uv_handle_t *h) { (void)h; }

static void post_give_up(loadpost_t *p) {
  p->complete = 1;
  if (!uv_is_closing((uv_handle_t *)&p->tcp))
    uv_close((uv_handle_t *)&p->tcp, post_close_cb);
}

static int post_on_headers(llhttp_t *parser) {
  loadpost_t *p = parser->data;
  p->status = llhttp_get_status_code(parser);
  return 0;
}

static int post_on_complete(llhttp_t *parser) {
  loadpost_t *p = parser->data;
  p->t_done = p->now();
  if (p->status != 200)
    p->note("link POST: HTTP status %d", p->status);
  post_give_up(p);
  return HPE_USER;
}

static void post_alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  loadpost_t *p = h->data;
  (void)sz;
  b->base = p->readbuf;
  b->len = sizeof p->readbuf;
}

static void post_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  loadpost_t *p = s->data;
  if (p->complete || nread == 0)
    return;
  if (nread < 0) {
    if (nread == UV_EOF)
      llhttp_finish(&p->parser);
    if (!p->complete) {
      p->note("link POST: connection closed before the response (%s)", uv_strerror((int)nread));
      post_give_up(p);
    }
    return;
  }
  llhttp_errno_t e = llhttp_execute(&p->parser, b->base, (size_t)nread);
  if (e != HPE_OK && !p->complete) {
    p->note("link POST: parse error %s", llhttp_errno_name(e));
    post_give_up(p);
  }
}

static void post_write_cb(uv_write_t *w, int status) {
  loadpost_t *p = w->data;
  if (status < 0)
    p->note("link POST: write: %s", uv_strerror(status));
}

static void post_connect_cb(uv_connect_t *r, int status) {
  loadpost_t *p = r->data;
  if (status < 0) {
    p->note("link POST: connect: %s", uv_strerror(status));
    post_give_up(p);
    return;
  }
  uv_buf_t b = uv_buf_init(p->req, (unsigned)strlen(p->req));
  p->wreq.data = p;
  uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, post_write_cb);
  uv_read_start((uv_stream_t *)&p->tcp, post_alloc_cb, post_read_cb);
}

int loadpost_parse_url(const char *url, char *host, size_t hostsz, int *port, char *path,
                       size_t pathsz) {
  if (strncmp(url, "http://", 7) != 0)
    return -EINVAL;
  const char *h = url + 7;
  const char *slash = strchr(h, '/');
  const char *colon = memchr(h, ':', slash ? (size_t)(slash - h) : strlen(h));
  size_t hl = colon ? (size_t)(colon - h) : (slash ? (size_t)(slash - h) : strlen(h));
  if (hl == 0 || hl >= hostsz)
    return -EINVAL;
  memcpy(host, h, hl);
  host[hl] = 0;
  *port = colon ? atoi(colon + 1) : 80;
  if (*port <= 0 || *port > 65535)
    return -EINVAL;
  snprintf(path, pathsz, "%s", slash ? slash : "/");
  return 0;
}

void loadpost_send(loadpost_t *p, uv_loop_t *loop, const char *url, const char *api_key) {
  char host[256], path[1024];
  int port;
  p->status = 0;
  p->complete = 0;
  p->t_sent = p->now();
  p->t_done = 0;
  if (loadpost_parse_url(url, host, sizeof host, &port, path, sizeof path) != 0) {
    p->note("link POST: bad magic_link_url %s", url);
    p->complete = 1;
    return;
  }
  struct sockaddr_in a;
  if (uv_ip4_addr(host, port, &a) != 0) {
    p->note("link POST: host %s is not an IPv4 address", host);
    p->complete = 1;
    return;
  }
  char body[200];
  snprintf(body, sizeof body, "api_key=%s", api_key);
  char req[2048];
  snprintf(req, sizeof req,
           "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
           path, host, port, strlen(body), body);
  p->req = strdup(req);
  if (p->req == NULL) {
    p->note("link POST: out of memory");
    p->complete = 1;
    return;
  }
  llhttp_settings_init(&p->settings);
  p->settings.on_headers_complete = post_on_headers;
  p->settings.on_message_complete = post_on_complete;
  llhttp_init(&p->parser, HTTP_RESPONSE, &p->settings);
  p->parser.data = p;
  uv_tcp_init(loop, &p->tcp);
  p->tcp.data = p;
  p->creq.data = p;
  uv_tcp_nodelay(&p->tcp, 1);
  int rc = uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&a, post_connect_cb);
  if (rc < 0) {
    p->note("link POST: connect: %s", uv_strerror(rc));
    p->complete = 1;
  }
}
