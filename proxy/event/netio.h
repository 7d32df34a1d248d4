/* netio: small helpers over libuv streams shared by both sides of the relay.
 *
 * netio_write copies the caller's buffers into one allocation that lives
 * until libuv is done with it, so callers can hand over bytes that sit in a
 * shared read buffer or a framer's memory. One uv_write per call, however
 * many buffers (a chunk header, the bytes, the chunk trailer).
 *
 * netio_batch gathers the bytes of several writes into that same kind of
 * buffer, so that a connection's output of one upstream read (or of one
 * loop iteration) goes out as one write however many pieces made it. The
 * buffers come from a per-thread pool and go back once written.
 */
#ifndef AUTHRELAY_NETIO_H
#define AUTHRELAY_NETIO_H

#include <stddef.h>
#include <uv.h>

/* Called when the write is done; status is 0 or a libuv error. */
typedef void (*netio_write_cb)(void *ctx, int status);

/* Copies bufs and writes them to s (a batch of one). cb (may be NULL) is
 * called with ctx when the write completes or fails. Returns 0 or a libuv
 * error (then cb is not called); nothing to write is no write and no cb. */
int netio_write(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, netio_write_cb cb,
                void *ctx);

/* Bytes gathered for one write. Zero it to initialise. */
typedef struct netio_batch {
  struct netio_req *req; /* the allocation the bytes live in; owned; NULL when empty */
  size_t len;            /* bytes gathered */
  size_t cap;            /* room in req */
} netio_batch;

/* Copies bufs at the end of the batch. Returns 0 or UV_ENOMEM. */
int netio_batch_add(netio_batch *b, const uv_buf_t *bufs, unsigned nbufs);

/* Writes what was gathered to s as one uv_write; the batch is empty after,
 * the allocation now libuv's until cb (may be NULL) has been called with
 * ctx. Returns 0 (also when empty: no write, no cb) or a libuv error. */
int netio_batch_send(netio_batch *b, uv_stream_t *s, netio_write_cb cb, void *ctx);

/* Like netio_batch_send, but first writes what it can at once
 * (uv_try_write). When all of it goes, nothing is queued, cb is not called
 * and 1 is returned: no write request, and no epoll_ctl for libuv's drain
 * of the write queue, which costs a syscall per write otherwise. Returns 0
 * when the rest was queued (cb will be called) or a libuv error. The batch
 * is empty after. */
int netio_batch_flush(netio_batch *b, uv_stream_t *s, netio_write_cb cb, void *ctx);

/* netio_write() for bytes that hold a secret (a credential, a token): the
 * copy is zeroed as soon as it is written (or dropped), not left in the
 * buffer pool for the next write to overwrite. */
int netio_write_wiped(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, netio_write_cb cb, void *ctx);

/* For tests: how many of this thread's pooled free buffers hold the bytes
 * p[0, n) (a secret that outlived its write). */
size_t netio_pool_holding(const void *p, size_t n);

/* Frees what was gathered, unsent. */
void netio_batch_discard(netio_batch *b);

/* Frees the calling thread's pool of write buffers (batches take their
 * buffers from it and give them back once written). A loop thread calls it
 * when its loop has ended, after every write callback has run. */
void netio_pool_trim(void);

/* libuv alloc callback for every read on this thread: one 64 KiB buffer per
 * thread, reused by each read, since a read is fully handled (parsed, copied
 * or written out) before the loop reads again. */
void netio_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

#define NETIO_READ_BUFFER_BYTES 65536

/* Parses "host:port" / "[v6]:port" into a sockaddr for binding. Returns 0 or
 * a libuv error. */
int netio_parse_addr(const char *host, int port, struct sockaddr_storage *out);

#endif
