/* apiusers: the registered-users resource of the link API: create, list,
 * get, update, delete, and the route to a user's link token (apilinks.c).
 * See apiusers.h. */
#include "apiusers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apilinks.h"
#include "jsonw.h"
#include "crypto.h"
#include "timefmt.h"

#define PAGE_SIZE_DEFAULT 100  /* GET .../registered-users/ without page_size */
#define PAGE_SIZE_MAX 1000     /* the largest page_size */

/* What a request keeps across the store's answers: the user being
 * answered with, or a page of users being rendered one by one (each needs
 * its connectors from the store). */
typedef struct users_state {
  int status;
  int created;                 /* POST: 201, not the existing user */
  size_t page;                 /* GET list */
  size_t size;
  size_t total;
  size_t next;                 /* the user being rendered */
  size_t n;                    /* users[0, n) */
  store_user users[1];         /* one, or the page (allocated to size) */
} users_state;

/* The user as the reference's RegisteredUser object, with the connectors
 * the store gave. */
static void render_user(apicall_ctx *c, const store_user *u, const char *const *names, size_t nnames) {
  size_t i;
  apicall_raw(c, "{");
  apicall_member_str(c, "id", u->id, 1);
  apicall_member_str(c, "origin_user_id", u->origin_user_id, 0);
  apicall_member_str(c, "origin_user_name", u->origin_user_name, 0);
  apicall_raw(c, ",\"shared_credential_group\":");
  if (u->has_group) {
    apicall_raw(c, "{");
    apicall_member_str(c, "origin_company_id", u->company_id, 1);
    apicall_member_str(c, "origin_company_name", u->company_name[0] ? u->company_name : NULL, 0);
    apicall_raw(c, "}");
  } else {
    apicall_raw(c, "null");
  }
  apicall_member_str(c, "user_type", u->user_type, 0);
  apicall_raw(c, ",\"authenticated_connectors\":[");
  for (i = 0; i < nnames; i++) {
    if (i > 0)
      apicall_raw(c, ",");
    apicall_str(c, names[i]);
  }
  apicall_raw(c, "]");
  apicall_member_bool(c, "is_test", u->is_test);
  apicall_raw(c, "}");
}

static void render_next(apicall_ctx *c);

/* The connectors of users[next]: rendered, then the next one. */
static void on_connectors(void *data, int status, const char *const *names, size_t n) {
  apicall_ctx *c = data;
  users_state *st = c->state;
  if (status != 0) {
    apicall_read_failed(c, status);
    apicall_run(c, NULL);
    return;
  }
  if (st->next > 0)
    apicall_raw(c, ",");
  render_user(c, &st->users[st->next], names, n);
  st->next++;
  apicall_run(c, render_next);
}

/* Renders users[next, n), one store call each; then the end of the answer. */
static void render_next(apicall_ctx *c) {
  users_state *st = c->state;
  char num[64];
  if (st->next < st->n) {
    apicall_wait(c, apicall_store(c)->ops->user_connectors(apicall_store(c), st->users[st->next].origin_user_id,
                                                            on_connectors, c));
    return;
  }
  if (st->page == 0) {
    apicall_raw(c, "\n"); /* one user */
    return;
  }
  apicall_raw(c, "],\"count\":");
  (void)jsonw_u64(c->out, st->total);
  apicall_raw(c, ",\"next\":");
  if (st->page * st->size < st->total) {
    snprintf(num, sizeof num, "?page=%zu&page_size=%zu", st->page + 1, st->size);
    apicall_str(c, num);
  } else {
    apicall_raw(c, "null");
  }
  apicall_raw(c, ",\"previous\":");
  if (st->page > 1) {
    snprintf(num, sizeof num, "?page=%zu&page_size=%zu", st->page - 1, st->size);
    apicall_str(c, num);
  } else {
    apicall_raw(c, "null");
  }
  apicall_raw(c, "}\n");
}

/* Answers status with the one user in the state. */
static void answer_user(apicall_ctx *c, int status) {
  users_state *st = c->state;
  c->rs->status = status;
  st->page = 0;
  st->n = 1;
  st->next = 0;
  render_next(c);
}

/* Checks the user fields of the body (create: all; update: those present)
 * and reads them into u. */
static void read_user_fields(apicall_ctx *c, store_user *u, int create) {
  yajl_val group = apicall_member(c, "shared_credential_group");
  const char *s;
  if (apivalid_check(c->body, &apivalid_user, !create, &c->errs) != 0)
    return;
  if (create)
    apicall_copy_text(u->origin_user_id, sizeof u->origin_user_id, apivalid_string(c->body, "origin_user_id"));
  s = apivalid_string(c->body, "origin_user_name");
  if (s != NULL)
    apicall_copy_text(u->origin_user_name, sizeof u->origin_user_name, s);
  if (group != NULL) {
    u->has_group = !YAJL_IS_NULL(group);
    apicall_copy_text(u->company_id, sizeof u->company_id, apivalid_string(group, "origin_company_id"));
    apicall_copy_text(u->company_name, sizeof u->company_name, apivalid_string(group, "origin_company_name"));
  }
  s = apivalid_string(c->body, "user_type");
  if (s != NULL)
    apicall_copy_text(u->user_type, sizeof u->user_type, s);
  u->is_test = apivalid_bool(c->body, "is_test", u->is_test);
}

/* GET list: the page, as the store gave it (copied: rendered later). */
static void on_page(void *data, int status, const store_user *rows, size_t n, size_t total) {
  apicall_ctx *c = data;
  users_state *st = c->state;
  users_state *grown;
  if (status != 0) {
    apicall_read_failed(c, status);
    apicall_run(c, NULL);
    return;
  }
  if (n > 1) {
    grown = realloc(st, sizeof *st + (n - 1) * sizeof st->users[0]);
    if (grown == NULL) {
      apicall_detail(c, 503, "Out of memory.");
      apicall_run(c, NULL);
      return;
    }
    c->state = st = grown;
    c->state_len = sizeof *st + (n - 1) * sizeof st->users[0];
  }
  if (n > 0)
    memcpy(st->users, rows, n * sizeof *rows);
  st->n = n;
  st->total = total;
  st->next = 0;
  c->rs->status = 200;
  apicall_raw(c, "{\"results\":[");
  apicall_run(c, render_next);
}

static void created(apicall_ctx *c) {
  users_state *st = c->state;
  if (st->status != 0 && st->status != -EEXIST) {
    apicall_store_failed(c);
    return;
  }
  if (st->status == 0)
    APICALL_AUDIT(c, "registered_user.create", LOG_STR("id", st->users[0].id),
                  LOG_STR("origin_user_id", st->users[0].origin_user_id));
  answer_user(c, st->status == -EEXIST ? 200 : 201); /* idempotent on origin_user_id */
}

static void on_created(void *data, int status, const store_user *u) {
  apicall_ctx *c = data;
  users_state *st = c->state;
  st->status = status;
  if (u != NULL)
    st->users[0] = *u; /* the new one, or the existing one */
  apicall_run(c, created);
}

/* GET: the page of users (?origin_user_id=, ?page=, ?page_size=); POST:
 * create, 200 with the existing one when origin_user_id is taken. */
void apiusers_collection(apicall_ctx *c, const apicall_principal *p) {
  users_state *st;
  if (strcmp(c->rq->method, "GET") == 0) {
    char origin[STORE_TEXT_MAX + 1];
    char num[64];
    size_t page = 1;
    size_t size = PAGE_SIZE_DEFAULT;
    int has_origin;
    if (apicall_require(c, p, LINKAPI_READ_USER) != 0)
      return;
    has_origin = apicall_query_param(c, "origin_user_id", origin, sizeof origin);
    if (apicall_query_param(c, "page", num, sizeof num))
      page = strtoul(num, NULL, 10);
    if (apicall_query_param(c, "page_size", num, sizeof num))
      size = strtoul(num, NULL, 10);
    if (page == 0 || size == 0 || size > PAGE_SIZE_MAX) {
      apicall_detail(c, 400, "page must be 1 or more and page_size 1 to 1000.");
      return;
    }
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    st->page = page;
    st->size = size;
    apicall_wait(c, apicall_store(c)->ops->user_list(apicall_store(c), has_origin ? origin : NULL,
                                                      (page - 1) * size, size, on_page, c));
  } else if (strcmp(c->rq->method, "POST") == 0) {
    store_user *u;
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    st = apicall_state(c, sizeof *st);
    if (st == NULL)
      return;
    u = &st->users[0];
    snprintf(u->user_type, sizeof u->user_type, "HUMAN");
    read_user_fields(c, u, 1);
    if (apicall_fail_if_invalid(c))
      return;
    if (crypto_uuid(u->id) != 0) {
      apicall_detail(c, 500, "No random source.");
      return;
    }
    u->created_ms = timefmt_now_ms();
    apicall_wait(c, apicall_store(c)->ops->user_create(apicall_store(c), u, on_created, c));
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

/* ---- one user ---- */

/* What apiusers_item needs once the user is read. */
typedef struct item_state {
  users_state users;           /* first: answer_user's state */
  int guide;
  char rest[4096];
} item_state;

static void changed(apicall_ctx *c) {
  users_state *st = c->state;
  if (c->status != 0) {
    apicall_write_failed(c, c->status, "No registered user with this id.");
    return;
  }
  if (strcmp(c->rq->method, "DELETE") == 0) {
    APICALL_AUDIT(c, "registered_user.delete", LOG_STR("id", st->users[0].id));
    c->rs->status = 204;
    return;
  }
  APICALL_AUDIT(c, "registered_user.update", LOG_STR("id", st->users[0].id));
  answer_user(c, 200);
}

/* The user is read (or not): what the method asks. */
static void item(apicall_ctx *c) {
  item_state *st = c->state;
  const apicall_principal *p = c->who;
  store_user *u = &st->users.users[0];
  if (st->users.status != 0) {
    if (apicall_require(c, p, LINKAPI_READ_USER) == 0) {
      if (st->users.status == -ENOENT)
        apicall_detail(c, 404, "No registered user with this id.");
      else
        apicall_store_failed(c);
    }
    return;
  }
  if (strcmp(st->rest, "link-token/") == 0 || strcmp(st->rest, "link-token") == 0) {
    store_user user = *u;
    int guide = st->guide;
    apicall_state_drop(c); /* apilinks keeps its own */
    apilinks_user_token(c, p, &user, guide);
    return;
  }
  if (st->rest[0] != '\0' || st->guide) {
    apicall_detail(c, 404, "Not found.");
    return;
  }
  if (strcmp(c->rq->method, "GET") == 0) {
    if (apicall_require(c, p, LINKAPI_READ_USER) != 0)
      return;
    answer_user(c, 200);
  } else if (strcmp(c->rq->method, "PATCH") == 0 || strcmp(c->rq->method, "PUT") == 0) {
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    read_user_fields(c, u, 0);
    if (apicall_fail_if_invalid(c))
      return;
    apicall_after(c, changed);
    apicall_wait(c, apicall_store(c)->ops->user_update(apicall_store(c), u, apicall_done, c));
  } else if (strcmp(c->rq->method, "DELETE") == 0) {
    if (apicall_require(c, p, LINKAPI_WRITE_USER) != 0)
      return;
    apicall_after(c, changed);
    apicall_wait(c, apicall_store(c)->ops->user_delete(apicall_store(c), u->id, apicall_done, c));
  } else {
    apicall_detail(c, 405, "Method not allowed.");
  }
}

static void on_user(void *data, int status, const store_user *u) {
  apicall_ctx *c = data;
  item_state *st = c->state;
  st->users.status = status;
  if (u != NULL)
    st->users.users[0] = *u;
  apicall_run(c, item);
}

void apiusers_item(apicall_ctx *c, const apicall_principal *p, const char *id, const char *rest, int guide) {
  item_state *st;
  if (!apivalid_is_uuid(id) || strlen(rest) >= sizeof st->rest) {
    if (apicall_require(c, p, LINKAPI_READ_USER) == 0)
      apicall_detail(c, 404, "No registered user with this id.");
    return;
  }
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  st->guide = guide;
  snprintf(st->rest, sizeof st->rest, "%s", rest);
  apicall_wait(c, apicall_store(c)->ops->user_get(apicall_store(c), id, on_user, c));
}
