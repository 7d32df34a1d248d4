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

#include "config_int.h"

/* ---- routes ---- */

static void route_free(config_route *r) {
  free(r->prefix);
  free(r->upstream);
  free(r->upstream_host);
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
