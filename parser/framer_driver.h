/* framer_driver: what framer.c offers the format drivers, and what they offer it.
 *
 * sse.c, ndjson.c and jsonbody.c know where events begin and end in their
 * format; framer.c owns what every format shares: the payload buffer and its
 * cap, the detector, the event record, the callbacks and the offsets. Only
 * the parser's own files include this header.
 */
#ifndef AUTHRELAY_FRAMER_DRIVER_H
#define AUTHRELAY_FRAMER_DRIVER_H

#include "framer.h"

/* An event begins at stream offset start. */
void framer_event_begin(framer_t *f, uint64_t start);

/* Appends payload bytes to the event in progress. What does not fit under
 * max_event_bytes is dropped and makes the event oversized. */
void framer_payload_add(framer_t *f, const char *p, size_t n);

/* Appends payload bytes p[0, n) that lie in the buffer being fed, like
 * framer_payload_add(). When they are the whole payload so far, they are not
 * copied until framer_feed returns (the event often ends first). candidate:
 * what bytes_find_eol_pf() said about them; 0 spares the detector's
 * prefilter another look at them. */
void framer_payload_line(framer_t *f, const char *p, size_t n, int candidate);

/* Finds the line end (a or b) in p[0, len) for framer_payload_line(): with
 * bytes_find_eol_pf() while the detector wants the payload, else with
 * bytes_find2() (then *candidate is 1). p[-1] must be readable. */
const char *framer_find_line_end(const framer_t *f, const char *p, size_t len, char a, char b,
                                 int *candidate);

/* Marks the event in progress oversized (once): stops the detector and calls
 * on_oversized (for SSE, only once the block has a data line). */
void framer_set_oversized(framer_t *f);

/* SSE: the block in progress got its first data line, so it will be an
 * event: an overflow seen before is announced now. */
void framer_data_begins(framer_t *f);

/* The event in progress is complete at offset end: reports it and readies
 * the framer for the next one. type and id may be NULL. Returns on_event's
 * result: nonzero asks the driver to stop consuming. */
int framer_dispatch(framer_t *f, uint64_t end, const char *type, size_t type_len,
                    const char *id, size_t id_len);

/* The event in progress ended at offset end without being dispatched (an
 * SSE block with no data, a blank NDJSON line): its bytes are flushable. */
void framer_drop(framer_t *f, uint64_t end);

/* 1 when the payload so far holds only spaces, tabs, CR and LF. */
int framer_payload_is_blank(const framer_t *f);

/* The drivers. feed returns the bytes consumed (see framer_feed); the
 * absolute offset of buf[0] is f->offset. */
void sse_init(framer_t *f);
size_t sse_feed(framer_t *f, const char *buf, size_t len);
void sse_finish(framer_t *f);
void sse_close(framer_t *f);

size_t ndjson_feed(framer_t *f, const char *buf, size_t len);
void ndjson_finish(framer_t *f);

size_t jsonbody_feed(framer_t *f, const char *buf, size_t len);
void jsonbody_finish(framer_t *f);

#endif
