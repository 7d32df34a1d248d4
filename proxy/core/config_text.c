/* config_text: the checkers of values given as text: whole numbers, ports,
 * IP literals, listen addresses, upstream and public URLs, HTTP header
 * names, route prefixes.
 *
 * They only look at text and (for addresses and URLs) split it; they know
 * nothing of the key table or of where the value came from. config_value.c
 * calls them to check a value when it is set, config_check.c to split the
 * final ones, config_cidr.c to read addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config_int.h"
#include "url.h"

/* ---- text parsers ----
 * Each returns "" when the text is valid, NULL when it is not (the message
 * then says what the key expects), or a more precise reason. */

int config_verdict_ok(const char *verdict) {
  return verdict != NULL && verdict[0] == '\0';
}

static int is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

/* Parses a whole decimal number: digits only. Returns 0 or -EINVAL. */
int config_parse_whole(const char *s, unsigned long long *out) {
  unsigned long long n = 0;
  size_t i;
  if (s[0] == '\0')
    return -EINVAL;
  for (i = 0; s[i] != '\0'; i++) {
    unsigned d;
    if (!is_digit(s[i]))
      return -EINVAL;
    d = (unsigned)(s[i] - '0');
    if (n > (ULLONG_MAX - d) / 10)
      return -EINVAL;
    n = n * 10 + d;
  }
  *out = n;
  return 0;
}

/* Parses a port of [min, 65535] from s[0, len). Returns 0 or -EINVAL. */
static int parse_port(const char *s, size_t len, int min, int *out) {
  int n = 0;
  size_t i;
  if (len == 0 || len > 5)
    return -EINVAL;
  for (i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return -EINVAL;
    n = n * 10 + (s[i] - '0');
  }
  if (n < min || n > 65535)
    return -EINVAL;
  *out = n;
  return 0;
}

/* inet_pton on s[0, len) (not NUL-terminated). Returns 1 when it is an
 * address of family af. */
int config_is_ip(int af, const char *s, size_t len, unsigned char *out16) {
  char buf[INET6_ADDRSTRLEN + 1];
  unsigned char tmp[16];
  if (len == 0 || len >= sizeof buf)
    return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  return inet_pton(af, buf, out16 != NULL ? out16 : tmp) == 1;
}

/* Splits IPV4:PORT or [IPV6]:PORT. host_out (may be NULL) gets a malloc'd
 * copy of the address without brackets. Returns NULL or a reason. */
const char *config_parse_addr(const char *s, char **host_out, int *port_out) {
  const char *host;
  size_t hlen;
  const char *colon;
  int port;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return NULL == close ? "has an unclosed \"[\"" : "needs a port after \"]\", as [::1]:8080";
    host = s + 1;
    hlen = (size_t)(close - host);
    colon = close + 1;
    if (!config_is_ip(AF_INET6, host, hlen, NULL))
      return "must hold an IPv6 address between [ and ], such as [::1]:8080";
  } else {
    colon = strchr(s, ':');
    if (colon == NULL)
      return NULL;  /* the caller's generic reason */
    if (strchr(colon + 1, ':') != NULL)
      return "must put an IPv6 address in brackets, such as [::1]:8080";
    host = s;
    hlen = (size_t)(colon - s);
    if (!config_is_ip(AF_INET, host, hlen, NULL))
      return "must start with an IPv4 address (names are not resolved), such as 127.0.0.1:8080";
  }
  if (parse_port(colon + 1, strlen(colon + 1), 0, &port) != 0)
    return "must end with a port from 0 to 65535";
  if (host_out != NULL) {
    *host_out = strndup(host, hlen);
    if (*host_out == NULL)
      return "could not be stored (out of memory)";
  }
  if (port_out != NULL)
    *port_out = port;
  return "";
}

static int is_host_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '-' ||
         ch == '.' || ch == '_'; /* "_": container service names have it */
}

/* Splits http://HOST[:PORT][/]. host_out and port_out (6 bytes) may be
 * NULL. Returns "" when valid, else a reason (NULL: the generic one). */
const char *config_parse_url(const char *s, char **host_out, char *port_out) {
  const char *p;
  const char *end;
  const char *host;
  size_t hlen;
  int port = 80;
  if (url_is_https(s))
    return "must use http:// (https upstreams are not supported yet)";
  if (!url_has_http_scheme(s))
    return NULL;
  p = s + 7;
  end = p + strcspn(p, "/?#");
  if (memchr(p, '@', (size_t)(end - p)) != NULL)
    return "must not hold a user name or password";
  if (*end != '\0' && strcmp(end, "/") != 0)
    return "must not have a path, query or fragment (the request path is sent as it is)";
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (close == NULL || !config_is_ip(AF_INET6, p + 1, (size_t)(close - p - 1), NULL))
      return "must hold an IPv6 address between [ and ]";
    host = p + 1;
    hlen = (size_t)(close - host);
    p = close + 1;
  } else {
    size_t i;
    int dotted = 1;
    host = p;
    hlen = strcspn(p, ":/?#");
    if (hlen == 0 || hlen > 253)
      return "must name a host";
    for (i = 0; i < hlen; i++) {
      if (!is_host_char(host[i]))
        return "must name a host with letters, digits, \"-\", \"_\" and \".\" only";
      if (!is_digit(host[i]) && host[i] != '.')
        dotted = 0;
    }
    if (dotted && !config_is_ip(AF_INET, host, hlen, NULL))
      return "must hold a valid IPv4 address";
    p = host + hlen;
  }
  if (p < end) {
    if (*p != ':' || parse_port(p + 1, (size_t)(end - p - 1), 1, &port) != 0)
      return "must have a port from 1 to 65535";
  }
  if (port_out != NULL)
    snprintf(port_out, 6, "%d", port);
  if (host_out != NULL) {
    *host_out = strndup(host, hlen);
    if (*host_out == NULL)
      return "could not be stored (out of memory)";
  }
  return "";
}

/* "" or http(s)://AUTHORITY[/PATH], no query, fragment, space or control
 * character. Returns "" when valid, else NULL (the generic reason). */
const char *config_check_public_url(const char *s) {
  if (s[0] == '\0')
    return "";
  return url_check(s, 0, URL_NO_QUERY | URL_NO_FRAGMENT) == 0 ? "" : NULL;
}

/* RFC 9110 token characters. */
static int is_tchar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
         (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

const char *config_check_header(const config_key *k, const char *s) {
  size_t len = strlen(s);
  size_t i;
  if (len < k->min || len > k->max)
    return NULL;
  for (i = 0; i < len; i++) {
    if (!is_tchar(s[i]))
      return NULL;
  }
  return "";
}

const char *config_check_prefix(const config_key *k, const char *s) {
  size_t len = strlen(s);
  size_t i;
  if (s[0] != '/' || len > k->max)
    return NULL;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '?' || ch == '#')
      return NULL;
  }
  return "";
}
