/* sse: the text/event-stream framer, following WHATWG HTML's "event stream
 * interpretation".
 *
 * A byte-level state machine over lines, so a line, a field name or a CRLF
 * may be split across any number of reads without a line buffer: field names
 * are at most a few bytes, data values go straight into the framer's payload
 * (and from there to the detector), event/id/retry values into small capped
 * buffers. Values are scanned 16 bytes at a time for CR/LF (bytes.h). The
 * common case, a data or event line whole in the buffer being fed, takes a
 * shortcut (value_line): the value is not copied unless the event is still
 * open when the buffer goes back to the caller, and a data value's line end
 * is found in the same pass as the detector's prefilter candidates, so that
 * its bytes are looked at once.
 *
 * Spans: an event starts at its block's first field line and ends after its
 * blank line's line end (after the CR when that line end is a bare CR or a
 * CR whose LF has not been looked at; the LF then counts as a byte between
 * events). Comment and blank lines outside a block are flushable at once.
 */
#include <string.h>

#include "bytes.h"
#include "framer_driver.h"

enum {
  SSE_AT_LINE_START = 0, /* nothing of the current line read yet */
  SSE_AT_NAME,           /* reading a field name */
  SSE_AT_VALUE_START,    /* after the colon: one space may be skipped */
  SSE_AT_VALUE,          /* reading a field value */
  SSE_AT_COMMENT         /* in a line that began with ':' */
};

enum {
  SSE_FIELD_UNKNOWN = 0,
  SSE_FIELD_DATA,
  SSE_FIELD_EVENT,
  SSE_FIELD_ID,
  SSE_FIELD_RETRY
};

#define SSE_NAME_TOO_LONG 0xFF
#define SSE_KEEP_BYTES 256 /* event/id storage kept between blocks */

static const char utf8_bom[3] = {'\xEF', '\xBB', '\xBF'};

void sse_init(framer_t *f) {
  sse_state *s = &f->sse;
  dynbuf_init(&s->type, f->max_event_bytes + 1);
  dynbuf_init(&s->id, f->max_event_bytes + 1);
  dynbuf_init(&s->value, f->max_event_bytes + 1);
}

void sse_close(framer_t *f) {
  dynbuf_free(&f->sse.type);
  dynbuf_free(&f->sse.id);
  dynbuf_free(&f->sse.value);
}

static int field_of_name(const sse_state *s) {
  if (s->name_len == 4 && memcmp(s->name, "data", 4) == 0)
    return SSE_FIELD_DATA;
  if (s->name_len == 5 && memcmp(s->name, "event", 5) == 0)
    return SSE_FIELD_EVENT;
  if (s->name_len == 2 && memcmp(s->name, "id", 2) == 0)
    return SSE_FIELD_ID;
  if (s->name_len == 5 && memcmp(s->name, "retry", 5) == 0)
    return SSE_FIELD_RETRY;
  return SSE_FIELD_UNKNOWN;
}

/* 1 when p[0, end) starts with lit[0, n) (n is 5 or 6). */
static inline int starts_with(const char *p, const char *end, const char *lit, size_t n) {
  uint32_t head, want;
  if ((size_t)(end - p) < n)
    return 0;
  memcpy(&head, p, 4);
  memcpy(&want, lit, 4);
  return head == want && memcmp(p + 4, lit + 4, n - 4) == 0;
}

/* A field's value is about to be read. */
static void value_begin(framer_t *f, int field) {
  sse_state *s = &f->sse;
  s->field = (uint8_t)field;
  s->value_overflow = 0;
  if (field == SSE_FIELD_DATA) {
    if (s->has_data)
      framer_payload_add(f, "\n", 1);
    s->has_data = 1;
    framer_data_begins(f);
  } else if (field == SSE_FIELD_RETRY) {
    s->retry_digits = 0;
    s->retry_ms = 0;
  } else if (field != SSE_FIELD_UNKNOWN) {
    s->value.len = 0;
  }
}

/* A retry value is read as a number as it arrives, so that its length costs
 * no memory: any non-digit makes the line ignored. */
static void retry_bytes(sse_state *s, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n && s->retry_digits != 2; i++) {
    unsigned digit = (unsigned)((unsigned char)p[i] - '0');
    if (digit > 9) {
      s->retry_digits = 2;
    } else {
      s->retry_digits = 1;
      if (s->retry_ms > (UINT64_MAX - digit) / 10)
        s->retry_ms = UINT64_MAX;
      else
        s->retry_ms = s->retry_ms * 10 + digit;
    }
  }
}

static void value_bytes(framer_t *f, const char *p, size_t n) {
  sse_state *s = &f->sse;
  if (s->field == SSE_FIELD_DATA) {
    framer_payload_add(f, p, n);
  } else if (s->field == SSE_FIELD_RETRY) {
    retry_bytes(s, p, n);
  } else if (s->field != SSE_FIELD_UNKNOWN && !s->value_overflow) {
    if (dynbuf_add(&s->value, p, n) != 0) {
      s->value_overflow = 1;
      framer_set_oversized(f);
    }
  }
}

/* dynbuf_reset(b, SSE_KEEP_BYTES), without a call when there is nothing to
 * free (the common case, once per event). */
static void reset_value(dynbuf *b) {
  b->len = 0;
  if (b->cap > SSE_KEEP_BYTES)
    dynbuf_free(b);
}

static void swap_dynbuf(dynbuf *a, dynbuf *b) {
  dynbuf t = *a;
  *a = *b;
  *b = t;
}

static void retry_line_end(framer_t *f) {
  if (f->sse.retry_digits == 1 && f->cb.on_retry != NULL)
    f->cb.on_retry(f->ctx, f->sse.retry_ms);
}

/* A field line ended: the value is complete. */
static void field_line_end(framer_t *f) {
  sse_state *s = &f->sse;
  switch (s->field) {
  case SSE_FIELD_EVENT:
    if (!s->value_overflow) {
      swap_dynbuf(&s->type, &s->value);
      s->type_borrowed = NULL;
    }
    break;
  case SSE_FIELD_ID:
    if (!s->value_overflow && (s->value.len == 0 || memchr(s->value.ptr, '\0', s->value.len) == NULL)) {
      swap_dynbuf(&s->id, &s->value);
      s->has_id = 1;
    }
    break;
  case SSE_FIELD_RETRY:
    retry_line_end(f);
    break;
  default:
    break;
  }
  s->where = SSE_AT_LINE_START;
}

/* A blank line ended at offset end. Returns nonzero when on_event asked to
 * stop. */
static int blank_line(framer_t *f, uint64_t end) {
  sse_state *s = &f->sse;
  int rc = 0;
  if (!s->block_open) {
    f->safe_offset = end;
    return 0;
  }
  if (s->has_data) {
    const char *type = s->type_borrowed != NULL ? s->type_borrowed : s->type.ptr;
    size_t type_len = s->type_borrowed != NULL ? s->type_borrowed_len : s->type.len;
    rc = framer_dispatch(f, end, type_len > 0 ? type : NULL, type_len,
                         s->has_id ? (s->id.ptr != NULL ? s->id.ptr : "") : NULL, s->id.len);
  } else {
    framer_drop(f, end);
  }
  s->block_open = 0;
  s->has_data = 0;
  s->has_id = 0;
  s->type_borrowed = NULL;
  reset_value(&s->type);
  reset_value(&s->id);
  reset_value(&s->value);
  return rc;
}

/* A line that is not blank nor a comment begins at offset at. */
static void field_line_begin(framer_t *f, uint64_t at) {
  sse_state *s = &f->sse;
  if (!s->block_open) {
    s->block_open = 1;
    framer_event_begin(f, at);
  }
}

/* Reads a data or event value that began at p, in the buffer being parsed
 * (so p[-1] is readable), up to its line end or the end of the buffer, and
 * returns where parsing goes on. When the line end is in the buffer (the
 * common case), the value is taken whole without a copy (the framer or
 * sse_feed copies what is still needed when the buffer goes back to the
 * caller), and a data value's line end is found in the same pass as the
 * detector's prefilter candidates. */
static const char *value_line(framer_t *f, const char *p, const char *end) {
  sse_state *s = &f->sse;
  const char *eol;
  if (s->field == SSE_FIELD_DATA) {
    int candidate;
    eol = framer_find_line_end(f, p, (size_t)(end - p), '\r', '\n', &candidate);
    if (eol != NULL)
      framer_payload_line(f, p, (size_t)(eol - p), candidate);
  } else {
    eol = bytes_find2(p, (size_t)(end - p), '\r', '\n');
    if (eol != NULL && (size_t)(eol - p) <= f->max_event_bytes) {
      s->type_borrowed = p;
      s->type_borrowed_len = (size_t)(eol - p);
    } else if (eol != NULL) {
      value_bytes(f, p, (size_t)(eol - p)); /* too long: makes it oversized */
      field_line_end(f);
    }
  }
  if (eol == NULL) {
    value_bytes(f, p, (size_t)(end - p));
    return end;
  }
  s->after_cr = *eol == '\r';
  s->where = SSE_AT_LINE_START;
  return eol + 1;
}

/* The state machine. buf[0] is at stream offset base. Returns the bytes
 * consumed: len, or fewer when on_event asked to stop. */
static size_t sse_parse(framer_t *f, const char *buf, size_t len, uint64_t base) {
  sse_state *s = &f->sse;
  const char *p = buf;
  const char *end = buf + len;
  while (p < end) {
    switch (s->where) {
    case SSE_AT_LINE_START: {
      char c = *p;
      if (s->after_cr) {
        s->after_cr = 0;
        if (c == '\n') {
          p++;
          if (!s->block_open)
            f->safe_offset = base + (uint64_t)(p - buf);
          break;
        }
      }
      if (c == '\r' || c == '\n') {
        p++;
        s->after_cr = c == '\r';
        if (blank_line(f, base + (uint64_t)(p - buf)) != 0)
          return (size_t)(p - buf);
        break;
      }
      if (c == ':') {
        p++;
        s->where = SSE_AT_COMMENT;
        break;
      }
      field_line_begin(f, base + (uint64_t)(p - buf));
      if (starts_with(p, end, "data:", 5) || starts_with(p, end, "event:", 6)) {
        int field = *p == 'd' ? SSE_FIELD_DATA : SSE_FIELD_EVENT;
        p += field == SSE_FIELD_DATA ? 5 : 6;
        value_begin(f, field);
        if (p == end) {
          s->where = SSE_AT_VALUE_START; /* a space may come next */
          break;
        }
        if (*p == ' ')
          p++;
        s->where = SSE_AT_VALUE;
        if (p < end)
          p = value_line(f, p, end);
      } else {
        s->name_len = 0;
        s->where = SSE_AT_NAME;
      }
      break;
    }
    case SSE_AT_NAME: {
      char c = *p;
      if (c == ':' || c == '\r' || c == '\n') {
        p++;
        value_begin(f, field_of_name(s));
        if (c == ':') {
          s->where = SSE_AT_VALUE_START;
        } else {
          s->after_cr = c == '\r';
          field_line_end(f);
        }
      } else {
        if (s->name_len < sizeof s->name)
          s->name[s->name_len++] = c;
        else
          s->name_len = SSE_NAME_TOO_LONG;
        p++;
      }
      break;
    }
    case SSE_AT_VALUE_START:
      if (*p == ' ')
        p++;
      s->where = SSE_AT_VALUE;
      break;
    case SSE_AT_VALUE: {
      const char *eol;
      const char *run_end;
      /* p > buf: the value began at p, in this buffer (see value_line). */
      if (p > buf && (s->field == SSE_FIELD_DATA || s->field == SSE_FIELD_EVENT)) {
        p = value_line(f, p, end);
        break;
      }
      eol = bytes_find2(p, (size_t)(end - p), '\r', '\n');
      run_end = eol != NULL ? eol : end;
      value_bytes(f, p, (size_t)(run_end - p));
      p = run_end;
      if (eol != NULL) {
        s->after_cr = *eol == '\r';
        p++;
        field_line_end(f);
      }
      break;
    }
    case SSE_AT_COMMENT:
    default: {
      const char *eol = bytes_find2(p, (size_t)(end - p), '\r', '\n');
      if (eol == NULL) {
        p = end;
        break;
      }
      s->after_cr = *eol == '\r';
      p = eol + 1;
      s->where = SSE_AT_LINE_START;
      if (!s->block_open)
        f->safe_offset = base + (uint64_t)(p - buf);
      break;
    }
    }
  }
  return len;
}

size_t sse_feed(framer_t *f, const char *buf, size_t len) {
  sse_state *s = &f->sse;
  size_t skip = 0;
  size_t used;
  if (!s->bom_done) {
    while (skip < len && s->bom_matched < sizeof utf8_bom && buf[skip] == utf8_bom[s->bom_matched]) {
      s->bom_matched++;
      skip++;
    }
    if (s->bom_matched == sizeof utf8_bom) {
      s->bom_done = 1;
      f->safe_offset = sizeof utf8_bom;
    } else if (skip < len) {
      /* Not a BOM after all: its first bytes were ordinary stream bytes at
       * offsets 0.., parse them now (they hold no line end, so no event). */
      s->bom_done = 1;
      (void)sse_parse(f, utf8_bom, s->bom_matched, 0);
    } else {
      return len; /* still undecided */
    }
  }
  used = skip + sse_parse(f, buf + skip, len - skip, f->offset + skip);
  /* A borrowed event value points into buf, which the caller takes back. */
  if (s->type_borrowed != NULL) {
    const char *p = s->type_borrowed;
    s->type_borrowed = NULL;
    s->type.len = 0;
    if (dynbuf_add(&s->type, p, s->type_borrowed_len) != 0)
      framer_set_oversized(f); /* out of memory: treat as too big */
  }
  return used;
}

void sse_finish(framer_t *f) {
  sse_state *s = &f->sse;
  /* An unterminated event is not dispatched (WHATWG); the framer makes its
   * bytes flushable. */
  if (s->block_open)
    framer_drop(f, f->offset);
  s->block_open = 0;
  s->has_data = 0;
  s->has_id = 0;
  s->where = SSE_AT_LINE_START;
  s->type_borrowed = NULL;
  s->type.len = 0;
  s->id.len = 0;
  s->value.len = 0;
}
