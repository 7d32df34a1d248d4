/* config_check: what config_load() does once every layer is applied, when
 * the whole config is known: "upstream" becomes route "/", routes inherit
 * the global on_detect, get their upstream split into host and port and
 * are sorted longest prefix first; listen and control are split; and the
 * checks that span keys (write watermarks, listen apart from control).
 * Checks of one value happen when it is set (config_value.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "url.h"

/* ---- after the layers ---- */

static int route_cmp(const void *a, const void *b) {
  const config_route *ra = a;
  const config_route *rb = b;
  if (ra->prefix_len != rb->prefix_len)
    return ra->prefix_len > rb->prefix_len ? -1 : 1;
  return strcmp(ra->prefix, rb->prefix);
}

/* Gives "upstream" to route "/", adding it if needed. */
static int apply_upstream(load_ctx *x, config_t *c) {
  config_route *grown;
  size_t i;
  int rc;
  if (c->upstream == NULL)
    return 0;
  for (i = 0; i < c->nroutes; i++) {
    if (strcmp(c->routes[i].prefix, "/") == 0) {
      rc = config_store_str(x, &c->routes[i].upstream, c->upstream, strlen(c->upstream));
      return rc;
    }
  }
  grown = realloc(c->routes, (c->nroutes + 1) * sizeof *grown);
  if (grown == NULL)
    return config_fail_nomem(x);
  c->routes = grown;
  rc = config_route_defaults(x, c, &c->routes[c->nroutes]);
  c->nroutes++;
  if (rc == 0)
    rc = config_store_str(x, &c->routes[c->nroutes - 1].prefix, "/", 1);
  if (rc == 0)
    rc = config_store_str(x, &c->routes[c->nroutes - 1].upstream, c->upstream, strlen(c->upstream));
  return rc;
}

int config_finish(load_ctx *x, config_t *c) {
  size_t i;
  int rc = apply_upstream(x, c);
  if (rc != 0)
    return rc;
  if (c->nroutes == 0)
    return config_fail(x, "config: upstream: nothing to relay to: set --upstream http://HOST:PORT "
                   "(or AUTHRELAY_UPSTREAM, or \"upstream\" or \"routes\" in the config file)");
  for (i = 0; i < c->nroutes; i++) {
    config_route *r = &c->routes[i];
    r->prefix_len = strlen(r->prefix);
    if (r->on_detect_inherited)
      r->on_detect = c->on_detect;
    free(r->upstream_host);
    r->upstream_host = NULL;
    if (!config_verdict_ok(config_parse_url(r->upstream, &r->upstream_host, r->upstream_port)))
      return config_fail_nomem(x); /* it was checked when set: only strndup can fail */
    if (r->credentials.header != NULL && strcasecmp(r->credentials.header, c->identity.header) == 0)
      return config_fail(x, "config: routes: credentials.header of \"%s\" is identity.header: "
                         "the credential would take the registered user's place", r->prefix);
  }
  qsort(c->routes, c->nroutes, sizeof *c->routes, route_cmp);
  if (!config_verdict_ok(config_parse_addr(c->listen, &c->listen_host, &c->listen_port)) ||
      !config_verdict_ok(config_parse_addr(c->control, &c->control_host, &c->control_port)))
    return config_fail_nomem(x);
  if (c->write_low_watermark >= c->write_high_watermark)
    return config_fail(x, "config: write_low_watermark: must be less than write_high_watermark "
                   "(%zu >= %zu)", c->write_low_watermark, c->write_high_watermark);
  if (c->link.logo_url[0] != '\0' && strncasecmp(c->link.logo_url, "https://", 8) != 0)
    return config_fail(x, "config: link.logo_url: must be an https:// URL (the Link page loads no other images)");
  if (c->link.verifier_url[0] != '\0' &&
      (url_check(c->link.verifier_url, 0, URL_NO_FRAGMENT) != 0 ||
       !(url_is_https(c->link.verifier_url) || url_is_loopback(c->link.verifier_url))))
    return config_fail(x, "config: link.verifier_url: must be an absolute https:// URL without a fragment "
                          "(http:// only to loopback)");
  if (c->link.verifier_url[0] != '\0' && c->link_service.url[0] != '\0')
    return config_fail(x, "config: link.verifier_url: not with link_service.url (the remote service's Link page "
                          "stores the credential, authrelay cannot hold it back)");
  if (c->listen_port != 0 && c->listen_port == c->control_port &&
      strcmp(c->listen_host, c->control_host) == 0)
    return config_fail(x, "config: control: must differ from listen (both are %s)", c->listen);
  return 0;
}
