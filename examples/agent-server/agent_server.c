/* agent-server: the example agent server authrelay is tested and demonstrated
 * against. One libuv loop, llhttp (strict) for requests, keep-alive and
 * pipelining (responses in request order), every write under back-pressure:
 * a response never has more than about 64 KiB queued in libuv; above that it
 * stops producing (or, for /echo, stops reading) until the queue drains, and
 * the time spent so is counted in /stats as blocked_ms.
 *
 *   agent-server --listen HOST:PORT      (port 0 = ephemeral)
 * prints {"listening":"HOST:PORT"} on stdout once listening; SIGTERM/SIGINT
 * close everything and exit 0.
 *
 * Endpoints (HEAD is accepted wherever GET is, and never gets a body):
 *   GET  /stream     format=sse|ndjson|json (sse) count=N (10) rate=EV/S (0 = as
 *                    fast as possible) size=BYTES (pad each event's JSON) id=N
 *                    ("stream":N in every event) auth_at=K (-1) shape=
 *                    authenticate_meta|magic_link|mcp|openai|vercel connector=slack
 *                    link_token=ltk_upstream expires_at=2099-01-01T00:00:00Z
 *                    auth_unless_retry=1 framing=chunked|length|close ts=1 sse_ids=1
 *                    encoding=TOKEN (sends Content-Encoding: TOKEN over the
 *                    uncompressed body: a label for testing relays)
 *   GET  /big        bytes=N framing=length|chunked|close: N bytes of the pattern
 *                    below, application/octet-stream
 *   POST|PUT /echo   the request body back, same Content-Type; chunked if the
 *                    request was, else Content-Length
 *   ANY  /headers    the request headers as a JSON object (lowercased names,
 *                    repeats joined by ", "); full=1: {"method","url","path","headers"}
 *   GET  /status     code=N (200..599): empty response with that status
 *   GET  /slow-head  ms=N: the response head only after N ms
 *   GET  /hang       never answers
 *   GET  /malformed  kind=badstatus|badheader|badchunk|truncated (ms=50: delay
 *                    before the truncated tail)
 *   GET  /stats      counters (see stats_json); /stats/reset (GET or POST) zeroes them
 *   anything else 404; malformed requests 400 (431/414 for oversize heads) and close.
 *
 * /big pattern: the body is the byte-for-byte prefix of an endless sequence of
 * 16-byte records; record r is the byte offset 16*r as 15 lowercase hex digits,
 * zero-padded, followed by '\n' ("000000000000000\n000000000000010\n...").
 *
 * /stats fields: connections_accepted, connections_open, requests, bad_requests,
 * retry_requests (carried X-Authrelay-Retry), streams_started, streams_completed,
 * streams_aborted (peer gone mid-stream), streams_active, events_sent (/stream
 * events, trailer excluded), auth_events_sent, bytes_sent (all response bytes),
 * blocked_ms (total time responses could not write because the peer was not
 * reading, including streams blocked right now), blocked_now, write_queue_max
 * (largest libuv write queue seen, bytes), last_request_headers (object).
 *
 * Expect: 100-continue gets "100 Continue" before the final response; any other
 * Expect gets 417. EOF from the peer closes the connection at once (a
 * half-close counts as gone), which is how an abandoned stream stops.
 *
 * Accounting: requests to /stats and /stats/reset are not counted anywhere, and
 * a connection counts in connections_accepted only once it carries a request
 * (or malformed input) other than those, so polling /stats never disturbs what
 * a test measures.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>
#include <uv.h>

#include "buf.h"
#include "events.h"

#define WQ_HIGH (64 * 1024)     /* queued bytes a response may reach, at most */
#define WQ_LOW (32 * 1024)      /* resume at or below this */
#define BATCH (16 * 1024)       /* bytes per uv_write */
#define TURN_MAX (256 * 1024)   /* bytes produced per callback before yielding */
#define INBUF_MAX (64 * 1024)   /* unparsed input held while a response runs */
#define MAX_HEADERS 100
#define MAX_HEAD_BYTES (64 * 1024)
#define MAX_URL 16384
#define DRAIN_MS 2000 /* after our FIN, wait this long for the peer's */

enum resp_kind { R_NONE, R_SIMPLE, R_STREAM, R_BIG, R_ECHO, R_SLOWHEAD, R_HANG, R_TRUNCATED };
enum framing { FR_LENGTH, FR_CHUNKED, FR_CLOSE };

typedef struct {
  size_t name_off, name_len, val_off, val_len;
} hdr_t;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shut;
  struct conn *prev, *next;
  int closes_pending;
  int closing;   /* uv_close issued */
  int shutting;  /* uv_shutdown issued: discarding input until EOF */
  int counted;   /* counted in connections_accepted */
  int reading;
  int in_execute;
  int parser_paused;
  int pending_writes;
  llhttp_t parser;
  buf_t inbuf;

  /* request being parsed */
  buf_t url;
  buf_t hbuf;
  hdr_t hdrs[MAX_HEADERS];
  int nhdrs;
  int in_field;
  int err_status; /* status for the error response when a callback fails */
  int stats_req;  /* /stats or /stats/reset: not counted */
  int req_counted; /* counted in requests */
  int is_head;
  int keep_alive;

  /* response */
  int resp_active; /* not yet fully queued */
  enum resp_kind kind;
  int close_after; /* close once this response is flushed */
  enum framing framing;
  int echo_chunked;
  int blocked;
  uint64_t blocked_since;
  /* R_STREAM */
  ev_spec spec;
  long next_piece;
  double rate;
  uint64_t anchor_t;
  long anchor_piece;
  /* R_BIG */
  uint64_t big_total, big_off;
  /* R_TRUNCATED, R_SLOWHEAD */
  long delay_ms;
  buf_t scratch;
} conn;

typedef struct {
  uv_write_t req;
  conn *c;
  size_t len;
  char data[];
} wreq;

static struct {
  uint64_t connections_accepted, requests, bad_requests, retry_requests;
  uint64_t streams_started, streams_completed, streams_aborted;
  uint64_t events_sent, auth_events_sent, bytes_sent;
  uint64_t blocked_ns, write_queue_max;
  buf_t last_headers; /* JSON object */
} st;

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static conn *conns;
static llhttp_settings_t settings;
static int stopping;

static void conn_close(conn *c);
static void conn_on_drain(conn *c);
static void pump_input(conn *c);
static void update_reading(conn *c);
static void stream_produce(conn *c);
static void big_produce(conn *c);

/* ---- small helpers ----------------------------------------------------- */

static size_t wq(conn *c) { return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp); }

static const char *reason_phrase(int code) {
  switch (code) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

static const char *header_get(conn *c, const char *name, size_t *len) {
  size_t n = strlen(name);
  for (int i = 0; i < c->nhdrs; i++) {
    hdr_t *h = &c->hdrs[i];
    if (h->name_len == n && strncasecmp(c->hbuf.p + h->name_off, name, n) == 0) {
      *len = h->val_len;
      return c->hbuf.p + h->val_off;
    }
  }
  return NULL;
}

/* Headers as a JSON object: lowercased names, repeated names joined by ", ". */
static void headers_json(conn *c, buf_t *out) {
  buf_puts(out, "{");
  int first = 1;
  for (int i = 0; i < c->nhdrs; i++) {
    hdr_t *h = &c->hdrs[i];
    const char *name = c->hbuf.p + h->name_off;
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = c->hdrs[j].name_len == h->name_len &&
             memcmp(c->hbuf.p + c->hdrs[j].name_off, name, h->name_len) == 0;
    if (seen)
      continue;
    buf_t v = {0};
    for (int j = i; j < c->nhdrs; j++) {
      hdr_t *k = &c->hdrs[j];
      if (k->name_len != h->name_len || memcmp(c->hbuf.p + k->name_off, name, h->name_len) != 0)
        continue;
      if (v.len)
        buf_append(&v, ", ", 2);
      buf_append(&v, c->hbuf.p + k->val_off, k->val_len);
    }
    if (!first)
      buf_puts(out, ",");
    first = 0;
    buf_json_str(out, name, h->name_len);
    buf_puts(out, ":");
    buf_json_str(out, v.p ? v.p : "", v.len);
    buf_free(&v);
  }
  buf_puts(out, "}");
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Finds name in the query string q (no leading '?') and percent-decodes its
 * value into out. Returns 1 when found (and it fit), 0 when absent, -1 when
 * the value is too long. */
static int query_get(const char *q, const char *name, char *out, size_t outsz) {
  size_t nlen = strlen(name);
  const char *p = q;
  while (p && *p) {
    const char *end = strchr(p, '&');
    size_t seg = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', seg);
    size_t klen = eq ? (size_t)(eq - p) : seg;
    if (klen == nlen && memcmp(p, name, nlen) == 0) {
      const char *v = eq ? eq + 1 : p + seg;
      const char *vend = p + seg;
      size_t o = 0;
      while (v < vend) {
        int ch = (unsigned char)*v;
        if (ch == '%' && vend - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
          ch = hexval(v[1]) * 16 + hexval(v[2]);
          v += 3;
        } else {
          if (ch == '+')
            ch = ' ';
          v++;
        }
        if (o + 1 >= outsz)
          return -1;
        out[o++] = (char)ch;
      }
      out[o] = '\0';
      return 1;
    }
    p = end ? end + 1 : NULL;
  }
  return 0;
}

/* Integer parameter: *ok cleared when present but not an integer in [lo, hi]. */
static long long query_ll(const char *q, const char *name, long long def, long long lo, long long hi, int *ok) {
  char v[64];
  int r = query_get(q, name, v, sizeof v);
  if (r == 0 || v[0] == '\0')
    return def;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (r < 0 || errno || *end || x < lo || x > hi) {
    *ok = 0;
    return def;
  }
  return x;
}

static int query_flag(const char *q, const char *name) {
  char v[16];
  if (query_get(q, name, v, sizeof v) != 1)
    return 0;
  return !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
}

/* String parameter restricted to [A-Za-z0-9] plus extra; def when absent. */
static int query_token(const char *q, const char *name, const char *def, const char *extra, char *out,
                       size_t outsz) {
  int r = query_get(q, name, out, outsz);
  if (r < 0)
    return -1;
  if (r == 0 || out[0] == '\0') {
    snprintf(out, outsz, "%s", def);
    return 0;
  }
  for (const char *p = out; *p; p++) {
    int ch = (unsigned char)*p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr(extra, ch)))
      return -1;
  }
  return 0;
}

/* ---- accounting -------------------------------------------------------- */

static void count_connection(conn *c) {
  if (!c->counted) {
    c->counted = 1;
    st.connections_accepted++;
  }
}

static void block(conn *c) {
  if (!c->blocked) {
    c->blocked = 1;
    c->blocked_since = uv_hrtime();
  }
}

static void unblock(conn *c) {
  if (c->blocked) {
    c->blocked = 0;
    st.blocked_ns += uv_hrtime() - c->blocked_since;
  }
}

/* ---- writing ----------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  c->pending_writes--;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  conn_on_drain(c);
}

static wreq *wreq_new(conn *c, size_t cap) {
  wreq *w = malloc(sizeof *w + cap);
  if (w == NULL) {
    fputs("agent-server: out of memory\n", stderr);
    abort();
  }
  w->c = c;
  w->len = 0;
  return w;
}

static void wreq_send(conn *c, wreq *w) {
  if (c->closing || c->shutting) {
    free(w);
    return;
  }
  uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(w);
    conn_close(c);
    return;
  }
  c->pending_writes++;
  if (!c->stats_req) {
    st.bytes_sent += w->len;
    size_t q = wq(c);
    if (q > st.write_queue_max)
      st.write_queue_max = q;
  }
}

static void conn_write(conn *c, const void *data, size_t len) {
  if (len == 0)
    return;
  wreq *w = wreq_new(c, len);
  memcpy(w->data, data, len);
  w->len = len;
  wreq_send(c, w);
}

/* Writes body bytes in the response's framing; last adds the chunked terminator. */
static void body_write(conn *c, const char *data, size_t len, int last) {
  if (c->framing != FR_CHUNKED) {
    conn_write(c, data, len);
    return;
  }
  wreq *w = wreq_new(c, len + 32);
  if (len)
    w->len = (size_t)sprintf(w->data, "%zx\r\n", len);
  if (len) {
    memcpy(w->data + w->len, data, len);
    w->len += len;
    memcpy(w->data + w->len, "\r\n", 2);
    w->len += 2;
  }
  if (last) {
    memcpy(w->data + w->len, "0\r\n\r\n", 5);
    w->len += 5;
  }
  if (w->len == 0) {
    free(w);
    return;
  }
  wreq_send(c, w);
}

/* ---- connection lifecycle ---------------------------------------------- */

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->closes_pending > 0)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  buf_free(&c->inbuf);
  buf_free(&c->url);
  buf_free(&c->hbuf);
  buf_free(&c->scratch);
  free(c);
}

static void conn_close(conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->resp_active && c->kind == R_STREAM)
    st.streams_aborted++;
  c->resp_active = 0;
  unblock(c);
  c->closes_pending = 2;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_drain_timeout(uv_timer_t *t) { conn_close(t->data); }

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* Our FIN is out; read (and discard) until the peer's, so that closing never
   * resets a connection whose peer is still reading our last bytes. */
  uv_timer_start(&c->timer, on_drain_timeout, DRAIN_MS, 0);
  update_reading(c);
}

static void conn_shutdown(conn *c) {
  if (c->closing || c->shutting)
    return;
  c->shutting = 1;
  c->shut.data = c;
  if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
    conn_close(c);
}

/* The current response is fully queued: close, or go on with the next request. */
static void resp_done(conn *c) {
  c->resp_active = 0;
  c->kind = R_NONE;
  c->stats_req = 0; /* its bytes are all queued */
  unblock(c);
  uv_timer_stop(&c->timer);
  if (c->close_after) {
    conn_shutdown(c); /* uv_shutdown waits for the queued writes */
    return;
  }
  if (c->parser_paused && !c->in_execute) {
    c->parser_paused = 0;
    llhttp_resume(&c->parser);
    pump_input(c);
  }
}

static void conn_on_drain(conn *c) {
  if (c->blocked && wq(c) <= WQ_LOW) {
    unblock(c);
    if (c->kind == R_STREAM && c->rate > 0) { /* no catch-up burst after a stall */
      c->anchor_t = uv_hrtime();
      c->anchor_piece = c->next_piece;
    }
  }
  if (c->resp_active && !c->blocked) {
    if (c->kind == R_STREAM)
      stream_produce(c);
    else if (c->kind == R_BIG)
      big_produce(c);
  }
  if (!c->closing)
    update_reading(c);
}

/* ---- response heads ---------------------------------------------------- */

static void head_begin(buf_t *h, int code) {
  buf_printf(h, "HTTP/1.1 %d %s\r\n", code, reason_phrase(code));
}

static void head_end(conn *c, buf_t *h) {
  if (c->close_after)
    buf_puts(h, "Connection: close\r\n");
  else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
    buf_puts(h, "Connection: keep-alive\r\n");
  buf_puts(h, "\r\n");
}

/* Complete response with a body held in memory. */
static void send_simple(conn *c, int code, const char *ctype, const char *body, size_t len) {
  buf_t h = {0};
  head_begin(&h, code);
  int bodyless = code == 204 || code == 304 || (code >= 100 && code < 200);
  if (!bodyless) {
    if (ctype)
      buf_printf(&h, "Content-Type: %s\r\n", ctype);
    buf_printf(&h, "Content-Length: %zu\r\n", len);
  }
  head_end(c, &h);
  if (!bodyless && !c->is_head)
    buf_append(&h, body, len);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  resp_done(c);
}

static void send_text(conn *c, int code, const char *text) {
  send_simple(c, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* Error for a request that could not be parsed: always closes. */
static void send_error_close(conn *c, int code) {
  char body[128];
  snprintf(body, sizeof body, "%d %s\n", code, reason_phrase(code));
  c->close_after = 1;
  c->is_head = 0;
  send_text(c, code, body);
}

/* ---- /stats ------------------------------------------------------------ */

static void stats_json(buf_t *out) {
  uint64_t now = uv_hrtime();
  uint64_t blocked = st.blocked_ns;
  uint64_t open = 0, active = 0, blocked_now = 0;
  for (conn *c = conns; c; c = c->next) {
    if (c->blocked && !c->closing) {
      blocked += now - c->blocked_since;
      blocked_now++;
    }
    if (c->counted && !c->closing)
      open++;
    if (c->resp_active && c->kind == R_STREAM)
      active++;
  }
  buf_printf(out,
             "{\"connections_accepted\":%" PRIu64 ",\"connections_open\":%" PRIu64 ",\"requests\":%" PRIu64
             ",\"bad_requests\":%" PRIu64 ",\"retry_requests\":%" PRIu64 ",\"streams_started\":%" PRIu64
             ",\"streams_completed\":%" PRIu64 ",\"streams_aborted\":%" PRIu64 ",\"streams_active\":%" PRIu64
             ",\"events_sent\":%" PRIu64 ",\"auth_events_sent\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
             ",\"blocked_ms\":%" PRIu64 ",\"blocked_now\":%" PRIu64 ",\"write_queue_max\":%" PRIu64
             ",\"last_request_headers\":",
             st.connections_accepted, open, st.requests, st.bad_requests, st.retry_requests, st.streams_started,
             st.streams_completed, st.streams_aborted, active, st.events_sent, st.auth_events_sent, st.bytes_sent,
             blocked / 1000000, blocked_now, st.write_queue_max);
  if (st.last_headers.len)
    buf_append(out, st.last_headers.p, st.last_headers.len);
  else
    buf_puts(out, "{}");
  buf_puts(out, "}\n");
}

static void stats_reset(void) {
  buf_t keep = st.last_headers;
  memset(&st, 0, sizeof st);
  st.last_headers = keep;
  st.last_headers.len = 0;
  uint64_t now = uv_hrtime();
  for (conn *c = conns; c; c = c->next) {
    if (c->blocked)
      c->blocked_since = now;
  }
}

/* ---- /stream ----------------------------------------------------------- */

static void on_stream_timer(uv_timer_t *t) { stream_produce(t->data); }

/* Number of pieces (events + trailer) that may have been sent by now. */
static long stream_due(conn *c, uint64_t now) {
  long total = c->spec.count + 1;
  if (c->rate <= 0)
    return total;
  double el = (double)(now - c->anchor_t) / 1e9;
  long due = c->anchor_piece + 1 + (long)(el * c->rate);
  if (due >= c->spec.count) /* the trailer goes right after the last event */
    due = total;
  return due < total ? due : total;
}

static void stream_schedule(conn *c, uint64_t now) {
  double at = (double)c->anchor_t + (double)(c->next_piece - c->anchor_piece) * 1e9 / c->rate;
  double ms = (at - (double)now) / 1e6;
  uint64_t wait = ms < 1 ? 1 : (uint64_t)(ms + 0.999);
  uv_timer_start(&c->timer, on_stream_timer, wait, 0);
}

static void stream_produce(conn *c) {
  size_t turn = 0;
  long total = c->spec.count + 1;
  while (c->resp_active && !c->closing && c->next_piece < total) {
    uint64_t now = uv_hrtime();
    long due = stream_due(c, now);
    if (c->next_piece >= due) {
      stream_schedule(c, now);
      return;
    }
    if (wq(c) > WQ_HIGH - BATCH) { /* the next write could pass WQ_HIGH */
      block(c);
      return;
    }
    if (turn >= TURN_MAX)
      return; /* the write callbacks continue */
    c->scratch.len = 0;
    while (c->next_piece < due && c->scratch.len < BATCH) {
      int auth = ev_render_piece(&c->spec, c->next_piece, &c->scratch);
      if (c->next_piece < c->spec.count) {
        st.events_sent++;
        st.auth_events_sent += (uint64_t)auth;
      }
      c->next_piece++;
    }
    int last = c->next_piece >= total;
    body_write(c, c->scratch.p, c->scratch.len, last);
    turn += c->scratch.len;
  }
  if (c->resp_active && !c->closing && c->next_piece >= total) {
    st.streams_completed++;
    resp_done(c);
  }
}

static void route_stream(conn *c, const char *q) {
  ev_spec *s = &c->spec;
  memset(s, 0, sizeof *s);
  int ok = 1;
  char v[64];
  s->format = EV_SSE;
  s->shape = EV_AUTHENTICATE_META;
  if (query_get(q, "format", v, sizeof v) == 1 && ev_parse_format(v, &s->format) != 0)
    ok = 0;
  if (query_get(q, "shape", v, sizeof v) == 1 && ev_parse_shape(v, &s->shape) != 0)
    ok = 0;
  s->count = (long)query_ll(q, "count", 10, 0, 1000000000, &ok);
  s->size = (long)query_ll(q, "size", 0, 0, 64 * 1024 * 1024, &ok);
  s->auth_at = (long)query_ll(q, "auth_at", -1, -1, 1000000000, &ok);
  char idv[32];
  if (query_get(q, "id", idv, sizeof idv) == 1) {
    s->has_stream_id = 1;
    s->stream_id = query_ll(q, "id", 0, -999999999999LL, 999999999999LL, &ok);
  }
  s->ts = query_flag(q, "ts");
  s->sse_ids = query_flag(q, "sse_ids");
  if (query_token(q, "connector", "slack", "_-", s->connector, sizeof s->connector) < 0 ||
      query_token(q, "link_token", "ltk_upstream", "_-.", s->link_token, sizeof s->link_token) < 0 ||
      query_token(q, "expires_at", "2099-01-01T00:00:00Z", "-:.+", s->expires_at, sizeof s->expires_at) < 0)
    ok = 0;
  c->rate = 0;
  if (query_get(q, "rate", v, sizeof v) == 1 && v[0]) {
    char *end;
    c->rate = strtod(v, &end);
    if (*end || !(c->rate >= 0 && c->rate <= 1e9))
      ok = 0;
  }
  c->framing = FR_CHUNKED;
  if (query_get(q, "framing", v, sizeof v) == 1) {
    if (strcmp(v, "chunked") == 0)
      c->framing = FR_CHUNKED;
    else if (strcmp(v, "length") == 0)
      c->framing = FR_LENGTH;
    else if (strcmp(v, "close") == 0)
      c->framing = FR_CLOSE;
    else
      ok = 0;
  }
  if (!ok) {
    send_text(c, 400, "bad /stream parameters\n");
    return;
  }
  size_t rl;
  if (query_flag(q, "auth_unless_retry") && header_get(c, "x-authrelay-retry", &rl))
    s->auth_at = -1;
  if (c->framing == FR_CHUNKED && c->parser.http_minor == 0)
    c->framing = FR_CLOSE; /* no chunked encoding for HTTP/1.0 */
  if (c->framing == FR_CLOSE)
    c->close_after = 1;

  buf_t h = {0};
  head_begin(&h, 200);
  buf_printf(&h, "Content-Type: %s\r\nCache-Control: no-cache\r\n", ev_content_type(s->format));
  char encoding[32];
  if (query_token(q, "encoding", "", "-", encoding, sizeof encoding) == 0 && encoding[0] != '\0')
    buf_printf(&h, "Content-Encoding: %s\r\n", encoding); /* a label only: the body is not compressed */
  if (c->framing == FR_CHUNKED) {
    buf_puts(&h, "Transfer-Encoding: chunked\r\n");
  } else if (c->framing == FR_LENGTH) {
    /* Dry run to learn the length; ts is rendered at a fixed width. */
    s->ts_fixed = 1;
    uint64_t total = 0;
    for (long i = 0; i <= s->count; i++) {
      c->scratch.len = 0;
      ev_render_piece(s, i, &c->scratch);
      total += c->scratch.len;
    }
    buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", total);
  }
  head_end(c, &h);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  if (c->is_head) {
    resp_done(c);
    return;
  }
  st.streams_started++;
  c->kind = R_STREAM;
  c->resp_active = 1;
  c->next_piece = 0;
  c->anchor_t = uv_hrtime();
  c->anchor_piece = 0;
  stream_produce(c);
}

/* ---- /big -------------------------------------------------------------- */

/* Fills dst with n bytes of the /big pattern starting at byte offset off. */
static void big_fill(uint64_t off, char *dst, size_t n) {
  static const char hex[] = "0123456789abcdef";
  char rec[16];
  uint64_t r = off / 16;
  size_t pos = (size_t)(off % 16), o = 0;
  while (o < n) {
    uint64_t v = r * 16;
    for (int i = 14; i >= 0; i--) {
      rec[i] = hex[v & 15];
      v >>= 4;
    }
    rec[15] = '\n';
    size_t take = 16 - pos;
    if (take > n - o)
      take = n - o;
    memcpy(dst + o, rec + pos, take);
    o += take;
    pos = 0;
    r++;
  }
}

static void big_produce(conn *c) {
  size_t turn = 0;
  while (c->resp_active && !c->closing && c->big_off < c->big_total) {
    if (wq(c) > WQ_HIGH - BATCH) {
      block(c);
      return;
    }
    if (turn >= TURN_MAX)
      return;
    uint64_t left = c->big_total - c->big_off;
    size_t n = left < BATCH ? (size_t)left : BATCH;
    int last = c->big_off + n >= c->big_total;
    wreq *w = wreq_new(c, n + 32);
    w->len = 0;
    if (c->framing == FR_CHUNKED)
      w->len = (size_t)sprintf(w->data, "%zx\r\n", n);
    big_fill(c->big_off, w->data + w->len, n);
    w->len += n;
    if (c->framing == FR_CHUNKED) {
      memcpy(w->data + w->len, last ? "\r\n0\r\n\r\n" : "\r\n", last ? 7 : 2);
      w->len += last ? 7 : 2;
    }
    c->big_off += n;
    turn += n;
    wreq_send(c, w);
  }
  if (c->resp_active && !c->closing && c->big_off >= c->big_total) {
    if (c->framing == FR_CHUNKED && c->big_total == 0)
      conn_write(c, "0\r\n\r\n", 5);
    resp_done(c);
  }
}

static void route_big(conn *c, const char *q) {
  int ok = 1;
  char v[16];
  uint64_t n = (uint64_t)query_ll(q, "bytes", 1024, 0, (long long)1 << 50, &ok);
  c->framing = FR_LENGTH;
  if (query_get(q, "framing", v, sizeof v) == 1) {
    if (strcmp(v, "chunked") == 0)
      c->framing = FR_CHUNKED;
    else if (strcmp(v, "length") == 0)
      c->framing = FR_LENGTH;
    else if (strcmp(v, "close") == 0)
      c->framing = FR_CLOSE;
    else
      ok = 0;
  }
  if (!ok) {
    send_text(c, 400, "bad /big parameters\n");
    return;
  }
  if (c->framing == FR_CHUNKED && c->parser.http_minor == 0)
    c->framing = FR_CLOSE;
  if (c->framing == FR_CLOSE)
    c->close_after = 1;
  buf_t h = {0};
  head_begin(&h, 200);
  buf_puts(&h, "Content-Type: application/octet-stream\r\n");
  if (c->framing == FR_CHUNKED)
    buf_puts(&h, "Transfer-Encoding: chunked\r\n");
  else if (c->framing == FR_LENGTH)
    buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", n);
  head_end(c, &h);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  if (c->is_head) {
    resp_done(c);
    return;
  }
  c->kind = R_BIG;
  c->resp_active = 1;
  c->big_total = n;
  c->big_off = 0;
  big_produce(c);
}

/* ---- /slow-head, /hang, /malformed -------------------------------------- */

static void on_slow_head(uv_timer_t *t) {
  conn *c = t->data;
  char body[64];
  int n = snprintf(body, sizeof body, "{\"slept_ms\":%ld}\n", c->delay_ms);
  send_simple(c, 200, "application/json", body, (size_t)n);
}

static void route_slow_head(conn *c, const char *q) {
  int ok = 1;
  c->delay_ms = (long)query_ll(q, "ms", 1000, 0, 86400000, &ok);
  if (!ok) {
    send_text(c, 400, "bad ms\n");
    return;
  }
  c->kind = R_SLOWHEAD;
  c->resp_active = 1;
  uv_timer_start(&c->timer, on_slow_head, (uint64_t)c->delay_ms, 0);
}

static const char TRUNC_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
static const char TRUNC_EVENT[] = "event: delta\ndata: {\"type\":\"delta\",\"seq\":0,\"text\":\"complete\"}\n\n";
static const char TRUNC_TAIL[] = "event: delta\ndata: {\"type\":\"delta\",\"seq\":1,\"te";

static void on_truncated_tail(uv_timer_t *t) {
  conn *c = t->data;
  char w[128];
  int n = snprintf(w, sizeof w, "%zx\r\n%s\r\n", sizeof TRUNC_TAIL - 1, TRUNC_TAIL);
  conn_write(c, w, (size_t)n);
  resp_done(c); /* close_after: FIN without the last chunk */
}

static void route_malformed(conn *c, const char *q) {
  char kind[32];
  int ok = 1;
  long ms = (long)query_ll(q, "ms", 50, 0, 60000, &ok);
  if (query_get(q, "kind", kind, sizeof kind) != 1)
    kind[0] = '\0';
  const char *raw = NULL;
  if (strcmp(kind, "badstatus") == 0)
    raw = "HTTP/1.1 2x0 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n";
  else if (strcmp(kind, "badheader") == 0)
    raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nThis header line has no colon\r\n"
          "Content-Length: 0\r\n\r\n";
  else if (strcmp(kind, "badchunk") == 0)
    raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
          "zz\r\nevent: delta\r\n0\r\n\r\n";
  if (raw) {
    c->close_after = 1;
    conn_write(c, raw, strlen(raw)); /* one write: head and error arrive together */
    resp_done(c);
    return;
  }
  if (strcmp(kind, "truncated") != 0 || !ok) {
    send_text(c, 400, "kind must be badstatus, badheader, badchunk or truncated\n");
    return;
  }
  c->close_after = 1;
  buf_t b = {0};
  buf_append(&b, TRUNC_HEAD, sizeof TRUNC_HEAD - 1);
  buf_printf(&b, "%zx\r\n%s\r\n", sizeof TRUNC_EVENT - 1, TRUNC_EVENT);
  conn_write(c, b.p, b.len);
  buf_free(&b);
  c->kind = R_TRUNCATED;
  c->resp_active = 1;
  c->delay_ms = ms;
  uv_timer_start(&c->timer, on_truncated_tail, (uint64_t)ms, 0);
}

/* ---- routing ------------------------------------------------------------ */

static int path_is(const char *path, size_t plen, const char *want) {
  return plen == strlen(want) && memcmp(path, want, plen) == 0;
}

static void split_url(conn *c, size_t *plen, const char **query) {
  const char *u = c->url.p ? c->url.p : "";
  const char *qm = strchr(u, '?');
  *plen = qm ? (size_t)(qm - u) : strlen(u);
  *query = qm ? qm + 1 : "";
}

static void dispatch(conn *c) {
  const char *path = c->url.p ? c->url.p : "";
  const char *q;
  size_t plen;
  split_url(c, &plen, &q);
  int m = llhttp_get_method(&c->parser);
  int get = m == HTTP_GET || m == HTTP_HEAD;

  if (path_is(path, plen, "/stats")) {
    if (!get) {
      send_text(c, 405, "use GET\n");
      return;
    }
    buf_t b = {0};
    stats_json(&b);
    send_simple(c, 200, "application/json", b.p, b.len);
    buf_free(&b);
  } else if (path_is(path, plen, "/stats/reset")) {
    if (!(get || m == HTTP_POST)) {
      send_text(c, 405, "use POST or GET\n");
      return;
    }
    stats_reset();
    send_simple(c, 200, "application/json", "{\"reset\":true}\n", 15);
  } else if (path_is(path, plen, "/headers")) {
    buf_t b = {0};
    if (query_flag(q, "full")) {
      const char *mn = llhttp_method_name((llhttp_method_t)m);
      buf_puts(&b, "{\"method\":");
      buf_json_str(&b, mn, strlen(mn));
      buf_puts(&b, ",\"url\":");
      buf_json_str(&b, path, c->url.len);
      buf_puts(&b, ",\"path\":");
      buf_json_str(&b, path, plen);
      buf_puts(&b, ",\"headers\":");
      headers_json(c, &b);
      buf_puts(&b, "}\n");
    } else {
      headers_json(c, &b);
      buf_puts(&b, "\n");
    }
    send_simple(c, 200, "application/json", b.p, b.len);
    buf_free(&b);
  } else if (path_is(path, plen, "/echo")) {
    send_text(c, 405, "use POST or PUT\n"); /* POST/PUT were started at headers_complete */
  } else if (!get && (path_is(path, plen, "/stream") || path_is(path, plen, "/big") ||
                      path_is(path, plen, "/status") || path_is(path, plen, "/slow-head") ||
                      path_is(path, plen, "/hang") || path_is(path, plen, "/malformed"))) {
    send_text(c, 405, "use GET\n");
  } else if (path_is(path, plen, "/stream")) {
    route_stream(c, q);
  } else if (path_is(path, plen, "/big")) {
    route_big(c, q);
  } else if (path_is(path, plen, "/status")) {
    int ok = 1;
    int code = (int)query_ll(q, "code", 200, 200, 599, &ok);
    if (!ok)
      send_text(c, 400, "code must be 200..599\n");
    else
      send_simple(c, code, NULL, "", 0);
  } else if (path_is(path, plen, "/slow-head")) {
    route_slow_head(c, q);
  } else if (path_is(path, plen, "/hang")) {
    c->kind = R_HANG;
    c->resp_active = 1;
  } else if (path_is(path, plen, "/malformed")) {
    route_malformed(c, q);
  } else {
    send_text(c, 404,
              "not found; endpoints: /stream /big /echo /headers /status /slow-head /hang /malformed "
              "/stats /stats/reset\n");
  }
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int cb_message_begin(llhttp_t *p) {
  conn *c = p->data;
  c->url.len = 0;
  c->hbuf.len = 0;
  c->nhdrs = 0;
  c->in_field = 0;
  c->err_status = 0;
  c->stats_req = 0;
  c->req_counted = 0;
  c->is_head = 0;
  c->echo_chunked = 0;
  return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->url.len + len > MAX_URL) {
    c->err_status = 414;
    return -1;
  }
  buf_append(&c->url, at, len);
  return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->hbuf.len + len > MAX_HEAD_BYTES) {
    c->err_status = 431;
    return -1;
  }
  if (!c->in_field) {
    if (c->nhdrs >= MAX_HEADERS) {
      c->err_status = 431;
      return -1;
    }
    c->in_field = 1;
    c->hdrs[c->nhdrs].name_off = c->hbuf.len;
  }
  buf_append(&c->hbuf, at, len);
  return 0;
}

static int cb_header_field_complete(llhttp_t *p) {
  conn *c = p->data;
  if (!c->in_field) { /* empty name: llhttp rejects it, but stay safe */
    if (c->nhdrs >= MAX_HEADERS) {
      c->err_status = 431;
      return -1;
    }
    c->hdrs[c->nhdrs].name_off = c->hbuf.len;
  }
  hdr_t *h = &c->hdrs[c->nhdrs];
  h->name_len = c->hbuf.len - h->name_off;
  for (size_t i = 0; i < h->name_len; i++) {
    char *ch = &c->hbuf.p[h->name_off + i];
    if (*ch >= 'A' && *ch <= 'Z')
      *ch = (char)(*ch - 'A' + 'a');
  }
  h->val_off = c->hbuf.len;
  c->in_field = 0;
  return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->hbuf.len + len > MAX_HEAD_BYTES) {
    c->err_status = 431;
    return -1;
  }
  buf_append(&c->hbuf, at, len);
  return 0;
}

static int cb_header_value_complete(llhttp_t *p) {
  conn *c = p->data;
  hdr_t *h = &c->hdrs[c->nhdrs];
  h->val_len = c->hbuf.len - h->val_off;
  c->nhdrs++;
  return 0;
}

static int cb_headers_complete(llhttp_t *p) {
  conn *c = p->data;
  const char *q;
  size_t plen;
  split_url(c, &plen, &q);
  const char *path = c->url.p ? c->url.p : "";
  int m = llhttp_get_method(p);
  c->stats_req = path_is(path, plen, "/stats") || path_is(path, plen, "/stats/reset");
  c->is_head = m == HTTP_HEAD;
  c->keep_alive = llhttp_should_keep_alive(p);
  c->close_after = !c->keep_alive;
  size_t vl;
  if (!c->stats_req) {
    count_connection(c);
    st.requests++;
    c->req_counted = 1;
    if (header_get(c, "x-authrelay-retry", &vl))
      st.retry_requests++;
    st.last_headers.len = 0;
    headers_json(c, &st.last_headers);
  }
  int has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
  const char *ex = header_get(c, "expect", &vl);
  if (ex) {
    if (!(vl == 12 && strncasecmp(ex, "100-continue", 12) == 0)) {
      c->err_status = 417;
      return -1;
    }
    if (has_body)
      conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  if (path_is(path, plen, "/echo") && (m == HTTP_POST || m == HTTP_PUT)) {
    size_t cl;
    const char *ct = header_get(c, "content-type", &cl);
    c->echo_chunked = (p->flags & F_CHUNKED) != 0;
    c->framing = c->echo_chunked ? FR_CHUNKED : FR_LENGTH;
    buf_t h = {0};
    head_begin(&h, 200);
    buf_puts(&h, "Content-Type: ");
    if (ct)
      buf_append(&h, ct, cl);
    else
      buf_puts(&h, "application/octet-stream");
    buf_puts(&h, "\r\n");
    if (c->echo_chunked)
      buf_puts(&h, "Transfer-Encoding: chunked\r\n");
    else
      buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", p->content_length);
    head_end(c, &h);
    conn_write(c, h.p, h.len);
    buf_free(&h);
    c->kind = R_ECHO;
    c->resp_active = 1;
  }
  return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t len) {
  conn *c = p->data;
  if (c->kind == R_ECHO && c->resp_active)
    body_write(c, at, len, 0);
  return 0;
}

static int cb_message_complete(llhttp_t *p) {
  conn *c = p->data;
  if (c->kind == R_ECHO && c->resp_active) {
    if (c->echo_chunked)
      conn_write(c, "0\r\n\r\n", 5);
    resp_done(c);
  } else {
    dispatch(c);
  }
  if (c->closing || c->resp_active || c->close_after) {
    c->parser_paused = 1;
    return HPE_PAUSED;
  }
  return 0;
}

/* ---- reading ------------------------------------------------------------- */

static void bad_input(conn *c, int code) {
  if (!c->stats_req) {
    count_connection(c);
    st.bad_requests++;
    if (!c->req_counted)
      st.requests++;
  }
  if (c->resp_active) { /* a broken body under a running response: just drop */
    conn_close(c);
    return;
  }
  send_error_close(c, code);
}

static void pump_input(conn *c) {
  while (!c->closing && !c->shutting && !c->parser_paused && c->inbuf.len > 0) {
    c->in_execute = 1;
    llhttp_errno_t err = llhttp_execute(&c->parser, c->inbuf.p, c->inbuf.len);
    c->in_execute = 0;
    if (c->closing)
      return;
    if (err == HPE_OK) {
      c->inbuf.len = 0;
    } else if (err == HPE_PAUSED) {
      size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - c->inbuf.p);
      buf_consume(&c->inbuf, used);
      c->parser_paused = 1;
      /* the response may have finished inside the callback after all */
      if (!c->resp_active && !c->close_after && !c->shutting) {
        c->parser_paused = 0;
        llhttp_resume(&c->parser);
      }
    } else {
      c->inbuf.len = 0;
      bad_input(c, c->err_status ? c->err_status : 400);
      return;
    }
  }
  update_reading(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn *c = h->data;
  (void)suggested;
  buf_reserve(&c->inbuf, 64 * 1024);
  size_t room = c->inbuf.cap - c->inbuf.len - 1;
  if (c->resp_active && c->kind == R_ECHO && room > BATCH)
    room = BATCH; /* bounds what one read adds to the write queue */
  *b = uv_buf_init(c->inbuf.p + c->inbuf.len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn *c = s->data;
  (void)b;
  if (c->closing)
    return;
  if (nread < 0) { /* EOF or error: the peer is gone (half-close counts as gone) */
    conn_close(c);
    return;
  }
  if (nread == 0)
    return;
  if (c->shutting) /* discarding until the peer's FIN */
    return;
  c->inbuf.len += (size_t)nread;
  c->inbuf.p[c->inbuf.len] = '\0';
  pump_input(c);
}

static void update_reading(conn *c) {
  if (c->closing)
    return;
  int want;
  if (c->shutting)
    want = 1; /* discard input until the peer's FIN */
  else if (c->resp_active && c->kind == R_ECHO && wq(c) > WQ_HIGH - BATCH)
    want = 0; /* a read echoes at most BATCH bytes (see on_alloc) */
  else
    want = c->inbuf.len < INBUF_MAX;
  if (c->resp_active && c->kind == R_ECHO) {
    if (!want)
      block(c);
    else if (c->blocked && wq(c) <= WQ_LOW)
      unblock(c);
  }
  if (c->shutting) { /* inbuf is not used any more */
    c->inbuf.len = 0;
  }
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
      c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* ---- accept, signals, main ------------------------------------------------ */

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0 || stopping)
    return;
  conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    abort();
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
    c->closes_pending = 2;
    c->closing = 1;
    c->next = conns;
    if (conns)
      conns->prev = c;
    conns = c;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  c->next = conns;
  if (conns)
    conns->prev = c;
  conns = c;
  update_reading(c);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  if (stopping)
    return;
  stopping = 1;
  uv_close((uv_handle_t *)&server, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  for (conn *c = conns; c; c = c->next)
    conn_close(c);
}

static int parse_listen(const char *arg, char *host, size_t hostsz, int *port) {
  const char *colon = strrchr(arg, ':');
  if (!colon || colon == arg)
    return -1;
  size_t hl = (size_t)(colon - arg);
  if (arg[0] == '[' && hl >= 2 && arg[hl - 1] == ']') {
    arg++;
    hl -= 2;
  }
  if (hl + 1 > hostsz)
    return -1;
  memcpy(host, arg, hl);
  host[hl] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || colon[1] == '\0')
    return -1;
  *port = (int)p;
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: agent-server --listen HOST:PORT\n"
        "  The example agent server: event streams (SSE, NDJSON, JSON) with optional\n"
        "  auth-required tool results, for testing and demonstrating authrelay.\n"
        "  Prints {\"listening\":\"HOST:PORT\"} once listening. Endpoints: /stream /big\n"
        "  /echo /headers /status /slow-head /hang /malformed /stats /stats/reset\n"
        "  (see the top of examples/agent-server/agent_server.c).\n",
        f);
}

int main(int argc, char **argv) {
  const char *listen_arg = "127.0.0.1:8081";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen_arg = argv[++i];
    } else if (strncmp(argv[i], "--listen=", 9) == 0) {
      listen_arg = argv[i] + 9;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "agent-server: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  char host[256];
  int port;
  if (parse_listen(listen_arg, host, sizeof host, &port) != 0) {
    fprintf(stderr, "agent-server: --listen wants HOST:PORT, got '%s'\n", listen_arg);
    return 2;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);

  llhttp_settings_init(&settings);
  settings.on_message_begin = cb_message_begin;
  settings.on_url = cb_url;
  settings.on_header_field = cb_header_field;
  settings.on_header_field_complete = cb_header_field_complete;
  settings.on_header_value = cb_header_value;
  settings.on_header_value_complete = cb_header_value_complete;
  settings.on_headers_complete = cb_headers_complete;
  settings.on_body = cb_body;
  settings.on_message_complete = cb_message_complete;

  loop = uv_default_loop();
  struct sockaddr_storage addr;
  int rc;
  if (strchr(host, ':'))
    rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  else
    rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    fprintf(stderr, "agent-server: bad address '%s': %s\n", host, uv_strerror(rc));
    return 2;
  }
  uv_tcp_init(loop, &server);
  rc = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 511, on_connection);
  if (rc != 0) {
    fprintf(stderr, "agent-server: cannot listen on %s: %s\n", listen_arg, uv_strerror(rc));
    return 1;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
  char ip[64];
  int bport;
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
    bport = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    printf("{\"listening\":\"[%s]:%d\"}\n", ip, bport);
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
    bport = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    printf("{\"listening\":\"%s:%d\"}\n", ip, bport);
  }
  fflush(stdout);

  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);

  uv_run(loop, UV_RUN_DEFAULT);
  buf_free(&st.last_headers);
  uv_loop_close(loop);
  return 0;
}
