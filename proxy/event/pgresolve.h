/* pgresolve: the host names of a libpq conninfo resolved on a libuv loop,
 * for pgconn's non-blocking connect (PQconnectStart would resolve them
 * synchronously). One uv_getaddrinfo at a time, host after host, into a
 * pgaddr_plan (pgaddr.h: which hosts, their addresses, the connect call);
 * the owner is called back once, from the loop, when every host resolved or
 * one failed. The owner may abandon a resolution in flight (close, timeout):
 * the request then finishes on its own and frees itself.
 */
#ifndef AUTHRELAY_PGRESOLVE_H
#define AUTHRELAY_PGRESOLVE_H

#include <uv.h>

#include "pgaddr.h"

typedef struct pgresolve pgresolve;

/* Done: status 0 (r->plan holds at least one address) or a negative libuv
 * code, msg then a one-line reason or NULL (libuv's message says it). The
 * owner frees r with pgresolve_free() (in the callback or later). */
typedef void (*pgresolve_cb)(void *owner, pgresolve *r, int status, const char *msg);

struct pgresolve {
  uv_getaddrinfo_t req;
  pgresolve_cb cb;
  void *owner;       /* not owned; NULL once abandoned: the callback frees r */
  int next;          /* the host being resolved */
  pgaddr_plan plan;  /* the hosts and the addresses found so far */
};

/* Reads the hosts of opts (borrowed; pgaddr_plan_init's rules) and starts
 * resolving the first. Returns 0 with *out the resolution (owned by the
 * caller until done, then by whoever frees it), or 0 with *out NULL when
 * nothing needs resolving, or -EINVAL/-E2BIG (*why set: a static string)
 * or -ENOMEM, or uv_getaddrinfo's error (*why "") with nothing allocated. */
int pgresolve_start(uv_loop_t *loop, const PQconninfoOption *opts, pgresolve_cb cb, void *owner,
                    pgresolve **out, const char **why);

/* Gives r up: its callback will not be called; r frees itself once libuv
 * is done with the request. */
void pgresolve_abandon(pgresolve *r);

/* Frees a resolution that is done (after its callback). NULL is ignored. */
void pgresolve_free(pgresolve *r);

#endif
