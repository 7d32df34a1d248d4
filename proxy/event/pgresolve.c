/* pgresolve: the conninfo's host names resolved on the loop (see pgresolve.h). */
#include "pgresolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int resolve_next(pgresolve *r);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai) {
  pgresolve *r = (pgresolve *)req;
  int rc;
  if (r->owner == NULL) {
    uv_freeaddrinfo(ai);
    free(r);
    return;
  }
  if (status < 0) {
    char msg[512]; /* pgconn keeps PGCONN_ERROR_MAX (512) bytes of it */
    snprintf(msg, sizeof msg, "could not resolve host \"%s\": %s", r->plan.hosts[r->next],
             uv_strerror(status));
    r->cb(r->owner, r, status, msg);
    return;
  }
  pgaddr_plan_add(&r->plan, r->next, ai);
  uv_freeaddrinfo(ai);
  r->next++;
  if (r->next < r->plan.nhosts) {
    rc = resolve_next(r);
    if (rc < 0)
      r->cb(r->owner, r, rc, NULL);
    return;
  }
  if (r->plan.naddrs == 0) {
    r->cb(r->owner, r, UV_EAI_NONAME, "no IPv4 or IPv6 address for the host");
    return;
  }
  r->cb(r->owner, r, 0, NULL);
}

static int resolve_next(pgresolve *r) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  return uv_getaddrinfo(r->req.loop, &r->req, on_resolved, r->plan.hosts[r->next], NULL, &hints);
}

int pgresolve_start(uv_loop_t *loop, const PQconninfoOption *opts, pgresolve_cb cb, void *owner,
                    pgresolve **out, const char **why) {
  pgresolve *r = calloc(1, sizeof *r);
  int rc;
  *out = NULL;
  if (r == NULL) {
    *why = "out of memory";
    return -ENOMEM;
  }
  rc = pgaddr_plan_init(&r->plan, opts, why);
  if (rc < 0 || r->plan.nhosts == 0) {
    free(r);
    return rc;
  }
  r->cb = cb;
  r->owner = owner;
  r->req.loop = loop;
  rc = resolve_next(r);
  if (rc < 0) {
    *why = "";
    free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void pgresolve_abandon(pgresolve *r) {
  (void)uv_cancel((uv_req_t *)&r->req);
  r->owner = NULL;
}

void pgresolve_free(pgresolve *r) {
  free(r);
}
