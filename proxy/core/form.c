/* form: application/x-www-form-urlencoded reading and writing. See
 * form.h. */
#include "form.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

/* The byte of "%XX" at p (p[0] is '%', end bounds it), or -1 when the two
 * hex digits are not there. */
static int pct_byte(const char *p, const char *end) {
  int hi;
  int lo;
  if (end - p < 3)
    return -1;
  hi = OPENSSL_hexchar2int((unsigned char)p[1]);
  lo = OPENSSL_hexchar2int((unsigned char)p[2]);
  if (hi < 0 || lo < 0)
    return -1;
  return hi * 16 + lo;
}

/* Decodes v[0, vlen) into out (cap bytes with the NUL). */
static long decode_value(const char *v, size_t vlen, char *out, size_t cap) {
  const char *end = v + vlen;
  size_t n = 0;
  while (v < end) {
    int c = (unsigned char)*v;
    if (c == '%') {
      c = pct_byte(v, end);
      if (c < 0)
        return -EINVAL;
      v += 3;
    } else {
      if (c == '+')
        c = ' ';
      v++;
    }
    if (c == '\0')
      return -EINVAL; /* callers read the value as a C string: "a%00b" is not "a" */
    if (n + 1 >= cap)
      return -E2BIG;
    out[n++] = (char)c;
  }
  if (n == 0)
    return -ENOENT;
  out[n] = '\0';
  return (long)n;
}

long form_field(const char *body, size_t len, const char *name, char *out, size_t cap) {
  size_t name_len = strlen(name);
  size_t i = 0;
  while (i < len) {
    const char *amp = memchr(body + i, '&', len - i);
    size_t end = amp != NULL ? (size_t)(amp - body) : len;
    if (end - i > name_len && memcmp(body + i, name, name_len) == 0 && body[i + name_len] == '=') {
      if (cap == 0)
        return end - i > name_len + 1 ? -E2BIG : -ENOENT; /* no room even for the NUL */
      return decode_value(body + i + name_len + 1, end - i - name_len - 1, out, cap);
    }
    i = end + 1;
  }
  return -ENOENT;
}

int form_has_field(const char *query, size_t len, const char *name) {
  const char *p = query;
  const char *end = query + len;
  size_t name_len = strlen(name);
  while (p < end) {
    size_t n = 0;
    int same = 1;
    while (p < end && *p != '&' && *p != '=') {
      int c = (unsigned char)*p;
      if (c == '%' && pct_byte(p, end) >= 0) {
        c = pct_byte(p, end);
        p += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (n >= name_len || name[n] != (char)c)
        same = 0;
      n++;
      p++;
    }
    if (same && n == name_len)
      return 1;
    while (p < end && *p != '&')
      p++;
    p++; /* past the '&' */
  }
  return 0;
}

int form_encode(dynbuf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t start = out->len;
  size_t i = 0;
  while (i < len) {
    size_t run = i;
    int rc;
    while (run < len && is_unreserved((unsigned char)s[run]))
      run++;
    if (run > i) {
      rc = dynbuf_add(out, s + i, run - i);
      i = run;
    } else {
      unsigned char c = (unsigned char)s[i];
      char esc[3];
      esc[0] = '%';
      esc[1] = hex[c >> 4];
      esc[2] = hex[c & 15];
      rc = dynbuf_add(out, esc, sizeof esc);
      i++;
    }
    if (rc != 0) {
      out->len = start;
      return rc;
    }
  }
  return 0;
}

int form_add(dynbuf *out, const char *sep, const char *name, const char *value) {
  size_t start = out->len;
  int rc = dynbuf_add(out, sep, strlen(sep));
  if (rc == 0)
    rc = dynbuf_add(out, name, strlen(name));
  if (rc == 0)
    rc = dynbuf_add(out, "=", 1);
  if (rc == 0)
    rc = form_encode(out, value, strlen(value));
  if (rc != 0)
    out->len = start;
  return rc;
}
