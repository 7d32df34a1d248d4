/* linkseal: secrets sealed above the store. See linkseal.h. */
#include "linkseal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The associated data naming a row: "<what>:<id>", or -ENAMETOOLONG. */
static int row_aad(char *aad, size_t cap, const char *what, const char *id, const char *sub) {
  int n = sub != NULL ? snprintf(aad, cap, "%s:%s/%s", what, id, sub) : snprintf(aad, cap, "%s:%s", what, id);
  return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

int linkseal_app_secret(const unsigned char key[SECRETBOX_KEY_BYTES], const char *app_id, const char *secret,
                        dynbuf *out) {
  char aad[STORE_TEXT_MAX * 2 + 64];
  if (row_aad(aad, sizeof aad, "app_credential", app_id, NULL) != 0)
    return -EIO;
  return secretbox_seal(key, aad, secret, strlen(secret), out);
}

int linkseal_app_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *app_id, const store_blob *sealed,
                      dynbuf *out) {
  char aad[STORE_TEXT_MAX * 2 + 64];
  if (sealed == NULL || sealed->ptr == NULL || row_aad(aad, sizeof aad, "app_credential", app_id, NULL) != 0)
    return -EIO;
  return secretbox_open(key, aad, sealed->ptr, sealed->len, out) == 0 ? 0 : -EIO;
}

int linkseal_credential(const unsigned char key[SECRETBOX_KEY_BYTES], const char *user, const char *connector,
                        const void *secret, size_t len, dynbuf *out) {
  char aad[STORE_TEXT_MAX * 2 + 64];
  if (row_aad(aad, sizeof aad, "credential", user, connector) != 0)
    return -EIO;
  return secretbox_seal(key, aad, secret, len, out);
}

int linkseal_credential_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *user,
                             const char *connector, const store_blob *sealed, dynbuf *out) {
  char aad[STORE_TEXT_MAX * 2 + 64];
  if (sealed == NULL || sealed->ptr == NULL || row_aad(aad, sizeof aad, "credential", user, connector) != 0)
    return -EIO;
  return secretbox_open(key, aad, sealed->ptr, sealed->len, out) == 0 ? 0 : -EIO;
}

store_blob linkseal_blob(const dynbuf *b) {
  store_blob blob;
  blob.ptr = b->ptr != NULL ? b->ptr : "";
  blob.len = b->len;
  return blob;
}
