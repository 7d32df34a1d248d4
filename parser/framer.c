/* framer: the parts every format shares. See framer.h for the contract and
 * framer_driver.h for how the format drivers (sse.c, ndjson.c, jsonbody.c)
 * plug in. */
#include "framer.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "framer_driver.h"

/* After an event, payload storage up to this size is kept for the next one;
 * larger storage is freed so that a quiet stream holds little memory. */
#define FRAMER_KEEP_BYTES 4096

int framer_init(framer_t *f, framer_format format, const framer_options *options,
                const framer_callbacks *callbacks, void *ctx) {
  if (format != FRAMER_RAW && format != FRAMER_SSE && format != FRAMER_NDJSON &&
      format != FRAMER_JSON)
    return -EINVAL;
  memset(f, 0, sizeof *f);
  f->format = format;
  if (callbacks != NULL)
    f->cb = *callbacks;
  f->ctx = ctx;
  f->max_event_bytes = FRAMER_DEFAULT_MAX_EVENT_BYTES;
  f->inspect = 1;
  if (options != NULL) {
    if (options->max_event_bytes > 0)
      f->max_event_bytes = options->max_event_bytes;
    f->inspect = options->inspect;
  }
  dynbuf_init(&f->data, f->max_event_bytes + 1);
  detect_init(&f->detect);
  if (format == FRAMER_SSE)
    sse_init(f);
  return 0;
}

void framer_close(framer_t *f) {
  dynbuf_free(&f->data);
  detect_close(&f->detect);
  if (f->format == FRAMER_SSE)
    sse_close(f);
}

/* Copies a borrowed payload into the framer's buffer. */
static void payload_own(framer_t *f) {
  const char *p = f->borrowed;
  f->borrowed = NULL;
  if (dynbuf_add(&f->data, p, f->borrowed_len) != 0)
    framer_set_oversized(f); /* out of memory: treat as too big to inspect */
}

size_t framer_feed(framer_t *f, const char *buf, size_t len) {
  size_t used;
  switch (f->format) {
  case FRAMER_SSE:
    used = sse_feed(f, buf, len);
    break;
  case FRAMER_NDJSON:
    used = ndjson_feed(f, buf, len);
    break;
  case FRAMER_JSON:
    used = jsonbody_feed(f, buf, len);
    break;
  case FRAMER_RAW:
  default:
    used = len;
    f->safe_offset = f->offset + len;
    break;
  }
  f->offset += used;
  /* A borrowed payload points into buf, which the caller takes back now. */
  if (f->borrowed != NULL)
    payload_own(f);
  /* Keep the detector level with the payload, so that its work is spread
   * over the reads rather than done at the end of a long event. */
  if (f->in_event && f->inspect && !f->oversized)
    detect_feed(&f->detect, f->data.ptr, f->data.len);
  return used;
}

void framer_finish(framer_t *f) {
  switch (f->format) {
  case FRAMER_SSE:
    sse_finish(f);
    break;
  case FRAMER_NDJSON:
    ndjson_finish(f);
    break;
  case FRAMER_JSON:
    jsonbody_finish(f);
    break;
  case FRAMER_RAW:
  default:
    break;
  }
  /* At the end of the stream every byte may go: an unterminated SSE event
   * is not an event, but its bytes were still sent by the upstream. */
  f->safe_offset = f->offset;
}

uint64_t framer_safe_offset(const framer_t *f) {
  return f->oversized ? f->offset : f->safe_offset;
}

void framer_event_begin(framer_t *f, uint64_t start) {
  f->in_event = 1;
  f->event_start = start;
}

/* Calls on_oversized once for the event in progress. */
static void tell_oversized(framer_t *f) {
  if (f->oversized_told)
    return;
  f->oversized_told = 1;
  f->stats.oversized++;
  if (f->cb.on_oversized != NULL)
    f->cb.on_oversized(f->ctx, f->next_index);
}

void framer_set_oversized(framer_t *f) {
  if (f->oversized)
    return;
  f->oversized = 1;
  detect_abandon(&f->detect);
  /* An SSE block is an event only once it has a data line: a block whose
   * event or id line overflowed is announced when its data begins. */
  if (f->format != FRAMER_SSE || f->sse.has_data)
    tell_oversized(f);
}

void framer_data_begins(framer_t *f) {
  if (f->oversized)
    tell_oversized(f);
}

void framer_payload_add(framer_t *f, const char *p, size_t n) {
  size_t room;
  size_t take;
  if (f->borrowed != NULL)
    payload_own(f);
  room = f->max_event_bytes - f->data.len;
  take = n < room ? n : room;
  /* An oversized event still keeps its first max_event_bytes bytes. */
  if (take > 0 && dynbuf_add(&f->data, p, take) != 0) {
    framer_set_oversized(f); /* out of memory: treat as too big to inspect */
    return;
  }
  if (n > room)
    framer_set_oversized(f);
}

void framer_payload_line(framer_t *f, const char *p, size_t n, int candidate) {
  if (n == 0)
    return;
  if (f->data.len != 0 || f->borrowed != NULL || n > f->max_event_bytes) {
    framer_payload_add(f, p, n);
    return;
  }
  f->borrowed = p;
  f->borrowed_len = n;
  if (!candidate)
    detect_prefilter_done(&f->detect, n);
}

const char *framer_find_line_end(const framer_t *f, const char *p, size_t len, char a, char b,
                                 int *candidate) {
  bytes_prefetch_ahead(p);
  if (f->inspect && !f->oversized)
    return bytes_find_eol_pf(p, len, a, b, candidate);
  *candidate = 1;
  return bytes_find2(p, len, a, b);
}

static void event_done(framer_t *f, uint64_t end) {
  detect_reset(&f->detect);
  dynbuf_reset(&f->data, FRAMER_KEEP_BYTES);
  f->oversized = 0;
  f->oversized_told = 0;
  f->in_event = 0;
  f->borrowed = NULL;
  f->safe_offset = end;
}

int framer_dispatch(framer_t *f, uint64_t end, const char *type, size_t type_len,
                    const char *id, size_t id_len) {
  framer_event ev;
  int rc = 0;
  ev.index = f->next_index++;
  ev.start = f->event_start;
  ev.end = end;
  if (f->borrowed != NULL) {
    ev.data = f->borrowed;
    ev.data_len = f->borrowed_len;
  } else {
    ev.data = f->data.ptr != NULL ? f->data.ptr : "";
    ev.data_len = f->data.len;
  }
  ev.type = type;
  ev.type_len = type_len;
  ev.id = id;
  ev.id_len = id_len;
  ev.oversized = f->oversized;
  ev.match = NULL;
  if (f->oversized)
    tell_oversized(f);
  if (f->oversized) {
    ev.status = DETECT_OVERSIZED;
  } else if (f->inspect) {
    ev.status = detect_finish(&f->detect, ev.data, ev.data_len, &ev.match);
  } else {
    ev.status = DETECT_SKIPPED;
  }
  f->stats.events++;
  if (ev.status == DETECT_MATCH)
    f->stats.matches++;
  else if (ev.status == DETECT_MALFORMED)
    f->stats.malformed++;
  if (f->cb.on_event != NULL)
    rc = f->cb.on_event(f->ctx, &ev);
  event_done(f, end);
  return rc;
}

void framer_drop(framer_t *f, uint64_t end) {
  event_done(f, end);
}

int framer_payload_is_blank(const framer_t *f) {
  const char *p = f->borrowed != NULL ? f->borrowed : f->data.ptr;
  size_t len = f->borrowed != NULL ? f->borrowed_len : f->data.len;
  size_t i;
  for (i = 0; i < len; i++) {
    char c = p[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      return 0;
  }
  return 1;
}

/* Case-insensitive comparison of the media type (before any ';') with lit. */
static int media_type_is(const char *v, size_t len, const char *lit) {
  size_t n = strlen(lit);
  size_t i = 0;
  while (i < len && (v[i] == ' ' || v[i] == '\t'))
    i++;
  if (len - i < n || strncasecmp(v + i, lit, n) != 0)
    return 0;
  i += n;
  while (i < len && (v[i] == ' ' || v[i] == '\t'))
    i++;
  return i == len || v[i] == ';';
}

framer_format framer_format_from_content_type(const char *value, size_t len) {
  if (value == NULL)
    return FRAMER_RAW;
  if (media_type_is(value, len, "text/event-stream"))
    return FRAMER_SSE;
  if (media_type_is(value, len, "application/x-ndjson") ||
      media_type_is(value, len, "application/jsonl") ||
      media_type_is(value, len, "application/stream+json"))
    return FRAMER_NDJSON;
  if (media_type_is(value, len, "application/json"))
    return FRAMER_JSON;
  return FRAMER_RAW;
}

const char *framer_format_name(framer_format format) {
  switch (format) {
  case FRAMER_SSE:
    return "sse";
  case FRAMER_NDJSON:
    return "ndjson";
  case FRAMER_JSON:
    return "json";
  case FRAMER_RAW:
  default:
    return "raw";
  }
}

int framer_format_parse(const char *name, framer_format *out) {
  static const framer_format all[] = {FRAMER_RAW, FRAMER_SSE, FRAMER_NDJSON, FRAMER_JSON};
  size_t i;
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(name, framer_format_name(all[i])) == 0) {
      *out = all[i];
      return 0;
    }
  }
  return -EINVAL;
}
