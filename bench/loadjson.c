/* loadjson: the little JSON bench-load reads and writes (see loadjson.h). */
#define _GNU_SOURCE /* memmem */
#include "loadjson.h"

#include <stdio.h>
#include <string.h>

/* Finds "key": followed by an unsigned integer in s; -1 if absent. */
long long loadjson_num(const char *s, size_t n, const char *key) {
  size_t kl = strlen(key);
  const char *end = s + n;
  const char *p = s;
  while (p + kl <= end) {
    const char *q = memmem(p, (size_t)(end - p), key, kl);
    if (q == NULL)
      return -1;
    q += kl;
    while (q < end && *q == ' ')
      q++;
    if (q < end && *q >= '0' && *q <= '9') {
      long long v = 0;
      while (q < end && *q >= '0' && *q <= '9')
        v = v * 10 + (*q++ - '0');
      return v;
    }
    p = q;
  }
  return -1;
}

int loadjson_str(const char *s, size_t n, const char *key, char *out, size_t outsz) {
  size_t kl = strlen(key);
  const char *q = memmem(s, n, key, kl);
  if (q == NULL)
    return -1;
  q += kl;
  const char *end = s + n;
  size_t o = 0;
  while (q < end && *q != '"') {
    if (*q == '\\' && q + 1 < end)
      q++;
    if (o + 1 < outsz)
      out[o++] = *q;
    q++;
  }
  out[o] = 0;
  return 0;
}

void loadjson_print_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}
