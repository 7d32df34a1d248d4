/* apiorigins: the callback-origins resource of the link API. See
 * apiorigins.h. */
#include "apiorigins.h"

#include <errno.h>
#include <string.h>

#include "jsonw.h"
#include "url.h"
#include "timefmt.h"

/* One origin of the list: {"origin", "created_at"}. */
static int origin_list_cb(void *ctx, const char *origin, uint64_t created_ms) {
  apicall_list *l = ctx;
  char created[32];
  (void)timefmt_rfc3339(created_ms, 1, created); /* "" past the year 9999 */
  if (l->n++ > 0)
    apicall_raw(l->c, ",");
  apicall_raw(l->c, "{");
  apicall_member_str(l->c, "origin", origin, 1);
  apicall_member_str(l->c, "created_at", created, 0);
  apicall_raw(l->c, "}");
  return 0;
}

void apiorigins_handle(apicall_ctx *c, const apicall_principal *p) {
  char given[2100];
  char origin[600];
  if (strcmp(c->rq->method, "GET") == 0) {
    apicall_list l = {c, 0};
    if (apicall_require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    c->rs->status = 200;
    apicall_raw(c, "{\"results\":[");
    (void)linkstore_origin_list(&c->lh->store, origin_list_cb, &l);
    apicall_raw(c, "],\"count\":");
    (void)jsonw_u64(c->out, l.n);
    apicall_raw(c, "}\n");
    return;
  }
  if (apicall_require_admin(c, p) != 0)
    return;
  if (strcmp(c->rq->method, "POST") == 0) {
    const char *rest;
    int rc;
    if (apivalid_check(c->body, &apivalid_callback_origin, 0, &c->errs) == 0) {
      apicall_copy_text(given, sizeof given, apivalid_string(c->body, "origin"));
      if (url_origin(given, origin, sizeof origin) != 0)
        apicall_field_error(c, "origin", "Enter scheme://host[:port], http or https.");
      rest = strstr(given, "://");
      rest = rest != NULL ? rest + 3 + strcspn(rest + 3, "/?") : given;
      if (c->errs.count == 0 && !(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        apicall_field_error(c, "origin", "An origin has no path or query.");
    }
    if (apicall_fail_if_invalid(c))
      return;
    rc = linkstore_origin_add(&c->lh->store, origin, timefmt_now_ms());
    if (rc == -EEXIST) {
      apicall_field_error(c, "origin", "This origin is allowed already.");
      (void)apicall_fail_if_invalid(c);
      return;
    }
    if (rc != 0) {
      apicall_store_failed(c);
      return;
    }
    APICALL_AUDIT(c, "callback_origin.create", LOG_STR("origin", origin));
    c->rs->status = 201;
    apicall_raw(c, "{");
    apicall_member_str(c, "origin", origin, 1);
    apicall_raw(c, "}\n");
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    int rc;
    if (!apicall_query_param(c, "origin", given, sizeof given) ||
        url_origin(given, origin, sizeof origin) != 0) {
      apicall_detail(c, 400, "Name the origin: ?origin=https%3A%2F%2Fapp.example.com");
      return;
    }
    rc = linkstore_origin_delete(&c->lh->store, origin);
    if (rc != 0) {
      apicall_write_failed(c, rc, "This origin is not allowed.");
      return;
    }
    APICALL_AUDIT(c, "callback_origin.delete", LOG_STR("origin", origin));
    c->rs->status = 204;
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}
