/* bytes: the hot loops of the parser, scanning for line ends and for the
 * detector's prefilter candidates.
 *
 * The SSE framer looks for CR or LF, the NDJSON framer for LF, the
 * detector's prefilter for the byte triples "e_m" (authenticate_meta), "k_t"
 * (link_token) and the pair "\u". They run over every byte of every stream,
 * so they scan 16 bytes at a time with SSE2 where the compiler has it (every
 * x86-64), and 8 bytes at a time in a uint64_t elsewhere.
 * bytes_find_eol_pf() does the line-end scan and the prefilter's candidate
 * scan in one pass, so that a data line is looked at once.
 *
 * Defining AUTHRELAY_PARSER_SCALAR selects the portable code even where
 * SSE2 exists: the build compiles the parser that way too, so that the tests
 * run both (parser/CMakeLists.txt, authrelay_parser_scalar).
 */
#ifndef AUTHRELAY_BYTES_H
#define AUTHRELAY_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(AUTHRELAY_PARSER_SCALAR)
#define BYTES_SIMD 1
#include <emmintrin.h>
#else
#define BYTES_SIMD 0
#endif

/* How far ahead of the line being scanned bytes_prefetch_ahead() asks for
 * the stream: a few short events. */
#define BYTES_PREFETCH_DISTANCE 1024

/* Asks the CPU to start loading the two cache lines BYTES_PREFETCH_DISTANCE
 * bytes after p (a hint: it never faults, wherever that is). Called once per
 * line, it keeps a stream of short events (token deltas: two lines of about
 * 150 bytes per event) coming from memory ahead of the scan, which the
 * hardware prefetcher alone does not (measured with bench-parser on its
 * 64 MiB streams: the SSE and NDJSON token-delta rows went 40 to 60 %
 * faster; on 4 MiB streams, about 15 %). */
static inline void bytes_prefetch_ahead(const char *p) {
  uintptr_t ahead = (uintptr_t)p + BYTES_PREFETCH_DISTANCE; /* may be past the buffer */
  __builtin_prefetch((const void *)ahead);
  __builtin_prefetch((const void *)(ahead + 64));
}

#if !BYTES_SIMD
/* The portable code goes 8 bytes at a time in a uint64_t ("SWAR"):
 * bytes_has(w, c) is nonzero when one of the 8 bytes of w equals c (the
 * classic "has zero byte" test on w ^ c; exact about whether, not where, so
 * the few words that hit are looked at byte by byte, whatever the byte
 * order). */
#define BYTES_ONES 0x0101010101010101ull

static inline uint64_t bytes_has(uint64_t w, char c) {
  uint64_t x = w ^ (BYTES_ONES * (unsigned char)c);
  return (x - BYTES_ONES) & ~x & (BYTES_ONES << 7);
}

static inline uint64_t bytes_load8(const char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}
#endif

#if BYTES_SIMD
/* The bytes of the 16 at p equal to a or b (vectors of them), one bit each. */
static inline unsigned bytes_match16(const char *p, __m128i va, __m128i vb) {
  const __m128i chunk = _mm_loadu_si128((const __m128i *)(const void *)p);
  return (unsigned)_mm_movemask_epi8(
      _mm_or_si128(_mm_cmpeq_epi8(chunk, va), _mm_cmpeq_epi8(chunk, vb)));
}
#endif

/* Returns the first byte of p[0, len) equal to a or b, or NULL. The first
 * 64 bytes go 16 at a time (most lines are short), the rest 64 at a time
 * until a block holds a match. */
static inline const char *bytes_find2(const char *p, size_t len, char a, char b) {
  size_t i = 0;
#if BYTES_SIMD
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  unsigned mask;
  for (; i + 16 <= len && i < 64; i += 16) {
    mask = bytes_match16(p + i, va, vb);
    if (mask != 0)
      return p + i + __builtin_ctz(mask);
  }
  for (; i + 64 <= len; i += 64) {
    const __m128i *q = (const __m128i *)(const void *)(p + i);
    const __m128i c0 = _mm_loadu_si128(q), c1 = _mm_loadu_si128(q + 1);
    const __m128i c2 = _mm_loadu_si128(q + 2), c3 = _mm_loadu_si128(q + 3);
    const __m128i any = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(c0, va), _mm_cmpeq_epi8(c0, vb)),
                     _mm_or_si128(_mm_cmpeq_epi8(c1, va), _mm_cmpeq_epi8(c1, vb))),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(c2, va), _mm_cmpeq_epi8(c2, vb)),
                     _mm_or_si128(_mm_cmpeq_epi8(c3, va), _mm_cmpeq_epi8(c3, vb))));
    if (_mm_movemask_epi8(any) != 0)
      break; /* the loop below finds which byte */
  }
  for (; i + 16 <= len; i += 16) {
    mask = bytes_match16(p + i, va, vb);
    if (mask != 0)
      return p + i + __builtin_ctz(mask);
  }
#else
  for (; i + 8 <= len; i += 8) {
    uint64_t w = bytes_load8(p + i);
    if ((bytes_has(w, a) | bytes_has(w, b)) != 0)
      break; /* the loop below finds which byte */
  }
#endif
  for (; i < len; i++) {
    if (p[i] == a || p[i] == b)
      return p + i;
  }
  return NULL;
}

/* 1 when p[i] is a prefilter candidate: '_' between 'e' and 'm' or between
 * 'k' and 't', or '\\' before 'u'. The byte before p[i] must be readable;
 * the byte after p[i] is looked at only when i + 1 < len. */
static inline int bytes_pf_candidate_at(const char *p, size_t i, size_t len) {
  if (p[i] == '\\')
    return i + 1 < len && p[i + 1] == 'u';
  if (p[i] != '_' || i + 1 >= len)
    return 0;
  return (p[i + 1] == 'm' && (p + i)[-1] == 'e') || (p[i + 1] == 't' && (p + i)[-1] == 'k');
}

#if BYTES_SIMD
/* Prefilter candidates among the 16 bytes at p, one bit per byte (bit j for
 * p[j]). Reads p[-1, 17). Three overlapping loads give each byte its two
 * neighbours: '_' alone is common in JSON keys, these triples are not. */
static inline unsigned bytes_pf_mask16(const char *p) {
  const __m128i prev = _mm_loadu_si128((const __m128i *)(const void *)(p - 1));
  const __m128i cur = _mm_loadu_si128((const __m128i *)(const void *)p);
  const __m128i next = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
  const __m128i under = _mm_and_si128(
      _mm_cmpeq_epi8(cur, _mm_set1_epi8('_')),
      _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(prev, _mm_set1_epi8('e')),
                                 _mm_cmpeq_epi8(next, _mm_set1_epi8('m'))),
                   _mm_and_si128(_mm_cmpeq_epi8(prev, _mm_set1_epi8('k')),
                                 _mm_cmpeq_epi8(next, _mm_set1_epi8('t')))));
  const __m128i esc = _mm_and_si128(_mm_cmpeq_epi8(cur, _mm_set1_epi8('\\')),
                                    _mm_cmpeq_epi8(next, _mm_set1_epi8('u')));
  return (unsigned)_mm_movemask_epi8(_mm_or_si128(under, esc));
}
#endif

/* Returns the first byte of p[0, len) equal to a or b, or NULL, like
 * bytes_find2(). In the same pass, sets *candidate to 1 when the bytes before
 * it (all of p[0, len) when there is none) hold a prefilter candidate (see
 * bytes_pf_candidate_at(), counting only neighbours before that byte), else
 * to 0. A match of detect_prefilter() needs a candidate, so 0 means the
 * prefilter would find nothing there. p[-1] must be readable; a and b are
 * line-end bytes (never 'm', 't' or 'u'). */
static inline const char *bytes_find_eol_pf(const char *p, size_t len, char a, char b,
                                            int *candidate) {
  size_t i = 0;
#if BYTES_SIMD
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  while (i + 17 <= len) {
    const __m128i chunk = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    const unsigned eol = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(chunk, va), _mm_cmpeq_epi8(chunk, vb)));
    unsigned cand = bytes_pf_mask16(p + i);
    if (eol != 0) {
      /* Candidates before the line end only; one right before it looked
       * at the line end as its next byte, which is never 'm', 't' or 'u'. */
      *candidate = (cand & ((eol & -eol) - 1)) != 0;
      return p + i + (size_t)__builtin_ctz(eol);
    }
    if (cand != 0) {
      *candidate = 1;
      return bytes_find2(p + i + 16, len - i - 16, a, b);
    }
    i += 16;
  }
#endif
  while (i < len) {
    size_t stop = len;
#if !BYTES_SIMD
    /* Skip the words holding neither a line end nor a '_' or '\\'. */
    for (; i + 8 <= len; i += 8) {
      uint64_t w = bytes_load8(p + i);
      if ((bytes_has(w, a) | bytes_has(w, b) | bytes_has(w, '_') | bytes_has(w, '\\')) != 0)
        break;
    }
    if (i + 8 <= len)
      stop = i + 8;
#endif
    for (; i < stop; i++) {
      if (p[i] == a || p[i] == b) {
        *candidate = 0;
        return p + i;
      }
      if (bytes_pf_candidate_at(p, i, len)) {
        const char *eol = bytes_find2(p + i, len - i, a, b);
        *candidate = 1;
        return eol;
      }
    }
  }
  *candidate = 0;
  return NULL;
}

#endif
