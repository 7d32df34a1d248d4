/* test_credinject: credential injection on tool routes
 * (proxy/relay/credinject.c and the route key's check in
 * proxy/core/config_routes.c): the value template filled (and secrets that
 * could split a header refused), the agent's own header stripped from a
 * request head whatever its case and nothing else, the connector chosen
 * (the route's, else a tools/call's tool name, nothing for other bodies or
 * over the cap), the auth-required answer (JSON-RPC result with the
 * authenticate_meta text; the bare 409 body otherwise), and the route
 * key's refusals (framing, hop-by-hop and identity headers, {token} not
 * exactly once, CR/LF, an inband route). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "credinject.h"
#include "detect.h"
#include "unit.h"

#define CHECK_OUT(buf, text) CHECK_MEM((buf).ptr, (buf).len, text)

static void fills_the_template(void) {
  char *line = NULL;
  size_t len = 0;
  CHECK(credinject_fill("Authorization", "Bearer {token}", "sk-abc", 6, &line, &len) == 0);
  CHECK_MEM(line, len, "Authorization: Bearer sk-abc\r\n");
  free(line);
  CHECK(credinject_fill("X-Api-Key", "{token}", "k 1", 3, &line, &len) == 0);
  CHECK_MEM(line, len, "X-Api-Key: k 1\r\n");
  free(line);
  CHECK(credinject_fill("X-T", "pre {token} post", "t", 1, &line, &len) == 0);
  CHECK_MEM(line, len, "X-T: pre t post\r\n");
  free(line);
  /* a secret that could split the header, or none, or too long */
  CHECK(credinject_fill("A", "{token}", "a\r\nHost: evil", 13, &line, &len) == -EINVAL && line == NULL);
  CHECK(credinject_fill("A", "{token}", "a\nb", 3, &line, &len) == -EINVAL);
  CHECK(credinject_fill("A", "{token}", "a\0b", 3, &line, &len) == -EINVAL);
  CHECK(credinject_fill("A", "{token}", "\xc3\xa9", 2, &line, &len) == -EINVAL);
  CHECK(credinject_fill("A", "{token}", "", 0, &line, &len) == -EINVAL);
  CHECK(credinject_fill("A", "no token", "x", 1, &line, &len) == -EINVAL);
  {
    char *big = malloc(CREDINJECT_SECRET_MAX + 2);
    CHECK(big != NULL);
    if (big != NULL) {
      memset(big, 'k', CREDINJECT_SECRET_MAX + 1);
      CHECK(credinject_fill("A", "{token}", big, CREDINJECT_SECRET_MAX + 1, &line, &len) == -E2BIG);
      CHECK(credinject_fill("A", "{token}", big, CREDINJECT_SECRET_MAX, &line, &len) == 0);
      CHECK(len == 3 + CREDINJECT_SECRET_MAX + 2);
      free(line);
      free(big);
    }
  }
}

static void strips_the_agents_header(void) {
  static const char head[] = "POST /mcp HTTP/1.1\r\n"
                             "Host: tools\r\n"
                             "authorization: Bearer agent-chose-this\r\n"
                             "Content-Type: application/json\r\n"
                             "Authorization-Extra: stays\r\n"
                             "AUTHORIZATION: Bearer second\r\n"
                             "X-Authorization: stays\r\n"
                             "\r\n";
  dynbuf b;
  dynbuf_init(&b, 4096);
  CHECK(dynbuf_add(&b, head, sizeof head - 1) == 0);
  CHECK(credinject_strip(&b, "Authorization") == 2);
  CHECK_OUT(b, "POST /mcp HTTP/1.1\r\n"
               "Host: tools\r\n"
               "Content-Type: application/json\r\n"
               "Authorization-Extra: stays\r\n"
               "X-Authorization: stays\r\n"
               "\r\n");
  /* nothing to strip; the request line is never taken for a header */
  CHECK(credinject_strip(&b, "Authorization") == 0);
  b.len = 0;
  CHECK(dynbuf_add(&b, "Authorization: /x HTTP/1.1\r\n\r\n", 30) == 0);
  CHECK(credinject_strip(&b, "Authorization") == 0);
  CHECK(b.len == 30);
  dynbuf_free(&b);
}

static int connector_of(const config_route *r, const char *body, char out[CREDINJECT_SLUG_MAX + 1]) {
  return credinject_connector(r, body, body != NULL ? strlen(body) : 0, out);
}

static void chooses_the_connector(void) {
  config_route r;
  char out[CREDINJECT_SLUG_MAX + 1];
  char *big;
  size_t n;
  memset(&r, 0, sizeof r);
  /* from the called tool's name */
  CHECK(connector_of(&r, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
                         "\"Slack__post_message\",\"arguments\":{}}}", out) == 0);
  CHECK(strcmp(out, "slack") == 0);
  CHECK(connector_of(&r, "{\"method\":\"tools/call\",\"params\":{\"name\":\"authenticate_google-drive\"}}", out) == 0);
  CHECK(strcmp(out, "google-drive") == 0);
  /* not a tools/call, a name without a connector, not JSON, none */
  CHECK(connector_of(&r, "{\"method\":\"tools/list\",\"params\":{\"name\":\"slack__x\"}}", out) == -ENOENT);
  CHECK(connector_of(&r, "{\"method\":\"tools/call\",\"params\":{\"name\":\"post_message\"}}", out) == -ENOENT);
  CHECK(connector_of(&r, "{\"method\":\"tools/call\",\"params\":{\"name\":\"sl ack__x\"}}", out) == -ENOENT);
  CHECK(connector_of(&r, "{\"method\":\"tools/call\",", out) == -ENOENT);
  CHECK(connector_of(&r, NULL, out) == -ENOENT);
  /* over the cap: not read */
  big = malloc(CREDINJECT_BODY_MAX + 128);
  CHECK(big != NULL);
  if (big != NULL) {
    n = (size_t)snprintf(big, 128, "{\"method\":\"tools/call\",\"params\":{\"name\":\"slack__x\",\"pad\":\"");
    memset(big + n, 'p', CREDINJECT_BODY_MAX);
    strcpy(big + n + CREDINJECT_BODY_MAX, "\"}}");
    CHECK(connector_of(&r, big, out) == -ENOENT);
    free(big);
  }
  /* the route's wins over the tool's */
  r.credentials.connector = "github";
  CHECK(connector_of(&r, "{\"method\":\"tools/call\",\"params\":{\"name\":\"slack__post\"}}", out) == 0);
  CHECK(strcmp(out, "github") == 0);
  CHECK(connector_of(&r, NULL, out) == 0);
  CHECK(strcmp(out, "github") == 0);
}

static int holdable(const char *body) {
  return credinject_holdable(body, strlen(body));
}

static void holds_only_calls(void) {
  char *deep;
  CHECK(holdable("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}"));
  /* a long tool name and a long method are cut, never written past their buffers */
  CHECK(holdable("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"slack__a_tool_name_much_longer_than_any_small_buffer_0123456789_0123456789\"}}"));
  CHECK(!holdable("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a/method/name/longer/than/thirty/two/bytes/x\"}"));
  CHECK(!holdable("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}"));
  CHECK(!holdable("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"));
  CHECK(!holdable("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
  CHECK(holdable("{\"query\":\"plain tool call\"}"));
  CHECK(holdable("not json"));
  /* nesting past the cap is not read (no deep recursion on hostile input) */
  deep = malloc(20001);
  CHECK(deep != NULL);
  if (deep != NULL) {
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    CHECK(holdable(deep));
    free(deep);
  }
}

static void answers_auth_required(void) {
  dynbuf out;
  int jsonrpc = -1;
  static const char call[] = "{\"jsonrpc\":\"2.0\",\"id\":\"c-1\",\"method\":\"tools/call\",\"params\":{\"name\":\"slack__p\"}}";
  dynbuf_init(&out, CREDINJECT_ANSWER_MAX);
  CHECK(credinject_auth_required(&out, call, sizeof call - 1, "slack", &jsonrpc) == 0);
  CHECK(jsonrpc == 1);
  CHECK_OUT(out, "{\"jsonrpc\":\"2.0\",\"id\":\"c-1\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
                 "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":\\\"\\\","
                 "\\\"magic_link_url\\\":\\\"\\\",\\\"expires_at\\\":\\\"\\\",\\\"message\\\":"
                 "\\\"Please connect slack to continue.\\\"}\"}]}}");
  {
    /* the detector finds it there, and names the connector */
    detect_t d;
    const detect_match *m = NULL;
    detect_init(&d);
    detect_feed(&d, out.ptr, out.len);
    CHECK(detect_finish(&d, out.ptr, out.len, &m) == DETECT_MATCH);
    CHECK(m != NULL && m->connector.ptr != NULL && m->connector.len == 5 &&
          memcmp(m->connector.ptr, "slack", 5) == 0);
    detect_close(&d);
  }
  out.len = 0;
  CHECK(credinject_auth_required(&out, "plain", 5, "github", &jsonrpc) == 0);
  CHECK(jsonrpc == 0);
  CHECK_OUT(out, "{\"type\":\"authenticate_meta\",\"Connector\":\"github\",\"link_token\":\"\",\"magic_link_url\":\"\","
                 "\"expires_at\":\"\",\"message\":\"Please connect github to continue.\"}");
  dynbuf_free(&out);
}

static void refuses_bad_route_keys(void) {
  CHECK(config_credentials_problem(NULL, "Authorization", "Bearer {token}") == NULL);
  CHECK(config_credentials_problem("google-drive", "X-Api-Key", "{token}") == NULL);
  /* framing, hop-by-hop, identity and authrelay's own headers */
  CHECK(config_credentials_problem(NULL, "Host", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "content-length", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "Transfer-Encoding", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "Connection", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "TE", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "Upgrade", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "X-Registered-User-Id", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "X-Authrelay-Retry", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "X-Authrelay-Anything", "{token}") != NULL);
  /* not a field name */
  CHECK(config_credentials_problem(NULL, "Bad Header", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "A:b", "{token}") != NULL);
  CHECK(config_credentials_problem(NULL, "", "{token}") != NULL);
  /* {token} exactly once; no CR, LF or other control characters */
  CHECK(config_credentials_problem(NULL, "Authorization", "Bearer") != NULL);
  CHECK(config_credentials_problem(NULL, "Authorization", "{token} {token}") != NULL);
  CHECK(config_credentials_problem(NULL, "Authorization", "Bearer {token}\r\nX-Evil: 1") != NULL);
  CHECK(config_credentials_problem(NULL, "Authorization", "Bearer {token}\n") != NULL);
  /* the connector is a slug */
  CHECK(config_credentials_problem("Slack", "Authorization", "{token}") != NULL);
  CHECK(config_credentials_problem("", "Authorization", "{token}") != NULL);
}

/* The route key through the config loader: accepted on a tool route,
 * refused on an inband one and with unknown members. */
static int load_routes(const char *routes, char *err, size_t errlen) {
  config_t c;
  const char *argv[] = {"authrelay", "--upstream", "http://127.0.0.1:1", "--routes", routes, NULL};
  int rc = config_load(&c, 5, (char **)argv, NULL, err, errlen);
  if (rc == 0)
    config_free(&c);
  return rc;
}

static void loads_the_route_key(void) {
  char err[512];
  err[0] = '\0';
  CHECK(load_routes("[{\"prefix\":\"/t\",\"upstream\":\"http://127.0.0.1:2\",\"mode\":\"tool\",\"credentials\":"
                    "{\"header\":\"Authorization\",\"value\":\"Bearer {token}\"}}]", err, sizeof err) == 0);
  CHECK(load_routes("[{\"prefix\":\"/t\",\"upstream\":\"http://127.0.0.1:2\",\"credentials\":"
                    "{\"header\":\"Authorization\",\"value\":\"Bearer {token}\"}}]", err, sizeof err) != 0);
  CHECK(strstr(err, "mode: tool") != NULL);
  CHECK(load_routes("[{\"prefix\":\"/t\",\"upstream\":\"http://127.0.0.1:2\",\"mode\":\"tool\",\"credentials\":"
                    "{\"header\":\"Authorization\",\"value\":\"Bearer {token}\",\"extra\":1}}]", err, sizeof err) != 0);
  CHECK(load_routes("[{\"prefix\":\"/t\",\"upstream\":\"http://127.0.0.1:2\",\"mode\":\"tool\",\"credentials\":"
                    "{\"header\":\"Host\",\"value\":\"{token}\"}}]", err, sizeof err) != 0);
  CHECK(strstr(err, "credentials") != NULL);
  /* the identity header, as configured */
  {
    config_t c;
    const char *argv[] = {"authrelay", "--upstream", "http://127.0.0.1:1", "--identity-header", "X-User",
                          "--routes", "[{\"prefix\":\"/t\",\"upstream\":\"http://127.0.0.1:2\",\"mode\":\"tool\","
                          "\"credentials\":{\"header\":\"x-user\",\"value\":\"{token}\"}}]", NULL};
    CHECK(config_load(&c, 7, (char **)argv, NULL, err, sizeof err) != 0);
    CHECK(strstr(err, "identity.header") != NULL);
  }
}

int main(void) {
  RUN(fills_the_template);
  RUN(strips_the_agents_header);
  RUN(chooses_the_connector);
  RUN(holds_only_calls);
  RUN(answers_auth_required);
  RUN(refuses_bad_route_keys);
  RUN(loads_the_route_key);
  return unit_report();
}
