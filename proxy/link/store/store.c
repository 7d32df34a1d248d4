/* store: picks the backend a spec names and closes a store. See store.h;
 * the backends are in sqlite/ and postgres/. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "store_sqlite.h"

int store_open(store_t *st, uv_loop_t *loop, const char *spec) {
  return store_open_opts(st, loop, spec, NULL);
}

int store_open_opts(store_t *st, uv_loop_t *loop, const char *spec, const store_opts *opts) {
  store_opts o = {0, 0};
  const char *path = spec;
  memset(st, 0, sizeof *st);
  st->loop = loop;
  if (opts != NULL)
    o = *opts;
  if (spec == NULL || spec[0] == '\0' || strlen(spec) >= STORE_SPEC_MAX) {
    snprintf(st->error, sizeof st->error, "the store needs a spec: sqlite:<path> or a path");
    return -EINVAL;
  }
  if (o.timeout_ms == 0)
    o.timeout_ms = STORE_TIMEOUT_DEFAULT_MS;
  if (o.pool == 0)
    o.pool = PGSTORE_POOL_DEFAULT;
  if (o.timeout_ms < 1 || o.timeout_ms > STORE_TIMEOUT_MAX_MS || o.pool < 1 || o.pool > PGSTORE_POOL_MAX) {
    snprintf(st->error, sizeof st->error, "store options out of range (timeout 1 ms to %ld s, pool 1 to %d)",
             STORE_TIMEOUT_MAX_MS / 1000, PGSTORE_POOL_MAX);
    return -EINVAL;
  }
  if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0)
    return store_pg_open(st, loop, spec, &o);
  if (strncmp(spec, "sqlite:", 7) == 0)
    path = spec + 7;
  if (path[0] == '\0') {
    snprintf(st->error, sizeof st->error, "sqlite: needs a file path");
    return -EINVAL;
  }
  return store_sqlite_open(st, loop, path);
}

void store_close(store_t *st, store_close_cb cb) {
  st->close_cb = cb;
  if (st->ops == NULL) {
    if (cb != NULL)
      cb(st);
    return;
  }
  st->ops->close(st, cb);
}
