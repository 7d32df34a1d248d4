/* apicall: the call context, response and field helpers, authentication and
 * scope checks that every link API handler shares. See apicall.h. */
#include "apicall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "jsonw.h"
#include "crypto.h"
#include "form.h"
#include "timefmt.h"

/* ---- steps ---- */

/* The answer is complete: handed over, and the call freed. */
static void finish(apicall_ctx *c) {
  c->done(c->done_data, c->rs, c->out);
  if (c->body != NULL)
    yajl_tree_free(c->body);
  apivalid_errors_free(&c->errs);
  if (c->state != NULL) {
    OPENSSL_cleanse(c->state, c->state_len);
    free(c->state);
  }
  if (c->answer.ptr != NULL)
    OPENSSL_cleanse(c->answer.ptr, c->answer.len); /* a secret shown once */
  dynbuf_free(&c->answer);
  if (c->req_buf != NULL) {
    OPENSSL_cleanse(c->req_buf, c->req.body_len); /* secrets in the body */
    free(c->req_buf);
  }
  free(c);
}

void apicall_run(apicall_ctx *c, apicall_step step) {
  c->in_step = 1;
  c->waiting = 0;
  if (step != NULL)
    step(c);
  c->in_step = 0;
  if (!c->waiting)
    finish(c);
}

void apicall_wait(apicall_ctx *c, int rc) {
  if (rc == 0) {
    c->waiting = 1;
    return;
  }
  apicall_read_failed(c, rc);
  if (!c->in_step)
    finish(c);
}

void apicall_after(apicall_ctx *c, apicall_step next) {
  c->after_done = next;
}

void apicall_done(void *data, int status) {
  apicall_ctx *c = data;
  c->status = status;
  apicall_run(c, c->after_done);
}

void *apicall_state(apicall_ctx *c, size_t len) {
  if (c->state == NULL) {
    c->state = calloc(1, len);
    c->state_len = c->state != NULL ? len : 0;
  }
  if (c->state == NULL)
    apicall_detail(c, 503, "Out of memory.");
  return c->state;
}

void apicall_state_drop(apicall_ctx *c) {
  if (c->state != NULL) {
    OPENSSL_cleanse(c->state, c->state_len);
    free(c->state);
  }
  c->state = NULL;
  c->state_len = 0;
}

store_t *apicall_store(apicall_ctx *c) {
  return &c->lh->store;
}

/* ---- scopes ---- */

/* The scope names, bit i for scope_names[i] (the LINKAPI_ enum). */
static const char *const scope_names[] = {
    "read:user",        "write:user",        "read:organization", "write:organization",
    "read:members",     "write:members",     "read:webhooks",     "write:webhooks",
    "admin:organization", "admin:all",       "read:credentials", NULL};

int apicall_parse_scopes(const char *text, unsigned *bits) {
  unsigned b = 0;
  while (*text != '\0') {
    size_t n = strcspn(text, " ");
    size_t i;
    int found = 0;
    for (i = 0; scope_names[i] != NULL; i++) {
      if (strlen(scope_names[i]) == n && memcmp(scope_names[i], text, n) == 0) {
        b |= 1u << i;
        found = 1;
      }
    }
    if (!found && n > 0)
      return -EINVAL;
    text += n;
    while (*text == ' ')
      text++;
  }
  *bits = b;
  return 0;
}

void apicall_scopes_text(unsigned bits, char *out, size_t cap) {
  size_t i;
  size_t len = 0;
  out[0] = '\0';
  for (i = 0; scope_names[i] != NULL; i++) {
    if (bits & (1u << i))
      len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", len ? " " : "", scope_names[i]);
  }
}

/* ---- the answer ---- */

void apicall_raw(apicall_ctx *c, const char *s) {
  (void)jsonw_raw(c->out, s);
}

void apicall_str(apicall_ctx *c, const char *s) {
  (void)jsonw_cstring(c->out, s);
}

/* "name": value-string, with a comma before unless first. */
void apicall_member_str(apicall_ctx *c, const char *name, const char *value, int first) {
  if (!first)
    apicall_raw(c, ",");
  apicall_str(c, name);
  apicall_raw(c, ":");
  if (value == NULL)
    apicall_raw(c, "null");
  else
    apicall_str(c, value);
}

void apicall_member_bool(apicall_ctx *c, const char *name, int v) {
  apicall_raw(c, ",");
  apicall_str(c, name);
  apicall_raw(c, v ? ":true" : ":false");
}

int apicall_results_begin(apicall_ctx *c, int status) {
  if (status != 0) {
    apicall_read_failed(c, status);
    return -1;
  }
  c->rs->status = 200;
  apicall_raw(c, "{\"results\":[");
  return 0;
}

void apicall_results_end(apicall_ctx *c, size_t n, const char *more) {
  apicall_raw(c, "],\"count\":");
  (void)jsonw_u64(c->out, n);
  apicall_raw(c, more);
  apicall_raw(c, "}\n");
}

void apicall_detail(apicall_ctx *c, int status, const char *msg) {
  c->rs->status = status;
  dynbuf_reset(c->out, c->out->cap); /* keeps the storage, forgets a failed write */
  apicall_raw(c, "{\"detail\":");
  apicall_str(c, msg);
  apicall_raw(c, "}\n");
}

/* A store write failed and was rolled back: nothing was saved. 503 when
 * the store cannot write (/readyz says so too, until it writes again). */
void apicall_store_failed(apicall_ctx *c) {
  if (c->lh->store.health.cannot_write)
    apicall_detail(c, 503,
                   "The store cannot save changes right now (see /readyz); nothing was saved. Try again later.");
  else
    apicall_detail(c, 500, "The store failed.");
}

/* A store write that returned rc != 0: -ENOENT is a 404 saying missing. */
void apicall_write_failed(apicall_ctx *c, int rc, const char *missing) {
  if (rc == -ENOENT)
    apicall_detail(c, 404, missing);
  else if (rc == -ECANCELED || rc == -ENOMEM)
    apicall_read_failed(c, rc);
  else
    apicall_store_failed(c);
}

void apicall_read_failed(apicall_ctx *c, int rc) {
  if (rc == -ECANCELED)
    apicall_detail(c, 503, "authrelay is shutting down.");
  else if (rc == -ENOMEM)
    apicall_detail(c, 503, "Out of memory.");
  else
    apicall_detail(c, 500, "The store failed.");
}

/* ---- the body ---- */

/* Records an error on field (the first one per field is kept). */
void apicall_field_error(apicall_ctx *c, const char *field, const char *msg) {
  (void)apivalid_error(&c->errs, field, msg);
}

/* 1 when field is in the body and has passed the checks so far. */
int apicall_field_ok(const apicall_ctx *c, const char *field) {
  return apivalid_member(c->body, field) != NULL && !apivalid_has_error(&c->errs, field);
}

/* Answers 400 with the field errors when there are any. Returns 1 then. */
int apicall_fail_if_invalid(apicall_ctx *c) {
  size_t mark;
  if (c->errs.count == 0)
    return 0;
  c->rs->status = 400;
  dynbuf_reset(c->out, c->out->cap); /* keeps the storage, forgets a failed write */
  /* one error shape for every API: {"detail": ...}, here with the field
   * errors beside it as DRF's {"field": ["message"]} members */
  apicall_raw(c, "{\"detail\":\"Invalid input: see the fields named.\"");
  mark = c->out->len;
  if (apivalid_errors_render(&c->errs, c->out) == 0 && c->out->len - mark > 3) {
    c->out->ptr[mark] = ','; /* its "{" joins the members to the detail */
  } else {
    c->out->len = mark; /* no member fitted: the detail alone */
    apicall_raw(c, "}\n");
  }
  return 1;
}

yajl_val apicall_member(const apicall_ctx *c, const char *name) {
  return apivalid_member(c->body, name);
}

/* Copies a checked string (NULL: "") into dst, cap bytes. The tables'
 * limits fit the store's buffers (STORE_CHARS_BYTES). */
void apicall_copy_text(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* The value of query parameter name into out; 1 found, 0 not. */
int apicall_query_param(const apicall_ctx *c, const char *name, char *out, size_t cap) {
  return form_field(c->rq->query, strlen(c->rq->query), name, out, cap) > 0;
}

/* ---- authentication ---- */

/* What authentication needs across the store's answer. */
typedef struct auth_state {
  apicall_step next;
  store_oauth_token token;
  int status;
} auth_state;

/* The token's scopes, and then the step it was for. */
static void authenticated(apicall_ctx *c) {
  auth_state *st = c->state;
  apicall_principal *p = &c->principal;
  apicall_step next = st->next;
  if (st->status != 0 || apicall_parse_scopes(st->token.scopes, &p->scopes) != 0) {
    apicall_detail(c, 401, "Invalid or expired token.");
    return;
  }
  /* named now, before any change: a token may delete its own app */
  snprintf(p->actor, sizeof p->actor, "app:%s", st->token.client_id[0] != '\0' ? st->token.client_id : "unknown");
  if (p->scopes & LINKAPI_ADMIN_ALL) {
    p->scopes |= ~(unsigned)LINKAPI_READ_CREDENTIALS; /* everything but read:credentials, held only when granted */
    p->all = 1;
  }
  if (p->scopes & LINKAPI_ADMIN_ORGANIZATION)
    p->scopes |= LINKAPI_READ_ORGANIZATION | LINKAPI_WRITE_ORGANIZATION | LINKAPI_READ_MEMBERS |
                 LINKAPI_WRITE_MEMBERS;
  p->admin = (p->scopes & (LINKAPI_ADMIN_ALL | LINKAPI_ADMIN_ORGANIZATION)) != 0;
  c->rs->www_authenticate = NULL;
  c->who = p;
  apicall_state_drop(c); /* the handler's state is its own */
  next(c);
}

static void on_token(void *data, int status, const store_oauth_token *t) {
  apicall_ctx *c = data;
  auth_state *st = c->state;
  st->status = status;
  if (status == 0)
    st->token = *t;
  apicall_run(c, authenticated);
}

void apicall_authenticate(apicall_ctx *c, apicall_step next) {
  const char *auth = c->rq->authorization;
  const char *key = c->rq->owner_key;
  apicall_principal *p = &c->principal;
  auth_state *st;
  char hash[65];
  memset(p, 0, sizeof *p);
  c->rs->www_authenticate = "Bearer";
  if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
    apicall_detail(c, 401, "Authentication credentials were not provided.");
    return;
  }
  auth += 7;
  if (key[0] != '\0' && strlen(auth) == strlen(key) && crypto_equal(auth, key, strlen(key))) {
    p->scopes = ~0u;
    p->admin = 1;
    p->all = 1;
    snprintf(p->actor, sizeof p->actor, "owner");
    c->rs->www_authenticate = NULL;
    c->who = p;
    next(c);
    return;
  }
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  st->next = next;
  crypto_sha256_hex(auth, strlen(auth), hash);
  apicall_wait(c, c->lh->store.ops->oauth_token_get(&c->lh->store, hash, timefmt_now_ms(), on_token, c));
}

/* 0 when p holds every scope in need; else answers 403. */
int apicall_require_method(apicall_ctx *c, const char *method) {
  if (strcmp(c->rq->method, method) == 0)
    return 0;
  apicall_detail(c, 405, "Method not allowed.");
  return -1;
}

int apicall_require(apicall_ctx *c, const apicall_principal *p, unsigned need) {
  char names[512];
  char msg[600];
  if ((p->scopes & need) == need)
    return 0;
  apicall_scopes_text(need & ~p->scopes, names, sizeof names);
  snprintf(msg, sizeof msg, "The token lacks the scope: %s.", names);
  apicall_detail(c, 403, msg);
  return -1;
}

int apicall_require_admin(apicall_ctx *c, const apicall_principal *p) {
  if (p->admin)
    return 0;
  apicall_detail(c, 403, "Only an OWNER or ADMIN may do this.");
  return -1;
}
