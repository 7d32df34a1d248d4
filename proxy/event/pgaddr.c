/* pgaddr: the host side of a libpq conninfo (see pgaddr.h). */
#include "pgaddr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

/* Splits list (copied into buf) at ',' into at most max parts. Returns the
 * count, -E2BIG, or -EINVAL when there are more parts or one is empty. */
static int split_list(const char *list, char *buf, size_t bufsize, char **parts, int max) {
  int n = 0;
  char *p;
  if (strlen(list) >= bufsize)
    return -E2BIG;
  strcpy(buf, list);
  p = buf;
  for (;;) {
    char *comma = strchr(p, ',');
    if (n == max)
      return -EINVAL;
    if (comma != NULL)
      *comma = '\0';
    if (*p == '\0')
      return -EINVAL;
    parts[n++] = p;
    if (comma == NULL)
      return n;
    p = comma + 1;
  }
}

/* The value of keyword in opts, NULL when unset or empty. */
static const char *opt_value(const PQconninfoOption *opts, const char *keyword) {
  for (; opts->keyword != NULL; opts++)
    if (strcmp(opts->keyword, keyword) == 0)
      return opts->val != NULL && opts->val[0] != '\0' ? opts->val : NULL;
  return NULL;
}

int pgaddr_plan_init(pgaddr_plan *p, const PQconninfoOption *opts, const char **why) {
  const char *host = opt_value(opts, "host");
  const char *hostaddr = opt_value(opts, "hostaddr");
  const char *port = opt_value(opts, "port");
  int i, n;
  memset(p, 0, sizeof *p);
  *why = "";
  if (opt_value(opts, "service") != NULL ||
      (host == NULL && hostaddr == NULL && getenv("PGSERVICE") != NULL)) {
    *why = "a service (file) is not supported: name the host";
    return -EINVAL;
  }
  if (host == NULL && hostaddr == NULL)
    host = getenv("PGHOST");
  if (hostaddr != NULL || host == NULL || host[0] == '\0')
    return 0; /* libpq resolves nothing */
  n = split_list(host, p->hostbuf, sizeof p->hostbuf, p->hosts, PGADDR_HOSTS_MAX);
  if (n < 0) {
    *why = "bad host list (at most 4 hosts, none empty)";
    return n;
  }
  for (i = 0; i < n; i++) {
    if (p->hosts[i][0] == '/' || p->hosts[i][0] == '@') {
      if (n > 1) {
        *why = "a socket directory must be the only host";
        return -EINVAL;
      }
      return 0; /* one socket directory: nothing to resolve */
    }
  }
  if (port != NULL && strchr(port, ',') != NULL &&
      split_list(port, p->portbuf, sizeof p->portbuf, p->ports, PGADDR_HOSTS_MAX) != n) {
    memset(p->ports, 0, sizeof p->ports);
    *why = "the port list does not match the host list";
    return -EINVAL;
  }
  p->nhosts = n;
  return 0;
}

void pgaddr_plan_add(pgaddr_plan *p, int host, const struct addrinfo *ai) {
  for (; ai != NULL && p->naddrs < PGADDR_ADDRS_MAX; ai = ai->ai_next) {
    char *dst = p->addrs[p->naddrs];
    int i, rc, dup = 0;
    if (ai->ai_family == AF_INET)
      rc = uv_ip4_name((const struct sockaddr_in *)ai->ai_addr, dst, INET6_ADDRSTRLEN);
    else if (ai->ai_family == AF_INET6)
      rc = uv_ip6_name((const struct sockaddr_in6 *)ai->ai_addr, dst, INET6_ADDRSTRLEN);
    else
      continue;
    if (rc < 0)
      continue;
    for (i = 0; i < p->naddrs; i++)
      if (p->addr_host[i] == host && strcmp(p->addrs[i], dst) == 0)
        dup = 1;
    if (!dup)
      p->addr_host[p->naddrs++] = host;
  }
}

/* Joins count strings with ',' into a new string (freed by the caller). */
static char *join(const char *const *parts, int count) {
  size_t len = 1;
  char *out, *o;
  int i;
  for (i = 0; i < count; i++)
    len += strlen(parts[i]) + 1;
  out = malloc(len);
  if (out == NULL)
    return NULL;
  o = out;
  for (i = 0; i < count; i++) {
    size_t n = strlen(parts[i]);
    if (i > 0)
      *o++ = ',';
    memcpy(o, parts[i], n);
    o += n;
  }
  *o = '\0';
  return out;
}

PGconn *pgaddr_connect_start(const PQconninfoOption *opts, const pgaddr_plan *p) {
  const char *host_parts[PGADDR_ADDRS_MAX], *addr_parts[PGADDR_ADDRS_MAX];
  const char *port_parts[PGADDR_ADDRS_MAX];
  const char **kw = NULL, **vals = NULL;
  char *hosts = NULL, *addrs = NULL, *ports = NULL;
  const PQconninfoOption *o;
  PGconn *conn = NULL;
  size_t n = 0;
  int i;
  if (p != NULL && p->naddrs == 0)
    p = NULL;
  for (o = opts; o->keyword != NULL; o++)
    n++;
  kw = calloc(n + 4, sizeof *kw);
  vals = calloc(n + 4, sizeof *vals);
  if (kw == NULL || vals == NULL)
    goto out;
  n = 0;
  if (p != NULL) {
    for (i = 0; i < p->naddrs; i++) {
      host_parts[i] = p->hosts[p->addr_host[i]];
      addr_parts[i] = p->addrs[i];
      port_parts[i] = p->ports[p->addr_host[i]];
    }
    hosts = join(host_parts, p->naddrs);
    addrs = join(addr_parts, p->naddrs);
    if (hosts == NULL || addrs == NULL)
      goto out;
    kw[n] = "host";
    vals[n++] = hosts;
    kw[n] = "hostaddr";
    vals[n++] = addrs;
    if (p->ports[0] != NULL) {
      ports = join(port_parts, p->naddrs);
      if (ports == NULL)
        goto out;
      kw[n] = "port";
      vals[n++] = ports;
    }
  }
  for (o = opts; o->keyword != NULL; o++) {
    if (o->val == NULL)
      continue;
    if (p != NULL && (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
                      (ports != NULL && strcmp(o->keyword, "port") == 0)))
      continue;
    kw[n] = o->keyword;
    vals[n++] = o->val;
  }
  conn = PQconnectStartParams(kw, vals, 0);
out:
  free(kw);
  free(vals);
  free(hosts);
  free(addrs);
  free(ports);
  return conn;
}
