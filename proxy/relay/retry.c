/* retry: the kept request sent again. See retry.h. */
#include "retry.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"
#include "log.h"

/* Answers an error with nothing of the response sent (status kept when it
 * is an HTTP error status, else 502). */
static void fail_unsent(exchange *ex, int status, const char *message) {
  ex_refuse(ex, status >= 400 && status <= 599 ? status : 502, message);
}

/* Sends the kept request again on a fresh upstream connection; its 2xx body
 * is spliced into the client's stream (retry_on_head). Falls back to
 * continue when the request could not be kept. */
void retry_start(exchange *ex) {
  if (!ex->replay_ok || !ex->req_done || ex->replay_head.len == 0 || (!ex->resp_chunked && !ex->retry_fresh)) {
    if (ex->retry_fresh) {
      ex->retry_fresh = 0;
      retry_tool_release(ex); /* cannot send it again: the caller gets the original */
      return;
    }
    LOG_WARN("retry not possible, continuing instead", LOG_STR("stream_id", ex->stream_id),
             LOG_STR("reason", !ex->replay_ok ? "request larger than max_replay_body"
                               : !ex->resp_chunked ? "response not chunked to the client"
                                                   : "request not complete"));
    ex_resume_relaying(ex);
    return;
  }
  if (ex->up != NULL) {
    upstream_release(ex->up, 0); /* the old response is abandoned */
    ex->up = NULL;
  }
  ex->held.len = 0;
  ex->deferred_end = 0;
  ex->retries++;
  ex->retrying = 1;
  ex_cred_retry(ex); /* then retry_connect() */
}

void retry_connect(exchange *ex) {
  upstream_pool *pool = ex_pool(ex);
  int reused = 0;
  if (upstream_acquire(pool, &ex_upstream_callbacks, ex, &ex->up, &reused) != 0) {
    ex->up = NULL;
    retry_failed(ex, 502, "retry: upstream unavailable");
    return;
  }
  if (reused)
    retry_send(ex);
}

/* Writes the kept head with X-Authrelay-Retry and the kept body. */
void retry_send(exchange *ex) {
  char line[64];
  uv_buf_t bufs[4];
  unsigned nbufs = 0;
  int n = snprintf(line, sizeof line, "X-Authrelay-Retry: %u\r\n\r\n", ex->retries);
  bufs[nbufs++] = uv_buf_init(ex->replay_head.ptr, (unsigned)(ex->replay_head.len - 2)); /* without its blank line */
  if (ex->cred_line != NULL)
    bufs[nbufs++] = uv_buf_init(ex->cred_line, (unsigned)ex->cred_line_len); /* credinject.h */
  bufs[nbufs++] = uv_buf_init(line, (unsigned)n);
  if (ex->replay_body.len > 0)
    bufs[nbufs++] = uv_buf_init(ex->replay_body.ptr, (unsigned)ex->replay_body.len);
  if (upstream_write(ex->up, bufs, nbufs) != 0 ||
      upstream_start_response(ex->up, ex->head_request) != 0) {
    retry_failed(ex, 502, "retry: upstream connection failed");
    return;
  }
  LOG_INFO("retrying request", LOG_STR("stream_id", ex->stream_id), LOG_U64("retry", ex->retries));
}

/* The retried request's response head: a 2xx body continues the client's
 * stream through a fresh framer; anything else ends it with relay_error.
 * Returns 0 when the body is spliced, else -EPROTO (the stream ended). */
int retry_on_head(exchange *ex, const upstream_response *r) {
  int chosen;
  ex->retrying = 0;
  if (r->status < 200 || r->status > 299) {
    char msg[64];
    snprintf(msg, sizeof msg, "retry answered %d", r->status);
    retry_failed(ex, r->status, msg);
    return -EPROTO;
  }
  framer_close(&ex->framer);
  chosen = ex_response_format(ex, r);
  if (chosen != (int)ex->framer.format) {
    retry_failed(ex, 502, "retry answered in another format than the stream");
    return -EPROTO;
  }
  ex_framer_init(ex, (framer_format)chosen);
  /* a new run of the agent: its calls are new (the sniffed dialect is the same) */
  ex_dialect_init(ex, r, (framer_format)chosen);
  ex->forwarded = 0;
  ex->held.len = 0;
  return 0;
}

/* The retry failed: the client's stream ends with relay_error (a tool
 * call with nothing sent yet gets an error response instead). */
void retry_failed(exchange *ex, int status, const char *message) {
  ex->retrying = 0;
  ex->end_outcome = "upstream_error";
  LOG_WARN("retry failed", LOG_STR("stream_id", ex->stream_id), LOG_STR("error", message));
  if (ex->retry_fresh) {
    ex->retry_fresh = 0;
    fail_unsent(ex, status, message);
    return;
  }
  ex_write_relay_error(ex, status, message);
  if (ex->state != EX_CLOSING)
    ex_end_stream(ex);
}

/* The account is connected: the tool call is sent again. When nothing of
 * the held response reached the caller (the usual case: the head waits for
 * the first event), the retry's response replaces it whole, whatever its
 * status; otherwise (events went out before the result) the held result is
 * dropped and the retry's events are spliced in, as resume: retry does. */
void retry_tool(exchange *ex) {
  int unsent = ex_tool_unsent(ex);
  if (!ex->replay_ok || !ex->req_done || ex->replay_head.len == 0 || (!unsent && !ex->resp_chunked)) {
    /* It cannot be sent again (a request over max_replay_body, or a
     * response that cannot take spliced events): the original goes out
     * untouched rather than nothing. */
    LOG_WARN("tool call cannot be retried, releasing the original response", LOG_STR("stream_id", ex->stream_id));
    retry_tool_release(ex);
    return;
  }
  if (unsent) {
    ex_forget_response(ex);
    ex->retry_fresh = 1;
  } else if (ex->forwarded == pause_event_start(ex->pause)) {
    ex_withhold_until(ex, pause_event_end(ex->pause)); /* the held result is not sent */
  }
  retry_start(ex);
}

/* The link expired (or the operator cancelled): the caller gets the
 * original response, as the tool server sent it, uninspected from here. */
void retry_tool_release(exchange *ex) {
  framer_close(&ex->framer);
  framer_init(&ex->framer, FRAMER_RAW, NULL, NULL, NULL);
  ex->inspect = 0;
  ex_resume_relaying(ex);
}

/* The first n bytes of s[0, len) that are needle, or NULL. */
static const char *find(const char *s, size_t len, const char *needle, size_t n) {
  size_t i;
  for (i = 0; i + n <= len; i++) {
    if (memcmp(s + i, needle, n) == 0)
      return s + i;
  }
  return NULL;
}

/* The head still waiting says Content-Length (as proxyhead writes it):
 * the body grows by `longer` and shrinks by `shorter` bytes. Returns 0 (also
 * without one), -EINVAL (a length it cannot have) or -ENOMEM. */
static int head_relength(exchange *ex, uint64_t longer, uint64_t shorter) {
  static const char name[] = "\r\nContent-Length: ";
  dynbuf *h = &ex->resp_head;
  dynbuf head;
  const char *at;
  const char *value;
  const char *eol;
  char *end;
  unsigned long long old;
  int rc;
  if (h->len == 0)
    return 0;
  at = find(h->ptr, h->len, name, sizeof name - 1);
  if (at == NULL)
    return 0; /* chunked or close-delimited */
  value = at + sizeof name - 1;
  eol = find(value, h->len - (size_t)(value - h->ptr), "\r\n", 2);
  if (eol == NULL)
    return -EINVAL;
  errno = 0;
  old = strtoull(value, &end, 10);
  if (errno != 0 || end != eol || old < shorter || old - shorter > UINT64_MAX - longer)
    return -EINVAL;
  dynbuf_init(&head, h->toobig);
  rc = dynbuf_add(&head, h->ptr, (size_t)(value - h->ptr));
  if (rc == 0)
    rc = dynbuf_addf(&head, "%" PRIu64, (uint64_t)old - shorter + longer);
  if (rc == 0)
    rc = dynbuf_add(&head, eol, h->len - (size_t)(eol - h->ptr));
  if (rc != 0) {
    dynbuf_free(&head);
    return rc;
  }
  dynbuf_free(h);
  *h = head;
  return 0;
}

int retry_tool_answer(exchange *ex, uint64_t from, uint64_t to, dynbuf *ev) {
  int rc;
  if (from < ex->forwarded || to < from || to - ex->forwarded > ex->held.len) {
    dynbuf_free(ev);
    return -EALREADY;
  }
  rc = head_relength(ex, ev->len, to - from);
  if (rc != 0) {
    dynbuf_free(ev);
    return rc == -EINVAL ? -EALREADY : rc;
  }
  ex_flush_held_until(ex, from);
  if (ex->state == EX_CLOSING) {
    dynbuf_free(ev);
    return 0;
  }
  ex_withhold_until(ex, to);
  ex_write_event(ex, ev, 0);
  if (ex->state != EX_CLOSING)
    retry_tool_release(ex);
  return 0;
}
