/* startcheck: checks of files and ports before start. See startcheck.h. */
#include "startcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <uv.h>

#include "linkhost.h"
#include "store.h"
#include "netio.h"
#include "secretbox.h"

#define PATH_CAP 4200 /* data_dir is at most 4096 bytes (config_keys.c) plus a file name */

/* The parent directory of path (which has no trailing "/"), into out. */
static void parent_of(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(out, cap, ".");
  else if (slash == path)
    snprintf(out, cap, "/");
  else
    snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static int check_data_dir(const char *dir, char *err, size_t errlen) {
  char parent[PATH_CAP];
  struct stat st;
  if (stat(dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      snprintf(err, errlen, "data_dir %s is not a directory", dir);
      return -ENOTDIR;
    }
    if (access(dir, W_OK | X_OK) != 0) {
      snprintf(err, errlen, "data_dir %s is not writable: %s", dir, strerror(errno));
      return -EACCES;
    }
    return 0;
  }
  if (errno != ENOENT) {
    snprintf(err, errlen, "data_dir %s: %s", dir, strerror(errno));
    return -errno;
  }
  /* Created at start (mode 0700): its parent must let us. */
  parent_of(dir, parent, sizeof parent);
  if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "data_dir %s cannot be created: %s is not a directory", dir, parent);
    return -ENOENT;
  }
  if (access(parent, W_OK | X_OK) != 0) {
    snprintf(err, errlen, "data_dir %s cannot be created: %s is not writable", dir, parent);
    return -EACCES;
  }
  return 0;
}

int startcheck_files(const config_t *cfg, char *err, size_t errlen) {
  char path[PATH_CAP];
  struct stat st;
  int rc = check_data_dir(cfg->data_dir, err, errlen);
  if (rc != 0)
    return rc;
  /* The key files are read at start when present (and generated when not). */
  snprintf(path, sizeof path, "%s/%s", cfg->data_dir, SECRETBOX_KEY_FILE);
  if (cfg->secret_key[0] == '\0' && stat(path, &st) == 0) {
    unsigned char key[SECRETBOX_KEY_BYTES];
    rc = secretbox_key_load(key, NULL, cfg->data_dir, err, errlen);
    OPENSSL_cleanse(key, sizeof key);
    if (rc != 0)
      return rc;
  }
  snprintf(path, sizeof path, "%s/%s", cfg->data_dir, LINKHOST_OWNER_KEY_FILE);
  if (cfg->admin_key[0] == '\0' && stat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_size == 0 || access(path, R_OK) != 0) {
      snprintf(err, errlen, "%s must be a non-empty file readable by its owner only", path);
      return -EACCES;
    }
  }
  snprintf(path, sizeof path, "%s/%s", cfg->data_dir, STORE_SQLITE_FILE);
  if (stat(path, &st) == 0 && (!S_ISREG(st.st_mode) || access(path, R_OK | W_OK) != 0)) {
    snprintf(err, errlen, "%s must be a file this user can read and write", path);
    return -EACCES;
  }
  return 0;
}

/* Binds and listens on host:port without SO_REUSEPORT; the socket is left
 * open in *fd (-1 when port is 0). Returns 0 or a negative errno with a
 * message naming key. */
static int probe(const char *key, const char *addr_text, const char *host, int port, int *fd, char *err,
                 size_t errlen) {
  struct sockaddr_storage addr;
  socklen_t len;
  int on = 1;
  int rc;
  *fd = -1;
  if (port == 0)
    return 0; /* the kernel picks a free port at start */
  rc = netio_parse_addr(host, port, &addr);
  if (rc != 0) {
    snprintf(err, errlen, "%s %s: not an address to listen on", key, addr_text);
    return -EINVAL;
  }
  len = addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  *fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*fd < 0) {
    rc = -errno;
    snprintf(err, errlen, "%s %s: cannot make a socket: %s", key, addr_text, strerror(-rc));
    return rc;
  }
  /* As libuv's bind: connections of an earlier run in TIME_WAIT do not count. */
  (void)setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(*fd, (const struct sockaddr *)&addr, len) == 0 && listen(*fd, 1) == 0)
    return 0;
  rc = -errno;
  close(*fd);
  *fd = -1;
  if (rc == -EADDRINUSE)
    snprintf(err, errlen, "%s %s: address already in use (another process listens there)", key, addr_text);
  else
    snprintf(err, errlen, "%s %s: cannot listen: %s", key, addr_text, strerror(-rc));
  return rc;
}

int startcheck_ports(const config_t *cfg, char *err, size_t errlen) {
  int listen_fd;
  int control_fd;
  int rc = probe("listen", cfg->listen, cfg->listen_host, cfg->listen_port, &listen_fd, err, errlen);
  if (rc != 0)
    return rc;
  /* Both held at once: a control address that overlaps listen fails too. */
  rc = probe("control", cfg->control, cfg->control_host, cfg->control_port, &control_fd, err, errlen);
  if (listen_fd >= 0)
    close(listen_fd);
  if (rc == -EADDRINUSE && listen_fd >= 0 && cfg->control_port == cfg->listen_port) {
    /* Free once the listen probe is gone: the two addresses overlap. */
    if (probe("control", cfg->control, cfg->control_host, cfg->control_port, &control_fd, err, errlen) == 0)
      snprintf(err, errlen, "control %s: the same address as listen %s", cfg->control, cfg->listen);
  }
  if (control_fd >= 0)
    close(control_fd);
  return rc;
}
