/* reload: the config reload on SIGHUP. See reload.h. */
#include "reload.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "log.h"

/* Every worker has answered generation r->pending: say how it went. */
static void on_reloaded(uv_async_t *a) {
  reload_t *r = a->data;
  size_t failed = 0;
  size_t i;
  if (r->pending == 0)
    return;
  for (i = 0; i < r->nworkers; i++) {
    worker_t *w = &r->workers[i];
    unsigned applied = __atomic_load_n(&w->applied_generation, __ATOMIC_ACQUIRE);
    unsigned refused = __atomic_load_n(&w->failed_generation, __ATOMIC_ACQUIRE);
    if (refused == r->pending)
      failed++;
    else if (applied != r->pending)
      return; /* not yet */
  }
  if (failed > 0)
    LOG_ERROR("config reload failed", LOG_U64("generation", r->pending),
              LOG_STR("error", "a relay worker could not apply it (out of memory); its new requests keep the old "
                               "config"),
              LOG_U64("workers", failed));
  else
    LOG_INFO("config reloaded", LOG_U64("generation", r->pending), LOG_U64("routes", r->snap->cfg.nroutes),
             LOG_U64("webhooks", r->snap->cfg.nwebhooks), LOG_U64("connectors", r->snap->catalog.count));
  r->pending = 0;
}

static void on_sighup(uv_signal_t *s, int signum) {
  (void)signum;
  (void)reload_now(s->data);
}

int reload_now(reload_t *r) {
  config_t next;
  cfgsnap *snap;
  cfgsnap *old = r->snap;
  char err[512];
  char changed[256];
  size_t i;
  int rc;
  if (r->stopped) {
    LOG_WARN("config reload ignored: draining");
    return -ECANCELED;
  }
  LOG_INFO("reloading the config", LOG_STR("file", old->cfg.config_file != NULL ? old->cfg.config_file : ""));
  rc = config_load(&next, r->argc, r->argv, r->envp, err, sizeof err);
  if (rc != 0) {
    LOG_ERROR("config reload failed", LOG_STR("error", err));
    return rc;
  }
  rc = cfgsnap_keep_restart_keys(&next, &old->cfg, changed, sizeof changed);
  if (rc < 0) {
    config_free(&next);
    LOG_ERROR("config reload failed", LOG_STR("error", "out of memory"));
    return rc;
  }
  if (rc > 0)
    LOG_WARN("config changes that need a restart were not applied", LOG_STR("keys", changed));
  rc = cfgsnap_create(&snap, &next, old->generation + 1, err, sizeof err);
  if (rc != 0) {
    LOG_ERROR("config reload failed", LOG_STR("error", err));
    return rc;
  }
  log_init(snap->cfg.log_level, 2);
  if (r->links != NULL)
    linkhost_reload(r->links, &snap->cfg, &snap->catalog);
  if (r->control != NULL)
    r->control->cfg = &snap->cfg;
  r->snap = snap;
  r->pending = snap->generation;
  for (i = 0; i < r->nworkers; i++)
    worker_reload(&r->workers[i], snap);
  cfgsnap_release(old); /* the workers' requests in flight may still hold it */
  if (r->nworkers == 0)
    on_reloaded(&r->reloaded);
  return 0;
}

int reload_init(reload_t *r, uv_loop_t *loop, int argc, char **argv, char **envp, cfgsnap *snap) {
  int rc;
  memset(r, 0, sizeof *r);
  r->argc = argc;
  r->argv = argv;
  r->envp = envp;
  r->snap = snap;
  rc = uv_async_init(loop, &r->reloaded, on_reloaded);
  if (rc != 0)
    return rc;
  r->reloaded.data = r;
  uv_signal_init(loop, &r->sighup);
  r->sighup.data = r;
  rc = uv_signal_start(&r->sighup, on_sighup, SIGHUP);
  if (rc != 0) {
    uv_close((uv_handle_t *)&r->sighup, NULL);
    uv_close((uv_handle_t *)&r->reloaded, NULL);
  }
  return rc;
}

void reload_attach(reload_t *r, worker_t *workers, size_t nworkers, linkhost_t *links, control_t *control) {
  r->workers = workers;
  r->nworkers = nworkers;
  r->links = links;
  r->control = control;
}

void reload_stop(reload_t *r) {
  r->stopped = 1;
}

void reload_close(reload_t *r) {
  r->stopped = 1;
  uv_close((uv_handle_t *)&r->sighup, NULL);
  uv_close((uv_handle_t *)&r->reloaded, NULL);
  /* libuv gives SIGHUP back to its default action, which ends the process. */
  signal(SIGHUP, SIG_IGN);
}

void reload_free(reload_t *r) {
  cfgsnap_release(r->snap);
  r->snap = NULL;
}
