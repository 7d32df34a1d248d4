/* remote: a remote link service behind authrelay's own links. See remote.h. */
#include "remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <yajl/yajl_tree.h>

#include "json.h"
#include "jsonw.h"
#include "linkbase.h"
#include "linkpage.h"
#include "log.h"
#include "oauth2.h"
#include "prom.h"
#include "crypto.h"
#include "secretbox.h"
#include "url.h"
#include "form.h"
#include "timefmt.h"

#define TICK_MS 1000              /* retries and polls are looked at this often */
#define RESPONSE_MAX 65536        /* a remote answer */
#define REMOTE_JSON_DEPTH 16      /* nesting accepted in a remote answer */

enum remote_step {
  STEP_USER = 0,  /* look up or create the registered user */
  STEP_TOKEN,     /* mint the link token */
  STEP_READY      /* minted: pages redirect, the status is polled */
};

struct remote_binding {
  list_node link;                          /* on rm->bindings */
  remote_t *rm;
  char token[LINKSVC_TOKEN_LEN + 1];       /* authrelay's link */
  char user[LINKSVC_USER_MAX + 1];         /* origin_user_id */
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  char base_url[LINKBASE_MAX];             /* authrelay as the browser reaches it (linkbase.h) */
  char state[OAUTH2_PKCE_LEN + 1];         /* bound to this link; single use */
  char remote_user_id[128];                /* the remote's registered user id */
  char magic_link_url[2049];               /* the remote's page */
  int step;                                /* enum remote_step */
  int was_connected;                       /* the remote already listed the connector before
                                              this link: polling cannot tell a new sign-in */
  int attempts;                            /* failed tries of the current step */
  uint64_t next_ms;                        /* when the next try or poll is due */
  curlloop_req *req;                       /* the call in flight, or NULL */
  pausehub_page *waiting;                  /* Link pages waiting for STEP_READY (via ->next) */
};

static void start_step(remote_binding *b);
static void remember_done(remote_t *rm, const char *state);

/* ---- bindings ---- */

static remote_binding *binding_of(list_node *n) {
  return LIST_ENTRY(n, remote_binding, link);
}

static remote_binding *find_token(remote_t *rm, const char *token) {
  list_node *n;
  LIST_FOREACH(n, &rm->bindings) {
    remote_binding *b = binding_of(n);
    if (strcmp(b->token, token) == 0)
      return b;
  }
  return NULL;
}

static remote_binding *find_state(remote_t *rm, const char *state) {
  list_node *node;
  size_t n = strlen(state);
  LIST_FOREACH(node, &rm->bindings) {
    remote_binding *b = binding_of(node);
    if (strlen(b->state) == n && crypto_equal(b->state, state, n))
      return b;
  }
  return NULL;
}

/* Answers the pages waiting on b: a redirect to the remote page, or status. */
static void answer_waiting(remote_binding *b, int status, const char *reason) {
  while (b->waiting != NULL) {
    pausehub_page *pg = b->waiting;
    b->waiting = pg->next;
    pg->next = NULL;
    if (status == 302) {
      pg->location = strdup(b->magic_link_url);
      linkpage_render_refused(&pg->html, "Redirecting to the link service.");
      pg->status = pg->location != NULL ? 302 : 500;
    } else {
      linkpage_render_refused(&pg->html, reason);
      pg->status = status;
    }
    pausehub_page_answer(pg);
  }
}

static void binding_free(remote_t *rm, remote_binding *b) {
  list_remove(&b->link);
  rm->nbindings--;
  curlloop_cancel(b->req);
  answer_waiting(b, 410, "This link can no longer be used: ask the assistant again.");
  OPENSSL_cleanse(b->state, sizeof b->state);
  free(b);
}

/* The remote failed the current step: try again with back-off, or give up:
 * the link expires now (link_expired reaches the streams). */
static void step_failed(remote_binding *b, int status, long http_code) {
  remote_t *rm = b->rm;
  rm->failures_total++;
  b->attempts++;
  LOG_WARN("remote link service failed", LOG_STR("connector", b->connector),
           LOG_STR("step", b->step == STEP_USER ? "registered user" : b->step == STEP_TOKEN ? "link token" : "status"),
           LOG_I64("http_status", http_code), LOG_STR("error", status != 0 ? strerror(-status) : "unexpected answer"),
           LOG_U64("attempt", (uint64_t)b->attempts));
  if (b->attempts < REMOTE_ATTEMPTS) {
    /* A failed poll is tried again at the poll interval (the callback may
     * still come meanwhile); a failed mint with back-off. */
    if (b->step == STEP_READY)
      b->next_ms = timefmt_now_ms() + (uint64_t)rm->cfg->link_service.poll_interval_s * 1000;
    else
      b->next_ms = timefmt_now_ms() + 1000ull * (1u << (b->attempts - 1));
    return;
  }
  /* REMOTE_ATTEMPTS failures in a row, polls included: a remote that cannot
   * say whether the account is connected would otherwise hold the pause
   * until pause_timeout_s. */
  answer_waiting(b, status == -ETIMEDOUT ? 504 : 502,
                 "The link service is unavailable. Ask the assistant again in a while.");
  (void)pausehub_expire_link(rm->hub, b->token, timefmt_now_ms());
  binding_free(rm, b);
}

/* A JSON answer's string member name (top level), or NULL. */
static const char *json_string(yajl_val root, const char *name) {
  const char *path[] = {name, NULL};
  return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
}

/* 1 when a registered user's answer lists connector in authenticated_connectors. */
static int lists_connector(yajl_val user, const char *connector) {
  const char *path[] = {"authenticated_connectors", NULL};
  yajl_val list = yajl_tree_get(user, path, yajl_t_array);
  size_t i;
  for (i = 0; list != NULL && i < YAJL_GET_ARRAY(list)->len; i++) {
    const char *slug = YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[i]);
    if (slug != NULL && strcmp(slug, connector) == 0)
      return 1;
  }
  return 0;
}

/* 1 when id may go into a URL path as it is: [A-Za-z0-9._-]. */
static int id_ok(const char *id) {
  for (; *id != '\0'; id++) {
    char ch = *id;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

static void on_answer(void *ctx, int status, long http_code, const char *body, size_t len) {
  remote_binding *b = ctx;
  remote_t *rm = b->rm;
  yajl_val root;
  b->req = NULL;
  if (status != 0 || http_code < 200 || http_code > 299) {
    step_failed(b, status, http_code);
    return;
  }
  if (json_parse(body, len, REMOTE_JSON_DEPTH, 0, &root, NULL) != 0 || !YAJL_IS_OBJECT(root)) {
    yajl_tree_free(root);
    step_failed(b, 0, http_code);
    return;
  }
  if (b->step == STEP_USER) {
    const char *id = json_string(root, "id");
    if (id == NULL)
      id = json_string(root, "registered_user_id");
    if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof b->remote_user_id || !id_ok(id)) {
      yajl_tree_free(root);
      step_failed(b, 0, http_code);
      return;
    }
    snprintf(b->remote_user_id, sizeof b->remote_user_id, "%s", id);
    b->was_connected = lists_connector(root, b->connector);
    b->step = STEP_TOKEN;
    b->attempts = 0;
    yajl_tree_free(root);
    start_step(b);
    return;
  }
  if (b->step == STEP_TOKEN) {
    const char *url = json_string(root, "magic_link_url");
    if (url == NULL || strlen(url) >= sizeof b->magic_link_url || url_check(url, sizeof b->magic_link_url, 0) != 0) {
      yajl_tree_free(root);
      step_failed(b, 0, http_code);
      return;
    }
    snprintf(b->magic_link_url, sizeof b->magic_link_url, "%s", url);
    b->step = STEP_READY;
    b->attempts = 0;
    b->next_ms = timefmt_now_ms() + (uint64_t)rm->cfg->link_service.poll_interval_s * 1000;
    rm->minted_total++;
    yajl_tree_free(root);
    answer_waiting(b, 302, NULL);
    return;
  }
  /* STEP_READY: a status poll */
  {
    int connected = lists_connector(root, b->connector);
    yajl_tree_free(root);
    b->attempts = 0; /* the remote answered: failures count from zero again */
    b->next_ms = timefmt_now_ms() + (uint64_t)rm->cfg->link_service.poll_interval_s * 1000;
    if (connected) {
      LOG_INFO("remote link completed (polled)", LOG_STR("connector", b->connector));
      rm->completed_total++;
      remember_done(rm, b->state);
      (void)pausehub_complete(rm->hub, b->token, strlen(b->token), timefmt_now_ms());
      /* the journal's "completed" record frees the binding */
    }
  }
}

/* Starts the call of b's step. */
static void start_step(remote_binding *b) {
  remote_t *rm = b->rm;
  const config_t *c = rm->cfg;
  char url[4096];
  char auth[1100];
  const char *headers[4];
  dynbuf body;
  int rc = 0;
  if (b->req != NULL || rm->closing)
    return;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->link_service.api_key);
  headers[0] = auth;
  headers[1] = "Content-Type: application/json";
  headers[2] = "Accept: application/json";
  headers[3] = NULL;
  dynbuf_init(&body, 8192);
  if (b->step == STEP_USER) {
    snprintf(url, sizeof url, "%s/api/v1/registered-users/", c->link_service.url);
    (void)jsonw_raw(&body, "{\"origin_user_id\":");
    (void)jsonw_cstring(&body, b->user);
    (void)jsonw_raw(&body, ",\"origin_user_name\":");
    (void)jsonw_cstring(&body, b->user);
    (void)jsonw_raw(&body, "}");
  } else if (b->step == STEP_TOKEN) {
    char callback[700];
    snprintf(url, sizeof url, "%s/api/v1/registered-users/%s/link-token/", c->link_service.url, b->remote_user_id);
    snprintf(callback, sizeof callback, "%s%s", b->base_url, REMOTE_CALLBACK_PATH);
    (void)jsonw_raw(&body, "{\"connector\":");
    (void)jsonw_cstring(&body, b->connector);
    (void)jsonw_raw(&body, ",\"callback_url\":");
    (void)jsonw_cstring(&body, callback);
    (void)jsonw_raw(&body, ",\"state\":");
    (void)jsonw_cstring(&body, b->state);
    (void)jsonw_raw(&body, "}");
  } else {
    snprintf(url, sizeof url, "%s/api/v1/registered-users/%s/", c->link_service.url, b->remote_user_id);
  }
  rc = dynbuf_error(&body); /* the first failure of the sticky appends above */
  if (rc == 0)
    rc = curlloop_request(rm->curl, b->step == STEP_READY ? "GET" : "POST", url, headers,
                          b->step == STEP_READY ? NULL : body.ptr, b->step == STEP_READY ? 0 : body.len,
                          (long)c->provider_timeout_s * 1000, RESPONSE_MAX, on_answer, b, &b->req);
  dynbuf_free(&body);
  OPENSSL_cleanse(auth, sizeof auth);
  if (rc == -ENOSPC) {
    b->req = NULL;
    b->next_ms = timefmt_now_ms() + TICK_MS; /* our own queue is full: not the remote's fault, try later */
  } else if (rc != 0) {
    b->req = NULL;
    step_failed(b, rc, 0);
  }
}

/* Every TICK_MS: retries due, and a round of status polls. */
static void on_tick(uv_timer_t *t) {
  remote_t *rm = t->data;
  uint64_t now = timefmt_now_ms();
  list_node *n;
  list_node *next;
  size_t polls = 0;
  LIST_FOREACH_SAFE(n, next, &rm->bindings) { /* a failing start may free b */
    remote_binding *b = binding_of(n);
    int poll = b->step == STEP_READY && !b->was_connected;
    if (b->req == NULL && now >= b->next_ms && (b->step != STEP_READY || (poll && polls++ < REMOTE_POLLS_PER_TICK)))
      start_step(b);
  }
}

/* ---- the journal ---- */

void remote_link(remote_t *rm, const pausehub_record *r, const char *base_url) {
  remote_binding *b = find_token(rm, r->token);
  if (r->state != LINKSVC_STATE_PENDING) {
    if (b != NULL)
      binding_free(rm, b);
    return;
  }
  if (b != NULL || rm->closing)
    return;
  if (rm->nbindings >= REMOTE_BINDINGS_MAX) {
    LOG_WARN("remote link service: too many pending links, this one is not followed");
    return;
  }
  b = calloc(1, sizeof *b);
  if (b == NULL || oauth2_random_state(b->state) != 0) {
    free(b);
    return;
  }
  b->rm = rm;
  snprintf(b->token, sizeof b->token, "%s", r->token);
  snprintf(b->user, sizeof b->user, "%s", r->user);
  snprintf(b->connector, sizeof b->connector, "%s", r->connector);
  snprintf(b->base_url, sizeof b->base_url, "%s", base_url);
  b->step = STEP_USER;
  list_insert_head(&rm->bindings, &b->link);
  rm->nbindings++;
  start_step(b);
}

/* ---- pages ---- */

void remote_serve_link(remote_t *rm, pausehub_page *pg, const pausehub_link_view *v) {
  remote_binding *b = find_token(rm, v->info.token);
  if (b == NULL) {
    /* A link from before a restart: follow it now. */
    pausehub_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.token, sizeof r.token, "%s", v->info.token);
    snprintf(r.connector, sizeof r.connector, "%s", v->info.connector);
    r.user = v->user;
    r.callback_url = "";
    r.state_param = "";
    r.state = LINKSVC_STATE_PENDING;
    remote_link(rm, &r, pg->base_url);
    b = find_token(rm, v->info.token);
    if (b == NULL) {
      linkpage_render_refused(&pg->html, "The link service is unavailable. Ask the assistant again in a while.");
      pg->status = 502;
      pausehub_page_answer(pg);
      return;
    }
  }
  pg->next = b->waiting;
  b->waiting = pg;
  if (b->step == STEP_READY) {
    answer_waiting(b, 302, NULL);
    return;
  }
  if (b->req == NULL) {
    b->attempts = 0; /* the user is here: try now */
    start_step(b);
  }
}

/* Remembers the hash of a state whose link completed, so that a browser
 * arriving after a poll completed it sees "Connected", not an error. */
static void remember_done(remote_t *rm, const char *state) {
  crypto_sha256_hex(state, strlen(state), rm->done_states[rm->done_next]);
  rm->done_next = (rm->done_next + 1) % REMOTE_DONE_STATES;
}

static int was_done(const remote_t *rm, const char *state) {
  char h[65];
  size_t i;
  crypto_sha256_hex(state, strlen(state), h);
  for (i = 0; i < REMOTE_DONE_STATES; i++) {
    if (crypto_equal(rm->done_states[i], h, 64))
      return 1;
  }
  return 0;
}

void remote_serve_callback(remote_t *rm, pausehub_page *pg) {
  const char *q = strchr(pg->target, '?');
  char state[128];
  char error[128];
  remote_binding *b;
  int rc;
  if (q == NULL || form_field(q + 1, strlen(q + 1), "state", state, sizeof state) <= 0) {
    linkpage_render_refused(&pg->html, "The link service's answer has no state.");
    pg->status = 400;
    pausehub_page_answer(pg);
    return;
  }
  if (form_field(q + 1, strlen(q + 1), "error", error, sizeof error) > 0) {
    /* the remote says the user did not connect: the link stays usable */
    linkpage_render_refused(&pg->html, "The account was not connected. Open the link again to retry.");
    pg->status = 400;
    pausehub_page_answer(pg);
    return;
  }
  b = find_state(rm, state);
  if (b == NULL && was_done(rm, state)) {
    linkpage_render_connected(&pg->html, "The account");
    pg->status = 200;
    pausehub_page_answer(pg);
    return;
  }
  if (b == NULL || b->step != STEP_READY) {
    linkpage_render_refused(&pg->html, "This answer is unknown or was used already.");
    pg->status = 400;
    pausehub_page_answer(pg);
    return;
  }
  remember_done(rm, b->state);
  OPENSSL_cleanse(b->state, sizeof b->state); /* single use */
  rc = pausehub_complete(rm->hub, b->token, strlen(b->token), timefmt_now_ms());
  if (rc != 0) {
    linkpage_render_refused(&pg->html, "This link can no longer be used: ask the assistant again.");
    pg->status = 410;
  } else {
    LOG_INFO("remote link completed (callback)", LOG_STR("connector", b->connector));
    rm->completed_total++;
    linkpage_render_connected(&pg->html, b->connector);
    pg->status = 200;
  }
  pausehub_page_answer(pg);
}

/* ---- lifecycle ---- */

int remote_init(remote_t *rm, uv_loop_t *loop, const config_t *cfg, pausehub_t *hub, curlloop_t *curl,
                char *err, size_t errlen) {
  memset(rm, 0, sizeof *rm);
  list_init(&rm->bindings);
  if (cfg->link_service.api_key[0] == '\0') {
    snprintf(err, errlen, "link_service.url is set: link_service.api_key is required");
    return -EINVAL;
  }
  if (!url_is_https(cfg->link_service.url) && !url_is_loopback(cfg->link_service.url))
    LOG_WARN("link_service.url is plain http off this host: its api_key crosses the network in clear");
  rm->loop = loop;
  rm->cfg = cfg;
  rm->hub = hub;
  rm->curl = curl;
  uv_timer_init(loop, &rm->poll_timer);
  rm->poll_timer.data = rm;
  uv_timer_start(&rm->poll_timer, on_tick, TICK_MS, TICK_MS);
  return 0;
}

void remote_close(remote_t *rm) {
  rm->closing = 1;
  while (!list_empty(&rm->bindings)) {
    remote_binding *b = binding_of(list_first(&rm->bindings));
    answer_waiting(b, 503, "authrelay is restarting. Open the link again in a moment.");
    binding_free(rm, b);
  }
  uv_close((uv_handle_t *)&rm->poll_timer, NULL);
}

int remote_render_metrics(remote_t *rm, dynbuf *out) {
  int rc = prom_gauge(out, "authrelay_remote_links_followed", "Pending links followed on the remote link service.",
                      rm->nbindings);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_remote_minted_total", "Remote link tokens minted.", rm->minted_total);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_remote_failures_total", "Remote link service calls that failed.",
                      rm->failures_total);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_remote_completed_total",
                      "Links completed through the remote (callback or poll).", rm->completed_total);
  return rc;
}
