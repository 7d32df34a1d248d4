/* loadhist: the latency histogram of bench-load (loadgen.c): log-linear,
 * 16 sub-buckets per power of two (6.25 % precision), percentiles as the
 * upper edge of their bucket, and its JSON in the report. */
#ifndef AUTHRELAY_BENCH_LOADHIST_H
#define AUTHRELAY_BENCH_LOADHIST_H

#include <stdint.h>

#define SUB_BITS 4
#define SUB (1 << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)

typedef struct {
  uint64_t counts[NBUCKETS];
  uint64_t n, max, min;
  double sum;
} hist_t;

/* Counts one value (nanoseconds). */
void hist_add(hist_t *h, uint64_t v);
/* Value at percentile p (0..100): the upper edge of its bucket, never above max. */
uint64_t hist_pct(const hist_t *h, double p);
/* Prints "name":{count, min, mean, p50...max in microseconds} to stdout;
 * with_pcts adds the "percentiles" array. */
void hist_print(const char *name, const hist_t *h, int with_pcts);

#endif
