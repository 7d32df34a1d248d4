/* fuzz_form: libFuzzer harness for form_field() (proxy/core/form.c),
 * the application/x-www-form-urlencoded reader behind the Link page's POST
 * (api_key), the OAuth callback's query (state, code, error), the token
 * endpoint's body (grant_type, client_id, client_secret, scope) and
 * /v1/events?registered_user=.
 *
 * Input layout:
 *   byte 0  the field name: one of names[] below (index mod count)
 *   byte 1  the output's capacity: bit 7 set -> 4097 (the api_key buffer),
 *           else bits 0-6 (0..127; 0 is allowed and must write nothing)
 *   rest    the body (not NUL-terminated: copied into a buffer of exactly
 *           its size, so ASan catches a read past it)
 *
 * Invariants (abort() on violation):
 *   - the result equals a small reference reader written from the header's
 *     contract: the first field called name decides; "+" is a space, %XX a
 *     byte (two hex digits, inside the field); -1 when absent, empty,
 *     malformed (a bad or cut %XX, a NUL byte raw or as %00) or when the
 *     value and its NUL do not fit in the capacity;
 *   - on success: the value is NUL-terminated, holds no NUL, its length is
 *     below the capacity, and nothing past the capacity is written (the
 *     output is an exact-size malloc'd buffer);
 *   - the capacity is exact: length + 1 bytes suffice, length bytes do not;
 *   - round trip: the body's bytes taken as a value (NUL bytes dropped),
 *     percent-encoded (each byte in one of the ways a browser or a client
 *     library may choose: as is, "+", %XX upper or lower case) and put
 *     between other fields and a later duplicate, decode to exactly those
 *     bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"api_key", "state",         "code",  "error",
                                    "grant_type", "client_id", "client_secret", "scope",
                                    "registered_user", "a"};
#define NNAMES (sizeof names / sizeof names[0])
#define ROUND_TRIP_MAX 512 /* value bytes taken for the round trip */

/* A violated invariant with the field name and the capacity it was read with. */
#define CHECK(cond, what, name, cap) \
  REQUIRE_MSG(cond, "%s (name \"%s\", capacity %zu)", what, name, (size_t)(cap))

static void *xmalloc(size_t n) {
  void *p = malloc(n != 0 ? n : 1);
  if (p == NULL)
    abort();
  return p;
}

static int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The reference reader: the decoded value into *out (malloc'd, the caller
 * frees it), its length as the result, or -1. */
static long reference(const char *body, size_t len, const char *name, size_t cap, char **out) {
  size_t name_len = strlen(name);
  size_t start = 0;
  *out = NULL;
  while (start <= len) {
    size_t end = start;
    while (end < len && body[end] != '&')
      end++;
    if (end - start > name_len && memcmp(body + start, name, name_len) == 0 &&
        body[start + name_len] == '=') {
      const char *v = body + start + name_len + 1;
      size_t vlen = end - (start + name_len + 1);
      char *dec = xmalloc(vlen + 1);
      size_t n = 0;
      size_t k;
      for (k = 0; k < vlen; k++) {
        if (v[k] == '%') {
          int hi = k + 2 < vlen ? hex(v[k + 1]) : -1;
          int lo = k + 2 < vlen ? hex(v[k + 2]) : -1;
          if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(dec);
            return -1;
          }
          dec[n++] = (char)(hi * 16 + lo);
          k += 2;
        } else if (v[k] == '\0') {
          free(dec);
          return -1;
        } else {
          dec[n++] = v[k] == '+' ? ' ' : v[k];
        }
      }
      if (n == 0 || n + 1 > cap) {
        free(dec);
        return -1;
      }
      *out = dec;
      return (long)n;
    }
    start = end + 1;
  }
  return -1;
}

/* form_field into an exact-size buffer; checks the output's form. */
static long field(const char *body, size_t len, const char *name, size_t cap, char **out) {
  long rc;
  *out = xmalloc(cap);
  rc = form_field(body, len, name, *out, cap);
  CHECK(rc == -ENOENT || rc == -EINVAL || rc == -E2BIG || (rc > 0 && (size_t)rc < cap), "result out of range", name, cap);
  if (rc > 0) {
    CHECK((*out)[rc] == '\0', "value not NUL-terminated", name, cap);
    CHECK(memchr(*out, '\0', (size_t)rc) == NULL, "value holds a NUL", name, cap);
  }
  return rc;
}

/* One byte of a value, encoded in a way picked by choice. */
static size_t encode_byte(unsigned char ch, unsigned choice, char *out) {
  static const char upper[] = "0123456789ABCDEF";
  static const char lower[] = "0123456789abcdef";
  int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '*';
  if (plain && (choice & 1)) {
    out[0] = (char)ch;
    return 1;
  }
  if (ch == ' ' && (choice & 2)) {
    out[0] = '+';
    return 1;
  }
  out[0] = '%';
  out[1] = (choice & 4 ? upper : lower)[ch >> 4];
  out[2] = (choice & 4 ? upper : lower)[ch & 15];
  return 3;
}

static void round_trip(const char *name, const uint8_t *raw, size_t raw_len) {
  char *value = xmalloc(raw_len);
  size_t vlen = 0;
  size_t name_len = strlen(name);
  char *body;
  size_t blen = 0;
  size_t i;
  char *out;
  long rc;
  uint32_t rng = 2166136261u;
  for (i = 0; i < raw_len && vlen < ROUND_TRIP_MAX; i++) {
    if (raw[i] != 0)
      value[vlen++] = (char)raw[i];
  }
  if (vlen == 0) {
    free(value);
    return;
  }
  body = xmalloc(16 + 2 * name_len + 3 * vlen + 16);
  memcpy(body, "x=1&", 4);
  blen = 4;
  memcpy(body + blen, name, name_len);
  blen += name_len;
  body[blen++] = '=';
  for (i = 0; i < vlen; i++) {
    rng = (rng ^ (unsigned char)value[i]) * 16777619u;
    blen += encode_byte((unsigned char)value[i], rng >> 24, body + blen);
  }
  body[blen++] = '&';
  memcpy(body + blen, name, name_len);
  blen += name_len;
  memcpy(body + blen, "=later", 6);
  blen += 6;

  rc = field(body, blen, name, vlen + 1, &out);
  CHECK(rc == (long)vlen && memcmp(out, value, vlen) == 0, "an encoded value does not round-trip",
        name, vlen + 1);
  free(out);
  rc = field(body, blen, name, vlen, &out);
  CHECK(rc == -E2BIG, "a value without room for its NUL was accepted", name, vlen);
  free(out);
  free(body);
  free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *name;
  size_t cap;
  char *body;
  size_t len;
  char *out;
  char *want;
  long rc;
  long expect;
  if (size < 2)
    return 0;
  name = names[data[0] % NNAMES];
  cap = data[1] & 0x80 ? 4097 : data[1] & 0x7f;
  len = size - 2;
  body = xmalloc(len);
  memcpy(body, data + 2, len);

  rc = field(body, len, name, cap, &out);
  expect = reference(body, len, name, cap, &want);
  CHECK(rc == expect || (rc < 0 && expect == -1), "result differs from the reference reader", name, cap);
  if (rc > 0) {
    char *again;
    CHECK(memcmp(out, want, (size_t)rc) == 0, "value differs from the reference reader", name, cap);
    CHECK(field(body, len, name, (size_t)rc + 1, &again) == rc && memcmp(again, out, (size_t)rc) == 0,
          "length + 1 bytes of room do not suffice", name, (size_t)rc + 1);
    free(again);
    CHECK(field(body, len, name, (size_t)rc, &again) == -E2BIG, "a cut value was accepted", name,
          (size_t)rc);
    free(again);
  }
  free(want);
  free(out);
  free(body);

  round_trip(name, data + 2, len);
  return 0;
}
