/* config: defaults, JSON file, AUTHRELAY_* environment, flags. See config.h.
 *
 * Everything hangs off config_keys[], one row per key: its kind (which says
 * how a value is parsed and stored), the layers it may be set in, the field
 * it lands in, its default (written as a flag value would be), its range and
 * its help line. Flag and environment names are derived from the key name,
 * so they cannot drift: "identity.trusted_cidrs" is --identity-trusted-cidrs
 * and AUTHRELAY_IDENTITY_TRUSTED_CIDRS. Route objects have their own small
 * table, route_keys[], read by the same code.
 *
 * A value arrives either as text (a default, a flag, a variable) or as a
 * JSON value from the file; set_value() takes both. JSON is checked first
 * with yajl's event parser (syntax with line and column, nesting depth, NUL
 * in strings) and only then built into a tree, so that yajl_tree's
 * recursive free never meets a deep document.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "dynbuf.h"
#include "jsonw.h"

#define CONFIG_JSON_DEPTH 16  /* deepest nesting accepted in JSON input */
#define CONFIG_NAME_MAX 64    /* longest key, flag or env name, NUL included */
#define CONFIG_WHO_MAX 96     /* longest "who" in a message */
#define CONFIG_GOT_MAX 60     /* bytes of a bad value quoted in a message */

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Layers a key may be set in. */
#define IN_FILE 1u
#define IN_ENV 2u
#define IN_FLAG 4u
#define IN_ALL (IN_FILE | IN_ENV | IN_FLAG)

typedef enum key_kind {
  K_STR,    /* char *: a string whose length is in [min, max] */
  K_INT,    /* int: a whole number in [min, max] */
  K_UINT,   /* unsigned */
  K_SIZE,   /* size_t */
  K_ENUM,   /* an int-sized enum: the index of the word in words */
  K_FORMAT, /* config_format: "auto" or a framer_format name */
  K_ADDR,   /* char *: IPV4:PORT or [IPV6]:PORT to listen on */
  K_URL,    /* char *: http://HOST[:PORT] */
  K_PUBURL, /* char *: "" or an absolute http(s) URL */
  K_HEADER, /* char *: an HTTP field name */
  K_PREFIX, /* char *: a route prefix */
  K_CIDRS,  /* identity.trusted_cidrs (the array and its count) */
  K_ROUTES, /* routes (the array and its count) */
  K_HOOKS,  /* webhooks (the array and its count) */
  K_FILE,   /* the config file: read before the layers it belongs to */
  K_SWITCH  /* int set to 1 by a flag that takes no value */
} key_kind;

typedef struct config_key {
  const char *name;          /* file key; "a.b" is member b of object a */
  key_kind kind;
  unsigned in;               /* IN_* layers it may be set in */
  size_t off;                /* its field in config_t (config_route for routes) */
  const char *def;           /* default, written as a flag value; NULL: none */
  unsigned long long min;    /* numbers: range; K_STR: length range */
  unsigned long long max;
  const char *const *words;  /* K_ENUM: the words, index = value; NULL-terminated */
  const char *arg;           /* --help: what the value looks like; NULL: none */
  const char *help;          /* --help: one line */
  int secret;                /* the value is never quoted back in a message */
} config_key;

static const char *const mode_words[] = {"inband", "tool", NULL};
static const char *const resume_words[] = {"continue", "retry", NULL};
static const char *const on_detect_words[] = {"replace", "keep", NULL};
static const char *const uninspectable_words[] = {"pass", "fail", NULL};
static const char *const after_expiry_words[] = {"continue", "close", NULL};
static const char format_words[] = "auto|sse|ndjson|json|raw";

/* Enum fields are stored through an int (store_enum). */
_Static_assert(sizeof(log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(config_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(config_resume) == sizeof(int), "enum size");
_Static_assert(sizeof(config_format) == sizeof(int), "enum size");
_Static_assert(sizeof(config_on_detect) == sizeof(int), "enum size");
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
static const config_key config_keys[] = {
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
        "webhooks, a JSON array of {url, secret, events} (events: link_token, auth_complete, link_expired)"),
    NUM(K_INT, workers, 1, 1, 64, "relay threads sharing the proxy port"),
    ENUM(log_level, "info", log_level_names, "debug|info|warn|error", "lowest level logged"),
    STR(data_dir, "./data", 1, 4096, "DIR", "directory of the link service's files", 0),
    KEY(K_PUBURL, public_url, "", "URL",
        "base of magic_link_url (default: scheme and Host of the request)"),
    STR(admin_key, "", 0, 1024, "KEY", "control API owner key (default: generated on first run)", 1),
    STR(secret_key, "", 0, 128, "HEX",
        "AES-256 key of stored secrets, 64 hex digits (default: generated in data_dir)", 1),
    STR(connectors, "", 0, 4096, "FILE",
        "connector catalog JSON (default: any slug, API-key form)", 0),
    NUM(K_UINT, provider_timeout_s, 10, 1, 300, "longest wait for an OAuth provider"),
    NUM(K_SIZE, max_head_bytes, 16384, 1024, 1048576, "request head limit (431)"),
    NUM(K_SIZE, max_headers, 100, 1, 10000, "request header lines limit (431)"),
    NUM(K_SIZE, max_body_bytes, 10485760, 0, 4294967295, "request body limit (413)"),
    NUM(K_UINT, client_head_timeout_s, 10, 1, 3600, "time to receive a request head (408)"),
    NUM(K_UINT, upstream_connect_timeout_s, 5, 1, 600, "time to connect upstream (504)"),
    NUM(K_UINT, upstream_idle_timeout_s, 300, 1, 86400, "longest upstream silence"),
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
    ENUM(on_detect, "replace", on_detect_words, "replace|keep",
         "withhold the auth-required event, or forward it too"),
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
};
#define NKEYS (sizeof config_keys / sizeof config_keys[0])

#define RKEY(name_, kind_, field_, def_, min_, max_, words_, arg_) \
  {name_, kind_, IN_FILE, offsetof(config_route, field_), def_, min_, max_, words_, arg_, NULL, 0}

/* Members of a route object. */
static const config_key route_keys[] = {
    RKEY("prefix", K_PREFIX, prefix, NULL, 1, 1024, NULL, "PATH"),
    RKEY("upstream", K_URL, upstream, NULL, 0, 0, NULL, "URL"),
    RKEY("mode", K_ENUM, mode, "inband", 0, 0, mode_words, NULL),
    RKEY("resume", K_ENUM, resume, "continue", 0, 0, resume_words, NULL),
    RKEY("format", K_FORMAT, format, "auto", 0, 0, NULL, NULL),
    RKEY("on_detect", K_ENUM, on_detect, NULL, 0, 0, on_detect_words, NULL),
};
#define NROUTE_KEYS (sizeof route_keys / sizeof route_keys[0])

/* One config_load() call: where messages go. */
typedef struct load_ctx {
  char *err;
  size_t errlen;
  const char *file; /* the config file being applied, or NULL */
} load_ctx;

/* A value to set: text, or a JSON value from the file (then text is the
 * string's contents or the number's digits, NULL for other types). */
typedef struct cvalue {
  const char *text;
  int is_string;  /* text is a string (a flag, a variable or a JSON string) */
  yajl_val json;  /* the JSON value, or NULL for text */
} cvalue;

/* Where a JSON document came from, for messages. */
typedef struct origin {
  const char *label; /* "config" for the file, else the flag or variable */
  const char *file;  /* the file's path, or NULL */
} origin;

/* A command-line flag, recognised but not applied yet. */
typedef struct flag_arg {
  const config_key *k;
  const char *value; /* NULL for switches */
} flag_arg;

static int set_value(load_ctx *x, config_t *c, void *base, const config_key *k, const cvalue *v,
                     const char *who);

PRINTF_LIKE(2, 3)
static int fail(load_ctx *x, const char *fmt, ...) {
  va_list ap;
  if (x->errlen == 0)
    return -EINVAL;
  va_start(ap, fmt);
  vsnprintf(x->err, x->errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

static int fail_nomem(load_ctx *x) {
  fail(x, "config: out of memory");
  return -ENOMEM;
}

/* ---- names ---- */

/* The flag of a key, "--identity-trusted-cidrs", into buf. */
static void key_flag(const config_key *k, char *buf, size_t size) {
  size_t i;
  snprintf(buf, size, "--%s", k->name);
  for (i = 2; buf[i] != '\0'; i++) {
    if (buf[i] == '_' || buf[i] == '.')
      buf[i] = '-';
  }
}

/* The environment variable of a key, "AUTHRELAY_IDENTITY_TRUSTED_CIDRS". */
static void key_env(const config_key *k, char *buf, size_t size) {
  size_t i;
  snprintf(buf, size, "AUTHRELAY_%s", k->name);
  for (i = 0; buf[i] != '\0'; i++) {
    if (buf[i] == '.')
      buf[i] = '_';
    else if (buf[i] >= 'a' && buf[i] <= 'z')
      buf[i] = (char)(buf[i] - 'a' + 'A');
  }
}

static const config_key *find_key(const config_key *keys, size_t n, const char *name, unsigned in) {
  size_t i;
  for (i = 0; i < n; i++) {
    if ((keys[i].in & in) && strcmp(keys[i].name, name) == 0)
      return &keys[i];
  }
  return NULL;
}

/* 1 when some file key is a member of object name ("identity"). */
static int is_group(const char *name) {
  size_t len = strlen(name);
  size_t i;
  for (i = 0; i < NKEYS; i++) {
    if ((config_keys[i].in & IN_FILE) && strncmp(config_keys[i].name, name, len) == 0 &&
        config_keys[i].name[len] == '.')
      return 1;
  }
  return 0;
}

/* ---- rendering values in messages ---- */

/* ", got VALUE" for a message, into buf: strings quoted and escaped, at most
 * CONFIG_GOT_MAX bytes of them; "" for secrets. */
static void describe(const config_key *k, const cvalue *v, char *buf, size_t size) {
  dynbuf d;
  const char *what = NULL;
  size_t len;
  int cut;
  buf[0] = '\0';
  if (k->secret)
    return;
  if (v->json != NULL && !YAJL_IS_STRING(v->json)) {
    if (YAJL_IS_NUMBER(v->json))
      snprintf(buf, size, ", got %.40s", YAJL_GET_NUMBER(v->json));
    else if (YAJL_IS_OBJECT(v->json))
      what = "an object";
    else if (YAJL_IS_ARRAY(v->json))
      what = "an array";
    else if (YAJL_IS_TRUE(v->json))
      what = "true";
    else if (YAJL_IS_FALSE(v->json))
      what = "false";
    else
      what = "null";
    if (what != NULL)
      snprintf(buf, size, ", got %s", what);
    return;
  }
  if (v->text == NULL)
    return;
  len = strlen(v->text);
  cut = len > CONFIG_GOT_MAX;
  dynbuf_init(&d, CONFIG_GOT_MAX * 6 + 16);
  if (jsonw_string(&d, v->text, cut ? CONFIG_GOT_MAX : len) == 0) {
    if (cut)
      d.len--; /* the closing quote goes after the cut mark */
    snprintf(buf, size, ", got %.*s%s", (int)d.len, d.ptr, cut ? "...\"" : "");
  }
  dynbuf_free(&d);
}

/* What a valid value of k looks like, into buf ("a whole number from 1 to 64"). */
static void expected(const config_key *k, char *buf, size_t size) {
  size_t i;
  size_t n;
  switch (k->kind) {
  case K_INT:
  case K_UINT:
  case K_SIZE:
    snprintf(buf, size, "must be a whole number from %llu to %llu", k->min, k->max);
    return;
  case K_ENUM:
    n = (size_t)snprintf(buf, size, "must be one of");
    for (i = 0; k->words[i] != NULL && n < size; i++)
      n += (size_t)snprintf(buf + n, size - n, "%s %s", i ? "," : "", k->words[i]);
    return;
  case K_FORMAT:
    snprintf(buf, size, "must be one of %s", format_words);
    return;
  case K_STR:
    if (k->min > 0)
      snprintf(buf, size, "must be a string of %llu to %llu bytes", k->min, k->max);
    else
      snprintf(buf, size, "must be a string of at most %llu bytes", k->max);
    return;
  case K_ADDR:
    snprintf(buf, size, "must be IPV4:PORT or [IPV6]:PORT, such as 127.0.0.1:8080 or [::1]:8080");
    return;
  case K_URL:
    snprintf(buf, size, "must be an http://HOST[:PORT] URL, such as http://127.0.0.1:8000");
    return;
  case K_PUBURL:
    snprintf(buf, size,
             "must be empty or an absolute http:// or https:// URL without query or fragment");
    return;
  case K_HEADER:
    snprintf(buf, size, "must be an HTTP header name of %llu to %llu letters, digits or "
                        "!#$%%&'*+-.^_`|~", k->min, k->max);
    return;
  case K_PREFIX:
    snprintf(buf, size, "must start with \"/\" and hold no spaces, \"?\" or \"#\" "
                        "(at most %llu bytes)", k->max);
    return;
  case K_CIDRS:
    snprintf(buf, size, "must be addresses or CIDRs such as 10.0.0.0/8 or ::1/128, "
                        "with no bits set past the prefix");
    return;
  case K_ROUTES:
    snprintf(buf, size, "must be an array of route objects");
    return;
  case K_HOOKS:
    snprintf(buf, size, "must be an array of {url, secret, events} objects");
    return;
  case K_FILE:
  case K_SWITCH:
  default:
    snprintf(buf, size, "is not valid here");
    return;
  }
}

/* "WHO: REASON, got VALUE". reason NULL: what k expects. */
static int bad_value(load_ctx *x, const config_key *k, const cvalue *v, const char *who,
                     const char *reason) {
  char exp[256];
  char got[CONFIG_GOT_MAX * 6 + 32];
  if (reason == NULL) {
    expected(k, exp, sizeof exp);
    reason = exp;
  }
  describe(k, v, got, sizeof got);
  return fail(x, "%s: %s%s", who, reason, got);
}

/* ---- text parsers ----
 * Each returns "" when the text is valid, NULL when it is not (the message
 * then says what the key expects), or a more precise reason. */

static int valid(const char *verdict) {
  return verdict != NULL && verdict[0] == '\0';
}

static int is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

/* Parses a whole decimal number: digits only. Returns 0 or -EINVAL. */
static int parse_whole(const char *s, unsigned long long *out) {
  unsigned long long n = 0;
  size_t i;
  if (s[0] == '\0')
    return -EINVAL;
  for (i = 0; s[i] != '\0'; i++) {
    unsigned d;
    if (!is_digit(s[i]))
      return -EINVAL;
    d = (unsigned)(s[i] - '0');
    if (n > (ULLONG_MAX - d) / 10)
      return -EINVAL;
    n = n * 10 + d;
  }
  *out = n;
  return 0;
}

/* Parses a port of [min, 65535] from s[0, len). Returns 0 or -EINVAL. */
static int parse_port(const char *s, size_t len, int min, int *out) {
  int n = 0;
  size_t i;
  if (len == 0 || len > 5)
    return -EINVAL;
  for (i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return -EINVAL;
    n = n * 10 + (s[i] - '0');
  }
  if (n < min || n > 65535)
    return -EINVAL;
  *out = n;
  return 0;
}

/* inet_pton on s[0, len) (not NUL-terminated). Returns 1 when it is an
 * address of family af. */
static int is_ip(int af, const char *s, size_t len, unsigned char *out16) {
  char buf[INET6_ADDRSTRLEN + 1];
  unsigned char tmp[16];
  if (len == 0 || len >= sizeof buf)
    return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  return inet_pton(af, buf, out16 != NULL ? out16 : tmp) == 1;
}

/* Splits IPV4:PORT or [IPV6]:PORT. host_out (may be NULL) gets a malloc'd
 * copy of the address without brackets. Returns NULL or a reason. */
static const char *parse_addr(const char *s, char **host_out, int *port_out) {
  const char *host;
  size_t hlen;
  const char *colon;
  int port;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return NULL == close ? "has an unclosed \"[\"" : "needs a port after \"]\", as [::1]:8080";
    host = s + 1;
    hlen = (size_t)(close - host);
    colon = close + 1;
    if (!is_ip(AF_INET6, host, hlen, NULL))
      return "must hold an IPv6 address between [ and ], such as [::1]:8080";
  } else {
    colon = strchr(s, ':');
    if (colon == NULL)
      return NULL;  /* the caller's generic reason */
    if (strchr(colon + 1, ':') != NULL)
      return "must put an IPv6 address in brackets, such as [::1]:8080";
    host = s;
    hlen = (size_t)(colon - s);
    if (!is_ip(AF_INET, host, hlen, NULL))
      return "must start with an IPv4 address (names are not resolved), such as 127.0.0.1:8080";
  }
  if (parse_port(colon + 1, strlen(colon + 1), 0, &port) != 0)
    return "must end with a port from 0 to 65535";
  if (host_out != NULL) {
    *host_out = strndup(host, hlen);
    if (*host_out == NULL)
      return "could not be stored (out of memory)";
  }
  if (port_out != NULL)
    *port_out = port;
  return "";
}

static int is_host_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '-' ||
         ch == '.' || ch == '_'; /* "_": container service names have it */
}

/* Splits http://HOST[:PORT][/]. host_out and port_out (6 bytes) may be
 * NULL. Returns "" when valid, else a reason (NULL: the generic one). */
static const char *parse_url(const char *s, char **host_out, char *port_out) {
  const char *p;
  const char *end;
  const char *host;
  size_t hlen;
  int port = 80;
  if (strncasecmp(s, "https://", 8) == 0)
    return "must use http:// (https upstreams are not supported yet)";
  if (strncasecmp(s, "http://", 7) != 0)
    return NULL;
  p = s + 7;
  end = p + strcspn(p, "/?#");
  if (memchr(p, '@', (size_t)(end - p)) != NULL)
    return "must not hold a user name or password";
  if (*end != '\0' && strcmp(end, "/") != 0)
    return "must not have a path, query or fragment (the request path is sent as it is)";
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (close == NULL || !is_ip(AF_INET6, p + 1, (size_t)(close - p - 1), NULL))
      return "must hold an IPv6 address between [ and ]";
    host = p + 1;
    hlen = (size_t)(close - host);
    p = close + 1;
  } else {
    size_t i;
    int dotted = 1;
    host = p;
    hlen = strcspn(p, ":/?#");
    if (hlen == 0 || hlen > 253)
      return "must name a host";
    for (i = 0; i < hlen; i++) {
      if (!is_host_char(host[i]))
        return "must name a host with letters, digits, \"-\", \"_\" and \".\" only";
      if (!is_digit(host[i]) && host[i] != '.')
        dotted = 0;
    }
    if (dotted && !is_ip(AF_INET, host, hlen, NULL))
      return "must hold a valid IPv4 address";
    p = host + hlen;
  }
  if (p < end) {
    if (*p != ':' || parse_port(p + 1, (size_t)(end - p - 1), 1, &port) != 0)
      return "must have a port from 1 to 65535";
  }
  if (port_out != NULL)
    snprintf(port_out, 6, "%d", port);
  if (host_out != NULL) {
    *host_out = strndup(host, hlen);
    if (*host_out == NULL)
      return "could not be stored (out of memory)";
  }
  return "";
}

/* "" or http(s)://AUTHORITY[/PATH], no query, fragment, space or control
 * character. Returns "" when valid, else NULL (the generic reason). */
static const char *check_public_url(const char *s) {
  const char *p;
  size_t i;
  if (s[0] == '\0')
    return "";
  if (strncasecmp(s, "http://", 7) == 0)
    p = s + 7;
  else if (strncasecmp(s, "https://", 8) == 0)
    p = s + 8;
  else
    return NULL;
  if (*p == '\0' || *p == '/')
    return NULL;
  for (i = 0; s[i] != '\0'; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '?' || ch == '#')
      return NULL;
  }
  return "";
}

/* RFC 9110 token characters. */
static int is_tchar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static const char *check_header(const config_key *k, const char *s) {
  size_t len = strlen(s);
  size_t i;
  if (len < k->min || len > k->max)
    return NULL;
  for (i = 0; i < len; i++) {
    if (!is_tchar(s[i]))
      return NULL;
  }
  return "";
}

static const char *check_prefix(const config_key *k, const char *s) {
  size_t len = strlen(s);
  size_t i;
  if (s[0] != '/' || len > k->max)
    return NULL;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '?' || ch == '#')
      return NULL;
  }
  return "";
}

int config_cidr_parse(const char *text, config_cidr *out) {
  const char *slash = strchr(text, '/');
  size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
  unsigned long long prefix;
  unsigned bits;
  unsigned i;
  memset(out, 0, sizeof *out);
  if (is_ip(AF_INET, text, alen, out->addr)) {
    out->family = AF_INET;
    bits = 32;
  } else if (is_ip(AF_INET6, text, alen, out->addr)) {
    out->family = AF_INET6;
    bits = 128;
  } else {
    return -EINVAL;
  }
  prefix = bits;
  if (slash != NULL && (strlen(slash + 1) > 3 || parse_whole(slash + 1, &prefix) != 0))
    return -EINVAL;
  if (prefix > bits)
    return -EINVAL;
  out->prefix = (unsigned)prefix;
  for (i = out->prefix; i < bits; i++) {
    if (out->addr[i / 8] & (0x80u >> (i % 8)))
      return -EINVAL;
  }
  return 0;
}

/* 1 when the first prefix bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix) {
  unsigned whole = prefix / 8;
  unsigned rest = prefix % 8;
  unsigned char mask;
  if (memcmp(a, b, whole) != 0)
    return 0;
  if (rest == 0)
    return 1;
  mask = (unsigned char)(0xFFu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

int config_cidr_match(const config_cidr *cidrs, size_t n, const struct sockaddr *sa) {
  static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  unsigned char v4[4];
  unsigned char v6[16];
  int has_v4 = 0;
  int has_v6 = 0;
  size_t i;
  if (sa == NULL)
    return 0;
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    memcpy(v4, &sin.sin_addr, 4);
    has_v4 = 1;
  } else if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof sin6);
    memcpy(v6, &sin6.sin6_addr, 16);
    has_v6 = 1;
    if (memcmp(v6, v4mapped, 12) == 0) {
      memcpy(v4, v6 + 12, 4);
      has_v4 = 1;
    }
  }
  for (i = 0; i < n; i++) {
    if (cidrs[i].family == AF_INET && has_v4 && prefix_equal(cidrs[i].addr, v4, cidrs[i].prefix))
      return 1;
    if (cidrs[i].family == AF_INET6 && has_v6 && prefix_equal(cidrs[i].addr, v6, cidrs[i].prefix))
      return 1;
  }
  return 0;
}

/* ---- JSON ---- */

/* State of the checking pass over a JSON text. */
typedef struct json_check {
  size_t depth;
  const char *why; /* set when a callback stopped the parse */
} json_check;

static int jc_open(void *ctx) {
  json_check *j = ctx;
  j->depth++;
  if (j->depth > CONFIG_JSON_DEPTH) {
    j->why = "nested too deeply";
    return 0;
  }
  return 1;
}

static int jc_close(void *ctx) {
  json_check *j = ctx;
  j->depth--;
  return 1;
}

static int jc_string(void *ctx, const unsigned char *s, size_t len) {
  json_check *j = ctx;
  if (memchr(s, '\0', len) != NULL) {
    j->why = "a string holds a NUL character";
    return 0;
  }
  return 1;
}

/* Member names are quoted in messages, which are one line: no key holds a
 * control character. */
static int jc_key(void *ctx, const unsigned char *s, size_t len) {
  json_check *j = ctx;
  size_t i;
  for (i = 0; i < len; i++) {
    if (s[i] < 0x20) {
      j->why = "a member name holds a control character";
      return 0;
    }
  }
  return 1;
}

static const yajl_callbacks json_check_callbacks = {
    NULL, NULL, NULL, NULL, NULL, jc_string, jc_open, jc_key, jc_close, jc_open, jc_close,
};

/* Checks text (NUL-terminated, len bytes) and builds its tree. Returns the
 * tree (the caller frees it with yajl_tree_free) or NULL with err set;
 * label names the text in messages. */
static yajl_val parse_json(load_ctx *x, const char *text, size_t len, const char *label) {
  json_check j = {0, NULL};
  yajl_handle h = yajl_alloc(&json_check_callbacks, NULL, &j);
  yajl_status st;
  yajl_val tree;
  char ybuf[256];
  if (h == NULL) {
    fail_nomem(x);
    return NULL;
  }
  yajl_config(h, yajl_allow_comments, 1);
  st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  if (st != yajl_status_ok) {
    size_t at = yajl_get_bytes_consumed(h);
    size_t line = 1;
    size_t col = 1;
    size_t i;
    char why[160];
    if (at > len)
      at = len;
    for (i = 0; i < at; i++) {
      col = text[i] == '\n' ? 1 : col + 1;
      line += text[i] == '\n';
    }
    if (j.why != NULL) {
      snprintf(why, sizeof why, "%s", j.why);
    } else {
      unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
      snprintf(why, sizeof why, "%s", msg != NULL ? (const char *)msg : "parse error");
      why[strcspn(why, "\r\n")] = '\0';
      if (msg != NULL)
        yajl_free_error(h, msg);
    }
    yajl_free(h);
    fail(x, "%s: invalid JSON at line %zu, column %zu: %s", label, line, col, why);
    return NULL;
  }
  yajl_free(h);
  tree = yajl_tree_parse(text, ybuf, sizeof ybuf);
  if (tree == NULL) {
    ybuf[strcspn(ybuf, "\r\n")] = '\0';
    fail(x, "%s: invalid JSON: %s", label, ybuf);
  }
  return tree;
}

/* A cvalue for a JSON value. */
static cvalue json_value(yajl_val v) {
  cvalue cv = {NULL, 0, v};
  if (YAJL_IS_STRING(v)) {
    cv.text = YAJL_GET_STRING(v);
    cv.is_string = 1;
  } else if (YAJL_IS_NUMBER(v)) {
    cv.text = YAJL_GET_NUMBER(v);
  }
  return cv;
}

/* 1 when keys[i] also appears in keys[0, i). */
static int duplicate_key(const char **keys, size_t i) {
  size_t j;
  for (j = 0; j < i; j++) {
    if (strcmp(keys[j], keys[i]) == 0)
      return 1;
  }
  return 0;
}

/* ---- routes ---- */

static void route_free(config_route *r) {
  free(r->prefix);
  free(r->upstream);
  free(r->upstream_host);
  memset(r, 0, sizeof *r);
}

static void routes_free(config_route *routes, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    route_free(&routes[i]);
  free(routes);
}

/* Sets the defaults of route_keys in r. */
static int route_defaults(load_ctx *x, config_t *c, config_route *r) {
  size_t i;
  memset(r, 0, sizeof *r);
  r->on_detect_inherited = 1;
  for (i = 0; i < NROUTE_KEYS; i++) {
    const config_key *k = &route_keys[i];
    cvalue v = {k->def, 1, NULL};
    int rc;
    if (k->def == NULL)
      continue;
    rc = set_value(x, c, r, k, &v, "default of route");
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Fills r from routes[index] of a JSON document. */
static int route_from_json(load_ctx *x, config_t *c, config_route *r, yajl_val obj, size_t index,
                           const origin *o) {
  char who[CONFIG_WHO_MAX];
  size_t i;
  int rc = route_defaults(x, c, r);
  if (rc != 0)
    return rc;
  if (!YAJL_IS_OBJECT(obj)) {
    cvalue v = json_value(obj);
    static const config_key route_object = {"route", K_ROUTES, IN_FILE, 0, NULL, 0, 0, NULL,
                                            NULL, NULL, 0};
    snprintf(who, sizeof who, "%s: routes[%zu]", o->label, index);
    return bad_value(x, &route_object, &v, who, "must be an object with prefix and upstream");
  }
  for (i = 0; i < obj->u.object.len; i++) {
    const char *name = obj->u.object.keys[i];
    const config_key *k = find_key(route_keys, NROUTE_KEYS, name, IN_FILE);
    cvalue v = json_value(obj->u.object.values[i]);
    if (k == NULL)
      return fail(x, "%s: unknown key \"routes[%zu].%.40s\"%s%s", o->label, index, name,
                  o->file != NULL ? " in " : "", o->file != NULL ? o->file : "");
    snprintf(who, sizeof who, "%s: routes[%zu].%s", o->label, index, name);
    if (duplicate_key(obj->u.object.keys, i))
      return fail(x, "%s: set twice", who);
    rc = set_value(x, c, r, k, &v, who);
    if (rc != 0)
      return rc;
    if (k->off == offsetof(config_route, on_detect))
      r->on_detect_inherited = 0;
  }
  if (r->prefix == NULL || r->upstream == NULL)
    return fail(x, "%s: routes[%zu]: missing \"%s\"", o->label, index,
                r->prefix == NULL ? "prefix" : "upstream");
  return 0;
}

/* Replaces c's routes with those of a JSON array. */
static int routes_from_json(load_ctx *x, config_t *c, yajl_val arr, const origin *o,
                            const config_key *k, const char *who) {
  config_route *routes;
  size_t n;
  size_t i;
  size_t j;
  int rc = 0;
  if (!YAJL_IS_ARRAY(arr)) {
    cvalue v = json_value(arr);
    return bad_value(x, k, &v, who, NULL);
  }
  n = arr->u.array.len;
  if (n > CONFIG_ROUTES_MAX)
    return fail(x, "%s: more than %d routes", who, CONFIG_ROUTES_MAX);
  routes = calloc(n > 0 ? n : 1, sizeof *routes);
  if (routes == NULL)
    return fail_nomem(x);
  for (i = 0; i < n && rc == 0; i++)
    rc = route_from_json(x, c, &routes[i], arr->u.array.values[i], i, o);
  for (i = 0; i < n && rc == 0; i++) {
    for (j = 0; j < i && rc == 0; j++) {
      if (strcmp(routes[i].prefix, routes[j].prefix) == 0)
        rc = fail(x, "%s: routes[%zu].prefix: \"%.40s\" is also the prefix of routes[%zu]",
                  o->label, i, routes[i].prefix, j);
    }
  }
  if (rc != 0) {
    routes_free(routes, n);
    return rc;
  }
  routes_free(c->routes, c->nroutes);
  c->routes = routes;
  c->nroutes = n;
  return 0;
}

/* Routes given as text: a JSON array. */
static int routes_from_text(load_ctx *x, config_t *c, const config_key *k, const char *text,
                            const char *who) {
  origin o = {who, NULL};
  yajl_val tree = parse_json(x, text, strlen(text), who);
  int rc;
  if (tree == NULL)
    return -EINVAL;
  rc = routes_from_json(x, c, tree, &o, k, who);
  yajl_tree_free(tree);
  return rc;
}

/* ---- webhooks ---- */

static void webhooks_free(config_webhook *hooks, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    free(hooks[i].url);
    if (hooks[i].secret != NULL)
      memset(hooks[i].secret, 0, strlen(hooks[i].secret));
    free(hooks[i].secret);
  }
  free(hooks);
}

/* 1 when s is an http:// or https:// URL with a host, no spaces or
 * control characters, no fragment, at most 2048 bytes. */
static int webhook_url_ok(const char *s) {
  const char *host;
  size_t i;
  if (strncmp(s, "https://", 8) == 0)
    host = s + 8;
  else if (strncmp(s, "http://", 7) == 0)
    host = s + 7;
  else
    return 0;
  if (strlen(s) > 2048 || host[0] == '\0' || host[0] == '/')
    return 0;
  for (i = 0; s[i] != '\0'; i++) {
    if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '#')
      return 0;
  }
  return 1;
}

/* Fills h from webhooks[index] of a JSON document. Values are never quoted
 * back: a secret may be among them. */
static int webhook_from_json(load_ctx *x, config_webhook *h, yajl_val obj, size_t index, const char *who) {
  static const char *const names[] = {"link_token", "auth_complete", "link_expired", NULL};
  size_t i;
  int events_given = 0;
  if (!YAJL_IS_OBJECT(obj))
    return fail(x, "%s[%zu]: must be an object with url and secret", who, index);
  for (i = 0; i < obj->u.object.len; i++) {
    const char *name = obj->u.object.keys[i];
    yajl_val v = obj->u.object.values[i];
    const char *str = YAJL_GET_STRING(v);
    if (duplicate_key(obj->u.object.keys, i))
      return fail(x, "%s[%zu].%.40s: set twice", who, index, name);
    if (strcmp(name, "url") == 0) {
      if (str == NULL || !webhook_url_ok(str))
        return fail(x, "%s[%zu].url: must be an http:// or https:// URL (at most 2048 bytes, no fragment)",
                    who, index);
      h->url = strdup(str);
      if (h->url == NULL)
        return fail_nomem(x);
    } else if (strcmp(name, "secret") == 0) {
      if (str == NULL || str[0] == '\0' || strlen(str) > 1024)
        return fail(x, "%s[%zu].secret: must be a string of 1 to 1024 bytes", who, index);
      h->secret = strdup(str);
      if (h->secret == NULL)
        return fail_nomem(x);
    } else if (strcmp(name, "events") == 0) {
      size_t j;
      events_given = 1;
      if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0)
        return fail(x, "%s[%zu].events: must be a non-empty array of link_token, auth_complete, "
                       "link_expired", who, index);
      for (j = 0; j < v->u.array.len; j++) {
        const char *ev = YAJL_GET_STRING(v->u.array.values[j]);
        size_t e;
        unsigned bit = 0;
        for (e = 0; ev != NULL && names[e] != NULL; e++) {
          if (strcmp(ev, names[e]) == 0)
            bit = 1u << e;
        }
        if (bit == 0)
          return fail(x, "%s[%zu].events[%zu]: must be link_token, auth_complete or link_expired", who,
                      index, j);
        h->events |= bit;
      }
    } else {
      return fail(x, "%s[%zu]: unknown key \"%.40s\"", who, index, name);
    }
  }
  if (h->url == NULL || h->secret == NULL)
    return fail(x, "%s[%zu]: missing \"%s\"", who, index, h->url == NULL ? "url" : "secret");
  if (!events_given)
    h->events = CONFIG_EVENT_ALL;
  return 0;
}

/* Replaces c's webhooks with those of a JSON array (or JSON text). */
static int webhooks_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v, const char *who) {
  yajl_val tree = v->json;
  yajl_val owned = NULL;
  config_webhook *hooks;
  size_t n;
  size_t i;
  int rc = 0;
  if (tree == NULL) {
    if (v->text == NULL)
      return bad_value(x, k, v, who, NULL);
    owned = parse_json(x, v->text, strlen(v->text), who);
    if (owned == NULL)
      return -EINVAL;
    tree = owned;
  }
  if (!YAJL_IS_ARRAY(tree)) {
    yajl_tree_free(owned);
    return fail(x, "%s: must be an array of {url, secret, events} objects", who);
  }
  n = tree->u.array.len;
  if (n > CONFIG_WEBHOOKS_MAX) {
    yajl_tree_free(owned);
    return fail(x, "%s: more than %d webhooks", who, CONFIG_WEBHOOKS_MAX);
  }
  hooks = calloc(n > 0 ? n : 1, sizeof *hooks);
  if (hooks == NULL) {
    yajl_tree_free(owned);
    return fail_nomem(x);
  }
  for (i = 0; i < n && rc == 0; i++) {
    size_t j;
    rc = webhook_from_json(x, &hooks[i], tree->u.array.values[i], i, who);
    for (j = 0; j < i && rc == 0; j++) {
      if (strcmp(hooks[i].url, hooks[j].url) == 0)
        rc = fail(x, "%s[%zu].url: the same url as %s[%zu] (one webhook per url)", who, i, who, j);
    }
  }
  yajl_tree_free(owned);
  if (rc != 0) {
    webhooks_free(hooks, n);
    return rc;
  }
  webhooks_free(c->webhooks, c->nwebhooks);
  c->webhooks = hooks;
  c->nwebhooks = n;
  return 0;
}

/* ---- identity.trusted_cidrs ---- */

/* Parses s[0, len) into list[*n]. who names the list in messages. */
static int add_cidr(load_ctx *x, const config_key *k, config_cidr *list, size_t *n,
                    const char *s, size_t len, const char *who) {
  char item[INET6_ADDRSTRLEN + 8];
  cvalue shown = {item, 1, NULL};
  snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), s);
  if (len >= sizeof item || config_cidr_parse(item, &list[*n]) != 0)
    return bad_value(x, k, &shown, who, NULL);
  (*n)++;
  return 0;
}

/* Replaces the trusted CIDRs with those of a JSON array of strings or of a
 * comma-separated text (empty items are skipped: "" trusts nobody). */
static int set_cidrs(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                     const char *who) {
  config_cidr *list;
  size_t n = 0;
  size_t cap = 1;
  size_t i;
  int rc = 0;
  if (v->json != NULL && !YAJL_IS_ARRAY(v->json))
    return bad_value(x, k, v, who, "must be an array of addresses or CIDRs");
  if (v->json != NULL) {
    cap = v->json->u.array.len;
  } else {
    for (i = 0; v->text[i] != '\0'; i++)
      cap += v->text[i] == ',';
  }
  if (cap > CONFIG_CIDRS_MAX)
    return fail(x, "%s: more than %d entries", who, CONFIG_CIDRS_MAX);
  list = calloc(cap > 0 ? cap : 1, sizeof *list);
  if (list == NULL)
    return fail_nomem(x);
  if (v->json != NULL) {
    for (i = 0; i < cap && rc == 0; i++) {
      cvalue iv = json_value(v->json->u.array.values[i]);
      char iwho[CONFIG_WHO_MAX];
      snprintf(iwho, sizeof iwho, "%s[%zu]", who, i);
      if (!iv.is_string)
        rc = bad_value(x, k, &iv, iwho, NULL);
      else
        rc = add_cidr(x, k, list, &n, iv.text, strlen(iv.text), iwho);
    }
  } else {
    const char *p = v->text;
    while (rc == 0) {
      size_t len;
      while (*p == ' ' || *p == '\t')
        p++;
      len = strcspn(p, ",");
      while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
      if (len > 0)
        rc = add_cidr(x, k, list, &n, p, len, who);
      p += strcspn(p, ",");
      if (*p == '\0')
        break;
      p++;
    }
  }
  if (rc != 0) {
    free(list);
    return rc;
  }
  free(c->identity.trusted_cidrs);
  c->identity.trusted_cidrs = list;
  c->identity.ntrusted_cidrs = n;
  return 0;
}

/* ---- setting one value ---- */

static void store_enum(void *field, int value) {
  memcpy(field, &value, sizeof value);
}

/* Replaces the string at field with a copy of s[0, len). */
static int store_str(load_ctx *x, void *field, const char *s, size_t len) {
  char *copy = strndup(s, len);
  char *old;
  if (copy == NULL)
    return fail_nomem(x);
  memcpy(&old, field, sizeof old);
  free(old);
  memcpy(field, &copy, sizeof copy);
  return 0;
}

/* Sets the field of k in base (c, or a route of c) from v. who names the
 * key in messages, the way it was given. */
static int set_value(load_ctx *x, config_t *c, void *base, const config_key *k, const cvalue *v,
                     const char *who) {
  char *field = (char *)base + k->off;
  const char *ok = NULL;
  const char *s = v->text;
  unsigned long long n;
  size_t i;
  int is_number = k->kind == K_INT || k->kind == K_UINT || k->kind == K_SIZE;

  if (k->kind == K_ROUTES) {
    origin o = {"config", x->file};
    if (v->json == NULL)
      return routes_from_text(x, c, k, s, who);
    return routes_from_json(x, c, v->json, &o, k, who);
  }
  if (k->kind == K_CIDRS)
    return set_cidrs(x, c, k, v, who);
  if (k->kind == K_HOOKS)
    return webhooks_set(x, c, k, v, who);
  /* the rest take one scalar: a whole number, or a string */
  if (s == NULL || (is_number && v->json != NULL && v->is_string) || (!is_number && !v->is_string))
    return bad_value(x, k, v, who, NULL);

  switch (k->kind) {
  case K_INT:
  case K_UINT:
  case K_SIZE:
    if (parse_whole(s, &n) != 0 || n < k->min || n > k->max)
      return bad_value(x, k, v, who, NULL);
    if (k->kind == K_INT) {
      int iv = (int)n;
      memcpy(field, &iv, sizeof iv);
    } else if (k->kind == K_UINT) {
      unsigned uv = (unsigned)n;
      memcpy(field, &uv, sizeof uv);
    } else {
      size_t zv = (size_t)n;
      memcpy(field, &zv, sizeof zv);
    }
    return 0;
  case K_ENUM:
    for (i = 0; k->words[i] != NULL; i++) {
      if (strcmp(s, k->words[i]) == 0) {
        store_enum(field, (int)i);
        return 0;
      }
    }
    return bad_value(x, k, v, who, NULL);
  case K_FORMAT: {
    framer_format f;
    if (strcmp(s, "auto") == 0) {
      store_enum(field, CONFIG_FORMAT_AUTO);
      return 0;
    }
    if (framer_format_parse(s, &f) != 0)
      return bad_value(x, k, v, who, NULL);
    store_enum(field, (int)f);
    return 0;
  }
  case K_STR:
    if (strlen(s) < k->min || strlen(s) > k->max)
      return bad_value(x, k, v, who, NULL);
    return store_str(x, field, s, strlen(s));
  case K_ADDR:
    ok = parse_addr(s, NULL, NULL);
    break;
  case K_URL:
    ok = parse_url(s, NULL, NULL);
    break;
  case K_PUBURL:
    ok = check_public_url(s);
    if (valid(ok)) {
      size_t len = strlen(s);
      while (len > 0 && s[len - 1] == '/')
        len--;
      return store_str(x, field, s, len);
    }
    break;
  case K_HEADER:
    ok = check_header(k, s);
    break;
  case K_PREFIX:
    ok = check_prefix(k, s);
    break;
  case K_CIDRS:
  case K_ROUTES:
  case K_HOOKS:
  case K_FILE:
  case K_SWITCH:
  default:
    return bad_value(x, k, v, who, NULL);
  }
  if (!valid(ok))
    return bad_value(x, k, v, who, ok);
  return store_str(x, field, s, strlen(s));
}

/* ---- layers ---- */

static int apply_defaults(load_ctx *x, config_t *c) {
  size_t i;
  for (i = 0; i < NKEYS; i++) {
    const config_key *k = &config_keys[i];
    char who[CONFIG_WHO_MAX];
    cvalue v = {k->def, 1, NULL};
    int rc;
    if (k->def == NULL)
      continue;
    snprintf(who, sizeof who, "default of %s", k->name);
    rc = set_value(x, c, c, k, &v, who);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Applies the members of a JSON object whose keys start with prefix
 * ("" at the top, "identity." inside identity). */
static int apply_object(load_ctx *x, config_t *c, yajl_val obj, const char *prefix,
                        const origin *o) {
  size_t i;
  for (i = 0; i < obj->u.object.len; i++) {
    char name[CONFIG_NAME_MAX];
    char who[CONFIG_WHO_MAX];
    yajl_val val = obj->u.object.values[i];
    const config_key *k;
    cvalue v = json_value(val);
    int rc;
    int fits = snprintf(name, sizeof name, "%s%s", prefix, obj->u.object.keys[i]) <
               (int)sizeof name;
    k = fits ? find_key(config_keys, NKEYS, name, IN_FILE) : NULL;
    snprintf(who, sizeof who, "config: %s", name);
    if (k == NULL && (!fits || !is_group(name)))
      return fail(x, "config: unknown key \"%.*s%.40s\" in %s", (int)strlen(prefix), prefix,
                  obj->u.object.keys[i], o->file);
    if (duplicate_key(obj->u.object.keys, i))
      return fail(x, "%s: set twice in %s", who, o->file);
    if (k == NULL) {
      char sub[CONFIG_NAME_MAX + 1];
      static const config_key group = {"group", K_ROUTES, IN_FILE, 0, NULL, 0, 0, NULL, NULL,
                                       NULL, 0};
      if (!YAJL_IS_OBJECT(val))
        return bad_value(x, &group, &v, who, "must be an object");
      snprintf(sub, sizeof sub, "%s.", name);
      rc = apply_object(x, c, val, sub, o);
    } else {
      rc = set_value(x, c, c, k, &v, who);
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Reads at most CONFIG_FILE_MAX bytes of path into a NUL-terminated
 * malloc'd buffer. Returns 0 or a negative errno (-EFBIG when larger). */
static int read_file(const char *path, char **out, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf;
  size_t len = 0;
  int rc = 0;
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    close(fd);
    return rc;
  }
  buf = malloc(CONFIG_FILE_MAX + 2);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  while (len <= CONFIG_FILE_MAX) {
    ssize_t r = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = -errno;
      break;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  if (rc == 0 && len > CONFIG_FILE_MAX)
    rc = -EFBIG;
  if (rc != 0) {
    free(buf);
    return rc;
  }
  buf[len] = '\0';
  *out = buf;
  *len_out = len;
  return 0;
}

static int load_file(load_ctx *x, config_t *c, const char *path, const char *who) {
  char *text = NULL;
  size_t len = 0;
  char label[256];
  origin o = {"config", path};
  yajl_val tree;
  int rc = read_file(path, &text, &len);
  if (rc == -EFBIG)
    return fail(x, "%s: \"%.200s\" is larger than %d bytes", who, path, CONFIG_FILE_MAX);
  if (rc != 0)
    return fail(x, "%s: cannot read \"%.200s\": %s", who, path, strerror(-rc));
  snprintf(label, sizeof label, "config: %.200s", path);
  if (memchr(text, '\0', len) != NULL) {
    free(text);
    return fail(x, "%s: holds a NUL byte", label);
  }
  tree = parse_json(x, text, len, label);
  free(text);
  x->file = path;
  if (tree == NULL)
    return -EINVAL;
  if (!YAJL_IS_OBJECT(tree))
    rc = fail(x, "%s: must hold a JSON object", label);
  else
    rc = apply_object(x, c, tree, "", &o);
  x->file = NULL;
  yajl_tree_free(tree);
  return rc;
}

/* The value of variable name in envp, or NULL. */
static const char *env_get(char **envp, const char *name) {
  size_t len = strlen(name);
  const char *found = NULL;
  size_t i;
  for (i = 0; envp != NULL && envp[i] != NULL; i++) {
    if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
      found = envp[i] + len + 1;
  }
  return found;
}

static int apply_env(load_ctx *x, config_t *c, char **envp) {
  size_t i;
  for (i = 0; i < NKEYS; i++) {
    const config_key *k = &config_keys[i];
    char name[CONFIG_NAME_MAX];
    cvalue v = {NULL, 1, NULL};
    int rc;
    if (!(k->in & IN_ENV) || k->kind == K_FILE)
      continue;
    key_env(k, name, sizeof name);
    v.text = env_get(envp, name);
    if (v.text == NULL)
      continue;
    rc = set_value(x, c, c, k, &v, name);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Recognises argv[1, argc) into flags (argc entries at most) without
 * applying them. Sets *help when --help or -h is among them. */
static int scan_flags(load_ctx *x, int argc, char **argv, flag_arg *flags, size_t *nflags,
                      int *help) {
  int i;
  *nflags = 0;
  *help = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      *help = 1;
      return 0;
    }
  }
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq;
    const config_key *k = NULL;
    char flag[CONFIG_NAME_MAX];
    size_t nlen;
    size_t j;
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
      return fail(x, "unexpected argument \"%.60s\": flags look like --name value (see --help)",
                  arg);
    eq = strchr(arg, '=');
    nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (j = 0; j < NKEYS && k == NULL; j++) {
      if (!(config_keys[j].in & IN_FLAG))
        continue;
      key_flag(&config_keys[j], flag, sizeof flag);
      if (strlen(flag) == nlen && strncmp(flag, arg, nlen) == 0)
        k = &config_keys[j];
    }
    if (k == NULL)
      return fail(x, "%.*s: unknown flag (see --help)", (int)(nlen < 60 ? nlen : 60), arg);
    flags[*nflags].k = k;
    if (k->kind == K_SWITCH) {
      if (eq != NULL)
        return fail(x, "%s: takes no value", flag);
      flags[*nflags].value = NULL;
    } else if (eq != NULL) {
      flags[*nflags].value = eq + 1;
    } else if (i + 1 < argc) {
      flags[*nflags].value = argv[++i];
    } else {
      return fail(x, "%s: needs a value", flag);
    }
    (*nflags)++;
  }
  return 0;
}

static int apply_flags(load_ctx *x, config_t *c, const flag_arg *flags, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char who[CONFIG_NAME_MAX];
    cvalue v = {flags[i].value, 1, NULL};
    int rc;
    if (flags[i].k->kind == K_FILE || flags[i].k->kind == K_SWITCH)
      continue;
    key_flag(flags[i].k, who, sizeof who);
    rc = set_value(x, c, c, flags[i].k, &v, who);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---- after the layers ---- */

static int route_cmp(const void *a, const void *b) {
  const config_route *ra = a;
  const config_route *rb = b;
  if (ra->prefix_len != rb->prefix_len)
    return ra->prefix_len > rb->prefix_len ? -1 : 1;
  return strcmp(ra->prefix, rb->prefix);
}

/* Gives "upstream" to route "/", adding it if needed. */
static int apply_upstream(load_ctx *x, config_t *c) {
  config_route *grown;
  size_t i;
  int rc;
  if (c->upstream == NULL)
    return 0;
  for (i = 0; i < c->nroutes; i++) {
    if (strcmp(c->routes[i].prefix, "/") == 0) {
      rc = store_str(x, &c->routes[i].upstream, c->upstream, strlen(c->upstream));
      return rc;
    }
  }
  grown = realloc(c->routes, (c->nroutes + 1) * sizeof *grown);
  if (grown == NULL)
    return fail_nomem(x);
  c->routes = grown;
  rc = route_defaults(x, c, &c->routes[c->nroutes]);
  c->nroutes++;
  if (rc == 0)
    rc = store_str(x, &c->routes[c->nroutes - 1].prefix, "/", 1);
  if (rc == 0)
    rc = store_str(x, &c->routes[c->nroutes - 1].upstream, c->upstream, strlen(c->upstream));
  return rc;
}

static int finish(load_ctx *x, config_t *c) {
  size_t i;
  int rc = apply_upstream(x, c);
  if (rc != 0)
    return rc;
  if (c->nroutes == 0)
    return fail(x, "config: upstream: nothing to relay to: set --upstream http://HOST:PORT "
                   "(or AUTHRELAY_UPSTREAM, or \"upstream\" or \"routes\" in the config file)");
  for (i = 0; i < c->nroutes; i++) {
    config_route *r = &c->routes[i];
    r->prefix_len = strlen(r->prefix);
    if (r->on_detect_inherited)
      r->on_detect = c->on_detect;
    free(r->upstream_host);
    r->upstream_host = NULL;
    if (!valid(parse_url(r->upstream, &r->upstream_host, r->upstream_port)))
      return fail_nomem(x); /* it was checked when set: only strndup can fail */
  }
  qsort(c->routes, c->nroutes, sizeof *c->routes, route_cmp);
  if (!valid(parse_addr(c->listen, &c->listen_host, &c->listen_port)) ||
      !valid(parse_addr(c->control, &c->control_host, &c->control_port)))
    return fail_nomem(x);
  if (c->write_low_watermark >= c->write_high_watermark)
    return fail(x, "config: write_low_watermark: must be less than write_high_watermark "
                   "(%zu >= %zu)", c->write_low_watermark, c->write_high_watermark);
  if (c->listen_port != 0 && c->listen_port == c->control_port &&
      strcmp(c->listen_host, c->control_host) == 0)
    return fail(x, "config: control: must differ from listen (both are %s)", c->listen);
  return 0;
}

int config_load(config_t *c, int argc, char **argv, char **envp, char *err, size_t errlen) {
  load_ctx x = {err, errlen, NULL};
  flag_arg *flags;
  size_t nflags = 0;
  const char *file = NULL;
  const char *file_who = NULL;
  int help = 0;
  size_t i;
  int rc;

  memset(c, 0, sizeof *c);
  if (errlen > 0)
    err[0] = '\0';
  flags = calloc(argc > 0 ? (size_t)argc : 1, sizeof *flags);
  if (flags == NULL)
    return fail_nomem(&x);
  rc = scan_flags(&x, argc, argv, flags, &nflags, &help);
  if (rc == 0)
    rc = apply_defaults(&x, c);
  if (rc == 0 && help) {
    c->help = 1;
    free(flags);
    return 0;
  }
  /* the file named by the last --config, else AUTHRELAY_CONFIG */
  for (i = 0; i < nflags; i++) {
    if (flags[i].k->kind == K_FILE) {
      file = flags[i].value;
      file_who = "--config";
    } else if (flags[i].k->kind == K_SWITCH) {
      int on = 1;
      memcpy((char *)c + flags[i].k->off, &on, sizeof on);
    }
  }
  if (file == NULL) {
    file = env_get(envp, "AUTHRELAY_CONFIG");
    file_who = "AUTHRELAY_CONFIG";
  }
  if (rc == 0 && file != NULL) {
    if (file[0] == '\0')
      rc = fail(&x, "%s: needs a file name", file_who);
    else
      rc = store_str(&x, &c->config_file, file, strlen(file));
    if (rc == 0)
      rc = load_file(&x, c, file, file_who);
  }
  if (rc == 0)
    rc = apply_env(&x, c, envp);
  if (rc == 0)
    rc = apply_flags(&x, c, flags, nflags);
  if (rc == 0)
    rc = finish(&x, c);
  free(flags);
  if (rc != 0)
    config_free(c);
  return rc;
}

void config_free(config_t *c) {
  size_t i;
  for (i = 0; i < NKEYS; i++) {
    const config_key *k = &config_keys[i];
    char *s;
    if (k->kind != K_STR && k->kind != K_ADDR && k->kind != K_URL && k->kind != K_PUBURL &&
        k->kind != K_HEADER && k->kind != K_FILE)
      continue;
    memcpy(&s, (char *)c + k->off, sizeof s);
    free(s);
  }
  free(c->listen_host);
  free(c->control_host);
  free(c->identity.trusted_cidrs);
  routes_free(c->routes, c->nroutes);
  webhooks_free(c->webhooks, c->nwebhooks);
  memset(c, 0, sizeof *c);
}

void config_usage(FILE *out) {
  size_t i;
  fprintf(out,
          "usage: authrelay [--config FILE] [--check-config] [--KEY VALUE | --KEY=VALUE ...]\n"
          "\n"
          "Settings come from defaults, then the config file, then AUTHRELAY_* variables,\n"
          "then flags; the later wins. Each flag is also a config file key (\"-\" read as\n"
          "\"_\"; --identity-X is member X of \"identity\") and a variable (AUTHRELAY_ and\n"
          "the key in capitals). Secrets are safer in variables than in flags.\n\n");
  for (i = 0; i < NKEYS; i++) {
    const config_key *k = &config_keys[i];
    char flag[CONFIG_NAME_MAX];
    char env[CONFIG_NAME_MAX];
    char left[2 * CONFIG_NAME_MAX];
    if (!(k->in & IN_FLAG))
      continue;
    key_flag(k, flag, sizeof flag);
    key_env(k, env, sizeof env);
    snprintf(left, sizeof left, "%s%s%s", flag, k->arg != NULL ? " " : "",
             k->arg != NULL ? k->arg : "");
    fprintf(out, "  %-36s %s\n", left, k->help);
    if (k->kind == K_INT || k->kind == K_UINT || k->kind == K_SIZE)
      fprintf(out, "  %-36s   %llu to %llu, default %s\n", "", k->min, k->max, k->def);
    else if (k->kind == K_ENUM || k->kind == K_FORMAT)
      fprintf(out, "  %-36s   default %s\n", "", k->def);
    else if (k->def != NULL)
      fprintf(out, "  %-36s   default \"%s\"\n", "", k->def);
    if (k->in & IN_ENV)
      fprintf(out, "  %-36s   env %s\n", "", env);
  }
  fprintf(out, "\nA route object: prefix (\"/api\"), upstream (http://HOST:PORT), mode (%s|%s),\n"
               "resume (%s|%s), format (%s), on_detect (%s|%s; default: on_detect).\n",
          mode_words[0], mode_words[1], resume_words[0], resume_words[1], format_words,
          on_detect_words[0], on_detect_words[1]);
}

const config_route *config_route_match(const config_t *c, const char *path, size_t len) {
  size_t i;
  for (i = 0; i < c->nroutes; i++) {
    const config_route *r = &c->routes[i];
    size_t plen = r->prefix_len;
    if (len < plen || memcmp(path, r->prefix, plen) != 0)
      continue;
    if (len == plen || r->prefix[plen - 1] == '/' || path[plen] == '/' || path[plen] == '?')
      return r;
  }
  return NULL;
}

const char *config_mode_name(config_mode m) {
  return (unsigned)m < 2 ? mode_words[m] : "unknown";
}

const char *config_resume_name(config_resume r) {
  return (unsigned)r < 2 ? resume_words[r] : "unknown";
}

const char *config_format_name(config_format f) {
  if (f == CONFIG_FORMAT_AUTO)
    return "auto";
  return framer_format_name((framer_format)f);
}

const char *config_on_detect_name(config_on_detect d) {
  return (unsigned)d < 2 ? on_detect_words[d] : "unknown";
}
