/* test_cfgsnap: proxy/relay/cfgsnap.c, the counted configuration snapshots
 * a reload swaps in.
 *
 * Covers: a snapshot takes its config_t's contents (the source is zeroed)
 * and starts with one reference; hold/release count, the last release frees
 * it (cfgsnap_live() goes back); no connectors file: no catalog (any slug),
 * with one: its catalog; a catalog that does not load fails the create and
 * frees the config. cfgsnap_keep_restart_keys() names the keys a running
 * daemon keeps (admin_key, workers, pause_timeout_s... never their values),
 * puts the running values back into the new config, always takes the
 * running listen/control (ports really bound), lists only whole names in a
 * small buffer, and counts 0 when nothing of the kind changed.
 *
 * Argument: the path of examples/connectors.json.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfgsnap.h"
#include "unit.h"

static const char *connectors_path;

/* Loads a config from flags (NULL-terminated) after "--upstream". */
static int load(config_t *c, const char *const *flags) {
  char err[512];
  char *argv[24];
  int argc = 0;
  argv[argc++] = "authrelay";
  argv[argc++] = "--upstream";
  argv[argc++] = "http://127.0.0.1:9";
  while (*flags != NULL && argc < 23)
    argv[argc++] = (char *)*flags++;
  argv[argc] = NULL;
  if (config_load(c, argc, argv, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "config_load: %s\n", err);
    return -1;
  }
  return 0;
}

static void counted_and_freed(void) {
  static const char *const none[] = {NULL};
  config_t c;
  cfgsnap *s = NULL;
  char err[256];
  size_t live = cfgsnap_live();
  CHECK(load(&c, none) == 0);
  CHECK(cfgsnap_create(&s, &c, 3, err, sizeof err) == 0);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK(c.upstream == NULL && c.listen == NULL); /* the contents moved */
  CHECK(s->cfg.upstream != NULL && strcmp(s->cfg.upstream, "http://127.0.0.1:9") == 0);
  CHECK(s->generation == 3);
  CHECK(cfgsnap_catalog(s) == NULL); /* no connectors file: any slug */
  CHECK(cfgsnap_live() == live + 1);
  CHECK(cfgsnap_hold(s) == s);
  cfgsnap_release(s);
  CHECK(cfgsnap_live() == live + 1); /* one reference left */
  cfgsnap_release(s);
  CHECK(cfgsnap_live() == live);
  cfgsnap_release(NULL); /* ignored */
}

static void with_a_catalog(void) {
  const char *flags[] = {"--connectors", connectors_path, NULL};
  const char *bad[] = {"--connectors", "/nonexistent/connectors.json", NULL};
  config_t c;
  cfgsnap *s = NULL;
  char err[256];
  size_t live = cfgsnap_live();
  CHECK(load(&c, flags) == 0);
  CHECK(cfgsnap_create(&s, &c, 0, err, sizeof err) == 0);
  CHECK(s != NULL && cfgsnap_catalog(s) != NULL);
  cfgsnap_release(s);

  CHECK(load(&c, bad) == 0); /* the file is read by the snapshot, not by config_load */
  s = (cfgsnap *)&c;         /* anything: must be set to NULL */
  err[0] = '\0';
  CHECK(cfgsnap_create(&s, &c, 1, err, sizeof err) < 0);
  CHECK(s == NULL);
  CHECK(err[0] != '\0');
  CHECK(c.upstream == NULL); /* taken and freed (ASan: no leak, no double free) */
  CHECK(cfgsnap_live() == live);
}

static void restart_keys(void) {
  const char *cur_flags[] = {"--admin-key", "old-admin-key-value", "--workers", "2", "--listen",
                             "127.0.0.1:8080", "--pause-timeout-s", "600", "--heartbeat-s", "5", NULL};
  const char *next_flags[] = {"--admin-key", "new-admin-key-value", "--workers", "3", "--listen",
                              "127.0.0.1:8081", "--pause-timeout-s", "600", "--heartbeat-s", "7", NULL};
  config_t cur;
  config_t next;
  char changed[128];
  CHECK(load(&cur, cur_flags) == 0);
  CHECK(load(&next, next_flags) == 0);
  cur.listen_port = 41234; /* as bound */
  CHECK(cfgsnap_keep_restart_keys(&next, &cur, changed, sizeof changed) == 3);
  CHECK(strcmp(changed, "listen, admin_key, workers") == 0);
  CHECK(strstr(changed, "value") == NULL); /* names, never values */
  CHECK(strcmp(next.admin_key, "old-admin-key-value") == 0);
  CHECK(next.workers == 2);
  CHECK(strcmp(next.listen, "127.0.0.1:8080") == 0 && next.listen_port == 41234);
  CHECK(next.heartbeat_s == 7); /* not a restart key: the new value stays */

  /* again: nothing of the kind differs now */
  CHECK(cfgsnap_keep_restart_keys(&next, &cur, changed, sizeof changed) == 0);
  CHECK(changed[0] == '\0');

  /* a buffer too small for every name keeps the whole names that fit */
  config_free(&next);
  CHECK(load(&next, next_flags) == 0);
  CHECK(cfgsnap_keep_restart_keys(&next, &cur, changed, 16) == 3);
  CHECK(strcmp(changed, "listen, workers") == 0); /* admin_key did not fit, workers did */
  config_free(&next);
  config_free(&cur);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_cfgsnap examples/connectors.json\n");
    return 2;
  }
  connectors_path = argv[1];
  RUN(counted_and_freed);
  RUN(with_a_catalog);
  RUN(restart_keys);
  return unit_report();
}
