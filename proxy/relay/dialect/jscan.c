/* jscan: the objects of a JSON text with the members the dialects use.
 * See jscan.h.
 *
 * yajl's callbacks keep a stack of open containers; an object frame holds
 * the spans of its captured values in one arena, popped when the frame
 * closes, so memory follows the nesting, not the text's length.
 */
#include "jscan.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "dynbuf.h"

#define KEY_MAX 31 /* longer member names are never a parent key jscan reports */

enum { MEMBER_OTHER = -1 };

typedef struct span {
  uint32_t off;
  uint32_t len;
} span;

typedef struct jframe {
  int is_object;
  int member;          /* jscan_field of the member whose value comes next, or MEMBER_OTHER */
  int member_is_content; /* that member is "content" */
  unsigned flags;      /* JSCAN_HAS_* */
  unsigned have;       /* bit per captured field */
  size_t arena_mark;   /* arena length when the frame opened */
  span f[JSCAN_FIELD_COUNT];
  char key[KEY_MAX + 1]; /* last member name read, when short enough */
  int key_len;         /* -1: none or too long */
  char own_key[KEY_MAX + 1]; /* the parent's key for this frame */
  int own_key_len;     /* -1: none */
} jframe;

typedef struct jscan_state {
  size_t depth; /* open containers, may pass JSCAN_MAX_DEPTH */
  dynbuf arena;
  jscan_cb cb;
  void *ctx;
  int add_rc;  /* first dynbuf error (-E2BIG past JSCAN_ARENA_MAX, -ENOMEM) */
  jframe frames[JSCAN_MAX_DEPTH];
} jscan_state;

int jscan_is(jscan_str s, const char *lit) {
  return s.ptr != NULL && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static int key_is(const unsigned char *k, size_t len, const char *lit) {
  return len == strlen(lit) && memcmp(k, lit, len) == 0;
}

static int classify(const unsigned char *k, size_t len) {
  static const struct {
    const char *name;
    int field;
  } names[] = {
      {"type", JSCAN_TYPE},           {"id", JSCAN_ID},
      {"call_id", JSCAN_CALL_ID},     {"name", JSCAN_NAME},
      {"toolCallId", JSCAN_TOOL_CALL_ID}, {"tool_call_id", JSCAN_TOOL_CALL_ID},
      {"toolName", JSCAN_TOOL_NAME},  {"tool_name", JSCAN_TOOL_NAME},
      {"toolCallName", JSCAN_TOOL_NAME}, {"taskId", JSCAN_TASK_ID},
      {"contextId", JSCAN_CONTEXT_ID}, {"kind", JSCAN_KIND},
      {"object", JSCAN_OBJECT},       {"method", JSCAN_METHOD},
      {"jsonrpc", JSCAN_JSONRPC},
  };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (key_is(k, len, names[i].name))
      return names[i].field;
  }
  return MEMBER_OTHER;
}

/* The object frame a value goes into, or NULL (an array, too deep, top). */
static jframe *value_frame(jscan_state *st) {
  jframe *fr;
  if (st->depth == 0 || st->depth > JSCAN_MAX_DEPTH)
    return NULL;
  fr = &st->frames[st->depth - 1];
  return fr->is_object ? fr : NULL;
}

/* Keeps a member's value. Returns 1 when it was captured. */
static int capture(jscan_state *st, jframe *fr, int field, const char *s, size_t len) {
  size_t off = st->arena.len;
  int rc;
  if ((fr->have & (1u << field)) || len > JSCAN_VALUE_MAX)
    return 0; /* the first of duplicate members wins */
  rc = len > 0 ? dynbuf_add(&st->arena, s, len) : 0;
  if (rc != 0) {
    if (st->add_rc == 0)
      st->add_rc = rc;
    return 0;
  }
  fr->f[field].off = (uint32_t)off;
  fr->f[field].len = (uint32_t)len;
  fr->have |= 1u << field;
  return 1;
}

/* A scalar value was read: it belongs to the pending member, if any. */
static void scalar(jscan_state *st, const char *s, size_t len, int is_string, int is_number) {
  jframe *fr = value_frame(st);
  if (fr == NULL)
    return;
  if (fr->member != MEMBER_OTHER && (is_string || (is_number && fr->member == JSCAN_ID))) {
    if (capture(st, fr, fr->member, s, len) && is_number)
      fr->flags |= JSCAN_ID_IS_NUMBER;
  }
  fr->member = MEMBER_OTHER;
  fr->member_is_content = 0;
}

static int on_null(void *ctx) {
  scalar(ctx, NULL, 0, 0, 0);
  return 1;
}

static int on_boolean(void *ctx, int b) {
  (void)b;
  scalar(ctx, NULL, 0, 0, 0);
  return 1;
}

static int on_number(void *ctx, const char *s, size_t len) {
  scalar(ctx, s, len, 0, 1);
  return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
  scalar(ctx, (const char *)s, len, 1, 0);
  return 1;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t len) {
  jscan_state *st = ctx;
  jframe *fr = value_frame(st);
  if (fr == NULL)
    return 1;
  fr->member = classify(k, len);
  fr->member_is_content = key_is(k, len, "content");
  if (key_is(k, len, "result"))
    fr->flags |= JSCAN_HAS_RESULT;
  else if (key_is(k, len, "error"))
    fr->flags |= JSCAN_HAS_ERROR;
  else if (key_is(k, len, "params"))
    fr->flags |= JSCAN_HAS_PARAMS;
  if (len <= KEY_MAX) {
    memcpy(fr->key, k, len);
    fr->key[len] = '\0';
    fr->key_len = (int)len;
  } else {
    fr->key_len = -1;
  }
  return 1;
}

static int open_container(jscan_state *st, int is_object) {
  jframe *parent = value_frame(st);
  jframe *fr;
  st->depth++;
  if (st->depth > JSCAN_MAX_DEPTH)
    return 1;
  fr = &st->frames[st->depth - 1];
  fr->is_object = is_object;
  fr->member = MEMBER_OTHER;
  fr->member_is_content = 0;
  fr->flags = 0;
  fr->have = 0;
  fr->key_len = -1;
  fr->own_key_len = -1;
  fr->arena_mark = st->arena.len;
  if (parent != NULL) {
    if (!is_object && parent->member_is_content)
      parent->flags |= JSCAN_HAS_CONTENT_ARRAY;
    if (parent->key_len >= 0) {
      memcpy(fr->own_key, parent->key, (size_t)parent->key_len + 1);
      fr->own_key_len = parent->key_len;
    }
    parent->member = MEMBER_OTHER;
    parent->member_is_content = 0;
  }
  return 1;
}

static int on_start_map(void *ctx) {
  return open_container(ctx, 1);
}

static int on_start_array(void *ctx) {
  return open_container(ctx, 0);
}

/* Hands a closing object to the callback, and lifts function.name into the
 * parent's JSCAN_FUNCTION_NAME. */
static void report(jscan_state *st, jframe *fr) {
  jscan_obj obj;
  int i;
  memset(&obj, 0, sizeof obj);
  obj.depth = (unsigned)st->depth;
  if (fr->own_key_len >= 0) {
    obj.key.ptr = fr->own_key;
    obj.key.len = (size_t)fr->own_key_len;
  }
  for (i = 0; i < JSCAN_FIELD_COUNT; i++) {
    if (fr->have & (1u << i)) {
      obj.f[i].ptr = st->arena.ptr != NULL ? st->arena.ptr + fr->f[i].off : "";
      obj.f[i].len = fr->f[i].len;
    }
  }
  obj.flags = fr->flags;
  st->cb(st->ctx, &obj);
}

static int close_container(jscan_state *st) {
  jframe *fr = st->depth <= JSCAN_MAX_DEPTH ? &st->frames[st->depth - 1] : NULL;
  jframe *parent = st->depth >= 2 && st->depth - 1 <= JSCAN_MAX_DEPTH ? &st->frames[st->depth - 2] : NULL;
  span lifted = {0, 0};
  int lift = 0;
  if (fr != NULL && fr->is_object) {
    report(st, fr);
    if (parent != NULL && parent->is_object && fr->own_key_len == 8 &&
        memcmp(fr->own_key, "function", 8) == 0 && (fr->have & (1u << JSCAN_NAME)) &&
        !(parent->have & (1u << JSCAN_FUNCTION_NAME))) {
      lifted = fr->f[JSCAN_NAME];
      lift = 1;
    }
  }
  if (fr != NULL) {
    if (lift && lifted.len == 0) {
      parent->f[JSCAN_FUNCTION_NAME] = lifted; /* an empty name: nothing to move */
      parent->have |= 1u << JSCAN_FUNCTION_NAME;
      st->arena.len = fr->arena_mark;
    } else if (lift) {
      /* Keep the name: move it to where the frame's text began. */
      memmove(st->arena.ptr + fr->arena_mark, st->arena.ptr + lifted.off, lifted.len);
      parent->f[JSCAN_FUNCTION_NAME].off = (uint32_t)fr->arena_mark;
      parent->f[JSCAN_FUNCTION_NAME].len = lifted.len;
      parent->have |= 1u << JSCAN_FUNCTION_NAME;
      st->arena.len = fr->arena_mark + lifted.len;
    } else {
      st->arena.len = fr->arena_mark;
    }
  }
  st->depth--;
  return 1;
}

static int on_end_map(void *ctx) {
  return close_container(ctx);
}

static int on_end_array(void *ctx) {
  return close_container(ctx);
}

static const yajl_callbacks callbacks = {
    on_null, on_boolean, NULL, NULL, on_number, on_string,
    on_start_map, on_map_key, on_end_map, on_start_array, on_end_array,
};

int jscan_run(const char *text, size_t len, jscan_cb on_object, void *ctx) {
  jscan_state st; /* about 8 KiB: on the stack, nothing allocated but yajl's */
  yajl_handle h;
  int rc = 0;
  st.depth = 0;
  st.cb = on_object;
  st.ctx = ctx;
  st.add_rc = 0;
  dynbuf_init(&st.arena, JSCAN_ARENA_MAX);
  h = yajl_alloc(&callbacks, NULL, &st);
  if (h == NULL)
    return -ENOMEM;
  if (yajl_parse(h, (const unsigned char *)text, len) != yajl_status_ok ||
      yajl_complete_parse(h) != yajl_status_ok)
    rc = -EINVAL;
  if (rc == 0)
    rc = st.add_rc;
  yajl_free(h);
  dynbuf_free(&st.arena);
  return rc;
}
