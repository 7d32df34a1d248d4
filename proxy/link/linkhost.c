/* linkhost: the embedded link service on the control loop. See linkhost.h. */
#include "linkhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <llhttp.h>
#include <openssl/crypto.h>

#include "credserve.h"
#include "http.h"
#include "jsonw.h"
#include "linkbase.h"
#include "linkform.h"
#include "linkpage.h"
#include "linkseal.h"
#include "log.h"
#include "prom.h"
#include "form.h"
#include "keyfile.h"
#include "crypto.h"
#include "secretbox.h"
#include "url.h"
#include "timefmt.h"

#define LOCATION_MAX 3000 /* bytes in a redirect's Location (exchange.c's head buffer) */

void linkhost_base_url(const linkhost_t *lh, char *out, size_t cap) {
  (void)linkbase_of(lh->cfg, NULL, 0, out, cap); /* no request: public_url or the listen address */
}

/* ---- the journal ---- */

static void store_closed(store_t *st) {
  (void)st;
}

/* A write that must land before the store closes was answered (or
 * linkhost_close() itself is done). */
static void store_release(linkhost_t *lh) {
  if (--lh->journal_writes == 0 && lh->closing)
    store_close(&lh->store, store_closed);
}

static void on_notify_closed(void *data) {
  store_release(data);
}

/* linkpeers' and linkjournal's writes in flight hold the store open */
static void writes_hold(void *ctx) {
  linkhost_t *lh = ctx;
  lh->journal_writes++;
}

static void writes_release(void *ctx) {
  store_release(ctx);
}

void linkhost_write_hold(linkhost_t *lh) {
  writes_hold(lh);
}

void linkhost_write_release(linkhost_t *lh) {
  writes_release(lh);
}

/* 1 when record r is a peer's end applied here: written and told by the peer. */
static int journal_echo(linkhost_t *lh, const pausehub_record *r) {
  return r->state != LINKSVC_STATE_PENDING && linkpeers_echo(&lh->peers, r->token);
}

/* The records' rows to the journal: in order, retried when refused
 * (linkjournal.h); on PostgreSQL the rows are NOTIFYd to the replicas when
 * they commit. */
static void journal_write(linkhost_t *lh, const pausehub_record *records) {
  const pausehub_record *r;
  store_link *rows;
  size_t n = 0;
  size_t i = 0;
  for (r = records; r != NULL; r = r->next)
    if (!journal_echo(lh, r))
      n++;
  if (n == 0)
    return;
  rows = calloc(n, sizeof *rows);
  if (rows == NULL) {
    lh->journal.dropped += n; /* no memory: a new link among them is not used */
    for (r = records; r != NULL; r = r->next)
      if (r->state == LINKSVC_STATE_PENDING)
        (void)pausehub_expire_link(lh->hub, r->token, timefmt_now_ms());
    return;
  }
  for (r = records; r != NULL; r = r->next) {
    store_link *l;
    if (journal_echo(lh, r))
      continue;
    l = &rows[i++];
    snprintf(l->token, sizeof l->token, "%s", r->token);
    snprintf(l->user, sizeof l->user, "%s", r->user);
    snprintf(l->connector, sizeof l->connector, "%s", r->connector);
    snprintf(l->callback_url, sizeof l->callback_url, "%s", r->callback_url);
    snprintf(l->state, sizeof l->state, "%s", r->state_param);
    l->status = (int)r->state;
    l->pinned = r->pinned;
    l->created_ms = r->created_ms;
    l->expires_ms = r->expires_ms;
    l->ended_ms = r->ended_ms;
  }
  linkjournal_put(&lh->journal, rows, n);
  free(rows);
}

/* Journal rows did not reach the store (refused: retried; or dropped). A
 * new link among them is not durable, so not used: its pauses end as
 * link_expired (DESIGN: pauses fail over after store_timeout_s, the time an
 * operation waits), and its end, journalled after it, is what the store
 * gets once it can write. A link already ended is left as it is. */
static void on_journal_unwritten(void *ctx, const store_link *rows, size_t n) {
  linkhost_t *lh = ctx;
  size_t i;
  for (i = 0; i < n; i++) {
    if (rows[i].status != LINKSVC_STATE_PENDING)
      continue;
    if (pausehub_expire_link(lh->hub, rows[i].token, timefmt_now_ms()) == 0)
      LOG_WARN("new link not written to the store: its pauses end (link_expired)",
               LOG_STR("connector", rows[i].connector));
  }
}

static void on_journal(void *ctx, pausehub_record *records) {
  linkhost_t *lh = ctx;
  pausehub_record *r;
  /* The rows first: on PostgreSQL their commit wakes the other replicas'
   * streams, so the events log and webhooks queue behind it, not before. */
  journal_write(lh, records);
  for (r = records; r != NULL && (lh->notify_open || lh->remote_open); r = r->next) {
    /* the paused request's base, as in the stream's magic_link_url */
    char base[LINKBASE_MAX];
    if (journal_echo(lh, r))
      continue;
    if (r->base_url != NULL && r->base_url[0] != '\0')
      snprintf(base, sizeof base, "%s", r->base_url);
    else
      linkhost_base_url(lh, base, sizeof base);
    if (lh->notify_open)
      notify_link(&lh->notify, r, base);
    if (lh->remote_open)
      remote_link(&lh->remote, r, base);
  }
  pausehub_records_free(records);
}

/* ---- restore at start ---- */

/* A page of stored links: back into the hub, then the next page. */
static void on_restore_page(void *data, int status, const store_link *rows, size_t n) {
  linkhost_t *lh = data;
  size_t i;
  int rc;
  if (status != 0) {
    lh->restore_status = status;
    lh->restoring = 0;
    return;
  }
  for (i = 0; i < n; i++) {
    const store_link *l = &rows[i];
    rc = pausehub_restore(lh->hub, l->token, l->user, l->connector, l->callback_url, l->state,
                          (linksvc_state)l->status, l->pinned, l->created_ms, l->expires_ms, l->ended_ms);
    if (rc != 0)
      LOG_WARN("link not restored", LOG_STR("connector", l->connector), LOG_I64("error", rc));
  }
  if (n < LINKHOST_RESTORE_PAGE) {
    lh->restoring = 0; /* the last page */
    return;
  }
  lh->restore_after_ms = rows[n - 1].created_ms;
  snprintf(lh->restore_after, sizeof lh->restore_after, "%s", rows[n - 1].token);
  rc = lh->store.ops->link_page(&lh->store, lh->restore_since_ms, lh->restore_after_ms, lh->restore_after,
                                LINKHOST_RESTORE_PAGE, on_restore_page, lh);
  if (rc != 0) {
    lh->restore_status = rc;
    lh->restoring = 0;
  }
}

static void on_pruned(void *data, int status) {
  (void)data;
  if (status != 0)
    LOG_WARN("old links not pruned", LOG_I64("error", status));
}

/* Links of the last link TTL (and of the retention after it) come back:
 * pending ones work again, ended ones say "already used". Runs the loop
 * until the store gave them all (no worker runs yet). */
static int restore_links(linkhost_t *lh, uint64_t now) {
  int rc;
  rc = lh->store.ops->link_prune(&lh->store, now - (uint64_t)LINKSVC_DEFAULT_RETAIN_S * 1000, on_pruned, NULL);
  if (rc != 0)
    return rc;
  lh->restore_since_ms = now - (uint64_t)LINKSVC_LINK_TTL_MAX_S * 1000 - (uint64_t)LINKSVC_DEFAULT_RETAIN_S * 1000;
  lh->restore_after_ms = 0;
  lh->restore_after[0] = '\0';
  lh->restore_status = 0;
  lh->restoring = 1;
  rc = lh->store.ops->link_page(&lh->store, lh->restore_since_ms, 0, "", LINKHOST_RESTORE_PAGE, on_restore_page, lh);
  if (rc != 0)
    return rc;
  while (lh->restoring)
    (void)uv_run(lh->loop, UV_RUN_ONCE);
  return lh->restore_status;
}

/* ---- Link page answers ---- */

void linkhost_answer(pausehub_page *pg, int status) {
  pg->status = status;
  pausehub_page_answer(pg);
}

void linkhost_refuse(pausehub_page *pg, int status, const char *reason) {
  linkpage_render_refused(&pg->html, reason);
  linkhost_answer(pg, status);
}

/* A lookup that waits for the store's row. */
typedef struct lookup_step {
  linkhost_t *lh;
  linkhost_lookup_cb cb;
  void *data;
  char token[LINKSVC_TOKEN_LEN + 1];
} lookup_step;

static void on_lookup_row(void *data, int status, const store_link *row) {
  lookup_step *s = data;
  pausehub_link_view v;
  memset(&v, 0, sizeof v);
  if (status == 0 && row->status == LINKSVC_STATE_PENDING && linkpeers_adopt(&s->lh->peers, row) == 0 &&
      pausehub_lookup(s->lh->hub, s->token, strlen(s->token), &v) == 0) {
    s->cb(s->lh, s->data, 0, &v); /* a peer's pending link: served here now */
    free(s);
    return;
  }
  memset(&v, 0, sizeof v);
  if (status == 0) {
    memcpy(v.info.token, s->token, sizeof v.info.token);
    snprintf(v.info.path, sizeof v.info.path, "%s%s", LINKSVC_PATH_PREFIX, s->token);
    snprintf(v.info.connector, sizeof v.info.connector, "%.*s", LINKSVC_CONNECTOR_MAX, row->connector);
    snprintf(v.user, sizeof v.user, "%s", row->user);
    v.info.created_ms = row->created_ms;
    v.info.expires_ms = row->expires_ms;
    v.state = (linksvc_state)row->status;
    if (row->status <= LINKSVC_STATE_PENDING || row->status > LINKSVC_STATE_REVOKED)
      v.state = row->expires_ms <= timefmt_now_ms() ? LINKSVC_STATE_EXPIRED : LINKSVC_STATE_REVOKED;
  }
  s->cb(s->lh, s->data, status, status == 0 ? &v : NULL);
  free(s);
}

void linkhost_lookup(linkhost_t *lh, const char *token, size_t token_len, linkhost_lookup_cb cb, void *data) {
  size_t plen = strlen(LINKSVC_TOKEN_PREFIX);
  pausehub_link_view v;
  lookup_step *s;
  int rc;
  if (pausehub_lookup(lh->hub, token, token_len, &v) == 0) {
    cb(lh, data, 0, &v);
    return;
  }
  if (token_len != LINKSVC_TOKEN_LEN || memcmp(token, LINKSVC_TOKEN_PREFIX, plen) != 0 ||
      strspn(token + plen, "0123456789abcdef") < token_len - plen) {
    cb(lh, data, -ENOENT, NULL);
    return;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    cb(lh, data, -ENOMEM, NULL);
    return;
  }
  s->lh = lh;
  s->cb = cb;
  s->data = data;
  memcpy(s->token, token, token_len);
  s->token[token_len] = '\0';
  rc = lh->store.ops != NULL ? lh->store.ops->link_get(&lh->store, s->token, on_lookup_row, s) : -ECANCELED;
  if (rc != 0)
    on_lookup_row(s, rc, NULL);
}

/* Sends the browser on after a completed link: to callback_url (with
 * state) when the link has one, else the "Connected" page. */
static void answer_connected(pausehub_page *pg, const pausehub_link_view *v, const char *name) {
  if (v->callback_url[0] != '\0') {
    dynbuf loc;
    dynbuf_init(&loc, LOCATION_MAX);
    if (linkbind_callback_url(&loc, v->callback_url, v->state_param) == 0)
      pg->location = strdup(loc.ptr);
    dynbuf_free(&loc);
    if (pg->location != NULL) {
      linkpage_render_connected(&pg->html, name);
      linkhost_answer(pg, 303);
      return;
    }
  }
  linkpage_render_connected(&pg->html, name);
  linkhost_answer(pg, 200);
}

/* A credential on its way to the store (linkhost_finish, linkhost_commit). */
typedef struct finish_step {
  linkhost_t *lh;
  pausehub_page *pg;                   /* the page to answer, or NULL (linkhost_commit) */
  linkhost_commit_cb cb;               /* linkhost_commit's caller */
  void *cb_data;
  pausehub_link_view v;
  char kind[8];
  char name[CATALOG_NAME_MAX + 1];
  dynbuf sealed;                       /* the credential, sealed to its row */
  uint64_t expires_ms;                 /* its access token's expiry (0: unknown) */
} finish_step;

static void finish_free(finish_step *s) {
  if (s->sealed.ptr != NULL)
    OPENSSL_cleanse(s->sealed.ptr, s->sealed.len);
  dynbuf_free(&s->sealed);
  free(s);
}

/* The store wrote the credential, or did not: nothing is kept unless it
 * reached the disk; when a write fails the link stays pending (not spent,
 * no stream resumes) and the user can try again. */
static void on_credential_stored(void *data, int status) {
  finish_step *s = data;
  linkhost_t *lh = s->lh;
  int rc = status;
  if (rc == 0) {
    rc = pausehub_complete_as(lh->hub, s->v.info.token, strlen(s->v.info.token), s->v.info.connector,
                              timefmt_now_ms());
    if (rc != 0) {
      rc = -ESTALE;
    } else {
      LOG_INFO("link completed", LOG_STR("connector", s->v.info.connector), LOG_STR("auth", s->kind));
      connections_created(&lh->conns, s->v.user, s->v.info.connector, s->kind, s->expires_ms);
      lh->completed[strcmp(s->kind, "oauth2") == 0 ? CATALOG_OAUTH2 : CATALOG_API_KEY]++;
    }
  }
  if (s->pg == NULL)
    s->cb(s->cb_data, rc);
  else if (rc == -ESTALE)
    linkhost_refuse(s->pg, 410, "This link can no longer be used: ask the assistant again.");
  else if (rc != 0 && lh->store.health.cannot_write)
    linkhost_refuse(s->pg, 503, "The account could not be saved: authrelay cannot write to its storage right "
                                "now. Nothing was changed: open the link again in a moment.");
  else if (rc != 0)
    linkhost_refuse(s->pg, 500, "The account could not be saved. Try again.");
  else
    answer_connected(s->pg, &s->v, s->name);
  finish_free(s);
}

/* The registered user exists (made now, or already): the credential next. */
static void on_user_ready(void *data, int status, const store_user *u) {
  finish_step *s = data;
  store_blob b = linkseal_blob(&s->sealed);
  int rc = status == -EEXIST ? 0 : status;
  (void)u;
  if (rc == 0)
    rc = s->lh->store.ops->credential_put(&s->lh->store, s->v.user, s->v.info.connector, s->kind, &b,
                                          s->expires_ms, timefmt_now_ms(), on_credential_stored, s);
  if (rc != 0)
    on_credential_stored(s, rc);
}

/* The link of s (sealed credential in hand) is still pending: the store
 * next. Returns 0 (on_credential_stored runs later) or an error (it did
 * not start; s is still the caller's). */
static int store_start(finish_step *s) {
  linkhost_t *lh = s->lh;
  store_user u;
  int rc;
  memset(&u, 0, sizeof u);
  snprintf(u.origin_user_id, sizeof u.origin_user_id, "%s", s->v.user);
  snprintf(u.origin_user_name, sizeof u.origin_user_name, "%s", s->v.user);
  snprintf(u.user_type, sizeof u.user_type, "HUMAN");
  u.created_ms = timefmt_now_ms();
  rc = crypto_uuid(u.id);
  if (rc == 0)
    rc = lh->store.ops != NULL ? lh->store.ops->user_create(&lh->store, &u, on_user_ready, s) : -ECANCELED;
  return rc;
}

/* 1 when the link of v is still pending and unexpired: nothing is stored
 * for a dead link (another tab, a code exchange in flight). */
static int link_usable(linkhost_t *lh, const pausehub_link_view *v) {
  pausehub_link_view fresh;
  return pausehub_lookup(lh->hub, v->info.token, strlen(v->info.token), &fresh) == 0 &&
         fresh.state == LINKSVC_STATE_PENDING && fresh.info.expires_ms > timefmt_now_ms();
}

/* link.verifier_url: the sealed credential of s waits for the app's
 * confirmation (linkbind.h); the browser goes to the verifier. */
static void bind_redirect(finish_step *s) {
  linkhost_t *lh = s->lh;
  pausehub_page *pg = s->pg;
  const linkbind_flow *f = NULL;
  dynbuf loc;
  int rc = linkbind_add(&lh->bind, &s->v, s->kind, s->name, pg->base_url != NULL ? pg->base_url : "",
                        s->expires_ms, &s->sealed, timefmt_now_ms(), &f);
  if (rc == -ENOSPC) {
    linkhost_refuse(pg, 503, "Too many connections in progress. Try again in a few minutes.");
    finish_free(s);
    return;
  }
  dynbuf_init(&loc, LINKBIND_LOCATION_MAX);
  if (rc == 0)
    rc = linkbind_location(&loc, lh->cfg->link.verifier_url, f->id);
  if (rc == 0) {
    pg->location = strdup(loc.ptr);
    rc = pg->location != NULL ? 0 : -ENOMEM;
  }
  dynbuf_free(&loc);
  if (rc != 0) {
    linkhost_refuse(pg, 500, "The account could not be saved. Try again.");
  } else {
    LOG_INFO("link waits for the app's confirmation", LOG_STR("connector", s->v.info.connector),
             LOG_STR("auth", s->kind));
    linkpage_render_refused(&pg->html, "Confirming with the app.");
    linkhost_answer(pg, 303);
  }
  finish_free(s);
}

void linkhost_finish(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v, const char *kind,
                     const char *secret, size_t len, const char *name) {
  finish_step *s;
  int rc;
  if (!link_usable(lh, v)) {
    linkhost_refuse(pg, 410, "This link can no longer be used: ask the assistant again.");
    return;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    linkhost_refuse(pg, 500, "The account could not be saved. Try again.");
    return;
  }
  s->lh = lh;
  s->pg = pg;
  s->v = *v;
  snprintf(s->kind, sizeof s->kind, "%s", kind);
  snprintf(s->name, sizeof s->name, "%s", name);
  dynbuf_init(&s->sealed, len + SECRETBOX_OVERHEAD + 1);
  s->expires_ms = connections_expiry_ms(kind, secret, len, timefmt_now_ms());
  rc = linkseal_credential(lh->key, v->user, v->info.connector, secret, len, &s->sealed);
  if (rc == 0 && lh->cfg->link.verifier_url[0] != '\0') {
    bind_redirect(s);
    return;
  }
  if (rc == 0)
    rc = store_start(s);
  if (rc != 0)
    on_credential_stored(s, rc);
}

int linkhost_commit(linkhost_t *lh, const linkbind_flow *f, linkhost_commit_cb cb, void *data) {
  finish_step *s;
  int rc;
  if (!link_usable(lh, &f->v))
    return -ESTALE;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->lh = lh;
  s->cb = cb;
  s->cb_data = data;
  s->v = f->v;
  snprintf(s->kind, sizeof s->kind, "%s", f->kind);
  snprintf(s->name, sizeof s->name, "%s", f->name);
  s->expires_ms = f->token_expires_ms;
  dynbuf_init(&s->sealed, f->sealed.len + 1);
  rc = dynbuf_add(&s->sealed, f->sealed.ptr, f->sealed.len);
  if (rc == 0)
    rc = store_start(s);
  if (rc != 0)
    finish_free(s);
  return rc;
}

/* serve_link, once the link is known. */
static void on_link_known(linkhost_t *lh, void *data, int status, const pausehub_link_view *found) {
  pausehub_page *pg = data;
  if (status != 0) {
    linkpage_render_unknown(&pg->html);
    linkhost_answer(pg, 404);
    return;
  }
  linkform_serve(lh, pg, found);
}

/* /_authrelay/link/{token}: GET shows the form (or goes to the OAuth
 * provider), POST takes the API key. */
static void serve_link(linkhost_t *lh, pausehub_page *pg) {
  const char *token = pg->target + strlen(LINKSVC_PATH_PREFIX);
  linkhost_lookup(lh, token, strcspn(token, "?"), on_link_known, pg);
}

/* LINKBIND_DONE_PATH?flow_id=: where the browser lands after the app's
 * confirmation (when the link has no callback_url, or was refused). */
static void serve_bind_done(linkhost_t *lh, pausehub_page *pg) {
  const char *q = strchr(pg->target, '?');
  char id[LINKBIND_ID_LEN + 2];
  const linkbind_flow *f = NULL;
  if (q != NULL && form_field(q + 1, strlen(q + 1), "flow_id", id, sizeof id) > 0)
    f = linkbind_find(&lh->bind, id, timefmt_now_ms());
  if (f == NULL || f->state == LINKBIND_WAITING || f->state == LINKBIND_SPENT) {
    linkpage_render_unknown(&pg->html);
    linkhost_answer(pg, 404);
  } else if (f->state == LINKBIND_CONNECTED) {
    linkpage_render_connected(&pg->html, f->name);
    linkhost_answer(pg, 200);
  } else {
    linkhost_refuse(pg, 403, "Not connected: this link was opened while signed in to the app as someone "
                             "else. Nothing was saved. Ask the assistant again for a new link.");
  }
}

static void on_page(void *ctx, pausehub_page *pg) {
  linkhost_t *lh = ctx;
  if (pg->credential) {
    credserve_answer(lh, pg); /* a worker's credential request, not a page */
  } else if (http_starts_with(pg->target, strlen(pg->target), LINKSVC_PATH_PREFIX)) {
    serve_link(lh, pg);
  } else if (http_starts_with(pg->target, strlen(pg->target), OAUTHFLOW_CALLBACK_PATH) &&
             (pg->target[strlen(OAUTHFLOW_CALLBACK_PATH)] == '?' ||
              pg->target[strlen(OAUTHFLOW_CALLBACK_PATH)] == '\0')) {
    oauthflow_callback(lh, pg);
  } else if (http_starts_with(pg->target, strlen(pg->target), LINKBIND_DONE_PATH) &&
             (pg->target[strlen(LINKBIND_DONE_PATH)] == '?' || pg->target[strlen(LINKBIND_DONE_PATH)] == '\0')) {
    serve_bind_done(lh, pg);
  } else if (lh->remote_open && http_starts_with(pg->target, strlen(pg->target), REMOTE_CALLBACK_PATH) &&
             (pg->target[strlen(REMOTE_CALLBACK_PATH)] == '?' || pg->target[strlen(REMOTE_CALLBACK_PATH)] == '\0')) {
    remote_serve_callback(&lh->remote, pg);
  } else {
    linkpage_render_unknown(&pg->html);
    linkhost_answer(pg, 404);
  }
}

/* ---- metrics ---- */

int linkhost_render_metrics(linkhost_t *lh, dynbuf *out) {
  size_t npending;
  size_t nlinks;
  size_t dropped;
  size_t exchanging = oauthflow_exchanging(&lh->oauth);
  int rc;
  uv_mutex_lock(&lh->hub->lock);
  npending = lh->hub->links.npending;
  nlinks = lh->hub->links.nlinks;
  dropped = lh->hub->journal_dropped;
  uv_mutex_unlock(&lh->hub->lock);
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
    rc = prom_counter(out, "authrelay_link_store_writes_total", "Link changes written to the store.",
                      lh->journal.written);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_link_store_errors_total",
                      "Link changes the store refused (each try), or lost to a full queue.",
                      lh->journal.refused + lh->journal.dropped + dropped);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_link_journal_backlog", "Link changes waiting to be written to the store.",
                    linkjournal_backlog(&lh->journal));
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_oauth_flows_waiting", "OAuth2 sign-ins sent to a provider, not back yet.",
                    lh->oauth.nflows);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_oauth_exchanges_active", "OAuth2 code exchanges in flight.", exchanging);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_oauth_exchange_failures_total", "OAuth2 code exchanges that failed.",
                      lh->provider_failures);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_links_declined_total", "Links the user declined (\"Not now\").", lh->declined);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_links_ended_by_replicas_total", "Link ends of other replicas applied here.",
                      lh->peers.applied);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_links_adopted_total", "Pending links of other replicas taken in.",
                      lh->peers.adopted);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connectors_unusable_total",
                      "Link pages that met or left out an OAuth2 connector without an application credential.",
                      lh->connectors_unusable);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_link_bindings_kept",
                    "Link binding flows kept: waiting for the app's confirmation, or ended in the last 10 minutes.",
                    lh->bind.nflows);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_link_bindings_refused_total",
                      "Link bindings refused: the app's signed-in user was not the link's.", lh->bind_refused);
  if (rc != 0)
    return -E2BIG;
  if (storehealth_render_metrics(&lh->store, out) != 0)
    return -E2BIG;
  if (lh->notify_open && notify_render_metrics(&lh->notify, out) != 0)
    return -E2BIG;
  if (connections_render_metrics(&lh->conns, out) != 0)
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
  char spec[STORE_SPEC_MAX];
  store_opts sopts = {0, 0};
  uint64_t now = timefmt_now_ms();
  int rc;
  memset(lh, 0, sizeof *lh);
  oauthflow_init(&lh->oauth);
  linkbind_init(&lh->bind);
  lh->loop = loop;
  lh->cfg = cfg;
  lh->catalog = catalog;
  lh->hub = hub;
  connections_init(&lh->conns, lh);
  if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create data_dir %s: %s", cfg->data_dir, strerror(errno));
    return -EIO;
  }
  rc = load_owner_key(lh, err, errlen);
  if (rc != 0)
    return rc;
  rc = secretbox_key_load(lh->key, cfg->secret_key, cfg->data_dir, err, errlen);
  if (rc != 0)
    return rc;
  if (cfg->store != NULL && strcmp(cfg->store, "sqlite") != 0) /* a postgres:// URL (config_check.c) */
    rc = snprintf(spec, sizeof spec, "%s", cfg->store) >= (int)sizeof spec ? -ENAMETOOLONG : 0;
  else
    rc = snprintf(spec, sizeof spec, "sqlite:%s/%s", cfg->data_dir, STORE_SQLITE_FILE) >= (int)sizeof spec
             ? -ENAMETOOLONG
             : 0;
  if (rc != 0) {
    snprintf(err, errlen, "store or data_dir is too long");
    return rc;
  }
  sopts.timeout_ms = (long)cfg->store_timeout_s * 1000;
  rc = store_open_opts(&lh->store, loop, spec, &sopts);
  OPENSSL_cleanse(spec, sizeof spec); /* a URL's password */
  if (rc != 0) {
    snprintf(err, errlen, "%s", lh->store.error);
    OPENSSL_cleanse(lh->key, sizeof lh->key);
    return rc;
  }
  rc = restore_links(lh, now);
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
    rc = linkjournal_init(&lh->journal, loop, &lh->store, writes_hold, writes_release, on_journal_unwritten, lh);
  lh->journal_open = rc == 0;
  if (rc == 0)
    rc = pausehub_attach(hub, loop, on_journal, on_page, lh);
  if (rc == 0 && linkpeers_start(&lh->peers, &lh->store, hub, now, writes_hold, writes_release, lh) != 0)
    LOG_WARN("link ends of other replicas will not reach this one"); /* not fatal: its own links work */
  if (rc != 0) {
    if (rc == -ETIMEDOUT || (rc == -EIO && lh->store.health.unreachable))
      snprintf(err, errlen, "the link store did not answer within store_timeout_s (%s)",
               lh->store.health.unreachable ? lh->store.health.reach_error : "too slow");
    else if (rc != -EINVAL)
      snprintf(err, errlen, "cannot start the link service (%d)", rc);
    if (lh->remote_open)
      remote_close(&lh->remote);
    if (lh->store_health_open)
      storehealth_close(&lh->store_health);
    if (lh->journal_open)
      linkjournal_close(&lh->journal);
    if (lh->notify_open)
      notify_close(&lh->notify, NULL, NULL);
    if (lh->curl_open)
      curlloop_close(&lh->curl, NULL);
    store_close(&lh->store, NULL);
    OPENSSL_cleanse(lh->key, sizeof lh->key);
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
  /* The store closes once the writes that must land are answered: the
   * last journal batch, the webhook deliveries in flight (due again at
   * once); operations still queued then complete with -ECANCELED. */
  lh->closing = 1;
  lh->journal_writes++; /* held until the end of this function */
  linkpeers_stop(&lh->peers);
  pausehub_detach(lh->hub); /* the last journal batch goes to the store */
  if (lh->journal_open) {
    lh->journal_open = 0;
    linkjournal_close(&lh->journal); /* what waits, once more */
  }
  if (lh->remote_open) {
    lh->remote_open = 0;
    remote_close(&lh->remote);
  }
  if (lh->notify_open) {
    lh->notify_open = 0;
    lh->journal_writes++;
    notify_close(&lh->notify, on_notify_closed, lh); /* POSTs in flight stay in the outbox, due at once */
  }
  oauthflow_close(&lh->oauth); /* cancels its exchanges in flight: no callbacks */
  connections_close(&lh->conns); /* refreshes in flight: their callers answered, before curl goes */
  linkbind_close(&lh->bind);   /* credentials never confirmed are wiped */
  if (lh->curl_open) {
    lh->curl_open = 0;
    curlloop_close(&lh->curl, NULL); /* cancels the other requests in flight: no callbacks */
  }
  if (lh->store_health_open) {
    lh->store_health_open = 0;
    storehealth_close(&lh->store_health);
  }
  store_release(lh);
  OPENSSL_cleanse(lh->key, sizeof lh->key);
  OPENSSL_cleanse(lh->owner_key, sizeof lh->owner_key);
}
