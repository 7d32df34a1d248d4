/* buf: growable byte buffer and JSON string escaping. See buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_reserve(buf_t *b, size_t extra) {
  if (b->cap - b->len >= extra + 1)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (p == NULL) {
    fputs("agent-server: out of memory\n", stderr);
    abort();
  }
  b->p = p;
  b->cap = cap;
}

void buf_append(buf_t *b, const void *data, size_t n) {
  buf_reserve(b, n);
  if (n)
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0)
    return;
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void buf_pad(buf_t *b, const char *pat, size_t n) {
  size_t plen = strlen(pat);
  buf_reserve(b, n);
  for (size_t i = 0; i < n; i++)
    b->p[b->len + i] = pat[i % plen];
  b->len += n;
  b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

void buf_json_str(buf_t *b, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  buf_reserve(b, n + 2);
  b->p[b->len++] = '"';
  size_t i = 0;
  while (i < n) {
    unsigned c = u[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      buf_append(b, esc, 2);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      buf_printf(b, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      buf_append(b, s + i, 1);
      i++;
    } else {
      size_t l = utf8_seq(u + i, n - i);
      if (l) {
        buf_append(b, s + i, l);
        i += l;
      } else {
        buf_printf(b, "\\u%04x", c);
        i++;
      }
    }
  }
  buf_append(b, "\"", 1);
}

void buf_consume(buf_t *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
  }
  if (b->p)
    b->p[b->len] = '\0';
}

void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
