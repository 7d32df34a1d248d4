/* apicall: what every handler of the link API (linkapi.h) shares: the call
 * being answered, the caller (principal) and its scopes, and the helpers
 * that write the answer.
 *
 * linkapi.c fills an apicall_ctx per request, authenticates the caller with
 * apicall_authenticate() and routes to one handler file per resource
 * (apiusers.c, apilinks.c, apicreds.c, apiorigins.c, apioauth.c). A handler
 * checks scopes with apicall_require()/apicall_require_admin(), collects
 * field errors (apicall_field_error(), apicall_fail_if_invalid(): the DRF
 * shape of apivalid.h), writes its JSON answer with apicall_raw() and
 * friends or refuses with apicall_detail() ({"detail": "..."}, the body
 * reset first), and writes one APICALL_AUDIT line per change it made.
 * Every helper that answers sets c->rs->status; none allocates.
 *
 * The store answers later (store.h), so a handler is a chain of steps: a
 * step either answers and returns (the answer is then complete), or starts
 * one store call with apicall_wait(c, rc); that call's callback copies what
 * it needs into the handler's state (apicall_state()) and runs the next
 * step with apicall_run(). The call context lives until the answer is
 * handed to linkapi's caller.
 */
#ifndef AUTHRELAY_APICALL_H
#define AUTHRELAY_APICALL_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "apivalid.h"
#include "dynbuf.h"
#include "linkapi.h"
#include "linkhost.h"
#include "log.h"
#include "store.h"

/* Who is calling. */
typedef struct apicall_principal {
  unsigned scopes;
  int admin;              /* owner key, or a token with an admin scope */
  int all;                /* owner key, or a token with admin:all */
  char actor[STORE_TEXT_MAX + 8]; /* for the audit log: "owner" or "app:<client_id>" */
} apicall_principal;

typedef struct apicall_ctx apicall_ctx;

/* A step of a handler (see the top of this file). */
typedef void (*apicall_step)(apicall_ctx *c);

/* One request being answered, from linkapi_handle() until its answer is
 * handed over. Everything in it is owned by the call. */
struct apicall_ctx {
  linkhost_t *lh;
  const linkapi_request *rq;   /* &req */
  linkapi_response *rs;        /* &resp */
  dynbuf *out;                 /* &answer: the JSON body */
  yajl_val body;               /* parsed JSON body, or NULL */
  apivalid_errors errs;        /* field errors being collected */
  const apicall_principal *who; /* the caller, once authenticated (&principal; for the audit log) */
  void *state;                 /* the handler's state across store calls; owned, wiped and freed at the end */
  size_t state_len;
  int status;                  /* the status apicall_done() was given */
  /* private */
  linkapi_request req;         /* a copy of the request; its strings in req_buf */
  char *req_buf;
  linkapi_response resp;
  dynbuf answer;
  apicall_principal principal;
  unsigned need;               /* linkapi_authorize's scopes; 0 for linkapi_handle */
  linkapi_done_cb done;        /* who gets the answer */
  void *done_data;
  int in_step;                 /* a step is running */
  int waiting;                 /* the running step started a store call */
  apicall_step after_done;     /* apicall_after()'s step, run by apicall_done() */
};

/* A JSON list being written. */
typedef struct apicall_list {
  apicall_ctx *c;
  size_t n;               /* items written so far (a comma before all but the first) */
} apicall_list;

/* ---- steps ---- */

/* Runs step (NULL: the answer is written already): unless it started a
 * store call (apicall_wait), the answer is complete and handed over (c is
 * freed). */
void apicall_run(apicall_ctx *c, apicall_step step);

/* After starting a store call that returned rc: 0, its callback continues
 * (with apicall_run); else the store's failure is the answer (503 while
 * shutting down, 500 otherwise). */
void apicall_wait(apicall_ctx *c, int rc);

/* For a call whose answer is only a status (store_done_cb and its like):
 * apicall_after(c, next), then start the call with apicall_done and c as
 * its callback and data; when it answers, c->status holds its status and
 * next runs (apicall_run). */
void apicall_after(apicall_ctx *c, apicall_step next);
void apicall_done(void *data, int status);

/* The handler's state: len zeroed bytes owned by c (the one allocation;
 * NULL when out of memory: the answer is then a 503). */
void *apicall_state(apicall_ctx *c, size_t len);

/* Frees the handler's state (wiped), for another handler to take over. */
void apicall_state_drop(apicall_ctx *c);

/* The store, for a store call (&c->lh->store). */
store_t *apicall_store(apicall_ctx *c);

/* One audit line for a change the caller made (never a secret in it). */
#define APICALL_AUDIT(c, ...) LOG_AUDIT((c)->who != NULL ? (c)->who->actor : "owner", __VA_ARGS__)

/* ---- scopes ---- */

/* Space-separated scope names into bits: 0, or -EINVAL on an unknown one. */
int apicall_parse_scopes(const char *text, unsigned *bits);

/* The names of bits, space-separated, into out (cap bytes). */
void apicall_scopes_text(unsigned bits, char *out, size_t cap);

/* ---- the answer ---- */

/* s as it is, appended. */
void apicall_raw(apicall_ctx *c, const char *s);

/* s as a JSON string, appended. */
void apicall_str(apicall_ctx *c, const char *s);

/* "name": value-string (NULL: null), with a comma before unless first. */
void apicall_member_str(apicall_ctx *c, const char *name, const char *value, int first);

/* ,"name": true|false. */
void apicall_member_bool(apicall_ctx *c, const char *name, int v);

/* A list the store read (status): 0 with 200 and `{"results":[` written,
 * the items next (a comma before all but the first); else the store's
 * failure is the answer (apicall_read_failed) and -1. */
int apicall_results_begin(apicall_ctx *c, int status);

/* Ends what apicall_results_begin() began: `],"count":n`, the members
 * in more (raw JSON, each with its leading comma), `}` and a newline. */
void apicall_results_end(apicall_ctx *c, size_t n, const char *more);

/* Answers status with {"detail": msg}, replacing what was written. */
void apicall_detail(apicall_ctx *c, int status, const char *msg);

/* A store write failed and was rolled back: nothing was saved. 503 when
 * the store cannot write (/readyz says so too, until it writes again). */
void apicall_store_failed(apicall_ctx *c);

/* A store write that returned rc != 0: -ENOENT is a 404 saying missing. */
void apicall_write_failed(apicall_ctx *c, int rc, const char *missing);

/* The store could not answer (rc): 503 while shutting down (-ECANCELED)
 * or out of memory, else 500. */
void apicall_read_failed(apicall_ctx *c, int rc);

/* ---- the body ---- */

/* Records an error on field (the first one per field is kept). */
void apicall_field_error(apicall_ctx *c, const char *field, const char *msg);

/* 1 when field is in the body and has passed the checks so far. */
int apicall_field_ok(const apicall_ctx *c, const char *field);

/* Answers 400 with the field errors when there are any. Returns 1 then. */
int apicall_fail_if_invalid(apicall_ctx *c);

/* The body's member name, or NULL (borrowed from c->body). */
yajl_val apicall_member(const apicall_ctx *c, const char *name);

/* Copies a checked string (NULL: "") into dst, cap bytes. The tables'
 * limits fit the store's buffers (STORE_CHARS_BYTES). */
void apicall_copy_text(char *dst, size_t cap, const char *src);

/* The value of query parameter name into out; 1 found, 0 not. */
int apicall_query_param(const apicall_ctx *c, const char *name, char *out, size_t cap);

/* ---- the caller ---- */

/* Fills c->who from the Authorization header: the owner key, or a live
 * access token from POST /oauth/token (read from the store), then runs
 * next; or answers 401. */
void apicall_authenticate(apicall_ctx *c, apicall_step next);

/* 0 when the request's method is method; else answers 405 and returns -1. */
int apicall_require_method(apicall_ctx *c, const char *method);

/* 0 when p holds every scope in need; else answers 403 and returns -1. */
int apicall_require(apicall_ctx *c, const apicall_principal *p, unsigned need);

/* 0 when p is the owner or holds an admin scope; else answers 403, -1. */
int apicall_require_admin(apicall_ctx *c, const apicall_principal *p);

#endif
