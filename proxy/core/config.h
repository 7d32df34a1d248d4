/* config: the daemon's settings, from defaults, a file, the environment and
 * the command line.
 *
 * config_load() fills a config_t in four layers, each overriding the one
 * before: built-in defaults; a JSON file given by --config or
 * AUTHRELAY_CONFIG (comments allowed, at most CONFIG_FILE_MAX bytes);
 * AUTHRELAY_* environment variables; command-line flags. Every key is named
 * the same way in each layer: file key "max_head_bytes" (nested:
 * "identity.header" is member "header" of object "identity"), flag
 * --max-head-bytes (or --max-head-bytes=N), env AUTHRELAY_MAX_HEAD_BYTES.
 * One table in config_keys.c holds every key with its default, range and help
 * text; parsing, validation and --help are driven by it.
 *
 * Errors are strict, as an operator wants at start-up rather than at the
 * first request: unknown keys (in the file, in a route) and unknown flags,
 * values of the wrong type, numbers that are not whole or out of range,
 * bad enum words, URLs, addresses and CIDRs. The message is one line naming
 * the key the way it was given ("config: routes[1].upstrem", "--workers",
 * "AUTHRELAY_LISTEN"). Unknown AUTHRELAY_* environment variables are
 * ignored, since other parts of the daemon read some (AUTHRELAY_SECRET_KEY).
 *
 * Routes: "routes" is an array of objects in the file, and a JSON array in
 * --routes / AUTHRELAY_ROUTES (a later layer replaces the whole list).
 * "upstream" (--upstream) is the upstream of route "/": it replaces the
 * upstream of a configured "/" route, or adds route "/" with the defaults.
 * At least one route is required. Routes are kept sorted longest prefix
 * first, which is the order config_route_match() tries them in.
 *
 * The config_t is read-only after config_load() and shared by all threads.
 */
#ifndef AUTHRELAY_CONFIG_H
#define AUTHRELAY_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "framer.h"
#include "log.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* bytes in a config file */
#define CONFIG_ROUTES_MAX 1024        /* routes in a config */
#define CONFIG_WEBHOOKS_MAX 64        /* webhooks in a config */
#define CONFIG_CIDRS_MAX 1024         /* entries in identity.trusted_cidrs */

typedef enum config_mode {
  CONFIG_MODE_INBAND = 0, /* pause the stream, events in band */
  CONFIG_MODE_TOOL        /* hold the tool call, notify out of band, retry */
} config_mode;

typedef enum config_resume {
  CONFIG_RESUME_CONTINUE = 0, /* flush held bytes, read upstream again */
  CONFIG_RESUME_RETRY         /* replay the request, splice the new body */
} config_resume;

/* How a route's response bodies are framed. The concrete formats have the
 * values of framer_format, so a cast converts them; AUTO picks by
 * Content-Type (framer_format_from_content_type). */
typedef enum config_format {
  CONFIG_FORMAT_RAW = FRAMER_RAW,
  CONFIG_FORMAT_SSE = FRAMER_SSE,
  CONFIG_FORMAT_NDJSON = FRAMER_NDJSON,
  CONFIG_FORMAT_JSON = FRAMER_JSON,
  CONFIG_FORMAT_AUTO
} config_format;

typedef enum config_on_detect {
  CONFIG_ON_DETECT_REPLACE = 0, /* withhold the event, send link_token instead (generic only) */
  CONFIG_ON_DETECT_KEEP,        /* forward it untouched, then the notices */
  CONFIG_ON_DETECT_REWRITE      /* forward it with only its link values replaced (default) */
} config_on_detect;

/* The client protocol of a route's streams (DESIGN.md "Dialects"); the same
 * values as dialect_id (proxy/relay/dialect/dialect.h). */
typedef enum config_dialect {
  CONFIG_DIALECT_AUTO = 0, /* from the response head and first events */
  CONFIG_DIALECT_GENERIC,
  CONFIG_DIALECT_OPENAI_RESPONSES,
  CONFIG_DIALECT_OPENAI_CHAT,
  CONFIG_DIALECT_ANTHROPIC,
  CONFIG_DIALECT_AI_SDK,
  CONFIG_DIALECT_AG_UI,
  CONFIG_DIALECT_A2A,
  CONFIG_DIALECT_MCP
} config_dialect;

typedef enum config_uninspectable {
  CONFIG_UNINSPECTABLE_PASS = 0, /* relay a compressed body uninspected */
  CONFIG_UNINSPECTABLE_FAIL      /* refuse it (502) */
} config_uninspectable;

typedef enum config_after_expiry {
  CONFIG_AFTER_EXPIRY_CONTINUE = 0, /* link_expired, then resume the stream */
  CONFIG_AFTER_EXPIRY_CLOSE         /* link_expired, then end the stream */
} config_after_expiry;

/* One entry of identity.trusted_cidrs, in binary. */
typedef struct config_cidr {
  int family;             /* AF_INET or AF_INET6 */
  unsigned char addr[16]; /* network address; IPv4 uses the first 4 bytes */
  unsigned prefix;        /* prefix length: 0..32 or 0..128 */
} config_cidr;

typedef struct config_route {
  char *prefix;            /* starts with "/"; owned */
  size_t prefix_len;
  char *upstream;          /* the URL as configured, http://host:port; owned */
  char *upstream_host;     /* name or address, IPv6 without brackets; owned */
  char upstream_port[6];   /* decimal, as getaddrinfo wants it ("80" by default) */
  config_mode mode;
  config_resume resume;
  config_format format;
  config_on_detect on_detect;
  int on_detect_inherited; /* on_detect was not set on the route: the global one */
  config_dialect dialect;
  struct {                 /* credential injection (mode: tool; relay/credinject.h) */
    char *connector;       /* slug; NULL: from the call's tool name; owned */
    char *header;          /* the request header authrelay sets; NULL: no injection; owned */
    char *value;           /* its value: a template with "{token}" once; owned */
  } credentials;
} config_route;

#define CONFIG_CRED_HEADER_MAX 128  /* bytes of routes[].credentials.header */
#define CONFIG_CRED_VALUE_MAX 1024  /* bytes of routes[].credentials.value (the template) */
#define CONFIG_CRED_SLUG_MAX 64     /* bytes of routes[].credentials.connector */

/* Why routes[].credentials {connector (NULL: none), header, value} cannot
 * be used, or NULL when it can: header a field name that is not framing,
 * hop-by-hop or authrelay's own; value with "{token}" exactly once and no
 * control characters; connector a slug ([a-z0-9_-]). */
const char *config_credentials_problem(const char *connector, const char *header, const char *value);

/* Link events sent out of band (webhooks, /v1/events). */
enum {
  CONFIG_EVENT_LINK_TOKEN = 1 << 0,
  CONFIG_EVENT_AUTH_COMPLETE = 1 << 1,
  CONFIG_EVENT_LINK_EXPIRED = 1 << 2,
  CONFIG_EVENT_LINK_DECLINED = 1 << 3,
  CONFIG_EVENT_CONNECTION_CREATED = 1 << 4,
  CONFIG_EVENT_CONNECTION_REFRESHED = 1 << 5,
  CONFIG_EVENT_CONNECTION_BROKEN = 1 << 6,
  CONFIG_EVENT_CONNECTION_DELETED = 1 << 7,
  CONFIG_EVENT_ALL = (1 << 8) - 1
};

typedef struct config_webhook {
  char *url;               /* http:// or https:// URL; owned */
  char *secret;            /* HMAC-SHA256 key of Authrelay-Signature; owned; never logged */
  unsigned events;         /* CONFIG_EVENT_* bits; every event when "events" is not given */
} config_webhook;

typedef struct config_t {
  char *config_file;       /* --config / AUTHRELAY_CONFIG, or NULL; owned */
  int check_only;          /* --check-config: validate, print, exit */
  int help;                /* --help: print config_usage() and exit */
  int version;             /* --version: main() prints the version and exits */

  char *listen;            /* "host:port" as configured; owned */
  char *listen_host;       /* IP literal, IPv6 without brackets; owned */
  int listen_port;         /* 0: any free port */
  char *control;           /* control API address, as listen */
  char *control_host;
  int control_port;
  char *upstream;          /* upstream of route "/", or NULL; owned */
  int workers;             /* relay threads */
  log_level log_level;
  char *data_dir;          /* owned */
  char *public_url;        /* "" or absolute http(s) URL, no trailing "/"; owned */
  char *admin_key;         /* "" (generated on first run) or the owner key; owned */
  char *secret_key;        /* "" (generated in data_dir) or 64 hex digits; owned */
  char *connectors;        /* connector catalog file, or "" for none; owned */
  unsigned provider_timeout_s; /* OAuth token exchange timeout */

  /* limits */
  size_t max_head_bytes;   /* request head (431 past it) */
  size_t max_headers;      /* request header lines (431 past it) */
  size_t max_body_bytes;   /* request body (413 past it) */
  unsigned client_head_timeout_s;
  unsigned upstream_connect_timeout_s;
  unsigned upstream_idle_timeout_s;
  size_t max_connections;  /* client connections per worker */
  size_t max_event_bytes;  /* inspected event size; larger ones pass in pieces */
  size_t write_high_watermark; /* client write queue: stop reading upstream */
  size_t write_low_watermark;  /* ... and read again under this; < high */
  size_t pool_max_idle;    /* idle keep-alive connections per upstream per worker */
  unsigned pool_idle_timeout_s;
  unsigned drain_timeout_s;
  unsigned client_idle_timeout_s; /* keep-alive wait for the next request */

  /* detection and the pause */
  config_uninspectable on_uninspectable;
  config_on_detect on_detect;  /* default of every route's on_detect */
  config_after_expiry after_expiry;
  unsigned heartbeat_s;
  unsigned pause_timeout_s;
  size_t max_held_bytes;
  unsigned max_pauses_per_stream;
  size_t max_replay_body;

  struct {
    char *header;          /* request header holding the user id; owned */
    config_cidr *trusted_cidrs; /* peers trusted to set header; owned array */
    size_t ntrusted_cidrs;
    char *secret;          /* HMAC key of X-Registered-User-Sig, "" for none; owned */
  } identity;

  struct {
    char *url;             /* "" (embedded) or the remote service's base URL; owned */
    char *api_key;         /* its bearer key; owned; never logged */
    unsigned poll_interval_s; /* pending remote links are checked this often */
  } link_service;

  struct {
    char *app_name;        /* named on the Link page, "" for none; owned */
    char *logo_url;        /* its logo, "" or an https:// URL; owned */
    char *verifier_url;    /* link binding: the app's verifier page, "" for none; owned (linkbind.h) */
  } link;

  config_route *routes;    /* sorted longest prefix first; owned array */
  size_t nroutes;
  config_webhook *webhooks; /* owned array */
  size_t nwebhooks;
} config_t;

/* Fills c (whatever it held before is overwritten, not freed) from
 * defaults, the config file, envp (NULL-terminated "NAME=value" strings, may
 * be NULL) and argv[1, argc). Returns 0, or -EINVAL (-ENOMEM) with a
 * NUL-terminated one-line message in err[0, errlen); on error c holds
 * nothing that needs freeing. With --help, returns 0 at once with c->help
 * set and the defaults loaded. */
int config_load(config_t *c, int argc, char **argv, char **envp, char *err, size_t errlen);

/* Frees everything c owns and zeroes it. Safe on a zeroed config_t. */
void config_free(config_t *c);

/* Prints every flag, with its value form, default, range and env name. */
void config_usage(FILE *out);

/* The route for a request target: the longest prefix that matches path
 * [0, len) at a segment boundary: "/api" matches "/api", "/api/x" and
 * "/api?x" but not "/apix"; "/" and prefixes ending in "/" match anything
 * that starts with them. NULL when none matches. Points into c->routes. */
const config_route *config_route_match(const config_t *c, const char *path, size_t len);

/* 1 when sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * IPv4 too) lies in one of cidrs[0, n), else 0. */
int config_cidr_match(const config_cidr *cidrs, size_t n, const struct sockaddr *sa);

/* Parses "10.0.0.0/8", "::1/128" or a bare address (a host: /32, /128).
 * Bits past the prefix must be zero. Returns 0 or -EINVAL. */
int config_cidr_parse(const char *text, config_cidr *out);

/* Names of the enum values ("inband", "retry", "auto", ...). */
const char *config_mode_name(config_mode m);
const char *config_resume_name(config_resume r);
const char *config_format_name(config_format f);
const char *config_on_detect_name(config_on_detect d);
const char *config_dialect_name(config_dialect d);

#endif
