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
 *
 * The records and their comparison are in fuzz_framer_rec.h, the reference
 * model (step 3) in fuzz_framer_model.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "framer.h"
#include "fuzz.h"
#include "fuzz_framer_model.h"
#include "fuzz_framer_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
