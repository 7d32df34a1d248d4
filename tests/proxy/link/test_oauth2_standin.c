/* test_oauth2_standin: the OAuth2 client of proxy/link/oauth2.c against
 * the stand-in OAuth provider (tests/integration/oauth_provider.py, a real
 * process on 127.0.0.1 started by this test), all over curlloop on a libuv
 * loop: what a connection's life asks of it before the token API exists.
 *
 * The provider is registered for client_secret_basic, rotates refresh
 * tokens and issues access tokens that live 300 seconds (--access-ttl: the
 * expires_in it sends is checked; long enough that no check here depends
 * on how fast the machine is, and nothing waits for time to pass). The test:
 * sends the browser's authorize request built from a connector with
 * authorize_params (the provider sees audience and prompt decoded, beside
 * authrelay's own parameters; auto=1, itself an authorize_param, makes it
 * approve at once), exchanges the code with HTTP Basic, uses the access
 * token at the provider's resource, refreshes (a new access token and a
 * rotated refresh token), sees the rotated-away refresh token refused as
 * invalid_grant (-EKEYREJECTED), reads the provider's count of refreshes
 * served, revokes the new refresh token (RFC 7009, token_type_hint), sees
 * it refused on the next refresh and its access token refused at the
 * resource; and, with token_auth client_secret_post against a client
 * registered for Basic, sees the provider refuse the client (-EACCES).
 *
 * argv[1]: python3; argv[2]: oauth_provider.py. Every wait is bounded (the
 * provider's first line within 20 s, each request by curlloop's timeout).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oauth2.h"
#include "oauth2_result.h"
#include "unit.h"

#define TIMEOUT_MS 10000
#define CLIENT_ID "acme client"
#define CLIENT_SECRET "s&c:ret 42"

extern char **environ;

static uv_loop_t loop;
static curlloop_t cl;
static pid_t provider_pid = -1;
static char base[128]; /* http://127.0.0.1:PORT */
static catalog_connector cc;
static const oauth2_client client = {CLIENT_ID, CLIENT_SECRET};

/* Starts the provider; fills base from its first line. Returns 0 or -1. */
static int provider_start(const char *python, const char *script) {
  char *argv[] = {(char *)python, (char *)script, "--listen", "127.0.0.1:0", "--client-id", CLIENT_ID,
                  "--client-secret", CLIENT_SECRET, "--token-auth", "basic", "--rotate-refresh",
                  "--access-ttl", "300", NULL};
  posix_spawn_file_actions_t fa;
  struct pollfd pfd;
  char line[256];
  size_t len = 0;
  const char *at;
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  if (posix_spawn(&provider_pid, python, &fa, NULL, argv, environ) != 0) {
    provider_pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  pfd.fd = fds[0];
  pfd.events = POLLIN;
  while (len + 1 < sizeof line && memchr(line, '\n', len) == NULL) {
    ssize_t n;
    if (poll(&pfd, 1, 20000) <= 0)
      break;
    n = read(fds[0], line + len, sizeof line - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  close(fds[0]);
  line[len] = '\0';
  /* {"listening": "127.0.0.1:PORT"} */
  at = strstr(line, "\"listening\": \"");
  if (at == NULL || snprintf(base, sizeof base, "http://%.*s", (int)strcspn(at + 14, "\""), at + 14) >=
                        (int)sizeof base) {
    fprintf(stderr, "provider said: %s\n", line);
    return -1;
  }
  return 0;
}

static void provider_stop(void) {
  int st;
  if (provider_pid > 0) {
    kill(provider_pid, SIGTERM);
    (void)waitpid(provider_pid, &st, 0);
  }
}

/* ---- plain requests (the browser's, the resource, the control API) ---- */

typedef struct answer {
  int done;
  int status;
  long http_code;
  char body[4096];
} answer;

static void on_http(void *ctx, int status, long http_code, const char *body, size_t len) {
  answer *a = ctx;
  a->done = 1;
  a->status = status;
  a->http_code = http_code;
  snprintf(a->body, sizeof a->body, "%.*s", (int)len, body);
}

/* GETs base + path (or url when path is NULL) with header (may be NULL);
 * returns the HTTP status, or a negative errno. */
static long get(const char *url, const char *header, answer *a) {
  const char *headers[2] = {header, NULL};
  memset(a, 0, sizeof *a);
  if (curlloop_request(&cl, "GET", url, header != NULL ? headers : NULL, NULL, 0, TIMEOUT_MS, 0, on_http, a,
                       NULL) != 0)
    return -EINVAL;
  while (!a->done)
    uv_run(&loop, UV_RUN_ONCE);
  return a->status != 0 ? a->status : a->http_code;
}

static long get_path(const char *path, const char *header, answer *a) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", base, path);
  return get(url, header, a);
}

/* ---- the OAuth2 requests ---- */

static int finish(int rc, oauth2_result *r) {
  if (rc != 0)
    return rc;
  oauth2_result_wait(&loop, r);
  return r->status;
}

static int refresh(const char *token, oauth2_result *r) {
  memset(r, 0, sizeof *r);
  return finish(oauth2_refresh(&cl, &cc, &client, token, TIMEOUT_MS, oauth2_result_done, r, NULL), r);
}

/* The stat name's number in the provider's /_control/stats, or -1. */
static long stat_of(const char *name) {
  answer a;
  char key[64];
  const char *at;
  if (get_path("/_control/stats", NULL, &a) != 200)
    return -1;
  snprintf(key, sizeof key, "\"%s\": ", name);
  at = strstr(a.body, key);
  return at != NULL ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* Copies the value of query parameter name in url into out (raw). */
static int query_value(const char *url, const char *name, char *out, size_t cap) {
  char key[32];
  const char *at;
  size_t n;
  snprintf(key, sizeof key, "%s=", name);
  at = strstr(url, key);
  if (at == NULL || (at[-1] != '?' && at[-1] != '&'))
    return -1;
  at += strlen(key);
  n = strcspn(at, "&\n");
  if (n == 0 || n >= cap)
    return -1;
  memcpy(out, at, n);
  out[n] = '\0';
  return 0;
}

static void connection_life(void) {
  char verifier[OAUTH2_PKCE_LEN + 1];
  char challenge[OAUTH2_PKCE_LEN + 1];
  char state[OAUTH2_PKCE_LEN + 1];
  char got_state[128];
  char code[256];
  char rt1[sizeof ((oauth2_token *)0)->refresh_token];
  char rt2[sizeof rt1];
  char bearer[4200];
  answer a;
  oauth2_result r;
  dynbuf url;

  /* the browser's trip to the provider, auto-approved */
  CHECK(oauth2_pkce_verifier(verifier) == 0 && oauth2_pkce_challenge(verifier, challenge) == 0 &&
        oauth2_random_state(state) == 0);
  dynbuf_init(&url, 8192);
  CHECK(oauth2_connector_authorize_url(&url, &cc, CLIENT_ID, "http://127.0.0.1:1/cb", state, challenge) == 0);
  CHECK(dynbuf_add(&url, "", 1) == 0);
  CHECK(get(url.ptr, NULL, &a) == 302); /* the body is the Location */
  dynbuf_free(&url);
  CHECK(strncmp(a.body, "http://127.0.0.1:1/cb?code=", 27) == 0);
  CHECK(query_value(a.body, "state", got_state, sizeof got_state) == 0 && strcmp(got_state, state) == 0);
  CHECK(query_value(a.body, "code", code, sizeof code) == 0);
  /* the provider saw the extra parameters, decoded, and authrelay's own */
  CHECK(get_path("/_control/stats", NULL, &a) == 200);
  CHECK(strstr(a.body, "\"audience\": \"api.example.com\"") != NULL);
  CHECK(strstr(a.body, "\"prompt\": \"consent\"") != NULL);
  CHECK(strstr(a.body, "\"scope\": \"read offline_access\"") != NULL);
  CHECK(strstr(a.body, "\"client_id\": \"acme client\"") != NULL);

  /* the code for tokens, the client authenticated with HTTP Basic */
  memset(&r, 0, sizeof r);
  CHECK(finish(oauth2_exchange(&cl, &cc, &client, code, "http://127.0.0.1:1/cb", verifier, TIMEOUT_MS, oauth2_result_done,
                               &r, NULL),
               &r) == 0);
  CHECK(r.tok.access_token[0] != '\0' && r.tok.refresh_token[0] != '\0');
  CHECK(r.tok.expires_in == 300);
  snprintf(rt1, sizeof rt1, "%s", r.tok.refresh_token);
  snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", r.tok.access_token);
  CHECK(get_path("/resource", bearer, &a) == 200);

  /* refresh: a new access token and a rotated refresh token */
  CHECK(stat_of("refreshes") == 0);
  CHECK(refresh(rt1, &r) == 0);
  CHECK(r.tok.access_token[0] != '\0' && r.tok.expires_in == 300);
  CHECK(r.tok.refresh_token[0] != '\0' && strcmp(r.tok.refresh_token, rt1) != 0);
  snprintf(rt2, sizeof rt2, "%s", r.tok.refresh_token);
  snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", r.tok.access_token);
  CHECK(get_path("/resource", bearer, &a) == 200);
  /* the rotated-away refresh token: invalid_grant, the connection would be broken */
  CHECK(refresh(rt1, &r) == -EKEYREJECTED);
  CHECK(strcmp(r.tok.error, "invalid_grant") == 0 && r.tok.access_token[0] == '\0');
  CHECK(stat_of("refreshes") == 1);
  CHECK(stat_of("refresh_requests") == 2);

  /* revoke the refresh token (RFC 7009): it and its access token are dead */
  memset(&r, 0, sizeof r);
  CHECK(finish(oauth2_revoke(&cl, &cc, &client, rt2, "refresh_token", TIMEOUT_MS, oauth2_result_done, &r, NULL), &r) == 0);
  CHECK(stat_of("revocations") == 1);
  CHECK(stat_of("tokens_revoked") == 2);
  CHECK(refresh(rt2, &r) == -EKEYREJECTED);
  CHECK(get_path("/resource", bearer, &a) == 401);
  /* revoking an unknown token is a success too (RFC 7009 2.2) */
  memset(&r, 0, sizeof r);
  CHECK(finish(oauth2_revoke(&cl, &cc, &client, "nope", NULL, TIMEOUT_MS, oauth2_result_done, &r, NULL), &r) == 0);
  CHECK(stat_of("refreshes") == 1);
}

static void wrong_client_auth(void) {
  oauth2_result r;
  /* the client is registered for Basic: a secret in the body is refused */
  cc.token_auth = CATALOG_SECRET_POST;
  CHECK(refresh("rt_whatever", &r) == -EACCES);
  CHECK(strcmp(r.tok.error, "invalid_client") == 0);
  memset(&r, 0, sizeof r);
  CHECK(finish(oauth2_revoke(&cl, &cc, &client, "t", NULL, TIMEOUT_MS, oauth2_result_done, &r, NULL), &r) == -EACCES);
  CHECK(r.tok.http_status == 401);
  cc.token_auth = CATALOG_SECRET_BASIC;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PYTHON3 oauth_provider.py\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (provider_start(argv[1], argv[2]) != 0 || uv_loop_init(&loop) != 0 || curlloop_init(&cl, &loop) != 0) {
    fprintf(stderr, "setup failed\n");
    provider_stop();
    return 2;
  }
  memset(&cc, 0, sizeof cc);
  snprintf(cc.slug, sizeof cc.slug, "acme");
  cc.auth = CATALOG_OAUTH2;
  cc.token_auth = CATALOG_SECRET_BASIC;
  cc.refresh = 1;
  snprintf(cc.authorize_url, sizeof cc.authorize_url, "%s/authorize", base);
  snprintf(cc.token_url, sizeof cc.token_url, "%s/token", base);
  snprintf(cc.revocation_url, sizeof cc.revocation_url, "%s/revoke", base);
  snprintf(cc.scopes, sizeof cc.scopes, "read offline_access");
  snprintf(cc.authorize_params[0].name, CATALOG_PARAM_NAME_MAX + 1, "audience");
  snprintf(cc.authorize_params[0].value, CATALOG_PARAM_VALUE_MAX + 1, "api.example.com");
  snprintf(cc.authorize_params[1].name, CATALOG_PARAM_NAME_MAX + 1, "prompt");
  snprintf(cc.authorize_params[1].value, CATALOG_PARAM_VALUE_MAX + 1, "consent");
  snprintf(cc.authorize_params[2].name, CATALOG_PARAM_NAME_MAX + 1, "auto");
  snprintf(cc.authorize_params[2].value, CATALOG_PARAM_VALUE_MAX + 1, "1");
  cc.nauthorize_params = 3;
  RUN(connection_life);
  RUN(wrong_client_auth);
  curlloop_close(&cl, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop);
  provider_stop();
  return unit_report();
}
