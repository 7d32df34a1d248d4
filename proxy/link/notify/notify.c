/* notify: link events to /v1/events and webhooks. See notify.h. */
#include "notify.h"
#include "notify_feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "linkbase.h"
#include "log.h"
#include "prom.h"
#include "crypto.h"
#include "timefmt.h"
#include "url.h"
#include "secretbox.h"

#define PASS_INTERVAL_MS 500      /* deliveries due are looked for this often */
#define EVENT_BODY_MAX 16384

/* One webhook POST in flight. */
typedef struct notify_delivery {
  list_node link;          /* on notify_t.deliveries */
  notify_t *n;
  curlloop_req *req;
  uint64_t seq;
  unsigned attempts;       /* before this one */
  char id[40];             /* the event's id, for the log */
  char hook[2049];         /* the webhook's url */
} delivery;

/* The urls of the webhooks n sends to, into hooks (CONFIG_WEBHOOKS_MAX);
 * returns how many. Borrowed from n->cfg. */
static size_t configured_hooks(const notify_t *n, const char **hooks) {
  size_t i;
  for (i = 0; i < n->cfg->nwebhooks; i++)
    hooks[i] = n->cfg->webhooks[i].url;
  return n->cfg->nwebhooks;
}

/* The outbox's size (of the webhooks this process sends to), read again (for /metrics). */
static void on_pending(void *data, int status, size_t count) {
  notify_t *n = data;
  if (status == 0)
    n->pending = count;
}

/* Reads the outbox's size again: at every scrape (force), and after writes
 * at most once per NOTIFY_PENDING_READ_MS (a count over a table every
 * replica shares, not one per event). */
static void refresh_pending(notify_t *n, int force) {
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  uint64_t now = timefmt_now_ms();
  if (n->closing || (!force && now - n->pending_read_ms < NOTIFY_PENDING_READ_MS))
    return;
  n->pending_read_ms = now;
  (void)n->store->ops->deliveries_pending(n->store, hooks, configured_hooks(n, hooks), on_pending, n);
}

/* A delivery's bookkeeping was written (or not: it is retried as due). */
static void on_outbox_written(void *data, int status) {
  notify_t *n = data;
  if (status != 0 && status != -ECANCELED)
    LOG_WARN("webhook outbox not updated", LOG_I64("error", status));
  refresh_pending(n, 0);
}

static const config_webhook *hook_by_url(const notify_t *n, const char *url) {
  size_t i;
  for (i = 0; i < n->cfg->nwebhooks; i++) {
    if (strcmp(n->cfg->webhooks[i].url, url) == 0)
      return &n->cfg->webhooks[i];
  }
  return NULL;
}

/* ---- webhooks ---- */

static void schedule_pass(notify_t *n, uint64_t in_ms);

/* Back-off before attempt number attempts + 1: BASE * 2^attempts, capped,
 * times a random factor in [0.5, 1) so that receivers coming back are not
 * hit by every sender at once. */
static uint64_t backoff_ms(unsigned attempts) {
  uint64_t d = NOTIFY_RETRY_BASE_MS;
  unsigned char r = 0;
  unsigned i;
  for (i = 0; i < attempts && d < NOTIFY_RETRY_MAX_MS; i++)
    d *= 2;
  if (d > NOTIFY_RETRY_MAX_MS)
    d = NOTIFY_RETRY_MAX_MS;
  if (crypto_random(&r, 1) != 0)
    r = 128; /* no random source: the middle of the spread */
  return d / 2 + d * r / 512;
}

static void on_delivered(void *ctx, int status, long http_code, const char *body, size_t len) {
  delivery *d = ctx;
  notify_t *n = d->n;
  (void)body;
  (void)len;
  list_remove(&d->link);
  n->in_flight--;
  if (status == 0 && http_code >= 200 && http_code <= 299) {
    n->delivered_total++;
    (void)n->store->ops->delivery_done(n->store, d->seq, d->hook, on_outbox_written, n);
  } else {
    uint64_t wait = backoff_ms(d->attempts);
    n->failed_total++;
    char origin[300]; /* logs name the origin only: a webhook url's path and query may carry secrets */
    if (url_origin(d->hook, origin, sizeof origin) != 0)
      snprintf(origin, sizeof origin, "(unparsable)");
    LOG_WARN("webhook not accepted, will retry", LOG_STR("origin", origin), LOG_STR("event_id", d->id),
             LOG_U64("attempt", d->attempts + 1), LOG_I64("http_status", http_code),
             LOG_STR("error", status != 0 ? strerror(-status) : "not 2xx"), LOG_U64("retry_in_ms", wait));
    (void)n->store->ops->delivery_retry(n->store, d->seq, d->hook, d->attempts + 1, timefmt_now_ms() + wait,
                                        on_outbox_written, n);
  }
  free(d);
  schedule_pass(n, 0);
}

/* Starts one due delivery (leased already). */
static int start_delivery(notify_t *n, const store_event *e) {
  const config_webhook *h = hook_by_url(n, e->hook);
  char sig[SECRETBOX_SIGNATURE_BUF];
  char sig_header[SECRETBOX_SIGNATURE_BUF + 32];
  char id_header[80];
  const char *headers[5];
  delivery *d;
  if (h == NULL || strlen(e->hook) >= sizeof d->hook)
    return 0; /* removed by a reload while the pass ran: dropped by it, or due again after the lease */
  d = calloc(1, sizeof *d);
  if (d == NULL)
    return 1;
  d->n = n;
  d->seq = e->seq;
  d->attempts = e->attempts;
  snprintf(d->id, sizeof d->id, "%s", e->id);
  snprintf(d->hook, sizeof d->hook, "%s", e->hook);
  if (secretbox_signature(h->secret, timefmt_now_ms() / 1000, e->body, strlen(e->body), sig) != 0) {
    free(d);
    return 1;
  }
  snprintf(sig_header, sizeof sig_header, "Authrelay-Signature: %s", sig);
  snprintf(id_header, sizeof id_header, "Authrelay-Event-Id: %s", e->id);
  headers[0] = "Content-Type: application/json";
  headers[1] = sig_header;
  headers[2] = id_header;
  headers[3] = "User-Agent: authrelay";
  headers[4] = NULL;
  if (curlloop_request(n->curl, "POST", e->hook, headers, e->body, strlen(e->body), NOTIFY_TIMEOUT_MS, 65536,
                       on_delivered, d, &d->req) != 0) {
    (void)n->store->ops->delivery_retry(n->store, e->seq, e->hook, e->attempts, timefmt_now_ms() + backoff_ms(e->attempts),
                                        on_outbox_written, n);
    free(d);
    return 0;
  }
  list_insert_head(&n->deliveries, &d->link);
  n->in_flight++;
  return 0;
}

/* The due deliveries, leased (committed): their POSTs start now, outside
 * the store's transaction. */
static void on_due(void *data, int status, const store_event *rows, size_t nrows) {
  notify_t *n = data;
  size_t i;
  n->passing = 0;
  if (status != 0 || n->closing)
    return;
  for (i = 0; i < nrows; i++) {
    if (start_delivery(n, &rows[i]) != 0)
      break;
  }
}

static void pass(notify_t *n) {
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  uint64_t now = timefmt_now_ms();
  size_t i;
  if (n->closing || n->passing || n->cfg->nwebhooks == 0 || n->in_flight >= NOTIFY_IN_FLIGHT_MAX)
    return;
  /* A delivery's lease is a write: while the store cannot write, one
   * started now would be started again at every pass. */
  if (n->store->health.cannot_write)
    return;
  /* Only the webhooks configured here: on a shared store, a replica whose
   * configuration has not got a webhook yet must not lease its deliveries. */
  for (i = 0; i < n->cfg->nwebhooks; i++)
    hooks[i] = n->cfg->webhooks[i].url;
  n->passing = n->store->ops->deliveries_due(n->store, now, now + NOTIFY_TIMEOUT_MS + 5000, hooks,
                                             n->cfg->nwebhooks, NOTIFY_IN_FLIGHT_MAX - n->in_flight, on_due,
                                             n) == 0;
}

static void on_pass_timer(uv_timer_t *t) {
  pass(t->data);
}

/* Runs a pass in in_ms (0: on the next loop iteration), then every
 * PASS_INTERVAL_MS. */
static void schedule_pass(notify_t *n, uint64_t in_ms) {
  if (!n->closing && n->cfg->nwebhooks > 0)
    uv_timer_start(&n->timer, on_pass_timer, in_ms, PASS_INTERVAL_MS);
}

static void on_pruned(void *data, int status) {
  (void)data;
  if (status != 0 && status != -ECANCELED)
    LOG_WARN("old events not pruned", LOG_I64("error", status));
}

static void on_heartbeat(uv_timer_t *t) {
  notify_t *n = t->data;
  if (timefmt_now_ms() >= n->next_prune_ms) {
    (void)n->store->ops->events_prune(n->store, timefmt_now_ms() - NOTIFY_EVENT_RETAIN_MS, on_pruned, NULL);
    n->next_prune_ms = timefmt_now_ms() + 3600 * 1000;
  }
  notify_feed_heartbeat(n);
}

/* ---- events ---- */

static void on_event_stored(void *data, int status, uint64_t seq) {
  notify_t *n = data;
  (void)seq;
  if (status != 0) {
    if (status != -ECANCELED)
      LOG_ERROR("event not stored: feeds and webhooks will not see it", LOG_I64("error", status));
    return;
  }
  n->events_total++;
  notify_feed_wake(n); /* the feeds get it from the log */
  schedule_pass(n, 0); /* none due when it has no webhook: the pass finds nothing */
  refresh_pending(n, 0);
}

/* Writes event type (webhooks subscribed to bit get it; 0: none) of the
 * link token of user and connector, and sends it to the feeds. pending:
 * the minted link's record (its magic_link_url and expiry go in), or NULL. */
static void emit(notify_t *n, const char *type, unsigned bit, const char *user, const char *connector,
                 const char *token, const pausehub_record *pending, const char *base_url) {
  char id[4 + 24 + 1];
  char created[32];
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  size_t nhooks = 0;
  dynbuf body;
  uint64_t now = timefmt_now_ms();
  store_event ev;
  size_t i;
  memcpy(id, "evt_", 4);
  if (crypto_random_hex(id + 4, 12) != 0)
    return;
  if (timefmt_rfc3339(now, 0, created) != 0)
    return;
  dynbuf_init(&body, EVENT_BODY_MAX);
  (void)jsonw_raw(&body, "{\"id\":");
  (void)jsonw_cstring(&body, id);
  (void)jsonw_raw(&body, ",\"type\":");
  (void)jsonw_cstring(&body, type);
  (void)jsonw_raw(&body, ",\"created_at\":");
  (void)jsonw_cstring(&body, created);
  (void)jsonw_raw(&body, ",\"registered_user\":");
  (void)jsonw_cstring(&body, user);
  (void)jsonw_raw(&body, ",\"connector\":");
  (void)jsonw_cstring(&body, connector);
  (void)jsonw_raw(&body, ",\"link_token\":");
  (void)jsonw_cstring(&body, token);
  if (pending != NULL) {
    char expires[32];
    char url[LINKBASE_MAX + LINKSVC_PATH_LEN];
    (void)timefmt_rfc3339(pending->expires_ms, 0, expires); /* "" past the year 9999 */
    snprintf(url, sizeof url, "%s%s%s", base_url, LINKSVC_PATH_PREFIX, token);
    (void)jsonw_raw(&body, ",\"magic_link_url\":");
    (void)jsonw_cstring(&body, url); /* the base may come from a request's Host */
    (void)jsonw_raw(&body, ",\"expires_at\":");
    (void)jsonw_cstring(&body, expires);
  }
  (void)jsonw_raw(&body, "}");
  if (dynbuf_put(&body, "", 1) != 0) { /* sticky: the first failure of the lines above */
    dynbuf_free(&body);
    return;
  }
  for (i = 0; i < n->cfg->nwebhooks && bit != 0; i++) {
    if (n->cfg->webhooks[i].events & bit)
      hooks[nhooks++] = n->cfg->webhooks[i].url;
  }
  memset(&ev, 0, sizeof ev);
  ev.id = id;
  ev.type = type;
  ev.user = user;
  ev.body = body.ptr;
  if (n->store->ops->event_add(n->store, &ev, now, hooks, nhooks, on_event_stored, n) != 0)
    LOG_ERROR("event not stored: feeds and webhooks will not see it", LOG_STR("type", type), LOG_STR("event_id", id));
  dynbuf_free(&body);
}

void notify_binding_refused(notify_t *n, const char *user, const char *connector, const char *token) {
  emit(n, "link_binding_refused", 0, user, connector, token, NULL, "");
}

void notify_link(notify_t *n, const pausehub_record *r, const char *base_url) {
  const char *type;
  unsigned bit;
  switch (r->state) {
  case LINKSVC_STATE_PENDING:
    type = "link_token";
    bit = CONFIG_EVENT_LINK_TOKEN;
    break;
  case LINKSVC_STATE_COMPLETED:
    type = "auth_complete";
    bit = CONFIG_EVENT_AUTH_COMPLETE;
    break;
  case LINKSVC_STATE_EXPIRED:
    type = "link_expired";
    bit = CONFIG_EVENT_LINK_EXPIRED;
    break;
  case LINKSVC_STATE_DECLINED:
    type = "link_declined";
    bit = CONFIG_EVENT_LINK_DECLINED;
    break;
  case LINKSVC_STATE_REVOKED:
  default:
    return; /* its streams went away: nobody to tell */
  }
  emit(n, type, bit, r->user, r->connector, r->token, r->state == LINKSVC_STATE_PENDING ? r : NULL, base_url);
}

/* ---- lifecycle and metrics ---- */

/* The event of a connection: its JSON body into body (NUL-terminated). */
static int connection_body(dynbuf *body, const char *id, const char *type, uint64_t now, const char *user,
                           const char *connector, const char *kind, uint64_t expires_ms) {
  static const char *const parts[] = {"{\"id\":", ",\"type\":", ",\"created_at\":", ",\"registered_user\":",
                                      ",\"connector\":", ",\"auth\":"};
  const char *values[6];
  char created[TIMEFMT_BUF];
  char expires[TIMEFMT_BUF];
  size_t i;
  int rc = timefmt_rfc3339(now, 0, created);
  values[0] = id;
  values[1] = type;
  values[2] = created;
  values[3] = user;
  values[4] = connector;
  values[5] = kind;
  for (i = 0; rc == 0 && i < 6; i++) {
    rc = jsonw_raw(body, parts[i]);
    if (rc == 0)
      rc = jsonw_cstring(body, values[i]);
  }
  if (rc == 0 && expires_ms != 0) {
    rc = timefmt_rfc3339(expires_ms, 0, expires);
    if (rc == 0)
      rc = jsonw_raw(body, ",\"expires_at\":");
    if (rc == 0)
      rc = jsonw_cstring(body, expires);
  }
  if (rc == 0)
    rc = jsonw_raw(body, "}");
  if (rc == 0)
    rc = dynbuf_add(body, "", 1);
  return rc;
}

void notify_connection(notify_t *n, const char *type, const char *user, const char *connector, const char *kind,
                       uint64_t expires_ms) {
  static const struct {
    const char *type;
    unsigned bit;
  } types[] = {{"connection_created", CONFIG_EVENT_CONNECTION_CREATED},
               {"connection_refreshed", CONFIG_EVENT_CONNECTION_REFRESHED},
               {"connection_broken", CONFIG_EVENT_CONNECTION_BROKEN},
               {"connection_deleted", CONFIG_EVENT_CONNECTION_DELETED}};
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  size_t nhooks = 0;
  unsigned bit = 0;
  char id[4 + 24 + 1];
  uint64_t now = timefmt_now_ms();
  store_event ev;
  dynbuf body;
  size_t i;
  for (i = 0; i < sizeof types / sizeof types[0]; i++) {
    if (strcmp(type, types[i].type) == 0)
      bit = types[i].bit;
  }
  if (bit == 0 || n->closing)
    return;
  memcpy(id, "evt_", 4);
  if (crypto_random_hex(id + 4, 12) != 0)
    return;
  dynbuf_init(&body, EVENT_BODY_MAX);
  if (connection_body(&body, id, type, now, user, connector, kind, expires_ms) != 0) {
    dynbuf_free(&body);
    return;
  }
  for (i = 0; i < n->cfg->nwebhooks; i++) {
    if (n->cfg->webhooks[i].events & bit)
      hooks[nhooks++] = n->cfg->webhooks[i].url;
  }
  memset(&ev, 0, sizeof ev);
  ev.id = id;
  ev.type = type;
  ev.user = user;
  ev.body = body.ptr;
  if (n->store->ops->event_add(n->store, &ev, now, hooks, nhooks, on_event_stored, n) != 0)
    LOG_ERROR("event not stored: feeds and webhooks will not see it", LOG_STR("type", type), LOG_STR("event_id", id));
  dynbuf_free(&body);
}

static void on_hooks_kept(void *data, int status, size_t dropped) {
  notify_t *n = data;
  if (status == 0 && dropped > 0)
    LOG_WARN("webhook deliveries dropped: their webhook is no longer configured", LOG_U64("deliveries", dropped));
  if (status != -ECANCELED)
    refresh_pending(n, 0);
}

/* Drops the deliveries owed to webhooks n->cfg no longer has. Not on a
 * shared store: another replica (in a rolling change of the config) may
 * still have the webhook and send them; deliveries no replica claims go with
 * their event (NOTIFY_EVENT_RETAIN_MS). */
static void keep_configured_hooks(notify_t *n) {
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  if (n->store->shared)
    return;
  (void)n->store->ops->deliveries_keep_hooks(n->store, hooks, configured_hooks(n, hooks), on_hooks_kept, n);
}

int notify_init(notify_t *n, uv_loop_t *loop, const config_t *cfg, store_t *store, curlloop_t *curl) {
  memset(n, 0, sizeof *n);
  list_init(&n->deliveries);
  n->loop = loop;
  n->cfg = cfg;
  n->store = store;
  n->curl = curl;
  notify_feed_init(n);
  keep_configured_hooks(n);
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uv_timer_init(loop, &n->heartbeat);
  n->heartbeat.data = n;
  uv_timer_start(&n->heartbeat, on_heartbeat, NOTIFY_HEARTBEAT_MS, NOTIFY_HEARTBEAT_MS);
  (void)store->ops->events_prune(store, timefmt_now_ms() - NOTIFY_EVENT_RETAIN_MS, on_pruned, NULL);
  n->next_prune_ms = timefmt_now_ms() + 3600 * 1000; /* then hourly, from the heartbeat timer */
  schedule_pass(n, 0);
  return 0;
}

void notify_reload(notify_t *n, const config_t *cfg) {
  n->cfg = cfg;
  keep_configured_hooks(n);
  if (cfg->nwebhooks == 0)
    uv_timer_stop(&n->timer);
  schedule_pass(n, 0);
}

/* One of notify_close's writes was answered. */
static void on_close_written(void *data, int status) {
  notify_t *n = data;
  (void)status;
  if (--n->closing_writes == 0 && n->closed != NULL)
    n->closed(n->closed_data);
}

void notify_close(notify_t *n, void (*closed)(void *data), void *data) {
  n->closing = 1;
  n->closed = closed;
  n->closed_data = data;
  n->closing_writes = 1; /* until every write below was started */
  while (!list_empty(&n->deliveries)) {
    delivery *d = LIST_ENTRY(list_first(&n->deliveries), delivery, link);
    list_remove(&d->link);
    curlloop_cancel(d->req);
    /* The delivery stays in the outbox, due at once: its lease must not
     * hold it back for NOTIFY_TIMEOUT_MS after a restart. */
    if (n->store->ops->delivery_retry(n->store, d->seq, d->hook, d->attempts, timefmt_now_ms(), on_close_written, n) == 0)
      n->closing_writes++;
    free(d);
  }
  n->in_flight = 0;
  uv_close((uv_handle_t *)&n->timer, NULL);
  uv_close((uv_handle_t *)&n->heartbeat, NULL);
  notify_feed_close(n);
  on_close_written(n, 0);
}

int notify_render_metrics(notify_t *n, dynbuf *out) {
  size_t pending = n->pending; /* as last read; read again for the next scrape */
  int rc;
  refresh_pending(n, 1);
  rc = prom_counter(out, "authrelay_link_events_total",
                    "Link events written (link_token, auth_complete, link_expired, link_declined).", n->events_total);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_events_subscribers", "/v1/events connections open.", n->nfeeds);
  if (rc == 0)
    rc = prom_family(out, "authrelay_webhook_deliveries_total", PROM_COUNTER, "Webhook attempts, by result.");
  if (rc == 0)
    rc = prom_sample(out, "authrelay_webhook_deliveries_total", "result", "delivered", n->delivered_total);
  if (rc == 0)
    rc = prom_sample(out, "authrelay_webhook_deliveries_total", "result", "failed", n->failed_total);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_webhook_pending", "Webhook deliveries not yet accepted (the outbox).", pending);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_webhook_in_flight", "Webhook POSTs under way.", n->in_flight);
  return rc;
}
