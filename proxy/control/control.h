/* control: the control listener (default 127.0.0.1:9090) on the main loop.
 *
 * Operators and orchestrators talk to authrelay here, never on the proxy
 * port: /healthz (the process is up), /readyz (it accepts traffic; 503 while
 * draining), /metrics (Prometheus text summed over the relay loops),
 * /v1/streams (paused streams, resume, cancel) and the link service's API
 * (/api/..., /oauth/token: linkapi.h), all but the first three behind a
 * bearer token.
 * Requests are small; each connection gets one answer and is closed.
 */
#ifndef AUTHRELAY_CONTROL_H
#define AUTHRELAY_CONTROL_H

#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "linkhost.h"
#include "pausehub.h"
#include "worker.h"
#include "list.h"

typedef struct control_t {
  uv_loop_t *loop;        /* not owned */
  uv_tcp_t listener;
  const config_t *cfg;    /* not owned */
  worker_t *workers;      /* not owned: their metrics are read */
  pausehub_t *hub;        /* not owned: paused streams, resume and cancel */
  linkhost_t *links;      /* not owned: the link service's API and the bearer check */
  size_t nworkers;
  list_node streams;      /* open /v1/events connections (control_conn.stream_link) */
  int ready;              /* 1 while accepting traffic; 0 when draining */
  int open;               /* the listener is open */
} control_t;

/* Binds cfg's control address on loop. Returns 0 or a libuv error. */
int control_init(control_t *c, uv_loop_t *loop, const config_t *cfg, worker_t *workers,
                 size_t nworkers, pausehub_t *hub, linkhost_t *links);

/* Stops listening and closes the /v1/events feeds (connections being
 * answered finish). */
void control_close(control_t *c);

#endif
