/* pgaddr: the host side of a libpq conninfo, for pgconn's non-blocking connect.
 *
 * PQconnectStart resolves host names synchronously unless it is given their
 * addresses as `hostaddr`. pgconn therefore resolves them itself, on the
 * loop (uv_getaddrinfo), and this module does the bookkeeping around that,
 * without I/O: which hosts a parsed conninfo names and whether they need
 * resolving (pgaddr_plan_init), the addresses found for each
 * (pgaddr_plan_add), and the PQconnectStartParams call with one host /
 * hostaddr (/ port) entry per address, `host` kept for TLS verification and
 * messages (pgaddr_connect_start). libpq then tries the addresses in order.
 */
#ifndef AUTHRELAY_PGADDR_H
#define AUTHRELAY_PGADDR_H

#include <netdb.h>
#include <netinet/in.h>

#include <libpq-fe.h>

#define PGADDR_CONNINFO_MAX 4096 /* bytes in a conninfo string or URL */
#define PGADDR_HOSTS_MAX 4       /* hosts in a conninfo's host list */
#define PGADDR_ADDRS_MAX 16      /* addresses kept, over all hosts */

/* The hosts to resolve and what they resolved to. Filled in by the
 * functions below; read-only for the caller. */
typedef struct pgaddr_plan {
  int nhosts;                    /* 0: libpq resolves nothing (hostaddr given, a
                                    socket directory, or libpq's default socket) */
  char *hosts[PGADDR_HOSTS_MAX]; /* into hostbuf */
  char *ports[PGADDR_HOSTS_MAX]; /* into portbuf; all NULL when one port (or none) for all */
  int naddrs;
  int addr_host[PGADDR_ADDRS_MAX]; /* the index in hosts of each address */
  char addrs[PGADDR_ADDRS_MAX][INET6_ADDRSTRLEN];
  char hostbuf[PGADDR_CONNINFO_MAX + 1];
  char portbuf[PGADDR_CONNINFO_MAX + 1];
} pgaddr_plan;

/* Reads the hosts of opts (from PQconninfoParse; borrowed). A conninfo
 * without host nor hostaddr takes PGHOST from the environment, as libpq
 * would. Returns 0 (p->nhosts 0 when nothing needs resolving) or -EINVAL /
 * -E2BIG with *why (a static string) set: `service` (or PGSERVICE with no
 * host: a service file could name a host libpq would resolve), more than
 * PGADDR_HOSTS_MAX hosts, an empty host in the list, a socket directory in
 * a list, a port list that does not match the host list. */
int pgaddr_plan_init(pgaddr_plan *p, const PQconninfoOption *opts, const char **why);

/* Adds the IPv4 and IPv6 addresses of ai (borrowed) as those of host
 * number host, skipping duplicates, up to PGADDR_ADDRS_MAX in all. */
void pgaddr_plan_add(pgaddr_plan *p, int host, const struct addrinfo *ai);

/* PQconnectStartParams with opts' options and, when p is not NULL (and has
 * addresses), p's hosts and addresses in place of opts' host, hostaddr (and
 * port, for a port list). Returns libpq's connection (owned by the caller;
 * PQstatus may already be CONNECTION_BAD) or NULL when out of memory. */
PGconn *pgaddr_connect_start(const PQconninfoOption *opts, const pgaddr_plan *p);

#endif
