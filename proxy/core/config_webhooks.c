/* config_webhooks: the "webhooks" list: {url, secret, events} objects from
 * the file or the JSON text of --webhooks / AUTHRELAY_WEBHOOKS, checked
 * (http(s) URLs, one webhook per URL, known event names) and stored.
 * Values are never quoted back in messages: secrets are among them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "url.h"

/* ---- webhooks ---- */

void config_webhooks_free(config_webhook *hooks, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    free(hooks[i].url);
    if (hooks[i].secret != NULL)
      memset(hooks[i].secret, 0, strlen(hooks[i].secret));
    free(hooks[i].secret);
  }
  free(hooks);
}

/* Fills h from webhooks[index] of a JSON document. Values are never quoted
 * back: a secret may be among them. */
static int webhook_from_json(load_ctx *x, config_webhook *h, yajl_val obj, size_t index, const char *who) {
  static const char *const names[] = {"link_token",          "auth_complete",        "link_expired",
                                      "link_declined",       "connection_created",   "connection_refreshed",
                                      "connection_broken",   "connection_deleted",   NULL}; /* bit i: names[i] */
  size_t i;
  int events_given = 0;
  if (!YAJL_IS_OBJECT(obj))
    return config_fail(x, "%s[%zu]: must be an object with url and secret", who, index);
  for (i = 0; i < obj->u.object.len; i++) {
    const char *name = obj->u.object.keys[i];
    yajl_val v = obj->u.object.values[i];
    const char *str = YAJL_GET_STRING(v);
    if (config_duplicate_key(obj->u.object.keys, i))
      return config_fail(x, "%s[%zu].%.40s: set twice", who, index, name);
    if (strcmp(name, "url") == 0) {
      if (str == NULL || url_check(str, URL_MAX, URL_NO_FRAGMENT) != 0)
        return config_fail(x, "%s[%zu].url: must be an http:// or https:// URL (at most 2048 "
                              "bytes, no fragment)", who, index);
      h->url = strdup(str);
      if (h->url == NULL)
        return config_fail_nomem(x);
    } else if (strcmp(name, "secret") == 0) {
      if (str == NULL || str[0] == '\0' || strlen(str) > 1024)
        return config_fail(x, "%s[%zu].secret: must be a string of 1 to 1024 bytes", who, index);
      h->secret = strdup(str);
      if (h->secret == NULL)
        return config_fail_nomem(x);
    } else if (strcmp(name, "events") == 0) {
      size_t j;
      events_given = 1;
      if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0)
        return config_fail(x, "%s[%zu].events: must be a non-empty array of link_token, "
                              "auth_complete, link_expired, link_declined, connection_*", who, index);
      for (j = 0; j < v->u.array.len; j++) {
        const char *ev = YAJL_GET_STRING(v->u.array.values[j]);
        size_t e;
        unsigned bit = 0;
        for (e = 0; ev != NULL && names[e] != NULL; e++) {
          if (strcmp(ev, names[e]) == 0)
            bit = 1u << e;
        }
        if (bit == 0)
          return config_fail(x, "%s[%zu].events[%zu]: must be link_token, auth_complete, link_expired, "
                                "link_declined, connection_created, connection_refreshed, "
                                "connection_broken or connection_deleted", who, index, j);
        h->events |= bit;
      }
    } else {
      return config_fail(x, "%s[%zu]: unknown key \"%.40s\"", who, index, name);
    }
  }
  if (h->url == NULL || h->secret == NULL)
    return config_fail(x, "%s[%zu]: missing \"%s\"", who, index, h->url == NULL ? "url" : "secret");
  if (!events_given)
    h->events = CONFIG_EVENT_ALL;
  return 0;
}

/* Replaces c's webhooks with those of a JSON array (or JSON text). */
int config_webhooks_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                        const char *who) {
  yajl_val tree = v->json;
  yajl_val owned = NULL;
  config_webhook *hooks;
  size_t n;
  size_t i;
  int rc = 0;
  if (tree == NULL) {
    if (v->text == NULL)
      return config_bad_value(x, k, v, who, NULL);
    owned = config_parse_json(x, v->text, strlen(v->text), who);
    if (owned == NULL)
      return -EINVAL;
    tree = owned;
  }
  if (!YAJL_IS_ARRAY(tree)) {
    yajl_tree_free(owned);
    return config_fail(x, "%s: must be an array of {url, secret, events} objects", who);
  }
  n = tree->u.array.len;
  if (n > CONFIG_WEBHOOKS_MAX) {
    yajl_tree_free(owned);
    return config_fail(x, "%s: more than %d webhooks", who, CONFIG_WEBHOOKS_MAX);
  }
  hooks = calloc(n > 0 ? n : 1, sizeof *hooks);
  if (hooks == NULL) {
    yajl_tree_free(owned);
    return config_fail_nomem(x);
  }
  for (i = 0; i < n && rc == 0; i++) {
    size_t j;
    rc = webhook_from_json(x, &hooks[i], tree->u.array.values[i], i, who);
    for (j = 0; j < i && rc == 0; j++) {
      if (strcmp(hooks[i].url, hooks[j].url) == 0)
        rc = config_fail(x, "%s[%zu].url: the same url as %s[%zu] (one webhook per url)", who, i,
                         who, j);
    }
  }
  yajl_tree_free(owned);
  if (rc != 0) {
    config_webhooks_free(hooks, n);
    return rc;
  }
  config_webhooks_free(c->webhooks, c->nwebhooks);
  c->webhooks = hooks;
  c->nwebhooks = n;
  return 0;
}
