/* test_crypto: proxy/core/crypto.c.
 *
 * Covers: hex both ways (lower case out, either case in, wrong length or a
 * non-hex digit refused); SHA-256 against the FIPS 180-2 vectors;
 * HMAC-SHA256 against RFC 4231 test cases 1 and 2; random hex and UUIDv4
 * formats (and that two draws differ); random_hex's cap; crypto_equal.
 */
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "unit.h"

static int is_lower_hex(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static void hex_both_ways(void) {
  static const unsigned char bytes[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
  unsigned char back[5];
  char hex[11];
  memset(hex, 'x', sizeof hex);
  crypto_hex(bytes, sizeof bytes, hex);
  CHECK(strcmp(hex, "0001abff7f") == 0);
  crypto_hex(bytes, 0, hex);
  CHECK(hex[0] == '\0');
  CHECK(crypto_unhex("0001ABff7f", 10, back, sizeof back) == 0);
  CHECK(memcmp(back, bytes, sizeof bytes) == 0);
  CHECK(crypto_unhex("0001abff7", 9, back, sizeof back) == -EINVAL);
  CHECK(crypto_unhex("0001abff7f00", 12, back, sizeof back) == -EINVAL);
  CHECK(crypto_unhex("0001abfg7f", 10, back, sizeof back) == -EINVAL);
  CHECK(crypto_unhex("0001ab f7f", 10, back, sizeof back) == -EINVAL);
}

static void hmac_vectors(void) {
  unsigned char key[20];
  unsigned char mac[CRYPTO_SHA256_BYTES];
  char hex[CRYPTO_SHA256_HEX_BUF];
  memset(key, 0x0b, sizeof key);
  CHECK(crypto_hmac_sha256(key, sizeof key, "Hi There", 8, mac) == 0);
  crypto_hex(mac, sizeof mac, hex);
  CHECK(strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0);
  CHECK(crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac) == 0);
  crypto_hex(mac, sizeof mac, hex);
  CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
}

static void sha256_vectors(void) {
  char hex[65];
  memset(hex, 'x', sizeof hex);
  crypto_sha256_hex("abc", 3, hex);
  CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  crypto_sha256_hex("", 0, hex);
  CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  crypto_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
  CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
}

static void random_names(void) {
  char a[37], b[37];
  char h1[65], h2[65];
  int i;
  int bad = 0;
  for (i = 0; i < 200; i++) {
    memset(a, 'Z', sizeof a);
    if (crypto_uuid(a) != 0 || strlen(a) != 36 || a[8] != '-' || a[13] != '-' || a[18] != '-' ||
        a[23] != '-' || a[14] != '4' || strchr("89ab", a[19]) == NULL || !is_lower_hex(a, 8) ||
        !is_lower_hex(a + 9, 4) || !is_lower_hex(a + 14, 4) || !is_lower_hex(a + 19, 4) ||
        !is_lower_hex(a + 24, 12))
      bad++;
  }
  CHECK(bad == 0);
  CHECK(crypto_uuid(a) == 0 && crypto_uuid(b) == 0 && strcmp(a, b) != 0);

  CHECK(crypto_random_hex(h1, 32) == 0);
  CHECK(strlen(h1) == 64 && is_lower_hex(h1, 64));
  CHECK(crypto_random_hex(h2, 32) == 0 && strcmp(h1, h2) != 0);
  CHECK(crypto_random_hex(h1, 1) == 0 && strlen(h1) == 2 && is_lower_hex(h1, 2));

  CHECK(crypto_equal("abcdef", "abcdef", 6) == 1);
  CHECK(crypto_equal("abcdef", "abcdeg", 6) == 0);
  CHECK(crypto_equal("Xbcdef", "abcdef", 6) == 0);
  CHECK(crypto_equal("abcdef", "abcdeg", 5) == 1);
}

static void random_caps(void) {
  char big[2 * CRYPTO_RANDOM_HEX_MAX + 3];
  unsigned char raw[16];
  unsigned char zero[16];
  CHECK(crypto_random_hex(big, CRYPTO_RANDOM_HEX_MAX) == 0 && strlen(big) == 2 * CRYPTO_RANDOM_HEX_MAX);
  CHECK(crypto_random_hex(big, CRYPTO_RANDOM_HEX_MAX + 1) == -EINVAL);
  memset(raw, 0, sizeof raw);
  memset(zero, 0, sizeof zero);
  CHECK(crypto_random(raw, sizeof raw) == 0 && memcmp(raw, zero, sizeof raw) != 0);
}

int main(void) {
  RUN(hex_both_ways);
  RUN(hmac_vectors);
  RUN(sha256_vectors);
  RUN(random_names);
  RUN(random_caps);
  return unit_report();
}
