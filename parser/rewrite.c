/* rewrite: the trusted link written into an auth-required event. See rewrite.h.
 *
 * yajl parses each JSON text: the payload, and a JSON-in-string exactly when
 * the detector would (same depth cap, prefilter, white space and validity
 * rules; see detect.c). Its callbacks keep a stack of open containers; an
 * object that closes auth-required turns the string values of its
 * link_token / magic_link_url / expires_at members into edits: a byte range
 * of that level's text, the field, and how many escape layers the new value
 * sits under.
 *
 * yajl reports decoded strings, not positions. The positions come from a
 * cursor: between two string tokens a valid JSON text holds only structure,
 * white space, numbers and literals, none of them a '"', so the next string
 * token begins at the first '"' after the previous one ended (keys included).
 *
 * The edits of a JSON-in-string are mapped into the raw bytes of the string
 * that holds it, escape by escape: unit_next() decodes one escape as yajl
 * does, and the walk checks that it reproduces yajl's text byte for byte (a
 * yajl that decoded differently gives -EINVAL, never a wrong position). Every
 * edit starts right after and ends right before a '"' of its level, and an
 * ASCII byte always comes from one whole escape, so edits fall on escape
 * boundaries and the bytes around them are copied as they were. The
 * payload's edits, sorted, are applied while copying it into the output.
 *
 * Cost: each level's text is parsed once by yajl and scanned once by the
 * cursor; a string holding edits is walked once more. Edits are sorted per
 * level. Memory: the edit and member arrays (capped), three small stacks.
 */
#include "rewrite.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "detect.h"
#include "jsontext.h"
#include "utf8.h"

enum field { FIELD_LINK_TOKEN = 0, FIELD_MAGIC_LINK_URL, FIELD_EXPIRES_AT, FIELD_MESSAGE, FIELD_COUNT };

#define LEVELS (DETECT_MAX_STRING_LEVELS + 1)
#define MAX_ESCAPES LEVELS /* a level-2 value is escaped three times in the payload */
/* An escaped character takes at most 8 bytes after three layers (\u001f,
 * \\u001f, \\\\u001f; '"' doubles each time). */
#define ENCODED_MAX (8 * (size_t)DETECT_FIELD_MAX + 1)

typedef struct edit {
  size_t start;    /* text[start, end) of the level is replaced */
  size_t end;
  uint8_t field;   /* enum field: whose new value goes there */
  uint8_t escapes; /* the new value escaped this many times */
  uint8_t dead;    /* inside a value its object's rewrite replaces whole */
} edit;

/* A string value of an open object's link_token, magic_link_url or
 * expires_at member (or message, when one is given): an edit if the object
 * turns out auth-required. */
typedef struct member_value {
  size_t start;        /* content, between the quotes */
  size_t end;
  uint8_t field;
  size_t nested_first; /* edits[nested_first, nested_end) came from inside it */
  size_t nested_end;
  size_t nested_found; /* auth-required objects inside it */
} member_value;

typedef struct frame {
  uint8_t is_object;
  uint8_t member;             /* enum member of the value that comes next */
  uint8_t type_is_meta;       /* a "type" member was the string "authenticate_meta" */
  uint8_t has_link_token;     /* a "link_token" member held a string */
  uint8_t has_magic_link_url; /* a "magic_link_url" member held a string */
  size_t values_mark;         /* member values held when the frame opened */
} frame;

struct rewrite_ctx;

/* One JSON text: the payload (number 0) or a string inside the level above. */
typedef struct level {
  struct rewrite_ctx *ctx;
  int number;
  const char *text; /* not owned: the payload, or yajl's decoded string */
  size_t len;
  size_t cursor;    /* every string token before text[cursor] was reported */
  size_t depth;     /* open containers, may pass DETECT_MAX_DEPTH */
  size_t found;     /* auth-required objects, nested levels included */
  dynbuf edits;     /* edit[], in the order found */
  dynbuf values;    /* member_value[] of the open objects */
  frame frames[DETECT_MAX_DEPTH];
} level;

typedef struct rewrite_ctx {
  level levels[LEVELS];
  int error;        /* negative errno that made a callback stop yajl, or 0 */
  int with_message; /* a message is given: message members are rewritten too */
} rewrite_ctx;

static int parse_text(level *lv, const char *text, size_t len);

/* ---- checks shared with the detector's rules ----------------------------- */

static int utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    size_t bad;
    size_t ok;
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    ok = utf8_sequence(p + i, len - i, &bad);
    if (ok == 0)
      return 0;
    i += ok;
  }
  return 1;
}

/* ---- arrays in dynbufs ---------------------------------------------------- */

static edit *edits_of(const level *lv) {
  return (edit *)lv->edits.ptr;
}

static size_t edit_count(const level *lv) {
  return lv->edits.len / sizeof(edit);
}

static member_value *values_of(const level *lv) {
  return (member_value *)lv->values.ptr;
}

static size_t value_count(const level *lv) {
  return lv->values.len / sizeof(member_value);
}

static int push_edit(level *lv, size_t start, size_t end, int field, int escapes) {
  edit e;
  e.start = start;
  e.end = end;
  e.field = (uint8_t)field;
  e.escapes = (uint8_t)escapes;
  e.dead = 0;
  return dynbuf_add(&lv->edits, &e, sizeof e);
}

/* ---- yajl callbacks -------------------------------------------------------- */

/* Stops yajl with err (a negative errno). */
static int stop(level *lv, int err) {
  if (lv->ctx->error == 0)
    lv->ctx->error = err;
  return 0;
}

/* The content of the string token yajl just reported: text[*start, *end). */
static int next_string_token(level *lv, size_t *start, size_t *end) {
  const char *t = lv->text;
  const char *quote = memchr(t + lv->cursor, '"', lv->len - lv->cursor);
  size_t i;
  if (quote == NULL)
    return -EINVAL;
  i = (size_t)(quote - t) + 1;
  *start = i;
  while (i < lv->len && t[i] != '"')
    i += t[i] == '\\' ? 2 : 1; /* yajl checked the escapes: none holds a '"' */
  if (i >= lv->len)
    return -EINVAL;
  *end = i;
  lv->cursor = i + 1;
  return 0;
}

static frame *current_frame(level *lv) {
  if (lv->depth == 0 || lv->depth > DETECT_MAX_DEPTH)
    return NULL;
  return &lv->frames[lv->depth - 1];
}

static int open_container(level *lv, int is_object) {
  lv->depth++;
  if (lv->depth <= DETECT_MAX_DEPTH) {
    frame *fr = &lv->frames[lv->depth - 1];
    fr->is_object = (uint8_t)is_object;
    fr->member = JSONTEXT_MEMBER_OTHER;
    fr->type_is_meta = 0;
    fr->has_link_token = 0;
    fr->has_magic_link_url = 0;
    fr->values_mark = value_count(lv);
  }
  return 1;
}

/* An object closes: if it is auth-required, its member values become edits,
 * replacing whatever was found inside them. */
static int close_container(level *lv) {
  frame *fr = current_frame(lv);
  if (fr != NULL) {
    if (fr->is_object &&
        (fr->type_is_meta || (fr->has_link_token && fr->has_magic_link_url))) {
      const member_value *mv = values_of(lv);
      size_t n = value_count(lv);
      size_t i;
      lv->found++;
      for (i = fr->values_mark; i < n; i++) {
        size_t j;
        int rc;
        for (j = mv[i].nested_first; j < mv[i].nested_end; j++)
          edits_of(lv)[j].dead = 1;
        lv->found -= mv[i].nested_found;
        rc = push_edit(lv, mv[i].start, mv[i].end, mv[i].field, 1);
        if (rc != 0)
          return stop(lv, rc);
      }
    }
    lv->values.len = fr->values_mark * sizeof(member_value);
  }
  lv->depth--;
  return 1;
}

static int on_start_map(void *ctx) {
  return open_container(ctx, 1);
}

static int on_start_array(void *ctx) {
  return open_container(ctx, 0);
}

static int on_end(void *ctx) {
  return close_container(ctx);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len) {
  level *lv = ctx;
  size_t start;
  size_t end;
  frame *fr;
  int rc = next_string_token(lv, &start, &end);
  if (rc != 0)
    return stop(lv, rc);
  fr = current_frame(lv);
  if (fr != NULL)
    fr->member = (uint8_t)jsontext_member_of(key, len);
  return 1;
}

/* The four hex digits of a \u escape. */
static int hex4(const char *s, unsigned long *cp) {
  int i;
  *cp = 0;
  for (i = 0; i < 4; i++) {
    char c = s[i];
    unsigned long digit;
    if (c >= '0' && c <= '9')
      digit = (unsigned long)(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = (unsigned long)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      digit = (unsigned long)(c - 'A' + 10);
    else
      return -EINVAL;
    *cp = *cp << 4 | digit;
  }
  return 0;
}

/* Decodes the escape or byte at raw[*i] as yajl_string_decode() does; puts
 * its bytes in out and their count in *out_len and advances *i. Returns 0, or
 * -EINVAL on an escape yajl's lexer would not have let through. */
static int unit_next(const char *raw, size_t n, size_t *i, char out[4], size_t *out_len) {
  static const char simple_from[] = "rn\\/\"fbt";
  static const char simple_to[] = "\r\n\\/\"\f\b\t";
  const char *hit;
  unsigned long cp;
  size_t at = *i;
  if (raw[at] != '\\') {
    out[0] = raw[at];
    *out_len = 1;
    *i = at + 1;
    return 0;
  }
  if (at + 1 >= n)
    return -EINVAL;
  if (raw[at + 1] != 'u') {
    hit = strchr(simple_from, raw[at + 1]);
    if (hit == NULL || *hit == '\0')
      return -EINVAL;
    out[0] = simple_to[hit - simple_from];
    *out_len = 1;
    *i = at + 2;
    return 0;
  }
  if (at + 6 > n || hex4(raw + at + 2, &cp) != 0)
    return -EINVAL;
  *i = at + 6;
  if ((cp & 0xFC00) == 0xD800) {
    /* yajl pairs a high surrogate with whatever \u escape follows, by this
     * formula; alone, it becomes '?'. */
    unsigned long low;
    if (at + 12 > n || raw[at + 6] != '\\' || raw[at + 7] != 'u') {
      out[0] = '?';
      *out_len = 1;
      return 0;
    }
    if (hex4(raw + at + 8, &low) != 0)
      return -EINVAL;
    cp = ((cp & 0x3F) << 10) | ((((cp >> 6) & 0xF) + 1) << 16) | (low & 0x3FF);
    *i = at + 12;
  }
  if (cp < 0x80) {
    out[0] = (char)cp;
    *out_len = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    *out_len = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    *out_len = 3;
  } else {
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    *out_len = 4;
  }
  return 0;
}

/* Walks the raw string content raw[0, n) one escape at a time, checking that
 * it decodes to text[0, len), while *decoded is below target. */
static int walk_to(const char *raw, size_t n, size_t *i, const char *text, size_t len,
                   size_t *decoded, size_t target) {
  while (*decoded < target) {
    char out[4];
    size_t out_len;
    int rc;
    if (*i >= n)
      return -EINVAL;
    rc = unit_next(raw, n, i, out, &out_len);
    if (rc != 0)
      return rc;
    if (out_len > len - *decoded || memcmp(out, text + *decoded, out_len) != 0)
      return -EINVAL; /* not the text yajl decoded */
    *decoded += out_len;
  }
  return *decoded == target ? 0 : -EINVAL; /* target inside an escape */
}

/* Maps the (sorted, live) edits of inner, the JSON-in-string whose raw
 * content is lv->text[start, end), into edits of lv, one escape layer more. */
static int map_edits(level *lv, const level *inner, size_t start, size_t end) {
  const char *raw = lv->text + start;
  size_t n = end - start;
  size_t i = 0;
  size_t decoded = 0;
  size_t k;
  int rc = 0;
  for (k = 0; rc == 0 && k < edit_count(inner); k++) {
    const edit *e = &edits_of(inner)[k];
    size_t raw_start;
    rc = walk_to(raw, n, &i, inner->text, inner->len, &decoded, e->start);
    raw_start = i;
    if (rc == 0)
      rc = walk_to(raw, n, &i, inner->text, inner->len, &decoded, e->end);
    if (rc == 0)
      rc = push_edit(lv, start + raw_start, start + i, e->field, e->escapes + 1);
  }
  if (rc == 0)
    rc = walk_to(raw, n, &i, inner->text, inner->len, &decoded, inner->len);
  if (rc == 0 && i != n)
    rc = -EINVAL;
  return rc;
}

/* A string value that is a JSON text by the detector's rules is parsed as the
 * next level; what is rewritten in it becomes edits here. value_index is
 * the member value it is, or (size_t)-1. */
static int look_inside(level *lv, const unsigned char *s, size_t len, size_t start, size_t end,
                       size_t value_index) {
  rewrite_ctx *ctx = lv->ctx;
  level *inner;
  size_t first;
  int rc;
  if (lv->number >= DETECT_MAX_STRING_LEVELS)
    return 1;
  if (!jsontext_looks_like_container((const char *)s, len) ||
      !detect_prefilter((const char *)s, len) || jsontext_has_vt_or_ff((const char *)s, len))
    return 1;
  inner = &ctx->levels[lv->number + 1];
  rc = parse_text(inner, (const char *)s, len);
  if (rc < 0)
    return stop(lv, rc);
  if (rc > 0 || inner->found == 0)
    return 1; /* not JSON, or nothing in it */
  first = edit_count(lv);
  rc = map_edits(lv, inner, start, end);
  if (rc != 0)
    return stop(lv, rc);
  lv->found += inner->found;
  if (value_index != (size_t)-1) {
    member_value *mv = &values_of(lv)[value_index];
    mv->nested_first = first;
    mv->nested_end = edit_count(lv);
    mv->nested_found = inner->found;
  }
  return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
  level *lv = ctx;
  size_t start;
  size_t end;
  size_t value_index = (size_t)-1;
  frame *fr;
  int field = -1;
  int rc = next_string_token(lv, &start, &end);
  if (rc != 0)
    return stop(lv, rc);
  if (lv->depth > DETECT_MAX_DEPTH)
    return 1; /* too deep for the detector: left alone */
  fr = current_frame(lv);
  if (fr != NULL && fr->is_object) {
    switch ((enum jsontext_member)fr->member) {
    case JSONTEXT_MEMBER_TYPE:
      if (jsontext_is(s, len, "authenticate_meta"))
        fr->type_is_meta = 1;
      break;
    case JSONTEXT_MEMBER_LINK_TOKEN:
      fr->has_link_token = 1;
      field = FIELD_LINK_TOKEN;
      break;
    case JSONTEXT_MEMBER_MAGIC_LINK_URL:
      fr->has_magic_link_url = 1;
      field = FIELD_MAGIC_LINK_URL;
      break;
    case JSONTEXT_MEMBER_EXPIRES_AT:
      field = FIELD_EXPIRES_AT;
      break;
    case JSONTEXT_MEMBER_MESSAGE:
      if (lv->ctx->with_message)
        field = FIELD_MESSAGE;
      break;
    default: /* the other members the detector reads: kept as they are */
      break;
    }
  }
  if (field >= 0) {
    member_value mv;
    mv.start = start;
    mv.end = end;
    mv.field = (uint8_t)field;
    mv.nested_first = mv.nested_end = mv.nested_found = 0;
    value_index = value_count(lv);
    rc = dynbuf_add(&lv->values, &mv, sizeof mv);
    if (rc != 0)
      return stop(lv, rc);
  }
  return look_inside(lv, s, len, start, end, value_index);
}

/* Numbers are never converted (as in the detector). */
static int on_number(void *ctx, const char *s, size_t len) {
  (void)ctx;
  (void)s;
  (void)len;
  return 1;
}

static const yajl_callbacks rewrite_callbacks = {
    NULL,           /* null */
    NULL,           /* boolean */
    NULL,           /* integer: on_number takes every number */
    NULL,           /* double */
    on_number,      /* number */
    on_string,      /* string */
    on_start_map,   /* start_map */
    on_map_key,     /* map_key */
    on_end,         /* end_map */
    on_start_array, /* start_array */
    on_end,         /* end_array */
};

/* ---- levels ---------------------------------------------------------------- */

static int by_start(const void *a, const void *b) {
  const edit *x = a;
  const edit *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Drops the dead edits and sorts the rest by position; they never overlap. */
static int settle_edits(level *lv) {
  edit *e = edits_of(lv);
  size_t n = edit_count(lv);
  size_t kept = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    if (!e[i].dead)
      e[kept++] = e[i];
  }
  lv->edits.len = kept * sizeof(edit);
  if (kept > 1)
    qsort(e, kept, sizeof(edit), by_start);
  for (i = 1; i < kept; i++) {
    if (e[i].start < e[i - 1].end)
      return -EINVAL;
  }
  return 0;
}

/* Parses text as level lv. Returns 0 when it is valid JSON (lv->found and
 * lv->edits then say what to rewrite), 1 when it is not, or a negative
 * errno. */
static int parse_text(level *lv, const char *text, size_t len) {
  rewrite_ctx *ctx = lv->ctx;
  yajl_handle yajl;
  int ok;
  lv->text = text;
  lv->len = len;
  lv->cursor = 0;
  lv->depth = 0;
  lv->found = 0;
  lv->edits.len = 0;
  lv->values.len = 0;
  yajl = yajl_alloc(&rewrite_callbacks, NULL, lv);
  if (yajl == NULL)
    return -ENOMEM;
  ok = yajl_parse(yajl, (const unsigned char *)text, len) == yajl_status_ok &&
       yajl_complete_parse(yajl) == yajl_status_ok;
  yajl_free(yajl);
  if (ctx->error != 0)
    return ctx->error;
  if (!ok)
    return 1;
  return settle_edits(lv);
}

/* ---- output ---------------------------------------------------------------- */

/* Appends s[0, len) escaped as the content of a JSON string. */
static int escape_into(dynbuf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0; /* bytes before p[i] to copy as they are */
  size_t i = 0;
  int rc = 0;
  if (len == 0)
    return 0; /* s may be NULL: an empty buffer never allocated */
  while (rc == 0 && i < len) {
    unsigned char c = p[i];
    char esc[8];
    size_t esc_len = 2;
    size_t step = 1;
    if (c == 0xE2 && i + 2 < len && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
      memcpy(esc, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
      esc_len = 6;
      step = 3;
    } else if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
      i++;
      run++;
      continue;
    } else if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
    } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      esc[0] = '\\';
      esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
    } else {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 0xF];
      esc_len = 6;
    }
    rc = dynbuf_add(out, p + i - run, run);
    if (rc == 0)
      rc = dynbuf_add(out, esc, esc_len);
    run = 0;
    i += step;
  }
  if (rc == 0)
    rc = dynbuf_add(out, p + i - run, run);
  return rc;
}

static int check_value(const char *s, size_t len) {
  if (s == NULL || len > DETECT_FIELD_MAX || !utf8_valid(s, len) ||
      jsontext_looks_like_container(s, len))
    return -EINVAL;
  return 0;
}

/* Copies the payload with the edits of level 0 applied. encoded[f][k] is the
 * new value of field f escaped k times. */
static int write_output(const level *lv, const char *in, size_t len,
                        dynbuf encoded[FIELD_COUNT][MAX_ESCAPES + 1], dynbuf *out) {
  const edit *e = edits_of(lv);
  size_t n = edit_count(lv);
  size_t at = 0;
  size_t k;
  int rc = 0;
  for (k = 0; rc == 0 && k < n; k++) {
    const dynbuf *value = &encoded[e[k].field][e[k].escapes];
    rc = dynbuf_add(out, in + at, e[k].start - at);
    if (rc == 0)
      rc = dynbuf_add(out, value->ptr, value->len);
    at = e[k].end;
  }
  if (rc == 0)
    rc = dynbuf_add(out, in + at, len - at);
  return rc;
}

static int encode_values(const rewrite_values *v, dynbuf encoded[FIELD_COUNT][MAX_ESCAPES + 1]) {
  const char *value[FIELD_COUNT];
  size_t value_len[FIELD_COUNT];
  int f;
  int k;
  int rc = 0;
  value[FIELD_LINK_TOKEN] = v->link_token;
  value_len[FIELD_LINK_TOKEN] = v->link_token_len;
  value[FIELD_MAGIC_LINK_URL] = v->magic_link_url;
  value_len[FIELD_MAGIC_LINK_URL] = v->magic_link_url_len;
  value[FIELD_EXPIRES_AT] = v->expires_at;
  value_len[FIELD_EXPIRES_AT] = v->expires_at_len;
  value[FIELD_MESSAGE] = v->message; /* NULL: never used, no edit names it */
  value_len[FIELD_MESSAGE] = v->message != NULL ? v->message_len : 0;
  for (f = 0; rc == 0 && f < FIELD_COUNT; f++) {
    rc = escape_into(&encoded[f][1], value[f], value_len[f]);
    for (k = 2; rc == 0 && k <= MAX_ESCAPES; k++)
      rc = escape_into(&encoded[f][k], encoded[f][k - 1].ptr, encoded[f][k - 1].len);
  }
  return rc;
}

int rewrite_auth_values(const char *in, size_t len, const rewrite_values *v, dynbuf *out,
                        size_t *count) {
  dynbuf encoded[FIELD_COUNT][MAX_ESCAPES + 1];
  size_t mark;
  rewrite_ctx *ctx;
  int rc;
  int f;
  int k;
  int i;
  if (count != NULL)
    *count = 0;
  if ((in == NULL && len > 0) || v == NULL || out == NULL)
    return -EINVAL;
  if (check_value(v->link_token, v->link_token_len) != 0 ||
      check_value(v->magic_link_url, v->magic_link_url_len) != 0 ||
      check_value(v->expires_at, v->expires_at_len) != 0 ||
      (v->message != NULL && check_value(v->message, v->message_len) != 0))
    return -EINVAL;
  if (!utf8_valid(in, len) || jsontext_has_vt_or_ff(in, len))
    return -EINVAL;
  ctx = malloc(sizeof *ctx);
  if (ctx == NULL)
    return -ENOMEM;
  ctx->error = 0;
  ctx->with_message = v->message != NULL;
  for (i = 0; i < LEVELS; i++) {
    ctx->levels[i].ctx = ctx;
    ctx->levels[i].number = i;
    dynbuf_init(&ctx->levels[i].edits, REWRITE_MAX_EDITS * sizeof(edit) + 1);
    dynbuf_init(&ctx->levels[i].values, REWRITE_MAX_EDITS * sizeof(member_value) + 1);
  }
  for (f = 0; f < FIELD_COUNT; f++) {
    for (k = 0; k <= MAX_ESCAPES; k++)
      dynbuf_init(&encoded[f][k], ENCODED_MAX);
  }
  mark = out->len;
  rc = parse_text(&ctx->levels[0], in == NULL ? "" : in, len);
  if (rc > 0)
    rc = -EINVAL;
  else if (rc == 0 && ctx->levels[0].found == 0)
    rc = -ENOENT;
  if (rc == 0)
    rc = encode_values(v, encoded);
  if (rc == 0)
    rc = write_output(&ctx->levels[0], in, len, encoded, out);
  if (rc == 0 && count != NULL)
    *count = ctx->levels[0].found;
  if (rc != 0)
    out->len = mark;
  for (f = 0; f < FIELD_COUNT; f++) {
    for (k = 0; k <= MAX_ESCAPES; k++)
      dynbuf_free(&encoded[f][k]);
  }
  for (i = 0; i < LEVELS; i++) {
    dynbuf_free(&ctx->levels[i].edits);
    dynbuf_free(&ctx->levels[i].values);
  }
  free(ctx);
  return rc;
}
