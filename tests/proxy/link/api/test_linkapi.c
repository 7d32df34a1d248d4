/* test_linkapi: the link API's answers on the asynchronous store
 * (proxy/link/api/linkapi.c, apicall.c and the handlers), with a real
 * SQLite store (store.h) in a mkdtemp() directory driven by a libuv loop.
 *
 * Covers: an answer that needs the store comes after linkapi_handle
 * returned, from the store's callback, exactly once (the call copied the
 * request: the caller's buffers are scribbled over meanwhile); one that
 * needs nothing of it (a malformed body) comes at once; a bearer token is
 * read from the store before the caller is let in (unknown: 401 later);
 * callback origins added, refused twice and listed; registered users
 * created (idempotent), read, paged (with their authenticated connectors,
 * one store call per user) and deleted; an OAuth application created, its
 * client_credentials token issued through /oauth/token and then used;
 * linkapi_authorize for the owner key, a token with and without the scope;
 * and a store that is closing answers 503 and refuses nothing silently.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>
#include <yajl/yajl_tree.h>

#include "linkapi.h"
#include "linkhost.h"
#include "unit.h"

#define OWNER "ark_test_owner_key"

static char dir[] = "/tmp/test_linkapi_XXXXXX";
static uv_loop_t loop;
static linkhost_t lh;

/* What a call answered. */
typedef struct answer {
  int calls;
  int status;
  char body[8192];
  const char *www_authenticate;
} answer;

static void on_answer(void *data, const linkapi_response *rs, const dynbuf *body) {
  answer *a = data;
  a->calls++;
  a->status = rs->status;
  a->www_authenticate = rs->www_authenticate;
  snprintf(a->body, sizeof a->body, "%.*s", (int)body->len, body->ptr != NULL ? body->ptr : "");
}

/* Starts method path (with query after '?') as the bearer, body JSON;
 * *before: how many answers came before linkapi_handle returned. The
 * request's buffers are overwritten right after the call. */
static void start(answer *a, const char *method, const char *target, const char *bearer, const char *body,
                  int *before) {
  char path[512];
  char auth[256];
  char copy[4096];
  linkapi_request rq;
  char *q;
  memset(a, 0, sizeof *a);
  snprintf(path, sizeof path, "%s", target);
  snprintf(auth, sizeof auth, "Bearer %s", bearer);
  snprintf(copy, sizeof copy, "%s", body != NULL ? body : "");
  memset(&rq, 0, sizeof rq);
  rq.method = method;
  rq.path = path;
  rq.query = "";
  q = strchr(path, '?');
  if (q != NULL) {
    *q = '\0';
    rq.query = q + 1;
  }
  rq.authorization = bearer != NULL ? auth : NULL;
  rq.content_type = "application/json";
  rq.body = copy;
  rq.body_len = strlen(copy);
  rq.owner_key = OWNER;
  linkapi_handle(&lh, &rq, on_answer, a);
  *before = a->calls;
  memset(path, 'x', sizeof path - 1); /* the call keeps its own copy */
  memset(auth, 'x', sizeof auth - 1);
  memset(copy, 'x', sizeof copy - 1);
}

/* A call that needs the store: no answer before the call returned, one after. */
static int call(answer *a, const char *method, const char *target, const char *bearer, const char *body) {
  int before;
  start(a, method, target, bearer, body, &before);
  CHECK(before == 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(a->calls == 1);
  return a->status;
}

/* The string member name of JSON text into out (cap bytes); 0 or -1. */
static int json_str(const char *text, const char *name, char *out, size_t cap) {
  const char *path[] = {name, NULL};
  yajl_val v = yajl_tree_parse(text, NULL, 0);
  yajl_val s = v != NULL ? yajl_tree_get(v, path, yajl_t_string) : NULL;
  int rc = s != NULL ? 0 : -1;
  if (s != NULL)
    snprintf(out, cap, "%s", YAJL_GET_STRING(s));
  yajl_tree_free(v);
  return rc;
}

static void answers_come_later_and_once(void) {
  answer a;
  int before;
  /* nothing asked of the store: at once */
  start(&a, "POST", "/api/v1/callback-origins/", OWNER, "{\"origin\":", &before);
  CHECK(before == 1 && a.status == 400);
  /* a write: after the store's answer */
  CHECK(call(&a, "POST", "/api/v1/callback-origins/", OWNER, "{\"origin\":\"https://app.example.com\"}") == 201);
  CHECK(strstr(a.body, "\"origin\":\"https://app.example.com\"") != NULL);
  CHECK(call(&a, "POST", "/api/v1/callback-origins/", OWNER, "{\"origin\":\"https://app.example.com\"}") == 400);
  CHECK(strstr(a.body, "allowed already") != NULL);
  CHECK(call(&a, "GET", "/api/v1/callback-origins/", OWNER, NULL) == 200);
  CHECK(strstr(a.body, "\"count\":1") != NULL && strstr(a.body, "https://app.example.com") != NULL);
  CHECK(call(&a, "DELETE", "/api/v1/callback-origins/?origin=https%3A%2F%2Fapp.example.com", OWNER, NULL) == 204);
  CHECK(call(&a, "DELETE", "/api/v1/callback-origins/?origin=https%3A%2F%2Fapp.example.com", OWNER, NULL) == 404);
  /* a token is looked up in the store first */
  CHECK(call(&a, "GET", "/api/v1/callback-origins/", "arat_unknown", NULL) == 401);
  CHECK(a.www_authenticate != NULL && strstr(a.body, "Invalid or expired token") != NULL);
}

static void users(void) {
  answer a;
  char id[64];
  CHECK(call(&a, "POST", "/api/v1/registered-users/", OWNER,
             "{\"origin_user_id\":\"alice\",\"origin_user_name\":\"Alice\"}") == 201);
  CHECK(json_str(a.body, "id", id, sizeof id) == 0 && strlen(id) == 36);
  CHECK(strstr(a.body, "\"authenticated_connectors\":[]") != NULL);
  CHECK(call(&a, "POST", "/api/v1/registered-users/", OWNER,
             "{\"origin_user_id\":\"alice\",\"origin_user_name\":\"Alice\"}") == 200); /* the existing one */
  CHECK(strstr(a.body, id) != NULL);
  CHECK(call(&a, "POST", "/api/v1/registered-users/", OWNER, "{\"origin_user_id\":\"bob\",\"origin_user_name\":\"Bob\"}") ==
        201);
  CHECK(call(&a, "POST", "/api/v1/registered-users/", OWNER,
             "{\"origin_user_id\":\"carol\",\"origin_user_name\":\"Carol\"}") == 201);
  /* pages of two (each user with its connectors, read one by one): every
   * user once (users created in the same millisecond order by id) */
  {
    char pages[2][8192];
    const char *names[] = {"\"alice\"", "\"bob\"", "\"carol\""};
    size_t i;
    CHECK(call(&a, "GET", "/api/v1/registered-users/?page=1&page_size=2", OWNER, NULL) == 200);
    CHECK(strstr(a.body, "\"count\":3") != NULL && strstr(a.body, "\"next\":\"?page=2&page_size=2\"") != NULL);
    CHECK(strstr(a.body, "\"previous\":null") != NULL);
    snprintf(pages[0], sizeof pages[0], "%s", a.body);
    CHECK(call(&a, "GET", "/api/v1/registered-users/?page=2&page_size=2", OWNER, NULL) == 200);
    CHECK(strstr(a.body, "\"next\":null") != NULL && strstr(a.body, "\"previous\":\"?page=1&page_size=2\"") != NULL);
    snprintf(pages[1], sizeof pages[1], "%s", a.body);
    for (i = 0; i < 3; i++)
      CHECK((strstr(pages[0], names[i]) != NULL) + (strstr(pages[1], names[i]) != NULL) == 1);
    CHECK(strstr(pages[1], "},{") == NULL); /* one user on the last page */
    CHECK(strstr(pages[0], "},{\"id\"") != NULL); /* two on the first */
  }
  {
    char target[128];
    snprintf(target, sizeof target, "/api/v1/registered-users/%s/", id);
    CHECK(call(&a, "GET", target, OWNER, NULL) == 200);
    CHECK(strstr(a.body, "\"origin_user_name\":\"Alice\"") != NULL);
    CHECK(call(&a, "PATCH", target, OWNER, "{\"origin_user_name\":\"Alice L.\"}") == 200);
    CHECK(strstr(a.body, "\"origin_user_name\":\"Alice L.\"") != NULL);
    CHECK(call(&a, "DELETE", target, OWNER, NULL) == 204);
    CHECK(call(&a, "GET", target, OWNER, NULL) == 404);
  }
  CHECK(call(&a, "GET", "/api/v1/registered-users/00000000-0000-4000-8000-000000000000/", OWNER, NULL) == 404);
}

static void on_authorized(void *data, const linkapi_response *rs, const dynbuf *body) {
  on_answer(data, rs, body);
}

static int authorize(answer *a, const char *bearer, unsigned need) {
  char auth[256];
  linkapi_request rq;
  memset(a, 0, sizeof *a);
  memset(&rq, 0, sizeof rq);
  snprintf(auth, sizeof auth, "Bearer %s", bearer);
  rq.method = "GET";
  rq.path = "/v1/streams";
  rq.query = "";
  rq.authorization = auth;
  rq.body = "";
  rq.owner_key = OWNER;
  linkapi_authorize(&lh, &rq, need, on_authorized, a);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(a->calls == 1);
  return a->status;
}

static void oauth_token_flow(void) {
  answer a;
  char client_id[64];
  char secret[128];
  char token[128];
  char form[512];
  CHECK(call(&a, "POST", "/api/v1/oauth/applications", OWNER,
             "{\"name\":\"dash\",\"scopes\":[\"read:organization\"]}") == 201);
  CHECK(json_str(a.body, "clientId", client_id, sizeof client_id) == 0);
  CHECK(json_str(a.body, "clientSecret", secret, sizeof secret) == 0);
  snprintf(form, sizeof form, "{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\",\"client_secret\":\"%s\"}",
           client_id, secret);
  CHECK(call(&a, "POST", "/oauth/token", NULL, form) == 200);
  CHECK(json_str(a.body, "access_token", token, sizeof token) == 0);
  CHECK(strstr(a.body, "\"scope\":\"read:organization\"") != NULL);
  /* the token works where its scope does, and not elsewhere */
  CHECK(call(&a, "GET", "/api/v1/callback-origins/", token, NULL) == 200);
  CHECK(call(&a, "GET", "/api/v1/registered-users/", token, NULL) == 403);
  CHECK(authorize(&a, token, LINKAPI_READ_ORGANIZATION) == 0);
  CHECK(authorize(&a, token, LINKAPI_WRITE_ORGANIZATION) == 403);
  CHECK(authorize(&a, OWNER, LINKAPI_ADMIN_ALL) == 0);
  CHECK(authorize(&a, "arat_unknown", LINKAPI_READ_ORGANIZATION) == 401);
  /* a wrong secret */
  snprintf(form, sizeof form, "{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\",\"client_secret\":\"no\"}",
           client_id);
  CHECK(call(&a, "POST", "/oauth/token", NULL, form) == 401);
  CHECK(strstr(a.body, "invalid_client") != NULL);
}

static void closing_store(void) {
  answer a;
  int before;
  lh.closing = 1;
  start(&a, "GET", "/api/v1/callback-origins/", OWNER, NULL, &before);
  CHECK(before == 1 && a.status == 503);
  lh.closing = 0;
  /* a call in flight when the store closes gets an answer, not silence */
  start(&a, "GET", "/api/v1/callback-origins/", OWNER, NULL, &before);
  CHECK(before == 0);
  store_close(&lh.store, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(a.calls == 1 && a.status == 503);
}

int main(void) {
  char spec[128];
  char p[160];
  const char *files[] = {STORE_SQLITE_FILE, STORE_SQLITE_FILE "-wal", STORE_SQLITE_FILE "-shm"};
  size_t i;
  if (mkdtemp(dir) == NULL || uv_loop_init(&loop) != 0) {
    perror("setup");
    return 2;
  }
  memset(&lh, 0, sizeof lh);
  lh.loop = &loop;
  snprintf(lh.owner_key, sizeof lh.owner_key, "%s", OWNER);
  snprintf(spec, sizeof spec, "sqlite:%s/%s", dir, STORE_SQLITE_FILE);
  if (store_open(&lh.store, &loop, spec) != 0) {
    fprintf(stderr, "store_open: %s\n", lh.store.error);
    return 2;
  }
  RUN(answers_come_later_and_once);
  RUN(users);
  RUN(oauth_token_flow);
  RUN(closing_store);
  for (i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    (void)unlink(p);
  }
  (void)rmdir(dir);
  CHECK(uv_loop_close(&loop) == 0);
  return unit_report();
}
