/* fuzz_head.h: reading HTTP heads the way authrelay reads them, for the
 * harnesses of the proxy's head handling (fuzz_request.c, fuzz_response.c):
 * llhttp feeding proxyhead's reader into an http_head, both for the input
 * under test and for reading back the head authrelay wrote. A harness puts a
 * fuzz_head first in the struct its llhttp_t's data points to, and uses the
 * callbacks below in its llhttp_settings_t. Static inline, like fuzz.h.
 */
#ifndef AUTHRELAY_TEST_FUZZ_HEAD_H
#define AUTHRELAY_TEST_FUZZ_HEAD_H

#include <stddef.h>

#include <llhttp.h>

#include "http.h"
#include "proxyhead.h"

typedef struct fuzz_head {
  http_head head;       /* the head read (owned: fuzz_head_free) */
  proxyhead_reader rd;  /* proxyhead's reader into it */
} fuzz_head;

/* p->data's fuzz_head: its first member. */
static inline fuzz_head *fuzz_head_of(llhttp_t *p) {
  return (fuzz_head *)p->data;
}

static inline void fuzz_head_init(fuzz_head *h, size_t max_bytes, size_t max_headers) {
  http_head_init(&h->head, max_bytes, max_headers);
  proxyhead_reader_init(&h->rd, &h->head);
}

static inline void fuzz_head_free(fuzz_head *h) {
  http_head_free(&h->head);
}

static inline int fuzz_head_on_begin(llhttp_t *p) {
  proxyhead_begin(&fuzz_head_of(p)->rd);
  return 0;
}

/* A request target or a response's reason phrase, kept as the target. */
static inline int fuzz_head_on_target(llhttp_t *p, const char *at, size_t n) {
  return http_head_add_target(&fuzz_head_of(p)->head, at, n) == 0 ? 0 : -1;
}

static inline int fuzz_head_on_field(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_field(&fuzz_head_of(p)->rd, p, at, n);
}

static inline int fuzz_head_on_value(llhttp_t *p, const char *at, size_t n) {
  return proxyhead_on_header_value(&fuzz_head_of(p)->rd, p, at, n);
}

/* How many headers of h are named name (case-insensitively). */
static inline size_t fuzz_head_count(const http_head *h, const char *name) {
  size_t i, n = 0;
  for (i = 0; i < h->nheaders; i++)
    n += http_equals_nocase(http_head_str(h, h->headers[i].name), h->headers[i].name.len, name);
  return n;
}

#endif
