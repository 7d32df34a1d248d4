/* linkseal: the secrets the link service keeps, sealed before they reach
 * the store and opened after they come back (DESIGN.md "Store and
 * replicas": secrets are sealed above the store, so every backend keeps
 * only ciphertext).
 *
 * Two kinds of rows hold a secret: an application credential's client
 * secret and a user's connected credential. Each is sealed with secretbox
 * bound to the row it belongs to ("app_credential:<id>",
 * "credential:<user>/<connector>"), so a sealed value copied into another
 * row does not open. The key is the caller's (linkhost's, from
 * secretbox_key_load); nothing here keeps it.
 */
#ifndef AUTHRELAY_LINKSEAL_H
#define AUTHRELAY_LINKSEAL_H

#include <stddef.h>

#include "dynbuf.h"
#include "secretbox.h"
#include "store.h"

/* Appends the sealed client secret of application credential app_id to
 * out. Returns 0, -EIO or a dynbuf error. */
int linkseal_app_secret(const unsigned char key[SECRETBOX_KEY_BYTES], const char *app_id, const char *secret,
                        dynbuf *out);

/* Appends the plaintext of a sealed client secret to out (wipe it after
 * use). -EIO when it does not open (another key, another row, changed). */
int linkseal_app_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *app_id, const store_blob *sealed,
                      dynbuf *out);

/* The same for the connected credential of user for connector. */
int linkseal_credential(const unsigned char key[SECRETBOX_KEY_BYTES], const char *user, const char *connector,
                        const void *secret, size_t len, dynbuf *out);
int linkseal_credential_open(const unsigned char key[SECRETBOX_KEY_BYTES], const char *user,
                             const char *connector, const store_blob *sealed, dynbuf *out);

/* A store_blob of b's bytes (valid while b is). */
store_blob linkseal_blob(const dynbuf *b);

#endif
