/* test_config: unit tests of proxy/core/config*.c (the config snapshots a
 * reload makes are tested in tests/proxy/relay/test_cfgsnap.c).
 *
 * Config files are written to a mkdtemp() directory. Every failing load must
 * return -EINVAL with a one-line message that names the key (or the file)
 * and leave the config_t empty. Optional argv[1]: examples/authrelay.jsonc,
 * which must load to exactly the defaults.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

#define UP "--upstream=http://127.0.0.1:8000"

static char dir[] = "/tmp/test_config.XXXXXX";
static config_t cfg;
static char err[512];

/* Writes text to dir/name; returns the path (static, overwritten next call). */
static const char *write_file(const char *name, const char *text) {
  static char path[256];
  return unit_write_file(path, sizeof path, dir, name, text);
}

/* Loads cfg from NULL-terminated flag and env lists (either may be NULL). */
static int load(const char *const *flags, const char *const *env) {
  char *argv[32];
  int argc = 0;
  int rc;
  argv[argc++] = "authrelay";
  while (flags != NULL && *flags != NULL && argc < 31)
    argv[argc++] = (char *)*flags++;
  argv[argc] = NULL;
  config_free(&cfg);
  rc = config_load(&cfg, argc, argv, (char **)env, err, sizeof err);
  if (rc != 0 && (strchr(err, '\n') != NULL || err[0] == '\0')) {
    fprintf(stderr, "error message not one line: [%s]\n", err);
    rc = -1000;
  }
  if (rc != 0 && (cfg.routes != NULL || cfg.listen != NULL)) {
    fprintf(stderr, "config not emptied after an error\n");
    rc = -1001;
  }
  return rc;
}

/* Loads with one config file holding text plus the given flags. */
static int load_file(const char *text, const char *flag) {
  const char *path = write_file("c.jsonc", text);
  const char *flags[] = {"--config", path, flag, NULL};
  return load(flags, NULL);
}

/* 1 when the load failed with -EINVAL and err holds every one of the
 * NULL-terminated strings. */
static int fails_with(int rc, const char *a, const char *b) {
  if (rc != -EINVAL) {
    fprintf(stderr, "  expected -EINVAL, got %d (err: %s)\n", rc, err);
    return 0;
  }
  if (strstr(err, a) == NULL || (b != NULL && strstr(err, b) == NULL)) {
    fprintf(stderr, "  message \"%s\" lacks \"%s\"%s%s\n", err, a, b ? " or " : "", b ? b : "");
    return 0;
  }
  return 1;
}

#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)

/* store: sqlite or a PostgreSQL URL, never quoted back (a password) */
static void test_store(void) {
  CHECK(load(FLAGS(UP, "--store", "postgres://u:pw@db.example/a", "--store-timeout-s", "9"), NULL) == 0);
  CHECK_STR(cfg.store, "postgres://u:pw@db.example/a");
  CHECK(cfg.store_timeout_s == 9);
  CHECK(fails_with(load(FLAGS(UP, "--store", "mysql://u:sekrit@db.example/a"), NULL), "store", "postgres://"));
  CHECK(strstr(err, "sekrit") == NULL);
  CHECK(fails_with(load(FLAGS(UP, "--store", "sqlite:/tmp/x.db"), NULL), "store", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--store-timeout-s", "0"), NULL), "--store-timeout-s", "1 to 600"));
}

static void test_defaults(void) {
  CHECK(load(FLAGS(UP), NULL) == 0);
  CHECK_STR(cfg.listen, "127.0.0.1:8080");
  CHECK_STR(cfg.listen_host, "127.0.0.1");
  CHECK(cfg.listen_port == 8080);
  CHECK_STR(cfg.control_host, "127.0.0.1");
  CHECK(cfg.control_port == 9090);
  CHECK(cfg.workers == 1);
  CHECK(cfg.log_level == LOG_LEVEL_INFO);
  CHECK_STR(cfg.data_dir, "./data");
  CHECK_STR(cfg.store, "sqlite");
  CHECK(cfg.store_timeout_s == 5);
  CHECK_STR(cfg.public_url, "");
  CHECK_STR(cfg.admin_key, "");
  CHECK(cfg.config_file == NULL);
  CHECK(!cfg.check_only && !cfg.help);
  CHECK_EQ_U64(cfg.max_head_bytes, 16384);
  CHECK_EQ_U64(cfg.max_headers, 100);
  CHECK_EQ_U64(cfg.max_body_bytes, 10485760);
  CHECK_EQ_U64(cfg.client_head_timeout_s, 10);
  CHECK_EQ_U64(cfg.upstream_connect_timeout_s, 5);
  CHECK_EQ_U64(cfg.upstream_idle_timeout_s, 300);
  CHECK_EQ_U64(cfg.max_connections, 10000);
  CHECK_EQ_U64(cfg.max_event_bytes, 1048576);
  CHECK_EQ_U64(cfg.write_high_watermark, 65536);
  CHECK_EQ_U64(cfg.write_low_watermark, 16384);
  CHECK_EQ_U64(cfg.pool_max_idle, 64);
  CHECK_EQ_U64(cfg.pool_idle_timeout_s, 60);
  CHECK_EQ_U64(cfg.drain_timeout_s, 30);
  CHECK_EQ_U64(cfg.client_idle_timeout_s, 60);
  CHECK(cfg.on_uninspectable == CONFIG_UNINSPECTABLE_PASS);
  CHECK(cfg.on_detect == CONFIG_ON_DETECT_REWRITE);
  CHECK(cfg.after_expiry == CONFIG_AFTER_EXPIRY_CONTINUE);
  CHECK_EQ_U64(cfg.heartbeat_s, 15);
  CHECK_EQ_U64(cfg.pause_timeout_s, 1800);
  CHECK_EQ_U64(cfg.max_held_bytes, 1048576);
  CHECK_EQ_U64(cfg.max_pauses_per_stream, 4);
  CHECK_EQ_U64(cfg.max_replay_body, 1048576);
  CHECK_STR(cfg.identity.header, "X-Registered-User-Id");
  CHECK_EQ_U64(cfg.identity.ntrusted_cidrs, 2);
  CHECK_STR(cfg.identity.secret, "");
  CHECK_EQ_U64(cfg.nroutes, 1);
  if (cfg.nroutes == 1) {
    const config_route *r = &cfg.routes[0];
    CHECK_STR(r->prefix, "/");
    CHECK_EQ_U64(r->prefix_len, 1);
    CHECK_STR(r->upstream, "http://127.0.0.1:8000");
    CHECK_STR(r->upstream_host, "127.0.0.1");
    CHECK_STR(r->upstream_port, "8000");
    CHECK(r->mode == CONFIG_MODE_INBAND);
    CHECK(r->resume == CONFIG_RESUME_CONTINUE);
    CHECK(r->format == CONFIG_FORMAT_AUTO);
    CHECK(r->on_detect == CONFIG_ON_DETECT_REWRITE);
    CHECK(r->dialect == CONFIG_DIALECT_AUTO);
  }
  /* nothing to relay to */
  CHECK(fails_with(load(NULL, NULL), "upstream", NULL));
}

static void test_switches(void) {
  CHECK(load(FLAGS("--help"), NULL) == 0 && cfg.help);
  CHECK(load(FLAGS("--bogus", "-h"), NULL) == 0 && cfg.help);
  CHECK(load(FLAGS(UP, "--check-config"), NULL) == 0 && cfg.check_only && !cfg.help);
  CHECK(fails_with(load(FLAGS(UP, "--check-config=yes"), NULL), "--check-config", "no value"));
}

static const char sample[] =
    "// a comment at the top\n"
    "{\n"
    "  /* block comment */ \"listen\": \"[::1]:0\",\n"
    "  \"upstream\": \"http://Agent.internal\", // name, port 80\n"
    "  \"workers\": 4,\n"
    "  \"log_level\": \"debug\",\n"
    "  \"public_url\": \"https://relay.example.com/base//\",\n"
    "  \"on_detect\": \"keep\",\n"
    "  \"max_body_bytes\": 0,\n"
    "  \"identity\": {\"header\": \"X-User\", \"trusted_cidrs\": [\"10.0.0.0/8\"],"
    " \"secret\": \"s3cret\"},\n"
    "  \"routes\": [\n"
    "    {\"prefix\": \"/api\", \"upstream\": \"http://[::1]:9001/\", \"mode\": \"tool\",\n"
    "     \"resume\": \"retry\", \"format\": \"ndjson\"},\n"
    "    {\"prefix\": \"/sse\", \"upstream\": \"http://127.0.0.1:9002\", \"on_detect\": \"replace\",\n"
    "     \"dialect\": \"ai-sdk\"}\n"
    "  ]\n"
    "}\n";

static void test_file(void) {
  const config_route *r;
  CHECK(load_file(sample, NULL) == 0);
  CHECK(cfg.config_file != NULL && strstr(cfg.config_file, "c.jsonc") != NULL);
  CHECK_STR(cfg.listen_host, "::1");
  CHECK(cfg.listen_port == 0);
  CHECK(cfg.workers == 4);
  CHECK(cfg.log_level == LOG_LEVEL_DEBUG);
  CHECK_STR(cfg.public_url, "https://relay.example.com/base");
  CHECK_EQ_U64(cfg.max_body_bytes, 0);
  CHECK_STR(cfg.identity.header, "X-User");
  CHECK_STR(cfg.identity.secret, "s3cret");
  CHECK_EQ_U64(cfg.identity.ntrusted_cidrs, 1);
  CHECK_EQ_U64(cfg.nroutes, 3);
  if (cfg.nroutes != 3)
    return;
  /* longest prefix first; "/" added by "upstream" */
  CHECK_STR(cfg.routes[2].prefix, "/");
  CHECK_STR(cfg.routes[2].upstream_host, "Agent.internal");
  CHECK_STR(cfg.routes[2].upstream_port, "80");
  r = config_route_match(&cfg, "/api/chat", 9);
  CHECK(r != NULL && strcmp(r->prefix, "/api") == 0);
  if (r != NULL) {
    CHECK_STR(r->upstream_host, "::1");
    CHECK_STR(r->upstream_port, "9001");
    CHECK(r->mode == CONFIG_MODE_TOOL);
    CHECK(r->resume == CONFIG_RESUME_RETRY);
    CHECK(r->format == CONFIG_FORMAT_NDJSON);
    CHECK(r->on_detect == CONFIG_ON_DETECT_KEEP && r->on_detect_inherited);
  }
  r = config_route_match(&cfg, "/sse", 4);
  CHECK(r != NULL && r->on_detect == CONFIG_ON_DETECT_REPLACE && !r->on_detect_inherited);
  CHECK(r != NULL && r->dialect == CONFIG_DIALECT_AI_SDK);
  CHECK(r != NULL && r->format == CONFIG_FORMAT_AUTO && r->mode == CONFIG_MODE_INBAND);
  CHECK(config_route_match(&cfg, "/api", 4) != NULL &&
        config_route_match(&cfg, "/api", 4)->dialect == CONFIG_DIALECT_AUTO);

  /* dialect: the config words; anything else is refused, naming the key */
  CHECK(load_file("{\"upstream\": \"http://a:1\", \"on_detect\": \"rewrite\", \"routes\": [{\"prefix\":"
                  " \"/x\", \"upstream\": \"http://b:2\", \"dialect\": \"openai-responses\"}]}", NULL) == 0);
  CHECK(cfg.on_detect == CONFIG_ON_DETECT_REWRITE);
  r = config_route_match(&cfg, "/x", 2);
  CHECK(r != NULL && r->dialect == CONFIG_DIALECT_OPENAI_RESPONSES && r->on_detect == CONFIG_ON_DETECT_REWRITE);
  CHECK(fails_with(load_file("{\"upstream\": \"http://a:1\", \"routes\": [{\"prefix\": \"/x\","
                             " \"upstream\": \"http://b:2\", \"dialect\": \"openai\"}]}", NULL),
                   "routes[0].dialect", NULL));

  /* a "/" route in the file gets the upstream of "upstream" */
  CHECK(load_file("{\"upstream\": \"http://a:1\", \"routes\": [{\"prefix\": \"/\","
                  " \"upstream\": \"http://b:2\", \"mode\": \"tool\"}]}", NULL) == 0);
  CHECK(cfg.nroutes == 1 && strcmp(cfg.routes[0].upstream_host, "a") == 0 &&
        cfg.routes[0].mode == CONFIG_MODE_TOOL);

  /* AUTHRELAY_CONFIG names the file; --config wins over it */
  {
    const char *path = write_file("env.jsonc", "{\"workers\": 3, \"upstream\": \"http://x:1\"}");
    char var[300];
    const char *env[] = {var, NULL};
    snprintf(var, sizeof var, "AUTHRELAY_CONFIG=%s", path);
    CHECK(load(NULL, env) == 0 && cfg.workers == 3);
    write_file("other.jsonc", "{\"workers\": 5}");
    {
      char other[300];
      snprintf(other, sizeof other, "%s/other.jsonc", dir);
      CHECK(load(FLAGS("--config", other, UP), env) == 0 && cfg.workers == 5);
    }
  }
}

static void test_layers(void) {
  const char *path = write_file("l.jsonc", "{\"workers\": 2, \"log_level\": \"warn\","
                                           " \"upstream\": \"http://file:1\"}");
  const char *env[] = {"AUTHRELAY_WORKERS=3", "AUTHRELAY_LOG_LEVEL=error", "PATH=/bin",
                       "AUTHRELAY_SECRET_KEY=ignored", "AUTHRELAY_IDENTITY_HEADER=X-Env",
                       "AUTHRELAY_IDENTITY_TRUSTED_CIDRS= 192.168.0.0/16 , fd00::/8,,",
                       "AUTHRELAY_UPSTREAM=http://env:2", NULL};
  /* env over file */
  CHECK(load(FLAGS("--config", path), env) == 0);
  CHECK(cfg.workers == 3);
  CHECK(cfg.log_level == LOG_LEVEL_ERROR);
  CHECK_STR(cfg.identity.header, "X-Env");
  CHECK_EQ_U64(cfg.identity.ntrusted_cidrs, 2);
  CHECK(cfg.nroutes == 1 && strcmp(cfg.routes[0].upstream_host, "env") == 0);
  /* flags over env, both flag forms, the last one wins */
  CHECK(load(FLAGS("--config", path, "--workers", "5", "--log-level=debug",
                   "--upstream", "http://flag:3", "--workers=6"),
             env) == 0);
  CHECK(cfg.workers == 6);
  CHECK(cfg.log_level == LOG_LEVEL_DEBUG);
  CHECK(cfg.nroutes == 1 && strcmp(cfg.routes[0].upstream_host, "flag") == 0);
  CHECK_STR(cfg.routes[0].upstream_port, "3");
  /* routes as JSON in a flag and in the environment; "" trusts nobody */
  {
    const char *renv[] = {"AUTHRELAY_ROUTES=[{\"prefix\":\"/e\",\"upstream\":\"http://e:1\"}]",
                          "AUTHRELAY_IDENTITY_TRUSTED_CIDRS=", NULL};
    CHECK(load(NULL, renv) == 0 && cfg.nroutes == 1 && strcmp(cfg.routes[0].prefix, "/e") == 0);
    CHECK_EQ_U64(cfg.identity.ntrusted_cidrs, 0);
    CHECK(load(FLAGS("--routes", "[{\"prefix\":\"/f\",\"upstream\":\"http://f:1\"},"
                                 "{\"prefix\":\"/f/g\",\"upstream\":\"http://g:1\"}]"),
               renv) == 0);
    CHECK(cfg.nroutes == 2 && strcmp(cfg.routes[0].prefix, "/f/g") == 0);
  }
}

static void test_file_errors(void) {
  /* unknown keys name the key and the file */
  CHECK(fails_with(load_file("{\"listne\": \"x\"}", UP), "unknown key \"listne\"", dir));
  CHECK(fails_with(load_file("{\"identity\": {\"hedaer\": \"x\"}}", UP),
                   "unknown key \"identity.hedaer\"", dir));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/a\", \"upstream\": \"http://a:1\"},"
                             " {\"prefix\": \"/b\", \"upstrem\": \"http://b:1\"}]}", UP),
                   "unknown key \"routes[1].upstrem\"", dir));
  CHECK(fails_with(load_file("{\"config\": \"x\"}", UP), "unknown key \"config\"", NULL));
  CHECK(fails_with(load_file("{\"workers\": 2, \"workers\": 3}", UP), "workers", "twice"));
  /* a member name with a control character: refused before it is quoted,
   * so the message stays one line (found by fuzz_config) */
  CHECK(fails_with(load_file("{\"routes\": [{\"pre\\nfix\": \"/x\"}]}", UP),
                   "a member name holds a control character", dir));
  CHECK(strchr(err, '\n') == NULL);
  CHECK(fails_with(load_file("{\"webhooks\": [{\"u\\u001brl\": 1}]}", UP),
                   "a member name holds a control character", NULL));
  CHECK(strchr(err, '\x1b') == NULL);
  CHECK(fails_with(load_file("{\"listen\\r\": 1}", UP), "control character", NULL));
  /* webhook events: the connection events by name, an unknown one refused */
  CHECK(load_file("{\"webhooks\": [{\"url\": \"http://h:1/x\", \"secret\": \"s\", \"events\": "
                  "[\"connection_refreshed\", \"connection_broken\"]}]}", UP) == 0);
  CHECK(cfg.nwebhooks == 1 &&
        cfg.webhooks[0].events == (CONFIG_EVENT_CONNECTION_REFRESHED | CONFIG_EVENT_CONNECTION_BROKEN));
  CHECK(fails_with(load_file("{\"webhooks\": [{\"url\": \"http://h:1/x\", \"secret\": \"s\", \"events\": "
                             "[\"connection_renamed\"]}]}", UP), "webhooks[0].events[0]", "connection_deleted"));
  /* types and numbers */
  CHECK(fails_with(load_file("{\"max_head_bytes\": \"abc\"}", UP),
                   "config: max_head_bytes: must be a whole number from 1024 to 1048576",
                   "got \"abc\""));
  CHECK(fails_with(load_file("{\"max_head_bytes\": \"16384\"}", UP), "max_head_bytes", NULL));
  CHECK(fails_with(load_file("{\"workers\": 1.5}", UP), "workers", "got 1.5"));
  CHECK(fails_with(load_file("{\"workers\": 1e1}", UP), "workers", "got 1e1"));
  CHECK(fails_with(load_file("{\"workers\": -1}", UP), "workers", "got -1"));
  CHECK(fails_with(load_file("{\"workers\": 99999999999999999999999}", UP), "workers", NULL));
  CHECK(fails_with(load_file("{\"workers\": true}", UP), "workers", "got true"));
  CHECK(fails_with(load_file("{\"workers\": 65}", UP), "workers", "1 to 64"));
  CHECK(fails_with(load_file("{\"max_head_bytes\": 100}", UP), "max_head_bytes", "got 100"));
  CHECK(fails_with(load_file("{\"data_dir\": null}", UP), "data_dir", "got null"));
  CHECK(fails_with(load_file("{\"data_dir\": \"\"}", UP), "data_dir", NULL));
  CHECK(fails_with(load_file("{\"listen\": 8080}", UP), "listen", "got 8080"));
  CHECK(fails_with(load_file("{\"identity\": 5}", UP), "identity", "must be an object"));
  CHECK(fails_with(load_file("{\"routes\": {}}", UP), "routes", "got an object"));
  CHECK(fails_with(load_file("{\"routes\": [5]}", UP), "routes[0]", "object"));
  CHECK(fails_with(load_file("{\"identity\": {\"trusted_cidrs\": \"10.0.0.0/8\"}}", UP),
                   "identity.trusted_cidrs", "array"));
  CHECK(fails_with(load_file("{\"identity\": {\"trusted_cidrs\": [\"10.0.0.0/8\", 7]}}", UP),
                   "identity.trusted_cidrs[1]", "got 7"));
  /* secrets are never quoted back */
  CHECK(fails_with(load_file("{\"admin_key\": 12345}", UP), "admin_key", NULL));
  CHECK(strstr(err, "12345") == NULL);
  /* enums */
  CHECK(fails_with(load_file("{\"log_level\": \"verbose\"}", UP),
                   "log_level: must be one of debug, info, warn, error", "\"verbose\""));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/\", \"upstream\": \"http://a:1\","
                             " \"mode\": \"inline\"}]}", NULL),
                   "routes[0].mode", "inband, tool"));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/\", \"upstream\": \"http://a:1\","
                             " \"format\": \"xml\"}]}", NULL),
                   "routes[0].format", "\"xml\""));
  /* routes */
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/a\"}]}", NULL), "routes[0]",
                   "missing \"upstream\""));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"a\", \"upstream\": \"http://a:1\"}]}",
                             NULL),
                   "routes[0].prefix", "got \"a\""));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/a?b\", \"upstream\": \"http://a:1\"}]}",
                             NULL),
                   "routes[0].prefix", NULL));
  CHECK(fails_with(load_file("{\"routes\": [{\"prefix\": \"/a\", \"upstream\": \"http://a:1\"},"
                             "{\"prefix\": \"/a\", \"upstream\": \"http://b:1\"}]}", NULL),
                   "routes[1].prefix", "routes[0]"));
  /* malformed JSON: the file, line and column */
  CHECK(fails_with(load_file("{\n  \"listen\": }\n", UP), dir, "line 2"));
  CHECK(fails_with(load_file("{\"listen\": \"a\",}", UP), dir, "invalid JSON"));
  CHECK(fails_with(load_file("", UP), dir, "invalid JSON"));
  CHECK(fails_with(load_file("{} {}", UP), dir, "invalid JSON"));
  CHECK(fails_with(load_file("[1]", UP), dir, "JSON object"));
  CHECK(fails_with(load_file("{\"data_dir\": \"a\\u0000b\"}", UP), dir, "NUL"));
  CHECK(fails_with(load_file("{\"data_dir\": \"\xff\"}", UP), dir, "invalid JSON"));
  {
    char deep[200];
    size_t i;
    for (i = 0; i < 40; i++)
      deep[i] = '[';
    deep[40] = '\0';
    CHECK(fails_with(load_file(deep, UP), dir, "nested too deeply"));
  }
  /* files that cannot be read */
  {
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.jsonc", dir);
    CHECK(fails_with(load(FLAGS("--config", missing, UP), NULL), "--config", "missing.jsonc"));
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(fails_with(load(FLAGS("--config", dir, UP), NULL), "--config", NULL));
    CHECK(fails_with(load(FLAGS("--config=", UP), NULL), "--config", NULL));
  }
  {
    size_t n = CONFIG_FILE_MAX + 10;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    if (big != NULL) {
      memset(big, ' ', n);
      big[0] = '{';
      big[n - 1] = '}';
      big[n] = '\0';
      CHECK(fails_with(load_file(big, UP), "larger than", NULL));
      free(big);
    }
  }
}

static void test_flag_errors(void) {
  const char *bad_env[] = {"AUTHRELAY_WORKERS=many", NULL};
  CHECK(fails_with(load(FLAGS(UP, "--listne", "x"), NULL), "--listne", "unknown flag"));
  CHECK(fails_with(load(FLAGS(UP, "--listne=x"), NULL), "--listne:", NULL));
  CHECK(fails_with(load(FLAGS(UP, "listen"), NULL), "unexpected argument \"listen\"", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--listen"), NULL), "--listen", "needs a value"));
  CHECK(fails_with(load(FLAGS(UP, "--workers", "abc"), NULL),
                   "--workers: must be a whole number from 1 to 64", "got \"abc\""));
  CHECK(fails_with(load(FLAGS(UP, "--workers=0"), NULL), "--workers", "got \"0\""));
  CHECK(fails_with(load(FLAGS(UP, "--workers= 2"), NULL), "--workers", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--workers=+2"), NULL), "--workers", NULL));
  CHECK(fails_with(load(FLAGS(UP), bad_env), "AUTHRELAY_WORKERS", "got \"many\""));
  CHECK(fails_with(load(FLAGS(UP, "--on-detect", "drop"), NULL), "--on-detect", "replace, keep"));
  CHECK(fails_with(load(FLAGS(UP, "--after-expiry", "stop"), NULL), "--after-expiry", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--on-uninspectable", "x"), NULL), "--on-uninspectable", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--write-low-watermark", "65536"), NULL), "write_low_watermark",
                   "write_high_watermark"));
  CHECK(fails_with(load(FLAGS(UP, "--write-high-watermark", "4096"), NULL), "write_low_watermark",
                   NULL));
  CHECK(load(FLAGS(UP, "--write-high-watermark", "4096", "--write-low-watermark", "4095"),
             NULL) == 0);
  CHECK(fails_with(load(FLAGS(UP, "--control", "127.0.0.1:8080"), NULL), "control", "listen"));
  CHECK(fails_with(load(FLAGS(UP, "--routes", "[{\"prefix\":\"/a\",\"upstrem\":\"x\"}]"), NULL),
                   "--routes: unknown key \"routes[0].upstrem\"", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--routes", "[{"), NULL), "--routes", "invalid JSON"));
  CHECK(fails_with(load(FLAGS(UP, "--identity-header", "X Bad"), NULL), "--identity-header",
                   NULL));
  CHECK(fails_with(load(FLAGS(UP, "--identity-header", ""), NULL), "--identity-header", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--public-url", "ftp://x"), NULL), "--public-url", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--public-url", "https://x/?a"), NULL), "--public-url", NULL));
  CHECK(fails_with(load(FLAGS(UP, "--public-url", "https://"), NULL), "--public-url", NULL));
  /* a long bad value is cut in the message */
  {
    char longv[400];
    memset(longv, 'z', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    CHECK(fails_with(load(FLAGS(UP, "--log-level", longv), NULL), "--log-level", "...\""));
    CHECK(strlen(err) < 200);
  }
}

static void test_url_errors(void) {
  static const char *const bad[] = {
      "https://a:1",      "ftp://a",        "a:1",           "http://",
      "http://a:0",       "http://a:65536", "http://a:",     "http://a:1x",
      "http://a/v1",      "http://a:1?x",   "http://u@a:1",  "http://a b:1",
      "http://[::1:1",    "http://[zz]:1",  "http://1.2.3.256", "http://::1:80",
      "http://a:1:2",     NULL};
  static const char *const good[][3] = {
      {"http://127.0.0.1:9000", "127.0.0.1", "9000"},
      {"HTTP://Example.COM", "Example.COM", "80"},
      {"http://[::1]:8080/", "::1", "8080"},
      {"http://[fe80::1]", "fe80::1", "80"},
      {"http://agent-1.svc.cluster.local:65535", "agent-1.svc.cluster.local", "65535"},
      {"http://agent_server:8000", "agent_server", "8000"}};
  size_t i;
  for (i = 0; bad[i] != NULL; i++) {
    int ok = fails_with(load(FLAGS("--upstream", bad[i]), NULL), "--upstream", NULL);
    if (!ok)
      fprintf(stderr, "  accepted bad URL %s\n", bad[i]);
    CHECK(ok);
  }
  CHECK(fails_with(load(FLAGS("--upstream", "https://a:1"), NULL), "https", "not supported"));
  CHECK(fails_with(load(FLAGS("--upstream", "http://a/v1"), NULL), "path", NULL));
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK(load(FLAGS("--upstream", good[i][0]), NULL) == 0);
    CHECK(cfg.nroutes == 1);
    if (cfg.nroutes == 1) {
      CHECK_STR(cfg.routes[0].upstream_host, good[i][1]);
      CHECK_STR(cfg.routes[0].upstream_port, good[i][2]);
    }
  }
}

static void test_listen(void) {
  static const char *const bad[] = {"localhost:8080", "127.0.0.1", "::1:8080", "[::1]:99999",
                                    "[::1]",          "[::1",      "127.0.0.1:", ":8080",
                                    "1.2.3.4:80:1",   "[1.2.3.4]:80", "0.0.0.0:-1", NULL};
  size_t i;
  for (i = 0; bad[i] != NULL; i++) {
    int ok = fails_with(load(FLAGS(UP, "--listen", bad[i]), NULL), "--listen", NULL);
    if (!ok)
      fprintf(stderr, "  accepted bad address %s\n", bad[i]);
    CHECK(ok);
  }
  CHECK(fails_with(load(FLAGS(UP, "--listen", "localhost:8080"), NULL), "IPv4", "localhost"));
  CHECK(load(FLAGS(UP, "--listen", "0.0.0.0:80", "--control", "[::]:9999"), NULL) == 0);
  CHECK_STR(cfg.listen_host, "0.0.0.0");
  CHECK(cfg.listen_port == 80);
  CHECK_STR(cfg.control_host, "::");
  CHECK(cfg.control_port == 9999);
  CHECK_STR(cfg.control, "[::]:9999");
}

static void test_cidr_errors(void) {
  static const char *const bad[] = {"10.0.0.1/33", "10.1.2.3/8", "nonsense", "10.0.0.0/",
                                    "10.0.0.0/a", "::1/129",    "fe80::1/10", "10.0.0.0/08x",
                                    "1.2.3.4/-1", NULL};
  size_t i;
  for (i = 0; bad[i] != NULL; i++) {
    int ok = fails_with(load(FLAGS(UP, "--identity-trusted-cidrs", bad[i]), NULL),
                        "--identity-trusted-cidrs", bad[i]);
    if (!ok)
      fprintf(stderr, "  accepted bad CIDR %s\n", bad[i]);
    CHECK(ok);
  }
  CHECK(fails_with(load(FLAGS(UP, "--identity-trusted-cidrs", "127.0.0.0/8,10.1.2.3/8"), NULL),
                   "\"10.1.2.3/8\"", NULL));
}

static void test_route_match(void) {
  const config_route *r;
  CHECK(load(FLAGS("--routes", "[{\"prefix\":\"/api\",\"upstream\":\"http://a:1\"},"
                               "{\"prefix\":\"/api/v2\",\"upstream\":\"http://b:1\"},"
                               "{\"prefix\":\"/docs/\",\"upstream\":\"http://c:1\"}]",
                   UP),
             NULL) == 0);
  CHECK(cfg.nroutes == 4);
  if (cfg.nroutes != 4)
    return;
  /* sorted longest prefix first */
  CHECK_STR(cfg.routes[0].prefix, "/api/v2");
  CHECK_STR(cfg.routes[3].prefix, "/");
#define MATCH(path, want)                                                           \
  do {                                                                              \
    r = config_route_match(&cfg, path, strlen(path));                               \
    CHECK(r != NULL && strcmp(r->prefix, want) == 0);                               \
    if (r == NULL || strcmp(r->prefix, want) != 0)                                  \
      fprintf(stderr, "  %s matched %s, want %s\n", path, r ? r->prefix : "none", want); \
  } while (0)
  MATCH("/api", "/api");
  MATCH("/api/x", "/api");
  MATCH("/api?x=1", "/api");
  MATCH("/apix", "/");
  MATCH("/api/v2", "/api/v2");
  MATCH("/api/v2/chat?stream=1", "/api/v2");
  MATCH("/api/v22", "/api");
  MATCH("/docs/", "/docs/");
  MATCH("/docs/x", "/docs/");
  MATCH("/docs", "/");
  MATCH("/", "/");
  MATCH("/?q", "/");
  /* len is honoured: the bytes after it are not looked at */
  r = config_route_match(&cfg, "/api/v2", 4);
  CHECK(r != NULL && strcmp(r->prefix, "/api") == 0);
  CHECK(config_route_match(&cfg, "*", 1) == NULL);
  CHECK(config_route_match(&cfg, "", 0) == NULL);
  /* without a "/" route, other paths match nothing */
  CHECK(load(FLAGS("--routes", "[{\"prefix\":\"/api\",\"upstream\":\"http://a:1\"}]"), NULL) == 0);
  CHECK(config_route_match(&cfg, "/other", 6) == NULL);
  CHECK(config_route_match(&cfg, "/ap", 3) == NULL);
  MATCH("/api/", "/api");
#undef MATCH
}

static struct sockaddr_storage addr(const char *ip) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(ip, ':') != NULL) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &s6->sin6_addr);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &s4->sin_addr);
  }
  return ss;
}

static int trusted(const config_cidr *c, size_t n, const char *ip) {
  struct sockaddr_storage ss = addr(ip);
  return config_cidr_match(c, n, (const struct sockaddr *)&ss);
}

static void test_cidr_match(void) {
  config_cidr c[4];
  config_cidr one;
  CHECK(config_cidr_parse("10.0.0.0/8", &c[0]) == 0);
  CHECK(config_cidr_parse("192.168.0.0/23", &c[1]) == 0);
  CHECK(config_cidr_parse("::1/128", &c[2]) == 0);
  CHECK(config_cidr_parse("fe80::/10", &c[3]) == 0);
  CHECK(c[0].family == AF_INET && c[0].prefix == 8);
  CHECK(c[3].family == AF_INET6 && c[3].prefix == 10);
  CHECK(trusted(c, 4, "10.1.2.3"));
  CHECK(trusted(c, 4, "10.255.255.255"));
  CHECK(!trusted(c, 4, "11.0.0.1"));
  CHECK(!trusted(c, 4, "9.255.255.255"));
  CHECK(trusted(c, 4, "192.168.1.77"));
  CHECK(!trusted(c, 4, "192.168.2.1"));
  CHECK(trusted(c, 4, "::1"));
  CHECK(!trusted(c, 4, "::2"));
  CHECK(trusted(c, 4, "fe80::abcd"));
  CHECK(trusted(c, 4, "febf::1"));
  CHECK(!trusted(c, 4, "fec0::1"));
  /* IPv4-mapped peers of a dual-stack socket are checked as IPv4 */
  CHECK(trusted(c, 4, "::ffff:10.9.8.7"));
  CHECK(!trusted(c, 4, "::ffff:11.9.8.7"));
  CHECK(!trusted(c, 0, "10.1.2.3"));
  CHECK(!config_cidr_match(c, 4, NULL));
  /* a bare address is a host; /0 is everything of its family */
  CHECK(config_cidr_parse("127.0.0.1", &one) == 0 && one.prefix == 32);
  CHECK(trusted(&one, 1, "127.0.0.1") && !trusted(&one, 1, "127.0.0.2"));
  CHECK(config_cidr_parse("0.0.0.0/0", &one) == 0);
  CHECK(trusted(&one, 1, "203.0.113.9") && !trusted(&one, 1, "2001:db8::1"));
  CHECK(config_cidr_parse("::/0", &one) == 0);
  CHECK(trusted(&one, 1, "2001:db8::1") && !trusted(&one, 1, "203.0.113.9"));
  /* the defaults trust loopback only */
  CHECK(load(FLAGS(UP), NULL) == 0);
  CHECK(trusted(cfg.identity.trusted_cidrs, cfg.identity.ntrusted_cidrs, "127.0.0.1"));
  CHECK(trusted(cfg.identity.trusted_cidrs, cfg.identity.ntrusted_cidrs, "127.8.9.10"));
  CHECK(trusted(cfg.identity.trusted_cidrs, cfg.identity.ntrusted_cidrs, "::1"));
  CHECK(!trusted(cfg.identity.trusted_cidrs, cfg.identity.ntrusted_cidrs, "192.0.2.1"));
}

static void test_usage(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  CHECK(f != NULL);
  if (f == NULL)
    return;
  config_usage(f);
  fclose(f);
  CHECK(strstr(text, "--listen HOST:PORT") != NULL);
  CHECK(strstr(text, "--identity-trusted-cidrs") != NULL);
  CHECK(strstr(text, "AUTHRELAY_MAX_HEAD_BYTES") != NULL);
  CHECK(strstr(text, "1024 to 1048576, default 16384") != NULL);
  CHECK(strstr(text, "--check-config") != NULL);
  CHECK(strstr(text, "--version") != NULL);
  CHECK(strstr(text, "--routes JSON") != NULL);
  free(text);
}

static void test_names(void) {
  CHECK(strcmp(config_mode_name(CONFIG_MODE_TOOL), "tool") == 0);
  CHECK(strcmp(config_resume_name(CONFIG_RESUME_RETRY), "retry") == 0);
  CHECK(strcmp(config_format_name(CONFIG_FORMAT_AUTO), "auto") == 0);
  CHECK(strcmp(config_format_name(CONFIG_FORMAT_SSE), "sse") == 0);
  CHECK(strcmp(config_on_detect_name(CONFIG_ON_DETECT_KEEP), "keep") == 0);
  CHECK(strcmp(config_on_detect_name(CONFIG_ON_DETECT_REWRITE), "rewrite") == 0);
  CHECK(strcmp(config_dialect_name(CONFIG_DIALECT_AG_UI), "ag-ui") == 0);
  CHECK(strcmp(config_dialect_name(CONFIG_DIALECT_MCP), "mcp") == 0);
  CHECK(strcmp(config_dialect_name((config_dialect)99), "unknown") == 0);
  CHECK((int)CONFIG_FORMAT_NDJSON == (int)FRAMER_NDJSON);
}

/* The sample config, examples/authrelay.jsonc, sets every key to its
 * default (and an example upstream): loading it changes nothing. */
static const char *example_path; /* argv[1], or NULL */

static void test_example(void) {
  const char *path = example_path;
  config_t d;
  char e[512];
  char *argv[] = {"authrelay", "--upstream", "http://127.0.0.1:8000", NULL};
  if (path == NULL) {
    fprintf(stderr, "  (no example file given: skipped)\n");
    return;
  }
  CHECK(config_load(&d, 3, argv, NULL, e, sizeof e) == 0);
  CHECK(load(FLAGS("--config", path), NULL) == 0);
  if (err[0] != '\0')
    fprintf(stderr, "  %s\n", err);
  CHECK_STR(cfg.listen, d.listen);
  CHECK_STR(cfg.control, d.control);
  CHECK_STR(cfg.data_dir, d.data_dir);
  CHECK_STR(cfg.public_url, d.public_url);
  CHECK_STR(cfg.admin_key, d.admin_key);
  CHECK_STR(cfg.identity.header, d.identity.header);
  CHECK_STR(cfg.identity.secret, d.identity.secret);
  CHECK(cfg.identity.ntrusted_cidrs == d.identity.ntrusted_cidrs &&
        memcmp(cfg.identity.trusted_cidrs, d.identity.trusted_cidrs,
               d.identity.ntrusted_cidrs * sizeof(config_cidr)) == 0);
  CHECK(cfg.nroutes == 1 && d.nroutes == 1);
  if (cfg.nroutes == 1 && d.nroutes == 1) {
    CHECK_STR(cfg.routes[0].upstream, d.routes[0].upstream);
    CHECK(cfg.routes[0].mode == d.routes[0].mode && cfg.routes[0].format == d.routes[0].format);
  }
  /* every number and enum: compare the block of scalar fields */
  CHECK(cfg.workers == d.workers && cfg.log_level == d.log_level);
  CHECK(memcmp(&cfg.max_head_bytes, &d.max_head_bytes,
               (size_t)((char *)&cfg.identity - (char *)&cfg.max_head_bytes)) == 0);
  config_free(&d);
}

int main(int argc, char **argv) {
  example_path = argc > 1 ? argv[1] : NULL;
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  RUN(test_defaults);
  RUN(test_store);
  RUN(test_switches);
  RUN(test_file);
  RUN(test_layers);
  RUN(test_file_errors);
  RUN(test_flag_errors);
  RUN(test_url_errors);
  RUN(test_listen);
  RUN(test_cidr_errors);
  RUN(test_route_match);
  RUN(test_cidr_match);
  RUN(test_usage);
  RUN(test_names);
  RUN(test_example);
  config_free(&cfg);
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", dir);
  }
  return unit_report();
}
