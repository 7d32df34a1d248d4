/* linkhost: the embedded link service on the control loop. See linkhost.h. */
#include "linkhost.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>
#include <openssl/crypto.h>

#include "http.h"
#include "jsonw.h"
#include "linkbase.h"
#include "linkpage.h"
#include "log.h"
#include "oauth2.h"
#include "prom.h"
#include "form.h"
#include "keyfile.h"
#include "crypto.h"
#include "secretbox.h"
#include "url.h"
#include "timefmt.h"

#define LOCATION_MAX 3000 /* bytes in a redirect's Location (exchange.c's head buffer) */

/* An OAuth2 authorization in progress: the browser was sent to the
 * provider with state and the PKCE challenge of verifier. */
struct linkhost_flow {
  linkhost_flow *next;                 /* lh->flows */
  list_node exchange_link;             /* on lh->exchanging while its code is exchanged */
  char state[OAUTH2_PKCE_LEN + 1];     /* the OAuth state sent to the provider */
  char verifier[OAUTH2_PKCE_LEN + 1];  /* PKCE code verifier (secret) */
  char token[LINKSVC_TOKEN_LEN + 1];   /* the link being completed */
  char redirect_uri[600];              /* as sent to the provider */
  char browser[33];                    /* the cookie binding the flow to the browser that began it */
  uint64_t created_ms;
  /* while the code is exchanged */
  linkhost_t *lh;
  pausehub_page *page;                 /* the callback request, answered when done */
  curlloop_req *req;
};

void linkhost_base_url(const linkhost_t *lh, char *out, size_t cap) {
  (void)linkbase_of(lh->cfg, NULL, 0, out, cap); /* no request: public_url or the listen address */
}

/* ---- the journal ---- */

static void on_journal(void *ctx, pausehub_record *records) {
  linkhost_t *lh = ctx;
  pausehub_record *r;
  uint64_t written = 0;
  int in_tx = linkstore_begin(&lh->store) == 0; /* one commit for the batch */
  for (r = records; r != NULL; r = r->next) {
    linkstore_link l;
    memset(&l, 0, sizeof l);
    snprintf(l.token, sizeof l.token, "%s", r->token);
    snprintf(l.user, sizeof l.user, "%s", r->user);
    snprintf(l.connector, sizeof l.connector, "%s", r->connector);
    snprintf(l.callback_url, sizeof l.callback_url, "%s", r->callback_url);
    snprintf(l.state, sizeof l.state, "%s", r->state_param);
    l.status = (int)r->state;
    l.pinned = r->pinned;
    l.created_ms = r->created_ms;
    l.expires_ms = r->expires_ms;
    l.ended_ms = r->ended_ms;
    if (linkstore_link_put(&lh->store, &l) == 0)
      written++;
    else
      lh->store_errors++;
    if (lh->notify_open || lh->remote_open) {
      /* the paused request's base, as in the stream's magic_link_url */
      char base[LINKBASE_MAX];
      if (r->base_url != NULL && r->base_url[0] != '\0')
        snprintf(base, sizeof base, "%s", r->base_url);
      else
        linkhost_base_url(lh, base, sizeof base);
      if (lh->notify_open)
        notify_link(&lh->notify, r, base);
      if (lh->remote_open)
        remote_link(&lh->remote, r, base);
    }
  }
  if (in_tx && linkstore_commit(&lh->store) != 0) {
    lh->store_errors += written; /* the whole batch was rolled back */
    written = 0;
  }
  lh->stored_links += written;
  pausehub_records_free(records);
}

/* Puts a stored link back into the hub. */
static int restore_one(void *ctx, const linkstore_link *l) {
  linkhost_t *lh = ctx;
  int rc = pausehub_restore(lh->hub, l->token, l->user, l->connector, l->callback_url, l->state,
                            (linksvc_state)l->status, l->pinned, l->created_ms, l->expires_ms, l->ended_ms);
  if (rc != 0)
    LOG_WARN("link not restored", LOG_STR("connector", l->connector), LOG_I64("error", rc));
  return 0;
}

/* ---- Link page answers ---- */

static void answer_html(pausehub_page *pg, int status) {
  pg->status = status;
  pausehub_page_answer(pg);
}

static void answer_refused(pausehub_page *pg, int status, const char *reason) {
  linkpage_render_refused(&pg->html, reason);
  answer_html(pg, status);
}

int linkhost_lookup(linkhost_t *lh, const char *token, size_t token_len, pausehub_link_view *v) {
  size_t plen = strlen(LINKSVC_TOKEN_PREFIX);
  char tok[LINKSVC_TOKEN_LEN + 1];
  linkstore_link row;
  if (pausehub_lookup(lh->hub, token, token_len, v) == 0)
    return 0;
  if (token_len != LINKSVC_TOKEN_LEN || memcmp(token, LINKSVC_TOKEN_PREFIX, plen) != 0 ||
      strspn(token + plen, "0123456789abcdef") < token_len - plen)
    return -ENOENT;
  memcpy(tok, token, token_len);
  tok[token_len] = '\0';
  if (linkstore_link_get(&lh->store, tok, &row) != 0)
    return -ENOENT;
  memset(v, 0, sizeof *v);
  memcpy(v->info.token, tok, sizeof v->info.token);
  snprintf(v->info.path, sizeof v->info.path, "%s%s", LINKSVC_PATH_PREFIX, tok);
  snprintf(v->info.connector, sizeof v->info.connector, "%.*s", LINKSVC_CONNECTOR_MAX, row.connector);
  snprintf(v->user, sizeof v->user, "%s", row.user);
  v->info.created_ms = row.created_ms;
  v->info.expires_ms = row.expires_ms;
  v->state = (linksvc_state)row.status;
  if (row.status <= LINKSVC_STATE_PENDING || row.status > LINKSVC_STATE_REVOKED)
    v->state = row.expires_ms <= timefmt_now_ms() ? LINKSVC_STATE_EXPIRED : LINKSVC_STATE_REVOKED;
  return 0;
}

/* Sends the browser on after a completed link: to callback_url (with
 * state) when the link has one, else the "Connected" page. */
static void answer_connected(pausehub_page *pg, const pausehub_link_view *v, const char *name) {
  if (v->callback_url[0] != '\0') {
    dynbuf loc;
    int rc;
    dynbuf_init(&loc, LOCATION_MAX);
    rc = dynbuf_add(&loc, v->callback_url, strlen(v->callback_url));
    if (rc == 0 && v->state_param[0] != '\0') {
      rc = dynbuf_add(&loc, strchr(v->callback_url, '?') != NULL ? "&state=" : "?state=", 7);
      if (rc == 0)
        rc = form_encode(&loc, v->state_param, strlen(v->state_param));
    }
    if (rc == 0)
      rc = dynbuf_add(&loc, "", 1);
    if (rc == 0) {
      pg->location = strdup(loc.ptr);
      dynbuf_free(&loc);
      if (pg->location != NULL) {
        linkpage_render_connected(&pg->html, name);
        answer_html(pg, 303);
        return;
      }
    }
    dynbuf_free(&loc);
  }
  linkpage_render_connected(&pg->html, name);
  answer_html(pg, 200);
}

/* The credential is in hand: store it, make sure the registered user
 * exists, complete the link. Returns 0 or answers pg with the error. */
static int finish_link(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v, const char *kind,
                       const char *secret, size_t len) {
  uint64_t now = timefmt_now_ms();
  pausehub_link_view fresh;
  linkstore_user u;
  int rc;
  /* The link may have been used, revoked or expired meanwhile (another tab,
   * a code exchange in flight): nothing is stored for a dead link. */
  if (pausehub_lookup(lh->hub, v->info.token, strlen(v->info.token), &fresh) != 0 ||
      fresh.state != LINKSVC_STATE_PENDING || fresh.info.expires_ms <= now) {
    answer_refused(pg, 410, "This link can no longer be used: ask the assistant again.");
    return -ECANCELED;
  }
  memset(&u, 0, sizeof u);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "%s", v->user);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "%s", v->user);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  /* Nothing below is kept unless it reached the disk: when a write fails
   * the link stays pending (not spent, no stream resumes) and the user can
   * try again. */
  rc = linkstore_user_create(&lh->store, &u, now);
  if (rc == 0 || rc == -EEXIST)
    rc = linkstore_credential_put(&lh->store, v->user, v->info.connector, kind, secret, len, now);
  if (rc != 0 && lh->store.cannot_write) {
    answer_refused(pg, 503, "The account could not be saved: authrelay cannot write to its storage right "
                            "now. Nothing was changed: open the link again in a moment.");
    return rc;
  }
  if (rc != 0) {
    answer_refused(pg, 500, "The account could not be saved. Try again.");
    return rc;
  }
  rc = pausehub_complete(lh->hub, v->info.token, strlen(v->info.token), now);
  if (rc != 0) {
    answer_refused(pg, 410, "This link can no longer be used: ask the assistant again.");
    return rc;
  }
  LOG_INFO("link completed", LOG_STR("connector", v->info.connector), LOG_STR("auth", kind));
  lh->completed[strcmp(kind, "oauth2") == 0 ? CATALOG_OAUTH2 : CATALOG_API_KEY]++;
  return 0;
}

static linkhost_flow *flow_take(linkhost_t *lh, const char *state) {
  linkhost_flow **pp = &lh->flows;
  while (*pp != NULL) {
    linkhost_flow *f = *pp;
    if (strlen(f->state) == strlen(state) && crypto_equal(f->state, state, strlen(state))) {
      *pp = f->next;
      lh->nflows--;
      f->next = NULL;
      return f;
    }
    pp = &f->next;
  }
  return NULL;
}

static void flow_free(linkhost_flow *f) {
  OPENSSL_cleanse(f, sizeof *f);
  free(f);
}

/* Forgets the flow of link token, if any: a link has one sign-in at a time. */
static void flow_drop_token(linkhost_t *lh, const char *token) {
  linkhost_flow **pp = &lh->flows;
  while (*pp != NULL) {
    linkhost_flow *f = *pp;
    if (strcmp(f->token, token) == 0) {
      *pp = f->next;
      lh->nflows--;
      flow_free(f);
      return;
    }
    pp = &f->next;
  }
}

/* Forgets flows whose browser never came back. */
static void flows_expire(linkhost_t *lh, uint64_t now) {
  linkhost_flow **pp = &lh->flows;
  while (*pp != NULL) {
    linkhost_flow *f = *pp;
    if (f->created_ms + LINKHOST_FLOW_TTL_MS <= now) {
      *pp = f->next;
      lh->nflows--;
      flow_free(f);
    } else {
      pp = &f->next;
    }
  }
}

/* GET on an OAuth2 connector's link: off to the provider. */
static void start_oauth(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v,
                        const catalog_connector *cc) {
  linkstore_app_credential app;
  char external_id[LINKSTORE_TEXT_MAX + 1];
  dynbuf url;
  char challenge[OAUTH2_PKCE_LEN + 1];
  linkhost_flow *f;
  int rc;
  external_id[0] = '\0';
  (void)linkstore_link_external_id(&lh->store, v->info.token, external_id, sizeof external_id);
  rc = linkstore_app_for(&lh->store, cc->slug, external_id, &app, NULL);
  if (rc != 0) {
    LOG_WARN("no application credential for an OAuth2 connector", LOG_STR("connector", cc->slug));
    answer_refused(pg, 503, "This connector is not set up yet: its OAuth application is missing.");
    return;
  }
  flows_expire(lh, timefmt_now_ms());
  flow_drop_token(lh, v->info.token);
  if (lh->nflows >= LINKHOST_FLOWS_MAX) {
    answer_refused(pg, 503, "Too many connections in progress. Try again in a few minutes.");
    return;
  }
  f = calloc(1, sizeof *f);
  if (f == NULL || oauth2_pkce_verifier(f->verifier) != 0 || oauth2_random_state(f->state) != 0 ||
      oauth2_pkce_challenge(f->verifier, challenge) != 0 || crypto_random_hex(f->browser, 16) != 0) {
    free(f);
    answer_refused(pg, 500, "No random source.");
    return;
  }
  snprintf(f->token, sizeof f->token, "%s", v->info.token);
  snprintf(f->redirect_uri, sizeof f->redirect_uri, "%s%s", pg->base_url, LINKHOST_CALLBACK_PATH);
  f->created_ms = timefmt_now_ms();
  dynbuf_init(&url, LOCATION_MAX);
  rc = oauth2_authorize_url(&url, cc->authorize_url, app.client_id, f->redirect_uri, cc->scopes, f->state,
                            challenge);
  if (rc == 0)
    rc = dynbuf_add(&url, "", 1);
  if (rc == 0) {
    char cookie[160];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/_authrelay/oauth/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
             LINKHOST_COOKIE, f->browser, LINKHOST_FLOW_TTL_MS / 1000,
             url_is_https(pg->base_url) ? "; Secure" : "");
    pg->location = strdup(url.ptr);
    pg->set_cookie = strdup(cookie);
  }
  dynbuf_free(&url);
  if (rc != 0 || pg->location == NULL || pg->set_cookie == NULL) {
    flow_free(f);
    answer_refused(pg, 500, "The provider's address is too long.");
    return;
  }
  f->next = lh->flows;
  lh->flows = f;
  lh->nflows++;
  linkpage_render_refused(&pg->html, "Redirecting to the provider.");
  answer_html(pg, 302);
}

/* /_authrelay/link/{token}: GET shows the form (or goes to the OAuth
 * provider), POST takes the API key. */
static void serve_link(linkhost_t *lh, pausehub_page *pg) {
  const char *token = pg->target + strlen(LINKSVC_PATH_PREFIX);
  size_t token_len = strcspn(token, "?");
  pausehub_link_view v;
  catalog_connector cc;
  if (linkhost_lookup(lh, token, token_len, &v) != 0) {
    linkpage_render_unknown(&pg->html);
    answer_html(pg, 404);
    return;
  }
  if (v.state == LINKSVC_STATE_PENDING && v.info.expires_ms <= timefmt_now_ms())
    v.state = LINKSVC_STATE_EXPIRED; /* the expiry timer has not run yet */
  if (v.state != LINKSVC_STATE_PENDING || catalog_lookup(lh->catalog, v.info.connector, &cc) != 0) {
    answer_html(pg, linkpage_render(&pg->html, &v.info,
                                    v.state == LINKSVC_STATE_PENDING ? LINKSVC_STATE_REVOKED : v.state,
                                    v.info.connector));
    return;
  }
  if (lh->remote_open) {
    remote_serve_link(&lh->remote, pg, &v); /* the remote service connects the account */
    return;
  }
  if (cc.auth == CATALOG_OAUTH2) {
    if (pg->method == HTTP_POST) {
      answer_refused(pg, 405, "This connector connects through its provider's sign-in page.");
      return;
    }
    if (pg->method == HTTP_HEAD) {
      answer_html(pg, 200); /* a HEAD (a link preview) starts no sign-in */
      return;
    }
    start_oauth(lh, pg, &v, &cc);
    return;
  }
  if (pg->method != HTTP_POST) {
    char origin[600];
    /* The form's answer is a 303 to callback_url: the page's CSP
     * form-action must allow that origin, or browsers stop the redirect. */
    if (v.callback_url[0] != '\0' && url_origin(v.callback_url, origin, sizeof origin) == 0)
      pg->form_origin = strdup(origin);
    answer_html(pg, linkpage_render(&pg->html, &v.info, v.state, cc.name));
    return;
  }
  {
    char key[4097];
    long key_len = form_field(pg->body.ptr != NULL ? pg->body.ptr : "", pg->body.len, "api_key", key,
                                       sizeof key);
    if (key_len <= 0) {
      linkpage_render_refused(&pg->html, "Enter an API key.");
      answer_html(pg, 400);
      return;
    }
    if (finish_link(lh, pg, &v, "api_key", key, (size_t)key_len) == 0)
      answer_connected(pg, &v, cc.name);
    OPENSSL_cleanse(key, sizeof key);
  }
}

/* The provider answered the token request. */
static void on_token(void *ctx, int status, long http_code, const char *body, size_t len) {
  linkhost_flow *f = ctx;
  linkhost_t *lh = f->lh;
  pausehub_page *pg = f->page;
  pausehub_link_view v;
  catalog_connector cc;
  oauth2_token tok;
  int rc;
  f->req = NULL;
  if (status != 0 || http_code < 200 || http_code > 299)
    lh->provider_failures++;
  list_remove(&f->exchange_link);
  if (status != 0) {
    LOG_WARN("OAuth provider did not answer", LOG_STR("error", strerror(-status)));
    answer_refused(pg, status == -ETIMEDOUT ? 504 : 502,
                   "The provider did not answer. Open the link again to retry.");
    flow_free(f);
    return;
  }
  rc = oauth2_parse_token_response(body, len, &tok);
  if (rc != 0 || http_code < 200 || http_code > 299) {
    LOG_WARN("OAuth provider refused the code", LOG_U64("http_status", (uint64_t)http_code),
             LOG_STR("error", tok.error[0] != '\0' ? tok.error : "malformed token response"));
    answer_refused(pg, 502, "The provider refused the sign-in. Open the link again to retry.");
    oauth2_token_wipe(&tok);
    flow_free(f);
    return;
  }
  if (pausehub_lookup(lh->hub, f->token, strlen(f->token), &v) != 0 ||
      catalog_lookup(lh->catalog, v.info.connector, &cc) != 0) {
    answer_refused(pg, 410, "This link can no longer be used: ask the assistant again.");
  } else if (finish_link(lh, pg, &v, "oauth2", body, len) == 0) {
    answer_connected(pg, &v, cc.name);
  }
  oauth2_token_wipe(&tok);
  flow_free(f);
}

/* 1 when the request's Cookie header holds LINKHOST_COOKIE=want. */
static int cookie_matches(const pausehub_page *pg, const char *want) {
  const char *p = pg->cookie.ptr;
  size_t len = pg->cookie.len;
  size_t name_len = strlen(LINKHOST_COOKIE);
  size_t want_len = strlen(want);
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && p[end] != ';')
      end++;
    while (i < end && p[i] == ' ')
      i++;
    if (end - i == name_len + 1 + want_len && memcmp(p + i, LINKHOST_COOKIE, name_len) == 0 &&
        p[i + name_len] == '=' && crypto_equal(p + i + name_len + 1, want, want_len))
      return 1;
    i = end + 1;
  }
  return 0;
}

/* /_authrelay/oauth/callback?code=...&state=... (or error=...). */
static void serve_callback(linkhost_t *lh, pausehub_page *pg) {
  const char *q = strchr(pg->target, '?');
  size_t qlen = q != NULL ? strlen(q + 1) : 0;
  char state[128];
  char code[2048];
  char error[128];
  char external_id[LINKSTORE_TEXT_MAX + 1];
  linkhost_flow *f;
  pausehub_link_view v;
  catalog_connector cc;
  linkstore_app_credential app;
  dynbuf secret;
  dynbuf body;
  const char *headers[] = {"Accept: application/json",
                           "Content-Type: application/x-www-form-urlencoded", NULL};
  int rc;
  if (q == NULL || form_field(q + 1, qlen, "state", state, sizeof state) <= 0) {
    answer_refused(pg, 400, "The provider's answer has no state.");
    return;
  }
  f = flow_take(lh, state);
  if (f == NULL) {
    answer_refused(pg, 400, "This sign-in is unknown or was used already. Open the link again.");
    return;
  }
  if (!cookie_matches(pg, f->browser)) {
    LOG_WARN("OAuth callback from another browser than the one that began the sign-in");
    answer_refused(pg, 400, "This sign-in was begun in another browser. Open the link again here.");
    flow_free(f);
    return;
  }
  if (form_field(q + 1, qlen, "error", error, sizeof error) > 0) {
    LOG_WARN("OAuth provider returned an error", LOG_STR("error", error));
    answer_refused(pg, 400, "The provider did not grant access. Open the link again to retry.");
    flow_free(f);
    return;
  }
  if (form_field(q + 1, qlen, "code", code, sizeof code) <= 0 ||
      linkhost_lookup(lh, f->token, strlen(f->token), &v) != 0 ||
      catalog_lookup(lh->catalog, v.info.connector, &cc) != 0 || cc.auth != CATALOG_OAUTH2) {
    answer_refused(pg, 400, "The provider's answer has no code.");
    flow_free(f);
    return;
  }
  if (v.state != LINKSVC_STATE_PENDING) {
    answer_html(pg, linkpage_render(&pg->html, &v.info, v.state, cc.name));
    flow_free(f);
    return;
  }
  dynbuf_init(&secret, 4096);
  dynbuf_init(&body, 16384);
  rc = linkstore_link_external_id(&lh->store, f->token, external_id, sizeof external_id);
  rc = linkstore_app_for(&lh->store, cc.slug, rc == 0 ? external_id : NULL, &app, &secret);
  if (rc == 0)
    rc = dynbuf_add(&secret, "", 1);
  if (rc == 0)
    rc = oauth2_token_request_body(&body, code, f->redirect_uri, app.client_id,
                                   app.has_secret ? secret.ptr : NULL, f->verifier);
  OPENSSL_cleanse(secret.ptr, secret.len);
  dynbuf_free(&secret);
  f->lh = lh;
  f->page = pg;
  if (rc == 0)
    rc = curlloop_request(&lh->curl, "POST", cc.token_url, headers, body.ptr, body.len,
                          (long)lh->cfg->provider_timeout_s * 1000, OAUTH2_RESPONSE_MAX, on_token, f, &f->req);
  OPENSSL_cleanse(body.ptr, body.len);
  dynbuf_free(&body);
  OPENSSL_cleanse(code, sizeof code);
  if (rc != 0) {
    answer_refused(pg, 502, "The provider could not be reached.");
    flow_free(f);
    return;
  }
  list_insert_head(&lh->exchanging, &f->exchange_link);
}

static void on_page(void *ctx, pausehub_page *pg) {
  linkhost_t *lh = ctx;
  if (http_starts_with(pg->target, strlen(pg->target), LINKSVC_PATH_PREFIX)) {
    serve_link(lh, pg);
  } else if (http_starts_with(pg->target, strlen(pg->target), LINKHOST_CALLBACK_PATH) &&
             (pg->target[strlen(LINKHOST_CALLBACK_PATH)] == '?' ||
              pg->target[strlen(LINKHOST_CALLBACK_PATH)] == '\0')) {
    serve_callback(lh, pg);
  } else if (lh->remote_open && http_starts_with(pg->target, strlen(pg->target), REMOTE_CALLBACK_PATH) &&
             (pg->target[strlen(REMOTE_CALLBACK_PATH)] == '?' || pg->target[strlen(REMOTE_CALLBACK_PATH)] == '\0')) {
    remote_serve_callback(&lh->remote, pg);
  } else {
    linkpage_render_unknown(&pg->html);
    answer_html(pg, 404);
  }
}

/* ---- metrics ---- */

int linkhost_render_metrics(linkhost_t *lh, dynbuf *out) {
  size_t npending;
  size_t nlinks;
  size_t dropped;
  size_t exchanging = 0;
  const list_node *node;
  int rc;
  uv_mutex_lock(&lh->hub->lock);
  npending = lh->hub->links.npending;
  nlinks = lh->hub->links.nlinks;
  dropped = lh->hub->journal_dropped;
  uv_mutex_unlock(&lh->hub->lock);
  LIST_FOREACH(node, &lh->exchanging)
    exchanging++;
  rc = prom_gauge(out, "authrelay_links_pending", "Link tokens waiting to be used.", npending);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_links_known", "Link tokens known, pending or ended recently.", nlinks);
  if (rc == 0)
    rc = prom_family(out, "authrelay_links_completed_total", PROM_COUNTER, "Links completed, by connector auth.");
  if (rc == 0)
    rc = prom_sample(out, "authrelay_links_completed_total", "auth", "api_key", lh->completed[CATALOG_API_KEY]);
  if (rc == 0)
    rc = prom_sample(out, "authrelay_links_completed_total", "auth", "oauth2", lh->completed[CATALOG_OAUTH2]);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_link_store_writes_total", "Link changes written to SQLite.", lh->stored_links);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_link_store_errors_total", "Link changes SQLite refused, or lost to a full queue.",
                      lh->store_errors + dropped);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_oauth_flows_waiting", "OAuth2 sign-ins sent to a provider, not back yet.", lh->nflows);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_oauth_exchanges_active", "OAuth2 code exchanges in flight.", exchanging);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_oauth_exchange_failures_total", "OAuth2 code exchanges that failed.",
                      lh->provider_failures);
  if (rc != 0)
    return -E2BIG;
  if (storehealth_render_metrics(&lh->store, out) != 0)
    return -E2BIG;
  if (lh->notify_open && notify_render_metrics(&lh->notify, out) != 0)
    return -E2BIG;
  return lh->remote_open ? remote_render_metrics(&lh->remote, out) : 0;
}

/* ---- open and close ---- */

/* The owner key: admin_key, or data_dir/owner.key, or a new one. */
static int load_owner_key(linkhost_t *lh, char *err, size_t errlen) {
  const config_t *cfg = lh->cfg;
  char path[KEYFILE_PATH_MAX];
  size_t n = 0;
  int rc;
  if (cfg->admin_key[0] != '\0') {
    snprintf(lh->owner_key, sizeof lh->owner_key, "%s", cfg->admin_key);
    return 0;
  }
  snprintf(path, sizeof path, "%s/%s", cfg->data_dir, LINKHOST_OWNER_KEY_FILE);
  rc = keyfile_read(path, lh->owner_key, sizeof lh->owner_key - 1, &n);
  if (rc != -ENOENT) {
    if (rc != 0 || n == 0) {
      snprintf(err, errlen, "%s must be a non-empty file readable by its owner only", path);
      return -EACCES;
    }
    lh->owner_key[n] = '\0';
    lh->owner_key[strcspn(lh->owner_key, "\r\n")] = '\0';
    return 0;
  }
  memcpy(lh->owner_key, "ark_", 4);
  if (crypto_random_hex(lh->owner_key + 4, 24) != 0) {
    snprintf(err, errlen, "no random source for the owner key");
    return -EIO;
  }
  if (keyfile_create(path, lh->owner_key, strlen(lh->owner_key)) != 0) {
    snprintf(err, errlen, "cannot write %s", path);
    return -EIO;
  }
  /* Shown once, on stdout and not in the log (secrets never go there). */
  printf("authrelay: generated the control API owner key (kept in %s, shown once): %s\n", path, lh->owner_key);
  fflush(stdout);
  return 0;
}

int linkhost_open(linkhost_t *lh, uv_loop_t *loop, const config_t *cfg, const catalog_t *catalog,
                  pausehub_t *hub, char *err, size_t errlen) {
  unsigned char key[SECRETBOX_KEY_BYTES];
  uint64_t now = timefmt_now_ms();
  int rc;
  memset(lh, 0, sizeof *lh);
  list_init(&lh->exchanging);
  lh->loop = loop;
  lh->cfg = cfg;
  lh->catalog = catalog;
  lh->hub = hub;
  if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create data_dir %s: %s", cfg->data_dir, strerror(errno));
    return -EIO;
  }
  rc = load_owner_key(lh, err, errlen);
  if (rc != 0)
    return rc;
  rc = secretbox_key_load(key, cfg->secret_key, cfg->data_dir, err, errlen);
  if (rc == 0)
    rc = linkstore_open(&lh->store, cfg->data_dir, key, err, errlen);
  OPENSSL_cleanse(key, sizeof key);
  if (rc != 0)
    return rc;
  /* Links of the last link TTL (and of the retention after it) come back:
   * pending ones work again, ended ones say "already used". */
  (void)linkstore_link_prune(&lh->store, now - (uint64_t)LINKSVC_DEFAULT_RETAIN_S * 1000);
  rc = linkstore_link_each(&lh->store, now - (uint64_t)LINKSVC_LINK_TTL_MAX_S * 1000 -
                                           (uint64_t)LINKSVC_DEFAULT_RETAIN_S * 1000,
                           restore_one, lh);
  if (rc == 0)
    rc = curlloop_init(&lh->curl, loop);
  if (rc == 0) {
    lh->curl_open = 1;
    rc = notify_init(&lh->notify, loop, cfg, &lh->store, &lh->curl);
  }
  if (rc == 0) {
    lh->notify_open = 1;
    if (cfg->link_service.url[0] != '\0') {
      rc = remote_init(&lh->remote, loop, cfg, hub, &lh->curl, err, errlen);
      lh->remote_open = rc == 0;
    }
  }
  if (rc == 0)
    rc = storehealth_init(&lh->store_health, loop, &lh->store);
  lh->store_health_open = rc == 0;
  if (rc == 0)
    rc = pausehub_attach(hub, loop, on_journal, on_page, lh);
  if (rc != 0) {
    if (rc != -EINVAL)
      snprintf(err, errlen, "cannot start the link service (%d)", rc);
    if (lh->remote_open)
      remote_close(&lh->remote);
    if (lh->store_health_open)
      storehealth_close(&lh->store_health);
    if (lh->notify_open)
      notify_close(&lh->notify);
    if (lh->curl_open)
      curlloop_close(&lh->curl, NULL);
    linkstore_close(&lh->store);
    return rc;
  }
  return 0;
}

void linkhost_reload(linkhost_t *lh, const config_t *cfg, const catalog_t *catalog) {
  lh->cfg = cfg;
  lh->catalog = catalog;
  if (lh->remote_open)
    lh->remote.cfg = cfg; /* link_service.* are kept from the running config */
  if (lh->notify_open)
    notify_reload(&lh->notify, cfg);
}

void linkhost_close(linkhost_t *lh) {
  pausehub_detach(lh->hub);
  while (lh->flows != NULL) {
    linkhost_flow *f = lh->flows;
    lh->flows = f->next;
    flow_free(f);
  }
  if (lh->remote_open) {
    lh->remote_open = 0;
    remote_close(&lh->remote);
  }
  if (lh->notify_open) {
    lh->notify_open = 0;
    notify_close(&lh->notify); /* webhook POSTs in flight stay in the outbox, due at once */
  }
  if (lh->curl_open) {
    lh->curl_open = 0;
    curlloop_close(&lh->curl, NULL); /* cancels exchanges in flight: no callbacks */
  }
  while (!list_empty(&lh->exchanging)) {
    linkhost_flow *f = LIST_ENTRY(list_first(&lh->exchanging), linkhost_flow, exchange_link);
    list_remove(&f->exchange_link);
    pausehub_page_free(f->page); /* the workers have stopped: nobody waits for it */
    flow_free(f);
  }
  if (lh->store_health_open) {
    lh->store_health_open = 0;
    storehealth_close(&lh->store_health);
  }
  linkstore_close(&lh->store);
  OPENSSL_cleanse(lh->owner_key, sizeof lh->owner_key);
}
