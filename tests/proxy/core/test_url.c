/* test_url: proxy/core/url.c. url_origin, the origin of a callback_url
 * that the link-token API compares, exactly, with the allowed callback
 * origins, and url_check, the one "acceptable absolute http(s) URL" test
 * of every URL authrelay takes from config or API input.
 *
 * Covers: scheme and host lower-cased, path/query dropped, default ports
 * dropped and other ports kept, http kept apart from https, IPv6 literals
 * (in one spelling, the browsers'); refused (-EINVAL): user info (also
 * disguised with a backslash), fragments, spaces and control characters,
 * other schemes, no host, bad ports, IPv6 literals that are no address; a
 * look-alike host keeps its full name (so it matches no allowed origin);
 * a too-small output buffer. url_check: the scheme in any case, the same
 * refusals, its length cap and its flags; url_is_loopback.
 */
#include <errno.h>
#include <string.h>

#include "url.h"
#include "unit.h"

static char got[512];

/* 1 when url is accepted with origin want. */
static int origin_is(const char *url, const char *want) {
  int rc;
  memset(got, 0, sizeof got);
  rc = url_origin(url, got, sizeof got);
  if (rc != 0 || strcmp(got, want) != 0) {
    fprintf(stderr, "  %s -> rc %d, \"%s\"; want \"%s\"\n", url, rc, got, want);
    return 0;
  }
  return 1;
}

static int refused(const char *url) {
  int rc;
  memset(got, 0, sizeof got);
  rc = url_origin(url, got, sizeof got);
  if (rc != -EINVAL) {
    fprintf(stderr, "  %s -> rc %d, \"%s\"; want -EINVAL\n", url, rc, got);
    return 0;
  }
  return 1;
}

static void normal_forms(void) {
  CHECK(origin_is("https://app.example.com", "https://app.example.com"));
  CHECK(origin_is("https://app.example.com/", "https://app.example.com"));
  CHECK(origin_is("https://APP.example.com:443/path?q", "https://app.example.com"));
  CHECK(origin_is("HTTPS://App.Example.COM/cb?x=1&y=2", "https://app.example.com"));
  CHECK(origin_is("https://app.example.com?q=1", "https://app.example.com"));
  CHECK(origin_is("https://app.example.com:8443", "https://app.example.com:8443"));
  CHECK(origin_is("https://app.example.com:8443/cb", "https://app.example.com:8443"));
  CHECK(origin_is("https://app.example.com:80", "https://app.example.com:80"));
  CHECK(origin_is("https://app.example.com:65535", "https://app.example.com:65535"));
  CHECK(origin_is("https://app.example.com:1", "https://app.example.com:1"));
}

static void http_stays_http(void) {
  /* http is a different origin from https: never turned into it */
  CHECK(origin_is("http://app.example.com", "http://app.example.com"));
  CHECK(strcmp(got, "https://app.example.com") != 0);
  CHECK(origin_is("http://app.example.com:80/x", "http://app.example.com"));
  CHECK(origin_is("http://app.example.com:443", "http://app.example.com:443"));
  CHECK(origin_is("http://127.0.0.1:8080/done", "http://127.0.0.1:8080"));
  CHECK(origin_is("http://localhost:3000", "http://localhost:3000"));
}

static void ipv6(void) {
  CHECK(origin_is("http://[::1]:8080", "http://[::1]:8080"));
  CHECK(origin_is("https://[::1]:8080/cb?x", "https://[::1]:8080"));
  CHECK(origin_is("https://[::1]", "https://[::1]"));
  CHECK(origin_is("https://[::1]:443/", "https://[::1]"));
  CHECK(origin_is("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"));
  CHECK(refused("https://[::1"));
  CHECK(refused("https://[::1]x"));
  CHECK(refused("https://[::1]:"));
  CHECK(refused("https://[::1]:0"));
  /* one spelling per address, the browsers' (WHATWG URL): lower-case, no
   * leading zeros, the first longest run of 2+ zero groups as "::" */
  CHECK(origin_is("https://[0::1]:8443/cb", "https://[::1]:8443"));
  CHECK(origin_is("https://[0:0:0:0:0:0:0:1]", "https://[::1]"));
  CHECK(origin_is("https://[::0]", "https://[::]"));
  CHECK(origin_is("https://[2001:0DB8:0000::0001]", "https://[2001:db8::1]"));
  CHECK(origin_is("https://[::FFFF:127.0.0.1]", "https://[::ffff:7f00:1]"));
  CHECK(origin_is("https://[::3:1]", "https://[::3:1]"));
  CHECK(origin_is("https://[1:0:0:2:0:0:0:3]", "https://[1:0:0:2::3]"));
  CHECK(origin_is("https://[1:0:0:2:0:0:3:4]", "https://[1::2:0:0:3:4]"));
  CHECK(origin_is("https://[1:0:2:3:4:5:6:7]", "https://[1:0:2:3:4:5:6:7]"));
  CHECK(origin_is("https://[1:2:3:4:5:6:7::]", "https://[1:2:3:4:5:6:7:0]"));
  CHECK(origin_is("https://[1::]", "https://[1::]"));
  /* not an IPv6 address between the brackets */
  CHECK(refused("https://[1:2]"));
  CHECK(refused("https://[:::]"));
  CHECK(refused("https://[1.2.3.4]"));
  CHECK(refused("https://[::1::2]"));
  CHECK(refused("https://[12345::1]"));
  /* no address in the brackets; brackets outside an IP literal */
  CHECK(refused("https://[]"));
  CHECK(refused("https://ex[ample.com"));
}

static void look_alikes(void) {
  /* the allowed host as a prefix of another: the other's full name */
  CHECK(origin_is("https://app.example.com.evil.com", "https://app.example.com.evil.com"));
  CHECK(strcmp(got, "https://app.example.com") != 0);
  CHECK(origin_is("https://app.example.com.evil.com/cb", "https://app.example.com.evil.com"));
  CHECK(origin_is("https://evil.com/https://app.example.com", "https://evil.com"));
  CHECK(origin_is("https://evil.com?next=https://app.example.com", "https://evil.com"));
}

static void refusals(void) {
  /* user info, however written */
  CHECK(refused("https://app.example.com@evil.com"));
  CHECK(refused("https://user@app.example.com"));
  CHECK(refused("https://user:pass@app.example.com/"));
  CHECK(refused("https://app.example.com\\@evil.com"));
  CHECK(refused("https://app.example.com\\evil.com"));
  CHECK(refused("https://@app.example.com"));
  /* fragments */
  CHECK(refused("https://app.example.com#x"));
  CHECK(refused("https://app.example.com/cb#x"));
  CHECK(refused("https://app.example.com/cb?q=1#x"));
  /* spaces and control characters */
  CHECK(refused("https://app.example.com /cb"));
  CHECK(refused(" https://app.example.com"));
  CHECK(refused("https://app.example.com/cb "));
  CHECK(refused("https://app .example.com"));
  CHECK(refused("https://app.example.com\t"));
  CHECK(refused("https://app.example.com/\r\nX: y"));
  CHECK(refused("https://app.example.com/\x7f"));
  /* other schemes, relative or scheme-less URLs */
  CHECK(refused("ftp://x"));
  CHECK(refused("javascript:alert(1)"));
  CHECK(refused("//app.example.com"));
  CHECK(refused("app.example.com"));
  CHECK(refused("/cb"));
  CHECK(refused("https:app.example.com"));
  CHECK(refused("https:/app.example.com"));
  CHECK(refused(""));
  /* no host */
  CHECK(refused("https://"));
  CHECK(refused("https:///cb"));
  CHECK(refused("https://?x"));
  CHECK(refused("https://:443"));
  /* ports */
  CHECK(refused("https://app.example.com:0"));
  CHECK(refused("https://app.example.com:70000"));
  CHECK(refused("https://app.example.com:65536"));
  CHECK(refused("https://app.example.com:"));
  CHECK(refused("https://app.example.com:-1"));
  CHECK(refused("https://app.example.com:80a"));
  CHECK(refused("https://app.example.com:8443:1"));
  CHECK(refused("https://app.example.com:1000000"));
  /* characters no host name has */
  CHECK(refused("https://app.example.com%40evil.com"));
  CHECK(refused("https://app.exa\xc3\xa9mple.com"));
  /* percent-encoding in the host: libcurl keeps "%39" as "9", a browser
   * reads 0.0.0.9 (found by fuzz_origin); an IPv6 zone */
  CHECK(refused("http://%39"));
  CHECK(refused("http://%61pp.example.com/"));
  CHECK(refused("http://[fe80::1%25eth0]/"));
}

static void small_buffer(void) {
  char small[10];
  CHECK(url_origin("https://app.example.com", small, sizeof small) == -EINVAL);
  CHECK(url_origin("https://a.io", got, strlen("https://a.io") + 1) == 0);
  CHECK(strcmp(got, "https://a.io") == 0);
  CHECK(url_origin("https://a.io", got, strlen("https://a.io")) == -EINVAL);
}

static void check_accepts(void) {
  CHECK(url_check("https://api.example.com/v1/token", 0, 0) == 0);
  CHECK(url_check("HTTP://X", 0, 0) == 0);
  CHECK(url_check("hTtPs://X.example/a?b=c#d", 0, 0) == 0);
  CHECK(url_check("http://[::1]:8080/x", 0, URL_NO_FRAGMENT | URL_NO_QUERY) == 0);
  CHECK(url_check("http://127.0.0.1:9/", 0, 0) == 0);
  CHECK(url_is_https("HTTPS://x") == 1);
  CHECK(url_is_https("http://x") == 0);
  CHECK(url_has_http_scheme("Http://x") == 1);
  CHECK(url_has_http_scheme("ftp://x") == 0);
}

static void check_refusals(void) {
  char long_url[URL_MAX + 2];
  CHECK(url_check("https://user:pw@api.example.com/", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com@evil.com/", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com\\@evil.com/", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com/a\\b", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com/a b", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com/\r\nX: y", 0, 0) == -EINVAL);
  CHECK(url_check("https://api.example.com/\xc3\xa9", 0, 0) == -EINVAL);
  CHECK(url_check("https:/api.example.com", 0, 0) == -EINVAL);
  CHECK(url_check("https:///api.example.com", 0, 0) == -EINVAL);
  CHECK(url_check("//api.example.com", 0, 0) == -EINVAL);
  CHECK(url_check("ftp://api.example.com", 0, 0) == -EINVAL);
  CHECK(url_check("https://", 0, 0) == -EINVAL);
  CHECK(url_check("https://x:", 0, 0) == -EINVAL);
  CHECK(url_check("https://x:65536", 0, 0) == -EINVAL);
  CHECK(url_check("https://x/#f", 0, URL_NO_FRAGMENT) == -EINVAL);
  CHECK(url_check("https://x/#f", 0, 0) == 0);
  CHECK(url_check("https://x/?q", 0, URL_NO_QUERY) == -EINVAL);
  CHECK(url_check("https://x/?q", 0, URL_NO_FRAGMENT) == 0);
  /* the length cap: max_len bytes pass, one more does not */
  CHECK(url_check("https://x/abc", 13, 0) == 0);
  CHECK(url_check("https://x/abcd", 13, 0) == -EINVAL);
  memset(long_url, 'a', sizeof long_url - 1);
  memcpy(long_url, "https://x/", 10);
  long_url[URL_MAX] = '\0';
  CHECK(url_check(long_url, 0, 0) == 0);
  long_url[URL_MAX] = 'a';
  long_url[URL_MAX + 1] = '\0';
  CHECK(url_check(long_url, 0, 0) == -EINVAL);
}

static void loopback(void) {
  CHECK(url_is_loopback("http://127.0.0.1:8080/x") == 1);
  CHECK(url_is_loopback("http://127.1/x") == 1);
  CHECK(url_is_loopback("HTTP://LOCALHOST:9") == 1);
  CHECK(url_is_loopback("http://[::1]:9") == 1);
  CHECK(url_is_loopback("http://localhost.evil.com") == 0);
  CHECK(url_is_loopback("http://127.evil.com") == 0);
  CHECK(url_is_loopback("http://10.0.0.1") == 0);
}

int main(void) {
  RUN(normal_forms);
  RUN(http_stays_http);
  RUN(ipv6);
  RUN(look_alikes);
  RUN(refusals);
  RUN(small_buffer);
  RUN(check_accepts);
  RUN(check_refusals);
  RUN(loopback);
  return unit_report();
}
