/* cfgsnap: counted configuration snapshots. See cfgsnap.h. */
#include "cfgsnap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t live; /* snapshots not yet freed (atomic access) */

int cfgsnap_create(cfgsnap **out, config_t *cfg, unsigned generation, char *err, size_t errlen) {
  cfgsnap *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (s == NULL) {
    config_free(cfg);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  s->cfg = *cfg;
  memset(cfg, 0, sizeof *cfg);
  rc = catalog_load(&s->catalog, s->cfg.connectors, err, errlen);
  if (rc != 0) {
    config_free(&s->cfg);
    free(s);
    return rc;
  }
  s->generation = generation;
  s->refs = 1;
  __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
  *out = s;
  return 0;
}

cfgsnap *cfgsnap_hold(cfgsnap *s) {
  __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
  return s;
}

void cfgsnap_release(cfgsnap *s) {
  if (s == NULL)
    return;
  /* Release so that this thread's reads happen before the free; acquire so
   * that the freeing thread sees every other thread's. */
  if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  catalog_free(&s->catalog);
  config_free(&s->cfg);
  free(s);
  __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
}

const catalog_t *cfgsnap_catalog(const cfgsnap *s) {
  return s->catalog.open ? NULL : &s->catalog;
}

size_t cfgsnap_live(void) {
  return __atomic_load_n(&live, __ATOMIC_RELAXED);
}

/* ---- keys that need a restart ---- */

/* The string keys kept; listen and control come with their host and port. */
static const struct {
  const char *name;
  size_t off;
} restart_strings[] = {
    {"listen", offsetof(config_t, listen)},
    {"control", offsetof(config_t, control)},
    {"data_dir", offsetof(config_t, data_dir)},
    {"store", offsetof(config_t, store)},
    {"secret_key", offsetof(config_t, secret_key)},
    {"admin_key", offsetof(config_t, admin_key)},
    {"link_service.url", offsetof(config_t, link_service.url)},
    {"link_service.api_key", offsetof(config_t, link_service.api_key)},
};

/* Appends ", name" (or name first) when it fits whole. */
static void note_changed(char *changed, size_t cap, const char *name) {
  size_t used = strnlen(changed, cap);
  size_t sep = used > 0 ? 2 : 0;
  if (used + sep + strlen(name) >= cap)
    return;
  snprintf(changed + used, cap - used, "%s%s", sep > 0 ? ", " : "", name);
}

static int same_str(const char *a, const char *b) {
  return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Replaces *slot with a copy of value. Returns 0 or -ENOMEM. */
static int copy_str(char **slot, const char *value) {
  char *copy = NULL;
  if (value != NULL) {
    copy = strdup(value);
    if (copy == NULL)
      return -ENOMEM;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

int cfgsnap_keep_restart_keys(config_t *next, const config_t *cur, char *changed, size_t cap) {
  size_t i;
  int n = 0;
  if (cap > 0)
    changed[0] = '\0';
  for (i = 0; i < sizeof restart_strings / sizeof restart_strings[0]; i++) {
    char **slot = (char **)((char *)next + restart_strings[i].off);
    char *const *kept = (char *const *)((const char *)cur + restart_strings[i].off);
    if (same_str(*slot, *kept))
      continue;
    note_changed(changed, cap, restart_strings[i].name);
    n++;
    if (copy_str(slot, *kept) != 0)
      return -ENOMEM;
  }
  /* The addresses in force, with the ports really bound. */
  if (copy_str(&next->listen, cur->listen) != 0 || copy_str(&next->listen_host, cur->listen_host) != 0 ||
      copy_str(&next->control, cur->control) != 0 || copy_str(&next->control_host, cur->control_host) != 0)
    return -ENOMEM;
  next->listen_port = cur->listen_port;
  next->control_port = cur->control_port;
  if (next->workers != cur->workers) {
    note_changed(changed, cap, "workers");
    n++;
    next->workers = cur->workers;
  }
  if (next->store_timeout_s != cur->store_timeout_s) {
    note_changed(changed, cap, "store_timeout_s");
    n++;
    next->store_timeout_s = cur->store_timeout_s;
  }
  if (next->pause_timeout_s != cur->pause_timeout_s) {
    note_changed(changed, cap, "pause_timeout_s");
    n++;
    next->pause_timeout_s = cur->pause_timeout_s;
  }
  if (next->link_service.poll_interval_s != cur->link_service.poll_interval_s) {
    note_changed(changed, cap, "link_service.poll_interval_s");
    n++;
    next->link_service.poll_interval_s = cur->link_service.poll_interval_s;
  }
  return n;
}
