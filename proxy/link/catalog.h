/* catalog: the connectors the link service knows (DESIGN.md "Link service",
 * connector catalog).
 *
 * A JSON file (the `connectors` setting; a default with real providers'
 * endpoints ships as examples/connectors.json):
 *
 *   {"connectors": [
 *     {"slug": "github", "name": "GitHub", "auth": "oauth2",
 *      "authorize_url": "https://github.com/login/oauth/authorize",
 *      "token_url": "https://github.com/login/oauth/access_token",
 *      "scopes": "repo read:user"},
 *     {"slug": "notion", "name": "Notion", "auth": "oauth2", ...,
 *      "token_auth": "client_secret_basic"},
 *     {"slug": "jira", "name": "Jira", "auth": "oauth2", ...,
 *      "authorize_params": {"audience": "api.atlassian.com", "prompt": "consent"},
 *      "revocation_url": "https://...", "refresh": true},
 *     {"slug": "openai", "name": "OpenAI", "auth": "api_key"}]}
 *
 * Every entry is checked at load and a fault is refused with a message
 * naming the file, the entry and the key: unknown or repeated keys (a typo
 * is not silently ignored), slugs outside the reference's style (lowercase
 * letters, digits and hyphens: google-drive), endpoints that are not https
 * (http only to a loopback address, for local stand-ins), authorize_params
 * that authrelay sets itself, and the oauth2 options on an api_key entry.
 *
 * It is loaded once at start and never changes, so every thread reads it
 * without locks. The catalog decides which connectors a detection may start
 * a link for (the trusted-links rule) and how the Link page connects one.
 * With no file configured every well-formed slug is accepted as an API-key
 * connector named after its slug, the behaviour before the catalog existed.
 */
#ifndef AUTHRELAY_CATALOG_H
#define AUTHRELAY_CATALOG_H

#include <stddef.h>

#define CATALOG_SLUG_MAX 64   /* as LINKSVC_CONNECTOR_MAX */
#define CATALOG_NAME_MAX 100
#define CATALOG_URL_MAX 2048
#define CATALOG_SCOPES_MAX 2048
#define CATALOG_MAX_CONNECTORS 1000
#define CATALOG_FILE_MAX (4 * 1024 * 1024)
#define CATALOG_PARAMS_MAX 8        /* entries of authorize_params */
#define CATALOG_PARAM_NAME_MAX 64   /* bytes of one authorize_params name */
#define CATALOG_PARAM_VALUE_MAX 256 /* bytes of one authorize_params value */

typedef enum catalog_auth { CATALOG_API_KEY = 0, CATALOG_OAUTH2 } catalog_auth;

/* How the client authenticates at the token (and revocation) endpoint,
 * RFC 6749 2.3.1: the secret in the form body (the default), or HTTP Basic
 * (Notion, for one, wants Basic). */
typedef enum catalog_token_auth {
  CATALOG_SECRET_POST = 0, /* "client_secret_post" */
  CATALOG_SECRET_BASIC     /* "client_secret_basic" */
} catalog_token_auth;

/* One extra query parameter of the authorize URL. */
typedef struct catalog_param {
  char name[CATALOG_PARAM_NAME_MAX + 1];   /* 1+ bytes of [A-Za-z0-9._~-] */
  char value[CATALOG_PARAM_VALUE_MAX + 1]; /* any string without control characters */
} catalog_param;

typedef struct catalog_connector {
  char slug[CATALOG_SLUG_MAX + 1];
  char name[CATALOG_NAME_MAX + 1];   /* shown on the Link page */
  catalog_auth auth;
  char authorize_url[CATALOG_URL_MAX + 1]; /* oauth2 only: https (http to loopback) */
  char token_url[CATALOG_URL_MAX + 1];     /* oauth2 only */
  char scopes[CATALOG_SCOPES_MAX + 1];     /* oauth2 only: space-separated, may be empty */
  catalog_token_auth token_auth;           /* oauth2 only */
  catalog_param authorize_params[CATALOG_PARAMS_MAX]; /* oauth2 only: in the file's order */
  size_t nauthorize_params;
  char revocation_url[CATALOG_URL_MAX + 1]; /* oauth2 only: RFC 7009 endpoint, "" when none */
  int refresh;                             /* oauth2 only: use refresh tokens when the provider
                                              sends them (default 1); 0: never use nor keep one */
} catalog_connector;

typedef struct catalog_t {
  catalog_connector *items; /* owned; sorted by slug */
  size_t count;
  int open;                 /* no file: any valid slug is an API-key connector */
} catalog_t;

/* Loads path (NULL or "": an open catalog). Returns 0, or -EINVAL / -EIO /
 * -ENOMEM with a one-line message in err naming the file and the entry. */
int catalog_load(catalog_t *cat, const char *path, char *err, size_t errlen);

/* Frees what catalog_load() allocated; cat is then an open catalog. */
void catalog_free(catalog_t *cat);

/* Fills *out with connector slug (NUL-terminated, borrowed). Returns 0, or
 * -ENOENT when the catalog has no such connector (an open catalog answers
 * every slug of [a-z0-9_-], 1 to CATALOG_SLUG_MAX bytes, as api_key: it
 * names what a stream said, so it keeps the looser rule it always had; a
 * file's slugs are [a-z0-9-], not beginning or ending with '-'). */
int catalog_lookup(const catalog_t *cat, const char *slug, catalog_connector *out);

/* 1 when name is an authorize URL parameter authrelay sets itself, which
 * authorize_params may not hold (compared ignoring case): response_type,
 * client_id, client_secret, redirect_uri, state, every name beginning
 * with code_challenge, and scope when has_scopes. */
int catalog_param_reserved(const char *name, int has_scopes);

/* "api_key" or "oauth2". */
const char *catalog_auth_name(catalog_auth a);

#endif
