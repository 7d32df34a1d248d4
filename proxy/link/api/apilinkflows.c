/* apilinkflows: POST /api/v1/link-flows/{flow_id}/confirm. See
 * apilinkflows.h. */
#include "apilinkflows.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "jsonw.h"
#include "linkbind.h"
#include "timefmt.h"

#define URL_OUT_MAX 3000 /* bytes of redirect_url */

static const apivalid_field confirm_fields[] = {
    {"origin_user_id", APIVALID_STRING, APIVALID_REQUIRED | APIVALID_VISIBLE, 1, 255, NULL, NULL},
};
static const apivalid_table confirm_table = {confirm_fields, sizeof confirm_fields / sizeof confirm_fields[0]};

/* What the confirmation keeps across the store's answer: the flow without
 * its credential. */
typedef struct confirm_state {
  int status;
  linkbind_flow flow;    /* sealed: empty */
} confirm_state;

/* Answers status with detail (NULL: none) and the flow's redirect_url. */
static void answer_with_url(apicall_ctx *c, int status, const char *detail, const linkbind_flow *f, int connected) {
  dynbuf url;
  dynbuf_init(&url, URL_OUT_MAX);
  if (linkbind_done_url(&url, f, connected) != 0) {
    dynbuf_free(&url);
    apicall_detail(c, 500, "The redirect URL is too long.");
    return;
  }
  c->rs->status = status;
  apicall_raw(c, "{");
  if (detail != NULL) {
    apicall_member_str(c, "detail", detail, 1);
    apicall_raw(c, ",");
  }
  apicall_member_str(c, "redirect_url", url.ptr, 1);
  apicall_member_str(c, "connector", f->v.info.connector, 0);
  apicall_raw(c, "}\n");
  dynbuf_free(&url);
}

/* Another user confirmed: nothing stored, the link ends. */
static void refuse(apicall_ctx *c, linkbind_flow *f, const char *confirmed) {
  linkhost_t *lh = c->lh;
  linkbind_settle(&lh->bind, f->id, LINKBIND_REFUSED);
  (void)pausehub_expire_link(lh->hub, f->v.info.token, timefmt_now_ms());
  lh->bind_refused++;
  APICALL_AUDIT(c, "link_flow.refuse", LOG_STR("flow_id", f->id), LOG_STR("connector", f->v.info.connector),
                LOG_STR("registered_user", f->v.user), LOG_STR("confirmed_user", confirmed));
  LOG_WARN("link binding refused: the app's signed-in user is not the link's; nothing stored, link ended",
           LOG_STR("connector", f->v.info.connector));
  if (lh->notify_open)
    notify_binding_refused(&lh->notify, f->v.user, f->v.info.connector, f->v.info.token);
  answer_with_url(c, 409, "This link belongs to another user: nothing was stored and the link was ended.", f, 0);
}

static void committed(apicall_ctx *c) {
  confirm_state *st = c->state;
  linkbind_flow *f = &st->flow;
  if (c->status == 0) {
    linkbind_settle(&c->lh->bind, f->id, LINKBIND_CONNECTED);
    APICALL_AUDIT(c, "link_flow.confirm", LOG_STR("flow_id", f->id), LOG_STR("connector", f->v.info.connector),
                  LOG_STR("registered_user", f->v.user));
    answer_with_url(c, 200, NULL, f, 1);
    return;
  }
  /* not stored (or the link ended): the flow stays spent, its done page unknown */
  if (c->status == -ESTALE)
    apicall_detail(c, 410, "The link ended before the confirmation: ask the assistant again.");
  else
    apicall_store_failed(c);
}

void apilinkflows_handle(apicall_ctx *c, const apicall_principal *p, const char *rest) {
  linkhost_t *lh = c->lh;
  char id[LINKBIND_ID_LEN + 1];
  size_t n = strcspn(rest, "/");
  const char *confirmed;
  confirm_state *st;
  linkbind_flow *f;
  int nomem = 0;
  int rc;
  if (n == 0 || n > LINKBIND_ID_LEN || !(strcmp(rest + n, "/confirm") == 0 || strcmp(rest + n, "/confirm/") == 0)) {
    apicall_detail(c, 404, "Not found.");
    return;
  }
  if (apicall_require_method(c, "POST") != 0)
    return;
  if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
    return;
  (void)apivalid_check(c->body, &confirm_table, 0, &c->errs);
  if (apicall_fail_if_invalid(c))
    return;
  memcpy(id, rest, n);
  id[n] = '\0';
  f = linkbind_take(&lh->bind, id, timefmt_now_ms(), &nomem);
  if (f == NULL) {
    apicall_detail(c, nomem ? 503 : 404, nomem ? "Out of memory." : "Unknown, expired or already used link flow.");
    return;
  }
  confirmed = apivalid_string(c->body, "origin_user_id");
  if (strlen(confirmed) != strlen(f->v.user) || !crypto_equal(confirmed, f->v.user, strlen(confirmed))) {
    refuse(c, f, confirmed);
    linkbind_flow_free(f);
    return;
  }
  st = apicall_state(c, sizeof *st);
  if (st == NULL) {
    linkbind_flow_free(f);
    return;
  }
  apicall_after(c, committed);
  rc = linkhost_commit(lh, f, apicall_done, c);
  st->flow = *f;
  memset(&st->flow.sealed, 0, sizeof st->flow.sealed); /* the credential stays in f, freed now */
  linkbind_flow_free(f);
  if (rc == -ESTALE) {
    apicall_detail(c, 410, "The link can no longer be used: ask the assistant again.");
    return;
  }
  apicall_wait(c, rc);
}
