/* big: GET /big (a long patterned body). See big.h. */
#include "big.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "resp.h"

/* Fills dst with n bytes of the /big pattern starting at byte offset off. */
static void big_fill(uint64_t off, char *dst, size_t n) {
  static const char hex[] = "0123456789abcdef";
  char rec[16];
  uint64_t r = off / 16;
  size_t pos = (size_t)(off % 16), o = 0;
  while (o < n) {
    uint64_t v = r * 16;
    for (int i = 14; i >= 0; i--) {
      rec[i] = hex[v & 15];
      v >>= 4;
    }
    rec[15] = '\n';
    size_t take = 16 - pos;
    if (take > n - o)
      take = n - o;
    memcpy(dst + o, rec + pos, take);
    o += take;
    pos = 0;
    r++;
  }
}

void big_produce(conn *c) {
  size_t turn = 0;
  while (c->resp_active && !c->closing && c->big_off < c->big_total) {
    if (conn_queued(c) > WQ_HIGH - BATCH) {
      conn_block(c);
      return;
    }
    if (turn >= TURN_MAX)
      return;
    uint64_t left = c->big_total - c->big_off;
    size_t n = left < BATCH ? (size_t)left : BATCH;
    int last = c->big_off + n >= c->big_total;
    wreq *w = conn_wreq_new(c, n + 32);
    w->len = 0;
    if (c->framing == FR_CHUNKED)
      w->len = (size_t)sprintf(w->data, "%zx\r\n", n);
    big_fill(c->big_off, w->data + w->len, n);
    w->len += n;
    if (c->framing == FR_CHUNKED) {
      memcpy(w->data + w->len, last ? "\r\n0\r\n\r\n" : "\r\n", last ? 7 : 2);
      w->len += last ? 7 : 2;
    }
    c->big_off += n;
    turn += n;
    conn_wreq_send(c, w);
  }
  if (c->resp_active && !c->closing && c->big_off >= c->big_total) {
    if (c->framing == FR_CHUNKED && c->big_total == 0)
      conn_write(c, "0\r\n\r\n", 5);
    conn_resp_done(c);
  }
}

void big_route(conn *c, const char *q) {
  int ok = 1;
  uint64_t n = (uint64_t)query_ll(q, "bytes", 1024, 0, (long long)1 << 50, &ok);
  c->framing = (enum framing)query_choice(q, "framing", conn_framing_names, 3, FR_LENGTH, &ok);
  if (!ok) {
    resp_text(c, 400, "bad /big parameters\n");
    return;
  }
  if (c->framing == FR_CHUNKED && c->parser.http_minor == 0)
    c->framing = FR_CLOSE;
  if (c->framing == FR_CLOSE)
    c->close_after = 1;
  buf_t h = {0};
  resp_head_begin(&h, 200);
  buf_puts(&h, "Content-Type: application/octet-stream\r\n");
  if (c->framing == FR_CHUNKED)
    buf_puts(&h, "Transfer-Encoding: chunked\r\n");
  else if (c->framing == FR_LENGTH)
    buf_printf(&h, "Content-Length: %" PRIu64 "\r\n", n);
  resp_head_end(c, &h);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  if (c->is_head) {
    conn_resp_done(c);
    return;
  }
  c->kind = R_BIG;
  c->resp_active = 1;
  c->big_total = n;
  c->big_off = 0;
  big_produce(c);
}
