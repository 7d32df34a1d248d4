/* query: query-string parameters of the example agent server. See query.h. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int query_get(const char *q, const char *name, char *out, size_t outsz) {
  size_t nlen = strlen(name);
  const char *p = q;
  while (p && *p) {
    const char *end = strchr(p, '&');
    size_t seg = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', seg);
    size_t klen = eq ? (size_t)(eq - p) : seg;
    if (klen == nlen && memcmp(p, name, nlen) == 0) {
      const char *v = eq ? eq + 1 : p + seg;
      const char *vend = p + seg;
      size_t o = 0;
      while (v < vend) {
        int ch = (unsigned char)*v;
        if (ch == '%' && vend - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
          ch = hexval(v[1]) * 16 + hexval(v[2]);
          v += 3;
        } else {
          if (ch == '+')
            ch = ' ';
          v++;
        }
        if (o + 1 >= outsz)
          return -1;
        out[o++] = (char)ch;
      }
      out[o] = '\0';
      return 1;
    }
    p = end ? end + 1 : NULL;
  }
  return 0;
}

long long query_ll(const char *q, const char *name, long long def, long long lo, long long hi, int *ok) {
  char v[64];
  int r = query_get(q, name, v, sizeof v);
  if (r == 0 || v[0] == '\0')
    return def;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (r < 0 || errno || *end || x < lo || x > hi) {
    *ok = 0;
    return def;
  }
  return x;
}

int query_flag(const char *q, const char *name) {
  char v[16];
  if (query_get(q, name, v, sizeof v) != 1)
    return 0;
  return !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
}

int query_token(const char *q, const char *name, const char *def, const char *extra, char *out,
                size_t outsz) {
  int r = query_get(q, name, out, outsz);
  if (r < 0)
    return -1;
  if (r == 0 || out[0] == '\0') {
    snprintf(out, outsz, "%s", def);
    return 0;
  }
  for (const char *p = out; *p; p++) {
    int ch = (unsigned char)*p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr(extra, ch)))
      return -1;
  }
  return 0;
}

int query_choice(const char *q, const char *name, const char *const *words, int nwords, int def, int *ok) {
  char v[32];
  int i;
  int rc = query_get(q, name, v, sizeof v);
  if (rc == 0)
    return def;
  for (i = 0; rc == 1 && i < nwords; i++) {
    if (strcmp(v, words[i]) == 0)
      return i;
  }
  *ok = 0;
  return def;
}
