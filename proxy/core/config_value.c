/* config_value: one value into its field of config_t (or of a route), and
 * the messages when it does not fit.
 *
 * config_set_value() takes a value as text (a default, a flag, a variable)
 * or as JSON (from the file), checks it against its row of the key table
 * (config_keys.c) with the checkers of config_text.c, and stores it; lists
 * (routes, webhooks, trusted CIDRs) go to their own files. A bad value
 * gets one line naming the key the way it was given, what it must be, and
 * what it was (quoted and cut, never for a secret).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "dynbuf.h"
#include "jsonw.h"

/* ---- messages ---- */

PRINTF_LIKE(2, 3)
int config_fail(load_ctx *x, const char *fmt, ...) {
  va_list ap;
  if (x->errlen == 0)
    return -EINVAL;
  va_start(ap, fmt);
  vsnprintf(x->err, x->errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

int config_fail_nomem(load_ctx *x) {
  config_fail(x, "config: out of memory");
  return -ENOMEM;
}

/* ---- rendering values in messages ---- */

/* ", got VALUE" for a message, into buf: strings quoted and escaped, at most
 * CONFIG_GOT_MAX bytes of them; "" for secrets. */
static void describe(const config_key *k, const cvalue *v, char *buf, size_t size) {
  dynbuf d;
  const char *what = NULL;
  size_t len;
  int cut;
  buf[0] = '\0';
  if (k->secret)
    return;
  if (v->json != NULL && !YAJL_IS_STRING(v->json)) {
    if (YAJL_IS_NUMBER(v->json))
      snprintf(buf, size, ", got %.40s", YAJL_GET_NUMBER(v->json));
    else if (YAJL_IS_OBJECT(v->json))
      what = "an object";
    else if (YAJL_IS_ARRAY(v->json))
      what = "an array";
    else if (YAJL_IS_TRUE(v->json))
      what = "true";
    else if (YAJL_IS_FALSE(v->json))
      what = "false";
    else
      what = "null";
    if (what != NULL)
      snprintf(buf, size, ", got %s", what);
    return;
  }
  if (v->text == NULL)
    return;
  len = strlen(v->text);
  cut = len > CONFIG_GOT_MAX;
  dynbuf_init(&d, CONFIG_GOT_MAX * 6 + 16);
  if (jsonw_string(&d, v->text, cut ? CONFIG_GOT_MAX : len) == 0) {
    if (cut)
      d.len--; /* the closing quote goes after the cut mark */
    snprintf(buf, size, ", got %.*s%s", (int)d.len, d.ptr, cut ? "...\"" : "");
  }
  dynbuf_free(&d);
}

/* What a valid value of k looks like, into buf ("a whole number from 1 to 64"). */
static void expected(const config_key *k, char *buf, size_t size) {
  size_t i;
  size_t n;
  switch (k->kind) {
  case K_INT:
  case K_UINT:
  case K_SIZE:
    snprintf(buf, size, "must be a whole number from %llu to %llu", k->min, k->max);
    return;
  case K_ENUM:
    n = (size_t)snprintf(buf, size, "must be one of");
    for (i = 0; k->words[i] != NULL && n < size; i++)
      n += (size_t)snprintf(buf + n, size - n, "%s %s", i ? "," : "", k->words[i]);
    return;
  case K_FORMAT:
    snprintf(buf, size, "must be one of %s", config_format_words);
    return;
  case K_STR:
    if (k->min > 0)
      snprintf(buf, size, "must be a string of %llu to %llu bytes", k->min, k->max);
    else
      snprintf(buf, size, "must be a string of at most %llu bytes", k->max);
    return;
  case K_ADDR:
    snprintf(buf, size, "must be IPV4:PORT or [IPV6]:PORT, such as 127.0.0.1:8080 or [::1]:8080");
    return;
  case K_URL:
    snprintf(buf, size, "must be an http://HOST[:PORT] URL, such as http://127.0.0.1:8000");
    return;
  case K_PUBURL:
    snprintf(buf, size,
             "must be empty or an absolute http:// or https:// URL without query or fragment");
    return;
  case K_HEADER:
    snprintf(buf, size, "must be an HTTP header name of %llu to %llu letters, digits or "
                        "!#$%%&'*+-.^_`|~", k->min, k->max);
    return;
  case K_PREFIX:
    snprintf(buf, size, "must start with \"/\" and hold no spaces, \"?\" or \"#\" "
                        "(at most %llu bytes)", k->max);
    return;
  case K_CIDRS:
    snprintf(buf, size, "must be addresses or CIDRs such as 10.0.0.0/8 or ::1/128, "
                        "with no bits set past the prefix");
    return;
  case K_ROUTES:
    snprintf(buf, size, "must be an array of route objects");
    return;
  case K_HOOKS:
    snprintf(buf, size, "must be an array of {url, secret, events} objects");
    return;
  case K_FILE:
  case K_SWITCH:
  default:
    snprintf(buf, size, "is not valid here");
    return;
  }
}

/* "WHO: REASON, got VALUE". reason NULL: what k expects. */
int config_bad_value(load_ctx *x, const config_key *k, const cvalue *v, const char *who,
                     const char *reason) {
  char exp[256];
  char got[CONFIG_GOT_MAX * 6 + 32];
  if (reason == NULL) {
    expected(k, exp, sizeof exp);
    reason = exp;
  }
  describe(k, v, got, sizeof got);
  return config_fail(x, "%s: %s%s", who, reason, got);
}

/* ---- setting one value ---- */

static void store_enum(void *field, int value) {
  memcpy(field, &value, sizeof value);
}

/* Replaces the string at field with a copy of s[0, len). */
int config_store_str(load_ctx *x, void *field, const char *s, size_t len) {
  char *copy = strndup(s, len);
  char *old;
  if (copy == NULL)
    return config_fail_nomem(x);
  memcpy(&old, field, sizeof old);
  free(old);
  memcpy(field, &copy, sizeof copy);
  return 0;
}

/* Sets the field of k in base (c, or a route of c) from v. who names the
 * key in messages, the way it was given. */
int config_set_value(load_ctx *x, config_t *c, void *base, const config_key *k, const cvalue *v,
                     const char *who) {
  char *field = (char *)base + k->off;
  const char *ok = NULL;
  const char *s = v->text;
  unsigned long long n;
  size_t i;
  int is_number = k->kind == K_INT || k->kind == K_UINT || k->kind == K_SIZE;

  if (k->kind == K_ROUTES)
    return config_routes_set(x, c, k, v, who);
  if (k->kind == K_CIDRS)
    return config_cidrs_set(x, c, k, v, who);
  if (k->kind == K_HOOKS)
    return config_webhooks_set(x, c, k, v, who);
  /* the rest take one scalar: a whole number, or a string */
  if (s == NULL || (is_number && v->json != NULL && v->is_string) || (!is_number && !v->is_string))
    return config_bad_value(x, k, v, who, NULL);

  switch (k->kind) {
  case K_INT:
  case K_UINT:
  case K_SIZE:
    if (config_parse_whole(s, &n) != 0 || n < k->min || n > k->max)
      return config_bad_value(x, k, v, who, NULL);
    if (k->kind == K_INT) {
      int iv = (int)n;
      memcpy(field, &iv, sizeof iv);
    } else if (k->kind == K_UINT) {
      unsigned uv = (unsigned)n;
      memcpy(field, &uv, sizeof uv);
    } else {
      size_t zv = (size_t)n;
      memcpy(field, &zv, sizeof zv);
    }
    return 0;
  case K_ENUM:
    for (i = 0; k->words[i] != NULL; i++) {
      if (strcmp(s, k->words[i]) == 0) {
        store_enum(field, (int)i);
        return 0;
      }
    }
    return config_bad_value(x, k, v, who, NULL);
  case K_FORMAT: {
    framer_format f;
    if (strcmp(s, "auto") == 0) {
      store_enum(field, CONFIG_FORMAT_AUTO);
      return 0;
    }
    if (framer_format_parse(s, &f) != 0)
      return config_bad_value(x, k, v, who, NULL);
    store_enum(field, (int)f);
    return 0;
  }
  case K_STR:
    if (strlen(s) < k->min || strlen(s) > k->max)
      return config_bad_value(x, k, v, who, NULL);
    return config_store_str(x, field, s, strlen(s));
  case K_ADDR:
    ok = config_parse_addr(s, NULL, NULL);
    break;
  case K_URL:
    ok = config_parse_url(s, NULL, NULL);
    break;
  case K_PUBURL:
    ok = config_check_public_url(s);
    if (config_verdict_ok(ok)) {
      size_t len = strlen(s);
      while (len > 0 && s[len - 1] == '/')
        len--;
      return config_store_str(x, field, s, len);
    }
    break;
  case K_HEADER:
    ok = config_check_header(k, s);
    break;
  case K_PREFIX:
    ok = config_check_prefix(k, s);
    break;
  case K_CIDRS:
  case K_ROUTES:
  case K_HOOKS:
  case K_FILE:
  case K_SWITCH:
  default:
    return config_bad_value(x, k, v, who, NULL);
  }
  if (!config_verdict_ok(ok))
    return config_bad_value(x, k, v, who, ok);
  return config_store_str(x, field, s, strlen(s));
}
