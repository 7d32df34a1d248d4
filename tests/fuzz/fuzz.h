/* fuzz.h: the invariant checks every fuzz harness in tests/fuzz/ shares.
 *
 * A harness states what must hold for any input with REQUIRE(cond) (the
 * condition's text is the message), REQUIRE_MSG(cond, fmt, ...) (a sentence
 * with values), REQUIRE_CMP(cond, what, a, b) (a sentence and two numbers)
 * or REQUIRE_BYTES(cond, what, label, p, n) (a sentence and the bytes it is
 * about, escaped). A violation prints
 *   invariant violated at tests/fuzz/fuzz_x.c:123: message
 * on stderr and calls abort(), which libFuzzer reports as a crash with the
 * input saved, and replay_main.c as a failed replay test.
 */
#ifndef AUTHRELAY_TEST_FUZZ_H
#define AUTHRELAY_TEST_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, format(printf, 3, 4))) static inline void
fuzz_failed(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "invariant violated at %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

/* As fuzz_failed, then "  label: \"bytes\"" with every byte outside
 * printable ASCII (and \ and ") written as \xNN. */
__attribute__((noreturn)) static inline void fuzz_failed_bytes(const char *file, int line,
                                                               const char *what, const char *label,
                                                               const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  fprintf(stderr, "invariant violated at %s:%d: %s\n  %s: \"", file, line, what, label);
  for (i = 0; i < n; i++) {
    if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' && b[i] != '"')
      fputc(b[i], stderr);
    else
      fprintf(stderr, "\\x%02x", b[i]);
  }
  fputs("\"\n", stderr);
  abort();
}

/* Fails unconditionally with a printf-style message. */
#define FUZZ_FAIL(...) fuzz_failed(__FILE__, __LINE__, __VA_ARGS__)

#define REQUIRE(cond)                                                         \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_failed(__FILE__, __LINE__, "%s", #cond);                           \
  } while (0)

#define REQUIRE_MSG(cond, ...)                                                \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_failed(__FILE__, __LINE__, __VA_ARGS__);                           \
  } while (0)

/* As REQUIRE_MSG(cond, "%s", what), also printing the two numbers a and b
 * (their text and values) that explain a failure. */
#define REQUIRE_CMP(cond, what, a, b)                                         \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_failed(__FILE__, __LINE__, "%s (%s: %llu vs %llu)", (what),        \
                  #a " / " #b, (unsigned long long)(a), (unsigned long long)(b)); \
  } while (0)

#define REQUIRE_BYTES(cond, what, label, p, n)                                \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_failed_bytes(__FILE__, __LINE__, (what), (label), (p), (n));       \
  } while (0)

#endif
