/* authrelay: the daemon's entry point.
 *
 * Loads the configuration (file, AUTHRELAY_* environment, flags), binds the
 * proxy port in each relay worker (SO_REUSEPORT) and the control port on the
 * main loop, then runs until SIGTERM or SIGINT: the workers stop accepting,
 * let open exchanges finish for drain_timeout_s, and the process exits 0.
 */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "config.h"
#include "control.h"
#include "curlloop.h"
#include "linkbase.h"
#include "linkhost.h"
#include "log.h"
#include "netio.h"
#include "pausehub.h"
#include "worker.h"

typedef struct daemon_t {
  uv_loop_t *loop;
  config_t cfg;
  worker_t *workers;      /* cfg.workers of them; owned */
  size_t nworkers;        /* workers started */
  size_t nexited;         /* workers whose loop has ended */
  control_t control;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_async_t worker_exited;
  pausehub_t hub;         /* link state shared by the workers */
  linkhost_t links;       /* the embedded link service (store, Link page, API) */
  uv_timer_t expiry;      /* expires links once a second */
  int draining;
} daemon_t;

/* The port a bound TCP handle got. */
static int bound_port(uv_handle_t *h) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname((uv_tcp_t *)h, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void close_main_handles(daemon_t *d) {
  control_close(&d->control);
  linkhost_close(&d->links);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
  uv_close((uv_handle_t *)&d->worker_exited, NULL);
  uv_close((uv_handle_t *)&d->expiry, NULL);
}

static void on_expiry_tick(uv_timer_t *t) {
  daemon_t *d = t->data;
  pausehub_expire(&d->hub, pausehub_now_ms());
}

static void on_worker_exited(uv_async_t *a) {
  daemon_t *d = a->data;
  size_t i;
  size_t done = 0;
  /* uv_async_send may coalesce: count the workers that really ended. */
  for (i = 0; i < d->nworkers; i++) {
    if (__atomic_load_n(&d->workers[i].loop_ended, __ATOMIC_ACQUIRE))
      done++;
  }
  d->nexited = done;
  if (d->draining && d->nexited == d->nworkers)
    close_main_handles(d);
}

static void on_signal(uv_signal_t *s, int signum) {
  daemon_t *d = s->data;
  size_t i;
  if (d->draining)
    return;
  d->draining = 1;
  d->control.ready = 0;
  LOG_INFO("draining", LOG_STR("signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"),
           LOG_U64("drain_timeout_s", d->cfg.drain_timeout_s));
  pausehub_keep_links(&d->hub); /* paused streams end now; their links stay valid */
  for (i = 0; i < d->nworkers; i++)
    worker_drain(&d->workers[i]);
}

/* Each relayed stream holds two sockets; the default soft limit on open
 * files (often 1024) would cap a relay at a few hundred streams. Raise it to
 * the hard limit, as nginx's worker_rlimit_nofile lets operators do, and say
 * how many streams that allows. */
static void raise_open_files_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  LOG_DEBUG("open files limit", LOG_U64("nofile", (uint64_t)rl.rlim_cur));
}

int main(int argc, char **argv, char **envp) {
  static daemon_t d;
  char err[512];
  size_t i;
  int rc;

  signal(SIGPIPE, SIG_IGN);
  if (config_load(&d.cfg, argc, argv, envp, err, sizeof err) != 0) {
    fprintf(stderr, "authrelay: %s\n", err);
    return 2;
  }
  if (d.cfg.help) {
    config_usage(stdout);
    config_free(&d.cfg);
    return 0;
  }
  if (d.cfg.check_only) {
    if (linkbase_warning(&d.cfg) != NULL)
      fprintf(stderr, "authrelay: warning: %s\n", linkbase_warning(&d.cfg));
    printf("authrelay: configuration ok\n");
    config_free(&d.cfg);
    return 0;
  }
  log_init(d.cfg.log_level, 2);
  if (curlloop_global_init() != 0) {
    LOG_ERROR("cannot initialise libcurl");
    return 1;
  }
  raise_open_files_limit();
  {
    linksvc_options lo;
    memset(&lo, 0, sizeof lo);
    lo.link_ttl_s = d.cfg.pause_timeout_s;
    rc = pausehub_init(&d.hub, &lo);
    if (rc != 0) {
      LOG_ERROR("cannot start the link service", LOG_STR("error", uv_strerror(rc)));
      return 1;
    }
  }
  d.loop = uv_default_loop();
  rc = linkhost_open(&d.links, d.loop, &d.cfg, &d.hub, err, sizeof err);
  if (rc != 0) {
    LOG_ERROR("cannot start the link service", LOG_STR("error", err));
    return 1;
  }
  d.hub.catalog = d.links.catalog.open ? NULL : &d.links.catalog;
  if (linkbase_warning(&d.cfg) != NULL)
    LOG_WARN(linkbase_warning(&d.cfg));
  d.workers = calloc((size_t)d.cfg.workers, sizeof *d.workers);
  if (d.workers == NULL)
    return 1;
  uv_async_init(d.loop, &d.worker_exited, on_worker_exited);
  d.worker_exited.data = &d;
  for (i = 0; i < (size_t)d.cfg.workers; i++) {
    rc = worker_init(&d.workers[i], (int)i, &d.cfg);
    if (rc != 0) {
      LOG_ERROR("cannot listen", LOG_STR("listen", d.cfg.listen), LOG_STR("error", uv_strerror(rc)));
      return 1;
    }
    if (d.cfg.listen_port == 0) {
      /* Port 0: the kernel chose one; the other workers share it. */
      d.cfg.listen_port = bound_port((uv_handle_t *)&d.workers[i].listener);
    }
  }
  rc = control_init(&d.control, d.loop, &d.cfg, d.workers, (size_t)d.cfg.workers, &d.hub, &d.links);
  if (rc != 0) {
    LOG_ERROR("cannot listen", LOG_STR("control", d.cfg.control), LOG_STR("error", uv_strerror(rc)));
    return 1;
  }
  for (i = 0; i < (size_t)d.cfg.workers; i++) {
    rc = worker_start(&d.workers[i], &d.worker_exited, &d.hub);
    if (rc != 0) {
      LOG_ERROR("cannot start worker", LOG_STR("error", uv_strerror(rc)));
      return 1;
    }
    d.nworkers++;
  }
  uv_timer_init(d.loop, &d.expiry);
  d.expiry.data = &d;
  uv_timer_start(&d.expiry, on_expiry_tick, 1000, 1000);
  uv_signal_init(d.loop, &d.sigterm);
  uv_signal_init(d.loop, &d.sigint);
  d.sigterm.data = &d;
  d.sigint.data = &d;
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);
  uv_signal_start(&d.sigint, on_signal, SIGINT);
  {
    char listen_addr[80];
    char control_addr[80];
    snprintf(listen_addr, sizeof listen_addr, "%s%s%s:%d", strchr(d.cfg.listen_host, ':') ? "[" : "",
             d.cfg.listen_host, strchr(d.cfg.listen_host, ':') ? "]" : "", d.cfg.listen_port);
    snprintf(control_addr, sizeof control_addr, "%s%s%s:%d", strchr(d.cfg.control_host, ':') ? "[" : "",
             d.cfg.control_host, strchr(d.cfg.control_host, ':') ? "]" : "",
             bound_port((uv_handle_t *)&d.control.listener));
    LOG_INFO("listening", LOG_STR("listen", listen_addr), LOG_STR("control", control_addr),
             LOG_U64("workers", (uint64_t)d.cfg.workers));
  }

  uv_run(d.loop, UV_RUN_DEFAULT);
  netio_pool_trim();

  for (i = 0; i < d.nworkers; i++)
    worker_join(&d.workers[i]);
  free(d.workers);
  pausehub_close(&d.hub);
  uv_loop_close(d.loop);
  LOG_INFO("stopped");
  config_free(&d.cfg);
  return 0;
}
