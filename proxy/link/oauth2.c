/* oauth2: PKCE, the authorize URL, the request bodies, the token
 * response, and the requests over curlloop (see oauth2.h).
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
#include <openssl/evp.h>
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
#define BASIC_RAW_MAX (6 * OAUTH2_CLIENT_MAX + 1) /* id ":" secret, every byte as %XX */

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

/* oauth2_authorize_url with params[0, nparams) after authrelay's own. */
static int build_authorize_url(dynbuf *out, const char *authorize_url, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *challenge, const catalog_param *params, size_t nparams) {
  size_t start = out->len;
  size_t ulen;
  size_t i;
  const char *sep;
  int rc;
  if (!endpoint_ok(authorize_url) || !value_ok(client_id) || !value_ok(redirect_uri) ||
      !value_ok(state) || !value_ok(challenge))
    return -EINVAL;
  if (scopes != NULL && scopes[0] != '\0' && !value_ok(scopes))
    return -EINVAL;
  for (i = 0; i < nparams; i++) {
    const char *name = params[i].name;
    if (name[0] == '\0' || strchr(name, '=') != NULL || strchr(name, '&') != NULL ||
        catalog_param_reserved(name, scopes != NULL && scopes[0] != '\0') ||
        strnlen(params[i].value, OAUTH2_VALUE_MAX + 1) > OAUTH2_VALUE_MAX)
      return -EINVAL;
  }
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
  for (i = 0; i < nparams && rc == 0; i++) {
    rc = dynbuf_add(out, "&", 1);
    if (rc == 0)
      rc = form_encode(out, params[i].name, strlen(params[i].name));
    if (rc == 0)
      rc = dynbuf_add(out, "=", 1);
    if (rc == 0)
      rc = form_encode(out, params[i].value, strlen(params[i].value));
  }
  if (rc != 0)
    out->len = start;
  return rc;
}

int oauth2_authorize_url(dynbuf *out, const char *authorize_url, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *challenge) {
  return build_authorize_url(out, authorize_url, client_id, redirect_uri, scopes, state, challenge, NULL, 0);
}

int oauth2_connector_authorize_url(dynbuf *out, const catalog_connector *cc, const char *client_id,
                                   const char *redirect_uri, const char *state, const char *challenge) {
  if (cc->auth != CATALOG_OAUTH2 || cc->nauthorize_params > CATALOG_PARAMS_MAX)
    return -EINVAL;
  return build_authorize_url(out, cc->authorize_url, client_id, redirect_uri, cc->scopes, state, challenge,
                       cc->authorize_params, cc->nauthorize_params);
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

/* Undoes a failed append to out: wipes and drops what came after start. */
static int undo(dynbuf *out, size_t start, int rc) {
  OPENSSL_cleanse(out->ptr + start, out->len - start);
  out->len = start;
  return rc;
}

int oauth2_basic_auth_header(dynbuf *out, const char *client_id, const char *client_secret) {
  static const char prefix[] = "Authorization: Basic ";
  unsigned char b64[4 * ((BASIC_RAW_MAX + 2) / 3) + 1];
  size_t start = out->len;
  size_t id_len;
  dynbuf raw;
  int n = 0;
  int rc;
  if (client_id == NULL || client_secret == NULL)
    return -EINVAL;
  id_len = strnlen(client_id, OAUTH2_CLIENT_MAX + 1);
  if (id_len == 0 || id_len > OAUTH2_CLIENT_MAX || strnlen(client_secret, OAUTH2_CLIENT_MAX + 1) > OAUTH2_CLIENT_MAX)
    return -EINVAL;
  dynbuf_init(&raw, BASIC_RAW_MAX + 1);
  rc = form_encode(&raw, client_id, strlen(client_id));
  if (rc == 0)
    rc = dynbuf_add(&raw, ":", 1);
  if (rc == 0)
    rc = form_encode(&raw, client_secret, strlen(client_secret));
  if (rc == 0)
    n = EVP_EncodeBlock(b64, (const unsigned char *)raw.ptr, (int)raw.len);
  if (rc == 0)
    rc = dynbuf_add(out, prefix, sizeof prefix - 1);
  if (rc == 0)
    rc = dynbuf_add(out, b64, (size_t)n);
  OPENSSL_cleanse(b64, sizeof b64);
  if (raw.ptr != NULL)
    OPENSSL_cleanse(raw.ptr, raw.len);
  dynbuf_free(&raw);
  return rc != 0 ? undo(out, start, rc) : 0;
}

int oauth2_refresh_request_body(dynbuf *out, const char *refresh_token, const char *client_id,
                                const char *client_secret) {
  size_t start = out->len;
  int rc;
  if (!value_ok(refresh_token) || !value_ok(client_id))
    return -EINVAL;
  if (client_secret != NULL && strnlen(client_secret, OAUTH2_VALUE_MAX + 1) > OAUTH2_VALUE_MAX)
    return -EINVAL;
  rc = form_add(out, "", "grant_type", "refresh_token");
  if (rc == 0)
    rc = form_add(out, "&", "refresh_token", refresh_token);
  if (rc == 0)
    rc = form_add(out, "&", "client_id", client_id);
  if (rc == 0 && client_secret != NULL)
    rc = form_add(out, "&", "client_secret", client_secret);
  return rc != 0 ? undo(out, start, rc) : 0;
}

int oauth2_revoke_request_body(dynbuf *out, const char *token, const char *token_type_hint,
                               const char *client_id, const char *client_secret) {
  size_t start = out->len;
  int rc;
  if (!value_ok(token) || !value_ok(client_id))
    return -EINVAL;
  if (token_type_hint != NULL && strcmp(token_type_hint, "access_token") != 0 &&
      strcmp(token_type_hint, "refresh_token") != 0)
    return -EINVAL;
  if (client_secret != NULL && strnlen(client_secret, OAUTH2_VALUE_MAX + 1) > OAUTH2_VALUE_MAX)
    return -EINVAL;
  rc = form_add(out, "", "token", token);
  if (rc == 0 && token_type_hint != NULL)
    rc = form_add(out, "&", "token_type_hint", token_type_hint);
  if (rc == 0)
    rc = form_add(out, "&", "client_id", client_id);
  if (rc == 0 && client_secret != NULL)
    rc = form_add(out, "&", "client_secret", client_secret);
  return rc != 0 ? undo(out, start, rc) : 0;
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

/* ---- requests, over curlloop ---- */

struct oauth2_req {
  curlloop_req *req;   /* the transfer; NULL once answered */
  oauth2_done_cb cb;
  void *ctx;           /* not owned */
  int revoke;          /* an RFC 7009 request: success is a 200, no token */
  int drop_refresh;    /* the connector says refresh: false: never hand out a refresh token */
  int in_callback;     /* cb is running: oauth2_cancel is a no-op */
};

/* The status for an OAuth error code (oauth2.h, oauth2_done_cb). */
static int error_status(const char *code) {
  if (strcmp(code, "invalid_grant") == 0 || strcmp(code, "invalid_refresh_token") == 0)
    return -EKEYREJECTED; /* invalid_refresh_token: Slack's name for it */
  if (strcmp(code, "invalid_client") == 0 || strcmp(code, "unauthorized_client") == 0)
    return -EACCES;
  return -EPROTO;
}

/* The status of an answer with no OAuth error code. */
static int http_status(long code) {
  if (code == 401)
    return -EACCES;
  if (code == 429 || code >= 500)
    return -EAGAIN;
  return -EPROTO;
}

/* Reads a token endpoint's answer into tok. */
static int token_answer(long code, const char *body, size_t len, oauth2_token *tok) {
  int rc = oauth2_parse_token_response(body, len, tok);
  if (rc == -ENOMEM)
    return rc;
  if (tok->error[0] != '\0')
    return error_status(tok->error);
  if (code < 200 || code > 299) {
    oauth2_token_wipe(tok);
    return http_status(code);
  }
  return rc;
}

/* Reads a revocation endpoint's answer (RFC 7009 2.2) into tok (an error
 * code at most). */
static int revoke_answer(long code, const char *body, size_t len, oauth2_token *tok) {
  if (code == 200)
    return 0;
  (void)oauth2_parse_token_response(body, len, tok);
  if (tok->error[0] != '\0')
    return error_status(tok->error);
  return http_status(code);
}

static void on_answer(void *ctx, int status, long http_code, const char *body, size_t len) {
  oauth2_req *r = ctx;
  oauth2_token tok;
  int rc = status;
  memset(&tok, 0, sizeof tok);
  r->req = NULL;
  if (rc == 0)
    rc = r->revoke ? revoke_answer(http_code, body, len, &tok) : token_answer(http_code, body, len, &tok);
  if (rc == 0 && r->drop_refresh)
    OPENSSL_cleanse(tok.refresh_token, sizeof tok.refresh_token);
  tok.http_status = http_code;
  r->in_callback = 1;
  r->cb(r->ctx, rc, &tok);
  oauth2_token_wipe(&tok);
  free(r);
}

/* Wipes and frees b. */
static void wipe(dynbuf *b) {
  if (b->ptr != NULL)
    OPENSSL_cleanse(b->ptr, b->len);
  dynbuf_free(b);
}

/* POSTs body (a form) to url with the header auth (NULL for none), then
 * answers through cb. Borrows its arguments for the call only. */
static int post_form(curlloop_t *cl, const char *url, const dynbuf *body, const char *auth, long timeout_ms,
                     int revoke, int drop_refresh, oauth2_done_cb cb, void *ctx, oauth2_req **out) {
  const char *headers[4] = {"Accept: application/json", "Content-Type: application/x-www-form-urlencoded",
                            auth, NULL};
  oauth2_req *r;
  int rc;
  if (!endpoint_ok(url) || cb == NULL)
    return -EINVAL;
  r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->cb = cb;
  r->ctx = ctx;
  r->revoke = revoke;
  r->drop_refresh = drop_refresh;
  rc = curlloop_request(cl, "POST", url, headers, body->ptr, body->len, timeout_ms, OAUTH2_RESPONSE_MAX,
                        on_answer, r, &r->req);
  if (rc != 0) {
    free(r);
    return rc;
  }
  if (out != NULL)
    *out = r;
  return 0;
}

typedef enum request_kind { REQ_EXCHANGE, REQ_REFRESH, REQ_REVOKE } request_kind;

/* Builds the body of a request of kind (values a, b, c as the public
 * functions name them), authenticates the client as cc says, and sends. */
static int start_request(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                         request_kind kind, const char *a, const char *b, const char *c, long timeout_ms,
                         oauth2_done_cb cb, void *ctx, oauth2_req **out) {
  dynbuf basic;
  dynbuf body;
  const char *secret;
  int rc = 0;
  if (cc->auth != CATALOG_OAUTH2 || client == NULL || client->id == NULL)
    return -EINVAL;
  if (kind == REQ_REFRESH && !cc->refresh)
    return -EOPNOTSUPP;
  if (kind == REQ_REVOKE && cc->revocation_url[0] == '\0')
    return -EOPNOTSUPP;
  dynbuf_init(&basic, CURLLOOP_HEADER_MAX);
  dynbuf_init(&body, CURLLOOP_BODY_MAX);
  secret = client->secret;
  if (cc->token_auth == CATALOG_SECRET_BASIC && client->secret != NULL) {
    secret = NULL; /* RFC 6749 2.3.1: one method per request, and the secret never in the body */
    rc = oauth2_basic_auth_header(&basic, client->id, client->secret);
    if (rc == 0)
      rc = dynbuf_add(&basic, "", 1);
  }
  if (rc == 0 && kind == REQ_EXCHANGE)
    rc = oauth2_token_request_body(&body, a, b, client->id, secret, c);
  else if (rc == 0 && kind == REQ_REFRESH)
    rc = oauth2_refresh_request_body(&body, a, client->id, secret);
  else if (rc == 0)
    rc = oauth2_revoke_request_body(&body, a, b, client->id, secret);
  if (rc == 0)
    rc = post_form(cl, kind == REQ_REVOKE ? cc->revocation_url : cc->token_url, &body,
                   basic.len > 0 ? basic.ptr : NULL, timeout_ms, kind == REQ_REVOKE, !cc->refresh, cb, ctx,
                   out);
  wipe(&basic);
  wipe(&body);
  return rc;
}

int oauth2_exchange(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                    const char *code, const char *redirect_uri, const char *verifier, long timeout_ms,
                    oauth2_done_cb cb, void *ctx, oauth2_req **out) {
  return start_request(cl, cc, client, REQ_EXCHANGE, code, redirect_uri, verifier, timeout_ms, cb, ctx, out);
}

int oauth2_refresh(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                   const char *refresh_token, long timeout_ms, oauth2_done_cb cb, void *ctx,
                   oauth2_req **out) {
  return start_request(cl, cc, client, REQ_REFRESH, refresh_token, NULL, NULL, timeout_ms, cb, ctx, out);
}

int oauth2_revoke(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                  const char *token, const char *token_type_hint, long timeout_ms, oauth2_done_cb cb,
                  void *ctx, oauth2_req **out) {
  return start_request(cl, cc, client, REQ_REVOKE, token, token_type_hint, NULL, timeout_ms, cb, ctx, out);
}

void oauth2_cancel(oauth2_req *r) {
  if (r == NULL || r->in_callback)
    return;
  curlloop_cancel(r->req);
  free(r);
}
