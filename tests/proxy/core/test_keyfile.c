/* test_keyfile: proxy/core/keyfile.c.
 *
 * Covers, in a fresh temporary directory: keyfile_create writes the bytes
 * with mode 0600 whatever the umask, leaves no temporary file, and refuses
 * (-EEXIST) to replace an existing file, which keeps its content;
 * keyfile_read gives the bytes back, -ENOENT for no file, -EACCES for a
 * group- or other-readable file, a symlink or a directory, -EFBIG for a
 * file larger than the buffer (exactly cap bytes pass), and an empty file
 * as length 0; an over-long path is -ENAMETOOLONG.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "unit.h"

static char dir[64];
static char path[128];

static void create_and_read(void) {
  char buf[16];
  size_t len = 99;
  struct stat st;
  char tmp[160];
  mode_t old = umask(0);
  CHECK(keyfile_create(path, "secret-bytes", 12) == 0);
  umask(old);
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 12);
  snprintf(tmp, sizeof tmp, "%s.new", path);
  CHECK(access(tmp, F_OK) != 0 && errno == ENOENT);
  CHECK(keyfile_read(path, buf, sizeof buf, &len) == 0);
  CHECK_MEM(buf, len, "secret-bytes");
  /* never over an existing key */
  CHECK(keyfile_create(path, "other", 5) == -EEXIST);
  CHECK(keyfile_read(path, buf, sizeof buf, &len) == 0);
  CHECK_MEM(buf, len, "secret-bytes");
  CHECK(access(tmp, F_OK) != 0);
  /* exactly cap bytes pass; one more does not */
  CHECK(keyfile_read(path, buf, 12, &len) == 0 && len == 12);
  CHECK(keyfile_read(path, buf, 11, &len) == -EFBIG && len == 0);
}

static void refusals(void) {
  char buf[16];
  char other[160];
  char longpath[KEYFILE_PATH_MAX + 10];
  size_t len = 0;
  int fd;
  snprintf(other, sizeof other, "%s/none", dir);
  CHECK(keyfile_read(other, buf, sizeof buf, &len) == -ENOENT);
  CHECK(chmod(path, 0640) == 0);
  CHECK(keyfile_read(path, buf, sizeof buf, &len) == -EACCES);
  CHECK(chmod(path, 0604) == 0);
  CHECK(keyfile_read(path, buf, sizeof buf, &len) == -EACCES);
  CHECK(chmod(path, 0600) == 0);
  CHECK(keyfile_read(path, buf, sizeof buf, &len) == 0);
  snprintf(other, sizeof other, "%s/link", dir);
  CHECK(symlink(path, other) == 0);
  CHECK(keyfile_read(other, buf, sizeof buf, &len) == -EACCES);
  CHECK(unlink(other) == 0);
  CHECK(keyfile_read(dir, buf, sizeof buf, &len) == -EACCES); /* 0700 but a directory */
  snprintf(other, sizeof other, "%s/empty", dir);
  fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
  len = 5;
  CHECK(keyfile_read(other, buf, sizeof buf, &len) == 0 && len == 0);
  CHECK(unlink(other) == 0);
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  CHECK(keyfile_read(longpath, buf, sizeof buf, &len) == -ENAMETOOLONG);
  CHECK(keyfile_create(longpath, "x", 1) == -ENAMETOOLONG);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/test_keyfile.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(path, sizeof path, "%s/owner.key", dir);
  RUN(create_and_read);
  RUN(refusals);
  unlink(path);
  rmdir(dir);
  return unit_report();
}
