/* test_json: proxy/core/json.c, the depth-capped JSON parse entry point.
 *
 * Covers: a document nested exactly max_depth deep is built and one level
 * more is refused (JSON_TOO_DEEP) without a tree; max_depth 0 means
 * JSON_DEPTH_MAX; vertical tab and form feed refused even where yajl takes
 * them as white space; NUL refused raw and as \u0000 (in values and keys);
 * comments only with JSON_COMMENTS; control characters in member names
 * only refused with JSON_PLAIN_KEYS; syntax errors with yajl's message and
 * the line and column; trailing text refused.
 */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "unit.h"

static int parse(const char *text, size_t depth, unsigned flags, json_error *e) {
  yajl_val root = NULL;
  int rc = json_parse(text, strlen(text), depth, flags, &root, e);
  if ((rc == 0) != (root != NULL))
    return -999; /* a tree exactly when it succeeded */
  yajl_tree_free(root);
  return rc;
}

/* n arrays nested: "[[[...]]]". */
static void nested(char *out, size_t n) {
  memset(out, '[', n);
  memset(out + n, ']', n);
  out[2 * n] = '\0';
}

static void depth(void) {
  char text[2 * (JSON_DEPTH_MAX + 2) + 1];
  json_error e;
  nested(text, 16);
  CHECK(parse(text, 16, 0, &e) == 0);
  nested(text, 17);
  CHECK(parse(text, 16, 0, &e) == -EINVAL && e.fault == JSON_TOO_DEEP);
  CHECK(strstr(e.text, "nested too deeply") != NULL);
  CHECK(parse("{\"a\":{\"b\":[1]}}", 3, 0, &e) == 0);
  CHECK(parse("{\"a\":{\"b\":[1]}}", 2, 0, &e) == -EINVAL && e.fault == JSON_TOO_DEEP);
  nested(text, JSON_DEPTH_MAX);
  CHECK(parse(text, 0, 0, &e) == 0);
  nested(text, JSON_DEPTH_MAX + 1);
  CHECK(parse(text, 0, 0, &e) == -EINVAL && e.fault == JSON_TOO_DEEP);
  CHECK(parse(text, 1000, 0, &e) == -EINVAL && e.fault == JSON_TOO_DEEP); /* capped at the max */
}

static void strict_bytes(void) {
  json_error e;
  yajl_val root = NULL;
  CHECK(parse("{\"a\":1}", 0, 0, &e) == 0);
  CHECK(parse("{\"a\":\v1}", 0, 0, &e) == -EINVAL && e.fault == JSON_BAD_SPACE);
  CHECK(parse("\f{\"a\":1}", 0, 0, &e) == -EINVAL && e.fault == JSON_BAD_SPACE);
  CHECK(e.line == 1 && e.column == 1);
  CHECK(parse("{\"a\":\"x\\u0000y\"}", 0, 0, &e) == -EINVAL && e.fault == JSON_NUL);
  CHECK(parse("{\"\\u0000\":1}", 0, 0, &e) == -EINVAL && e.fault == JSON_NUL);
  CHECK(json_parse("{\"a\":1}\0", 8, 0, 0, &root, &e) == -EINVAL && e.fault == JSON_NUL && root == NULL);
  CHECK(parse("{\"a\":1} x", 0, 0, &e) == -EINVAL && e.fault == JSON_SYNTAX);
  CHECK(parse("", 0, 0, &e) == -EINVAL);
  CHECK(json_parse("{\"a\":1}", 7, 0, 0, &root, NULL) == 0); /* err may be NULL */
  yajl_tree_free(root);
}

static void flags(void) {
  json_error e;
  const char *commented = "{\n  // a comment\n  \"a\": /* here */ 1\n}";
  CHECK(parse(commented, 0, 0, &e) == -EINVAL && e.fault == JSON_SYNTAX);
  CHECK(parse(commented, 0, JSON_COMMENTS, &e) == 0);
  CHECK(parse("{\"a\\tb\":1}", 0, 0, &e) == 0);
  CHECK(parse("{\"a\\tb\":1}", 0, JSON_PLAIN_KEYS, &e) == -EINVAL && e.fault == JSON_KEY_CONTROL);
  CHECK(parse("{\"a\":\"x\\ty\"}", 0, JSON_PLAIN_KEYS, &e) == 0); /* values may hold them */
}

static void where(void) {
  json_error e;
  CHECK(parse("{\n  \"a\": 1,\n  \"b\": tru\n}", 0, 0, &e) == -EINVAL && e.fault == JSON_SYNTAX);
  CHECK(e.line == 3);
  CHECK(e.text[0] != '\0' && strchr(e.text, '\n') == NULL);
}

int main(void) {
  RUN(depth);
  RUN(strict_bytes);
  RUN(flags);
  RUN(where);
  return unit_report();
}
