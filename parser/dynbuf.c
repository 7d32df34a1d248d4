/* dynbuf: growable byte buffer with a hard cap. See dynbuf.h. */
#include "dynbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYNBUF_MIN_ALLOC 64

void dynbuf_init(dynbuf *b, size_t toobig) {
  b->ptr = NULL;
  b->len = 0;
  b->cap = 0;
  b->toobig = toobig;
  b->err = 0;
}

/* Makes room for need bytes in all (need <= toobig). 0 or -ENOMEM. */
static int reserve(dynbuf *b, size_t need) {
  size_t cap = b->cap ? b->cap : DYNBUF_MIN_ALLOC;
  char *grown;
  if (need <= b->cap)
    return 0;
  while (cap < need)
    cap *= 2;
  if (cap > b->toobig)
    cap = b->toobig;
  grown = realloc(b->ptr, cap);
  if (grown == NULL)
    return -ENOMEM;
  b->ptr = grown;
  b->cap = cap;
  return 0;
}

int dynbuf_add(dynbuf *b, const void *p, size_t n) {
  int rc;
  if (n == 0)
    return 0;
  if (n >= b->toobig - b->len)
    return -E2BIG;
  rc = reserve(b, b->len + n);
  if (rc != 0)
    return rc;
  memcpy(b->ptr + b->len, p, n);
  b->len += n;
  return 0;
}

int dynbuf_addf(dynbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  int rc;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap); /* measure first: nothing is written unless it all fits */
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  if (n == 0)
    return 0;
  if ((size_t)n >= b->toobig - b->len)
    return -E2BIG;
  rc = reserve(b, b->len + (size_t)n + 1); /* vsnprintf's NUL: at most toobig */
  if (rc != 0)
    return rc;
  va_start(ap, fmt);
  n = vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  b->len += (size_t)n;
  return 0;
}

int dynbuf_put(dynbuf *b, const void *p, size_t n) {
  if (b->err == 0)
    b->err = dynbuf_add(b, p, n);
  return b->err;
}

int dynbuf_error(const dynbuf *b) {
  return b->err;
}

void dynbuf_reset(dynbuf *b, size_t keep) {
  b->len = 0;
  b->err = 0;
  if (b->cap > keep)
    dynbuf_free(b);
}

void dynbuf_free(dynbuf *b) {
  free(b->ptr);
  b->ptr = NULL;
  b->len = 0;
  b->cap = 0;
  b->err = 0;
}
