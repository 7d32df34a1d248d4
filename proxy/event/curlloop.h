/* curlloop: outgoing HTTP(S) requests made by libcurl on a libuv loop.
 *
 * The link service talks to the outside world over HTTP: an OAuth2 code is
 * exchanged at the provider's token endpoint, a remote link service mints
 * tokens, webhooks go out. None of that may block a loop (DESIGN.md,
 * "Operations"), so every request here is one easy handle on a libcurl
 * multi handle driven by the loop through curl's socket API: one uv_poll_t
 * per socket curl asks us to watch, one uv_timer_t for curl's timeout, and
 * curl_multi_socket_action() from their callbacks. curl_easy_perform() is
 * never used.
 *
 * Every transfer: no signals (CURLOPT_NOSIGNAL), a total timeout and a
 * connect timeout, a hard cap on the response body, http and https only,
 * no redirects followed, no proxy from the environment. Only GET and POST.
 *
 * One curlloop_t per loop, used from that loop's thread only (not
 * thread-safe, by design). It follows the libuv object model: the caller
 * embeds it, curlloop_init() / curlloop_close() pair up, and its memory may
 * be freed only once the close callback has run (or, with no callback, once
 * the loop has run the closes: uv_run() returned).
 *
 * Callbacks (curlloop_done_cb) run only from the loop's callbacks, never
 * from inside a curlloop_* call. A callback may call curlloop_request(),
 * curlloop_cancel() (on any request, its own included: a no-op) and
 * curlloop_close().
 *
 * libcurl is initialised once per process (curl_global_init) through
 * uv_once; a daemon should still call curlloop_global_init() from main()
 * before it starts threads, as curl's documentation asks.
 */
#ifndef AUTHRELAY_CURLLOOP_H
#define AUTHRELAY_CURLLOOP_H

#include <stddef.h>

#include <curl/curl.h>
#include <uv.h>

#include "list.h"

#define CURLLOOP_URL_MAX 8192                     /* bytes in a URL */
#define CURLLOOP_HEADERS_MAX 32                   /* extra request headers */
#define CURLLOOP_HEADER_MAX 8192                  /* bytes in one "Name: value" */
#define CURLLOOP_BODY_MAX (1024 * 1024)           /* bytes in a request body */
#define CURLLOOP_RESPONSE_MAX (16 * 1024 * 1024)  /* largest max_response */
#define CURLLOOP_DEFAULT_RESPONSE (1024 * 1024)   /* max_response 0 */
#define CURLLOOP_TIMEOUT_MAX_MS (10 * 60 * 1000L) /* largest timeout_ms */
#define CURLLOOP_DEFAULT_TIMEOUT_MS 10000L        /* timeout_ms 0 */
#define CURLLOOP_CONNECT_TIMEOUT_MS 5000L         /* connect timeout, or the total if shorter */
#define CURLLOOP_REQUESTS_MAX 4096                /* requests in flight per curlloop_t */

typedef struct curlloop_t curlloop_t;
typedef struct curlloop_req curlloop_req;
typedef struct curlloop_sock_ curlloop_sock_;

/* Called once per request that is not cancelled. status: 0 when an HTTP
 * response arrived, whatever its code (http_code); otherwise a negative
 * errno and http_code 0:
 *   -ETIMEDOUT     the total timeout (or the connect timeout) passed
 *   -ECONNREFUSED  the connection was refused (or the OS error of a failed
 *                  connect, negated, when curl reports one)
 *   -E2BIG         the response body would pass max_response
 *   -EHOSTUNREACH  the host name did not resolve
 *   -ECONNRESET    the connection broke, or closed with no response
 *   -EPROTO        a TLS or HTTP protocol error
 *   -EPROTONOSUPPORT, -EINVAL, -ENOMEM, -EIO (anything else).
 * body: the response body (body_len bytes, followed by a NUL not counted),
 * owned by curlloop and valid only during the call; never NULL (""
 * when empty or on error). ctx: as passed to curlloop_request, not owned. */
typedef void (*curlloop_done_cb)(void *ctx, int status, long http_code, const char *body,
                                 size_t body_len);

/* Embedded by the caller. */
struct curlloop_t {
  uv_loop_t *loop;           /* not owned */
  size_t nrequests;          /* read-only: requests in flight */
  size_t nsockets;           /* read-only: sockets being polled */
  /* private */
  CURLM *multi_;             /* owned; NULL once closed */
  uv_timer_t timer_;         /* curl's timeout (CURLMOPT_TIMERFUNCTION) */
  list_node reqs_;           /* requests in flight (curlloop_req.link), newest first; owned */
  list_node socks_;          /* polled sockets (curlloop_sock_.link); owned, freed on their close callbacks */
  unsigned open_handles_;    /* uv handles not yet closed: timer_ and the polls */
  int closing_;              /* curlloop_close() was called */
  void (*close_cb_)(curlloop_t *cl); /* may be NULL */
};

/* Initialises libcurl for the process (curl_global_init); idempotent and
 * thread-safe (uv_once). Returns 0 or -EIO. Called by curlloop_init() too. */
int curlloop_global_init(void);

/* Prepares cl on loop (borrowed; must outlive cl). Returns 0, -EIO (libcurl
 * did not initialise) or -ENOMEM; cl needs no close then. */
int curlloop_init(curlloop_t *cl, uv_loop_t *loop);

/* Starts a request. method: "GET" or "POST" (body, body_len bytes, is sent
 * with POST and must be empty with GET; body may be NULL when body_len is
 * 0). url: http:// or https://, at most CURLLOOP_URL_MAX bytes, no spaces
 * or control characters. headers: NULL or a NULL-terminated array of
 * "Name: value" strings (no CR or LF), at most CURLLOOP_HEADERS_MAX of
 * them. Everything is copied: the caller's strings are borrowed for the
 * call only. timeout_ms: the total time allowed, 1 to
 * CURLLOOP_TIMEOUT_MAX_MS, 0 for CURLLOOP_DEFAULT_TIMEOUT_MS. max_response:
 * most body bytes accepted, 1 to CURLLOOP_RESPONSE_MAX, 0 for
 * CURLLOOP_DEFAULT_RESPONSE. cb (not NULL) runs exactly once, later, on the
 * loop, with ctx (not owned), unless the request is cancelled.
 * Returns 0 (and, when out is not NULL, *out: the request, owned by cl,
 * valid until its callback has returned or it was cancelled) or -EINVAL,
 * -E2BIG (body over CURLLOOP_BODY_MAX), -ENOSPC (CURLLOOP_REQUESTS_MAX in
 * flight), -ECANCELED (cl is closing), -ENOMEM or -EIO; no callback then. */
int curlloop_request(curlloop_t *cl, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     long timeout_ms, size_t max_response, curlloop_done_cb cb, void *ctx,
                     curlloop_req **out);

/* Abandons r: its callback will not run, its connection is closed, r is
 * freed. NULL, or r from inside its own callback, is a no-op. */
void curlloop_cancel(curlloop_req *r);

/* Cancels every request (no callbacks), frees the multi handle and closes
 * the uv handles; close_cb(cl) (may be NULL) runs once they are all closed,
 * from the loop. A second call is a no-op. cl's memory must stay valid until
 * then. */
void curlloop_close(curlloop_t *cl, void (*close_cb)(curlloop_t *cl));

#endif
