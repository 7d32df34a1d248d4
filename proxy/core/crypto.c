/* crypto: hex, SHA-256, HMAC-SHA256 and random values on libcrypto. See
 * crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

void crypto_hex(const void *bytes, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *b = bytes;
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

int crypto_unhex(const char *hex, size_t hex_len, unsigned char *out, size_t n) {
  size_t i;
  if (hex_len != 2 * n)
    return -EINVAL;
  for (i = 0; i < n; i++) {
    int hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i]);
    int lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -EINVAL;
    out[i] = (unsigned char)(hi * 16 + lo);
  }
  return 0;
}

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_BYTES]) {
  SHA256(data, len, out); /* the one-shot form: no context to allocate, cannot fail */
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_BUF]) {
  unsigned char md[CRYPTO_SHA256_BYTES];
  crypto_sha256(data, len, md);
  crypto_hex(md, sizeof md, out);
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                       unsigned char out[CRYPTO_SHA256_BYTES]) {
  unsigned int mac_len = 0;
  if (key_len > INT_MAX)
    return -EINVAL;
  if (HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &mac_len) == NULL || mac_len != CRYPTO_SHA256_BYTES)
    return -EIO;
  return 0;
}

int crypto_random(void *out, size_t n) {
  if (n > INT_MAX)
    return -EINVAL;
  return RAND_bytes(out, (int)n) == 1 ? 0 : -EIO;
}

int crypto_random_hex(char *out, size_t nbytes) {
  unsigned char buf[CRYPTO_RANDOM_HEX_MAX];
  int rc;
  if (nbytes > sizeof buf)
    return -EINVAL;
  rc = crypto_random(buf, nbytes);
  if (rc != 0)
    return rc;
  crypto_hex(buf, nbytes, out);
  OPENSSL_cleanse(buf, nbytes);
  return 0;
}

int crypto_uuid(char out[CRYPTO_UUID_BUF]) {
  unsigned char b[16];
  char hex[33];
  size_t i;
  size_t o = 0;
  int rc = crypto_random(b, sizeof b);
  if (rc != 0)
    return rc;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  crypto_hex(b, sizeof b, hex);
  for (i = 0; i < 32; i++) {
    if (i == 8 || i == 12 || i == 16 || i == 20)
      out[o++] = '-';
    out[o++] = hex[i];
  }
  out[o] = '\0';
  return 0;
}

int crypto_equal(const void *a, const void *b, size_t len) {
  return CRYPTO_memcmp(a, b, len) == 0;
}
