/* test_identity: unit tests of proxy/identity.c.
 *
 * Configs are built with config_load() from flags, so trusted CIDRs and the
 * secret parse exactly as they do in the daemon. Signatures are made with
 * identity_sign(), which is itself checked against a vector computed with
 * the openssl command line (the one in identity.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "identity.h"
#include "unit.h"

#define UP "--upstream=http://127.0.0.1:8000"
#define NOW 1767225600ull
#define SECRET "s3cret"

static config_t cfg;
static identity_result res;

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Loads cfg from a NULL-terminated flag list; exits on failure. */
static void load(const char *const *flags) {
  char err[512];
  char *argv[16];
  int argc = 0;
  argv[argc++] = "authrelay";
  while (flags != NULL && *flags != NULL && argc < 15)
    argv[argc++] = (char *)*flags++;
  argv[argc] = NULL;
  config_free(&cfg);
  if (config_load(&cfg, argc, argv, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "config_load: %s\n", err);
    exit(2);
  }
}

static struct sockaddr_storage peer_ss;

/* A peer address from text (v4 or v6). */
static const struct sockaddr *peer(const char *text) {
  memset(&peer_ss, 0, sizeof peer_ss);
  if (strchr(text, ':') != NULL) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer_ss;
    s6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
      exit(2);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&peer_ss;
    s4->sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
      exit(2);
  }
  return (const struct sockaddr *)&peer_ss;
}

/* Resolves with C strings (either may be NULL); returns 1 when the result
 * has the given trust and reason. */
static int resolve(const char *addr, const char *id, const char *sig, uint64_t now, int trusted,
                   const char *reason) {
  int rc = identity_resolve(&cfg, addr != NULL ? peer(addr) : NULL, id, id ? strlen(id) : 0, sig,
                            sig ? strlen(sig) : 0, now, &res);
  if (rc != 0 || res.trusted != trusted || res.reason == NULL || strcmp(res.reason, reason) != 0) {
    fprintf(stderr, "  resolve(%s, %s, %s): rc %d trusted %d reason %s, want %d %s\n",
            addr ? addr : "-", id ? id : "-", sig ? sig : "-", rc, res.trusted,
            res.reason ? res.reason : "(null)", trusted, reason);
    return 0;
  }
  return 1;
}

/* The signature of id at ts with key, in a static buffer. */
static const char *sign(const char *key, const char *id, uint64_t ts) {
  static char buf[IDENTITY_SIG_BUF];
  if (identity_sign(key, strlen(key), id, strlen(id), ts, buf, sizeof buf) != 0)
    return "sign-failed";
  return buf;
}

static void test_trusted_peers(void) {
  load(FLAGS(UP));
  CHECK(resolve("127.0.0.1", "user-42", NULL, NOW, 1, "trusted_peer"));
  CHECK_MEM(res.user, res.user_len, "user-42");
  CHECK(strcmp(res.user, "user-42") == 0);
  CHECK(resolve("127.8.9.10", "u", NULL, NOW, 1, "trusted_peer"));
  CHECK(resolve("::1", "user-42", NULL, NOW, 1, "trusted_peer"));
  CHECK(resolve("::ffff:127.0.0.1", "user-42", NULL, NOW, 1, "trusted_peer"));
  /* a trusted peer needs no signature, and a bad one does not matter */
  CHECK(resolve("127.0.0.1", "user-42", "garbage", NOW, 1, "trusted_peer"));
  /* surrounding whitespace is trimmed */
  CHECK(resolve("127.0.0.1", " \tuser-42 ", NULL, NOW, 1, "trusted_peer"));
  CHECK_MEM(res.user, res.user_len, "user-42");
}

static void test_untrusted_peers(void) {
  load(FLAGS(UP));
  CHECK(resolve("10.1.2.3", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK_MEM(res.user, res.user_len, "user-42"); /* kept for the warning */
  CHECK(resolve("128.0.0.1", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK(resolve("::2", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK(resolve("::ffff:10.0.0.1", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK(resolve(NULL, "user-42", NULL, NOW, 0, "untrusted_peer"));
  /* custom list: loopback no longer trusted */
  load(FLAGS(UP, "--identity-trusted-cidrs=10.0.0.0/8,fd00::/8"));
  CHECK(resolve("10.200.0.1", "user-42", NULL, NOW, 1, "trusted_peer"));
  CHECK(resolve("fd12::1", "user-42", NULL, NOW, 1, "trusted_peer"));
  CHECK(resolve("127.0.0.1", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK(resolve("::1", "user-42", NULL, NOW, 0, "untrusted_peer"));
  /* "" trusts nobody */
  load(FLAGS(UP, "--identity-trusted-cidrs="));
  CHECK_EQ_U64(cfg.identity.ntrusted_cidrs, 0);
  CHECK(resolve("127.0.0.1", "user-42", NULL, NOW, 0, "untrusted_peer"));
}

static void test_no_header_bad_id(void) {
  char id[IDENTITY_USER_MAX + 2];
  load(FLAGS(UP));
  CHECK(resolve("127.0.0.1", NULL, NULL, NOW, 0, "no_header"));
  CHECK(res.user_len == 0 && res.user[0] == '\0');
  CHECK(resolve("127.0.0.1", "", NULL, NOW, 0, "no_header"));
  CHECK(resolve("127.0.0.1", "  \t ", NULL, NOW, 0, "no_header"));
  CHECK(resolve("127.0.0.1", "a b", NULL, NOW, 0, "bad_id"));
  CHECK(res.user_len == 0 && res.user[0] == '\0');
  CHECK(resolve("127.0.0.1", "a\x01", NULL, NOW, 0, "bad_id"));
  CHECK(resolve("127.0.0.1", "caf\xc3\xa9", NULL, NOW, 0, "bad_id"));
  CHECK(resolve("127.0.0.1", "a\x7f", NULL, NOW, 0, "bad_id"));
  /* an embedded NUL is a bad byte too */
  CHECK(identity_resolve(&cfg, peer("127.0.0.1"), "ab\0c", 4, NULL, 0, NOW, &res) == 0);
  CHECK(!res.trusted && strcmp(res.reason, "bad_id") == 0);
  /* exactly the cap is fine, one more is not */
  memset(id, 'x', sizeof id);
  id[IDENTITY_USER_MAX] = '\0';
  CHECK(resolve("127.0.0.1", id, NULL, NOW, 1, "trusted_peer"));
  CHECK_EQ_U64(res.user_len, IDENTITY_USER_MAX);
  CHECK_EQ_U64(strlen(res.user), IDENTITY_USER_MAX);
  id[IDENTITY_USER_MAX] = 'x';
  id[IDENTITY_USER_MAX + 1] = '\0';
  CHECK(resolve("127.0.0.1", id, NULL, NOW, 0, "bad_id"));
  CHECK(identity_resolve(NULL, NULL, "a", 1, NULL, 0, NOW, &res) == -EINVAL);
  CHECK(identity_resolve(&cfg, NULL, "a", 1, NULL, 0, NOW, NULL) == -EINVAL);
}

static void test_sign(void) {
  char small[IDENTITY_SIG_BUF];
  CHECK(strcmp(sign(SECRET, "user-42", NOW),
               "t=1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b") ==
        0);
  CHECK(identity_sign("", 0, "user-42", 7, NOW, small, sizeof small) == -EINVAL);
  CHECK(identity_sign(SECRET, 6, "", 0, NOW, small, sizeof small) == -EINVAL);
  CHECK(identity_sign(SECRET, 6, "a b", 3, NOW, small, sizeof small) == -EINVAL);
  CHECK(identity_sign(SECRET, 6, "user-42", 7, NOW, small, 20) == -ENOSPC);
  CHECK(small[0] == '\0');
  CHECK(identity_sign(SECRET, 6, "user-42", 7, UINT64_MAX, small, sizeof small) == 0);
  CHECK_EQ_U64(strlen(small), 2 + 20 + 4 + 64);
}

static void test_signature(void) {
  char sig[256];
  char upper[IDENTITY_SIG_BUF];
  size_t i;
  load(FLAGS(UP, "--identity-secret=" SECRET));
  CHECK(resolve("192.0.2.1", "user-42", sign(SECRET, "user-42", NOW), NOW, 1, "signature"));
  CHECK_MEM(res.user, res.user_len, "user-42");
  CHECK(resolve("2001:db8::1", "user-42", sign(SECRET, "user-42", NOW), NOW, 1, "signature"));
  /* whitespace around the value */
  snprintf(sig, sizeof sig, "  %s\t", sign(SECRET, "user-42", NOW));
  CHECK(resolve("192.0.2.1", "user-42", sig, NOW, 1, "signature"));
  /* hex in upper case */
  snprintf(upper, sizeof upper, "%s", sign(SECRET, "user-42", NOW));
  for (i = 0; upper[i] != '\0'; i++)
    if (upper[i] >= 'a' && upper[i] <= 'f' && i > 15)
      upper[i] = (char)(upper[i] - 'a' + 'A');
  CHECK(resolve("192.0.2.1", "user-42", upper, NOW, 1, "signature"));
  /* a trusted peer still goes first */
  CHECK(resolve("127.0.0.1", "user-42", sign(SECRET, "user-42", NOW), NOW, 1, "trusted_peer"));
  /* untrusted peer, no signature */
  CHECK(resolve("192.0.2.1", "user-42", NULL, NOW, 0, "untrusted_peer"));
  CHECK(resolve("192.0.2.1", "user-42", "  ", NOW, 0, "untrusted_peer"));
  /* wrong key, tampered id */
  CHECK(resolve("192.0.2.1", "user-42", sign("other", "user-42", NOW), NOW, 0, "bad_signature"));
  CHECK(resolve("192.0.2.1", "user-43", sign(SECRET, "user-42", NOW), NOW, 0, "bad_signature"));
  CHECK(resolve("192.0.2.1", "user-4", sign(SECRET, "user-42", NOW), NOW, 0, "bad_signature"));
  /* the timestamp is signed: changing it breaks the MAC */
  snprintf(sig, sizeof sig, "%s", sign(SECRET, "user-42", NOW));
  sig[11] = sig[11] == '0' ? '1' : '0';
  CHECK(resolve("192.0.2.1", "user-42", sig, NOW, 0, "bad_signature"));
  /* a flipped MAC digit */
  snprintf(sig, sizeof sig, "%s", sign(SECRET, "user-42", NOW));
  sig[strlen(sig) - 1] = sig[strlen(sig) - 1] == '0' ? '1' : '0';
  CHECK(resolve("192.0.2.1", "user-42", sig, NOW, 0, "bad_signature"));
}

static void test_signature_time(void) {
  load(FLAGS(UP, "--identity-secret=" SECRET));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", NOW - 300), NOW, 1, "signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", NOW + 300), NOW, 1, "signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", NOW - 301), NOW, 0, "expired_signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", NOW + 301), NOW, 0, "expired_signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", 0), NOW, 0, "expired_signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", UINT64_MAX), NOW, 0, "expired_signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", 301), 0, 0, "expired_signature"));
  CHECK(resolve("192.0.2.1", "u", sign(SECRET, "u", 0), 300, 1, "signature"));
}

static void test_malformed_signatures(void) {
  static const char mac[] = "a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b";
  static const char *const bad[] = {
      "x",
      "t=",
      "t=1767225600",
      "t=1767225600,",
      "t=1767225600,v1=",
      "t=1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105",
      "t=1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b0",
      "t=1767225600,v1=g9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=1767225600,v0=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=1767225600, v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=1767225600;v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "T=1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b,t=1767225600",
      "t=01767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=-1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=+1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=99999999999999999999999,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "t=18446744073709551616,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "1767225600.a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      "a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b",
      NULL,
  };
  char sig[512];
  size_t i;
  load(FLAGS(UP, "--identity-secret=" SECRET));
  snprintf(sig, sizeof sig, "t=1767225600,v1=%s", mac);
  CHECK(resolve("192.0.2.1", "user-42", sig, NOW, 1, "signature")); /* the control */
  for (i = 0; bad[i] != NULL; i++)
    CHECK(resolve("192.0.2.1", "user-42", bad[i], NOW, 0, "bad_signature"));
  /* over IDENTITY_SIG_MAX */
  memset(sig, '0', sizeof sig);
  memcpy(sig, "t=", 2);
  sig[IDENTITY_SIG_MAX + 1] = '\0';
  CHECK(resolve("192.0.2.1", "user-42", sig, NOW, 0, "bad_signature"));
  /* an embedded NUL */
  snprintf(sig, sizeof sig, "t=1767225600,v1=%s", mac);
  sig[20] = '\0';
  CHECK(identity_resolve(&cfg, peer("192.0.2.1"), "user-42", 7, sig, strlen(mac) + 16, NOW,
                         &res) == 0);
  CHECK(!res.trusted && strcmp(res.reason, "bad_signature") == 0);
}

static void test_empty_secret(void) {
  load(FLAGS(UP));
  CHECK(cfg.identity.secret != NULL && cfg.identity.secret[0] == '\0');
  /* signatures are off: even one made with an empty key is not looked at */
  CHECK(resolve("192.0.2.1", "user-42", sign(SECRET, "user-42", NOW), NOW, 0, "untrusted_peer"));
  CHECK(resolve("192.0.2.1", "user-42", "garbage", NOW, 0, "untrusted_peer"));
  CHECK(resolve("127.0.0.1", "user-42", NULL, NOW, 1, "trusted_peer"));
}

int main(void) {
  RUN(test_trusted_peers);
  RUN(test_untrusted_peers);
  RUN(test_no_header_bad_id);
  RUN(test_sign);
  RUN(test_signature);
  RUN(test_signature_time);
  RUN(test_malformed_signatures);
  RUN(test_empty_secret);
  config_free(&cfg);
  return unit_report();
}
