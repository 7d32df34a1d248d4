/* Unit tests of parser/jsonw.h: escaping, invalid UTF-8 replaced with
 * U+FFFD, and the sticky error (a document written call after call, the
 * first failure remembered and returned by every later call). */
#include <errno.h>
#include <string.h>

#include "jsonw.h"
#include "unit.h"

static void escapes(void) {
  dynbuf b;
  dynbuf_init(&b, 256);
  CHECK(jsonw_cstring(&b, "a\"b\\c\nd\r\te\b\f\x01/") == 0);
  CHECK_MEM(b.ptr, b.len, "\"a\\\"b\\\\c\\nd\\r\\te\\b\\f\\u0001/\"");
  dynbuf_reset(&b, 256);
  CHECK(jsonw_string(&b, "x\xff" "y\xc3\xa9", 5) == 0); /* a stray byte, then a valid e-acute */
  CHECK_MEM(b.ptr, b.len, "\"x\xEF\xBF\xBDy\xc3\xa9\"");
  dynbuf_reset(&b, 256);
  CHECK(jsonw_raw(&b, "[") == 0);
  CHECK(jsonw_u64(&b, 18446744073709551615ull) == 0);
  CHECK(jsonw_raw(&b, "]") == 0);
  CHECK_MEM(b.ptr, b.len, "[18446744073709551615]");
  dynbuf_free(&b);
}

/* A string that does not fit fails part-way; everything written after it
 * is refused, even what would fit, so the writer can check only once. */
static void first_failure_sticks(void) {
  dynbuf b;
  dynbuf_init(&b, 32);
  CHECK(jsonw_raw(&b, "{\"k\":") == 0);
  CHECK(jsonw_cstring(&b, "a long value with \"escapes\" that cannot fit") == -E2BIG);
  {
    size_t len = b.len;
    CHECK(jsonw_raw(&b, "}") == -E2BIG); /* one byte would fit: refused */
    CHECK(jsonw_u64(&b, 7) == -E2BIG);
    CHECK(jsonw_cstring(&b, "") == -E2BIG);
    CHECK(b.len == len);
  }
  CHECK(dynbuf_error(&b) == -E2BIG);
  dynbuf_free(&b);
}

/* An escape that does not fit fails just as a plain run does. */
static void failure_inside_an_escape(void) {
  dynbuf b;
  dynbuf_init(&b, 5); /* room for 4 bytes: "\"ab" and not the \u0001 */
  CHECK(jsonw_string(&b, "ab\x01", 3) == -E2BIG);
  CHECK(dynbuf_error(&b) == -E2BIG);
  CHECK(jsonw_raw(&b, "x") == -E2BIG);
  dynbuf_free(&b);
}

int main(void) {
  RUN(escapes);
  RUN(first_failure_sticks);
  RUN(failure_inside_an_escape);
  return unit_report();
}
