/* fuzz_framer: libFuzzer harness for the framer (parser/framer.h) and the
 * detector (parser/detect.h).
 *
 * Input layout (corpus/fuzz_framer/ holds seeds, gen_corpus.py writes them):
 *   byte 0   bits 0-1  format: 0 raw, 1 sse, 2 ndjson, 3 json
 *            bits 2-3  max_event_bytes: 0 default (1 MiB), 1 -> 64,
 *                      2 -> 4096, 3 -> 1 + bits 5-7 (1..8)
 *            bit 4     inspect off (frame only)
 *   byte 1-2 chunking seed, little endian; seed & 3 picks the chunk-size
 *            distribution (1..3, 1..17, 1..512 bytes, or mixed with empty
 *            feeds and up to 4 KiB)
 *   byte 3   stop mask: on_event returns "stop" for an event whose
 *            index % 8 has its bit set; the harness then feeds the rest of
 *            the chunk again, as the proxy does when it resumes a stream
 *   rest     the response body
 *
 * For each input the body goes through:
 *   1. a framer fed in the chunks above, with stops, checked as it goes:
 *      event indexes 0,1,2..; start < end <= bytes fed; spans ascending and
 *      disjoint; a non-oversized event never starts before a safe offset
 *      already handed out; framer_safe_offset() monotonic and <= consumed;
 *      framer_feed() returns exactly up to the stopping event; data_len <=
 *      max_event_bytes; buffers never grow past their cap; status and match
 *      consistent; stats match the callbacks; everything flushable at finish;
 *   2. a second framer fed the whole body in one framer_feed() call, never
 *      stopping: it must give exactly the same events, retries and
 *      oversized notices (chunk-size and stop independence);
 *   3. a small reference model of parser/SEMANTICS.md (SSE, NDJSON, JSON
 *      framing; detection by a fresh detector on the event data): the
 *      events, spans, fields, retries and oversized notices must agree;
 *   4. the detector alone, fed the body as a payload in growing prefixes
 *      (in fresh buffers while small, as "the buffer may have moved"):
 *      same verdict and match as one detect_feed() of the whole and as
 *      detect_finish() alone; the prefilter fires exactly at the first
 *      prefix detect_prefilter() accepts; a valid JSON text without
 *      backslashes gets the same verdict as the string value of
 *      {"s":"..."} (JSON-in-string).
 * A violated invariant prints what failed and calls abort(), so libFuzzer
 * (or replay_main.c) reports the input. With FUZZ_FRAMER_DEBUG set in the
 * environment, the configuration and the events of each input are printed
 * to stderr (to look at a reproducer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "framer.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER_BYTES 4
#define FIELDS 6 /* the detect_str members of detect_match */

/* ---- small helpers -------------------------------------------------------- */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n != 0 ? n : 1);
  if (q == NULL) {
    fprintf(stderr, "fuzz_framer: out of memory\n");
    abort();
  }
  return q;
}

/* A growable byte string of the reference model. */
typedef struct bytes {
  char *p;
  size_t len;
  size_t cap;
} bytes;

static void bytes_add(bytes *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n)
      cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
  }
  if (n > 0)
    memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void bytes_set(bytes *b, const void *p, size_t n) {
  b->len = 0;
  bytes_add(b, p, n);
}

/* A copied (ptr, len), or absent. */
typedef struct rec_str {
  int present;
  char *ptr;
  size_t len;
} rec_str;

static rec_str rec_copy(const char *p, size_t len) {
  rec_str s;
  s.present = p != NULL;
  s.len = len;
  s.ptr = NULL;
  if (p != NULL) {
    s.ptr = xrealloc(NULL, len + 1);
    if (len > 0)
      memcpy(s.ptr, p, len);
    s.ptr[len] = '\0';
  }
  return s;
}

static int rec_equal(const rec_str *a, const rec_str *b) {
  if (a->present != b->present)
    return 0;
  if (!a->present)
    return 1;
  return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* A detector verdict with its match copied out. */
typedef struct rec_verdict {
  detect_status status;
  int has_match;
  detect_shape shape;
  rec_str field[FIELDS];
} rec_verdict;

static const detect_str *match_field(const detect_match *m, int i) {
  switch (i) {
  case 0:
    return &m->connector;
  case 1:
    return &m->link_token;
  case 2:
    return &m->magic_link_url;
  case 3:
    return &m->expires_at;
  case 4:
    return &m->message;
  default:
    return &m->tool_call_id;
  }
}

/* Checks a verdict as the detector reports it and copies it. */
static rec_verdict verdict_record(detect_status status, const detect_match *m) {
  rec_verdict v;
  int i;
  memset(&v, 0, sizeof v);
  REQUIRE_MSG(status == DETECT_SKIPPED || status == DETECT_NO_MATCH || status == DETECT_MATCH ||
            status == DETECT_MALFORMED || status == DETECT_OVERSIZED,
        "detect status out of range");
  REQUIRE_MSG((status == DETECT_MATCH) == (m != NULL), "match is non-NULL exactly on DETECT_MATCH");
  v.status = status;
  if (m == NULL)
    return v;
  REQUIRE_MSG(m->shape == DETECT_SHAPE_AUTHENTICATE_META || m->shape == DETECT_SHAPE_MAGIC_LINK,
        "match shape is one of the two");
  if (m->shape == DETECT_SHAPE_MAGIC_LINK)
    REQUIRE_MSG(m->link_token.ptr != NULL && m->magic_link_url.ptr != NULL,
          "magic_link match has link_token and magic_link_url");
  v.has_match = 1;
  v.shape = m->shape;
  for (i = 0; i < FIELDS; i++) {
    const detect_str *s = match_field(m, i);
    if (s->ptr == NULL)
      REQUIRE_MSG(s->len == 0, "absent match field has length 0");
    else
      REQUIRE_CMP(s->len <= DETECT_FIELD_MAX, "match field longer than DETECT_FIELD_MAX", s->len,
             DETECT_FIELD_MAX);
    v.field[i] = rec_copy(s->ptr, s->len); /* touches every byte: ASan checks them */
  }
  return v;
}

static int verdict_equal(const rec_verdict *a, const rec_verdict *b) {
  int i;
  if (a->status != b->status || a->has_match != b->has_match)
    return 0;
  if (!a->has_match)
    return 1;
  if (a->shape != b->shape)
    return 0;
  for (i = 0; i < FIELDS; i++) {
    if (!rec_equal(&a->field[i], &b->field[i]))
      return 0;
  }
  return 1;
}

static void verdict_free(rec_verdict *v) {
  int i;
  for (i = 0; i < FIELDS; i++)
    free(v->field[i].ptr);
}

/* What one payload gives a fresh detector: fed in one call and finished, or
 * (feed_first 0) only finished. */
static rec_verdict detect_once(const char *p, size_t len, int feed_first) {
  detect_t d;
  const detect_match *m;
  detect_status st;
  rec_verdict v;
  detect_init(&d);
  if (feed_first)
    detect_feed(&d, p, len);
  st = detect_finish(&d, p, len, &m);
  v = verdict_record(st, m);
  detect_close(&d);
  return v;
}

/* xorshift32 */
static uint32_t rng_next(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static uint32_t rng_init(uint16_t seed, uint32_t salt) {
  uint32_t s = ((uint32_t)seed + 1u) * 2654435761u ^ salt;
  return s != 0 ? s : 1;
}

/* The size of the next chunk; mode picks the distribution. */
static size_t chunk_size(uint32_t *rng, unsigned mode) {
  uint32_t r = rng_next(rng);
  switch (mode & 3) {
  case 0:
    return 1 + r % 3;
  case 1:
    return 1 + r % 17;
  case 2:
    return 1 + r % 512;
  default:
    if (r % 8 == 0)
      return 0; /* an empty feed */
    return 1 + (r >> 8) % (1u << (r % 13));
  }
}

/* ---- the decoded header --------------------------------------------------- */

typedef struct config {
  framer_format format;
  size_t opt_max;         /* max_event_bytes handed to framer_init (0: default) */
  size_t max_event_bytes; /* the cap in effect */
  int inspect;
  uint16_t seed;
  uint8_t stop_mask;
} config;

static config config_decode(const uint8_t *h) {
  static const framer_format formats[4] = {FRAMER_RAW, FRAMER_SSE, FRAMER_NDJSON, FRAMER_JSON};
  config c;
  c.format = formats[h[0] & 3];
  switch ((h[0] >> 2) & 3) {
  case 0:
    c.opt_max = 0;
    break;
  case 1:
    c.opt_max = 64;
    break;
  case 2:
    c.opt_max = 4096;
    break;
  default:
    c.opt_max = 1 + (size_t)(h[0] >> 5);
    break;
  }
  c.max_event_bytes = c.opt_max != 0 ? c.opt_max : FRAMER_DEFAULT_MAX_EVENT_BYTES;
  c.inspect = (h[0] & 0x10) == 0;
  c.seed = (uint16_t)(h[1] | (h[2] << 8));
  c.stop_mask = h[3];
  return c;
}

/* ---- recorded events ------------------------------------------------------ */

typedef struct rec_event {
  uint64_t index;
  uint64_t start;
  uint64_t end;
  rec_str data;
  rec_str type;
  rec_str id;
  int oversized;
  rec_verdict verdict;
} rec_event;

/* Everything a stream produced: events, retries, oversized notices. */
typedef struct outcome {
  rec_event *ev;
  size_t n_ev;
  size_t cap_ev;
  uint64_t *retry;
  size_t n_retry;
  size_t cap_retry;
  uint64_t *over; /* index passed to each on_oversized call */
  size_t n_over;
  size_t cap_over;
} outcome;

static rec_event *outcome_add_event(outcome *o) {
  rec_event *e;
  if (o->n_ev == o->cap_ev) {
    o->cap_ev = o->cap_ev ? o->cap_ev * 2 : 16;
    o->ev = xrealloc(o->ev, o->cap_ev * sizeof *o->ev);
  }
  e = &o->ev[o->n_ev++];
  memset(e, 0, sizeof *e);
  return e;
}

static void u64_push(uint64_t **v, size_t *n, size_t *cap, uint64_t x) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 8;
    *v = xrealloc(*v, *cap * sizeof **v);
  }
  (*v)[(*n)++] = x;
}

static void outcome_free(outcome *o) {
  size_t i;
  for (i = 0; i < o->n_ev; i++) {
    free(o->ev[i].data.ptr);
    free(o->ev[i].type.ptr);
    free(o->ev[i].id.ptr);
    verdict_free(&o->ev[i].verdict);
  }
  free(o->ev);
  free(o->retry);
  free(o->over);
  memset(o, 0, sizeof *o);
}

/* Compares two outcomes. with_verdicts: also the detector's verdicts. */
static void outcome_compare(const outcome *a, const outcome *b, int with_verdicts,
                            const char *what) {
  size_t i;
  if (a->n_ev != b->n_ev || a->n_retry != b->n_retry || a->n_over != b->n_over) {
    fprintf(stderr, "fuzz_framer: %s: %zu/%zu events, %zu/%zu retries, %zu/%zu oversized\n",
            what, a->n_ev, b->n_ev, a->n_retry, b->n_retry, a->n_over, b->n_over);
    REQUIRE_MSG(0, "outcomes differ in counts");
  }
  for (i = 0; i < a->n_ev; i++) {
    const rec_event *x = &a->ev[i];
    const rec_event *y = &b->ev[i];
    int same = x->index == y->index && x->start == y->start && x->end == y->end &&
               rec_equal(&x->data, &y->data) && rec_equal(&x->type, &y->type) &&
               rec_equal(&x->id, &y->id) && x->oversized == y->oversized;
    if (same && with_verdicts)
      same = verdict_equal(&x->verdict, &y->verdict);
    if (!same) {
      fprintf(stderr,
              "fuzz_framer: %s: event %zu differs: index %llu/%llu span [%llu,%llu)/[%llu,%llu)"
              " data_len %zu/%zu type %d:%zu/%d:%zu id %d:%zu/%d:%zu oversized %d/%d"
              " status %d/%d\n",
              what, i, (unsigned long long)x->index, (unsigned long long)y->index,
              (unsigned long long)x->start, (unsigned long long)x->end,
              (unsigned long long)y->start, (unsigned long long)y->end, x->data.len,
              y->data.len, x->type.present, x->type.len, y->type.present, y->type.len,
              x->id.present, x->id.len, y->id.present, y->id.len, x->oversized, y->oversized,
              (int)x->verdict.status, (int)y->verdict.status);
      REQUIRE_MSG(0, "outcomes differ in an event");
    }
  }
  for (i = 0; i < a->n_retry; i++)
    REQUIRE_CMP(a->retry[i] == b->retry[i], "outcomes differ in a retry", a->retry[i], b->retry[i]);
  for (i = 0; i < a->n_over; i++)
    REQUIRE_CMP(a->over[i] == b->over[i], "outcomes differ in an oversized notice", a->over[i],
           b->over[i]);
}

/* ---- a framer run --------------------------------------------------------- */

typedef struct run {
  const config *cfg;
  framer_t f;
  outcome out;
  int use_stop;        /* on_event follows cfg->stop_mask */
  int in_finish;       /* inside framer_finish() */
  uint64_t call_base;  /* stream offset of the current framer_feed() call */
  size_t call_len;     /* its length */
  int stopped;         /* on_event asked to stop during the current call */
  uint64_t stop_end;   /* the end of the event that asked */
  uint64_t safe_seen;  /* highest framer_safe_offset() handed out so far */
  uint64_t last_end;   /* end of the last event */
  int over_pending;    /* on_oversized fired for the next index */
  uint64_t over_index;
} run;

static int on_event(void *ctx, const framer_event *ev) {
  run *r = ctx;
  const config *c = r->cfg;
  uint64_t limit = r->in_finish ? r->f.offset : r->call_base + r->call_len;
  rec_event *e;
  int stop;

  REQUIRE_MSG(c->format != FRAMER_RAW, "RAW dispatched an event");
  REQUIRE_MSG(!r->stopped, "an event after on_event asked to stop");
  REQUIRE_CMP(ev->index == r->out.n_ev, "event index is not the next one", ev->index, r->out.n_ev);
  REQUIRE_CMP(ev->start < ev->end, "event span is empty or reversed", ev->start, ev->end);
  REQUIRE_CMP(ev->end <= limit, "event ends past the bytes fed", ev->end, limit);
  REQUIRE_CMP(ev->start >= r->last_end, "event overlaps the previous one", ev->start, r->last_end);
  if (!ev->oversized)
    REQUIRE_CMP(ev->start >= r->safe_seen, "event starts before a safe offset already handed out",
           ev->start, r->safe_seen);
  REQUIRE_MSG(ev->data != NULL, "event data is NULL");
  REQUIRE_CMP(ev->data_len <= c->max_event_bytes, "data_len over max_event_bytes", ev->data_len,
         c->max_event_bytes);
  REQUIRE_MSG(ev->type == NULL ? ev->type_len == 0 : ev->type_len > 0,
        "type is NULL exactly when absent or empty");
  REQUIRE_MSG(ev->id != NULL || ev->id_len == 0, "absent id has length 0");
  if (ev->type != NULL)
    REQUIRE_CMP(ev->type_len <= c->max_event_bytes, "type over max_event_bytes", ev->type_len,
           c->max_event_bytes);
  if (ev->id != NULL) {
    REQUIRE_CMP(ev->id_len <= c->max_event_bytes, "id over max_event_bytes", ev->id_len,
           c->max_event_bytes);
    REQUIRE_MSG(ev->id_len == 0 || memchr(ev->id, '\0', ev->id_len) == NULL, "id holds NUL");
  }
  if (c->format != FRAMER_SSE)
    REQUIRE_MSG(ev->type == NULL && ev->id == NULL, "non-SSE event has a type or id");
  if (c->format == FRAMER_NDJSON)
    REQUIRE_MSG(ev->data_len == 0 || memchr(ev->data, '\n', ev->data_len) == NULL,
          "NDJSON data holds LF");
  if (c->format == FRAMER_JSON)
    REQUIRE_MSG(ev->start == 0 && r->in_finish, "JSON event not the whole body at finish");
  if (ev->oversized) {
    REQUIRE_MSG(ev->status == DETECT_OVERSIZED, "oversized event not DETECT_OVERSIZED");
    REQUIRE_MSG(r->over_pending && r->over_index == ev->index,
          "oversized event without on_oversized for its index");
  } else {
    REQUIRE_MSG(ev->status != DETECT_OVERSIZED, "DETECT_OVERSIZED on an event that is not");
    if (!c->inspect)
      REQUIRE_MSG(ev->status == DETECT_SKIPPED, "inspect off but the detector ran");
  }
  r->over_pending = 0;

  e = outcome_add_event(&r->out);
  e->index = ev->index;
  e->start = ev->start;
  e->end = ev->end;
  e->data = rec_copy(ev->data, ev->data_len);
  e->type = rec_copy(ev->type, ev->type_len);
  e->id = rec_copy(ev->id, ev->id_len);
  e->oversized = ev->oversized;
  e->verdict = verdict_record(ev->status, ev->match);
  r->last_end = ev->end;

  stop = r->use_stop && ((r->cfg->stop_mask >> (ev->index % 8)) & 1);
  if (stop && !r->in_finish) {
    r->stopped = 1;
    r->stop_end = ev->end;
  }
  return stop;
}

static void on_retry(void *ctx, uint64_t ms) {
  run *r = ctx;
  REQUIRE_MSG(r->cfg->format == FRAMER_SSE, "on_retry outside SSE");
  u64_push(&r->out.retry, &r->out.n_retry, &r->out.cap_retry, ms);
}

static void on_oversized(void *ctx, uint64_t index) {
  run *r = ctx;
  REQUIRE_MSG(r->cfg->format != FRAMER_RAW, "on_oversized for RAW");
  REQUIRE_CMP(index == r->out.n_ev, "on_oversized index is not the next event's", index,
         r->out.n_ev);
  r->over_pending = 1;
  r->over_index = index;
  u64_push(&r->out.over, &r->out.n_over, &r->out.cap_over, index);
}

static void check_caps(const run *r) {
  const framer_t *f = &r->f;
  size_t cap = r->cfg->max_event_bytes + 1;
  REQUIRE_CMP(f->data.len <= r->cfg->max_event_bytes, "payload over max_event_bytes", f->data.len,
         r->cfg->max_event_bytes);
  REQUIRE_CMP(f->data.cap <= cap, "payload storage over its cap", f->data.cap, cap);
  if (r->cfg->format == FRAMER_SSE) {
    REQUIRE_CMP(f->sse.type.cap <= cap, "SSE type storage over its cap", f->sse.type.cap, cap);
    REQUIRE_CMP(f->sse.id.cap <= cap, "SSE id storage over its cap", f->sse.id.cap, cap);
    REQUIRE_CMP(f->sse.value.cap <= cap, "SSE value storage over its cap", f->sse.value.cap, cap);
  }
}

/* One framer_feed() call and what must hold after it. Returns bytes used. */
static size_t feed_checked(run *r, const char *p, size_t len) {
  uint64_t before = r->f.offset;
  uint64_t safe;
  size_t used;
  r->call_base = before;
  r->call_len = len;
  r->stopped = 0;
  used = framer_feed(&r->f, p, len);
  REQUIRE_CMP(used <= len, "framer_feed used more than it got", used, len);
  REQUIRE_CMP(r->f.offset == before + used, "offset does not advance by the bytes used",
         r->f.offset, before + used);
  if (used < len) {
    REQUIRE_MSG(r->stopped, "framer_feed returned early but nobody asked to stop");
    REQUIRE_MSG(used > 0, "framer_feed made no progress");
  }
  if (r->stopped)
    REQUIRE_CMP(before + used == r->stop_end, "stop did not return right after the event",
           before + used, r->stop_end);
  r->stopped = 0;
  safe = framer_safe_offset(&r->f);
  REQUIRE_CMP(safe >= r->safe_seen, "safe offset went backwards", safe, r->safe_seen);
  REQUIRE_CMP(safe <= r->f.offset, "safe offset past the bytes consumed", safe, r->f.offset);
  REQUIRE_CMP(safe >= r->last_end, "safe offset before the end of a dispatched event", safe,
         r->last_end);
  if (r->cfg->format == FRAMER_RAW)
    REQUIRE_CMP(safe == r->f.offset, "RAW keeps bytes back", safe, r->f.offset);
  if (r->cfg->format == FRAMER_JSON)
    REQUIRE_CMP(safe == 0 || safe == r->f.offset, "JSON safe offset neither 0 nor everything", safe,
           r->f.offset);
  r->safe_seen = safe;
  check_caps(r);
  return used;
}

/* Feeds body through a new framer, in chunks (chunked) or in one call, and
 * finishes it. The caller frees r->out. */
static void run_framer(run *r, const config *c, const char *body, size_t len, int chunked,
                       int use_stop) {
  static const char empty[1] = {0};
  framer_options opt;
  framer_callbacks cb;
  uint32_t rng = rng_init(c->seed, 0x51ed270bu);
  size_t pos = 0;
  size_t events_before_finish;

  memset(r, 0, sizeof *r);
  r->cfg = c;
  r->use_stop = use_stop;
  opt.max_event_bytes = c->opt_max;
  opt.inspect = c->inspect;
  cb.on_event = on_event;
  cb.on_retry = on_retry;
  cb.on_oversized = on_oversized;
  REQUIRE_MSG(framer_init(&r->f, c->format, &opt, &cb, r) == 0, "framer_init failed");
  REQUIRE_MSG(framer_safe_offset(&r->f) == 0, "fresh framer has a safe offset");

  if (!chunked) {
    (void)feed_checked(r, len > 0 ? body : empty, 0); /* an empty feed changes nothing */
    REQUIRE_MSG(r->out.n_ev == 0, "an empty feed dispatched");
  }
  while (pos < len) {
    size_t n = chunked ? chunk_size(&rng, c->seed) : len - pos;
    size_t rest;
    if (n > len - pos)
      n = len - pos;
    rest = n;
    if (n == 0)
      (void)feed_checked(r, body + pos, 0);
    while (rest > 0) { /* after a stop, the rest of the chunk is fed again */
      size_t used = feed_checked(r, body + pos, rest);
      pos += used;
      rest -= used;
    }
  }
  REQUIRE_CMP(r->f.offset == len, "framer consumed other than the body", r->f.offset, len);

  events_before_finish = r->out.n_ev;
  r->in_finish = 1;
  framer_finish(&r->f);
  r->in_finish = 0;
  REQUIRE_MSG(r->out.n_ev - events_before_finish <= 1, "framer_finish dispatched more than one event");
  REQUIRE_CMP(framer_safe_offset(&r->f) == len, "not everything is flushable at finish",
         framer_safe_offset(&r->f), len);
  check_caps(r);

  {
    const framer_stats *s = &r->f.stats;
    uint64_t matches = 0, malformed = 0;
    size_t i;
    for (i = 0; i < r->out.n_ev; i++) {
      matches += r->out.ev[i].verdict.status == DETECT_MATCH;
      malformed += r->out.ev[i].verdict.status == DETECT_MALFORMED;
    }
    REQUIRE_CMP(s->events == r->out.n_ev, "stats.events", s->events, r->out.n_ev);
    REQUIRE_CMP(s->matches == matches, "stats.matches", s->matches, matches);
    REQUIRE_CMP(s->malformed == malformed, "stats.malformed", s->malformed, malformed);
    REQUIRE_CMP(s->oversized == r->out.n_over, "stats.oversized vs on_oversized calls", s->oversized,
           r->out.n_over);
  }
  framer_close(&r->f);
}

/* ---- the reference model (parser/SEMANTICS.md) ----------------------------
 * Whole-input, line-at-a-time, written from the spec rather than from the
 * state machines. Oversized: the data keeps its first max_event_bytes bytes
 * whatever made the event oversized (data, or an SSE event/id value), and
 * on_oversized fires once per event as soon as it is oversized and known to
 * be an event (an SSE block once it has a data line; a block without data is
 * never announced). Retry: any non-empty all-digit value, saturating. */

typedef struct model {
  const config *cfg;
  outcome out;
  int over;     /* the event in progress is oversized */
  int told;     /* on_oversized was called for it */
  int can_tell; /* it is an event: not an SSE block without data (yet) */
} model;

/* on_oversized, once per event, as soon as the event is oversized and known
 * to be an event. */
static void model_tell(model *m) {
  if (m->over && m->can_tell && !m->told) {
    m->told = 1;
    u64_push(&m->out.over, &m->out.n_over, &m->out.cap_over, m->out.n_ev);
  }
}

static void model_set_over(model *m) {
  m->over = 1;
  model_tell(m);
}

static void model_event_reset(model *m, int can_tell) {
  m->over = m->told = 0;
  m->can_tell = can_tell;
}

/* Appends to an event's data: the data keeps its first max_event_bytes
 * bytes, whatever made the event oversized. */
static void model_data_add(model *m, bytes *data, const void *p, size_t n) {
  bytes_add(data, p, n);
  if (data->len > m->cfg->max_event_bytes) {
    data->len = m->cfg->max_event_bytes;
    model_set_over(m);
  }
}

static void model_emit(model *m, uint64_t start, uint64_t end, const bytes *data,
                       const bytes *type, const bytes *id) {
  rec_event *e = outcome_add_event(&m->out);
  e->index = m->out.n_ev - 1;
  e->start = start;
  e->end = end;
  e->data = rec_copy(data->p != NULL ? data->p : "", data->len);
  e->type = rec_copy(type != NULL && type->len > 0 ? type->p : NULL, type != NULL ? type->len : 0);
  if (!e->type.present)
    e->type.len = 0;
  e->id = rec_copy(id != NULL ? (id->p != NULL ? id->p : "") : NULL, id != NULL ? id->len : 0);
  e->oversized = m->over;
}

static int is_blank(const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
      return 0;
  }
  return 1;
}

static void model_sse(model *m, const char *in, size_t n) {
  const size_t max = m->cfg->max_event_bytes;
  bytes data = {0}, type = {0}, id = {0};
  int block_open = 0, has_data = 0, has_id = 0;
  uint64_t start = 0;
  size_t pos = 0;
  if (n >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  model_event_reset(m, 0); /* an SSE block is an event once it has data */
  while (pos < n) {
    size_t eol = pos, next, line_len, name_len, value_len;
    const char *line = in + pos, *colon, *value;
    int complete;
    while (eol < n && in[eol] != '\r' && in[eol] != '\n')
      eol++;
    complete = eol < n;
    line_len = eol - pos;
    next = complete ? eol + 1 : n;
    if (complete && in[eol] == '\r' && next < n && in[next] == '\n')
      next++; /* CRLF is one line end */
    if (line_len == 0) {
      if (!complete)
        break;
      if (block_open) { /* a blank line ends the block */
        if (has_data)
          model_emit(m, start, eol + 1, &data, &type, has_id ? &id : NULL);
        block_open = has_data = has_id = 0;
        model_event_reset(m, 0);
        data.len = type.len = id.len = 0;
      }
      pos = next;
      continue;
    }
    if (line[0] == ':') { /* comment */
      pos = next;
      continue;
    }
    if (!block_open) {
      block_open = 1;
      start = pos;
    }
    colon = memchr(line, ':', line_len);
    if (colon == NULL && !complete)
      break; /* the field name never ended: nothing happened */
    name_len = colon != NULL ? (size_t)(colon - line) : line_len;
    value = colon != NULL ? colon + 1 : line + line_len;
    value_len = (size_t)(line + line_len - value);
    if (value_len > 0 && value[0] == ' ') {
      value++;
      value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
      if (has_data)
        model_data_add(m, &data, "\n", 1);
      has_data = 1;
      m->can_tell = 1; /* an overflow of the block's event or id is told now */
      model_tell(m);
      model_data_add(m, &data, value, value_len);
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
      if (value_len > max)
        model_set_over(m);
      else if (complete)
        bytes_set(&type, value, value_len);
    } else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
      if (value_len > max) {
        model_set_over(m);
      } else if (complete && (value_len == 0 || memchr(value, '\0', value_len) == NULL)) {
        bytes_set(&id, value, value_len);
        has_id = 1;
      }
    } else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
      if (complete && value_len > 0) {
        uint64_t ms = 0;
        size_t i;
        for (i = 0; i < value_len; i++) {
          unsigned digit = (unsigned)((unsigned char)value[i] - '0');
          if (digit > 9)
            break;
          ms = ms > (UINT64_MAX - digit) / 10 ? UINT64_MAX : ms * 10 + digit;
        }
        if (i == value_len)
          u64_push(&m->out.retry, &m->out.n_retry, &m->out.cap_retry, ms);
      }
    }
    pos = next;
  }
  free(data.p);
  free(type.p);
  free(id.p);
}

static void model_ndjson(model *m, const char *in, size_t n) {
  size_t pos = 0;
  bytes data = {0};
  while (pos < n) {
    const char *nl = memchr(in + pos, '\n', n - pos);
    size_t line_end = nl != NULL ? (size_t)(nl - in) : n;
    size_t end = nl != NULL ? line_end + 1 : n;
    size_t len = line_end - pos;
    /* The CR of a CRLF is not data; a lone CR, even at the end, is. */
    if (nl != NULL && len > 0 && in[line_end - 1] == '\r')
      len--;
    data.len = 0;
    model_event_reset(m, 1);
    model_data_add(m, &data, in + pos, len);
    if (m->over || !is_blank(in + pos, len))
      model_emit(m, pos, end, &data, NULL, NULL);
    pos = end;
  }
  free(data.p);
}

static void model_json(model *m, const char *in, size_t n) {
  bytes data = {0};
  if (n == 0)
    return;
  model_event_reset(m, 1);
  model_data_add(m, &data, in, n);
  if (m->over || !is_blank(in, n))
    model_emit(m, 0, n, &data, NULL, NULL);
  free(data.p);
}

/* The model's outcome, with verdicts from a fresh detector. */
static void run_model(model *m, const config *c, const char *in, size_t n) {
  size_t i;
  memset(m, 0, sizeof *m);
  m->cfg = c;
  switch (c->format) {
  case FRAMER_SSE:
    model_sse(m, in, n);
    break;
  case FRAMER_NDJSON:
    model_ndjson(m, in, n);
    break;
  case FRAMER_JSON:
    model_json(m, in, n);
    break;
  case FRAMER_RAW:
  default:
    break;
  }
  for (i = 0; i < m->out.n_ev; i++) {
    rec_event *e = &m->out.ev[i];
    if (e->oversized)
      e->verdict.status = DETECT_OVERSIZED;
    else if (!c->inspect)
      e->verdict.status = DETECT_SKIPPED;
    else
      e->verdict = detect_once(e->data.ptr, e->data.len, 1);
  }
}

/* ---- the detector on its own ---------------------------------------------- */

/* Smallest prefix length that detect_prefilter() accepts, or len + 1. The
 * answer is monotonic in the prefix length. */
static size_t first_trigger(const char *p, size_t len) {
  size_t lo = 0, hi = len + 1; /* answer in [lo, hi] */
  if (!detect_prefilter(p, len))
    return len + 1;
  hi = len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (detect_prefilter(p, mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* A valid JSON text P without backslashes (so every match in it is at its
 * own level 0) must give the same verdict when it is the string value of
 * {"s":"P"}: looked into as JSON-in-string, one level down, and the wrapper
 * adds no tool-call id or tool name. */
static void detect_in_string(const char *p, size_t len, const rec_verdict *plain) {
  static const char hex[] = "0123456789abcdef";
  bytes w = {0};
  rec_verdict wrapped;
  size_t i = 0;
  if (plain->status != DETECT_NO_MATCH && plain->status != DETECT_MATCH)
    return;
  if (memchr(p, '\\', len) != NULL)
    return;
  while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    i++;
  if (i == len || (p[i] != '{' && p[i] != '['))
    return;
  bytes_add(&w, "{\"s\":\"", 6);
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch == '"') {
      bytes_add(&w, "\\\"", 2);
    } else if (ch < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
      bytes_add(&w, esc, sizeof esc);
    } else {
      bytes_add(&w, &p[i], 1);
    }
  }
  bytes_add(&w, "\"}", 2);
  wrapped = detect_once(w.p, w.len, 1);
  if (!verdict_equal(plain, &wrapped)) {
    fprintf(stderr, "fuzz_framer: detector verdict %d, as JSON-in-string %d\n",
            (int)plain->status, (int)wrapped.status);
    REQUIRE_MSG(0, "the detector sees a JSON text differently inside a string");
  }
  verdict_free(&wrapped);
  free(w.p);
}

static void detect_alone(const config *c, const char *p, size_t len) {
  enum { COPY_LIMIT = 2048 }; /* fresh buffers per call up to this size */
  uint32_t rng = rng_init(c->seed, 0xdecade01u);
  size_t trigger = first_trigger(p, len);
  size_t have = 0;
  detect_t d;
  const detect_match *m;
  detect_status st;
  rec_verdict grown, once;

  detect_init(&d);
  while (have < len) {
    size_t n = chunk_size(&rng, c->seed);
    if (n > len - have)
      n = len - have;
    have += n;
    if (have <= COPY_LIMIT) {
      char *moved = xrealloc(NULL, have);
      memcpy(moved, p, have);
      detect_feed(&d, moved, have);
      free(moved);
    } else {
      detect_feed(&d, p, have);
    }
    REQUIRE_CMP(d.triggered == (have >= trigger), "prefilter fired at the wrong prefix", have,
           trigger);
  }
  detect_feed(&d, p, len); /* a feed may repeat the last one */
  st = detect_finish(&d, p, len, &m);
  grown = verdict_record(st, m);
  detect_close(&d);

  once = detect_once(p, len, 1);
  {
    rec_verdict at_finish = detect_once(p, len, 0);
    REQUIRE_MSG(verdict_equal(&once, &at_finish), "detect_finish alone differs from feed + finish");
    verdict_free(&at_finish);
  }
  REQUIRE_MSG((once.status == DETECT_SKIPPED) == (trigger > len), "SKIPPED exactly when the prefilter says no");
  REQUIRE_MSG(once.status != DETECT_OVERSIZED, "DETECT_OVERSIZED without detect_abandon");
  if (!verdict_equal(&grown, &once)) {
    fprintf(stderr, "fuzz_framer: detector verdict by prefixes %d, at once %d\n",
            (int)grown.status, (int)once.status);
    REQUIRE_MSG(0, "the detector depends on how the payload grew");
  }
  detect_in_string(p, len, &once);
  verdict_free(&grown);
  verdict_free(&once);

  /* detect_abandon(): OVERSIZED whatever came before. */
  detect_init(&d);
  detect_feed(&d, p, len / 2);
  detect_abandon(&d);
  detect_feed(&d, p, len);
  REQUIRE_MSG(detect_finish(&d, p, len, &m) == DETECT_OVERSIZED && m == NULL,
        "abandoned payload not OVERSIZED");
  detect_close(&d);
}

/* detect_connector_from_tool_name() on the first bytes of the body. */
static void tool_name_alone(const char *p, size_t len) {
  detect_str slug;
  if (len > 256)
    len = 256;
  if (!detect_connector_from_tool_name(p, len, &slug))
    return;
  REQUIRE_MSG(slug.ptr >= p && slug.len > 0 && slug.ptr + slug.len <= p + len,
        "tool-name slug outside the name");
  REQUIRE_MSG((slug.ptr == p + 13 && slug.len == len - 13 && memcmp(p, "authenticate_", 13) == 0) ||
            (slug.ptr == p && slug.len + 2 < len && p[slug.len] == '_' && p[slug.len + 1] == '_'),
        "tool-name slug is neither authenticate_<slug> nor <slug>__<tool>");
}

/* ---- entry point ----------------------------------------------------------- */

static void debug_print(const config *c, const outcome *o) {
  static const char *const status_names[] = {"skipped", "no_match", "match", "malformed",
                                             "oversized"};
  size_t i;
  fprintf(stderr, "fuzz_framer: format %s max_event_bytes %zu inspect %d seed 0x%04x stop 0x%02x\n",
          framer_format_name(c->format), c->max_event_bytes, c->inspect, (unsigned)c->seed,
          (unsigned)c->stop_mask);
  for (i = 0; i < o->n_ev; i++) {
    const rec_event *e = &o->ev[i];
    unsigned st = (unsigned)e->verdict.status;
    fprintf(stderr, "  event %llu [%llu,%llu) data_len %zu%s status %s%s%s\n",
            (unsigned long long)e->index, (unsigned long long)e->start,
            (unsigned long long)e->end, e->data.len, e->oversized ? " oversized" : "",
            st < 5 ? status_names[st] : "?", e->verdict.has_match ? " shape " : "",
            e->verdict.has_match ? detect_shape_name(e->verdict.shape) : "");
  }
  for (i = 0; i < o->n_retry; i++)
    fprintf(stderr, "  retry %llu\n", (unsigned long long)o->retry[i]);
  for (i = 0; i < o->n_over; i++)
    fprintf(stderr, "  on_oversized %llu\n", (unsigned long long)o->over[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  config c;
  const char *body;
  size_t len;
  run chunked, single;
  model m;
  static int debug = -1;

  if (size < HEADER_BYTES)
    return 0;
  if (debug < 0)
    debug = getenv("FUZZ_FRAMER_DEBUG") != NULL;
  c = config_decode(data);
  body = (const char *)data + HEADER_BYTES;
  len = size - HEADER_BYTES;

  run_framer(&single, &c, body, len, 0, 0);
  if (debug)
    debug_print(&c, &single.out);
  run_framer(&chunked, &c, body, len, 1, 1);
  outcome_compare(&chunked.out, &single.out, 1, "chunked+stops vs one chunk");

  run_model(&m, &c, body, len);
  outcome_compare(&single.out, &m.out, 1, "framer vs reference model");

  outcome_free(&chunked.out);
  outcome_free(&single.out);
  outcome_free(&m.out);

  detect_alone(&c, body, len);
  tool_name_alone(body, len);
  (void)framer_format_from_content_type(body, len);
  return 0;
}
