/* log: structured logs, one JSON object per line.
 *
 * Every part of the daemon logs through here (DESIGN.md, "Operations"): the
 * access line per exchange, warnings about uninspected bodies and unhandled
 * detections, start-up and drain. A line looks like
 *
 *   {"ts":"2026-11-23T04:05:06.123Z","level":"info","msg":"listening","addr":"127.0.0.1:8080"}
 *
 * and is built in a bounded buffer, then written with one write() call under
 * a mutex, so lines from several worker threads never interleave. Lines are
 * capped at LOG_LINE_MAX bytes: a string value that does not fit is cut and
 * ends with "...", fields that do not fit at all are dropped and the line
 * gets "truncated":true. Strings are JSON-escaped by jsonw (invalid UTF-8
 * becomes U+FFFD), so bytes from the wire cannot break a line.
 *
 * Secrets never appear in logs: a field whose key names a secret (the list
 * is in log.c, log_key_is_secret) is written as "[redacted]" whatever its
 * value. Callers pass fields as an array built with the LOG_* field macros:
 *
 *   LOG_INFO("listening", LOG_STR("addr", addr), LOG_U64("workers", n));
 *   LOG_WARN("drain time over");
 *
 * The LOG_<LEVEL> macros evaluate their fields only when the level is
 * enabled. Field keys and string values are borrowed for the call only.
 */
#ifndef AUTHRELAY_LOG_H
#define AUTHRELAY_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX 16384 /* bytes in one line, newline included */

typedef enum log_level {
  LOG_LEVEL_DEBUG = 0,
  LOG_LEVEL_INFO,
  LOG_LEVEL_WARN,
  LOG_LEVEL_ERROR
} log_level;

/* "debug", "info", "warn", "error", then NULL: index = log_level. The one
 * list of level names (config_keys.c uses it for log_level). */
extern const char *const log_level_names[];

typedef enum log_type {
  LOG_T_STR = 0, /* v.s, len bytes; NULL is written as null */
  LOG_T_U64,     /* v.u */
  LOG_T_I64,     /* v.i */
  LOG_T_DBL,     /* v.d; NaN and infinities are written as null */
  LOG_T_BOOL     /* v.u: 0 is false, anything else true */
} log_type;

/* len of a LOG_STR field: the length is taken with strlen() at emit time. */
#define LOG_LEN_CSTR ((size_t)-1)

/* One key/value pair. Borrowed: nothing in it is freed or kept. */
typedef struct log_field {
  const char *key;  /* member name, not escaped by the caller */
  log_type type;
  size_t len;       /* LOG_T_STR: bytes of v.s, or LOG_LEN_CSTR */
  union {
    const char *s;
    uint64_t u;
    int64_t i;
    double d;
  } v;
} log_field;

#define LOG_STR(k, str) ((log_field){.key = (k), .type = LOG_T_STR, .len = LOG_LEN_CSTR, .v.s = (str)})
#define LOG_STRN(k, ptr, n) ((log_field){.key = (k), .type = LOG_T_STR, .len = (size_t)(n), .v.s = (ptr)})
#define LOG_U64(k, x) ((log_field){.key = (k), .type = LOG_T_U64, .v.u = (uint64_t)(x)})
#define LOG_I64(k, x) ((log_field){.key = (k), .type = LOG_T_I64, .v.i = (int64_t)(x)})
#define LOG_DBL(k, x) ((log_field){.key = (k), .type = LOG_T_DBL, .v.d = (double)(x)})
#define LOG_BOOL(k, x) ((log_field){.key = (k), .type = LOG_T_BOOL, .v.u = (x) ? 1u : 0u})

/* Sets the lowest level written and the file descriptor lines go to (2 in
 * the daemon, a pipe in tests). Before the first call: info, fd 2. Safe to
 * call at any time, from any thread. The fd is not owned. */
void log_init(log_level min, int fd);

/* 1 when lines of this level are written, else 0. */
int log_enabled(log_level level);

/* Writes one line if level is enabled. msg is a C string; fields may be
 * NULL when n is 0. Never fails: a line that cannot be written is lost. */
void log_emit(log_level level, const char *msg, const log_field *fields, size_t n);

/* Writes an audit line, whatever the level: {"ts":...,"level":"info",
 * "msg":"audit","actor":actor,"action":action, fields...}: who changed what
 * through the control API, and when (DESIGN.md "Operations"). Fields naming
 * a secret are redacted as in every line; callers pass none anyway. */
void log_audit(const char *actor, const char *action, const log_field *fields, size_t n);

/* The level's name ("info"), or "unknown" for a value out of range. */
const char *log_level_name(log_level level);

/* Parses a level name (exact, lower case). Returns 0 or -EINVAL. */
int log_level_parse(const char *name, log_level *out);

/* 1 when a field with this key is written as "[redacted]" (matching is
 * case-insensitive; see the list in log.c), else 0. */
int log_key_is_secret(const char *key);

/* LOG_DEBUG(msg), LOG_INFO(msg, LOG_STR(...), ...): the fields after msg
 * become a compound-literal array. A sentinel is appended so that the
 * array is never empty, which keeps these macros within standard C11. */
#define LOG_END_ ((log_field){.key = NULL})
#define LOG_AT_(level, ...) LOG_AT2_(level, __VA_ARGS__, LOG_END_)
#define LOG_AT2_(level, msg, ...)                                               \
  do {                                                                          \
    if (log_enabled(level))                                                     \
      log_emit(level, msg, (const log_field[]){__VA_ARGS__},                    \
               sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field) - 1); \
  } while (0)

/* LOG_AUDIT(actor, action, LOG_STR("id", id), ...) */
#define LOG_AUDIT(actor, ...) LOG_AUDIT2_(actor, __VA_ARGS__, LOG_END_)
#define LOG_AUDIT2_(actor, action, ...)                                                     \
  log_audit(actor, action, (const log_field[]){__VA_ARGS__},                                 \
            sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field) - 1)

#define LOG_DEBUG(...) LOG_AT_(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT_(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT_(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) LOG_AT_(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
