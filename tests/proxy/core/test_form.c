/* test_form: proxy/core/form.c, the application/x-www-form-urlencoded
 * reader and writer.
 *
 * Covers: form_field decodes '+' and %XX (either case), takes the first
 * field of that exact name, and tells absent/empty (-ENOENT) from malformed
 * (-EINVAL: cut or bad %XX, NUL bytes) and too long (-E2BIG, exact
 * capacity); form_has_field matches decoded names only whole;
 * form_encode keeps RFC 3986 unreserved bytes, escapes every other byte in
 * upper case and appends nothing over the buffer's cap; form_add.
 */
#include <errno.h>
#include <string.h>

#include "form.h"
#include "unit.h"

static long field(const char *body, const char *name, char *out, size_t cap) {
  return form_field(body, strlen(body), name, out, cap);
}

static void form_fields_decode(void) {
  char v[64];
  CHECK(field("api_key=sk-123", "api_key", v, sizeof v) == 6);
  CHECK_MEM(v, 6, "sk-123");
  CHECK(field("a=1&api_key=x%2By+z%21&b=2", "api_key", v, sizeof v) == 6);
  CHECK_MEM(v, 6, "x+y z!");
  CHECK(field("xapi_key=1&api_key=2", "api_key", v, sizeof v) == 1);
  CHECK_MEM(v, 1, "2");
  CHECK(field("api_key=%e2%82%ac", "api_key", v, sizeof v) == 3);
  CHECK_MEM(v, 3, "\xe2\x82\xac");
}

static void form_fields_refused(void) {
  char v[8];
  CHECK(field("other=1", "api_key", v, sizeof v) == -ENOENT);        /* absent */
  CHECK(field("api_key=", "api_key", v, sizeof v) == -ENOENT);       /* empty */
  CHECK(field("api_key", "api_key", v, sizeof v) == -ENOENT);        /* no '=' */
  CHECK(field("api_key=%4", "api_key", v, sizeof v) == -EINVAL);     /* cut %XX */
  CHECK(field("api_key=%zz", "api_key", v, sizeof v) == -EINVAL);    /* bad hex */
  CHECK(field("api_key=%4&x=1", "api_key", v, sizeof v) == -EINVAL); /* %XX cut by & */
  CHECK(field("api_key=12345678", "api_key", v, sizeof v) == -E2BIG); /* does not fit in 8 */
  CHECK(field("api_key=1234567", "api_key", v, sizeof v) == 7);  /* fits with its NUL */
  CHECK(field("", "api_key", v, sizeof v) == -ENOENT);
  /* a NUL byte would cut the value where callers read it as a C string */
  CHECK(field("api_key=ab%00cd", "api_key", v, sizeof v) == -EINVAL);
  CHECK(field("api_key=%00", "api_key", v, sizeof v) == -EINVAL);
  CHECK(form_field("api_key=ab\0cd", 14, "api_key", v, sizeof v) == -EINVAL);
  CHECK(field("api_key=%01", "api_key", v, sizeof v) == 1);
  /* no room at all: nothing written, not even the NUL */
  v[0] = 'x';
  CHECK(field("api_key=", "api_key", v, 0) == -ENOENT);
  CHECK(field("api_key=a", "api_key", v, 0) == -E2BIG);
  CHECK(v[0] == 'x');
}

static void has_field(void) {
  const char *q = "a=1&call%62ack=x&c+d&e=";
  CHECK(form_has_field(q, strlen(q), "a") == 1);
  CHECK(form_has_field(q, strlen(q), "callback") == 1);
  CHECK(form_has_field(q, strlen(q), "c d") == 1);
  CHECK(form_has_field(q, strlen(q), "e") == 1);
  CHECK(form_has_field(q, strlen(q), "call") == 0);
  CHECK(form_has_field(q, strlen(q), "callbacks") == 0);
  CHECK(form_has_field(q, strlen(q), "1") == 0);
  CHECK(form_has_field(q, 3, "callback") == 0); /* only len bytes are read */
  CHECK(form_has_field("%zz=1", 5, "%zz") == 1);  /* a bad escape is itself */
  CHECK(form_has_field("", 0, "a") == 0);
}

static void encoding(void) {
  dynbuf b;
  const char raw[] = "a-b.c_d~e f/g?h=i&j+k%l\x01\xff";
  dynbuf_init(&b, 1024);
  CHECK(form_encode(&b, raw, sizeof raw - 1) == 0);
  CHECK_MEM(b.ptr, b.len, "a-b.c_d~e%20f%2Fg%3Fh%3Di%26j%2Bk%25l%01%FF");
  CHECK(form_encode(&b, "", 0) == 0);
  CHECK_EQ_U64(b.len, strlen("a-b.c_d~e%20f%2Fg%3Fh%3Di%26j%2Bk%25l%01%FF"));
  dynbuf_free(&b);
  /* over the cap: nothing appended */
  dynbuf_init(&b, 8);
  CHECK(form_encode(&b, "ab", 2) == 0);
  CHECK(form_encode(&b, "c d e", 5) == -E2BIG);
  CHECK_MEM(b.ptr, b.len, "ab");
  CHECK(form_add(&b, "&", "state", "xyz") == -E2BIG);
  CHECK_MEM(b.ptr, b.len, "ab");
  dynbuf_free(&b);
  dynbuf_init(&b, 64);
  CHECK(form_add(&b, "?", "state", "a b&c") == 0);
  CHECK(form_add(&b, "&", "x", "") == 0);
  CHECK_MEM(b.ptr, b.len, "?state=a%20b%26c&x=");
  dynbuf_free(&b);
}

static void round_trip(void) {
  dynbuf b;
  char v[64];
  const char raw[] = "k=v&w x+y%z\x7f\xc3\xa9";
  dynbuf_init(&b, 256);
  CHECK(form_add(&b, "", "api_key", raw) == 0);
  CHECK(form_field(b.ptr, b.len, "api_key", v, sizeof v) == (long)strlen(raw));
  CHECK(strcmp(v, raw) == 0);
  dynbuf_free(&b);
}

int main(void) {
  RUN(form_fields_decode);
  RUN(form_fields_refused);
  RUN(has_field);
  RUN(encoding);
  RUN(round_trip);
  return unit_report();
}
