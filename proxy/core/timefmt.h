/* timefmt: wall-clock time and its RFC 3339 text, the one place that reads
 * the real-time clock and writes or reads "2026-11-23T04:05:06Z".
 *
 * Loop timers use uv_now (monotonic); whatever is shown to people or
 * stored (link expiry, created_at, log lines, Unix times in signatures)
 * comes from timefmt_now_ms. Times are UTC milliseconds since the Unix
 * epoch in a uint64_t. Outputs go to caller-owned buffers; returns are 0
 * or a negative errno code.
 */
#ifndef AUTHRELAY_TIMEFMT_H
#define AUTHRELAY_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_SECONDS_LEN 20 /* "2026-11-23T04:05:06Z" */
#define TIMEFMT_MS_LEN 24      /* "2026-11-23T04:05:06.123Z" */
#define TIMEFMT_BUF 32         /* room for either, with the NUL */

/* Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t timefmt_now_ms(void);

/* ms as RFC 3339 UTC into out (TIMEFMT_BUF bytes): whole seconds
 * ("...:06Z", TIMEFMT_SECONDS_LEN characters) or, with with_ms, with
 * milliseconds ("...:06.123Z"). Returns 0, or -EINVAL for a time past the
 * year 9999 (out is then ""). */
int timefmt_rfc3339(uint64_t ms, int with_ms, char out[TIMEFMT_BUF]);

/* Parses s[0, len), an RFC 3339 date-time ("2026-11-23T04:05:06Z",
 * optional fraction of any length, 'T' or 't' or ' ', 'Z'/'z' or a
 * "+hh:mm"/"-hh:mm" offset), into *ms (fractions past the millisecond are
 * dropped). Returns 0 or -EINVAL (malformed, a field out of range, a day
 * the month does not have, before 1970). A leap second (":60") is read as
 * the second after. */
int timefmt_parse_rfc3339(const char *s, size_t len, uint64_t *ms);

#endif
