/* test_log: unit tests of proxy/log.c.
 *
 * Lines go to a pipe (or, for the thread test, a temporary file), are read
 * back and parsed with yajl_tree_parse: every line must be one valid JSON
 * object ending in a single newline, whatever the values held.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "log.h"
#include "unit.h"

#define READ_MAX (4 * LOG_LINE_MAX)

static int pipe_r = -1;
static int pipe_w = -1;
static char got[READ_MAX + 1]; /* what the last read_lines() returned */
static size_t got_len;

static void open_pipe(void) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  pipe_r = fds[0];
  pipe_w = fds[1];
  fcntl(pipe_r, F_SETFL, O_NONBLOCK);
}

/* Reads everything written so far into got. Returns its length. */
static size_t read_lines(void) {
  ssize_t r;
  got_len = 0;
  for (;;) {
    r = read(pipe_r, got + got_len, READ_MAX - got_len);
    if (r <= 0)
      break;
    got_len += (size_t)r;
  }
  got[got_len] = '\0';
  return got_len;
}

/* Parses got as exactly one line: one JSON object and one newline at its
 * end. Returns the tree (free with yajl_tree_free) or NULL. */
static yajl_val parse_line(void) {
  char ebuf[256];
  yajl_val v;
  if (got_len == 0 || got[got_len - 1] != '\n' || memchr(got, '\n', got_len - 1) != NULL)
    return NULL;
  v = yajl_tree_parse(got, ebuf, sizeof ebuf);
  if (v == NULL) {
    fprintf(stderr, "not JSON: %s\n%.200s\n", ebuf, got);
    return NULL;
  }
  if (!YAJL_IS_OBJECT(v)) {
    yajl_tree_free(v);
    return NULL;
  }
  return v;
}

static yajl_val member(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  return yajl_tree_get(obj, path, yajl_t_any);
}

static const char *member_str(yajl_val obj, const char *key) {
  return YAJL_GET_STRING(member(obj, key));
}

static void test_fields(void) {
  yajl_val v;
  const char *ts;
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  LOG_INFO("listening", LOG_STR("addr", "127.0.0.1:8080"), LOG_U64("workers", 2),
           LOG_I64("delta", -5), LOG_I64("min", INT64_MIN), LOG_DBL("ratio", 0.5),
           LOG_BOOL("ready", 1), LOG_BOOL("draining", 0), LOG_STR("nothing", NULL),
           LOG_STRN("part", "abcdef", 3), LOG_U64("big", UINT64_MAX));
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v == NULL)
    return;
  CHECK(strncmp(got, "{\"ts\":\"", 7) == 0);
  ts = member_str(v, "ts");
  CHECK(ts != NULL && strlen(ts) == 24 && ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' &&
        ts[23] == 'Z');
  CHECK(member_str(v, "level") != NULL && strcmp(member_str(v, "level"), "info") == 0);
  CHECK(member_str(v, "msg") != NULL && strcmp(member_str(v, "msg"), "listening") == 0);
  CHECK(member_str(v, "addr") != NULL && strcmp(member_str(v, "addr"), "127.0.0.1:8080") == 0);
  CHECK(YAJL_IS_INTEGER(member(v, "workers")) && YAJL_GET_INTEGER(member(v, "workers")) == 2);
  CHECK(YAJL_IS_INTEGER(member(v, "delta")) && YAJL_GET_INTEGER(member(v, "delta")) == -5);
  CHECK(strstr(got, "\"min\":-9223372036854775808") != NULL);
  CHECK(strstr(got, "\"big\":18446744073709551615") != NULL);
  CHECK(YAJL_IS_DOUBLE(member(v, "ratio")) && YAJL_GET_DOUBLE(member(v, "ratio")) == 0.5);
  CHECK(YAJL_IS_TRUE(member(v, "ready")));
  CHECK(YAJL_IS_FALSE(member(v, "draining")));
  CHECK(YAJL_IS_NULL(member(v, "nothing")));
  CHECK(member_str(v, "part") != NULL && strcmp(member_str(v, "part"), "abc") == 0);
  yajl_tree_free(v);
}

static void test_no_fields(void) {
  yajl_val v;
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  LOG_WARN("drain time over");
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v == NULL)
    return;
  CHECK(strcmp(member_str(v, "level"), "warn") == 0);
  CHECK(v->u.object.len == 3);
  yajl_tree_free(v);
  log_emit(LOG_LEVEL_ERROR, "direct", NULL, 0);
  read_lines();
  v = parse_line();
  CHECK(v != NULL && strcmp(member_str(v, "msg"), "direct") == 0);
  yajl_tree_free(v);
}

static void test_escaping(void) {
  static const char nasty[] = "q\"b\\n\nr\rt\tc\x01\x1f" "bad\xff\xc3(ok\xc3\xa9" "\xe2\x82\xac";
  static const char nul[] = {'a', '\0', 'b'};
  yajl_val v;
  const char *s;
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  LOG_INFO("say \"hi\"\n", LOG_STR("nasty", nasty), LOG_STRN("nul", nul, 3),
           LOG_STR("key\"with\nquote", "x"), LOG_DBL("nan", NAN), LOG_DBL("inf", INFINITY));
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v == NULL)
    return;
  CHECK(strcmp(member_str(v, "msg"), "say \"hi\"\n") == 0);
  s = member_str(v, "nasty");
  /* invalid bytes became U+FFFD; the valid é and € stayed */
  CHECK(s != NULL && strcmp(s, "q\"b\\n\nr\rt\tc\x01\x1f" "bad\xef\xbf\xbd\xef\xbf\xbd(ok\xc3\xa9"
                               "\xe2\x82\xac") == 0);
  CHECK(strstr(got, "\\u0000") != NULL);
  CHECK(member_str(v, "key\"with\nquote") != NULL);
  CHECK(YAJL_IS_NULL(member(v, "nan")));
  CHECK(YAJL_IS_NULL(member(v, "inf")));
  yajl_tree_free(v);
}

static void test_levels(void) {
  log_level l;
  log_init(LOG_LEVEL_WARN, pipe_w);
  CHECK(!log_enabled(LOG_LEVEL_DEBUG));
  CHECK(!log_enabled(LOG_LEVEL_INFO));
  CHECK(log_enabled(LOG_LEVEL_WARN));
  CHECK(log_enabled(LOG_LEVEL_ERROR));
  LOG_DEBUG("hidden");
  LOG_INFO("hidden", LOG_STR("a", "b"));
  log_emit(LOG_LEVEL_INFO, "hidden", NULL, 0);
  CHECK_EQ_U64(read_lines(), 0);
  LOG_ERROR("shown", LOG_U64("n", 1));
  read_lines();
  CHECK(strstr(got, "\"level\":\"error\"") != NULL && strstr(got, "shown") != NULL);
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  LOG_DEBUG("shown");
  read_lines();
  CHECK(strstr(got, "\"level\":\"debug\"") != NULL);

  CHECK(log_level_parse("debug", &l) == 0 && l == LOG_LEVEL_DEBUG);
  CHECK(log_level_parse("error", &l) == 0 && l == LOG_LEVEL_ERROR);
  CHECK(log_level_parse("verbose", &l) == -EINVAL);
  CHECK(log_level_parse("INFO", &l) == -EINVAL);
  CHECK(strcmp(log_level_name(LOG_LEVEL_WARN), "warn") == 0);
  CHECK(strcmp(log_level_name((log_level)42), "unknown") == 0);
}

static void test_redaction(void) {
  yajl_val v;
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  LOG_INFO("credential stored", LOG_STR("client_secret", "hunter2"),
           LOG_STR("Authorization", "Bearer abc.def"), LOG_U64("token", 12345),
           LOG_STR("webhook_secret", "whsec_1"), LOG_STR("link_token", "ltk_zzz"),
           LOG_STR("X-Api-Key", "k_live_1"), LOG_STR("connector", "slack"));
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v == NULL)
    return;
  CHECK(strcmp(member_str(v, "client_secret"), "[redacted]") == 0);
  CHECK(strcmp(member_str(v, "Authorization"), "[redacted]") == 0);
  CHECK(member_str(v, "token") != NULL && strcmp(member_str(v, "token"), "[redacted]") == 0);
  CHECK(strcmp(member_str(v, "webhook_secret"), "[redacted]") == 0);
  CHECK(strcmp(member_str(v, "link_token"), "[redacted]") == 0);
  CHECK(strcmp(member_str(v, "X-Api-Key"), "[redacted]") == 0);
  CHECK(strcmp(member_str(v, "connector"), "slack") == 0);
  CHECK(strstr(got, "hunter2") == NULL && strstr(got, "abc.def") == NULL &&
        strstr(got, "12345") == NULL && strstr(got, "whsec") == NULL &&
        strstr(got, "ltk_zzz") == NULL && strstr(got, "k_live") == NULL);
  CHECK(log_key_is_secret("password"));
  CHECK(log_key_is_secret("API_KEY"));
  CHECK(log_key_is_secret("upstream_token"));
  CHECK(!log_key_is_secret("stream_id"));
  CHECK(!log_key_is_secret("status"));
  yajl_tree_free(v);
}

/* 1 when s is valid UTF-8 and holds no U+FFFD. */
static int clean_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
    size_t i;
    if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] == 0xBD)
      return 0;
    for (i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80)
        return 0;
    }
    p += n;
  }
  return 1;
}

static void test_truncation(void) {
  static char big[100000];
  static char multi[40001];
  log_field many[64];
  yajl_val v;
  const char *s;
  size_t i;
  log_init(LOG_LEVEL_DEBUG, pipe_w);

  /* one long value: cut with "...", the line stays within the cap */
  memset(big, 'a', sizeof big - 1);
  LOG_INFO("long", LOG_STR("stream_id", "st_1"), LOG_STR("body", big));
  read_lines();
  CHECK(got_len <= LOG_LINE_MAX);
  CHECK(got_len > LOG_LINE_MAX - 100);
  v = parse_line();
  CHECK(v != NULL);
  if (v != NULL) {
    s = member_str(v, "body");
    CHECK(s != NULL && strlen(s) > 10000 && strcmp(s + strlen(s) - 3, "...") == 0);
    CHECK(s != NULL && strncmp(s, "aaaa", 4) == 0);
    CHECK(member(v, "truncated") == NULL);
    yajl_tree_free(v);
  }

  /* control characters escape to 6 bytes each: still within the cap */
  memset(big, '\x01', sizeof big - 1);
  LOG_INFO("long", LOG_STR("body", big));
  read_lines();
  CHECK(got_len <= LOG_LINE_MAX);
  v = parse_line();
  CHECK(v != NULL);
  yajl_tree_free(v);

  /* 2-byte and 4-byte characters are cut between characters, not inside */
  for (i = 0; i + 2 <= 40000; i += 2)
    memcpy(multi + i, "\xc3\xa9", 2);
  multi[40000] = '\0';
  LOG_INFO("e-acute", LOG_STR("text", multi));
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v != NULL) {
    s = member_str(v, "text");
    CHECK(s != NULL && clean_utf8(s) && strcmp(s + strlen(s) - 3, "...") == 0);
    yajl_tree_free(v);
  }
  for (i = 0; i + 4 <= 40000; i += 4)
    memcpy(multi + i, "\xf0\x9f\x98\x80", 4);
  multi[40000] = '\0';
  LOG_INFO("emoji", LOG_STR("text", multi + 1)); /* starts with 3 stray continuation bytes */
  read_lines();
  v = parse_line();
  CHECK(v != NULL);
  if (v != NULL) {
    s = member_str(v, "text");
    CHECK(s != NULL && clean_utf8(s + 9)); /* past the 3 replacement characters */
    yajl_tree_free(v);
  }

  /* too many fields: the ones that do not fit are dropped, and said so */
  memset(big, 'b', 999);
  big[999] = '\0';
  for (i = 0; i < 64; i++)
    many[i] = LOG_STRN("field", big, 999);
  log_emit(LOG_LEVEL_INFO, "many", many, 64);
  read_lines();
  CHECK(got_len <= LOG_LINE_MAX);
  v = parse_line();
  CHECK(v != NULL);
  if (v != NULL) {
    CHECK(YAJL_IS_TRUE(member(v, "truncated")));
    yajl_tree_free(v);
  }

  /* a huge message is cut too */
  memset(big, 'm', sizeof big - 1);
  log_emit(LOG_LEVEL_INFO, big, NULL, 0);
  read_lines();
  CHECK(got_len <= LOG_LINE_MAX);
  v = parse_line();
  CHECK(v != NULL);
  yajl_tree_free(v);
}

static void test_errno_kept(void) {
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  errno = ECONNRESET;
  LOG_INFO("x", LOG_STR("a", "b"));
  CHECK(errno == ECONNRESET);
  read_lines();
}

#define THREADS 4
#define LINES_PER_THREAD 200

static void *log_thread(void *arg) {
  static char payload[6000];
  int id = (int)(size_t)arg;
  int i;
  memset(payload, 'p', sizeof payload - 1); /* the same bytes from every thread */
  for (i = 0; i < LINES_PER_THREAD; i++)
    LOG_INFO("tick", LOG_U64("thread", (uint64_t)id), LOG_U64("i", (uint64_t)i),
             LOG_STR("payload", payload));
  return NULL;
}

/* Lines longer than PIPE_BUF from several threads never interleave. */
static void test_threads(void) {
  char path[] = "/tmp/test_log.XXXXXX";
  int fd = mkstemp(path);
  pthread_t t[THREADS];
  size_t i;
  char *all;
  off_t size;
  size_t lines = 0;
  int all_valid = 1;
  char *line;
  char *save = NULL;
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  unlink(path);
  log_init(LOG_LEVEL_DEBUG, fd);
  for (i = 0; i < THREADS; i++)
    pthread_create(&t[i], NULL, log_thread, (void *)i);
  for (i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  log_init(LOG_LEVEL_DEBUG, pipe_w);
  size = lseek(fd, 0, SEEK_END);
  all = malloc((size_t)size + 1);
  CHECK(all != NULL && pread(fd, all, (size_t)size, 0) == size);
  if (all == NULL) {
    close(fd);
    return;
  }
  all[size] = '\0';
  for (line = strtok_r(all, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char ebuf[128];
    yajl_val v = yajl_tree_parse(line, ebuf, sizeof ebuf);
    if (v == NULL || strcmp(member_str(v, "msg"), "tick") != 0)
      all_valid = 0;
    yajl_tree_free(v);
    lines++;
  }
  CHECK(all_valid);
  CHECK_EQ_U64(lines, THREADS * LINES_PER_THREAD);
  free(all);
  close(fd);
}

int main(void) {
  open_pipe();
  RUN(test_fields);
  RUN(test_no_fields);
  RUN(test_escaping);
  RUN(test_levels);
  RUN(test_redaction);
  RUN(test_truncation);
  RUN(test_errno_kept);
  RUN(test_threads);
  return unit_report();
}
