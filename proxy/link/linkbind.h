/* linkbind: link binding (anti-phishing), DESIGN.md "Connections".
 *
 * With link.verifier_url set, the Link page stores nothing when the user
 * hands over a credential (after the API-key form, or after the OAuth2
 * code exchange): linkhost_finish() keeps what would be stored in a
 * pending flow here (the credential sealed as for the store, linkseal.h;
 * the link's token, user, connector, callback_url and state) and sends the
 * browser (303) to verifier_url?flow_id=ID. The app's verifier page knows
 * its own signed-in user and confirms with
 * POST /api/v1/link-flows/{ID}/confirm {origin_user_id} (apilinkflows.c):
 * the flow is taken (single use) and stored only when origin_user_id is
 * the link's registered user. A forwarded link, opened by someone signed
 * in to the app as another user, connects nothing.
 *
 * A flow id is "lbf_" + 32 random hex digits (128 bits), single use,
 * expires after LINKBIND_TTL_MS (ended flows are kept that long too, for
 * the browser's done page); at most LINKBIND_MAX flows are kept at once.
 * Lives on the control loop (linkhost_t.bind); not thread-safe.
 */
#ifndef AUTHRELAY_LINKBIND_H
#define AUTHRELAY_LINKBIND_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "dynbuf.h"
#include "pausehub.h"

#define LINKBIND_MAX 1000                    /* flows kept: waiting for the app, or ended recently */
#define LINKBIND_TTL_MS (10 * 60 * 1000)     /* how long one waits */
#define LINKBIND_ID_PREFIX "lbf_"
#define LINKBIND_ID_LEN (4 + 32)             /* "lbf_" + 32 hex digits */
#define LINKBIND_LOCATION_MAX 3000           /* bytes of the redirect to the verifier */
#define LINKBIND_DONE_PATH "/_authrelay/link-flows/done" /* ?flow_id=: the browser's page after it */

/* Where a flow is. */
typedef enum linkbind_state {
  LINKBIND_WAITING = 0,  /* for the app's confirmation */
  LINKBIND_SPENT,        /* confirmation taken, its answer not known yet */
  LINKBIND_CONNECTED,    /* confirmed: the credential is stored, the link completed */
  LINKBIND_REFUSED       /* another user confirmed, or storing failed: nothing stored */
} linkbind_state;

/* A credential waiting for the app's confirmation. In the list (owned by
 * linkbind_t) until it expires, kept after it was taken (without its
 * credential) so that the browser's done page can say how it ended; a
 * copy taken by linkbind_take() is the caller's (linkbind_flow_free). */
typedef struct linkbind_flow {
  struct linkbind_flow *next;          /* linkbind_t.flows */
  linkbind_state state;
  char id[LINKBIND_ID_LEN + 1];        /* the flow_id the verifier gets */
  pausehub_link_view v;                /* the link (connector: the one connected) */
  char kind[8];                        /* "api_key" or "oauth2" */
  char name[CATALOG_NAME_MAX + 1];     /* the connector's display name */
  char base_url[600];                  /* the base the browser used: the Link page's URL after it */
  dynbuf sealed;                       /* the credential, sealed to its row (secret; wiped at free) */
  uint64_t token_expires_ms;           /* its access token's expiry (0: unknown), for the store and events */
  uint64_t created_ms;
} linkbind_flow;

/* The pending flows of one link service. */
typedef struct linkbind_t {
  linkbind_flow *flows;
  size_t nflows;
} linkbind_t;

/* An empty set. */
void linkbind_init(linkbind_t *b);

/* A new flow for link v (copied) holding *sealed (moved: *sealed is left
 * empty) and its access token's expiry token_expires_ms (0: unknown), kind
 * and name (copied), base_url (copied, may be ""). Flows past
 * their time are dropped first; a link has one flow at a time (an older
 * one of v's token is dropped). On success *out points at the flow (owned
 * by b; for its id). Returns 0, -ENOSPC (LINKBIND_MAX kept), -ENOMEM
 * or -EIO (no random source); on error *sealed is wiped and freed. */
int linkbind_add(linkbind_t *b, const pausehub_link_view *v, const char *kind, const char *name,
                 const char *base_url, uint64_t token_expires_ms, dynbuf *sealed, uint64_t now_ms,
                 const linkbind_flow **out);

/* Takes waiting flow id (single use): the caller owns the copy returned
 * (the credential moved into it; linkbind_flow_free), the list keeps the
 * flow as LINKBIND_SPENT. NULL when unknown, spent, expired or out of
 * memory (*nomem set then; the flow still waits). */
linkbind_flow *linkbind_take(linkbind_t *b, const char *id, uint64_t now_ms, int *nomem);

/* How taken flow id ended (LINKBIND_CONNECTED or LINKBIND_REFUSED), if it
 * is still listed. */
void linkbind_settle(linkbind_t *b, const char *id, linkbind_state state);

/* Flow id as listed (borrowed until the next call on b), or NULL when
 * unknown or expired. */
const linkbind_flow *linkbind_find(linkbind_t *b, const char *id, uint64_t now_ms);

/* Wipes and frees a taken flow (NULL: nothing). */
void linkbind_flow_free(linkbind_flow *f);

/* Appends verifier_url with flow_id=id added to its query, NUL-terminated,
 * to out. Returns 0 or a dynbuf error. */
int linkbind_location(dynbuf *out, const char *verifier_url, const char *id);

/* Appends, NUL-terminated, where the browser goes after the app's
 * confirmation: when connected and the link has a callback_url, it (with
 * state); else the done page, base_url + LINKBIND_DONE_PATH + "?flow_id="
 * + id ("Connected", or "Not connected"). Returns 0 or a dynbuf error. */
int linkbind_done_url(dynbuf *out, const linkbind_flow *f, int connected);

/* callback_url with ?state= or &state= (when state is not ""), NUL-
 * terminated, appended to out. Returns 0 or a dynbuf error. */
int linkbind_callback_url(dynbuf *out, const char *callback_url, const char *state);

/* 1 when id has the shape of a flow id, else 0. */
int linkbind_id_valid(const char *id);

/* Forgets every flow (wiped). */
void linkbind_close(linkbind_t *b);

#endif
