/* bench-upstream: the upstream of the saturation and parse-heavy scenarios
 * (see bench/README.md "Load benchmark").
 *
 * Why not the example agent server: at rate=0 (as fast as possible) it serves
 * one stream and starves the others of the same loop (measured: of 3 curl
 * streams, one got 500 MB in 2 s, the two others 0 bytes; rate=1000000 is
 * unfair too), so a saturation run through it measures one stream. Its normal
 * events are also padded with plain text, which the detector's prefilter
 * skips, and it sends at most one auth-required event per stream.
 *
 * This server writes every stream in turn, 16 KiB per write, at most about
 * 64 KiB queued per connection, as fast as each peer reads.
 *
 * kind=delta (default): the agent server's normal events, same JSON:
 *   event: delta
 *   data: {"type":"delta","seq":SEQ,"stream":ID,"ts":NS,"text":"Hello from the agent, part SEQ. lorem..."}
 *   padded to `size` bytes of JSON.
 *
 * kind=tool: EVERY event is a ~`size` byte MCP tools/call result that the
 * detector must parse with yajl:
 *
 *   event: message
 *   data: {"jsonrpc":"2.0","id":SEQ,"seq":SEQ,"stream":ID,"ts":NS,"result":{"content":[
 *          {"type":"text","text":"<search result JSON as a string, with \u00e9 escapes>"},
 *          {"type":"text","text":"<plain padding>"}],"isError":false}}
 *
 * The "\u" escapes pass the prefilter, so every event goes through yajl,
 * including the second pass over the JSON-in-string, but nothing in it is an
 * auth-required result: nothing is detected, logged or paused. With auth=1
 * the inner JSON is an authenticate_meta result instead (every event is then a
 * detection; without a trusted identity header the relay passes it on and logs
 * a warning per event).
 *
 *   bench-upstream --listen HOST:PORT     prints {"listening":"HOST:PORT"} on stdout
 *   GET /stream?kind=delta|tool&count=N&size=BYTES(200)&id=N&auth=0|1&fixed=0|1
 *   then "event: done" data {"type":"done","events":N}; chunked; keep-alive.
 *   fixed=1: a static upstream for h2load: the whole response is rendered
 *   once (seq 0..N-1, stream 0, ts of the first render) and every request
 *   gets the same bytes, written by reference (see fixed_response()).
 *
 * As fast as the peer reads: at most about 64 KiB queued per connection.
 * Any other path: 404. SIGTERM/SIGINT: exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llhttp.h>
#include <uv.h>

#define WQ_HIGH (64 * 1024)
#define BATCH (16 * 1024)
#define TURN (64 * 1024) /* bytes written per connection per turn */

typedef struct {
  uv_tcp_t tcp;
  llhttp_t parser;
  char url[2048];
  size_t url_len;
  int active;
  long seq, count, size, id;
  int auth;
  int tool;
  int inflight; /* writes not yet called back */
  int closing;
  int done_queued;
} conn_t;

typedef struct {
  uv_write_t w;
  conn_t *c;
  char *buf; /* owned (freed in write_cb) unless shared */
  int shared; /* buf is a cached fixed response: not freed */
} wreq_t;

static llhttp_settings_t settings;
static uv_loop_t *loop;

static unsigned long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

static void conn_close(conn_t *c) {
  if (!c->closing) {
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
  }
}

static void produce(conn_t *c);

static void write_cb(uv_write_t *w, int status) {
  wreq_t *r = (wreq_t *)w;
  conn_t *c = r->c;
  if (!r->shared)
    free(r->buf);
  free(r);
  c->inflight--;
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* One turn per connection per loop iteration: the last callback of a turn
   * starts the next one (writes that complete at once are called back on the
   * next iteration), so every stream gets its share. */
  if (!c->closing && c->active && c->inflight == 0)
    produce(c);
}

/* Queues buf; shared: buf is not ours (a cached fixed response), else freed
 * when written. */
static void send_buf_ex(conn_t *c, char *buf, size_t len, int shared) {
  wreq_t *r = malloc(sizeof *r);
  if (r == NULL) {
    if (!shared)
      free(buf);
    conn_close(c);
    return;
  }
  r->c = c;
  r->buf = buf;
  r->shared = shared;
  c->inflight++;
  uv_buf_t b = uv_buf_init(buf, (unsigned)len);
  if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
    if (!shared)
      free(buf);
    free(r);
    c->inflight--;
    conn_close(c);
  }
}

static void send_buf(conn_t *c, char *buf, size_t len) { send_buf_ex(c, buf, len, 0); }

static const char INNER[] =
    "{\\\"type\\\":\\\"search_results\\\",\\\"query\\\":\\\"caf\\\\u00e9 opening hours\\\",\\\"items\\\":["
    "{\\\"title\\\":\\\"Caf\\\\u00e9 de Flore\\\",\\\"url\\\":\\\"https://example.com/flore\\\",\\\"rank\\\":1,"
    "\\\"snippet\\\":\\\"Open daily 7:30 to 1:30, terrace seating, classic menu.\\\"},"
    "{\\\"title\\\":\\\"Les Deux Magots\\\",\\\"url\\\":\\\"https://example.com/magots\\\",\\\"rank\\\":2,"
    "\\\"snippet\\\":\\\"Open daily 7:30 to 1:00; breakfast until 11:30.\\\"},"
    "{\\\"title\\\":\\\"Caf\\\\u00e9 Kitsun\\\\u00e9\\\",\\\"url\\\":\\\"https://example.com/kitsune\\\",\\\"rank\\\":3,"
    "\\\"snippet\\\":\\\"Coffee bar in the Palais-Royal gardens, 8:00 to 18:00.\\\"}],"
    "\\\"total\\\":3,\\\"elapsed_ms\\\":184}";

static const char INNER_AUTH[] =
    "{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":"
    "\\\"ltk_upstream\\\",\\\"expires_at\\\":\\\"2099-01-01T00:00:00Z\\\",\\\"message\\\":"
    "\\\"Please connect slack to continue.\\\"}";

static const char DELTA_PAD[] = " lorem ipsum dolor sit amet, consectetur adipiscing elit";

static const char PAD[] = " The tool returned three results; the first one is the closest match.";

static size_t pad_to(char *json, char *p, const char *tail, long size, const char *pad, size_t pl) {
  size_t tl = strlen(tail);
  size_t now = (size_t)(p - json) + tl;
  size_t want = size > 0 ? (size_t)size : 0;
  char *start = p;
  for (size_t k = 0; now + k < want; k++)
    *p++ = pad[k % pl];
  memcpy(p, tail, tl);
  p += tl;
  memcpy(p, "\n\n", 2);
  p += 2;
  return (size_t)(p - start);
}

static size_t render_delta(conn_t *c, char *out) {
  char *p = out;
  p += sprintf(p, "event: delta\ndata: ");
  char *json = p;
  p += sprintf(p, "{\"type\":\"delta\",\"seq\":%ld,\"stream\":%ld,\"ts\":%llu,\"text\":\"Hello from the agent, part %ld.",
               c->seq, c->id, mono_ns(), c->seq);
  p += pad_to(json, p, "\"}", c->size, DELTA_PAD, sizeof DELTA_PAD - 1);
  return (size_t)(p - out);
}

/* Appends one event to out (capacity checked by the caller). Returns bytes. */
static size_t render(conn_t *c, char *out) {
  if (!c->tool)
    return render_delta(c, out);
  char *p = out;
  p += sprintf(p, "event: message\ndata: ");
  char *json = p;
  p += sprintf(p,
               "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"seq\":%ld,\"stream\":%ld,\"ts\":%llu,\"result\":{\"content\":["
               "{\"type\":\"text\",\"text\":\"%s\"},{\"type\":\"text\",\"text\":\"",
               c->seq, c->seq, c->id, mono_ns(), c->auth ? INNER_AUTH : INNER);
  p += pad_to(json, p, "\"}],\"isError\":false}}", c->size, PAD, sizeof PAD - 1);
  return (size_t)(p - out);
}

static void produce(conn_t *c) {
  size_t turn = 0;
  while (c->active && !c->closing && turn < TURN &&
         uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < WQ_HIGH) {
    size_t cap = BATCH + (size_t)c->size + 4096;
    char *buf = malloc(cap);
    if (buf == NULL) {
      conn_close(c);
      return;
    }
    size_t len = 12; /* chunk size line, filled in below */
    while (c->seq < c->count && len < BATCH) {
      len += render(c, buf + len);
      c->seq++;
    }
    int last = c->seq >= c->count;
    if (last)
      len += (size_t)sprintf(buf + len, "event: done\ndata: {\"type\":\"done\",\"events\":%ld}\n\n", c->count);
    /* chunk header right-aligned in the 12 reserved bytes: "%08zx\r\n" padded with leading zeros */
    size_t body = len - 12;
    char head[16];
    int hl = snprintf(head, sizeof head, "%010zx\r\n", body);
    memcpy(buf, head, (size_t)hl);
    memcpy(buf + len, "\r\n", 2);
    len += 2;
    if (last) {
      memcpy(buf + len, "0\r\n\r\n", 5);
      len += 5;
      c->active = 0;
    }
    turn += len;
    send_buf(c, buf, len);
  }
}

/* fixed=1: the whole response (head, chunked body of `count` events, done
 * event, last chunk) is rendered once per (kind, count, size, auth) and then
 * written by reference for every request: a static upstream that costs one
 * uv_write per request, for h2load (which cannot check seq numbers; every
 * body is identical, so the driver checks the byte count instead). */
#define FIXED_MAX 8                      /* cached fixed responses */
#define FIXED_MAX_BYTES (32 * 1024 * 1024) /* cap of one fixed response */

typedef struct {
  int tool, auth;
  long count, size;
  char *buf; /* owned by the cache, never freed (process lifetime) */
  size_t len;
} fixed_resp_t;

static fixed_resp_t fixed_cache[FIXED_MAX];
static int fixed_n;

static const char STREAM_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n";

/* Returns the cached fixed response of c's parameters, rendering it on first
 * use; NULL when too big, the cache is full or out of memory. */
static const fixed_resp_t *fixed_response(const conn_t *c) {
  for (int i = 0; i < fixed_n; i++) {
    fixed_resp_t *f = &fixed_cache[i];
    if (f->tool == c->tool && f->auth == c->auth && f->count == c->count && f->size == c->size)
      return f;
  }
  if (fixed_n == FIXED_MAX)
    return NULL;
  /* every event renders to at most size + 512 bytes; chunk framing 14 bytes per BATCH */
  unsigned long long cap = (unsigned long long)c->count * ((unsigned long long)c->size + 512 + 14) + 4096;
  if (cap > FIXED_MAX_BYTES)
    return NULL;
  char *buf = malloc((size_t)cap);
  if (buf == NULL)
    return NULL;
  conn_t r = *c; /* render() reads seq, id, size, tool, auth */
  r.seq = 0;
  r.id = 0;
  size_t len = sizeof STREAM_HEAD - 1;
  memcpy(buf, STREAM_HEAD, len);
  for (int last = 0; !last;) {
    size_t start = len;
    len += 12; /* chunk size line, as in produce() */
    while (r.seq < r.count && len - start < BATCH) {
      len += render(&r, buf + len);
      r.seq++;
    }
    last = r.seq >= r.count;
    if (last)
      len += (size_t)sprintf(buf + len, "event: done\ndata: {\"type\":\"done\",\"events\":%ld}\n\n", r.count);
    char head[16];
    snprintf(head, sizeof head, "%010zx\r\n", len - start - 12);
    memcpy(buf + start, head, 12);
    memcpy(buf + len, "\r\n", 2);
    len += 2;
  }
  memcpy(buf + len, "0\r\n\r\n", 5);
  len += 5;
  fixed_resp_t *f = &fixed_cache[fixed_n++];
  f->tool = c->tool;
  f->auth = c->auth;
  f->count = c->count;
  f->size = c->size;
  f->buf = buf;
  f->len = len;
  return f;
}

static long qnum(const char *q, const char *key, long def) {
  size_t kl = strlen(key);
  for (const char *p = q; p && *p;) {
    if (strncmp(p, key, kl) == 0 && p[kl] == '=')
      return strtol(p + kl + 1, NULL, 10);
    p = strchr(p, '&');
    if (p)
      p++;
  }
  return def;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (c->url_len + len >= sizeof c->url)
    return HPE_USER;
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = 0;
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  conn_t *c = p->data;
  c->url_len = 0;
  c->url[0] = 0;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  if (c->active)
    return HPE_USER; /* no pipelining here */
  const char *q = strchr(c->url, '?');
  if (strncmp(c->url, "/stream", 7) != 0 || (c->url[7] != 0 && c->url[7] != '?')) {
    static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    char *b = malloc(sizeof nf);
    if (b == NULL)
      return HPE_USER;
    memcpy(b, nf, sizeof nf);
    send_buf(c, b, sizeof nf - 1);
    return 0;
  }
  q = q ? q + 1 : "";
  c->count = qnum(q, "count", 10);
  c->size = qnum(q, "size", 200);
  c->tool = strstr(q, "kind=tool") != NULL;
  c->id = qnum(q, "id", 0);
  c->auth = (int)qnum(q, "auth", 0);
  if (c->count < 0 || c->size < 0 || c->size > 1 << 20)
    return HPE_USER;
  c->seq = 0;
  if (qnum(q, "fixed", 0) == 1) {
    const fixed_resp_t *f = fixed_response(c);
    if (f == NULL)
      return HPE_USER;
    send_buf_ex(c, f->buf, f->len, 1);
    return 0;
  }
  c->active = 1;
  char *b = malloc(sizeof STREAM_HEAD);
  if (b == NULL)
    return HPE_USER;
  memcpy(b, STREAM_HEAD, sizeof STREAM_HEAD);
  send_buf(c, b, sizeof STREAM_HEAD - 1);
  produce(c);
  return 0;
}

static char rbuf[65536];
static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  b->base = rbuf;
  b->len = sizeof rbuf;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn_t *c = s->data;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0 || c->closing)
    return;
  if (llhttp_execute(&c->parser, b->base, (size_t)n) != HPE_OK)
    conn_close(c);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void on_signal(uv_signal_t *s, int sig) {
  (void)s;
  (void)sig;
  exit(0);
}

int main(int argc, char **argv) {
  const char *listen_arg = "127.0.0.1:0";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen_arg = argv[++i];
    } else {
      fprintf(stderr, "usage: bench-upstream [--listen HOST:PORT]\n");
      return 2;
    }
  }
  char host[256];
  const char *colon = strrchr(listen_arg, ':');
  if (colon == NULL || (size_t)(colon - listen_arg) >= sizeof host) {
    fprintf(stderr, "bench-upstream: bad --listen\n");
    return 2;
  }
  memcpy(host, listen_arg, (size_t)(colon - listen_arg));
  host[colon - listen_arg] = 0;
  struct sockaddr_in a;
  if (uv_ip4_addr(host, atoi(colon + 1), &a) != 0) {
    fprintf(stderr, "bench-upstream: bad --listen\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  llhttp_settings_init(&settings);
  settings.on_url = on_url;
  settings.on_message_begin = on_message_begin;
  settings.on_message_complete = on_message_complete;
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  int rc = uv_tcp_bind(&server, (const struct sockaddr *)&a, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
  if (rc != 0) {
    fprintf(stderr, "bench-upstream: listen %s: %s\n", listen_arg, uv_strerror(rc));
    return 1;
  }
  struct sockaddr_in got;
  int gl = sizeof got;
  uv_tcp_getsockname(&server, (struct sockaddr *)&got, &gl);
  printf("{\"listening\":\"%s:%d\"}\n", host, ntohs(got.sin_port));
  fflush(stdout);
  uv_signal_t s1, s2;
  uv_signal_init(loop, &s1);
  uv_signal_start(&s1, on_signal, SIGTERM);
  uv_signal_init(loop, &s2);
  uv_signal_start(&s2, on_signal, SIGINT);
  return uv_run(loop, UV_RUN_DEFAULT);
}
