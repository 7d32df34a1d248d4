/* test_detect: unit tests of the detector (parser/detect.c).
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
 */
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

static void sb_addn(sb *b, const char *s, size_t n) {
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

static void sb_add(sb *b, const char *s) {
  sb_addn(b, s, strlen(s));
}

static void sb_rep(sb *b, const char *s, size_t times) {
  size_t i;
  for (i = 0; i < times; i++)
    sb_add(b, s);
}

static void sb_fill(sb *b, char c, size_t n) {
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
static char *quote(const char *s) {
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

/* Expected long field values: one repeated letter, lengths written out. */
static char m4096[4096 + 1];
static char k4096[4096 + 1];

/* ---- expectations and outcomes ------------------------------------------ */

enum { F_CONNECTOR = 0, F_LINK_TOKEN, F_MAGIC_LINK_URL, F_EXPIRES_AT, F_MESSAGE, F_TOOL_CALL_ID, F_COUNT };

static const char *const field_names[F_COUNT] = {"connector",  "link_token", "magic_link_url",
                                                 "expires_at", "message",    "tool_call_id"};

static const char *const status_names[] = {"SKIPPED", "NO_MATCH", "MATCH", "MALFORMED",
                                           "OVERSIZED"};

static const char *status_name(detect_status s) {
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

static void outcome_record(outcome *o, detect_status st, const detect_match *m) {
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

static void outcome_free(outcome *o) {
  int f;
  for (f = 0; f < F_COUNT; f++)
    free(o->text[f]);
}

/* ---- check bookkeeping (also works inside forked children) -------------- */

static int printed;         /* failure lines printed by this process */
static int progress_fd = -1; /* in a child: where to report the counts */
static int in_child;         /* this process is a forked child */

static void progress(void) {
  if (progress_fd >= 0) {
    int rec[2];
    rec[0] = unit_passed;
    rec[1] = unit_failed;
    if (write(progress_fd, rec, sizeof rec) != (ssize_t)sizeof rec) {
      /* the parent will see fewer checks; nothing else to do */
    }
  }
}

static void tally(int ok, const char *vname, const char *mode, size_t step, const char *what) {
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
static void isolated(const char *name, void (*fn)(const void *), const void *arg) {
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

static void compare(const job *j, const char *mode, size_t step, const outcome *o, int framed) {
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

static void run_direct(const job *j, size_t step, outcome *o) {
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
static void run_finish_only(const job *j, outcome *o) {
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

static int on_event(void *ctx, const framer_event *ev) {
  framer_ctx *c = ctx;
  c->o->events++;
  if (c->o->events == 1) {
    outcome_record(c->o, ev->status, ev->match);
    c->o->data_same = ev->data_len == c->j->len && memcmp(ev->data, c->j->json, c->j->len) == 0;
  }
  return 0;
}

static void run_framer(const job *j, framer_format format, const sb *stream, size_t step,
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

static void run_matrix(const void *arg) {
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
static void check_vector_n(const char *name, const char *json, size_t len, const expect *want,
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

static void check_vector(const char *name, const char *json, const expect *want) {
  check_vector_n(name, json, strlen(json), want, FULL);
}

typedef struct group {
  void (*fn)(void);
} group;

static void run_group(const void *arg) {
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

/* Shapes, field extraction, precedence. */
static const vec shape_vectors[] = {
    {"shape a, all fields",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_abc\","
     "\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":\"Please connect Slack to continue.\"}",
     WANT_A("slack", "ltk_abc", ABSENT, "2026-05-04T18:30:00Z", "Please connect Slack to continue.",
            ABSENT)},
    {"shape a, type last",
     "{\"Connector\":\"jira\",\"message\":\"m\",\"expires_at\":\"e\",\"link_token\":\"t\","
     "\"type\":\"authenticate_meta\"}",
     WANT_A("jira", "t", ABSENT, "e", "m", ABSENT)},
    {"shape a, no other member", "{\"type\":\"authenticate_meta\"}", WANT_A_BARE},
    {"shape b, all fields",
     "{\"message\":\"Please connect GitHub.\",\"magic_link_url\":\"https://link.example/l/ltk_def\","
     "\"link_token\":\"ltk_def\"}",
     WANT_B(ABSENT, "ltk_def", "https://link.example/l/ltk_def", ABSENT, "Please connect GitHub.",
            ABSENT)},
    {"shape b, url before token, extra members",
     "{\"magic_link_url\":\"https://l/x\",\"connector\":\"notion\",\"expires_at\":"
     "\"2026-01-01T00:00:00Z\",\"other\":[1,{\"k\":null}],\"link_token\":\"ltk_x\","
     "\"tool_call_id\":\"tc_1\"}",
     WANT_B("notion", "ltk_x", "https://l/x", "2026-01-01T00:00:00Z", ABSENT, "tc_1")},
    {"shape b, token before url", "{\"link_token\":\"t\",\"magic_link_url\":\"u\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"connector: Connector beats connector and connector_slug",
     "{\"connector_slug\":\"c3\",\"connector\":\"c2\",\"Connector\":\"c1\",\"type\":"
     "\"authenticate_meta\"}",
     WANT_A("c1", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector: connector beats connector_slug",
     "{\"connector_slug\":\"c3\",\"type\":\"authenticate_meta\",\"connector\":\"c2\"}",
     WANT_A("c2", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector: connector_slug alone", "{\"type\":\"authenticate_meta\",\"connector_slug\":\"c3\"}",
     WANT_A("c3", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector member beats enclosing tool name",
     "{\"name\":\"slack__post\",\"result\":{\"type\":\"authenticate_meta\",\"connector_slug\":"
     "\"jira\"}}",
     WANT_A("jira", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool name in the matched object",
     "{\"type\":\"authenticate_meta\",\"name\":\"authenticate_slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"toolName in enclosing object",
     "{\"toolName\":\"authenticate_google_drive\",\"output\":{\"type\":\"authenticate_meta\","
     "\"link_token\":\"l\"}}",
     WANT_A("google_drive", "l", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool_name <slug>__<tool> in enclosing object",
     "{\"tool_name\":\"github__create_issue\",\"result\":{\"link_token\":\"t\",\"magic_link_url\":"
     "\"u\"}}",
     WANT_B("github", "t", "u", ABSENT, ABSENT, ABSENT)},
    {"nearest tool name wins",
     "{\"name\":\"outer__x\",\"r\":{\"toolName\":\"inner__y\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}}",
     WANT_A("inner", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool name of an earlier sibling does not count",
     "[{\"name\":\"slack__x\"},{\"type\":\"authenticate_meta\"}]", WANT_A_BARE},
    {"tool name of a later sibling does not count",
     "[{\"type\":\"authenticate_meta\"},{\"toolName\":\"slack__x\"}]", WANT_A_BARE},
    {"tool name in a child of the parent does not count",
     "{\"meta\":{\"name\":\"slack__x\"},\"r\":{\"type\":\"authenticate_meta\"}}", WANT_A_BARE},
    {"tool name after the match in the enclosing object",
     "{\"r\":{\"type\":\"authenticate_meta\"},\"name\":\"late__tool\"}",
     WANT_A("late", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool call id: nearest enclosing wins",
     "{\"tool_call_id\":\"far\",\"x\":{\"call_id\":\"near\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "near")},
    {"tool call id: tool_call_id preferred",
     "{\"tool_use_id\":\"d\",\"call_id\":\"c\",\"toolCallId\":\"b\",\"tool_call_id\":\"a\","
     "\"r\":{\"type\":\"authenticate_meta\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "a")},
    {"tool call id: toolCallId before call_id",
     "{\"tool_use_id\":\"d\",\"call_id\":\"c\",\"toolCallId\":\"b\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "b")},
    {"tool call id: call_id before tool_use_id, after the match",
     "{\"r\":{\"type\":\"authenticate_meta\"},\"tool_use_id\":\"d\",\"call_id\":\"c\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "c")},
    {"tool call id: tool_use_id",
     "{\"tool_use_id\":\"d\",\"r\":{\"link_token\":\"t\",\"magic_link_url\":\"u\"}}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, "d")},
    {"tool call id: the matched object's own wins",
     "{\"call_id\":\"parent\",\"r\":{\"type\":\"authenticate_meta\",\"tool_use_id\":\"own\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "own")},
    {"tool call id: siblings do not count",
     "[{\"tool_call_id\":\"sib\"},{\"type\":\"authenticate_meta\"},{\"call_id\":\"sib2\"}]",
     WANT_A_BARE},
    {"tool call id: a child of the parent does not count",
     "{\"meta\":{\"call_id\":\"cousin\"},\"r\":{\"type\":\"authenticate_meta\"}}", WANT_A_BARE},
    {"duplicate keys: the first wins",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"first\",\"Connector\":\"second\","
     "\"link_token\":\"t1\",\"link_token\":\"t2\"}",
     WANT_A("first", "t1", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"fields come from the matched object only",
     "{\"type\":\"authenticate_meta\",\"details\":{\"link_token\":\"inner\",\"Connector\":\"x\","
     "\"message\":\"not mine\"}}",
     WANT_A_BARE},
};

/* Realistic carriers. */
static const vec realistic_vectors[] = {
    {"MCP JSON-RPC result, content[].text",
     "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":"
     "\\\"ltk_mcp\\\",\\\"expires_at\\\":\\\"2026-05-04T18:30:00Z\\\",\\\"message\\\":"
     "\\\"Please connect Slack to continue.\\\"}\"}],\"isError\":false}}",
     WANT_A("slack", "ltk_mcp", ABSENT, "2026-05-04T18:30:00Z", "Please connect Slack to continue.",
            ABSENT)},
    {"MCP JSON-RPC result, pretty-printed magic link in text",
     "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
     "\"{\\n  \\\"message\\\": \\\"Connect GitHub\\\",\\n  \\\"magic_link_url\\\": "
     "\\\"https://relay.example/_authrelay/link/ltk_gh\\\",\\n  \\\"link_token\\\": "
     "\\\"ltk_gh\\\"\\n}\"}]}}",
     WANT_B(ABSENT, "ltk_gh", "https://relay.example/_authrelay/link/ltk_gh", ABSENT,
            "Connect GitHub", ABSENT)},
    {"OpenAI Responses function_call_output",
     "{\"type\":\"function_call_output\",\"call_id\":\"call_abc123\",\"output\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"connector\\\":\\\"github\\\","
     "\\\"link_token\\\":\\\"ltk_oa\\\",\\\"message\\\":\\\"Connect GitHub\\\"}\"}",
     WANT_A("github", "ltk_oa", ABSENT, ABSENT, "Connect GitHub", "call_abc123")},
    {"OpenAI Responses output_item.done with function_call_output",
     "{\"type\":\"response.output_item.done\",\"output_index\":1,\"sequence_number\":12,"
     "\"item\":{\"id\":\"fco_1\",\"type\":\"function_call_output\",\"call_id\":\"call_9\","
     "\"output\":\"{\\\"message\\\":\\\"Connect Notion\\\",\\\"magic_link_url\\\":"
     "\\\"https://l.example/n\\\",\\\"link_token\\\":\\\"ltk_9\\\"}\"}}",
     WANT_B(ABSENT, "ltk_9", "https://l.example/n", ABSENT, "Connect Notion", "call_9")},
    {"Vercel AI SDK tool-output-available",
     "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_1\",\"output\":{\"message\":"
     "\"Connect Slack\",\"magic_link_url\":\"https://relay.example/_authrelay/link/ltk_v\","
     "\"link_token\":\"ltk_v\"}}",
     WANT_B(ABSENT, "ltk_v", "https://relay.example/_authrelay/link/ltk_v", ABSENT, "Connect Slack",
            "call_1")},
    {"Vercel AI SDK tool-result with toolName",
     "{\"type\":\"tool-result\",\"toolCallId\":\"call_2\",\"toolName\":\"slack__post_message\","
     "\"input\":{\"channel\":\"#general\"},\"output\":{\"type\":\"authenticate_meta\","
     "\"link_token\":\"ltk_s\",\"expires_at\":\"2026-05-04T18:30:00Z\"}}",
     WANT_A("slack", "ltk_s", ABSENT, "2026-05-04T18:30:00Z", ABSENT, "call_2")},
    {"Link guide function_call_result",
     "{\"type\":\"function_call_result\",\"result\":{\"type\":\"authenticate_meta\",\"Connector\":"
     "\"notion\",\"link_token\":\"ltk_n\",\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":"
     "\"Connect Notion to continue.\"}}",
     WANT_A("notion", "ltk_n", ABSENT, "2026-05-04T18:30:00Z", "Connect Notion to continue.",
            ABSENT)},
    {"Link guide function_call_result with name and call_id",
     "{\"type\":\"function_call_result\",\"name\":\"authenticate_linear\",\"call_id\":\"call_l\","
     "\"result\":{\"type\":\"authenticate_meta\",\"link_token\":\"ltk_l\"}}",
     WANT_A("linear", "ltk_l", ABSENT, ABSENT, ABSENT, "call_l")},
    {"Anthropic tool_result content[].text",
     "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":[{\"type\":\"text\","
     "\"text\":\"{\\\"link_token\\\":\\\"ltk_an\\\",\\\"magic_link_url\\\":"
     "\\\"https://l.example/an\\\"}\"}]}",
     WANT_B(ABSENT, "ltk_an", "https://l.example/an", ABSENT, ABSENT, "toolu_01A")},
    {"tool name around a JSON-in-string (params.name)",
     "{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{\"name\":\"jira__create_issue\",\"result\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"link_token\\\":\\\"ltk_j\\\"}\"}}",
     WANT_A("jira", "ltk_j", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"top-level JSON string holding the result",
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\"}\"",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string holding an array",
     "{\"output\":\"[{\\\"link_token\\\":\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\"}]\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string with leading white space",
     "{\"output\":\" \\n\\t {\\\"type\\\":\\\"authenticate_meta\\\"}\"}", WANT_A_BARE},
};

/* Escapes. */
static const vec escape_vectors[] = {
    {"\\u escapes in key and value",
     "{\"\\u0074ype\":\"\\u0061uthenticate_meta\",\"Connector\":\"slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"\\u005f in the type value, escapes in connector",
     "{\"type\":\"authenticate\\u005fmeta\",\"Conn\\u0065ctor\":\"sl\\u0061ck\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"escaped link_token key and \\/ in url",
     "{\"link\\u005ftoken\":\"ltk_\\u0031\",\"magic_link_url\":\"https:\\/\\/l.example\\/x\"}",
     WANT_B(ABSENT, "ltk_1", "https://l.example/x", ABSENT, ABSENT, ABSENT)},
    {"message unescaped",
     "{\"type\":\"authenticate_meta\",\"message\":\"Connect \\\"Slack\\\" \\u2014 now\\n\\ttab "
     "\\\\ slash \\/ \\ud83d\\ude00\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT,
            "Connect \"Slack\" \xe2\x80\x94 now\n\ttab \\ slash / \xf0\x9f\x98\x80", ABSENT)},
    {"escaped escapes inside MCP text",
     "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"\\\\u0074ype\\\":"
     "\\\"\\\\u0061uthenticate_meta\\\",\\\"connector\\\":\\\"gmail\\\"}\"}]}}",
     WANT_A("gmail", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"valid UTF-8 copied as is",
     "{\"type\":\"authenticate_meta\",\"message\":\"Connectez-vous \xc3\xa0 Slack \xe2\x9c\x93 "
     "\xf0\x9f\x94\x91\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT,
            "Connectez-vous \xc3\xa0 Slack \xe2\x9c\x93 \xf0\x9f\x94\x91", ABSENT)},
};

/* Must not match. */
static const vec near_miss_vectors[] = {
    {"authenticate_metadata", "{\"type\":\"authenticate_metadata\",\"Connector\":\"slack\"}",
     WANT_NO_MATCH},
    {"Authenticate_meta (no trigger)", "{\"type\":\"Authenticate_meta\",\"Connector\":\"slack\"}",
     WANT_SKIPPED},
    {"Authenticate_meta (triggered by link_token)",
     "{\"type\":\"Authenticate_meta\",\"link_token\":\"t\"}", WANT_NO_MATCH},
    {"type with a trailing space", "{\"type\":\"authenticate_meta \",\"x\":1}", WANT_NO_MATCH},
    {"type as array", "{\"type\":[\"authenticate_meta\"]}", WANT_NO_MATCH},
    {"type as object", "{\"type\":{\"authenticate_meta\":true}}", WANT_NO_MATCH},
    {"type null, word in another member", "{\"type\":null,\"kind\":\"authenticate_meta\"}",
     WANT_NO_MATCH},
    {"word in an array member", "{\"type\":\"x\",\"tags\":[\"authenticate_meta\"]}", WANT_NO_MATCH},
    {"Type / types keys", "{\"Type\":\"authenticate_meta\",\"types\":\"authenticate_meta\"}",
     WANT_NO_MATCH},
    {"link_token without magic_link_url",
     "{\"link_token\":\"ltk_1\",\"message\":\"Please connect.\"}", WANT_NO_MATCH},
    {"magic_link_url a number", "{\"link_token\":\"t\",\"magic_link_url\":123}", WANT_NO_MATCH},
    {"magic_link_url null", "{\"link_token\":\"t\",\"magic_link_url\":null}", WANT_NO_MATCH},
    {"magic_link_url an array", "{\"link_token\":\"t\",\"magic_link_url\":[\"u\"]}", WANT_NO_MATCH},
    {"link_token an object", "{\"link_token\":{\"v\":\"t\"},\"magic_link_url\":\"u\"}",
     WANT_NO_MATCH},
    {"link_token a boolean", "{\"link_token\":true,\"magic_link_url\":\"u\"}", WANT_NO_MATCH},
    {"words in ordinary text", "{\"text\":\"please run authenticate_meta now\"}", WANT_NO_MATCH},
    {"all the words in ordinary text",
     "{\"text\":\"type authenticate_meta with link_token and magic_link_url\"}", WANT_NO_MATCH},
    {"key named authenticate_meta", "{\"authenticate_meta\":\"type\"}", WANT_NO_MATCH},
    {"key named authenticate_meta holding a type",
     "{\"authenticate_meta\":{\"type\":\"x\"},\"type\":\"x\"}", WANT_NO_MATCH},
    {"link_token and magic_link_url in parent and child",
     "{\"link_token\":\"t\",\"x\":{\"magic_link_url\":\"u\"}}", WANT_NO_MATCH},
    {"magic_link_url and link_token in parent and child",
     "{\"magic_link_url\":\"u\",\"x\":{\"link_token\":\"t\"}}", WANT_NO_MATCH},
    {"link_token and magic_link_url in sibling objects",
     "[{\"link_token\":\"t\"},{\"magic_link_url\":\"u\"}]", WANT_NO_MATCH},
    {"array of the words", "[\"type\",\"authenticate_meta\"]", WANT_NO_MATCH},
    {"key link_token with a space", "{\"link_token \":\"t\",\"magic_link_url\":\"u\"}",
     WANT_NO_MATCH},
    {"Link_token (no trigger)", "{\"Link_token\":\"t\",\"magic_link_url\":\"u\"}", WANT_SKIPPED},
    {"\\u escape without any result", "{\"text\":\"caf\\u00e9\"}", WANT_NO_MATCH},
    {"nothing to trigger", "{\"a\":1,\"note\":\"authenticate-meta, link token, \\\\ u\"}",
     WANT_SKIPPED},
    {"JSON-in-string after leading text",
     "{\"output\":\"Result: {\\\"type\\\":\\\"authenticate_meta\\\"}\"}", WANT_NO_MATCH},
    {"JSON-in-string with trailing text",
     "{\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\"} done\"}", WANT_NO_MATCH},
    {"JSON-in-string truncated", "{\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\"\"}",
     WANT_NO_MATCH},
    {"JSON text as a key", "{\"{\\\"type\\\":\\\"authenticate_meta\\\"}\":1}", WANT_NO_MATCH},
};

/* Only the first match of an event. */
static const vec first_match_vectors[] = {
    {"first of two siblings",
     "[{\"type\":\"authenticate_meta\",\"Connector\":\"first\"},{\"type\":\"authenticate_meta\","
     "\"Connector\":\"second\"}]",
     WANT_A("first", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"first of two shapes",
     "[{\"link_token\":\"t1\",\"magic_link_url\":\"u1\"},{\"type\":\"authenticate_meta\","
     "\"Connector\":\"second\"}]",
     WANT_B(ABSENT, "t1", "u1", ABSENT, ABSENT, ABSENT)},
    {"inner object closes first",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\",\"link_token\":\"lo\",\"inner\":"
     "{\"link_token\":\"li\",\"magic_link_url\":\"ui\"}}",
     WANT_B(ABSENT, "li", "ui", ABSENT, ABSENT, ABSENT)},
    {"match inside a string counts when the string is seen",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\",\"text\":\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"inner\\\"}\"}",
     WANT_A("inner", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"first of two JSON strings",
     "[\"{\\\"link_token\\\":\\\"a\\\",\\\"magic_link_url\\\":\\\"ua\\\"}\",\"{\\\"link_token\\\":"
     "\\\"b\\\",\\\"magic_link_url\\\":\\\"ub\\\"}\"]",
     WANT_B(ABSENT, "a", "ua", ABSENT, ABSENT, ABSENT)},
    {"invalid JSON string with a match, then a real one",
     "[\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"bad\\\",\\\"message\\\":"
     "\\\"stale\\\"} trailing\",{\"type\":\"authenticate_meta\",\"Connector\":\"good\"}]",
     WANT_A("good", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"invalid JSON string with a match, then a valid JSON string",
     "[\"{\\\"link_token\\\":\\\"bad\\\",\\\"magic_link_url\\\":\\\"ub\\\"}]\",\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\",\\\"connector\\\":\\\"good\\\"}\"]",
     WANT_A("good", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
};

/* Numbers, invalid UTF-8, truncation, trailing garbage. */
static const vec robustness_vectors[] = {
    {"huge exponents next to a match",
     "{\"big\":1e999999,\"tiny\":-0.0e-99999,\"type\":\"authenticate_meta\",\"Connector\":\"slack\","
     "\"neg\":-123456789012345678901234567890.123456789e+308}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"huge numbers around a magic link",
     "[1e999999,{\"link_token\":\"t\",\"magic_link_url\":\"u\"},-0.0e-99999,18446744073709551616]",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"number with a leading zero", "{\"type\":\"authenticate_meta\",\"n\":01}", WANT_MALFORMED},
    {"number without fraction digits", "{\"type\":\"authenticate_meta\",\"n\":1.}",
     WANT_MALFORMED},
    {"lone minus", "{\"type\":\"authenticate_meta\",\"n\":-}", WANT_MALFORMED},
    {"number without exponent digits", "{\"type\":\"authenticate_meta\",\"n\":1e}",
     WANT_MALFORMED},
    {"NaN", "{\"type\":\"authenticate_meta\",\"n\":NaN}", WANT_MALFORMED},
    {"invalid UTF-8 \\xff in a string",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xff"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 overlong \\xc0\\xaf",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xc0\xaf"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 overlong \\xe0\\x80\\xaf",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xe0\x80\xaf"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 surrogate \\xed\\xa0\\x80",
     "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"message\":\"a\xed\xa0\x80"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 above U+10FFFF \\xf4\\x90\\x80\\x80",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xf4\x90\x80\x80"
     "b\"}",
     WANT_MALFORMED},
    {"a lone surrogate escape is valid JSON text (the bytes are UTF-8), not an encoding error",
     "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"message\":\"\\udc00\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, "\xed\xb0\x80", ABSENT)},
    {"invalid UTF-8 in a member name",
     "{\"type\":\"authenticate_meta\",\"k\xc0\xaf\":1}",
     WANT_MALFORMED},
    {"invalid UTF-8 truncated 3-byte sequence",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xe2\x82\"}", WANT_MALFORMED},
    {"invalid UTF-8 truncated 4-byte sequence",
     "{\"type\":\"authenticate_meta\",\"message\":\"\xf0\x9f\x98\"}", WANT_MALFORMED},
    {"invalid UTF-8 lone continuation byte",
     "{\"link_token\":\"t\x80\",\"magic_link_url\":\"u\"}", WANT_MALFORMED},
    {"invalid UTF-8 lead byte before ASCII", "{\"link_token\":\"t\xc3(\",\"magic_link_url\":\"u\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 in a key", "{\"type\":\"authenticate_meta\",\"k\xff\":\"v\"}", WANT_MALFORMED},
    {"invalid byte outside strings", "{\xff\"type\":\"authenticate_meta\"}", WANT_MALFORMED},
    {"control character in a string", "{\"type\":\"authenticate_meta\",\"message\":\"a\x01\"}",
     WANT_MALFORMED},
    {"raw LF in a string (SSE: two data lines)",
     "{\"type\":\"authenticate_meta\",\"message\":\"line1\nline2\"}", WANT_MALFORMED},
    {"raw LF between tokens (SSE: two data lines)",
     "{\"type\":\"authenticate_meta\",\n\"Connector\":\"slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"truncated after a member", "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"",
     WANT_MALFORMED},
    {"truncated inside a string", "{\"type\":\"authenticate_meta\",\"Connector\":\"sla",
     WANT_MALFORMED},
    {"truncated magic link", "{\"link_token\":\"t\",\"magic_link_url\":\"u\"", WANT_MALFORMED},
    {"truncated MCP result after the text",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\"}\"}]",
     WANT_MALFORMED},
    {"truncated inside an escape", "{\"type\":\"authenticate_meta\",\"message\":\"\\u00",
     WANT_MALFORMED},
    {"trailing garbage", "{\"type\":\"authenticate_meta\"} x", WANT_MALFORMED},
    {"two JSON texts", "{\"type\":\"authenticate_meta\"}{\"type\":\"authenticate_meta\"}",
     WANT_MALFORMED},
    {"extra closing bracket", "{\"type\":\"authenticate_meta\"}]", WANT_MALFORMED},
    {"trailing comma", "{\"link_token\":\"t\",\"magic_link_url\":\"u\",}", WANT_MALFORMED},
    {"comment after the text", "{\"type\":\"authenticate_meta\"} // c", WANT_MALFORMED},
    {"single quotes", "{'type':'authenticate_meta'}", WANT_MALFORMED},
    {"match then a syntax error", "[{\"type\":\"authenticate_meta\",\"Connector\":\"a\"}, nope]",
     WANT_MALFORMED},
    {"white space around the text", "\t {\"type\":\"authenticate_meta\"}  \t ", WANT_A_BARE},
};

/* JSON white space is space, tab, LF and CR only (RFC 8259); yajl's lexer
 * also skips vertical tab (0x0B) and form feed (0x0C), which makes these
 * invalid texts look valid to it. Escaped inside a string they are fine. */
static const vec white_space_vectors[] = {
    {"form feed after the text", "{\"type\":\"authenticate_meta\"}\f", WANT_MALFORMED},
    {"vertical tab before the text", "\v{\"type\":\"authenticate_meta\"}", WANT_MALFORMED},
    {"form feed between a colon and a value", "{\"type\":\f\"authenticate_meta\"}",
     WANT_MALFORMED},
    {"vertical tab between a key and its colon",
     "{\"link_token\"\v:\"t\",\"magic_link_url\":\"u\"}", WANT_MALFORMED},
    {"form feed after a match, before the closing bracket",
     "[{\"link_token\":\"t\",\"magic_link_url\":\"u\"}\f]", WANT_MALFORMED},
    {"vertical tab then a match, all around a valid prefix",
     "{\"a\":[1,2,3],\"b\":{\"type\":\"authenticate_meta\"},\v\"c\":null}", WANT_MALFORMED},
    {"escaped form feed and vertical tab in strings are valid",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\\fb\\u000bc\\u000C\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, "a\fb\vc\f", ABSENT)},
    /* JSON-in-string: the escape becomes a raw 0x0C / 0x0B in the inner
     * text, so the inner text is not JSON and its match does not count;
     * the payload itself is valid. */
    {"JSON-in-string ending in an escaped form feed",
     "{\"text\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\f\"}", WANT_NO_MATCH},
    {"JSON-in-string with \\u000b between tokens",
     "{\"text\":\"{\\\"type\\\":\\u000b\\\"authenticate_meta\\\"}\"}", WANT_NO_MATCH},
    {"JSON-in-string with \\u000C after a match",
     "{\"text\":\"[{\\\"link_token\\\":\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\"}\\u000C]\"}",
     WANT_NO_MATCH},
    {"JSON-in-string with \\u000c, then a valid match in the payload",
     "[{\"text\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\u000c\"},"
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\"}]",
     WANT_A("outer", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string with white space escapes that JSON allows",
     "{\"text\":\"\\t{\\\"type\\\":\\r\\n\\\"authenticate_meta\\\"}\\u0020\"}", WANT_A_BARE},
};

/* Present but empty: ptr non-NULL, len 0 (ptr is NULL only when not found).
 * Run one child per vector: a NULL + 0 in the detector aborts under UBSan. */
static const vec empty_vectors[] = {
    {"empty link_token and magic_link_url", "{\"link_token\":\"\",\"magic_link_url\":\"\"}",
     WANT_B(ABSENT, "", "", ABSENT, ABSENT, ABSENT)},
    {"empty connector and message",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"\",\"message\":\"\"}",
     WANT_A("", ABSENT, ABSENT, ABSENT, "", ABSENT)},
};

static void run_table(const vec *t, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    check_vector(t[i].name, t[i].json, &t[i].want);
}

static void test_shapes(void) {
  run_table(shape_vectors, sizeof shape_vectors / sizeof shape_vectors[0]);
}

static void test_realistic(void) {
  run_table(realistic_vectors, sizeof realistic_vectors / sizeof realistic_vectors[0]);
}

static void test_escapes(void) {
  run_table(escape_vectors, sizeof escape_vectors / sizeof escape_vectors[0]);
}

static void test_near_misses(void) {
  run_table(near_miss_vectors, sizeof near_miss_vectors / sizeof near_miss_vectors[0]);
}

static void test_first_match(void) {
  run_table(first_match_vectors, sizeof first_match_vectors / sizeof first_match_vectors[0]);
}

static void test_robustness_vectors(void) {
  run_table(robustness_vectors, sizeof robustness_vectors / sizeof robustness_vectors[0]);
}

static void test_white_space(void) {
  run_table(white_space_vectors, sizeof white_space_vectors / sizeof white_space_vectors[0]);
}

static void test_empty_fields(void) {
  run_table(empty_vectors, sizeof empty_vectors / sizeof empty_vectors[0]);
}

/* ---- generated vectors ---------------------------------------------------- */

static void check_sb_sizes(const char *name, sb *b, const expect *want, sizes_t sz) {
  check_vector_n(name, b->p, b->len, want, sz);
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static void check_sb(const char *name, sb *b, const expect *want) {
  check_vector_n(name, b->p, b->len, want, FULL);
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static void test_json_in_string_levels(void) {
  sb b = {NULL, 0, 0};
  char *q1;
  char *q2;
  char *q3;
  sb lv = {NULL, 0, 0};
  static const expect two = WANT_A("box", "ltk_l2", ABSENT, ABSENT, "two levels", "call_l1");
  static const expect two_b = WANT_B(ABSENT, "t2", "u2", ABSENT, ABSENT, ABSENT);
  static const expect none = WANT_NO_MATCH;
  static const expect shallow = WANT_A("shallow", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  const char *inner_a =
      "{\"type\":\"authenticate_meta\",\"link_token\":\"ltk_l2\",\"message\":\"two levels\"}";
  const char *inner_b = "{\"link_token\":\"t2\",\"magic_link_url\":\"u2\"}";

  /* payload -> MCP text (level 1) -> output string (level 2): matches; the
   * nearest tool-call id is in level 1, the tool name in the payload. */
  q2 = quote(inner_a);
  sb_add(&lv, "{\"call_id\":\"call_l1\",\"output\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"toolName\":\"authenticate_box\",\"tool_call_id\":\"call_l0\",\"result\":"
             "{\"content\":[{\"type\":\"text\",\"text\":");
  sb_add(&b, q1);
  sb_add(&b, "}]}}");
  check_sb("JSON-in-string, 2 levels, ids across levels", &b, &two);
  free(q1);
  free(q2);
  free(lv.p);
  lv.p = NULL;
  lv.len = lv.cap = 0;

  /* two levels, magic link */
  q2 = quote(inner_b);
  sb_add(&lv, "{\"b\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, 2 levels, magic link", &b, &two_b);
  free(q1);
  free(q2);
  free(lv.p);
  lv.p = NULL;
  lv.len = lv.cap = 0;

  /* three levels: not looked into */
  q3 = quote(inner_b);
  sb_add(&lv, "{\"c\":");
  sb_add(&lv, q3);
  sb_add(&lv, "}");
  q2 = quote(lv.p);
  lv.len = 0;
  sb_add(&lv, "{\"b\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, 3 levels", &b, &none);

  /* three levels, then a shallow match */
  sb_add(&b, "[{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "},{\"type\":\"authenticate_meta\",\"Connector\":\"shallow\"}]");
  check_sb("JSON-in-string, 3 levels then a shallow match", &b, &shallow);
  free(q1);
  free(q2);
  free(q3);
  free(lv.p);
}

/* The white-space rule two levels down and across yajl's batches. */
static void test_white_space_generated(void) {
  sb b = {NULL, 0, 0};
  sb lv = {NULL, 0, 0};
  char *q1;
  static const expect none = WANT_NO_MATCH;
  static const expect bare = WANT_A_BARE;
  static const expect malformed = WANT_MALFORMED;
  size_t i;

  /* Level 2: the level-1 text holds a string whose text ends in the escape
   * \f, so the level-2 text ends in a raw form feed. */
  sb_add(&lv, "{\"b\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\f\"}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, form feed 2 levels down", &b, &none);
  free(q1);
  lv.len = 0;
  sb_add(&lv, "{\"b\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\n\"}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, LF 2 levels down (control)", &b, &bare);
  free(q1);
  free(lv.p);

  /* Long payloads: the detector hands yajl bytes in batches (4 KiB and
   * more), so the byte lands in a later batch than the trigger, at a
   * different place in it for each feeding size. */
  for (i = 0; i < 2; i++) {
    sb_add(&b, "{\"type\":\"authenticate_meta\",\"pad\":\"");
    sb_fill(&b, 'p', 9000);
    sb_add(&b, "\"");
    sb_add(&b, i == 0 ? "\f" : "\v");
    sb_add(&b, ",\"pad2\":\"");
    sb_fill(&b, 'q', 3000);
    sb_add(&b, "\"}");
    check_sb(i == 0 ? "form feed after 9000 bytes" : "vertical tab after 9000 bytes", &b,
             &malformed);
  }
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"pad\":\"");
  sb_fill(&b, 'p', 9000);
  sb_add(&b, "\"}\f");
  check_sb("form feed as the last byte of 9000", &b, &malformed);
}

static void test_depth_boundary(void) {
  /* DETECT_MAX_DEPTH = 64: detect.c counts open containers including the
   * object itself (frames[0..63]); an object inside 63 containers is at
   * depth 64 and matches, inside 64 containers at depth 65 and does not. */
  sb b = {NULL, 0, 0};
  static const expect deep = WANT_A("deep", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect deep_b = WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT);
  static const expect filled = WANT_A("deep", ABSENT, ABSENT, ABSENT, ABSENT, "c_top");
  static const expect none = WANT_NO_MATCH;
  static const expect shallow = WANT_A("shallow", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  const char *meta = "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}";

  sb_fill(&b, '[', 63);
  sb_add(&b, meta);
  sb_fill(&b, ']', 63);
  check_sb("depth 64 (63 arrays around): match", &b, &deep);

  sb_fill(&b, '[', 64);
  sb_add(&b, meta);
  sb_fill(&b, ']', 64);
  check_sb("depth 65 (64 arrays around): no match", &b, &none);

  sb_rep(&b, "{\"a\":", 63);
  sb_add(&b, meta);
  sb_fill(&b, '}', 63);
  check_sb("depth 64 (63 objects around): match", &b, &deep);

  sb_rep(&b, "{\"a\":", 64);
  sb_add(&b, meta);
  sb_fill(&b, '}', 64);
  check_sb("depth 65 (64 objects around): no match", &b, &none);

  sb_fill(&b, '[', 63);
  sb_add(&b, "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}");
  sb_fill(&b, ']', 63);
  check_sb("depth 64 magic link: match", &b, &deep_b);

  sb_fill(&b, '[', 64);
  sb_add(&b, "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}");
  sb_fill(&b, ']', 64);
  check_sb("depth 65 magic link: no match", &b, &none);

  /* the outermost object (depth 1) fills the id of a match at depth 64 */
  sb_add(&b, "{\"call_id\":\"c_top\",\"a\":");
  sb_fill(&b, '[', 62);
  sb_add(&b, meta);
  sb_fill(&b, ']', 62);
  sb_add(&b, "}");
  check_sb("depth 64 match, id at depth 1", &b, &filled);

  sb_add(&b, "{\"call_id\":\"c_top\",\"a\":");
  sb_fill(&b, '[', 63);
  sb_add(&b, meta);
  sb_fill(&b, ']', 63);
  sb_add(&b, "}");
  check_sb("depth 65 match, id at depth 1: no match", &b, &none);

  sb_fill(&b, '[', 100);
  sb_add(&b, meta);
  sb_fill(&b, ']', 100);
  check_sb("depth 101: no match", &b, &none);

  sb_add(&b, "[");
  sb_fill(&b, '[', 70);
  sb_add(&b, meta);
  sb_fill(&b, ']', 70);
  sb_add(&b, ",{\"type\":\"authenticate_meta\",\"Connector\":\"shallow\"}]");
  check_sb("too deep a match, then a shallow one", &b, &shallow);

  /* a JSON-in-string deeper than 64 is not looked into */
  sb_fill(&b, '[', 65);
  sb_add(&b, "\"{\\\"type\\\":\\\"authenticate_meta\\\"}\"");
  sb_fill(&b, ']', 65);
  check_sb("JSON-in-string inside 65 arrays: no match", &b, &none);
  free(b.p);
}

static void test_deep_nesting(void) {
  sb b = {NULL, 0, 0};
  static const expect none = WANT_NO_MATCH;
  static const expect bad = WANT_MALFORMED;
  static const expect after = WANT_A("after", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  sb_fill(&b, ']', 100000);
  sb_add(&b, "]");
  check_sb_sizes("100000 nested arrays, closed", &b, &none, SOME);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  check_sb_sizes("100000 nested arrays, never closed", &b, &bad, SOME);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  sb_add(&b, "}");
  check_sb_sizes("100000 nested arrays closed by '}'", &b, &bad, SOME);

  sb_add(&b, "{\"link_token\":\"x\",\"a\":");
  sb_rep(&b, "{\"a\":", 100000);
  sb_add(&b, "1");
  sb_fill(&b, '}', 100000);
  sb_add(&b, "}");
  check_sb_sizes("100000 nested objects, closed", &b, &none, SOME);

  sb_add(&b, "{\"link_token\":\"x\",\"a\":");
  sb_rep(&b, "{\"a\":", 100000);
  check_sb_sizes("100000 nested objects, never closed", &b, &bad, SOME);

  sb_fill(&b, '[', 100000);
  sb_add(&b, "{\"type\":\"authenticate_meta\"}");
  sb_fill(&b, ']', 100000);
  check_sb_sizes("match inside 100000 arrays", &b, &none, SOME);

  sb_add(&b, "[");
  sb_fill(&b, '[', 100000);
  sb_fill(&b, ']', 100000);
  sb_add(&b, ",{\"type\":\"authenticate_meta\",\"Connector\":\"after\"}]");
  check_sb_sizes("match after 100000 nested arrays", &b, &after, SOME);
}

static void test_huge_number(void) {
  sb b = {NULL, 0, 0};
  static const expect want = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect want_b = WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT);
  /* The number before the trigger: yajl first sees it whole. */
  sb_add(&b, "{\"n\":1");
  sb_fill(&b, '0', 99999);
  sb_add(&b, ",\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}");
  check_sb_sizes("100000-digit number before a match", &b, &want, SOME);
  /* The number after the trigger: it reaches yajl in pieces as it is fed,
   * 1 byte a call among the sizes. The result must be right; that the work
   * is linear is measured by bench-detect-stall (bench/), as a ratio. */
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"n\":-1");
  sb_fill(&b, '0', 99998);
  sb_add(&b, "}");
  check_sb_sizes("100000-digit number after a match", &b, &want, FEW);
  /* a fraction and an exponent of 100000 digits each, after a match */
  sb_add(&b, "[{\"link_token\":\"t\",\"magic_link_url\":\"u\"},-0.");
  sb_fill(&b, '0', 100000);
  sb_add(&b, "e-");
  sb_fill(&b, '9', 100000);
  sb_add(&b, "]");
  check_sb_sizes("100000-digit fraction and exponent after a match", &b, &want_b, SOME);
}

static void test_long_string_stall(void) {
  /* Not a number but the same concern (DESIGN: never stall; detect.h: work
   * is incremental and linear): a 200 000-byte string value after the
   * trigger (say, a big MCP text) fed 1 byte a call. Its value is over
   * 4096 bytes, so the message is omitted. */
  sb b = {NULL, 0, 0};
  static const expect want = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"");
  sb_fill(&b, 's', 200000);
  sb_add(&b, "\"}");
  check_sb_sizes("200000-byte string after a match", &b, &want, FEW);
}

static void test_long_fields(void) {
  sb b = {NULL, 0, 0};
  static const expect msg4096 = WANT_A("slack", ABSENT, ABSENT, ABSENT, m4096, ABSENT);
  static const expect msg4097 = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect lt4096 = WANT_B(ABSENT, k4096, "u", ABSENT, ABSENT, ABSENT);
  static const expect lt4097 = WANT_B(ABSENT, ABSENT, "u", ABSENT, "m", ABSENT);
  static const expect url5000 = WANT_B(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect a_lt5000 = WANT_A("slack", ABSENT, ABSENT, ABSENT, "m", ABSENT);
  static const expect conn5000 = WANT_A(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect id5000 = WANT_A(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);

  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"");
  sb_fill(&b, 'm', 4096);
  sb_add(&b, "\"}");
  check_sb("message of 4096 bytes kept", &b, &msg4096);

  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"");
  sb_fill(&b, 'm', 4097);
  sb_add(&b, "\"}");
  check_sb("message of 4097 bytes omitted", &b, &msg4097);

  sb_add(&b, "{\"magic_link_url\":\"u\",\"link_token\":\"");
  sb_fill(&b, 'k', 4096);
  sb_add(&b, "\"}");
  check_sb("magic link, link_token of 4096 bytes kept", &b, &lt4096);

  sb_add(&b, "{\"magic_link_url\":\"u\",\"message\":\"m\",\"link_token\":\"");
  sb_fill(&b, 'k', 4097);
  sb_add(&b, "\"}");
  check_sb("magic link, link_token of 4097 bytes: match, token omitted", &b, &lt4097);

  sb_add(&b, "{\"link_token\":\"t\",\"magic_link_url\":\"https://l.example/");
  sb_fill(&b, 'u', 5000);
  sb_add(&b, "\"}");
  check_sb("magic link, url of 5000 bytes: match, url omitted", &b, &url5000);

  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"");
  sb_fill(&b, 'k', 5000);
  sb_add(&b, "\",\"message\":\"m\"}");
  check_sb("shape a, link_token of 5000 bytes omitted", &b, &a_lt5000);

  sb_add(&b, "{\"type\":\"authenticate_meta\",\"link_token\":\"t\",\"Connector\":\"");
  sb_fill(&b, 'c', 5000);
  sb_add(&b, "\"}");
  check_sb("Connector of 5000 bytes omitted", &b, &conn5000);

  sb_add(&b, "{\"call_id\":\"");
  sb_fill(&b, 'i', 5000);
  sb_add(&b, "\",\"r\":{\"type\":\"authenticate_meta\",\"link_token\":\"t\"}}");
  check_sb("enclosing call_id of 5000 bytes omitted", &b, &id5000);
}

static void test_many_enclosing_captures(void) {
  /* 16 enclosing objects each with a 4095-byte message (each under the
   * 4096-byte field limit), then a plain magic link: a valid ~66 KB payload
   * whose match must still be found with its fields. */
  sb b = {NULL, 0, 0};
  static const expect want =
      WANT_B(ABSENT, "ltk_abcdefghijklmnopqrst",
             "https://relay.example/_authrelay/link/ltk_abcdefghijklmnopqrst", ABSENT, ABSENT,
             ABSENT);
  int i;
  for (i = 0; i < 16; i++) {
    sb_add(&b, "{\"message\":\"");
    sb_fill(&b, 'x', 4095);
    sb_add(&b, "\",\"next\":");
  }
  sb_add(&b, "{\"link_token\":\"ltk_abcdefghijklmnopqrst\",\"magic_link_url\":"
             "\"https://relay.example/_authrelay/link/ltk_abcdefghijklmnopqrst\"}");
  sb_fill(&b, '}', 16);
  check_sb("magic link inside 16 objects with 4095-byte messages", &b, &want);
}

/* ---- API-level tests (in this process) ----------------------------------- */

static void test_prefilter(void) {
  static const char *const patterns[] = {"authenticate_meta", "link_token", "\\u"};
  static const char filler[] = "ab_\\c-x_y\\z";
  size_t pi;
  CHECK(detect_prefilter("authenticate_meta", 17) == 1);
  CHECK(detect_prefilter("link_token", 10) == 1);
  CHECK(detect_prefilter("\\u", 2) == 1);
  CHECK(detect_prefilter("{\"a\":\"caf\\u00e9\"}", 17) == 1);
  CHECK(detect_prefilter("authenticate_metadata", 21) == 1);
  CHECK(detect_prefilter("xlink_tokenx", 12) == 1);
  CHECK(detect_prefilter("\\\\u", 3) == 1);
  CHECK(detect_prefilter("", 0) == 0);
  CHECK(detect_prefilter("authenticate_met", 16) == 0);
  CHECK(detect_prefilter("uthenticate_meta", 16) == 0);
  CHECK(detect_prefilter("authenticatemeta", 16) == 0);
  CHECK(detect_prefilter("link_toke", 9) == 0);
  CHECK(detect_prefilter("ink_token", 9) == 0);
  CHECK(detect_prefilter("linktoken", 9) == 0);
  CHECK(detect_prefilter("magic_link_url", 14) == 0);
  CHECK(detect_prefilter("\\", 1) == 0);
  CHECK(detect_prefilter("\\U0041 \\x \\\\n \\\"", 16) == 0);
  CHECK(detect_prefilter("Authenticate_meta LINK_TOKEN link-token authenticate-meta link token",
                         68) == 0);
  CHECK(detect_prefilter("{\"type\":\"text\",\"text\":\"hello\"}", 30) == 0);
  /* len is respected: the pattern's last byte is outside */
  CHECK(detect_prefilter("link_token", 9) == 0);
  CHECK(detect_prefilter("authenticate_meta", 16) == 0);
  CHECK(detect_prefilter("\\u", 1) == 0);
  /* every pattern at every offset 0..40 (across the 16-byte scan blocks),
   * among decoy '_' and '\\' bytes */
  for (pi = 0; pi < 3; pi++) {
    size_t plen = strlen(patterns[pi]);
    size_t off;
    int whole_ok = 1;
    int cut_ok = 1;
    int broken_ok = 1;
    for (off = 0; off <= 40; off++) {
      size_t tail;
      for (tail = 0; tail <= 20; tail++) {
        char buf[128];
        size_t i;
        size_t n = 0;
        for (i = 0; i < off; i++)
          buf[n++] = filler[i % (sizeof filler - 1)];
        memcpy(buf + n, patterns[pi], plen);
        n += plen;
        for (i = 0; i < tail; i++)
          buf[n++] = filler[i % (sizeof filler - 1)];
        if (detect_prefilter(buf, n) != 1)
          whole_ok = 0;
        if (tail == 0 && detect_prefilter(buf, n - 1) != 0)
          cut_ok = 0;
        buf[off + plen - 1] = 'X'; /* break the pattern's last byte */
        if (detect_prefilter(buf, n) != 0)
          broken_ok = 0;
      }
    }
    CHECK(whole_ok);
    CHECK(cut_ok);
    CHECK(broken_ok);
  }
}

/* Feeds p[0, k), then p[0, len) when feed_all, then finishes with p[0, len):
 * a trigger cut at k must still be seen. */
static detect_status feed_split(const char *p, size_t k, int feed_all, int *state_allocated) {
  detect_t d;
  detect_status st;
  size_t len = strlen(p);
  detect_init(&d);
  detect_feed(&d, p, k);
  if (feed_all)
    detect_feed(&d, p, len);
  st = detect_finish(&d, p, len, NULL);
  if (state_allocated != NULL)
    *state_allocated = d.state != NULL;
  detect_close(&d);
  return st;
}

static void test_prefilter_split(void) {
  /* each payload holds exactly one of the three triggers */
  static const char *const only[] = {
      "{\"type\":\"authenticate_meta\"}",
      "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}",
      "{\"type\":\"\\u0061uthenticate_meta\"}",
  };
  const char *near = "{\"type\":\"authenticate_met\",\"x\":\"link_toke\",\"y\":\"\\\\x\"}";
  size_t i;
  size_t k;
  for (i = 0; i < 3; i++) {
    int all = 1;
    for (k = 0; k <= strlen(only[i]); k++) {
      if (feed_split(only[i], k, 1, NULL) != DETECT_MATCH ||
          feed_split(only[i], k, 0, NULL) != DETECT_MATCH)
        all = 0;
    }
    CHECK(all);
  }
  {
    int all = 1;
    int none_allocated = 1;
    for (k = 0; k <= strlen(near); k++) {
      int allocated = 1;
      if (feed_split(near, k, 1, &allocated) != DETECT_SKIPPED)
        all = 0;
      if (allocated)
        none_allocated = 0;
      if (feed_split(near, k, 0, &allocated) != DETECT_SKIPPED)
        all = 0;
      if (allocated)
        none_allocated = 0;
    }
    CHECK(all);
    CHECK(none_allocated); /* nothing allocated until a payload triggers */
  }
}

static void test_tool_name(void) {
  detect_str s = {NULL, 0};
  const char *name;
  static const char unterminated[12] = {'j', 'i', 'r', 'a', '_', '_', 'c', 'r', 'e', 'a', 't', 'e'};
  CHECK(detect_connector_from_tool_name("authenticate_", 13, &s) == 0);
  CHECK(detect_connector_from_tool_name("__tool", 6, &s) == 0);
  CHECK(detect_connector_from_tool_name("", 0, &s) == 0);
  CHECK(detect_connector_from_tool_name("post_message", 12, &s) == 0);
  CHECK(detect_connector_from_tool_name("Slack", 5, &s) == 0);
  CHECK(detect_connector_from_tool_name("authenticate", 12, &s) == 0);
  CHECK(detect_connector_from_tool_name("slack__", 7, &s) == 0);
  CHECK(detect_connector_from_tool_name("a__", 3, &s) == 0);
  CHECK(detect_connector_from_tool_name("my slack__post", 14, &s) == 0);
  CHECK(detect_connector_from_tool_name("authenticate_my slack", 21, &s) == 0);
  /* len is respected: only "authenticate_" of "authenticate_slack" */
  CHECK(detect_connector_from_tool_name("authenticate_slack", 13, &s) == 0);

  name = "a__b__c";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 7, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "a");
  CHECK(s.ptr == name);

  name = "slack__post_message";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 19, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "slack");
  CHECK(s.ptr == name); /* points into name, no copy */

  name = "authenticate_slack";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 18, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "slack");
  CHECK(s.ptr == name + 13);

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("authenticate_google_drive", 25, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "google_drive");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("github-enterprise__create_issue", 31, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "github-enterprise");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("x__y", 4, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "x");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("a___b", 5, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "a");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(unterminated, sizeof unterminated, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "jira");
}

static void test_shape_names(void) {
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_AUTHENTICATE_META), "authenticate_meta") == 0);
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_MAGIC_LINK), "magic_link") == 0);
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_NONE), "none") == 0);
}

static const detect_match dummy_match;

static void test_finish_api(void) {
  detect_t d;
  const detect_match *m;
  const char *meta = "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}";
  const char *plain = "{\"a\":1}";
  const char *nomatch = "{\"link_token\":\"t\"}";
  const char *bad = "{\"link_token\":";

  detect_init(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, "", 0, &m) == DETECT_SKIPPED); /* empty payload */
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, plain, strlen(plain));
  CHECK(d.state == NULL);
  CHECK(d.triggered == 0);
  m = &dummy_match;
  CHECK(detect_finish(&d, plain, strlen(plain), &m) == DETECT_SKIPPED);
  CHECK(m == NULL);
  CHECK(d.state == NULL); /* nothing allocated for a skipped payload */
  detect_reset(&d);

  detect_feed(&d, nomatch, strlen(nomatch));
  CHECK(d.state != NULL);
  CHECK(d.triggered == 1);
  m = &dummy_match;
  CHECK(detect_finish(&d, nomatch, strlen(nomatch), &m) == DETECT_NO_MATCH);
  CHECK(m == NULL);
  detect_reset(&d);
  CHECK(d.state == NULL);

  detect_feed(&d, bad, strlen(bad));
  m = &dummy_match;
  CHECK(detect_finish(&d, bad, strlen(bad), &m) == DETECT_MALFORMED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, strlen(meta));
  CHECK(detect_finish(&d, meta, strlen(meta), NULL) == DETECT_MATCH); /* match may be NULL */
  detect_reset(&d);

  /* bytes never fed are parsed by detect_finish() */
  detect_feed(&d, meta, 5);
  m = NULL;
  CHECK(detect_finish(&d, meta, strlen(meta), &m) == DETECT_MATCH);
  CHECK(m != NULL);
  if (m != NULL)
    CHECK_MEM(m->connector.ptr, m->connector.len, "slack");
  detect_reset(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, bad, strlen(bad), &m) == DETECT_MALFORMED); /* never fed */
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, strlen(meta));
  m = NULL;
  CHECK(detect_finish(&d, meta, strlen(meta), &m) == DETECT_MATCH);
  CHECK(m != NULL);
  if (m != NULL) {
    CHECK(m->shape == DETECT_SHAPE_AUTHENTICATE_META);
    CHECK_MEM(m->connector.ptr, m->connector.len, "slack");
    CHECK(m->link_token.ptr == NULL);
  }
  detect_close(&d);

  /* usable again after detect_close + detect_init */
  detect_init(&d);
  detect_feed(&d, meta, strlen(meta));
  CHECK(detect_finish(&d, meta, strlen(meta), NULL) == DETECT_MATCH);
  detect_close(&d);
}

static void test_abandon(void) {
  detect_t d;
  const detect_match *m;
  const char *meta = "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}";
  const char *plain = "{\"a\":1}";
  size_t len = strlen(meta);

  detect_init(&d);
  detect_feed(&d, meta, 20); /* triggered */
  detect_abandon(&d);
  detect_feed(&d, meta, len);
  m = &dummy_match;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_OVERSIZED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_abandon(&d); /* before any byte */
  detect_feed(&d, meta, len);
  CHECK(detect_finish(&d, meta, len, NULL) == DETECT_OVERSIZED);
  detect_reset(&d);

  detect_feed(&d, plain, strlen(plain)); /* not triggered */
  detect_abandon(&d);
  CHECK(detect_finish(&d, plain, strlen(plain), NULL) == DETECT_OVERSIZED);
  detect_reset(&d);

  detect_feed(&d, meta, len); /* the whole match, then abandoned */
  detect_abandon(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_OVERSIZED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, len); /* reset clears the abandon */
  m = NULL;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_MATCH);
  CHECK(m != NULL && m->shape == DETECT_SHAPE_AUTHENTICATE_META);
  detect_close(&d);
}

typedef struct multi_ctx {
  int n;
  detect_status status[64];
  int oversized[64];
  char connector[64][16];
} multi_ctx;

static int on_multi(void *ctx, const framer_event *ev) {
  multi_ctx *c = ctx;
  if (c->n < 64) {
    c->status[c->n] = ev->status;
    c->oversized[c->n] = ev->oversized;
    c->connector[c->n][0] = '\0';
    if (ev->match != NULL && ev->match->connector.ptr != NULL && ev->match->connector.len < 16) {
      memcpy(c->connector[c->n], ev->match->connector.ptr, ev->match->connector.len);
      c->connector[c->n][ev->match->connector.len] = '\0';
    }
  }
  c->n++;
  return 0;
}

static void test_framer_oversized(void) {
  /* detect_abandon through the framer: an event over max_event_bytes */
  framer_t f;
  framer_options opt = {40, 1};
  framer_callbacks cb = {on_multi, NULL, NULL};
  multi_ctx c;
  const char *s = "data: {\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"pad\":\"xxxxxx\"}\n\n"
                  "data: {\"link_token\":\"t\",\"magic_link_url\":\"u\"}\n\n";
  memset(&c, 0, sizeof c);
  CHECK(framer_init(&f, FRAMER_SSE, &opt, &cb, &c) == 0);
  CHECK(framer_feed(&f, s, strlen(s)) == strlen(s));
  framer_finish(&f);
  framer_close(&f);
  CHECK(c.n == 2);
  CHECK(c.status[0] == DETECT_OVERSIZED);
  CHECK(c.oversized[0] == 1);
  CHECK(c.status[1] == DETECT_MATCH);
  CHECK(c.oversized[1] == 0);
}

static void test_framer_many_events(void) {
  /* the framer's detector, reset between 50 NDJSON events */
  static const char *const lines[5] = {
      "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}",
      "{\"a\":1}",
      "{\"link_token\":\"t\",",
      "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"jira\"}",
      "{\"link_token\":\"t\"}",
  };
  static const detect_status want[5] = {DETECT_MATCH, DETECT_SKIPPED, DETECT_MALFORMED,
                                        DETECT_MATCH, DETECT_NO_MATCH};
  static const char *const want_conn[5] = {"slack", "", "", "jira", ""};
  sb stream = {NULL, 0, 0};
  size_t chunk;
  int i;
  for (i = 0; i < 50; i++) {
    sb_add(&stream, lines[i % 5]);
    sb_add(&stream, "\n");
  }
  for (chunk = 1; chunk <= 4096; chunk = chunk < 16 ? chunk + 5 : chunk * 16) {
    framer_t f;
    framer_callbacks cb = {on_multi, NULL, NULL};
    multi_ctx c;
    size_t off = 0;
    int seq_ok = 1;
    memset(&c, 0, sizeof c);
    CHECK(framer_init(&f, FRAMER_NDJSON, NULL, &cb, &c) == 0);
    while (off < stream.len) {
      size_t n = stream.len - off < chunk ? stream.len - off : chunk;
      framer_feed(&f, stream.p + off, n);
      off += n;
    }
    framer_finish(&f);
    CHECK(c.n == 50);
    for (i = 0; i < 50 && i < c.n; i++) {
      if (c.status[i] != want[i % 5] || strcmp(c.connector[i], want_conn[i % 5]) != 0)
        seq_ok = 0;
    }
    CHECK(seq_ok);
    CHECK_EQ_U64(f.stats.events, 50);
    CHECK_EQ_U64(f.stats.matches, 20);
    CHECK_EQ_U64(f.stats.malformed, 10);
    framer_close(&f);
  }
  free(stream.p);
}

static void test_reuse(void) {
  /* one detector, thousands of payloads, detect_reset between them; the
   * sanitized build's LeakSanitizer checks that nothing is left behind */
  static const char *const payloads[8] = {
      "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"l\"}",
      ("{\"jsonrpc\":\"2.0\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"link_token\\\":"
       "\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\",\\\"connector\\\":\\\"gh\\\"}\"}]}}"),
      "{\"a\":[1,2,3]}",
      "{\"link_token\":\"t\"}",
      "{\"type\":\"authenticate_meta\",\"message\":\"x\xff\"}",
      "[[[[[[[[[[[[[[[[[[[[{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"deep\"}",
      "[\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"connector\\\":\\\"bad\\\"} x\",1]",
      "{\"type\":\"authenticate_meta\",\"connector\":\"z\"} trailing",
  };
  static const detect_status want[8] = {DETECT_MATCH,    DETECT_MATCH,     DETECT_SKIPPED,
                                        DETECT_NO_MATCH, DETECT_MALFORMED, DETECT_MALFORMED,
                                        DETECT_NO_MATCH, DETECT_MALFORMED};
  static const char *const conn[8] = {"slack", "gh", NULL, NULL, NULL, NULL, NULL, NULL};
  detect_t d;
  int i;
  int status_ok = 1;
  int field_ok = 1;
  detect_init(&d);
  for (i = 0; i < 4000; i++) {
    const char *p = payloads[i % 8];
    size_t len = strlen(p);
    size_t step = (size_t)(i % 13) + 1;
    size_t n = 0;
    const detect_match *m = NULL;
    detect_status st;
    while (n < len) {
      n = len - n > step ? n + step : len;
      detect_feed(&d, p, n);
    }
    st = detect_finish(&d, p, len, &m);
    if (st != want[i % 8])
      status_ok = 0;
    if (conn[i % 8] != NULL &&
        (m == NULL || m->connector.ptr == NULL || m->connector.len != strlen(conn[i % 8]) ||
         memcmp(m->connector.ptr, conn[i % 8], m->connector.len) != 0))
      field_ok = 0;
    detect_reset(&d);
    if (i % 100 == 50) {
      /* reset in the middle of a triggered payload, never finished */
      detect_feed(&d, payloads[5], 40);
      detect_reset(&d);
    }
  }
  CHECK(status_ok);
  CHECK(field_ok);
  detect_close(&d);
}

int main(void) {
  memset(m4096, 'm', 4096);
  memset(k4096, 'k', 4096);
  RUN(test_prefilter);
  RUN(test_prefilter_split);
  RUN(test_tool_name);
  RUN(test_shape_names);
  RUN(test_finish_api);
  RUN(test_abandon);
  RUN(test_framer_oversized);
  RUN(test_framer_many_events);
  RUN(test_reuse);
  /* vectors: each group in one forked child */
  RUN_GROUP(test_shapes);
  RUN_GROUP(test_realistic);
  RUN_GROUP(test_escapes);
  RUN_GROUP(test_near_misses);
  RUN_GROUP(test_first_match);
  RUN_GROUP(test_robustness_vectors);
  RUN_GROUP(test_white_space);
  RUN_GROUP(test_white_space_generated);
  RUN_GROUP(test_json_in_string_levels);
  RUN_GROUP(test_depth_boundary);
  RUN_GROUP(test_deep_nesting);
  RUN_GROUP(test_long_fields);
  RUN_GROUP(test_many_enclosing_captures);
  /* vectors: one forked child each */
  RUN(test_empty_fields);
  RUN(test_huge_number);
  RUN(test_long_string_stall);
  return unit_report();
}
