/* test_detect_generated: the detector (parser/detect.c) on generated
 * payloads: JSON inside JSON strings at several levels, generated white
 * space, the nesting-depth boundary and 100 000-level nesting, 100 000-digit
 * numbers, long strings (the stall probes), fields at and past their length
 * caps, and many enclosing captures; each through every path at every
 * feeding size (detect_vectors.h says how). Nothing here measures time: a
 * stall is caught by ctest's TIMEOUT of the test.
 */
#include "detect_vectors.h"

/* Expected long field values: one repeated letter, lengths written out. */
static char m4096[4096 + 1];
static char k4096[4096 + 1];

static void test_json_in_string_levels(void) {
  sb b = {NULL, 0, 0};
  char *q1;
  char *q2;
  char *q3;
  sb lv = {NULL, 0, 0};
  static const expect two = WANT_A("box", "ltk_l2", ABSENT, ABSENT, "two levels", "call_l1");
  static const expect two_b = WANT_B(ABSENT, "t2", "u2", ABSENT, ABSENT, ABSENT);
  static const expect none = WANT_NO_MATCH;
  static const expect shallow = WANT_A("shallow", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  const char *inner_a =
      "{\"type\":\"authenticate_meta\",\"link_token\":\"ltk_l2\",\"message\":\"two levels\"}";
  const char *inner_b = "{\"link_token\":\"t2\",\"magic_link_url\":\"u2\"}";

  /* payload -> MCP text (level 1) -> output string (level 2): matches; the
   * nearest tool-call id is in level 1, the tool name in the payload. */
  q2 = quote(inner_a);
  sb_add(&lv, "{\"call_id\":\"call_l1\",\"output\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"toolName\":\"authenticate_box\",\"tool_call_id\":\"call_l0\",\"result\":"
             "{\"content\":[{\"type\":\"text\",\"text\":");
  sb_add(&b, q1);
  sb_add(&b, "}]}}");
  check_sb("JSON-in-string, 2 levels, ids across levels", &b, &two);
  free(q1);
  free(q2);
  free(lv.p);
  lv.p = NULL;
  lv.len = lv.cap = 0;

  /* two levels, magic link */
  q2 = quote(inner_b);
  sb_add(&lv, "{\"b\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, 2 levels, magic link", &b, &two_b);
  free(q1);
  free(q2);
  free(lv.p);
  lv.p = NULL;
  lv.len = lv.cap = 0;

  /* three levels: not looked into */
  q3 = quote(inner_b);
  sb_add(&lv, "{\"c\":");
  sb_add(&lv, q3);
  sb_add(&lv, "}");
  q2 = quote(lv.p);
  lv.len = 0;
  sb_add(&lv, "{\"b\":");
  sb_add(&lv, q2);
  sb_add(&lv, "}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, 3 levels", &b, &none);

  /* three levels, then a shallow match */
  sb_add(&b, "[{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "},{\"type\":\"authenticate_meta\",\"Connector\":\"shallow\"}]");
  check_sb("JSON-in-string, 3 levels then a shallow match", &b, &shallow);
  free(q1);
  free(q2);
  free(q3);
  free(lv.p);
}

/* The white-space rule two levels down and across yajl's batches. */
static void test_white_space_generated(void) {
  sb b = {NULL, 0, 0};
  sb lv = {NULL, 0, 0};
  char *q1;
  static const expect none = WANT_NO_MATCH;
  static const expect bare = WANT_A_BARE;
  static const expect malformed = WANT_MALFORMED;
  size_t i;

  /* Level 2: the level-1 text holds a string whose text ends in the escape
   * \f, so the level-2 text ends in a raw form feed. */
  sb_add(&lv, "{\"b\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\f\"}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, form feed 2 levels down", &b, &none);
  free(q1);
  lv.len = 0;
  sb_add(&lv, "{\"b\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\n\"}");
  q1 = quote(lv.p);
  sb_add(&b, "{\"a\":");
  sb_add(&b, q1);
  sb_add(&b, "}");
  check_sb("JSON-in-string, LF 2 levels down (control)", &b, &bare);
  free(q1);
  free(lv.p);

  /* Long payloads: the detector hands yajl bytes in batches (4 KiB and
   * more), so the byte lands in a later batch than the trigger, at a
   * different place in it for each feeding size. */
  for (i = 0; i < 2; i++) {
    sb_add(&b, "{\"type\":\"authenticate_meta\",\"pad\":\"");
    sb_fill(&b, 'p', 9000);
    sb_add(&b, "\"");
    sb_add(&b, i == 0 ? "\f" : "\v");
    sb_add(&b, ",\"pad2\":\"");
    sb_fill(&b, 'q', 3000);
    sb_add(&b, "\"}");
    check_sb(i == 0 ? "form feed after 9000 bytes" : "vertical tab after 9000 bytes", &b,
             &malformed);
  }
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"pad\":\"");
  sb_fill(&b, 'p', 9000);
  sb_add(&b, "\"}\f");
  check_sb("form feed as the last byte of 9000", &b, &malformed);
}

static void test_depth_boundary(void) {
  /* DETECT_MAX_DEPTH = 64: detect.c counts open containers including the
   * object itself (frames[0..63]); an object inside 63 containers is at
   * depth 64 and matches, inside 64 containers at depth 65 and does not. */
  static const expect deep = WANT_A("deep", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect deep_b = WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT);
  static const expect filled = WANT_A("deep", ABSENT, ABSENT, ABSENT, ABSENT, "c_top");
  static const expect none = WANT_NO_MATCH;
  static const expect shallow = WANT_A("shallow", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  /* before, n times open, inner, n times close, after */
  static const struct {
    const char *name;
    const char *before;
    const char *open;
    size_t n;
    const char *inner;
    char close;
    const char *after;
    const expect *want;
  } cases[] = {
      {"depth 64 (63 arrays around): match", "", "[", 63, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']', "", &deep},
      {"depth 65 (64 arrays around): no match", "", "[", 64, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']', "", &none},
      {"depth 64 (63 objects around): match", "", "{\"a\":", 63, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", '}', "", &deep},
      {"depth 65 (64 objects around): no match", "", "{\"a\":", 64, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", '}', "", &none},
      {"depth 64 magic link: match", "", "[", 63, "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}", ']', "", &deep_b},
      {"depth 65 magic link: no match", "", "[", 64, "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}", ']', "", &none},
      /* the outermost object (depth 1) fills the id of a match at depth 64 */
      {"depth 64 match, id at depth 1", "{\"call_id\":\"c_top\",\"a\":", "[", 62, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']', "}",
       &filled},
      {"depth 65 match, id at depth 1: no match", "{\"call_id\":\"c_top\",\"a\":", "[", 63, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']',
       "}", &none},
      {"depth 101: no match", "", "[", 100, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']', "", &none},
      {"too deep a match, then a shallow one", "[", "[", 70, "{\"type\":\"authenticate_meta\",\"Connector\":\"deep\"}", ']',
       ",{\"type\":\"authenticate_meta\",\"Connector\":\"shallow\"}]", &shallow},
      /* a JSON-in-string deeper than 64 is not looked into */
      {"JSON-in-string inside 65 arrays: no match", "", "[", 65,
       "\"{\\\"type\\\":\\\"authenticate_meta\\\"}\"", ']', "", &none},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sb b = {NULL, 0, 0};
    sb_add(&b, cases[i].before);
    sb_rep(&b, cases[i].open, cases[i].n);
    sb_add(&b, cases[i].inner);
    sb_fill(&b, cases[i].close, cases[i].n);
    sb_add(&b, cases[i].after);
    check_sb(cases[i].name, &b, cases[i].want);
  }
}

static void test_deep_nesting(void) {
  sb b = {NULL, 0, 0};
  static const expect none = WANT_NO_MATCH;
  static const expect bad = WANT_MALFORMED;
  static const expect after = WANT_A("after", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  sb_fill(&b, ']', 100000);
  sb_add(&b, "]");
  check_sb_sizes("100000 nested arrays, closed", &b, &none, SOME);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  check_sb_sizes("100000 nested arrays, never closed", &b, &bad, SOME);

  sb_add(&b, "[\"\\u0041\",");
  sb_fill(&b, '[', 100000);
  sb_add(&b, "}");
  check_sb_sizes("100000 nested arrays closed by '}'", &b, &bad, SOME);

  sb_add(&b, "{\"link_token\":\"x\",\"a\":");
  sb_rep(&b, "{\"a\":", 100000);
  sb_add(&b, "1");
  sb_fill(&b, '}', 100000);
  sb_add(&b, "}");
  check_sb_sizes("100000 nested objects, closed", &b, &none, SOME);

  sb_add(&b, "{\"link_token\":\"x\",\"a\":");
  sb_rep(&b, "{\"a\":", 100000);
  check_sb_sizes("100000 nested objects, never closed", &b, &bad, SOME);

  sb_fill(&b, '[', 100000);
  sb_add(&b, "{\"type\":\"authenticate_meta\"}");
  sb_fill(&b, ']', 100000);
  check_sb_sizes("match inside 100000 arrays", &b, &none, SOME);

  sb_add(&b, "[");
  sb_fill(&b, '[', 100000);
  sb_fill(&b, ']', 100000);
  sb_add(&b, ",{\"type\":\"authenticate_meta\",\"Connector\":\"after\"}]");
  check_sb_sizes("match after 100000 nested arrays", &b, &after, SOME);
}

static void test_huge_number(void) {
  sb b = {NULL, 0, 0};
  static const expect want = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect want_b = WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT);
  /* The number before the trigger: yajl first sees it whole. */
  sb_add(&b, "{\"n\":1");
  sb_fill(&b, '0', 99999);
  sb_add(&b, ",\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}");
  check_sb_sizes("100000-digit number before a match", &b, &want, SOME);
  /* The number after the trigger: it reaches yajl in pieces as it is fed,
   * 1 byte a call among the sizes. The result must be right; that the work
   * is linear is measured by bench-detect-stall (bench/), as a ratio. */
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"n\":-1");
  sb_fill(&b, '0', 99998);
  sb_add(&b, "}");
  check_sb_sizes("100000-digit number after a match", &b, &want, FEW);
  /* a fraction and an exponent of 100000 digits each, after a match */
  sb_add(&b, "[{\"link_token\":\"t\",\"magic_link_url\":\"u\"},-0.");
  sb_fill(&b, '0', 100000);
  sb_add(&b, "e-");
  sb_fill(&b, '9', 100000);
  sb_add(&b, "]");
  check_sb_sizes("100000-digit fraction and exponent after a match", &b, &want_b, SOME);
}

static void test_long_string_stall(void) {
  /* Not a number but the same concern (DESIGN: never stall; detect.h: work
   * is incremental and linear): a 200 000-byte string value after the
   * trigger (say, a big MCP text) fed 1 byte a call. Its value is over
   * 4096 bytes, so the message is omitted. */
  sb b = {NULL, 0, 0};
  static const expect want = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  sb_add(&b, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"");
  sb_fill(&b, 's', 200000);
  sb_add(&b, "\"}");
  check_sb_sizes("200000-byte string after a match", &b, &want, FEW);
}

/* A payload of one long field: before, n bytes of fill, after. */
typedef struct long_field {
  const char *name;
  const char *before;
  char fill;
  size_t n;
  const char *after;
  const expect *want;
} long_field;

static void test_long_fields(void) {
  static const expect msg4096 = WANT_A("slack", ABSENT, ABSENT, ABSENT, m4096, ABSENT);
  static const expect msg4097 = WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect lt4096 = WANT_B(ABSENT, k4096, "u", ABSENT, ABSENT, ABSENT);
  static const expect lt4097 = WANT_B(ABSENT, ABSENT, "u", ABSENT, "m", ABSENT);
  static const expect url5000 = WANT_B(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect a_lt5000 = WANT_A("slack", ABSENT, ABSENT, ABSENT, "m", ABSENT);
  static const expect conn5000 = WANT_A(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);
  static const expect id5000 = WANT_A(ABSENT, "t", ABSENT, ABSENT, ABSENT, ABSENT);
  static const long_field cases[] = {
      {"message of 4096 bytes kept",
       "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"", 'm', 4096, "\"}",
       &msg4096},
      {"message of 4097 bytes omitted",
       "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"", 'm', 4097, "\"}",
       &msg4097},
      {"magic link, link_token of 4096 bytes kept", "{\"magic_link_url\":\"u\",\"link_token\":\"", 'k',
       4096, "\"}", &lt4096},
      {"magic link, link_token of 4097 bytes: match, token omitted",
       "{\"magic_link_url\":\"u\",\"message\":\"m\",\"link_token\":\"", 'k', 4097, "\"}", &lt4097},
      {"magic link, url of 5000 bytes: match, url omitted",
       "{\"link_token\":\"t\",\"magic_link_url\":\"https://l.example/", 'u', 5000, "\"}", &url5000},
      {"shape a, link_token of 5000 bytes omitted",
       "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"", 'k', 5000,
       "\",\"message\":\"m\"}", &a_lt5000},
      {"Connector of 5000 bytes omitted",
       "{\"type\":\"authenticate_meta\",\"link_token\":\"t\",\"Connector\":\"", 'c', 5000, "\"}",
       &conn5000},
      {"enclosing call_id of 5000 bytes omitted", "{\"call_id\":\"", 'i', 5000,
       "\",\"r\":{\"type\":\"authenticate_meta\",\"link_token\":\"t\"}}", &id5000},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sb b = {NULL, 0, 0};
    sb_add(&b, cases[i].before);
    sb_fill(&b, cases[i].fill, cases[i].n);
    sb_add(&b, cases[i].after);
    check_sb(cases[i].name, &b, cases[i].want);
  }
}

static void test_many_enclosing_captures(void) {
  /* 16 enclosing objects each with a 4095-byte message (each under the
   * 4096-byte field limit), then a plain magic link: a valid ~66 KB payload
   * whose match must still be found with its fields. */
  sb b = {NULL, 0, 0};
  static const expect want =
      WANT_B(ABSENT, "ltk_abcdefghijklmnopqrst",
             "https://relay.example/_authrelay/link/ltk_abcdefghijklmnopqrst", ABSENT, ABSENT,
             ABSENT);
  int i;
  for (i = 0; i < 16; i++) {
    sb_add(&b, "{\"message\":\"");
    sb_fill(&b, 'x', 4095);
    sb_add(&b, "\",\"next\":");
  }
  sb_add(&b, "{\"link_token\":\"ltk_abcdefghijklmnopqrst\",\"magic_link_url\":"
             "\"https://relay.example/_authrelay/link/ltk_abcdefghijklmnopqrst\"}");
  sb_fill(&b, '}', 16);
  check_sb("magic link inside 16 objects with 4095-byte messages", &b, &want);
}

int main(void) {
  memset(m4096, 'm', 4096);
  memset(k4096, 'k', 4096);
  /* each group in one forked child */
  RUN_GROUP(test_white_space_generated);
  RUN_GROUP(test_json_in_string_levels);
  RUN_GROUP(test_depth_boundary);
  RUN_GROUP(test_deep_nesting);
  RUN_GROUP(test_long_fields);
  RUN_GROUP(test_many_enclosing_captures);
  /* one forked child each */
  RUN(test_huge_number);
  RUN(test_long_string_stall);
  return unit_report();
}
