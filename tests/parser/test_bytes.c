/* Unit tests of parser/bytes.h, the parser's scanning loops, and of the
 * framers' use of its fused scan (a data line taken whole, without a copy,
 * with the prefilter's verdict from the line-end scan).
 *
 * Built twice (tests/parser/CMakeLists.txt): with SSE2 and with the
 * portable code, so both must agree with the plain references here.
 * Every buffer is allocated at its exact size, so a scan that reads past
 * its end shows under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "detect.h"
#include "framer.h"
#include "unit.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* Bytes that make line ends and candidates likely, and the filler x. */
static char random_byte(void) {
  static const char alphabet[] = "_emkt\\u\r\nxxxxxx";
  return alphabet[rng() % (sizeof alphabet - 1)];
}

/* Reference: index of the first a or b in p[0, len), or len. */
static size_t ref_eol(const char *p, size_t len, char a, char b) {
  size_t i;
  for (i = 0; i < len && p[i] != a && p[i] != b; i++)
    ;
  return i;
}

/* Reference: is there a candidate triple (or "\u") in p[0, n)? p[-1] counts
 * as the byte before p[0]. */
static int ref_candidate(const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (p[i] == '\\' && i + 1 < n && p[i + 1] == 'u')
      return 1;
    if (p[i] == '_' && i + 1 < n &&
        ((p[i + 1] == 'm' && (p + i)[-1] == 'e') || (p[i + 1] == 't' && (p + i)[-1] == 'k')))
      return 1;
  }
  return 0;
}

/* bytes_find2 and bytes_find_eol_pf against the references on random
 * buffers of every length up to a few 64-byte blocks, both line-end sets
 * (SSE's CR or LF, NDJSON's LF). When there is no candidate,
 * detect_prefilter() must find nothing in the line either: that is what the
 * framers rely on. */
static void test_find_eol_pf_random(void) {
  int round;
  int mismatches = 0;
  for (round = 0; round < 60000; round++) {
    size_t len = (size_t)(rng() % 300);
    char *buf = malloc(len + 1); /* buf[0] is p[-1] */
    const char *p = buf + 1;
    int lf_only = (int)(rng() & 1);
    char a = lf_only ? '\n' : '\r';
    size_t i, eol, n;
    const char *got, *got2;
    int candidate = -1;
    if (buf == NULL)
      abort();
    for (i = 0; i < len + 1; i++)
      buf[i] = random_byte();
    if (rng() % 2 == 0) { /* often one line end far away, or none */
      for (i = 1; i < len + 1; i++)
        if (buf[i] == '\r' || buf[i] == '\n')
          buf[i] = 'x';
      if (len > 0 && rng() % 2 == 0)
        buf[1 + rng() % len] = rng() % 2 ? '\r' : '\n';
    }
    eol = ref_eol(p, len, a, '\n');
    n = eol;
    got = bytes_find_eol_pf(p, len, a, '\n', &candidate);
    got2 = bytes_find2(p, len, a, '\n');
    if ((eol == len ? got != NULL : got != p + eol) || got2 != got ||
        candidate != ref_candidate(p, n) ||
        (candidate == 0 && detect_prefilter(p, n) != 0))
      mismatches++;
    free(buf);
  }
  CHECK(mismatches == 0);
}

/* Spelled-out cases at the edges of the 16-byte chunks: a candidate right
 * before the line end, right after it, split by the end of the scan, and at
 * position 0 with its neighbour before p. */
static void test_find_eol_pf_edges(void) {
  char line[80];
  size_t at;
  for (at = 0; at + 17 < sizeof line; at++) {
    int candidate;
    const char *eol;
    /* "link_token" ending just before the LF at 'at + 10'. */
    memset(line, 'x', sizeof line);
    memcpy(line + at, "link_token\n", 11);
    eol = bytes_find_eol_pf(line + 1, sizeof line - 1, '\r', '\n', &candidate);
    CHECK(eol == line + at + 10);
    CHECK(candidate == 1);
    /* The same after the line end: not before it, so no candidate. */
    memset(line, 'x', sizeof line);
    line[at + 1] = '\r';
    memcpy(line + at + 2, "link_token\\u", 12);
    eol = bytes_find_eol_pf(line + 1, sizeof line - 1, '\r', '\n', &candidate);
    CHECK(eol == line + at + 1);
    CHECK(candidate == 0);
    /* "\u" whose 'u' is the line end's place: "\" then LF. */
    memset(line, 'x', sizeof line);
    line[at + 1] = '\\';
    line[at + 2] = '\n';
    eol = bytes_find_eol_pf(line + 1, sizeof line - 1, '\n', '\n', &candidate);
    CHECK(eol == line + at + 2);
    CHECK(candidate == 0);
  }
  {
    int candidate;
    /* The byte before p counts as the neighbour of p[0]. */
    CHECK(bytes_find_eol_pf(&"e_m\n"[1], 3, '\n', '\n', &candidate) != NULL);
    CHECK(candidate == 1);
    /* A candidate whose next byte is past len is not one (len may end
     * mid-line: the framer scans again from there). */
    CHECK(bytes_find_eol_pf(&"xk_t"[1], 2, '\n', '\n', &candidate) == NULL);
    CHECK(candidate == 0);
    CHECK(bytes_find_eol_pf(&"x\\u"[1], 1, '\n', '\n', &candidate) == NULL);
    CHECK(candidate == 0);
  }
}

typedef struct verdicts {
  int events;
  int skipped;     /* events with DETECT_SKIPPED */
  int filtered_in; /* events whose data detect_prefilter() accepts */
  int agree;       /* events where the two say the same */
} verdicts;

static int count_verdict(void *ctx, const framer_event *ev) {
  verdicts *v = ctx;
  int skipped = ev->status == DETECT_SKIPPED;
  int in = detect_prefilter(ev->data, ev->data_len);
  v->events++;
  v->skipped += skipped;
  v->filtered_in += in;
  v->agree += skipped != in;
  return 0;
}

/* Feeds text (exactly len bytes, in its own allocation) in one call. */
static void feed_whole(framer_format format, const char *text, size_t len, verdicts *v) {
  framer_callbacks cb;
  framer_t f;
  char *copy = malloc(len > 0 ? len : 1);
  if (copy == NULL)
    abort();
  memcpy(copy, text, len);
  memset(&cb, 0, sizeof cb);
  cb.on_event = count_verdict;
  CHECK(framer_init(&f, format, NULL, &cb, v) == 0);
  CHECK_EQ_U64(framer_feed(&f, copy, len), len);
  framer_finish(&f);
  framer_close(&f);
  free(copy);
}

/* A data line taken whole gets the detector's verdict from the fused scan:
 * it must be the prefilter's. Each pattern (and near misses) at every
 * offset of lines of many lengths, after a first line so that the fast path
 * (p[-1] readable) is taken, in SSE and NDJSON. The payloads are not JSON,
 * so an event the prefilter lets in is DETECT_MALFORMED, one it keeps out
 * DETECT_SKIPPED. */
static void test_framers_prefilter_verdicts(void) {
  static const char *const patterns[] = {"authenticate_meta", "link_token", "\\u",
                                         "authenticate_mexa", "link_tokem", "\\x",
                                         "e_m", "k_t"};
  size_t pi, len, at;
  verdicts sse = {0, 0, 0, 0}, nd = {0, 0, 0, 0};
  int expected_in = 0;
  for (pi = 0; pi < sizeof patterns / sizeof patterns[0]; pi++) {
    size_t plen = strlen(patterns[pi]);
    for (len = plen; len < plen + 40; len++) {
      for (at = 0; at + plen <= len; at++) {
        char text[128];
        char line[64];
        size_t n;
        memset(line, 'y', len);
        memcpy(line + at, patterns[pi], plen);
        expected_in += detect_prefilter(line, len);
        n = (size_t)snprintf(text, sizeof text, "data: 0\n\ndata: %.*s\n\n", (int)len, line);
        feed_whole(FRAMER_SSE, text, n, &sse);
        n = (size_t)snprintf(text, sizeof text, "0\n%.*s\n", (int)len, line);
        feed_whole(FRAMER_NDJSON, text, n, &nd);
      }
    }
  }
  CHECK(expected_in > 0);
  CHECK(sse.agree == sse.events);
  CHECK(nd.agree == nd.events);
  CHECK(sse.filtered_in == expected_in); /* the "0" events are skipped */
  CHECK(nd.filtered_in == expected_in);
}

/* The scalar build really runs the portable code (AUTHRELAY_PARSER_SCALAR
 * reaches this file too), the other one SSE2 where the compiler has it. */
static void test_build_runs_its_path(void) {
#if defined(AUTHRELAY_PARSER_SCALAR)
  CHECK(BYTES_SIMD == 0);
#elif defined(__SSE2__)
  CHECK(BYTES_SIMD == 1);
#else
  CHECK(BYTES_SIMD == 0);
#endif
}

int main(void) {
  RUN(test_build_runs_its_path);
  RUN(test_find_eol_pf_random);
  RUN(test_find_eol_pf_edges);
  RUN(test_framers_prefilter_verdicts);
  return unit_report();
}
