/* bench-load: the load client of the relay benchmark (see bench/README.md).
 *
 * One libuv loop, non-blocking sockets. It opens N concurrent HTTP/1.1 GET
 * streams to one target URL (the query gets "&id=<stream index>"), parses the
 * response head and the (chunked) body with llhttp, splits the body into SSE
 * events and, for every event, finds the "seq" and "ts" numbers of its data
 * JSON. Per stream, seq must go 0, 1, 2, ...: gaps count as lost, a repeat of
 * the previous seq as duplicated, anything older as reordered. Delivery
 * latency (CLOCK_MONOTONIC now - ts; same machine) goes into a log-linear
 * histogram (16 sub-buckets per power of two: 6.25 % precision).
 *
 * Phases, each announced as one JSON line on stderr ({"phase":...}) so that a
 * driver can sample the relay process at the right moments:
 *   ready          every stream has its first event (--pause-storm: its link_token)
 *   measure_start  after --warmup seconds
 *   measure_end    after --duration seconds (timed mode); then the report
 * With --until-done (implied by --pause-storm) the run ends when every stream
 * has ended with its "done" event instead.
 *
 * --pause-storm: every stream must receive "event: link_token" (the relay
 * withheld one auth-required event, so the next expected seq skips one); when
 * all have, one POST of "api_key=..." goes to the magic_link_url of stream 0;
 * then the time from the POST to "auth_complete" and to the next event with a
 * seq is taken on every stream.
 *
 * The report is one JSON object on stdout. Exit status: 0 when every stream
 * behaved (no connection error, no lost/duplicated/reordered event, no
 * timeout), 1 otherwise (the JSON is still printed), 2 on bad usage.
 * Beside it: loadhist.c, loadjson.c, loadpost.c (the storm's POST, URLs).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <llhttp.h>
#include <uv.h>

#include "dynbuf.h"
#include "loadhist.h"
#include "loadjson.h"
#include "loadpost.h"

#define MAX_HEADERS 8
#define MAX_EVENT_BYTES (4 * 1024 * 1024)
#define READ_BUF (256 * 1024)
#define MAX_ERRORS_KEPT 8

/* ---- state -------------------------------------------------------------- */

enum cstate { C_NEW, C_CONNECTING, C_HEAD, C_BODY, C_DONE, C_FAILED, C_CLOSED_BY_US };

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  llhttp_t parser;
  int idx;
  enum cstate state;
  int opening; /* counted in g.opening */
  int handle_open;
  char *req;
  size_t req_len;
  /* SSE */
  dynbuf line, data; /* the SSE line and data field in progress, capped at MAX_EVENT_BYTES */
  char evname[64];
  int has_data;
  /* checks */
  long expect;  /* next seq */
  long events;  /* events with a seq */
  int first_event;
  int done;
  long done_events; /* "events" of the done event, -1 if none */
  int withheld;     /* link_token events: one upstream event each was withheld */
  int auth_seen;    /* an auth-required event arrived (on_detect rewrite/keep: it is not withheld) */
  /* pause storm */
  int got_link;
  uint64_t t_complete, t_next;
} conn_t;

static struct {
  /* options */
  char host[256];
  int port;
  char path[4096];
  char headers[MAX_HEADERS][512];
  int nheaders;
  int nconns;
  int batch;
  double duration, warmup, timeout, ready_timeout;
  int until_done;
  int pause_storm;
  char api_key[128];
  int quiet;
  /* run */
  uv_loop_t *loop;
  conn_t *conns;
  int started, opening, ready_count, failed, ended;
  uint64_t t0, t_ready, t_measure_start, t_measure_end;
  int measuring, measured;
  uint64_t ev_window, bytes_window, ev_total, bytes_total;
  uint64_t lost, dup, reord, noseq, relay_errors, bad_status, incomplete;
  hist_t hist;
  int finished;
  int timed_out;
  char errors[MAX_ERRORS_KEPT][256];
  int nerrors;
  long total_errors;
  /* pause storm */
  char link_url[1024];
  loadpost_t post;
  int posted, resumed_count, completed_count;
  uint64_t t_post;
  hist_t resume_hist, complete_hist;
  uv_timer_t tick;
  llhttp_settings_t settings;
  uv_signal_t sigint;
} g;

static char readbuf[READ_BUF];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void error_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error_note(const char *fmt, ...) {
  g.total_errors++;
  if (g.nerrors >= MAX_ERRORS_KEPT)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g.errors[g.nerrors++], sizeof g.errors[0], fmt, ap);
  va_end(ap);
}

static void phase(const char *name) {
  fprintf(stderr, "{\"phase\":\"%s\",\"t_s\":%.3f}\n", name, (double)(now_ns() - g.t0) / 1e9);
  fflush(stderr);
}

static void finish(void);
static void open_more(void);

/* ---- connection lifecycle ---------------------------------------------- */

static void on_close_conn(uv_handle_t *h) { (void)h; }

static void conn_close(conn_t *c) {
  if (c->handle_open && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_close_conn);
}

static void conn_not_opening(conn_t *c) {
  if (c->opening) {
    c->opening = 0;
    g.opening--;
  }
}

static void conn_fail(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(conn_t *c, const char *fmt, ...) {
  if (c->state == C_FAILED || c->state == C_DONE)
    return;
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  error_note("stream %d: %s", c->idx, msg);
  c->state = C_FAILED;
  g.failed++;
  g.ended++;
  conn_not_opening(c);
  conn_close(c);
  open_more();
}

/* ---- SSE --------------------------------------------------------------- */

static void maybe_ready(void);

static void on_seq_event(conn_t *c, long long seq, long long ts, uint64_t now) {
  if (seq < 0) {
    g.noseq++;
    return;
  }
  if (seq == c->expect) {
    c->expect++;
  } else if (seq > c->expect) {
    g.lost += (uint64_t)(seq - c->expect);
    c->expect = seq + 1;
  } else if (seq == c->expect - 1) {
    g.dup++;
  } else {
    g.reord++;
  }
  c->events++;
  g.ev_total++;
  if (g.measuring)
    g.ev_window++;
  if (ts > 0 && g.measuring && !(g.pause_storm && c->got_link)) {
    uint64_t t = (uint64_t)ts;
    hist_add(&g.hist, now > t ? now - t : 0);
  }
  if (g.pause_storm && c->t_complete && !c->t_next) {
    c->t_next = now;
    hist_add(&g.resume_hist, now - g.t_post);
    g.resumed_count++;
  }
  if (!c->first_event) {
    c->first_event = 1;
    if (!g.pause_storm) {
      g.ready_count++;
      maybe_ready();
    }
  }
}

static void dispatch(conn_t *c) {
  const char *name = c->evname[0] ? c->evname : "message";
  const char *d = c->has_data ? c->data.ptr : "";
  size_t dl = c->has_data ? c->data.len : 0;
  uint64_t now = now_ns();
  if (!c->has_data && !c->evname[0])
    return;
  if (strcmp(name, "done") == 0) {
    c->done = 1;
    c->done_events = loadjson_num(d, dl, "\"events\":");
  } else if (strcmp(name, "link_token") == 0) {
    if (g.pause_storm) {
      if (!c->got_link) {
        c->got_link = 1;
        if (!c->auth_seen) {
          c->withheld++;
          c->expect++; /* on_detect replace: the auth-required event it replaces never comes */
        }
        if (c->idx == 0 && loadjson_str(d, dl, "\"magic_link_url\":\"", g.link_url, sizeof g.link_url) != 0)
          conn_fail(c, "link_token without magic_link_url");
        g.ready_count++;
        maybe_ready();
      }
    } else {
      error_note("stream %d: unexpected link_token", c->idx);
    }
  } else if (strcmp(name, "auth_complete") == 0) {
    if (!g.pause_storm || !g.posted || c->t_complete) {
      error_note("stream %d: unexpected auth_complete", c->idx);
    } else {
      c->t_complete = now;
      hist_add(&g.complete_hist, now - g.t_post);
      g.completed_count++;
    }
  } else if (strcmp(name, "relay_error") == 0 || strcmp(name, "link_expired") == 0) {
    g.relay_errors++;
    error_note("stream %d: event %s: %.120s", c->idx, name, d);
  } else {
    if (memmem(d, dl, "authenticate_meta", strlen("authenticate_meta")) != NULL)
      c->auth_seen = 1; /* rewritten in place (the default) or kept */
    on_seq_event(c, loadjson_num(d, dl, "\"seq\":"), loadjson_num(d, dl, "\"ts\":"), now);
  }
  c->evname[0] = 0;
  c->has_data = 0;
  c->data.len = 0;
}

static void sse_line(conn_t *c, const char *p, size_t n) {
  if (n > 0 && p[n - 1] == '\r')
    n--;
  if (n == 0) {
    dispatch(c);
    return;
  }
  if (p[0] == ':')
    return; /* comment (": paused" heartbeats) */
  const char *colon = memchr(p, ':', n);
  size_t fl = colon ? (size_t)(colon - p) : n;
  const char *v = colon ? colon + 1 : p + n;
  size_t vl = colon ? n - fl - 1 : 0;
  if (vl > 0 && *v == ' ') {
    v++;
    vl--;
  }
  if (fl == 5 && memcmp(p, "event", 5) == 0) {
    if (vl >= sizeof c->evname)
      vl = sizeof c->evname - 1;
    memcpy(c->evname, v, vl);
    c->evname[vl] = 0;
  } else if (fl == 4 && memcmp(p, "data", 4) == 0) {
    if (c->has_data)
      (void)dynbuf_add(&c->data, "\n", 1);
    (void)dynbuf_add(&c->data, v, vl); /* past the cap: the event is cut and fails its checks */
    c->has_data = 1;
  }
}

static int sse_feed(conn_t *c, const char *p, size_t n) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    if (nl == NULL) {
      return dynbuf_add(&c->line, p, n) == 0 ? 0 : -1;
    }
    size_t k = (size_t)(nl - p);
    if (c->line.len) {
      if (dynbuf_add(&c->line, p, k) != 0)
        return -1;
      sse_line(c, c->line.ptr, c->line.len);
      c->line.len = 0;
    } else {
      sse_line(c, p, k);
    }
    p = nl + 1;
    n -= k + 1;
  }
  return 0;
}

/* ---- llhttp callbacks (streams) ---------------------------------------- */

static int on_headers_complete(llhttp_t *p) {
  conn_t *c = p->data;
  int st = llhttp_get_status_code(p);
  if (st != 200) {
    g.bad_status++;
    conn_fail(c, "HTTP status %d", st);
    return HPE_USER;
  }
  c->state = C_BODY;
  conn_not_opening(c);
  open_more();
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  conn_t *c = p->data;
  g.bytes_total += len;
  if (g.measuring)
    g.bytes_window += len;
  if (sse_feed(c, at, len) != 0) {
    conn_fail(c, "SSE line over %d bytes", MAX_EVENT_BYTES);
    return HPE_USER;
  }
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  if (c->state == C_FAILED)
    return HPE_USER;
  if (c->line.len)
    sse_feed(c, "\n", 1);
  if (!c->done) {
    g.incomplete++;
    conn_fail(c, "stream ended without its done event");
    return HPE_USER;
  }
  /* done carries the event count: the tail must not be missing. */
  if (c->done_events >= 0 && c->expect < c->done_events) {
    g.lost += (uint64_t)(c->done_events - c->expect);
    error_note("stream %d: last seq %ld of %ld", c->idx, c->expect - 1, c->done_events);
  }
  if (g.pause_storm && (!c->t_complete || !c->t_next)) {
    conn_fail(c, "ended without auth_complete and a next event");
    return HPE_USER;
  }
  c->state = C_DONE;
  g.ended++;
  conn_close(c);
  if (g.until_done && g.ended >= g.nconns)
    finish();
  return HPE_USER; /* stop parsing: one response per connection */
}

/* ---- I/O (streams) ----------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  (void)sz;
  b->base = readbuf;
  b->len = sizeof readbuf;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn_t *c = s->data;
  if (nread == 0)
    return;
  if (c->state == C_FAILED || c->state == C_DONE || c->state == C_CLOSED_BY_US)
    return;
  if (nread < 0) {
    if (nread == UV_EOF) {
      llhttp_errno_t e = llhttp_finish(&c->parser);
      if (c->state == C_DONE || c->state == C_FAILED)
        return;
      conn_fail(c, "connection closed by peer mid-stream (%s)", llhttp_errno_name(e));
    } else {
      conn_fail(c, "read: %s", uv_strerror((int)nread));
    }
    return;
  }
  llhttp_errno_t e = llhttp_execute(&c->parser, b->base, (size_t)nread);
  if (e != HPE_OK && c->state != C_DONE && c->state != C_FAILED)
    conn_fail(c, "HTTP parse error %s: %s", llhttp_errno_name(e), llhttp_get_error_reason(&c->parser));
}

static void write_cb(uv_write_t *w, int status) {
  conn_t *c = w->data;
  if (status < 0 && c->state != C_FAILED && c->state != C_DONE && c->state != C_CLOSED_BY_US)
    conn_fail(c, "write: %s", uv_strerror(status));
}

static void connect_cb(uv_connect_t *r, int status) {
  conn_t *c = r->data;
  if (c->state != C_CONNECTING)
    return;
  if (status < 0) {
    conn_fail(c, "connect: %s", uv_strerror(status));
    return;
  }
  c->state = C_HEAD;
  uv_buf_t b = uv_buf_init(c->req, (unsigned)c->req_len);
  c->wreq.data = c;
  int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  if (rc < 0)
    conn_fail(c, "write/read start: %s", uv_strerror(rc));
}

static char *build_request(int idx, size_t *len) {
  dynbuf b;
  char line[sizeof g.path + 1024];
  const char *sep = strchr(g.path, '?') ? "&" : "?";
  snprintf(line, sizeof line, "GET %s%sid=%d HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n",
           g.path, sep, idx, g.host, g.port);
  dynbuf_init(&b, sizeof line + MAX_HEADERS * sizeof g.headers[0] + 64);
  (void)dynbuf_put(&b, line, strlen(line));
  for (int i = 0; i < g.nheaders; i++) {
    (void)dynbuf_put(&b, g.headers[i], strlen(g.headers[i]));
    (void)dynbuf_put(&b, "\r\n", 2);
  }
  if (dynbuf_put(&b, "\r\n", 2) != 0) {
    dynbuf_free(&b);
    return NULL;
  }
  *len = b.len;
  return b.ptr; /* the caller frees it */
}

static struct sockaddr_in g_addr;

static void open_one(conn_t *c) {
  c->req = build_request(c->idx, &c->req_len);
  llhttp_init(&c->parser, HTTP_RESPONSE, &g.settings);
  c->parser.data = c;
  c->done_events = -1;
  c->opening = 1;
  g.opening++;
  c->state = C_CONNECTING;
  int rc = uv_tcp_init(g.loop, &c->tcp);
  if (rc < 0) {
    conn_fail(c, "tcp_init: %s", uv_strerror(rc));
    return;
  }
  c->handle_open = 1;
  c->tcp.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  c->creq.data = c;
  rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&g_addr, connect_cb);
  if (rc < 0)
    conn_fail(c, "connect: %s", uv_strerror(rc));
}

static int in_open_more;

static void open_more(void) {
  if (in_open_more || g.finished)
    return;
  in_open_more = 1;
  while (g.started < g.nconns && g.opening < g.batch) {
    conn_t *c = &g.conns[g.started++];
    open_one(c);
  }
  in_open_more = 0;
}

/* ---- pause storm: the one POST ----------------------------------------- */

static void send_post(void) {
  g.posted = 1;
  g.t_post = now_ns();
  phase("post");
  g.post.now = now_ns;
  g.post.note = error_note;
  loadpost_send(&g.post, g.loop, g.link_url, g.api_key);
}

/* ---- phases ------------------------------------------------------------ */

static void maybe_ready(void) {
  if (g.t_ready || g.ready_count + g.failed < g.nconns)
    return;
  g.t_ready = now_ns();
  phase("ready");
  if (g.pause_storm) {
    if (g.link_url[0] == 0) {
      error_note("pause storm: no magic_link_url from stream 0");
      finish();
      return;
    }
    g.measuring = 1; /* events after the resume count, latency of held events is not taken */
    g.t_measure_start = g.t_ready;
    send_post();
  } else if (g.warmup <= 0) {
    g.measuring = 1;
    g.t_measure_start = g.t_ready;
    phase("measure_start");
  }
}

static void on_tick(uv_timer_t *t) {
  (void)t;
  uint64_t now = now_ns();
  double el = (double)(now - g.t0) / 1e9;
  if (el > g.timeout) {
    g.timed_out = 1;
    error_note("timeout after %.1f s (ready %d/%d, ended %d, resumed %d)", g.timeout, g.ready_count,
               g.nconns, g.ended, g.resumed_count);
    finish();
    return;
  }
  if (!g.t_ready) {
    if (el > g.ready_timeout) {
      g.timed_out = 1;
      error_note("not ready after %.1f s: %d of %d streams have their first event, %d failed",
                 g.ready_timeout, g.ready_count, g.nconns, g.failed);
      finish();
    }
    return;
  }
  if (g.pause_storm)
    return;
  double since = (double)(now - g.t_ready) / 1e9;
  if (!g.measuring && !g.measured && since >= g.warmup) {
    g.measuring = 1;
    g.t_measure_start = now;
    phase("measure_start");
  }
  if (!g.until_done && g.measuring && since >= g.warmup + g.duration)
    finish();
}

static void on_sigint(uv_signal_t *s, int sig) {
  (void)s;
  (void)sig;
  error_note("interrupted");
  finish();
}

/* ---- report ------------------------------------------------------------ */

static void finish(void) {
  if (g.finished)
    return;
  g.finished = 1;
  uint64_t now = now_ns();
  if (g.measuring) {
    g.measuring = 0;
    g.measured = 1;
    g.t_measure_end = now;
    if (!g.pause_storm)
      phase("measure_end");
  }
  /* Streams still open: closed by us (timed mode), not an error. In
   * until-done mode they are counted as incomplete. */
  long open_streams = 0;
  for (int i = 0; i < g.started; i++) {
    conn_t *c = &g.conns[i];
    if (c->state == C_DONE || c->state == C_FAILED)
      continue;
    open_streams++;
    c->state = C_CLOSED_BY_US;
  }
  if (getenv("BENCH_LOAD_DEBUG"))
    for (int i = 0; i < g.started; i++)
      fprintf(stderr, "stream %d: state %d events %ld expect %ld\n", i, g.conns[i].state, g.conns[i].events,
              g.conns[i].expect);
  if (g.until_done && open_streams > 0)
    error_note("%ld streams had not ended", open_streams);
  if (g.pause_storm && g.resumed_count < g.nconns)
    error_note("pause storm: %d of %d streams resumed", g.resumed_count, g.nconns);
  double win = g.t_measure_end > g.t_measure_start ? (double)(g.t_measure_end - g.t_measure_start) / 1e9 : 0;
  int ok = g.total_errors == 0 && g.lost == 0 && g.dup == 0 && g.reord == 0 && g.failed == 0 &&
           !g.timed_out && g.started == g.nconns && g.noseq == 0;
  printf("{\"ok\":%s,\"target\":", ok ? "true" : "false");
  char url[5000];
  snprintf(url, sizeof url, "http://%s:%d%s", g.host, g.port, g.path);
  loadjson_print_str(url);
  printf(",\"streams\":%d,\"started\":%d,\"failed\":%d,\"ended\":%d,\"closed_by_client\":%ld,", g.nconns,
         g.started, g.failed, g.ended, g.until_done ? 0 : open_streams);
  printf("\"ready_s\":%.3f,\"window_s\":%.3f,\"events_total\":%" PRIu64 ",\"events_window\":%" PRIu64
         ",\"events_per_s\":%.1f,\"bytes_per_s\":%.1f,",
         g.t_ready ? (double)(g.t_ready - g.t0) / 1e9 : -1.0, win, g.ev_total, g.ev_window,
         win > 0 ? (double)g.ev_window / win : 0.0, win > 0 ? (double)g.bytes_window / win : 0.0);
  printf("\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"no_seq\":%" PRIu64
         ",\"incomplete\":%" PRIu64 ",\"relay_errors\":%" PRIu64 ",\"bad_status\":%" PRIu64 ",",
         g.lost, g.dup, g.reord, g.noseq, g.incomplete, g.relay_errors, g.bad_status);
  hist_print("latency_us", &g.hist, 1);
  if (g.pause_storm) {
    printf(",\"storm\":{\"paused\":%d,\"posted\":%s,\"post_status\":%d,\"post_ms\":%.3f,\"completed\":%d,"
           "\"resumed\":%d,",
           g.ready_count, g.posted ? "true" : "false", g.post.status,
           g.post.complete && g.post.t_done ? (double)(g.post.t_done - g.post.t_sent) / 1e6 : -1.0,
           g.completed_count, g.resumed_count);
    hist_print("auth_complete_us", &g.complete_hist, 0);
    printf(",");
    hist_print("next_event_us", &g.resume_hist, 0);
    printf(",\"all_resumed_ms\":%.3f}", g.resumed_count == g.nconns ? (double)g.resume_hist.max / 1e6 : -1.0);
  }
  printf(",\"timed_out\":%s,\"errors_total\":%ld,\"errors\":[", g.timed_out ? "true" : "false", g.total_errors);
  for (int i = 0; i < g.nerrors; i++) {
    if (i)
      putchar(',');
    loadjson_print_str(g.errors[i]);
  }
  printf("]}\n");
  fflush(stdout);
  exit(ok ? 0 : 1);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-load --url http://HOST:PORT/PATH?QUERY [options]\n"
          "\n"
          "Opens N concurrent SSE streams to the URL (each gets \"&id=<index>\" appended),\n"
          "checks every stream's seq (0,1,2,...), records delivery latency from each event's\n"
          "\"ts\" (CLOCK_MONOTONIC ns) and prints one JSON report on stdout.\n"
          "\n"
          "  --url URL             target (http:// and an IPv4 address only)\n"
          "  --streams N           concurrent streams (default 10)\n"
          "  --batch N             streams opening at once (connected, no response head yet; default 200)\n"
          "  --header 'K: V'       extra request header (repeatable, up to %d)\n"
          "  --warmup S            seconds after every stream has its first event before measuring (0)\n"
          "  --duration S          measuring window in timed mode (default 5)\n"
          "  --until-done          end when every stream has ended with its done event (no --duration)\n"
          "  --pause-storm         expect link_token on every stream, POST the link form once, time\n"
          "                        the resumes (implies --until-done)\n"
          "  --api-key K           the form value of the POST (default sk-bench)\n"
          "  --ready-timeout S     every stream must have its first event by then (default 60)\n"
          "  --timeout S           hard limit of the whole run (default 120)\n"
          "  --help\n"
          "\n"
          "stderr: one JSON line per phase (ready, measure_start, measure_end, post) and nothing else.\n"
          "Exit status: 0 all correct, 1 errors or lost/duplicated/reordered events, 2 bad usage.\n",
          MAX_HEADERS);
}

static double num_arg(const char *opt, const char *v, double lo, double hi) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || *end || !(d >= lo && d <= hi)) {
    fprintf(stderr, "bench-load: bad value for %s: %s\n", opt, v);
    exit(2);
  }
  return d;
}

int main(int argc, char **argv) {
  const char *url = NULL;
  g.nconns = 10;
  g.batch = 200;
  g.duration = 5;
  g.timeout = 120;
  g.ready_timeout = 60;
  snprintf(g.api_key, sizeof g.api_key, "sk-bench");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                                                               \
  do {                                                                                                       \
    if (v == NULL) {                                                                                         \
      fprintf(stderr, "bench-load: %s needs a value\n", a);                                                 \
      return 2;                                                                                              \
    }                                                                                                        \
    i++;                                                                                                     \
  } while (0)
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--url") == 0) {
      NEED();
      url = v;
    } else if (strcmp(a, "--streams") == 0) {
      NEED();
      g.nconns = (int)num_arg(a, v, 1, 1000000);
    } else if (strcmp(a, "--batch") == 0) {
      NEED();
      g.batch = (int)num_arg(a, v, 1, 100000);
    } else if (strcmp(a, "--header") == 0) {
      NEED();
      if (g.nheaders >= MAX_HEADERS || strlen(v) >= sizeof g.headers[0] || !strchr(v, ':')) {
        fprintf(stderr, "bench-load: bad or too many --header\n");
        return 2;
      }
      snprintf(g.headers[g.nheaders++], sizeof g.headers[0], "%s", v);
    } else if (strcmp(a, "--warmup") == 0) {
      NEED();
      g.warmup = num_arg(a, v, 0, 86400);
    } else if (strcmp(a, "--duration") == 0) {
      NEED();
      g.duration = num_arg(a, v, 0.01, 86400);
    } else if (strcmp(a, "--until-done") == 0) {
      g.until_done = 1;
    } else if (strcmp(a, "--pause-storm") == 0) {
      g.pause_storm = 1;
      g.until_done = 1;
    } else if (strcmp(a, "--api-key") == 0) {
      NEED();
      snprintf(g.api_key, sizeof g.api_key, "%s", v);
    } else if (strcmp(a, "--ready-timeout") == 0) {
      NEED();
      g.ready_timeout = num_arg(a, v, 0.1, 86400);
    } else if (strcmp(a, "--timeout") == 0) {
      NEED();
      g.timeout = num_arg(a, v, 0.1, 86400);
    } else {
      fprintf(stderr, "bench-load: unknown option %s (see --help)\n", a);
      return 2;
    }
#undef NEED
  }
  if (url == NULL || loadpost_parse_url(url, g.host, sizeof g.host, &g.port, g.path, sizeof g.path) != 0) {
    fprintf(stderr, "bench-load: --url http://IPV4:PORT/PATH is required\n");
    usage(stderr);
    return 2;
  }
  if (uv_ip4_addr(g.host, g.port, &g_addr) != 0) {
    fprintf(stderr, "bench-load: %s is not an IPv4 address\n", g.host);
    return 2;
  }
  /* Every stream is one fd: raise the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  if ((rlim_t)g.nconns + 32 > rl.rlim_cur) {
    fprintf(stderr, "bench-load: %d streams need more fds than RLIMIT_NOFILE %llu\n", g.nconns,
            (unsigned long long)rl.rlim_cur);
    return 2;
  }
  g.conns = calloc((size_t)g.nconns, sizeof *g.conns);
  if (g.conns == NULL) {
    fprintf(stderr, "bench-load: out of memory\n");
    return 1;
  }
  for (int i = 0; i < g.nconns; i++) {
    g.conns[i].idx = i;
    dynbuf_init(&g.conns[i].line, MAX_EVENT_BYTES);
    dynbuf_init(&g.conns[i].data, MAX_EVENT_BYTES);
  }
  llhttp_settings_init(&g.settings);
  g.settings.on_headers_complete = on_headers_complete;
  g.settings.on_body = on_body;
  g.settings.on_message_complete = on_message_complete;

  g.loop = uv_default_loop();
  g.t0 = now_ns();
  uv_timer_init(g.loop, &g.tick);
  uv_timer_start(&g.tick, on_tick, 20, 20);
  uv_signal_init(g.loop, &g.sigint);
  uv_signal_start(&g.sigint, on_sigint, SIGINT);
  open_more();
  uv_run(g.loop, UV_RUN_DEFAULT);
  finish(); /* not reached: finish() exits */
  return 1;
}
