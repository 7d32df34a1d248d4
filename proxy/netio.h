/* netio: small helpers over libuv streams shared by both sides of the relay.
 *
 * netio_write copies the caller's buffers into one allocation that lives
 * until libuv is done with it, so callers can hand over bytes that sit in a
 * shared read buffer or a framer's memory. One uv_write per call, however
 * many buffers (a chunk header, the bytes, the chunk trailer).
 */
#ifndef AUTHRELAY_NETIO_H
#define AUTHRELAY_NETIO_H

#include <stddef.h>
#include <uv.h>

/* Called when the write is done; status is 0 or a libuv error. */
typedef void (*netio_write_cb)(void *ctx, int status);

/* Copies bufs and writes them to s. cb (may be NULL) is called with ctx when
 * the write completes or fails. Returns 0 or a libuv error (then cb is not
 * called). */
int netio_write(uv_stream_t *s, const uv_buf_t *bufs, unsigned nbufs, netio_write_cb cb,
                void *ctx);

/* Writes bytes with HTTP/1.1 chunked framing ("%x\r\n" bytes "\r\n"). An
 * empty write is skipped (it would end the body). */
int netio_write_chunk(uv_stream_t *s, const char *p, size_t n, netio_write_cb cb, void *ctx);

/* libuv alloc callback for every read on this thread: one 64 KiB buffer per
 * thread, reused by each read, since a read is fully handled (parsed, copied
 * or written out) before the loop reads again. */
void netio_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

#define NETIO_READ_BUFFER_BYTES 65536

/* Formats a socket address as "host:port" ("[v6]:port"). */
void netio_format_addr(const struct sockaddr *sa, char *out, size_t outlen);

/* Parses "host:port" / "[v6]:port" into a sockaddr for binding. Returns 0 or
 * a libuv error. */
int netio_parse_addr(const char *host, int port, struct sockaddr_storage *out);

#endif
