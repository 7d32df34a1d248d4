/* json: depth-capped, strict parsing of untrusted JSON into a yajl tree.
 * See json.h. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

/* State of the checking pass. */
typedef struct json_check {
  size_t depth;
  size_t max_depth;
  unsigned flags;
  json_fault fault; /* set when a callback stopped the parse */
} json_check;

static int jc_open(void *ctx) {
  json_check *j = ctx;
  j->depth++;
  if (j->depth > j->max_depth) {
    j->fault = JSON_TOO_DEEP;
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
    j->fault = JSON_NUL;
    return 0;
  }
  return 1;
}

/* Member names are quoted in one-line messages by some callers. */
static int jc_key(void *ctx, const unsigned char *s, size_t len) {
  json_check *j = ctx;
  size_t i;
  if (!jc_string(ctx, s, len))
    return 0;
  for (i = 0; (j->flags & JSON_PLAIN_KEYS) != 0 && i < len; i++) {
    if (s[i] < 0x20) {
      j->fault = JSON_KEY_CONTROL;
      return 0;
    }
  }
  return 1;
}

static const yajl_callbacks check_callbacks = {
    NULL, NULL, NULL, NULL, NULL, jc_string, jc_open, jc_key, jc_close, jc_open, jc_close,
};

/* Fills err for a refusal at byte offset at of text. */
static void fail(json_error *err, json_fault fault, const char *text, size_t len, size_t at, const char *why) {
  static const char *const reasons[] = {"", "", "nested too deeply", "a string holds a NUL character",
                                        "a vertical tab or form feed, which is not JSON white space",
                                        "a member name holds a control character"};
  size_t i;
  if (err == NULL)
    return;
  err->fault = fault;
  err->line = 1;
  err->column = 1;
  if (at > len)
    at = len;
  for (i = 0; i < at; i++) {
    err->column = text[i] == '\n' ? 1 : err->column + 1;
    err->line += text[i] == '\n';
  }
  snprintf(err->text, sizeof err->text, "%s", why != NULL ? why : reasons[fault]);
  err->text[strcspn(err->text, "\r\n")] = '\0';
}

/* The offset of the first NUL, vertical tab or form feed in text, or len. */
static size_t first_bad_byte(const char *text, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    if (text[i] == '\0' || text[i] == '\v' || text[i] == '\f')
      return i;
  }
  return len;
}

int json_parse(const char *text, size_t len, size_t max_depth, unsigned flags, yajl_val *root, json_error *err) {
  json_check j;
  yajl_handle h;
  yajl_status st;
  char ybuf[128];
  size_t bad = first_bad_byte(text, len);
  *root = NULL;
  if (err != NULL)
    memset(err, 0, sizeof *err);
  if (bad < len) {
    fail(err, text[bad] == '\0' ? JSON_NUL : JSON_BAD_SPACE, text, len, bad, NULL);
    return -EINVAL;
  }
  memset(&j, 0, sizeof j);
  j.max_depth = max_depth == 0 || max_depth > JSON_DEPTH_MAX ? JSON_DEPTH_MAX : max_depth;
  j.flags = flags;
  h = yajl_alloc(&check_callbacks, NULL, &j);
  if (h == NULL)
    return -ENOMEM;
  if ((flags & JSON_COMMENTS) != 0)
    yajl_config(h, yajl_allow_comments, 1);
  st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  if (st != yajl_status_ok) {
    size_t at = yajl_get_bytes_consumed(h);
    if (j.fault != JSON_OK) {
      fail(err, j.fault, text, len, at, NULL);
    } else {
      unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
      fail(err, JSON_SYNTAX, text, len, at, msg != NULL ? (const char *)msg : "parse error");
      if (msg != NULL)
        yajl_free_error(h, msg);
    }
    yajl_free(h);
    return -EINVAL;
  }
  yajl_free(h);
  *root = yajl_tree_parse(text, ybuf, sizeof ybuf);
  return *root != NULL ? 0 : -ENOMEM; /* the checking pass accepted it: only memory can fail */
}
