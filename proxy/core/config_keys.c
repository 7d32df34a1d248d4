/* config_keys: the key tables of the config (config_keys[] for the daemon,
 * config_route_keys[] for a route object), the names derived from a key
 * (flag, environment variable) and the names of the enum values.
 *
 * Adding a setting is one row here plus its field in config_t (config.h);
 * the sources, the checks and --help all read the table. The layout of a
 * row is config_key in config_int.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

const char *const config_mode_words[] = {"inband", "tool", NULL};
const char *const config_resume_words[] = {"continue", "retry", NULL};
const char *const config_on_detect_words[] = {"replace", "keep", "rewrite", NULL};
const char *const config_dialect_words[] = {"auto",      "generic", "openai-responses",
                                            "openai-chat", "anthropic", "ai-sdk",
                                            "ag-ui",     "a2a",     "mcp",
                                            NULL};
static const char *const uninspectable_words[] = {"pass", "fail", NULL};
static const char *const after_expiry_words[] = {"continue", "close", NULL};
const char config_format_words[] = "auto|sse|ndjson|json|raw";

/* Enum fields are stored through an int (store_enum in config_value.c). */
_Static_assert(sizeof(log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(config_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(config_resume) == sizeof(int), "enum size");
_Static_assert(sizeof(config_format) == sizeof(int), "enum size");
_Static_assert(sizeof(config_on_detect) == sizeof(int), "enum size");
_Static_assert(sizeof(config_dialect) == sizeof(int), "enum size");
_Static_assert(sizeof(config_uninspectable) == sizeof(int), "enum size");
_Static_assert(sizeof(config_after_expiry) == sizeof(int), "enum size");

#define ROW(name_, kind_, in_, field_, def_, min_, max_, words_, arg_, help_, secret_) \
  {name_, kind_, in_, offsetof(config_t, field_), def_, min_, max_, words_, arg_, help_, secret_}
/* A key whose file name is its field name. */
#define KEY(kind_, field_, def_, arg_, help_) \
  ROW(#field_, kind_, IN_ALL, field_, def_, 0, 0, NULL, arg_, help_, 0)
#define NUM(kind_, field_, def_, min_, max_, help_) \
  ROW(#field_, kind_, IN_ALL, field_, #def_, min_, max_, NULL, "N", help_, 0)
#define STR(field_, def_, min_, max_, arg_, help_, secret_) \
  ROW(#field_, K_STR, IN_ALL, field_, def_, min_, max_, NULL, arg_, help_, secret_)
#define ENUM(field_, def_, words_, arg_, help_) \
  ROW(#field_, K_ENUM, IN_ALL, field_, def_, 0, 0, words_, arg_, help_, 0)

/* Every key of the daemon, in --help order. */
const config_key config_keys[] = {
    ROW("config", K_FILE, IN_ENV | IN_FLAG, config_file, NULL, 0, 0, NULL, "FILE",
        "JSON config file (comments allowed)", 0),
    ROW("check_config", K_SWITCH, IN_FLAG, check_only, NULL, 0, 0, NULL, NULL,
        "check the configuration, print the result and exit", 0),
    ROW("help", K_SWITCH, IN_FLAG, help, NULL, 0, 0, NULL, NULL, "print this help and exit", 0),
    ROW("version", K_SWITCH, IN_FLAG, version, NULL, 0, 0, NULL, NULL, "print the version and exit", 0),
    KEY(K_ADDR, listen, "127.0.0.1:8080", "HOST:PORT", "proxy listener"),
    KEY(K_URL, upstream, NULL, "URL", "upstream of route \"/\": http://HOST[:PORT]"),
    KEY(K_ROUTES, routes, NULL, "JSON", "routes, a JSON array of route objects (below)"),
    KEY(K_ADDR, control, "127.0.0.1:9090", "HOST:PORT", "control API listener"),
    KEY(K_HOOKS, webhooks, NULL, "JSON",
        "webhooks, a JSON array of {url, secret, events} (events: link_token, auth_complete, link_expired, "
        "link_declined, connection_created, connection_refreshed, connection_broken, connection_deleted)"),
    NUM(K_INT, workers, 1, 1, 64, "relay threads sharing the proxy port"),
    ENUM(log_level, "info", log_level_names, "debug|info|warn|error", "lowest level logged"),
    STR(data_dir, "./data", 1, 4096, "DIR", "directory of the link service's files", 0),
    STR(store, "sqlite", 1, 4096, "SPEC",
        "link store: sqlite (data_dir/authrelay.db) or a postgres:// URL (replicas sharing it)", 1),
    NUM(K_UINT, store_timeout_s, 5, 1, 600, "longest wait for a PostgreSQL store operation"),
    KEY(K_PUBURL, public_url, "", "URL",
        "base of magic_link_url (default: scheme and Host of the request)"),
    STR(admin_key, "", 0, 1024, "KEY", "control API owner key (default: generated on first run)", 1),
    STR(secret_key, "", 0, 128, "HEX",
        "AES-256 key of stored secrets, 64 hex digits (default: generated in data_dir)", 1),
    STR(connectors, "", 0, 4096, "FILE",
        "connector catalog JSON (default: any slug, API-key form)", 0),
    NUM(K_UINT, provider_timeout_s, 10, 1, 300, "longest wait for an OAuth provider or remote link service (504)"),
    NUM(K_SIZE, max_head_bytes, 16384, 1024, 1048576, "request head limit (431)"),
    NUM(K_SIZE, max_headers, 100, 1, 10000, "request header lines limit (431)"),
    NUM(K_SIZE, max_body_bytes, 10485760, 0, 4294967295, "request body limit (413)"),
    NUM(K_UINT, client_head_timeout_s, 10, 1, 3600, "time to receive a request head (408)"),
    NUM(K_UINT, upstream_connect_timeout_s, 5, 1, 600, "time to connect upstream (504)"),
    NUM(K_UINT, upstream_idle_timeout_s, 300, 1, 86400, "longest upstream silence (504)"),
    NUM(K_SIZE, max_connections, 10000, 1, 1000000, "client connections per worker"),
    NUM(K_SIZE, max_event_bytes, 1048576, 1024, 67108864,
        "longest inspected event; longer ones pass in pieces"),
    NUM(K_SIZE, write_high_watermark, 65536, 1024, 67108864,
        "queued client bytes that stop upstream reads"),
    NUM(K_SIZE, write_low_watermark, 16384, 0, 67108864,
        "queued client bytes that resume them (< high)"),
    NUM(K_SIZE, pool_max_idle, 64, 0, 10000, "idle connections per upstream per worker"),
    NUM(K_UINT, pool_idle_timeout_s, 60, 1, 3600, "idle upstream connection lifetime"),
    NUM(K_UINT, drain_timeout_s, 30, 0, 3600, "time open streams get on SIGTERM"),
    NUM(K_UINT, client_idle_timeout_s, 60, 1, 3600, "keep-alive wait for the next request"),
    ENUM(on_uninspectable, "pass", uninspectable_words, "pass|fail",
         "compressed bodies on inspected routes"),
    ENUM(on_detect, "rewrite", config_on_detect_words, "rewrite|replace|keep",
         "auth-required event: trusted link values in place, withheld, or untouched"),
    ENUM(after_expiry, "continue", after_expiry_words, "continue|close",
         "after link_expired, go on or end the stream"),
    NUM(K_UINT, heartbeat_s, 15, 1, 3600, "\": paused\" comment interval on paused SSE streams"),
    NUM(K_UINT, pause_timeout_s, 1800, 1, 604800, "longest pause"),
    NUM(K_SIZE, max_held_bytes, 1048576, 4096, 1073741824, "upstream bytes held by a pause"),
    NUM(K_UINT, max_pauses_per_stream, 4, 0, 100, "pauses per stream (0: never pause)"),
    NUM(K_SIZE, max_replay_body, 1048576, 0, 1073741824,
        "request body kept for resume: retry"),
    ROW("identity.header", K_HEADER, IN_ALL, identity.header, "X-Registered-User-Id", 1, 256,
        NULL, "NAME", "request header naming the registered user", 0),
    ROW("identity.trusted_cidrs", K_CIDRS, IN_ALL, identity.trusted_cidrs, "127.0.0.0/8,::1/128",
        0, 0, NULL, "CIDR,...", "peers trusted to set that header", 0),
    ROW("identity.secret", K_STR, IN_ALL, identity.secret, "", 0, 1024, NULL, "KEY",
        "HMAC key of X-Registered-User-Sig (\"\": signatures off)", 1),
    ROW("link_service.url", K_PUBURL, IN_ALL, link_service.url, "", 0, 0, NULL, "URL",
        "remote Agent Handler-compatible link service (\"\": the embedded one)", 0),
    ROW("link_service.api_key", K_STR, IN_ALL, link_service.api_key, "", 0, 1024, NULL, "KEY",
        "bearer key of the remote link service", 1),
    ROW("link_service.poll_interval_s", K_UINT, IN_ALL, link_service.poll_interval_s, "5", 1, 3600, NULL,
        "N", "how often pending remote links are checked, besides the callback", 0),
    ROW("link.app_name", K_STR, IN_ALL, link.app_name, "", 0, 100, NULL, "NAME",
        "the app's name on the Link page (\"\": none)", 0),
    ROW("link.logo_url", K_PUBURL, IN_ALL, link.logo_url, "", 0, 0, NULL, "URL",
        "the app's logo on the Link page: an https:// URL (\"\": none)", 0),
    ROW("link.verifier_url", K_STR, IN_ALL, link.verifier_url, "", 0, 2048, NULL, "URL",
        "the app's page confirming who links (https://, or http:// to loopback; \"\": no binding)", 0),
};
const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];

#define RKEY(name_, kind_, field_, def_, min_, max_, words_, arg_) \
  {name_, kind_, IN_FILE, offsetof(config_route, field_), def_, min_, max_, words_, arg_, NULL, 0}

/* Members of a route object. */
const config_key config_route_keys[] = {
    RKEY("prefix", K_PREFIX, prefix, NULL, 1, 1024, NULL, "PATH"),
    RKEY("upstream", K_URL, upstream, NULL, 0, 0, NULL, "URL"),
    RKEY("mode", K_ENUM, mode, "inband", 0, 0, config_mode_words, NULL),
    RKEY("resume", K_ENUM, resume, "continue", 0, 0, config_resume_words, NULL),
    RKEY("format", K_FORMAT, format, "auto", 0, 0, NULL, NULL),
    RKEY("on_detect", K_ENUM, on_detect, NULL, 0, 0, config_on_detect_words, NULL),
    RKEY("dialect", K_ENUM, dialect, "auto", 0, 0, config_dialect_words, NULL),
};
const size_t config_nroute_keys = sizeof config_route_keys / sizeof config_route_keys[0];

/* ---- names ---- */

/* The flag of a key, "--identity-trusted-cidrs", into buf. */
void config_key_flag(const config_key *k, char *buf, size_t size) {
  size_t i;
  snprintf(buf, size, "--%s", k->name);
  for (i = 2; buf[i] != '\0'; i++) {
    if (buf[i] == '_' || buf[i] == '.')
      buf[i] = '-';
  }
}

/* The environment variable of a key, "AUTHRELAY_IDENTITY_TRUSTED_CIDRS". */
void config_key_env(const config_key *k, char *buf, size_t size) {
  size_t i;
  snprintf(buf, size, "AUTHRELAY_%s", k->name);
  for (i = 0; buf[i] != '\0'; i++) {
    if (buf[i] == '.')
      buf[i] = '_';
    else if (buf[i] >= 'a' && buf[i] <= 'z')
      buf[i] = (char)(buf[i] - 'a' + 'A');
  }
}

const config_key *config_find_key(const config_key *keys, size_t n, const char *name, unsigned in) {
  size_t i;
  for (i = 0; i < n; i++) {
    if ((keys[i].in & in) && strcmp(keys[i].name, name) == 0)
      return &keys[i];
  }
  return NULL;
}

/* 1 when some file key is a member of object name ("identity"). */
int config_is_group(const char *name) {
  size_t len = strlen(name);
  size_t i;
  for (i = 0; i < config_nkeys; i++) {
    if ((config_keys[i].in & IN_FILE) && strncmp(config_keys[i].name, name, len) == 0 &&
        config_keys[i].name[len] == '.')
      return 1;
  }
  return 0;
}

/* ---- enum names ---- */

const char *config_mode_name(config_mode m) {
  return (unsigned)m < 2 ? config_mode_words[m] : "unknown";
}

const char *config_resume_name(config_resume r) {
  return (unsigned)r < 2 ? config_resume_words[r] : "unknown";
}

const char *config_format_name(config_format f) {
  if (f == CONFIG_FORMAT_AUTO)
    return "auto";
  return framer_format_name((framer_format)f);
}

const char *config_on_detect_name(config_on_detect d) {
  return (unsigned)d < 3 ? config_on_detect_words[d] : "unknown";
}

const char *config_dialect_name(config_dialect d) {
  return (unsigned)d <= CONFIG_DIALECT_MCP ? config_dialect_words[d] : "unknown";
}
