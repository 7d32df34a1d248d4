/* test_dynbuf: parser/dynbuf.c, the capped buffer, and its printf-style
 * append dynbuf_addf.
 *
 * Covers: appends up to one byte below toobig pass and the byte that would
 * reach it fails with -E2BIG leaving the buffer as it was (dynbuf_add and
 * dynbuf_addf alike: never a cut text, where a snprintf into a fixed
 * buffer would have been cut); formatted text of every length across the
 * growth steps matches snprintf's; an empty format appends nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"
#include "unit.h"

static void add_cap(void) {
  dynbuf b;
  dynbuf_init(&b, 8);
  CHECK(dynbuf_add(&b, "1234567", 7) == 0); /* len 7 < toobig 8 */
  CHECK(dynbuf_add(&b, "8", 1) == -E2BIG);
  CHECK_MEM(b.ptr, b.len, "1234567");
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
  RUN(add_cap);
  RUN(addf_cap);
  RUN(addf_grows);
  return unit_report();
}
