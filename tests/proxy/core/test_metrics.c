/* test_metrics: proxy/core/metrics.c, the relay's counters and their
 * Prometheus text.
 *
 * Covers: response statuses counted per code, out-of-range ones as 599;
 * the rendering sums every loop's counters; a status never seen is not
 * listed; every sample line is "name[{labels}] value" after its HELP and
 * TYPE lines; pause time summed in seconds (authrelay_pause_seconds_total); a buffer too small for the text is an error (-E2BIG), not a
 * cut exposition passed off as whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

/* The value of the sample line that starts with name_and_labels + " ", or -1. */
static long long sample(const dynbuf *out, const char *name_and_labels) {
  size_t n = strlen(name_and_labels);
  const char *p = out->ptr;
  const char *end = out->ptr + out->len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
      break;
    if ((size_t)(eol - p) > n && memcmp(p, name_and_labels, n) == 0 && p[n] == ' ')
      return strtoll(p + n + 1, NULL, 10);
    p = eol + 1;
  }
  return -1;
}

/* Every line is a comment or "name[{...}] digits[.digits]", and every
 * sample's name had a "# TYPE name" line before it. */
static int well_formed(const dynbuf *out) {
  const char *p = out->ptr;
  const char *end = out->ptr + out->len;
  char typed[128] = "";
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t name_len;
    const char *sp;
    if (eol == NULL)
      return 0; /* the text ends with a newline */
    if (strncmp(p, "# TYPE ", 7) == 0) {
      size_t len = strcspn(p + 7, " ");
      if (len >= sizeof typed)
        return 0;
      memcpy(typed, p + 7, len);
      typed[len] = '\0';
    } else if (p[0] != '#') {
      name_len = strcspn(p, "{ ");
      sp = memchr(p, ' ', (size_t)(eol - p));
      if (sp == NULL || name_len != strlen(typed) || memcmp(p, typed, name_len) != 0)
        return 0;
      size_t whole = strspn(sp + 1, "0123456789");
      if (whole == 0)
        return 0;
      if (sp + 1 + whole < eol && sp[1 + whole] == '.')
        whole += 1 + strspn(sp + 2 + whole, "0123456789");
      if (whole != (size_t)(eol - sp - 1))
        return 0;
    }
    p = eol + 1;
  }
  return 1;
}

static void summed_and_well_formed(void) {
  metrics_t a;
  metrics_t b;
  metrics_t *loops[2] = {&a, &b};
  dynbuf out;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  METRICS_ADD(&a, requests_total, 3);
  METRICS_ADD(&b, requests_total, 4);
  METRICS_ADD(&a, bytes_to_clients, 100);
  METRICS_ADD(&b, upstream_errors[METRICS_UPSTREAM_TIMEOUT], 2);
  METRICS_ADD(&b, resumes_by_outcome[METRICS_RESUME_EXPIRED], 1);
  METRICS_ADD(&a, pause_ms_total, 2000);
  METRICS_ADD(&b, pause_ms_total, 250);
  metrics_count_status(&a, 200);
  metrics_count_status(&b, 200);
  metrics_count_status(&b, 404);
  metrics_count_status(&a, 42);   /* out of range: 599 */
  metrics_count_status(&a, 1000);
  dynbuf_init(&out, 1 << 20);
  CHECK(metrics_render(&out, loops, 2) == 0);
  CHECK(well_formed(&out));
  CHECK(sample(&out, "authrelay_requests_total") == 7);
  CHECK(sample(&out, "authrelay_responses_total{status=\"200\"}") == 2);
  CHECK(sample(&out, "authrelay_responses_total{status=\"404\"}") == 1);
  CHECK(sample(&out, "authrelay_responses_total{status=\"599\"}") == 2);
  CHECK(sample(&out, "authrelay_responses_total{status=\"500\"}") == -1); /* never seen: not listed */
  CHECK(sample(&out, "authrelay_bytes_total{direction=\"to_client\"}") == 100);
  CHECK(sample(&out, "authrelay_upstream_errors_total{kind=\"timeout\"}") == 2);
  CHECK(sample(&out, "authrelay_resumes_total{outcome=\"expired\"}") == 1);
  CHECK(sample(&out, "authrelay_pauses_active") == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0); /* a C string from here */
  CHECK(strstr(out.ptr, "\nauthrelay_pause_seconds_total 2.250\n") != NULL);
  dynbuf_free(&out);
}

static void too_small_is_an_error(void) {
  metrics_t a;
  metrics_t *loops[1] = {&a};
  dynbuf out;
  memset(&a, 0, sizeof a);
  dynbuf_init(&out, 256);
  CHECK(metrics_render(&out, loops, 1) == -E2BIG);
  dynbuf_free(&out);
}

int main(void) {
  RUN(summed_and_well_formed);
  RUN(too_small_is_an_error);
  return unit_report();
}
