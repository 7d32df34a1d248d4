/* config_routes: the "routes" list: route objects read against
 * config_route_keys[] (from the file, or the JSON text of --routes /
 * AUTHRELAY_ROUTES; a later layer replaces the whole list), their defaults,
 * and config_route_match(), which picks a request's route.
 *
 * config_check.c adds route "/" from "upstream" and sorts the list
 * longest prefix first after the layers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

/* ---- routes ---- */

static void route_free(config_route *r) {
  free(r->prefix);
  free(r->upstream);
  free(r->upstream_host);
  free(r->credentials.connector);
  free(r->credentials.header);
  free(r->credentials.value);
  memset(r, 0, sizeof *r);
}

void config_routes_free(config_route *routes, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    route_free(&routes[i]);
  free(routes);
}

/* Sets the defaults of config_route_keys in r. */
int config_route_defaults(load_ctx *x, config_t *c, config_route *r) {
  size_t i;
  memset(r, 0, sizeof *r);
  r->on_detect_inherited = 1;
  for (i = 0; i < config_nroute_keys; i++) {
    const config_key *k = &config_route_keys[i];
    cvalue v = {k->def, 1, NULL};
    int rc;
    if (k->def == NULL)
      continue;
    rc = config_set_value(x, c, r, k, &v, "default of route");
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ---- credentials: {connector?, header, value} ---- */

/* Headers a route may not set: the framing and hop-by-hop ones (they
 * decide how the message is read, or are for the next hop only), and the
 * ones authrelay writes itself (identity, retry, forwarding). */
static const char *const cred_refused_headers[] = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
    "te", "trailer", "upgrade", "expect", "proxy-authenticate", "proxy-authorization",
    "x-registered-user-id", "x-registered-user-sig", "x-authrelay-retry", "x-forwarded-for",
    "x-forwarded-host", "x-forwarded-proto", "forwarded", "via", NULL};

static int cred_tchar(int ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

const char *config_credentials_problem(const char *connector, const char *header, const char *value) {
  const char *tok;
  size_t len;
  size_t i;
  if (header == NULL || value == NULL)
    return "needs header and value";
  len = strlen(header);
  if (len == 0 || len > CONFIG_CRED_HEADER_MAX)
    return "header must be a header name of 1 to 128 bytes";
  for (i = 0; i < len; i++) {
    if (!cred_tchar((unsigned char)header[i]))
      return "header must be a header name (letters, digits, !#$%&'*+-.^_`|~)";
  }
  for (i = 0; cred_refused_headers[i] != NULL; i++) {
    if (strcasecmp(header, cred_refused_headers[i]) == 0)
      return "header must not be a framing, hop-by-hop or identity header";
  }
  if (strncasecmp(header, "x-authrelay-", 12) == 0)
    return "header must not be one of authrelay's own (X-Authrelay-*)";
  len = strlen(value);
  if (len > CONFIG_CRED_VALUE_MAX)
    return "value must be at most 1024 bytes";
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)value[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return "value must not hold control characters (CR, LF, ...)";
  }
  tok = strstr(value, "{token}");
  if (tok == NULL || strstr(tok + 1, "{token}") != NULL)
    return "value must hold {token} exactly once";
  if (connector != NULL) {
    len = strlen(connector);
    if (len == 0 || len > CONFIG_CRED_SLUG_MAX)
      return "connector must be a slug of 1 to 64 bytes";
    for (i = 0; i < len; i++) {
      int ch = (unsigned char)connector[i];
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
        return "connector must be a slug (a-z, 0-9, - and _)";
    }
  }
  return NULL;
}

/* r->credentials from the JSON object obj ({connector?, header, value},
 * every member a string, nothing else). */
static int route_credentials(load_ctx *x, config_route *r, yajl_val obj, const char *who) {
  const char *got[3] = {NULL, NULL, NULL}; /* connector, header, value */
  static const char *const names[3] = {"connector", "header", "value"};
  char **fields[3];
  const char *problem;
  size_t i;
  size_t j;
  fields[0] = &r->credentials.connector;
  fields[1] = &r->credentials.header;
  fields[2] = &r->credentials.value;
  if (!YAJL_IS_OBJECT(obj))
    return config_fail(x, "%s: must be an object {connector?, header, value}", who);
  for (i = 0; i < obj->u.object.len; i++) {
    const char *name = obj->u.object.keys[i];
    yajl_val v = obj->u.object.values[i];
    for (j = 0; j < 3 && strcmp(name, names[j]) != 0; j++)
      ;
    if (j == 3)
      return config_fail(x, "%s: unknown member \"%.40s\"", who, name);
    if (got[j] != NULL)
      return config_fail(x, "%s.%s: set twice", who, names[j]);
    if (!YAJL_IS_STRING(v))
      return config_fail(x, "%s.%s: must be a string", who, names[j]);
    got[j] = YAJL_GET_STRING(v);
  }
  problem = config_credentials_problem(got[0], got[1], got[2]);
  if (problem != NULL)
    return config_fail(x, "%s: %s", who, problem); /* the value is never quoted back: it may be a secret's frame */
  for (j = 0; j < 3; j++) {
    free(*fields[j]);
    *fields[j] = NULL;
    if (got[j] != NULL) {
      int rc = config_store_str(x, fields[j], got[j], strlen(got[j]));
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

/* Fills r from routes[index] of a JSON document. */
static int route_from_json(load_ctx *x, config_t *c, config_route *r, yajl_val obj, size_t index,
                           const origin *o) {
  char who[CONFIG_WHO_MAX];
  size_t i;
  int rc = config_route_defaults(x, c, r);
  if (rc != 0)
    return rc;
  if (!YAJL_IS_OBJECT(obj)) {
    cvalue v = config_json_value(obj);
    static const config_key route_object = {"route", K_ROUTES, IN_FILE, 0, NULL, 0, 0, NULL,
                                            NULL, NULL, 0};
    snprintf(who, sizeof who, "%s: routes[%zu]", o->label, index);
    return config_bad_value(x, &route_object, &v, who,
                            "must be an object with prefix and upstream");
  }
  for (i = 0; i < obj->u.object.len; i++) {
    const char *name = obj->u.object.keys[i];
    const config_key *k = config_find_key(config_route_keys, config_nroute_keys, name, IN_FILE);
    cvalue v = config_json_value(obj->u.object.values[i]);
    if (strcmp(name, "credentials") == 0) {
      snprintf(who, sizeof who, "%s: routes[%zu].credentials", o->label, index);
      if (config_duplicate_key(obj->u.object.keys, i))
        return config_fail(x, "%s: set twice", who);
      rc = route_credentials(x, r, obj->u.object.values[i], who);
      if (rc != 0)
        return rc;
      continue;
    }
    if (k == NULL)
      return config_fail(x, "%s: unknown key \"routes[%zu].%.40s\"%s%s", o->label, index, name,
                         o->file != NULL ? " in " : "", o->file != NULL ? o->file : "");
    snprintf(who, sizeof who, "%s: routes[%zu].%s", o->label, index, name);
    if (config_duplicate_key(obj->u.object.keys, i))
      return config_fail(x, "%s: set twice", who);
    rc = config_set_value(x, c, r, k, &v, who);
    if (rc != 0)
      return rc;
    if (k->off == offsetof(config_route, on_detect))
      r->on_detect_inherited = 0;
  }
  if (r->prefix == NULL || r->upstream == NULL)
    return config_fail(x, "%s: routes[%zu]: missing \"%s\"", o->label, index,
                       r->prefix == NULL ? "prefix" : "upstream");
  /* An inband route talks to an agent server, not to a tool: the user's
   * credential would be handed to the agent. */
  if (r->credentials.header != NULL && r->mode != CONFIG_MODE_TOOL)
    return config_fail(x, "%s: routes[%zu].credentials: only on a route with mode: tool", o->label, index);
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
    cvalue v = config_json_value(arr);
    return config_bad_value(x, k, &v, who, NULL);
  }
  n = arr->u.array.len;
  if (n > CONFIG_ROUTES_MAX)
    return config_fail(x, "%s: more than %d routes", who, CONFIG_ROUTES_MAX);
  routes = calloc(n > 0 ? n : 1, sizeof *routes);
  if (routes == NULL)
    return config_fail_nomem(x);
  for (i = 0; i < n && rc == 0; i++)
    rc = route_from_json(x, c, &routes[i], arr->u.array.values[i], i, o);
  for (i = 0; i < n && rc == 0; i++) {
    for (j = 0; j < i && rc == 0; j++) {
      if (strcmp(routes[i].prefix, routes[j].prefix) == 0)
        rc = config_fail(x, "%s: routes[%zu].prefix: \"%.40s\" is also the prefix of routes[%zu]",
                         o->label, i, routes[i].prefix, j);
    }
  }
  if (rc != 0) {
    config_routes_free(routes, n);
    return rc;
  }
  config_routes_free(c->routes, c->nroutes);
  c->routes = routes;
  c->nroutes = n;
  return 0;
}

/* Routes given as text: a JSON array. */
static int routes_from_text(load_ctx *x, config_t *c, const config_key *k, const char *text,
                            const char *who) {
  origin o = {who, NULL};
  yajl_val tree = config_parse_json(x, text, strlen(text), who);
  int rc;
  if (tree == NULL)
    return -EINVAL;
  rc = routes_from_json(x, c, tree, &o, k, who);
  yajl_tree_free(tree);
  return rc;
}

/* Replaces c's routes with those of v: JSON from the file, else the text
 * of a flag or variable. */
int config_routes_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                      const char *who) {
  origin o = {"config", x->file};
  if (v->json == NULL)
    return routes_from_text(x, c, k, v->text, who);
  return routes_from_json(x, c, v->json, &o, k, who);
}

/* ---- matching a request ---- */

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
