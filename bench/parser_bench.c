/* bench-parser: the parser micro-benchmark (make bench-parser).
 *
 * Generates its streams in memory (deterministic: fixed seed, no files, no
 * I/O in the timed part), feeds them through framer_feed() in 64 KiB chunks
 * and reports MB/s and events/s per workload, all in one run:
 *
 *   (a)  sse-token-delta     OpenAI-style response.output_text.delta events:
 *                            the detector's prefilter path (never reaches yajl)
 *   (b)  sse-tool-result     every event a 2 KiB MCP tools/call result whose
 *                            content text is a JSON string holding an
 *                            authenticate_meta result: the full yajl path,
 *                            JSON-in-string level included, a match per event
 *   (c)  yajl-raw            raw yajl on exactly the data of each (b) event,
 *                            empty callbacks: the baseline of the (b) goal
 *   (c+) yajl-raw-nested     (c) plus a second yajl parse of the string that
 *                            holds JSON, as the detector's JSON-in-string rule
 *                            requires: the least yajl work its semantics need
 *   (c-) yajl-raw-nocb       (c) with NULL callbacks (yajl then does not even
 *                            unescape strings)
 *   (d)  ndjson-token-delta  the (a) payloads, one per line
 *   (e)  sse-frame-only      (a) with inspect=0: framing without the detector
 *   (e+) sse-frame-only-tool (b) with inspect=0
 * (c+), (c-) and (e+) are references that explain where (b)'s time goes.
 *
 * Fairness of (c): like the detector, it allocates one yajl handle per event
 * with the default configuration (UTF-8 validation on), parses the event with
 * one yajl_parse() and one yajl_complete_parse(), and frees the handle
 * (yajl 2 has no reset). Its callbacks all return 1 at once; start_map also
 * bumps a counter, used as a checksum. Its MB/s counts the JSON bytes only,
 * (b)'s the SSE stream bytes; the goal ratio is taken in events/s, which
 * compares the same events.
 *
 * Each measurement is one warm-up run and the best of 5, the workloads
 * interleaved (--quick: no warm-up, one run, 1 MiB streams). Checks, any
 * failure exits 1 so that a broken parser cannot be measured: an untimed
 * pass compares every event's data, type, id and span with the generated
 * bytes; every timed run checks event counts, data bytes, detector verdicts
 * (all SKIPPED on the token-delta streams, all authenticate_meta matches with
 * connector and tool_call_id on (b)) and a checksum of the extracted link
 * tokens. Timings are never asserted: a missed goal is printed, exit 0.
 *
 * Usage: bench-parser [--quick] [--json FILE] [--reps N] [--size-mib N]
 *                     [--only NAME]   (one workload, e.g. under perf record)
 *                     [--sample]      (print the first generated events)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_parse.h>

#include "detect.h"
#include "framer.h"

#ifndef AUTHRELAY_BENCH_BUILD_TYPE
#define AUTHRELAY_BENCH_BUILD_TYPE "unknown"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#ifndef BENCH_SANITIZED
#define BENCH_SANITIZED 0
#endif

#define CHUNK_BYTES (64 * 1024)
#define FULL_MIB 64
#define QUICK_MIB 1
#define DEFAULT_REPS 5
#define TOOL_RESULT_BYTES 2048 /* data bytes of each (b) event */
#define GOAL_TOKEN_DELTA_GBPS 3.0 /* issue #12 */
#define GOAL_TOOL_RESULT_RATIO 0.8

/* ---- small helpers ------------------------------------------------------ */

static void check(int ok, const char *workload, const char *what);

static void die(const char *what) {
  fprintf(stderr, "bench-parser: %s\n", what);
  exit(1);
}

typedef struct buf {
  char *ptr;
  size_t len;
  size_t cap;
} buf;

static void buf_reserve(buf *b, size_t extra) {
  size_t need = b->len + extra;
  /* Testing ptr as well tells the compiler what cap == 0 already implies:
   * a buffer without storage gets some (gcc -O2 -Warray-bounds otherwise
   * follows a path where ptr is NULL with a large cap). */
  if (b->ptr != NULL && need <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need)
    cap *= 2;
  char *p = realloc(b->ptr, cap);
  if (p == NULL)
    die("out of memory");
  b->ptr = p;
  b->cap = cap;
}

static void buf_add(buf *b, const char *p, size_t n) {
  buf_reserve(b, n + 1);
  memcpy(b->ptr + b->len, p, n);
  b->len += n;
  b->ptr[b->len] = '\0'; /* always a C string too (for --sample) */
}

static void buf_str(buf *b, const char *s) {
  buf_add(b, s, strlen(s));
}

static void buf_u64(buf *b, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
  buf_add(b, tmp, (size_t)n);
}

/* Appends s[0, n) as the inside of a JSON string: quotes, backslashes and
 * LF escaped (the generators use no other control bytes). */
static void buf_json_escaped(buf *b, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != '"' && s[j] != '\\' && s[j] != '\n')
      j++;
    buf_add(b, s + i, j - i);
    i = j;
    if (i < n) {
      char esc[2] = {'\\', s[i] == '\n' ? 'n' : s[i]};
      buf_add(b, esc, 2);
      i++;
    }
  }
}

static void buf_free(buf *b) {
  free(b->ptr);
  b->ptr = NULL;
  b->len = b->cap = 0;
}

/* xorshift64*, seeded by each generator: the same streams on every run and
 * machine, whatever workloads are selected. */
static uint64_t rng_state;

static uint64_t rng_next(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t fnv1a(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- stream generation --------------------------------------------------- */

/* Token-sized deltas, as a model streams them: leading spaces, punctuation,
 * newlines (escaped as \n in JSON), some UTF-8. No "\u" escapes and no
 * "link_token"/"authenticate_meta": these events stay on the prefilter path. */
static const char *const words[] = {
    " the",    " of",     " and",   " to",      " a",        " in",      " is",
    " that",   " for",    " it",    " as",      " with",     " be",      " on",
    " not",    " this",   " but",   " by",      " from",     " they",    " we",
    " I",      " you",    " can",   " will",    " your",     " Slack",   " channel",
    " message", " post",  " update", " release", " notes",   " team",    " today",
    ",",       ".",       ":",      "\n",       "\n\n",      " -",       " **",
    "**",      " `",      "`",      " café",    " naïve",    " —",       " 😊",
    " function", " result", " tokens", " stream", " server", " request", " response",
    "ing",     "ed",      "s",      " Let",     " me",       " check",   " first",
    " connect", " account", " done", " sure",   " Here",     "'s",       " summary",
};
#define N_WORDS (sizeof words / sizeof words[0])

typedef struct stream {
  buf bytes;            /* the stream as sent */
  uint64_t events;      /* events it holds */
  uint64_t data_bytes;  /* sum of the events' data lengths */
  uint64_t token_hash;  /* (b): sum of fnv1a(link_token) over events */
  /* (b): every event's data, for the raw yajl baseline */
  buf json;             /* the data of every event, back to back */
  size_t *json_len;     /* length of each */
  uint64_t maps_per_event;       /* (b): objects of each event's JSON */
  uint64_t inner_maps_per_event; /* (b): objects of its JSON-in-string */
  uint64_t inner_bytes; /* (b): bytes of the JSON-in-string text (escaped) */
} stream;

static void stream_free(stream *s) {
  buf_free(&s->bytes);
  buf_free(&s->json);
  free(s->json_len);
  memset(s, 0, sizeof *s);
}

/* (a) and (d): the same token-delta payloads as SSE and as NDJSON. */
static void gen_token_delta(size_t target, stream *sse, stream *ndjson) {
  buf data = {0};
  rng_state = 0x9E3779B97F4A7C15ull;
  while (sse->bytes.len < target) {
    const char *w = words[rng_next() % N_WORDS];
    data.len = 0;
    buf_str(&data, "{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\","
                   "\"output_index\":0,\"content_index\":0,\"delta\":\"");
    buf_json_escaped(&data, w, strlen(w));
    buf_str(&data, "\"}");

    buf_str(&sse->bytes, "event: response.output_text.delta\ndata: ");
    buf_add(&sse->bytes, data.ptr, data.len);
    buf_str(&sse->bytes, "\n\n");
    sse->events++;
    sse->data_bytes += data.len;

    buf_add(&ndjson->bytes, data.ptr, data.len);
    buf_str(&ndjson->bytes, "\n");
    ndjson->events++;
    ndjson->data_bytes += data.len;
  }
  buf_free(&data);
}

static void hex_id(char *out, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++)
    out[i] = hex[rng_next() & 15];
  out[n] = '\0';
}

static void add_prose(buf *b, size_t n) {
  /* Plain words, no JSON specials, exactly n bytes. */
  static const char *const prose[] = {"Slack", "needs", "to", "be", "connected", "before",
                                      "this", "tool", "can", "post", "messages", "on",
                                      "your", "behalf.", "Open", "the", "link", "and",
                                      "approve", "access;", "the", "request", "resumes"};
  size_t start = b->len;
  size_t i = 0;
  while (b->len - start < n) {
    const char *w = prose[i++ % (sizeof prose / sizeof prose[0])];
    size_t room = n - (b->len - start);
    size_t wl = strlen(w);
    if (b->len > start) {
      buf_add(b, " ", 1);
      room--;
    }
    buf_add(b, w, wl < room ? wl : room);
  }
}

/* (b): MCP over streamable HTTP. Each event:
 *   event: message / id: N / data: {"jsonrpc":"2.0","id":N,"result":{"content":[
 *     {"type":"text","text":"<authenticate_meta result as a JSON string>"},
 *     {"type":"text","text":"<human-readable instructions>"}],
 *    "isError":false,"_meta":{...tracing fields...}}}
 * padded (the instructions text) to exactly TOOL_RESULT_BYTES of data. */
static void gen_tool_result(size_t target, stream *s) {
  buf inner = {0};
  buf data = {0};
  size_t cap_events = target / TOOL_RESULT_BYTES + 2;
  rng_state = 0xD1B54A32D192ED03ull;
  s->json_len = malloc(cap_events * sizeof *s->json_len);
  if (s->json_len == NULL)
    die("out of memory");
  s->maps_per_event = 7;       /* outer, result, 2 content items, _meta, _meta.tool, _meta.usage */
  s->inner_maps_per_event = 2; /* the authenticate_meta object, its workspace */
  while (s->bytes.len < target && s->events < cap_events) {
    char token[17], call[25], req[17], trace[33];
    uint64_t n = s->events + 1;
    size_t pad;
    hex_id(token, 16);
    hex_id(call, 24);
    hex_id(req, 16);
    hex_id(trace, 32);

    inner.len = 0;
    buf_str(&inner, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_");
    buf_str(&inner, token);
    buf_str(&inner, "\",\"magic_link_url\":\"https://connect.example.com/link/ltk_");
    buf_str(&inner, token);
    buf_str(&inner, "?redirect_uri=https%3A%2F%2Fagent.example.com%2Fcallback&state=");
    buf_str(&inner, req);
    buf_str(&inner, "\",\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":\"Please connect "
                    "Slack to continue.\",\"tool_name\":\"slack__post_message\",\"tool_call_id\":"
                    "\"call_");
    buf_str(&inner, call);
    buf_str(&inner, "\",\"scopes\":[\"channels:read\",\"chat:write\",\"users:read\","
                    "\"files:write\"],\"workspace\":{\"id\":\"T0");
    buf_u64(&inner, 1000000 + n % 9000000);
    buf_str(&inner, "\",\"name\":\"Example Corp\",\"domain\":\"example-corp\"},\"retry_after_s\":"
                    "30,\"docs_url\":\"https://docs.example.com/connectors/slack#authorize\"}");

    data.len = 0;
    buf_str(&data, "{\"jsonrpc\":\"2.0\",\"id\":");
    buf_u64(&data, n);
    buf_str(&data, ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"");
    size_t inner_start = data.len;
    buf_json_escaped(&data, inner.ptr, inner.len);
    s->inner_bytes += data.len - inner_start;
    buf_str(&data, "\"},{\"type\":\"text\",\"text\":\"");
    size_t pad_at = data.len;
    buf_str(&data, "\"}],\"isError\":false,\"_meta\":{\"request_id\":\"req_");
    buf_str(&data, req);
    buf_str(&data, "\",\"trace_id\":\"");
    buf_str(&data, trace);
    buf_str(&data, "\",\"server\":\"slack-mcp/1.4.2\",\"tool\":{\"name\":\"post_message\","
                   "\"call_id\":\"call_");
    buf_str(&data, call);
    buf_str(&data, "\",\"arguments_bytes\":187},\"usage\":{\"duration_ms\":");
    buf_u64(&data, 40 + rng_next() % 400);
    buf_str(&data, ",\"upstream_status\":401,\"retries\":0,\"cached\":false}}}}");
    if (data.len > TOOL_RESULT_BYTES)
      die("tool result template exceeds its size");
    /* Insert the padding prose at pad_at. */
    pad = TOOL_RESULT_BYTES - data.len;
    {
      buf tail = {0};
      buf_add(&tail, data.ptr + pad_at, data.len - pad_at);
      data.len = pad_at;
      add_prose(&data, pad);
      buf_add(&data, tail.ptr, tail.len);
      buf_free(&tail);
    }

    buf_str(&s->bytes, "event: message\nid: ");
    buf_u64(&s->bytes, n);
    buf_str(&s->bytes, "\ndata: ");
    buf_add(&s->bytes, data.ptr, data.len);
    buf_str(&s->bytes, "\n\n");
    buf_add(&s->json, data.ptr, data.len);
    s->json_len[s->events] = data.len;
    s->events++;
    s->data_bytes += data.len;
    {
      char lt[32];
      int ln = snprintf(lt, sizeof lt, "ltk_%s", token);
      s->token_hash += fnv1a(lt, (size_t)ln);
    }
  }
  buf_free(&inner);
  buf_free(&data);
}

/* ---- runs ---------------------------------------------------------------- */

typedef struct counts {
  uint64_t events;
  uint64_t data_bytes;
  uint64_t skipped;     /* events with DETECT_SKIPPED */
  uint64_t matches;     /* events with DETECT_MATCH of the expected shape and connector */
  uint64_t bad;         /* events whose data does not look like one JSON object */
  uint64_t token_hash;  /* sum of fnv1a(link_token) */
  uint64_t with_call_id;
} counts;

static int on_event(void *ctx, const framer_event *ev) {
  counts *c = ctx;
  c->events++;
  c->data_bytes += ev->data_len;
  if (ev->data_len < 2 || ev->data[0] != '{' || ev->data[ev->data_len - 1] != '}')
    c->bad++;
  if (ev->status == DETECT_SKIPPED) {
    c->skipped++;
  } else if (ev->status == DETECT_MATCH) {
    const detect_match *m = ev->match;
    if (m->shape == DETECT_SHAPE_AUTHENTICATE_META && m->connector.len == 5 &&
        memcmp(m->connector.ptr, "slack", 5) == 0 && m->link_token.ptr != NULL) {
      c->matches++;
      c->token_hash += fnv1a(m->link_token.ptr, m->link_token.len);
      if (m->tool_call_id.ptr != NULL)
        c->with_call_id++;
    }
  }
  return 0;
}

static framer_stats feed_all(framer_format format, int inspect, const buf *in,
                             int (*cb_event)(void *, const framer_event *), void *ctx) {
  framer_t f;
  framer_options opt = {.max_event_bytes = 0, .inspect = inspect};
  framer_callbacks cb = {.on_event = cb_event};
  framer_stats stats;
  size_t off = 0;
  if (framer_init(&f, format, &opt, &cb, ctx) != 0)
    die("framer_init failed");
  while (off < in->len) {
    size_t n = in->len - off < CHUNK_BYTES ? in->len - off : CHUNK_BYTES;
    if (framer_feed(&f, in->ptr + off, n) != n)
      die("framer_feed did not consume its chunk");
    off += n;
  }
  framer_finish(&f);
  stats = f.stats;
  framer_close(&f);
  return stats;
}

static counts run_framer(framer_format format, int inspect, const buf *in) {
  counts c;
  framer_stats st;
  memset(&c, 0, sizeof c);
  st = feed_all(format, inspect, in, on_event, &c);
  if (st.events != c.events || st.matches < c.matches || st.malformed != 0 || st.oversized != 0)
    c.bad++;
  return c;
}

/* The untimed verification pass: every event's data, type, id and span must
 * be exactly the generated bytes (the timed runs only count and sum). */
typedef struct verify_ctx {
  const buf *in;
  framer_format format;
  int tool;
  uint64_t events;
  uint64_t last_end;
  uint64_t errors;
} verify_ctx;

static int on_event_verify(void *ctx, const framer_event *ev) {
  verify_ctx *v = ctx;
  const char *s = v->in->ptr;
  size_t tail = v->format == FRAMER_SSE ? 2 : 1; /* "\n\n" or "\n" after the data */
  int ok = ev->index == v->events && ev->start == v->last_end && ev->end <= v->in->len &&
           ev->end >= ev->start + ev->data_len + tail;
  if (ok) {
    uint64_t data_at = ev->end - tail - ev->data_len;
    ok = memcmp(s + data_at, ev->data, ev->data_len) == 0 &&
         memcmp(s + ev->end - tail, "\n\n", tail) == 0;
    if (ok && v->format == FRAMER_NDJSON)
      ok = ev->start == data_at && ev->type == NULL && ev->id == NULL;
  }
  if (ok && v->format == FRAMER_SSE) {
    const char *want = v->tool ? "message" : "response.output_text.delta";
    ok = ev->type != NULL && ev->type_len == strlen(want) && memcmp(ev->type, want, ev->type_len) == 0;
    if (ok && v->tool) {
      char id[24];
      int n = snprintf(id, sizeof id, "%" PRIu64, ev->index + 1);
      ok = ev->id != NULL && ev->id_len == (size_t)n && memcmp(ev->id, id, (size_t)n) == 0;
    } else if (ok) {
      ok = ev->id == NULL;
    }
  }
  if (!ok)
    v->errors++;
  v->events++;
  v->last_end = ev->end;
  return 0;
}

static void verify_stream(framer_format format, const stream *s, int tool, const char *name) {
  verify_ctx v;
  memset(&v, 0, sizeof v);
  v.in = &s->bytes;
  v.format = format;
  v.tool = tool;
  (void)feed_all(format, 1, &s->bytes, on_event_verify, &v);
  check(v.errors == 0, name, "an event's data, type, id or span differs from the generated bytes");
  check(v.events == s->events && v.last_end == s->bytes.len, name,
        "events missing or the stream not covered");
}

/* Raw yajl. The callbacks return 1 at once; start_map counts maps (the
 * checksum). In nested mode a string value that looks like a JSON container
 * is parsed again by a fresh handle, one level down, as the detector's
 * JSON-in-string rule requires: the least yajl work the detector's semantics
 * need on these payloads. */
typedef struct yctx {
  uint64_t maps;
  int nested; /* re-parse JSON-looking strings */
  int failed; /* a nested parse failed */
} yctx;

static int y_null(void *ctx) {
  (void)ctx;
  return 1;
}
static int y_bool(void *ctx, int v) {
  (void)ctx;
  (void)v;
  return 1;
}
static int y_number(void *ctx, const char *s, size_t n) {
  (void)ctx;
  (void)s;
  (void)n;
  return 1;
}
static int y_key(void *ctx, const unsigned char *s, size_t n) {
  (void)ctx;
  (void)s;
  (void)n;
  return 1;
}
static int y_start_map(void *ctx) {
  ((yctx *)ctx)->maps++;
  return 1;
}
static int y_string(void *ctx, const unsigned char *s, size_t n);

static const yajl_callbacks empty_callbacks = {
    y_null, y_bool, NULL, NULL, y_number, y_string, y_start_map, y_key, y_null, y_null, y_null,
};

static int parse_json(const yajl_callbacks *cb, yctx *c, const unsigned char *p, size_t n) {
  yajl_handle h = yajl_alloc(cb, NULL, c);
  int ok;
  if (h == NULL)
    die("yajl_alloc failed");
  ok = yajl_parse(h, p, n) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
  yajl_free(h);
  return ok;
}

static int y_string(void *ctx, const unsigned char *s, size_t n) {
  yctx *c = ctx;
  size_t i = 0;
  if (!c->nested)
    return 1;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  if (i < n && (s[i] == '{' || s[i] == '[')) {
    yctx inner = {0, 0, 0};
    if (parse_json(&empty_callbacks, &inner, s, n))
      c->maps += inner.maps;
    else
      c->failed = 1;
  }
  return 1;
}

typedef enum yajl_mode { YAJL_EMPTY_CB, YAJL_NESTED, YAJL_NO_CB } yajl_mode;

/* Returns the maps seen (NULL callbacks: the events parsed); 0 on any parse
 * error. */
static uint64_t run_yajl(const stream *s, yajl_mode mode) {
  yctx c = {0, mode == YAJL_NESTED, 0};
  uint64_t ok = 0;
  const char *p = s->json.ptr;
  uint64_t i;
  for (i = 0; i < s->events; i++) {
    size_t n = s->json_len[i];
    ok += (uint64_t)parse_json(mode == YAJL_NO_CB ? NULL : &empty_callbacks, &c,
                               (const unsigned char *)p, n);
    p += n;
  }
  if (ok != s->events || c.failed)
    return 0;
  return mode == YAJL_NO_CB ? ok : c.maps;
}

/* ---- measurement --------------------------------------------------------- */

typedef enum workload_id {
  W_TOKEN_DELTA = 0, /* (a) */
  W_TOOL_RESULT,     /* (b) */
  W_YAJL,            /* (c) */
  W_YAJL_NESTED,     /* (c+) */
  W_YAJL_NOCB,       /* (c-) */
  W_NDJSON,          /* (d) */
  W_FRAME_ONLY,      /* (e) */
  W_FRAME_ONLY_TOOL, /* (e+) */
  W_COUNT
} workload_id;

static const struct {
  const char *name;  /* for --only and the JSON output */
  const char *label; /* for the table */
  int tool_stream;   /* runs on the (b) stream, else on the token-delta one */
  int json_only;     /* raw yajl: runs on the events' JSON, not the stream */
} workloads[W_COUNT] = {
    {"sse-token-delta", "(a) SSE token deltas, inspect (prefilter path)", 0, 0},
    {"sse-tool-result", "(b) SSE 2 KiB tool results, inspect (full yajl path)", 1, 0},
    {"yajl-raw", "(c) raw yajl, empty callbacks, (b)'s JSON: baseline", 1, 1},
    {"yajl-raw-nested", "(c+) = (c) + yajl re-parse of the JSON-in-string", 1, 1},
    {"yajl-raw-nocb", "(c-) raw yajl, NULL callbacks, (b)'s JSON", 1, 1},
    {"ndjson-token-delta", "(d) NDJSON token deltas, inspect", 0, 0},
    {"sse-frame-only", "(e) SSE token deltas, framing only (inspect=0)", 0, 0},
    {"sse-frame-only-tool", "(e+) SSE tool results, framing only (inspect=0)", 1, 0},
};

typedef struct result {
  uint64_t bytes;  /* bytes per run */
  uint64_t events; /* events per run */
  double best;     /* seconds */
} result;

static void check(int ok, const char *workload, const char *what) {
  if (!ok) {
    fprintf(stderr, "bench-parser: CHECKSUM FAILED in %s: %s\n", workload, what);
    exit(1);
  }
}

static void check_counts(const counts *c, const stream *s, workload_id w, const char *name) {
  check(c->bad == 0, name, "malformed/oversized events or data not a JSON object");
  check(c->events == s->events, name, "event count differs from the generated stream");
  check(c->data_bytes == s->data_bytes, name, "data bytes differ from the generated stream");
  if (w == W_TOOL_RESULT) {
    check(c->matches == s->events, name, "not every event was detected as authenticate_meta");
    check(c->token_hash == s->token_hash, name, "extracted link tokens differ");
    check(c->with_call_id == s->events, name, "tool_call_id missing from a match");
  } else {
    check(c->skipped == s->events, name, "an event left the prefilter/skip path");
  }
}

static double run_once(workload_id w, const stream *s) {
  const char *name = workloads[w].name;
  double t0 = now_seconds();
  double t;
  switch (w) {
  case W_TOKEN_DELTA:
  case W_TOOL_RESULT:
  case W_FRAME_ONLY:
  case W_FRAME_ONLY_TOOL:
  case W_NDJSON: {
    int inspect = w != W_FRAME_ONLY && w != W_FRAME_ONLY_TOOL;
    counts c = run_framer(w == W_NDJSON ? FRAMER_NDJSON : FRAMER_SSE, inspect, &s->bytes);
    t = now_seconds() - t0;
    check_counts(&c, s, w, name);
    break;
  }
  case W_YAJL: {
    uint64_t maps = run_yajl(s, YAJL_EMPTY_CB);
    t = now_seconds() - t0;
    check(maps == s->events * s->maps_per_event, name, "yajl rejected a payload or map count differs");
    break;
  }
  case W_YAJL_NESTED: {
    uint64_t maps = run_yajl(s, YAJL_NESTED);
    t = now_seconds() - t0;
    check(maps == s->events * (s->maps_per_event + s->inner_maps_per_event), name,
          "yajl rejected a payload or map count differs");
    break;
  }
  case W_YAJL_NOCB:
  default: {
    uint64_t ok = run_yajl(s, YAJL_NO_CB);
    t = now_seconds() - t0;
    check(ok == s->events, name, "yajl rejected a payload");
    break;
  }
  }
  return t;
}

/* ---- output -------------------------------------------------------------- */

static double mbps(const result *r) {
  return (double)r->bytes / r->best / 1e6;
}

static double evps(const result *r) {
  return (double)r->events / r->best;
}

static void usage(FILE *out) {
  fprintf(out, "usage: bench-parser [--quick] [--json FILE] [--reps N] [--size-mib N] "
               "[--only NAME] [--sample]\n"
               "  --quick       %d MiB streams, one run, no warm-up (correctness smoke test)\n"
               "  --json FILE   also write the results as JSON to FILE\n"
               "  --reps N      best of N runs after a warm-up (default %d)\n"
               "  --size-mib N  size of each generated stream (default %d)\n"
               "  --only NAME   run one workload (for profiling): sse-token-delta,\n"
               "                sse-tool-result, yajl-raw, yajl-raw-nested, yajl-raw-nocb,\n"
               "                ndjson-token-delta, sse-frame-only, sse-frame-only-tool\n"
               "  --sample      print the first events of the generated streams and exit\n",
          QUICK_MIB, DEFAULT_REPS, FULL_MIB);
}

static long parse_positive(const char *s, const char *opt) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0 || v > 4096) {
    fprintf(stderr, "bench-parser: %s needs a positive integer (got \"%s\")\n", opt, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  int quick = 0;
  const char *json_path = NULL;
  long reps = -1;
  long size_mib = -1;
  const char *only = NULL;
  int sample = 0;
  int ran[W_COUNT];
  int need_delta = 0, need_tool = 0;
  int i;
  stream delta_sse, delta_ndjson, tool;
  result res[W_COUNT];
  const stream *input[W_COUNT];
  double token_gbps = 0, tool_ratio = 0;
  int token_met, tool_met;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
    } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = parse_positive(argv[++i], "--reps");
    } else if (strcmp(argv[i], "--size-mib") == 0 && i + 1 < argc) {
      size_mib = parse_positive(argv[++i], "--size-mib");
    } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (strcmp(argv[i], "--sample") == 0) {
      sample = 1;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (reps < 0)
    reps = quick ? 1 : DEFAULT_REPS;
  if (size_mib < 0)
    size_mib = quick ? QUICK_MIB : FULL_MIB;

  for (i = 0; i < W_COUNT; i++) {
    ran[i] = only == NULL || strcmp(only, workloads[i].name) == 0;
    if (ran[i]) {
      need_tool |= workloads[i].tool_stream;
      need_delta |= !workloads[i].tool_stream;
    }
  }
  if (!need_tool && !need_delta) {
    fprintf(stderr, "bench-parser: unknown workload \"%s\"\n", only);
    usage(stderr);
    return 2;
  }

  memset(&delta_sse, 0, sizeof delta_sse);
  memset(&delta_ndjson, 0, sizeof delta_ndjson);
  memset(&tool, 0, sizeof tool);
  if (need_delta)
    gen_token_delta((size_t)size_mib << 20, &delta_sse, &delta_ndjson);
  if (need_tool)
    gen_tool_result((size_t)size_mib << 20, &tool);
  if (sample) {
    /* The first events of each stream, as generated. */
    const char *end;
    if (need_delta) {
      end = delta_sse.bytes.ptr;
      for (i = 0; i < 3; i++)
        end = strstr(end, "\n\n") + 2;
      printf("%.*s", (int)(end - delta_sse.bytes.ptr), delta_sse.bytes.ptr);
    }
    if (need_tool) {
      end = strstr(tool.bytes.ptr, "\n\n") + 2;
      printf("%.*s", (int)(end - tool.bytes.ptr), tool.bytes.ptr);
    }
    stream_free(&delta_sse);
    stream_free(&delta_ndjson);
    stream_free(&tool);
    return 0;
  }
  for (i = 0; i < W_COUNT; i++) {
    input[i] = workloads[i].tool_stream ? &tool : i == W_NDJSON ? &delta_ndjson : &delta_sse;
    res[i].events = input[i]->events;
    res[i].bytes = workloads[i].json_only ? input[i]->json.len : input[i]->bytes.len;
    res[i].best = 0;
  }

  /* Untimed: the framers must deliver exactly the generated events. */
  if (need_delta) {
    verify_stream(FRAMER_SSE, &delta_sse, 0, "verify sse token deltas");
    verify_stream(FRAMER_NDJSON, &delta_ndjson, 0, "verify ndjson token deltas");
  }
  if (need_tool)
    verify_stream(FRAMER_SSE, &tool, 1, "verify sse tool results");

  /* One warm-up run each, then the repetitions round-robin over the
   * workloads, so that a noisy moment of the machine does not hit one row
   * only. */
  if (!quick) {
    for (i = 0; i < W_COUNT; i++) {
      if (ran[i])
        (void)run_once((workload_id)i, input[i]);
    }
  }
  {
    long r;
    for (r = 0; r < reps; r++) {
      for (i = 0; i < W_COUNT; i++) {
        double t;
        if (!ran[i])
          continue;
        t = run_once((workload_id)i, input[i]);
        if (res[i].best == 0 || t < res[i].best)
          res[i].best = t;
      }
    }
  }
  for (i = 0; i < W_COUNT; i++) {
    if (res[i].best <= 0)
      res[i].best = 1e-9;
  }

  if (ran[W_TOKEN_DELTA])
    token_gbps = mbps(&res[W_TOKEN_DELTA]) / 1000.0;
  if (ran[W_TOOL_RESULT] && ran[W_YAJL])
    tool_ratio = evps(&res[W_TOOL_RESULT]) / evps(&res[W_YAJL]);
  token_met = ran[W_TOKEN_DELTA] && token_gbps >= GOAL_TOKEN_DELTA_GBPS;
  tool_met = ran[W_TOOL_RESULT] && ran[W_YAJL] && tool_ratio >= GOAL_TOOL_RESULT_RATIO;

  printf("# bench-parser (build %s%s%s)\n\n", AUTHRELAY_BENCH_BUILD_TYPE,
         BENCH_SANITIZED ? ", sanitizers: timings meaningless" : "",
         quick ? ", --quick: correctness only, timings meaningless" : "");
  printf("streams: %ld MiB each, fed in %d KiB chunks; best of %ld run%s%s; "
         "MB = 10^6 bytes, GB = 10^9 bytes\n",
         size_mib, CHUNK_BYTES / 1024, reps, reps == 1 ? "" : "s",
         quick ? "" : " after a warm-up");
  if (need_delta)
    printf("token deltas: %" PRIu64 " events, %.0f stream bytes and %.0f data bytes each\n",
           delta_sse.events, (double)delta_sse.bytes.len / (double)delta_sse.events,
           (double)delta_sse.data_bytes / (double)delta_sse.events);
  if (need_tool)
    printf("tool results: %" PRIu64 " events, %d data bytes each, %.0f%% of them the "
           "JSON-in-string text\n",
           tool.events, TOOL_RESULT_BYTES,
           100.0 * (double)tool.inner_bytes / (double)tool.data_bytes);
  printf("\n| workload | MB/s | events/s | ratio/goal | met? |\n");
  printf("| --- | ---: | ---: | --- | --- |\n");
  for (i = 0; i < W_COUNT; i++) {
    char ratio[96];
    const char *met = "";
    workload_id ref = W_TOKEN_DELTA;
    if (!ran[i])
      continue;
    switch ((workload_id)i) {
    case W_YAJL_NESTED:
    case W_YAJL_NOCB:
      ref = W_YAJL;
      break;
    case W_FRAME_ONLY_TOOL:
      ref = W_TOOL_RESULT;
      break;
    default:
      break;
    }
    if (only != NULL) {
      snprintf(ratio, sizeof ratio, "(--only: no comparison)");
    } else if (i == W_TOKEN_DELTA) {
      snprintf(ratio, sizeof ratio, "%.2f GB/s (goal >= %.1f GB/s)", token_gbps,
               GOAL_TOKEN_DELTA_GBPS);
      met = quick || BENCH_SANITIZED ? "n/a" : token_met ? "yes" : "**no**";
    } else if (i == W_TOOL_RESULT) {
      snprintf(ratio, sizeof ratio, "%.2fx (c) events/s (goal >= %.1fx)", tool_ratio,
               GOAL_TOOL_RESULT_RATIO);
      met = quick || BENCH_SANITIZED ? "n/a" : tool_met ? "yes" : "**no**";
    } else if (i == W_YAJL) {
      snprintf(ratio, sizeof ratio, "1.00x (baseline of (b))");
    } else {
      snprintf(ratio, sizeof ratio, "%.2fx %s events/s", evps(&res[i]) / evps(&res[ref]),
               ref == W_YAJL ? "(c)" : ref == W_TOOL_RESULT ? "(b)" : "(a)");
    }
    printf("| %s | %.0f | %.0f | %s | %s |\n", workloads[i].label, mbps(&res[i]), evps(&res[i]),
           ratio, met);
  }
  printf("\nchecks: ok (untimed pass: every event's data, type, id and span; every run: "
         "event counts, data bytes, verdicts%s)\n",
         ran[W_TOOL_RESULT] ? ", link tokens" : "");
  if (only == NULL && !quick && !BENCH_SANITIZED)
    printf("goals: %s\n", token_met && tool_met ? "met"
                                                 : "NOT MET (see bench/README.md for the profile)");

  if (json_path != NULL) {
    FILE *out = fopen(json_path, "w");
    int first = 1;
    if (out == NULL) {
      fprintf(stderr, "bench-parser: cannot write %s: %s\n", json_path, strerror(errno));
      return 1;
    }
    fprintf(out, "{\"build_type\":\"%s\",\"sanitized\":%s,\"quick\":%s,\"size_mib\":%ld,"
                 "\"chunk_bytes\":%d,\"reps\":%ld,\"workloads\":[",
            AUTHRELAY_BENCH_BUILD_TYPE, BENCH_SANITIZED ? "true" : "false",
            quick ? "true" : "false", size_mib, CHUNK_BYTES, reps);
    for (i = 0; i < W_COUNT; i++) {
      if (!ran[i])
        continue;
      fprintf(out, "%s{\"name\":\"%s\",\"bytes\":%" PRIu64 ",\"events\":%" PRIu64
                   ",\"best_seconds\":%.6f,\"mb_per_s\":%.1f,\"events_per_s\":%.0f}",
              first ? "" : ",", workloads[i].name, res[i].bytes, res[i].events, res[i].best,
              mbps(&res[i]), evps(&res[i]));
      first = 0;
    }
    if (only != NULL)
      fprintf(out, "],\"goals\":null");
    else
      fprintf(out, "],\"goals\":{\"token_delta_gb_per_s\":%.3f,\"token_delta_goal\":%.1f,"
                   "\"token_delta_met\":%s,\"tool_result_vs_yajl\":%.3f,"
                   "\"tool_result_goal\":%.1f,\"tool_result_met\":%s}",
              token_gbps, GOAL_TOKEN_DELTA_GBPS, token_met ? "true" : "false", tool_ratio,
              GOAL_TOOL_RESULT_RATIO, tool_met ? "true" : "false");
    fprintf(out, ",\"checksums_ok\":true}\n");
    if (fclose(out) != 0) {
      fprintf(stderr, "bench-parser: cannot write %s\n", json_path);
      return 1;
    }
  }

  stream_free(&delta_sse);
  stream_free(&delta_ndjson);
  stream_free(&tool);
  return 0;
}
