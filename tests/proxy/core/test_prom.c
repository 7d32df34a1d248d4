/* test_prom: proxy/core/prom.c, the Prometheus text writer.
 *
 * Covers: a counter and a gauge family with HELP and TYPE lines; labelled
 * samples with '\', '"' and newline escaped in the label value and '\'
 * and newline in HELP; names that are not metric or label names refused
 * (-EINVAL) with nothing written; a full buffer gives -E2BIG and keeps no
 * part of a family (never a HELP without its sample); a milliseconds count
 * written as a seconds counter with exact decimals; metrics_render's
 * families come out in this format, pause time in seconds.
 */
#include <errno.h>
#include <string.h>

#include "metrics.h"
#include "prom.h"
#include "unit.h"

static void families(void) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(prom_counter(&b, "x_total", "Things.", 42) == 0);
  CHECK(prom_gauge(&b, "y", "Now.", 0) == 0);
  CHECK_MEM(b.ptr, b.len,
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 42\n"
            "# HELP y Now.\n# TYPE y gauge\ny 0\n");
  dynbuf_reset(&b, 0);
  CHECK(prom_family(&b, "z_total", PROM_COUNTER, "A \\ and\na line.") == 0);
  CHECK(prom_sample(&b, "z_total", "who", "a\"b\\c\nd", 18446744073709551615ull) == 0);
  CHECK_MEM(b.ptr, b.len,
            "# HELP z_total A \\\\ and\\na line.\n# TYPE z_total counter\n"
            "z_total{who=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\n");
  dynbuf_reset(&b, 0);
  CHECK(prom_counter_seconds(&b, "w_seconds_total", "Time.", 12345) == 0);
  CHECK(prom_counter_seconds(&b, "v_seconds_total", "Time.", 7) == 0);
  CHECK_MEM(b.ptr, b.len,
            "# HELP w_seconds_total Time.\n# TYPE w_seconds_total counter\nw_seconds_total 12.345\n"
            "# HELP v_seconds_total Time.\n# TYPE v_seconds_total counter\nv_seconds_total 0.007\n");
  dynbuf_reset(&b, 0);
  CHECK(prom_counter_seconds(&b, "bad name", "x", 1) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
}

static void refusals(void) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(prom_counter(&b, "bad name", "x", 1) == -EINVAL);
  CHECK(prom_counter(&b, "9lives", "x", 1) == -EINVAL);
  CHECK(prom_counter(&b, "", "x", 1) == -EINVAL);
  CHECK(prom_sample(&b, "ok", "a:b", "v", 1) == -EINVAL); /* no ':' in label names */
  CHECK(prom_sample(&b, "ok", "l-x", "v", 1) == -EINVAL);
  CHECK(prom_sample(&b, "ok", "l", NULL, 1) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  CHECK(prom_sample(&b, "ns:ok", "l", "v", 1) == 0); /* ':' is fine in metric names */
  dynbuf_free(&b);
  /* full: the family goes whole or not at all */
  dynbuf_init(&b, 60);
  CHECK(prom_counter(&b, "a_total", "Short.", 1) == 0);
  CHECK(prom_counter(&b, "b_total", "Short.", 1) == -E2BIG);
  CHECK_MEM(b.ptr, b.len, "# HELP a_total Short.\n# TYPE a_total counter\na_total 1\n");
  dynbuf_free(&b);
}

static void relay_metrics(void) {
  metrics_t m;
  metrics_t *loops[1] = {&m};
  dynbuf b;
  memset(&m, 0, sizeof m);
  m.requests_total = 7;
  m.responses_by_status[404 - METRICS_STATUS_MIN] = 3;
  m.pause_ms_total = 1500;
  dynbuf_init(&b, 1 << 20);
  CHECK(metrics_render(&b, loops, 1) == 0);
  dynbuf_add(&b, "", 1);
  CHECK(b.ptr != NULL && strstr(b.ptr, "# TYPE authrelay_requests_total counter\nauthrelay_requests_total 7\n") != NULL);
  CHECK(b.ptr != NULL && strstr(b.ptr, "authrelay_responses_total{status=\"404\"} 3\n") != NULL);
  CHECK(b.ptr != NULL && strstr(b.ptr, "authrelay_bytes_total{direction=\"to_client\"} 0\n") != NULL);
  CHECK(b.ptr != NULL && strstr(b.ptr, "# TYPE authrelay_pause_seconds_total counter\nauthrelay_pause_seconds_total 1.500\n") != NULL);
  CHECK(b.ptr != NULL && strstr(b.ptr, "milliseconds") == NULL);
  dynbuf_free(&b);
  /* too small for it all: an error, not a cut page */
  dynbuf_init(&b, 256);
  CHECK(metrics_render(&b, loops, 1) == -E2BIG);
  dynbuf_free(&b);
}

int main(void) {
  RUN(families);
  RUN(refusals);
  RUN(relay_metrics);
  return unit_report();
}
