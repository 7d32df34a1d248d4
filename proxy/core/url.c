/* url: absolute http(s) URLs and their origins, read by libcurl's URL API.
 * See url.h. */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_HOST_MAX 255 /* the longest host name an origin holds */

/* The length of url's "http://" or "https://" (any case), else 0. */
static size_t scheme_len(const char *url) {
  if (strncasecmp(url, "https://", 8) == 0)
    return 8;
  if (strncasecmp(url, "http://", 7) == 0)
    return 7;
  return 0;
}

int url_is_https(const char *url) {
  return scheme_len(url) == 8;
}

int url_has_http_scheme(const char *url) {
  return scheme_len(url) != 0;
}

/* The refusals made on the bytes, before any parser reads them: 0 or
 * -EINVAL. */
static int bytes_ok(const char *url, size_t max_len, unsigned flags) {
  size_t len = strnlen(url, max_len + 1);
  size_t i;
  if (len > max_len)
    return -EINVAL;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c <= 0x20 || c >= 0x7f || c == '\\')
      return -EINVAL; /* what a Location header could not carry as is, and "\" browsers read as "/" */
    if ((c == '#' && (flags & URL_NO_FRAGMENT) != 0) || (c == '?' && (flags & URL_NO_QUERY) != 0))
      return -EINVAL;
  }
  return 0;
}

/* The authority after the scheme (up to '/', '?' or '#'): it must be there,
 * hold no user info and no percent-encoding (libcurl keeps "%39" as the
 * host "9", a browser reads it as 0.0.0.9: one host, two names; an IPv6
 * zone "%25eth0" has no place in an origin either), and a ':' in it (after
 * an IPv6 literal's ']') must be followed by digits. 0 or -EINVAL. */
static int authority_ok(const char *authority) {
  size_t len = strcspn(authority, "/?#");
  const char *port;
  const char *close;
  size_t i;
  if (len == 0 || memchr(authority, '@', len) != NULL)
    return -EINVAL; /* no host; user info: "https://app.example.com@evil.com" */
  if (memchr(authority, '%', len) != NULL)
    return -EINVAL; /* "http://%39" */
  close = authority[0] == '[' ? memchr(authority, ']', len) : NULL;
  if (authority[0] == '[' && close == NULL)
    return -EINVAL;
  port = memchr(close != NULL ? close : authority, ':', len - (size_t)((close != NULL ? close : authority) - authority));
  if (port == NULL)
    return 0;
  port++;
  if (port == authority + len)
    return -EINVAL; /* "https://x:" */
  for (i = 0; port + i < authority + len; i++) {
    if (port[i] < '0' || port[i] > '9')
      return -EINVAL;
  }
  return 0;
}

/* Runs every check of url_check and hands the parsed URL to *out (the
 * caller frees it with curl_url_cleanup). 0, -EINVAL or -ENOMEM. */
static int parse(const char *url, size_t max_len, unsigned flags, CURLU **out) {
  size_t scheme = scheme_len(url);
  CURLU *u;
  char *host = NULL;
  int rc = -EINVAL;
  *out = NULL;
  if (scheme == 0 || bytes_ok(url, max_len != 0 ? max_len : URL_MAX, flags) != 0 ||
      authority_ok(url + scheme) != 0)
    return -EINVAL;
  u = curl_url();
  if (u == NULL)
    return -ENOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] != '\0')
    rc = 0;
  curl_free(host);
  if (rc == 0)
    *out = u;
  else
    curl_url_cleanup(u);
  return rc;
}

int url_check(const char *url, size_t max_len, unsigned flags) {
  CURLU *u;
  int rc = parse(url, max_len, flags, &u);
  if (rc == 0)
    curl_url_cleanup(u);
  return rc;
}

/* addr as "[...]" into out (at least 42 bytes) the way browsers write an
 * origin's IPv6 host (WHATWG URL; RFC 5952 without the dotted IPv4 tail):
 * lower-case hex without leading zeros, the first longest run of two or
 * more zero groups as "::". */
static void ipv6_text(const unsigned char addr[16], char *out) {
  unsigned group[8];
  int run_at = -1;
  int run_len = 1;
  int i;
  size_t n = 0;
  for (i = 0; i < 8; i++)
    group[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
  for (i = 0; i < 8; i++) {
    int j = i;
    while (j < 8 && group[j] == 0)
      j++;
    if (j - i > run_len) {
      run_at = i;
      run_len = j - i;
    }
    if (j > i)
      i = j - 1;
  }
  out[n++] = '[';
  for (i = 0; i < 8; i++) {
    if (i == run_at) {
      out[n++] = ':';
      if (i == 0)
        out[n++] = ':';
      i += run_len - 1;
      continue;
    }
    n += (size_t)snprintf(out + n, 6, "%x", group[i]);
    if (i < 7)
      out[n++] = ':';
  }
  out[n++] = ']';
  out[n] = '\0';
}

/* curl's host as an origin's host into out (URL_HOST_MAX + 1 bytes):
 * lower-case [a-z0-9.-], or an IPv6 address in ipv6_text's spelling. */
static int origin_host(const char *host, char *out) {
  size_t len = strlen(host);
  size_t i;
  if (len == 0 || len > URL_HOST_MAX)
    return -EINVAL;
  if (host[0] == '[') {
    char literal[64];
    unsigned char addr[16];
    if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof literal)
      return -EINVAL;
    memcpy(literal, host + 1, len - 2);
    literal[len - 2] = '\0'; /* a zone ("%25eth0") is no address: refused here */
    if (inet_pton(AF_INET6, literal, addr) != 1)
      return -EINVAL;
    ipv6_text(addr, out);
    return 0;
  }
  for (i = 0; i < len; i++) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      return -EINVAL;
    out[i] = c;
  }
  out[len] = '\0';
  return 0;
}

int url_origin(const char *url, char *origin, size_t cap) {
  CURLU *u;
  char *host = NULL;
  char *port = NULL;
  char host_lc[URL_HOST_MAX + 1];
  unsigned long port_num = 0;
  int https = url_is_https(url);
  int rc = parse(url, 0, URL_NO_FRAGMENT, &u);
  size_t n;
  if (rc != 0)
    return rc;
  rc = -EINVAL;
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && origin_host(host, host_lc) == 0) {
    CURLUcode pc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (pc == CURLUE_NO_PORT) {
      rc = 0;
    } else if (pc == CURLUE_OK) {
      char *end;
      port_num = strtoul(port, &end, 10);
      if (*end == '\0' && port_num >= 1 && port_num <= 65535)
        rc = 0;
      if (port_num == (https ? 443ul : 80ul))
        port_num = 0;
    }
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  if (rc != 0)
    return rc;
  if (port_num != 0)
    n = (size_t)snprintf(origin, cap, "%s://%s:%lu", https ? "https" : "http", host_lc, port_num);
  else
    n = (size_t)snprintf(origin, cap, "%s://%s", https ? "https" : "http", host_lc);
  return n < cap ? 0 : -EINVAL;
}

int url_is_loopback(const char *url) {
  char origin[URL_HOST_MAX + 32];
  char host[URL_HOST_MAX + 1];
  struct in_addr a4;
  const char *h;
  size_t len;
  if (url_origin(url, origin, sizeof origin) != 0)
    return 0;
  h = origin + (url_is_https(origin) ? 8 : 7);
  if (strncmp(h, "[::1]", 5) == 0)
    return 1;
  len = strcspn(h, ":");
  memcpy(host, h, len);
  host[len] = '\0';
  if (strcmp(host, "localhost") == 0)
    return 1;
  return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}
