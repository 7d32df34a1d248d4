/* fuzz_linkapi: libFuzzer harness for the link API's request-body entry
 * point: apivalid_parse() (the one depth-capped JSON parse) and
 * apivalid_check() against the validation tables (proxy/link/api/apivalid.h).
 *
 * Input layout (corpus/fuzz_linkapi/ holds seeds):
 *   byte 0   bits 0-2  the table: user, app credential, link token, guide
 *                      link token, unified link token, OAuth app, callback
 *                      origin, (7: user again)
 *            bit 3     partial (an update: nothing required)
 *   rest     the request body
 *
 * Invariants (abort() on violation):
 *   - a parsed body is an object, nests at most APIVALID_DEPTH levels
 *     (counted again here, on the tree and on the raw bytes), and a refused
 *     one comes with a reason;
 *   - a body at most APIVALID_DEPTH deep that yajl accepts as an object
 *     without U+0000 is never refused for its depth;
 *   - the error body is one JSON object whose values are lists of exactly one
 *     string, one key per field, as many keys as errors counted;
 *   - a body that passes the check holds, for every field of the table (and
 *     of nested tables): the right type; strings of well-formed UTF-8
 *     (decoded here with a decoder of its own) within min..max code points,
 *     of the table's character set, uuid format and enum; integers within
 *     min..max; lists within their item counts, of strings or of objects;
 *     null only where the table allows it; required fields present;
 *   - the accessors return the values the check saw.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "apivalid.h"
#include "fuzz.h"

static const apivalid_table *const tables[8] = {
    &apivalid_user,   &apivalid_app_credential, &apivalid_link_token,     &apivalid_guide_link_token,
    &apivalid_unified_link_token, &apivalid_oauth_app, &apivalid_callback_origin, &apivalid_user};

/* Code points of s (strict UTF-8, decoded here independently), or -1. */
static long count_code_points(const unsigned char *s, size_t len) {
  size_t i = 0;
  long n = 0;
  while (i < len) {
    uint32_t cp;
    size_t need;
    size_t k;
    if (s[i] < 0x80) {
      i++;
      n++;
      continue;
    }
    if ((s[i] & 0xE0) == 0xC0) {
      need = 1;
      cp = s[i] & 0x1F;
    } else if ((s[i] & 0xF0) == 0xE0) {
      need = 2;
      cp = s[i] & 0x0F;
    } else if ((s[i] & 0xF8) == 0xF0) {
      need = 3;
      cp = s[i] & 0x07;
    } else {
      return -1;
    }
    if (i + need >= len)
      return -1; /* cut short */
    for (k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return -1;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
      return -1; /* overlong */
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return -1;
    i += need + 1;
    n++;
  }
  return n;
}

static int hexdigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The nesting depth of a tree (bounded by the parse's own cap + 1 here). */
static size_t tree_depth(yajl_val v) {
  size_t best = 0;
  size_t i;
  if (YAJL_IS_OBJECT(v)) {
    for (i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
      size_t d = tree_depth(YAJL_GET_OBJECT(v)->values[i]);
      if (d > best)
        best = d;
    }
    return best + 1;
  }
  if (YAJL_IS_ARRAY(v)) {
    for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
      size_t d = tree_depth(YAJL_GET_ARRAY(v)->values[i]);
      if (d > best)
        best = d;
    }
    return best + 1;
  }
  return 0;
}

/* The deepest nesting of [ and { outside strings in raw JSON text. */
static size_t raw_depth(const char *s, size_t len) {
  size_t depth = 0;
  size_t best = 0;
  size_t i;
  int in_string = 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      depth++;
      if (depth > best)
        best = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return best;
}

static void check_string(const apivalid_field *f, const char *s, long long min, long long max, unsigned flags,
                         const char *const *choices) {
  size_t len = strlen(s);
  long n = count_code_points((const unsigned char *)s, len);
  size_t i;
  if (n < 0)
    FUZZ_FAIL("an accepted string is not well-formed UTF-8");
  if (n < min || n > max)
    FUZZ_FAIL("an accepted string is outside its length in code points");
  if (apivalid_chars(s, len) != n)
    FUZZ_FAIL("apivalid_chars disagrees with the reference decoder");
  if (len > (size_t)max * APIVALID_UTF8_MAX)
    FUZZ_FAIL("an accepted string is longer than 4 bytes per character");
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((flags & APIVALID_VISIBLE) && (c < 0x21 || c > 0x7e))
      FUZZ_FAIL("a visible-ASCII field holds another byte");
    if ((flags & APIVALID_VSCHAR) && (c < 0x20 || c > 0x7e))
      FUZZ_FAIL("a VSCHAR field holds another byte");
    if ((flags & APIVALID_SLUG) && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                     c == '-' || c == '_'))
      FUZZ_FAIL("a slug field holds another byte");
  }
  if (flags & APIVALID_UUID) {
    if (len != 36)
      FUZZ_FAIL("an accepted uuid is not 36 bytes");
    for (i = 0; i < 36; i++) {
      int dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? s[i] != '-' : !hexdigit(s[i]))
        FUZZ_FAIL("an accepted uuid is malformed");
    }
  }
  if (choices != NULL) {
    for (i = 0; choices[i] != NULL; i++) {
      if (strcmp(choices[i], s) == 0)
        break;
    }
    if (choices[i] == NULL)
      FUZZ_FAIL("an accepted enum value is not one of the choices");
  }
  (void)f;
}

static void check_objects(yajl_val v, long long max) {
  size_t i;
  if (!YAJL_IS_ARRAY(v) || (long long)YAJL_GET_ARRAY(v)->len > max)
    FUZZ_FAIL("an accepted list of objects is not one");
  for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
    if (!YAJL_IS_OBJECT(YAJL_GET_ARRAY(v)->values[i]))
      FUZZ_FAIL("an item of an accepted list of objects is no object");
  }
}

/* Every field of t in the accepted object root. */
static void check_accepted(yajl_val root, const apivalid_table *t, int partial) {
  size_t i;
  size_t k;
  for (i = 0; i < t->n; i++) {
    const apivalid_field *f = &t->fields[i];
    yajl_val v = apivalid_member(root, f->name);
    if (v == NULL) {
      if ((f->flags & APIVALID_REQUIRED) && !partial)
        FUZZ_FAIL("a required field is absent from an accepted body");
      continue;
    }
    if (YAJL_IS_NULL(v)) {
      if (!(f->flags & APIVALID_NULLABLE))
        FUZZ_FAIL("a field that may not be null is null in an accepted body");
      if (apivalid_string(root, f->name) != NULL)
        FUZZ_FAIL("apivalid_string returns a value for null");
      continue;
    }
    switch (f->kind) {
    case APIVALID_STRING:
      if (!YAJL_IS_STRING(v))
        FUZZ_FAIL("an accepted string field holds another type");
      if (apivalid_string(root, f->name) != YAJL_GET_STRING(v))
        FUZZ_FAIL("apivalid_string returns another value");
      check_string(f, YAJL_GET_STRING(v), f->min, f->max, f->flags, f->choices);
      break;
    case APIVALID_BOOLEAN:
      if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        FUZZ_FAIL("an accepted boolean field holds another type");
      if (apivalid_bool(root, f->name, 7) != (YAJL_IS_TRUE(v) ? 1 : 0))
        FUZZ_FAIL("apivalid_bool returns another value");
      break;
    case APIVALID_INTEGER:
      if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < f->min || YAJL_GET_INTEGER(v) > f->max)
        FUZZ_FAIL("an accepted integer is outside its range");
      if (apivalid_integer(root, f->name, f->min - 1) != YAJL_GET_INTEGER(v))
        FUZZ_FAIL("apivalid_integer returns another value");
      break;
    case APIVALID_STRING_LIST:
      if (!YAJL_IS_ARRAY(v) || (long long)YAJL_GET_ARRAY(v)->len < f->min ||
          (long long)YAJL_GET_ARRAY(v)->len > f->max)
        FUZZ_FAIL("an accepted list is outside its item count");
      for (k = 0; k < YAJL_GET_ARRAY(v)->len; k++) {
        yajl_val item = YAJL_GET_ARRAY(v)->values[k];
        if (!YAJL_IS_STRING(item))
          FUZZ_FAIL("an item of an accepted list of strings is no string");
        check_string(f, YAJL_GET_STRING(item), 1, 255, 0, f->choices);
      }
      break;
    case APIVALID_OBJECT:
      if (!YAJL_IS_OBJECT(v))
        FUZZ_FAIL("an accepted object field holds another type");
      if (f->sub != NULL)
        check_accepted(v, f->sub, 0);
      break;
    case APIVALID_OBJECT_LIST:
      check_objects(v, f->max);
      break;
    case APIVALID_LIST_MAP:
      if (!YAJL_IS_OBJECT(v) || (long long)YAJL_GET_OBJECT(v)->len > f->max)
        FUZZ_FAIL("an accepted map is no object");
      for (k = 0; k < YAJL_GET_OBJECT(v)->len; k++)
        check_objects(YAJL_GET_OBJECT(v)->values[k], f->max);
      break;
    }
  }
}

/* The error body: {"field":["message"],...}\n, count keys, all distinct. */
static void check_error_body(const apivalid_errors *e) {
  dynbuf out;
  yajl_val root;
  char err[128];
  char *text;
  size_t i;
  size_t j;
  dynbuf_init(&out, APIVALID_ERRORS_MAX + 16);
  if (apivalid_errors_render(e, &out) != 0)
    FUZZ_FAIL("the error body cannot be rendered");
  if (out.len == 0 || out.ptr[out.len - 1] != '\n')
    FUZZ_FAIL("the error body does not end with a newline");
  text = malloc(out.len + 1);
  if (text == NULL)
    abort();
  memcpy(text, out.ptr, out.len);
  text[out.len] = '\0';
  if (count_code_points((const unsigned char *)text, out.len) < 0)
    FUZZ_FAIL("the error body is not UTF-8");
  root = yajl_tree_parse(text, err, sizeof err);
  if (root == NULL || !YAJL_IS_OBJECT(root))
    FUZZ_FAIL("the error body is not a JSON object");
  if (YAJL_GET_OBJECT(root)->len != e->count)
    FUZZ_FAIL("the error body does not have one key per error");
  for (i = 0; i < YAJL_GET_OBJECT(root)->len; i++) {
    yajl_val msgs = YAJL_GET_OBJECT(root)->values[i];
    if (!YAJL_IS_ARRAY(msgs) || YAJL_GET_ARRAY(msgs)->len != 1 || !YAJL_IS_STRING(YAJL_GET_ARRAY(msgs)->values[0]))
      FUZZ_FAIL("an error is not a list of one message");
    for (j = 0; j < i; j++) {
      if (strcmp(YAJL_GET_OBJECT(root)->keys[i], YAJL_GET_OBJECT(root)->keys[j]) == 0)
        FUZZ_FAIL("a field has two error entries");
    }
  }
  yajl_tree_free(root);
  free(text);
  dynbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const apivalid_table *t;
  int partial;
  char *body;
  size_t len;
  yajl_val root = NULL;
  char err[128];
  int rc;
  if (size < 1 || size > 65536)
    return 0;
  t = tables[data[0] & 7];
  partial = (data[0] >> 3) & 1;
  len = size - 1;
  body = malloc(len + 1);
  if (body == NULL)
    return 0;
  memcpy(body, data + 1, len);
  body[len] = '\0';
  err[0] = '\0';
  rc = apivalid_parse(body, len, &root, err, sizeof err);
  if (rc == 0) {
    apivalid_errors e;
    if (root == NULL || !YAJL_IS_OBJECT(root))
      FUZZ_FAIL("a parsed body is not an object");
    if (tree_depth(root) > APIVALID_DEPTH || raw_depth(body, len) > APIVALID_DEPTH)
      FUZZ_FAIL("a parsed body nests deeper than APIVALID_DEPTH");
    apivalid_errors_init(&e);
    rc = apivalid_check(root, t, partial, &e);
    if ((rc == 0) != (e.count == 0))
      FUZZ_FAIL("apivalid_check's result disagrees with its error count");
    if (rc == 0)
      check_accepted(root, t, partial);
    check_error_body(&e);
    apivalid_errors_free(&e);
    yajl_tree_free(root);
  } else {
    if (root != NULL)
      FUZZ_FAIL("a refused body left a tree");
    if (rc != -EINVAL && rc != -ENOMEM)
      FUZZ_FAIL("apivalid_parse returned an unexpected code");
    if (rc == -EINVAL && err[0] == '\0')
      FUZZ_FAIL("a refused body has no reason");
    if (strstr(err, "deep") != NULL && raw_depth(body, len) <= APIVALID_DEPTH)
      FUZZ_FAIL("a body within the depth cap was refused for its depth");
  }
  free(body);
  return 0;
}
