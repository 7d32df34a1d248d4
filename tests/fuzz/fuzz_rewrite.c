/* fuzz_rewrite: libFuzzer harness for the rewriter (parser/rewrite.h).
 *
 * Input layout (seeds in corpus/fuzz_rewrite/):
 *   byte 0 < 0x08: a selector, the payload is what follows it; any other
 *     first byte: selector 0, the whole input is the payload (so a seed can
 *     be a plain JSON text).
 *   selector 0-3: fixed new values (plain; needing every escape; empty;
 *     other scripts); 1 and 3 also give a message, 0 and 2 none;
 *   selector 4-7: the new values come from the input: three values, each a
 *     length byte and that many bytes (cut short by the end of the input),
 *     then (selector 6 and 7) a 4th value, the message, the same way, then
 *     the payload. They may break rewrite.h's rules on purpose.
 *
 * Invariants (abort() on violation):
 *   1. Values that break the rules give -EINVAL. Otherwise the detector's
 *      verdict on the payload decides: MATCH -> 0 with count >= 1; NO_MATCH
 *      -> -ENOENT; MALFORMED -> -EINVAL; SKIPPED -> -EINVAL or -ENOENT. On
 *      error the output buffer is left as it was.
 *   2. On success the output still matches for the detector, and every one
 *      of link_token, magic_link_url, expires_at (and message, when one is
 *      given) it extracts is the new value, byte for byte.
 *   3. Structure: the input and the output are read into token lists by a
 *      model of their own (yajl callbacks, decoded strings, JSON-in-string
 *      texts read as nested token lists by the detector's rules), in which
 *      the string values of those three members (four with a message) in
 *      auth-required objects are blanked (in the output, each must first equal the new value).
 *      The lists must be equal: nothing else changed, at any level. The
 *      number of auth-required objects the model finds in the output is the
 *      count the rewrite reported.
 *   4. Rewriting the output again with the same values gives the output
 *      byte for byte, and the same count.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "detect.h"
#include "dynbuf.h"
#include "rewrite.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP ((size_t)16 << 20)

static void failed(int line, const char *what) {
  fprintf(stderr, "fuzz_rewrite: invariant violated at line %d: %s\n", line, what);
  abort();
}

#define REQUIRE(cond)                                                        \
  do {                                                                       \
    if (!(cond))                                                             \
      failed(__LINE__, #cond);                                               \
  } while (0)

/* ---- the model: token lists ------------------------------------------------ */

enum kind { K_MAP, K_END_MAP, K_ARRAY, K_END_ARRAY, K_KEY, K_STRING, K_SCALAR,
            K_NEST, K_END_NEST, K_BLANK };

typedef struct token {
  int kind;
  int skip;         /* inside a blanked value */
  size_t off, len;  /* decoded text in model.bytes (keys, strings, scalars) */
} token;

typedef struct mframe {
  int is_object;
  int member;       /* 0 other, 1 type, 2 link_token, 3 magic_link_url, 4 expires_at, 5 message */
  int meta, has_lt, has_url;
  size_t values_mark;
} mframe;

typedef struct mvalue {
  size_t token;     /* its K_STRING token */
  size_t end;       /* one past its tokens (nested ones included) */
  int field;        /* 0 link_token, 1 magic_link_url, 2 expires_at, 3 message */
} mvalue;

typedef struct model {
  token *tokens;
  size_t ntokens, cap_tokens;
  char *bytes;
  size_t nbytes, cap_bytes;
  size_t found;                     /* auth-required objects */
  const rewrite_values *expect;     /* blanked values must equal these (output) */
  int with_message;                 /* message values are blanked too */
} model;

typedef struct mlevel {
  model *m;
  int number;
  size_t depth;
  mframe frames[DETECT_MAX_DEPTH];
  mvalue *values;
  size_t nvalues, cap_values;
} mlevel;

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need > *cap) {
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
      cap2 *= 2;
    p = realloc(p, cap2 * elem);
    if (p == NULL)
      abort();
    *cap = cap2;
  }
  return p;
}

static size_t add_token(model *m, int kind, const void *s, size_t len) {
  token *t;
  m->tokens = grow(m->tokens, &m->cap_tokens, m->ntokens + 1, sizeof(token));
  m->bytes = grow(m->bytes, &m->cap_bytes, m->nbytes + len + 1, 1);
  t = &m->tokens[m->ntokens];
  t->kind = kind;
  t->skip = 0;
  t->off = m->nbytes;
  t->len = len;
  if (len > 0)
    memcpy(m->bytes + m->nbytes, s, len);
  m->nbytes += len;
  return m->ntokens++;
}

static int model_text(model *m, int number, const char *text, size_t len);

static mframe *mcur(mlevel *lv) {
  return lv->depth == 0 || lv->depth > DETECT_MAX_DEPTH ? NULL : &lv->frames[lv->depth - 1];
}

static int m_open(mlevel *lv, int is_object) {
  add_token(lv->m, is_object ? K_MAP : K_ARRAY, NULL, 0);
  lv->depth++;
  if (lv->depth <= DETECT_MAX_DEPTH) {
    mframe *f = &lv->frames[lv->depth - 1];
    memset(f, 0, sizeof *f);
    f->is_object = is_object;
    f->values_mark = lv->nvalues;
  }
  return 1;
}

static const char *expected_value(const rewrite_values *v, int field, size_t *len) {
  if (field == 0) {
    *len = v->link_token_len;
    return v->link_token;
  }
  if (field == 1) {
    *len = v->magic_link_url_len;
    return v->magic_link_url;
  }
  if (field == 2) {
    *len = v->expires_at_len;
    return v->expires_at;
  }
  *len = v->message_len;
  return v->message;
}

static int m_close(mlevel *lv, int kind) {
  mframe *f = mcur(lv);
  model *m = lv->m;
  if (f != NULL) {
    if (f->is_object && (f->meta || (f->has_lt && f->has_url))) {
      size_t i;
      m->found++;
      for (i = f->values_mark; i < lv->nvalues; i++) {
        mvalue *mv = &lv->values[i];
        token *t = &m->tokens[mv->token];
        size_t j;
        if (t->kind != K_STRING)
          failed(__LINE__, "member value is not a string token");
        if (m->expect != NULL) {
          size_t want_len;
          const char *want = expected_value(m->expect, mv->field, &want_len);
          REQUIRE(t->len == want_len && memcmp(m->bytes + t->off, want, want_len) == 0);
        }
        t->kind = K_BLANK;
        t->len = 0;
        for (j = mv->token + 1; j < mv->end; j++)
          m->tokens[j].skip = 1; /* a JSON text inside the old value */
      }
    }
    lv->nvalues = f->values_mark;
  }
  lv->depth--;
  add_token(m, kind, NULL, 0);
  return 1;
}

static int m_start_map(void *ctx) { return m_open(ctx, 1); }
static int m_start_array(void *ctx) { return m_open(ctx, 0); }
static int m_end_map(void *ctx) { return m_close(ctx, K_END_MAP); }
static int m_end_array(void *ctx) { return m_close(ctx, K_END_ARRAY); }

static int m_key(void *ctx, const unsigned char *k, size_t len) {
  mlevel *lv = ctx;
  mframe *f = mcur(lv);
  add_token(lv->m, K_KEY, k, len);
  if (f != NULL) {
    f->member = 0;
    if (len == 4 && memcmp(k, "type", 4) == 0)
      f->member = 1;
    else if (len == 10 && memcmp(k, "link_token", 10) == 0)
      f->member = 2;
    else if (len == 14 && memcmp(k, "magic_link_url", 14) == 0)
      f->member = 3;
    else if (len == 10 && memcmp(k, "expires_at", 10) == 0)
      f->member = 4;
    else if (len == 7 && memcmp(k, "message", 7) == 0)
      f->member = 5;
  }
  return 1;
}

static int m_scalar(void *ctx, const char *s, size_t len) {
  add_token(((mlevel *)ctx)->m, K_SCALAR, s, len);
  return 1;
}

static int m_null(void *ctx) {
  return m_scalar(ctx, "null", 4);
}

static int m_bool(void *ctx, int b) {
  return m_scalar(ctx, b ? "true" : "false", b ? 4 : 5);
}

static int m_container_like(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  return i < len && (s[i] == '{' || s[i] == '[');
}

static int m_string(void *ctx, const unsigned char *s, size_t len) {
  mlevel *lv = ctx;
  model *m = lv->m;
  mframe *f = mcur(lv);
  size_t index = add_token(m, K_STRING, s, len);
  int field = -1;
  if (lv->depth > DETECT_MAX_DEPTH)
    return 1;
  if (f != NULL && f->is_object) {
    if (f->member == 1 && len == 17 && memcmp(s, "authenticate_meta", 17) == 0)
      f->meta = 1;
    if (f->member == 2) {
      f->has_lt = 1;
      field = 0;
    } else if (f->member == 3) {
      f->has_url = 1;
      field = 1;
    } else if (f->member == 4) {
      field = 2;
    } else if (f->member == 5 && m->with_message) {
      field = 3;
    }
  }
  /* JSON-in-string by the detector's rules. */
  if (lv->number < DETECT_MAX_STRING_LEVELS && m_container_like(s, len) &&
      detect_prefilter((const char *)s, len) && memchr(s, '\v', len) == NULL &&
      memchr(s, '\f', len) == NULL) {
    size_t mark_tokens = m->ntokens;
    size_t mark_bytes = m->nbytes;
    size_t mark_found = m->found;
    /* s may be yajl's decode buffer, which the nested parse does not touch. */
    add_token(m, K_NEST, NULL, 0);
    if (model_text(m, lv->number + 1, (const char *)s, len) == 0) {
      add_token(m, K_END_NEST, NULL, 0);
      m->tokens[index].len = 0; /* its tokens stand for its text */
    } else {
      m->ntokens = mark_tokens;
      m->nbytes = mark_bytes;
      m->found = mark_found;
    }
  }
  if (field >= 0) {
    mvalue *mv;
    lv->values = grow(lv->values, &lv->cap_values, lv->nvalues + 1, sizeof(mvalue));
    mv = &lv->values[lv->nvalues++];
    mv->token = index;
    mv->end = m->ntokens;
    mv->field = field;
  }
  return 1;
}

static const yajl_callbacks model_callbacks = {
    m_null, m_bool, NULL, NULL, m_scalar, m_string,
    m_start_map, m_key, m_end_map, m_start_array, m_end_array,
};

/* Reads text as a JSON text of level number. Returns 0 when it is valid
 * JSON (tokens appended), -1 when not. */
static int model_text(model *m, int number, const char *text, size_t len) {
  mlevel *lv = calloc(1, sizeof *lv);
  yajl_handle h;
  int ok;
  if (lv == NULL)
    abort();
  lv->m = m;
  lv->number = number;
  if (number > 0 && (memchr(text, '\v', len) != NULL || memchr(text, '\f', len) != NULL)) {
    free(lv);
    return -1;
  }
  if (number > 0) {
    /* Valid first: checks of a text that turns out not to be JSON would be
     * wrong (its objects close before its trailing garbage is seen). */
    h = yajl_alloc(NULL, NULL, NULL);
    if (h == NULL)
      abort();
    ok = yajl_parse(h, (const unsigned char *)text, len) == yajl_status_ok &&
         yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    if (!ok) {
      free(lv);
      return -1;
    }
  }
  h = yajl_alloc(&model_callbacks, NULL, lv);
  if (h == NULL)
    abort();
  ok = yajl_parse(h, (const unsigned char *)text, len) == yajl_status_ok &&
       yajl_complete_parse(h) == yajl_status_ok;
  yajl_free(h);
  free(lv->values);
  free(lv);
  return ok ? 0 : -1;
}

static void model_free(model *m) {
  free(m->tokens);
  free(m->bytes);
}

/* Two token lists without their blanked parts. */
static int same_tokens(const model *a, const model *b) {
  size_t i = 0;
  size_t j = 0;
  for (;;) {
    while (i < a->ntokens && a->tokens[i].skip)
      i++;
    while (j < b->ntokens && b->tokens[j].skip)
      j++;
    if (i == a->ntokens || j == b->ntokens)
      return i == a->ntokens && j == b->ntokens;
    if (a->tokens[i].kind != b->tokens[j].kind || a->tokens[i].len != b->tokens[j].len ||
        memcmp(a->bytes + a->tokens[i].off, b->bytes + b->tokens[j].off, a->tokens[i].len) != 0)
      return 0;
    i++;
    j++;
  }
}

/* ---- values ----------------------------------------------------------------- */

static const char hard_token[] =
    "t\"\\</script>&\xE2\x80\xA8\xE2\x80\xA9\x01\n\t\x1f\xC3\xA9\xF0\x9F\x98\x80\x7f/";
static const char hard_url[] = "http://relay.test/_authrelay/link/a?b=1&c=<2>#\"x\"";
static const char hard_expiry[] = "2026-12-05T03:00:00Z\\u0000\r";
static const char other_token[] = "\xD0\xBB\xD1\x82\xD0\xBA_\xE4\xB8\xAD\xE6\x96\x87";
static const char declined[] = "The user chose not to connect \"Slack\" now.";

static int value_ok(const char *s, size_t len) {
  size_t i = 0;
  if (len > DETECT_FIELD_MAX)
    return 0;
  while (i < len) {
    size_t bad;
    size_t ok;
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    ok = utf8_sequence((const unsigned char *)s + i, len - i, &bad);
    if (ok == 0)
      return 0;
    i += ok;
  }
  return !m_container_like((const unsigned char *)s, len);
}

/* Picks the values; returns where the payload starts. */
static size_t pick_values(const uint8_t *data, size_t size, rewrite_values *v, int *valid) {
  size_t at = 0;
  int selector = 0;
  *valid = 1;
  v->link_token = "ltk_new";
  v->link_token_len = 7;
  v->magic_link_url = "http://relay.test/_authrelay/link/ltk_new";
  v->magic_link_url_len = strlen(v->magic_link_url);
  v->expires_at = "2026-12-05T03:00:00Z";
  v->expires_at_len = 20;
  v->message = NULL;
  v->message_len = 0;
  if (size > 0 && data[0] < 0x08) {
    selector = data[0];
    at = 1;
  }
  if (selector == 1) {
    v->link_token = hard_token;
    v->link_token_len = sizeof hard_token - 1;
    v->magic_link_url = hard_url;
    v->magic_link_url_len = sizeof hard_url - 1;
    v->expires_at = hard_expiry;
    v->expires_at_len = sizeof hard_expiry - 1;
    v->message = hard_token;
    v->message_len = sizeof hard_token - 1;
  } else if (selector == 2) {
    v->link_token_len = v->magic_link_url_len = v->expires_at_len = 0;
  } else if (selector == 3) {
    v->link_token = other_token;
    v->link_token_len = sizeof other_token - 1;
    v->message = declined;
    v->message_len = sizeof declined - 1;
  } else if (selector >= 4) {
    const char *value[4];
    size_t len[4];
    int values = selector >= 6 ? 4 : 3;
    int i;
    for (i = 0; i < values; i++) {
      size_t n = at < size ? data[at++] : 0;
      if (n > size - at)
        n = size - at;
      value[i] = (const char *)data + at;
      len[i] = n;
      at += n;
      *valid = *valid && value_ok(value[i], n);
    }
    v->link_token = value[0];
    v->link_token_len = len[0];
    v->magic_link_url = value[1];
    v->magic_link_url_len = len[1];
    v->expires_at = value[2];
    v->expires_at_len = len[2];
    if (values == 4) {
      v->message = value[3];
      v->message_len = len[3];
    }
  }
  return at;
}

/* ---- the harness --------------------------------------------------------------- */

static int same_str(detect_str s, const char *want, size_t want_len) {
  return s.ptr == NULL || (s.len == want_len && memcmp(s.ptr, want, want_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rewrite_values v;
  int valid;
  size_t at = pick_values(data, size, &v, &valid);
  /* The payload in a buffer of its own, so ASan sees reads past its end. */
  size_t len = size - at;
  char *payload = malloc(len ? len : 1);
  detect_t d;
  detect_status st;
  const detect_match *match;
  dynbuf out;
  size_t count = 12345;
  int rc;
  if (payload == NULL)
    abort();
  memcpy(payload, data + at, len);
  detect_init(&d);
  st = detect_finish(&d, payload, len, NULL);
  detect_reset(&d);

  dynbuf_init(&out, OUT_CAP);
  rc = rewrite_auth_values(payload, len, &v, &out, &count);
  if (!valid) {
    REQUIRE(rc == -EINVAL);
  } else if (st == DETECT_MATCH) {
    REQUIRE(rc == 0);
    REQUIRE(count >= 1);
  } else if (st == DETECT_NO_MATCH) {
    REQUIRE(rc == -ENOENT);
  } else if (st == DETECT_MALFORMED) {
    REQUIRE(rc == -EINVAL);
  } else {
    REQUIRE(rc == -EINVAL || rc == -ENOENT);
  }
  if (rc != 0) {
    REQUIRE(out.len == 0);
    REQUIRE(count == 0);
  } else {
    model a;
    model b;
    dynbuf again;
    size_t count2 = 0;
    /* 2. The detector reads the new values. */
    detect_init(&d);
    REQUIRE(detect_finish(&d, out.ptr, out.len, &match) == DETECT_MATCH);
    REQUIRE(same_str(match->link_token, v.link_token, v.link_token_len));
    REQUIRE(same_str(match->magic_link_url, v.magic_link_url, v.magic_link_url_len));
    REQUIRE(same_str(match->expires_at, v.expires_at, v.expires_at_len));
    if (v.message != NULL)
      REQUIRE(same_str(match->message, v.message, v.message_len));
    detect_reset(&d);
    /* 3. Nothing else changed. */
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    b.expect = &v;
    a.with_message = b.with_message = v.message != NULL;
    REQUIRE(model_text(&a, 0, payload, len) == 0);
    REQUIRE(model_text(&b, 0, out.ptr, out.len) == 0);
    REQUIRE(same_tokens(&a, &b));
    REQUIRE(b.found == count); /* the output holds no object inside an old value */
    model_free(&a);
    model_free(&b);
    /* 4. Idempotent. */
    dynbuf_init(&again, OUT_CAP);
    REQUIRE(rewrite_auth_values(out.ptr, out.len, &v, &again, &count2) == 0);
    REQUIRE(count2 == count);
    REQUIRE(again.len == out.len && memcmp(again.ptr, out.ptr, out.len) == 0);
    dynbuf_free(&again);
  }
  dynbuf_free(&out);
  free(payload);
  return 0;
}
