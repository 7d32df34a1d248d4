/* fuzz_framer_model.h: the reference model fuzz_framer.c checks the framer
 * against: parser/SEMANTICS.md's SSE, NDJSON and JSON framing written again,
 * whole input at a time, from the spec rather than from the state machines.
 * It records into an outcome (fuzz_framer_rec.h) that must equal the real
 * framer's. Static inline, for the one harness that includes it.
 */
#ifndef AUTHRELAY_TEST_FUZZ_FRAMER_MODEL_H
#define AUTHRELAY_TEST_FUZZ_FRAMER_MODEL_H

#include "fuzz_framer_rec.h"

/* ---- the reference model (parser/SEMANTICS.md) ----------------------------
 * Whole-input, line-at-a-time, written from the spec rather than from the
 * state machines. Oversized: the data keeps its first max_event_bytes bytes
 * whatever made the event oversized (data, or an SSE event/id value), and
 * on_oversized fires once per event as soon as it is oversized and known to
 * be an event (an SSE block once it has a data line; a block without data is
 * never announced). Retry: any non-empty all-digit value, saturating. */

typedef struct model {
  const config *cfg;
  outcome out;
  int over;     /* the event in progress is oversized */
  int told;     /* on_oversized was called for it */
  int can_tell; /* it is an event: not an SSE block without data (yet) */
} model;

/* on_oversized, once per event, as soon as the event is oversized and known
 * to be an event. */
static inline void model_tell(model *m) {
  if (m->over && m->can_tell && !m->told) {
    m->told = 1;
    u64_push(&m->out.over, &m->out.n_over, &m->out.cap_over, m->out.n_ev);
  }
}

static inline void model_set_over(model *m) {
  m->over = 1;
  model_tell(m);
}

static inline void model_event_reset(model *m, int can_tell) {
  m->over = m->told = 0;
  m->can_tell = can_tell;
}

/* Appends to an event's data: the data keeps its first max_event_bytes
 * bytes, whatever made the event oversized. */
static inline void model_data_add(model *m, bytes *data, const void *p, size_t n) {
  bytes_add(data, p, n);
  if (data->len > m->cfg->max_event_bytes) {
    data->len = m->cfg->max_event_bytes;
    model_set_over(m);
  }
}

static inline void model_emit(model *m, uint64_t start, uint64_t end, const bytes *data,
                       const bytes *type, const bytes *id) {
  rec_event *e = outcome_add_event(&m->out);
  e->index = m->out.n_ev - 1;
  e->start = start;
  e->end = end;
  e->data = rec_copy(data->p != NULL ? data->p : "", data->len);
  e->type = rec_copy(type != NULL && type->len > 0 ? type->p : NULL, type != NULL ? type->len : 0);
  if (!e->type.present)
    e->type.len = 0;
  e->id = rec_copy(id != NULL ? (id->p != NULL ? id->p : "") : NULL, id != NULL ? id->len : 0);
  e->oversized = m->over;
}

static inline int is_blank(const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
      return 0;
  }
  return 1;
}

static inline void model_sse(model *m, const char *in, size_t n) {
  const size_t max = m->cfg->max_event_bytes;
  bytes data = {0}, type = {0}, id = {0};
  int block_open = 0, has_data = 0, has_id = 0;
  uint64_t start = 0;
  size_t pos = 0;
  if (n >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  model_event_reset(m, 0); /* an SSE block is an event once it has data */
  while (pos < n) {
    size_t eol = pos, next, line_len, name_len, value_len;
    const char *line = in + pos, *colon, *value;
    int complete;
    while (eol < n && in[eol] != '\r' && in[eol] != '\n')
      eol++;
    complete = eol < n;
    line_len = eol - pos;
    next = complete ? eol + 1 : n;
    if (complete && in[eol] == '\r' && next < n && in[next] == '\n')
      next++; /* CRLF is one line end */
    if (line_len == 0) {
      if (!complete)
        break;
      if (block_open) { /* a blank line ends the block */
        if (has_data)
          model_emit(m, start, eol + 1, &data, &type, has_id ? &id : NULL);
        block_open = has_data = has_id = 0;
        model_event_reset(m, 0);
        data.len = type.len = id.len = 0;
      }
      pos = next;
      continue;
    }
    if (line[0] == ':') { /* comment */
      pos = next;
      continue;
    }
    if (!block_open) {
      block_open = 1;
      start = pos;
    }
    colon = memchr(line, ':', line_len);
    if (colon == NULL && !complete)
      break; /* the field name never ended: nothing happened */
    name_len = colon != NULL ? (size_t)(colon - line) : line_len;
    value = colon != NULL ? colon + 1 : line + line_len;
    value_len = (size_t)(line + line_len - value);
    if (value_len > 0 && value[0] == ' ') {
      value++;
      value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
      if (has_data)
        model_data_add(m, &data, "\n", 1);
      has_data = 1;
      m->can_tell = 1; /* an overflow of the block's event or id is told now */
      model_tell(m);
      model_data_add(m, &data, value, value_len);
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
      if (value_len > max)
        model_set_over(m);
      else if (complete)
        bytes_set(&type, value, value_len);
    } else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
      if (value_len > max) {
        model_set_over(m);
      } else if (complete && (value_len == 0 || memchr(value, '\0', value_len) == NULL)) {
        bytes_set(&id, value, value_len);
        has_id = 1;
      }
    } else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
      if (complete && value_len > 0) {
        uint64_t ms = 0;
        size_t i;
        for (i = 0; i < value_len; i++) {
          unsigned digit = (unsigned)((unsigned char)value[i] - '0');
          if (digit > 9)
            break;
          ms = ms > (UINT64_MAX - digit) / 10 ? UINT64_MAX : ms * 10 + digit;
        }
        if (i == value_len)
          u64_push(&m->out.retry, &m->out.n_retry, &m->out.cap_retry, ms);
      }
    }
    pos = next;
  }
  free(data.p);
  free(type.p);
  free(id.p);
}

static inline void model_ndjson(model *m, const char *in, size_t n) {
  size_t pos = 0;
  bytes data = {0};
  while (pos < n) {
    const char *nl = memchr(in + pos, '\n', n - pos);
    size_t line_end = nl != NULL ? (size_t)(nl - in) : n;
    size_t end = nl != NULL ? line_end + 1 : n;
    size_t len = line_end - pos;
    /* The CR of a CRLF is not data; a lone CR, even at the end, is. */
    if (nl != NULL && len > 0 && in[line_end - 1] == '\r')
      len--;
    data.len = 0;
    model_event_reset(m, 1);
    model_data_add(m, &data, in + pos, len);
    if (m->over || !is_blank(in + pos, len))
      model_emit(m, pos, end, &data, NULL, NULL);
    pos = end;
  }
  free(data.p);
}

static inline void model_json(model *m, const char *in, size_t n) {
  bytes data = {0};
  if (n == 0)
    return;
  model_event_reset(m, 1);
  model_data_add(m, &data, in, n);
  if (m->over || !is_blank(in, n))
    model_emit(m, 0, n, &data, NULL, NULL);
  free(data.p);
}

/* The model's outcome, with verdicts from a fresh detector. */
static inline void run_model(model *m, const config *c, const char *in, size_t n) {
  size_t i;
  memset(m, 0, sizeof *m);
  m->cfg = c;
  switch (c->format) {
  case FRAMER_SSE:
    model_sse(m, in, n);
    break;
  case FRAMER_NDJSON:
    model_ndjson(m, in, n);
    break;
  case FRAMER_JSON:
    model_json(m, in, n);
    break;
  case FRAMER_RAW:
  default:
    break;
  }
  for (i = 0; i < m->out.n_ev; i++) {
    rec_event *e = &m->out.ev[i];
    if (e->oversized)
      e->verdict.status = DETECT_OVERSIZED;
    else if (!c->inspect)
      e->verdict.status = DETECT_SKIPPED;
    else
      e->verdict = detect_once(e->data.ptr, e->data.len, 1);
  }
}

#endif
