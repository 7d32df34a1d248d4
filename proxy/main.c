/* authrelay: the daemon's entry point.
 *
 * Loads the configuration (file, AUTHRELAY_* environment, flags), checks
 * that nothing else listens on its ports, binds the proxy port in each
 * relay worker (SO_REUSEPORT, shared among them only) and the control port
 * on the main loop, then runs until SIGTERM or SIGINT: the workers stop
 * accepting, let open exchanges finish for drain_timeout_s, and the process
 * exits 0. SIGHUP reloads the configuration (reload.h). Whatever stops it
 * from starting (a bad config, a port in use, a data_dir it cannot use)
 * exits 2 with the reason on stderr; --check-config runs the same checks
 * and exits.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cfgsnap.h"
#include "config.h"
#include "control.h"
#include "curlloop.h"
#include "linkbase.h"
#include "linkhost.h"
#include "log.h"
#include "netio.h"
#include "pausehub.h"
#include "reload.h"
#include "startcheck.h"
#include "worker.h"
#include "timefmt.h"

#ifndef AUTHRELAY_VERSION
#define AUTHRELAY_VERSION "unknown"
#endif

#define EXIT_START_FAILED 2 /* bad config or cannot start (README "The daemon") */

typedef struct daemon_t {
  uv_loop_t *loop;
  reload_t reload;        /* the config in force (reload.snap) and SIGHUP */
  worker_t *workers;      /* workers of them; owned */
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
  sigset_t stop_signals;
  /* Closing the signal handles gives SIGTERM, SIGINT and SIGHUP back to
   * their default action, which ends the process: another one while it
   * exits must not turn the exit 0 of a clean shutdown into a death by
   * signal. They are blocked here (the relay threads block them from their
   * start), then ignored, which also drops any that arrived meanwhile. */
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  (void)pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  control_close(&d->control);
  linkhost_close(&d->links);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  uv_close((uv_handle_t *)&d->worker_exited, NULL);
  uv_close((uv_handle_t *)&d->expiry, NULL);
  reload_close(&d->reload);
}

static void on_expiry_tick(uv_timer_t *t) {
  daemon_t *d = t->data;
  pausehub_expire(&d->hub, timefmt_now_ms());
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
  reload_stop(&d->reload);
  LOG_INFO("draining", LOG_STR("signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"),
           LOG_U64("drain_timeout_s", d->reload.snap->cfg.drain_timeout_s));
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

/* --version anywhere among the arguments: nothing else is read. */
static int version_asked(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--version") == 0)
      return 1;
  }
  return 0;
}

/* --check-config: what the start needs beyond a valid config. */
static int check_config(const config_t *cfg) {
  char err[512];
  int rc = startcheck_files(cfg, err, sizeof err);
  if (rc == 0)
    rc = startcheck_ports(cfg, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "authrelay: %s\n", err);
    return EXIT_START_FAILED;
  }
  if (linkbase_warning(cfg) != NULL)
    fprintf(stderr, "authrelay: warning: %s\n", linkbase_warning(cfg));
  printf("authrelay: configuration ok\n");
  return 0;
}

int main(int argc, char **argv, char **envp) {
  static daemon_t d;
  config_t loaded;
  cfgsnap *snap;
  config_t *cfg;
  char err[512];
  size_t i;
  int rc;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN); /* until the loop handles it: a reload never kills */
  if (version_asked(argc, argv)) {
    printf("authrelay %s\n", AUTHRELAY_VERSION);
    return 0;
  }
  if (config_load(&loaded, argc, argv, envp, err, sizeof err) != 0) {
    fprintf(stderr, "authrelay: %s\n", err);
    return EXIT_START_FAILED;
  }
  if (loaded.help) {
    config_usage(stdout);
    config_free(&loaded);
    return 0;
  }
  if (cfgsnap_create(&snap, &loaded, 0, err, sizeof err) != 0) {
    fprintf(stderr, "authrelay: %s\n", err);
    return EXIT_START_FAILED;
  }
  cfg = &snap->cfg;
  if (cfg->check_only) {
    rc = check_config(cfg);
    cfgsnap_release(snap);
    return rc;
  }
  log_init(cfg->log_level, 2);
  /* First, and before binding with SO_REUSEPORT, which would share a port
   * that another process holds with it set. */
  rc = startcheck_ports(cfg, err, sizeof err);
  if (rc != 0)
    LOG_ERROR("cannot listen", LOG_STR("error", err));
  if (rc == 0) {
    rc = startcheck_files(cfg, err, sizeof err);
    if (rc != 0)
      LOG_ERROR("cannot start the link service", LOG_STR("error", err));
  }
  if (rc != 0) {
    cfgsnap_release(snap);
    return EXIT_START_FAILED;
  }
  d.loop = uv_default_loop();
  rc = reload_init(&d.reload, d.loop, argc, argv, envp, snap);
  if (rc != 0) {
    LOG_ERROR("cannot handle SIGHUP", LOG_STR("error", uv_strerror(rc)));
    return EXIT_START_FAILED;
  }
  if (curlloop_global_init() != 0) {
    LOG_ERROR("cannot initialise libcurl");
    return EXIT_START_FAILED;
  }
  raise_open_files_limit();
  {
    linksvc_options lo;
    memset(&lo, 0, sizeof lo);
    lo.link_ttl_s = cfg->pause_timeout_s;
    lo.keep_pending = cfg->store != NULL && strncmp(cfg->store, "postgres", 8) == 0; /* shared with replicas */
    rc = pausehub_init(&d.hub, &lo);
    if (rc != 0) {
      LOG_ERROR("cannot start the link service", LOG_STR("error", uv_strerror(rc)));
      return EXIT_START_FAILED;
    }
  }
  rc = linkhost_open(&d.links, d.loop, cfg, &snap->catalog, &d.hub, err, sizeof err);
  if (rc != 0) {
    LOG_ERROR("cannot start the link service", LOG_STR("error", err));
    return EXIT_START_FAILED;
  }
  if (linkbase_warning(cfg) != NULL)
    LOG_WARN(linkbase_warning(cfg));
  d.workers = calloc((size_t)cfg->workers, sizeof *d.workers);
  if (d.workers == NULL)
    return EXIT_START_FAILED;
  uv_async_init(d.loop, &d.worker_exited, on_worker_exited);
  d.worker_exited.data = &d;
  for (i = 0; i < (size_t)cfg->workers; i++) {
    rc = worker_init(&d.workers[i], (int)i, snap);
    if (rc != 0) {
      LOG_ERROR("cannot listen", LOG_STR("listen", cfg->listen), LOG_STR("error", uv_strerror(rc)));
      return EXIT_START_FAILED;
    }
    if (cfg->listen_port == 0) {
      /* Port 0: the kernel chose one; the other workers share it. */
      cfg->listen_port = bound_port((uv_handle_t *)&d.workers[i].listener);
    }
  }
  rc = control_init(&d.control, d.loop, cfg, d.workers, (size_t)cfg->workers, &d.hub, &d.links);
  if (rc != 0) {
    LOG_ERROR("cannot listen", LOG_STR("control", cfg->control), LOG_STR("error", uv_strerror(rc)));
    return EXIT_START_FAILED;
  }
  for (i = 0; i < (size_t)cfg->workers; i++) {
    rc = worker_start(&d.workers[i], &d.worker_exited, &d.reload.reloaded, &d.hub);
    if (rc != 0) {
      LOG_ERROR("cannot start worker", LOG_STR("error", uv_strerror(rc)));
      return EXIT_START_FAILED;
    }
    d.nworkers++;
  }
  reload_attach(&d.reload, d.workers, d.nworkers, &d.links, &d.control);
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
    snprintf(listen_addr, sizeof listen_addr, "%s%s%s:%d", strchr(cfg->listen_host, ':') ? "[" : "",
             cfg->listen_host, strchr(cfg->listen_host, ':') ? "]" : "", cfg->listen_port);
    snprintf(control_addr, sizeof control_addr, "%s%s%s:%d", strchr(cfg->control_host, ':') ? "[" : "",
             cfg->control_host, strchr(cfg->control_host, ':') ? "]" : "",
             bound_port((uv_handle_t *)&d.control.listener));
    LOG_INFO("listening", LOG_STR("listen", listen_addr), LOG_STR("control", control_addr),
             LOG_U64("workers", (uint64_t)cfg->workers), LOG_STR("version", AUTHRELAY_VERSION));
  }
  cfg = NULL; /* from here on, a reload may replace the config: d.reload.snap */

  uv_run(d.loop, UV_RUN_DEFAULT);
  netio_pool_trim();

  for (i = 0; i < d.nworkers; i++)
    worker_join(&d.workers[i]);
  free(d.workers);
  pausehub_close(&d.hub);
  uv_loop_close(d.loop);
  LOG_INFO("stopped");
  reload_free(&d.reload);
  return 0;
}
