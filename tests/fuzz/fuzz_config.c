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
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_MAX 512

static int in_range(unsigned long long v, unsigned long long lo, unsigned long long hi) {
  return v >= lo && v <= hi;
}

/* A number field against its range in config_keys.c's key table. */
#define RANGE(v, lo, hi) REQUIRE_MSG(in_range((unsigned long long)(v), (lo), (hi)), "%s", #v " out of its range")

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
  REQUIRE_MSG(c->nroutes >= 1 && c->nroutes <= CONFIG_ROUTES_MAX, "route count out of range");
  REQUIRE_MSG(c->routes != NULL, "routes without an array");
  for (i = 0; i < c->nroutes; i++) {
    const config_route *r = &c->routes[i];
    const config_route *m;
    size_t k;
    unsigned long port = 0;
    REQUIRE_MSG(r->prefix != NULL && r->prefix[0] == '/', "route prefix not starting with /");
    REQUIRE_MSG(r->prefix_len == strlen(r->prefix) && r->prefix_len <= 1024, "route prefix length");
    for (k = 0; k < r->prefix_len; k++) {
      unsigned char ch = (unsigned char)r->prefix[k];
      REQUIRE_MSG(ch > 0x20 && ch != 0x7f && ch != '?' && ch != '#', "route prefix with a bad byte");
    }
    REQUIRE_MSG(r->upstream != NULL && strncasecmp(r->upstream, "http://", 7) == 0,
          "route upstream not http://");
    REQUIRE_MSG(r->upstream_host != NULL && r->upstream_host[0] != '\0', "route without upstream host");
    REQUIRE_MSG(r->upstream_port[0] >= '1' && r->upstream_port[0] <= '9', "route upstream port");
    for (k = 0; r->upstream_port[k] != '\0'; k++) {
      REQUIRE_MSG(k < 5 && r->upstream_port[k] >= '0' && r->upstream_port[k] <= '9',
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
      REQUIRE_MSG(r->on_detect == c->on_detect, "inherited on_detect differs from the global one");
    if (i > 0)
      REQUIRE_MSG(c->routes[i - 1].prefix_len >= r->prefix_len, "routes not longest prefix first");
    for (j = 0; j < i; j++)
      REQUIRE_MSG(strcmp(c->routes[j].prefix, r->prefix) != 0, "two routes with one prefix");
    m = config_route_match(c, r->prefix, r->prefix_len);
    REQUIRE_MSG(m == r, "a route's own prefix does not find it");
  }
}

static void check_accepted(const config_t *c, const char *path) {
  size_t i;
  REQUIRE_MSG(c->config_file != NULL && strcmp(c->config_file, path) == 0, "config_file not kept");
  REQUIRE_MSG(!c->help && !c->check_only, "switches set by a file");
  REQUIRE_MSG(c->listen != NULL && is_ip_literal(c->listen_host), "listen host not an IP literal");
  REQUIRE_MSG(c->control != NULL && is_ip_literal(c->control_host), "control host not an IP literal");
  RANGE(c->listen_port, 0, 65535);
  RANGE(c->control_port, 0, 65535);
  REQUIRE_MSG(c->listen_port == 0 || c->listen_port != c->control_port ||
            strcmp(c->listen_host, c->control_host) != 0,
        "listen and control on one address");
  RANGE(c->workers, 1, 64);
  RANGE(c->log_level, LOG_LEVEL_DEBUG, LOG_LEVEL_ERROR);
  REQUIRE_MSG(c->data_dir != NULL && strlen(c->data_dir) >= 1 && strlen(c->data_dir) <= 4096, "data_dir");
  REQUIRE_MSG(c->admin_key != NULL && strlen(c->admin_key) <= 1024, "admin_key");
  REQUIRE_MSG(c->secret_key != NULL && strlen(c->secret_key) <= 128, "secret_key");
  REQUIRE_MSG(c->connectors != NULL && strlen(c->connectors) <= 4096, "connectors");
  REQUIRE_MSG(c->public_url != NULL, "public_url");
  if (c->public_url[0] != '\0') {
    size_t len = strlen(c->public_url);
    REQUIRE_MSG(strncasecmp(c->public_url, "http://", 7) == 0 ||
              strncasecmp(c->public_url, "https://", 8) == 0,
          "public_url not http(s)");
    REQUIRE_MSG(c->public_url[len - 1] != '/', "public_url ends with /");
    REQUIRE_MSG(strpbrk(c->public_url, "?# \t\r\n") == NULL, "public_url with a query, fragment or space");
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
  REQUIRE_MSG(c->write_low_watermark < c->write_high_watermark, "write_low_watermark >= high");
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
  REQUIRE_MSG(c->link_service.url != NULL && c->link_service.api_key != NULL, "link_service strings");
  REQUIRE_MSG(strlen(c->link_service.api_key) <= 1024, "link_service.api_key");

  REQUIRE_MSG(c->identity.header != NULL && strlen(c->identity.header) >= 1 &&
            strlen(c->identity.header) <= 256,
        "identity.header length");
  for (i = 0; c->identity.header[i] != '\0'; i++)
    REQUIRE_MSG(is_tchar(c->identity.header[i]), "identity.header not a token");
  REQUIRE_MSG(c->identity.secret != NULL && strlen(c->identity.secret) <= 1024, "identity.secret");
  REQUIRE_MSG(c->identity.ntrusted_cidrs <= CONFIG_CIDRS_MAX, "too many trusted CIDRs");
  for (i = 0; i < c->identity.ntrusted_cidrs; i++) {
    const config_cidr *cidr = &c->identity.trusted_cidrs[i];
    unsigned bits = cidr->family == AF_INET ? 32 : 128;
    unsigned b;
    REQUIRE_MSG(cidr->family == AF_INET || cidr->family == AF_INET6, "CIDR family");
    REQUIRE_MSG(cidr->prefix <= bits, "CIDR prefix too long");
    for (b = cidr->prefix; b < bits; b++)
      REQUIRE_MSG(!(cidr->addr[b / 8] & (0x80 >> (b % 8))), "CIDR with bits past its prefix");
  }

  REQUIRE_MSG(c->nwebhooks <= CONFIG_WEBHOOKS_MAX, "too many webhooks");
  for (i = 0; i < c->nwebhooks; i++) {
    const config_webhook *h = &c->webhooks[i];
    size_t j;
    REQUIRE_MSG(h->url != NULL && (strncmp(h->url, "http://", 7) == 0 || strncmp(h->url, "https://", 8) == 0),
          "webhook url not http(s)");
    REQUIRE_MSG(strlen(h->url) <= 2048 && strpbrk(h->url, "# \t\r\n") == NULL, "webhook url form");
    REQUIRE_MSG(h->secret != NULL && h->secret[0] != '\0' && strlen(h->secret) <= 1024, "webhook secret");
    REQUIRE_MSG(h->events != 0 && (h->events & ~(unsigned)CONFIG_EVENT_ALL) == 0, "webhook events");
    for (j = 0; j < i; j++)
      REQUIRE_MSG(strcmp(c->webhooks[j].url, h->url) != 0, "two webhooks with one url");
  }
  check_routes(c);
}

static void check_rejected(const config_t *c, int rc, const char *err) {
  static const config_t zero;
  size_t i;
  size_t len = strnlen(err, ERR_MAX);
  REQUIRE_BYTES(rc == -EINVAL || rc == -ENOMEM, "an error other than -EINVAL or -ENOMEM", "message",
                err, len);
  REQUIRE_BYTES(len > 0 && len < ERR_MAX, "a rejection without a message (or an unterminated one)",
                "message", err, len);
  REQUIRE_BYTES(strncmp(err, "config: ", 8) == 0 && len > 8,
                "a rejection message that does not start with \"config: \" and a name", "message", err, len);
  for (i = 0; i < len; i++)
    REQUIRE_BYTES((unsigned char)err[i] >= 0x20,
                  "a rejection message with a control character (not one line)", "message", err, len);
  REQUIRE_BYTES(memcmp(c, &zero, sizeof zero) == 0, "a rejected config_t is not zeroed", "message", err,
                len);
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
  REQUIRE(fd >= 0);
  while (off < size) {
    ssize_t n = write(fd, data + off, size - off);
    REQUIRE(n > 0);
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
  REQUIRE_BYTES(rc2 == rc && (rc == 0 || strcmp(err, err2) == 0), "not the same result twice", "message",
                rc != 0 ? err : err2, strnlen(rc != 0 ? err : err2, ERR_MAX));
  if (rc == 0) {
    check_accepted(&c, path);
    config_free(&c);
    config_free(&c2);
    {
      static const config_t zero;
      REQUIRE_MSG(memcmp(&c, &zero, sizeof zero) == 0, "config_free leaves something behind");
    }
  } else {
    check_rejected(&c, rc, err);
  }
  close(fd);
  return 0;
}
