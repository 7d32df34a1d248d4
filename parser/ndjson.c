/* ndjson: the framer for one JSON text per line (application/x-ndjson,
 * application/jsonl, application/stream+json).
 *
 * A line ends at LF; a CR just before the LF is not part of the line; a lone
 * CR is ordinary content. Lines holding only white space are skipped. An
 * event's span is its line including the LF. A last line without LF is an
 * event when the stream ends.
 */
#include <string.h>

#include "bytes.h"
#include "framer_driver.h"

/* The line in progress ended at offset end (just past its LF, or the end of
 * the stream). Returns nonzero when on_event asked to stop. */
static int line_end(framer_t *f, uint64_t end) {
  f->cr_pending = 0;
  if (!f->oversized && framer_payload_is_blank(f)) {
    framer_drop(f, end);
    return 0;
  }
  return framer_dispatch(f, end, NULL, 0, NULL, 0);
}

/* Adds line bytes that hold no LF. A CR at their end is held back until the
 * next byte shows whether it belongs to a CRLF (then it is dropped), so that
 * a line of exactly max_event_bytes followed by CRLF is not oversized. */
static void line_bytes(framer_t *f, const char *p, size_t n) {
  if (n == 0)
    return;
  if (f->cr_pending) {
    framer_payload_add(f, "\r", 1);
    f->cr_pending = 0;
  }
  if (p[n - 1] == '\r') {
    n--;
    f->cr_pending = 1;
  }
  framer_payload_add(f, p, n);
}

size_t ndjson_feed(framer_t *f, const char *buf, size_t len) {
  const char *p = buf;
  const char *end = buf + len;
  while (p < end) {
    const char *nl;
    if (!f->in_event)
      framer_event_begin(f, f->offset + (uint64_t)(p - buf));
    if (p > buf && f->data.len == 0 && f->borrowed == NULL && !f->cr_pending) {
      /* A line that began at p, in this buffer (p[-1] is readable): when it
       * ends in the buffer too, it is taken whole, without a copy, and its
       * LF found in the same pass as the prefilter's candidates. */
      int candidate;
      nl = framer_find_line_end(f, p, (size_t)(end - p), '\n', '\n', &candidate);
      if (nl != NULL) {
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
          n--;
        framer_payload_line(f, p, n, candidate);
        p = nl + 1;
        if (line_end(f, f->offset + (uint64_t)(p - buf)) != 0)
          return (size_t)(p - buf);
        continue;
      }
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) {
      line_bytes(f, p, (size_t)(end - p));
      break;
    }
    line_bytes(f, p, (size_t)(nl - p));
    p = nl + 1;
    if (line_end(f, f->offset + (uint64_t)(p - buf)) != 0)
      return (size_t)(p - buf);
  }
  return len;
}

void ndjson_finish(framer_t *f) {
  if (!f->in_event)
    return;
  /* A CR at the very end is not followed by LF: it is content. */
  if (f->cr_pending)
    framer_payload_add(f, "\r", 1);
  (void)line_end(f, f->offset);
}
