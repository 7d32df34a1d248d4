/* linkhost: the embedded link service on the control loop.
 *
 * DESIGN.md "Operations": one control loop owns SQLite, the link service and
 * libcurl. linkhost is that owner. At start it loads the secret key, opens
 * the store (linkstore.h), loads the connector catalog (catalog.h) and puts
 * the store's recent links back into the shared link state (pausehub.h).
 * Then, on the control loop:
 *   - the journal: links minted or ended on any thread are written to the
 *     store;
 *   - the hosted Link page (/_authrelay/link/{token}, /_authrelay/oauth/
 *     callback), handed over by the workers: an API-key form, or an OAuth2
 *     authorization-code flow with PKCE and state whose code is exchanged
 *     with libcurl driven by this loop (curlloop.h). The credential is
 *     sealed into the store against the registered user, the link is
 *     completed (waiting streams resume) and the browser goes to the link's
 *     callback_url with its state, or sees "Connected".
 * The API on the control listener (linkapi.h) uses the same store and hub.
 */
#ifndef AUTHRELAY_LINKHOST_H
#define AUTHRELAY_LINKHOST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "curlloop.h"
#include "linkstore.h"
#include "notify.h"
#include "pausehub.h"
#include "remote.h"
#include "storehealth.h"
#include "list.h"

#define LINKHOST_FLOWS_MAX 10000     /* OAuth2 flows waiting for the provider's redirect */
#define LINKHOST_FLOW_TTL_MS (10 * 60 * 1000) /* how long such a flow waits */
#define LINKHOST_CALLBACK_PATH "/_authrelay/oauth/callback"
#define LINKHOST_COOKIE "authrelay_oauth" /* binds an OAuth2 flow to the browser that began it */
#define LINKHOST_OWNER_KEY_FILE "owner.key" /* generated owner key, mode 0600 */

typedef struct linkhost_flow linkhost_flow;

typedef struct linkhost_t {
  uv_loop_t *loop;           /* the control loop; not owned */
  const config_t *cfg;       /* not owned; replaced by linkhost_reload */
  pausehub_t *hub;           /* not owned */
  linkstore_t store;
  storehealth_t store_health; /* /readyz's view of the store; probes it after a failed write */
  int store_health_open;
  const catalog_t *catalog;  /* the connectors file's; not owned; replaced by linkhost_reload */
  curlloop_t curl;
  int curl_open;
  notify_t notify;           /* link events: /v1/events and webhooks */
  int notify_open;
  remote_t remote;           /* link_service.url set: the remote link service */
  int remote_open;
  linkhost_flow *flows;      /* OAuth2 flows: sent to the provider, not back yet */
  size_t nflows;
  list_node exchanging;      /* flows whose code is being exchanged (linkhost_flow.exchange_link) */
  char owner_key[1025];      /* the control API's owner key: admin_key or generated */
  uint64_t stored_links;     /* journal records written */
  uint64_t store_errors;     /* journal records the store refused */
  uint64_t completed[2];     /* links completed, by catalog_auth */
  uint64_t provider_failures; /* OAuth code exchanges that failed (refused, timeout, unreachable) */
} linkhost_t;

/* Opens everything (data_dir created when missing, mode 0700), restores
 * links, attaches to hub. The owner key is admin_key, else the one in
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

/* Detaches from the hub (the last journal records are written), closes
 * libcurl's handles and the store. The loop must run once more for the
 * handles' close callbacks. */
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
 * end lost to a full journal) shows expired or revoked. Returns 0 or
 * -ENOENT (unknown, or a malformed token). */
int linkhost_lookup(linkhost_t *lh, const char *token, size_t token_len, pausehub_link_view *v);


#endif
