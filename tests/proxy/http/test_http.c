/* test_http: proxy/http.c helpers that the relay runs per event: the
 * chunk-size line written in front of every forwarded chunk, checked
 * against snprintf's "%zx\r\n" over edge values and a sweep. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "unit.h"

static void chunk_line_matches_printf(size_t n) {
  char got[HTTP_CHUNK_LINE_MAX];
  char want[32];
  size_t len = http_chunk_line(n, got);
  int wlen = snprintf(want, sizeof want, "%zx\r\n", n);
  CHECK(len == (size_t)wlen && memcmp(got, want, len) == 0);
}

static void chunk_lines(void) {
  static const size_t edges[] = {0, 1, 9, 10, 15, 16, 255, 256, 0x1a2f, 65536, 0xffffffffu, SIZE_MAX};
  char out[HTTP_CHUNK_LINE_MAX];
  size_t i;
  for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
    chunk_line_matches_printf(edges[i]);
  for (i = 0; i < 100000; i += 7)
    chunk_line_matches_printf(i);
  CHECK_MEM(out, http_chunk_line(0x1a2f, out), "1a2f\r\n");
  CHECK(http_chunk_line(SIZE_MAX, out) == HTTP_CHUNK_LINE_MAX);
}

int main(void) {
  RUN(chunk_lines);
  return unit_report();
}
