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
 * small buffer, and counts 0 when nothing of the kind changed. Two threads
 * holding and releasing one snapshot lose no reference; every restart key
 * at once is named and kept.
 *
 * Argument: the path of examples/connectors.json.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cfgsnap.h"
#include "unit.h"

static const char *connectors_path;

/* Loads a config from flags (NULL-terminated), after "--upstream
 * http://127.0.0.1:9" when with_upstream is set (else the flags name it). */
static int load_as(config_t *c, int with_upstream, const char *const *flags) {
  char err[512];
  char *argv[32];
  int argc = 0;
  argv[argc++] = "authrelay";
  if (with_upstream) {
    argv[argc++] = "--upstream";
    argv[argc++] = "http://127.0.0.1:9";
  }
  while (*flags != NULL && argc < 31)
    argv[argc++] = (char *)*flags++;
  argv[argc] = NULL;
  if (config_load(c, argc, argv, NULL, err, sizeof err) != 0) {
    fprintf(stderr, "config_load: %s\n", err);
    return -EINVAL;
  }
  return 0;
}

static int load(config_t *c, const char *const *flags) {
  return load_as(c, 1, flags);
}

#define UP "--upstream=http://127.0.0.1:8000"
#define FLAGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)

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

/* ---- across threads, and every restart key ---- */

#define HOLDS 200000

static void *hold_and_release(void *arg) {
  cfgsnap *s = arg;
  int i;
  for (i = 0; i < HOLDS; i++) {
    cfgsnap *mine = cfgsnap_hold(s);
    if (i % 2 == 1) {
      cfgsnap_hold(mine);
      cfgsnap_release(mine);
    }
    cfgsnap_release(mine);
  }
  return NULL;
}

static void test_snapshot_refs(void) {
  config_t cfg = {0};
  char err[512];
  size_t live = cfgsnap_live();
  cfgsnap *s = NULL;
  pthread_t t[2];
  int i;
  /* a catalog that does not load: no snapshot, the config freed */
  CHECK(load_as(&cfg, 0, FLAGS(UP, "--connectors", "/nonexistent/connectors.json")) == 0);
  CHECK(cfgsnap_create(&s, &cfg, 0, err, sizeof err) < 0);
  CHECK(s == NULL && cfg.routes == NULL && cfg.listen == NULL);
  CHECK(strstr(err, "/nonexistent/connectors.json") != NULL);
  CHECK(cfgsnap_live() == live);
  /* a good one: the config moves into the snapshot */
  CHECK(load_as(&cfg, 0, FLAGS(UP)) == 0);
  CHECK(cfgsnap_create(&s, &cfg, 7, err, sizeof err) == 0);
  if (s == NULL)
    return;
  CHECK(cfg.routes == NULL && cfg.listen == NULL);
  CHECK(s->cfg.nroutes == 1 && s->generation == 7 && s->refs == 1);
  CHECK(cfgsnap_catalog(s) == NULL); /* no connectors file: any connector */
  CHECK(cfgsnap_live() == live + 1);
  /* two threads take and drop references at once: none is lost */
  for (i = 0; i < 2; i++)
    CHECK(pthread_create(&t[i], NULL, hold_and_release, s) == 0);
  for (i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  CHECK(__atomic_load_n(&s->refs, __ATOMIC_ACQUIRE) == 1);
  CHECK(cfgsnap_live() == live + 1);
  /* the last reference frees it, on whichever side drops it */
  cfgsnap_hold(s);
  cfgsnap_release(s);
  CHECK(cfgsnap_live() == live + 1);
  cfgsnap_release(s);
  CHECK(cfgsnap_live() == live);
  cfgsnap_release(NULL);
}

static void test_restart_keys(void) {
  config_t cfg = {0};
  config_t cur;
  char changed[256];
  int n;
  CHECK(load_as(&cfg, 0, FLAGS(UP, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:9191", "--workers", "2",
                   "--max-body-bytes", "1000")) == 0);
  cur = cfg;
  memset(&cfg, 0, sizeof cfg);
  cur.listen_port = 43210; /* as bound, when :0 was asked for */
  /* the same file again: nothing to name, the bound port is kept */
  CHECK(load_as(&cfg, 0, FLAGS(UP, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:9191", "--workers", "2",
                   "--max-body-bytes", "1000")) == 0);
  n = cfgsnap_keep_restart_keys(&cfg, &cur, changed, sizeof changed);
  CHECK(n == 0);
  CHECK_STR(changed, "");
  CHECK(cfg.listen_port == 43210 && cfg.control_port == 9191);
  /* every key that needs a restart changed, and two that do not */
  config_free(&cfg);
  CHECK(load_as(&cfg, 0, FLAGS("--upstream=http://127.0.0.1:8001", "--listen", "127.0.0.1:8081", "--control",
                   "[::1]:9999", "--workers", "4", "--data-dir", "/tmp/elsewhere", "--secret-key",
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "--admin-key",
                   "new-admin-key-0123456789", "--pause-timeout-s", "60", "--link-service-url",
                   "http://127.0.0.1:7000", "--link-service-api-key", "sekret-api-key",
                   "--link-service-poll-interval-s", "9", "--max-body-bytes", "5000")) == 0);
  n = cfgsnap_keep_restart_keys(&cfg, &cur, changed, sizeof changed);
  CHECK(n == 10);
  CHECK_STR(changed, "listen, control, data_dir, secret_key, admin_key, link_service.url, "
                     "link_service.api_key, workers, pause_timeout_s, link_service.poll_interval_s");
  CHECK(strstr(changed, "sekret") == NULL && strstr(changed, "0123456789abcdef") == NULL);
  CHECK_STR(cfg.listen, cur.listen);
  CHECK_STR(cfg.listen_host, "127.0.0.1");
  CHECK(cfg.listen_port == 43210);
  CHECK_STR(cfg.control, "127.0.0.1:9191");
  CHECK_STR(cfg.control_host, "127.0.0.1");
  CHECK(cfg.control_port == 9191);
  CHECK(cfg.workers == 2 && cfg.pause_timeout_s == cur.pause_timeout_s &&
        cfg.link_service.poll_interval_s == cur.link_service.poll_interval_s);
  CHECK_STR(cfg.data_dir, cur.data_dir);
  CHECK_STR(cfg.secret_key, cur.secret_key);
  CHECK_STR(cfg.admin_key, cur.admin_key);
  CHECK_STR(cfg.link_service.url, cur.link_service.url);
  CHECK_STR(cfg.link_service.api_key, cur.link_service.api_key);
  /* what a reload changes stays changed */
  CHECK(cfg.max_body_bytes == 5000);
  CHECK(cfg.nroutes == 1);
  if (cfg.nroutes == 1)
    CHECK_STR(cfg.routes[0].upstream, "http://127.0.0.1:8001");
  /* the list holds the names that fit its buffer, whole, never more */
  config_free(&cfg);
  CHECK(load_as(&cfg, 0, FLAGS(UP, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:9191", "--workers", "4", "--data-dir",
                   "/tmp/elsewhere")) == 0);
  memset(changed, 'x', sizeof changed);
  n = cfgsnap_keep_restart_keys(&cfg, &cur, changed, 12);
  CHECK(n == 2);
  CHECK_STR(changed, "data_dir");
  CHECK(changed[12] == 'x');
  config_free(&cur);
  config_free(&cfg);
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
  RUN(test_snapshot_refs);
  RUN(test_restart_keys);
  return unit_report();
}
