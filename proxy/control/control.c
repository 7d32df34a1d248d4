/* control: /healthz, /readyz, /metrics. See control.h. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "dynbuf.h"
#include "http.h"
#include "linkapi.h"
#include "log.h"
#include "metrics.h"
#include "netio.h"
#include "crypto.h"
#include "secretbox.h"
#include "storehealth.h"
#include "pausehub.h"
#include "form.h"

#define CONTROL_HEAD_MAX 16384
#define CONTROL_TIMEOUT_MS 10000

typedef struct control_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;     /* the request must arrive within CONTROL_TIMEOUT_MS */
  control_t *control;
  llhttp_t parser;
  http_head req;
  dynbuf body;          /* request body (linkapi), capped at LINKAPI_BODY_MAX */
  int too_big;          /* the body passed the cap: 413 */
  int handles_open;
  int answered;         /* a response was written; ignore further input */
  int api_pending;      /* linkapi has not answered yet: cc is freed only after it did */
  void (*authorized_next)(struct control_conn *cc); /* what runs once authorize() allowed the request */
  char auth_buf[2048];  /* the Authorization value, NUL-terminated, for linkapi */
  char ctype_buf[256];  /* the Content-Type value, likewise */
  notify_feed feed;     /* GET /v1/events: this connection stays open as a feed */
  int streaming;        /* on the feed and on control->streams */
  list_node stream_link; /* on control->streams while streaming */
} control_conn;

static void on_closed(uv_handle_t *h) {
  control_conn *cc = h->data;
  if (--cc->handles_open > 0 || cc->api_pending)
    return; /* with linkapi's answer pending, freed when it comes */
  http_head_free(&cc->req);
  dynbuf_free(&cc->body);
  free(cc);
}

static void conn_close(control_conn *cc) {
  if (uv_is_closing((uv_handle_t *)&cc->tcp))
    return;
  if (cc->streaming) {
    control_t *c = cc->control;
    cc->streaming = 0;
    notify_feed_remove(&c->links->notify, &cc->feed);
    list_remove(&cc->stream_link);
  }
  uv_close((uv_handle_t *)&cc->timer, on_closed);
  uv_close((uv_handle_t *)&cc->tcp, on_closed);
}

static void on_written(void *ctx, int status) {
  control_conn *cc = ctx;
  (void)status;
  conn_close(cc);
}

static void respond_with(control_conn *cc, int status, const char *content_type, const char *body,
                         size_t len, const char *www_authenticate) {
  char head[384];
  uv_buf_t bufs[2];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\n%s%s%sConnection: close\r\n\r\n",
                   status, http_reason(status), content_type, status == 204 ? 0 : len,
                   www_authenticate != NULL ? "WWW-Authenticate: " : "",
                   www_authenticate != NULL ? www_authenticate : "", www_authenticate != NULL ? "\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof head) {
    conn_close(cc); /* a head that does not fit is never sent cut */
    return;
  }
  if (status == 204)
    len = 0;
  cc->answered = 1;
  bufs[0] = uv_buf_init(head, (unsigned)n);
  bufs[1] = uv_buf_init((char *)body, (unsigned)(cc->parser.method == HTTP_HEAD ? 0 : len));
  /* wiped once written: answers carry tokens, keys and secrets shown once */
  if (netio_write_wiped((uv_stream_t *)&cc->tcp, bufs, 2, on_written, cc) != 0)
    conn_close(cc);
}

static void respond(control_conn *cc, int status, const char *content_type, const char *body, size_t len) {
  respond_with(cc, status, content_type, body, len, NULL);
}

static void respond_json(control_conn *cc, int status, const char *body) {
  respond(cc, status, "application/json", body, strlen(body));
}

static int path_is(const http_head *h, const char *path) {
  const char *t = http_head_str(h, h->target);
  size_t len = h->target.len;
  size_t n = strlen(path);
  return len >= n && memcmp(t, path, n) == 0 && (len == n || t[n] == '?');
}

/* The request as linkapi sees it; strings point into cc (valid while it
 * is answered). path and query are copied into path_buf. */
static void api_request(control_conn *cc, linkapi_request *rq, char *path_buf, size_t cap) {
  const http_head *h = &cc->req;
  const http_header *auth = http_head_find(h, "authorization");
  const http_header *ctype = http_head_find(h, "content-type");
  char *auth_buf = cc->auth_buf;
  char *ctype_buf = cc->ctype_buf;
  size_t n = h->target.len < cap - 1 ? h->target.len : cap - 1;
  char *q;
  memcpy(path_buf, http_head_str(h, h->target), n);
  path_buf[n] = '\0';
  q = strchr(path_buf, '?');
  memset(rq, 0, sizeof *rq);
  rq->method = llhttp_method_name((llhttp_method_t)cc->parser.method);
  rq->path = path_buf;
  rq->query = "";
  if (q != NULL) {
    *q = '\0';
    rq->query = q + 1;
  }
  if (auth != NULL && auth->value.len < sizeof cc->auth_buf) {
    memcpy(auth_buf, http_head_str(h, auth->value), auth->value.len);
    auth_buf[auth->value.len] = '\0';
    rq->authorization = auth_buf;
  }
  if (ctype != NULL && ctype->value.len < sizeof cc->ctype_buf) {
    memcpy(ctype_buf, http_head_str(h, ctype->value), ctype->value.len);
    ctype_buf[ctype->value.len] = '\0';
    rq->content_type = ctype_buf;
  }
  rq->body = cc->body.ptr != NULL ? cc->body.ptr : "";
  rq->body_len = cc->body.len > 0 ? cc->body.len - 1 : 0; /* without its NUL */
  rq->owner_key = cc->control->links->owner_key;
}

/* Whether the connection is gone (its handles closed or closing). */
static int conn_gone(const control_conn *cc) {
  return cc->handles_open == 0 || uv_is_closing((const uv_handle_t *)&cc->tcp);
}

/* linkapi answered a connection that went away meanwhile: freed now. */
static void api_settle(control_conn *cc) {
  cc->api_pending = 0;
  if (cc->handles_open == 0) {
    http_head_free(&cc->req);
    dynbuf_free(&cc->body);
    free(cc);
  }
}

static void on_authorized(void *data, const linkapi_response *rs, const dynbuf *body) {
  control_conn *cc = data;
  if (conn_gone(cc)) {
    api_settle(cc);
    return;
  }
  cc->api_pending = 0;
  if (rs->status != 0)
    respond_with(cc, rs->status, "application/json", body->ptr != NULL ? body->ptr : "", body->len,
                 rs->status == 401 ? "Bearer" : NULL);
  else
    cc->authorized_next(cc);
}

/* Runs next(cc) once the request may use the control API's /v1 endpoints
 * with need (the bearer may have to be read from the store); else the
 * refusal is sent. */
static void authorize(control_conn *cc, unsigned need, void (*next)(control_conn *cc)) {
  linkapi_request rq;
  char path[4096];
  api_request(cc, &rq, path, sizeof path);
  cc->authorized_next = next;
  cc->api_pending = 1;
  linkapi_authorize(cc->control->links, &rq, need, on_authorized, cc);
}

static void on_feed_gone(notify_feed *f) {
  conn_close((control_conn *)((char *)f - offsetof(control_conn, feed)));
}

static void events_authorized(control_conn *cc);

/* GET /v1/events[?registered_user=ID]: an SSE feed of link events, from
 * Last-Event-ID on when the client sends one. */
static void handle_events(control_conn *cc) {
  if (cc->parser.method != HTTP_GET) {
    respond_json(cc, 405, "{\"detail\":\"Method not allowed.\"}\n");
    return;
  }
  authorize(cc, LINKAPI_READ_WEBHOOKS, events_authorized);
}

/* GET /v1/events, authorized: the feed starts. */
static void events_authorized(control_conn *cc) {
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  control_t *c = cc->control;
  const http_head *h = &cc->req;
  const char *target = http_head_str(h, h->target);
  const char *q = memchr(target, '?', h->target.len);
  const http_header *last = http_head_find(h, "last-event-id");
  char last_id[64];
  uv_buf_t buf = uv_buf_init((char *)head, sizeof head - 1);
  int rc;
  cc->feed.user[0] = '\0';
  /* An access token is checked again as events go out: the feed ends when
   * it expires or its application is deleted. The owner key is not. */
  cc->feed.token_hash[0] = '\0';
  {
    const char *bearer = cc->auth_buf + 7; /* authorize(): "Bearer " and a value */
    const char *owner = c->links->owner_key;
    if (strlen(bearer) != strlen(owner) || !crypto_equal(bearer, owner, strlen(owner)))
      crypto_sha256_hex(bearer, strlen(bearer), cc->feed.token_hash);
  }
  if (c->links->notify.nfeeds >= NOTIFY_FEED_MAX) {
    respond_json(cc, 503, "{\"detail\":\"Too many /v1/events subscribers.\"}\n");
    return;
  }
  if (q != NULL) {
    size_t qlen = h->target.len - (size_t)(q + 1 - target);
    long n = form_field(q + 1, qlen, "registered_user", cc->feed.user, sizeof cc->feed.user);
    /* absent or empty (-ENOENT): every user; given but malformed or too long: 400 */
    if (n < 0 && n != -ENOENT) {
      respond_json(cc, 400, "{\"detail\":\"Invalid input: see the fields named.\","
                 "\"registered_user\":[\"Give a registered user's origin_user_id (at most 256 bytes).\"]}\n");
      return;
    }
  }
  last_id[0] = '\0';
  if (last != NULL && last->value.len < sizeof last_id) {
    memcpy(last_id, http_head_str(h, last->value), last->value.len);
    last_id[last->value.len] = '\0';
  }
  cc->answered = 1;
  if (netio_write((uv_stream_t *)&cc->tcp, &buf, 1, NULL, NULL) != 0) {
    conn_close(cc);
    return;
  }
  cc->feed.stream = (uv_stream_t *)&cc->tcp;
  cc->feed.gone = on_feed_gone;
  cc->streaming = 1;
  list_insert_head(&c->streams, &cc->stream_link);
  rc = notify_feed_add(&c->links->notify, &cc->feed, last_id[0] != '\0' ? last_id : NULL);
  if (rc != 0) {
    LOG_WARN("/v1/events refused a subscriber", LOG_STR("error", rc == -ENOSPC ? "too many" : "write failed"));
    conn_close(cc);
  }
}

/* linkapi's answer (now, or once the store answered). */
static void on_api_answer(void *data, const linkapi_response *rs, const dynbuf *body) {
  control_conn *cc = data;
  if (conn_gone(cc)) {
    api_settle(cc);
    return;
  }
  cc->api_pending = 0;
  respond_with(cc, rs->status, "application/json", body->ptr != NULL ? body->ptr : "", body->len,
               rs->www_authenticate);
}

/* /api/... and /oauth/token: the link service's API. */
static void handle_api(control_conn *cc) {
  linkapi_request rq;
  char path[4096];
  if (cc->too_big) {
    respond_json(cc, 413, "{\"detail\":\"The body is over 64 KiB.\"}\n");
    return;
  }
  api_request(cc, &rq, path, sizeof path);
  cc->api_pending = 1;
  linkapi_handle(cc->control->links, &rq, on_api_answer, cc); /* copies rq */
}

#define PAUSE_NO_MAX 1000000 /* a ?pause= value above this is malformed */

/* The pause a command names: ?pause=N (N a decimal from 1, no sign, no
 * leading zero), given at most once, into *pause_no; 0 when absent. Other
 * parameters are ignored. Returns 0 or -EINVAL. */
static int command_pause(const char *query, size_t len, unsigned *pause_no) {
  size_t i = 0;
  int seen = 0;
  *pause_no = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && query[end] != '&')
      end++;
    if (end - i >= 5 && memcmp(query + i, "pause", 5) == 0 && (end - i == 5 || query[i + 5] == '=')) {
      const char *v = query + i + 6;
      size_t vlen = end - i > 6 ? end - i - 6 : 0;
      unsigned long n = 0;
      size_t k;
      if (seen || vlen == 0 || vlen > 7 || v[0] == '0')
        return -EINVAL;
      for (k = 0; k < vlen; k++) {
        if (v[k] < '0' || v[k] > '9')
          return -EINVAL;
        n = n * 10 + (unsigned long)(v[k] - '0');
      }
      if (n > PAUSE_NO_MAX)
        return -EINVAL;
      *pause_no = (unsigned)n;
      seen = 1;
    }
    i = end + 1;
  }
  return 0;
}

/* POST /v1/streams/{id}/resume|cancel[?pause=N]: 202 when the command was
 * taken for that pause (it reaches the stream unless the pause ends
 * otherwise first), 409 when the pause ended or is ending, 404 unknown. */
static void stream_command(control_conn *cc, const char *id, size_t id_len, pausehub_outcome cmd) {
  const http_head *h = &cc->req;
  const char *target = http_head_str(h, h->target);
  const char *q = memchr(target, '?', h->target.len);
  unsigned pause_no = 0;
  unsigned current = 0;
  char body[256];
  int rc;
  if (q != NULL && command_pause(q + 1, h->target.len - (size_t)(q + 1 - target), &pause_no) != 0) {
    respond_json(cc, 400, "{\"detail\":\"Invalid input: see the fields named.\","
                 "\"pause\":[\"Give the pause's number, a positive integer, once.\"]}\n");
    return;
  }
  rc = pausehub_command(cc->control->hub, id, id_len, pause_no, cmd, &current);
  switch (rc) {
  case 0:
    snprintf(body, sizeof body, "{\"status\":\"accepted\",\"command\":\"%s\",\"pause\":%u}\n",
             cmd == PAUSEHUB_RESUMED ? "resume" : "cancel", current);
    respond_json(cc, 202, body);
    break;
  case -EALREADY:
    snprintf(body, sizeof body, "{\"detail\":\"Pause %u is ending already.\",\"pause\":%u}\n", current, current);
    respond_json(cc, 409, body);
    break;
  case -ESTALE:
    snprintf(body, sizeof body, "{\"detail\":\"Pause %u has ended.\",\"pause\":%u}\n", pause_no, current);
    respond_json(cc, 409, body);
    break;
  case -ESRCH:
    snprintf(body, sizeof body, "{\"detail\":\"Pause %u has not begun.\",\"pause\":%u}\n", pause_no, current);
    respond_json(cc, 409, body);
    break;
  default:
    respond_json(cc, 404, "{\"detail\":\"No paused stream with this id.\"}\n");
    break;
  }
}

static void streams_authorized(control_conn *cc);

/* /v1/streams, /v1/streams/{id}, POST /v1/streams/{id}/resume|cancel. */
static void handle_streams(control_conn *cc) {
  authorize(cc, cc->parser.method == HTTP_GET || cc->parser.method == HTTP_HEAD ? LINKAPI_READ_ORGANIZATION
                                                                               : LINKAPI_WRITE_ORGANIZATION,
            streams_authorized);
}

/* /v1/streams..., authorized. */
static void streams_authorized(control_conn *cc) {
  control_t *c = cc->control;
  const http_head *h = &cc->req;
  const char *t = http_head_str(h, h->target) + strlen("/v1/streams");
  size_t len = h->target.len - strlen("/v1/streams");
  const char *slash;
  size_t id_len;
  dynbuf out;
  if (memchr(t, '?', len) != NULL)
    len = (size_t)((const char *)memchr(t, '?', len) - t);
  dynbuf_init(&out, 16 * 1024 * 1024);
  if (len == 0 || (len == 1 && t[0] == '/')) {
    if (cc->parser.method != HTTP_GET) {
      respond_json(cc, 405, "{\"detail\":\"Method not allowed.\"}\n");
    } else if (pausehub_render(c->hub, &out, NULL, 0) == 0 && dynbuf_add(&out, "\n", 1) == 0) {
      respond(cc, 200, "application/json", out.ptr, out.len);
    } else {
      respond_json(cc, 500, "{\"detail\":\"The listing is too large.\"}\n");
    }
    dynbuf_free(&out);
    return;
  }
  t++; /* past "/" */
  len--;
  slash = memchr(t, '/', len);
  id_len = slash != NULL ? (size_t)(slash - t) : len;
  if (slash == NULL) {
    if (cc->parser.method != HTTP_GET) {
      respond_json(cc, 405, "{\"detail\":\"Method not allowed.\"}\n");
    } else if (pausehub_render(c->hub, &out, t, id_len) == 0 && dynbuf_add(&out, "\n", 1) == 0) {
      respond(cc, 200, "application/json", out.ptr, out.len);
    } else {
      respond_json(cc, 404, "{\"detail\":\"No paused stream with this id.\"}\n");
    }
  } else {
    const char *action = slash + 1;
    size_t action_len = len - id_len - 1;
    pausehub_outcome cmd;
    if (action_len == 6 && memcmp(action, "resume", 6) == 0) {
      cmd = PAUSEHUB_RESUMED;
    } else if (action_len == 6 && memcmp(action, "cancel", 6) == 0) {
      cmd = PAUSEHUB_CANCELLED;
    } else {
      respond_json(cc, 404, "{\"detail\":\"Not found.\"}\n");
      dynbuf_free(&out);
      return;
    }
    if (cc->parser.method != HTTP_POST)
      respond_json(cc, 405, "{\"detail\":\"Method not allowed.\"}\n");
    else
      stream_command(cc, t, id_len, cmd);
  }
  dynbuf_free(&out);
}

static void handle(control_conn *cc) {
  control_t *c = cc->control;
  const http_head *h = &cc->req;
  char path[4096];
  size_t n = h->target.len < sizeof path - 1 ? h->target.len : sizeof path - 1;
  memcpy(path, http_head_str(h, h->target), n);
  path[n] = '\0';
  path[strcspn(path, "?")] = '\0';
  if (linkapi_owns(path)) {
    handle_api(cc);
  } else if (path_is(h, "/v1/events")) {
    handle_events(cc);
  } else if (path_is(h, "/v1/streams") ||
      http_starts_with(http_head_str(h, h->target), h->target.len, "/v1/streams/")) {
    handle_streams(cc);
  } else if (cc->parser.method != HTTP_GET && cc->parser.method != HTTP_HEAD) {
    respond_json(cc, 405, "{\"detail\":\"Method not allowed.\"}\n");
  } else if (path_is(h, "/healthz")) {
    respond_json(cc, 200, "{\"status\":\"ok\"}\n");
  } else if (path_is(h, "/readyz")) {
    dynbuf why;
    dynbuf_init(&why, 1024);
    if (!c->ready)
      respond_json(cc, 503, "{\"status\":\"draining\"}\n");
    else if (storehealth_ready(&c->links->store, &why) != 0)
      respond(cc, 503, "application/json", why.ptr != NULL ? why.ptr : "", why.len);
    else
      respond_json(cc, 200, "{\"status\":\"ready\"}\n");
    dynbuf_free(&why);
  } else if (path_is(h, "/metrics")) {
    metrics_t **all = calloc(c->nworkers, sizeof *all);
    dynbuf out;
    size_t i;
    dynbuf_init(&out, 4 * 1024 * 1024);
    if (all == NULL) {
      respond_json(cc, 500, "{\"detail\":\"Out of memory.\"}\n");
      return;
    }
    for (i = 0; i < c->nworkers; i++)
      all[i] = &c->workers[i].metrics;
    if (metrics_render(&out, all, c->nworkers) == 0 && linkhost_render_metrics(c->links, &out) == 0)
      respond(cc, 200, "text/plain; version=0.0.4", out.ptr, out.len);
    else
      respond_json(cc, 500, "{\"detail\":\"The metrics are too large.\"}\n");
    dynbuf_free(&out);
    free(all);
  } else {
    respond_json(cc, 404, "{\"detail\":\"Not found.\"}\n");
  }
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  control_conn *cc = p->data;
  return http_head_add_target(&cc->req, at, len) == 0 ? 0 : -1;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  control_conn *cc = p->data;
  return http_head_add_name(&cc->req, at, len) == 0 ? 0 : -1;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  control_conn *cc = p->data;
  return http_head_add_value(&cc->req, at, len) == 0 ? 0 : -1;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  control_conn *cc = p->data;
  if (cc->too_big || dynbuf_add(&cc->body, at, len) != 0)
    cc->too_big = 1;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  control_conn *cc = p->data;
  if (dynbuf_add(&cc->body, "", 1) != 0) /* a NUL for the JSON parser */
    cc->too_big = 1;
  uv_timer_stop(&cc->timer);
  handle(cc);
  return HPE_PAUSED;
}

static const llhttp_settings_t control_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  control_conn *cc = s->data;
  llhttp_errno_t err;
  if (nread == 0)
    return;
  if (nread < 0) {
    conn_close(cc); /* the client went away (a feed ends here) */
    return;
  }
  if (cc->answered)
    return;
  err = llhttp_execute(&cc->parser, buf->base, (size_t)nread);
  if (err != HPE_OK && err != HPE_PAUSED && !cc->answered)
    respond_json(cc, 400, "{\"detail\":\"Bad request.\"}\n");
}

static void on_timeout(uv_timer_t *t) {
  control_conn *cc = t->data;
  if (!cc->answered)
    respond_json(cc, 408, "{\"detail\":\"Request timeout.\"}\n");
}

static void on_connection(uv_stream_t *listener, int status) {
  control_t *c = listener->data;
  control_conn *cc;
  if (status < 0)
    return;
  cc = calloc(1, sizeof *cc);
  if (cc == NULL)
    return;
  cc->control = c;
  uv_tcp_init(c->loop, &cc->tcp);
  cc->tcp.data = cc;
  uv_timer_init(c->loop, &cc->timer);
  cc->timer.data = cc;
  cc->handles_open = 2;
  if (uv_accept(listener, (uv_stream_t *)&cc->tcp) != 0) {
    conn_close(cc);
    return;
  }
  http_head_init(&cc->req, CONTROL_HEAD_MAX, 100);
  dynbuf_init(&cc->body, LINKAPI_BODY_MAX + 2);
  llhttp_init(&cc->parser, HTTP_REQUEST, &control_settings);
  cc->parser.data = cc;
  uv_timer_start(&cc->timer, on_timeout, CONTROL_TIMEOUT_MS, 0);
  if (uv_read_start((uv_stream_t *)&cc->tcp, netio_alloc, on_read) != 0)
    conn_close(cc);
}

int control_init(control_t *c, uv_loop_t *loop, const config_t *cfg, worker_t *workers,
                 size_t nworkers, pausehub_t *hub, linkhost_t *links) {
  struct sockaddr_storage addr;
  int rc;
  memset(c, 0, sizeof *c);
  list_init(&c->streams);
  c->loop = loop;
  c->cfg = cfg;
  c->workers = workers;
  c->nworkers = nworkers;
  c->hub = hub;
  c->links = links;
  c->ready = 1;
  rc = netio_parse_addr(cfg->control_host, cfg->control_port, &addr);
  if (rc != 0)
    return rc;
  uv_tcp_init(loop, &c->listener);
  c->listener.data = c;
  c->open = 1;
  rc = uv_tcp_bind(&c->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&c->listener, 128, on_connection);
  if (rc != 0)
    control_close(c);
  return rc;
}

void control_close(control_t *c) {
  while (!list_empty(&c->streams))
    conn_close(LIST_ENTRY(list_first(&c->streams), control_conn, stream_link));
  if (c->open) {
    c->open = 0;
    uv_close((uv_handle_t *)&c->listener, NULL);
  }
}
