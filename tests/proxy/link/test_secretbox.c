/* test_secretbox: proxy/secretbox.c.
 *
 * Covers: AES-256-GCM seal/open round trips (short, empty and large
 * plaintexts), that the sealed form has the documented layout and never
 * holds the plaintext, that a wrong key, wrong aad, a changed byte anywhere
 * (format, nonce, ciphertext, tag) or a cut value is refused with -EBADMSG
 * and appends nothing; and secretbox_key_load: from hex
 * (good and bad), generated into a temporary data dir (mode 0600, 32 bytes,
 * read back identically), refused when group/other-readable (-EACCES) or of
 * the wrong size, and never naming the key in its messages.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretbox.h"
#include "unit.h"

static unsigned char key1[SECRETBOX_KEY_BYTES];
static unsigned char key2[SECRETBOX_KEY_BYTES];

static void make_keys(void) {
  size_t i;
  for (i = 0; i < SECRETBOX_KEY_BYTES; i++) {
    key1[i] = (unsigned char)i;
    key2[i] = (unsigned char)i;
  }
  key2[SECRETBOX_KEY_BYTES - 1] ^= 1; /* differs in one bit */
}

/* Opens sealed[0, len) with key and aad; returns the result and checks that
 * a failure appended nothing. */
static int try_open(const unsigned char *key, const char *aad, const void *sealed, size_t len) {
  dynbuf out;
  int rc;
  dynbuf_init(&out, 1 << 20);
  rc = secretbox_open(key, aad, sealed, len, &out);
  if (rc != 0)
    CHECK(out.len == 0);
  dynbuf_free(&out);
  return rc;
}

static void round_trip(void) {
  static const char plain[] = "xoxb-1234-very-secret-token";
  dynbuf sealed, sealed2, out;
  dynbuf_init(&sealed, 4096);
  dynbuf_init(&sealed2, 4096);
  dynbuf_init(&out, 4096);
  CHECK(secretbox_seal(key1, "credential:alice/slack", plain, strlen(plain), &sealed) == 0);
  CHECK(sealed.len == strlen(plain) + SECRETBOX_OVERHEAD);
  CHECK(sealed.len > 0 && (unsigned char)sealed.ptr[0] == 0x01); /* format byte */
  CHECK(sealed.ptr != NULL && memmem(sealed.ptr, sealed.len, plain, strlen(plain)) == NULL);
  CHECK(sealed.ptr != NULL && memmem(sealed.ptr, sealed.len, "very-secret", 11) == NULL);
  CHECK(secretbox_open(key1, "credential:alice/slack", sealed.ptr, sealed.len, &out) == 0);
  CHECK_MEM(out.ptr, out.len, plain);

  /* a second seal of the same plaintext differs (random nonce) and opens */
  CHECK(secretbox_seal(key1, "credential:alice/slack", plain, strlen(plain), &sealed2) == 0);
  CHECK(sealed2.len == sealed.len && memcmp(sealed.ptr + 1, sealed2.ptr + 1, 12) != 0);
  CHECK(memcmp(sealed.ptr, sealed2.ptr, sealed.len) != 0);
  out.len = 0;
  CHECK(secretbox_open(key1, "credential:alice/slack", sealed2.ptr, sealed2.len, &out) == 0);
  CHECK_MEM(out.ptr, out.len, plain);

  /* open appends to what is there */
  CHECK(secretbox_open(key1, "credential:alice/slack", sealed.ptr, sealed.len, &out) == 0);
  CHECK(out.len == 2 * strlen(plain) && memcmp(out.ptr + strlen(plain), plain, strlen(plain)) == 0);
  dynbuf_free(&sealed);
  dynbuf_free(&sealed2);
  dynbuf_free(&out);
}

static void empty_and_large(void) {
  dynbuf sealed, out;
  char *big = malloc(100000);
  size_t i;
  if (big == NULL)
    exit(2);
  dynbuf_init(&sealed, 1 << 20);
  dynbuf_init(&out, 1 << 20);
  /* empty plaintext: only the overhead; opens to nothing; still bound */
  CHECK(secretbox_seal(key1, "aad", "", 0, &sealed) == 0);
  CHECK(sealed.len == SECRETBOX_OVERHEAD);
  CHECK(secretbox_open(key1, "aad", sealed.ptr, sealed.len, &out) == 0);
  CHECK(out.len == 0);
  CHECK(try_open(key2, "aad", sealed.ptr, sealed.len) == -EBADMSG);
  CHECK(try_open(key1, "aae", sealed.ptr, sealed.len) == -EBADMSG);
  /* 100 000 bytes */
  for (i = 0; i < 100000; i++)
    big[i] = (char)(i * 7 + 3);
  sealed.len = 0;
  CHECK(secretbox_seal(key1, "", big, 100000, &sealed) == 0);
  CHECK(sealed.len == 100000 + SECRETBOX_OVERHEAD);
  CHECK(secretbox_open(key1, "", sealed.ptr, sealed.len, &out) == 0);
  CHECK(out.len == 100000 && memcmp(out.ptr, big, 100000) == 0);
  free(big);
  dynbuf_free(&sealed);
  dynbuf_free(&out);
}

static void tampering_is_refused(void) {
  static const char plain[] = "sk-live-abcdef";
  const char *aad = "app_credential:0b6f";
  dynbuf sealed;
  char *copy;
  size_t n = strlen(plain);
  size_t len;
  size_t i;
  int bad = 0;
  dynbuf_init(&sealed, 4096);
  CHECK(secretbox_seal(key1, aad, plain, n, &sealed) == 0);
  len = sealed.len;
  copy = malloc(len);
  if (copy == NULL)
    exit(2);
  CHECK(try_open(key1, aad, sealed.ptr, len) == 0);

  CHECK(try_open(key2, aad, sealed.ptr, len) == -EBADMSG);                 /* wrong key */
  CHECK(try_open(key1, "app_credential:0b6e", sealed.ptr, len) == -EBADMSG); /* wrong aad */
  CHECK(try_open(key1, "", sealed.ptr, len) == -EBADMSG);
  CHECK(try_open(key1, "app_credential:0b6f ", sealed.ptr, len) == -EBADMSG);

  /* one flipped bit in the format byte, a nonce byte, a ciphertext byte, a
   * tag byte: each refused */
  memcpy(copy, sealed.ptr, len);
  copy[0] ^= 0x01;
  CHECK(try_open(key1, aad, copy, len) == -EBADMSG);
  memcpy(copy, sealed.ptr, len);
  copy[1 + 5] ^= 0x01; /* nonce */
  CHECK(try_open(key1, aad, copy, len) == -EBADMSG);
  memcpy(copy, sealed.ptr, len);
  copy[1 + 12 + 3] ^= 0x80; /* ciphertext */
  CHECK(try_open(key1, aad, copy, len) == -EBADMSG);
  memcpy(copy, sealed.ptr, len);
  copy[len - 1] ^= 0x01; /* tag */
  CHECK(try_open(key1, aad, copy, len) == -EBADMSG);
  /* every byte, every position */
  for (i = 0; i < len; i++) {
    memcpy(copy, sealed.ptr, len);
    copy[i] ^= 0x10;
    if (try_open(key1, aad, copy, len) != -EBADMSG)
      bad++;
  }
  CHECK(bad == 0);

  /* cut short, by one byte or down to nothing; too short to be sealed */
  CHECK(try_open(key1, aad, sealed.ptr, len - 1) == -EBADMSG);
  CHECK(try_open(key1, aad, sealed.ptr + 1, len - 1) == -EBADMSG);
  CHECK(try_open(key1, aad, sealed.ptr, SECRETBOX_OVERHEAD) == -EBADMSG);
  CHECK(try_open(key1, aad, sealed.ptr, SECRETBOX_OVERHEAD - 1) == -EBADMSG);
  CHECK(try_open(key1, aad, sealed.ptr, 1) == -EBADMSG);
  CHECK(try_open(key1, aad, sealed.ptr, 0) == -EBADMSG);
  /* plaintext given as if sealed */
  CHECK(try_open(key1, aad, "0123456789abcdef0123456789abcdef0123", 36) == -EBADMSG);
  free(copy);
  dynbuf_free(&sealed);
}

/* ---- secretbox_key_load ---- */

static char tmpdir[64];
static char keypath[128];

static void key_from_hex(void) {
  static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
  unsigned char key[SECRETBOX_KEY_BYTES];
  char err[256];
  size_t i;
  int same = 1;
  struct stat st;
  memset(key, 0xee, sizeof key);
  err[0] = '\0';
  CHECK(secretbox_key_load(key, hex, tmpdir, err, sizeof err) == 0);
  for (i = 0; i < SECRETBOX_KEY_BYTES; i++)
    if (key[i] != (unsigned char)i)
      same = 0;
  CHECK(same);
  CHECK(stat(keypath, &st) != 0 && errno == ENOENT); /* nothing written to data_dir */

  /* bad hex: too short, too long, not hex; the message does not echo it */
  err[0] = '\0';
  CHECK(secretbox_key_load(key, "0011", tmpdir, err, sizeof err) == -EINVAL);
  CHECK(err[0] != '\0');
  CHECK(secretbox_key_load(key, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00",
                           tmpdir, err, sizeof err) == -EINVAL);
  err[0] = '\0';
  CHECK(secretbox_key_load(key, "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                           tmpdir, err, sizeof err) == -EINVAL);
  CHECK(strstr(err, "g001020304") == NULL && strstr(err, "0a0b0c0d") == NULL);
  CHECK(secretbox_key_load(key, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1 ",
                           tmpdir, err, sizeof err) == -EINVAL);
  CHECK(stat(keypath, &st) != 0 && errno == ENOENT);
}

static void key_file(void) {
  unsigned char key[SECRETBOX_KEY_BYTES], again[SECRETBOX_KEY_BYTES], disk[SECRETBOX_KEY_BYTES + 8];
  unsigned char zero[SECRETBOX_KEY_BYTES];
  char err[512];
  char keyhex[2 * SECRETBOX_KEY_BYTES + 1];
  struct stat st;
  ssize_t n;
  int fd;
  size_t i;
  memset(zero, 0, sizeof zero);
  memset(key, 0, sizeof key);

  /* generated on first load: 0600, 32 bytes, what was returned */
  err[0] = '\0';
  CHECK(secretbox_key_load(key, NULL, tmpdir, err, sizeof err) == 0);
  CHECK(memcmp(key, zero, sizeof key) != 0);
  CHECK(stat(keypath, &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_size == SECRETBOX_KEY_BYTES);
  fd = open(keypath, O_RDONLY);
  CHECK(fd >= 0);
  n = fd >= 0 ? read(fd, disk, sizeof disk) : -1;
  if (fd >= 0)
    close(fd);
  CHECK(n == SECRETBOX_KEY_BYTES && memcmp(disk, key, SECRETBOX_KEY_BYTES) == 0);

  /* read back identically ("" hex: the file too) */
  memset(again, 0, sizeof again);
  CHECK(secretbox_key_load(again, "", tmpdir, err, sizeof err) == 0);
  CHECK(memcmp(again, key, sizeof key) == 0);
  CHECK(stat(keypath, &st) == 0 && (st.st_mode & 0777) == 0600);

  /* a key file others may read is refused, and the message names no key */
  for (i = 0; i < SECRETBOX_KEY_BYTES; i++)
    snprintf(keyhex + 2 * i, 3, "%02x", key[i]);
  CHECK(chmod(keypath, 0644) == 0);
  err[0] = '\0';
  memset(again, 0, sizeof again);
  CHECK(secretbox_key_load(again, NULL, tmpdir, err, sizeof err) == -EACCES);
  CHECK(err[0] != '\0' && strstr(err, keyhex) == NULL);
  CHECK(chmod(keypath, 0640) == 0);
  CHECK(secretbox_key_load(again, NULL, tmpdir, err, sizeof err) == -EACCES);
  /* the refusal left the file alone */
  CHECK(stat(keypath, &st) == 0 && st.st_size == SECRETBOX_KEY_BYTES);

  /* a key file of the wrong size */
  CHECK(chmod(keypath, 0600) == 0);
  CHECK(truncate(keypath, 16) == 0);
  CHECK(secretbox_key_load(again, NULL, tmpdir, err, sizeof err) == -EIO);
  CHECK(unlink(keypath) == 0);

  /* a new data dir gets a new key */
  CHECK(secretbox_key_load(again, NULL, tmpdir, err, sizeof err) == 0);
  CHECK(memcmp(again, key, sizeof key) != 0);
  CHECK(unlink(keypath) == 0);

  /* a data dir that does not exist */
  {
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", tmpdir);
    err[0] = '\0';
    CHECK(secretbox_key_load(again, NULL, missing, err, sizeof err) < 0);
    CHECK(err[0] != '\0');
  }
}

int main(void) {
  make_keys();
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_secretbox.XXXXXX");
  if (mkdtemp(tmpdir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(keypath, sizeof keypath, "%s/%s", tmpdir, SECRETBOX_KEY_FILE);
  RUN(round_trip);
  RUN(empty_and_large);
  RUN(tampering_is_refused);
  RUN(key_from_hex);
  RUN(key_file);
  (void)unlink(keypath);
  if (rmdir(tmpdir) != 0)
    perror("rmdir");
  return unit_report();
}
