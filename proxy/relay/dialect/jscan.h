/* jscan: reports the objects of one JSON text with the few string members
 * the dialect layer looks at (type, id, call_id, name, toolCallId, ...).
 *
 * The dialects (dialect.h) learn from a stream's events which tool call is
 * for which tool, and the JSON-RPC id, taskId and contextId notices reuse.
 * They need a handful of members of a handful of objects, never the whole
 * tree: jscan runs yajl over the text once and calls back as each object
 * closes, with those members' values (unescaped) and the name of the member
 * the object is the value of. Only events that passed a dialect's memmem
 * prefilter get here, so idle streams never pay for it.
 *
 * Bounded whatever the input: objects deeper than JSCAN_MAX_DEPTH are not
 * reported, a captured value longer than JSCAN_VALUE_MAX is dropped, and the
 * captured text of the open objects never exceeds JSCAN_ARENA_MAX. Malformed
 * JSON stops the scan (objects already closed were reported).
 */
#ifndef AUTHRELAY_JSCAN_H
#define AUTHRELAY_JSCAN_H

#include <stddef.h>

#define JSCAN_MAX_DEPTH 32    /* deeper objects are parsed but not reported */
#define JSCAN_VALUE_MAX 256   /* longer member values are not captured */
#define JSCAN_ARENA_MAX 65536 /* captured text of the open objects */

/* The members captured, each a string value (JSCAN_ID also a number, as its
 * JSON text). JSCAN_FUNCTION_NAME is the "name" of the object under member
 * "function" (OpenAI chat's tool_calls[].function.name), lifted up. */
typedef enum jscan_field {
  JSCAN_TYPE = 0,     /* "type" */
  JSCAN_ID,           /* "id" */
  JSCAN_CALL_ID,      /* "call_id" */
  JSCAN_NAME,         /* "name" */
  JSCAN_TOOL_CALL_ID, /* "toolCallId" or "tool_call_id" */
  JSCAN_TOOL_NAME,    /* "toolName", "tool_name" or "toolCallName" */
  JSCAN_TASK_ID,      /* "taskId" */
  JSCAN_CONTEXT_ID,   /* "contextId" */
  JSCAN_KIND,         /* "kind" */
  JSCAN_OBJECT,       /* "object" */
  JSCAN_METHOD,       /* "method" */
  JSCAN_JSONRPC,      /* "jsonrpc" */
  JSCAN_FUNCTION_NAME,
  JSCAN_FIELD_COUNT
} jscan_field;

/* Members of other types whose presence is reported (jscan_obj.flags). */
enum {
  JSCAN_HAS_RESULT = 1 << 0,        /* "result" */
  JSCAN_HAS_CONTENT_ARRAY = 1 << 1, /* "content" holding an array */
  JSCAN_HAS_ERROR = 1 << 2,         /* "error" */
  JSCAN_HAS_PARAMS = 1 << 3,        /* "params" */
  JSCAN_ID_IS_NUMBER = 1 << 4       /* the "id" captured is a number */
};

typedef struct jscan_str {
  const char *ptr; /* NULL when the member is absent (or too long); not NUL-terminated */
  size_t len;
} jscan_str;

/* One object, as it closes. Everything points into jscan's memory and is
 * valid only during the callback. */
typedef struct jscan_obj {
  unsigned depth;    /* 1: the top-level object */
  jscan_str key;     /* member of the parent this object is the value of
                        (ptr NULL: the top level or an array element) */
  jscan_str f[JSCAN_FIELD_COUNT];
  unsigned flags;    /* JSCAN_HAS_* */
} jscan_obj;

typedef void (*jscan_cb)(void *ctx, const jscan_obj *obj);

/* Scans text[0, len), calling on_object for every object (innermost first).
 * Returns 0, -EINVAL when the text is not valid JSON (or does not end
 * there), or -ENOMEM. */
int jscan_run(const char *text, size_t len, jscan_cb on_object, void *ctx);

/* 1 when s equals the C string lit. */
int jscan_is(jscan_str s, const char *lit);

#endif
