/* test_oauth2: unit tests of proxy/oauth2.c: PKCE against RFC 7636
 * appendix B, random values, percent-encoding, the authorize URL (with a
 * connector's authorize_params: encoded, in order, those authrelay sets
 * itself refused), the HTTP Basic client authentication header (RFC 6749
 * 2.3.1's own example, form-encoding before base64, limits), the token,
 * refresh and revocation request bodies, and token responses good and bad.
 * The requests themselves: test_oauth2_requests.c and, against the
 * stand-in provider, test_oauth2_standin.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2.h"
#include "unit.h"

#define RFC7636_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC7636_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static int all_base64url(const char *s) {
  for (; *s != '\0'; s++) {
    char c = *s;
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

static void pkce_rfc7636_vector(void) {
  char out[OAUTH2_PKCE_LEN + 1];
  CHECK(oauth2_pkce_challenge(RFC7636_VERIFIER, out) == 0);
  CHECK(strcmp(out, RFC7636_CHALLENGE) == 0);
}

static void pkce_bad_verifiers(void) {
  char out[OAUTH2_PKCE_LEN + 1];
  char longv[200];
  memset(longv, 'a', sizeof longv - 1);
  longv[sizeof longv - 1] = '\0';
  CHECK(oauth2_pkce_challenge("short", out) == -EINVAL);
  CHECK(out[0] == '\0');
  CHECK(oauth2_pkce_challenge(longv, out) == -EINVAL); /* over 128 */
  longv[128] = '\0';
  CHECK(oauth2_pkce_challenge(longv, out) == 0);       /* exactly 128 */
  CHECK(oauth2_pkce_challenge("dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out) == -EINVAL);
  CHECK(oauth2_pkce_challenge(NULL, out) == -EINVAL);
}

static void random_values(void) {
  char a[OAUTH2_PKCE_LEN + 1];
  char b[OAUTH2_PKCE_LEN + 1];
  char s[OAUTH2_PKCE_LEN + 1];
  char c[OAUTH2_PKCE_LEN + 1];
  CHECK(oauth2_pkce_verifier(a) == 0);
  CHECK(oauth2_pkce_verifier(b) == 0);
  CHECK(oauth2_random_state(s) == 0);
  CHECK_EQ_U64(strlen(a), 43);
  CHECK_EQ_U64(strlen(s), 43);
  CHECK(all_base64url(a) && all_base64url(b) && all_base64url(s));
  CHECK(strcmp(a, b) != 0);
  CHECK(strcmp(a, s) != 0);
  CHECK(oauth2_pkce_challenge(a, c) == 0); /* a generated verifier is a valid one */
  CHECK_EQ_U64(strlen(c), 43);
}

static void authorize_url(void) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(oauth2_authorize_url(&b, "https://idp.example/oauth/authorize", "my client",
                             "http://127.0.0.1:8080/_authrelay/oauth/callback", "read write:all",
                             "st_1", RFC7636_CHALLENGE) == 0);
  CHECK_MEM(b.ptr, b.len,
            "https://idp.example/oauth/authorize?response_type=code&client_id=my%20client"
            "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F_authrelay%2Foauth%2Fcallback"
            "&scope=read%20write%3Aall&state=st_1&code_challenge=" RFC7636_CHALLENGE
            "&code_challenge_method=S256");
  b.len = 0;
  /* a query already there; no scope */
  CHECK(oauth2_authorize_url(&b, "https://idp.example/auth?tenant=x", "c", "https://r/cb", NULL,
                             "s", "ch") == 0);
  CHECK_MEM(b.ptr, b.len,
            "https://idp.example/auth?tenant=x&response_type=code&client_id=c"
            "&redirect_uri=https%3A%2F%2Fr%2Fcb&state=s&code_challenge=ch"
            "&code_challenge_method=S256");
  b.len = 0;
  CHECK(oauth2_authorize_url(&b, "https://idp.example/auth?", "c", "https://r/cb", "", "s",
                             "ch") == 0);
  CHECK(strncmp(b.ptr, "https://idp.example/auth?response_type=code&", 44) == 0);
  /* refused, out unchanged */
  b.len = 3;
  CHECK(oauth2_authorize_url(&b, "https://idp.example/auth#frag", "c", "r", NULL, "s", "ch") ==
        -EINVAL);
  CHECK(oauth2_authorize_url(&b, "ftp://idp.example/auth", "c", "r", NULL, "s", "ch") == -EINVAL);
  CHECK(oauth2_authorize_url(&b, "https://idp example/", "c", "r", NULL, "s", "ch") == -EINVAL);
  CHECK(oauth2_authorize_url(&b, "https://idp.example/", "", "r", NULL, "s", "ch") == -EINVAL);
  CHECK(oauth2_authorize_url(&b, "https://idp.example/", "c", "r", NULL, NULL, "ch") == -EINVAL);
  CHECK_EQ_U64(b.len, 3);
  dynbuf_free(&b);
  /* too small a buffer: out unchanged */
  dynbuf_init(&b, 64);
  CHECK(oauth2_authorize_url(&b, "https://idp.example/oauth/authorize", "client", "https://r/cb",
                             "s", "st", "ch") == -E2BIG);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
}

static void token_request_body(void) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(oauth2_token_request_body(&b, "c/1+2", "https://r/cb?x=1", "cid", "s&cret",
                                  RFC7636_VERIFIER) == 0);
  CHECK_MEM(b.ptr, b.len,
            "grant_type=authorization_code&code=c%2F1%2B2&redirect_uri=https%3A%2F%2Fr%2Fcb%3Fx%3D1"
            "&client_id=cid&client_secret=s%26cret&code_verifier=" RFC7636_VERIFIER);
  b.len = 0;
  CHECK(oauth2_token_request_body(&b, "code", "https://r/cb", "cid", NULL, "v") == 0);
  CHECK_MEM(b.ptr, b.len,
            "grant_type=authorization_code&code=code&redirect_uri=https%3A%2F%2Fr%2Fcb"
            "&client_id=cid&code_verifier=v");
  b.len = 0;
  CHECK(oauth2_token_request_body(&b, "", "https://r/cb", "cid", NULL, "v") == -EINVAL);
  CHECK(oauth2_token_request_body(&b, "code", "https://r/cb", "cid", NULL, NULL) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
}

static void connector_authorize_url(void) {
  catalog_connector cc;
  dynbuf b;
  memset(&cc, 0, sizeof cc);
  cc.auth = CATALOG_OAUTH2;
  strcpy(cc.authorize_url, "https://auth.example/authorize");
  strcpy(cc.scopes, "read offline_access");
  strcpy(cc.authorize_params[0].name, "audience");
  strcpy(cc.authorize_params[0].value, "api.atlassian.com");
  strcpy(cc.authorize_params[1].name, "prompt");
  strcpy(cc.authorize_params[1].value, "consent");
  strcpy(cc.authorize_params[2].name, "x.y~z");
  strcpy(cc.authorize_params[2].value, "\xc3\xa9 &=?#+/");
  cc.nauthorize_params = 3;
  dynbuf_init(&b, 4096);
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == 0);
  CHECK_MEM(b.ptr, b.len,
            "https://auth.example/authorize?response_type=code&client_id=cid&redirect_uri=https%3A%2F%2Fr%2Fcb"
            "&scope=read%20offline_access&state=st&code_challenge=ch&code_challenge_method=S256"
            "&audience=api.atlassian.com&prompt=consent&x.y~z=%C3%A9%20%26%3D%3F%23%2B%2F");
  /* no parameters: as oauth2_authorize_url */
  b.len = 0;
  cc.nauthorize_params = 0;
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == 0);
  CHECK(b.len > 0 && b.ptr[b.len - 1] == '6'); /* ends in S256 */
  /* a parameter authrelay sets itself is refused even from a hand-made connector; out unchanged */
  b.len = 5;
  cc.nauthorize_params = 3;
  strcpy(cc.authorize_params[1].name, "state");
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == -EINVAL);
  strcpy(cc.authorize_params[1].name, "Redirect_URI");
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == -EINVAL);
  strcpy(cc.authorize_params[1].name, "code_challenge_method");
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == -EINVAL);
  strcpy(cc.authorize_params[1].name, "scope"); /* scopes is set */
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == -EINVAL);
  CHECK_EQ_U64(b.len, 5);
  /* scope is the operator's to give when scopes is empty */
  cc.scopes[0] = '\0';
  b.len = 0;
  strcpy(cc.authorize_params[1].value, "a b");
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == 0);
  CHECK(strstr(b.ptr, "&scope=a%20b") != NULL && strstr(b.ptr, "scope=") == strstr(b.ptr, "&scope=a%20b") + 1);
  /* an api_key connector has no authorize URL */
  cc.auth = CATALOG_API_KEY;
  CHECK(oauth2_connector_authorize_url(&b, &cc, "cid", "https://r/cb", "st", "ch") == -EINVAL);
  dynbuf_free(&b);
}

static void basic_auth_header(void) {
  dynbuf b;
  char id[OAUTH2_CLIENT_MAX + 2];
  char secret[OAUTH2_CLIENT_MAX + 2];
  dynbuf_init(&b, 16384);
  /* RFC 6749 2.3.1's example */
  CHECK(oauth2_basic_auth_header(&b, "s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw") == 0);
  CHECK_MEM(b.ptr, b.len, "Authorization: Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
  /* each half form-encoded first (form.h): "my%20client:s%26c%3Aret~%2A%C3%A9%2F%2B" */
  b.len = 0;
  CHECK(oauth2_basic_auth_header(&b, "my client", "s&c:ret~*\xc3\xa9/+") == 0);
  CHECK_MEM(b.ptr, b.len, "Authorization: Basic bXklMjBjbGllbnQ6cyUyNmMlM0FyZXR+JTJBJUMzJUE5JTJGJTJC");
  /* a ':' in the id cannot move the split: "a%3Ab:" */
  b.len = 0;
  CHECK(oauth2_basic_auth_header(&b, "a:b", "") == 0);
  CHECK_MEM(b.ptr, b.len, "Authorization: Basic YSUzQWI6");
  /* limits: the largest id and secret, every byte escaped, fit; one more byte does not */
  memset(id, '%', OAUTH2_CLIENT_MAX);
  id[OAUTH2_CLIENT_MAX] = '\0';
  memset(secret, '\x01', OAUTH2_CLIENT_MAX);
  secret[OAUTH2_CLIENT_MAX] = '\0';
  b.len = 0;
  CHECK(oauth2_basic_auth_header(&b, id, secret) == 0);
  CHECK_EQ_U64(b.len, strlen("Authorization: Basic ") + 4 * ((6 * OAUTH2_CLIENT_MAX + 1 + 2) / 3));
  b.len = 0;
  id[OAUTH2_CLIENT_MAX] = 'x';
  id[OAUTH2_CLIENT_MAX + 1] = '\0';
  CHECK(oauth2_basic_auth_header(&b, id, "s") == -EINVAL);
  secret[OAUTH2_CLIENT_MAX] = 'x';
  secret[OAUTH2_CLIENT_MAX + 1] = '\0';
  CHECK(oauth2_basic_auth_header(&b, "id", secret) == -EINVAL);
  CHECK(oauth2_basic_auth_header(&b, "", "s") == -EINVAL);
  CHECK(oauth2_basic_auth_header(&b, NULL, "s") == -EINVAL);
  CHECK(oauth2_basic_auth_header(&b, "id", NULL) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
  /* too small a buffer: out unchanged */
  dynbuf_init(&b, 32);
  CHECK(oauth2_basic_auth_header(&b, "s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw") == -E2BIG);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
}

static void refresh_and_revoke_bodies(void) {
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(oauth2_refresh_request_body(&b, "rt/1+2", "c id", "s&cret") == 0);
  CHECK_MEM(b.ptr, b.len,
            "grant_type=refresh_token&refresh_token=rt%2F1%2B2&client_id=c%20id&client_secret=s%26cret");
  b.len = 0;
  CHECK(oauth2_refresh_request_body(&b, "rt", "cid", NULL) == 0); /* Basic, or a public client */
  CHECK_MEM(b.ptr, b.len, "grant_type=refresh_token&refresh_token=rt&client_id=cid");
  b.len = 0;
  CHECK(oauth2_refresh_request_body(&b, "", "cid", NULL) == -EINVAL);
  CHECK(oauth2_refresh_request_body(&b, "rt", NULL, NULL) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  CHECK(oauth2_revoke_request_body(&b, "t=1", "refresh_token", "cid", "sec") == 0);
  CHECK_MEM(b.ptr, b.len, "token=t%3D1&token_type_hint=refresh_token&client_id=cid&client_secret=sec");
  b.len = 0;
  CHECK(oauth2_revoke_request_body(&b, "t", NULL, "cid", NULL) == 0);
  CHECK_MEM(b.ptr, b.len, "token=t&client_id=cid");
  b.len = 0;
  CHECK(oauth2_revoke_request_body(&b, "t", "access_token", "cid", NULL) == 0);
  CHECK_MEM(b.ptr, b.len, "token=t&token_type_hint=access_token&client_id=cid");
  b.len = 0;
  CHECK(oauth2_revoke_request_body(&b, "t", "id_token", "cid", NULL) == -EINVAL);
  CHECK(oauth2_revoke_request_body(&b, "", NULL, "cid", NULL) == -EINVAL);
  CHECK_EQ_U64(b.len, 0);
  dynbuf_free(&b);
}

static int parse(const char *json, oauth2_token *tok) {
  return oauth2_parse_token_response(json, strlen(json), tok);
}

static void token_response_success(void) {
  oauth2_token tok;
  CHECK(parse("{\"access_token\":\"at_123\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
              "\"refresh_token\":\"rt_456\",\"scope\":\"read\"}",
              &tok) == 0);
  CHECK(strcmp(tok.access_token, "at_123") == 0);
  CHECK(strcmp(tok.refresh_token, "rt_456") == 0);
  CHECK(strcmp(tok.token_type, "Bearer") == 0);
  CHECK(tok.expires_in == 3600);
  CHECK(tok.error[0] == '\0');
  /* only access_token; nulls are absent; expires_in as a string */
  CHECK(parse(" {\"access_token\":\"x y\",\"refresh_token\":null} ", &tok) == 0);
  CHECK(strcmp(tok.access_token, "x y") == 0);
  CHECK(tok.refresh_token[0] == '\0' && tok.token_type[0] == '\0' && tok.expires_in == 0);
  CHECK(parse("{\"access_token\":\"a\",\"expires_in\":\"120\"}", &tok) == 0);
  CHECK(tok.expires_in == 120);
  /* not NUL-terminated: only len bytes are read */
  CHECK(oauth2_parse_token_response("{\"access_token\":\"a\"}garbage", 20, &tok) == 0);
  CHECK(strcmp(tok.access_token, "a") == 0);
  oauth2_token_wipe(&tok);
  CHECK(tok.access_token[0] == '\0');
}

static void token_response_error_object(void) {
  oauth2_token tok;
  CHECK(parse("{\"error\":\"invalid_grant\",\"error_description\":\"code used\"}", &tok) ==
        -EPROTO);
  CHECK(strcmp(tok.error, "invalid_grant") == 0);
  CHECK(tok.access_token[0] == '\0');
  /* an error wins over a token beside it */
  CHECK(parse("{\"access_token\":\"a\",\"error\":\"invalid_client\"}", &tok) == -EPROTO);
  CHECK(strcmp(tok.error, "invalid_client") == 0);
  CHECK(tok.access_token[0] == '\0');
  /* an error that is no string */
  CHECK(parse("{\"error\":{\"code\":1}}", &tok) == -EPROTO);
  CHECK(tok.error[0] == '\0');
}

static void token_response_malformed(void) {
  oauth2_token tok;
  char deep[64];
  size_t i;
  CHECK(parse("", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\"", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\"} {}", &tok) == -EPROTO);
  CHECK(parse("/* c */ {\"access_token\":\"a\"}", &tok) == -EPROTO);
  CHECK(parse("[\"access_token\"]", &tok) == -EPROTO);
  CHECK(parse("\"access_token\"", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\\u0000b\"}", &tok) == -EPROTO);
  CHECK(oauth2_parse_token_response("{\"access_token\":\"a\0\"}", 21, &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"\xff\"}", &tok) == -EPROTO); /* not UTF-8 */
  for (i = 0; i < 40; i++)
    deep[i] = '[';
  deep[i] = '\0';
  CHECK(parse(deep, &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", &tok) ==
        -EPROTO);
  CHECK(tok.access_token[0] == '\0');
}

static void token_response_missing_or_wrong(void) {
  oauth2_token tok;
  CHECK(parse("{\"token_type\":\"Bearer\"}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"\"}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":null}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":42}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\\r\\nX-Evil: 1\"}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"expires_in\":-1}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"expires_in\":1.5}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"expires_in\":\"12x\"}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"token_type\":\"Bear er\"}", &tok) == -EPROTO);
  CHECK(parse("{\"access_token\":\"a\",\"refresh_token\":true}", &tok) == -EPROTO);
  CHECK(tok.access_token[0] == '\0');
}

static void token_response_oversized(void) {
  oauth2_token tok;
  char *json;
  size_t n;
  /* an access token of 4095 bytes fits, 4096 does not */
  json = malloc(OAUTH2_RESPONSE_MAX + 64);
  CHECK(json != NULL);
  if (json == NULL)
    return;
  strcpy(json, "{\"access_token\":\"");
  n = strlen(json);
  memset(json + n, 'a', 4095);
  strcpy(json + n + 4095, "\"}");
  CHECK(parse(json, &tok) == 0);
  CHECK_EQ_U64(strlen(tok.access_token), 4095);
  memset(json + n, 'a', 4096);
  strcpy(json + n + 4096, "\"}");
  CHECK(parse(json, &tok) == -EPROTO);
  CHECK(tok.access_token[0] == '\0');
  /* a token_type over 31 bytes */
  CHECK(parse("{\"access_token\":\"a\",\"token_type\":\"0123456789012345678901234567890123\"}",
              &tok) == -EPROTO);
  /* an error code too long for its field is still an error, unnamed */
  strcpy(json, "{\"error\":\"");
  n = strlen(json);
  memset(json + n, 'e', 200);
  strcpy(json + n + 200, "\"}");
  CHECK(parse(json, &tok) == -EPROTO);
  CHECK(tok.error[0] == '\0');
  /* a whole response over OAUTH2_RESPONSE_MAX */
  strcpy(json, "{\"access_token\":\"a\",\"pad\":\"");
  n = strlen(json);
  memset(json + n, 'p', OAUTH2_RESPONSE_MAX);
  strcpy(json + n + OAUTH2_RESPONSE_MAX - 40, "\"}");
  CHECK(strlen(json) <= OAUTH2_RESPONSE_MAX);
  CHECK(parse(json, &tok) == 0);
  memset(json + n, 'p', OAUTH2_RESPONSE_MAX);
  strcpy(json + n + OAUTH2_RESPONSE_MAX, "\"}");
  CHECK(parse(json, &tok) == -EPROTO);
  free(json);
}

int main(void) {
  RUN(pkce_rfc7636_vector);
  RUN(pkce_bad_verifiers);
  RUN(random_values);
  RUN(authorize_url);
  RUN(token_request_body);
  RUN(connector_authorize_url);
  RUN(basic_auth_header);
  RUN(refresh_and_revoke_bodies);
  RUN(token_response_success);
  RUN(token_response_error_object);
  RUN(token_response_malformed);
  RUN(token_response_missing_or_wrong);
  RUN(token_response_oversized);
  return unit_report();
}
