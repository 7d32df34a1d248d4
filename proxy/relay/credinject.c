/* credinject: the user's credential added to a tool call. See credinject.h. */
#include "credinject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "detect.h"
#include "exchange_int.h"
#include "json.h"
#include "jsonw.h"
#include "log.h"
#include "mcpsession.h"
#include "retry.h"

/* ---- the parts that need no exchange -------------------------------------- */

int credinject_fill(const char *header, const char *tmpl, const char *secret, size_t len, char **line,
                    size_t *line_len) {
  const char *at = strstr(tmpl, "{token}");
  size_t hlen = strlen(header);
  size_t tlen = strlen(tmpl);
  size_t n;
  size_t i;
  char *p;
  *line = NULL;
  *line_len = 0;
  if (at == NULL || len == 0)
    return -EINVAL;
  if (len > CREDINJECT_SECRET_MAX)
    return -E2BIG;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)secret[i];
    if (ch < 0x20 || ch > 0x7e)
      return -EINVAL; /* CR, LF, NUL or a byte no token has: it could split the header */
  }
  n = hlen + 2 + (tlen - 7) + len + 2;
  p = malloc(n + 1);
  if (p == NULL)
    return -ENOMEM;
  *line = p;
  memcpy(p, header, hlen);
  p += hlen;
  memcpy(p, ": ", 2);
  p += 2;
  memcpy(p, tmpl, (size_t)(at - tmpl));
  p += at - tmpl;
  memcpy(p, secret, len);
  p += len;
  memcpy(p, at + 7, tlen - (size_t)(at - tmpl) - 7);
  p += tlen - (size_t)(at - tmpl) - 7;
  memcpy(p, "\r\n", 3);
  *line_len = n;
  return 0;
}

/* A slug of detect.h's rules into out (lower case). */
static int slug_copy(const char *s, size_t len, char out[CREDINJECT_SLUG_MAX + 1]) {
  size_t i;
  if (len == 0 || len > CREDINJECT_SLUG_MAX)
    return -EINVAL;
  for (i = 0; i < len; i++) {
    int ch = (unsigned char)s[i];
    if (ch >= 'A' && ch <= 'Z')
      ch = ch - 'A' + 'a';
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      return -EINVAL;
    out[i] = (char)ch;
  }
  out[len] = '\0';
  return 0;
}

/* What a request body says as a JSON-RPC request: its method ("" when it
 * is not one; cut to method_cap bytes) and the tool called (tools/call's
 * params.name, "" none; cut to name_cap bytes). Returns 0, or -ENOENT when
 * the body is not read (none, over CREDINJECT_BODY_MAX, not a JSON object). */
static int read_call(const char *body, size_t len, char *method, size_t method_cap, char *name, size_t name_cap) {
  const char *method_path[] = {"method", NULL};
  const char *name_path[] = {"params", "name", NULL};
  char *copy;
  yajl_val root = NULL;
  const char *m;
  const char *n;
  int rc;
  method[0] = '\0';
  name[0] = '\0';
  if (body == NULL || len == 0 || len > CREDINJECT_BODY_MAX)
    return -ENOENT;
  copy = malloc(len + 1);
  if (copy == NULL)
    return -ENOENT;
  memcpy(copy, body, len);
  copy[len] = '\0';
  rc = json_parse(copy, len, CREDINJECT_DEPTH_MAX, 0, &root, NULL); /* depth-capped: hostile bodies */
  free(copy);
  if (rc != 0 || !YAJL_IS_OBJECT(root)) {
    yajl_tree_free(root);
    return -ENOENT;
  }
  m = YAJL_GET_STRING(yajl_tree_get(root, method_path, yajl_t_string));
  n = YAJL_GET_STRING(yajl_tree_get(root, name_path, yajl_t_string));
  if (m != NULL)
    snprintf(method, method_cap, "%s", m);
  if (n != NULL && m != NULL && strcmp(m, "tools/call") == 0)
    snprintf(name, name_cap, "%s", n);
  yajl_tree_free(root);
  return 0;
}

int credinject_connector(const config_route *route, const char *body, size_t len,
                         char out[CREDINJECT_SLUG_MAX + 1]) {
  char method[32];
  char name[256];
  detect_str slug;
  if (route->credentials.connector != NULL)
    return slug_copy(route->credentials.connector, strlen(route->credentials.connector), out) == 0 ? 0 : -ENOENT;
  if (read_call(body, len, method, sizeof method, name, sizeof name) != 0 || name[0] == '\0' ||
      !detect_connector_from_tool_name(name, strlen(name), &slug) || slug_copy(slug.ptr, slug.len, out) != 0)
    return -ENOENT;
  return 0;
}

int credinject_holdable(const char *body, size_t len) {
  char method[32];
  char name[8];
  if (read_call(body, len, method, sizeof method, name, sizeof name) != 0 || method[0] == '\0')
    return 1; /* not a JSON-RPC request: the call itself */
  return strcmp(method, "tools/call") == 0;
}

size_t credinject_strip(dynbuf *head, const char *name) {
  size_t nlen = strlen(name);
  size_t removed = 0;
  size_t pos;
  char *eol = head->len > 0 ? memchr(head->ptr, '\n', head->len) : NULL;
  if (eol == NULL)
    return 0;
  pos = (size_t)(eol - head->ptr) + 1; /* past the request line */
  while (pos < head->len) {
    char *line = head->ptr + pos;
    char *end = memchr(line, '\n', head->len - pos);
    size_t llen = end != NULL ? (size_t)(end - line) + 1 : head->len - pos;
    if (llen <= 2)
      break; /* the blank line */
    if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      OPENSSL_cleanse(line, llen); /* the agent's credential, not kept */
      memmove(line, line + llen, head->len - pos - llen);
      head->len -= llen;
      removed++;
      continue;
    }
    pos += llen;
  }
  return removed;
}

int credinject_auth_required(dynbuf *out, const char *body, size_t len, const char *connector, int *jsonrpc) {
  char message[CREDINJECT_SLUG_MAX + 64];
  mcpsession_rpc rpc;
  dynbuf meta;
  int rc;
  snprintf(message, sizeof message, "Please connect %s to continue.", connector);
  dynbuf_init(&meta, CREDINJECT_ANSWER_MAX);
  rc = jsonw_raw(&meta, "{\"type\":\"authenticate_meta\",\"Connector\":");
  if (rc == 0)
    rc = jsonw_cstring(&meta, connector);
  if (rc == 0)
    rc = jsonw_raw(&meta, ",\"link_token\":\"\",\"magic_link_url\":\"\",\"expires_at\":\"\",\"message\":");
  if (rc == 0)
    rc = jsonw_cstring(&meta, message);
  if (rc == 0)
    rc = jsonw_raw(&meta, "}");
  *jsonrpc = body != NULL && mcpsession_parse(body, len, &rpc) == 0 && rpc.id[0] != '\0';
  if (rc == 0 && *jsonrpc) {
    rc = jsonw_raw(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    if (rc == 0)
      rc = jsonw_raw(out, rpc.id);
    if (rc == 0)
      rc = jsonw_raw(out, ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
    if (rc == 0)
      rc = jsonw_string(out, meta.ptr, meta.len);
    if (rc == 0)
      rc = jsonw_raw(out, "}]}}");
  } else if (rc == 0) {
    rc = dynbuf_add(out, meta.ptr, meta.len);
  }
  dynbuf_free(&meta);
  return rc;
}

/* ---- the exchange's side ---------------------------------------------------- */

static const config_route *ex_route(const exchange *ex) {
  return &ex_cfg(ex)->routes[ex->route_index];
}

/* The request body as kept, when it is the whole JSON text; NULL else. */
static const char *ex_body(const exchange *ex, size_t *len) {
  if (!ex->replay_ok || !ex->req_done || ex->req_chunked || ex->replay_body.len == 0) {
    *len = 0;
    return NULL;
  }
  *len = ex->replay_body.len;
  return ex->replay_body.ptr;
}

/* The injected line is wiped and freed. */
static void cred_line_wipe(exchange *ex) {
  if (ex->cred_line == NULL)
    return;
  OPENSSL_cleanse(ex->cred_line, ex->cred_line_len);
  free(ex->cred_line);
  ex->cred_line = NULL;
  ex->cred_line_len = 0;
}

void ex_cred_reset(exchange *ex) {
  if (ex->cred_req != NULL) {
    pausehub_page_abandon(ex->cred_req);
    ex->cred_req = NULL;
  }
  cred_line_wipe(ex);
  ex->cred_wait_body = 0;
}

/* Goes on without waiting for a credential: the first send, or the retry. */
static void cred_go_on(exchange *ex, int for_retry) {
  if (for_retry)
    retry_connect(ex);
  else
    ex_start_upstream(ex);
}

/* Asks the control loop for user's credential to connector. Returns 0, or
 * an error (nothing asked). */
static int cred_ask(exchange *ex, const char *connector, int for_retry) {
  pausehub_page *pg = pausehub_page_new(&ex->w->mailbox, ex, 0, connector, strlen(connector), "");
  if (pg == NULL)
    return -ENOMEM;
  pg->credential = 1;
  if (dynbuf_add(&pg->body, ex->user, strlen(ex->user)) != 0 || pausehub_page_submit(pg) != 0) {
    pausehub_page_free(pg);
    return -ENOTCONN;
  }
  ex->cred_req = pg;
  ex->cred_for_retry = for_retry;
  return 0;
}

/* Whether (and for which connector) this request gets a credential: 0 with
 * the connector in out, or -ENOENT (sent without one). */
static int cred_wanted(exchange *ex, char out[CREDINJECT_SLUG_MAX + 1]) {
  const char *body;
  size_t len;
  if (ex_route(ex)->credentials.header == NULL)
    return -ENOENT;
  body = ex_body(ex, &len);
  if (ex->user == NULL || credinject_connector(ex_route(ex), body, len, out) != 0) {
    METRICS_ADD(&ex->w->metrics, cred_skipped, 1);
    LOG_DEBUG("request sent without a credential", LOG_STR("stream_id", ex->stream_id),
              LOG_STR("reason", ex->user == NULL ? "no trusted registered user" : "no connector"));
    return -ENOENT;
  }
  return 0;
}

static void on_body_timeout(uv_timer_t *t) {
  exchange *ex = t->data;
  if (ex->cred_wait_body)
    ex_refuse(ex, 408, "request body not received in time");
}

void ex_cred_start(exchange *ex) {
  char connector[CREDINJECT_SLUG_MAX + 1];
  int rc;
  if (ex->cred_wait_body) {
    ex->cred_wait_body = 0;
    (void)uv_timer_stop(&ex->timer); /* always 0 */
  }
  if (ex_route(ex)->credentials.header != NULL && ex->user != NULL && !ex->req_done && !ex->paused_for_body &&
      ex->replay_ok && ex->replay_body.len <= CREDINJECT_BODY_MAX) {
    /* the rest of the body first (the tool's name; a call is kept whole),
     * within the head timeout: nothing upstream is waiting on it yet */
    if (uv_timer_start(&ex->timer, on_body_timeout, (uint64_t)ex_cfg(ex)->client_head_timeout_s * 1000, 0) != 0) {
      ex_refuse(ex, 503, "request not accepted");
      return;
    }
    ex->cred_wait_body = 1;
    if (ex->expect_continue) {
      /* authrelay wants the body now, before any upstream is asked: a
       * client waiting for 100 Continue would otherwise wait in vain */
      uv_buf_t cont = uv_buf_init("HTTP/1.1 100 Continue\r\n\r\n", 25);
      ex->expect_continue = 0;
      (void)ex_client_write(ex, &cont, 1); /* on failure the connection closed */
    }
    return;
  }
  if (cred_wanted(ex, connector) != 0) {
    ex_start_upstream(ex);
    return;
  }
  rc = cred_ask(ex, connector, 0);
  if (rc != 0) {
    LOG_WARN("credential not asked for", LOG_STR("stream_id", ex->stream_id), LOG_I64("error", rc));
    ex_refuse(ex, 503, "the credential service is not available");
  }
}

void ex_cred_retry(exchange *ex) {
  char connector[CREDINJECT_SLUG_MAX + 1];
  cred_line_wipe(ex); /* asked again: it may have been refreshed or replaced */
  if (cred_wanted(ex, connector) != 0 || cred_ask(ex, connector, 1) != 0)
    retry_connect(ex); /* the retry goes without (counted, or the control loop is gone) */
}

/* No usable connection: the call is answered by authrelay with the
 * auth-required form, as if the tool server had said it; the tool-mode
 * pause holds it and, once connected, retries (asking again). */
static void cred_answer_itself(exchange *ex, const char *connector) {
  const config_route *route = ex_route(ex);
  upstream_response r;
  http_head h;
  dynbuf body;
  dynbuf head;
  char clen[24];
  const char *req_body;
  size_t req_len;
  int jsonrpc = 0;
  int sse = route->format == CONFIG_FORMAT_SSE;
  int rc;
  req_body = ex_body(ex, &req_len);
  dynbuf_init(&body, CREDINJECT_ANSWER_MAX + 64);
  if (sse)
    (void)dynbuf_add(&body, "event: message\ndata: ", 21);
  rc = credinject_auth_required(&body, req_body, req_len, connector, &jsonrpc);
  if (rc == 0 && sse)
    rc = dynbuf_add(&body, "\n\n", 2);
  if (rc == 0 && ex->replay_head.len == 0) {
    /* kept to be sent again once the account is connected */
    dynbuf_init(&head, ex_cfg(ex)->max_head_bytes * 2 + 4096);
    rc = ex_build_request_head(ex, &head);
    dynbuf_free(&ex->replay_head);
    ex->replay_head = head;
  }
  if (rc != 0) {
    dynbuf_free(&body);
    ex_refuse(ex, 500, "the auth-required answer could not be made");
    return;
  }
  METRICS_ADD(&ex->w->metrics, cred_answered, 1);
  LOG_INFO("no usable connection: the call is answered with auth-required", LOG_STR("stream_id", ex->stream_id),
           LOG_STR("registered_user", ex->user), LOG_STR("connector", connector));
  dynbuf_reset(&ex->early_body, 0);
  ex->upstream_ready = 1; /* no upstream: a body byte still to come is dropped */
  ex->state = EX_ACTIVE;
  http_head_init(&h, 1024, 8);
  snprintf(clen, sizeof clen, "%zu", body.len);
  rc = http_head_add_target(&h, jsonrpc ? "OK" : "Conflict", jsonrpc ? 2 : 8);
  if (rc == 0)
    rc = http_head_add_name(&h, "Content-Type", 12);
  if (rc == 0)
    rc = sse ? http_head_add_value(&h, "text/event-stream", 17)
         : route->format == CONFIG_FORMAT_NDJSON ? http_head_add_value(&h, "application/x-ndjson", 20)
                                                 : http_head_add_value(&h, "application/json", 16);
  if (rc == 0)
    rc = http_head_add_name(&h, "Cache-Control", 13);
  if (rc == 0)
    rc = http_head_add_value(&h, "no-store", 8);
  if (rc == 0)
    rc = http_head_add_name(&h, "Content-Length", 14);
  if (rc == 0)
    rc = http_head_add_value(&h, clen, strlen(clen));
  if (rc != 0) {
    http_head_free(&h);
    dynbuf_free(&body);
    ex_refuse(ex, 500, "the auth-required answer could not be made");
    return;
  }
  memset(&r, 0, sizeof r);
  r.status = jsonrpc ? 200 : 409;
  r.http_minor = 1;
  r.head = &h;
  r.content_length = (int64_t)body.len;
  ex_upstream_callbacks.on_head(ex, &r);
  if (ex->state != EX_CLOSING && ex->resp_started)
    ex_upstream_callbacks.on_body(ex, body.ptr, body.len);
  if (ex->state != EX_CLOSING && ex->resp_started)
    ex_upstream_callbacks.on_read_end(ex);
  if (ex->state != EX_CLOSING && ex->resp_started) {
    /* the end, as the upstream's on_end says it (there is no connection) */
    if (pause_waiting(ex->pause)) {
      ex->deferred_end = 1;
      ex->deferred_status = 0;
    } else {
      ex_response_ended(ex, 0);
    }
  }
  http_head_free(&h);
  dynbuf_free(&body);
}

void ex_cred_answered(pausehub_page *pg) {
  exchange *ex = pg->owner;
  int for_retry = ex->cred_for_retry;
  const config_route *route = ex_route(ex);
  char connector[CREDINJECT_SLUG_MAX + 1];
  int status = pg->status;
  const char *body;
  size_t len;
  int rc;
  ex->cred_req = NULL;
  snprintf(connector, sizeof connector, "%s", pg->target);
  if (status == 200) {
    rc = credinject_fill(route->credentials.header, route->credentials.value, pg->html.ptr, pg->html.len,
                         &ex->cred_line, &ex->cred_line_len);
    pausehub_page_free(pg); /* wiped */
    if (rc != 0) {
      LOG_WARN("credential not usable in a header", LOG_STR("stream_id", ex->stream_id),
               LOG_STR("connector", connector), LOG_I64("error", rc));
      if (for_retry)
        retry_failed(ex, 502, "the stored credential cannot be sent in a header");
      else
        ex_refuse(ex, 502, "the stored credential cannot be sent in a header");
      return;
    }
    METRICS_ADD(&ex->w->metrics, cred_injected, 1);
    cred_go_on(ex, for_retry);
    return;
  }
  pausehub_page_free(pg);
  body = ex_body(ex, &len);
  if (status == 409 && ex->parser.method == HTTP_POST && ex->req_done && ex->replay_ok &&
      credinject_holdable(body, len)) {
    cred_answer_itself(ex, connector);
    return;
  }
  if (status == 409) {
    METRICS_ADD(&ex->w->metrics, cred_skipped, 1); /* not a call that can be held: the tool server decides */
    cred_go_on(ex, for_retry);
    return;
  }
  LOG_WARN("credential not available", LOG_STR("stream_id", ex->stream_id), LOG_STR("connector", connector),
           LOG_I64("status", status));
  if (status == 501) {
    const char *msg = "credential injection is not available with a remote link service: it holds the credentials";
    if (for_retry)
      retry_failed(ex, 501, msg);
    else
      ex_refuse(ex, 501, msg);
    return;
  }
  if (for_retry)
    retry_failed(ex, status == 502 ? 502 : 503, "the credential could not be read");
  else
    ex_refuse(ex, status == 502 ? 502 : 503, "the credential could not be read");
}
