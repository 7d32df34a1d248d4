/* test_startcheck: proxy/control/startcheck.c, what --check-config and the
 * start check on the machine.
 *
 * Files, in a temporary directory: a data_dir that does not exist yet but
 * can be created passes; a data_dir that is a file (-ENOTDIR) or whose
 * parent is missing (-ENOENT) fails; owner.key and secret.key readable by
 * group or others, or an empty owner.key, fail with -EACCES naming the file
 * (owner.key is not looked at when admin_key is set); a store path that is
 * not a file fails. Ports, on 127.0.0.1 only: port 0 is skipped; a port
 * another socket listens on is -EADDRINUSE naming the key, also when that
 * socket set SO_REUSEPORT (the workers would otherwise join it); listen and
 * control on one address is refused as such.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "startcheck.h"
#include "unit.h"

static char tmp[] = "/tmp/authrelay-startcheck-XXXXXX";
static char path[512];
static char err[512];

/* A config_t with only what startcheck reads (strings borrowed, not freed). */
static config_t cfg_of(const char *data_dir, const char *admin_key) {
  config_t c;
  memset(&c, 0, sizeof c);
  c.data_dir = (char *)data_dir;
  c.admin_key = (char *)admin_key;
  c.secret_key = (char *)"";
  c.listen = (char *)"127.0.0.1:0";
  c.listen_host = (char *)"127.0.0.1";
  c.control = (char *)"127.0.0.1:0";
  c.control_host = (char *)"127.0.0.1";
  return c;
}

static void write_file(const char *name, const char *text, mode_t mode) {
  int fd;
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  CHECK(fd >= 0);
  if (fd >= 0) {
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
  }
  CHECK(chmod(path, mode) == 0); /* whatever the umask */
}

static void data_dir_checks(void) {
  config_t c;
  snprintf(path, sizeof path, "%s/new", tmp);
  c = cfg_of(path, "");
  CHECK(startcheck_files(&c, err, sizeof err) == 0); /* created at start */

  write_file("plain", "x", 0600);
  c = cfg_of(path, "");
  CHECK(startcheck_files(&c, err, sizeof err) == -ENOTDIR);
  CHECK(strstr(err, "plain") != NULL);

  snprintf(path, sizeof path, "%s/missing/data", tmp);
  c = cfg_of(path, "");
  CHECK(startcheck_files(&c, err, sizeof err) == -ENOENT);
  CHECK(strstr(err, "missing") != NULL);

  c = cfg_of(tmp, "");
  CHECK(startcheck_files(&c, err, sizeof err) == 0); /* empty: keys are generated at start */
}

static void key_file_checks(void) {
  config_t c = cfg_of(tmp, "");
  write_file("owner.key", "owner-key-text\n", 0644);
  err[0] = '\0';
  CHECK(startcheck_files(&c, err, sizeof err) == -EACCES);
  CHECK(strstr(err, "owner.key") != NULL);
  CHECK(strstr(err, "owner-key-text") == NULL); /* never the key */
  c = cfg_of(tmp, "an-admin-key");
  CHECK(startcheck_files(&c, err, sizeof err) == 0); /* not read when admin_key is set */
  c = cfg_of(tmp, "");
  write_file("owner.key", "", 0600);
  CHECK(startcheck_files(&c, err, sizeof err) == -EACCES); /* empty */
  write_file("owner.key", "owner-key-text\n", 0600);
  CHECK(startcheck_files(&c, err, sizeof err) == 0);

  write_file("secret.key", "0123456789abcdef0123456789abcdef", 0644);
  CHECK(startcheck_files(&c, err, sizeof err) == -EACCES);
  CHECK(strstr(err, "secret.key") != NULL);
  snprintf(path, sizeof path, "%s/secret.key", tmp);
  CHECK(unlink(path) == 0);

  snprintf(path, sizeof path, "%s/authrelay.db", tmp);
  CHECK(mkdir(path, 0700) == 0);
  CHECK(startcheck_files(&c, err, sizeof err) == -EACCES);
  CHECK(strstr(err, "authrelay.db") != NULL);
  CHECK(rmdir(path) == 0);
  CHECK(startcheck_files(&c, err, sizeof err) == 0);
}

/* A socket listening on 127.0.0.1, on a port the kernel picks; its port in
 * *port. reuseport: with SO_REUSEPORT set. Returns the fd or -1. */
static int listener(int reuseport, int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int on = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (reuseport)
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static void port_checks(void) {
  config_t c = cfg_of(tmp, "");
  char listen_text[64];
  char control_text[64];
  int port = 0;
  int fd;
  CHECK(startcheck_ports(&c, err, sizeof err) == 0); /* both :0 */

  fd = listener(0, &port);
  CHECK(fd >= 0);
  snprintf(listen_text, sizeof listen_text, "127.0.0.1:%d", port);
  c.listen = listen_text;
  c.listen_port = port;
  CHECK(startcheck_ports(&c, err, sizeof err) == -EADDRINUSE);
  CHECK(strncmp(err, "listen ", 7) == 0 && strstr(err, listen_text) != NULL);
  close(fd);
  CHECK(startcheck_ports(&c, err, sizeof err) == 0); /* free again */

  fd = listener(1, &port); /* SO_REUSEPORT: the probe must still see it */
  CHECK(fd >= 0);
  snprintf(control_text, sizeof control_text, "127.0.0.1:%d", port);
  c.control = control_text;
  c.control_port = port;
  CHECK(startcheck_ports(&c, err, sizeof err) == -EADDRINUSE);
  CHECK(strncmp(err, "control ", 8) == 0 && strstr(err, control_text) != NULL);
  close(fd);

  /* listen and control on one free address */
  c.control = listen_text;
  c.control_port = c.listen_port;
  CHECK(startcheck_ports(&c, err, sizeof err) == -EADDRINUSE);
  CHECK(strstr(err, "the same address as listen") != NULL);
}

int main(void) {
  if (mkdtemp(tmp) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  RUN(data_dir_checks);
  RUN(key_file_checks);
  RUN(port_checks);
  snprintf(path, sizeof path, "rm -rf '%s'", tmp);
  if (system(path) != 0)
    fprintf(stderr, "could not remove %s\n", tmp);
  return unit_report();
}
