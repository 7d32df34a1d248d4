/* metrics: counters and Prometheus text. See metrics.h. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

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

static int line(dynbuf *out, const char *fmt_name, const char *labels, uint64_t v) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "%s%s %llu\n", fmt_name, labels, (unsigned long long)v);
  return dynbuf_add(out, buf, (size_t)n);
}

static int help(dynbuf *out, const char *name, const char *type, const char *text) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
  return dynbuf_add(out, buf, (size_t)n);
}

typedef struct simple_metric {
  const char *name;
  const char *type;
  const char *help;
  size_t off;
} simple_metric;

#define SIMPLE(name, type, field, text) {name, type, text, offsetof(metrics_t, field)}

int metrics_render(dynbuf *out, metrics_t *const *loops, size_t n) {
  static const simple_metric simple[] = {
      SIMPLE("authrelay_connections_total", "counter", connections_total, "Client connections accepted."),
      SIMPLE("authrelay_connections_active", "gauge", connections_active, "Client connections open."),
      SIMPLE("authrelay_connections_refused_total", "counter", connections_refused, "Client connections closed at once, over max_connections."),
      SIMPLE("authrelay_requests_total", "counter", requests_total, "Requests answered."),
      SIMPLE("authrelay_streams_active", "gauge", streams_active, "Responses being relayed now."),
      SIMPLE("authrelay_detections_unhandled_total", "counter", detections_unhandled, "Auth-required results that were not acted on."),
      SIMPLE("authrelay_events_malformed_total", "counter", events_malformed, "Events that looked relevant but were not valid JSON."),
      SIMPLE("authrelay_events_oversized_total", "counter", events_oversized, "Events longer than max_event_bytes, forwarded uninspected."),
      SIMPLE("authrelay_upstream_pool_idle", "gauge", pool_idle, "Idle keep-alive upstream connections."),
      SIMPLE("authrelay_upstream_connects_total", "counter", pool_connects, "Upstream connections opened."),
      SIMPLE("authrelay_upstream_reuses_total", "counter", pool_reuses, "Requests sent on a pooled upstream connection."),
      SIMPLE("authrelay_pauses_total", "counter", pauses_total, "Streams paused on an auth-required result."),
      SIMPLE("authrelay_pauses_active", "gauge", pauses_active, "Streams paused now."),
      SIMPLE("authrelay_pause_milliseconds_total", "counter", pause_ms_total, "Time streams spent paused, summed, in milliseconds."),
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
  char labels[64];
  size_t i;
  int rc = 0;
  for (i = 0; rc == 0 && i < sizeof simple / sizeof simple[0]; i++) {
    rc = help(out, simple[i].name, simple[i].type, simple[i].help);
    if (rc == 0)
      rc = line(out, simple[i].name, "", sum_at(loops, n, simple[i].off));
  }
  if (rc == 0)
    rc = help(out, "authrelay_responses_total", "counter", "Responses sent to clients, by status.");
  for (i = 0; rc == 0 && i <= METRICS_STATUS_MAX - METRICS_STATUS_MIN; i++) {
    uint64_t v = sum_at(loops, n, offsetof(metrics_t, responses_by_status) + i * sizeof(uint64_t));
    if (v == 0)
      continue;
    snprintf(labels, sizeof labels, "{status=\"%zu\"}", i + METRICS_STATUS_MIN);
    rc = line(out, "authrelay_responses_total", labels, v);
  }
  if (rc == 0)
    rc = help(out, "authrelay_bytes_total", "counter", "Body and head bytes relayed, by direction.");
  for (i = 0; rc == 0 && i < sizeof bytes / sizeof bytes[0]; i++) {
    snprintf(labels, sizeof labels, "{direction=\"%s\"}", bytes[i].dir);
    rc = line(out, "authrelay_bytes_total", labels, sum_at(loops, n, bytes[i].off));
  }
  if (rc == 0)
    rc = help(out, "authrelay_events_total", "counter", "Events framed, by format.");
  for (i = 1; rc == 0 && i < 4; i++) {
    snprintf(labels, sizeof labels, "{format=\"%s\"}", formats[i]);
    rc = line(out, "authrelay_events_total", labels,
              sum_at(loops, n, offsetof(metrics_t, events_by_format) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = help(out, "authrelay_detections_total", "counter", "Auth-required tool results found, by shape.");
  for (i = 1; rc == 0 && i < 3; i++) {
    snprintf(labels, sizeof labels, "{shape=\"%s\"}", shapes[i]);
    rc = line(out, "authrelay_detections_total", labels,
              sum_at(loops, n, offsetof(metrics_t, detections_by_shape) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = help(out, "authrelay_uninspected_total", "counter", "Bodies on inspected routes that could not be inspected.");
  if (rc == 0)
    rc = line(out, "authrelay_uninspected_total", "{reason=\"encoding\"}",
              sum_at(loops, n, offsetof(metrics_t, uninspected_encoding)));
  if (rc == 0)
    rc = help(out, "authrelay_upstream_errors_total", "counter", "Upstream failures, by kind.");
  for (i = 0; rc == 0 && i < METRICS_UPSTREAM_ERROR_KINDS; i++) {
    snprintf(labels, sizeof labels, "{kind=\"%s\"}", upstream_kinds[i]);
    rc = line(out, "authrelay_upstream_errors_total", labels,
              sum_at(loops, n, offsetof(metrics_t, upstream_errors) + i * sizeof(uint64_t)));
  }
  if (rc == 0)
    rc = help(out, "authrelay_resumes_total", "counter", "Pauses ended, by outcome.");
  for (i = 0; rc == 0 && i < sizeof resume_outcomes / sizeof resume_outcomes[0]; i++) {
    snprintf(labels, sizeof labels, "{outcome=\"%s\"}", resume_outcomes[i]);
    rc = line(out, "authrelay_resumes_total", labels,
              sum_at(loops, n, offsetof(metrics_t, resumes_by_outcome) + i * sizeof(uint64_t)));
  }
  return rc;
}
