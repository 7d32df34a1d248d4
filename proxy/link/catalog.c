/* catalog: the connector catalog file. See catalog.h.
 *
 * Parsed with yajl_tree (the file is the operator's, at most
 * CATALOG_FILE_MAX bytes, read once at start); URLs are checked with
 * libcurl's URL API. */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "url.h"

#define CATALOG_JSON_DEPTH 16 /* the file nests 3 deep; anything much deeper is refused */

/* The keys an entry may have. */
static const char *const entry_keys[] = {
    "slug", "name", "auth", "authorize_url", "token_url", "scopes",
    "token_auth", "authorize_params", "revocation_url", "refresh",
};
#define ENTRY_KEYS (sizeof entry_keys / sizeof entry_keys[0])
#define FIRST_OAUTH2_ONLY 6 /* entry_keys from here on are refused on api_key entries */

/* authorize_params names authrelay sets itself (compared ignoring case;
 * "code_challenge" stands for every name that begins with it). */
static const char *const reserved_params[] = {
    "response_type", "client_id", "client_secret", "redirect_uri", "state", "code_challenge",
};

/* 1 for an open catalog's slug (what a stream may name): 1 to
 * CATALOG_SLUG_MAX bytes of [a-z0-9_-]. */
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

/* 1 for a catalog file's slug, in the reference's style (google-drive): a
 * slug_ok() of [a-z0-9-] that does not begin or end with '-'. */
static int file_slug_ok(const char *s) {
  size_t n = strlen(s);
  return slug_ok(s) && strchr(s, '_') == NULL && s[0] != '-' && s[n - 1] != '-';
}

/* 1 when s is an absolute URL an endpoint may have (url_check's rules: a
 * host; no user info, fragment, spaces or control characters): https, or
 * http to a loopback address (a stand-in provider on this machine). */
static int endpoint_url_ok(const char *s) {
  return url_check(s, 0, URL_NO_FRAGMENT) == 0 && (url_is_https(s) || url_is_loopback(s));
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

/* Writes a printable copy of key (at most 40 bytes) into out. */
static void printable_key(const char *key, char *out, size_t cap) {
  size_t i;
  for (i = 0; key[i] != '\0' && i + 1 < cap && i < 40; i++)
    out[i] = (key[i] >= 0x20 && key[i] < 0x7f) ? key[i] : '?';
  out[i] = '\0';
}

/* Checks e's keys: known, none twice, and none of the oauth2 options on an
 * api_key entry (oauth2: 1 when it is an oauth2 entry). Returns NULL or why
 * not, with the key in keybuf. */
static const char *check_keys(yajl_val e, int oauth2, char *keybuf, size_t cap) {
  size_t i;
  size_t j;
  for (i = 0; i < YAJL_GET_OBJECT(e)->len; i++) {
    const char *key = YAJL_GET_OBJECT(e)->keys[i];
    size_t k = 0;
    while (k < ENTRY_KEYS && strcmp(key, entry_keys[k]) != 0)
      k++;
    printable_key(key, keybuf, cap);
    if (k == ENTRY_KEYS)
      return "unknown key (known: slug, name, auth, authorize_url, token_url, scopes, token_auth, "
             "authorize_params, revocation_url, refresh)";
    if (!oauth2 && k >= FIRST_OAUTH2_ONLY)
      return "is an option of oauth2 connectors only";
    for (j = 0; j < i; j++)
      if (strcmp(key, YAJL_GET_OBJECT(e)->keys[j]) == 0)
        return "appears twice";
  }
  keybuf[0] = '\0';
  return NULL;
}

int catalog_param_reserved(const char *name, int has_scopes) {
  size_t i;
  if (has_scopes && strcasecmp(name, "scope") == 0)
    return 1;
  for (i = 0; i < sizeof reserved_params / sizeof reserved_params[0]; i++) {
    size_t n = strlen(reserved_params[i]);
    if (strcmp(reserved_params[i], "code_challenge") == 0 ? strncasecmp(name, reserved_params[i], n) == 0
                                                          : strcasecmp(name, reserved_params[i]) == 0)
      return 1;
  }
  return 0;
}

static int param_name_ok(const char *s) {
  size_t n = strlen(s);
  size_t i;
  if (n == 0 || n > CATALOG_PARAM_NAME_MAX)
    return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_' || c == '~'))
      return 0;
  }
  return 1;
}

/* Reads the authorize_params object v into c (after c->scopes). Returns
 * NULL or why not, with the parameter's name in keybuf. */
static const char *parse_params(yajl_val v, catalog_connector *c, char *keybuf, size_t cap) {
  size_t i;
  size_t j;
  if (!YAJL_IS_OBJECT(v))
    return "authorize_params must be an object of string values";
  if (YAJL_GET_OBJECT(v)->len > CATALOG_PARAMS_MAX)
    return "authorize_params has more than 8 entries";
  for (i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
    const char *name = YAJL_GET_OBJECT(v)->keys[i];
    const char *value = YAJL_GET_STRING(YAJL_GET_OBJECT(v)->values[i]);
    catalog_param *p = &c->authorize_params[i];
    printable_key(name, keybuf, cap);
    if (!param_name_ok(name))
      return "authorize_params: a name must be 1-64 characters of [A-Za-z0-9._~-]";
    if (catalog_param_reserved(name, c->scopes[0] != '\0'))
      return "authorize_params: authrelay sets this parameter itself (response_type, client_id, "
             "client_secret, redirect_uri, state, code_challenge*, and scope when scopes is set)";
    for (j = 0; j < i; j++)
      if (strcmp(name, c->authorize_params[j].name) == 0)
        return "authorize_params: this name appears twice";
    if (value == NULL || strlen(value) > CATALOG_PARAM_VALUE_MAX)
      return "authorize_params: a value must be a string of at most 256 bytes";
    for (j = 0; value[j] != '\0'; j++)
      if ((unsigned char)value[j] < 0x20 || (unsigned char)value[j] == 0x7f)
        return "authorize_params: a value must not hold control characters";
    memcpy(p->name, name, strlen(name) + 1);
    memcpy(p->value, value, strlen(value) + 1);
    c->nauthorize_params = i + 1;
  }
  keybuf[0] = '\0';
  return NULL;
}

/* The oauth2 part of entry e into c. Returns NULL or why not. */
static const char *parse_oauth2(yajl_val e, catalog_connector *c, char *keybuf, size_t cap) {
  const char *params_path[] = {"authorize_params", NULL};
  const char *refresh_path[] = {"refresh", NULL};
  char token_auth[32];
  yajl_val v;
  int rc;
  c->auth = CATALOG_OAUTH2;
  c->refresh = 1;
  if (get_string(e, "authorize_url", c->authorize_url, sizeof c->authorize_url) != 1 ||
      !endpoint_url_ok(c->authorize_url))
    return "an oauth2 connector needs an authorize_url: https, or http to a loopback address";
  if (get_string(e, "token_url", c->token_url, sizeof c->token_url) != 1 || !endpoint_url_ok(c->token_url))
    return "an oauth2 connector needs a token_url: https, or http to a loopback address";
  if (get_string(e, "scopes", c->scopes, sizeof c->scopes) < 0)
    return "scopes must be a space-separated string";
  rc = get_string(e, "revocation_url", c->revocation_url, sizeof c->revocation_url);
  if (rc < 0 || (rc == 1 && !endpoint_url_ok(c->revocation_url)))
    return "revocation_url must be https, or http to a loopback address";
  rc = get_string(e, "token_auth", token_auth, sizeof token_auth);
  if (rc == 1 && strcmp(token_auth, "client_secret_basic") == 0)
    c->token_auth = CATALOG_SECRET_BASIC;
  else if (rc != 0 && (rc < 0 || strcmp(token_auth, "client_secret_post") != 0))
    return "token_auth must be \"client_secret_post\" or \"client_secret_basic\"";
  v = yajl_tree_get(e, refresh_path, yajl_t_any);
  if (v != NULL && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
    return "refresh must be true or false";
  if (v != NULL)
    c->refresh = YAJL_IS_TRUE(v);
  v = yajl_tree_get(e, params_path, yajl_t_any);
  return v != NULL ? parse_params(v, c, keybuf, cap) : NULL;
}

/* One entry of the "connectors" array into *c. */
static int parse_entry(yajl_val e, size_t i, catalog_connector *c, const char *path, char *err,
                       size_t errlen) {
  char auth[16];
  char key[48];
  const char *bad = NULL;
  memset(c, 0, sizeof *c);
  key[0] = '\0';
  if (!YAJL_IS_OBJECT(e))
    bad = "is not an object";
  else if (get_string(e, "slug", c->slug, sizeof c->slug) != 1 || !file_slug_ok(c->slug))
    bad = strchr(c->slug, '_') != NULL
              ? "slug: use hyphens, not underscores (lowercase letters, digits and hyphens, like google-drive)"
              : "slug must be 1-64 lowercase letters, digits and hyphens, like google-drive";
  else if (get_string(e, "name", c->name, sizeof c->name) < 0)
    bad = "name must be a string of at most 100 bytes";
  else if (get_string(e, "auth", auth, sizeof auth) != 1 ||
           (strcmp(auth, "api_key") != 0 && strcmp(auth, "oauth2") != 0))
    bad = "auth must be \"api_key\" or \"oauth2\"";
  else
    bad = check_keys(e, strcmp(auth, "oauth2") == 0, key, sizeof key);
  if (bad == NULL && c->name[0] == '\0')
    memcpy(c->name, c->slug, sizeof c->slug);
  if (bad == NULL && strcmp(auth, "oauth2") == 0)
    bad = parse_oauth2(e, c, key, sizeof key);
  if (bad != NULL) {
    snprintf(err, errlen, "connectors: %s: entry %zu%s%s: %s%s%s%s", path, i, c->slug[0] ? " " : "", c->slug,
             key[0] ? "\"" : "", key, key[0] ? "\": " : "", bad);
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
