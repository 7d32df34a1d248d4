/* cfgsnap: one loaded configuration, shared by every thread and counted.
 *
 * SIGHUP (reload.h) loads the config file again while streams go on: each
 * load is a new snapshot, the config_t with the connector catalog its
 * `connectors` file names, and nothing in a snapshot changes once it is
 * shared. The control loop holds a reference to the one in force; each
 * relay worker holds one for its current generation of upstream pools
 * (worker.h), and a request keeps the generation (so the snapshot) it began
 * with until it ends. A snapshot is freed when its last reference goes,
 * on whichever thread drops it: the count is atomic, nothing else is
 * shared-writable.
 *
 * Some keys cannot change in a running daemon (the listeners, the threads,
 * the store): cfgsnap_keep_restart_keys() carries the running values over
 * into a new config and names the keys that differed, so that the daemon
 * can say that they need a restart.
 */
#ifndef AUTHRELAY_CFGSNAP_H
#define AUTHRELAY_CFGSNAP_H

#include <stddef.h>

#include "catalog.h"
#include "config.h"

typedef struct cfgsnap {
  config_t cfg;        /* read-only once shared */
  catalog_t catalog;   /* loaded from cfg.connectors (open when none) */
  unsigned generation; /* 0 for the config loaded at start, +1 per reload */
  int refs;            /* references (atomic access) */
} cfgsnap;

/* Makes a snapshot of cfg, whose contents it takes (cfg is zeroed, on
 * success and on error), and loads the catalog of cfg->connectors. The
 * snapshot starts with one reference, the caller's. Returns 0, or a negative
 * errno with a one-line message in err (a catalog that does not load). */
int cfgsnap_create(cfgsnap **out, config_t *cfg, unsigned generation, char *err, size_t errlen);

/* Takes one more reference to s (any thread); returns s. */
cfgsnap *cfgsnap_hold(cfgsnap *s);

/* Drops a reference (any thread); the last one frees the snapshot. NULL is
 * ignored. */
void cfgsnap_release(cfgsnap *s);

/* The catalog a detection's connector must be in, or NULL when any is
 * accepted (no connectors file). Borrowed from s. */
const catalog_t *cfgsnap_catalog(const cfgsnap *s);

/* Snapshots not yet freed, in the whole process (for tests and leaks). */
size_t cfgsnap_live(void);

/* Keys a running daemon keeps until restart: listen, control, workers,
 * data_dir, store, store_timeout_s, secret_key, admin_key, pause_timeout_s and
 * link_service.*.
 * Where next differs from cur in one of them, its name is appended to
 * changed (comma-separated, the names that fit cap bytes with the NUL) and next is
 * given cur's value; listen and control always take cur's (which hold the
 * ports really bound when :0 was asked for). Never names a value, only a
 * key. Returns how many keys differed, or -ENOMEM (next then still owns
 * what it holds and can be freed). */
int cfgsnap_keep_restart_keys(config_t *next, const config_t *cur, char *changed, size_t cap);

#endif
