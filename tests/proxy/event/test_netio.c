/* test_netio: proxy/event/netio.c, the copying writes both sides of the
 * relay use, and the address parser.
 *
 * Covers: netio_parse_addr for IPv4 and IPv6 literals (names and bad
 * literals refused); a batch gathers pieces in order (empty ones with a
 * NULL base skipped) across growth past a pooled size, and discard empties
 * it; over a socketpair driven by a libuv loop: an empty send and flush do
 * nothing (no callback), a small flush goes out at once (1, no callback), a
 * send is one write whose callback runs once with 0, a flush while a write
 * is queued is queued behind it (0, then its callback): the reader gets
 * every byte in order; netio_write copies several buffers into one write.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "dynbuf.h"
#include "netio.h"
#include "unit.h"

static void parse_addr(void) {
  struct sockaddr_storage a;
  CHECK(netio_parse_addr("127.0.0.1", 8080, &a) == 0);
  CHECK(a.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&a)->sin_port) == 8080);
  CHECK(netio_parse_addr("::1", 9, &a) == 0);
  CHECK(a.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&a)->sin6_port) == 9);
  CHECK(netio_parse_addr("0.0.0.0", 0, &a) == 0);
  CHECK(netio_parse_addr("localhost", 80, &a) != 0); /* literals only: no DNS */
  CHECK(netio_parse_addr("1.2.3", 80, &a) != 0);
  CHECK(netio_parse_addr("::g", 80, &a) != 0);
}

static void batch_gathers(void) {
  netio_batch b = {NULL, 0, 0};
  char big[10000];
  uv_buf_t parts[3];
  memset(big, 'b', sizeof big);
  parts[0] = uv_buf_init((char *)"head,", 5);
  parts[1] = uv_buf_init(NULL, 0); /* an empty part may have no base */
  parts[2] = uv_buf_init((char *)"body,", 5);
  CHECK(netio_batch_add(&b, parts, 3) == 0);
  CHECK(b.len == 10);
  CHECK(netio_batch_add(&b, parts, 0) == 0); /* nothing */
  parts[0] = uv_buf_init(big, sizeof big); /* past 4 KiB: the buffer grows, bytes kept */
  CHECK(netio_batch_add(&b, parts, 1) == 0);
  CHECK(b.len == 10 + sizeof big && b.cap >= b.len);
  netio_batch_discard(&b);
  CHECK(b.req == NULL && b.len == 0 && b.cap == 0);
}

/* ---- over a socketpair ---- */

typedef struct pair {
  uv_loop_t loop;
  uv_pipe_t out; /* written with netio */
  uv_pipe_t in;  /* read into got */
  dynbuf got;
  size_t want;   /* stop reading once got.len reaches it */
  int written;   /* write callbacks run */
  int status;    /* the last callback's status */
} pair;

static void on_write(void *ctx, int status) {
  pair *p = ctx;
  p->written++;
  p->status = status;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  pair *p = s->data;
  if (n > 0)
    CHECK(dynbuf_add(&p->got, buf->base, (size_t)n) == 0);
  if (n < 0 || p->got.len >= p->want)
    uv_read_stop(s);
}

static int pair_open(pair *p) {
  int fds[2];
  memset(p, 0, sizeof *p);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return -1;
  uv_loop_init(&p->loop);
  uv_pipe_init(&p->loop, &p->out, 0);
  uv_pipe_init(&p->loop, &p->in, 0);
  uv_pipe_open(&p->out, fds[0]);
  uv_pipe_open(&p->in, fds[1]);
  p->in.data = p;
  dynbuf_init(&p->got, 4 << 20);
  return 0;
}

/* The guard of a read that never gets its bytes: stops it (and the test
 * then fails on what was read). Unreferenced: it never keeps the loop up. */
static void on_guard(uv_timer_t *t) {
  pair *p = t->data;
  uv_read_stop((uv_stream_t *)&p->in);
}

/* Runs the loop until want bytes were read and the writes are done (the
 * loop ends when nothing is left to do), bounded by a 10 s guard. */
static void pair_read(pair *p, size_t want) {
  uv_timer_t guard;
  p->want = want;
  uv_timer_init(&p->loop, &guard);
  guard.data = p;
  uv_timer_start(&guard, on_guard, 10000, 0);
  uv_unref((uv_handle_t *)&guard);
  uv_read_start((uv_stream_t *)&p->in, netio_alloc, on_read);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&p->loop, UV_RUN_DEFAULT);
}

static void pair_close(pair *p) {
  uv_close((uv_handle_t *)&p->out, NULL);
  uv_close((uv_handle_t *)&p->in, NULL);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&p->loop) == 0);
  dynbuf_free(&p->got);
}

static void batch_send_and_flush(void) {
  pair p;
  netio_batch b = {NULL, 0, 0};
  static char large[512 * 1024];
  uv_buf_t part;
  size_t i;
  CHECK(pair_open(&p) == 0);
  for (i = 0; i < sizeof large; i++)
    large[i] = (char)('a' + i % 26);

  CHECK(netio_batch_send(&b, (uv_stream_t *)&p.out, on_write, &p) == 0); /* empty: nothing */
  CHECK(netio_batch_flush(&b, (uv_stream_t *)&p.out, on_write, &p) == 1);
  part = uv_buf_init((char *)"small;", 6);
  CHECK(netio_batch_add(&b, &part, 1) == 0);
  CHECK(netio_batch_flush(&b, (uv_stream_t *)&p.out, on_write, &p) == 1); /* at once */
  CHECK(b.len == 0 && b.req == NULL);
  CHECK(p.written == 0);

  /* a send is queued; a flush behind it waits its turn (order kept) */
  part = uv_buf_init(large, sizeof large);
  CHECK(netio_batch_add(&b, &part, 1) == 0);
  CHECK(netio_batch_send(&b, (uv_stream_t *)&p.out, on_write, &p) == 0);
  part = uv_buf_init((char *)";tail", 5);
  CHECK(netio_batch_add(&b, &part, 1) == 0);
  CHECK(netio_batch_flush(&b, (uv_stream_t *)&p.out, on_write, &p) == 0);
  pair_read(&p, 6 + sizeof large + 5);
  CHECK(p.written == 2 && p.status == 0);
  CHECK(p.got.len == 6 + sizeof large + 5);
  if (p.got.len == 6 + sizeof large + 5) {
    CHECK(memcmp(p.got.ptr, "small;", 6) == 0);
    CHECK(memcmp(p.got.ptr + 6, large, sizeof large) == 0);
    CHECK(memcmp(p.got.ptr + 6 + sizeof large, ";tail", 5) == 0);
  }
  pair_close(&p);
}

static void write_copies(void) {
  pair p;
  char piece[6] = "chunk";
  uv_buf_t parts[3];
  CHECK(pair_open(&p) == 0);
  parts[0] = uv_buf_init((char *)"5\r\n", 3);
  parts[1] = uv_buf_init(piece, 5);
  parts[2] = uv_buf_init((char *)"\r\n", 2);
  CHECK(netio_write((uv_stream_t *)&p.out, parts, 3, on_write, &p) == 0);
  memcpy(piece, "XXXXX", 5); /* the caller's bytes may change at once: they were copied */
  CHECK(netio_write((uv_stream_t *)&p.out, parts, 0, on_write, &p) == 0); /* nothing: no callback */
  pair_read(&p, 10);
  CHECK(p.written == 1 && p.status == 0);
  CHECK_MEM(p.got.ptr, p.got.len, "5\r\nchunk\r\n");
  pair_close(&p);
}

/* A secret written with netio_write_wiped leaves no copy in the pool once
 * written; a plain write's copy stays there until reused (what the wiping
 * is for). */
static void write_wiped(void) {
  pair p;
  const char secret[] = "Bearer tok_7f3a91c2e8d4";
  uv_buf_t part = uv_buf_init((char *)secret, sizeof secret - 1);
  netio_pool_trim();
  CHECK(pair_open(&p) == 0);
  CHECK(netio_write((uv_stream_t *)&p.out, &part, 1, on_write, &p) == 0);
  pair_read(&p, sizeof secret - 1);
  CHECK(netio_pool_holding(secret, sizeof secret - 1) == 1); /* the plain copy, pooled */
  netio_pool_trim();
  CHECK(netio_write_wiped((uv_stream_t *)&p.out, &part, 1, on_write, &p) == 0);
  pair_read(&p, 2 * (sizeof secret - 1));
  CHECK(p.written == 2 && p.status == 0);
  CHECK_MEM(p.got.ptr + sizeof secret - 1, p.got.len - (sizeof secret - 1), secret); /* sent whole */
  CHECK(netio_pool_holding(secret, sizeof secret - 1) == 0);
  CHECK(netio_pool_holding("", 0) == 0);
  pair_close(&p);
}

int main(void) {
  RUN(parse_addr);
  RUN(batch_gathers);
  RUN(batch_send_and_flush);
  RUN(write_copies);
  RUN(write_wiped);
  netio_pool_trim();
  return unit_report();
}
