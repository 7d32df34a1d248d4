/* config_json: JSON with comments, as the config file and the --routes /
 * --webhooks values hold it.
 *
 * JSON is checked and built into a yajl tree by core/json (syntax with
 * line and column, nesting depth of at most CONFIG_JSON_DEPTH, NUL in
 * strings, control characters in member names), so that yajl_tree's
 * recursive free never meets a deep document.
 * The caller walks the tree against the key table (config_sources.c,
 * config_routes.c, config_webhooks.c).
 */
#include <errno.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "config_int.h"
#include "json.h"

/* ---- JSON ---- */

/* Checks text (NUL-terminated, len bytes) and builds its tree (core/json:
 * comments allowed, nesting of at most CONFIG_JSON_DEPTH, no NUL, no
 * control character in member names). Returns the tree (the caller frees
 * it with yajl_tree_free) or NULL with err set; label names the text in
 * messages. */
yajl_val config_parse_json(load_ctx *x, const char *text, size_t len, const char *label) {
  json_error e;
  yajl_val tree;
  int rc = json_parse(text, len, CONFIG_JSON_DEPTH, JSON_COMMENTS | JSON_PLAIN_KEYS, &tree, &e);
  if (rc == -ENOMEM)
    config_fail_nomem(x);
  else if (rc != 0)
    config_fail(x, "%s: invalid JSON at line %zu, column %zu: %s", label, e.line, e.column, e.text);
  return rc == 0 ? tree : NULL;
}

/* A cvalue for a JSON value. */
cvalue config_json_value(yajl_val v) {
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
int config_duplicate_key(const char **keys, size_t i) {
  size_t j;
  for (j = 0; j < i; j++) {
    if (strcmp(keys[j], keys[i]) == 0)
      return 1;
  }
  return 0;
}
