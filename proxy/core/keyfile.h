/* keyfile: small secret files readable by their owner only, the one reader
 * and writer of the keys authrelay keeps in its data directory (the
 * at-rest encryption key secret.key, the control API's owner.key).
 *
 * A key file is created whole or not at all: it is written to a
 * temporary name beside it (mode 0600), flushed, and linked into place
 * only if no file has that name yet, so a crash never leaves a cut key and
 * two processes never both create one. A key file whose mode lets its group
 * or others in is refused, not read.
 *
 * Paths and data are borrowed; buffers are the caller's. Returns 0 or a
 * negative errno code.
 */
#ifndef AUTHRELAY_KEYFILE_H
#define AUTHRELAY_KEYFILE_H

#include <stddef.h>

#define KEYFILE_PATH_MAX 4096 /* the longest path taken (with its NUL) */

/* Reads the file at path into buf (cap bytes; not NUL-terminated) and its
 * size into *len. Returns 0, -ENOENT (no such file), -EACCES (its mode
 * has group or other bits, or it is no regular file), -EFBIG (more than cap
 * bytes), -ENAMETOOLONG, or another -errno of open/read. */
int keyfile_read(const char *path, void *buf, size_t cap, size_t *len);

/* Creates path holding data[0, len), mode 0600, flushed to disk with its
 * directory entry. Returns 0, -EEXIST (a file has that name: it is left as
 * it is), -ENAMETOOLONG, or another -errno (nothing is left behind). */
int keyfile_create(const char *path, const void *data, size_t len);

#endif
