/* connections: a registered user's connected accounts, handed out fresh
 * (DESIGN.md "Connections: the credential reaches the tool").
 *
 * The Link page stores a credential sealed against (user, connector)
 * (linkhost_finish); this module reads it back for the token API
 * (api/apiconnections.c) and keeps it usable:
 *   - an OAuth2 access token that expires within
 *     CONNECTIONS_REFRESH_MARGIN_MS is refreshed first (refresh_token grant, oauth2_refresh over curlloop on
 *     the control loop), the new token (and a rotated refresh token) sealed
 *     and written before anyone is answered: a token the store did not
 *     take is never handed out;
 *   - single flight: one read-and-maybe-refresh per (user, connector) at a
 *     time. A caller asking while one is under way waits on it and gets its
 *     result; nobody starts a second refresh. (A table of flights, each with
 *     its list of waiters.)
 *   - single flight across replicas sharing a store: a refresh starts only
 *     once its flight claimed the row's refresh lease (store.h
 *     credential_lease, a row lock for the claim's own transaction only;
 *     nothing is held across the provider's HTTP call). The lease lasts
 *     CONNECTIONS_LEASE_MARGIN_MS more than the longest the refresh may
 *     take (provider_timeout_s, and store_timeout_s for each of the two
 *     store calls around it), so it ends before a second refresh can start
 *     unless its holder died; a refresh that fails gives it up at once
 *     (credential_lease_end). A flight that finds another's lease in force
 *     hands out the current token while it is valid; an expired one waits
 *     (a uv timer, re-reading the row every CONNECTIONS_LEASE_POLL_MIN_MS,
 *     doubling to _MAX_MS) until the row's version changes (the refreshed
 *     token, or broken) or the lease ends (it claims it then), for at most
 *     two leases, then answers as a failed refresh (-ETIMEDOUT).
 *   - a provider answering invalid_grant marks the connection broken (in
 *     the store, guarded by the row's version: a reconnection meanwhile is
 *     never marked), and the callers get -ENOLINK: a new link is needed.
 * Deleting a connection revokes it at the provider first (RFC 7009) when
 * the catalog has a revocation_url. Every change is an event
 * (notify_connection): connection_created, _refreshed, _broken, _deleted.
 *
 * Secrets: the plaintext exists only while a flight answers its waiters,
 * and is wiped then; nothing here logs a token.
 * Lives on the control loop (linkhost), not thread-safe.
 */
#ifndef AUTHRELAY_CONNECTIONS_H
#define AUTHRELAY_CONNECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "catalog.h"
#include "curlloop.h"
#include "dynbuf.h"
#include "oauth2.h"

#define CONNECTIONS_REFRESH_MARGIN_MS 60000   /* tokens expiring within this are refreshed before being handed out */
#define CONNECTIONS_PROVIDER_TIMEOUT_MS 10000 /* a call to the provider without a config; else provider_timeout_s */
#define CONNECTIONS_FLIGHTS_MAX 1024          /* connections being read or refreshed at once: -EBUSY beyond */
#define CONNECTIONS_WAITERS_MAX 1024          /* callers waiting on one connection: -EBUSY beyond */
#define CONNECTIONS_REREADS_MAX 2             /* re-reads when the row changed under a refresh */
#define CONNECTIONS_SCOPES_MAX 2048           /* bytes of a token's scopes */
#define CONNECTIONS_LEASE_MARGIN_MS 1000      /* a refresh lease: the longest refresh plus this */
#define CONNECTIONS_LEASE_POLL_MIN_MS 50      /* first re-read while another replica refreshes */
#define CONNECTIONS_LEASE_POLL_MAX_MS 1000    /* re-reads back off up to this */

typedef struct linkhost_t linkhost_t;

/* The refresh request (oauth2_refresh's shape); tests put stand-ins in
 * connections_t.refresh, .revoke and .cancel. */
typedef int (*connections_refresh_fn)(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                                      const char *refresh_token, long timeout_ms, oauth2_done_cb cb, void *ctx,
                                      oauth2_req **out);
/* The revocation request (oauth2_revoke's shape). */
typedef int (*connections_revoke_fn)(curlloop_t *cl, const catalog_connector *cc, const oauth2_client *client,
                                     const char *token, const char *token_type_hint, long timeout_ms, oauth2_done_cb cb,
                                     void *ctx, oauth2_req **out);
typedef void (*connections_cancel_fn)(oauth2_req *r);

typedef struct connections_flight connections_flight;

typedef struct connections_t {
  linkhost_t *lh;                 /* store, key, catalog, curl, notify; not owned */
  connections_refresh_fn refresh; /* oauth2_refresh */
  connections_revoke_fn revoke;   /* oauth2_revoke */
  connections_cancel_fn cancel;   /* oauth2_cancel */
  connections_flight *flights;    /* reads and refreshes under way; owned */
  size_t nflights;
  size_t waiting;              /* callers waiting, over all flights */
  uint64_t refreshes;          /* refreshes the provider answered with a token (and stored) */
  uint64_t refresh_failures;   /* refreshes that failed (provider, or the store refused the token) */
  uint64_t broken;             /* connections marked broken (invalid_grant) */
  uint64_t revocations_failed; /* deletions whose revocation at the provider failed (deleted anyway) */
  uint64_t lease_waits;        /* reads that found the refresh leased by another replica (or flight) */
  uv_timer_t lease_timer;      /* wakes the flights waiting on another's refresh */
  int lease_timer_open;        /* lease_timer initialised (closed by connections_close) */
  int closing;
} connections_t;

/* A connection's credential, for the time of a callback. */
typedef struct connections_cred {
  const char *connector;
  const char *kind;       /* "oauth2" or "api_key" */
  const char *secret;     /* the access token, or the API key */
  const char *token_type; /* "Bearer" as the provider spelled it; "" for an API key */
  uint64_t expires_ms;    /* 0: unknown or never */
  const char *scopes;     /* space-separated, "" when none */
} connections_cred;

/* status: 0 (t set, valid during the call only), or
 *   -ENOENT       no connection
 *   -ENOLINK      the connection is broken (now or before): a new link is needed
 *   -EKEYEXPIRED  the access token expired and cannot be refreshed (no
 *                 refresh token, refresh: false, not in the catalog)
 *   -EBADMSG      the stored credential does not open or parse
 *   -EIO          the store failed (a refreshed token was not saved: not handed out)
 *   -ECANCELED    shutting down
 *   or the provider's failure (oauth2_done_cb's: -EAGAIN, -EACCES, -EPROTO,
 *   -ETIMEDOUT, ...) when the current token has expired; -ETIMEDOUT also
 *   when another replica's refresh did not end within two leases. */
typedef void (*connections_token_cb)(void *data, int status, const connections_cred *t);

/* A deletion's outcome: 0, -ENOENT, -EIO, -ECANCELED. */
typedef void (*connections_done_cb)(void *data, int status);

/* Zeroes cs for lh (its store, key, catalog, curl and notify are used
 * from the first call on), with oauth2_refresh, oauth2_revoke and
 * oauth2_cancel. */
void connections_init(connections_t *cs, linkhost_t *lh);

/* Answers the callers waiting on refreshes at the provider, or on another
 * replica's refresh, with -ECANCELED (their requests cancelled) and refuses
 * new calls; flights waiting on the store end when the store answers (or
 * cancels). Closes the lease timer (the loop must run on). Call before
 * closing curl and the store. */
void connections_close(connections_t *cs);

/* The fresh credential of user (origin_user_id) for connector, to cb
 * later (never before connections_token returned). Returns 0, or -ECANCELED,
 * -EBUSY (too many flights or waiters), -ENOMEM, a store error: cb does
 * not run then. */
int connections_token(connections_t *cs, const char *user, const char *connector, connections_token_cb cb, void *data);

/* Deletes user's connection to connector: revoked at the provider first
 * when it is OAuth2 and the catalog has a revocation_url (a failed
 * revocation is logged and counted, and the row is deleted anyway: the
 * secret leaves authrelay either way), then the row, then the
 * connection_deleted event; cb later. Returns as connections_token. */
int connections_delete(connections_t *cs, const char *user, const char *connector, connections_done_cb cb, void *data);

/* A credential was stored through the Link page: the connection_created
 * event. */
void connections_created(connections_t *cs, const char *user, const char *connector, const char *kind,
                         uint64_t expires_ms);

/* When the access token in an OAuth2 token response secret[0, len)
 * received at now_ms expires (its expires_in); 0 for an API key, an
 * unparsable response or none given. */
uint64_t connections_expiry_ms(const char *kind, const char *secret, size_t len, uint64_t now_ms);

/* Appends the Prometheus metrics of token hand-outs and refreshes. */
int connections_render_metrics(const connections_t *cs, dynbuf *out);

#endif
