/* metrics: counters and Prometheus text. See metrics.h. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "prom.h"

void metrics_count_status(metrics_t *m, int status) {
  if (status < METRICS_STATUS_MIN || status > METRICS_STATUS_MAX)
    status = METRICS_STATUS_MAX;
  METRICS_ADD(m, responses_by_status[status - METRICS_STATUS_MIN], 1);
}

static uint64_t load(const uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Sums the counter at byte offset off of every loop's metrics_t. */
static uint64_t sum_at(metrics_t *const *loops, size_t n, size_t off) {
  uint64_t total = 0;
  size_t i;
  for (i = 0; i < n; i++)
    total += load((const uint64_t *)(const void *)((const char *)loops[i] + off));
  return total;
}

typedef struct simple_metric {
  const char *name;
  prom_type type;
  const char *help;
  size_t off;
} simple_metric;

#define SIMPLE(name, type, field, text) {name, type, text, offsetof(metrics_t, field)}

int metrics_render(dynbuf *out, metrics_t *const *loops, size_t n) {
  static const simple_metric simple[] = {
      SIMPLE("authrelay_connections_total", PROM_COUNTER, connections_total, "Client connections accepted."),
      SIMPLE("authrelay_connections_active", PROM_GAUGE, connections_active, "Client connections open."),
      SIMPLE("authrelay_connections_refused_total", PROM_COUNTER, connections_refused, "Client connections closed at once, over max_connections."),
      SIMPLE("authrelay_requests_total", PROM_COUNTER, requests_total, "Requests answered."),
      SIMPLE("authrelay_streams_active", PROM_GAUGE, streams_active, "Responses being relayed now."),
      SIMPLE("authrelay_detections_unhandled_total", PROM_COUNTER, detections_unhandled, "Auth-required results that were not acted on."),
      SIMPLE("authrelay_events_malformed_total", PROM_COUNTER, events_malformed, "Events that looked relevant but were not valid JSON."),
      SIMPLE("authrelay_events_oversized_total", PROM_COUNTER, events_oversized, "Events longer than max_event_bytes, forwarded uninspected."),
      SIMPLE("authrelay_upstream_pool_idle", PROM_GAUGE, pool_idle, "Idle keep-alive upstream connections."),
      SIMPLE("authrelay_upstream_connects_total", PROM_COUNTER, pool_connects, "Upstream connections opened."),
      SIMPLE("authrelay_upstream_reuses_total", PROM_COUNTER, pool_reuses, "Requests sent on a pooled upstream connection."),
      SIMPLE("authrelay_pauses_total", PROM_COUNTER, pauses_total, "Streams paused on an auth-required result."),
      SIMPLE("authrelay_pauses_active", PROM_GAUGE, pauses_active, "Streams paused now."),
      SIMPLE("authrelay_credentials_injected_total", PROM_COUNTER, cred_injected, "Tool calls sent upstream with the user's credential."),
      SIMPLE("authrelay_credentials_missing_total", PROM_COUNTER, cred_answered, "Tool calls answered with auth-required: no usable connection."),
      SIMPLE("authrelay_credentials_skipped_total", PROM_COUNTER, cred_skipped, "Requests on a credentials route sent without one (no trusted user or no connector)."),
  };
  static const char *const resume_outcomes[] = {"completed", "expired", "client_gone", "operator",
                                                "cancelled", "declined"};
  static const char *const formats[] = {"raw", "sse", "ndjson", "json"};
  static const char *const shapes[] = {"none", "authenticate_meta", "magic_link"};
  static const char *const upstream_kinds[] = {"connect", "timeout", "malformed", "closed"};
  static const struct {
    const char *dir;
    size_t off;
  } bytes[] = {
      {"from_client", offsetof(metrics_t, bytes_from_clients)},
      {"to_client", offsetof(metrics_t, bytes_to_clients)},
      {"from_upstream", offsetof(metrics_t, bytes_from_upstreams)},
      {"to_upstream", offsetof(metrics_t, bytes_to_upstreams)},
  };
  char status[8];
  size_t i;
  int rc = 0;
  for (i = 0; rc == 0 && i < sizeof simple / sizeof simple[0]; i++) {
    rc = simple[i].type == PROM_COUNTER
             ? prom_counter(out, simple[i].name, simple[i].help, sum_at(loops, n, simple[i].off))
             : prom_gauge(out, simple[i].name, simple[i].help, sum_at(loops, n, simple[i].off));
  }
  if (rc == 0)
    rc = prom_counter_seconds(out, "authrelay_pause_seconds_total", "Time streams spent paused, summed, in seconds.",
                              sum_at(loops, n, offsetof(metrics_t, pause_ms_total)));
  if (rc == 0)
    rc = prom_family(out, "authrelay_responses_total", PROM_COUNTER, "Responses sent to clients, by status.");
  for (i = 0; rc == 0 && i <= METRICS_STATUS_MAX - METRICS_STATUS_MIN; i++) {
    uint64_t v = sum_at(loops, n, offsetof(metrics_t, responses_by_status) + i * sizeof(uint64_t));
    if (v == 0)
      continue;
    snprintf(status, sizeof status, "%zu", i + METRICS_STATUS_MIN); /* 3 digits */
    rc = prom_sample(out, "authrelay_responses_total", "status", status, v);
  }
  if (rc == 0)
    rc = prom_family(out, "authrelay_bytes_total", PROM_COUNTER, "Body and head bytes relayed, by direction.");
  for (i = 0; rc == 0 && i < sizeof bytes / sizeof bytes[0]; i++) {
    rc = prom_sample(out, "authrelay_bytes_total", "direction", bytes[i].dir, sum_at(loops, n, bytes[i].off));
  }
  if (rc == 0)
    rc = prom_family(out, "authrelay_events_total", PROM_COUNTER, "Events framed, by format.");
  for (i = 1; rc == 0 && i < 4; i++) {
    rc = prom_sample(out, "authrelay_events_total", "format", formats[i],
              sum_at(loops, n, offsetof(metrics_t, events_by_format) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = prom_family(out, "authrelay_detections_total", PROM_COUNTER, "Auth-required tool results found, by shape.");
  for (i = 1; rc == 0 && i < 3; i++) {
    rc = prom_sample(out, "authrelay_detections_total", "shape", shapes[i],
              sum_at(loops, n, offsetof(metrics_t, detections_by_shape) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = prom_family(out, "authrelay_uninspected_total", PROM_COUNTER, "Bodies on inspected routes that could not be inspected.");
  if (rc == 0)
    rc = prom_sample(out, "authrelay_uninspected_total", "reason", "encoding",
              sum_at(loops, n, offsetof(metrics_t, uninspected_encoding)));
  if (rc == 0)
    rc = prom_family(out, "authrelay_upstream_errors_total", PROM_COUNTER, "Upstream failures, by kind.");
  for (i = 0; rc == 0 && i < METRICS_UPSTREAM_ERROR_KINDS; i++) {
    rc = prom_sample(out, "authrelay_upstream_errors_total", "kind", upstream_kinds[i],
              sum_at(loops, n, offsetof(metrics_t, upstream_errors) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = prom_family(out, "authrelay_resumes_total", PROM_COUNTER, "Pauses ended, by outcome.");
  for (i = 0; rc == 0 && i < sizeof resume_outcomes / sizeof resume_outcomes[0]; i++) {
    rc = prom_sample(out, "authrelay_resumes_total", "outcome", resume_outcomes[i],
              sum_at(loops, n, offsetof(metrics_t, resumes_by_outcome) + i * sizeof(uint64_t)));
  }
  return rc;
}
