/* linkhost: the embedded link service on the control loop.
 *
 * DESIGN.md "Operations": one control loop owns the store, the link
 * service and libcurl. linkhost is that owner. At start it loads the secret
 * key, opens the store (store.h: "sqlite:<data_dir>/authrelay.db"), loads
 * the connector catalog (catalog.h) and puts the store's recent links back
 * into the shared link state (pausehub.h), page by page. Then, on the
 * control loop:
 *   - the journal: links minted or ended on any thread are written to the
 *     store in order, a batch (one transaction) at a time, again after a
 *     back-off when the store refused it (linkjournal.h);
 *   - the hosted Link page (/_authrelay/link/{token}), handed over by the
 *     workers: an API-key form, or an OAuth2 authorization-code flow
 *     (oauthflow.h). The credential is sealed (linkseal.h) and stored
 *     against the registered user, the link is completed (waiting streams
 *     resume) and the browser goes to the link's callback_url with its
 *     state, or sees "Connected". Each step that needs the store continues
 *     in the store's callback; the page is answered at the end.
 * The API on the control listener (linkapi.h) uses the same store and hub.
 */
#ifndef AUTHRELAY_LINKHOST_H
#define AUTHRELAY_LINKHOST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "connections.h"
#include "curlloop.h"
#include "linkbind.h"
#include "notify.h"
#include "oauthflow.h"
#include "linkjournal.h"
#include "linkpeers.h"
#include "pausehub.h"
#include "remote.h"
#include "secretbox.h"
#include "store.h"
#include "storehealth.h"

#define LINKHOST_OWNER_KEY_FILE "owner.key" /* generated owner key, mode 0600 */
#define LINKHOST_RESTORE_PAGE 256           /* stored links read back per store call at start */

struct linkhost_t {
  uv_loop_t *loop;           /* the control loop; not owned */
  const config_t *cfg;       /* not owned; replaced by linkhost_reload */
  pausehub_t *hub;           /* not owned */
  store_t store;              /* the rows (store.h) */
  unsigned char key[SECRETBOX_KEY_BYTES]; /* seals secrets above the store; wiped at close */
  storehealth_t store_health; /* /readyz's view of the store; probes it after a failed write */
  int store_health_open;
  const catalog_t *catalog;  /* the connectors file's; not owned; replaced by linkhost_reload */
  curlloop_t curl;
  int curl_open;
  notify_t notify;           /* link events: /v1/events and webhooks */
  int notify_open;
  remote_t remote;           /* link_service.url set: the remote link service */
  int remote_open;
  oauthflow_t oauth;         /* the Link page's OAuth2 flows */
  connections_t conns;              /* connected accounts handed out and refreshed (the token API) */
  linkbind_t bind;                  /* link.verifier_url set: credentials waiting for the app's confirmation */
  linkpeers_t peers;         /* PostgreSQL store: link ends from and to the other replicas */
  linkjournal_t journal;     /* writes the journal's rows, in order, again when refused */
  int journal_open;
  unsigned journal_writes;   /* writes that must land before the store closes: journal batches, notify_close's */
  int closing;               /* linkhost_close() ran: the store closes after the last batch */
  int restoring;             /* at open: stored links are being read back */
  int restore_status;        /* how that ended */
  uint64_t restore_since_ms; /* links created since then come back */
  uint64_t restore_after_ms; /* the key of the last link read back: created_ms, token */
  char restore_after[64];
  char owner_key[1025];      /* the control API's owner key: admin_key or generated */
  uint64_t completed[2];     /* links completed, by catalog_auth */
  uint64_t provider_failures; /* OAuth code exchanges that failed (refused, timeout, unreachable) */
  uint64_t declined;         /* links the user declined ("Not now") */
  uint64_t connectors_unusable; /* OAuth2 connectors met without an application credential */
  uint64_t bind_refused;     /* link bindings refused: another user confirmed */
};

/* Opens everything (data_dir created when missing, mode 0700), restores
 * links (running loop until the store has given them back: before any
 * worker runs, as pausehub_restore() requires), attaches to hub. The owner key is admin_key, else the one in
 * data_dir/owner.key, else a new one written there and printed once on
 * stdout. Returns 0 or a negative error with a one-line
 * message in err. On error nothing needs closing. */
int linkhost_open(linkhost_t *lh, uv_loop_t *loop, const config_t *cfg, const catalog_t *catalog,
                  pausehub_t *hub, char *err, size_t errlen);

/* A reloaded config (and its catalog) replaces the one in use, on the
 * control loop: links are minted, webhooks signed and sent, the Link page
 * and the API answer by it from now on. Both must outlive their use (until
 * the next reload or linkhost_close); the keys needing a restart must hold
 * the running values (cfgsnap_keep_restart_keys). */
void linkhost_reload(linkhost_t *lh, const config_t *cfg, const catalog_t *catalog);

/* Detaches from the hub (the last journal records are written: the store
 * closes once it answered them), closes libcurl's handles and the store.
 * The loop must run on for the handles' close callbacks. */
void linkhost_close(linkhost_t *lh);

/* Appends the link service's Prometheus metrics to out. Returns 0 or a
 * dynbuf error. */
int linkhost_render_metrics(linkhost_t *lh, dynbuf *out);

/* The base of magic_link_url for links minted without a proxy request
 * (the link-token API): linkbase_of() with no Host (public_url, else the
 * listen address, never a wildcard one). */
void linkhost_base_url(const linkhost_t *lh, char *out, size_t cap);

/* What the link page knows of token[0, token_len): the hub's copy
 * (pending links and the latest ended ones), else the store's row, for an
 * ended link the hub has forgotten (linksvc.h: ended_max). Only the hub's
 * pending links are usable: a row still pending in the store alone (its
 * end lost to a full journal) shows expired or revoked. cb gets 0 and the
 * view, or -ENOENT (unknown, or a malformed token) or a store error; it
 * runs before linkhost_lookup returns when the hub knows the answer, later
 * (from the store's callback) otherwise: call it last. */
typedef void (*linkhost_lookup_cb)(linkhost_t *lh, void *data, int status, const pausehub_link_view *v);
void linkhost_lookup(linkhost_t *lh, const char *token, size_t token_len, linkhost_lookup_cb cb, void *data);

/* The credential of the pending link v is in hand (kind "api_key" or
 * "oauth2", secret[0, len) copied): makes sure the registered user exists,
 * stores the credential sealed, completes the link and answers pg
 * ("Connected", or the redirect to callback_url; name: the connector's) —
 * or answers the error (410 link no longer usable, 503 store cannot write:
 * nothing changed). Later, from the store's callbacks. */
void linkhost_finish(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v, const char *kind,
                     const char *secret, size_t len, const char *name);

/* With link.verifier_url set, linkhost_finish stores nothing: it keeps the
 * sealed credential in a flow (linkbind.h) and answers pg with a 303 to
 * the verifier. The app's confirmation (apilinkflows.c) then stores it:
 * linkhost_commit makes sure the registered user exists, stores f's
 * credential, completes the link and calls cb(data, status) from the
 * store's callback: 0, -ESTALE (the link ended meanwhile: the credential
 * is stored, no link completed), or the store's error (nothing stored;
 * lh->store.health says whether it cannot write). Returns 0 (cb runs
 * later), -ESTALE (the link is no longer pending: nothing stored, cb does
 * not run) or another error (nothing started). f is copied. */
typedef void (*linkhost_commit_cb)(void *data, int status);
int linkhost_commit(linkhost_t *lh, const linkbind_flow *f, linkhost_commit_cb cb, void *data);

/* Answers pg with status (its html set), or with the refusal page. */
void linkhost_answer(pausehub_page *pg, int status);
void linkhost_refuse(pausehub_page *pg, int status, const char *reason);


/* A store write that must land before the store closes (linkhost_close()
 * waits for its answer): hold before starting it, release in its callback. */
void linkhost_write_hold(linkhost_t *lh);
void linkhost_write_release(linkhost_t *lh);

#endif
