/* connections: connected accounts handed out fresh: the single-flight table of
 * reads and refreshes, deletion with revocation, the connection events.
 * See connections.h.
 *
 * A flight is one (user, connector) being read and maybe refreshed:
 *   read the row (store) -> fresh enough: answer every waiter
 *                        -> expiring: the refresh lease (store), the
 *                           application credential (store),
 *                           the refresh (provider), the new token sealed
 *                           and written (store, guarded by the version
 *                           read), then answer every waiter
 *                        -> invalid_grant: marked broken (store), answered
 *                           -ENOLINK.
 * A write refused because the row changed meanwhile (reconnected or
 * deleted) reads it again, at most CONNECTIONS_REREADS_MAX times. A lease
 * held by another (replica): the current token while it is valid, else a
 * wait on the lease timer and the row read again (the lease is claimed
 * once it ended, unless the row changed: the other's result). A flight leaves
 * the table before its waiters are answered: a caller asking from inside
 * its callback starts a new flight, which reads what was just written.
 * Deletions are flights too (deleting set), never found by connections_token. */
#include "connections.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"
#include "linkhost.h"
#include "linkseal.h"
#include "log.h"
#include "prom.h"
#include "timefmt.h"

typedef struct connections_waiter {
  struct connections_waiter *next;
  connections_token_cb cb;
  void *data;
} connections_waiter;

struct connections_flight {
  connections_flight *next;
  connections_flight *prev;
  connections_t *cs;
  char user[STORE_TEXT_MAX + 2];
  char connector[STORE_TEXT_MAX + 1];
  connections_waiter *waiters; /* in arrival order */
  connections_waiter **tail;
  size_t nwaiters;
  int deleting; /* a connections_delete: del_cb, never in connections_token's lookups */
  connections_done_cb del_cb;
  void *del_data;
  unsigned rereads;
  store_credential row; /* as read */
  dynbuf plain;         /* the opened credential: an API key, or the token response */
  oauth2_token tok;     /* an OAuth2 credential, parsed */
  char scopes[CONNECTIONS_SCOPES_MAX + 1];
  catalog_connector cc;
  char client_id[STORE_CHARS_BYTES(STORE_TEXT_MAX)];
  dynbuf client_secret; /* opened; "" when the application has none */
  int has_client_secret;
  oauth2_req *req; /* the provider request in flight */
  dynbuf sealed;   /* a refreshed credential, sealed */
  uint64_t new_expires_ms;
  int lease_wait;         /* waiting on another's refresh: read again at poll_at */
  uint64_t poll_at;       /* uv_now() ms */
  unsigned poll_ms;       /* the next wait (doubling) */
  uint64_t wait_until_ms; /* stop waiting then (wall clock); 0: has not waited */
  uint64_t lease_until;   /* the refresh lease this flight holds on row.version ends then; 0: none */
  uint64_t claimed_until; /* the lease being claimed would end then */
};

static uint64_t now_ms(void) {
  return timefmt_now_ms();
}

static store_t *store_of(connections_t *cs) {
  return &cs->lh->store;
}

/* ---- flights ---- */

static connections_flight *flight_find(connections_t *cs, const char *user, const char *connector) {
  connections_flight *f;
  for (f = cs->flights; f != NULL; f = f->next) {
    if (!f->deleting && strcmp(f->user, user) == 0 && strcmp(f->connector, connector) == 0)
      return f;
  }
  return NULL;
}

static connections_flight *flight_new(connections_t *cs, const char *user, const char *connector) {
  connections_flight *f;
  if (strlen(user) >= sizeof f->user || strlen(connector) >= sizeof f->connector)
    return NULL;
  f = calloc(1, sizeof *f);
  if (f == NULL)
    return NULL;
  f->cs = cs;
  snprintf(f->user, sizeof f->user, "%s", user);
  snprintf(f->connector, sizeof f->connector, "%s", connector);
  f->tail = &f->waiters;
  dynbuf_init(&f->plain, STORE_SECRET_MAX);
  dynbuf_init(&f->client_secret, STORE_SECRET_MAX);
  dynbuf_init(&f->sealed, STORE_SECRET_MAX);
  f->next = cs->flights;
  if (cs->flights != NULL)
    cs->flights->prev = f;
  cs->flights = f;
  cs->nflights++;
  return f;
}

static void flight_unlink(connections_flight *f) {
  connections_t *cs = f->cs;
  if (f->prev == NULL && f->next == NULL && cs->flights != f)
    return; /* not listed */
  if (f->prev != NULL)
    f->prev->next = f->next;
  else
    cs->flights = f->next;
  if (f->next != NULL)
    f->next->prev = f->prev;
  f->next = NULL;
  f->prev = NULL;
  cs->nflights--;
}

static void wipe_buf(dynbuf *b) {
  if (b->ptr != NULL)
    OPENSSL_cleanse(b->ptr, b->cap);
  dynbuf_free(b);
}

static void flight_free(connections_flight *f) {
  wipe_buf(&f->plain);
  wipe_buf(&f->client_secret);
  wipe_buf(&f->sealed);
  oauth2_token_wipe(&f->tok);
  free(f);
}

static int flight_add_waiter(connections_flight *f, connections_token_cb cb, void *data) {
  connections_waiter *w;
  if (f->nwaiters >= CONNECTIONS_WAITERS_MAX)
    return -EBUSY;
  w = calloc(1, sizeof *w);
  if (w == NULL)
    return -ENOMEM;
  w->cb = cb;
  w->data = data;
  *f->tail = w;
  f->tail = &w->next;
  f->nwaiters++;
  f->cs->waiting++;
  return 0;
}

static void on_lease_given_up(void *data, int status) {
  (void)status; /* -ENOENT: it ended meanwhile; an error: it ends at its time */
  linkhost_write_release(data);
}

/* Ends f: out of the table first, its refresh lease given up (a refresh
 * that failed: the next caller, here or on another replica, may try at
 * once; started before any waiter is answered, so that a caller's next
 * claim comes after it), then every waiter answered (with the token f
 * holds when status is 0), then freed. */
static void flight_finish(connections_flight *f, int status) {
  connections_t *cs = f->cs;
  connections_waiter *w = f->waiters;
  connections_cred t;
  store_t *st = store_of(cs);
  flight_unlink(f);
  if (f->lease_until != 0 && st->ops != NULL) {
    /* held: at shutdown too, the store closes only once it is answered */
    linkhost_write_hold(cs->lh);
    if (st->ops->credential_lease_end(st, f->user, f->connector, f->row.version, f->lease_until, on_lease_given_up,
                                      cs->lh) != 0)
      linkhost_write_release(cs->lh);
  }
  f->lease_until = 0;
  memset(&t, 0, sizeof t);
  t.connector = f->connector;
  t.kind = f->row.kind;
  t.scopes = f->scopes;
  if (strcmp(f->row.kind, "oauth2") == 0) {
    t.secret = f->tok.access_token;
    t.token_type = f->tok.token_type[0] != '\0' ? f->tok.token_type : "Bearer";
    t.expires_ms = f->row.expires_ms;
  } else {
    t.secret = f->plain.ptr != NULL ? f->plain.ptr : "";
    t.token_type = "";
  }
  if (f->deleting && f->del_cb != NULL)
    f->del_cb(f->del_data, status);
  while (w != NULL) {
    connections_waiter *next = w->next;
    cs->waiting--;
    w->cb(w->data, status, status == 0 ? &t : NULL);
    free(w);
    w = next;
  }
  flight_free(f);
}

/* ---- reading a credential ---- */

static void start_read(connections_flight *f);

/* The "scope" member of a token response (space-separated), or "". */
static void response_scope(const char *body, size_t len, char *out, size_t cap) {
  char copy[OAUTH2_RESPONSE_MAX + 1];
  const char *path[] = {"scope", NULL};
  yajl_val tree;
  yajl_val v;
  const char *s;
  out[0] = '\0';
  if (len > OAUTH2_RESPONSE_MAX)
    return;
  memcpy(copy, body, len);
  copy[len] = '\0';
  tree = yajl_tree_parse(copy, NULL, 0);
  OPENSSL_cleanse(copy, len);
  v = tree != NULL ? yajl_tree_get(tree, path, yajl_t_string) : NULL;
  s = v != NULL ? YAJL_GET_STRING(v) : NULL;
  if (s != NULL && strlen(s) < cap)
    snprintf(out, cap, "%s", s);
  yajl_tree_free(tree); /* holds secrets: yajl frees without wiping, a known limit */
}

uint64_t connections_expiry_ms(const char *kind, const char *secret, size_t len, uint64_t at_ms) {
  oauth2_token tok;
  uint64_t expires = 0;
  if (strcmp(kind, "oauth2") != 0)
    return 0;
  if (oauth2_parse_token_response(secret, len, &tok) == 0 && tok.expires_in > 0)
    expires = at_ms + (uint64_t)tok.expires_in * 1000;
  oauth2_token_wipe(&tok);
  return expires;
}

static void start_refresh(connections_flight *f);
static void delete_row(connections_flight *f);

/* The row and its sealed secret are here: answer, or refresh first. */
static void on_read(void *data, int status, const store_credential *c, const store_blob *sealed) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  uint64_t now = now_ms();
  if (status != 0) {
    flight_finish(f, status);
    return;
  }
  f->row = *c;
  f->plain.len = 0;
  if (linkseal_credential_open(cs->lh->key, f->user, f->connector, sealed, &f->plain) != 0 ||
      dynbuf_add(&f->plain, "", 1) != 0) {
    LOG_ERROR("a stored credential does not open", LOG_STR("connector", f->connector));
    if (f->deleting)
      delete_row(f); /* nothing to revoke with: the row goes all the same */
    else
      flight_finish(f, -EBADMSG);
    return;
  }
  f->plain.len--; /* the NUL stays after the bytes */
  if (f->deleting) {
    start_refresh(f); /* deletion: revocation next */
    return;
  }
  if (c->broken) {
    flight_finish(f, -ENOLINK);
    return;
  }
  if (strcmp(c->kind, "oauth2") != 0) {
    flight_finish(f, 0);
    return;
  }
  if (oauth2_parse_token_response(f->plain.ptr, f->plain.len, &f->tok) != 0) {
    LOG_ERROR("a stored OAuth2 credential does not parse", LOG_STR("connector", f->connector));
    flight_finish(f, -EBADMSG);
    return;
  }
  response_scope(f->plain.ptr, f->plain.len, f->scopes, sizeof f->scopes);
  if (f->scopes[0] == '\0' && catalog_lookup(cs->lh->catalog, f->connector, &f->cc) == 0)
    snprintf(f->scopes, sizeof f->scopes, "%s", f->cc.scopes);
  if (f->row.expires_ms == 0 && f->tok.expires_in > 0) /* stored before expiries were kept */
    f->row.expires_ms = f->row.modified_ms + (uint64_t)f->tok.expires_in * 1000;
  if (f->row.expires_ms == 0 || f->row.expires_ms > now + CONNECTIONS_REFRESH_MARGIN_MS) {
    flight_finish(f, 0);
    return;
  }
  start_refresh(f);
}

static void start_read(connections_flight *f) {
  store_t *st = store_of(f->cs);
  f->lease_until = 0; /* read again: the row was written over (which ended the lease), or none is held */
  int rc = st->ops != NULL ? st->ops->credential_get(st, f->user, f->connector, on_read, f) : -ECANCELED;
  if (rc != 0)
    flight_finish(f, rc);
}

/* The current access token when it is still valid, else status. */
static void finish_or_current(connections_flight *f, int status) {
  if (!f->deleting && f->row.expires_ms > now_ms()) {
    LOG_WARN("token refresh failed: the current token is handed out until it expires",
             LOG_STR("connector", f->connector), LOG_I64("error", status));
    status = 0;
  }
  flight_finish(f, status);
}

/* ---- refreshing (and revoking) at the provider ---- */

static void on_written(void *data, int status);
static void on_marked(void *data, int status);

/* The provider's new token: sealed and written over the version read. */
static void store_refreshed(connections_flight *f, oauth2_token *tok) {
  connections_t *cs = f->cs;
  dynbuf json;
  store_blob b;
  uint64_t now = now_ms();
  int rc;
  /* the provider keeps the refresh token unless it sent a new one */
  if (tok->refresh_token[0] != '\0')
    snprintf(f->tok.refresh_token, sizeof f->tok.refresh_token, "%s", tok->refresh_token);
  snprintf(f->tok.access_token, sizeof f->tok.access_token, "%s", tok->access_token);
  if (tok->token_type[0] != '\0')
    snprintf(f->tok.token_type, sizeof f->tok.token_type, "%s", tok->token_type);
  f->tok.expires_in = tok->expires_in;
  f->new_expires_ms = tok->expires_in > 0 ? now + (uint64_t)tok->expires_in * 1000 : 0;
  dynbuf_init(&json, OAUTH2_RESPONSE_MAX);
  rc = jsonw_raw(&json, "{\"access_token\":");
  if (rc == 0)
    rc = jsonw_cstring(&json, f->tok.access_token);
  if (rc == 0)
    rc = jsonw_raw(&json, ",\"token_type\":");
  if (rc == 0)
    rc = jsonw_cstring(&json, f->tok.token_type[0] != '\0' ? f->tok.token_type : "Bearer");
  if (rc == 0 && f->tok.expires_in > 0) {
    rc = jsonw_raw(&json, ",\"expires_in\":");
    if (rc == 0)
      rc = jsonw_u64(&json, (uint64_t)f->tok.expires_in);
  }
  if (rc == 0 && f->tok.refresh_token[0] != '\0') {
    rc = jsonw_raw(&json, ",\"refresh_token\":");
    if (rc == 0)
      rc = jsonw_cstring(&json, f->tok.refresh_token);
  }
  if (rc == 0 && f->scopes[0] != '\0') {
    rc = jsonw_raw(&json, ",\"scope\":");
    if (rc == 0)
      rc = jsonw_cstring(&json, f->scopes);
  }
  if (rc == 0)
    rc = jsonw_raw(&json, "}");
  f->sealed.len = 0;
  if (rc == 0)
    rc = linkseal_credential(cs->lh->key, f->user, f->connector, json.ptr, json.len, &f->sealed);
  wipe_buf(&json);
  b = linkseal_blob(&f->sealed);
  if (rc == 0)
    rc = store_of(cs)->ops->credential_update(store_of(cs), f->user, f->connector, f->row.version, &b,
                                              f->new_expires_ms, now, on_written, f);
  if (rc != 0) {
    cs->refresh_failures++;
    flight_finish(f, rc == -ECANCELED ? rc : -EIO);
  }
}

static void on_provider(void *ctx, int status, oauth2_token *tok) {
  connections_flight *f = ctx;
  connections_t *cs = f->cs;
  int rc;
  f->req = NULL;
  if (f->deleting) {
    if (status != 0) {
      cs->revocations_failed++;
      LOG_WARN("revocation at the provider failed: the connection is deleted anyway",
               LOG_STR("connector", f->connector), LOG_I64("error", status),
               LOG_I64("http_status", tok != NULL ? tok->http_status : 0));
    }
    delete_row(f);
    return;
  }
  if (status == -EKEYREJECTED) {
    LOG_WARN("the provider refused the refresh token: connection broken", LOG_STR("connector", f->connector));
    rc = store_of(cs)->ops->credential_set_status(store_of(cs), f->user, f->connector, f->row.version, 1, now_ms(),
                                                  on_marked, f);
    if (rc != 0)
      flight_finish(f, -ENOLINK);
    return;
  }
  if (status != 0) {
    cs->refresh_failures++;
    LOG_WARN("token refresh failed", LOG_STR("connector", f->connector), LOG_I64("error", status),
             LOG_I64("http_status", tok != NULL ? tok->http_status : 0));
    finish_or_current(f, status);
    return;
  }
  store_refreshed(f, tok);
}

/* The application credential of the connector: the refresh (or the
 * revocation) goes out with it. */
static void on_app(void *data, int status, const store_app_credential *a, const store_blob *secret) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  oauth2_client client;
  long timeout_ms;
  int rc;
  if (status != 0) {
    LOG_WARN("no application credential for the connector", LOG_STR("connector", f->connector));
    on_provider(f, status == -ENOENT ? -EACCES : status, NULL);
    return;
  }
  snprintf(f->client_id, sizeof f->client_id, "%s", a->client_id);
  f->client_secret.len = 0;
  f->has_client_secret = secret != NULL && secret->ptr != NULL;
  if (f->has_client_secret && (linkseal_app_open(cs->lh->key, a->id, secret, &f->client_secret) != 0 ||
                               dynbuf_add(&f->client_secret, "", 1) != 0)) {
    LOG_ERROR("an application credential's secret does not open", LOG_STR("connector", f->connector));
    on_provider(f, -EACCES, NULL);
    return;
  }
  client.id = f->client_id;
  client.secret = f->has_client_secret ? f->client_secret.ptr : NULL;
  if (cs->closing) {
    flight_finish(f, -ECANCELED);
    return;
  }
  /* provider_timeout_s bounds every call to a provider (the code exchange
   * too): one that does not answer in time is a 504 to the caller */
  timeout_ms = cs->lh->cfg != NULL ? (long)cs->lh->cfg->provider_timeout_s * 1000 : CONNECTIONS_PROVIDER_TIMEOUT_MS;
  if (f->deleting)
    rc = cs->revoke(&cs->lh->curl, &f->cc, &client,
                    f->tok.refresh_token[0] != '\0' ? f->tok.refresh_token : f->tok.access_token,
                    f->tok.refresh_token[0] != '\0' ? "refresh_token" : "access_token", timeout_ms,
                    on_provider, f, &f->req);
  else
    rc = cs->refresh(&cs->lh->curl, &f->cc, &client, f->tok.refresh_token, timeout_ms, on_provider,
                     f, &f->req);
  if (rc != 0) {
    f->req = NULL;
    on_provider(f, rc, NULL);
  }
}

/* ---- the refresh lease: one refresh at a time across replicas ---- */

/* How long a refresh may take at most, and a margin: its three store calls
 * (the claim itself, which may wait for the pool, the application
 * credential, the new token) and the provider's. */
static uint64_t lease_ms(const connections_t *cs) {
  const config_t *cfg = cs->lh->cfg;
  uint64_t provider = cfg != NULL ? (uint64_t)cfg->provider_timeout_s * 1000 : CONNECTIONS_PROVIDER_TIMEOUT_MS;
  uint64_t store = cfg != NULL ? (uint64_t)cfg->store_timeout_s * 1000 : STORE_TIMEOUT_DEFAULT_MS;
  return provider + 3 * store + CONNECTIONS_LEASE_MARGIN_MS;
}

static void on_lease_timer(uv_timer_t *t);

/* (Re)arms the lease timer for the earliest waiting flight, or stops it. */
static void lease_timer_arm(connections_t *cs) {
  connections_flight *f;
  uint64_t now, first = UINT64_MAX;
  if (!cs->lease_timer_open)
    return;
  for (f = cs->flights; f != NULL; f = f->next) {
    if (f->lease_wait && f->poll_at < first)
      first = f->poll_at;
  }
  if (first == UINT64_MAX) {
    uv_timer_stop(&cs->lease_timer);
    return;
  }
  now = uv_now(cs->lh->loop);
  (void)uv_timer_start(&cs->lease_timer, on_lease_timer, first > now ? first - now : 0, 0);
}

/* The flights whose wait is over read their row again, one at a time
 * (a read may end a flight, whose callers may start others). */
static void on_lease_timer(uv_timer_t *t) {
  connections_t *cs = t->data;
  uint64_t now = uv_now(cs->lh->loop);
  connections_flight *f;
  for (;;) {
    for (f = cs->flights; f != NULL; f = f->next) {
      if (f->lease_wait && f->poll_at <= now)
        break;
    }
    if (f == NULL)
      break;
    f->lease_wait = 0;
    oauth2_token_wipe(&f->tok);
    start_read(f);
  }
  lease_timer_arm(cs);
}

/* Another holds the refresh lease: the current token while it is valid,
 * else wait for the row to change or the lease to end (bounded). */
static void wait_for_refresh(connections_flight *f) {
  connections_t *cs = f->cs;
  uint64_t now = now_ms();
  if (f->row.expires_ms > now) {
    flight_finish(f, 0);
    return;
  }
  if (f->wait_until_ms == 0) {
    cs->lease_waits++;
    f->wait_until_ms = now + 2 * lease_ms(cs) + CONNECTIONS_LEASE_POLL_MAX_MS;
    f->poll_ms = CONNECTIONS_LEASE_POLL_MIN_MS;
  } else if (now >= f->wait_until_ms) {
    LOG_WARN("another token refresh did not end in time", LOG_STR("connector", f->connector));
    flight_finish(f, -ETIMEDOUT);
    return;
  }
  if (cs->closing) {
    flight_finish(f, -ECANCELED);
    return;
  }
  if (!cs->lease_timer_open) {
    if (uv_timer_init(cs->lh->loop, &cs->lease_timer) != 0) {
      flight_finish(f, -EIO);
      return;
    }
    cs->lease_timer.data = cs;
    cs->lease_timer_open = 1;
  }
  f->lease_wait = 1;
  f->poll_at = uv_now(cs->lh->loop) + f->poll_ms;
  f->poll_ms = f->poll_ms * 2 < CONNECTIONS_LEASE_POLL_MAX_MS ? f->poll_ms * 2 : CONNECTIONS_LEASE_POLL_MAX_MS;
  lease_timer_arm(cs);
}

/* The lease is this flight's (the refresh goes on), another's (wait), or
 * the row changed since it was read (read it again). */
static void on_lease(void *data, int status) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  int rc;
  if (status == 0)
    f->lease_until = f->claimed_until; /* ours: given up by flight_finish, shutting down too */
  if (cs->closing) {
    flight_finish(f, -ECANCELED);
    return;
  }
  if (status == 0) {
    rc = store_of(cs)->ops->app_for(store_of(cs), f->connector, NULL, on_app, f);
    if (rc != 0)
      flight_finish(f, rc);
    return;
  }
  if (status == -EBUSY) {
    wait_for_refresh(f);
    return;
  }
  if (status == -ENOENT && f->rereads < CONNECTIONS_REREADS_MAX) {
    f->rereads++;
    oauth2_token_wipe(&f->tok);
    start_read(f);
    return;
  }
  cs->refresh_failures++;
  LOG_WARN("the refresh lease could not be claimed", LOG_STR("connector", f->connector), LOG_I64("error", status));
  finish_or_current(f, status == -ECANCELED ? status : -EIO);
}

static void claim_lease(connections_flight *f) {
  connections_t *cs = f->cs;
  store_t *st = store_of(cs);
  uint64_t now = now_ms();
  int rc;
  f->claimed_until = now + lease_ms(cs);
  rc = st->ops != NULL ? st->ops->credential_lease(st, f->user, f->connector, f->row.version, now, f->claimed_until,
                                                   on_lease, f)
                       : -ECANCELED;
  if (rc != 0)
    flight_finish(f, rc);
}

/* Refresh (or, deleting, revoke) when the catalog says how; else answer
 * with what there is. */
static void start_refresh(connections_flight *f) {
  connections_t *cs = f->cs;
  int can;
  int rc;
  if (catalog_lookup(cs->lh->catalog, f->connector, &f->cc) != 0 || f->cc.auth != CATALOG_OAUTH2 ||
      strcmp(f->row.kind, "oauth2") != 0) {
    if (f->deleting)
      delete_row(f);
    else
      flight_finish(f, f->row.expires_ms > now_ms() ? 0 : -EKEYEXPIRED);
    return;
  }
  if (f->deleting) {
    if (oauth2_parse_token_response(f->plain.ptr, f->plain.len, &f->tok) != 0) {
      delete_row(f);
      return;
    }
    can = f->cc.revocation_url[0] != '\0';
  } else {
    can = f->cc.refresh && f->tok.refresh_token[0] != '\0';
  }
  if (!can) {
    if (f->deleting)
      delete_row(f);
    else
      flight_finish(f, f->row.expires_ms > now_ms() ? 0 : -EKEYEXPIRED);
    return;
  }
  if (f->deleting) {
    rc = store_of(cs)->ops->app_for(store_of(cs), f->connector, NULL, on_app, f);
    if (rc != 0)
      flight_finish(f, rc);
    return;
  }
  claim_lease(f);
}

/* The refreshed token is stored (or not). */
static void on_written(void *data, int status) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  if (status == -ENOENT && f->rereads < CONNECTIONS_REREADS_MAX) {
    /* reconnected or deleted meanwhile: what is stored now is the answer */
    f->rereads++;
    oauth2_token_wipe(&f->tok);
    start_read(f);
    return;
  }
  if (status != 0) {
    cs->refresh_failures++;
    LOG_ERROR("a refreshed token could not be stored: not handed out", LOG_STR("connector", f->connector),
              LOG_I64("error", status));
    flight_finish(f, status == -ECANCELED ? status : -EIO);
    return;
  }
  cs->refreshes++;
  f->lease_until = 0; /* ended by the write */
  f->row.expires_ms = f->new_expires_ms;
  if (cs->lh->notify_open)
    notify_connection(&cs->lh->notify, "connection_refreshed", f->user, f->connector, "oauth2", f->new_expires_ms);
  flight_finish(f, 0);
}

/* The connection is marked broken (or the row changed meanwhile). */
static void on_marked(void *data, int status) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  if (status == -ENOENT && f->rereads < CONNECTIONS_REREADS_MAX) {
    f->rereads++;
    oauth2_token_wipe(&f->tok);
    start_read(f);
    return;
  }
  if (status == 0) {
    f->lease_until = 0; /* ended by the write */
    cs->broken++;
    if (cs->lh->notify_open)
      notify_connection(&cs->lh->notify, "connection_broken", f->user, f->connector, "oauth2", 0);
  }
  flight_finish(f, -ENOLINK);
}

/* ---- deleting ---- */

static void on_deleted(void *data, int status) {
  connections_flight *f = data;
  connections_t *cs = f->cs;
  if (status == 0 && cs->lh->notify_open)
    notify_connection(&cs->lh->notify, "connection_deleted", f->user, f->connector, f->row.kind, 0);
  flight_finish(f, status);
}

static void delete_row(connections_flight *f) {
  store_t *st = store_of(f->cs);
  int rc = st->ops != NULL ? st->ops->credential_delete(st, f->user, f->connector, on_deleted, f) : -ECANCELED;
  if (rc != 0)
    flight_finish(f, rc);
}

/* ---- the interface ---- */

void connections_init(connections_t *cs, linkhost_t *lh) {
  memset(cs, 0, sizeof *cs);
  cs->lh = lh;
  cs->refresh = oauth2_refresh;
  cs->revoke = oauth2_revoke;
  cs->cancel = oauth2_cancel;
}

void connections_close(connections_t *cs) {
  connections_flight *f;
  cs->closing = 1;
  for (;;) {
    /* one at a time from the top: a waiter's callback may end others */
    for (f = cs->flights; f != NULL; f = f->next) {
      if (f->req != NULL || f->lease_wait)
        break;
    }
    if (f == NULL)
      break;
    if (f->req != NULL) {
      cs->cancel(f->req);
      f->req = NULL;
    }
    f->lease_wait = 0;
    flight_finish(f, -ECANCELED);
  }
  if (cs->lease_timer_open) {
    cs->lease_timer_open = 0;
    uv_close((uv_handle_t *)&cs->lease_timer, NULL);
  }
}

int connections_token(connections_t *cs, const char *user, const char *connector, connections_token_cb cb, void *data) {
  connections_flight *f;
  int rc;
  if (cs->closing)
    return -ECANCELED;
  f = flight_find(cs, user, connector);
  if (f != NULL)
    return flight_add_waiter(f, cb, data); /* the refresh in flight answers it too */
  if (cs->nflights >= CONNECTIONS_FLIGHTS_MAX)
    return -EBUSY;
  f = flight_new(cs, user, connector);
  if (f == NULL)
    return -ENOMEM;
  rc = flight_add_waiter(f, cb, data);
  if (rc == 0)
    rc = store_of(cs)->ops->credential_get(store_of(cs), f->user, f->connector, on_read, f);
  if (rc != 0) {
    if (f->waiters != NULL) {
      free(f->waiters);
      f->waiters = NULL;
      cs->waiting--;
    }
    flight_unlink(f);
    flight_free(f);
  }
  return rc;
}

int connections_delete(connections_t *cs, const char *user, const char *connector, connections_done_cb cb, void *data) {
  connections_flight *f;
  int rc;
  if (cs->closing)
    return -ECANCELED;
  if (cs->nflights >= CONNECTIONS_FLIGHTS_MAX)
    return -EBUSY;
  f = flight_new(cs, user, connector);
  if (f == NULL)
    return -ENOMEM;
  f->deleting = 1;
  f->del_cb = cb;
  f->del_data = data;
  rc = store_of(cs)->ops->credential_get(store_of(cs), f->user, f->connector, on_read, f);
  if (rc != 0) {
    flight_unlink(f);
    flight_free(f);
  }
  return rc;
}

void connections_created(connections_t *cs, const char *user, const char *connector, const char *kind,
                         uint64_t expires_ms) {
  if (cs->lh->notify_open)
    notify_connection(&cs->lh->notify, "connection_created", user, connector, kind, expires_ms);
}

int connections_render_metrics(const connections_t *cs, dynbuf *out) {
  int rc = prom_gauge(out, "authrelay_connection_token_waiters", "Token API callers waiting on a read or refresh.",
                      cs->waiting);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connection_refreshes_total", "OAuth2 tokens refreshed and stored.",
                      cs->refreshes);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connection_refresh_failures_total", "Refreshes that failed (provider or store).",
                      cs->refresh_failures);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connections_broken_total", "Connections marked broken (invalid_grant).",
                      cs->broken);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connection_revocations_failed_total",
                      "Deleted connections the provider did not revoke.", cs->revocations_failed);
  if (rc == 0)
    rc = prom_counter(out, "authrelay_connection_refresh_lease_waits_total",
                      "Token reads that found the refresh under way elsewhere (another replica) and waited for it.",
                      cs->lease_waits);
  return rc;
}
