/* jsonw: JSON string and number writer. See jsonw.h. */
#include "jsonw.h"

#include <stdio.h>
#include <string.h>

static const char replacement_char[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence at s[0, len), or 0 when it is invalid
 * or truncated; on 0, *bad is the length of its maximal subpart (>= 1). */
static size_t utf8_valid_length(const unsigned char *s, size_t len, size_t *bad) {
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t i;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i < need; i++) {
    if (i >= len || s[i] < lo || s[i] > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need;
}

int jsonw_string(dynbuf *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0; /* bytes before p[i] that can be copied as they are */
  size_t i = 0;
  int rc;
  rc = dynbuf_add(out, "\"", 1);
  while (rc == 0 && i < len) {
    unsigned char c = p[i];
    const char *esc = NULL;
    char ubuf[8];
    size_t step = 1;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      i++;
      run++;
      continue;
    }
    if (c >= 0x80) {
      size_t bad = 0;
      size_t ok = utf8_valid_length(p + i, len - i, &bad);
      if (ok > 0) {
        i += ok;
        run += ok;
        continue;
      }
      esc = replacement_char;
      step = bad;
    } else if (c == '"') {
      esc = "\\\"";
    } else if (c == '\\') {
      esc = "\\\\";
    } else if (c == '\n') {
      esc = "\\n";
    } else if (c == '\r') {
      esc = "\\r";
    } else if (c == '\t') {
      esc = "\\t";
    } else if (c == '\b') {
      esc = "\\b";
    } else if (c == '\f') {
      esc = "\\f";
    } else {
      snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
      esc = ubuf;
    }
    rc = dynbuf_add(out, p + i - run, run);
    if (rc == 0)
      rc = dynbuf_add(out, esc, strlen(esc));
    run = 0;
    i += step;
  }
  if (rc == 0)
    rc = dynbuf_add(out, p + i - run, run);
  if (rc == 0)
    rc = dynbuf_add(out, "\"", 1);
  return rc;
}

int jsonw_cstring(dynbuf *out, const char *s) {
  return jsonw_string(out, s, strlen(s));
}

int jsonw_u64(dynbuf *out, uint64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  return dynbuf_add(out, digits, (size_t)n);
}

int jsonw_raw(dynbuf *out, const char *s) {
  return dynbuf_add(out, s, strlen(s));
}
