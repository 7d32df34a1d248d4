/* fuzz_framer_rec.h: what fuzz_framer.c records and compares: the decoded
 * input header (config), copies of the events a framer produced with the
 * detector's verdicts (outcome), and outcome_compare(), which aborts on the
 * first difference. The harness's framer runs and its reference model
 * (fuzz_framer_model.h) both record into an outcome; everything here is
 * static inline, for the one harness that includes it.
 */
#ifndef AUTHRELAY_TEST_FUZZ_FRAMER_REC_H
#define AUTHRELAY_TEST_FUZZ_FRAMER_REC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "framer.h"
#include "fuzz.h"

#define HEADER_BYTES 4
#define FIELDS 6 /* the detect_str members of detect_match */

/* ---- small helpers -------------------------------------------------------- */

static inline void *xrealloc(void *p, size_t n) {
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

static inline void bytes_add(bytes *b, const void *p, size_t n) {
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

static inline void bytes_set(bytes *b, const void *p, size_t n) {
  b->len = 0;
  bytes_add(b, p, n);
}

/* A copied (ptr, len), or absent. */
typedef struct rec_str {
  int present;
  char *ptr;
  size_t len;
} rec_str;

static inline rec_str rec_copy(const char *p, size_t len) {
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

static inline int rec_equal(const rec_str *a, const rec_str *b) {
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

static inline const detect_str *match_field(const detect_match *m, int i) {
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
static inline rec_verdict verdict_record(detect_status status, const detect_match *m) {
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

static inline int verdict_equal(const rec_verdict *a, const rec_verdict *b) {
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

static inline void verdict_free(rec_verdict *v) {
  int i;
  for (i = 0; i < FIELDS; i++)
    free(v->field[i].ptr);
}

/* What one payload gives a fresh detector: fed in one call and finished, or
 * (feed_first 0) only finished. */
static inline rec_verdict detect_once(const char *p, size_t len, int feed_first) {
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
static inline uint32_t rng_next(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static inline uint32_t rng_init(uint16_t seed, uint32_t salt) {
  uint32_t s = ((uint32_t)seed + 1u) * 2654435761u ^ salt;
  return s != 0 ? s : 1;
}

/* The size of the next chunk; mode picks the distribution. */
static inline size_t chunk_size(uint32_t *rng, unsigned mode) {
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

static inline config config_decode(const uint8_t *h) {
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

static inline rec_event *outcome_add_event(outcome *o) {
  rec_event *e;
  if (o->n_ev == o->cap_ev) {
    o->cap_ev = o->cap_ev ? o->cap_ev * 2 : 16;
    o->ev = xrealloc(o->ev, o->cap_ev * sizeof *o->ev);
  }
  e = &o->ev[o->n_ev++];
  memset(e, 0, sizeof *e);
  return e;
}

static inline void u64_push(uint64_t **v, size_t *n, size_t *cap, uint64_t x) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 8;
    *v = xrealloc(*v, *cap * sizeof **v);
  }
  (*v)[(*n)++] = x;
}

static inline void outcome_free(outcome *o) {
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
static inline void outcome_compare(const outcome *a, const outcome *b, int with_verdicts,
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

#endif
