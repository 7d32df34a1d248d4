/* faults: /slow-head and /malformed, the deliberately bad upstream. See
 * faults.h. */
#include "faults.h"

#include <stdio.h>
#include <string.h>

#include "query.h"
#include "resp.h"

static void on_slow_head(uv_timer_t *t) {
  conn *c = t->data;
  char body[64];
  int n = snprintf(body, sizeof body, "{\"slept_ms\":%ld}\n", c->delay_ms);
  resp_simple(c, 200, "application/json", body, (size_t)n);
}

void faults_slow_head(conn *c, const char *q) {
  int ok = 1;
  c->delay_ms = (long)query_ll(q, "ms", 1000, 0, 86400000, &ok);
  if (!ok) {
    resp_text(c, 400, "bad ms\n");
    return;
  }
  c->kind = R_SLOWHEAD;
  c->resp_active = 1;
  uv_timer_start(&c->timer, on_slow_head, (uint64_t)c->delay_ms, 0);
}

/* kind=truncated: this head and one whole event, after ms a cut-off event, then FIN. */
static const char TRUNC_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
static const char TRUNC_EVENT[] = "event: delta\ndata: {\"type\":\"delta\",\"seq\":0,\"text\":\"complete\"}\n\n";
static const char TRUNC_TAIL[] = "event: delta\ndata: {\"type\":\"delta\",\"seq\":1,\"te";

static void on_truncated_tail(uv_timer_t *t) {
  conn *c = t->data;
  char w[128];
  int n = snprintf(w, sizeof w, "%zx\r\n%s\r\n", sizeof TRUNC_TAIL - 1, TRUNC_TAIL);
  conn_write(c, w, (size_t)n);
  conn_resp_done(c); /* close_after: FIN without the last chunk */
}

void faults_malformed(conn *c, const char *q) {
  char kind[32];
  int ok = 1;
  long ms = (long)query_ll(q, "ms", 50, 0, 60000, &ok);
  if (query_get(q, "kind", kind, sizeof kind) != 1)
    kind[0] = '\0';
  const char *raw = NULL;
  if (strcmp(kind, "badstatus") == 0)
    raw = "HTTP/1.1 2x0 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n";
  else if (strcmp(kind, "badheader") == 0)
    raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nThis header line has no colon\r\n"
          "Content-Length: 0\r\n\r\n";
  else if (strcmp(kind, "badchunk") == 0)
    raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
          "zz\r\nevent: delta\r\n0\r\n\r\n";
  if (raw) {
    c->close_after = 1;
    conn_write(c, raw, strlen(raw)); /* one write: head and error arrive together */
    conn_resp_done(c);
    return;
  }
  if (strcmp(kind, "truncated") != 0 || !ok) {
    resp_text(c, 400, "kind must be badstatus, badheader, badchunk or truncated\n");
    return;
  }
  c->close_after = 1;
  buf_t b = {0};
  buf_append(&b, TRUNC_HEAD, sizeof TRUNC_HEAD - 1);
  buf_printf(&b, "%zx\r\n%s\r\n", sizeof TRUNC_EVENT - 1, TRUNC_EVENT);
  conn_write(c, b.p, b.len);
  buf_free(&b);
  c->kind = R_TRUNCATED;
  c->resp_active = 1;
  c->delay_ms = ms;
  uv_timer_start(&c->timer, on_truncated_tail, (uint64_t)ms, 0);
}
