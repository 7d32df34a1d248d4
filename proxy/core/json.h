/* json: the one entry point that turns untrusted JSON text into a yajl
 * tree (config files and values, link API request bodies, OAuth token
 * responses, the remote link service's answers, the connectors file).
 *
 * The text is checked first with yajl's event parser, which needs no
 * stack, and built into a tree only when it passed, so yajl_tree's
 * recursive build and free never meet a document nested deeper than the
 * caller's limit. The check also refuses what yajl would take but RFC 8259
 * does not, or what callers cannot hold: vertical tab and form feed as
 * white space, and NUL bytes (raw, or \u0000 in a string: values are read
 * as C strings).
 *
 * text is borrowed and must be NUL-terminated at len (yajl_tree_parse
 * reads a C string). The tree is the caller's: yajl_tree_free it.
 */
#ifndef AUTHRELAY_JSON_H
#define AUTHRELAY_JSON_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#define JSON_DEPTH_MAX 64 /* the deepest nesting any caller may allow */

/* json_parse flags */
#define JSON_COMMENTS 0x1u   /* allow / * * / and // comments (config files) */
#define JSON_PLAIN_KEYS 0x2u /* member names hold no control character */

/* Why a text was refused. */
typedef enum json_fault {
  JSON_OK = 0,
  JSON_SYNTAX,     /* not one JSON value (yajl's message in text) */
  JSON_TOO_DEEP,   /* arrays and objects nested past max_depth */
  JSON_NUL,        /* a NUL byte, raw or \u0000 */
  JSON_BAD_SPACE,  /* a vertical tab or form feed */
  JSON_KEY_CONTROL /* JSON_PLAIN_KEYS: a member name with a control character */
} json_fault;

typedef struct json_error {
  json_fault fault;
  size_t line;    /* where, from 1 (as far as the parser read) */
  size_t column;  /* from 1 */
  char text[160]; /* one line saying what is wrong, for messages */
} json_error;

/* Checks text[0, len) and builds its tree into *root. max_depth: 1 to
 * JSON_DEPTH_MAX (0 or more: JSON_DEPTH_MAX). Returns 0, -EINVAL (refused:
 * err says why and where; *root NULL) or -ENOMEM. err may be NULL. */
int json_parse(const char *text, size_t len, size_t max_depth, unsigned flags, yajl_val *root, json_error *err);

#endif
