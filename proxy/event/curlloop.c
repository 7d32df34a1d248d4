/* curlloop: libcurl's multi socket API on a libuv loop (see curlloop.h).
 *
 * curl tells us which sockets to watch (on_curl_socket: a uv_poll_t per
 * socket, remembered with curl_multi_assign) and when to wake it up
 * (on_curl_timer: the one uv_timer_t). Their callbacks hand the event to
 * curl_multi_socket_action() and then reap: every finished transfer is
 * taken from curl_multi_info_read(), removed from the multi handle and
 * reported to its caller. Callbacks to the caller run only there, so never
 * from inside curl and never from inside a curlloop_* call.
 *
 * A response body collects in a dynbuf whose cap is the request's
 * max_response; the write callback fails the transfer (-E2BIG) as soon as
 * a chunk would pass it, and CURLOPT_MAXFILESIZE_LARGE refuses a declared
 * Content-Length over it before any of the body is read.
 */
#include "curlloop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dynbuf.h"
#include "url.h"

#define USER_AGENT "authrelay/0.1"

struct curlloop_req {
  curlloop_t *cl;             /* the loop it runs on; not owned */
  CURL *easy;                 /* owned */
  struct curl_slist *headers; /* owned; curl reads it during the transfer */
  dynbuf resp;                /* the response body so far; capped at max_response + 2 */
  size_t max_response;        /* body bytes accepted */
  int write_err;              /* -E2BIG or -ENOMEM when the write callback refused */
  int done;                   /* its callback is running: cancel is a no-op */
  curlloop_done_cb cb;
  void *ctx;                  /* passed to cb; not owned */
  list_node link;             /* on cl->reqs_ */
};

/* A socket curl asked us to watch. */
struct curlloop_sock_ {
  uv_poll_t poll;             /* first: the handle's address is the struct's */
  curlloop_t *cl;             /* not owned */
  curl_socket_t fd;           /* curl's; curl closes it */
  list_node link;             /* on cl->socks_, while not closing */
};

/* ---- process-wide initialisation ---- */

static uv_once_t global_once = UV_ONCE_INIT;
static int global_rc = -EIO;

static void global_init_once(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

int curlloop_global_init(void) {
  uv_once(&global_once, global_init_once);
  return global_rc;
}

/* ---- handles and closing ---- */

/* Calls the close callback once the last uv handle has closed. */
static void handle_closed(curlloop_t *cl) {
  void (*cb)(curlloop_t *cl);
  cl->open_handles_--;
  if (!cl->closing_ || cl->open_handles_ > 0)
    return;
  cb = cl->close_cb_;
  cl->close_cb_ = NULL;
  if (cb != NULL)
    cb(cl);
}

static void on_sock_closed(uv_handle_t *h) {
  curlloop_sock_ *s = (curlloop_sock_ *)h;
  curlloop_t *cl = s->cl;
  free(s);
  handle_closed(cl);
}

static void on_timer_closed(uv_handle_t *h) {
  handle_closed(h->data);
}

/* Stops watching s and closes its poll handle (freed on its close callback). */
static void sock_close(curlloop_t *cl, curlloop_sock_ *s) {
  list_remove(&s->link);
  cl->nsockets--;
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- requests ---- */

static void req_unlink(curlloop_req *r) {
  list_remove(&r->link);
  r->cl->nrequests--;
}

/* Takes r's easy handle off the multi handle (which closes its connection
 * when the transfer was not done) and frees the handle and headers. */
static void req_release(curlloop_req *r) {
  if (r->easy != NULL) {
    if (r->cl->multi_ != NULL)
      (void)curl_multi_remove_handle(r->cl->multi_, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
  }
  curl_slist_free_all(r->headers);
  r->headers = NULL;
}

static void req_free(curlloop_req *r) {
  req_release(r);
  dynbuf_free(&r->resp);
  free(r);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  curlloop_req *r = userdata;
  size_t n = size * nmemb;
  int rc;
  if (n > r->max_response - r->resp.len) {
    r->write_err = -E2BIG;
    return 0; /* anything but n fails the transfer with CURLE_WRITE_ERROR */
  }
  rc = dynbuf_add(&r->resp, ptr, n);
  if (rc != 0) {
    r->write_err = rc;
    return 0;
  }
  return n;
}

/* The negative errno for how r's transfer ended. */
static int map_result(curlloop_req *r, CURLcode rc) {
  long oserr = 0;
  switch (rc) {
  case CURLE_OK:
    return 0;
  case CURLE_OPERATION_TIMEDOUT:
    return -ETIMEDOUT;
  case CURLE_COULDNT_CONNECT:
    if (curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0 &&
        oserr < 4096)
      return -(int)oserr;
    return -ECONNREFUSED;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return -EHOSTUNREACH;
  case CURLE_FILESIZE_EXCEEDED:
    return -E2BIG;
  case CURLE_WRITE_ERROR:
    return r->write_err != 0 ? r->write_err : -EIO;
  case CURLE_OUT_OF_MEMORY:
    return -ENOMEM;
  case CURLE_UNSUPPORTED_PROTOCOL:
    return -EPROTONOSUPPORT;
  case CURLE_URL_MALFORMAT:
    return -EINVAL;
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
    return -ECONNRESET;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_BAD_CONTENT_ENCODING:
    return -EPROTO;
  default:
    return -EIO;
  }
}

/* Reports the transfer of easy as ended with rc, and frees its request. */
static void finish(curlloop_t *cl, CURL *easy, CURLcode rc) {
  char *priv = NULL;
  curlloop_req *r;
  long code = 0;
  int status;
  const char *body = "";
  size_t body_len = 0;
  if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || priv == NULL) {
    (void)curl_multi_remove_handle(cl->multi_, easy); /* not ours: cannot happen */
    return;
  }
  r = (curlloop_req *)(void *)priv;
  status = map_result(r, rc);
  if (status == 0 && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
    status = -EIO;
  if (status == 0) {
    /* the NUL after the body: max_response + 2 leaves room for it */
    status = dynbuf_add(&r->resp, "", 1);
    if (status == 0) {
      r->resp.len--;
      body = r->resp.ptr;
      body_len = r->resp.len;
    }
  }
  if (status != 0)
    code = 0;
  req_unlink(r);
  req_release(r);
  r->done = 1;
  r->cb(r->ctx, status, code, body, body_len);
  dynbuf_free(&r->resp);
  free(r);
}

/* Reports every finished transfer. Stops when a callback closed cl. */
static void reap(curlloop_t *cl) {
  for (;;) {
    int left = 0;
    CURLMsg *m;
    if (cl->multi_ == NULL)
      return;
    m = curl_multi_info_read(cl->multi_, &left);
    if (m == NULL)
      return;
    if (m->msg == CURLMSG_DONE)
      finish(cl, m->easy_handle, m->data.result);
  }
}

/* ---- the loop's side ---- */

static void on_poll(uv_poll_t *h, int status, int events) {
  curlloop_sock_ *s = (curlloop_sock_ *)h;
  curlloop_t *cl = s->cl;
  int flags = 0;
  int running = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & (UV_READABLE | UV_DISCONNECT))
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  /* s may be closed from inside: it is not touched after this */
  (void)curl_multi_socket_action(cl->multi_, s->fd, flags, &running);
  reap(cl);
}

static void on_timeout(uv_timer_t *t) {
  curlloop_t *cl = t->data;
  int running = 0;
  (void)curl_multi_socket_action(cl->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  reap(cl);
}

/* CURLMOPT_SOCKETFUNCTION. Failures return 0, not -1: -1 would mark the
 * whole multi handle dead, while a socket left unwatched only makes its
 * one transfer run into its timeout. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  curlloop_t *cl = userp;
  curlloop_sock_ *s = socketp;
  int events = 0;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      sock_close(cl, s);
      if (cl->multi_ != NULL)
        (void)curl_multi_assign(cl->multi_, fd, NULL);
    }
    return 0;
  }
  if (s == NULL) {
    if (cl->multi_ == NULL)
      return 0;
    s = calloc(1, sizeof *s);
    if (s == NULL)
      return 0;
    if (uv_poll_init_socket(cl->loop, &s->poll, fd) != 0) {
      free(s);
      return 0;
    }
    s->cl = cl;
    s->fd = fd;
    list_insert_head(&cl->socks_, &s->link);
    cl->nsockets++;
    cl->open_handles_++;
    if (curl_multi_assign(cl->multi_, fd, s) != CURLM_OK) {
      sock_close(cl, s);
      return 0;
    }
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  (void)uv_poll_start(&s->poll, events, on_poll);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 fires on the loop's next
 * turn, not from in here (curl must not be re-entered). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  curlloop_t *cl = userp;
  (void)multi;
  if (cl->closing_)
    return 0;
  if (timeout_ms < 0) {
    (void)uv_timer_stop(&cl->timer_);
    return 0;
  }
  /* fails only on a closing handle; -1 would mark the multi handle dead */
  (void)uv_timer_start(&cl->timer_, on_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

int curlloop_init(curlloop_t *cl, uv_loop_t *loop) {
  int rc;
  memset(cl, 0, sizeof *cl);
  list_init(&cl->reqs_);
  list_init(&cl->socks_);
  rc = curlloop_global_init();
  if (rc != 0)
    return rc;
  cl->loop = loop;
  cl->multi_ = curl_multi_init();
  if (cl->multi_ == NULL)
    return -ENOMEM;
  if (curl_multi_setopt(cl->multi_, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
      curl_multi_setopt(cl->multi_, CURLMOPT_SOCKETDATA, cl) != CURLM_OK ||
      curl_multi_setopt(cl->multi_, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
      curl_multi_setopt(cl->multi_, CURLMOPT_TIMERDATA, cl) != CURLM_OK) {
    curl_multi_cleanup(cl->multi_);
    cl->multi_ = NULL;
    return -EIO;
  }
  rc = uv_timer_init(loop, &cl->timer_);
  if (rc != 0) {
    curl_multi_cleanup(cl->multi_);
    cl->multi_ = NULL;
    return rc;
  }
  cl->timer_.data = cl;
  cl->open_handles_ = 1;
  return 0;
}

/* Copies headers into r->headers after an "Expect:" that turns off curl's
 * 100-continue wait. Returns 0, -EINVAL or -ENOMEM. */
static int copy_headers(curlloop_req *r, const char *const *headers) {
  struct curl_slist *l = curl_slist_append(NULL, "Expect:");
  size_t i;
  if (l == NULL)
    return -ENOMEM;
  r->headers = l;
  for (i = 0; headers != NULL && headers[i] != NULL; i++) {
    const char *h = headers[i];
    size_t len = strnlen(h, CURLLOOP_HEADER_MAX + 1);
    const char *colon = memchr(h, ':', len);
    if (i >= CURLLOOP_HEADERS_MAX || len > CURLLOOP_HEADER_MAX || colon == NULL || colon == h ||
        memchr(h, '\r', len) != NULL || memchr(h, '\n', len) != NULL)
      return -EINVAL;
    l = curl_slist_append(r->headers, h);
    if (l == NULL)
      return -ENOMEM;
    r->headers = l;
  }
  return 0;
}

/* Sets every option of r's transfer. Returns 0 or -EIO. */
static int setup_easy(curlloop_req *r, int post, const char *url, const char *body,
                      size_t body_len, long timeout_ms) {
  CURL *e = r->easy;
  long connect_ms = timeout_ms < CURLLOOP_CONNECT_TIMEOUT_MS ? timeout_ms
                                                             : CURLLOOP_CONNECT_TIMEOUT_MS;
  int bad = 0;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK; /* none from the environment */
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r) != CURLE_OK;
  if (post) {
    bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK;
    /* copies body_len bytes (set just before), so the body may hold NULs */
    bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body_len > 0 ? body : "") != CURLE_OK;
  } else {
    bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
  }
  return bad ? -EIO : 0;
}

int curlloop_request(curlloop_t *cl, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     long timeout_ms, size_t max_response, curlloop_done_cb cb, void *ctx,
                     curlloop_req **out) {
  curlloop_req *r;
  int post;
  int rc;
  if (out != NULL)
    *out = NULL;
  if (cl->closing_ || cl->multi_ == NULL)
    return -ECANCELED;
  if (method == NULL || url == NULL || cb == NULL || (body == NULL && body_len > 0))
    return -EINVAL;
  if (strcmp(method, "POST") == 0)
    post = 1;
  else if (strcmp(method, "GET") == 0 && body_len == 0)
    post = 0;
  else
    return -EINVAL;
  if (body_len > CURLLOOP_BODY_MAX)
    return -E2BIG;
  if (timeout_ms == 0)
    timeout_ms = CURLLOOP_DEFAULT_TIMEOUT_MS;
  if (max_response == 0)
    max_response = CURLLOOP_DEFAULT_RESPONSE;
  if (timeout_ms < 0 || timeout_ms > CURLLOOP_TIMEOUT_MAX_MS ||
      max_response > CURLLOOP_RESPONSE_MAX)
    return -EINVAL;
  rc = url_check(url, CURLLOOP_URL_MAX, 0);
  if (rc != 0)
    return rc;
  if (cl->nrequests >= CURLLOOP_REQUESTS_MAX)
    return -ENOSPC;
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->cl = cl;
  r->cb = cb;
  r->ctx = ctx;
  r->max_response = max_response;
  dynbuf_init(&r->resp, max_response + 2);
  rc = copy_headers(r, headers);
  if (rc != 0) {
    req_free(r);
    return rc;
  }
  r->easy = curl_easy_init();
  if (r->easy == NULL) {
    req_free(r);
    return -ENOMEM;
  }
  rc = setup_easy(r, post, url, body, body_len, timeout_ms);
  if (rc != 0) {
    req_free(r);
    return rc;
  }
  if (curl_multi_add_handle(cl->multi_, r->easy) != CURLM_OK) {
    curl_easy_cleanup(r->easy); /* never added: not removed */
    r->easy = NULL;
    req_free(r);
    return -EIO;
  }
  list_insert_head(&cl->reqs_, &r->link);
  cl->nrequests++;
  if (out != NULL)
    *out = r;
  return 0;
}

void curlloop_cancel(curlloop_req *r) {
  if (r == NULL || r->done)
    return;
  req_unlink(r);
  req_free(r);
}

void curlloop_close(curlloop_t *cl, void (*close_cb)(curlloop_t *cl)) {
  CURLM *multi = cl->multi_;
  if (cl->closing_)
    return;
  cl->closing_ = 1;
  cl->close_cb_ = close_cb;
  while (!list_empty(&cl->reqs_))
    curlloop_cancel(LIST_ENTRY(list_first(&cl->reqs_), curlloop_req, link));
  /* curl may still report sockets removed while it closes its cached
   * connections; with multi_ NULL the socket callback only closes polls */
  cl->multi_ = NULL;
  if (multi != NULL)
    curl_multi_cleanup(multi);
  while (!list_empty(&cl->socks_))
    sock_close(cl, LIST_ENTRY(list_first(&cl->socks_), curlloop_sock_, link));
  uv_close((uv_handle_t *)&cl->timer_, on_timer_closed);
}
