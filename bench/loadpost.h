/* loadpost: the one POST of bench-load's pause storm (loadgen.c): the form
 * "api_key=..." sent to a magic_link_url on the caller's libuv loop, its
 * response status and timing kept in a loadpost_t; and the parser of the
 * http://HOST:PORT/PATH URLs bench-load takes. Problems are reported through
 * the caller's note function (bench-load's error list). */
#ifndef AUTHRELAY_BENCH_LOADPOST_H
#define AUTHRELAY_BENCH_LOADPOST_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>
#include <uv.h>

typedef struct loadpost {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  llhttp_t parser;
  llhttp_settings_t settings;
  char *req;                   /* the request, owned (freed by nobody: one per run) */
  char readbuf[4096];          /* the response is read into this */
  int status;                  /* HTTP status of the response, 0 before its head */
  int complete;                /* answered, or given up (see note) */
  uint64_t t_sent, t_done;     /* now() at the send and at the response's end */
  uint64_t (*now)(void);       /* the caller's monotonic clock, nanoseconds */
  void (*note)(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* an error */
} loadpost_t;

/* Sends the POST of "api_key=<api_key>" to url (an IPv4 http:// URL) on loop;
 * p->now and p->note must be set, the rest is initialised here. Errors go to
 * note and set p->complete. */
void loadpost_send(loadpost_t *p, uv_loop_t *loop, const char *url, const char *api_key);

/* Splits http://HOST:PORT/PATH (PORT 80 when absent, PATH "/"). Returns 0,
 * or -EINVAL for anything else or a host longer than hostsz - 1. */
int loadpost_parse_url(const char *url, char *host, size_t hostsz, int *port, char *path,
                       size_t pathsz);

#endif
