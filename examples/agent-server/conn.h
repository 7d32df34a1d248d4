/* conn: one client connection of the example agent server: its libuv handles,
 * the list of open connections, reading into the llhttp parser (request.c
 * holds the callbacks), writing under back-pressure, and the end of each
 * response (keep going with the next pipelined request, or shut down).
 *
 * Back-pressure: a response never has more than about WQ_HIGH bytes queued in
 * libuv. The producers (stream.c, big.c) stop and call conn_block() above
 * that; conn.c calls them again once the queue drained to WQ_LOW. /echo stops
 * reading instead (conn_update_reading). Blocked time goes to stats.c.
 *
 * Ownership: conn.c allocates every conn (conn_accept) and frees it once both
 * its handles are closed; nobody else frees one. */
#ifndef AGENT_CONN_H
#define AGENT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>
#include <uv.h>

#include "buf.h"
#include "events.h"

#define WQ_HIGH (64 * 1024)   /* queued bytes a response may reach, at most */
#define WQ_LOW (32 * 1024)    /* resume at or below this */
#define BATCH (16 * 1024)     /* bytes per uv_write */
#define TURN_MAX (256 * 1024) /* bytes produced per callback before yielding */
#define MAX_HEADERS 100       /* request header lines kept (431 beyond) */

enum resp_kind { R_NONE, R_SIMPLE, R_STREAM, R_BIG, R_ECHO, R_SLOWHEAD, R_HANG, R_TRUNCATED };
enum framing { FR_LENGTH, FR_CHUNKED, FR_CLOSE };
/* The framing= parameter's words, indexed by enum framing. */
extern const char *const conn_framing_names[3];

/* One request header: offsets into conn.hbuf. */
typedef struct {
  size_t name_off, name_len, val_off, val_len;
} hdr_t;

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;        /* per-response timer: stream rate, delays, drain after FIN */
  uv_shutdown_t shut;
  struct conn *prev, *next; /* conn_list */
  int closes_pending;      /* handles still closing before the conn is freed */
  int closing;             /* uv_close issued */
  int shutting;            /* uv_shutdown issued: discarding input until EOF */
  int counted;             /* counted in connections_accepted */
  int reading;             /* uv_read_start is on */
  int in_execute;          /* inside llhttp_execute */
  int parser_paused;       /* llhttp paused: a response runs or the conn closes */
  int pending_writes;      /* uv_write requests not yet called back */
  llhttp_t parser;
  buf_t inbuf;             /* received bytes not yet parsed */

  /* request being parsed */
  buf_t url;
  buf_t hbuf;              /* header names (lowercased) and values, see hdr_t */
  hdr_t hdrs[MAX_HEADERS];
  int nhdrs;
  int in_field;            /* inside a header name */
  int err_status;          /* status for the error response when a callback fails */
  int stats_req;           /* /stats or /stats/reset: not counted */
  int req_counted;         /* counted in requests */
  int is_head;
  int keep_alive;

  /* response */
  int resp_active;         /* not yet fully queued */
  enum resp_kind kind;
  int close_after;         /* close once this response is flushed */
  enum framing framing;
  int echo_chunked;        /* /echo: the request body was chunked, so is the answer */
  int blocked;             /* waiting for the write queue to drain */
  uint64_t blocked_since;  /* uv_hrtime() when blocked was set */
  /* R_STREAM */
  ev_spec spec;
  long next_piece;         /* next piece to render (events, then the trailer) */
  double rate;             /* events per second, 0 = as fast as possible */
  uint64_t anchor_t;       /* the rate counts from this time ... */
  long anchor_piece;       /* ... and this piece */
  /* R_BIG */
  uint64_t big_total, big_off; /* body length, bytes produced so far */
  /* R_TRUNCATED, R_SLOWHEAD */
  long delay_ms;
  buf_t scratch;           /* rendering buffer of the current response */
} conn;

/* A write request carrying its own bytes. */
typedef struct {
  uv_write_t req;
  conn *c;
  size_t len;
  char data[];
} wreq;

/* All connections, accepted and not yet freed (closing ones included). */
extern conn *conn_list;

/* Accepts one connection from srv; settings (owned by the caller) must outlive it. */
void conn_accept(uv_loop_t *loop, uv_stream_t *srv, const llhttp_settings_t *settings);
void conn_close(conn *c);
void conn_close_all(void);
/* Bytes queued in libuv for c. */
size_t conn_queued(conn *c);

/* A write request with room for cap bytes; aborts when out of memory. */
wreq *conn_wreq_new(conn *c, size_t cap);
/* Queues w (takes it, also on failure, which closes c). */
void conn_wreq_send(conn *c, wreq *w);
/* Queues a copy of data. */
void conn_write(conn *c, const void *data, size_t len);
/* Writes body bytes in the response's framing; last adds the chunked terminator. */
void conn_body_write(conn *c, const char *data, size_t len, int last);

/* Back-pressure: c's response waits for the write queue (counted in blocked_ms). */
void conn_block(conn *c);
void conn_unblock(conn *c);

/* The current response is fully queued: close, or go on with the next request. */
void conn_resp_done(conn *c);
/* Starts or stops reading as the response state and input buffer allow. */
void conn_update_reading(conn *c);

#endif
