/* unit.h: the few macros the C unit tests share.
 *
 * A test file defines static functions that use CHECK* and runs them with
 * RUN(fn) from main(), then returns unit_report(). Every failed check prints
 * file:line and the expression; the process exits non-zero if any failed.
 * The last line printed is "N passed, M failed" (counted per check). A
 * binary that ran no check at all fails too: a test that asserts nothing
 * proves nothing.
 */
#ifndef AUTHRELAY_TEST_UNIT_H
#define AUTHRELAY_TEST_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed;
static int unit_failed;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (cond) {                                                              \
      unit_passed++;                                                         \
    } else {                                                                 \
      unit_failed++;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

/* Compares a (pointer, length) pair with a C string. */
#define CHECK_MEM(ptr, len, str)                                             \
  do {                                                                       \
    const char *unit_p_ = (const char *)(ptr);                               \
    size_t unit_l_ = (size_t)(len);                                          \
    const char *unit_s_ = (str);                                             \
    if (unit_p_ != NULL && unit_l_ == strlen(unit_s_) &&                     \
        memcmp(unit_p_, unit_s_, unit_l_) == 0) {                            \
      unit_passed++;                                                         \
    } else {                                                                 \
      unit_failed++;                                                         \
      fprintf(stderr, "%s:%d: CHECK_MEM failed: %s is \"%.*s\", want \"%s\"\n", \
              __FILE__, __LINE__, #ptr, unit_p_ ? (int)unit_l_ : 6,          \
              unit_p_ ? unit_p_ : "(null)", unit_s_);                        \
    }                                                                        \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                   \
  do {                                                                       \
    unsigned long long unit_a_ = (unsigned long long)(a);                    \
    unsigned long long unit_b_ = (unsigned long long)(b);                    \
    if (unit_a_ == unit_b_) {                                                \
      unit_passed++;                                                         \
    } else {                                                                 \
      unit_failed++;                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%llu != %llu)\n",      \
              __FILE__, __LINE__, #a, #b, unit_a_, unit_b_);                 \
    }                                                                        \
  } while (0)

#define RUN(fn)                                                              \
  do {                                                                       \
    int unit_before_ = unit_failed;                                          \
    fn();                                                                    \
    fprintf(stderr, "%s %s\n", unit_failed == unit_before_ ? "ok  " : "FAIL", #fn); \
  } while (0)

/* Writes text to dir/name (a test's temporary directory); the path goes
 * into path (cap bytes) and is returned. Exits 2 when it cannot write. */
static inline const char *unit_write_file(char *path, size_t cap, const char *dir, const char *name,
                                          const char *text) {
  FILE *f;
  snprintf(path, cap, "%s/%s", dir, name);
  f = fopen(path, "w");
  if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
  return path;
}

static int unit_report(void) {
  printf("%d passed, %d failed\n", unit_passed, unit_failed);
  if (unit_passed + unit_failed == 0)
    fprintf(stderr, "no check ran\n");
  return unit_failed == 0 && unit_passed > 0 ? 0 : 1;
}

#endif
