/* reload: SIGHUP reloads the configuration while every stream goes on
 * (DESIGN.md "Operations").
 *
 * On the control loop: the config is loaded again the way it was at start
 * (the same file, AUTHRELAY_* environment and flags, main()'s argv and
 * envp). A config that does not load is logged ("config reload failed",
 * with the error) and the one in force stays. Otherwise it becomes a new
 * snapshot (cfgsnap.h), with the keys that need a restart (listeners,
 * workers, data_dir, ...) kept at their running values and named in a
 * warning; the link service (catalog, webhooks, public_url, provider
 * timeout) switches to it at once, and each relay worker gets it through
 * its mailbox for the requests that begin from then on: a request in
 * flight, paused or streaming, ends under the config it began with. Once
 * every worker has applied it, "config reloaded" is logged.
 */
#ifndef AUTHRELAY_RELOAD_H
#define AUTHRELAY_RELOAD_H

#include <stddef.h>
#include <uv.h>

#include "cfgsnap.h"
#include "control.h"
#include "linkhost.h"
#include "worker.h"

typedef struct reload_t {
  int argc;                 /* main()'s arguments and environment; not owned */
  char **argv;
  char **envp;
  cfgsnap *snap;            /* the config in force on the control loop; a reference */
  worker_t *workers;        /* not owned; reload_attach */
  size_t nworkers;
  linkhost_t *links;        /* not owned */
  control_t *control;       /* not owned */
  uv_signal_t sighup;
  uv_async_t reloaded;      /* a worker applied (or could not apply) a snapshot */
  unsigned pending;         /* generation handed to the workers and not yet
                               applied by all of them; 0: none */
  int stopped;              /* reload_stop was called: SIGHUP is ignored */
} reload_t;

/* Takes snap (the caller's reference, the config loaded at start) and
 * starts handling SIGHUP on loop. argv and envp must live as long as r.
 * Returns 0 or a libuv error. */
int reload_init(reload_t *r, uv_loop_t *loop, int argc, char **argv, char **envp, cfgsnap *snap);

/* What a reload switches: the workers (whose worker_start got &r->reloaded),
 * the link service and the control listener. Before the loop runs. */
void reload_attach(reload_t *r, worker_t *workers, size_t nworkers, linkhost_t *links, control_t *control);

/* Reloads now (what SIGHUP does). Returns 0, or a negative errno when the
 * new config was refused (logged; the old one stays). */
int reload_now(reload_t *r);

/* Draining: a SIGHUP from now on is logged and ignored. */
void reload_stop(reload_t *r);

/* Closes r's handles (the loop then runs their callbacks). SIGHUP stays
 * ignored until the process exits: it never kills the daemon. */
void reload_close(reload_t *r);

/* After the loop has ended and the workers are joined: drops the snapshot. */
void reload_free(reload_t *r);

#endif
