/* crypto: the small cryptographic jobs every module shares, on libcrypto:
 * hex text of bytes and back, SHA-256, HMAC-SHA256, random bytes, random
 * hex names and UUIDv4 ids, and a comparison in constant time.
 *
 * Used by the link service (token names, hashed secrets, webhook
 * signatures, secrets at rest in link/secretbox), the relay's identity
 * signatures and OAuth PKCE. Hex is always lower case on output and either
 * case on input.
 *
 * All inputs are borrowed and only read; outputs go to caller-owned
 * buffers of the stated sizes. Returns 0 or a negative errno code.
 */
#ifndef AUTHRELAY_CRYPTO_H
#define AUTHRELAY_CRYPTO_H

#include <stddef.h>

#define CRYPTO_SHA256_BYTES 32
#define CRYPTO_SHA256_HEX_BUF (2 * CRYPTO_SHA256_BYTES + 1)
#define CRYPTO_UUID_BUF 37
#define CRYPTO_RANDOM_HEX_MAX 64 /* bytes crypto_random_hex takes at most */

/* out (2 * n + 1 bytes): the lower-case hex of bytes[0, n), NUL-terminated. */
void crypto_hex(const void *bytes, size_t n, char *out);

/* out[0, n): the bytes of hex[0, hex_len), which must be exactly 2 * n hex
 * digits (either case). Returns 0 or -EINVAL (out then undefined). */
int crypto_unhex(const char *hex, size_t hex_len, unsigned char *out, size_t n);

/* out: SHA-256 of data[0, len). */
void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_BYTES]);

/* out: the 64 hex digits of SHA-256(data[0, len)), NUL-terminated. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_BUF]);

/* out: HMAC-SHA256(key[0, key_len), msg[0, len)). Returns 0, -EINVAL (key
 * longer than INT_MAX) or -EIO. */
int crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                       unsigned char out[CRYPTO_SHA256_BYTES]);

/* out[0, n): random bytes from the CSPRNG. Returns 0, -EINVAL (n over
 * INT_MAX) or -EIO (no random source). */
int crypto_random(void *out, size_t n);

/* out (2 * nbytes + 1): nbytes random bytes in hex, NUL-terminated.
 * Returns 0, -EINVAL (nbytes over CRYPTO_RANDOM_HEX_MAX) or -EIO. */
int crypto_random_hex(char *out, size_t nbytes);

/* out: a random UUID (version 4, RFC 4122 variant), lower case. Returns 0
 * or -EIO. */
int crypto_uuid(char out[CRYPTO_UUID_BUF]);

/* 1 when a[0, len) equals b[0, len), in time independent of the contents;
 * else 0. */
int crypto_equal(const void *a, const void *b, size_t len);

#endif
