/* test_oauth2_requests: the requests of proxy/link/oauth2.c (exchange,
 * refresh, revoke) over curlloop on a libuv loop, against a canned-answer
 * HTTP server on 127.0.0.1 that runs in its own thread and keeps the bytes
 * of the last request it read.
 *
 * Covers: what goes on the wire for client_secret_basic (the Authorization
 * header, and no client_secret in the body), client_secret_post (the
 * secret in the body, no Authorization header) and a public client
 * (neither); the refresh and revocation bodies as sent; the statuses the
 * caller acts on: invalid_grant (and Slack's invalid_refresh_token in a 200)
 * -EKEYREJECTED, invalid_client or a bare 401 -EACCES, 429/503 -EAGAIN, an
 * unexpected answer -EPROTO, an answer over OAUTH2_RESPONSE_MAX -E2BIG;
 * refresh: false (no refresh token handed out, oauth2_refresh refused), no
 * revocation_url (oauth2_revoke refused), -EINVAL before any I/O, and a
 * cancelled request whose callback never runs. Every wait is bounded by
 * curlloop's timeout; nothing sleeps.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "oauth2.h"
#include "oauth2_result.h"
#include "unit.h"

#define REQUEST_CAP 16384
#define TIMEOUT_MS 5000

/* ---- the canned-answer server (its own thread, blocking sockets) ---- */

static struct {
  int fd;
  int port;
  pthread_t thread;
  pthread_mutex_t lock;
  char *answer;              /* the whole HTTP response to send; owned */
  size_t answer_len;
  char request[REQUEST_CAP]; /* the last request read, NUL-terminated */
  size_t nrequests;
} srv;

/* Reads one request (head and Content-Length body) from c into buf. */
static size_t read_request(int c, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    const char *end;
    ssize_t n = read(c, buf + len, cap - 1 - len);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
    if (end != NULL) {
      const char *cl = strstr(buf, "Content-Length: ");
      size_t body = cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
      if (len >= (size_t)(end + 4 - buf) + body || len == cap - 1)
        break;
    }
  }
  buf[len] = '\0';
  return len;
}

static void *serve(void *arg) {
  char buf[REQUEST_CAP];
  (void)arg;
  for (;;) {
    struct timeval tv = {5, 0};
    char *answer;
    size_t answer_len;
    int c = accept(srv.fd, NULL, NULL);
    if (c < 0)
      break; /* shut down */
    (void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    read_request(c, buf, sizeof buf);
    pthread_mutex_lock(&srv.lock);
    memcpy(srv.request, buf, sizeof buf);
    srv.nrequests++;
    answer_len = srv.answer_len;
    answer = malloc(answer_len + 1);
    if (answer != NULL)
      memcpy(answer, srv.answer, answer_len);
    pthread_mutex_unlock(&srv.lock);
    if (answer != NULL)
      (void)send(c, answer, answer_len, MSG_NOSIGNAL); /* a cancelled client may be gone */
    free(answer);
    close(c);
  }
  return NULL;
}

static int server_start(void) {
  struct sockaddr_in sa;
  socklen_t slen = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  srv.fd = socket(AF_INET, SOCK_STREAM, 0);
  if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(srv.fd, 16) != 0 ||
      getsockname(srv.fd, (struct sockaddr *)&sa, &slen) != 0)
    return -1;
  srv.port = ntohs(sa.sin_port);
  pthread_mutex_init(&srv.lock, NULL);
  return pthread_create(&srv.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static void server_stop(void) {
  shutdown(srv.fd, SHUT_RDWR);
  pthread_join(srv.thread, NULL);
  close(srv.fd);
  free(srv.answer);
}

/* The next answer: status line, then body (as JSON) with its length. */
static void set_answer(const char *status, const char *body) {
  size_t n = strlen(status) + strlen(body) + 128;
  char *a = malloc(n);
  int len;
  if (a == NULL)
    abort();
  len = snprintf(a, n, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s", status, strlen(body), body);
  pthread_mutex_lock(&srv.lock);
  free(srv.answer);
  srv.answer = a;
  srv.answer_len = (size_t)len;
  pthread_mutex_unlock(&srv.lock);
}

/* The last request's body (after the head). */
static const char *request_body(void) {
  const char *end = strstr(srv.request, "\r\n\r\n");
  return end != NULL ? end + 4 : "";
}

/* ---- the loop ---- */

static uv_loop_t loop;
static curlloop_t cl;

static void wait_for(oauth2_result *r) {
  while (!r->done)
    uv_run(&loop, UV_RUN_ONCE);
}

static catalog_connector cc;

static void connector(catalog_token_auth auth) {
  memset(&cc, 0, sizeof cc);
  cc.auth = CATALOG_OAUTH2;
  cc.token_auth = auth;
  cc.refresh = 1;
  snprintf(cc.authorize_url, sizeof cc.authorize_url, "http://127.0.0.1:%d/authorize", srv.port);
  snprintf(cc.token_url, sizeof cc.token_url, "http://127.0.0.1:%d/token", srv.port);
  snprintf(cc.revocation_url, sizeof cc.revocation_url, "http://127.0.0.1:%d/revoke", srv.port);
}

static const oauth2_client client = {"my client", "s&c:ret"};

/* An exchange of code "c"; returns its status. */
static int do_exchange(oauth2_result *r) {
  int rc;
  memset(r, 0, sizeof *r);
  rc = oauth2_exchange(&cl, &cc, &client, "c", "https://r/cb", "v", TIMEOUT_MS, oauth2_result_done, r, NULL);
  if (rc != 0)
    return rc;
  wait_for(r);
  return r->status;
}

static int do_refresh(oauth2_result *r, const char *token) {
  int rc;
  memset(r, 0, sizeof *r);
  rc = oauth2_refresh(&cl, &cc, &client, token, TIMEOUT_MS, oauth2_result_done, r, NULL);
  if (rc != 0)
    return rc;
  wait_for(r);
  return r->status;
}

static int do_revoke(oauth2_result *r, const char *hint) {
  int rc;
  memset(r, 0, sizeof *r);
  rc = oauth2_revoke(&cl, &cc, &client, "rt_1", hint, TIMEOUT_MS, oauth2_result_done, r, NULL);
  if (rc != 0)
    return rc;
  wait_for(r);
  return r->status;
}

static const char token_json[] =
    "{\"access_token\":\"at_1\",\"token_type\":\"Bearer\",\"expires_in\":60,\"refresh_token\":\"rt_1\"}";

/* ---- tests ---- */

static void client_secret_basic(void) {
  oauth2_result r;
  connector(CATALOG_SECRET_BASIC);
  set_answer("200 OK", token_json);
  CHECK(do_exchange(&r) == 0);
  CHECK(r.done == 1 && r.tok.http_status == 200);
  CHECK(strcmp(r.tok.access_token, "at_1") == 0 && strcmp(r.tok.refresh_token, "rt_1") == 0);
  CHECK(r.tok.expires_in == 60 && strcmp(r.tok.token_type, "Bearer") == 0);
  CHECK(strncmp(srv.request, "POST /token HTTP/1.1\r\n", 22) == 0);
  /* base64("my+client:s%26c%3Aret") */
  CHECK(strstr(srv.request, "\r\nAuthorization: Basic bXklMjBjbGllbnQ6cyUyNmMlM0FyZXQ=\r\n") != NULL);
  CHECK(strstr(srv.request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") != NULL);
  CHECK(strstr(srv.request, "\r\nAccept: application/json\r\n") != NULL);
  CHECK(strcmp(request_body(), "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fr%2Fcb"
                               "&client_id=my%20client&code_verifier=v") == 0);
  CHECK(strstr(srv.request, "client_secret") == NULL);
  /* refresh and revoke authenticate the same way */
  set_answer("200 OK", "{\"access_token\":\"at_2\",\"expires_in\":30}");
  CHECK(do_refresh(&r, "rt_1") == 0);
  CHECK(strcmp(r.tok.access_token, "at_2") == 0 && r.tok.refresh_token[0] == '\0' && r.tok.expires_in == 30);
  CHECK(strncmp(srv.request, "POST /token ", 12) == 0);
  CHECK(strstr(srv.request, "\r\nAuthorization: Basic bXklMjBjbGllbnQ6cyUyNmMlM0FyZXQ=\r\n") != NULL);
  CHECK(strcmp(request_body(), "grant_type=refresh_token&refresh_token=rt_1&client_id=my%20client") == 0);
  set_answer("200 OK", "");
  CHECK(do_revoke(&r, "refresh_token") == 0);
  CHECK(r.tok.access_token[0] == '\0' && r.tok.http_status == 200);
  CHECK(strncmp(srv.request, "POST /revoke ", 13) == 0);
  CHECK(strstr(srv.request, "\r\nAuthorization: Basic bXklMjBjbGllbnQ6cyUyNmMlM0FyZXQ=\r\n") != NULL);
  CHECK(strcmp(request_body(), "token=rt_1&token_type_hint=refresh_token&client_id=my%20client") == 0);
}

static void client_secret_post(void) {
  oauth2_result r;
  oauth2_client public_client = {"pub", NULL};
  connector(CATALOG_SECRET_POST);
  set_answer("200 OK", token_json);
  CHECK(do_exchange(&r) == 0);
  CHECK(strstr(srv.request, "Authorization") == NULL);
  CHECK(strcmp(request_body(), "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fr%2Fcb"
                               "&client_id=my%20client&client_secret=s%26c%3Aret&code_verifier=v") == 0);
  set_answer("200 OK", "");
  CHECK(do_revoke(&r, NULL) == 0);
  CHECK(strcmp(request_body(), "token=rt_1&client_id=my%20client&client_secret=s%26c%3Aret") == 0);
  /* a public client: neither a header nor a secret, with either token_auth */
  cc.token_auth = CATALOG_SECRET_BASIC;
  set_answer("200 OK", token_json);
  memset(&r, 0, sizeof r);
  CHECK(oauth2_refresh(&cl, &cc, &public_client, "rt_1", TIMEOUT_MS, oauth2_result_done, &r, NULL) == 0);
  wait_for(&r);
  CHECK(r.status == 0);
  CHECK(strstr(srv.request, "Authorization") == NULL);
  CHECK(strcmp(request_body(), "grant_type=refresh_token&refresh_token=rt_1&client_id=pub") == 0);
}

static void statuses(void) {
  oauth2_result r;
  char *big;
  connector(CATALOG_SECRET_POST);
  set_answer("400 Bad Request", "{\"error\":\"invalid_grant\",\"error_description\":\"revoked\"}");
  CHECK(do_refresh(&r, "rt_1") == -EKEYREJECTED);
  CHECK(strcmp(r.tok.error, "invalid_grant") == 0 && r.tok.http_status == 400);
  CHECK(r.tok.access_token[0] == '\0');
  CHECK(do_exchange(&r) == -EKEYREJECTED);
  set_answer("200 OK", "{\"ok\":false,\"error\":\"invalid_refresh_token\"}"); /* Slack */
  CHECK(do_refresh(&r, "rt_1") == -EKEYREJECTED);
  set_answer("401 Unauthorized", "{\"error\":\"invalid_client\"}");
  CHECK(do_refresh(&r, "rt_1") == -EACCES);
  set_answer("400 Bad Request", "{\"error\":\"unauthorized_client\"}");
  CHECK(do_exchange(&r) == -EACCES);
  set_answer("401 Unauthorized", "");
  CHECK(do_refresh(&r, "rt_1") == -EACCES);
  CHECK(do_revoke(&r, "access_token") == -EACCES);
  set_answer("503 Service Unavailable", "<html>down</html>");
  CHECK(do_refresh(&r, "rt_1") == -EAGAIN);
  CHECK(do_revoke(&r, NULL) == -EAGAIN);
  set_answer("429 Too Many Requests", "");
  CHECK(do_exchange(&r) == -EAGAIN);
  set_answer("400 Bad Request", "{\"error\":\"invalid_scope\"}");
  CHECK(do_refresh(&r, "rt_1") == -EPROTO);
  CHECK(strcmp(r.tok.error, "invalid_scope") == 0);
  set_answer("400 Bad Request", "{\"error\":\"unsupported_token_type\"}");
  CHECK(do_revoke(&r, "access_token") == -EPROTO);
  CHECK(strcmp(r.tok.error, "unsupported_token_type") == 0);
  set_answer("200 OK", "access_token=at&token_type=bearer"); /* a form, not JSON */
  CHECK(do_exchange(&r) == -EPROTO);
  set_answer("302 Found", token_json); /* a token outside 2xx is not taken */
  CHECK(do_exchange(&r) == -EPROTO);
  CHECK(r.tok.access_token[0] == '\0');
  set_answer("201 Created", ""); /* RFC 7009: only 200 is success */
  CHECK(do_revoke(&r, NULL) == -EPROTO);
  /* an answer over OAUTH2_RESPONSE_MAX */
  big = malloc(OAUTH2_RESPONSE_MAX + 64);
  if (big == NULL)
    abort();
  strcpy(big, "{\"access_token\":\"a\",\"p\":\"");
  memset(big + strlen(big), 'p', OAUTH2_RESPONSE_MAX);
  strcpy(big + OAUTH2_RESPONSE_MAX, "\"}");
  set_answer("200 OK", big);
  free(big);
  CHECK(do_exchange(&r) == -E2BIG);
  CHECK(r.tok.http_status == 0);
}

static void refresh_off(void) {
  oauth2_result r;
  connector(CATALOG_SECRET_POST);
  cc.refresh = 0;
  set_answer("200 OK", token_json);
  CHECK(do_exchange(&r) == 0);
  CHECK(strcmp(r.tok.access_token, "at_1") == 0 && r.tok.refresh_token[0] == '\0');
  memset(&r, 0, sizeof r);
  CHECK(oauth2_refresh(&cl, &cc, &client, "rt_1", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EOPNOTSUPP);
  cc.refresh = 1;
  cc.revocation_url[0] = '\0';
  CHECK(oauth2_revoke(&cl, &cc, &client, "t", NULL, TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EOPNOTSUPP);
  CHECK(r.done == 0);
}

static void refused_before_io(void) {
  oauth2_result r;
  oauth2_client no_id = {NULL, "s"};
  size_t before = srv.nrequests;
  memset(&r, 0, sizeof r);
  connector(CATALOG_SECRET_BASIC);
  CHECK(oauth2_refresh(&cl, &cc, &no_id, "rt", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  CHECK(oauth2_refresh(&cl, &cc, &client, "", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  CHECK(oauth2_refresh(&cl, &cc, &client, "rt", TIMEOUT_MS, NULL, &r, NULL) == -EINVAL);
  CHECK(oauth2_revoke(&cl, &cc, &client, "t", "id_token", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  CHECK(oauth2_exchange(&cl, &cc, &client, "c", "https://r/cb", NULL, TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  strcpy(cc.token_url, "https://idp.example/token#x");
  CHECK(oauth2_refresh(&cl, &cc, &client, "rt", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  connector(CATALOG_SECRET_POST);
  cc.auth = CATALOG_API_KEY;
  CHECK(oauth2_refresh(&cl, &cc, &client, "rt", TIMEOUT_MS, oauth2_result_done, &r, NULL) == -EINVAL);
  CHECK(r.done == 0 && cl.nrequests == 0 && srv.nrequests == before);
}

static void cancelled(void) {
  oauth2_result first;
  oauth2_result second;
  oauth2_req *req = NULL;
  connector(CATALOG_SECRET_POST);
  set_answer("200 OK", token_json);
  memset(&first, 0, sizeof first);
  CHECK(oauth2_refresh(&cl, &cc, &client, "rt_1", TIMEOUT_MS, oauth2_result_done, &first, &req) == 0);
  CHECK(req != NULL);
  oauth2_cancel(req);
  CHECK(cl.nrequests == 0);
  CHECK(do_refresh(&second, "rt_2") == 0); /* the loop ran to another answer: the first never called back */
  CHECK(first.done == 0 && second.done == 1);
  oauth2_cancel(NULL);
}

int main(void) {
  if (server_start() != 0 || uv_loop_init(&loop) != 0 || curlloop_init(&cl, &loop) != 0) {
    perror("setup");
    return 2;
  }
  RUN(client_secret_basic);
  RUN(client_secret_post);
  RUN(statuses);
  RUN(refresh_off);
  RUN(refused_before_io);
  RUN(cancelled);
  curlloop_close(&cl, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop);
  server_stop();
  return unit_report();
}
