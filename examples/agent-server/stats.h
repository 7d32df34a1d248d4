/* stats: the counters of the example agent server and the /stats JSON (the
 * fields are listed at the top of agent_server.c). Counting happens where the
 * events happen (request.c, conn.c, stream.c); this module owns the counters,
 * renders them, and resets them. */
#ifndef AGENT_STATS_H
#define AGENT_STATS_H

#include <stdint.h>

#include "buf.h"
#include "conn.h"

struct agent_stats {
  uint64_t connections_accepted, requests, bad_requests, retry_requests;
  uint64_t streams_started, streams_completed, streams_aborted;
  uint64_t events_sent, auth_events_sent, bytes_sent;
  uint64_t blocked_ns;      /* blocked time of responses that are no longer blocked */
  uint64_t write_queue_max; /* largest libuv write queue seen, bytes */
  buf_t last_headers;       /* JSON object: the headers of the last counted request */
};

extern struct agent_stats stats;

/* Counts c in connections_accepted, once. */
void stats_count_connection(conn *c);
/* Appends the /stats JSON (with a trailing newline) to out; the open, active
 * and currently blocked numbers come from conn_list. */
void stats_json(buf_t *out);
/* Zeroes every counter (keeps last_headers' memory); blocked connections
 * count again from now. */
void stats_reset(void);
/* Frees what the counters hold, at exit. */
void stats_free(void);

#endif
