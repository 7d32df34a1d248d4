/* metrics: the relay's counters and their Prometheus text form.
 *
 * Each relay loop owns one metrics_t and is its only writer; the control
 * loop reads all of them to answer /metrics. Counters are plain uint64_t:
 * their one writer does a relaxed load and a relaxed store (no locked
 * read-modify-write on the per-event path: nobody else writes them), and a
 * reader's relaxed load sees each value whole.
 */
#ifndef AUTHRELAY_METRICS_H
#define AUTHRELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599

typedef enum metrics_upstream_error {
  METRICS_UPSTREAM_CONNECT = 0, /* refused, unreachable, DNS failure */
  METRICS_UPSTREAM_TIMEOUT,     /* connect or response timeout */
  METRICS_UPSTREAM_MALFORMED,   /* response llhttp could not parse */
  METRICS_UPSTREAM_CLOSED,      /* closed or reset before the response ended */
  METRICS_UPSTREAM_ERROR_KINDS
} metrics_upstream_error;

typedef struct metrics_t {
  uint64_t connections_total;   /* client connections accepted */
  uint64_t connections_active;  /* client connections open (gauge) */
  uint64_t connections_refused; /* closed at once: over max_connections */
  uint64_t requests_total;      /* requests answered (any status) */
  uint64_t responses_by_status[METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1];
  uint64_t bytes_from_clients;
  uint64_t bytes_to_clients;
  uint64_t bytes_from_upstreams;
  uint64_t bytes_to_upstreams;
  uint64_t events_by_format[4];     /* indexed by framer_format */
  uint64_t detections_by_shape[3];  /* indexed by detect_shape */
  uint64_t detections_unhandled;    /* detections not acted on */
  uint64_t events_malformed;
  uint64_t events_oversized;
  uint64_t uninspected_encoding;    /* compressed bodies on inspected routes */
  uint64_t upstream_errors[METRICS_UPSTREAM_ERROR_KINDS];
  uint64_t streams_active;          /* responses being relayed now (gauge) */
  uint64_t pool_idle;               /* idle upstream connections (gauge) */
  uint64_t pool_connects;           /* upstream connections opened */
  uint64_t pool_reuses;             /* requests sent on a pooled connection */
  uint64_t pauses_total;            /* streams paused on a detection */
  uint64_t pauses_active;           /* streams paused now (gauge) */
  uint64_t pause_ms_total;          /* time streams spent paused, summed */
  uint64_t resumes_by_outcome[6];   /* indexed by metrics_resume */
  uint64_t cred_injected;           /* tool calls sent with the user's credential (credinject) */
  uint64_t cred_answered;           /* tool calls answered with auth-required: no usable connection */
  uint64_t cred_skipped;            /* requests on a credentials route sent without one: no
                                       trusted user, no connector, or not a call that can be held */
} metrics_t;

typedef enum metrics_resume {
  METRICS_RESUME_COMPLETED = 0, /* the account was connected */
  METRICS_RESUME_EXPIRED,       /* the link expired */
  METRICS_RESUME_CLIENT_GONE,   /* the client went away while paused */
  METRICS_RESUME_OPERATOR,      /* control API resume */
  METRICS_RESUME_CANCELLED,     /* control API cancel */
  METRICS_RESUME_DECLINED       /* the user declined ("Not now") */
} metrics_resume;

/* Only the loop that owns m may call these. */
#define METRICS_ADD(m, field, n)                                                                   \
  __atomic_store_n(&(m)->field, __atomic_load_n(&(m)->field, __ATOMIC_RELAXED) + (uint64_t)(n),   \
                   __ATOMIC_RELAXED)
#define METRICS_SUB(m, field, n)                                                                   \
  __atomic_store_n(&(m)->field, __atomic_load_n(&(m)->field, __ATOMIC_RELAXED) - (uint64_t)(n),   \
                   __ATOMIC_RELAXED)

/* Counts a response status (out-of-range codes are counted as 599). */
void metrics_count_status(metrics_t *m, int status);

/* Appends the Prometheus text exposition of the sum of n per-loop metrics. */
int metrics_render(dynbuf *out, metrics_t *const *loops, size_t n);

#endif
