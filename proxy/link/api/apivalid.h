/* apivalid: the link API's one JSON body entry point and its validation
 * tables (DESIGN.md "Link service", "Operations": validation follows the
 * reference tables exactly).
 *
 * linkapi.c hands a request body to apivalid_parse(), the one depth-capped
 * JSON parse of the control API; the handler of its resource (api*.c)
 * checks the object against the table of its endpoint with
 * apivalid_check(). The tables (apivalid.c) are the
 * field tables of shared/reference/ typed as there: lengths in characters
 * (Unicode code points of well-formed UTF-8), not bytes; types, enums,
 * nullability and formats (uuid). Fields a table does not name are ignored,
 * as Django REST framework does. Checks that need the store or the catalog
 * (a connector of the catalog, an allowed origin) stay in the handlers.
 *
 * Errors keep the DRF shape, one message per field:
 *   {"connector_slug":["Ensure this field has no more than 255 characters."]}
 * collected in an apivalid_errors, where the handlers add their own too.
 */
#ifndef AUTHRELAY_APIVALID_H
#define AUTHRELAY_APIVALID_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "dynbuf.h"

#define APIVALID_DEPTH 16              /* nesting of arrays and objects in a body */
#define APIVALID_ERRORS_MAX (16 * 1024) /* bytes of one error body */
#define APIVALID_UTF8_MAX 4            /* bytes of one character: a string of n characters fits 4n + 1 */

/* What a field holds. */
typedef enum apivalid_kind {
  APIVALID_STRING = 0,   /* min..max characters; choices: an enum */
  APIVALID_BOOLEAN,
  APIVALID_INTEGER,      /* min..max as values */
  APIVALID_STRING_LIST,  /* min..max items, each a non-empty string (of choices, if any) */
  APIVALID_OBJECT,       /* sub: the table of its members */
  APIVALID_OBJECT_LIST,  /* a list of objects */
  APIVALID_LIST_MAP      /* an object whose values are lists of objects */
} apivalid_kind;

/* Field flags. */
enum {
  APIVALID_REQUIRED = 1 << 0, /* absent: "This field is required." */
  APIVALID_NULLABLE = 1 << 1, /* null is accepted (as if absent) */
  APIVALID_UUID = 1 << 2,     /* string: 8-4-4-4-12 hex digits */
  APIVALID_VISIBLE = 1 << 3,  /* string: visible ASCII only, 0x21-0x7e (an identity header value) */
  APIVALID_VSCHAR = 1 << 4,   /* string: RFC 6749 VSCHAR, 0x20-0x7e (OAuth state) */
  APIVALID_SLUG = 1 << 5      /* string: A-Z a-z 0-9 - _ only */
};

typedef struct apivalid_field apivalid_field;

/* One table: n fields. Static, never freed. */
typedef struct apivalid_table {
  const apivalid_field *fields;
  size_t n;
} apivalid_table;

/* One row of a table. */
struct apivalid_field {
  const char *name;
  apivalid_kind kind;
  unsigned flags;
  long long min;                 /* string: characters; integer: value; list: items */
  long long max;
  const char *const *choices;    /* NULL-terminated enum values, or NULL for any */
  const apivalid_table *sub;     /* APIVALID_OBJECT: its members' table */
};

/* The tables, one per endpoint body. */
extern const apivalid_table apivalid_user;            /* registered users (create; update partial) */
extern const apivalid_table apivalid_app_credential;  /* application credentials */
extern const apivalid_table apivalid_link_token;      /* registered-user link token (reference form) */
extern const apivalid_table apivalid_guide_link_token; /* the Link guide's form: "Connector", optional */
extern const apivalid_table apivalid_unified_link_token;
extern const apivalid_table apivalid_oauth_app;
extern const apivalid_table apivalid_callback_origin;

/* The unified API's categories, NULL-terminated (also the {category} of its path). */
extern const char *const apivalid_categories[];

/* Field errors being collected. */
typedef struct apivalid_errors {
  dynbuf json;  /* {"field":["msg"],... without the closing brace; owned */
  size_t count; /* fields with an error */
} apivalid_errors;

void apivalid_errors_init(apivalid_errors *e);
void apivalid_errors_free(apivalid_errors *e);

/* Records msg on field unless field has an error already (one per field).
 * field and msg are copied. Returns 0, or -E2BIG/-ENOMEM (the error is
 * lost, count still grows so the request is refused). */
int apivalid_error(apivalid_errors *e, const char *field, const char *msg);

/* 1 when field has an error, else 0. */
int apivalid_has_error(const apivalid_errors *e, const char *field);

/* Appends the error body "{...}\n" to out. Returns 0 or a dynbuf error. */
int apivalid_errors_render(const apivalid_errors *e, dynbuf *out);

/* Parses body[0, len) (NUL-terminated at body[len]) into *root: one JSON
 * object, nesting at most APIVALID_DEPTH, no NUL in a string or key, only
 * RFC 8259's white space (no vertical tab or form feed), UTF-8 as yajl
 * checks it. Returns 0 (the caller frees *root with
 * yajl_tree_free), -EINVAL with a one-line reason in err, or -ENOMEM. */
int apivalid_parse(const char *body, size_t len, yajl_val *root, char *err, size_t errlen);

/* Checks object root against table t. partial: an update, where no field is
 * required. Records an error per wrong field in e. Returns 0 when every
 * field is right, -EINVAL when one is not. */
int apivalid_check(yajl_val root, const apivalid_table *t, int partial, apivalid_errors *e);

/* The number of characters of the well-formed UTF-8 s[0, len), or -EILSEQ
 * when it is not well-formed. */
long apivalid_chars(const char *s, size_t len);

/* 1 when s is a UUID in 8-4-4-4-12 hex form, else 0. */
int apivalid_is_uuid(const char *s);

/* Accessors for a body that passed apivalid_check (values borrowed from root):
 * the string member name, or NULL when absent or null. */
const char *apivalid_string(yajl_val root, const char *name);
/* 1 or 0 for a boolean member; dflt when absent or null. */
int apivalid_bool(yajl_val root, const char *name, int dflt);
/* An integer member; dflt when absent or null. */
long long apivalid_integer(yajl_val root, const char *name, long long dflt);
/* The member (any type), or NULL when absent. */
yajl_val apivalid_member(yajl_val root, const char *name);

#endif
