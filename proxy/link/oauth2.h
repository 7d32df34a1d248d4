/* oauth2: an OAuth2 client: the authorization-code flow with PKCE, the
 * refresh_token grant and RFC 7009 revocation, honouring the catalog's
 * options (catalog.h: token_auth, authorize_params, revocation_url,
 * refresh).
 *
 * Two layers. Pure computation, no I/O: PKCE, the authorize URL, the
 * request bodies, the HTTP Basic client authentication header, the token
 * response. And the requests themselves (oauth2_exchange, oauth2_refresh,
 * oauth2_revoke), non-blocking over curlloop (curlloop.h) on the caller's
 * loop, answering through a callback with a status that tells the caller
 * what to do: -EKEYREJECTED (invalid_grant: the user must connect again)
 * apart from -EACCES (the application credential is wrong: the operator's
 * problem) and -EAGAIN (the provider is failing: try later).
 *
 * When the hosted link page connects an OAuth2 connector (DESIGN.md, "Link
 * service"), it mints a PKCE verifier and a state (oauth2_pkce_verifier,
 * oauth2_random_state), sends the browser to the provider with
 * oauth2_authorize_url (the S256 challenge of the verifier), and on
 * /_authrelay/oauth/callback exchanges the code at the token endpoint: the
 * POST body comes from oauth2_token_request_body, goes out over curlloop
 * (curlloop.h), and the answer is read by oauth2_parse_token_response.
 *
 * Verifiers, states, codes, client secrets and tokens are secrets: never log
 * them; wipe a token with oauth2_token_wipe, a dynbuf holding a request
 * body with OPENSSL_cleanse before dynbuf_free.
 */
#ifndef AUTHRELAY_OAUTH2_H
#define AUTHRELAY_OAUTH2_H

#include <stddef.h>

#include "catalog.h"
#include "curlloop.h"
#include "dynbuf.h"

#define OAUTH2_PKCE_LEN 43              /* verifier, challenge and state: base64url of 32 bytes */
#define OAUTH2_VALUE_MAX 2048           /* bytes in one value put in a URL or a body */
#define OAUTH2_RESPONSE_MAX 65536       /* bytes in a token response */
#define OAUTH2_JSON_DEPTH 16            /* nesting accepted in a token response */
#define OAUTH2_CLIENT_MAX 512           /* bytes of a client_id or client_secret in a Basic header */

/* What the token endpoint said. Strings are NUL-terminated, empty when
 * absent. */
typedef struct oauth2_token {
  char access_token[4096];
  char refresh_token[4096];
  char token_type[32];   /* "Bearer", as the provider spelled it */
  char error[128];       /* the OAuth error code ("invalid_grant"), on -EPROTO */
  long expires_in;       /* seconds; 0 when absent */
  long http_status;      /* set by the requests below: the answer's HTTP status, 0 when none */
} oauth2_token;

/* Writes a fresh PKCE code verifier (RFC 7636 4.1): 32 bytes from
 * RAND_bytes, base64url without padding, 43 characters and a NUL. Returns 0
 * or -EIO (no random bytes; out is then ""). */
int oauth2_pkce_verifier(char out[OAUTH2_PKCE_LEN + 1]);

/* Writes the S256 challenge of verifier (NUL-terminated, borrowed; 43 to
 * 128 characters of [A-Za-z0-9._~-]): base64url(SHA-256(verifier)) without
 * padding, 43 characters and a NUL. Returns 0, -EINVAL (not a verifier) or
 * -EIO (no SHA-256); out is "" on error. (An int, not void as first
 * sketched: a malformed verifier must not yield a challenge.) */
int oauth2_pkce_challenge(const char *verifier, char out[OAUTH2_PKCE_LEN + 1]);

/* Writes a fresh state value, shaped like a verifier. Returns 0 or -EIO. */
int oauth2_random_state(char out[OAUTH2_PKCE_LEN + 1]);

/* Appends to out the URL the browser is sent to: authorize_url, then '?'
 * (or '&' when it has a query already; nothing when it ends in '?' or '&'),
 * then response_type=code, client_id, redirect_uri, scope (left out when
 * scopes is NULL or ""), state, code_challenge and
 * code_challenge_method=S256, every value percent-encoded. All strings are
 * NUL-terminated and borrowed; every value but scopes is required and at
 * most OAUTH2_VALUE_MAX bytes. authorize_url: http:// or https://, no
 * fragment, no spaces or control characters. Returns 0, -EINVAL or a
 * dynbuf error; on error out is as it was. */
int oauth2_authorize_url(dynbuf *out, const char *authorize_url, const char *client_id,
                         const char *redirect_uri, const char *scopes, const char *state,
                         const char *challenge);

/* As oauth2_authorize_url, for connector cc (borrowed; an oauth2 one): its
 * authorize_url and scopes, then its authorize_params in order, each value
 * percent-encoded. A parameter authrelay sets itself
 * (catalog_param_reserved) is refused with -EINVAL even if cc did not come
 * from catalog_load. */
int oauth2_connector_authorize_url(dynbuf *out, const catalog_connector *cc, const char *client_id,
                                   const char *redirect_uri, const char *state, const char *challenge);

/* Appends "Authorization: Basic " and base64(id ":" secret), where id and
 * secret are client_id and client_secret each encoded with the
 * application/x-www-form-urlencoded algorithm first, as RFC 6749 2.3.1 says
 * (form_encode: unreserved bytes as they are, every other byte %XX, which
 * every form decoder reads back), so that a ':' in either cannot move the
 * split. client_id non-empty,
 * both at most OAUTH2_CLIENT_MAX bytes; client_secret may be "". Returns 0,
 * -EINVAL or a dynbuf error; on error out is as it was. out then holds a
 * secret. */
int oauth2_basic_auth_header(dynbuf *out, const char *client_id, const char *client_secret);

/* Appends the body of a refresh_token grant (RFC 6749 6):
 * grant_type=refresh_token, refresh_token, client_id and client_secret
 * (left out when NULL: a public client, or HTTP Basic). Limits as
 * oauth2_token_request_body. Returns 0, -EINVAL or a dynbuf error; on
 * error out is as it was. out then holds secrets. */
int oauth2_refresh_request_body(dynbuf *out, const char *refresh_token, const char *client_id,
                                const char *client_secret);

/* Appends the body of an RFC 7009 revocation request: token,
 * token_type_hint (NULL: left out; else "access_token" or
 * "refresh_token"), client_id, client_secret (left out when NULL). Returns
 * 0, -EINVAL or a dynbuf error; on error out is as it was. out then holds
 * secrets. */
int oauth2_revoke_request_body(dynbuf *out, const char *token, const char *token_type_hint,
                               const char *client_id, const char *client_secret);

/* Appends the application/x-www-form-urlencoded body of the token request
 * (RFC 6749 4.1.3 with RFC 7636 4.5): grant_type=authorization_code, code,
 * redirect_uri, client_id, client_secret (left out when NULL: a public
 * client, or one that authenticates with HTTP Basic) and code_verifier.
 * Strings NUL-terminated, borrowed, at most OAUTH2_VALUE_MAX bytes, all but
 * client_secret non-empty. Returns 0, -EINVAL or a dynbuf error; on error
 * out is as it was. out then holds secrets. */
int oauth2_token_request_body(dynbuf *out, const char *code, const char *redirect_uri,
                              const char *client_id, const char *client_secret,
                              const char *verifier);

/* Reads a token endpoint's JSON answer, body[0, len) (borrowed; need not be
 * NUL-terminated), into *tok (zeroed first). Returns 0 when it is an object
 * with an access_token; -EPROTO for an OAuth error object ({"error": ...}:
 * tok->error holds the code when it fits, and nothing else is filled), for
 * malformed JSON, more than OAUTH2_RESPONSE_MAX bytes or
 * OAUTH2_JSON_DEPTH levels, a missing or empty access_token, a value of the
 * wrong type, too long for its field or holding a control character, or a
 * negative expires_in; -ENOMEM. On error tok holds no token. Optional:
 * refresh_token, token_type, expires_in (an integer, or a string of digits
 * as some providers send); a null counts as absent. */
int oauth2_parse_token_response(const char *body, size_t len, oauth2_token *tok);

/* Wipes *tok (OPENSSL_cleanse). */
void oauth2_token_wipe(oauth2_token *tok);

/* ---- requests, over curlloop ---- */

typedef struct oauth2_req oauth2_req;

/* An application credential, as the requests below use it. */
typedef struct oauth2_client {
  const char *id;     /* client_id: required; borrowed for the call */
  const char *secret; /* client_secret: NULL for a public client; borrowed for the call */
} oauth2_client;

/* Called once per request that was not cancelled, on the loop, never from
 * inside the oauth2_* call that started it. status:
 *   0              success: tok holds the token (oauth2_exchange,
 *                  oauth2_refresh; refresh_token is "" when the provider
 *                  did not send one, i.e. did not rotate it on a refresh,
 *                  and always "" when the connector has refresh: false),
 *                  or the provider revoked the token (oauth2_revoke: tok
 *                  holds nothing; RFC 7009 answers 200 for an unknown
 *                  token too)
 *   -EKEYREJECTED  invalid_grant (or Slack's invalid_refresh_token): the
 *                  code or refresh token is invalid, expired or revoked;
 *                  on a refresh, the connection is broken
 *   -EACCES        invalid_client, unauthorized_client, or a 401: the
 *                  application credential is refused
 *   -EAGAIN        the provider answered 429 or 5xx without an OAuth error
 *                  code: it is failing or busy, try later
 *   -EPROTO        any other OAuth error (tok->error holds its code when it
 *                  fits), an answer that is not the JSON expected, or a
 *                  status outside 2xx
 *   -ENOMEM, or curlloop's transport errors (-ETIMEDOUT, -ECONNREFUSED,
 *   -E2BIG for an answer over OAUTH2_RESPONSE_MAX, ...).
 * tok->http_status is the answer's status (0 when none). tok is owned by
 * the request and wiped after cb returns: copy what you keep. ctx: as
 * given, not owned. */
typedef void (*oauth2_done_cb)(void *ctx, int status, oauth2_token *tok);

/* Starts the authorization-code exchange (RFC 6749 4.1.3, RFC 7636 4.5) at
 * cc's token_url, the client authenticated as cc->token_auth says: in the
 * body (client_secret_post), or with oauth2_basic_auth_header and no
 * client_secret in the body (client_secret_basic); a client without a
 * secret sends only its client_id. cc, client and the strings are borrowed
 * for the call only (everything is copied); timeout_ms as curlloop_request
 * (0: its default). Returns 0 (and, when out is not NULL, *out: the
 * request, valid until cb has run or it was cancelled), or -EINVAL (cc not
 * oauth2, a value missing or over its limit), -ENOMEM, or curlloop's
 * errors; cb does not run then. */
int oauth2_exchange(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                    const char *code, const char *redirect_uri, const char *verifier, long timeout_ms,
                    oauth2_done_cb cb, void *ctx, oauth2_req **out);

/* Starts a refresh_token grant at cc's token_url, authenticated as in
 * oauth2_exchange. Returns as oauth2_exchange, or -EOPNOTSUPP when cc says
 * refresh: false. */
int oauth2_refresh(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                   const char *refresh_token, long timeout_ms, oauth2_done_cb cb, void *ctx,
                   oauth2_req **out);

/* Starts an RFC 7009 revocation of token at cc's revocation_url, with
 * token_type_hint ("access_token", "refresh_token" or NULL), authenticated
 * as in oauth2_exchange. Returns as oauth2_exchange, or -EOPNOTSUPP when cc
 * has no revocation_url. */
int oauth2_revoke(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                  const char *token, const char *token_type_hint, long timeout_ms, oauth2_done_cb cb,
                  void *ctx, oauth2_req **out);

/* Abandons r: its callback will not run, r is freed. NULL, or r from inside
 * its own callback, is a no-op. */
void oauth2_cancel(oauth2_req *r);

#endif
