/* jsonw: JSON string and number writer. See jsonw.h. */
#include "jsonw.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

static const char replacement_char[] = "\xEF\xBF\xBD"; /* U+FFFD */

int jsonw_string(dynbuf *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0; /* bytes before p[i] that can be copied as they are */
  size_t i = 0;
  (void)dynbuf_put(out, "\"", 1);
  while (dynbuf_error(out) == 0 && i < len) {
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
      size_t ok = utf8_sequence(p + i, len - i, &bad);
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
    (void)dynbuf_put(out, p + i - run, run);
    (void)dynbuf_put(out, esc, strlen(esc));
    run = 0;
    i += step;
  }
  (void)dynbuf_put(out, p + i - run, run);
  return dynbuf_put(out, "\"", 1);
}

int jsonw_cstring(dynbuf *out, const char *s) {
  return jsonw_string(out, s, strlen(s));
}

int jsonw_u64(dynbuf *out, uint64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  return dynbuf_put(out, digits, (size_t)n);
}

int jsonw_raw(dynbuf *out, const char *s) {
  return dynbuf_put(out, s, strlen(s));
}
