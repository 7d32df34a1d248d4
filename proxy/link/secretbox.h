/* secretbox: secrets at rest, and the random names the link service hands out.
 *
 * The link service stores OAuth client secrets and users' connected
 * credentials in its store (store.h). They are sealed above the store
 * (linkseal.h, with this module's AES-256-GCM from libcrypto), so no
 * backend ever holds them in clear:
 *
 *   sealed = 0x01 (format) | 12-byte random nonce | ciphertext | 16-byte tag
 *
 * The caller passes associated data naming the row (e.g. "app_credential:"
 * + id), so a sealed value copied into another row does not open. The key is
 * 32 bytes: from secret_key (64 hex digits; env AUTHRELAY_SECRET_KEY) or
 * from <data_dir>/secret.key, generated with mode 0600 on first run.
 *
 * Also here: the Authrelay-Signature of webhook bodies. Hashes, random
 * names and ids are core/crypto's (crypto.h).
 */
#ifndef AUTHRELAY_SECRETBOX_H
#define AUTHRELAY_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

#define SECRETBOX_KEY_BYTES 32
#define SECRETBOX_OVERHEAD (1 + 12 + 16) /* format byte, nonce, tag */
#define SECRETBOX_KEY_FILE "secret.key"

/* Fills key from hex (64 hex digits) when hex is not empty, else from
 * data_dir/secret.key, creating it (0600, 32 random bytes) when absent.
 * data_dir must exist. Returns 0, or -EINVAL / -EIO / -EACCES with a
 * one-line message in err (never the key). */
int secretbox_key_load(unsigned char key[SECRETBOX_KEY_BYTES], const char *hex, const char *data_dir,
                       char *err, size_t errlen);

/* Appends the sealed form of plain[0, len) to out, bound to aad (a
 * NUL-terminated string, borrowed). Returns 0, -EIO or a dynbuf error. */
int secretbox_seal(const unsigned char key[SECRETBOX_KEY_BYTES], const char *aad, const void *plain,
                   size_t len, dynbuf *out);

/* Appends the plaintext of sealed[0, len) to out (not NUL-terminated; an
 * empty plaintext appends nothing). Returns 0, or -EBADMSG
 * when it is not a sealed value, was sealed with another key or aad, or was
 * changed. The caller wipes out (OPENSSL_cleanse) when done with it. */
int secretbox_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *aad, const void *sealed,
                   size_t len, dynbuf *out);

/* The Authrelay-Signature value of body[0, len) at Unix time t:
 * "t=T,v1=HEX", HEX = hex(HMAC-SHA256(secret, T + "." + body)). out holds
 * SECRETBOX_SIGNATURE_BUF bytes. Returns 0, -EIO or -ENOMEM. */
#define SECRETBOX_SIGNATURE_BUF (2 + 20 + 4 + 64 + 1)
int secretbox_signature(const char *secret, uint64_t t, const void *body, size_t len,
                        char out[SECRETBOX_SIGNATURE_BUF]);

#endif
