/* remote: a remote Agent Handler-compatible link service in place of the
 * embedded one (DESIGN.md "Link service", Remote; `link_service.url` and
 * `link_service.api_key`).
 *
 * The relay's hot path does not change: a pausing stream still gets a link of
 * authrelay's own at once (linksvc), so the in-stream link is always a
 * trusted one. Behind it, on the control loop:
 *   1. when the link is minted (the journal), the registered user is looked
 *      up or created on the remote (POST /api/v1/registered-users/, which is
 *      idempotent on origin_user_id) and a remote link token minted with
 *      POST /api/v1/registered-users/{id}/link-token/ {connector,
 *      callback_url: <authrelay>/_authrelay/callback, state}; state is a
 *      random value minted by authrelay and bound to this link;
 *   2. the Link page /_authrelay/link/{token} sends the browser to the
 *      remote's magic_link_url (waiting for step 1 if it is still under way);
 *   3. the remote sends the browser back to /_authrelay/callback?state=...;
 *      the state is checked (constant time, single use) and the link is
 *      completed: waiting streams resume. As a fallback, every
 *      poll_interval_s the remote is asked whether the user's
 *      authenticated_connectors now hold the connector.
 * A remote that fails or does not answer three times in a row (minting,
 * with back-off; or status polls, at the poll interval) makes the link
 * expire now: the streams get link_expired, never a stuck pause.
 * Every call goes through curlloop (libcurl on the loop) with a timeout.
 * Bindings are kept in memory: after a restart, a link's remote token is
 * minted again when its page is opened.
 */
#ifndef AUTHRELAY_REMOTE_H
#define AUTHRELAY_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "curlloop.h"
#include "pausehub.h"
#include "list.h"

#define REMOTE_BINDINGS_MAX 100000  /* pending links followed at once */
#define REMOTE_ATTEMPTS 3           /* failed tries in a row (mint or poll) before the link expires */
#define REMOTE_POLLS_PER_TICK 64    /* status polls started per interval */
#define REMOTE_CALLBACK_PATH "/_authrelay/callback"
#define REMOTE_DONE_STATES 256      /* completed states remembered (hashed), for late browsers */

typedef struct remote_binding remote_binding;

typedef struct remote_t {
  uv_loop_t *loop;          /* the control loop; not owned */
  const config_t *cfg;      /* not owned: link_service.* */
  pausehub_t *hub;          /* not owned: completes and expires links */
  curlloop_t *curl;         /* not owned */
  uv_timer_t poll_timer;
  list_node bindings;       /* remote_binding.link; owned */
  size_t nbindings;
  uint64_t minted_total;    /* remote link tokens minted */
  uint64_t failures_total;  /* remote calls that failed (error, timeout) */
  uint64_t completed_total; /* links completed by the callback or polling */
  char done_states[REMOTE_DONE_STATES][65]; /* SHA-256 hex of completed states, a ring */
  size_t done_next;
  int closing;
} remote_t;

/* Starts on loop. Returns 0, or -EINVAL (no api_key) with a message in err. */
int remote_init(remote_t *rm, uv_loop_t *loop, const config_t *cfg, pausehub_t *hub, curlloop_t *curl,
                char *err, size_t errlen);

/* Stops: calls in flight are cancelled, pages waiting answered 503. The
 * caller closes curl afterwards. */
void remote_close(remote_t *rm);

/* A link was minted or ended (the journal): follow it on the remote, or
 * stop. base_url: where the remote sends the browser back. */
void remote_link(remote_t *rm, const pausehub_record *r, const char *base_url);

/* GET /_authrelay/link/{token} of pending link v: answers pg (a redirect to
 * the remote's magic link, now or once it is minted). */
void remote_serve_link(remote_t *rm, pausehub_page *pg, const pausehub_link_view *v);

/* GET /_authrelay/callback?state=...: answers pg. */
void remote_serve_callback(remote_t *rm, pausehub_page *pg);

/* Appends its Prometheus metrics to out. */
int remote_render_metrics(remote_t *rm, dynbuf *out);

#endif
