/* reframe: an event's payload out of its raw bytes and back. See reframe.h. */
#include "reframe.h"

#include <errno.h>
#include <string.h>

#include "rewrite.h"

/* One line of raw: [start, start + len) without its line end of eol bytes. */
typedef struct line {
  size_t start;
  size_t len;
  size_t eol; /* 0 (the last bytes), 1 (LF or CR) or 2 (CRLF) */
} line;

/* The line at pos; returns the position after it. */
static size_t next_line(const char *raw, size_t len, size_t pos, line *l) {
  size_t i = pos;
  while (i < len && raw[i] != '\n' && raw[i] != '\r')
    i++;
  l->start = pos;
  l->len = i - pos;
  l->eol = 0;
  if (i < len) {
    l->eol = raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n' ? 2 : 1;
  }
  return i + l->eol;
}

/* For a data field line: *prefix is the length of "data:" or "data: "
 * (the bytes before the value; 4 for a bare "data"). 1 when it is one. */
static int data_line(const char *raw, const line *l, size_t *prefix) {
  const char *p = raw + l->start;
  if (l->len < 4 || memcmp(p, "data", 4) != 0)
    return 0;
  if (l->len == 4) {
    *prefix = 4;
    return 1;
  }
  if (p[4] != ':')
    return 0;
  *prefix = l->len > 5 && p[5] == ' ' ? 6 : 5;
  return 1;
}

/* The NDJSON line's end: LF, or CR LF (the CR is not data). */
static size_t ndjson_eol(const char *raw, size_t len) {
  if (len >= 2 && raw[len - 2] == '\r' && raw[len - 1] == '\n')
    return 2;
  return len >= 1 && raw[len - 1] == '\n' ? 1 : 0;
}

static size_t bom_len(const char *raw, size_t len) {
  return len >= 3 && memcmp(raw, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

int reframe_payload(dialect_framing framing, const char *raw, size_t len, dynbuf *payload) {
  size_t mark = payload->len;
  size_t pos;
  size_t prefix;
  int lines = 0;
  int rc = 0;
  line l;
  if (framing == DIALECT_FRAMING_JSON)
    return dynbuf_add(payload, raw, len);
  if (framing == DIALECT_FRAMING_NDJSON)
    return dynbuf_add(payload, raw, len - ndjson_eol(raw, len));
  pos = bom_len(raw, len);
  while (pos < len && rc == 0) {
    pos = next_line(raw, len, pos, &l);
    if (!data_line(raw, &l, &prefix))
      continue;
    if (lines++ > 0)
      rc = dynbuf_add(payload, "\n", 1);
    if (rc == 0)
      rc = dynbuf_add(payload, raw + l.start + prefix, l.len - prefix);
  }
  if (rc == 0 && lines == 0)
    rc = -EINVAL;
  if (rc != 0)
    payload->len = mark;
  return rc;
}

int reframe_event(dialect_framing framing, const char *raw, size_t len, const char *payload,
                  size_t plen, dynbuf *out) {
  size_t mark = out->len;
  size_t pos;
  size_t prefix;
  size_t at = 0; /* start of the payload's next line */
  size_t seg_end;
  const char *nl;
  int lines = 0;
  int rc = 0;
  line l;
  if (framing == DIALECT_FRAMING_JSON)
    return dynbuf_add(out, payload, plen);
  if (framing == DIALECT_FRAMING_NDJSON) {
    size_t eol = ndjson_eol(raw, len);
    if (plen > 0 && memchr(payload, '\n', plen) != NULL)
      return -EINVAL;
    rc = dynbuf_add(out, payload, plen);
    if (rc == 0)
      rc = dynbuf_add(out, raw + len - eol, eol);
    if (rc != 0)
      out->len = mark;
    return rc;
  }
  pos = bom_len(raw, len);
  rc = dynbuf_add(out, raw, pos);
  while (pos < len && rc == 0) {
    pos = next_line(raw, len, pos, &l);
    if (!data_line(raw, &l, &prefix)) {
      rc = dynbuf_add(out, raw + l.start, l.len + l.eol);
      continue;
    }
    if (at > plen) {
      rc = -EINVAL; /* fewer lines in the new payload */
      break;
    }
    nl = plen > at ? memchr(payload + at, '\n', plen - at) : NULL;
    seg_end = nl != NULL ? (size_t)(nl - payload) : plen;
    if (prefix == 4 && seg_end > at)
      rc = dynbuf_add(out, "data: ", 6); /* a bare "data" line now has a value */
    else
      rc = dynbuf_add(out, raw + l.start, prefix);
    if (rc == 0 && seg_end > at)
      rc = dynbuf_add(out, payload + at, seg_end - at);
    if (rc == 0)
      rc = dynbuf_add(out, raw + l.start + l.len, l.eol);
    at = seg_end + 1; /* past the LF; past plen after the last line */
    lines++;
  }
  if (rc == 0 && (lines == 0 || at <= plen))
    rc = -EINVAL; /* no data line, or more lines in the new payload */
  if (rc != 0)
    out->len = mark;
  return rc;
}

int reframe_rewrite(dialect_framing framing, const char *raw, size_t len, const dialect_link *link,
                    const char *message, dynbuf *out, size_t *count) {
  rewrite_values v;
  dynbuf payload;
  dynbuf rewritten;
  int rc;
  if (count != NULL)
    *count = 0;
  v.link_token = link->link_token;
  v.link_token_len = strlen(link->link_token);
  v.magic_link_url = link->magic_link_url;
  v.magic_link_url_len = strlen(link->magic_link_url);
  v.expires_at = link->expires_at;
  v.expires_at_len = strlen(link->expires_at);
  v.message = message;
  v.message_len = message != NULL ? strlen(message) : 0;
  dynbuf_init(&payload, len + 1);
  dynbuf_init(&rewritten, out->toobig);
  rc = reframe_payload(framing, raw, len, &payload);
  if (rc == 0)
    rc = rewrite_auth_values(payload.ptr != NULL ? payload.ptr : "", payload.len, &v, &rewritten, count);
  if (rc == 0)
    rc = reframe_event(framing, raw, len, rewritten.ptr, rewritten.len, out);
  if (rc != 0 && count != NULL)
    *count = 0;
  dynbuf_free(&payload);
  dynbuf_free(&rewritten);
  return rc;
}
