/* netio: copying writes and address helpers. See netio.h. */
#include "netio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct netio_req {
  uv_write_t req;
  netio_write_cb cb;
  void *ctx;     /* passed to cb; not owned */
  char data[];   /* the copied bytes */
} netio_req;

static void on_written(uv_write_t *req, int status) {
  netio_req *r = (netio_req *)req;
  netio_write_cb cb = r->cb;
  void *ctx = r->ctx;
  free(r);
  if (cb != NULL)
    cb(ctx, status);
}

int netio_batch_add(netio_batch *b, const uv_buf_t *bufs, unsigned nbufs) {
  size_t total = 0;
  unsigned i;
  for (i = 0; i < nbufs; i++)
    total += bufs[i].len;
  if (total == 0)
    return 0;
  if (b->len + total > b->cap) {
    size_t cap = b->cap > 0 ? b->cap : 4096;
    netio_req *grown;
    while (cap < b->len + total)
      cap *= 2;
    grown = realloc(b->req, sizeof *grown + cap);
    if (grown == NULL)
      return UV_ENOMEM;
    b->req = grown;
    b->cap = cap;
  }
  for (i = 0; i < nbufs; i++) {
    if (bufs[i].len == 0)
      continue; /* an empty part may have a NULL base */
    memcpy(b->req->data + b->len, bufs[i].base, bufs[i].len);
    b->len += bufs[i].len;
  }
  return 0;
}

/* Queues bytes [off, len) of the batch as one uv_write; the allocation
 * becomes libuv's until cb has run. */
static int queue_rest(netio_batch *b, size_t off, uv_stream_t *s, netio_write_cb cb, void *ctx) {
  netio_req *r = b->req;
  uv_buf_t rest = uv_buf_init(r->data + off, (unsigned)(b->len - off));
  int rc;
  r->cb = cb;
  r->ctx = ctx;
  b->req = NULL;
  b->len = 0;
  b->cap = 0;
  rc = uv_write(&r->req, s, &rest, 1, on_written);
  if (rc != 0)
    free(r);
  return rc;
}

int netio_batch_send(netio_batch *b, uv_stream_t *s, netio_write_cb cb, void *ctx) {
  if (b->len == 0)
    return 0;
  return queue_rest(b, 0, s, cb, ctx);
}

int netio_batch_flush(netio_batch *b, uv_stream_t *s, netio_write_cb cb, void *ctx) {
  uv_buf_t all;
  int n;
  if (b->len == 0)
    return 1;
  all = uv_buf_init(b->req->data, (unsigned)b->len);
  n = uv_try_write(s, &all, 1); /* UV_EAGAIN while writes are queued: order is kept */
  if (n == (int)b->len) {
    netio_batch_discard(b); /* freed: an idle connection keeps no buffer */
    return 1;
  }
  if (n < 0 && n != UV_EAGAIN)
    return n;
  return queue_rest(b, n > 0 ? (size_t)n : 0, s, cb, ctx);
}

int netio_write(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, netio_write_cb cb,
                void *ctx) {
  netio_batch one = {NULL, 0, 0};
  int rc = netio_batch_add(&one, bufs, nbufs);
  if (rc == 0)
    rc = netio_batch_send(&one, s, cb, ctx);
  netio_batch_discard(&one); /* empty unless adding failed */
  return rc;
}

void netio_batch_discard(netio_batch *b) {
  free(b->req);
  b->req = NULL;
  b->len = 0;
  b->cap = 0;
}

void netio_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  static _Thread_local char read_buffer[NETIO_READ_BUFFER_BYTES];
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

int netio_parse_addr(const char *host, int port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (strchr(host, ':') != NULL)
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out);
  return uv_ip4_addr(host, port, (struct sockaddr_in *)out);
}
