/* linkbase: the base URL of every link. See linkbase.h. */
#include "linkbase.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* 1 when the listen address is a wildcard (any address of its family). */
static int listen_is_wildcard(const config_t *c, int *v6) {
  struct in_addr a4;
  struct in6_addr a6;
  *v6 = strchr(c->listen_host, ':') != NULL;
  if (*v6)
    return inet_pton(AF_INET6, c->listen_host, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
  return inet_pton(AF_INET, c->listen_host, &a4) == 1 && a4.s_addr == htonl(INADDR_ANY);
}

int linkbase_host_ok(const char *host, size_t len) {
  size_t i = 0;
  size_t port_digits;
  if (host == NULL || len == 0 || len > LINKBASE_HOST_MAX)
    return 0;
  if (host[0] == '[') {
    for (i = 1; i < len && host[i] != ']'; i++) {
      char ch = host[i];
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == ':' ||
            ch == '.'))
        return 0;
    }
    if (i == len || i == 1)
      return 0; /* no "]", or "[]" */
    i++;
  } else {
    for (; i < len && host[i] != ':'; i++) {
      char ch = host[i];
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
            ch == '-' || ch == '_' || ch == '~'))
        return 0;
    }
    if (i == 0)
      return 0;
  }
  if (i == len)
    return 1;
  if (host[i] != ':')
    return 0;
  port_digits = len - i - 1;
  if (port_digits == 0 || port_digits > 5)
    return 0;
  for (i++; i < len; i++) {
    if (host[i] < '0' || host[i] > '9')
      return 0;
  }
  return 1;
}

int linkbase_of(const config_t *c, const char *host, size_t host_len, char *out, size_t cap) {
  int n;
  if (cap == 0)
    return -ENOSPC;
  if (c->public_url != NULL && c->public_url[0] != '\0') {
    n = snprintf(out, cap, "%s", c->public_url);
  } else if (linkbase_host_ok(host, host_len)) {
    n = snprintf(out, cap, "http://%.*s", (int)host_len, host);
  } else {
    int v6 = 0;
    if (c->listen_host == NULL)
      n = snprintf(out, cap, "http://localhost:%d", c->listen_port);
    else if (listen_is_wildcard(c, &v6))
      n = snprintf(out, cap, "http://%s:%d", v6 ? "[::1]" : "127.0.0.1", c->listen_port);
    else
      n = snprintf(out, cap, "http://%s%s%s:%d", v6 ? "[" : "", c->listen_host, v6 ? "]" : "", c->listen_port);
  }
  if (n < 0 || (size_t)n >= cap) {
    out[0] = '\0';
    return -ENOSPC;
  }
  return 0;
}

const char *linkbase_warning(const config_t *c) {
  int v6;
  if (c->public_url != NULL && c->public_url[0] != '\0') {
    if (strlen(c->public_url) >= LINKBASE_MAX)
      return "public_url is too long for a link (at most 511 bytes)";
    return NULL;
  }
  if (c->listen_host != NULL && listen_is_wildcard(c, &v6))
    return "set public_url: out-of-band links need an absolute URL (the proxy listens on a wildcard address, "
           "which is never a link's host; links minted without a request, e.g. by the link-token API, "
           "point at the loopback address)";
  return NULL;
}
