/* test_dynbuf: parser/dynbuf.c, the capped buffer.
 *
 * Covers: the hard cap (an append that would reach toobig fails with -E2BIG
 * and leaves the buffer as it was); the non-sticky dynbuf_add that later
 * callers recover from (detect's arena, the API's error list); the sticky
 * appends that remember their first failure so that a writer checks once at
 * the end instead of OR-ing codes; and the printf-style dynbuf_addf (never a
 * cut text; formatted text of every length across the growth steps matches
 * snprintf's; an empty format appends nothing).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"
#include "unit.h"

static void cap_is_hard(void) {
  dynbuf b;
  dynbuf_init(&b, 8);
  CHECK(dynbuf_add(&b, "1234567", 7) == 0);
  CHECK(dynbuf_add(&b, "8", 1) == -E2BIG); /* len may never reach toobig */
  CHECK_MEM(b.ptr, b.len, "1234567");
  CHECK(b.cap <= 8);
  dynbuf_free(&b);
  CHECK(b.ptr == NULL && b.len == 0);
}

/* dynbuf_add is not sticky: after a refusal, a smaller add still goes in
 * and the buffer records no error. */
static void add_is_not_sticky(void) {
  dynbuf b;
  dynbuf_init(&b, 8);
  CHECK(dynbuf_add(&b, "abc", 3) == 0);
  CHECK(dynbuf_add(&b, "defghijk", 8) == -E2BIG);
  CHECK(dynbuf_add(&b, "de", 2) == 0);
  CHECK_MEM(b.ptr, b.len, "abcde");
  CHECK(dynbuf_error(&b) == 0);
  dynbuf_free(&b);
}

/* After the first failed put, every later put appends nothing, even one
 * that would fit, and returns that first failure. */
static void put_remembers_the_first_failure(void) {
  dynbuf b;
  dynbuf_init(&b, 16);
  CHECK(dynbuf_put(&b, "0123456789", 10) == 0);
  CHECK(dynbuf_error(&b) == 0);
  CHECK(dynbuf_put(&b, "abcdefghij", 10) == -E2BIG);
  CHECK(dynbuf_put(&b, "x", 1) == -E2BIG); /* would fit: refused all the same */
  CHECK(dynbuf_put(&b, "", 0) == -E2BIG);
  CHECK_MEM(b.ptr, b.len, "0123456789");
  CHECK(dynbuf_error(&b) == -E2BIG);
  dynbuf_free(&b);
}

/* reset and free forget the failure: the buffer is usable again. */
static void reset_forgets_the_failure(void) {
  dynbuf b;
  dynbuf_init(&b, 4);
  CHECK(dynbuf_put(&b, "toolong", 7) == -E2BIG);
  dynbuf_reset(&b, 1024);
  CHECK(dynbuf_error(&b) == 0);
  CHECK(dynbuf_put(&b, "ok", 2) == 0);
  CHECK_MEM(b.ptr, b.len, "ok");
  CHECK(dynbuf_put(&b, "toolong", 7) == -E2BIG);
  dynbuf_free(&b);
  CHECK(dynbuf_error(&b) == 0);
  CHECK(dynbuf_put(&b, "ab", 2) == 0);
  CHECK_MEM(b.ptr, b.len, "ab");
  dynbuf_free(&b);
}

static void addf_cap(void) {
  dynbuf b;
  dynbuf_init(&b, 8);
  CHECK(dynbuf_addf(&b, "%s-%d", "ab", 12) == 0);
  CHECK_MEM(b.ptr, b.len, "ab-12");
  CHECK(dynbuf_addf(&b, "%d", 123) == -E2BIG); /* 8 bytes would reach toobig */
  CHECK_MEM(b.ptr, b.len, "ab-12");
  CHECK(dynbuf_addf(&b, "%d", 12) == 0); /* 7 bytes: fits */
  CHECK_MEM(b.ptr, b.len, "ab-1212");
  CHECK(dynbuf_addf(&b, "%s", "") == 0);
  CHECK_EQ_U64(b.len, 7);
  dynbuf_free(&b);
}

static void addf_grows(void) {
  dynbuf b;
  char want[2048];
  char piece[300];
  size_t wlen = 0;
  int i;
  int same = 1;
  dynbuf_init(&b, 1 << 20);
  for (i = 0; i < 250; i += 7) {
    int n;
    memset(piece, 'a' + i % 26, (size_t)i);
    piece[i] = '\0';
    n = snprintf(want + wlen, sizeof want - wlen, "[%s|%u]", piece, (unsigned)i);
    if (dynbuf_addf(&b, "[%s|%u]", piece, (unsigned)i) != 0)
      same = 0;
    wlen += (size_t)n;
    if (wlen > 1500)
      break;
  }
  CHECK(same);
  CHECK(b.len == wlen && memcmp(b.ptr, want, wlen) == 0);
  dynbuf_free(&b);
}

int main(void) {
  RUN(cap_is_hard);
  RUN(add_is_not_sticky);
  RUN(put_remembers_the_first_failure);
  RUN(reset_forgets_the_failure);
  RUN(addf_cap);
  RUN(addf_grows);
  return unit_report();
}
