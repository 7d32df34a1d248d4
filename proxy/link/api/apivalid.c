/* apivalid: the link API's body parse and validation tables. See apivalid.h.
 *
 * A body is checked first with yajl's event parser (syntax, nesting depth,
 * NUL in strings and keys) and only then built into a tree, so that
 * yajl_tree's recursive parse and free never meet a deep document (the same
 * two passes as oauth2.c's token response). Strings are measured in code
 * points with utf8_sequence() (parser/utf8.h): a string that is not
 * well-formed UTF-8 (yajl lets a lone surrogate escape such as "\udc00"
 * through as bytes) is refused, so every accepted string is well-formed.
 */
#include "apivalid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "jsonw.h"
#include "utf8.h"

#define ITEM_MAX_CHARS 255 /* a list item with no enum */
#define LIST_MAX_ITEMS 64  /* lists of strings */
#define OBJECTS_MAX 1000   /* lists of objects, and members of a map of them */

/* ---- the tables (shared/reference/, field by field) ---- */

const char *const apivalid_categories[] = {"hris", "ats", "accounting", "ticketing", "crm", "mktg",
                                           "filestorage", "knowledgebase", "chat", NULL};

static const char *const user_types[] = {"HUMAN", "SYSTEM", NULL};
static const char *const languages[] = {"en", "de", NULL};
static const char *const initial_screens[] = {"SELECTIVE_SYNC", NULL};

#define TABLE(rows) {rows, sizeof rows / sizeof rows[0]}

/* Registered users: no reference page; authrelay's rules (README). The
 * origin_user_id is what a tool server sees in X-Registered-User-Id. */
static const apivalid_field group_fields[] = {
    {"origin_company_id", APIVALID_STRING, APIVALID_REQUIRED, 1, 255, NULL, NULL},
    {"origin_company_name", APIVALID_STRING, APIVALID_NULLABLE, 0, 255, NULL, NULL},
};
static const apivalid_table group_table = TABLE(group_fields);
static const apivalid_field user_fields[] = {
    {"origin_user_id", APIVALID_STRING, APIVALID_REQUIRED | APIVALID_VISIBLE, 1, 255, NULL, NULL},
    {"origin_user_name", APIVALID_STRING, APIVALID_REQUIRED, 1, 255, NULL, NULL},
    {"shared_credential_group", APIVALID_OBJECT, APIVALID_NULLABLE, 0, 0, NULL, &group_table},
    {"user_type", APIVALID_STRING, 0, 1, 6, user_types, NULL},
    {"is_test", APIVALID_BOOLEAN, 0, 0, 0, NULL, NULL},
};
const apivalid_table apivalid_user = TABLE(user_fields);

/* application-credentials.txt; external_id has no limit there: authrelay's
 * [A-Za-z0-9_-]{1,128} (README). is_global_default is authrelay's, writable. */
static const apivalid_field app_fields[] = {
    {"connector_slug", APIVALID_STRING, APIVALID_REQUIRED, 1, 255, NULL, NULL},
    {"client_id", APIVALID_STRING, APIVALID_REQUIRED, 1, 255, NULL, NULL},
    {"client_secret", APIVALID_STRING, APIVALID_NULLABLE, 0, 255, NULL, NULL},
    {"external_id", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_SLUG, 1, 128, NULL, NULL},
    {"is_global_default", APIVALID_BOOLEAN, 0, 0, 0, NULL, NULL},
};
const apivalid_table apivalid_app_credential = TABLE(app_fields);

/* registered-user-link-token.txt. No lengths there: connector is a catalog
 * slug (<= 255), callback_url an absolute URL (<= 2048, ASCII: checked by
 * url_origin), state an OAuth state (RFC 6749 VSCHAR, <= 255). */
static const apivalid_field link_fields[] = {
    {"connector", APIVALID_STRING, APIVALID_REQUIRED, 1, 255, NULL, NULL},
    {"external_id", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_SLUG, 1, 128, NULL, NULL},
    {"callback_url", APIVALID_STRING, APIVALID_NULLABLE, 1, 2048, NULL, NULL},
    {"state", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_VSCHAR, 1, 255, NULL, NULL},
};
const apivalid_table apivalid_link_token = TABLE(link_fields);

/* link-guide.txt: {"Connector": "slack"}; omitted, a picker link. */
static const apivalid_field guide_link_fields[] = {
    {"Connector", APIVALID_STRING, APIVALID_NULLABLE, 1, 255, NULL, NULL},
    {"external_id", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_SLUG, 1, 128, NULL, NULL},
    {"callback_url", APIVALID_STRING, APIVALID_NULLABLE, 1, 2048, NULL, NULL},
    {"state", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_VSCHAR, 1, 255, NULL, NULL},
};
const apivalid_table apivalid_guide_link_token = TABLE(guide_link_fields);

/* unified-link-token.txt, every row; DESIGN.md: integration 1-100. The
 * end_user_origin_id becomes the registered user's origin_user_id. */
static const apivalid_field unified_fields[] = {
    {"end_user_email_address", APIVALID_STRING, APIVALID_REQUIRED, 1, 100, NULL, NULL},
    {"end_user_organization_name", APIVALID_STRING, APIVALID_REQUIRED, 1, 100, NULL, NULL},
    {"end_user_origin_id", APIVALID_STRING, APIVALID_REQUIRED | APIVALID_VISIBLE, 1, 100, NULL, NULL},
    {"categories", APIVALID_STRING_LIST, APIVALID_REQUIRED, 1, LIST_MAX_ITEMS, apivalid_categories, NULL},
    {"integration", APIVALID_STRING, APIVALID_NULLABLE, 1, 100, NULL, NULL},
    {"link_expiry_mins", APIVALID_INTEGER, 0, 30, 10080, NULL, NULL},
    {"should_create_magic_link_url", APIVALID_BOOLEAN, APIVALID_NULLABLE, 0, 0, NULL, NULL},
    {"hide_admin_magic_link", APIVALID_BOOLEAN, APIVALID_NULLABLE, 0, 0, NULL, NULL},
    {"common_models", APIVALID_OBJECT_LIST, APIVALID_NULLABLE, 0, OBJECTS_MAX, NULL, NULL},
    {"category_common_model_scopes", APIVALID_LIST_MAP, APIVALID_NULLABLE, 0, OBJECTS_MAX, NULL, NULL},
    {"language", APIVALID_STRING, APIVALID_NULLABLE, 1, 2, languages, NULL},
    {"are_syncs_disabled", APIVALID_BOOLEAN, APIVALID_NULLABLE, 0, 0, NULL, NULL},
    {"integration_specific_config", APIVALID_OBJECT, APIVALID_NULLABLE, 0, 0, NULL, NULL},
    {"completed_account_initial_screen", APIVALID_STRING, APIVALID_NULLABLE, 1, 14, initial_screens, NULL},
    {"linked_destination_id", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_UUID, 0, 36, NULL, NULL},
    {"credential_id", APIVALID_STRING, APIVALID_NULLABLE | APIVALID_UUID, 0, 36, NULL, NULL},
};
const apivalid_table apivalid_unified_link_token = TABLE(unified_fields);

/* oauth-applications.txt; the scopes' names are checked by apioauth.c
 * against apicall.c's list, which owns them (and authrelay's extensions). */
static const apivalid_field oauth_app_fields[] = {
    {"name", APIVALID_STRING, APIVALID_REQUIRED, 1, 100, NULL, NULL},
    {"description", APIVALID_STRING, 0, 0, 500, NULL, NULL},
    {"redirectUri", APIVALID_STRING, 0, 1, 2048, NULL, NULL},
    {"scopes", APIVALID_STRING_LIST, APIVALID_REQUIRED, 1, LIST_MAX_ITEMS, NULL, NULL},
};
const apivalid_table apivalid_oauth_app = TABLE(oauth_app_fields);

/* authrelay's allowed callback origins (no reference page). */
static const apivalid_field origin_fields[] = {
    {"origin", APIVALID_STRING, APIVALID_REQUIRED, 1, 2048, NULL, NULL},
};
const apivalid_table apivalid_callback_origin = TABLE(origin_fields);

/* ---- errors ---- */

void apivalid_errors_init(apivalid_errors *e) {
  dynbuf_init(&e->json, APIVALID_ERRORS_MAX);
  e->count = 0;
}

void apivalid_errors_free(apivalid_errors *e) {
  dynbuf_free(&e->json);
  e->count = 0;
}

/* The key as it appears in the errors: "field":[ */
static int key_of(const char *field, dynbuf *out) {
  int rc = jsonw_cstring(out, field);
  if (rc == 0)
    rc = jsonw_raw(out, ":[");
  return rc;
}

int apivalid_has_error(const apivalid_errors *e, const char *field) {
  dynbuf key;
  int found = 0;
  dynbuf_init(&key, 1024);
  if (e->json.len > 0 && key_of(field, &key) == 0) {
    const char *p = e->json.ptr;
    const char *end = e->json.ptr + e->json.len;
    /* every key follows "{" or "," (messages hold no '"' unescaped) */
    while (p + key.len <= end) {
      if ((p[0] == '{' || p[0] == ',') && p + 1 + key.len <= end && memcmp(p + 1, key.ptr, key.len) == 0) {
        found = 1;
        break;
      }
      p++;
    }
  }
  dynbuf_free(&key);
  return found;
}

int apivalid_error(apivalid_errors *e, const char *field, const char *msg) {
  dynbuf one;
  int rc;
  if (apivalid_has_error(e, field))
    return 0;
  e->count++;
  dynbuf_init(&one, 4096);
  rc = jsonw_raw(&one, e->json.len == 0 ? "{" : ",");
  if (rc == 0)
    rc = key_of(field, &one);
  if (rc == 0)
    rc = jsonw_cstring(&one, msg);
  if (rc == 0)
    rc = jsonw_raw(&one, "]");
  if (rc == 0)
    rc = dynbuf_add(&e->json, one.ptr, one.len); /* whole or not at all */
  dynbuf_free(&one);
  return rc;
}

int apivalid_errors_render(const apivalid_errors *e, dynbuf *out) {
  int rc;
  if (e->json.len == 0)
    return jsonw_raw(out, "{}\n");
  rc = dynbuf_add(out, e->json.ptr, e->json.len);
  if (rc == 0)
    rc = jsonw_raw(out, "}\n");
  return rc;
}

/* ---- the parse ---- */

int apivalid_parse(const char *body, size_t len, yajl_val *root, char *err, size_t errlen) {
  json_error e;
  int rc = json_parse(body, len, APIVALID_DEPTH, 0, root, &e);
  const char *why = "JSON parse error: the body must be a JSON object.";
  if (rc == -ENOMEM)
    return rc;
  if (rc == 0 && YAJL_IS_OBJECT(*root))
    return 0;
  if (rc == 0) {
    yajl_tree_free(*root);
    *root = NULL;
  } else if (e.fault == JSON_NUL) {
    why = "JSON strings may not contain U+0000.";
  } else if (e.fault == JSON_BAD_SPACE) {
    /* yajl's lexer skips them as white space; RFC 8259 does not */
    why = "JSON parse error: vertical tab and form feed are not JSON white space.";
  } else if (e.fault == JSON_TOO_DEEP) {
    why = "JSON parse error: nested too deep.";
  }
  snprintf(err, errlen, "%s", why);
  return -EINVAL;
}

/* ---- the checks ---- */

long apivalid_chars(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  long n = 0;
  while (i < len) {
    size_t bad = 0;
    size_t step = p[i] < 0x80 ? 1 : utf8_sequence(p + i, len - i, &bad);
    if (step == 0)
      return -EILSEQ;
    i += step;
    n++;
  }
  return n;
}

static int is_hex(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

int apivalid_is_uuid(const char *s) {
  size_t i;
  for (i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i]))
      return 0;
  }
  return s[36] == '\0';
}

/* 1 when every byte of s is within lo..hi, else 0. */
static int bytes_within(const char *s, unsigned char lo, unsigned char hi) {
  for (; *s != '\0'; s++) {
    if ((unsigned char)*s < lo || (unsigned char)*s > hi)
      return 0;
  }
  return 1;
}

static int slug_chars(const char *s) {
  for (; *s != '\0'; s++) {
    char ch = *s;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
          ch == '_'))
      return 0;
  }
  return 1;
}

/* "Not a valid choice: use a, b or c." into msg. */
static void choice_message(const char *const *choices, char *msg, size_t cap) {
  size_t len = (size_t)snprintf(msg, cap, "Not a valid choice: use ");
  size_t i;
  for (i = 0; choices[i] != NULL && len < cap; i++) {
    const char *sep = i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ";
    len += (size_t)snprintf(msg + len, cap - len, "%s%s", sep, choices[i]);
  }
  if (len < cap)
    snprintf(msg + len, cap - len, ".");
}

static int in_choices(const char *const *choices, const char *s) {
  size_t i;
  for (i = 0; choices[i] != NULL; i++) {
    if (strcmp(choices[i], s) == 0)
      return 1;
  }
  return 0;
}

/* The message for a wrong string s, or NULL when it is right. */
static const char *string_problem(long long min, long long max, const char *const *choices,
                                  unsigned flags, const char *s, char *msg, size_t cap) {
  long n = apivalid_chars(s, strlen(s));
  if (n < 0)
    return "Not a valid string: it is not well-formed UTF-8.";
  if (n < min) {
    if (min == 1)
      return "This field may not be blank.";
    snprintf(msg, cap, "Ensure this field has at least %lld characters.", min);
    return msg;
  }
  if (n > max) {
    snprintf(msg, cap, "Ensure this field has no more than %lld characters.", max);
    return msg;
  }
  if ((flags & APIVALID_VISIBLE) && !bytes_within(s, 0x21, 0x7e))
    return "Use visible ASCII characters only (no spaces).";
  if ((flags & APIVALID_VSCHAR) && !bytes_within(s, 0x20, 0x7e))
    return "Use printable ASCII characters only.";
  if ((flags & APIVALID_SLUG) && !slug_chars(s))
    return "Use only letters, digits, hyphens and underscores.";
  if ((flags & APIVALID_UUID) && !apivalid_is_uuid(s))
    return "Must be a valid UUID.";
  if (choices != NULL && !in_choices(choices, s)) {
    choice_message(choices, msg, cap);
    return msg;
  }
  return NULL;
}

/* 1 when v is an array of n objects, n <= max. */
static int objects_list(yajl_val v, long long max) {
  size_t i;
  if (!YAJL_IS_ARRAY(v) || (long long)YAJL_GET_ARRAY(v)->len > max)
    return 0;
  for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
    if (!YAJL_IS_OBJECT(YAJL_GET_ARRAY(v)->values[i]))
      return 0;
  }
  return 1;
}

/* The message for a wrong list of strings, or NULL. */
static const char *list_problem(const apivalid_field *f, yajl_val v, char *msg, size_t cap) {
  size_t i;
  if (!YAJL_IS_ARRAY(v))
    return "Expected a list of items.";
  if ((long long)YAJL_GET_ARRAY(v)->len < f->min)
    return "This list may not be empty.";
  if ((long long)YAJL_GET_ARRAY(v)->len > f->max) {
    snprintf(msg, cap, "Ensure this field has no more than %lld elements.", f->max);
    return msg;
  }
  for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
    yajl_val item = YAJL_GET_ARRAY(v)->values[i];
    const char *why;
    if (!YAJL_IS_STRING(item))
      return "Each item must be a string.";
    why = string_problem(1, ITEM_MAX_CHARS, f->choices, 0, YAJL_GET_STRING(item), msg, cap);
    if (why != NULL)
      return why;
  }
  return NULL;
}

/* The message for a wrong value v (not null) of f, or NULL; nested tables
 * record their own errors in e. */
static const char *value_problem(const apivalid_field *f, yajl_val v, apivalid_errors *e, char *msg, size_t cap) {
  size_t i;
  switch (f->kind) {
  case APIVALID_STRING:
    if (!YAJL_IS_STRING(v))
      return "Not a valid string.";
    return string_problem(f->min, f->max, f->choices, f->flags, YAJL_GET_STRING(v), msg, cap);
  case APIVALID_BOOLEAN:
    return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v) ? NULL : "Must be a valid boolean.";
  case APIVALID_INTEGER:
    if (!YAJL_IS_INTEGER(v))
      return "A valid integer is required.";
    if (YAJL_GET_INTEGER(v) < f->min) {
      snprintf(msg, cap, "Ensure this value is greater than or equal to %lld.", f->min);
      return msg;
    }
    if (YAJL_GET_INTEGER(v) > f->max) {
      snprintf(msg, cap, "Ensure this value is less than or equal to %lld.", f->max);
      return msg;
    }
    return NULL;
  case APIVALID_STRING_LIST:
    return list_problem(f, v, msg, cap);
  case APIVALID_OBJECT:
    if (!YAJL_IS_OBJECT(v))
      return "Expected an object.";
    if (f->sub != NULL)
      (void)apivalid_check(v, f->sub, 0, e);
    return NULL;
  case APIVALID_OBJECT_LIST:
    return objects_list(v, f->max) ? NULL : "Expected a list of objects.";
  case APIVALID_LIST_MAP:
    if (!YAJL_IS_OBJECT(v) || (long long)YAJL_GET_OBJECT(v)->len > f->max)
      return "Expected an object whose values are lists of objects.";
    for (i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
      if (!objects_list(YAJL_GET_OBJECT(v)->values[i], f->max))
        return "Expected an object whose values are lists of objects.";
    }
    return NULL;
  }
  return "Unknown field kind.";
}

yajl_val apivalid_member(yajl_val root, const char *name) {
  const char *path[2] = {name, NULL};
  if (root == NULL || !YAJL_IS_OBJECT(root))
    return NULL;
  return yajl_tree_get(root, path, yajl_t_any);
}

int apivalid_check(yajl_val root, const apivalid_table *t, int partial, apivalid_errors *e) {
  size_t before = e->count;
  size_t i;
  for (i = 0; i < t->n; i++) {
    const apivalid_field *f = &t->fields[i];
    yajl_val v = apivalid_member(root, f->name);
    char msg[256];
    const char *why = NULL;
    if (v == NULL) {
      if ((f->flags & APIVALID_REQUIRED) && !partial)
        why = "This field is required.";
    } else if (YAJL_IS_NULL(v)) {
      if (!(f->flags & APIVALID_NULLABLE))
        why = "This field may not be null.";
    } else {
      why = value_problem(f, v, e, msg, sizeof msg);
    }
    if (why != NULL)
      (void)apivalid_error(e, f->name, why);
  }
  return e->count > before ? -EINVAL : 0;
}

/* ---- accessors ---- */

const char *apivalid_string(yajl_val root, const char *name) {
  yajl_val v = apivalid_member(root, name);
  return v != NULL && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

int apivalid_bool(yajl_val root, const char *name, int dflt) {
  yajl_val v = apivalid_member(root, name);
  if (v != NULL && YAJL_IS_TRUE(v))
    return 1;
  if (v != NULL && YAJL_IS_FALSE(v))
    return 0;
  return dflt;
}

long long apivalid_integer(yajl_val root, const char *name, long long dflt) {
  yajl_val v = apivalid_member(root, name);
  return v != NULL && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : dflt;
}
