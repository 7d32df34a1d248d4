/* config_usage: --help, printed from the key table (config_keys.c): each
 * flag with its value form, help line, range or default and environment
 * variable, then the members of a route object.
 */
#include <stdio.h>

#include "config_int.h"

void config_usage(FILE *out) {
  size_t i;
  fprintf(out,
          "usage: authrelay [--config FILE] [--check-config] [--KEY VALUE | --KEY=VALUE ...]\n"
          "\n"
          "Settings come from defaults, then the config file, then AUTHRELAY_* variables,\n"
          "then flags; the later wins. Each flag is also a config file key (\"-\" read as\n"
          "\"_\"; --identity-X is member X of \"identity\") and a variable (AUTHRELAY_ and\n"
          "the key in capitals). Secrets are safer in variables than in flags.\n\n");
  for (i = 0; i < config_nkeys; i++) {
    const config_key *k = &config_keys[i];
    char flag[CONFIG_NAME_MAX];
    char env[CONFIG_NAME_MAX];
    char left[2 * CONFIG_NAME_MAX];
    if (!(k->in & IN_FLAG))
      continue;
    config_key_flag(k, flag, sizeof flag);
    config_key_env(k, env, sizeof env);
    snprintf(left, sizeof left, "%s%s%s", flag, k->arg != NULL ? " " : "",
             k->arg != NULL ? k->arg : "");
    fprintf(out, "  %-36s %s\n", left, k->help);
    if (k->kind == K_INT || k->kind == K_UINT || k->kind == K_SIZE)
      fprintf(out, "  %-36s   %llu to %llu, default %s\n", "", k->min, k->max, k->def);
    else if (k->kind == K_ENUM || k->kind == K_FORMAT)
      fprintf(out, "  %-36s   default %s\n", "", k->def);
    else if (k->def != NULL)
      fprintf(out, "  %-36s   default \"%s\"\n", "", k->def);
    if (k->in & IN_ENV)
      fprintf(out, "  %-36s   env %s\n", "", env);
  }
  fprintf(out, "\nA route object: prefix (\"/api\"), upstream (http://HOST:PORT), mode (%s|%s),\n"
               "resume (%s|%s), format (%s), on_detect (%s|%s|%s; default: on_detect),\n"
               "dialect (",
          config_mode_words[0], config_mode_words[1], config_resume_words[0],
          config_resume_words[1], config_format_words, config_on_detect_words[2],
          config_on_detect_words[0], config_on_detect_words[1]);
  for (i = 0; config_dialect_words[i] != NULL; i++)
    fprintf(out, "%s%s", i > 0 ? "|" : "", config_dialect_words[i]);
  fprintf(out, "; default %s),\n", config_dialect_words[0]);
  fprintf(out, "credentials ({connector?, header, value}: mode: tool only; value a template\n"
               "such as \"Bearer {token}\": the user's fresh credential is set in header).\n");
}
