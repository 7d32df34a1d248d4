/* router: endpoint dispatch of the example agent server. See router.h. */
#include "router.h"

#include <string.h>

#include "big.h"
#include "faults.h"
#include "query.h"
#include "request.h"
#include "resp.h"
#include "stats.h"
#include "stream.h"
#include "web.h"

void router_dispatch(conn *c) {
  const char *path = c->url.p ? c->url.p : "";
  const char *q;
  size_t plen;
  req_split_url(c, &plen, &q);
  int m = llhttp_get_method(&c->parser);
  int get = m == HTTP_GET || m == HTTP_HEAD;

  if (req_path_is(path, plen, "/stats")) {
    if (!get) {
      resp_text(c, 405, "use GET\n");
      return;
    }
    buf_t b = {0};
    stats_json(&b);
    resp_simple(c, 200, "application/json", b.p, b.len);
    buf_free(&b);
  } else if (req_path_is(path, plen, "/stats/reset")) {
    if (!(get || m == HTTP_POST)) {
      resp_text(c, 405, "use POST or GET\n");
      return;
    }
    stats_reset();
    resp_simple(c, 200, "application/json", "{\"reset\":true}\n", 15);
  } else if (req_path_is(path, plen, "/headers")) {
    buf_t b = {0};
    if (query_flag(q, "full")) {
      const char *mn = llhttp_method_name((llhttp_method_t)m);
      buf_puts(&b, "{\"method\":");
      buf_json_str(&b, mn, strlen(mn));
      buf_puts(&b, ",\"url\":");
      buf_json_str(&b, path, c->url.len);
      buf_puts(&b, ",\"path\":");
      buf_json_str(&b, path, plen);
      buf_puts(&b, ",\"headers\":");
      req_headers_json(c, &b);
      buf_puts(&b, "}\n");
    } else {
      req_headers_json(c, &b);
      buf_puts(&b, "\n");
    }
    resp_simple(c, 200, "application/json", b.p, b.len);
    buf_free(&b);
  } else if (req_path_is(path, plen, "/echo")) {
    resp_text(c, 405, "use POST or PUT\n"); /* POST/PUT were started at headers_complete */
  } else if (req_path_is(path, plen, "/stream") && m == HTTP_POST) {
    stream_route(c, q); /* a chat message (the body, ignored) starts a stream too */
  } else if (!get && (req_path_is(path, plen, "/stream") || req_path_is(path, plen, "/big") ||
                      req_path_is(path, plen, "/status") || req_path_is(path, plen, "/slow-head") ||
                      req_path_is(path, plen, "/hang") || req_path_is(path, plen, "/malformed"))) {
    resp_text(c, 405, "use GET\n");
  } else if (req_path_is(path, plen, "/stream")) {
    stream_route(c, q);
  } else if (req_path_is(path, plen, "/big")) {
    big_route(c, q);
  } else if (req_path_is(path, plen, "/status")) {
    int ok = 1;
    int code = (int)query_ll(q, "code", 200, 200, 599, &ok);
    if (!ok)
      resp_text(c, 400, "code must be 200..599\n");
    else
      resp_simple(c, code, NULL, "", 0);
  } else if (req_path_is(path, plen, "/slow-head")) {
    faults_slow_head(c, q);
  } else if (req_path_is(path, plen, "/hang")) {
    c->kind = R_HANG;
    c->resp_active = 1;
  } else if (req_path_is(path, plen, "/malformed")) {
    faults_malformed(c, q);
  } else if (web_has(path, plen)) {
    web_serve(c, path, plen);
  } else {
    resp_text(c, 404,
              "not found; endpoints: /stream /big /echo /headers /status /slow-head /hang /malformed "
              "/stats /stats/reset (and with --web-dir: / /app.js /authrelay-link.js /style.css)\n");
  }
}
