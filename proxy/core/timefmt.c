/* timefmt: wall-clock milliseconds and RFC 3339 text. See timefmt.h. */
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#define MAX_MS 253402300799999ull /* 9999-12-31T23:59:59.999Z */

uint64_t timefmt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int timefmt_rfc3339(uint64_t ms, int with_ms, char out[TIMEFMT_BUF]) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  size_t n;
  out[0] = '\0';
  if (ms > MAX_MS || gmtime_r(&t, &tm) == NULL)
    return -EINVAL;
  n = strftime(out, TIMEFMT_BUF, "%Y-%m-%dT%H:%M:%S", &tm); /* 19 bytes: the year is <= 9999 */
  if (with_ms)
    snprintf(out + n, TIMEFMT_BUF - n, ".%03uZ", (unsigned)(ms % 1000));
  else
    snprintf(out + n, TIMEFMT_BUF - n, "Z");
  return 0;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n) {
  int v = 0;
  int i;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d) {
  int64_t era;
  unsigned yoe;
  unsigned doy;
  unsigned doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

int timefmt_parse_rfc3339(const char *s, size_t len, uint64_t *ms) {
  int y, mo, d, h, mi, sec;
  int frac = 0;
  int scale = 100;
  int64_t offset_s = 0;
  int64_t total;
  size_t i = 19;
  if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
    return -EINVAL;
  y = digits(s, 4);
  mo = digits(s + 5, 2);
  d = digits(s + 8, 2);
  h = digits(s + 11, 2);
  mi = digits(s + 14, 2);
  sec = digits(s + 17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 ||
      mi > 59 || sec < 0 || sec > 60)
    return -EINVAL;
  if (s[i] == '.') {
    size_t start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == start)
      return -EINVAL;
  }
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = digits(s + i + 1, 2);
    int om = digits(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
      return -EINVAL;
    offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return -EINVAL;
  }
  if (i != len)
    return -EINVAL;
  total = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  if (total < 0)
    return -EINVAL;
  *ms = (uint64_t)total * 1000 + (uint64_t)frac;
  return 0;
}
