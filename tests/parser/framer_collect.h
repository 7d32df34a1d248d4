/* framer_collect.h: runs one stream through a framer at many chunkings and
 * checks every callback against a list written out in the test.
 *
 * Shared by test_sse.c, test_ndjson.c and test_jsonbody.c (include after
 * unit.h's users would: it includes unit.h itself).
 *
 * FC_RUN(format, max_event_bytes, "input", expected, safe_steps) feeds the
 * input (a string literal; its length is sizeof - 1, so it may hold NUL) to a
 * fresh framer:
 *   - in chunks of 1, 2, ..., 31 and 4096 bytes, each once with on_event
 *     returning 0 and once returning nonzero (stop: the rest of the chunk is
 *     fed again, as a paused relay would);
 *   - in two pieces split at every offset 0..len;
 * records every on_event / on_retry / on_oversized call (copying the data),
 * calls framer_finish and compares the records with `expected` (a list ending
 * with FC_END_EXP). Every run must give exactly the expected records; the
 * detector's verdicts (status, shape, connector, link_token) must moreover be
 * identical in every run. After every framer_feed the return value is checked
 * (len, or ev.end - offset when on_event stopped, with no event after the
 * stopping one) and framer_safe_offset() is checked to be monotonic, <= the
 * bytes consumed and, when safe_steps is not NULL, equal to the step
 * function it describes; after framer_finish it must equal the input length.
 * The framer's stats must agree with the records.
 */
#ifndef AUTHRELAY_TEST_FRAMER_COLLECT_H
#define AUTHRELAY_TEST_FRAMER_COLLECT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framer.h"
#include "unit.h"

enum { FC_K_END = 0, FC_K_EVENT, FC_K_RETRY, FC_K_OVERSIZED };

#define FC_ANY_STATUS (-1)

/* An expected type or id the test does not pin down. */
static const char fc_any_marker[] = "(any)";
#define FC_ANY ((const char *)fc_any_marker)

typedef struct fc_exp {
  int kind;
  uint64_t index;        /* event index, or the index given to on_oversized */
  const char *type;      /* NULL: absent; FC_ANY: not checked */
  const char *id;        /* NULL: absent; FC_ANY: not checked */
  const char *data;
  size_t data_len;
  uint64_t start;
  uint64_t end;
  int oversized;
  int status;            /* a detect_status, or FC_ANY_STATUS */
  const char *connector; /* checked when not NULL */
  uint64_t ms;           /* on_retry value */
} fc_exp;

/* d must be a string literal (it may hold NUL bytes). */
#define FC_EV(i, ty, idv, d, s, e) \
  {FC_K_EVENT, (i), (ty), (idv), (d), sizeof(d) - 1, (s), (e), 0, FC_ANY_STATUS, NULL, 0}
#define FC_EV_BIG(i, ty, idv, d, s, e) \
  {FC_K_EVENT, (i), (ty), (idv), (d), sizeof(d) - 1, (s), (e), 1, DETECT_OVERSIZED, NULL, 0}
#define FC_EV_DET(i, ty, idv, d, s, e, st, conn) \
  {FC_K_EVENT, (i), (ty), (idv), (d), sizeof(d) - 1, (s), (e), 0, (st), (conn), 0}
#define FC_RETRY(v) {FC_K_RETRY, 0, NULL, NULL, NULL, 0, 0, 0, 0, FC_ANY_STATUS, NULL, (v)}
#define FC_OVS(i) {FC_K_OVERSIZED, (i), NULL, NULL, NULL, 0, 0, 0, 0, FC_ANY_STATUS, NULL, 0}
#define FC_END_EXP {FC_K_END, 0, NULL, NULL, NULL, 0, 0, 0, 0, FC_ANY_STATUS, NULL, 0}

/* Expected framer_safe_offset() after a prefix of `from` bytes was consumed:
 * a step function, steps in increasing order of `from`; value FC_FOLLOW means
 * "equal to the prefix length". Before the first step it is 0. The list ends
 * with FC_SAFE_END. */
typedef struct fc_safe {
  uint64_t from;
  int64_t value;
} fc_safe;
#define FC_FOLLOW (-1)
#define FC_SAFE_END {UINT64_MAX, 0}

#define FC_RUN(fmt, max, input, exp, safe)                                     \
  fc_run(__func__, __LINE__, (fmt), (max), 1, (input), sizeof(input) - 1, (exp), (safe))
#define FC_RUN_NOINSPECT(fmt, max, input, exp, safe)                           \
  fc_run(__func__, __LINE__, (fmt), (max), 0, (input), sizeof(input) - 1, (exp), (safe))

typedef struct fc_rec {
  int kind;
  uint64_t index, start, end, ms;
  char *data;
  size_t data_len;
  char *type;
  size_t type_len;
  char *id;
  size_t id_len;
  int oversized;
  int status;
  int has_match;
  int shape;
  char *connector;
  size_t connector_len;
  char *link_token;
  size_t link_token_len;
} fc_rec;

typedef struct fc_col {
  fc_rec *recs;
  size_t n, cap;
  int stop_mode;       /* on_event returns this */
  int stopped;         /* on_event returned nonzero during this framer_feed */
  uint64_t stop_end;   /* that event's end */
  int after_stop;      /* callbacks that came after the stopping event */
  int bad_event;       /* an event with inconsistent pointers / match */
} fc_col;

/* Context of the run in progress, for messages. */
static const char *fc_ctx_func = "";
static int fc_ctx_line;
static char fc_ctx_run[80];
static int fc_msgs_left;

#define FC_CHECK(cond)                                                        \
  do {                                                                        \
    if (cond) {                                                               \
      unit_passed++;                                                          \
    } else {                                                                  \
      unit_failed++;                                                          \
      if (fc_msgs_left > 0) {                                                 \
        fc_msgs_left--;                                                       \
        fprintf(stderr, "%s:%d: CHECK failed: %s [%s, case at line %d, %s]\n", \
                __FILE__, __LINE__, #cond, fc_ctx_func, fc_ctx_line,          \
                fc_ctx_run);                                                  \
      }                                                                       \
    }                                                                         \
  } while (0)

static char *fc_dup(const char *p, size_t n) {
  char *c;
  if (p == NULL)
    return NULL;
  c = malloc(n + 1);
  if (c == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  memcpy(c, p, n);
  c[n] = '\0';
  return c;
}

static fc_rec *fc_push(fc_col *col, int kind) {
  fc_rec *r;
  if (col->n == col->cap) {
    size_t cap = col->cap ? col->cap * 2 : 16;
    fc_rec *nr = realloc(col->recs, cap * sizeof *nr);
    if (nr == NULL) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    col->recs = nr;
    col->cap = cap;
  }
  r = &col->recs[col->n++];
  memset(r, 0, sizeof *r);
  r->kind = kind;
  return r;
}

static int fc_on_event(void *ctx, const framer_event *ev) {
  fc_col *col = ctx;
  fc_rec *r;
  if (col->stopped)
    col->after_stop++;
  r = fc_push(col, FC_K_EVENT);
  r->index = ev->index;
  r->start = ev->start;
  r->end = ev->end;
  if (ev->data == NULL || (ev->status == DETECT_MATCH) != (ev->match != NULL))
    col->bad_event++;
  r->data = fc_dup(ev->data != NULL ? ev->data : "", ev->data != NULL ? ev->data_len : 0);
  r->data_len = ev->data != NULL ? ev->data_len : 0;
  r->type = fc_dup(ev->type, ev->type_len);
  r->type_len = ev->type_len;
  r->id = fc_dup(ev->id, ev->id_len);
  r->id_len = ev->id_len;
  r->oversized = ev->oversized;
  r->status = (int)ev->status;
  if (ev->match != NULL) {
    r->has_match = 1;
    r->shape = (int)ev->match->shape;
    r->connector = fc_dup(ev->match->connector.ptr, ev->match->connector.len);
    r->connector_len = ev->match->connector.len;
    r->link_token = fc_dup(ev->match->link_token.ptr, ev->match->link_token.len);
    r->link_token_len = ev->match->link_token.len;
  }
  if (col->stop_mode) {
    col->stopped = 1;
    col->stop_end = ev->end;
  }
  return col->stop_mode;
}

static void fc_on_retry(void *ctx, uint64_t ms) {
  fc_col *col = ctx;
  if (col->stopped)
    col->after_stop++;
  fc_push(col, FC_K_RETRY)->ms = ms;
}

static void fc_on_oversized(void *ctx, uint64_t index) {
  fc_col *col = ctx;
  if (col->stopped)
    col->after_stop++;
  fc_push(col, FC_K_OVERSIZED)->index = index;
}

static void fc_free_recs(fc_rec *recs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    free(recs[i].data);
    free(recs[i].type);
    free(recs[i].id);
    free(recs[i].connector);
    free(recs[i].link_token);
  }
  free(recs);
}

static uint64_t fc_safe_at(const fc_safe *s, uint64_t prefix) {
  int64_t v = 0;
  for (; s->from != UINT64_MAX && s->from <= prefix; s++)
    v = s->value;
  return v == FC_FOLLOW ? prefix : (uint64_t)v;
}

static int fc_same_bytes(const char *a, size_t alen, const char *b, size_t blen) {
  if (a == NULL || b == NULL)
    return a == b;
  return alen == blen && memcmp(a, b, alen) == 0;
}

static void fc_show(const char *what, size_t i, const char *got, size_t got_len,
                    const char *want, size_t want_len) {
  if (fc_msgs_left <= 0)
    return;
  fprintf(stderr, "    record %zu %s: got %s%.*s%s (len %zu), want %s%.*s%s (len %zu)\n", i, what,
          got ? "\"" : "", got ? (int)got_len : 6, got ? got : "(null)", got ? "\"" : "",
          got ? got_len : 0, want ? "\"" : "", want ? (int)want_len : 6,
          want ? want : "(null)", want ? "\"" : "", want ? want_len : 0);
}

static void fc_show_u64(const char *what, size_t i, uint64_t got, uint64_t want) {
  if (fc_msgs_left <= 0)
    return;
  fprintf(stderr, "    record %zu %s: got %llu, want %llu\n", i, what, (unsigned long long)got,
          (unsigned long long)want);
}

static void fc_dump(const fc_rec *r, size_t n) {
  size_t i;
  if (fc_msgs_left <= 0)
    return;
  fc_msgs_left--;
  for (i = 0; i < n; i++) {
    if (r[i].kind == FC_K_EVENT)
      fprintf(stderr, "    got[%zu] event %llu [%llu,%llu] data \"%.*s\" type %s id %s%s status %d\n",
              i, (unsigned long long)r[i].index, (unsigned long long)r[i].start,
              (unsigned long long)r[i].end, (int)r[i].data_len, r[i].data,
              r[i].type ? r[i].type : "(null)", r[i].id ? r[i].id : "(null)",
              r[i].oversized ? " oversized" : "", r[i].status);
    else if (r[i].kind == FC_K_RETRY)
      fprintf(stderr, "    got[%zu] retry %llu\n", i, (unsigned long long)r[i].ms);
    else
      fprintf(stderr, "    got[%zu] oversized %llu\n", i, (unsigned long long)r[i].index);
  }
}

/* Compares one run's records with the expected list. */
static void fc_compare(const fc_rec *r, size_t n, const fc_exp *exp) {
  size_t nexp = 0;
  size_t i;
  while (exp[nexp].kind != FC_K_END)
    nexp++;
  FC_CHECK(n == nexp);
  if (n != nexp) {
    fc_dump(r, n);
    return;
  }
  for (i = 0; i < n; i++) {
    const fc_rec *g = &r[i];
    const fc_exp *e = &exp[i];
    FC_CHECK(g->kind == e->kind);
    if (g->kind != e->kind) {
      fc_dump(r, n);
      return;
    }
    if (e->kind == FC_K_RETRY) {
      FC_CHECK(g->ms == e->ms);
      if (g->ms != e->ms)
        fc_show_u64("retry ms", i, g->ms, e->ms);
      continue;
    }
    FC_CHECK(g->index == e->index);
    if (g->index != e->index)
      fc_show_u64("index", i, g->index, e->index);
    if (e->kind == FC_K_OVERSIZED)
      continue;
    FC_CHECK(g->start == e->start);
    if (g->start != e->start)
      fc_show_u64("start", i, g->start, e->start);
    FC_CHECK(g->end == e->end);
    if (g->end != e->end)
      fc_show_u64("end", i, g->end, e->end);
    FC_CHECK(fc_same_bytes(g->data, g->data_len, e->data, e->data_len));
    if (!fc_same_bytes(g->data, g->data_len, e->data, e->data_len))
      fc_show("data", i, g->data, g->data_len, e->data, e->data_len);
    if (e->type != FC_ANY) {
      size_t el = e->type ? strlen(e->type) : 0;
      FC_CHECK(fc_same_bytes(g->type, g->type_len, e->type, el));
      if (!fc_same_bytes(g->type, g->type_len, e->type, el))
        fc_show("type", i, g->type, g->type_len, e->type, el);
    }
    if (e->id != FC_ANY) {
      size_t el = e->id ? strlen(e->id) : 0;
      FC_CHECK(fc_same_bytes(g->id, g->id_len, e->id, el));
      if (!fc_same_bytes(g->id, g->id_len, e->id, el))
        fc_show("id", i, g->id, g->id_len, e->id, el);
    }
    FC_CHECK(g->oversized == e->oversized);
    if (g->oversized != e->oversized)
      fc_show_u64("oversized", i, (uint64_t)g->oversized, (uint64_t)e->oversized);
    if (e->status != FC_ANY_STATUS) {
      FC_CHECK(g->status == e->status);
      if (g->status != e->status)
        fc_show_u64("status", i, (uint64_t)g->status, (uint64_t)e->status);
    }
    if (e->connector != NULL) {
      FC_CHECK(g->has_match);
      FC_CHECK(fc_same_bytes(g->connector, g->connector_len, e->connector,
                             strlen(e->connector)));
    }
  }
}

/* The detector's verdicts must not depend on the chunking. */
static void fc_compare_detect(const fc_rec *r, size_t n, const fc_rec *ref, size_t nref) {
  size_t i;
  int same = n == nref;
  for (i = 0; same && i < n; i++) {
    if (r[i].kind != FC_K_EVENT)
      continue;
    same = r[i].status == ref[i].status && r[i].has_match == ref[i].has_match &&
           r[i].shape == ref[i].shape &&
           fc_same_bytes(r[i].connector, r[i].connector_len, ref[i].connector,
                         ref[i].connector_len) &&
           fc_same_bytes(r[i].link_token, r[i].link_token_len, ref[i].link_token,
                         ref[i].link_token_len);
  }
  FC_CHECK(same);
}

/* One run. chunk > 0: pieces of chunk bytes; chunk == 0: two pieces split at
 * `split`. The records are returned in *out (caller frees). */
static void fc_run_once(framer_format fmt, size_t max, int inspect, const char *in, size_t len,
                        const fc_safe *safe, size_t chunk, size_t split, int stop,
                        fc_rec **out, size_t *nout) {
  framer_t f;
  framer_options opt;
  framer_callbacks cb;
  fc_col col;
  size_t pos = 0;
  uint64_t consumed = 0, prev_safe = 0;
  int feeds_ok = 1, safe_ok = 1, progress = 1;
  uint64_t n_ev = 0, n_ovs = 0, n_match = 0, n_malformed = 0;
  size_t i;

  memset(&col, 0, sizeof col);
  memset(&opt, 0, sizeof opt);
  memset(&cb, 0, sizeof cb);
  col.stop_mode = stop;
  opt.max_event_bytes = max;
  opt.inspect = inspect;
  cb.on_event = fc_on_event;
  cb.on_retry = fc_on_retry;
  cb.on_oversized = fc_on_oversized;
  if (chunk > 0)
    snprintf(fc_ctx_run, sizeof fc_ctx_run, "chunk %zu, stop %d", chunk, stop);
  else
    snprintf(fc_ctx_run, sizeof fc_ctx_run, "split at %zu, stop %d", split, stop);

  FC_CHECK(framer_init(&f, fmt, &opt, &cb, &col) == 0);
  FC_CHECK(framer_feed(&f, in, 0) == 0);
  FC_CHECK(framer_safe_offset(&f) == 0);

  while (pos < len && progress) {
    size_t piece = chunk > 0 ? chunk : (pos < split ? split - pos : len - pos);
    const char *p = in + pos;
    size_t rem;
    if (piece > len - pos)
      piece = len - pos;
    rem = piece;
    while (rem > 0) {
      size_t used;
      uint64_t s;
      col.stopped = 0;
      col.after_stop = 0;
      used = framer_feed(&f, p, rem);
      if (col.stopped) {
        if (!(col.stop_end > consumed && used == col.stop_end - consumed)) {
          if (feeds_ok && fc_msgs_left > 0)
            fprintf(stderr, "    stop: framer_feed(%zu bytes at %llu) returned %zu, event end %llu\n",
                    rem, (unsigned long long)consumed, used, (unsigned long long)col.stop_end);
          feeds_ok = 0;
        }
      } else if (used != rem) {
        if (feeds_ok && fc_msgs_left > 0)
          fprintf(stderr, "    framer_feed(%zu bytes at %llu) returned %zu without a stop\n", rem,
                  (unsigned long long)consumed, used);
        feeds_ok = 0;
      }
      if (col.after_stop != 0)
        feeds_ok = 0;
      if (used == 0 || used > rem) {
        progress = 0;
        break;
      }
      consumed += used;
      p += used;
      rem -= used;
      s = framer_safe_offset(&f);
      if (s > consumed || s < prev_safe ||
          (safe != NULL && s != fc_safe_at(safe, consumed))) {
        if (safe_ok && fc_msgs_left > 0)
          fprintf(stderr, "    safe offset after %llu bytes: got %llu, want %llu (previous %llu)\n",
                  (unsigned long long)consumed, (unsigned long long)s,
                  (unsigned long long)(safe != NULL ? fc_safe_at(safe, consumed) : s),
                  (unsigned long long)prev_safe);
        safe_ok = 0;
      }
      prev_safe = s;
    }
    pos += piece;
  }
  FC_CHECK(progress);
  FC_CHECK(feeds_ok);
  FC_CHECK(safe_ok);
  FC_CHECK(consumed == len);
  col.stopped = 0;
  framer_finish(&f);
  FC_CHECK(framer_safe_offset(&f) == len);
  FC_CHECK(col.bad_event == 0);

  for (i = 0; i < col.n; i++) {
    if (col.recs[i].kind == FC_K_EVENT) {
      n_ev++;
      if (col.recs[i].status == DETECT_MATCH)
        n_match++;
      else if (col.recs[i].status == DETECT_MALFORMED)
        n_malformed++;
    } else if (col.recs[i].kind == FC_K_OVERSIZED) {
      n_ovs++;
    }
  }
  FC_CHECK(f.stats.events == n_ev);
  FC_CHECK(f.stats.oversized == n_ovs);
  FC_CHECK(f.stats.matches == n_match);
  FC_CHECK(f.stats.malformed == n_malformed);
  framer_close(&f);
  *out = col.recs;
  *nout = col.n;
}

static void fc_run(const char *func, int line, framer_format fmt, size_t max, int inspect,
                   const char *in, size_t len, const fc_exp *exp, const fc_safe *safe) {
  static const size_t extra_chunks[] = {4096};
  fc_rec *ref, *r;
  size_t nref, n, chunk, split;
  int stop;

  fc_ctx_func = func;
  fc_ctx_line = line;
  fc_msgs_left = 8;

  fc_run_once(fmt, max, inspect, in, len, safe, extra_chunks[0], 0, 0, &ref, &nref);
  fc_compare(ref, nref, exp);

  for (chunk = 1; chunk <= 32; chunk++) {
    size_t size = chunk <= 31 ? chunk : extra_chunks[0];
    for (stop = 0; stop <= 1; stop++) {
      fc_run_once(fmt, max, inspect, in, len, safe, size, 0, stop, &r, &n);
      fc_compare(r, n, exp);
      fc_compare_detect(r, n, ref, nref);
      fc_free_recs(r, n);
    }
  }
  for (split = 0; split <= len; split++) {
    stop = (int)(split % 2);
    fc_run_once(fmt, max, inspect, in, len, safe, 0, split, stop, &r, &n);
    fc_compare(r, n, exp);
    fc_compare_detect(r, n, ref, nref);
    fc_free_recs(r, n);
  }
  fc_free_recs(ref, nref);
  if (fc_msgs_left <= 0)
    fprintf(stderr, "    (further failures of the case at line %d not shown)\n", line);
}

/* ---- stop semantics, explicit -------------------------------------------
 * A framer whose on_event always says stop is fed input from where the
 * previous framer_feed() stopped; each step says what that feed must return,
 * the on_event calls so far and the safe offset after it. framer_finish()
 * then dispatches what is left (its stop is ignored). */

typedef struct fc_stop_step {
  size_t consumed; /* framer_feed's return */
  int calls;       /* on_event calls so far */
  uint64_t safe;   /* framer_safe_offset() after it */
} fc_stop_step;

static inline int fc_stop_always(void *ctx, const framer_event *ev) {
  (void)ev;
  (*(int *)ctx)++;
  return 1;
}

/* safe_after: framer_safe_offset() after the finish, UINT64_MAX: not checked. */
static inline void fc_check_stops(framer_format fmt, const char *in, size_t len,
                                  const fc_stop_step *steps, size_t nsteps, int calls_after,
                                  uint64_t safe_after, uint64_t events) {
  framer_callbacks cb;
  framer_t f;
  int calls = 0;
  size_t off = 0;
  size_t i;
  memset(&cb, 0, sizeof cb);
  cb.on_event = fc_stop_always;
  CHECK(framer_init(&f, fmt, NULL, &cb, &calls) == 0);
  for (i = 0; i < nsteps; i++) {
    CHECK_EQ_U64(framer_feed(&f, in + off, len - off), steps[i].consumed);
    CHECK(calls == steps[i].calls);
    CHECK_EQ_U64(framer_safe_offset(&f), steps[i].safe);
    off += steps[i].consumed;
  }
  framer_finish(&f);
  CHECK(calls == calls_after);
  if (safe_after != UINT64_MAX)
    CHECK_EQ_U64(framer_safe_offset(&f), safe_after);
  CHECK_EQ_U64(f.stats.events, events);
  framer_close(&f);
}

#endif
