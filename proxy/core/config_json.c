/* config_json: JSON with comments, as the config file and the --routes /
 * --webhooks values hold it.
 *
 * JSON is checked first with yajl's event parser (syntax with line and
 * column, nesting depth of at most CONFIG_JSON_DEPTH, NUL in strings,
 * control characters in member names) and only then built into a yajl
 * tree, so that yajl_tree's recursive free never meets a deep document.
 * The caller walks the tree against the key table (config_sources.c,
 * config_routes.c, config_webhooks.c).
 */
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "config_int.h"

/* ---- JSON ---- */

/* State of the checking pass over a JSON text. */
typedef struct json_check {
  size_t depth;
  const char *why; /* set when a callback stopped the parse */
} json_check;

static int jc_open(void *ctx) {
  json_check *j = ctx;
  j->depth++;
  if (j->depth > CONFIG_JSON_DEPTH) {
    j->why = "nested too deeply";
    return 0;
  }
  return 1;
}

static int jc_close(void *ctx) {
  json_check *j = ctx;
  j->depth--;
  return 1;
}

static int jc_string(void *ctx, const unsigned char *s, size_t len) {
  json_check *j = ctx;
  if (memchr(s, '\0', len) != NULL) {
    j->why = "a string holds a NUL character";
    return 0;
  }
  return 1;
}

/* Member names are quoted in messages, which are one line: no key holds a
 * control character. */
static int jc_key(void *ctx, const unsigned char *s, size_t len) {
  json_check *j = ctx;
  size_t i;
  for (i = 0; i < len; i++) {
    if (s[i] < 0x20) {
      j->why = "a member name holds a control character";
      return 0;
    }
  }
  return 1;
}

static const yajl_callbacks json_check_callbacks = {
    NULL, NULL, NULL, NULL, NULL, jc_string, jc_open, jc_key, jc_close, jc_open, jc_close,
};

/* Checks text (NUL-terminated, len bytes) and builds its tree. Returns the
 * tree (the caller frees it with yajl_tree_free) or NULL with err set;
 * label names the text in messages. */
yajl_val config_parse_json(load_ctx *x, const char *text, size_t len, const char *label) {
  json_check j = {0, NULL};
  yajl_handle h = yajl_alloc(&json_check_callbacks, NULL, &j);
  yajl_status st;
  yajl_val tree;
  char ybuf[256];
  if (h == NULL) {
    config_fail_nomem(x);
    return NULL;
  }
  yajl_config(h, yajl_allow_comments, 1);
  st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  if (st != yajl_status_ok) {
    size_t at = yajl_get_bytes_consumed(h);
    size_t line = 1;
    size_t col = 1;
    size_t i;
    char why[160];
    if (at > len)
      at = len;
    for (i = 0; i < at; i++) {
      col = text[i] == '\n' ? 1 : col + 1;
      line += text[i] == '\n';
    }
    if (j.why != NULL) {
      snprintf(why, sizeof why, "%s", j.why);
    } else {
      unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
      snprintf(why, sizeof why, "%s", msg != NULL ? (const char *)msg : "parse error");
      why[strcspn(why, "\r\n")] = '\0';
      if (msg != NULL)
        yajl_free_error(h, msg);
    }
    yajl_free(h);
    config_fail(x, "%s: invalid JSON at line %zu, column %zu: %s", label, line, col, why);
    return NULL;
  }
  yajl_free(h);
  tree = yajl_tree_parse(text, ybuf, sizeof ybuf);
  if (tree == NULL) {
    ybuf[strcspn(ybuf, "\r\n")] = '\0';
    config_fail(x, "%s: invalid JSON: %s", label, ybuf);
  }
  return tree;
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
