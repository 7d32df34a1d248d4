/* Unit tests of parser/dynbuf.h: the hard cap, the non-sticky dynbuf_add
 * that later callers recover from (detect's arena, the API's error list),
 * and the sticky appends that remember their first failure so that a writer
 * checks once at the end instead of OR-ing codes. */
#include <errno.h>
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

int main(void) {
  RUN(cap_is_hard);
  RUN(add_is_not_sticky);
  RUN(put_remembers_the_first_failure);
  RUN(reset_forgets_the_failure);
  return unit_report();
}
