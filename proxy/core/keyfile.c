/* keyfile: owner-only secret files, read and created whole. See
 * keyfile.h. */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keyfile_read(const char *path, void *buf, size_t cap, size_t *len) {
  struct stat st;
  size_t got = 0;
  int fd;
  int rc = 0;
  *len = 0;
  if (strnlen(path, KEYFILE_PATH_MAX) >= KEYFILE_PATH_MAX)
    return -ENAMETOOLONG;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ELOOP ? -EACCES : -errno; /* a symlink is not the owner's file */
  if (fstat(fd, &st) != 0)
    rc = -errno;
  else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
    rc = -EACCES;
  while (rc == 0) {
    char extra;
    ssize_t n = got < cap ? read(fd, (char *)buf + got, cap - got) : read(fd, &extra, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      rc = -errno;
    else if (n == 0)
      break;
    else if (got == cap)
      rc = -EFBIG;
    else
      got += (size_t)n;
  }
  close(fd);
  if (rc == 0)
    *len = got;
  return rc;
}

/* fsync of the directory holding path, so that a new name survives a
 * crash. 0 or -errno. */
static int sync_dir(const char *path) {
  char dir[KEYFILE_PATH_MAX];
  const char *slash = strrchr(path, '/');
  int fd;
  int rc = 0;
  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fsync(fd) != 0)
    rc = -errno;
  close(fd);
  return rc;
}

int keyfile_create(const char *path, const void *data, size_t len) {
  char tmp[KEYFILE_PATH_MAX + 8];
  ssize_t n;
  int fd;
  int rc;
  if (strnlen(path, KEYFILE_PATH_MAX) >= KEYFILE_PATH_MAX)
    return -ENAMETOOLONG;
  snprintf(tmp, sizeof tmp, "%s.new", path);
  (void)unlink(tmp); /* left by a crash: never anybody's key */
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -errno;
  /* A key is a few bytes into a new regular file: one write, which is
   * short only when the disk is full. */
  n = write(fd, data, len);
  rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -ENOSPC;
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0 && link(tmp, path) != 0)
    rc = -errno; /* -EEXIST: somebody's key is there; it stays */
  (void)unlink(tmp);
  if (rc == 0)
    rc = sync_dir(path);
  return rc;
}
