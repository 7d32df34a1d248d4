/* upstream: connections to one upstream server, and the pool that keeps them.
 *
 * This is the "upstream pool" box of DESIGN.md's data flow. An exchange asks
 * the pool for a connection; it gets a pooled keep-alive one at once or a new
 * one after a non-blocking resolve (uv_getaddrinfo) and connect, bounded by a
 * timer. The exchange writes the request itself (upstream_write), then the
 * connection parses the response with llhttp and hands the head and the body
 * bytes back through callbacks. When the exchange is done it releases the
 * connection: back to the idle set if the response ended cleanly and the
 * server allows keep-alive, closed otherwise.
 *
 * llhttp does not know the request method, so HEAD responses, 1xx interim
 * responses, 204 and 304 are told to have no body here; a close-delimited
 * body ends at EOF through llhttp_finish. Every head, interim ones too, goes
 * through proxyhead's response rules (the status line's raw bytes are
 * watched for a three-digit code); a head they refuse is malformed.
 *
 * Memory of a connection is freed only after all its libuv handles and
 * requests have called back, never by release itself.
 */
#ifndef AUTHRELAY_UPSTREAM_H
#define AUTHRELAY_UPSTREAM_H

#include <stdint.h>
#include <uv.h>

#include <llhttp.h>

#include "http.h"
#include "metrics.h"
#include "proxyhead.h"

#define UPSTREAM_E_MALFORMED UV_EPROTO /* the response is not valid HTTP/1.1 */

typedef struct upstream_conn upstream_conn;

/* The final response head: status, reason and headers, framing (see
 * proxyhead.h; the head is owned by the connection). */
typedef proxyhead_response upstream_response;

typedef struct upstream_callbacks {
  /* A new connection is ready (status 0) or could not be made: UV_ETIMEDOUT
   * after connect_timeout, another libuv error otherwise. On failure the
   * connection is already gone. */
  void (*on_connect)(void *ctx, int status);
  /* The final response head arrived (1xx interim responses are skipped). */
  void (*on_head)(void *ctx, const upstream_response *r);
  /* Body bytes, decoded from any chunked framing. */
  void (*on_body)(void *ctx, const char *p, size_t n);
  /* The response ended: 0 when complete, or UPSTREAM_E_MALFORMED, UV_EOF
   * (closed before the end), UV_ETIMEDOUT (idle too long) or another libuv
   * error. The exchange must release the connection after this. */
  void (*on_end)(void *ctx, int status);
  /* The write queue fell under the low watermark after being above it. */
  void (*on_writable)(void *ctx);
  /* The bytes of one read were parsed and the response goes on. */
  void (*on_read_end)(void *ctx);
} upstream_callbacks;

typedef struct upstream_pool {
  uv_loop_t *loop;
  const char *host;          /* not owned: the route's configuration */
  const char *port;          /* not owned */
  upstream_conn *idle;       /* idle connections, most recent first */
  size_t nidle;
  size_t max_idle;
  uint64_t idle_timeout_ms;     /* idle pooled connection lifetime */
  uint64_t connect_timeout_ms;
  uint64_t response_timeout_ms; /* longest silence while a response is due */
  size_t max_head_bytes;
  size_t max_headers;
  size_t low_watermark;         /* on_writable fires under this many queued bytes */
  metrics_t *metrics;
  size_t nconns;                /* connections alive, idle or busy */
  int closing;                  /* upstream_pool_close was called */
  void (*on_empty)(struct upstream_pool *p); /* closing, and its last connection was freed; or NULL */
  void *data;                   /* the owner's, for on_empty */
} upstream_pool;

/* Prepares an empty pool for host:port on loop. Strings are not copied. */
void upstream_pool_init(upstream_pool *p, uv_loop_t *loop, const char *host, const char *port,
                        metrics_t *metrics);

/* Closes the idle connections; busy ones close when released (a pool retired
 * by a config reload goes on serving the requests that use it). Once the
 * last connection is freed, on_empty (when set) is called, from a later
 * loop iteration, never from within this call; the pool's memory may then go. */
void upstream_pool_close(upstream_pool *p);

/* Gets a connection for a request. With a pooled one, *reused is 1 and the
 * connection is ready now; otherwise *reused is 0 and cb->on_connect will
 * be called. *out is valid until the exchange releases it (or until a
 * failed on_connect). Returns 0 or a libuv error (nothing to release). */
int upstream_acquire(upstream_pool *p, const upstream_callbacks *cb, void *ctx,
                     upstream_conn **out, int *reused);

/* Writes request bytes (copied). Returns 0 or a libuv error. */
int upstream_write(upstream_conn *c, const uv_buf_t *bufs, unsigned nbufs);
/* upstream_write() of bytes holding a secret (an injected credential):
 * the copy is zeroed once written (netio_write_wiped). */
int upstream_write_wiped(upstream_conn *c, const uv_buf_t *bufs, unsigned nbufs);

/* Bytes queued for writing and not yet written. */
size_t upstream_write_queue(const upstream_conn *c);

/* Starts reading and parsing the response. head_request: the request was
 * HEAD, so the response has no body. */
int upstream_start_response(upstream_conn *c, int head_request);

/* Stops / restarts reading the response (back-pressure from the client). */
void upstream_pause(upstream_conn *c);
void upstream_resume(upstream_conn *c);

/* The exchange is done with c. With reusable set, a connection whose
 * response ended cleanly with keep-alive goes back to the pool; anything
 * else is closed. No callback is called after this. */
void upstream_release(upstream_conn *c, int reusable);

#endif
