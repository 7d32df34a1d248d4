/* dynbuf: a growable byte buffer with a hard cap.
 *
 * Every buffer in authrelay that grows with peer input is a dynbuf, so that
 * no input can make memory grow past a number chosen in advance (the idea of
 * curl's dynbuf and its "toobig" limit). The storage is allocated on first
 * use, so an idle dynbuf costs only its struct.
 *
 * A document written piece by piece (JSON, a header block) uses the sticky
 * appends, dynbuf_put() and the jsonw_ calls: the buffer remembers the first
 * failure, every later sticky append is a no-op, and the writer checks
 * dynbuf_error() once at the end (as Go's bufio.Writer). dynbuf_add() is not
 * sticky: it neither looks at nor records that error.
 */
#ifndef AUTHRELAY_DYNBUF_H
#define AUTHRELAY_DYNBUF_H

#include <stddef.h>

typedef struct dynbuf {
  char *ptr;     /* storage, NULL until the first add; owned by the dynbuf */
  size_t len;    /* bytes in use */
  size_t cap;    /* bytes allocated */
  size_t toobig; /* len may never reach this; an add that would fails */
  int err;       /* first failure of a sticky append, 0 if none yet */
} dynbuf;

/* Prepares an empty buffer that will refuse to hold toobig bytes or more. */
void dynbuf_init(dynbuf *b, size_t toobig);

/* Appends n bytes copied from p. Returns 0, -E2BIG when len + n would reach
 * toobig (nothing is appended), or -ENOMEM. */
int dynbuf_add(dynbuf *b, const void *p, size_t n);

/* Appends printf-style text (without its NUL). Returns 0, -E2BIG when the
 * text would make len reach toobig (nothing is appended: never a cut
 * text), -ENOMEM, or -EINVAL when fmt cannot be formatted. */
int dynbuf_addf(dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sticky append: appends n bytes copied from p unless an earlier sticky
 * append failed, in which case it appends nothing. A failure (as
 * dynbuf_add's) is remembered until dynbuf_reset() or dynbuf_free().
 * Returns the buffer's error after the call: 0 or its first failure. */
int dynbuf_put(dynbuf *b, const void *p, size_t n);

/* The first failure of a sticky append since init, reset or free: 0, -E2BIG
 * or -ENOMEM. */
int dynbuf_error(const dynbuf *b);

/* Empties the buffer and keeps its storage for reuse, unless the storage is
 * larger than keep bytes, in which case it is freed. Forgets the error. */
void dynbuf_reset(dynbuf *b, size_t keep);

/* Frees the storage; the buffer is empty, without error, and usable again. */
void dynbuf_free(dynbuf *b);

#endif
