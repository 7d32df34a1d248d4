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
 *     {"slug": "openai", "name": "OpenAI", "auth": "api_key"}]}
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

typedef enum catalog_auth { CATALOG_API_KEY = 0, CATALOG_OAUTH2 } catalog_auth;

typedef struct catalog_connector {
  char slug[CATALOG_SLUG_MAX + 1];
  char name[CATALOG_NAME_MAX + 1];   /* shown on the Link page */
  catalog_auth auth;
  char authorize_url[CATALOG_URL_MAX + 1]; /* oauth2 only: absolute http(s) URL */
  char token_url[CATALOG_URL_MAX + 1];     /* oauth2 only */
  char scopes[CATALOG_SCOPES_MAX + 1];     /* oauth2 only: space-separated, may be empty */
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
 * every slug of [a-z0-9_-], 1 to CATALOG_SLUG_MAX bytes, as api_key). */
int catalog_lookup(const catalog_t *cat, const char *slug, catalog_connector *out);

/* "api_key" or "oauth2". */
const char *catalog_auth_name(catalog_auth a);

#endif
