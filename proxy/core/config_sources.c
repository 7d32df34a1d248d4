/* config_sources: the layers a setting may come from: the defaults of the
 * key table, the JSON config file (at most CONFIG_FILE_MAX bytes, keys
 * nested in objects such as "identity"), AUTHRELAY_* environment variables
 * and command-line flags. Each applies its values with config_set_value();
 * config_load() (config.c) runs them in order, so a later layer wins.
 *
 * Flags are scanned before any layer is applied (--config names the file,
 * --help stops early) and applied last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "config_int.h"

/* ---- layers ---- */

int config_apply_defaults(load_ctx *x, config_t *c) {
  size_t i;
  for (i = 0; i < config_nkeys; i++) {
    const config_key *k = &config_keys[i];
    char who[CONFIG_WHO_MAX];
    cvalue v = {k->def, 1, NULL};
    int rc;
    if (k->def == NULL)
      continue;
    snprintf(who, sizeof who, "default of %s", k->name);
    rc = config_set_value(x, c, c, k, &v, who);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Applies the members of a JSON object whose keys start with prefix
 * ("" at the top, "identity." inside identity). */
static int apply_object(load_ctx *x, config_t *c, yajl_val obj, const char *prefix,
                        const origin *o) {
  size_t i;
  for (i = 0; i < obj->u.object.len; i++) {
    char name[CONFIG_NAME_MAX];
    char who[CONFIG_WHO_MAX];
    yajl_val val = obj->u.object.values[i];
    const config_key *k;
    cvalue v = config_json_value(val);
    int rc;
    int fits = snprintf(name, sizeof name, "%s%s", prefix, obj->u.object.keys[i]) <
               (int)sizeof name;
    k = fits ? config_find_key(config_keys, config_nkeys, name, IN_FILE) : NULL;
    snprintf(who, sizeof who, "config: %s", name);
    if (k == NULL && (!fits || !config_is_group(name)))
      return config_fail(x, "config: unknown key \"%.*s%.40s\" in %s", (int)strlen(prefix), prefix,
                         obj->u.object.keys[i], o->file);
    if (config_duplicate_key(obj->u.object.keys, i))
      return config_fail(x, "%s: set twice in %s", who, o->file);
    if (k == NULL) {
      char sub[CONFIG_NAME_MAX + 1];
      static const config_key group = {"group", K_ROUTES, IN_FILE, 0, NULL, 0, 0, NULL, NULL,
                                       NULL, 0};
      if (!YAJL_IS_OBJECT(val))
        return config_bad_value(x, &group, &v, who, "must be an object");
      snprintf(sub, sizeof sub, "%s.", name);
      rc = apply_object(x, c, val, sub, o);
    } else {
      rc = config_set_value(x, c, c, k, &v, who);
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Reads at most CONFIG_FILE_MAX bytes of path into a NUL-terminated
 * malloc'd buffer. Returns 0 or a negative errno (-EFBIG when larger). */
static int read_file(const char *path, char **out, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf;
  size_t len = 0;
  int rc = 0;
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    close(fd);
    return rc;
  }
  buf = malloc(CONFIG_FILE_MAX + 2);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  while (len <= CONFIG_FILE_MAX) {
    ssize_t r = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = -errno;
      break;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  if (rc == 0 && len > CONFIG_FILE_MAX)
    rc = -EFBIG;
  if (rc != 0) {
    free(buf);
    return rc;
  }
  buf[len] = '\0';
  *out = buf;
  *len_out = len;
  return 0;
}

int config_load_file(load_ctx *x, config_t *c, const char *path, const char *who) {
  char *text = NULL;
  size_t len = 0;
  char label[256];
  origin o = {"config", path};
  yajl_val tree;
  int rc = read_file(path, &text, &len);
  if (rc == -EFBIG)
    return config_fail(x, "%s: \"%.200s\" is larger than %d bytes", who, path, CONFIG_FILE_MAX);
  if (rc != 0)
    return config_fail(x, "%s: cannot read \"%.200s\": %s", who, path, strerror(-rc));
  snprintf(label, sizeof label, "config: %.200s", path);
  if (memchr(text, '\0', len) != NULL) {
    free(text);
    return config_fail(x, "%s: holds a NUL byte", label);
  }
  tree = config_parse_json(x, text, len, label);
  free(text);
  x->file = path;
  if (tree == NULL)
    return -EINVAL;
  if (!YAJL_IS_OBJECT(tree))
    rc = config_fail(x, "%s: must hold a JSON object", label);
  else
    rc = apply_object(x, c, tree, "", &o);
  x->file = NULL;
  yajl_tree_free(tree);
  return rc;
}

/* The value of variable name in envp, or NULL. */
const char *config_env_get(char **envp, const char *name) {
  size_t len = strlen(name);
  const char *found = NULL;
  size_t i;
  for (i = 0; envp != NULL && envp[i] != NULL; i++) {
    if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
      found = envp[i] + len + 1;
  }
  return found;
}

int config_apply_env(load_ctx *x, config_t *c, char **envp) {
  size_t i;
  for (i = 0; i < config_nkeys; i++) {
    const config_key *k = &config_keys[i];
    char name[CONFIG_NAME_MAX];
    cvalue v = {NULL, 1, NULL};
    int rc;
    if (!(k->in & IN_ENV) || k->kind == K_FILE)
      continue;
    config_key_env(k, name, sizeof name);
    v.text = config_env_get(envp, name);
    if (v.text == NULL)
      continue;
    rc = config_set_value(x, c, c, k, &v, name);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Recognises argv[1, argc) into flags (argc entries at most) without
 * applying them. Sets *help when --help or -h is among them. */
int config_scan_flags(load_ctx *x, int argc, char **argv, flag_arg *flags, size_t *nflags,
                      int *help) {
  int i;
  *nflags = 0;
  *help = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      *help = 1;
      return 0;
    }
  }
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *eq;
    const config_key *k = NULL;
    char flag[CONFIG_NAME_MAX];
    size_t nlen;
    size_t j;
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
      return config_fail(x, "unexpected argument \"%.60s\": flags look like --name value "
                            "(see --help)", arg);
    eq = strchr(arg, '=');
    nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    for (j = 0; j < config_nkeys && k == NULL; j++) {
      if (!(config_keys[j].in & IN_FLAG))
        continue;
      config_key_flag(&config_keys[j], flag, sizeof flag);
      if (strlen(flag) == nlen && strncmp(flag, arg, nlen) == 0)
        k = &config_keys[j];
    }
    if (k == NULL)
      return config_fail(x, "%.*s: unknown flag (see --help)", (int)(nlen < 60 ? nlen : 60), arg);
    flags[*nflags].k = k;
    if (k->kind == K_SWITCH) {
      if (eq != NULL)
        return config_fail(x, "%s: takes no value", flag);
      flags[*nflags].value = NULL;
    } else if (eq != NULL) {
      flags[*nflags].value = eq + 1;
    } else if (i + 1 < argc) {
      flags[*nflags].value = argv[++i];
    } else {
      return config_fail(x, "%s: needs a value", flag);
    }
    (*nflags)++;
  }
  return 0;
}

int config_apply_flags(load_ctx *x, config_t *c, const flag_arg *flags, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    char who[CONFIG_NAME_MAX];
    cvalue v = {flags[i].value, 1, NULL};
    int rc;
    if (flags[i].k->kind == K_FILE || flags[i].k->kind == K_SWITCH)
      continue;
    config_key_flag(flags[i].k, who, sizeof who);
    rc = config_set_value(x, c, c, flags[i].k, &v, who);
    if (rc != 0)
      return rc;
  }
  return 0;
}
