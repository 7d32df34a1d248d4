/* config_int.h: what the config_*.c files share; not for use outside
 * proxy/core/config*.c (config.h is the public interface).
 *
 * Everything hangs off config_keys[] (config_keys.c), one row per key: its
 * kind (which says how a value is parsed and stored), the layers it may be
 * set in, the field it lands in, its default (written as a flag value would
 * be), its range and its help line. Flag and environment names are derived
 * from the key name, so they cannot drift: "identity.trusted_cidrs" is
 * --identity-trusted-cidrs and AUTHRELAY_IDENTITY_TRUSTED_CIDRS. Route
 * objects have their own small table, config_route_keys[], read by the
 * same code.
 *
 * A value arrives either as text (a default, a flag, a variable) or as a
 * JSON value from the file; config_set_value() (config_value.c) takes both.
 * JSON is checked first with yajl's event parser (config_json.c) and only
 * then built into a tree.
 *
 * The files, in the order a value meets them:
 *   config.c          config_load(): the layers in order (their precedence),
 *                     then config_finish(); config_free()
 *   config_sources.c  the layers: defaults, the file, AUTHRELAY_*, flags
 *   config_json.c     JSON with comments: checked, then built into a tree
 *   config_value.c    one value into its field; the error messages
 *   config_text.c     checkers of text values: numbers, addresses, URLs...
 *   config_routes.c   "routes"; config_route_match()
 *   config_webhooks.c "webhooks"
 *   config_cidr.c     "identity.trusted_cidrs"; config_cidr_parse/_match()
 *   config_check.c    config_finish(): checks across keys after the layers
 *   config_keys.c     the key tables, key names, enum names
 *   config_usage.c    config_usage(): --help
 *
 * Functions returning int return 0 or -EINVAL (-ENOMEM), with the message
 * in the load_ctx, unless their comment says otherwise.
 */
#ifndef AUTHRELAY_CONFIG_INT_H
#define AUTHRELAY_CONFIG_INT_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "config.h"

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
  const char *value; /* NULL for switches; points into argv */
} flag_arg;

/* ---- config_keys.c: the tables and the names derived from them ---- */

extern const config_key config_keys[];       /* every key, in --help order */
extern const size_t config_nkeys;
extern const config_key config_route_keys[]; /* members of a route object */
extern const size_t config_nroute_keys;
extern const char *const config_mode_words[];      /* NULL-terminated */
extern const char *const config_resume_words[];    /* NULL-terminated */
extern const char *const config_on_detect_words[]; /* NULL-terminated */
extern const char *const config_dialect_words[];   /* NULL-terminated, config_dialect order */
extern const char config_format_words[];           /* "auto|sse|..." */

/* The flag of a key, "--identity-trusted-cidrs", into buf. */
void config_key_flag(const config_key *k, char *buf, size_t size);
/* The environment variable of a key, "AUTHRELAY_IDENTITY_TRUSTED_CIDRS". */
void config_key_env(const config_key *k, char *buf, size_t size);
/* The key of keys[0, n) named name that may be set in a layer of in, or NULL. */
const config_key *config_find_key(const config_key *keys, size_t n, const char *name,
                                  unsigned in);
/* 1 when some file key is a member of object name ("identity"). */
int config_is_group(const char *name);

/* ---- config_value.c: setting one value; messages ---- */

/* Formats the message into x->err; returns -EINVAL. */
PRINTF_LIKE(2, 3)
int config_fail(load_ctx *x, const char *fmt, ...);
/* "config: out of memory"; returns -ENOMEM. */
int config_fail_nomem(load_ctx *x);
/* "WHO: REASON, got VALUE" (the value not for secret keys). reason NULL:
 * what k expects. Returns -EINVAL. */
int config_bad_value(load_ctx *x, const config_key *k, const cvalue *v, const char *who,
                     const char *reason);
/* Replaces the string at field (a char *, owned) with a copy of s[0, len). */
int config_store_str(load_ctx *x, void *field, const char *s, size_t len);
/* Sets the field of k in base (c, or a route of c) from v. who names the
 * key in messages, the way it was given. */
int config_set_value(load_ctx *x, config_t *c, void *base, const config_key *k, const cvalue *v,
                     const char *who);

/* ---- config_text.c: text checkers ----
 * Those returning a string return "" when the text is valid, NULL when it
 * is not (the message then says what the key expects), or a more precise
 * reason. */

/* 1 when a checker's verdict is "valid". */
int config_verdict_ok(const char *verdict);
/* Parses a whole decimal number: digits only. Returns 0 or -EINVAL. */
int config_parse_whole(const char *s, unsigned long long *out);
/* inet_pton on s[0, len) (not NUL-terminated) into out16 (may be NULL).
 * Returns 1 when it is an address of family af, else 0. */
int config_is_ip(int af, const char *s, size_t len, unsigned char *out16);
/* Splits IPV4:PORT or [IPV6]:PORT. host_out (may be NULL) gets a malloc'd
 * copy of the address without brackets (the caller owns it). */
const char *config_parse_addr(const char *s, char **host_out, int *port_out);
/* Splits http://HOST[:PORT][/]. host_out (malloc'd, the caller owns it) and
 * port_out (6 bytes) may be NULL. */
const char *config_parse_url(const char *s, char **host_out, char *port_out);
/* "" or http(s)://AUTHORITY[/PATH], no query, fragment, space or control
 * character. */
const char *config_check_public_url(const char *s);
/* An HTTP field name of k->min to k->max token characters. */
const char *config_check_header(const config_key *k, const char *s);
/* A route prefix: "/", no space, control character, "?" or "#". */
const char *config_check_prefix(const config_key *k, const char *s);

/* ---- config_json.c: JSON with comments ---- */

/* Checks text (NUL-terminated, len bytes) and builds its tree. Returns the
 * tree (the caller frees it with yajl_tree_free) or NULL with the message
 * set; label names the text in messages. */
yajl_val config_parse_json(load_ctx *x, const char *text, size_t len, const char *label);
/* A cvalue for a JSON value (pointing into it). */
cvalue config_json_value(yajl_val v);
/* 1 when keys[i] also appears in keys[0, i). */
int config_duplicate_key(const char **keys, size_t i);

/* ---- config_routes.c, config_webhooks.c, config_cidr.c: the lists ---- */

/* Sets the defaults of config_route_keys in r (zeroed first). */
int config_route_defaults(load_ctx *x, config_t *c, config_route *r);
/* Replaces c's routes with those of v: a JSON array, or its text. */
int config_routes_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                      const char *who);
/* Frees routes[0, n), what they own, and the array. */
void config_routes_free(config_route *routes, size_t n);
/* Replaces c's webhooks with those of v: a JSON array, or its text. */
int config_webhooks_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                        const char *who);
/* Frees hooks[0, n) (wiping the secrets) and the array. */
void config_webhooks_free(config_webhook *hooks, size_t n);
/* Replaces the trusted CIDRs with those of a JSON array of strings or of a
 * comma-separated text (empty items are skipped: "" trusts nobody). */
int config_cidrs_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                     const char *who);

/* ---- config_sources.c: the layers ---- */

int config_apply_defaults(load_ctx *x, config_t *c);
/* Reads the config file at path and applies it; who names where the path
 * came from ("--config", "AUTHRELAY_CONFIG"). */
int config_load_file(load_ctx *x, config_t *c, const char *path, const char *who);
/* The value of variable name in envp (may be NULL), or NULL. The last one
 * wins. Points into envp. */
const char *config_env_get(char **envp, const char *name);
int config_apply_env(load_ctx *x, config_t *c, char **envp);
/* Recognises argv[1, argc) into flags (argc entries at most) without
 * applying them. Sets *help when --help or -h is among them. */
int config_scan_flags(load_ctx *x, int argc, char **argv, flag_arg *flags, size_t *nflags,
                      int *help);
/* Applies the flags that set values (not --config, not switches). */
int config_apply_flags(load_ctx *x, config_t *c, const flag_arg *flags, size_t n);

/* ---- config_check.c ---- */

/* After the layers: route "/" from "upstream", routes sorted and split,
 * listen and control split, the checks that span keys. */
int config_finish(load_ctx *x, config_t *c);

#endif
