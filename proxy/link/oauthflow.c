/* oauthflow: the Link page's OAuth2 flow engine. See oauthflow.h. */
#include "oauthflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jsonw.h"
#include "linkform.h"
#include "linkhost.h"
#include "linkpage.h"
#include "linkseal.h"
#include "log.h"
#include "oauth2.h"
#include "crypto.h"
#include "form.h"
#include "timefmt.h"
#include "url.h"

#define LOCATION_MAX 3000 /* bytes in a redirect's Location (exchange.c's head buffer) */

/* An OAuth2 authorization in progress: the browser was sent to the
 * provider with state and the PKCE challenge of verifier. */
struct oauthflow {
  oauthflow *next;                     /* o->flows */
  list_node exchange_link;             /* on o->exchanging while its code is exchanged */
  char state[OAUTH2_PKCE_LEN + 1];     /* the OAuth state sent to the provider */
  char verifier[OAUTH2_PKCE_LEN + 1];  /* PKCE code verifier (secret) */
  char token[LINKSVC_TOKEN_LEN + 1];   /* the link being completed */
  char connector[LINKSVC_CONNECTOR_MAX + 1]; /* the connector signed in to (a picker link's choice) */
  char redirect_uri[600];              /* as sent to the provider */
  char browser[33];                    /* the cookie binding the flow to the browser that began it */
  uint64_t created_ms;
  /* from the callback on */
  linkhost_t *lh;
  pausehub_page *page;                 /* the callback request, answered when done */
  oauth2_req *req;                     /* the code exchange, while on o->exchanging */
  catalog_connector cc;                /* the link's connector */
  char code[2048];                     /* the provider's code (secret), until it is sent */
};

/* A step that waits for the store: the page being answered and what the
 * next step needs. Freed by the step that ends it. */
typedef struct flow_step {
  linkhost_t *lh;
  pausehub_page *pg;
  pausehub_link_view v;
  catalog_connector cc;
  oauthflow *f;                        /* the callback's flow, or NULL (start) */
  char external_id[STORE_TEXT_MAX + 1];
} flow_step;

void oauthflow_init(oauthflow_t *o) {
  memset(o, 0, sizeof *o);
  list_init(&o->exchanging);
}

size_t oauthflow_exchanging(const oauthflow_t *o) {
  size_t n = 0;
  const list_node *node;
  LIST_FOREACH(node, &o->exchanging)
    n++;
  return n;
}

static void flow_free(oauthflow *f) {
  OPENSSL_cleanse(f, sizeof *f);
  free(f);
}

static void step_free(flow_step *s) {
  if (s->f != NULL)
    flow_free(s->f);
  OPENSSL_cleanse(s, sizeof *s);
  free(s);
}

static oauthflow *flow_take(oauthflow_t *o, const char *state) {
  oauthflow **pp = &o->flows;
  while (*pp != NULL) {
    oauthflow *f = *pp;
    if (strlen(f->state) == strlen(state) && crypto_equal(f->state, state, strlen(state))) {
      *pp = f->next;
      o->nflows--;
      f->next = NULL;
      return f;
    }
    pp = &f->next;
  }
  return NULL;
}

/* Forgets the flow of link token, if any: a link has one sign-in at a time. */
static void flow_drop_token(oauthflow_t *o, const char *token) {
  oauthflow **pp = &o->flows;
  while (*pp != NULL) {
    oauthflow *f = *pp;
    if (strcmp(f->token, token) == 0) {
      *pp = f->next;
      o->nflows--;
      flow_free(f);
      return;
    }
    pp = &f->next;
  }
}

/* Forgets flows whose browser never came back. */
static void flows_expire(oauthflow_t *o, uint64_t now) {
  oauthflow **pp = &o->flows;
  while (*pp != NULL) {
    oauthflow *f = *pp;
    if (f->created_ms + OAUTHFLOW_TTL_MS <= now) {
      *pp = f->next;
      o->nflows--;
      flow_free(f);
    } else {
      pp = &f->next;
    }
  }
}

/* ---- the start: to the provider ---- */

/* The link's application credential is known: a new flow, and the
 * browser goes to the provider. */
static void on_start_app(void *data, int status, const store_app_credential *app, const store_blob *secret) {
  flow_step *s = data;
  linkhost_t *lh = s->lh;
  pausehub_page *pg = s->pg;
  oauthflow_t *o = &lh->oauth;
  char challenge[OAUTH2_PKCE_LEN + 1];
  oauthflow *f;
  dynbuf url;
  int rc;
  (void)secret;
  if (status == -ENOENT) {
    linkform_render_unavailable(lh, pg, &s->v, s->cc.name); /* no jargon for the user */
    step_free(s);
    return;
  }
  if (status != 0) {
    linkhost_refuse(pg, 503, "The link service cannot read its storage right now. Try again.");
    step_free(s);
    return;
  }
  flows_expire(o, timefmt_now_ms());
  flow_drop_token(o, s->v.info.token);
  if (o->nflows >= OAUTHFLOW_MAX) {
    linkhost_refuse(pg, 503, "Too many connections in progress. Try again in a few minutes.");
    step_free(s);
    return;
  }
  f = calloc(1, sizeof *f);
  if (f == NULL || oauth2_pkce_verifier(f->verifier) != 0 || oauth2_random_state(f->state) != 0 ||
      oauth2_pkce_challenge(f->verifier, challenge) != 0 || crypto_random_hex(f->browser, 16) != 0) {
    free(f);
    linkhost_refuse(pg, 500, "No random source.");
    step_free(s);
    return;
  }
  snprintf(f->token, sizeof f->token, "%s", s->v.info.token);
  snprintf(f->connector, sizeof f->connector, "%s", s->cc.slug);
  snprintf(f->redirect_uri, sizeof f->redirect_uri, "%s%s", pg->base_url, OAUTHFLOW_CALLBACK_PATH);
  f->created_ms = timefmt_now_ms();
  dynbuf_init(&url, LOCATION_MAX);
  rc = oauth2_connector_authorize_url(&url, &s->cc, app->client_id, f->redirect_uri, f->state, challenge);
  if (rc == 0)
    rc = dynbuf_add(&url, "", 1);
  if (rc == 0) {
    char cookie[160];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/_authrelay/oauth/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
             OAUTHFLOW_COOKIE, f->browser, OAUTHFLOW_TTL_MS / 1000,
             url_is_https(pg->base_url) ? "; Secure" : "");
    pg->location = strdup(url.ptr);
    pg->set_cookie = strdup(cookie);
  }
  dynbuf_free(&url);
  if (rc != 0 || pg->location == NULL || pg->set_cookie == NULL) {
    flow_free(f);
    linkhost_refuse(pg, 500, "The provider's address is too long.");
    step_free(s);
    return;
  }
  f->next = o->flows;
  o->flows = f;
  o->nflows++;
  linkpage_render_refused(&pg->html, "Redirecting to the provider.");
  linkhost_answer(pg, 302);
  step_free(s);
}

/* The link-token API's external_id of the link (or none): which
 * application credential to use. */
static void on_start_choice(void *data, int status, const char *external_id) {
  flow_step *s = data;
  int rc;
  if (status != 0 && status != -ENOENT) {
    linkhost_refuse(s->pg, 503, "The link service cannot read its storage right now. Try again.");
    step_free(s);
    return;
  }
  snprintf(s->external_id, sizeof s->external_id, "%s", status == 0 ? external_id : "");
  rc = s->lh->store.ops->app_for(&s->lh->store, s->cc.slug, s->external_id, on_start_app, s);
  if (rc != 0)
    on_start_app(s, rc, NULL, NULL);
}

void oauthflow_start(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v, const catalog_connector *cc) {
  flow_step *s = calloc(1, sizeof *s);
  int rc;
  if (s == NULL) {
    linkhost_refuse(pg, 500, "Out of memory.");
    return;
  }
  s->lh = lh;
  s->pg = pg;
  s->v = *v;
  s->cc = *cc;
  rc = lh->store.ops->link_external_id(&lh->store, v->info.token, on_start_choice, s);
  if (rc != 0)
    on_start_choice(s, rc, NULL);
}

/* ---- the callback: the code for tokens ---- */

/* The credential kept for an OAuth2 connection: the provider's token as
 * JSON (access_token, token_type, refresh_token and expires_in when the
 * provider sent them). Appended to out; sticky errors, checked once. */
static int token_json(dynbuf *out, const oauth2_token *tok) {
  (void)jsonw_raw(out, "{\"access_token\":");
  (void)jsonw_cstring(out, tok->access_token);
  (void)jsonw_raw(out, ",\"token_type\":");
  (void)jsonw_cstring(out, tok->token_type[0] != '\0' ? tok->token_type : "Bearer");
  if (tok->refresh_token[0] != '\0') {
    (void)jsonw_raw(out, ",\"refresh_token\":");
    (void)jsonw_cstring(out, tok->refresh_token);
  }
  if (tok->expires_in > 0) {
    (void)jsonw_raw(out, ",\"expires_in\":");
    (void)jsonw_u64(out, (uint64_t)tok->expires_in);
  }
  (void)jsonw_raw(out, "}");
  return dynbuf_error(out);
}

/* The provider answered the code exchange (oauth2_exchange). */
static void on_token(void *ctx, int status, oauth2_token *tok) {
  oauthflow *f = ctx;
  linkhost_t *lh = f->lh;
  pausehub_page *pg = f->page;
  pausehub_link_view v;
  catalog_connector cc;
  dynbuf cred;
  int lookup;
  f->req = NULL;
  list_remove(&f->exchange_link);
  if (status != 0)
    lh->provider_failures++;
  if (status == -EKEYREJECTED || status == -EACCES || status == -EPROTO || status == -EAGAIN) {
    LOG_WARN("OAuth provider refused the code", LOG_U64("http_status", (uint64_t)tok->http_status),
             LOG_STR("error", tok->error[0] != '\0' ? tok->error : strerror(-status)));
    linkhost_refuse(pg, 502, "The provider refused the sign-in. Open the link again to retry.");
    flow_free(f);
    return;
  }
  if (status != 0) {
    LOG_WARN("OAuth provider did not answer", LOG_STR("error", strerror(-status)));
    linkhost_refuse(pg, status == -ETIMEDOUT ? 504 : 502, "The provider did not answer. Open the link again to retry.");
    flow_free(f);
    return;
  }
  dynbuf_init(&cred, sizeof tok->access_token + sizeof tok->refresh_token + 256);
  lookup = pausehub_lookup(lh->hub, f->token, strlen(f->token), &v);
  if (lookup == 0 && v.info.connector[0] == '\0')
    snprintf(v.info.connector, sizeof v.info.connector, "%s", f->connector); /* a picker link's choice */
  if (token_json(&cred, tok) != 0)
    linkhost_refuse(pg, 500, "The account could not be saved. Try again.");
  else if (lookup != 0 || catalog_lookup(lh->catalog, v.info.connector, &cc) != 0)
    linkhost_refuse(pg, 410, "This link can no longer be used: ask the assistant again.");
  else
    linkhost_finish(lh, pg, &v, "oauth2", cred.ptr, cred.len, cc.name);
  if (cred.ptr != NULL)
    OPENSSL_cleanse(cred.ptr, cred.len);
  dynbuf_free(&cred);
  flow_free(f);
}

/* The credential and its client secret (sealed) are known: the code goes
 * to the provider. */
static void on_callback_app(void *data, int status, const store_app_credential *app, const store_blob *sealed) {
  flow_step *s = data;
  linkhost_t *lh = s->lh;
  oauthflow *f = s->f;
  oauth2_client client;
  dynbuf secret;
  int rc = status;
  dynbuf_init(&secret, 4096);
  if (rc == 0 && app->has_secret && sealed != NULL && sealed->ptr != NULL) {
    rc = linkseal_app_open(lh->key, app->id, sealed, &secret);
    if (rc != 0)
      LOG_ERROR("link store: a client secret does not open with this secret key",
                LOG_STR("application_credential", app->id));
  }
  if (rc == 0)
    rc = dynbuf_add(&secret, "", 1);
  if (rc == 0 && !lh->curl_open)
    rc = -ECANCELED;
  if (rc == 0) {
    /* the connector's token_auth decides: the secret in the body, or HTTP Basic */
    client.id = app->client_id;
    client.secret = app->has_secret ? secret.ptr : NULL;
    rc = oauth2_exchange(&lh->curl, &s->cc, &client, f->code, f->redirect_uri, f->verifier,
                         (long)lh->cfg->provider_timeout_s * 1000, on_token, f, &f->req);
  }
  if (secret.ptr != NULL)
    OPENSSL_cleanse(secret.ptr, secret.len);
  dynbuf_free(&secret);
  OPENSSL_cleanse(f->code, sizeof f->code);
  if (rc != 0) {
    linkhost_refuse(s->pg, 502, "The provider could not be reached.");
    step_free(s);
    return;
  }
  s->f = NULL; /* on lh->oauth.exchanging now */
  list_insert_head(&lh->oauth.exchanging, &f->exchange_link);
  step_free(s);
}

static void on_callback_choice(void *data, int status, const char *external_id) {
  flow_step *s = data;
  int rc;
  if (status != 0 && status != -ENOENT) {
    on_callback_app(s, status, NULL, NULL);
    return;
  }
  snprintf(s->external_id, sizeof s->external_id, "%s", status == 0 ? external_id : "");
  rc = s->lh->store.ops->app_for(&s->lh->store, s->cc.slug, s->external_id, on_callback_app, s);
  if (rc != 0)
    on_callback_app(s, rc, NULL, NULL);
}

/* What the link page knows of the flow's link. */
static void on_callback_link(linkhost_t *lh, void *data, int status, const pausehub_link_view *v) {
  flow_step *s = data;
  /* a picker link's connector is the one chosen when the flow began */
  const char *slug = status == 0 && v->info.connector[0] != '\0' ? v->info.connector : s->f->connector;
  int rc;
  if (status != 0 || catalog_lookup(lh->catalog, slug, &s->cc) != 0 || s->cc.auth != CATALOG_OAUTH2) {
    linkhost_refuse(s->pg, 400, "The provider's answer has no code.");
    step_free(s);
    return;
  }
  if (v->state != LINKSVC_STATE_PENDING) {
    linkhost_answer(s->pg, linkpage_render(&s->pg->html, &v->info, v->state, s->cc.name));
    step_free(s);
    return;
  }
  s->v = *v;
  snprintf(s->v.info.connector, sizeof s->v.info.connector, "%s", s->cc.slug);
  s->f->lh = lh;
  s->f->page = s->pg;
  s->f->cc = s->cc;
  rc = lh->store.ops->link_external_id(&lh->store, s->f->token, on_callback_choice, s);
  if (rc != 0)
    on_callback_choice(s, rc, NULL);
}

/* 1 when the request's Cookie header holds OAUTHFLOW_COOKIE=want. */
static int cookie_matches(const pausehub_page *pg, const char *want) {
  const char *p = pg->cookie.ptr;
  size_t len = pg->cookie.len;
  size_t name_len = strlen(OAUTHFLOW_COOKIE);
  size_t want_len = strlen(want);
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && p[end] != ';')
      end++;
    while (i < end && p[i] == ' ')
      i++;
    if (end - i == name_len + 1 + want_len && memcmp(p + i, OAUTHFLOW_COOKIE, name_len) == 0 &&
        p[i + name_len] == '=' && crypto_equal(p + i + name_len + 1, want, want_len))
      return 1;
    i = end + 1;
  }
  return 0;
}

void oauthflow_callback(linkhost_t *lh, pausehub_page *pg) {
  const char *q = strchr(pg->target, '?');
  size_t qlen = q != NULL ? strlen(q + 1) : 0;
  char state[128];
  char error[128];
  oauthflow *f;
  flow_step *s;
  if (q == NULL || form_field(q + 1, qlen, "state", state, sizeof state) <= 0) {
    linkhost_refuse(pg, 400, "The provider's answer has no state.");
    return;
  }
  f = flow_take(&lh->oauth, state);
  if (f == NULL) {
    linkhost_refuse(pg, 400, "This sign-in is unknown or was used already. Open the link again.");
    return;
  }
  if (!cookie_matches(pg, f->browser)) {
    LOG_WARN("OAuth callback from another browser than the one that began the sign-in");
    linkhost_refuse(pg, 400, "This sign-in was begun in another browser. Open the link again here.");
    flow_free(f);
    return;
  }
  if (form_field(q + 1, qlen, "error", error, sizeof error) > 0) {
    char path[LINKSVC_PATH_LEN + 1];
    LOG_WARN("OAuth provider returned an error", LOG_STR("error", error));
    snprintf(path, sizeof path, "%s%s", LINKSVC_PATH_PREFIX, f->token);
    linkpage_render_denied(&pg->html, path, "The provider did not grant access.");
    linkhost_answer(pg, 400);
    flow_free(f);
    return;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL || form_field(q + 1, qlen, "code", f->code, sizeof f->code) <= 0) {
    linkhost_refuse(pg, s == NULL ? 500 : 400, s == NULL ? "Out of memory." : "The provider's answer has no code.");
    free(s);
    flow_free(f);
    return;
  }
  s->lh = lh;
  s->pg = pg;
  s->f = f;
  linkhost_lookup(lh, f->token, strlen(f->token), on_callback_link, s);
}

void oauthflow_close(oauthflow_t *o) {
  while (o->flows != NULL) {
    oauthflow *f = o->flows;
    o->flows = f->next;
    flow_free(f);
  }
  o->nflows = 0;
  while (!list_empty(&o->exchanging)) {
    oauthflow *f = LIST_ENTRY(list_first(&o->exchanging), oauthflow, exchange_link);
    list_remove(&f->exchange_link);
    oauth2_cancel(f->req);           /* no callback */
    pausehub_page_free(f->page);     /* the workers have stopped: nobody waits for it */
    flow_free(f);
  }
}
