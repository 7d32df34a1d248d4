/* detect_vectors.h: the harness the detector's unit tests share
 * (test_detect.c, test_detect_generated.c, test_detect_api.c).
 *
 * Every payload vector is checked three ways, at every feeding size:
 *   - "direct": detect_feed() with the payload so far growing by N bytes a
 *     call (each call in a fresh copy of the bytes, scribbled over and freed
 *     right after, so a detector keeping a pointer into it would be caught),
 *     then detect_finish() with the whole payload (also a fresh copy,
 *     scribbled over before the match is read);
 *   - "finish-only" (once per vector): detect_finish() with the whole
 *     payload and no detect_feed() before it;
 *   - "sse": a FRAMER_SSE framer fed "data: <payload>\n\n" N bytes at a time;
 *   - "ndjson": a FRAMER_NDJSON framer fed "<payload>\n" N bytes at a time
 *     (skipped for the few payloads holding a raw LF);
 * with N = whole, 4096, 1, 2, ..., 31 (a subset for the few payloads of
 * 100 000+ bytes: see full_sizes). Status, shape and the six extracted
 * fields must equal the literal expectation every time.
 *
 * Vectors run in forked children (a group of vectors per child; the
 * crash-prone and stall-probe vectors one per child), so that a crash
 * (ASan/UBSan abort) or a leak (LeakSanitizer exit status) shows up as a
 * failed check instead of ending the whole run. A child reports its check
 * counts back through a pipe. Nothing here measures time: a stall (a vector
 * the detector never finishes) is caught by ctest's TIMEOUT of the test.
 *
 * Everything here is static inline (one copy per test binary, like unit.h's
 * counters, which the forked children report back through a pipe).
 */
#ifndef AUTHRELAY_TEST_DETECT_VECTORS_H
#define AUTHRELAY_TEST_DETECT_VECTORS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detect.h"
#include "framer.h"
#include "unit.h"

/* ---- small helpers ------------------------------------------------------ */

typedef struct sb {
  char *p;
  size_t len;
  size_t cap;
} sb;

static inline void sb_addn(sb *b, const char *s, size_t n) {
  if (n > SIZE_MAX / 4 - b->len)
    abort(); /* the cap: no test payload comes near it */
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *grown;
    while (cap < b->len + n + 1)
      cap *= 2;
    grown = realloc(b->p, cap);
    if (grown == NULL)
      abort();
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static inline void sb_add(sb *b, const char *s) {
  sb_addn(b, s, strlen(s));
}

static inline void sb_rep(sb *b, const char *s, size_t times) {
  size_t i;
  for (i = 0; i < times; i++)
    sb_add(b, s);
}

static inline void sb_fill(sb *b, char c, size_t n) {
  char chunk[256];
  memset(chunk, c, sizeof chunk);
  while (n > 0) {
    size_t k = n < sizeof chunk ? n : sizeof chunk;
    sb_addn(b, chunk, k);
    n -= k;
  }
}

/* A JSON string literal (with quotes) holding s: builds JSON-in-string
 * inputs. Only an input builder; no expectation is derived from it. */
static inline char *quote(const char *s) {
  sb b = {NULL, 0, 0};
  sb_add(&b, "\"");
  for (; *s != '\0'; s++) {
    if (*s == '"') {
      sb_add(&b, "\\\"");
    } else if (*s == '\\') {
      sb_add(&b, "\\\\");
    } else if (*s == '\n') {
      sb_add(&b, "\\n");
    } else {
      sb_addn(&b, s, 1);
    }
  }
  sb_add(&b, "\"");
  return b.p;
}

/* ---- expectations and outcomes ------------------------------------------ */

enum { F_CONNECTOR = 0, F_LINK_TOKEN, F_MAGIC_LINK_URL, F_EXPIRES_AT, F_MESSAGE, F_TOOL_CALL_ID, F_COUNT };

static const char *const field_names[F_COUNT] = {"connector",  "link_token", "magic_link_url",
                                                 "expires_at", "message",    "tool_call_id"};

static const char *const status_names[] = {"SKIPPED", "NO_MATCH", "MATCH", "MALFORMED",
                                           "OVERSIZED"};

static inline const char *status_name(detect_status s) {
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "?";
}

typedef struct expect {
  detect_status status;
  detect_shape shape;
  const char *field[F_COUNT]; /* NULL: must be absent (ptr NULL) */
} expect;

#define ABSENT NULL
#define WANT_A(c, lt, url, exp, msg, id)                                                       \
  {                                                                                          \
    DETECT_MATCH, DETECT_SHAPE_AUTHENTICATE_META, { c, lt, url, exp, msg, id }               \
  }
#define WANT_B(c, lt, url, exp, msg, id)                                                       \
  {                                                                                          \
    DETECT_MATCH, DETECT_SHAPE_MAGIC_LINK, { c, lt, url, exp, msg, id }                      \
  }
#define WANT_NO_MATCH                                                                        \
  {                                                                                          \
    DETECT_NO_MATCH, DETECT_SHAPE_NONE, { NULL, NULL, NULL, NULL, NULL, NULL }               \
  }
#define WANT_MALFORMED                                                                       \
  {                                                                                          \
    DETECT_MALFORMED, DETECT_SHAPE_NONE, { NULL, NULL, NULL, NULL, NULL, NULL }              \
  }
#define WANT_SKIPPED                                                                         \
  {                                                                                          \
    DETECT_SKIPPED, DETECT_SHAPE_NONE, { NULL, NULL, NULL, NULL, NULL, NULL }                \
  }
#define WANT_A_BARE WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)

typedef struct outcome {
  detect_status status;
  int match_ptr_ok; /* match pointer non-NULL exactly when status is MATCH */
  detect_shape shape;
  int present[F_COUNT];
  char *text[F_COUNT];
  size_t len[F_COUNT];
  /* framer runs only */
  int events;
  int data_same;  /* ev.data equals the payload */
  int short_feed; /* framer_feed consumed fewer bytes than given */
} outcome;

static inline void outcome_record(outcome *o, detect_status st, const detect_match *m) {
  int f;
  o->status = st;
  o->match_ptr_ok = (st == DETECT_MATCH) == (m != NULL);
  if (m == NULL)
    return;
  {
    const detect_str *fs[F_COUNT];
    fs[F_CONNECTOR] = &m->connector;
    fs[F_LINK_TOKEN] = &m->link_token;
    fs[F_MAGIC_LINK_URL] = &m->magic_link_url;
    fs[F_EXPIRES_AT] = &m->expires_at;
    fs[F_MESSAGE] = &m->message;
    fs[F_TOOL_CALL_ID] = &m->tool_call_id;
    o->shape = m->shape;
    for (f = 0; f < F_COUNT; f++) {
      if (fs[f]->ptr != NULL) {
        o->present[f] = 1;
        o->len[f] = fs[f]->len;
        o->text[f] = malloc(fs[f]->len + 1);
        if (o->text[f] == NULL)
          abort();
        memcpy(o->text[f], fs[f]->ptr, fs[f]->len);
        o->text[f][fs[f]->len] = '\0';
      }
    }
  }
}

static inline void outcome_free(outcome *o) {
  int f;
  for (f = 0; f < F_COUNT; f++)
    free(o->text[f]);
}

/* ---- check bookkeeping (also works inside forked children) -------------- */

static int printed;         /* failure lines printed by this process */
static int progress_fd = -1; /* in a child: where to report the counts */
static int in_child;         /* this process is a forked child */

static inline void progress(void) {
  if (progress_fd >= 0) {
    int rec[2];
    rec[0] = unit_passed;
    rec[1] = unit_failed;
    if (write(progress_fd, rec, sizeof rec) != (ssize_t)sizeof rec) {
      /* the parent will see fewer checks; nothing else to do */
    }
  }
}

static inline void tally(int ok, const char *vname, const char *mode, size_t step, const char *what) {
  if (ok) {
    unit_passed++;
    return;
  }
  unit_failed++;
  if (printed++ < 30)
    fprintf(stderr, "FAIL [%s] via %s, step %zu: %s\n", vname, mode, step, what);
}

/* Runs fn(arg) in a child; adds its check counts to ours and one check for
 * "exited normally". No clock is involved: a stall (a loop that never ends)
 * is caught by the test's ctest TIMEOUT, the watchdog of every test. */
static inline void isolated(const char *name, void (*fn)(const void *), const void *arg) {
  int fds[2];
  int rec[2] = {0, 0};
  int status = 0;
  pid_t pid;
  if (pipe(fds) != 0) {
    CHECK(!"pipe failed");
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    CHECK(!"fork failed");
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    unit_passed = 0;
    unit_failed = 0;
    printed = 0;
    in_child = 1;
    progress_fd = fds[1];
    fn(arg);
    progress();
    close(fds[1]);
    exit(0); /* exit(), not _exit(): LeakSanitizer checks the child too */
  }
  close(fds[1]);
  for (;;) {
    int r[2];
    ssize_t n = read(fds[0], r, sizeof r);
    if (n == (ssize_t)sizeof r) {
      rec[0] = r[0];
      rec[1] = r[1];
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    break;
  }
  close(fds[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  unit_passed += rec[0];
  unit_failed += rec[1];
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    unit_passed++;
  } else {
    unit_failed++;
    if (WIFSIGNALED(status))
      fprintf(stderr, "FAIL [%s]: child killed by signal %d (crash)\n", name, WTERMSIG(status));
    else
      fprintf(stderr, "FAIL [%s]: child exited with status %d (sanitizer report or leak above)\n",
              name, WEXITSTATUS(status));
  }
}

/* ---- one vector through every path at every size ------------------------ */

typedef struct sizes_t {
  const size_t *v;
  size_t n;
} sizes_t;

typedef struct job {
  const char *name;
  const char *json;
  size_t len;
  const expect *want;
  sizes_t sizes;
} job;

/* Feeding sizes (0: the whole stream at once). Every vector gets the full
 * list but the 100 000-level and 100 000-digit payloads, which get a subset
 * (SOME) so that the sanitized run stays within seconds, and the two stall
 * probes, which only need whole, 4096 and 1 byte a call (FEW). */
static const size_t full_sizes[] = {0,  4096, 1,  2,  3,  4,  5,  6,  7,  8,  9,
                                    10, 11,   12, 13, 14, 15, 16, 17, 18, 19, 20,
                                    21, 22,   23, 24, 25, 26, 27, 28, 29, 30, 31};
static const size_t some_sizes[] = {0, 4096, 1, 2, 3, 5, 7, 13, 31};
static const size_t few_sizes[] = {0, 4096, 1};
static const sizes_t FULL = {full_sizes, sizeof full_sizes / sizeof full_sizes[0]};
static const sizes_t SOME = {some_sizes, sizeof some_sizes / sizeof some_sizes[0]};
static const sizes_t FEW = {few_sizes, sizeof few_sizes / sizeof few_sizes[0]};

static inline void compare(const job *j, const char *mode, size_t step, const outcome *o, int framed) {
  const expect *w = j->want;
  char what[400];
  int f;
  snprintf(what, sizeof what, "status %s, want %s", status_name(o->status), status_name(w->status));
  tally(o->status == w->status, j->name, mode, step, what);
  tally(o->match_ptr_ok, j->name, mode, step, "match pointer set iff status is MATCH");
  if (w->status == DETECT_MATCH && o->status == DETECT_MATCH) {
    snprintf(what, sizeof what, "shape %s, want %s", detect_shape_name(o->shape),
             detect_shape_name(w->shape));
    tally(o->shape == w->shape, j->name, mode, step, what);
  }
  for (f = 0; f < F_COUNT; f++) {
    const char *want = w->field[f];
    int ok;
    if (want == NULL)
      ok = !o->present[f];
    else
      ok = o->present[f] && o->len[f] == strlen(want) && memcmp(o->text[f], want, o->len[f]) == 0;
    if (!ok) {
      snprintf(what, sizeof what, "%s is %s%.*s%s (len %zu), want %s%.60s%s (len %zu)",
               field_names[f], o->present[f] ? "\"" : "", o->present[f] ? (int)(o->len[f] < 60 ? o->len[f] : 60) : 0,
               o->present[f] ? o->text[f] : "", o->present[f] ? "\"" : "(null)", o->len[f],
               want ? "\"" : "", want ? want : "(null)", want ? "\"" : "",
               want ? strlen(want) : (size_t)0);
    } else {
      what[0] = '\0';
    }
    tally(ok, j->name, mode, step, what);
  }
  if (framed) {
    snprintf(what, sizeof what, "%d events dispatched, want 1", o->events);
    tally(o->events == 1, j->name, mode, step, what);
    tally(o->data_same, j->name, mode, step, "ev.data differs from the payload (test bug?)");
    tally(!o->short_feed, j->name, mode, step, "framer_feed consumed fewer bytes than given");
  }
}

static inline void run_direct(const job *j, size_t step, outcome *o) {
  detect_t d;
  const detect_match *m = NULL;
  detect_status st;
  size_t n = 0;
  int fresh = j->len <= 8192;
  char *alt[2] = {NULL, NULL};
  int which = 0;
  if (step == 0)
    step = j->len;
  if (!fresh) {
    alt[0] = malloc(j->len);
    alt[1] = malloc(j->len);
    if (alt[0] == NULL || alt[1] == NULL)
      abort();
    memcpy(alt[0], j->json, j->len);
    memcpy(alt[1], j->json, j->len);
  }
  detect_init(&d);
  while (n < j->len) {
    n = j->len - n > step ? n + step : j->len;
    if (fresh) {
      /* the buffer moves every call and is scribbled over once used */
      char *b = malloc(n);
      if (b == NULL)
        abort();
      memcpy(b, j->json, n);
      detect_feed(&d, b, n);
      memset(b, '#', n);
      free(b);
    } else {
      detect_feed(&d, alt[which], n);
      which ^= 1;
    }
  }
  {
    /* detect_finish() gets the whole payload in a buffer of its own, which
     * is scribbled over before the match is read: the match must not point
     * into it */
    char *whole = malloc(j->len + 1);
    if (whole == NULL)
      abort();
    memcpy(whole, j->json, j->len);
    st = detect_finish(&d, whole, j->len, &m);
    memset(whole, '#', j->len);
    outcome_record(o, st, m);
    free(whole);
  }
  detect_close(&d);
  free(alt[0]);
  free(alt[1]);
}

/* detect_finish() alone: every byte is handed over at the end. */
static inline void run_finish_only(const job *j, outcome *o) {
  detect_t d;
  const detect_match *m = NULL;
  detect_status st;
  char *whole = malloc(j->len + 1);
  if (whole == NULL)
    abort();
  memcpy(whole, j->json, j->len);
  detect_init(&d);
  st = detect_finish(&d, whole, j->len, &m);
  memset(whole, '#', j->len);
  outcome_record(o, st, m);
  detect_close(&d);
  free(whole);
}

typedef struct framer_ctx {
  outcome *o;
  const job *j;
} framer_ctx;

static inline int on_event(void *ctx, const framer_event *ev) {
  framer_ctx *c = ctx;
  c->o->events++;
  if (c->o->events == 1) {
    outcome_record(c->o, ev->status, ev->match);
    c->o->data_same = ev->data_len == c->j->len && memcmp(ev->data, c->j->json, c->j->len) == 0;
  }
  return 0;
}

static inline void run_framer(const job *j, framer_format format, const sb *stream, size_t step,
                       outcome *o) {
  framer_t f;
  framer_callbacks cb = {on_event, NULL, NULL};
  framer_ctx ctx;
  size_t off = 0;
  ctx.o = o;
  ctx.j = j;
  if (step == 0)
    step = stream->len;
  if (framer_init(&f, format, NULL, &cb, &ctx) != 0) {
    o->short_feed = 1;
    return;
  }
  while (off < stream->len) {
    size_t n = stream->len - off < step ? stream->len - off : step;
    if (framer_feed(&f, stream->p + off, n) != n)
      o->short_feed = 1;
    off += n;
  }
  framer_finish(&f);
  framer_close(&f);
}

static inline void run_matrix(const void *arg) {
  const job *j = arg;
  sb sse = {NULL, 0, 0};
  sb nd = {NULL, 0, 0};
  int ndjson_ok = memchr(j->json, '\n', j->len) == NULL;
  size_t i;
  /* SSE: one data line per payload line; NDJSON: one line. */
  sb_add(&sse, "data: ");
  for (i = 0; i < j->len; i++) {
    if (j->json[i] == '\n')
      sb_add(&sse, "\ndata: ");
    else
      sb_addn(&sse, j->json + i, 1);
  }
  sb_add(&sse, "\n\n");
  sb_addn(&nd, j->json, j->len);
  sb_add(&nd, "\n");
  {
    outcome o;
    memset(&o, 0, sizeof o);
    run_finish_only(j, &o);
    compare(j, "finish-only", 0, &o, 0);
    outcome_free(&o);
    progress();
  }
  for (i = 0; i < j->sizes.n; i++) {
    size_t step = j->sizes.v[i];
    outcome o;
    memset(&o, 0, sizeof o);
    run_direct(j, step, &o);
    compare(j, "direct", step, &o, 0);
    outcome_free(&o);
    progress();

    memset(&o, 0, sizeof o);
    run_framer(j, FRAMER_SSE, &sse, step, &o);
    compare(j, "sse", step, &o, 1);
    outcome_free(&o);
    progress();

    if (ndjson_ok) {
      memset(&o, 0, sizeof o);
      run_framer(j, FRAMER_NDJSON, &nd, step, &o);
      compare(j, "ndjson", step, &o, 1);
      outcome_free(&o);
      progress();
    }
  }
  free(sse.p);
  free(nd.p);
}

/* Runs the matrix for one vector: right here inside a child (a group of
 * vectors shares one child), or in a child of its own. */
static inline void check_vector_n(const char *name, const char *json, size_t len, const expect *want,
                           sizes_t sz) {
  job j;
  j.name = name;
  j.json = json;
  j.len = len;
  j.want = want;
  j.sizes = sz;
  if (in_child)
    run_matrix(&j);
  else
    isolated(name, run_matrix, &j);
}

static inline void check_vector(const char *name, const char *json, const expect *want) {
  check_vector_n(name, json, strlen(json), want, FULL);
}

typedef struct group {
  void (*fn)(void);
} group;

static inline void run_group(const void *arg) {
  ((const group *)arg)->fn();
}

/* Runs a test function's vectors in one child (saves a fork per vector). */
#define RUN_GROUP(fn)                                                                        \
  do {                                                                                       \
    group g_ = {fn};                                                                         \
    int before_ = unit_failed;                                                               \
    isolated(#fn, run_group, &g_);                                                           \
    fprintf(stderr, "%s %s\n", unit_failed == before_ ? "ok  " : "FAIL", #fn);               \
  } while (0)

/* ---- the literal vectors ------------------------------------------------- */

typedef struct vec {
  const char *name;
  const char *json;
  expect want;
} vec;

static inline void run_table(const vec *t, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    check_vector(t[i].name, t[i].json, &t[i].want);
}

static inline void check_sb_sizes(const char *name, sb *b, const expect *want, sizes_t sz) {
  check_vector_n(name, b->p, b->len, want, sz);
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static inline void check_sb(const char *name, sb *b, const expect *want) {
  check_vector_n(name, b->p, b->len, want, FULL);
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

#endif
