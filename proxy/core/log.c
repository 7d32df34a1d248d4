/* log: JSON lines on a file descriptor. See log.h.
 *
 * A line is assembled in a dynbuf capped at LOG_LINE_MAX bytes. String
 * values are escaped by jsonw in chunks that end on UTF-8 character
 * boundaries, so that a value too long for the line is cut between two
 * characters and gets "..." instead of being dropped whole. The level and fd
 * are atomics so that log_init() may run while workers log; the write itself
 * is under a mutex so that lines longer than PIPE_BUF do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dynbuf.h"
#include "jsonw.h"
#include "timefmt.h"

#define LOG_CHUNK 512  /* input bytes of a string value escaped at a time */
#define LOG_TAIL 24    /* room always kept for ,"truncated":true}\n */
#define LOG_CUT "..."  /* ends a string value that was cut */

const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};

/* Field keys whose values are never written. Exact names, compared without
 * case; then suffixes, so that "upstream_token" or "webhook_secret" are
 * covered too. The one place to add a secret. */
static const char *const secret_keys[] = {
    "authorization", "proxy-authorization", "cookie", "set-cookie",
    "secret", "client_secret", "clientsecret", "api_key", "apikey",
    "x-api-key", "password", "passwd", "token", "access_token",
    "refresh_token", "id_token", "link_token", "magic_link_url",
    "admin_key", "secret_key", "private_key", "signature",
    "x-registered-user-sig", "authrelay-signature", "code", "code_verifier",
    NULL};
static const char *const secret_suffixes[] = {"_secret", "-secret", "_token", "-token", "_password",
                                              "_key", "-key", "_sig", "-sig", "_signature",
                                              "-signature", NULL};

static atomic_int log_min = LOG_LEVEL_INFO;
static atomic_int log_fd = 2;
static pthread_mutex_t log_write_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(log_level min, int fd) {
  atomic_store_explicit(&log_min, (int)min, memory_order_relaxed);
  atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

int log_enabled(log_level level) {
  return (int)level >= atomic_load_explicit(&log_min, memory_order_relaxed);
}

const char *log_level_name(log_level level) {
  if ((int)level < (int)LOG_LEVEL_DEBUG || (int)level > (int)LOG_LEVEL_ERROR)
    return "unknown";
  return log_level_names[level];
}

int log_level_parse(const char *name, log_level *out) {
  int i;
  for (i = 0; log_level_names[i] != NULL; i++) {
    if (strcmp(name, log_level_names[i]) == 0) {
      *out = (log_level)i;
      return 0;
    }
  }
  return -EINVAL;
}

int log_key_is_secret(const char *key) {
  size_t klen = strlen(key);
  size_t i;
  for (i = 0; secret_keys[i] != NULL; i++) {
    if (strcasecmp(key, secret_keys[i]) == 0)
      return 1;
  }
  for (i = 0; secret_suffixes[i] != NULL; i++) {
    size_t slen = strlen(secret_suffixes[i]);
    if (klen > slen && strcasecmp(key + klen - slen, secret_suffixes[i]) == 0)
      return 1;
  }
  return 0;
}

/* Appends n bytes if the line keeps LOG_TAIL bytes free. Returns 0 or -E2BIG. */
static int put(dynbuf *line, const void *p, size_t n) {
  if (line->len + n + LOG_TAIL > LOG_LINE_MAX)
    return -E2BIG;
  return dynbuf_add(line, p, n);
}

static int put_cstr(dynbuf *line, const char *s) {
  return put(line, s, strlen(s));
}

/* How many of the n bytes at s form whole UTF-8 characters when n < avail:
 * the cut moves back over at most 3 continuation bytes. */
static size_t char_boundary(const char *s, size_t n, size_t avail) {
  size_t back = 0;
  while (n < avail && n > 0 && back < 3 && ((unsigned char)s[n] & 0xC0) == 0x80) {
    n--;
    back++;
  }
  return n;
}

/* Bytes of the character starting at s: the lead byte and the continuation
 * bytes after it (at most 3, and at most avail in all). */
static size_t first_char_len(const char *s, size_t avail) {
  size_t n = 1;
  while (n < avail && n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80)
    n++;
  return n;
}

/* Appends s[0, len) as a JSON string, cut with "..." when it does not fit.
 * Returns 0, or -E2BIG when not even the quotes and "..." fit. */
static int put_string(dynbuf *line, const char *s, size_t len) {
  const size_t reserve = sizeof LOG_CUT; /* the cut mark and the closing quote */
  dynbuf tmp;
  size_t off = 0;
  int rc = 0;
  if (line->len + 2 + reserve + LOG_TAIL > LOG_LINE_MAX)
    return -E2BIG;
  put(line, "\"", 1);
  dynbuf_init(&tmp, LOG_CHUNK * 6 + 8);
  while (off < len) {
    size_t avail = len - off;
    size_t one = first_char_len(s + off, avail);
    size_t n = char_boundary(s + off, avail < LOG_CHUNK ? avail : LOG_CHUNK, avail);
    for (;;) {
      dynbuf_reset(&tmp, LOG_CHUNK * 6 + 8);
      rc = jsonw_string(&tmp, s + off, n);
      if (rc != 0)
        break;
      /* tmp holds the quoted text: it is copied without its quotes */
      if (line->len + (tmp.len - 2) + reserve + LOG_TAIL <= LOG_LINE_MAX)
        break;
      if (n <= one) {
        rc = -E2BIG;
        break;
      }
      n = char_boundary(s + off, n / 2, avail);
      if (n < one)
        n = one;
    }
    if (rc != 0)
      break;
    dynbuf_add(line, tmp.ptr + 1, tmp.len - 2);
    off += n;
  }
  dynbuf_free(&tmp);
  if (off < len)
    dynbuf_add(line, LOG_CUT, sizeof LOG_CUT - 1);
  dynbuf_add(line, "\"", 1);
  return 0;
}

/* Appends the JSON text of one field's value. Returns 0 or -E2BIG. */
static int put_value(dynbuf *line, const log_field *f) {
  char num[40];
  int n = 0;
  if (log_key_is_secret(f->key))
    return put_cstr(line, "\"[redacted]\"");
  switch (f->type) {
  case LOG_T_STR:
    if (f->v.s == NULL)
      return put_cstr(line, "null");
    return put_string(line, f->v.s, f->len == LOG_LEN_CSTR ? strlen(f->v.s) : f->len);
  case LOG_T_U64:
    n = snprintf(num, sizeof num, "%llu", (unsigned long long)f->v.u);
    break;
  case LOG_T_I64:
    n = snprintf(num, sizeof num, "%lld", (long long)f->v.i);
    break;
  case LOG_T_DBL:
    if (!isfinite(f->v.d))
      return put_cstr(line, "null");
    n = snprintf(num, sizeof num, "%.15g", f->v.d);
    break;
  case LOG_T_BOOL:
    return put_cstr(line, f->v.u ? "true" : "false");
  default:
    return put_cstr(line, "null");
  }
  if (n < 0 || (size_t)n >= sizeof num)
    return put_cstr(line, "null");
  return put(line, num, (size_t)n);
}

/* Appends ,"key":value, or nothing at all when it does not fit. */
static int put_field(dynbuf *line, const log_field *f) {
  size_t mark = line->len;
  int rc = put(line, ",", 1);
  if (rc == 0)
    rc = put_string(line, f->key != NULL ? f->key : "", f->key != NULL ? strlen(f->key) : 0);
  if (rc == 0)
    rc = put(line, ":", 1);
  if (rc == 0)
    rc = put_value(line, f);
  if (rc != 0)
    line->len = mark;
  return rc;
}

/* Writes all of buf, retrying on EINTR and short writes. */
static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    buf += (size_t)w;
    len -= (size_t)w;
  }
}

/* Writes one line: msg, then the n fields of head and the m of tail. */
static void emit_line(log_level level, const char *msg, const log_field *head, size_t n, const log_field *tail,
                      size_t m) {
  dynbuf line;
  char ts[TIMEFMT_BUF];
  size_t i;
  int truncated = 0;
  int saved_errno = errno;
  (void)timefmt_rfc3339(timefmt_now_ms(), 1, ts); /* "" past the year 9999 */
  dynbuf_init(&line, LOG_LINE_MAX + 1);
  put_cstr(&line, "{\"ts\":\"");
  put_cstr(&line, ts);
  put_cstr(&line, "\",\"level\":\"");
  put_cstr(&line, log_level_name(level));
  put_cstr(&line, "\",\"msg\":");
  put_string(&line, msg != NULL ? msg : "", msg != NULL ? strlen(msg) : 0);
  for (i = 0; i < n + m; i++) {
    if (put_field(&line, i < n ? &head[i] : &tail[i - n]) != 0)
      truncated = 1;
  }
  /* LOG_TAIL bytes were kept free for this */
  if (truncated)
    dynbuf_add(&line, ",\"truncated\":true", 17);
  dynbuf_add(&line, "}\n", 2);
  if (line.ptr != NULL) {
    pthread_mutex_lock(&log_write_lock);
    write_all(atomic_load_explicit(&log_fd, memory_order_relaxed), line.ptr, line.len);
    pthread_mutex_unlock(&log_write_lock);
  }
  dynbuf_free(&line);
  errno = saved_errno;
}

void log_emit(log_level level, const char *msg, const log_field *fields, size_t n) {
  if (log_enabled(level))
    emit_line(level, msg, fields, n, NULL, 0);
}

void log_audit(const char *actor, const char *action, const log_field *fields, size_t n) {
  const log_field who[2] = {LOG_STR("actor", actor), LOG_STR("action", action)};
  emit_line(LOG_LEVEL_INFO, "audit", who, 2, fields, n);
}
