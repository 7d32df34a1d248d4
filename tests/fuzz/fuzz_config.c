/* fuzz_config: libFuzzer harness for the config file reader (proxy/core/config*.c,
 * config_load() with --config FILE): JSON with comments, keys checked
 * against the key table, routes, webhooks, CIDRs, URLs and addresses.
 *
 * config_sources.c reads the file by path, so the input becomes a memfd (an
 * in-memory file, no disk) named /proc/self/fd/N on the command line; the
 * environment is empty, so only defaults and the file count.
 *
 * Invariants (abort() on violation):
 *   - config_load() returns 0, -EINVAL or -ENOMEM, the same way twice (with
 *     the same message);
 *   - a rejection has a message: non-empty, one line without bytes below
 *     0x20 (bad values are quoted escaped), naming where the problem is
 *     ("config: ..."), and leaves the config_t zeroed (nothing to free);
 *   - an accepted config keeps every promise of config.h and the key table:
 *     numbers in their ranges, write_low_watermark < write_high_watermark,
 *     listen and control IP literals with ports (and apart), 1 to
 *     CONFIG_ROUTES_MAX routes with distinct, well-formed prefixes sorted
 *     longest first, each found again by config_route_match() and with an
 *     http:// upstream split into host and port, webhooks (at most
 *     CONFIG_WEBHOOKS_MAX, distinct http(s) URLs, a secret, some events),
 *     trusted CIDRs without bits past their prefix, a token header name, a
 *     public_url without a trailing "/";
 *   - no leaks (LeakSanitizer runs in the fuzz build): config_free() frees
 *     all, and a rejection frees what was built.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_MAX 512

static void failed(const char *what, const char *err) {
  fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
  if (err != NULL)
    fprintf(stderr, "  message: %s\n", err);
  abort();
}

#define CHECK(cond, what)                                                     \
  do {                                                                        \
    if (!(cond))                                                              \
      failed(what, NULL);                                                     \
  } while (0)

static int in_range(unsigned long long v, unsigned long long lo, unsigned long long hi) {
  return v >= lo && v <= hi;
}

/* A number field against its range in config_keys.c's key table. */
#define RANGE(v, lo, hi) CHECK(in_range((unsigned long long)(v), (lo), (hi)), #v " out of its range")

static int is_tchar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int is_ip_literal(const char *host) {
  unsigned char a[16];
  return host != NULL &&
         (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1);
}

static void check_routes(const config_t *c) {
  size_t i;
  size_t j;
  CHECK(c->nroutes >= 1 && c->nroutes <= CONFIG_ROUTES_MAX, "route count out of range");
  CHECK(c->routes != NULL, "routes without an array");
  for (i = 0; i < c->nroutes; i++) {
    const config_route *r = &c->routes[i];
    const config_route *m;
    size_t k;
    unsigned long port = 0;
    CHECK(r->prefix != NULL && r->prefix[0] == '/', "route prefix not starting with /");
    CHECK(r->prefix_len == strlen(r->prefix) && r->prefix_len <= 1024, "route prefix length");
    for (k = 0; k < r->prefix_len; k++) {
      unsigned char ch = (unsigned char)r->prefix[k];
      CHECK(ch > 0x20 && ch != 0x7f && ch != '?' && ch != '#', "route prefix with a bad byte");
    }
    CHECK(r->upstream != NULL && strncasecmp(r->upstream, "http://", 7) == 0,
          "route upstream not http://");
    CHECK(r->upstream_host != NULL && r->upstream_host[0] != '\0', "route without upstream host");
    CHECK(r->upstream_port[0] >= '1' && r->upstream_port[0] <= '9', "route upstream port");
    for (k = 0; r->upstream_port[k] != '\0'; k++) {
      CHECK(k < 5 && r->upstream_port[k] >= '0' && r->upstream_port[k] <= '9',
            "route upstream port not decimal");
      port = port * 10 + (unsigned long)(r->upstream_port[k] - '0');
    }
    RANGE(port, 1, 65535);
    RANGE(r->mode, CONFIG_MODE_INBAND, CONFIG_MODE_TOOL);
    RANGE(r->resume, CONFIG_RESUME_CONTINUE, CONFIG_RESUME_RETRY);
    RANGE(r->format, 0, CONFIG_FORMAT_AUTO);
    RANGE(r->on_detect, CONFIG_ON_DETECT_REPLACE, CONFIG_ON_DETECT_REWRITE);
    RANGE(r->dialect, CONFIG_DIALECT_AUTO, CONFIG_DIALECT_MCP);
    if (r->on_detect_inherited)
      CHECK(r->on_detect == c->on_detect, "inherited on_detect differs from the global one");
    if (i > 0)
      CHECK(c->routes[i - 1].prefix_len >= r->prefix_len, "routes not longest prefix first");
    for (j = 0; j < i; j++)
      CHECK(strcmp(c->routes[j].prefix, r->prefix) != 0, "two routes with one prefix");
    m = config_route_match(c, r->prefix, r->prefix_len);
    CHECK(m == r, "a route's own prefix does not find it");
  }
}

static void check_accepted(const config_t *c, const char *path) {
  size_t i;
  CHECK(c->config_file != NULL && strcmp(c->config_file, path) == 0, "config_file not kept");
  CHECK(!c->help && !c->check_only, "switches set by a file");
  CHECK(c->listen != NULL && is_ip_literal(c->listen_host), "listen host not an IP literal");
  CHECK(c->control != NULL && is_ip_literal(c->control_host), "control host not an IP literal");
  RANGE(c->listen_port, 0, 65535);
  RANGE(c->control_port, 0, 65535);
  CHECK(c->listen_port == 0 || c->listen_port != c->control_port ||
            strcmp(c->listen_host, c->control_host) != 0,
        "listen and control on one address");
  RANGE(c->workers, 1, 64);
  RANGE(c->log_level, LOG_LEVEL_DEBUG, LOG_LEVEL_ERROR);
  CHECK(c->data_dir != NULL && strlen(c->data_dir) >= 1 && strlen(c->data_dir) <= 4096, "data_dir");
  CHECK(c->admin_key != NULL && strlen(c->admin_key) <= 1024, "admin_key");
  CHECK(c->secret_key != NULL && strlen(c->secret_key) <= 128, "secret_key");
  CHECK(c->connectors != NULL && strlen(c->connectors) <= 4096, "connectors");
  CHECK(c->public_url != NULL, "public_url");
  if (c->public_url[0] != '\0') {
    size_t len = strlen(c->public_url);
    CHECK(strncasecmp(c->public_url, "http://", 7) == 0 ||
              strncasecmp(c->public_url, "https://", 8) == 0,
          "public_url not http(s)");
    CHECK(c->public_url[len - 1] != '/', "public_url ends with /");
    CHECK(strpbrk(c->public_url, "?# \t\r\n") == NULL, "public_url with a query, fragment or space");
  }
  RANGE(c->provider_timeout_s, 1, 300);
  RANGE(c->max_head_bytes, 1024, 1048576);
  RANGE(c->max_headers, 1, 10000);
  RANGE(c->max_body_bytes, 0, 4294967295ull);
  RANGE(c->client_head_timeout_s, 1, 3600);
  RANGE(c->upstream_connect_timeout_s, 1, 600);
  RANGE(c->upstream_idle_timeout_s, 1, 86400);
  RANGE(c->max_connections, 1, 1000000);
  RANGE(c->max_event_bytes, 1024, 67108864);
  RANGE(c->write_high_watermark, 1024, 67108864);
  RANGE(c->write_low_watermark, 0, 67108864);
  CHECK(c->write_low_watermark < c->write_high_watermark, "write_low_watermark >= high");
  RANGE(c->pool_max_idle, 0, 10000);
  RANGE(c->pool_idle_timeout_s, 1, 3600);
  RANGE(c->drain_timeout_s, 0, 3600);
  RANGE(c->client_idle_timeout_s, 1, 3600);
  RANGE(c->on_uninspectable, CONFIG_UNINSPECTABLE_PASS, CONFIG_UNINSPECTABLE_FAIL);
  RANGE(c->on_detect, CONFIG_ON_DETECT_REPLACE, CONFIG_ON_DETECT_REWRITE);
  RANGE(c->after_expiry, CONFIG_AFTER_EXPIRY_CONTINUE, CONFIG_AFTER_EXPIRY_CLOSE);
  RANGE(c->heartbeat_s, 1, 3600);
  RANGE(c->pause_timeout_s, 1, 604800);
  RANGE(c->max_held_bytes, 4096, 1073741824);
  RANGE(c->max_pauses_per_stream, 0, 100);
  RANGE(c->max_replay_body, 0, 1073741824);
  RANGE(c->link_service.poll_interval_s, 1, 3600);
  CHECK(c->link_service.url != NULL && c->link_service.api_key != NULL, "link_service strings");
  CHECK(strlen(c->link_service.api_key) <= 1024, "link_service.api_key");

  CHECK(c->identity.header != NULL && strlen(c->identity.header) >= 1 &&
            strlen(c->identity.header) <= 256,
        "identity.header length");
  for (i = 0; c->identity.header[i] != '\0'; i++)
    CHECK(is_tchar(c->identity.header[i]), "identity.header not a token");
  CHECK(c->identity.secret != NULL && strlen(c->identity.secret) <= 1024, "identity.secret");
  CHECK(c->identity.ntrusted_cidrs <= CONFIG_CIDRS_MAX, "too many trusted CIDRs");
  for (i = 0; i < c->identity.ntrusted_cidrs; i++) {
    const config_cidr *cidr = &c->identity.trusted_cidrs[i];
    unsigned bits = cidr->family == AF_INET ? 32 : 128;
    unsigned b;
    CHECK(cidr->family == AF_INET || cidr->family == AF_INET6, "CIDR family");
    CHECK(cidr->prefix <= bits, "CIDR prefix too long");
    for (b = cidr->prefix; b < bits; b++)
      CHECK(!(cidr->addr[b / 8] & (0x80 >> (b % 8))), "CIDR with bits past its prefix");
  }

  CHECK(c->nwebhooks <= CONFIG_WEBHOOKS_MAX, "too many webhooks");
  for (i = 0; i < c->nwebhooks; i++) {
    const config_webhook *h = &c->webhooks[i];
    size_t j;
    CHECK(h->url != NULL && (strncmp(h->url, "http://", 7) == 0 || strncmp(h->url, "https://", 8) == 0),
          "webhook url not http(s)");
    CHECK(strlen(h->url) <= 2048 && strpbrk(h->url, "# \t\r\n") == NULL, "webhook url form");
    CHECK(h->secret != NULL && h->secret[0] != '\0' && strlen(h->secret) <= 1024, "webhook secret");
    CHECK(h->events != 0 && (h->events & ~(unsigned)CONFIG_EVENT_ALL) == 0, "webhook events");
    for (j = 0; j < i; j++)
      CHECK(strcmp(c->webhooks[j].url, h->url) != 0, "two webhooks with one url");
  }
  check_routes(c);
}

static void check_rejected(const config_t *c, int rc, const char *err) {
  static const config_t zero;
  size_t i;
  size_t len = strlen(err);
  if (rc != -EINVAL && rc != -ENOMEM)
    failed("an error other than -EINVAL or -ENOMEM", err);
  if (len == 0 || len >= ERR_MAX)
    failed("a rejection without a message (or an unterminated one)", err);
  if (strncmp(err, "config: ", 8) != 0 || len <= 8)
    failed("a rejection message that does not start with \"config: \" and a name", err);
  for (i = 0; i < len; i++) {
    if ((unsigned char)err[i] < 0x20)
      failed("a rejection message with a control character (not one line)", err);
  }
  if (memcmp(c, &zero, sizeof zero) != 0)
    failed("a rejected config_t is not zeroed", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz_config", MFD_CLOEXEC);
  char path[64];
  char *argv[4];
  char err[ERR_MAX];
  char err2[ERR_MAX];
  config_t c;
  config_t c2;
  int rc;
  int rc2;
  size_t off = 0;
  if (fd < 0)
    abort();
  while (off < size) {
    ssize_t n = write(fd, data + off, size - off);
    if (n <= 0)
      abort();
    off += (size_t)n;
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  argv[0] = "authrelay";
  argv[1] = "--config";
  argv[2] = path;
  argv[3] = NULL;

  memset(err, 'x', sizeof err);
  rc = config_load(&c, 3, argv, NULL, err, sizeof err);
  memset(err2, 'x', sizeof err2);
  rc2 = config_load(&c2, 3, argv, NULL, err2, sizeof err2);
  if (rc2 != rc || (rc != 0 && strcmp(err, err2) != 0))
    failed("not the same result twice", rc != 0 ? err : err2);
  if (rc == 0) {
    check_accepted(&c, path);
    config_free(&c);
    config_free(&c2);
    {
      static const config_t zero;
      CHECK(memcmp(&c, &zero, sizeof zero) == 0, "config_free leaves something behind");
    }
  } else {
    check_rejected(&c, rc, err);
  }
  close(fd);
  return 0;
}
