/* Unit tests of apivalid: the link API's depth-capped JSON parse and its
 * table-driven validation (lengths in code points, types, null, enums,
 * uuid), and the DRF-shaped error body. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "apivalid.h"
#include "unit.h"

/* Parses text; NULL when apivalid_parse refuses it. */
static yajl_val parse(const char *text) {
  yajl_val root = NULL;
  char err[128];
  if (apivalid_parse(text, strlen(text), &root, err, sizeof err) != 0)
    return NULL;
  return root;
}

/* The error body of checking text against t ("" when it passes). */
static void check_text(const char *text, const apivalid_table *t, int partial, char *out, size_t cap) {
  apivalid_errors e;
  dynbuf body;
  yajl_val root = parse(text);
  out[0] = '\0';
  apivalid_errors_init(&e);
  dynbuf_init(&body, 1 << 20);
  if (root != NULL && apivalid_check(root, t, partial, &e) != 0) {
    (void)apivalid_errors_render(&e, &body);
    snprintf(out, cap, "%.*s", (int)body.len, body.ptr);
  }
  if (root == NULL)
    snprintf(out, cap, "PARSE");
  yajl_tree_free(root);
  dynbuf_free(&body);
  apivalid_errors_free(&e);
}

/* text with n copies of unit between prefix and suffix, into a malloc'd string. */
static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix) {
  size_t len = strlen(prefix) + strlen(unit) * n + strlen(suffix) + 1;
  char *s = malloc(len);
  size_t i;
  strcpy(s, prefix);
  for (i = 0; i < n; i++)
    strcat(s, unit);
  strcat(s, suffix);
  return s;
}

static void test_chars(void) {
  CHECK(apivalid_chars("abc", 3) == 3);
  CHECK(apivalid_chars("\xc3\xa9\xc3\xa9", 4) == 2);             /* éé */
  CHECK(apivalid_chars("\xf0\x9f\x99\x82", 4) == 1);             /* one emoji */
  CHECK(apivalid_chars("", 0) == 0);
  CHECK(apivalid_chars("\xc3", 1) == -EILSEQ);                   /* cut */
  CHECK(apivalid_chars("\xc0\xaf", 2) == -EILSEQ);               /* overlong */
  CHECK(apivalid_chars("\xed\xb0\x80", 3) == -EILSEQ);           /* a surrogate */
  CHECK(apivalid_chars("\xf4\x90\x80\x80", 4) == -EILSEQ);       /* above U+10FFFF */
  CHECK(apivalid_chars("\x80", 1) == -EILSEQ);
}

static void test_uuid(void) {
  CHECK(apivalid_is_uuid("3c90c3c0-6d46-4b50-8888-8dd25736052f"));
  CHECK(apivalid_is_uuid("3C90C3C0-6D46-4B50-8888-8DD25736052F"));
  CHECK(!apivalid_is_uuid("3c90c3c0-6d46-4b50-8888-8dd25736052"));
  CHECK(!apivalid_is_uuid("3c90c3c0-6d46-4b50-8888-8dd25736052f0"));
  CHECK(!apivalid_is_uuid("3c90c3c06d464b5088888dd25736052f"));
  CHECK(!apivalid_is_uuid("3c90c3c0-6d46-4b50-8888_8dd25736052f"));
  CHECK(!apivalid_is_uuid("g c90c3c0-6d46-4b50-8888-8dd25736052f"));
  CHECK(!apivalid_is_uuid(""));
}

static void test_parse(void) {
  char err[128];
  yajl_val root;
  char *deep;
  CHECK((root = parse("{\"a\":1}")) != NULL);
  yajl_tree_free(root);
  CHECK(parse("[1]") == NULL);                     /* not an object */
  CHECK(parse("\"x\"") == NULL);
  CHECK(parse("{\"a\":1} {}") == NULL);            /* trailing value */
  CHECK(parse("{\"a\":1,}") == NULL);
  CHECK(parse("{/* c */\"a\":1}") == NULL);        /* no comments */
  CHECK(parse("{\"a\":\"x\\u0000y\"}") == NULL);   /* U+0000 in a string */
  CHECK(parse("{\"a\\u0000\":1}") == NULL);        /* and in a key */
  CHECK(apivalid_parse("{\"a\":\"x\0\"}", 9, &root, err, sizeof err) == -EINVAL);
  CHECK(parse("{\"a\":1\f}") == NULL);            /* form feed is not white space */
  CHECK(parse("\v{\"a\":1}") == NULL);            /* nor vertical tab */
  CHECK((root = parse("{\"a\":\"\\f\"}")) != NULL); /* the escape \f in a string is */
  yajl_tree_free(root);
  /* depth: the object is level 1 */
  deep = repeat("{\"a\":", "[", APIVALID_DEPTH - 1, "");
  {
    char *full = repeat(deep, "]", APIVALID_DEPTH - 1, "}");
    CHECK((root = parse(full)) != NULL);
    yajl_tree_free(root);
    free(full);
  }
  free(deep);
  deep = repeat("{\"a\":", "[", APIVALID_DEPTH, "");
  {
    char *full = repeat(deep, "]", APIVALID_DEPTH, "}");
    CHECK(apivalid_parse(full, strlen(full), &root, err, sizeof err) == -EINVAL);
    CHECK(strstr(err, "deep") != NULL);
    CHECK(root == NULL);
    free(full);
  }
  free(deep);
  deep = repeat("", "[", 100000, "");
  CHECK(apivalid_parse(deep, strlen(deep), &root, err, sizeof err) == -EINVAL);
  free(deep);
}

static void test_lengths_in_code_points(void) {
  char out[4096];
  char *body;
  /* origin_user_name: 1-255 characters, whatever their bytes */
  body = repeat("{\"origin_user_id\":\"u\",\"origin_user_name\":\"", "\xc3\xa9", 255, "\"}");
  check_text(body, &apivalid_user, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out), "");
  free(body);
  body = repeat("{\"origin_user_id\":\"u\",\"origin_user_name\":\"", "\xf0\x9f\x99\x82", 255, "\"}");
  check_text(body, &apivalid_user, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out), "");
  free(body);
  body = repeat("{\"origin_user_id\":\"u\",\"origin_user_name\":\"", "\xc3\xa9", 256, "\"}");
  check_text(body, &apivalid_user, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out), "{\"origin_user_name\":[\"Ensure this field has no more than 255 characters.\"]}\n");
  free(body);
  /* escapes count as the character they stand for */
  body = repeat("{\"origin_user_id\":\"u\",\"origin_user_name\":\"", "\\u00e9", 255, "\"}");
  check_text(body, &apivalid_user, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out), "");
  free(body);
  /* a lone surrogate escape is no character */
  check_text("{\"origin_user_id\":\"u\",\"origin_user_name\":\"\\udc00\"}", &apivalid_user, 0, out, sizeof out);
  CHECK(strstr(out, "\"origin_user_name\":[\"Not a valid string: it is not well-formed UTF-8.\"]") != NULL);
}

static void test_types_null_enums(void) {
  char out[4096];
  check_text("{}", &apivalid_user, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out),
            "{\"origin_user_id\":[\"This field is required.\"],\"origin_user_name\":[\"This field is required.\"]}\n");
  check_text("{}", &apivalid_user, 1, out, sizeof out); /* an update requires nothing */
  CHECK_MEM(out, strlen(out), "");
  check_text("{\"origin_user_id\":7,\"origin_user_name\":null,\"user_type\":\"ROBOT\",\"is_test\":\"yes\","
             "\"shared_credential_group\":{\"origin_company_id\":\"\"}}",
             &apivalid_user, 0, out, sizeof out);
  CHECK(strstr(out, "\"origin_user_id\":[\"Not a valid string.\"]") != NULL);
  CHECK(strstr(out, "\"origin_user_name\":[\"This field may not be null.\"]") != NULL);
  CHECK(strstr(out, "\"user_type\":[\"Not a valid choice: use HUMAN or SYSTEM.\"]") != NULL);
  CHECK(strstr(out, "\"is_test\":[\"Must be a valid boolean.\"]") != NULL);
  CHECK(strstr(out, "\"origin_company_id\":[\"This field may not be blank.\"]") != NULL);
  check_text("{\"origin_user_id\":\"has space\",\"origin_user_name\":\"n\"}", &apivalid_user, 0, out, sizeof out);
  CHECK(strstr(out, "origin_user_id") != NULL);
  /* the unified token: integers, lists of enums, uuids, nullable members */
  check_text("{\"end_user_email_address\":\"a\",\"end_user_organization_name\":\"o\",\"end_user_origin_id\":\"i\","
             "\"categories\":[\"chat\"],\"language\":null,\"credential_id\":\"3c90c3c0-6d46-4b50-8888-8dd25736052f\","
             "\"link_expiry_mins\":10080,\"common_models\":[{}],\"category_common_model_scopes\":{\"hris\":[]}}",
             &apivalid_unified_link_token, 0, out, sizeof out);
  CHECK_MEM(out, strlen(out), "");
  check_text("{\"end_user_email_address\":\"a\",\"end_user_organization_name\":\"o\",\"end_user_origin_id\":\"i\","
             "\"categories\":[\"hris\",\"weather\"],\"language\":\"fr\",\"credential_id\":\"nope\","
             "\"link_expiry_mins\":29,\"common_models\":[1],\"linked_destination_id\":7,\"hide_admin_magic_link\":0,"
             "\"completed_account_initial_screen\":\"X\",\"integration_specific_config\":[]}",
             &apivalid_unified_link_token, 0, out, sizeof out);
  CHECK(strstr(out, "\"categories\":[\"Not a valid choice") != NULL);
  CHECK(strstr(out, "\"language\":[\"Not a valid choice: use en or de.\"]") != NULL);
  CHECK(strstr(out, "\"credential_id\":[\"Must be a valid UUID.\"]") != NULL);
  CHECK(strstr(out, "\"link_expiry_mins\":[\"Ensure this value is greater than or equal to 30.\"]") != NULL);
  CHECK(strstr(out, "\"common_models\":[\"Expected a list of objects.\"]") != NULL);
  CHECK(strstr(out, "\"linked_destination_id\":[\"Not a valid string.\"]") != NULL);
  CHECK(strstr(out, "\"hide_admin_magic_link\":[\"Must be a valid boolean.\"]") != NULL);
  CHECK(strstr(out, "\"completed_account_initial_screen\":[\"Not a valid choice") != NULL);
  CHECK(strstr(out, "\"integration_specific_config\":[\"Expected an object.\"]") != NULL);
  check_text("{\"end_user_email_address\":\"a\",\"end_user_organization_name\":\"o\",\"end_user_origin_id\":\"i\","
             "\"categories\":[],\"link_expiry_mins\":1e3}",
             &apivalid_unified_link_token, 0, out, sizeof out);
  CHECK(strstr(out, "\"categories\":[\"This list may not be empty.\"]") != NULL);
  CHECK(strstr(out, "\"link_expiry_mins\":[\"A valid integer is required.\"]") != NULL);
}

static void test_errors(void) {
  apivalid_errors e;
  dynbuf out;
  apivalid_errors_init(&e);
  dynbuf_init(&out, 4096);
  CHECK(apivalid_error(&e, "a", "first \"quoted\"") == 0);
  CHECK(apivalid_error(&e, "a", "second") == 0); /* one message per field */
  CHECK(apivalid_error(&e, "ab", "other") == 0);
  CHECK(apivalid_has_error(&e, "a"));
  CHECK(apivalid_has_error(&e, "ab"));
  CHECK(!apivalid_has_error(&e, "b"));
  CHECK_EQ_U64(e.count, 2);
  CHECK(apivalid_errors_render(&e, &out) == 0);
  CHECK_MEM(out.ptr, out.len, "{\"a\":[\"first \\\"quoted\\\"\"],\"ab\":[\"other\"]}\n");
  dynbuf_free(&out);
  apivalid_errors_free(&e);
}

int main(void) {
  RUN(test_chars);
  RUN(test_uuid);
  RUN(test_parse);
  RUN(test_lengths_in_code_points);
  RUN(test_types_null_enums);
  RUN(test_errors);
  return unit_report();
}
