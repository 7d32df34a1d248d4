/* stats: counters and the /stats JSON of the example agent server. See stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <string.h>

#include <uv.h>

struct agent_stats stats;

void stats_count_connection(conn *c) {
  if (!c->counted) {
    c->counted = 1;
    stats.connections_accepted++;
  }
}

void stats_json(buf_t *out) {
  uint64_t now = uv_hrtime();
  uint64_t blocked = stats.blocked_ns;
  uint64_t open = 0, active = 0, blocked_now = 0;
  for (conn *c = conn_list; c; c = c->next) {
    if (c->blocked && !c->closing) {
      blocked += now - c->blocked_since;
      blocked_now++;
    }
    if (c->counted && !c->closing)
      open++;
    if (c->resp_active && c->kind == R_STREAM)
      active++;
  }
  buf_printf(out,
             "{\"connections_accepted\":%" PRIu64 ",\"connections_open\":%" PRIu64 ",\"requests\":%" PRIu64
             ",\"bad_requests\":%" PRIu64 ",\"retry_requests\":%" PRIu64 ",\"streams_started\":%" PRIu64
             ",\"streams_completed\":%" PRIu64 ",\"streams_aborted\":%" PRIu64 ",\"streams_active\":%" PRIu64
             ",\"events_sent\":%" PRIu64 ",\"auth_events_sent\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
             ",\"blocked_ms\":%" PRIu64 ",\"blocked_now\":%" PRIu64 ",\"write_queue_max\":%" PRIu64
             ",\"last_request_headers\":",
             stats.connections_accepted, open, stats.requests, stats.bad_requests, stats.retry_requests,
             stats.streams_started, stats.streams_completed, stats.streams_aborted, active, stats.events_sent,
             stats.auth_events_sent, stats.bytes_sent, blocked / 1000000, blocked_now, stats.write_queue_max);
  if (stats.last_headers.len)
    buf_append(out, stats.last_headers.p, stats.last_headers.len);
  else
    buf_puts(out, "{}");
  buf_puts(out, "}\n");
}

void stats_reset(void) {
  buf_t keep = stats.last_headers;
  memset(&stats, 0, sizeof stats);
  stats.last_headers = keep;
  stats.last_headers.len = 0;
  uint64_t now = uv_hrtime();
  for (conn *c = conn_list; c; c = c->next) {
    if (c->blocked)
      c->blocked_since = now;
  }
}

void stats_free(void) { buf_free(&stats.last_headers); }
