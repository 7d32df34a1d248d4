/* dynbuf: growable byte buffer with a hard cap. See dynbuf.h. */
#include "dynbuf.h"

#include <errno.h>
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

int dynbuf_add(dynbuf *b, const void *p, size_t n) {
  size_t need;
  if (n == 0)
    return 0;
  if (n >= b->toobig - b->len)
    return -E2BIG;
  need = b->len + n;
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : DYNBUF_MIN_ALLOC;
    char *grown;
    while (cap < need)
      cap *= 2;
    if (cap > b->toobig)
      cap = b->toobig;
    grown = realloc(b->ptr, cap);
    if (grown == NULL)
      return -ENOMEM;
    b->ptr = grown;
    b->cap = cap;
  }
  memcpy(b->ptr + b->len, p, n);
  b->len = need;
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
