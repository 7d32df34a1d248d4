/* test_linkpage: the link page's form parser and HTML (proxy/linkpage.c). */
#include <string.h>

#include "linkpage.h"
#include "unit.h"

static long field(const char *body, const char *name, char *out, size_t cap) {
  return linkpage_form_field(body, strlen(body), name, out, cap);
}

static void form_fields_decode(void) {
  char v[64];
  CHECK(field("api_key=sk-123", "api_key", v, sizeof v) == 6);
  CHECK_MEM(v, 6, "sk-123");
  CHECK(field("a=1&api_key=x%2By+z%21&b=2", "api_key", v, sizeof v) == 6);
  CHECK_MEM(v, 6, "x+y z!");
  CHECK(field("xapi_key=1&api_key=2", "api_key", v, sizeof v) == 1);
  CHECK_MEM(v, 1, "2");
  CHECK(field("api_key=%e2%82%ac", "api_key", v, sizeof v) == 3);
  CHECK_MEM(v, 3, "\xe2\x82\xac");
}

static void form_fields_refused(void) {
  char v[8];
  CHECK(field("other=1", "api_key", v, sizeof v) == -1);        /* absent */
  CHECK(field("api_key=", "api_key", v, sizeof v) == -1);       /* empty */
  CHECK(field("api_key", "api_key", v, sizeof v) == -1);        /* no '=' */
  CHECK(field("api_key=%4", "api_key", v, sizeof v) == -1);     /* cut %XX */
  CHECK(field("api_key=%zz", "api_key", v, sizeof v) == -1);    /* bad hex */
  CHECK(field("api_key=%4&x=1", "api_key", v, sizeof v) == -1); /* %XX cut by & */
  CHECK(field("api_key=12345678", "api_key", v, sizeof v) == -1); /* does not fit in 8 */
  CHECK(field("api_key=1234567", "api_key", v, sizeof v) == 7);  /* fits with its NUL */
  CHECK(field("", "api_key", v, sizeof v) == -1);
  /* a NUL byte would cut the value where callers read it as a C string */
  CHECK(field("api_key=ab%00cd", "api_key", v, sizeof v) == -1);
  CHECK(field("api_key=%00", "api_key", v, sizeof v) == -1);
  CHECK(linkpage_form_field("api_key=ab\0cd", 14, "api_key", v, sizeof v) == -1);
  CHECK(field("api_key=%01", "api_key", v, sizeof v) == 1);
  /* no room at all: nothing written, not even the NUL */
  v[0] = 'x';
  CHECK(field("api_key=", "api_key", v, 0) == -1);
  CHECK(field("api_key=a", "api_key", v, 0) == -1);
  CHECK(v[0] == 'x');
}

static void pages_escape_and_say_the_state(void) {
  linksvc_link_info info;
  dynbuf out;
  memset(&info, 0, sizeof info);
  strcpy(info.connector, "slack");
  strcpy(info.path, "/_authrelay/link/ltk_0123");
  strcpy(info.expires_at, "2026-05-04T18:30:00Z");
  dynbuf_init(&out, 65536);
  CHECK(linkpage_render(&out, &info, LINKSVC_STATE_PENDING, "Slack <Team>") == 200);
  (void)dynbuf_add(&out, "", 1);
  CHECK(strstr(out.ptr, "<h1>Connect Slack &lt;Team&gt;</h1>") != NULL); /* the display name, escaped */
  CHECK(strstr(out.ptr, "name=\"api_key\"") != NULL);
  CHECK(strstr(out.ptr, "action=\"/_authrelay/link/ltk_0123\"") != NULL);
  CHECK(strstr(out.ptr, "2026-05-04T18:30:00Z") != NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  CHECK(linkpage_render(&out, &info, LINKSVC_STATE_COMPLETED, "Slack") == 410);
  CHECK(linkpage_render(&out, &info, LINKSVC_STATE_EXPIRED, "Slack") == 410);
  CHECK(linkpage_render(&out, &info, LINKSVC_STATE_REVOKED, "Slack") == 410);
  (void)dynbuf_add(&out, "", 1);
  CHECK(strstr(out.ptr, "api_key") == NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  linkpage_render_refused(&out, "<script>alert(\"x\")</script> & 'y'");
  (void)dynbuf_add(&out, "", 1);
  CHECK(strstr(out.ptr, "<script>") == NULL);
  CHECK(strstr(out.ptr, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;") != NULL);
  dynbuf_free(&out);
}

int main(void) {
  RUN(form_fields_decode);
  RUN(form_fields_refused);
  RUN(pages_escape_and_say_the_state);
  return unit_report();
}
