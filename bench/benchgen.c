/* benchgen: the generated streams of bench-parser (see benchgen.h). */
#include "benchgen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_die(const char *what) {
  fprintf(stderr, "bench-parser: %s\n", what);
  exit(1);
}


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
    bench_die("out of memory");
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

void bench_buf_free(buf *b) {
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

uint64_t bench_fnv1a(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ull;
  }
  return h;
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


void benchgen_stream_free(stream *s) {
  bench_buf_free(&s->bytes);
  bench_buf_free(&s->json);
  free(s->json_len);
  memset(s, 0, sizeof *s);
}

/* (a) and (d): the same token-delta payloads as SSE and as NDJSON. */
void benchgen_token_delta(size_t target, stream *sse, stream *ndjson) {
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
  bench_buf_free(&data);
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
void benchgen_tool_result(size_t target, stream *s) {
  buf inner = {0};
  buf data = {0};
  size_t cap_events = target / TOOL_RESULT_BYTES + 2;
  rng_state = 0xD1B54A32D192ED03ull;
  s->json_len = malloc(cap_events * sizeof *s->json_len);
  if (s->json_len == NULL)
    bench_die("out of memory");
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
      bench_die("tool result template exceeds its size");
    /* Insert the padding prose at pad_at. */
    pad = TOOL_RESULT_BYTES - data.len;
    {
      buf tail = {0};
      buf_add(&tail, data.ptr + pad_at, data.len - pad_at);
      data.len = pad_at;
      add_prose(&data, pad);
      buf_add(&data, tail.ptr, tail.len);
      bench_buf_free(&tail);
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
      s->token_hash += bench_fnv1a(lt, (size_t)ln);
    }
  }
  bench_buf_free(&inner);
  bench_buf_free(&data);
}
