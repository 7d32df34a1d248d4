/* replay_main: runs a libFuzzer harness over saved inputs without libFuzzer.
 *
 * Linked with a harness (fuzz_framer.c) in every build, gcc included, so the
 * checked-in corpus is a plain regression test:
 *   fuzz_framer_replay DIR_OR_FILE...
 * Every regular file named (directories: every regular file in them, not
 * recursively, in name order) goes through LLVMFuzzerTestOneInput() once.
 * A violated invariant aborts the process; the file being replayed is named
 * on stderr first. Exits 1 when an argument cannot be read or when no input
 * was found at all (a mistyped corpus path must not pass), else 0.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replayed;

/* Reads a whole file. Returns 0, or -1 with a message printed. */
static int read_file(const char *path, uint8_t **out, size_t *out_len) {
  FILE *fp = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  if (fp == NULL) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  for (;;) {
    size_t got;
    if (len == cap) {
      uint8_t *grown;
      cap = cap ? cap * 2 : 4096;
      grown = realloc(buf, cap);
      if (grown == NULL) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        free(buf);
        fclose(fp);
        return -1;
      }
      buf = grown;
    }
    got = fread(buf + len, 1, cap - len, fp);
    len += got;
    if (got == 0)
      break;
  }
  if (ferror(fp)) {
    fprintf(stderr, "replay: %s: read error\n", path);
    free(buf);
    fclose(fp);
    return -1;
  }
  fclose(fp);
  *out = buf;
  *out_len = len;
  return 0;
}

static int replay_file(const char *path) {
  uint8_t *buf;
  size_t len;
  if (read_file(path, &buf, &len) != 0)
    return -1;
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  /* A copy of exactly len bytes, so that ASan sees reads past the input. */
  {
    uint8_t *exact = malloc(len != 0 ? len : 1);
    if (exact == NULL) {
      free(buf);
      return -1;
    }
    if (len > 0)
      memcpy(exact, buf, len);
    free(buf);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
  }
  replayed++;
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  int rc = 0;
  if (d == NULL) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  for (;;) {
    size_t need;
    char *path;
    struct stat st;
    de = readdir(d);
    if (de == NULL)
      break;
    need = strlen(dir) + strlen(de->d_name) + 2;
    if (de->d_name[0] == '.')
      continue;
    path = malloc(need);
    if (path == NULL) {
      rc = -1;
      break;
    }
    snprintf(path, need, "%s/%s", dir, de->d_name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(path);
      continue;
    }
    if (n == cap) {
      char **grown;
      cap = cap ? cap * 2 : 32;
      grown = realloc(names, cap * sizeof *names);
      if (grown == NULL) {
        free(path);
        rc = -1;
        break;
      }
      names = grown;
    }
    names[n++] = path;
  }
  closedir(d);
  if (n > 0)
    qsort(names, n, sizeof *names, compare_names);
  for (i = 0; i < n; i++) {
    if (rc == 0 && replay_file(names[i]) != 0)
      rc = -1;
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  int i, rc = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      rc = 1;
    } else if (S_ISDIR(st.st_mode)) {
      if (replay_dir(argv[i]) != 0)
        rc = 1;
    } else if (replay_file(argv[i]) != 0) {
      rc = 1;
    }
  }
  if (replayed == 0) {
    fprintf(stderr, "replay: no input found\n");
    rc = 1;
  }
  fprintf(stderr, "replay: %d input(s) passed\n", replayed);
  return rc;
}
