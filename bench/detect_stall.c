/* bench-detect-stall: is the detector's work linear in the payload when a
 * hostile upstream sends it one byte at a time? (DESIGN: never stall.)
 *
 * tests/parser/test_detect_generated.c checks the results of these payloads fed a
 * byte a call; it measures no time. This program measures: each probe (a
 * 100 000-digit number after a match, a 200 000-byte string after a match,
 * 100 000 nested arrays) is built at size n and at 8n and fed through
 * detect_feed() a byte a call, then detect_finish(). It prints the time per
 * byte at both sizes and their ratio: about 1 for linear work, about 8 for
 * quadratic. Each time is the best of 3 runs. The verdict of every run is
 * checked (a wrong one exits 1); timings are never asserted: a ratio over 2
 * is printed as "SUPERLINEAR", exit 0.
 *
 * Usage: bench-detect-stall [--quick]   (--quick: n/8, one run each:
 *                                         correctness smoke test)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect.h"

typedef struct probe {
  const char *name;
  const char *head; /* before the filler */
  char fill;        /* repeated n times */
  const char *tail; /* after the filler ("" for the nested arrays: closed below) */
  char close;       /* repeated n times after tail, or 0 */
  detect_status want;
} probe;

static const probe probes[] = {
    {"number after a match", "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"n\":-1", '0',
     "}", 0, DETECT_MATCH},
    {"string after a match", "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"", 's',
     "\"}", 0, DETECT_MATCH},
    {"nested arrays", "[\"\\u0041\",", '[', "", ']', DETECT_NO_MATCH},
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The probe's payload with n filler bytes; the caller frees it. */
static char *build(const probe *p, size_t n, size_t *len) {
  size_t hl = strlen(p->head);
  size_t tl = strlen(p->tail);
  size_t cl = p->close ? n + 1 : 0; /* the closing run and the outer ']' */
  char *buf = malloc(hl + n + tl + cl + 1);
  if (buf == NULL) {
    fprintf(stderr, "bench-detect-stall: out of memory\n");
    exit(1);
  }
  memcpy(buf, p->head, hl);
  memset(buf + hl, p->fill, n);
  memcpy(buf + hl + n, p->tail, tl);
  if (p->close) {
    memset(buf + hl + n + tl, p->close, n);
    buf[hl + n + tl + n] = ']';
  }
  *len = hl + n + tl + cl;
  buf[*len] = '\0';
  return buf;
}

/* Seconds to feed the payload a byte a call and finish it. */
static double feed_bytewise(const probe *p, const char *payload, size_t len) {
  detect_t d;
  size_t i;
  double t0;
  double t;
  detect_status st;
  detect_init(&d);
  t0 = now_seconds();
  for (i = 1; i <= len; i++)
    detect_feed(&d, payload, i);
  st = detect_finish(&d, payload, len, NULL);
  t = now_seconds() - t0;
  detect_close(&d);
  if (st != p->want) {
    fprintf(stderr, "bench-detect-stall: %s: status %d, want %d\n", p->name, (int)st, (int)p->want);
    exit(1);
  }
  return t;
}

static double best_of(const probe *p, size_t n, int runs) {
  size_t len;
  char *payload = build(p, n, &len);
  double best = 0;
  int r;
  for (r = 0; r < runs; r++) {
    double t = feed_bytewise(p, payload, len);
    if (r == 0 || t < best)
      best = t;
  }
  free(payload);
  return best / (double)len;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  size_t n = quick ? 12500 : 100000;
  int runs = quick ? 1 : 3;
  size_t i;
  if (argc > 2 || (argc == 2 && !quick)) {
    fprintf(stderr, "usage: bench-detect-stall [--quick]\n");
    return 2;
  }
  printf("| probe, fed 1 byte a call | ns/byte at n=%zu | ns/byte at 8n | ratio |\n", n);
  printf("|---|---|---|---|\n");
  for (i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    double small = best_of(&probes[i], n, runs);
    double large = best_of(&probes[i], n * 8, runs);
    double ratio = large / small;
    printf("| %s | %.1f | %.1f | %.2f%s |\n", probes[i].name, small * 1e9, large * 1e9, ratio,
           quick ? " (--quick: meaningless)" : ratio > 2 ? " SUPERLINEAR" : "");
  }
  return 0;
}
