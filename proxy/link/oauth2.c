/* oauth2: PKCE, the authorize URL, the token request body and the token
 * response (see oauth2.h).
 *
 * Random bytes and SHA-256 come from core/crypto (libcrypto). A
 * token response is checked first with yajl's event parser (syntax, nesting
 * depth, NUL in strings, no comments) and only then built into a tree, so
 * that yajl_tree's recursive free never meets a deep document and no string
 * is cut short by an embedded NUL.
 */
#include "oauth2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "crypto.h"
#include "form.h"
#include "json.h"
#include "url.h"

#define PKCE_RANDOM_BYTES 32
#define VERIFIER_MIN 43
#define VERIFIER_MAX 128
#define EXPIRES_IN_MAX (10L * 366 * 24 * 3600) /* ten years: anything longer is nonsense */

/* ---- base64url and random values ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes base64url(in[0, n)) without padding and a NUL to out, which holds
 * at least (4 * n + 2) / 3 + 1 bytes. */
static void base64url(const unsigned char *in, size_t n, char *out) {
  size_t i;
  size_t o = 0;
  for (i = 0; i + 3 <= n; i += 3) {
    unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64url[(v >> 18) & 63];
    out[o++] = b64url[(v >> 12) & 63];
    out[o++] = b64url[(v >> 6) & 63];
    out[o++] = b64url[v & 63];
  }
  if (n - i == 1) {
    unsigned long v = (unsigned long)in[i] << 16;
    out[o++] = b64url[(v >> 18) & 63];
    out[o++] = b64url[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
    out[o++] = b64url[(v >> 18) & 63];
    out[o++] = b64url[(v >> 12) & 63];
    out[o++] = b64url[(v >> 6) & 63];
  }
  out[o] = '\0';
}

static int random_value(char out[OAUTH2_PKCE_LEN + 1]) {
  unsigned char raw[PKCE_RANDOM_BYTES];
  out[0] = '\0';
  if (crypto_random(raw, sizeof raw) != 0)
    return -EIO;
  base64url(raw, sizeof raw, out);
  OPENSSL_cleanse(raw, sizeof raw);
  return 0;
}

int oauth2_pkce_verifier(char out[OAUTH2_PKCE_LEN + 1]) {
  return random_value(out);
}

int oauth2_random_state(char out[OAUTH2_PKCE_LEN + 1]) {
  return random_value(out);
}

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

int oauth2_pkce_challenge(const char *verifier, char out[OAUTH2_PKCE_LEN + 1]) {
  unsigned char md[CRYPTO_SHA256_BYTES];
  size_t len;
  size_t i;
  out[0] = '\0';
  if (verifier == NULL)
    return -EINVAL;
  len = strnlen(verifier, VERIFIER_MAX + 1);
  if (len < VERIFIER_MIN || len > VERIFIER_MAX)
    return -EINVAL;
  for (i = 0; i < len; i++)
    if (!is_unreserved((unsigned char)verifier[i]))
      return -EINVAL;
  crypto_sha256(verifier, len, md);
  base64url(md, sizeof md, out);
  return 0;
}

/* ---- URLs and forms ---- */

/* 1 when s is a non-empty value of at most OAUTH2_VALUE_MAX bytes. */
static int value_ok(const char *s) {
  size_t len;
  if (s == NULL)
    return 0;
  len = strnlen(s, OAUTH2_VALUE_MAX + 1);
  return len > 0 && len <= OAUTH2_VALUE_MAX;
}

/* 1 when url is an http(s) URL of at most OAUTH2_VALUE_MAX bytes without
 * a fragment (url_check's rules). */
static int endpoint_ok(const char *url) {
  return url != NULL && url_check(url, OAUTH2_VALUE_MAX, URL_NO_FRAGMENT) == 0;
}

int oauth2_authorize_url(dynbuf *out, const char *authorize_url, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *challenge) {
  size_t start = out->len;
  size_t ulen;
  const char *sep;
  int rc;
  if (!endpoint_ok(authorize_url) || !value_ok(client_id) || !value_ok(redirect_uri) ||
      !value_ok(state) || !value_ok(challenge))
    return -EINVAL;
  if (scopes != NULL && scopes[0] != '\0' && !value_ok(scopes))
    return -EINVAL;
  ulen = strlen(authorize_url);
  if (authorize_url[ulen - 1] == '?' || authorize_url[ulen - 1] == '&')
    sep = "";
  else if (strchr(authorize_url, '?') != NULL)
    sep = "&";
  else
    sep = "?";
  rc = dynbuf_add(out, authorize_url, ulen);
  if (rc == 0)
    rc = form_add(out, sep, "response_type", "code");
  if (rc == 0)
    rc = form_add(out, "&", "client_id", client_id);
  if (rc == 0)
    rc = form_add(out, "&", "redirect_uri", redirect_uri);
  if (rc == 0 && scopes != NULL && scopes[0] != '\0')
    rc = form_add(out, "&", "scope", scopes);
  if (rc == 0)
    rc = form_add(out, "&", "state", state);
  if (rc == 0)
    rc = form_add(out, "&", "code_challenge", challenge);
  if (rc == 0)
    rc = form_add(out, "&", "code_challenge_method", "S256");
  if (rc != 0)
    out->len = start;
  return rc;
}

int oauth2_token_request_body(dynbuf *out, const char *code, const char *redirect_uri,
                              const char *client_id, const char *client_secret,
                              const char *verifier) {
  size_t start = out->len;
  int rc;
  if (!value_ok(code) || !value_ok(redirect_uri) || !value_ok(client_id) || !value_ok(verifier))
    return -EINVAL;
  if (client_secret != NULL && strnlen(client_secret, OAUTH2_VALUE_MAX + 1) > OAUTH2_VALUE_MAX)
    return -EINVAL;
  rc = form_add(out, "", "grant_type", "authorization_code");
  if (rc == 0)
    rc = form_add(out, "&", "code", code);
  if (rc == 0)
    rc = form_add(out, "&", "redirect_uri", redirect_uri);
  if (rc == 0)
    rc = form_add(out, "&", "client_id", client_id);
  if (rc == 0 && client_secret != NULL)
    rc = form_add(out, "&", "client_secret", client_secret);
  if (rc == 0)
    rc = form_add(out, "&", "code_verifier", verifier);
  if (rc != 0) {
    OPENSSL_cleanse(out->ptr + start, out->len - start);
    out->len = start;
  }
  return rc;
}

/* ---- the token response ---- */

/* The value at key in object root, or NULL when absent or null. */
static yajl_val member(yajl_val root, const char *key) {
  const char *path[2];
  yajl_val v;
  path[0] = key;
  path[1] = NULL;
  v = yajl_tree_get(root, path, yajl_t_any);
  if (v == NULL || YAJL_IS_NULL(v))
    return NULL;
  return v;
}

/* Copies the string value v into dst (cap bytes with the NUL). Returns 0,
 * or -EPROTO when v is not a string, is empty, does not fit, or holds a
 * byte outside lo..0x7e. */
static int copy_string(yajl_val v, char *dst, size_t cap, unsigned char lo) {
  const char *s;
  size_t len;
  size_t i;
  if (!YAJL_IS_STRING(v))
    return -EPROTO;
  s = YAJL_GET_STRING(v);
  len = strnlen(s, cap);
  if (len == 0 || len >= cap)
    return -EPROTO;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
      return -EPROTO;
  memcpy(dst, s, len + 1);
  return 0;
}

/* Reads expires_in: an integer, or a string of digits. */
static int read_expires(yajl_val v, long *out) {
  long n = 0;
  if (YAJL_IS_INTEGER(v)) {
    long long i = YAJL_GET_INTEGER(v);
    if (i < 0 || i > EXPIRES_IN_MAX)
      return -EPROTO;
    n = (long)i;
  } else if (YAJL_IS_STRING(v)) {
    const char *s = YAJL_GET_STRING(v);
    size_t i;
    if (s[0] == '\0')
      return -EPROTO;
    for (i = 0; s[i] != '\0'; i++) {
      if (s[i] < '0' || s[i] > '9')
        return -EPROTO;
      n = n * 10 + (s[i] - '0');
      if (n > EXPIRES_IN_MAX)
        return -EPROTO;
    }
  } else {
    return -EPROTO;
  }
  *out = n;
  return 0;
}

/* Fills tok from the object root. */
static int read_token(yajl_val root, oauth2_token *tok) {
  yajl_val v;
  int rc;
  if (!YAJL_IS_OBJECT(root))
    return -EPROTO;
  v = member(root, "error");
  if (v != NULL) {
    if (copy_string(v, tok->error, sizeof tok->error, 0x20) != 0)
      tok->error[0] = '\0';
    return -EPROTO;
  }
  v = member(root, "access_token");
  if (v == NULL)
    return -EPROTO;
  rc = copy_string(v, tok->access_token, sizeof tok->access_token, 0x20);
  v = member(root, "refresh_token");
  if (rc == 0 && v != NULL)
    rc = copy_string(v, tok->refresh_token, sizeof tok->refresh_token, 0x20);
  v = member(root, "token_type");
  if (rc == 0 && v != NULL)
    rc = copy_string(v, tok->token_type, sizeof tok->token_type, 0x21);
  v = member(root, "expires_in");
  if (rc == 0 && v != NULL)
    rc = read_expires(v, &tok->expires_in);
  return rc;
}

int oauth2_parse_token_response(const char *body, size_t len, oauth2_token *tok) {
  char *text;
  yajl_val root;
  int rc;
  memset(tok, 0, sizeof *tok);
  if (body == NULL || len == 0 || len > OAUTH2_RESPONSE_MAX)
    return -EPROTO;
  text = malloc(len + 1);
  if (text == NULL)
    return -ENOMEM;
  memcpy(text, body, len);
  text[len] = '\0';
  rc = json_parse(text, len, OAUTH2_JSON_DEPTH, 0, &root, NULL);
  OPENSSL_cleanse(text, len);
  free(text);
  if (rc != 0)
    return rc == -EINVAL ? -EPROTO : rc;
  rc = read_token(root, tok);
  yajl_tree_free(root);
  if (rc != 0) {
    char error[sizeof tok->error];
    memcpy(error, tok->error, sizeof error);
    oauth2_token_wipe(tok);
    memcpy(tok->error, error, sizeof error);
  }
  return rc;
}

void oauth2_token_wipe(oauth2_token *tok) {
  OPENSSL_cleanse(tok, sizeof *tok);
}
