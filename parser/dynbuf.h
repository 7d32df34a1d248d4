/* dynbuf: a growable byte buffer with a hard cap.
 *
 * Every buffer in authrelay that grows with peer input is a dynbuf, so that
 * no input can make memory grow past a number chosen in advance (the idea of
 * curl's dynbuf and its "toobig" limit). The storage is allocated on first
 * use, so an idle dynbuf costs only its struct.
 */
#ifndef AUTHRELAY_DYNBUF_H
#define AUTHRELAY_DYNBUF_H

#include <stddef.h>

typedef struct dynbuf {
  char *ptr;     /* storage, NULL until the first add; owned by the dynbuf */
  size_t len;    /* bytes in use */
  size_t cap;    /* bytes allocated */
  size_t toobig; /* len may never reach this; an add that would fails */
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

/* Empties the buffer and keeps its storage for reuse, unless the storage is
 * larger than keep bytes, in which case it is freed. */
void dynbuf_reset(dynbuf *b, size_t keep);

/* Frees the storage; the buffer is empty and usable again. */
void dynbuf_free(dynbuf *b);

#endif
