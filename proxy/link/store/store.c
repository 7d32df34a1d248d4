/* store: picks the backend a spec names and closes a store. See store.h;
 * the backends are in sqlite/ (and, later, postgres/). */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"

int store_open(store_t *st, uv_loop_t *loop, const char *spec) {
  const char *path = spec;
  memset(st, 0, sizeof *st);
  st->loop = loop;
  if (spec == NULL || spec[0] == '\0' || strlen(spec) >= STORE_SPEC_MAX) {
    snprintf(st->error, sizeof st->error, "the store needs a spec: sqlite:<path> or a path");
    return -EINVAL;
  }
  if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0) {
    snprintf(st->error, sizeof st->error, "the PostgreSQL store is not built into this authrelay");
    return -ENOTSUP;
  }
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
