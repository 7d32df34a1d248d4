/* oauthflow: the OAuth2 authorization-code flow engine of the hosted Link
 * page (DESIGN.md "Link service"), on the control loop.
 *
 * linkhost hands it a pending link of an OAuth2 connector
 * (oauthflow_start): the link's application credential is read from the
 * store, a flow is kept (state, PKCE verifier, the browser's cookie) and
 * the browser is sent to the provider (oauth2_connector_authorize_url: the
 * connector's scopes and authorize_params). The provider sends the browser
 * back to /_authrelay/oauth/callback (oauthflow_callback): the flow is
 * taken by its state and cookie, the code is exchanged for tokens
 * (oauth2_exchange, over curlloop on the loop, the client authenticated as
 * the connector's token_auth says) using the credential's client secret
 * (opened above the store, linkseal.h), and linkhost_finish() stores the
 * token (as JSON: access_token, token_type, refresh_token, expires_in) and
 * completes the link. Every step that reads the store continues
 * in the store's callback; the page (pausehub_page) is answered exactly
 * once, at the end of whichever step ends the flow.
 */
#ifndef AUTHRELAY_OAUTHFLOW_H
#define AUTHRELAY_OAUTHFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "list.h"
#include "pausehub.h"

#define OAUTHFLOW_MAX 10000                    /* flows waiting for the provider's redirect */
#define OAUTHFLOW_TTL_MS (10 * 60 * 1000)      /* how long such a flow waits */
#define OAUTHFLOW_CALLBACK_PATH "/_authrelay/oauth/callback"
#define OAUTHFLOW_COOKIE "authrelay_oauth"     /* binds a flow to the browser that began it */

typedef struct oauthflow oauthflow;
typedef struct linkhost_t linkhost_t;

/* The flows of one linkhost (oauthflow_init). */
typedef struct oauthflow_t {
  oauthflow *flows;      /* sent to the provider, not back yet */
  size_t nflows;
  list_node exchanging;  /* whose code is being exchanged (oauthflow.exchange_link) */
} oauthflow_t;

/* An empty set of flows. */
void oauthflow_init(oauthflow_t *o);

/* GET on the pending link v of OAuth2 connector cc: off to the provider
 * (or a refusal). pg is answered later. */
void oauthflow_start(linkhost_t *lh, pausehub_page *pg, const pausehub_link_view *v, const catalog_connector *cc);

/* /_authrelay/oauth/callback?code=...&state=... (or error=...). pg is
 * answered later. */
void oauthflow_callback(linkhost_t *lh, pausehub_page *pg);

/* Code exchanges in flight (metrics). */
size_t oauthflow_exchanging(const oauthflow_t *o);

/* Forgets every flow; exchanges in flight are cancelled (no callback) and
 * their pages freed unanswered (the workers have stopped). Call it before
 * the curlloop the exchanges run on is closed. */
void oauthflow_close(oauthflow_t *o);

#endif
