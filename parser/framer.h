/* framer: cuts a response body into events and runs the detector on each.
 *
 * This is the "framer" box of DESIGN.md's data flow and the parser library's
 * one entry point. The proxy (and authrelay-scan, and the fuzz harness) feeds
 * it the body bytes as they arrive, in chunks of any size; it calls back once
 * per complete event with the event's fields, its byte span in the stream, and
 * the detector's verdict. Formats:
 *   FRAMER_SSE     text/event-stream, WHATWG rules (sse.c)
 *   FRAMER_NDJSON  one JSON text per line, LF or CRLF (ndjson.c)
 *   FRAMER_JSON    the whole body is one event (jsonbody.c)
 *   FRAMER_RAW     never parsed: no events, every byte is flushable at once
 *
 * Event-atomic forwarding rests on framer_safe_offset(): every stream byte
 * before it belongs to a finished event or to no event at all (comments,
 * blank lines), so the proxy may forward it; bytes after it belong to the
 * event in progress and wait until that event is complete. When an event
 * grows past max_event_bytes it is "oversized": it is no longer inspected,
 * its bytes become flushable as they arrive (forwarded in pieces), and the
 * on_oversized callback fires once.
 *
 * No I/O, no global state, no libuv: a framer_t is a plain value that the
 * caller embeds and owns. Its memory is bounded by about 4 * max_event_bytes
 * (the SSE data, event, id buffers and the detector) whatever the input.
 */
#ifndef AUTHRELAY_FRAMER_H
#define AUTHRELAY_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "dynbuf.h"

#define FRAMER_DEFAULT_MAX_EVENT_BYTES (1024 * 1024)

typedef enum framer_format {
  FRAMER_RAW = 0,
  FRAMER_SSE,
  FRAMER_NDJSON,
  FRAMER_JSON
} framer_format;

/* One complete event. Pointers are owned by the framer and valid only during
 * the on_event call. */
typedef struct framer_event {
  uint64_t index;         /* 0-based, counts dispatched events of this stream */
  uint64_t start;         /* stream offset of the event's first byte */
  uint64_t end;           /* stream offset just past its last byte */
  const char *data;       /* SSE: data lines joined by LF; NDJSON: the line
                             without its line end; JSON: the body */
  size_t data_len;
  const char *type;       /* SSE "event" field; NULL when absent or empty */
  size_t type_len;
  const char *id;         /* SSE "id" field of this event; NULL when absent
                             (an id holding NUL is ignored, as WHATWG says) */
  size_t id_len;
  int oversized;          /* longer than max_event_bytes: data holds only the
                             first bytes and was not inspected past them */
  detect_status status;   /* the detector's verdict on data */
  const detect_match *match; /* non-NULL when status is DETECT_MATCH */
} framer_event;

typedef struct framer_callbacks {
  /* A complete event. Return 0 to go on, nonzero to stop: framer_feed() then
   * returns right after this event's last byte, and the caller feeds the rest
   * again later (this is how a paused stream holds its bytes). May be NULL. */
  int (*on_event)(void *ctx, const framer_event *ev);
  /* An SSE "retry" field whose value is all ASCII digits (saturates at
   * UINT64_MAX). Called as the line completes, as WHATWG says. May be NULL. */
  void (*on_retry)(void *ctx, uint64_t ms);
  /* The event with this index passed max_event_bytes. Called once per event,
   * as soon as it happens; the event is still dispatched when it ends (SSE,
   * NDJSON) with oversized set. May be NULL. */
  void (*on_oversized)(void *ctx, uint64_t index);
} framer_callbacks;

typedef struct framer_options {
  size_t max_event_bytes; /* 0: FRAMER_DEFAULT_MAX_EVENT_BYTES */
  int inspect;            /* 1: run the detector on each event; 0: frame only */
} framer_options;

typedef struct framer_stats {
  uint64_t events;    /* events dispatched */
  uint64_t matches;   /* events the detector matched */
  uint64_t malformed; /* events that looked relevant but were not valid JSON */
  uint64_t oversized; /* events longer than max_event_bytes */
} framer_stats;

/* SSE line-parsing state (sse.c). */
typedef struct sse_state {
  uint8_t where;          /* position in the current line: SSE_AT_* in sse.c */
  uint8_t field;          /* field the value being read belongs to: SSE_FIELD_* */
  uint8_t name_len;       /* bytes of the field name kept in name, or 0xFF: too long */
  uint8_t after_cr;       /* last line ended with CR: a leading LF is its tail */
  uint8_t bom_matched;    /* bytes of a leading UTF-8 BOM matched so far */
  uint8_t bom_done;       /* the stream start is past: no BOM can follow */
  uint8_t block_open;     /* a field line was seen since the last blank line */
  uint8_t has_data;       /* the block had a data field (maybe empty) */
  uint8_t has_id;         /* the block had a valid id field */
  uint8_t value_overflow; /* the event/id value being read passed the cap */
  uint8_t retry_digits;   /* retry value so far: 0 empty, 1 all digits, 2 not a number */
  uint64_t retry_ms;      /* retry value so far (saturates at UINT64_MAX) */
  char name[8];           /* field name being read (longer names are unknown) */
  dynbuf type;            /* "event" value of this block */
  const char *type_borrowed; /* instead of type: the value of the block's last
                              event line while it lies in the buffer being
                              fed, copied into type before sse_feed returns;
                              NULL otherwise; not owned */
  size_t type_borrowed_len;
  dynbuf id;              /* "id" value of this block, once valid */
  dynbuf value;           /* "event", "id" or "retry" value being read */
} sse_state;

typedef struct framer_t {
  framer_format format;
  framer_callbacks cb;
  void *ctx;               /* passed to every callback; not owned */
  size_t max_event_bytes;
  int inspect;
  uint64_t offset;         /* stream bytes consumed so far */
  uint64_t safe_offset;    /* see framer_safe_offset() */
  uint64_t event_start;    /* offset where the event in progress began */
  uint64_t next_index;     /* index the next dispatched event gets */
  int oversized;           /* the event in progress passed max_event_bytes */
  int oversized_told;      /* on_oversized was called for the event in progress */
  int cr_pending;          /* NDJSON: the line so far ends with a CR kept out of data */
  int in_event;            /* bytes of an event are in progress */
  dynbuf data;             /* payload of the event in progress */
  const char *borrowed;    /* instead of data: the payload while it lies whole
                              in the buffer being fed (framer_payload_line),
                              copied into data before framer_feed returns;
                              NULL otherwise; not owned */
  size_t borrowed_len;
  detect_t detect;
  framer_stats stats;
  sse_state sse;           /* used when format is FRAMER_SSE */
} framer_t;

/* Prepares f for a new stream. options may be NULL (defaults, inspecting);
 * callbacks may be NULL. Returns 0 or -EINVAL for an unknown format. */
int framer_init(framer_t *f, framer_format format, const framer_options *options,
                const framer_callbacks *callbacks, void *ctx);

/* Consumes stream bytes. Returns how many were consumed: len, or fewer when
 * on_event asked to stop (the bytes after the returned count were not looked
 * at; feed them again to go on). */
size_t framer_feed(framer_t *f, const char *buf, size_t len);

/* End of stream: NDJSON dispatches a last line without newline, JSON its
 * body; an unterminated SSE event is dropped, as WHATWG says. on_event's
 * return value is ignored here. */
void framer_finish(framer_t *f);

/* Frees the framer's memory. It may be initialised again. */
void framer_close(framer_t *f);

/* Stream offset before which every byte is complete (part of a dispatched
 * event, or of no event): the bytes a relay may forward now. */
uint64_t framer_safe_offset(const framer_t *f);

/* Picks the format for a Content-Type header value (parameters and case
 * ignored): text/event-stream -> SSE; application/x-ndjson,
 * application/jsonl, application/stream+json -> NDJSON; application/json ->
 * JSON; anything else, or NULL -> RAW. */
framer_format framer_format_from_content_type(const char *value, size_t len);

/* "raw", "sse", "ndjson", "json". */
const char *framer_format_name(framer_format format);

/* Parses one of those names. Returns 0 or -EINVAL. */
int framer_format_parse(const char *name, framer_format *out);

#endif
