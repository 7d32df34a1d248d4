/* test_timefmt: proxy/core/timefmt.c.
 *
 * Covers: RFC 3339 output with and without milliseconds (the epoch, a
 * leap day, the last millisecond of 9999; past it -EINVAL and ""), that the
 * wall clock is after this file was written and moves forward, and the
 * parser: Z and offsets, fractions (cut to ms), a leap second, round trips
 * with the formatter, and refusals (day the month lacks, Feb 29 of a
 * common year, fields out of range, before 1970, junk after, short input).
 */
#include <errno.h>
#include <string.h>

#include "timefmt.h"
#include "unit.h"

static void formatting(void) {
  char out[TIMEFMT_BUF];
  CHECK(timefmt_rfc3339(0, 0, out) == 0 && strcmp(out, "1970-01-01T00:00:00Z") == 0);
  CHECK(timefmt_rfc3339(0, 1, out) == 0 && strcmp(out, "1970-01-01T00:00:00.000Z") == 0);
  CHECK(timefmt_rfc3339(1709208245123ull, 1, out) == 0 && strcmp(out, "2024-02-29T12:04:05.123Z") == 0);
  CHECK(timefmt_rfc3339(1709208245123ull, 0, out) == 0 && strcmp(out, "2024-02-29T12:04:05Z") == 0);
  CHECK_EQ_U64(strlen(out), TIMEFMT_SECONDS_LEN);
  CHECK(timefmt_rfc3339(253402300799999ull, 1, out) == 0 && strcmp(out, "9999-12-31T23:59:59.999Z") == 0);
  CHECK_EQ_U64(strlen(out), TIMEFMT_MS_LEN);
  CHECK(timefmt_rfc3339(253402300800000ull, 1, out) == -EINVAL && out[0] == '\0');
  CHECK(timefmt_rfc3339(UINT64_MAX, 0, out) == -EINVAL && out[0] == '\0');
}

static void wall_clock(void) {
  uint64_t a = timefmt_now_ms();
  uint64_t b = timefmt_now_ms();
  CHECK(a > 1796083200000ull); /* after 2026-12-01 */
  CHECK(b >= a);
}

static int parses_to(const char *s, uint64_t want) {
  uint64_t got = 0;
  int rc = timefmt_parse_rfc3339(s, strlen(s), &got);
  if (rc != 0 || got != want) {
    fprintf(stderr, "  %s -> rc %d, %llu; want %llu\n", s, rc, (unsigned long long)got, (unsigned long long)want);
    return 0;
  }
  return 1;
}

static int refused(const char *s) {
  uint64_t got = 0;
  return timefmt_parse_rfc3339(s, strlen(s), &got) == -EINVAL;
}

static void parsing(void) {
  char out[TIMEFMT_BUF];
  uint64_t t;
  CHECK(parses_to("1970-01-01T00:00:00Z", 0));
  CHECK(parses_to("2024-02-29T12:04:05.123Z", 1709208245123ull));
  CHECK(parses_to("2024-02-29t12:04:05.1234567z", 1709208245123ull));
  CHECK(parses_to("2024-02-29 12:04:05.1Z", 1709208245100ull));
  CHECK(parses_to("2024-02-29T14:04:05+02:00", 1709208245000ull));
  CHECK(parses_to("2024-02-29T07:34:05-04:30", 1709208245000ull));
  CHECK(parses_to("2016-12-31T23:59:60Z", 1483228800000ull)); /* leap second: the next one */
  CHECK(parses_to("9999-12-31T23:59:59.999Z", 253402300799999ull));
  for (t = 0; t < 4102444800000ull; t += 86399999ull * 37) {
    uint64_t back = 0;
    if (timefmt_rfc3339(t, 1, out) != 0 || timefmt_parse_rfc3339(out, strlen(out), &back) != 0 || back != t) {
      CHECK(!"round trip");
      break;
    }
  }
  CHECK(refused("2023-02-29T00:00:00Z"));
  CHECK(refused("2024-04-31T00:00:00Z"));
  CHECK(refused("2024-13-01T00:00:00Z"));
  CHECK(refused("2024-00-01T00:00:00Z"));
  CHECK(refused("2024-01-00T00:00:00Z"));
  CHECK(refused("2024-01-01T24:00:00Z"));
  CHECK(refused("2024-01-01T00:60:00Z"));
  CHECK(refused("2024-01-01T00:00:61Z"));
  CHECK(refused("1969-12-31T23:59:59Z"));
  CHECK(refused("1970-01-01T00:00:00+00:01")); /* before the epoch in UTC */
  CHECK(refused("2024-01-01T00:00:00"));
  CHECK(refused("2024-01-01T00:00:00.Z"));
  CHECK(refused("2024-01-01T00:00:00Zx"));
  CHECK(refused("2024-01-01T00:00:00+0100"));
  CHECK(refused("2024-01-01T00:00:00+24:00"));
  CHECK(refused("2024-01-01X00:00:00Z"));
  CHECK(refused("2024-1-01T00:00:00Z"));
  CHECK(refused("+024-01-01T00:00:00Z"));
  CHECK(refused(""));
}

int main(void) {
  RUN(formatting);
  RUN(wall_clock);
  RUN(parsing);
  return unit_report();
}
