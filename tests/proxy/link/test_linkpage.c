/* test_linkpage: the link page's HTML (proxy/link/linkpage.c); its form
 * is read by core/form (tests/proxy/core/test_form.c). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

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

/* rendered as a NUL-terminated string */
static const char *text(dynbuf *out) {
  (void)dynbuf_add(out, "", 1);
  return out->ptr;
}

static void link_info(linksvc_link_info *info, const char *connector) {
  memset(info, 0, sizeof *info);
  strcpy(info->connector, connector);
  strcpy(info->path, "/_authrelay/link/ltk_0123");
  strcpy(info->expires_at, "2026-05-04T18:30:00Z");
}

/* The CSP allows the page's one script by its hash: the hash must be the
 * script's, or browsers block it (and the expiry stays in UTC). */
static void script_hash_matches(void) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  unsigned char b64[64];
  char want[80];
  CHECK(EVP_Digest(LINKPAGE_SCRIPT, strlen(LINKPAGE_SCRIPT), md, &mdlen, EVP_sha256(), NULL) == 1);
  CHECK(EVP_EncodeBlock(b64, md, (int)mdlen) == 44);
  snprintf(want, sizeof want, "'sha256-%s'", (const char *)b64);
  CHECK(strcmp(want, LINKPAGE_SCRIPT_HASH) == 0);
  CHECK(strstr(LINKPAGE_CSP, LINKPAGE_SCRIPT_HASH) != NULL);
  CHECK(strstr(LINKPAGE_CSP, "'unsafe-inline'; img-src https:; script-src 'sha256-") != NULL);
}

/* Every pending page: the app's name and logo (escaped), "Not now", the
 * expiry as a <time datetime> with the script that shows it in local time. */
static void pages_name_the_app_and_offer_not_now(void) {
  linksvc_link_info info;
  linkpage_brand brand = {"Acme <Chat>", "https://cdn.example.com/l.png?a=1&b=2"};
  dynbuf out;
  const char *html;
  link_info(&info, "slack");
  dynbuf_init(&out, 65536);
  linkpage_render_key_form(&out, &info, "Slack", NULL, &brand);
  html = text(&out);
  CHECK(strstr(html, "<p class=\"app\">Acme &lt;Chat&gt;</p>") != NULL);
  CHECK(strstr(html, "<b>Acme &lt;Chat&gt;</b> needs access to <b>Slack</b>") != NULL);
  CHECK(strstr(html, "src=\"https://cdn.example.com/l.png?a=1&amp;b=2\"") != NULL);
  CHECK(strstr(html, "name=\"decline\" value=\"1\"") != NULL);
  CHECK(strstr(html, ">Not now</button>") != NULL);
  CHECK(strstr(html, "<time datetime=\"2026-05-04T18:30:00Z\">2026-05-04T18:30:00Z</time>") != NULL);
  CHECK(strstr(html, "<script>" LINKPAGE_SCRIPT "</script>") != NULL);
  CHECK(strstr(html, "name=\"connector\"") == NULL); /* not a picker's choice */
  dynbuf_free(&out);
  /* without a brand: no logo, the generic asker */
  dynbuf_init(&out, 65536);
  linkpage_render_key_form(&out, &info, "Slack", "slack", NULL);
  html = text(&out);
  CHECK(strstr(html, "<img") == NULL && strstr(html, "Your assistant needs access") != NULL);
  CHECK(strstr(html, "<input type=\"hidden\" name=\"connector\" value=\"slack\">") != NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  linkpage_render_declined(&out, &brand);
  html = text(&out);
  CHECK(strstr(html, "No account was connected") != NULL && strstr(html, "api_key") == NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  CHECK(linkpage_render(&out, &info, LINKSVC_STATE_DECLINED, "Slack") == 410);
  CHECK(strstr(text(&out), "declined") != NULL);
  dynbuf_free(&out);
}

/* A picker link lists its choices (name and slug, each a link to
 * ?connector=SLUG), or with no catalog asks for the slug and the key. */
static void picker_pages(void) {
  linksvc_link_info info;
  linkpage_choice choices[] = {{"slack", "Slack <&>"}, {"github", "GitHub"}};
  dynbuf out;
  const char *html;
  link_info(&info, "");
  dynbuf_init(&out, 65536);
  linkpage_render_picker(&out, &info, choices, 2, 0, NULL);
  html = text(&out);
  CHECK(strstr(html, "<a href=\"/_authrelay/link/ltk_0123?connector=slack\">Slack &lt;&amp;&gt;</a>") != NULL);
  CHECK(strstr(html, "<a href=\"/_authrelay/link/ltk_0123?connector=github\">GitHub</a>") != NULL);
  CHECK(strstr(html, "api_key") == NULL && strstr(html, "Not now") != NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  linkpage_render_picker(&out, &info, NULL, 0, 0, NULL);
  CHECK(strstr(text(&out), "No service can be connected here right now.") != NULL);
  dynbuf_free(&out);
  dynbuf_init(&out, 65536);
  linkpage_render_picker(&out, &info, NULL, 0, 1, NULL);
  html = text(&out);
  CHECK(strstr(html, "name=\"connector\"") != NULL && strstr(html, "name=\"api_key\"") != NULL);
  dynbuf_free(&out);
  /* the provider said no: try again, or "Not now" */
  dynbuf_init(&out, 65536);
  linkpage_render_denied(&out, "/_authrelay/link/ltk_0123", "No <access>.");
  html = text(&out);
  CHECK(strstr(html, "No &lt;access&gt;.") != NULL);
  CHECK(strstr(html, "<a href=\"/_authrelay/link/ltk_0123\">Try again</a>") != NULL);
  CHECK(strstr(html, "name=\"decline\" value=\"1\"") != NULL);
  dynbuf_free(&out);
  /* a connector that cannot be connected yet: plain words, "Not now" */
  link_info(&info, "notion");
  dynbuf_init(&out, 65536);
  linkpage_render_unavailable(&out, &info, "Notion", NULL);
  html = text(&out);
  CHECK(strstr(html, "Notion cannot be connected yet") != NULL && strstr(html, "Not now") != NULL);
  CHECK(strstr(html, "OAuth") == NULL && strstr(html, "credential") == NULL && strstr(html, "api_key") == NULL);
  dynbuf_free(&out);
}

int main(void) {
  RUN(pages_escape_and_say_the_state);
  RUN(script_hash_matches);
  RUN(pages_name_the_app_and_offer_not_now);
  RUN(picker_pages);
  return unit_report();
}
