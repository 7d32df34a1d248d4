/* catalog: the connector catalog file. See catalog.h. */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "url.h"

#define CATALOG_JSON_DEPTH 16 /* the file nests 3 deep; anything much deeper is refused */

static int slug_ok(const char *s) {
  size_t n = strlen(s);
  size_t i;
  if (n == 0 || n > CATALOG_SLUG_MAX)
    return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Copies string member name of obj into out (cap bytes with the NUL).
 * Returns 1 when copied, 0 when absent, -1 when not a string or too long. */
static int get_string(yajl_val obj, const char *name, char *out, size_t cap) {
  const char *path[2] = {name, NULL};
  yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
  const char *s;
  if (v == NULL)
    return 0;
  s = YAJL_GET_STRING(v);
  if (s == NULL || strlen(s) >= cap)
    return -1;
  memcpy(out, s, strlen(s) + 1);
  return 1;
}

static int by_slug(const void *a, const void *b) {
  return strcmp(((const catalog_connector *)a)->slug, ((const catalog_connector *)b)->slug);
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if (f == NULL) {
    snprintf(err, errlen, "connectors: cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  buf = malloc(CATALOG_FILE_MAX + 1);
  if (buf == NULL) {
    fclose(f);
    snprintf(err, errlen, "connectors: out of memory");
    return NULL;
  }
  n = fread(buf, 1, CATALOG_FILE_MAX + 1, f);
  fclose(f);
  if (n > CATALOG_FILE_MAX) {
    free(buf);
    snprintf(err, errlen, "connectors: %s is over %d bytes", path, CATALOG_FILE_MAX);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* One entry of the "connectors" array into *c. */
static int parse_entry(yajl_val e, size_t i, catalog_connector *c, const char *path, char *err,
                       size_t errlen) {
  char auth[16];
  const char *bad = NULL;
  memset(c, 0, sizeof *c);
  if (!YAJL_IS_OBJECT(e))
    bad = "is not an object";
  else if (get_string(e, "slug", c->slug, sizeof c->slug) != 1 || !slug_ok(c->slug))
    bad = "slug must be 1-64 characters of [a-z0-9_-]";
  else if (get_string(e, "name", c->name, sizeof c->name) < 0)
    bad = "name must be a string of at most 100 bytes";
  else if (get_string(e, "auth", auth, sizeof auth) != 1 ||
           (strcmp(auth, "api_key") != 0 && strcmp(auth, "oauth2") != 0))
    bad = "auth must be \"api_key\" or \"oauth2\"";
  if (bad == NULL && c->name[0] == '\0')
    memcpy(c->name, c->slug, sizeof c->slug);
  if (bad == NULL && strcmp(auth, "oauth2") == 0) {
    c->auth = CATALOG_OAUTH2;
    if (get_string(e, "authorize_url", c->authorize_url, sizeof c->authorize_url) != 1 ||
        url_check(c->authorize_url, 0, URL_NO_FRAGMENT) != 0)
      bad = "an oauth2 connector needs an http(s) authorize_url";
    else if (get_string(e, "token_url", c->token_url, sizeof c->token_url) != 1 ||
             url_check(c->token_url, 0, URL_NO_FRAGMENT) != 0)
      bad = "an oauth2 connector needs an http(s) token_url";
    else if (get_string(e, "scopes", c->scopes, sizeof c->scopes) < 0)
      bad = "scopes must be a space-separated string";
  }
  if (bad != NULL) {
    snprintf(err, errlen, "connectors: %s: entry %zu%s%s: %s", path, i, c->slug[0] ? " " : "",
             c->slug, bad);
    return -EINVAL;
  }
  return 0;
}

int catalog_load(catalog_t *cat, const char *path, char *err, size_t errlen) {
  const char *list_path[] = {"connectors", NULL};
  json_error je;
  yajl_val root;
  yajl_val list;
  char *text;
  size_t len = 0;
  size_t i;
  int rc = 0;
  memset(cat, 0, sizeof *cat);
  cat->open = 1;
  if (path == NULL || path[0] == '\0')
    return 0;
  text = read_file(path, &len, err, errlen);
  if (text == NULL)
    return -EIO;
  rc = json_parse(text, len, CATALOG_JSON_DEPTH, JSON_COMMENTS, &root, &je);
  free(text);
  if (rc == -ENOMEM) {
    snprintf(err, errlen, "connectors: out of memory");
    return rc;
  }
  if (rc != 0) {
    snprintf(err, errlen, "connectors: %s is not JSON: line %zu, column %zu: %s", path, je.line, je.column, je.text);
    return -EINVAL;
  }
  list = yajl_tree_get(root, list_path, yajl_t_array);
  if (list == NULL || YAJL_GET_ARRAY(list)->len == 0 ||
      YAJL_GET_ARRAY(list)->len > CATALOG_MAX_CONNECTORS) {
    snprintf(err, errlen, "connectors: %s needs a \"connectors\" array of 1 to %d entries", path,
             CATALOG_MAX_CONNECTORS);
    yajl_tree_free(root);
    return -EINVAL;
  }
  cat->items = calloc(YAJL_GET_ARRAY(list)->len, sizeof *cat->items);
  if (cat->items == NULL) {
    yajl_tree_free(root);
    return -ENOMEM;
  }
  for (i = 0; i < YAJL_GET_ARRAY(list)->len && rc == 0; i++)
    rc = parse_entry(YAJL_GET_ARRAY(list)->values[i], i, &cat->items[i], path, err, errlen);
  yajl_tree_free(root);
  if (rc != 0) {
    catalog_free(cat);
    return rc;
  }
  cat->count = i;
  cat->open = 0;
  qsort(cat->items, cat->count, sizeof *cat->items, by_slug);
  for (i = 1; i < cat->count; i++) {
    if (strcmp(cat->items[i - 1].slug, cat->items[i].slug) == 0) {
      snprintf(err, errlen, "connectors: %s: slug %s appears twice", path, cat->items[i].slug);
      catalog_free(cat);
      return -EINVAL;
    }
  }
  return 0;
}

void catalog_free(catalog_t *cat) {
  free(cat->items);
  memset(cat, 0, sizeof *cat);
  cat->open = 1;
}

int catalog_lookup(const catalog_t *cat, const char *slug, catalog_connector *out) {
  catalog_connector key;
  const catalog_connector *found;
  if (!slug_ok(slug))
    return -ENOENT;
  if (cat->open) {
    memset(out, 0, sizeof *out);
    memcpy(out->slug, slug, strlen(slug) + 1);
    memcpy(out->name, slug, strlen(slug) + 1);
    out->auth = CATALOG_API_KEY;
    return 0;
  }
  memcpy(key.slug, slug, strlen(slug) + 1);
  found = bsearch(&key, cat->items, cat->count, sizeof *cat->items, by_slug);
  if (found == NULL)
    return -ENOENT;
  *out = *found;
  return 0;
}

const char *catalog_auth_name(catalog_auth a) {
  return a == CATALOG_OAUTH2 ? "oauth2" : "api_key";
}
