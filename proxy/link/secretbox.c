/* secretbox: AES-256-GCM sealing, hashes and random ids. See secretbox.h. */
#include "secretbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "keyfile.h"

#define FORMAT_V1 0x01
#define NONCE_BYTES 12
#define TAG_BYTES 16


int secretbox_key_load(unsigned char key[SECRETBOX_KEY_BYTES], const char *hex, const char *data_dir,
                       char *err, size_t errlen) {
  char path[KEYFILE_PATH_MAX];
  size_t len = 0;
  int rc;
  if (hex != NULL && hex[0] != '\0') {
    if (crypto_unhex(hex, strlen(hex), key, SECRETBOX_KEY_BYTES) != 0) {
      snprintf(err, errlen, "secret_key must be %d hex digits", 2 * SECRETBOX_KEY_BYTES);
      return -EINVAL;
    }
    return 0;
  }
  snprintf(path, sizeof path, "%s/%s", data_dir, SECRETBOX_KEY_FILE);
  rc = keyfile_read(path, key, SECRETBOX_KEY_BYTES, &len);
  if (rc == -EACCES) {
    snprintf(err, errlen, "%s must be readable by its owner only (chmod 600)", path);
    return -EACCES;
  }
  if (rc == 0 || rc == -EFBIG) {
    if (rc == 0 && len == SECRETBOX_KEY_BYTES)
      return 0;
    snprintf(err, errlen, "%s must hold exactly %d bytes", path, SECRETBOX_KEY_BYTES);
    return -EIO;
  }
  if (rc != -ENOENT) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
    return -EIO;
  }
  if (crypto_random(key, SECRETBOX_KEY_BYTES) != 0) {
    snprintf(err, errlen, "no random source for a secret key");
    return -EIO;
  }
  rc = keyfile_create(path, key, SECRETBOX_KEY_BYTES);
  if (rc != 0) {
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(-rc));
    return -EIO;
  }
  return 0;
}

int secretbox_seal(const unsigned char key[SECRETBOX_KEY_BYTES], const char *aad, const void *plain,
                   size_t len, dynbuf *out) {
  EVP_CIPHER_CTX *ctx;
  unsigned char *p = malloc(len + SECRETBOX_OVERHEAD);
  int n = 0;
  int ok;
  int rc;
  if (p == NULL)
    return -ENOMEM;
  p[0] = FORMAT_V1;
  ctx = EVP_CIPHER_CTX_new();
  ok = ctx != NULL && crypto_random(p + 1, NONCE_BYTES) == 0 &&
       EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
       EVP_EncryptInit_ex(ctx, NULL, NULL, key, p + 1) == 1 &&
       EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
       EVP_EncryptUpdate(ctx, p + 1 + NONCE_BYTES, &n, plain, (int)len) == 1 &&
       EVP_EncryptFinal_ex(ctx, p + 1 + NONCE_BYTES + n, &n) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, p + 1 + NONCE_BYTES + len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  rc = ok ? dynbuf_add(out, p, len + SECRETBOX_OVERHEAD) : -EIO;
  free(p);
  return rc;
}

int secretbox_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *aad, const void *sealed,
                   size_t len, dynbuf *out) {
  const unsigned char *s = sealed;
  EVP_CIPHER_CTX *ctx;
  unsigned char *plain;
  size_t plain_len;
  unsigned char tag[TAG_BYTES];
  int n = 0;
  int ok;
  int rc;
  if (len < SECRETBOX_OVERHEAD || s[0] != FORMAT_V1)
    return -EBADMSG;
  plain_len = len - SECRETBOX_OVERHEAD;
  plain = malloc(plain_len + 1);
  if (plain == NULL)
    return -ENOMEM;
  memcpy(tag, s + 1 + NONCE_BYTES + plain_len, TAG_BYTES);
  ctx = EVP_CIPHER_CTX_new();
  ok = ctx != NULL && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
       EVP_DecryptInit_ex(ctx, NULL, NULL, key, s + 1) == 1 &&
       EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
       EVP_DecryptUpdate(ctx, plain, &n, s + 1 + NONCE_BYTES, (int)plain_len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
       EVP_DecryptFinal_ex(ctx, plain + n, &n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  rc = ok ? dynbuf_add(out, plain, plain_len) : -EBADMSG;
  OPENSSL_cleanse(plain, plain_len + 1);
  free(plain);
  return rc;
}

int secretbox_signature(const char *secret, uint64_t t, const void *body, size_t len,
                        char out[SECRETBOX_SIGNATURE_BUF]) {
  char ts[24];
  unsigned char mac[CRYPTO_SHA256_BYTES];
  unsigned char *msg;
  size_t n;
  int rc;
  int tl = snprintf(ts, sizeof ts, "%llu", (unsigned long long)t);
  msg = malloc((size_t)tl + 1 + len + 1);
  if (msg == NULL)
    return -ENOMEM;
  memcpy(msg, ts, (size_t)tl);
  msg[tl] = '.';
  memcpy(msg + tl + 1, body, len);
  rc = crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)tl + 1 + len, mac);
  free(msg);
  if (rc != 0)
    return rc;
  n = (size_t)snprintf(out, SECRETBOX_SIGNATURE_BUF, "t=%s,v1=", ts);
  crypto_hex(mac, sizeof mac, out + n);
  return 0;
}
