/* config: config_load() and config_free(). See config.h.
 *
 * config_load() is where the layers meet, in the order of their precedence:
 * the defaults, then the config file (named by the last --config, else
 * AUTHRELAY_CONFIG), then AUTHRELAY_* variables, then flags; then
 * config_finish() checks the whole. The layers are config_sources.c; the
 * other config_*.c files are listed in config_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

int config_load(config_t *c, int argc, char **argv, char **envp, char *err, size_t errlen) {
  load_ctx x = {err, errlen, NULL};
  flag_arg *flags;
  size_t nflags = 0;
  const char *file = NULL;
  const char *file_who = NULL;
  int help = 0;
  size_t i;
  int rc;

  memset(c, 0, sizeof *c);
  if (errlen > 0)
    err[0] = '\0';
  flags = calloc(argc > 0 ? (size_t)argc : 1, sizeof *flags);
  if (flags == NULL)
    return config_fail_nomem(&x);
  rc = config_scan_flags(&x, argc, argv, flags, &nflags, &help);
  if (rc == 0)
    rc = config_apply_defaults(&x, c);
  if (rc == 0 && help) {
    c->help = 1;
    free(flags);
    return 0;
  }
  /* the file named by the last --config, else AUTHRELAY_CONFIG */
  for (i = 0; i < nflags; i++) {
    if (flags[i].k->kind == K_FILE) {
      file = flags[i].value;
      file_who = "--config";
    } else if (flags[i].k->kind == K_SWITCH) {
      int on = 1;
      memcpy((char *)c + flags[i].k->off, &on, sizeof on);
    }
  }
  if (file == NULL) {
    file = config_env_get(envp, "AUTHRELAY_CONFIG");
    file_who = "AUTHRELAY_CONFIG";
  }
  if (rc == 0 && file != NULL) {
    if (file[0] == '\0')
      rc = config_fail(&x, "%s: needs a file name", file_who);
    else
      rc = config_store_str(&x, &c->config_file, file, strlen(file));
    if (rc == 0)
      rc = config_load_file(&x, c, file, file_who);
  }
  if (rc == 0)
    rc = config_apply_env(&x, c, envp);
  if (rc == 0)
    rc = config_apply_flags(&x, c, flags, nflags);
  if (rc == 0)
    rc = config_finish(&x, c);
  free(flags);
  if (rc != 0)
    config_free(c);
  return rc;
}

void config_free(config_t *c) {
  size_t i;
  for (i = 0; i < config_nkeys; i++) {
    const config_key *k = &config_keys[i];
    char *s;
    if (k->kind != K_STR && k->kind != K_ADDR && k->kind != K_URL && k->kind != K_PUBURL &&
        k->kind != K_HEADER && k->kind != K_FILE)
      continue;
    memcpy(&s, (char *)c + k->off, sizeof s);
    free(s);
  }
  free(c->listen_host);
  free(c->control_host);
  free(c->identity.trusted_cidrs);
  config_routes_free(c->routes, c->nroutes);
  config_webhooks_free(c->webhooks, c->nwebhooks);
  memset(c, 0, sizeof *c);
}
