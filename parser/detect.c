/* detect: auth-required tool results in an event's JSON payload.
 *
 * Two stages (see detect.h). The prefilter looks at each payload byte once,
 * 16 at a time, for the byte triples "e_m" and "k_t" and the pair "\u", and
 * confirms a candidate with "authenticate_meta", "link_token" or "\u". When
 * it fires, the payload so far is handed to yajl and later bytes follow it in
 * batches, so nothing is parsed twice.
 *
 * yajl's callbacks keep a stack of open containers ("frames", up to
 * DETECT_MAX_DEPTH). An object frame remembers the string members that
 * matter (type, link_token, magic_link_url, connector names, tool-call ids,
 * tool names); their text lives in the level's arena, which is popped when
 * the frame closes, so memory follows the nesting, not the payload length.
 * When an object closes it is checked for the two shapes; the first match
 * copies its fields out, and the frames that close after it and enclose it
 * (tracked by fill_index) may still supply the nearest tool-call id and tool
 * name. A string value that looks like JSON and passes the prefilter is
 * parsed by the next level (a fresh yajl handle), up to
 * DETECT_MAX_STRING_LEVELS below the payload.
 */
#include "detect.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "bytes.h"
#include "dynbuf.h"
#include "jsontext.h"
#include "utf8.h"

/* Captured string slots of a frame, one per member of jsontext.h but TYPE. */
enum slot {
  SLOT_CONNECTOR_UPPER = 0,
  SLOT_CONNECTOR,
  SLOT_CONNECTOR_SLUG,
  SLOT_LINK_TOKEN,
  SLOT_MAGIC_LINK_URL,
  SLOT_EXPIRES_AT,
  SLOT_MESSAGE,
  SLOT_TOOL_CALL_ID,
  SLOT_TOOLCALLID,
  SLOT_CALL_ID,
  SLOT_TOOL_USE_ID,
  SLOT_TOOL_NAME,
  SLOT_COUNT
};

/* Fields of the match, in detect_match order. */
enum field {
  FIELD_CONNECTOR = 0,
  FIELD_LINK_TOKEN,
  FIELD_MAGIC_LINK_URL,
  FIELD_EXPIRES_AT,
  FIELD_MESSAGE,
  FIELD_TOOL_CALL_ID,
  FIELD_COUNT
};

/* Captured strings per level: every slot of every frame at its largest. The
 * text captured is part of the payload, so in practice it is bounded by
 * max_event_bytes long before this cap. */
#define ARENA_MAX ((size_t)DETECT_MAX_DEPTH * SLOT_COUNT * DETECT_FIELD_MAX)
#define MATCH_STRINGS_MAX (FIELD_COUNT * DETECT_FIELD_MAX + 64)

typedef struct span32 {
  uint32_t off; /* offset into an arena */
  uint32_t len;
} span32;

typedef struct frame {
  uint8_t is_object;
  uint8_t member;       /* member whose value comes next (enum jsontext_member) */
  uint8_t type_is_meta; /* "type" was the string "authenticate_meta" */
  uint16_t seen;        /* bit per slot whose member held a string (maybe too long) */
  uint16_t have;        /* bit per captured slot */
  size_t arena_mark;    /* arena length when the frame opened */
  span32 slot[SLOT_COUNT];
} frame;

struct detect_state;

/* One JSON text being parsed: the payload (level 0) or a string inside it. */
typedef struct level {
  struct detect_state *state;
  int number;                        /* 0 for the payload, 1..2 inside strings */
  yajl_handle yajl;
  size_t depth;                      /* open containers, may pass DETECT_MAX_DEPTH */
  long fill_index;                   /* frames at or below this index that close
                                        enclose the match: they may fill it */
  dynbuf arena;                      /* text of the captured slots */
  frame frames[DETECT_MAX_DEPTH];
} level;

struct detect_state {
  level levels[DETECT_MAX_STRING_LEVELS + 1];
  int failed;            /* yajl reported an error on the payload, or bad UTF-8 */
  size_t utf8_checked;   /* payload[0, utf8_checked) is whole, valid UTF-8 sequences */
  int matched;           /* a match was recorded */
  int need_tool_call_id; /* the match has no tool-call id yet */
  int need_tool_name;    /* the match has no connector and no tool name yet */
  detect_shape shape;
  span32 field[FIELD_COUNT];
  uint8_t field_present[FIELD_COUNT];
  dynbuf strings;        /* text of the match's fields */
  detect_match match;    /* built by detect_finish() */
};

static int parse_level(struct detect_state *st, int number, const char *text, size_t len);

/* ---- prefilter ---------------------------------------------------------- */

/* One anchor at p[i]: is a whole pattern around it inside p[0, len)? */
static int anchor_matches(const char *p, size_t i, size_t len) {
  if (p[i] == '\\')
    return i + 1 < len && p[i + 1] == 'u';
  if (p[i] != '_')
    return 0;
  if (i >= 12 && i + 5 <= len && memcmp(p + i - 12, "authenticate_meta", 17) == 0)
    return 1;
  return i >= 4 && i + 6 <= len && memcmp(p + i - 4, "link_token", 10) == 0;
}

static int prefilter_window(const char *p, size_t from, size_t len) {
  size_t i = from >= 5 ? from - 5 : 0;
#if BYTES_SIMD
  /* Candidates by bytes_pf_mask16(), which reads one byte before each
   * chunk: position 0 is looked at alone. */
  if (i == 0 && len > 0) {
    if (anchor_matches(p, 0, len))
      return 1;
    i = 1;
  }
  while (i + 17 <= len) {
    unsigned mask = bytes_pf_mask16(p + i);
    while (mask != 0) {
      if (anchor_matches(p, i + (size_t)__builtin_ctz(mask), len))
        return 1;
      mask &= mask - 1;
    }
    i += 16;
  }
#endif
  for (; i < len; i++) {
    if ((p[i] == '_' || p[i] == '\\') && anchor_matches(p, i, len))
      return 1;
  }
  return 0;
}

int detect_prefilter(const char *p, size_t len) {
  return prefilter_window(p, 0, len);
}

/* ---- tool names --------------------------------------------------------- */

static int slug_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static int all_slug_chars(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    if (!slug_char(s[i]))
      return 0;
  }
  return len > 0;
}

int detect_connector_from_tool_name(const char *name, size_t len, detect_str *slug) {
  static const char prefix[] = "authenticate_";
  const size_t prefix_len = sizeof prefix - 1;
  size_t i;
  if (len > prefix_len && memcmp(name, prefix, prefix_len) == 0 &&
      all_slug_chars(name + prefix_len, len - prefix_len)) {
    slug->ptr = name + prefix_len;
    slug->len = len - prefix_len;
    return 1;
  }
  for (i = 1; i + 2 < len; i++) {
    if (name[i] == '_' && name[i + 1] == '_') {
      if (!all_slug_chars(name, i))
        return 0;
      slug->ptr = name;
      slug->len = i;
      return 1;
    }
  }
  return 0;
}

const char *detect_shape_name(detect_shape shape) {
  switch (shape) {
  case DETECT_SHAPE_AUTHENTICATE_META:
    return "authenticate_meta";
  case DETECT_SHAPE_MAGIC_LINK:
    return "magic_link";
  case DETECT_SHAPE_NONE:
    break;
  }
  return "none";
}

/* ---- frames and captures ------------------------------------------------ */

/* The frame values go into, or NULL when they are too deep to look at. */
static frame *current_frame(level *lv) {
  if (lv->depth == 0 || lv->depth > DETECT_MAX_DEPTH)
    return NULL;
  return &lv->frames[lv->depth - 1];
}

/* Text of a captured slot ("" when only empty strings were captured, so the
 * arena was never allocated). */
static const char *slot_text(const level *lv, const frame *fr, int slot) {
  if (lv->arena.ptr == NULL)
    return "";
  return lv->arena.ptr + fr->slot[slot].off;
}

static void capture(level *lv, frame *fr, int slot, const unsigned char *s, size_t len) {
  size_t off = lv->arena.len;
  if (fr->seen & (1u << slot))
    return; /* the first of duplicate members wins */
  fr->seen |= (uint16_t)(1u << slot);
  if (len > DETECT_FIELD_MAX)
    return; /* still counts for the shape, but is not extracted */
  if (dynbuf_add(&lv->arena, s, len) != 0)
    return;
  fr->slot[slot].off = (uint32_t)off;
  fr->slot[slot].len = (uint32_t)len;
  fr->have |= (uint16_t)(1u << slot);
}

/* Copies text into the match's storage as one of its fields. */
static void set_field(struct detect_state *st, int field, const char *text, size_t len) {
  size_t off = st->strings.len;
  if (dynbuf_add(&st->strings, text, len) != 0)
    return;
  st->field[field].off = (uint32_t)off;
  st->field[field].len = (uint32_t)len;
  st->field_present[field] = 1;
}

static int first_slot(const frame *fr, int first, int last) {
  int slot;
  for (slot = first; slot <= last; slot++) {
    if (fr->have & (1u << slot))
      return slot;
  }
  return -1;
}

/* Lets a frame that holds the match (or encloses it) supply what is still
 * missing: the nearest tool-call id and, failing a connector member, the
 * nearest tool name of the form authenticate_<slug> or <slug>__<tool>. */
static void fill_from_frame(struct detect_state *st, const level *lv, const frame *fr) {
  if (st->need_tool_call_id) {
    int slot = first_slot(fr, SLOT_TOOL_CALL_ID, SLOT_TOOL_USE_ID);
    if (slot >= 0) {
      set_field(st, FIELD_TOOL_CALL_ID, slot_text(lv, fr, slot), fr->slot[slot].len);
      st->need_tool_call_id = 0;
    }
  }
  if (st->need_tool_name && (fr->have & (1u << SLOT_TOOL_NAME))) {
    detect_str slug;
    if (detect_connector_from_tool_name(slot_text(lv, fr, SLOT_TOOL_NAME),
                                        fr->slot[SLOT_TOOL_NAME].len, &slug)) {
      set_field(st, FIELD_CONNECTOR, slug.ptr, slug.len);
      st->need_tool_name = 0;
    }
  }
}

static void record_match(struct detect_state *st, level *lv, frame *fr, detect_shape shape) {
  static const int simple[][2] = {
      {FIELD_LINK_TOKEN, SLOT_LINK_TOKEN},
      {FIELD_MAGIC_LINK_URL, SLOT_MAGIC_LINK_URL},
      {FIELD_EXPIRES_AT, SLOT_EXPIRES_AT},
      {FIELD_MESSAGE, SLOT_MESSAGE},
  };
  size_t i;
  int connector = first_slot(fr, SLOT_CONNECTOR_UPPER, SLOT_CONNECTOR_SLUG);
  st->matched = 1;
  st->shape = shape;
  if (connector >= 0)
    set_field(st, FIELD_CONNECTOR, slot_text(lv, fr, connector), fr->slot[connector].len);
  for (i = 0; i < sizeof simple / sizeof simple[0]; i++) {
    int slot = simple[i][1];
    if (fr->have & (1u << slot))
      set_field(st, simple[i][0], slot_text(lv, fr, slot), fr->slot[slot].len);
  }
  st->need_tool_call_id = 1;
  st->need_tool_name = connector < 0;
  fill_from_frame(st, lv, fr);
}

/* ---- yajl callbacks ----------------------------------------------------- */

static int open_container(level *lv, int is_object) {
  lv->depth++;
  if (lv->depth <= DETECT_MAX_DEPTH) {
    frame *fr = &lv->frames[lv->depth - 1];
    fr->is_object = (uint8_t)is_object;
    fr->member = JSONTEXT_MEMBER_OTHER;
    fr->type_is_meta = 0;
    fr->seen = 0;
    fr->have = 0;
    fr->arena_mark = lv->arena.len;
  }
  return 1;
}

static int close_container(level *lv) {
  struct detect_state *st = lv->state;
  frame *fr = current_frame(lv);
  if (fr != NULL) {
    long index = (long)lv->depth - 1;
    if (!st->matched && fr->is_object) {
      if (fr->type_is_meta)
        record_match(st, lv, fr, DETECT_SHAPE_AUTHENTICATE_META);
      else if ((fr->seen & (1u << SLOT_LINK_TOKEN)) && (fr->seen & (1u << SLOT_MAGIC_LINK_URL)))
        record_match(st, lv, fr, DETECT_SHAPE_MAGIC_LINK);
      if (st->matched)
        lv->fill_index = index - 1;
    } else if (st->matched && index <= lv->fill_index) {
      fill_from_frame(st, lv, fr);
      lv->fill_index = index - 1;
    }
    lv->arena.len = fr->arena_mark;
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
  frame *fr = current_frame(ctx);
  if (fr != NULL)
    fr->member = (uint8_t)jsontext_member_of(key, len);
  return 1;
}

/* Parses a string value as a JSON text of the next level. A match inside
 * counts only when the whole text is valid JSON. */
static void look_inside_string(level *lv, const unsigned char *s, size_t len) {
  struct detect_state *st = lv->state;
  size_t strings_mark = st->strings.len;
  if (lv->number >= DETECT_MAX_STRING_LEVELS || st->matched)
    return;
  if (!jsontext_looks_like_container((const char *)s, len) ||
      !detect_prefilter((const char *)s, len))
    return;
  if (parse_level(st, lv->number + 1, (const char *)s, len) != 0) {
    st->matched = 0;
    memset(st->field_present, 0, sizeof st->field_present);
    st->strings.len = strings_mark;
    return;
  }
  if (st->matched) {
    /* The frame holding this string encloses the match: it may still fill
     * it when it closes, and so may the frames around it. */
    lv->fill_index = (long)(lv->depth <= DETECT_MAX_DEPTH ? lv->depth : 0) - 1;
  }
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
  level *lv = ctx;
  frame *fr = current_frame(lv);
  if (lv->depth > DETECT_MAX_DEPTH)
    return 1;
  if (fr != NULL && fr->is_object) {
    switch ((enum jsontext_member)fr->member) {
    case JSONTEXT_MEMBER_TYPE:
      if (jsontext_is(s, len, "authenticate_meta"))
        fr->type_is_meta = 1;
      break;
    case JSONTEXT_MEMBER_CONNECTOR_UPPER:
      capture(lv, fr, SLOT_CONNECTOR_UPPER, s, len);
      break;
    case JSONTEXT_MEMBER_CONNECTOR:
      capture(lv, fr, SLOT_CONNECTOR, s, len);
      break;
    case JSONTEXT_MEMBER_CONNECTOR_SLUG:
      capture(lv, fr, SLOT_CONNECTOR_SLUG, s, len);
      break;
    case JSONTEXT_MEMBER_LINK_TOKEN:
      capture(lv, fr, SLOT_LINK_TOKEN, s, len);
      break;
    case JSONTEXT_MEMBER_MAGIC_LINK_URL:
      capture(lv, fr, SLOT_MAGIC_LINK_URL, s, len);
      break;
    case JSONTEXT_MEMBER_EXPIRES_AT:
      capture(lv, fr, SLOT_EXPIRES_AT, s, len);
      break;
    case JSONTEXT_MEMBER_MESSAGE:
      capture(lv, fr, SLOT_MESSAGE, s, len);
      break;
    case JSONTEXT_MEMBER_TOOL_CALL_ID:
      capture(lv, fr, SLOT_TOOL_CALL_ID, s, len);
      break;
    case JSONTEXT_MEMBER_TOOLCALLID:
      capture(lv, fr, SLOT_TOOLCALLID, s, len);
      break;
    case JSONTEXT_MEMBER_CALL_ID:
      capture(lv, fr, SLOT_CALL_ID, s, len);
      break;
    case JSONTEXT_MEMBER_TOOL_USE_ID:
      capture(lv, fr, SLOT_TOOL_USE_ID, s, len);
      break;
    case JSONTEXT_MEMBER_TOOL_NAME:
      capture(lv, fr, SLOT_TOOL_NAME, s, len);
      break;
    case JSONTEXT_MEMBER_OTHER:
      break;
    }
  }
  look_inside_string(lv, s, len);
  return 1;
}

/* Numbers are never converted, so no size can overflow anything. */
static int on_number(void *ctx, const char *s, size_t len) {
  (void)ctx;
  (void)s;
  (void)len;
  return 1;
}

static const yajl_callbacks detect_callbacks = {
    NULL,           /* null */
    NULL,           /* boolean */
    NULL,           /* integer: unused, on_number takes every number */
    NULL,           /* double */
    on_number,      /* number */
    on_string,      /* string */
    on_start_map,   /* start_map */
    on_map_key,     /* map_key */
    on_end,         /* end_map */
    on_start_array, /* start_array */
    on_end,         /* end_array */
};

/* ---- levels ------------------------------------------------------------- */

static int level_start(struct detect_state *st, int number) {
  level *lv = &st->levels[number];
  lv->state = st;
  lv->number = number;
  lv->depth = 0;
  lv->fill_index = -1;
  lv->arena.len = 0;
  lv->yajl = yajl_alloc(&detect_callbacks, NULL, lv);
  return lv->yajl != NULL ? 0 : -1;
}

static void level_stop(level *lv) {
  if (lv->yajl != NULL) {
    yajl_free(lv->yajl);
    lv->yajl = NULL;
  }
}

/* Parses a complete text at level number (>= 1). Returns 0 when it is valid
 * JSON, -1 otherwise. */
static int parse_level(struct detect_state *st, int number, const char *text, size_t len) {
  level *lv = &st->levels[number];
  int ok;
  if (jsontext_has_vt_or_ff(text, len))
    return -1;
  if (level_start(st, number) != 0)
    return -1;
  ok = yajl_parse(lv->yajl, (const unsigned char *)text, len) == yajl_status_ok &&
       yajl_complete_parse(lv->yajl) == yajl_status_ok;
  level_stop(lv);
  return ok ? 0 : -1;
}

static struct detect_state *state_new(void) {
  /* No calloc: the frames (most of the 22 KB) are set up when opened. */
  struct detect_state *st = malloc(sizeof *st);
  int i;
  if (st == NULL)
    return NULL;
  st->failed = st->matched = st->need_tool_call_id = st->need_tool_name = 0;
  st->utf8_checked = 0;
  st->shape = DETECT_SHAPE_NONE;
  memset(st->field_present, 0, sizeof st->field_present);
  for (i = 0; i <= DETECT_MAX_STRING_LEVELS; i++)
    st->levels[i].yajl = NULL;
  for (i = 0; i <= DETECT_MAX_STRING_LEVELS; i++)
    dynbuf_init(&st->levels[i].arena, ARENA_MAX);
  dynbuf_init(&st->strings, MATCH_STRINGS_MAX);
  if (level_start(st, 0) != 0) {
    free(st);
    return NULL;
  }
  return st;
}

static void state_free(struct detect_state *st) {
  int i;
  for (i = 0; i <= DETECT_MAX_STRING_LEVELS; i++) {
    level_stop(&st->levels[i]);
    dynbuf_free(&st->levels[i].arena);
  }
  dynbuf_free(&st->strings);
  free(st);
}

/* ---- public API ---------------------------------------------------------- */

void detect_init(detect_t *d) {
  memset(d, 0, sizeof *d);
}

/* yajl re-lexes a token split across two yajl_parse() calls from its first
 * byte, so a long string or number fed a few bytes at a time would cost time
 * quadratic in its length. New bytes therefore go to yajl only once they are
 * at least YAJL_BATCH_MIN and at least half of what was parsed before: every
 * byte is lexed a bounded number of times, and detect_finish() parses the
 * rest. */
#define YAJL_BATCH_MIN 4096

/* Checks s[0, len) as UTF-8 (RFC 3629; yajl itself lets overlong forms
 * through). Returns -1 on an invalid sequence, else the length of the prefix
 * made of whole sequences (a sequence cut by len is left for the next
 * check). */
static long utf8_check(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t ok;
    size_t bad;
    while (len - i >= 8) { /* ASCII runs, 8 bytes at a time */
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if (i >= len)
      break;
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    ok = utf8_sequence(s + i, len - i, &bad);
    if (ok == 0)
      return i + bad == len ? (long)i : -1; /* cut by len: decided next time */
    i += ok;
  }
  return (long)i;
}

/* The payload's raw bytes must be UTF-8. Only the payload is checked: text
 * inside a string (JSON-in-string) comes from it, and what \u escapes
 * produce is JSON's business, not an encoding error. */
static void check_utf8(struct detect_state *st, const char *payload, size_t len, int final) {
  long ok;
  if (st->failed || len <= st->utf8_checked)
    return;
  ok = utf8_check((const unsigned char *)payload + st->utf8_checked, len - st->utf8_checked);
  if (ok < 0 || (final && st->utf8_checked + (size_t)ok != len))
    st->failed = 1;
  else
    st->utf8_checked += (size_t)ok;
}

static void feed_yajl(detect_t *d, const char *payload, size_t len) {
  struct detect_state *st = d->state;
  check_utf8(st, payload, len, 0);
  if (st->failed || len <= d->parsed)
    return;
  /* Each payload byte goes to yajl once, so each is checked once here,
   * however the payload was split. */
  if (jsontext_has_vt_or_ff(payload + d->parsed, len - d->parsed)) {
    st->failed = 1;
    return;
  }
  if (yajl_parse(st->levels[0].yajl, (const unsigned char *)payload + d->parsed,
                 len - d->parsed) != yajl_status_ok)
    st->failed = 1;
  d->parsed = len;
}

/* Runs the prefilter over the new bytes; 1 when yajl has (or now has) this
 * payload. */
static int trigger(detect_t *d, const char *payload, size_t len) {
  if (d->triggered)
    return 1;
  if (len <= d->scanned)
    return 0;
  if (!prefilter_window(payload, d->scanned, len)) {
    d->scanned = len;
    return 0;
  }
  d->scanned = len;
  d->triggered = 1;
  d->state = state_new();
  if (d->state == NULL) {
    d->abandoned = 1; /* out of memory: give up on this payload */
    return 0;
  }
  return 1;
}

void detect_feed(detect_t *d, const char *payload, size_t len) {
  size_t fresh;
  if (d->abandoned || !trigger(d, payload, len))
    return;
  fresh = len > d->parsed ? len - d->parsed : 0;
  if (fresh >= YAJL_BATCH_MIN && fresh >= d->parsed / 2)
    feed_yajl(d, payload, len);
}

void detect_prefilter_done(detect_t *d, size_t len) {
  if (!d->triggered && len > d->scanned)
    d->scanned = len;
}

void detect_abandon(detect_t *d) {
  d->abandoned = 1;
}

static detect_str field_str(const struct detect_state *st, int field) {
  detect_str s = {NULL, 0};
  if (st->field_present[field]) {
    s.ptr = st->strings.ptr != NULL ? st->strings.ptr + st->field[field].off : "";
    s.len = st->field[field].len;
  }
  return s;
}

detect_status detect_finish(detect_t *d, const char *payload, size_t len,
                            const detect_match **match) {
  struct detect_state *st;
  if (match != NULL)
    *match = NULL;
  if (d->abandoned || !trigger(d, payload, len)) /* trigger() may abandon */
    return d->abandoned ? DETECT_OVERSIZED : DETECT_SKIPPED;
  st = d->state;
  feed_yajl(d, payload, len);
  check_utf8(st, payload, len, 1);
  if (!st->failed && yajl_complete_parse(st->levels[0].yajl) != yajl_status_ok)
    st->failed = 1;
  if (st->failed)
    return DETECT_MALFORMED;
  if (!st->matched)
    return DETECT_NO_MATCH;
  st->match.shape = st->shape;
  st->match.connector = field_str(st, FIELD_CONNECTOR);
  st->match.link_token = field_str(st, FIELD_LINK_TOKEN);
  st->match.magic_link_url = field_str(st, FIELD_MAGIC_LINK_URL);
  st->match.expires_at = field_str(st, FIELD_EXPIRES_AT);
  st->match.message = field_str(st, FIELD_MESSAGE);
  st->match.tool_call_id = field_str(st, FIELD_TOOL_CALL_ID);
  if (match != NULL)
    *match = &st->match;
  return DETECT_MATCH;
}

void detect_reset(detect_t *d) {
  if (d->state != NULL)
    state_free(d->state);
  memset(d, 0, sizeof *d);
}

void detect_close(detect_t *d) {
  detect_reset(d);
}
