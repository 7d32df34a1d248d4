/* buf: a growable byte buffer and JSON string escaping for the example agent
 * server. Allocation failure aborts: this is a test/demo server, not a daemon
 * that must survive memory exhaustion. */
#ifndef AGENT_BUF_H
#define AGENT_BUF_H

#include <stddef.h>

typedef struct {
  char *p;
  size_t len;
  size_t cap;
} buf_t;

void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *data, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n copies of the cyclic pattern pat (starting at its first byte). */
void buf_pad(buf_t *b, const char *pat, size_t n);
/* Appends s[0..n) as a quoted JSON string. Valid UTF-8 passes through; control
 * characters and bytes that are not valid UTF-8 are escaped as \u00XX. */
void buf_json_str(buf_t *b, const char *s, size_t n);
/* Drops the first n bytes. */
void buf_consume(buf_t *b, size_t n);
void buf_free(buf_t *b);

#endif
