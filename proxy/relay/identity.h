/* identity: who the registered user of a request is, and whether to believe it.
 *
 * A detection pauses a stream only for a trusted registered user (DESIGN.md,
 * "Identity"); the user then keys the link service: one link per (user,
 * connector). The exchange reads two request headers and hands their values
 * to identity_resolve() together with the peer address:
 *
 *   config_t.identity.header (default X-Registered-User-Id): the user id,
 *     1 to IDENTITY_USER_MAX bytes of visible ASCII (0x21-0x7e: no spaces,
 *     no control bytes, nothing past ASCII). Surrounding spaces and tabs
 *     are trimmed; anything else is refused ("bad_id").
 *   X-Registered-User-Sig (IDENTITY_SIG_HEADER): consulted only when the
 *     peer is not in identity.trusted_cidrs and identity.secret is set.
 *
 * The signature header has the form of the Authrelay-Signature webhook
 * header, so a front-end developer meets one format only:
 *
 *   X-Registered-User-Id: user-42
 *   X-Registered-User-Sig: t=1767225600,v1=a9ee86675be5f699f9b54f0976abd9579c34be2d1ca5ea33da3125b3193b105b
 *
 * (secret "s3cret": HMAC-SHA256("s3cret", "user-42.1767225600")), where
 *
 *   t   Unix time in seconds, decimal, no sign, no leading zeros;
 *   v1  hex(HMAC-SHA256(identity.secret, id + "." + t)): 64 hex digits
 *       (either case), id being the exact user id sent (after trimming)
 *       and t the digits exactly as they appear after "t=".
 *
 * In that order, one comma, no spaces inside (surrounding spaces are
 * trimmed). The signature is accepted when t is within IDENTITY_SIG_SKEW_S
 * (300) seconds of now, either way. In a shell:
 *
 *   t=$(date +%s); id=user-42
 *   sig=$(printf '%s.%s' "$id" "$t" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
 *   curl -H "X-Registered-User-Id: $id" -H "X-Registered-User-Sig: t=$t,v1=$sig" ...
 *
 * The MAC is compared in constant time (CRYPTO_memcmp). An empty secret
 * disables signatures: only trusted peers are believed. A trusted peer needs
 * no signature, and one it sends is not looked at.
 *
 * Pure functions: no I/O, no state, safe from any thread; the config_t is
 * only read.
 */
#ifndef AUTHRELAY_IDENTITY_H
#define AUTHRELAY_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

#define IDENTITY_USER_MAX 256  /* bytes in a user id */
#define IDENTITY_SIG_MAX 128   /* bytes in a signature header value, trimmed */
#define IDENTITY_SIG_SKEW_S 300 /* seconds a signature's t may be off from now */
#define IDENTITY_SIG_HEADER "X-Registered-User-Sig"
/* Room for identity_sign()'s output: "t=" 20 digits ",v1=" 64 hex, NUL. */
#define IDENTITY_SIG_BUF 96

typedef struct identity_result {
  int trusted;        /* 1: user is the registered user; 0: do not pause */
  const char *reason; /* static string, see identity_resolve() */
  char user[IDENTITY_USER_MAX + 1]; /* the trimmed id, NUL-terminated; "" when
                                       there was no header or it was refused */
  size_t user_len;
} identity_result;

/* Decides the registered user of a request.
 *
 * peer: the client's address (AF_INET or AF_INET6), may be NULL (untrusted).
 * id/id_len: the value of the identity header, or NULL when absent.
 * sig/sig_len: the value of X-Registered-User-Sig, or NULL when absent.
 * now_unix: the wall clock, seconds since the Unix epoch.
 * All are borrowed for the call; out is filled in whatever the outcome.
 *
 * Returns 0 with out->trusted and out->reason one of:
 *   trusted = 1: "trusted_peer" (peer in identity.trusted_cidrs),
 *                "signature" (a valid X-Registered-User-Sig);
 *   trusted = 0: "no_header" (no id, or an empty one), "bad_id" (too long
 *                or a byte outside 0x21-0x7e), "untrusted_peer" (peer not
 *                trusted and no signature to check: none sent, or the
 *                secret is empty), "bad_signature" (malformed, or a MAC that
 *                does not match), "expired_signature" (t more than
 *                IDENTITY_SIG_SKEW_S away from now_unix, either way).
 * out->user holds the id whenever it was well formed, trusted or not (for
 * the warning logged about an unhandled detection).
 * Returns -EINVAL (out untouched) when cfg or out is NULL, or -EIO when the
 * HMAC could not be computed. */
int identity_resolve(const config_t *cfg, const struct sockaddr *peer, const char *id,
                     size_t id_len, const char *sig, size_t sig_len, uint64_t now_unix,
                     identity_result *out);

/* Writes the X-Registered-User-Sig value for id at Unix time ts, with key
 * secret[0, secret_len), NUL-terminated into out[0, outlen) (IDENTITY_SIG_BUF
 * is always enough). For tests, docs and front ends written in C. id must be
 * a well-formed user id (1 to IDENTITY_USER_MAX visible ASCII bytes, no
 * trimming is done). Returns 0, -EINVAL (empty secret, bad id), -ENOSPC (out
 * too small; out is then "" when outlen > 0) or -EIO. */
int identity_sign(const char *secret, size_t secret_len, const char *id, size_t id_len,
                  uint64_t ts, char *out, size_t outlen);

#endif
