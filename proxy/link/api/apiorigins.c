/* apiorigins: the callback-origins resource of the link API. See
 * apiorigins.h. */
#include "apiorigins.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "url.h"
#include "timefmt.h"

/* What a request keeps across the store's answer. */
typedef struct origins_state {
  int status;
  char origin[600];
} origins_state;

/* GET: the list, as the store gave it. */
static void on_list(void *data, int status, const store_origin *rows, size_t n) {
  apicall_ctx *c = data;
  size_t i;
  if (apicall_results_begin(c, status) == 0) {
    for (i = 0; i < n; i++) {
      char created[32];
      (void)timefmt_rfc3339(rows[i].created_ms, 1, created); /* "" past the year 9999 */
      apicall_raw(c, i > 0 ? ",{" : "{");
      apicall_member_str(c, "origin", rows[i].origin, 1);
      apicall_member_str(c, "created_at", created, 0);
      apicall_raw(c, "}");
    }
    apicall_results_end(c, n, "");
  }
  apicall_run(c, NULL);
}

static void added(apicall_ctx *c) {
  origins_state *st = c->state;
  if (c->status == -EEXIST) {
    apicall_field_error(c, "origin", "This origin is allowed already.");
    (void)apicall_fail_if_invalid(c);
    return;
  }
  if (c->status != 0) {
    apicall_store_failed(c);
    return;
  }
  APICALL_AUDIT(c, "callback_origin.create", LOG_STR("origin", st->origin));
  c->rs->status = 201;
  apicall_raw(c, "{");
  apicall_member_str(c, "origin", st->origin, 1);
  apicall_raw(c, "}\n");
}

static void deleted(apicall_ctx *c) {
  origins_state *st = c->state;
  if (c->status != 0) {
    apicall_write_failed(c, c->status, "This origin is not allowed.");
    return;
  }
  APICALL_AUDIT(c, "callback_origin.delete", LOG_STR("origin", st->origin));
  c->rs->status = 204;
}

void apiorigins_handle(apicall_ctx *c, const apicall_principal *p) {
  char given[2100];
  char origin[600];
  origins_state *st;
  if (strcmp(c->rq->method, "GET") == 0) {
    if (apicall_require(c, p, LINKAPI_READ_ORGANIZATION) != 0)
      return;
    apicall_wait(c, apicall_store(c)->ops->origin_list(apicall_store(c), on_list, c));
    return;
  }
  if (apicall_require_admin(c, p) != 0)
    return;
  if (strcmp(c->rq->method, "POST") == 0) {
    const char *rest;
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
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    snprintf(st->origin, sizeof st->origin, "%s", origin);
    apicall_after(c, added);
    apicall_wait(c, apicall_store(c)->ops->origin_add(apicall_store(c), origin, timefmt_now_ms(), apicall_done, c));
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    if (!apicall_query_param(c, "origin", given, sizeof given) ||
        url_origin(given, origin, sizeof origin) != 0) {
      apicall_detail(c, 400, "Name the origin: ?origin=https%3A%2F%2Fapp.example.com");
      return;
    }
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    snprintf(st->origin, sizeof st->origin, "%s", origin);
    apicall_after(c, deleted);
    apicall_wait(c, apicall_store(c)->ops->origin_delete(apicall_store(c), origin, apicall_done, c));
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}
