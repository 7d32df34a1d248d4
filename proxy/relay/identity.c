/* identity: who the registered user of a request is (see identity.h).
 *
 * The checks run in a fixed order: the id itself, then the peer, then the
 * signature, so that a trusted peer never pays for an HMAC and a malformed
 * header is refused whoever sent it.
 */
#include "identity.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "http.h"

#define MAC_LEN 32      /* SHA-256 */
#define TS_DIGITS_MAX 20 /* UINT64_MAX has 20 digits */

/* Bytes of the signed message: id "." t. */
#define MSG_MAX (IDENTITY_USER_MAX + 1 + TS_DIGITS_MAX)

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* Trims spaces and tabs at both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n) {
  while (*n > 0 && is_ows((*p)[0])) {
    (*p)++;
    (*n)--;
  }
  while (*n > 0 && is_ows((*p)[*n - 1]))
    (*n)--;
}

/* 1 when [p, p + n) is a well-formed user id. */
static int id_ok(const char *p, size_t n) {
  size_t i;
  if (n == 0 || n > IDENTITY_USER_MAX)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x21 || c > 0x7e)
      return 0;
  }
  return 1;
}

/* HMAC-SHA256(secret, id "." ts) into mac. ts is the decimal digits. */
static int compute_mac(const char *secret, size_t secret_len, const char *id, size_t id_len,
                       const char *ts, size_t ts_len, unsigned char mac[MAC_LEN]) {
  unsigned char msg[MSG_MAX];
  if (id_len > IDENTITY_USER_MAX || ts_len > TS_DIGITS_MAX || secret_len > INT_MAX)
    return -EINVAL;
  memcpy(msg, id, id_len);
  msg[id_len] = '.';
  memcpy(msg + id_len + 1, ts, ts_len);
  return crypto_hmac_sha256(secret, secret_len, msg, id_len + 1 + ts_len, mac);
}

/* The parts of "t=DIGITS,v1=HEX64". */
typedef struct sig_parts {
  const char *ts; /* the digits, borrowed from the header value */
  size_t ts_len;
  uint64_t t;
  unsigned char mac[MAC_LEN];
} sig_parts;

/* Parses a trimmed signature value. Returns 0 or -EINVAL. */
static int sig_parse(const char *p, size_t n, sig_parts *out) {
  size_t i = 0;
  uint64_t t = 0;
  if (n > IDENTITY_SIG_MAX || n < 2 || p[0] != 't' || p[1] != '=')
    return -EINVAL;
  i = 2;
  out->ts = p + i;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    unsigned d = (unsigned)(p[i] - '0');
    if (t > (UINT64_MAX - d) / 10)
      return -EINVAL;
    t = t * 10 + d;
    i++;
  }
  out->ts_len = (size_t)(p + i - out->ts);
  if (out->ts_len == 0 || out->ts_len > TS_DIGITS_MAX || (out->ts_len > 1 && out->ts[0] == '0'))
    return -EINVAL;
  out->t = t;
  if (n - i != 4 + 2 * MAC_LEN || memcmp(p + i, ",v1=", 4) != 0)
    return -EINVAL;
  i += 4;
  return crypto_unhex(p + i, 2 * MAC_LEN, out->mac, MAC_LEN);
}

static void set(identity_result *out, int trusted, const char *reason) {
  out->trusted = trusted;
  out->reason = reason;
}

int identity_resolve(const config_t *cfg, const struct sockaddr *peer, const char *id,
                     size_t id_len, const char *sig, size_t sig_len, uint64_t now_unix,
                     identity_result *out) {
  sig_parts sp;
  unsigned char mac[MAC_LEN];
  const char *secret;
  size_t secret_len;
  uint64_t skew;
  int rc;

  if (cfg == NULL || out == NULL)
    return -EINVAL;
  out->user[0] = '\0';
  out->user_len = 0;
  if (id != NULL)
    trim(&id, &id_len);
  if (id == NULL || id_len == 0) {
    set(out, 0, "no_header");
    return 0;
  }
  if (!id_ok(id, id_len)) {
    set(out, 0, "bad_id");
    return 0;
  }
  memcpy(out->user, id, id_len);
  out->user[id_len] = '\0';
  out->user_len = id_len;

  if (peer != NULL &&
      config_cidr_match(cfg->identity.trusted_cidrs, cfg->identity.ntrusted_cidrs, peer)) {
    set(out, 1, "trusted_peer");
    return 0;
  }
  secret = cfg->identity.secret;
  secret_len = secret != NULL ? strlen(secret) : 0;
  if (sig != NULL)
    trim(&sig, &sig_len);
  if (secret_len == 0 || sig == NULL || sig_len == 0) {
    set(out, 0, "untrusted_peer");
    return 0;
  }
  if (sig_parse(sig, sig_len, &sp) != 0) {
    set(out, 0, "bad_signature");
    return 0;
  }
  rc = compute_mac(secret, secret_len, id, id_len, sp.ts, sp.ts_len, mac);
  if (rc != 0) {
    set(out, 0, "bad_signature");
    return rc;
  }
  if (CRYPTO_memcmp(mac, sp.mac, MAC_LEN) != 0) {
    set(out, 0, "bad_signature");
    return 0;
  }
  skew = sp.t > now_unix ? sp.t - now_unix : now_unix - sp.t;
  if (skew > IDENTITY_SIG_SKEW_S) {
    set(out, 0, "expired_signature");
    return 0;
  }
  set(out, 1, "signature");
  return 0;
}

int identity_sign(const char *secret, size_t secret_len, const char *id, size_t id_len,
                  uint64_t ts, char *out, size_t outlen) {
  char digits[TS_DIGITS_MAX + 1];
  unsigned char mac[MAC_LEN];
  char buf[IDENTITY_SIG_BUF];
  size_t n;
  int len;
  int rc;

  if (out != NULL && outlen > 0)
    out[0] = '\0';
  if (secret == NULL || secret_len == 0 || id == NULL || !id_ok(id, id_len))
    return -EINVAL;
  len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)ts);
  if (len <= 0 || (size_t)len >= sizeof digits)
    return -EINVAL;
  rc = compute_mac(secret, secret_len, id, id_len, digits, (size_t)len, mac);
  if (rc != 0)
    return rc;
  n = (size_t)snprintf(buf, sizeof buf, "t=%s,v1=", digits);
  crypto_hex(mac, MAC_LEN, buf + n);
  n += 2 * MAC_LEN;
  OPENSSL_cleanse(mac, sizeof mac);
  if (out == NULL || n + 1 > outlen)
    return -ENOSPC;
  memcpy(out, buf, n + 1);
  return 0;
}
