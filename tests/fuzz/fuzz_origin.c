/* fuzz_origin: libFuzzer harness for url_origin() and url_check()
 * (proxy/core/url.c), the origin check of every URL the link service takes
 * from API input:
 * callback_url of a link token (compared, exactly, with the allowed callback
 * origins), the allowed origins themselves (POST /api/v1/callback-origins),
 * an OAuth client's redirectUri, and the Link page's CSP form-action.
 *
 * Input: the URL's bytes (a NUL inside ends the C string the function
 * sees). They are copied into a buffer of exactly len + 1 bytes, the last
 * one the NUL, so ASan catches a read past the string; the output goes to
 * an exact-size malloc'd buffer for the same reason.
 *
 * Invariants (abort() on violation):
 *   - the result is 0 or -EINVAL, and the same on a second call;
 *   - a URL holding user info ('@' before the path), a backslash, '#',
 *     a space, a control byte or a non-ASCII byte is never accepted, nor one
 *     whose scheme is not http or https;
 *   - an accepted URL's origin is scheme://host[:port]: lower-case, only
 *     host characters, the input's own scheme (http never becomes https),
 *     no default port, a port of 1..65535 without leading zeros;
 *   - it round-trips: the origin is accepted as a URL and is its own origin,
 *     and so is the origin followed by a path or a query;
 *   - the output buffer: exactly strlen(origin) + 1 bytes suffice, one byte
 *     less is -EINVAL (never a cut origin);
 *   - libcurl's URL parser (curl_url) reads the same scheme, host (an IPv6
 *     literal: the same address) and port out of an accepted URL, so the
 *     origin checked is the one a client would go to (IPv4 shorthand, such
 *     as 127.1, which curl spells out, is the one difference allowed: it
 *     can only make an origin match less);
 *   - url_check accepts every URL whose origin was accepted, and whatever
 *     it accepts holds no user info, backslash, space, control or non-ASCII
 *     byte, and starts with http:// or https:// in some case.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "fuzz.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN_CAP 600 /* what the API's callers give */

/* A violated invariant with the URL it is about. */
#define CHECK(cond, what, url) REQUIRE_BYTES(cond, what, "url", url, strlen(url))

static void *xmalloc(size_t n) {
  void *p = malloc(n != 0 ? n : 1);
  if (p == NULL)
    abort();
  return p;
}

/* url_origin into a fresh buffer of exactly cap bytes. The caller
 * frees *out. */
static int origin_exact(const char *url, size_t cap, char **out) {
  *out = xmalloc(cap);
  return url_origin(url, *out, cap);
}

/* The end of the authority: first '/' or '?' after "scheme://". */
static size_t authority_len(const char *after_scheme) {
  return strcspn(after_scheme, "/?");
}

static int is_lower_host_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

/* Checks the form of an accepted origin; returns its scheme's length. */
static size_t check_origin_form(const char *url, const char *o) {
  size_t scheme = strncmp(o, "https://", 8) == 0 ? 8 : strncmp(o, "http://", 7) == 0 ? 7 : 0;
  const char *host;
  const char *port = NULL;
  size_t i;
  CHECK(scheme != 0, "origin does not start with http:// or https://", url);
  CHECK(strncasecmp(url, o, scheme) == 0, "origin has another scheme than the URL", url);
  host = o + scheme;
  CHECK(strcspn(host, "/?#@\\") == strlen(host), "origin holds a path, query or user info", url);
  if (host[0] == '[') {
    const char *close = strchr(host, ']');
    CHECK(close != NULL && close - host >= 3, "IPv6 origin without its closing bracket", url);
    for (i = 1; host + i < close; i++)
      CHECK((host[i] >= '0' && host[i] <= '9') || (host[i] >= 'a' && host[i] <= 'f') ||
                host[i] == ':' || host[i] == '.',
            "IPv6 origin with a character that is not lower-case hex, ':' or '.'", url);
    CHECK(close[1] == '\0' || close[1] == ':', "IPv6 origin with bytes after ']'", url);
    if (close[1] == ':')
      port = close + 2;
  } else {
    CHECK(host[0] != '\0' && host[0] != ':', "origin without a host", url);
    for (i = 0; host[i] != '\0' && host[i] != ':'; i++)
      CHECK(is_lower_host_char(host[i]), "origin host holds a character other than [a-z0-9.-]",
            url);
    if (host[i] == ':')
      port = host + i + 1;
  }
  if (port != NULL) {
    unsigned long n = 0;
    CHECK(port[0] >= '1' && port[0] <= '9', "origin port empty or with a leading zero", url);
    for (i = 0; port[i] != '\0'; i++) {
      CHECK(port[i] >= '0' && port[i] <= '9' && i < 5, "origin port not a number", url);
      n = n * 10 + (unsigned long)(port[i] - '0');
    }
    CHECK(n >= 1 && n <= 65535, "origin port out of range", url);
    CHECK(n != (scheme == 8 ? 443ul : 80ul), "origin keeps the scheme's default port", url);
  }
  return scheme;
}

/* libcurl's reading of the URL must agree with the origin. */
static void check_with_curl(const char *url, const char *o, size_t scheme) {
  CURLU *u = curl_url();
  char *c_scheme = NULL;
  char *c_host = NULL;
  char *c_port = NULL;
  const char *host = o + scheme;
  size_t host_len = host[0] == '[' ? (size_t)(strchr(host, ']') - host) + 1
                                   : strcspn(host, ":");
  char expect_port[8];
  const char *colon = strchr(host + (host[0] == '[' ? host_len - 1 : 0), ':');
  if (u == NULL)
    abort();
  CHECK(curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK,
        "libcurl does not parse a URL whose origin was accepted", url);
  CHECK(curl_url_get(u, CURLUPART_SCHEME, &c_scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &c_host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &c_port, CURLU_DEFAULT_PORT) == CURLUE_OK,
        "libcurl finds no scheme, host or port in an accepted URL", url);
  CHECK(strlen(c_scheme) + 3 == scheme && strncasecmp(c_scheme, o, scheme - 3) == 0,
        "libcurl reads another scheme", url);
  if (host[0] == '[') {
    /* the same address, however libcurl spells it */
    unsigned char a[16];
    unsigned char b[16];
    char ours[64];
    char theirs[64];
    snprintf(ours, sizeof ours, "%.*s", (int)host_len - 2, host + 1);
    snprintf(theirs, sizeof theirs, "%.*s", (int)(strlen(c_host) > 2 ? strlen(c_host) - 2 : 0),
             c_host + 1);
    CHECK(c_host[0] == '[' && inet_pton(AF_INET6, ours, a) == 1 &&
              inet_pton(AF_INET6, theirs, b) == 1 && memcmp(a, b, 16) == 0,
          "libcurl reads another IPv6 address", url);
  } else if (!(strlen(c_host) == host_len && strncasecmp(c_host, host, host_len) == 0)) {
    /* IPv4 shorthand ("127.1", "0x7f.1"): curl writes the address out. */
    size_t i;
    int numeric = 1;
    for (i = 0; i < host_len; i++) {
      char ch = host[i];
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == 'x' || ch == '.'))
        numeric = 0;
    }
    CHECK(numeric, "libcurl reads another host", url);
  }
  if (colon != NULL)
    snprintf(expect_port, sizeof expect_port, "%s", colon + 1);
  else
    snprintf(expect_port, sizeof expect_port, "%s", scheme == 8 ? "443" : "80");
  CHECK(strcmp(c_port, expect_port) == 0, "libcurl reads another port", url);
  curl_free(c_scheme);
  curl_free(c_host);
  curl_free(c_port);
  curl_url_cleanup(u);
}

/* The origin, with suffix appended, must be accepted with the same origin. */
static void check_round_trip(const char *url, const char *o, const char *suffix) {
  size_t olen = strlen(o);
  size_t slen = strlen(suffix);
  char *again = xmalloc(olen + slen + 1);
  char *o2;
  memcpy(again, o, olen);
  memcpy(again + olen, suffix, slen + 1);
  CHECK(origin_exact(again, olen + 1, &o2) == 0, "an origin (plus a path) is not accepted", url);
  CHECK(strcmp(o2, o) == 0, "an origin is not its own origin", url);
  free(o2);
  free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *url = xmalloc(size + 1);
  char *o;
  char *o_again;
  int rc;
  int rc_again;
  size_t i;
  size_t n;
  memcpy(url, data, size);
  url[size] = '\0';
  n = strlen(url);

  rc = origin_exact(url, ORIGIN_CAP, &o);
  CHECK(rc == 0 || rc == -EINVAL, "result other than 0 or -EINVAL", url);
  rc_again = origin_exact(url, ORIGIN_CAP, &o_again);
  CHECK(rc_again == rc && (rc != 0 || strcmp(o, o_again) == 0), "not the same twice", url);
  free(o_again);

  if (url_check(url, 0, 0) == 0) {
    size_t sch = strncasecmp(url, "https://", 8) == 0 ? 8 : strncasecmp(url, "http://", 7) == 0 ? 7 : 0;
    CHECK(sch != 0, "url_check accepted another scheme", url);
    CHECK(memchr(url + sch, '@', strcspn(url + sch, "/?#")) == NULL, "url_check accepted user info", url);
    for (i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)url[i];
      CHECK(ch > 0x20 && ch < 0x7f && ch != '\\', "url_check accepted a space, control, non-ASCII byte or backslash", url);
    }
  } else {
    CHECK(rc != 0, "url_origin accepted what url_check refuses", url);
  }

  if (rc == 0) {
    size_t scheme;
    size_t auth;
    size_t olen = strlen(o);
    CHECK(olen < ORIGIN_CAP, "origin not terminated within its buffer", url);
    for (i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)url[i];
      CHECK(ch > 0x20 && ch < 0x7f, "accepted a space, control or non-ASCII byte", url);
      CHECK(ch != '\\' && ch != '#', "accepted a backslash or a fragment", url);
    }
    scheme = check_origin_form(url, o);
    auth = authority_len(url + scheme);
    CHECK(memchr(url + scheme, '@', auth) == NULL, "accepted user info", url);
    check_round_trip(url, o, "");
    check_round_trip(url, o, "/");
    check_round_trip(url, o, "/cb?x=1&state=y");
    check_round_trip(url, o, "?q");

    /* exact room: enough; one byte less: refused, never cut */
    {
      char *tight;
      CHECK(origin_exact(url, olen + 1, &tight) == 0 && strcmp(tight, o) == 0,
            "strlen + 1 bytes of room do not suffice", url);
      free(tight);
      CHECK(origin_exact(url, olen, &tight) == -EINVAL, "a cut origin was accepted", url);
      free(tight);
    }
    check_with_curl(url, o, scheme);
  }
  free(o);
  free(url);
  return 0;
}
