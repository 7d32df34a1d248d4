/* bytes: the two hot loops of the parser, scanning for one of two bytes.
 *
 * The SSE framer looks for CR or LF, the detector's prefilter for '_' or
 * '\\'. Both run over every byte of every stream, so they scan 16 bytes at a
 * time with SSE2 where the compiler has it (every x86-64), and byte by byte
 * elsewhere.
 */
#ifndef AUTHRELAY_BYTES_H
#define AUTHRELAY_BYTES_H

#include <stddef.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Returns the first byte of p[0, len) equal to a or b, or NULL. */
static inline const char *bytes_find2(const char *p, size_t len, char a, char b) {
  const char *end = p + len;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  while (end - p >= 16) {
    __m128i chunk = _mm_loadu_si128((const __m128i *)(const void *)p);
    int mask = _mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(chunk, va), _mm_cmpeq_epi8(chunk, vb)));
    if (mask != 0)
      return p + __builtin_ctz((unsigned)mask);
    p += 16;
  }
#endif
  for (; p < end; p++) {
    if (*p == a || *p == b)
      return p;
  }
  return NULL;
}

#endif
