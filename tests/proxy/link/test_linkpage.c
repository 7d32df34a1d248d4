/* test_linkpage: the link page's HTML (proxy/link/linkpage.c); its form
 * is read by core/form (tests/proxy/core/test_form.c). */
#include <string.h>

#include "linkpage.h"
#include "unit.h"

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
  RUN(pages_escape_and_say_the_state);
  return unit_report();
}
