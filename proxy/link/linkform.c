/* linkform: what the hosted Link page does with a request for a known link
 * (linkhost looked it up; see linkform.h). */
#include "linkform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>
#include <openssl/crypto.h>

#include "form.h"
#include "linkpage.h"
#include "log.h"
#include "timefmt.h"
#include "url.h"

/* A picker page waiting for the store's list of application credentials. */
typedef struct picker_step {
  linkhost_t *lh;
  pausehub_page *pg;
  linksvc_link_info info;
} picker_step;

static linkpage_brand brand_of(const linkhost_t *lh) {
  linkpage_brand b;
  b.app_name = lh->cfg->link.app_name;
  b.logo_url = lh->cfg->link.logo_url;
  return b;
}

/* Field name of the request: the form body of a POST, the query of a GET. */
static long request_field(const pausehub_page *pg, const char *name, char *out, size_t cap) {
  const char *query;
  if (pg->method == HTTP_POST)
    return form_field(pg->body.ptr != NULL ? pg->body.ptr : "", pg->body.len, name, out, cap);
  query = strchr(pg->target, '?');
  if (query == NULL)
    return -1;
  return form_field(query + 1, strlen(query + 1), name, out, cap);
}

/* The application credentials are listed: the picker offers every API-key
 * connector and the OAuth2 ones that have one. */
static void on_apps(void *data, int status, const store_app_credential *rows, size_t n) {
  picker_step *s = data;
  linkhost_t *lh = s->lh;
  const catalog_t *cat = lh->catalog;
  linkpage_brand brand = brand_of(lh);
  linkpage_choice *choices = cat->count > 0 ? calloc(cat->count, sizeof *choices) : NULL;
  size_t nchoices = 0;
  size_t i;
  size_t j;
  if (status != 0 || (cat->count > 0 && choices == NULL)) {
    linkhost_refuse(s->pg, 503, "The link service cannot read its storage right now. Try again.");
    free(choices);
    free(s);
    return;
  }
  for (i = 0; i < cat->count; i++) {
    const catalog_connector *cc = &cat->items[i];
    int usable = cc->auth != CATALOG_OAUTH2;
    for (j = 0; !usable && j < n; j++)
      usable = strcmp(rows[j].connector_slug, cc->slug) == 0;
    if (!usable) {
      /* Not offered: the user would meet a dead end. The operator is told. */
      LOG_WARN("OAuth2 connector not offered: no application credential", LOG_STR("connector", cc->slug));
      lh->connectors_unusable++;
      continue;
    }
    choices[nchoices].slug = cc->slug;
    choices[nchoices].name = cc->name;
    nchoices++;
  }
  linkpage_render_picker(&s->pg->html, &s->info, choices, nchoices, 0, &brand);
  linkhost_answer(s->pg, 200);
  free(choices);
  free(s);
}

/* A picker link without a choice yet: the list, or (no catalog) the form
 * taking the slug with the key. */
static void serve_picker(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v) {
  linkpage_brand brand = brand_of(lh);
  picker_step *s;
  int rc;
  if (lh->catalog->open) {
    linkpage_render_picker(&pg->html, &v->info, NULL, 0, 1, &brand);
    linkhost_answer(pg, 200);
    return;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    linkhost_refuse(pg, 500, "Out of memory.");
    return;
  }
  s->lh = lh;
  s->pg = pg;
  s->info = v->info;
  rc = lh->store.ops != NULL ? lh->store.ops->app_list(&lh->store, NULL, on_apps, s) : -ECANCELED;
  if (rc != 0)
    on_apps(s, rc, NULL, 0);
}

/* "Not now": the link ends declined, its streams go on. */
static void serve_decline(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v) {
  linkpage_brand brand = brand_of(lh);
  int rc = pausehub_decline(lh->hub, v->info.token, strlen(v->info.token), timefmt_now_ms());
  if (rc != 0) {
    linkhost_refuse(pg, 410, "This link can no longer be used: ask the assistant again.");
    return;
  }
  LOG_INFO("link declined", LOG_STR("connector", v->info.connector));
  lh->declined++;
  linkpage_render_declined(&pg->html, &brand);
  linkhost_answer(pg, 200);
}

void linkform_serve(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *found) {
  linkpage_brand brand = brand_of(lh);
  pausehub_link_view v = *found;
  catalog_connector cc;
  char field[LINKSVC_CONNECTOR_MAX + 2];
  int picker;
  if (v.state == LINKSVC_STATE_PENDING && v.info.expires_ms <= timefmt_now_ms())
    v.state = LINKSVC_STATE_EXPIRED; /* the expiry timer has not run yet */
  picker = v.info.connector[0] == '\0';
  if (v.state != LINKSVC_STATE_PENDING || (!picker && catalog_lookup(lh->catalog, v.info.connector, &cc) != 0)) {
    linkhost_answer(pg, linkpage_render(&pg->html, &v.info,
                                        v.state == LINKSVC_STATE_PENDING ? LINKSVC_STATE_REVOKED : v.state,
                                        v.info.connector));
    return;
  }
  if (lh->remote_open) {
    remote_serve_link(&lh->remote, pg, &v); /* the remote service connects the account */
    return;
  }
  if (pg->method == HTTP_POST && request_field(pg, "decline", field, sizeof field) > 0) {
    serve_decline(lh, pg, &v);
    return;
  }
  if (picker) {
    long n = request_field(pg, "connector", field, sizeof field);
    if (n <= 0) {
      if (pg->method == HTTP_POST) {
        linkpage_render_refused(&pg->html, "Choose a service.");
        linkhost_answer(pg, 400);
      } else {
        serve_picker(lh, pg, &v);
      }
      return;
    }
    if (catalog_lookup(lh->catalog, field, &cc) != 0) {
      linkpage_render_refused(&pg->html, "This service cannot be connected here. Go back and choose another.");
      linkhost_answer(pg, 400);
      return;
    }
    /* The chosen connector from here on: the flow connects it, and the
     * link completes for it (linkhost_finish). */
    memcpy(v.info.connector, cc.slug, strlen(cc.slug) + 1);
  }
  if (cc.auth == CATALOG_OAUTH2) {
    if (pg->method == HTTP_POST) {
      linkhost_refuse(pg, 405, "This connector connects through its provider's sign-in page.");
      return;
    }
    if (pg->method == HTTP_HEAD) {
      linkhost_answer(pg, 200); /* a HEAD (a link preview) starts no sign-in */
      return;
    }
    oauthflow_start(lh, pg, &v, &cc);
    return;
  }
  if (pg->method != HTTP_POST) {
    char origin[600];
    /* The form's answer is a 303 to callback_url: the page's CSP
     * form-action must allow that origin, or browsers stop the redirect. */
    const char *next = lh->cfg->link.verifier_url[0] != '\0' ? lh->cfg->link.verifier_url : v.callback_url;
    /* With link binding the form's 303 goes to the app's verifier instead. */
    if (next[0] != '\0' && url_origin(next, origin, sizeof origin) == 0)
      pg->form_origin = strdup(origin);
    linkpage_render_key_form(&pg->html, &v.info, cc.name, picker ? cc.slug : NULL, &brand);
    linkhost_answer(pg, 200);
    return;
  }
  {
    char key[4097];
    long key_len = request_field(pg, "api_key", key, sizeof key);
    if (key_len <= 0) {
      linkpage_render_refused(&pg->html, "Enter an API key.");
      linkhost_answer(pg, 400);
      return;
    }
    linkhost_finish(lh, pg, &v, "api_key", key, (size_t)key_len, cc.name);
    OPENSSL_cleanse(key, sizeof key);
  }
}

void linkform_render_unavailable(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v,
                                 const char *name) {
  linkpage_brand brand = brand_of(lh);
  LOG_WARN("no application credential for an OAuth2 connector", LOG_STR("connector", v->info.connector));
  lh->connectors_unusable++;
  linkpage_render_unavailable(&pg->html, &v->info, name, &brand);
  linkhost_answer(pg, 503);
}
