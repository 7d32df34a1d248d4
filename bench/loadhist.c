/* loadhist: the latency histogram of bench-load (see loadhist.h). */
#include "loadhist.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static int hist_index(uint64_t v) {
  if (v < SUB)
    return (int)v;
  int e = 63 - __builtin_clzll(v); /* >= SUB_BITS */
  int shift = e - SUB_BITS;
  int sub = (int)((v >> shift) & (SUB - 1));
  return (e - SUB_BITS + 1) * SUB + sub;
}

/* Highest value that lands in bucket i. */
static uint64_t hist_upper(int i) {
  if (i < SUB)
    return (uint64_t)i;
  int e = i / SUB + SUB_BITS - 1;
  int sub = i % SUB;
  int shift = e - SUB_BITS;
  uint64_t lo = ((uint64_t)(SUB + sub)) << shift;
  return lo + ((uint64_t)1 << shift) - 1;
}

void hist_add(hist_t *h, uint64_t v) {
  h->counts[hist_index(v)]++;
  if (h->n == 0 || v < h->min)
    h->min = v;
  if (v > h->max)
    h->max = v;
  h->n++;
  h->sum += (double)v;
}

/* Value at percentile p (0..100): the upper edge of its bucket, never above max. */
uint64_t hist_pct(const hist_t *h, double p) {
  if (h->n == 0)
    return 0;
  uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < NBUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t u = hist_upper(i);
      return u < h->max ? u : h->max;
    }
  }
  return h->max;
}

void hist_print(const char *name, const hist_t *h, int with_pcts) {
  printf("\"%s\":{\"count\":%" PRIu64 ",\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
         "\"p999\":%.1f,\"max\":%.1f",
         name, h->n, (double)h->min / 1e3, h->n ? h->sum / (double)h->n / 1e3 : 0.0,
         (double)hist_pct(h, 50) / 1e3, (double)hist_pct(h, 90) / 1e3, (double)hist_pct(h, 99) / 1e3,
         (double)hist_pct(h, 99.9) / 1e3, (double)h->max / 1e3);
  if (with_pcts) {
    static const double ps[] = {0,  10, 25, 50,   75,    90,     95,  98,
                                99, 99.5, 99.9, 99.95, 99.99, 99.999};
    printf(",\"percentiles\":[");
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
      printf("%s[%g,%.1f]", i ? "," : "", ps[i], (double)hist_pct(h, ps[i] == 0 ? 1e-9 : ps[i]) / 1e3);
    printf(",[100,%.1f]]", (double)h->max / 1e3);
  }
  printf("}");
}
