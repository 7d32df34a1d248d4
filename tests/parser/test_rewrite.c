/* test_rewrite: unit tests of the rewriter (parser/rewrite.c).
 *
 * Each case gives a payload and the exact bytes the rewrite must produce (or
 * the error it must return), so byte identity outside the three values is
 * checked literally. Payloads are written with ' for " (J()), so a level-1
 * quote reads \\' and a level-2 one \\\\\\'. Where the new values hold
 * characters that need escaping, the output also goes through the detector,
 * which decodes every string level: it must extract the new values exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "dynbuf.h"
#include "rewrite.h"
#include "unit.h"

#define LT "ltk_new"
#define URL "http://relay.test/_authrelay/link/ltk_new"
#define EXP "2026-12-05T03:00:00Z"

static const rewrite_values plain_values = {LT, sizeof LT - 1, URL, sizeof URL - 1,
                                            EXP, sizeof EXP - 1, NULL, 0};

/* A link token that needs every kind of escape: quote, backslash, an HTML
 * end tag, U+2028, U+2029, control characters, and other UTF-8 (é, 😀). */
static const char hard_token[] = "t\"\\</script>&\xE2\x80\xA8\xE2\x80\xA9\x01\n\t\x1f\xC3\xA9\xF0\x9F\x98\x80/";

/* Payload text with ' for ". */
static char *J(const char *s) {
  size_t i;
  char *out = malloc(strlen(s) + 1);
  if (out == NULL)
    abort();
  for (i = 0; s[i] != '\0'; i++)
    out[i] = s[i] == '\'' ? '"' : s[i];
  out[i] = '\0';
  return out;
}

/* Rewrites J(in) with v into a fresh buffer holding "prefix:" first (it must
 * stay); returns the status, the output (after the prefix) in *result
 * (caller frees) and the count. */
static int run(const char *in, const rewrite_values *v, size_t cap, char **result, size_t *count) {
  char *payload = J(in);
  dynbuf out;
  int rc;
  dynbuf_init(&out, cap);
  CHECK(dynbuf_add(&out, "prefix:", 7) == 0);
  rc = rewrite_auth_values(payload, strlen(payload), v, &out, count);
  CHECK(out.len >= 7 && memcmp(out.ptr, "prefix:", 7) == 0);
  *result = malloc(out.len - 7 + 1);
  if (*result == NULL)
    abort();
  memcpy(*result, out.ptr + 7, out.len - 7);
  (*result)[out.len - 7] = '\0';
  dynbuf_free(&out);
  free(payload);
  return rc;
}

/* The rewrite of J(in) must succeed with `found` objects and give J(want). */
static void expect(const char *in, const char *want, size_t found) {
  char *got;
  char *w = J(want);
  size_t count = 99;
  int rc = run(in, &plain_values, 1 << 20, &got, &count);
  CHECK(rc == 0);
  CHECK_EQ_U64(count, found);
  if (strcmp(got, w) != 0)
    fprintf(stderr, "  in:   %s\n  got:  %s\n  want: %s\n", in, got, w);
  CHECK(strcmp(got, w) == 0);
  free(got);
  free(w);
}

/* The rewrite of J(in) must fail with err and leave the buffer as it was. */
static void expect_error(const char *in, int err) {
  char *got;
  size_t count = 99;
  int rc = run(in, &plain_values, 1 << 20, &got, &count);
  CHECK(rc == err);
  if (rc != err)
    fprintf(stderr, "  in: %s: rc %d, want %d\n", in, rc, err);
  CHECK(got[0] == '\0');
  CHECK_EQ_U64(count, 0);
  free(got);
}

/* ---- level 0 --------------------------------------------------------------- */

static void test_level0_shapes(void) {
  /* Shape (a), every value replaced, the rest byte for byte. */
  expect("{'type':'authenticate_meta','Connector':'slack','link_token':'old',"
         "'magic_link_url':'https://up.example/x?a=1','expires_at':'2020-01-01T00:00:00Z',"
         "'message':'Please connect'}",
         "{'type':'authenticate_meta','Connector':'slack','link_token':'" LT "',"
         "'magic_link_url':'" URL "','expires_at':'" EXP "',"
         "'message':'Please connect'}",
         1);
  /* Shape (b), members in another order, white space kept. */
  expect("{ 'magic_link_url' :\t'https://up/x' ,\r\n 'message':'m', 'link_token' : 'old' }",
         "{ 'magic_link_url' :\t'" URL "' ,\r\n 'message':'m', 'link_token' : '" LT "' }", 1);
  /* Deep inside an event, next to other objects that are left alone. */
  expect("{'a':[1,{'link_token':'keep'},{'b':{'type':'authenticate_meta','link_token':'old'}}],"
         "'expires_at':'keep'}",
         "{'a':[1,{'link_token':'keep'},{'b':{'type':'authenticate_meta','link_token':'" LT
         "'}}],'expires_at':'keep'}",
         1);
}

static void test_absent_and_non_string(void) {
  /* Members the upstream did not send are not added. */
  expect("{'type':'authenticate_meta','link_token':'old'}",
         "{'type':'authenticate_meta','link_token':'" LT "'}", 1);
  expect("{'type':'authenticate_meta','Connector':'slack'}",
         "{'type':'authenticate_meta','Connector':'slack'}", 1);
  /* A value that is not a string is left as it is. */
  expect("{'type':'authenticate_meta','link_token':null,'magic_link_url':42,"
         "'expires_at':{'link_token':'x'},'m':['link_token']}",
         "{'type':'authenticate_meta','link_token':null,'magic_link_url':42,"
         "'expires_at':{'link_token':'x'},'m':['link_token']}",
         1);
  /* Shape (b) needs both as strings: not auth-required, nothing changes. */
  expect_error("{'link_token':'a','magic_link_url':null}", -ENOENT);
  /* "type" must be the string authenticate_meta. */
  expect_error("{'type':['authenticate_meta'],'link_token':'a'}", -ENOENT);
}

static void test_escaped_keys(void) {
  expect("{'link\\u005ftoken':'old','magic\\u005Flink_url':'u','\\u0074ype':'x'}",
         "{'link\\u005ftoken':'" LT "','magic\\u005Flink_url':'" URL "','\\u0074ype':'x'}", 1);
  expect("{'\\u0074ype':'\\u0061uthenticate_meta','expires\\u005fat':'old'}",
         "{'\\u0074ype':'\\u0061uthenticate_meta','expires\\u005fat':'" EXP "'}", 1);
  /* Old values with escapes of their own are replaced whole. */
  expect("{'type':'authenticate_meta','link_token':'o\\'l\\\\d\\u00e9\\ud83d\\ude00'}",
         "{'type':'authenticate_meta','link_token':'" LT "'}", 1);
}

static void test_duplicates(void) {
  /* Every copy of a member is rewritten, whichever one a client keeps. */
  expect("{'type':'authenticate_meta','link_token':'a','link_token':7,'link_token':'b'}",
         "{'type':'authenticate_meta','link_token':'" LT "','link_token':7,'link_token':'" LT
         "'}",
         1);
}

/* ---- JSON inside strings ------------------------------------------------------ */

static void test_level1(void) {
  /* The example of the issue: only the value's bytes change. */
  expect("{'text':'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'old\\'}'}",
         "{'text':'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'" LT "\\'}'}", 1);
  /* MCP tool result shape, magic-link payload, other escapes around kept. */
  expect("{'jsonrpc':'2.0','id':3,'result':{'content':[{'type':'text','text':"
         "'\\n {\\'message\\':\\'Conn\\u00e9ct\\\\n\\',\\'magic_link_url\\':\\'https:\\/\\/up\\/x\\',"
         "\\'link_token\\':\\'old\\'}\\t'}]}}",
         "{'jsonrpc':'2.0','id':3,'result':{'content':[{'type':'text','text':"
         "'\\n {\\'message\\':\\'Conn\\u00e9ct\\\\n\\',\\'magic_link_url\\':\\'" URL "\\',"
         "\\'link_token\\':\\'" LT "\\'}\\t'}]}}",
         1);
  /* The quotes of the inner text written as \u0022: still mapped. */
  expect("{'output':'{\\u0022type\\u0022:\\u0022authenticate_meta\\u0022,"
         "\\u0022link_token\\u0022:\\u0022old\\u0022}'}",
         "{'output':'{\\u0022type\\u0022:\\u0022authenticate_meta\\u0022,"
         "\\u0022link_token\\u0022:\\u0022" LT "\\u0022}'}",
         1);
  /* Escaped keys inside the inner text (\\u005f there). */
  expect("{'o':'{\\'link\\\\u005ftoken\\':\\'a\\',\\'magic_link_url\\':\\'b\\'}'}",
         "{'o':'{\\'link\\\\u005ftoken\\':\\'" LT "\\',\\'magic_link_url\\':\\'" URL "\\'}'}", 1);
  /* A whole payload that is a JSON string. */
  expect("'{\\'type\\':\\'authenticate_meta\\',\\'expires_at\\':\\'x\\'}'",
         "'{\\'type\\':\\'authenticate_meta\\',\\'expires_at\\':\\'" EXP "\\'}'", 1);
  /* Lone and paired surrogates, é, next to the value: kept as they were. */
  expect("{'t':'[\\'\\ud800\\',{\\'type\\':\\'authenticate_meta\\',\\'x\\':\\'\\ud800\\',"
         "\\'link_token\\':\\'\\u00e9\\ud83d\\ude00\\ud800\\'}]'}",
         "{'t':'[\\'\\ud800\\',{\\'type\\':\\'authenticate_meta\\',\\'x\\':\\'\\ud800\\',"
         "\\'link_token\\':\\'" LT "\\'}]'}",
         1);
}

static void test_level2(void) {
  expect("{'a':'{\\'b\\':\\'{\\\\\\'type\\\\\\':\\\\\\'authenticate_meta\\\\\\',"
         "\\\\\\'link_token\\\\\\':\\\\\\'old\\\\\\'}\\'}'}",
         "{'a':'{\\'b\\':\\'{\\\\\\'type\\\\\\':\\\\\\'authenticate_meta\\\\\\',"
         "\\\\\\'link_token\\\\\\':\\\\\\'" LT "\\\\\\'}\\'}'}",
         1);
  /* Three levels down is past DETECT_MAX_STRING_LEVELS: not looked into. */
  expect_error("{'a':'{\\'b\\':\\'{\\\\\\'c\\\\\\':\\\\\\'{\\\\\\\\\\\\\\'type\\\\\\\\\\\\\\':"
               "\\\\\\\\\\\\\\'authenticate_meta\\\\\\\\\\\\\\'}\\\\\\'}\\'}'}",
               -ENOENT);
}

static void test_inner_not_json(void) {
  /* Trailing garbage, or a form feed (from \f), make the inner text not
   * JSON: nothing inside it counts, as for the detector. */
  expect_error("{'t':'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'x\\'} junk'}",
               -ENOENT);
  expect_error("{'t':'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'x\\'}\\f'}",
               -ENOENT);
  /* A string that does not start like a JSON text is not looked into. */
  expect_error("{'t':'x{\\'type\\':\\'authenticate_meta\\'}'}", -ENOENT);
}

/* ---- several results ------------------------------------------------------------ */

static void test_multiple(void) {
  /* OpenAI response.completed repeats the output item: every copy changes. */
  expect("{'type':'response.completed','response':{'output':["
         "{'type':'function_call_output','call_id':'c1','output':"
         "'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'old\\'}'},"
         "{'type':'authenticate_meta','link_token':'old2','expires_at':'e'}]}}",
         "{'type':'response.completed','response':{'output':["
         "{'type':'function_call_output','call_id':'c1','output':"
         "'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'" LT "\\'}'},"
         "{'type':'authenticate_meta','link_token':'" LT "','expires_at':'" EXP "'}]}}",
         2);
  /* Nested auth objects: both are rewritten. */
  expect("{'type':'authenticate_meta','link_token':'a','inner':"
         "{'link_token':'b','magic_link_url':'c'}}",
         "{'type':'authenticate_meta','link_token':'" LT "','inner':"
         "{'link_token':'" LT "','magic_link_url':'" URL "'}}",
         2);
  /* An auth object inside the old link_token goes away with it: one left. */
  expect("{'type':'authenticate_meta','link_token':"
         "'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'x\\'}','z':1}",
         "{'type':'authenticate_meta','link_token':'" LT "','z':1}", 1);
  /* ...but inside another member it is rewritten in place. */
  expect("{'type':'authenticate_meta','message':"
         "'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'x\\'}'}",
         "{'type':'authenticate_meta','message':"
         "'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'" LT "\\'}'}",
         2);
}

/* ---- depth ------------------------------------------------------------------------ */

static char *nest(size_t arrays, const char *inside) {
  size_t n = strlen(inside);
  char *s = malloc(2 * arrays + n + 1);
  if (s == NULL)
    abort();
  memset(s, '[', arrays);
  memcpy(s + arrays, inside, n);
  memset(s + arrays + n, ']', arrays);
  s[2 * arrays + n] = '\0';
  return s;
}

static void test_depth(void) {
  const char *obj = "{'type':'authenticate_meta','link_token':'old'}";
  const char *want_obj = "{'type':'authenticate_meta','link_token':'" LT "'}";
  char *in;
  char *want;
  char *got;
  size_t count;
  /* The object is container DETECT_MAX_DEPTH: matched, as by the detector. */
  in = nest(DETECT_MAX_DEPTH - 1, obj);
  want = nest(DETECT_MAX_DEPTH - 1, want_obj);
  expect(in, want, 1);
  free(in);
  free(want);
  /* One deeper: not looked into. */
  in = nest(DETECT_MAX_DEPTH, obj);
  expect_error(in, -ENOENT);
  free(in);
  /* 100 000 levels next to a match at the top: no crash, no stall. */
  {
    static const char head[] = "[{'type':'authenticate_meta','link_token':'old'},";
    size_t h = sizeof head - 1;
    in = malloc(h + 200001 + 1);
    if (in == NULL)
      abort();
    memcpy(in, head, h);
    memset(in + h, '[', 100000);
    memset(in + h + 100000, ']', 100001);
    in[h + 200001] = '\0';
  }
  CHECK(run(in, &plain_values, 1 << 20, &got, &count) == 0);
  CHECK_EQ_U64(count, 1);
  CHECK(strncmp(got, "[{\"type\":\"authenticate_meta\",\"link_token\":\"" LT "\"},[[[", 55) ==
        0);
  free(got);
  free(in);
}

/* ---- escaping of the new values -------------------------------------------------- */

/* The value written for hard_token, escaped once, twice, three times. */
#define HARD1 "t\\\"\\\\\\u003c/script\\u003e\\u0026\\u2028\\u2029\\u0001\\n\\t\\u001f\xC3\xA9\xF0\x9F\x98\x80/"

static void check_detects(const char *out, size_t len, const char *want, size_t want_len) {
  detect_t d;
  const detect_match *m = NULL;
  detect_init(&d);
  CHECK(detect_finish(&d, out, len, &m) == DETECT_MATCH);
  CHECK(m != NULL && m->link_token.ptr != NULL && m->link_token.len == want_len &&
        memcmp(m->link_token.ptr, want, want_len) == 0);
  detect_reset(&d);
}

static void test_hard_values(void) {
  static const char *const payloads[] = {
      "{'type':'authenticate_meta','link_token':'old'}",
      "{'t':'{\\'type\\':\\'authenticate_meta\\',\\'link_token\\':\\'old\\'}'}",
      ("{'a':'{\\'b\\':\\'{\\\\\\'type\\\\\\':\\\\\\'authenticate_meta\\\\\\',"
       "\\\\\\'link_token\\\\\\':\\\\\\'old\\\\\\'}\\'}'}"),
  };
  rewrite_values v = plain_values;
  size_t level;
  v.link_token = hard_token;
  v.link_token_len = sizeof hard_token - 1;
  for (level = 0; level < 3; level++) {
    char *got;
    size_t count;
    CHECK(run(payloads[level], &v, 1 << 20, &got, &count) == 0);
    CHECK_EQ_U64(count, 1);
    check_detects(got, strlen(got), hard_token, sizeof hard_token - 1);
    if (level == 0)
      CHECK(strcmp(got, "{\"type\":\"authenticate_meta\",\"link_token\":\"" HARD1 "\"}") == 0);
    if (level == 1) /* the once-escaped value escaped again */
      CHECK(strstr(got, "\\\"link_token\\\":\\\"t\\\\\\\"\\\\\\\\\\\\u003c/script\\\\u003e") !=
            NULL);
    CHECK(strstr(got, "</") == NULL && strstr(got, "\xE2\x80\xA8") == NULL);
    free(got);
  }
  /* A NUL and an empty value. */
  v.link_token = "a\0b";
  v.link_token_len = 3;
  v.expires_at = "";
  v.expires_at_len = 0;
  {
    char *got;
    size_t count;
    CHECK(run(payloads[1], &v, 1 << 20, &got, &count) == 0);
    check_detects(got, strlen(got), "a\0b", 3);
    free(got);
  }
}

static void test_bad_values(void) {
  rewrite_values v = plain_values;
  dynbuf out;
  const char *in = "{\"type\":\"authenticate_meta\",\"link_token\":\"old\"}";
  static char long_value[DETECT_FIELD_MAX + 2];
  dynbuf_init(&out, 1 << 20);
  v.link_token = "\xC0\xAF"; /* overlong: not UTF-8 */
  v.link_token_len = 2;
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  v.link_token = " {\"type\":\"authenticate_meta\"}"; /* a JSON text the detector would read */
  v.link_token_len = strlen(v.link_token);
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  memset(long_value, 'a', sizeof long_value);
  v.link_token = long_value;
  v.link_token_len = DETECT_FIELD_MAX + 1;
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  v.link_token_len = DETECT_FIELD_MAX; /* the longest the detector extracts */
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == 0);
  v = plain_values;
  v.magic_link_url = NULL;
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  CHECK(rewrite_auth_values(in, strlen(in), NULL, &out, NULL) == -EINVAL);
  dynbuf_free(&out);
}

#define MSG "The user chose not to connect Slack now."

/* J(in) rewritten with the values and a message must give J(want). */
static void expect_with_message(const char *in, const char *want, size_t found) {
  rewrite_values v = plain_values;
  char *got;
  char *w = J(want);
  size_t count = 99;
  v.message = MSG;
  v.message_len = sizeof MSG - 1;
  CHECK(run(in, &v, 1 << 20, &got, &count) == 0);
  CHECK_EQ_U64(count, found);
  if (strcmp(got, w) != 0)
    fprintf(stderr, "  in:   %s\n  got:  %s\n  want: %s\n", in, got, w);
  CHECK(strcmp(got, w) == 0);
  free(got);
  free(w);
}

/* The optional message: a declined tool call's answer (DESIGN.md
 * "Connections"). Rewritten where a string message member exists, at every
 * level, never added; without it, messages stay (test_level0_shapes). */
static void test_message(void) {
  rewrite_values v = plain_values;
  dynbuf out;
  const char *in = "{\"type\":\"authenticate_meta\",\"message\":\"x\"}";
  detect_t d;
  const detect_match *m = NULL;
  expect_with_message("{'type':'authenticate_meta','link_token':'old','message':'Please connect'}",
                      "{'type':'authenticate_meta','link_token':'" LT "','message':'" MSG "'}", 1);
  expect_with_message("{'message':'m','magic_link_url':'u','link_token':'t'}",
                      "{'message':'" MSG "','magic_link_url':'" URL "','link_token':'" LT "'}", 1);
  /* none sent: none added; not a string: left as it is */
  expect_with_message("{'type':'authenticate_meta','link_token':'old'}",
                      "{'type':'authenticate_meta','link_token':'" LT "'}", 1);
  expect_with_message("{'type':'authenticate_meta','message':null,'link_token':'old'}",
                      "{'type':'authenticate_meta','message':null,'link_token':'" LT "'}", 1);
  /* a message outside an auth-required object stays */
  expect_with_message("{'message':'hi','r':{'type':'authenticate_meta','message':'m'}}",
                      "{'message':'hi','r':{'type':'authenticate_meta','message':'" MSG "'}}", 1);
  /* level 1 (an MCP text content) */
  expect_with_message("{'text':'{\\'type\\':\\'authenticate_meta\\',\\'message\\':\\'m\\'}'}",
                      "{'text':'{\\'type\\':\\'authenticate_meta\\',\\'message\\':\\'" MSG "\\'}'}", 1);
  /* escaped as any value, and refused by the same rules */
  v.message = hard_token;
  v.message_len = sizeof hard_token - 1;
  dynbuf_init(&out, 1 << 20);
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == 0);
  CHECK(dynbuf_add(&out, "", 1) == 0); /* a C string from here */
  CHECK(strstr(out.ptr, "</") == NULL && strstr(out.ptr, "\"x\"") == NULL);
  detect_init(&d); /* decoded, the message is the new one exactly */
  CHECK(detect_finish(&d, out.ptr, out.len - 1, &m) == DETECT_MATCH);
  CHECK(m != NULL && m->message.ptr != NULL && m->message.len == sizeof hard_token - 1 &&
        memcmp(m->message.ptr, hard_token, sizeof hard_token - 1) == 0);
  detect_reset(&d);
  out.len = 0;
  v.message = "\xC0\xAF";
  v.message_len = 2;
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  v.message = "{\"type\":\"authenticate_meta\"}";
  v.message_len = strlen(v.message);
  CHECK(rewrite_auth_values(in, strlen(in), &v, &out, NULL) == -EINVAL);
  CHECK(out.len == 0);
  dynbuf_free(&out);
}

/* ---- payloads without a result, malformed, caps ------------------------------------ */

static void test_no_match_and_malformed(void) {
  expect_error("{'a':'b','link_token':'x'}", -ENOENT);
  expect_error("[]", -ENOENT);
  expect_error("", -EINVAL);
  expect_error("{'type':'authenticate_meta','link_token':'old'", -EINVAL);
  expect_error("{'type':'authenticate_meta','link_token':'old'} x", -EINVAL);
  expect_error("{'type':'authenticate_meta','link_token':'old'}\v", -EINVAL);
  expect_error("{'type':'authenticate_meta','link_token':'\xC0\xAF'}", -EINVAL);
  expect_error("{'type':'authenticate_meta','link_token':'\xED\xA0\x80'}", -EINVAL);
}

static void test_output_cap(void) {
  const char *in = "{'type':'authenticate_meta','link_token':'old'}";
  const char *want = "{'type':'authenticate_meta','link_token':'" LT "'}";
  char *got;
  size_t count;
  size_t need = 7 + strlen(want); /* with the prefix */
  /* toobig is a size the buffer may never reach. */
  CHECK(run(in, &plain_values, need, &got, &count) == -E2BIG);
  CHECK(got[0] == '\0');
  CHECK_EQ_U64(count, 0);
  free(got);
  CHECK(run(in, &plain_values, need + 1, &got, &count) == 0);
  {
    char *w = J(want);
    CHECK(strcmp(got, w) == 0);
    free(w);
  }
  free(got);
}

static void test_edit_cap(void) {
  /* REWRITE_MAX_EDITS objects fit, one more is refused. */
  size_t n;
  for (n = REWRITE_MAX_EDITS; n <= REWRITE_MAX_EDITS + 1; n++) {
    static const char item[] = "{\"type\":\"authenticate_meta\",\"link_token\":\"x\"},";
    size_t len = 1 + n * (sizeof item - 1) + 1;
    char *in = malloc(len + 1);
    dynbuf out;
    size_t count = 0;
    size_t i;
    int rc;
    if (in == NULL)
      abort();
    in[0] = '[';
    for (i = 0; i < n; i++)
      memcpy(in + 1 + i * (sizeof item - 1), item, sizeof item - 1);
    in[len - 2] = ']'; /* over the last comma */
    in[len - 1] = '\0';
    dynbuf_init(&out, 64 << 20);
    rc = rewrite_auth_values(in, len - 1, &plain_values, &out, &count);
    CHECK(rc == (n == REWRITE_MAX_EDITS ? 0 : -E2BIG));
    CHECK_EQ_U64(count, n == REWRITE_MAX_EDITS ? n : 0);
    dynbuf_free(&out);
    free(in);
  }
}

int main(void) {
  RUN(test_level0_shapes);
  RUN(test_absent_and_non_string);
  RUN(test_escaped_keys);
  RUN(test_duplicates);
  RUN(test_level1);
  RUN(test_level2);
  RUN(test_inner_not_json);
  RUN(test_multiple);
  RUN(test_depth);
  RUN(test_hard_values);
  RUN(test_bad_values);
  RUN(test_message);
  RUN(test_no_match_and_malformed);
  RUN(test_output_cap);
  RUN(test_edit_cap);
  return unit_report();
}
