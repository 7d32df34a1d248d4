/* agent-server: the example agent server authrelay is tested and demonstrated
 * against. One libuv loop, llhttp (strict) for requests, keep-alive and
 * pipelining (responses in request order), every write under back-pressure:
 * a response never has more than about 64 KiB queued in libuv; above that it
 * stops producing (or, for /echo, stops reading) until the queue drains, and
 * the time spent so is counted in /stats as blocked_ms.
 *
 *   agent-server --listen HOST:PORT [--web-dir DIR]   (port 0 = ephemeral)
 * prints {"listening":"HOST:PORT"} on stdout once listening; SIGTERM/SIGINT
 * close everything and exit 0.
 *
 * Endpoints (HEAD is accepted wherever GET is, and never gets a body):
 *   GET|POST /stream format=sse|ndjson|json (sse) count=N (10) rate=EV/S (0 = as
 *                    fast as possible) size=BYTES (pad each event's JSON) id=N
 *                    ("stream":N in every event) auth_at=K (-1) shape=
 *                    authenticate_meta|magic_link|mcp|openai|vercel connector=slack
 *                    link_token=ltk_upstream expires_at=2099-01-01T00:00:00Z
 *                    auth_unless_retry=1 framing=chunked|length|close ts=1 sse_ids=1
 *                    encoding=TOKEN (sends Content-Encoding: TOKEN over the
 *                    uncompressed body: a label for testing relays)
 *   GET  /big        bytes=N framing=length|chunked|close: N bytes of the pattern
 *                    below, application/octet-stream
 *   POST|PUT /echo   the request body back, same Content-Type; chunked if the
 *                    request was, else Content-Length
 *   ANY  /headers    the request headers as a JSON object (lowercased names,
 *                    repeats joined by ", "); full=1: {"method","url","path","headers"}
 *   GET  /status     code=N (200..599): empty response with that status
 *   GET  /slow-head  ms=N: the response head only after N ms
 *   GET  /hang       never answers
 *   GET  /malformed  kind=badstatus|badheader|badchunk|truncated (ms=50: delay
 *                    before the truncated tail)
 *   GET  /stats      counters (see stats.c); /stats/reset (GET or POST) zeroes them
 *   GET  / /app.js /authrelay-link.js /style.css /favicon.svg
 *                    with --web-dir DIR (examples/web): the chat page's files, read
 *                    from DIR at start, with a strict Content-Security-Policy (web.c)
 * POST /stream is GET /stream for a chat page: the request body (the user's
 * message) is read and ignored; the query parameters decide the stream.
 *   anything else 404; malformed requests 400 (431/414 for oversize heads) and close.
 *
 * /big pattern: the body is the byte-for-byte prefix of an endless sequence of
 * 16-byte records; record r is the byte offset 16*r as 15 lowercase hex digits,
 * zero-padded, followed by '\n' ("000000000000000\n000000000000010\n...").
 *
 * /stats fields: connections_accepted, connections_open, requests, bad_requests,
 * retry_requests (carried X-Authrelay-Retry), streams_started, streams_completed,
 * streams_aborted (peer gone mid-stream), streams_active, events_sent (/stream
 * events, trailer excluded), auth_events_sent, bytes_sent (all response bytes),
 * blocked_ms (total time responses could not write because the peer was not
 * reading, including streams blocked right now), blocked_now, write_queue_max
 * (largest libuv write queue seen, bytes), last_request_headers (object).
 *
 * Expect: 100-continue gets "100 Continue" before the final response; any other
 * Expect gets 417. EOF from the peer closes the connection at once (a
 * half-close counts as gone), which is how an abandoned stream stops.
 *
 * Accounting: requests to /stats and /stats/reset are not counted anywhere, and
 * a connection counts in connections_accepted only once it carries a request
 * (or malformed input) other than those, so polling /stats never disturbs what
 * a test measures.
 *
 * Layout: this file holds main (arguments, listening socket, signals);
 * conn.c the connections (reading, writing, back-pressure, lifecycle);
 * request.c the llhttp callbacks; router.c the endpoint dispatch; stream.c,
 * big.c and faults.c the larger endpoints; events.c renders /stream bodies;
 * resp.c response heads; query.c query parameters; stats.c the counters;
 * web.c the chat page's files;
 * buf.c the byte buffer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>
#include <uv.h>

#include "conn.h"
#include "request.h"
#include "stats.h"
#include "web.h"

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_term, sig_int;
static llhttp_settings_t settings; /* shared by every connection's parser */
static int stopping;               /* SIGTERM/SIGINT seen: accept nothing more */

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0 || stopping)
    return;
  conn_accept(loop, srv, &settings);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  if (stopping)
    return;
  stopping = 1;
  uv_close((uv_handle_t *)&server, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  conn_close_all();
}

static int parse_listen(const char *arg, char *host, size_t hostsz, int *port) {
  const char *colon = strrchr(arg, ':');
  if (!colon || colon == arg)
    return -1;
  size_t hl = (size_t)(colon - arg);
  if (arg[0] == '[' && hl >= 2 && arg[hl - 1] == ']') {
    arg++;
    hl -= 2;
  }
  if (hl + 1 > hostsz)
    return -1;
  memcpy(host, arg, hl);
  host[hl] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || colon[1] == '\0')
    return -1;
  *port = (int)p;
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: agent-server --listen HOST:PORT [--web-dir DIR]\n"
        "  The example agent server: event streams (SSE, NDJSON, JSON) with optional\n"
        "  auth-required tool results, for testing and demonstrating authrelay.\n"
        "  Prints {\"listening\":\"HOST:PORT\"} once listening. Endpoints: /stream /big\n"
        "  /echo /headers /status /slow-head /hang /malformed /stats /stats/reset\n"
        "  (see the top of examples/agent-server/agent_server.c). --web-dir DIR serves\n"
        "  the chat page of DIR (examples/web) at /.\n",
        f);
}

int main(int argc, char **argv) {
  const char *listen_arg = "127.0.0.1:8081";
  const char *web_dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen_arg = argv[++i];
    } else if (strncmp(argv[i], "--listen=", 9) == 0) {
      listen_arg = argv[i] + 9;
    } else if (strcmp(argv[i], "--web-dir") == 0 && i + 1 < argc) {
      web_dir = argv[++i];
    } else if (strncmp(argv[i], "--web-dir=", 10) == 0) {
      web_dir = argv[i] + 10;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "agent-server: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  char host[256];
  int port;
  if (parse_listen(listen_arg, host, sizeof host, &port) != 0) {
    fprintf(stderr, "agent-server: --listen wants HOST:PORT, got '%s'\n", listen_arg);
    return 2;
  }

  if (web_dir != NULL) {
    const char *failed = "";
    int wrc = web_load(web_dir, &failed);
    if (wrc != 0) {
      fprintf(stderr, "agent-server: --web-dir %s: cannot use %s: %s\n", web_dir, failed, strerror(-wrc));
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);

  req_settings_init(&settings);

  loop = uv_default_loop();
  struct sockaddr_storage addr;
  int rc;
  if (strchr(host, ':'))
    rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  else
    rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    fprintf(stderr, "agent-server: bad address '%s': %s\n", host, uv_strerror(rc));
    return 2;
  }
  uv_tcp_init(loop, &server);
  rc = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&server, 511, on_connection);
  if (rc != 0) {
    fprintf(stderr, "agent-server: cannot listen on %s: %s\n", listen_arg, uv_strerror(rc));
    return 1;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
  char ip[64];
  int bport;
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
    bport = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    printf("{\"listening\":\"[%s]:%d\"}\n", ip, bport);
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
    bport = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    printf("{\"listening\":\"%s:%d\"}\n", ip, bport);
  }
  fflush(stdout);

  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);

  uv_run(loop, UV_RUN_DEFAULT);
  stats_free();
  web_free();
  uv_loop_close(loop);
  return 0;
}
