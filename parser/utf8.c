/* utf8: see utf8.h. */
#include "utf8.h"

size_t utf8_sequence(const unsigned char *s, size_t len, size_t *bad) {
  unsigned char c = s[0];
  size_t need;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t i;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i < need; i++) {
    if (i >= len || s[i] < lo || s[i] > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need;
}

