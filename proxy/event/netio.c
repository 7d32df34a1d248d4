/* netio: copying writes and address helpers. See netio.h. */
#include "netio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct netio_req {
  uv_write_t req;
  netio_write_cb cb;
  void *ctx;              /* passed to cb; not owned */
  size_t cap;             /* bytes of data[] */
  int wipe;               /* zeroed when it comes back (netio_write_wiped) */
  struct netio_req *next; /* in the pool's free list */
  char data[];            /* the copied bytes */
} netio_req;

/* Buffers come from a per-thread pool of power-of-two sizes, so that a
 * relay loop does not hand memory back to the kernel after every write and
 * fault it in again for the next one (glibc trims and madvises freed
 * chunks of this size). A buffer returns to the pool as soon as its bytes
 * are written; an idle connection holds none. The pool keeps at most
 * NETIO_POOL_KEEP_BYTES per thread; larger buffers are never pooled. */
#define NETIO_POOL_MIN_SHIFT 12 /* 4 KiB */
#define NETIO_POOL_CLASSES 7    /* 4 KiB .. 256 KiB */
#define NETIO_POOL_KEEP_BYTES (4u << 20)

typedef struct netio_pool {
  netio_req *free[NETIO_POOL_CLASSES]; /* free lists, by size class */
  size_t kept;                         /* bytes in the free lists */
} netio_pool;

static _Thread_local netio_pool pool;

/* The size class of a buffer of cap bytes, or -1 when it is not pooled. */
static int pool_class(size_t cap) {
  int k;
  for (k = 0; k < NETIO_POOL_CLASSES; k++) {
    if (cap == (size_t)1 << (NETIO_POOL_MIN_SHIFT + k))
      return k;
  }
  return -1;
}

/* A buffer of at least need bytes: pooled sizes for up to 256 KiB. */
static netio_req *req_get(size_t need) {
  size_t cap = (size_t)1 << NETIO_POOL_MIN_SHIFT;
  size_t largest = cap << (NETIO_POOL_CLASSES - 1);
  netio_req *r;
  int k;
  while (cap < need && cap < largest)
    cap *= 2;
  if (cap < need)
    cap = need; /* not pooled: exactly what it takes */
  k = pool_class(cap);
  if (k >= 0 && pool.free[k] != NULL) {
    r = pool.free[k];
    pool.free[k] = r->next;
    pool.kept -= cap;
    return r;
  }
  r = malloc(sizeof *r + cap);
  if (r != NULL) {
    r->cap = cap;
    r->wipe = 0;
  }
  return r;
}

static void req_put(netio_req *r) {
  int k;
  if (r == NULL)
    return;
  if (r->wipe) {
    explicit_bzero(r->data, r->cap); /* a secret outlives its write nowhere */
    r->wipe = 0;
  }
  k = pool_class(r->cap);
  if (k < 0 || pool.kept + r->cap > NETIO_POOL_KEEP_BYTES) {
    free(r);
    return;
  }
  r->next = pool.free[k];
  pool.free[k] = r;
  pool.kept += r->cap;
}

static void on_written(uv_write_t *req, int status) {
  netio_req *r = (netio_req *)req;
  netio_write_cb cb = r->cb;
  void *ctx = r->ctx;
  req_put(r);
  if (cb != NULL)
    cb(ctx, status);
}

void netio_pool_trim(void) {
  int k;
  for (k = 0; k < NETIO_POOL_CLASSES; k++) {
    while (pool.free[k] != NULL) {
      netio_req *r = pool.free[k];
      pool.free[k] = r->next;
      free(r);
    }
  }
  pool.kept = 0;
}

int netio_batch_add(netio_batch *b, const uv_buf_t *bufs, unsigned nbufs) {
  size_t total = 0;
  unsigned i;
  for (i = 0; i < nbufs; i++)
    total += bufs[i].len;
  if (total == 0)
    return 0;
  if (b->len + total > b->cap) {
    netio_req *grown = req_get(b->len + total);
    if (grown == NULL)
      return UV_ENOMEM;
    if (b->len > 0)
      memcpy(grown->data, b->req->data, b->len);
    req_put(b->req);
    b->req = grown;
    b->cap = grown->cap;
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
    req_put(r);
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
    netio_batch_discard(b); /* back to the pool: an idle connection keeps no buffer */
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

int netio_write_wiped(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, netio_write_cb cb, void *ctx) {
  netio_batch one = {NULL, 0, 0};
  int rc = netio_batch_add(&one, bufs, nbufs);
  if (one.req != NULL)
    one.req->wipe = 1;
  if (rc == 0)
    rc = netio_batch_send(&one, s, cb, ctx);
  netio_batch_discard(&one); /* empty unless adding failed */
  return rc;
}

/* 1 when hay[0, len) holds p[0, n) somewhere. */
static int holds(const char *hay, size_t len, const void *p, size_t n) {
  size_t i;
  for (i = 0; n > 0 && i + n <= len; i++)
    if (memcmp(hay + i, p, n) == 0)
      return 1;
  return 0;
}

size_t netio_pool_holding(const void *p, size_t n) {
  size_t found = 0;
  int k;
  for (k = 0; k < NETIO_POOL_CLASSES; k++) {
    const netio_req *r;
    for (r = pool.free[k]; r != NULL; r = r->next)
      found += (size_t)holds(r->data, r->cap, p, n);
  }
  return found;
}

void netio_batch_discard(netio_batch *b) {
  req_put(b->req);
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
