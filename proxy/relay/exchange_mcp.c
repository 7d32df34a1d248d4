/* exchange_mcp: the exchange's side of MCP URL elicitation in tool mode
 * (mcpsession.h; one of the exchange's files, exchange_int.h).
 *
 * At a response head: an `initialize` answered with an Mcp-Session-Id
 * tells the session table whether the client declared URL elicitation,
 * and a GET event stream of such a session registers as the one that
 * carries its notifications (until the response ends: ex_mcp_stream_end).
 * At a detection (before the pause begins): a held tools/call of such a
 * session is answered at once with -32042 and the trusted link instead of
 * being held; mcpsession keeps the link waiting and, once it completes,
 * writes notifications/elicitation/complete into the registered GET
 * stream through ex_mcp_notify, at an event boundary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "exchange_int.h"
#include "log.h"
#include "mcpsession.h"
#include "timefmt.h"

/* A header of the request, or NULL. */
static const char *ex_req_header(const exchange *ex, const char *name, size_t *len) {
  const http_header *h = http_head_find(&ex->req, name);
  if (h == NULL)
    return NULL;
  *len = h->value.len;
  return http_head_str(&ex->req, h->value);
}

/* 1 when the request's Accept names text/event-stream. */
static int ex_accepts_sse(const exchange *ex) {
  static const char want[] = "text/event-stream";
  size_t len = 0;
  const char *v = ex_req_header(ex, "accept", &len);
  size_t i;
  for (i = 0; v != NULL && i + sizeof want - 1 <= len; i++) {
    if (http_equals_nocase(v + i, sizeof want - 1, want)) /* media types ignore case */
      return 1;
  }
  return 0;
}

/* The request body as kept for a retry, when it is the whole JSON text. */
static int ex_kept_body(const exchange *ex, const char **body, size_t *len) {
  if (!ex->replay_ok || !ex->req_done || ex->req_chunked || ex->replay_body.len == 0)
    return -ENOENT;
  *body = ex->replay_body.ptr;
  *len = ex->replay_body.len;
  return 0;
}

/* Writes one SSE event into the GET stream owner at an event boundary
 * (mcpsession_notify_fn): only whole events have reached its client. */
static int ex_mcp_notify(void *owner, const char *ev, size_t len) {
  exchange *ex = owner;
  uv_buf_t part = uv_buf_init((char *)ev, (unsigned)len);
  if (ex->state == EX_CLOSING || !ex->inspect || ex->framer.format != FRAMER_SSE)
    return -ENOTCONN;
  if (ex->forwarded > framer_safe_offset(&ex->framer))
    return -EAGAIN; /* inside an event longer than max_event_bytes, sent in pieces */
  return ex_write_body(ex, &part, 1) == 0 ? 0 : -ENOTCONN;
}

/* Tool mode, at a response head: an initialize answered with a session id
 * remembers whether the client declared URL elicitation; a GET event
 * stream of a session that did becomes the one that carries its
 * notifications. */
void ex_mcp_on_head(exchange *ex, const upstream_response *r, framer_format fmt) {
  const http_header *h = http_head_find(r->head, "mcp-session-id");
  mcpsession_table *t = mcpsession_shared();
  uint64_t now = uv_now(&ex->w->loop);
  const char *sid;
  size_t sid_len = 0;
  if (t == NULL || !ex_tool_mode(ex) || r->status < 200 || r->status > 299)
    return;
  sid = ex_req_header(ex, "mcp-session-id", &sid_len);
  if (ex->parser.method == HTTP_POST) {
    const char *body;
    size_t len;
    mcpsession_rpc rpc;
    if (h != NULL && ex_kept_body(ex, &body, &len) == 0 && mcpsession_parse(body, len, &rpc) == 0 &&
        rpc.initialize)
      (void)mcpsession_remember(t, http_head_str(r->head, h->value), h->value.len, rpc.url_elicitation, now);
    else if (sid != NULL)
      (void)mcpsession_declared(t, sid, sid_len, now); /* the session is in use */
    return;
  }
  if (ex->parser.method != HTTP_GET || fmt != FRAMER_SSE || sid == NULL || ex->user == NULL ||
      ex->mcp_get_sid != NULL)
    return;
  if (mcpsession_stream_open(t, sid, sid_len, ex, &ex->w->mailbox, ex_mcp_notify, ex->user, now) != 0)
    return; /* the session did not declare URL elicitation */
  ex->mcp_get_sid = malloc(sid_len + 1);
  if (ex->mcp_get_sid == NULL) {
    mcpsession_stream_close(t, sid, sid_len, ex);
    return;
  }
  memcpy(ex->mcp_get_sid, sid, sid_len);
  ex->mcp_get_sid[sid_len] = '\0';
}

void ex_mcp_stream_end(exchange *ex) {
  if (ex->mcp_get_sid == NULL)
    return;
  mcpsession_stream_close(mcpsession_shared(), ex->mcp_get_sid, strlen(ex->mcp_get_sid), ex);
  free(ex->mcp_get_sid);
  ex->mcp_get_sid = NULL;
}

/* Tool mode: a tools/call of a session that declared URL elicitation is
 * answered at once with -32042 and the trusted link, instead of being
 * held (the link waits in mcpsession until it ends). Returns 0 when
 * answered; otherwise the call is held as usual. */
int ex_mcp_elicit(exchange *ex) {
  mcpsession_table *t = mcpsession_shared();
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char url[1024];
  char head[256];
  mcpsession_call call;
  mcpsession_rpc rpc;
  const char *body;
  size_t len;
  const char *message;
  char fallback[LINKSVC_CONNECTOR_MAX + 64];
  uv_buf_t bufs[2];
  dynbuf answer;
  int sse;
  int n;
  call.sid = ex_req_header(ex, "mcp-session-id", &call.sid_len);
  if (t == NULL || !ex_holds_whole(ex) || ex->resp_head.len == 0 || ex->user == NULL || call.sid == NULL ||
      ex_kept_body(ex, &body, &len) != 0 ||
      !mcpsession_declared(t, call.sid, call.sid_len, uv_now(&ex->w->loop)) ||
      mcpsession_parse(body, len, &rpc) != 0 || !rpc.tools_call || rpc.id[0] == '\0')
    return -ENOTSUP;
  call.user = ex->user;
  call.connector = pause_connector(ex->pause);
  call.stream_id = ex->stream_id;
  ex_base_url(ex, url, sizeof url - LINKSVC_PATH_LEN);
  call.base_url = url;
  n = mcpsession_elicit(t, &ex->w->mailbox, &call, timefmt_now_ms(), id, url, sizeof url);
  if (n != 0) {
    LOG_WARN("URL elicitation not started, holding the call", LOG_STR("stream_id", ex->stream_id),
             LOG_I64("error", n));
    return n;
  }
  message = pause_message(ex->pause);
  if (message[0] == '\0') {
    snprintf(fallback, sizeof fallback, "Please connect %s to continue.", call.connector);
    message = fallback;
  }
  sse = ex->framer.format == FRAMER_SSE && ex_accepts_sse(ex);
  dynbuf_init(&answer, INJECT_MAX_BYTES);
  n = mcpsession_render_answer(&answer, sse, rpc.id, id, url, message);
  if (n != 0) {
    dynbuf_free(&answer);
    mcpsession_elicit_cancel(t, &ex->w->mailbox, id);
    return n;
  }
  ex_forget_response(ex); /* the held result (with the upstream's link) and its connection */
  ex->resp_status = 200;
  ex->resp_close = !ex->client_keep_alive || !ex->req_done || worker_draining(ex->w);
  n = snprintf(head, sizeof head,
               "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-store\r\nContent-Length: %zu\r\n%s\r\n",
               sse ? "text/event-stream" : "application/json", answer.len,
               ex->resp_close ? "Connection: close\r\n" : "");
  bufs[0] = uv_buf_init(head, (unsigned)n);
  bufs[1] = uv_buf_init(answer.ptr, (unsigned)answer.len);
  ex->resp_started = 1;
  ex->end_outcome = "url_elicitation";
  LOG_INFO("tool call answered with a URL elicitation", LOG_STR("stream_id", ex->stream_id),
           LOG_STR("registered_user", ex->user), LOG_STR("connector", call.connector), LOG_STR("elicitation_id", id));
  n = ex_client_write(ex, bufs, 2);
  dynbuf_free(&answer);
  if (n == 0)
    ex_finish_request(ex);
  return 0;
}
