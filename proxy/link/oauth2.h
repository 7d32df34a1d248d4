/* oauth2: the pieces of an OAuth2 authorization-code flow with PKCE that
 * are pure computation, no I/O.
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

#include "dynbuf.h"

#define OAUTH2_PKCE_LEN 43              /* verifier, challenge and state: base64url of 32 bytes */
#define OAUTH2_VALUE_MAX 2048           /* bytes in one value put in a URL or a body */
#define OAUTH2_RESPONSE_MAX 65536       /* bytes in a token response */
#define OAUTH2_JSON_DEPTH 16            /* nesting accepted in a token response */

/* What the token endpoint said. Strings are NUL-terminated, empty when
 * absent. */
typedef struct oauth2_token {
  char access_token[4096];
  char refresh_token[4096];
  char token_type[32];   /* "Bearer", as the provider spelled it */
  char error[128];       /* the OAuth error code ("invalid_grant"), on -EPROTO */
  long expires_in;       /* seconds; 0 when absent */
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

#endif
