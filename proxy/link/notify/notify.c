/* notify: link events to /v1/events and webhooks. See notify.h. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "linkbase.h"
#include "log.h"
#include "netio.h"
#include "prom.h"
#include "crypto.h"
#include "timefmt.h"
#include "url.h"
#include "secretbox.h"

#define PASS_INTERVAL_MS 500      /* deliveries due are looked for this often */
#define REPLAY_MAX 10000          /* events replayed to a feed after Last-Event-ID */
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
    (void)linkstore_delivery_done(n->store, d->seq, d->hook);
  } else {
    uint64_t wait = backoff_ms(d->attempts);
    n->failed_total++;
    char origin[300]; /* logs name the origin only: a webhook url's path and query may carry secrets */
    if (url_origin(d->hook, origin, sizeof origin) != 0)
      snprintf(origin, sizeof origin, "(unparsable)");
    LOG_WARN("webhook not accepted, will retry", LOG_STR("origin", origin), LOG_STR("event_id", d->id),
             LOG_U64("attempt", d->attempts + 1), LOG_I64("http_status", http_code),
             LOG_STR("error", status != 0 ? strerror(-status) : "not 2xx"), LOG_U64("retry_in_ms", wait));
    (void)linkstore_delivery_retry(n->store, d->seq, d->hook, d->attempts + 1, timefmt_now_ms() + wait);
  }
  free(d);
  schedule_pass(n, 0);
}

/* Starts one due delivery (a linkstore_deliveries_due callback). */
static int start_delivery(void *ctx, const linkstore_event *e) {
  notify_t *n = ctx;
  const config_webhook *h = hook_by_url(n, e->hook);
  char sig[SECRETBOX_SIGNATURE_BUF];
  char sig_header[SECRETBOX_SIGNATURE_BUF + 32];
  char id_header[80];
  const char *headers[5];
  delivery *d;
  if (h == NULL || strlen(e->hook) >= sizeof d->hook)
    return 0; /* dropped at start and at reload: cannot happen */
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
    (void)linkstore_delivery_retry(n->store, e->seq, e->hook, e->attempts, timefmt_now_ms() + backoff_ms(e->attempts));
    free(d);
    return 0;
  }
  list_insert_head(&n->deliveries, &d->link);
  n->in_flight++;
  return 0;
}

static void pass(notify_t *n) {
  uint64_t now = timefmt_now_ms();
  if (n->closing || n->cfg->nwebhooks == 0 || n->in_flight >= NOTIFY_IN_FLIGHT_MAX)
    return;
  /* A delivery's lease is a write: while the store cannot write, one
   * started now would be started again at every pass. */
  if (n->store->cannot_write)
    return;
  (void)linkstore_deliveries_due(n->store, now, now + NOTIFY_TIMEOUT_MS + 5000,
                                 NOTIFY_IN_FLIGHT_MAX - n->in_flight, start_delivery, n);
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

/* ---- the feed ---- */

/* Writes one SSE event (or comment, when type is NULL) to f. */
static void feed_write(notify_t *n, notify_feed *f, const char *id, const char *type, const char *body) {
  uv_buf_t bufs[7];
  unsigned nb = 0;
  (void)n;
  if (uv_stream_get_write_queue_size(f->stream) > NOTIFY_FEED_QUEUE_MAX) {
    LOG_WARN("/v1/events subscriber too slow, dropped");
    f->gone(f);
    return;
  }
  if (type == NULL) {
    bufs[nb++] = uv_buf_init((char *)": keep-alive\n\n", 14);
  } else {
    bufs[nb++] = uv_buf_init("id: ", 4);
    bufs[nb++] = uv_buf_init((char *)id, (unsigned)strlen(id));
    bufs[nb++] = uv_buf_init("\nevent: ", 8);
    bufs[nb++] = uv_buf_init((char *)type, (unsigned)strlen(type));
    bufs[nb++] = uv_buf_init("\ndata: ", 7);
    bufs[nb++] = uv_buf_init((char *)body, (unsigned)strlen(body));
    bufs[nb++] = uv_buf_init("\n\n", 2);
  }
  if (netio_write(f->stream, bufs, nb, NULL, NULL) != 0)
    f->gone(f);
}

/* 1 while f's access token is live and still holds read:webhooks. */
static int feed_allowed(notify_t *n, const notify_feed *f) {
  char scopes[512];
  if (f->token_hash[0] == '\0')
    return 1; /* the owner key */
  if (linkstore_oauth_token_get(n->store, f->token_hash, timefmt_now_ms(), scopes, sizeof scopes) != 0)
    return 0;
  return strstr(scopes, "read:webhooks") != NULL || strstr(scopes, "admin:all") != NULL;
}

static void broadcast(notify_t *n, const char *id, const char *type, const char *user, const char *body) {
  list_node *node;
  list_node *next;
  LIST_FOREACH_SAFE(node, next, &n->feeds) { /* f may leave during the write */
    notify_feed *f = LIST_ENTRY(node, notify_feed, link);
    if (!feed_allowed(n, f))
      f->gone(f);
    else if (f->user[0] == '\0' || strcmp(f->user, user) == 0)
      feed_write(n, f, id, type, body);
  }
}

static void on_heartbeat(uv_timer_t *t) {
  notify_t *n = t->data;
  list_node *node;
  list_node *next;
  if (timefmt_now_ms() >= n->next_prune_ms) {
    (void)linkstore_events_prune(n->store, timefmt_now_ms() - NOTIFY_EVENT_RETAIN_MS);
    n->next_prune_ms = timefmt_now_ms() + 3600 * 1000;
  }
  LIST_FOREACH_SAFE(node, next, &n->feeds) {
    notify_feed *f = LIST_ENTRY(node, notify_feed, link);
    if (feed_allowed(n, f))
      feed_write(n, f, NULL, NULL, NULL);
    else
      f->gone(f);
  }
}

typedef struct replay_ctx {
  notify_t *n;
  notify_feed *f;
} replay_ctx;

static int replay_one(void *ctx, const linkstore_event *e) {
  replay_ctx *r = ctx;
  feed_write(r->n, r->f, e->id, e->type, e->body);
  return r->f->listed ? 0 : 1;
}

int notify_feed_add(notify_t *n, notify_feed *f, const char *last_id) {
  uint64_t seq = 0;
  if (n->nfeeds >= NOTIFY_FEED_MAX)
    return -ENOSPC;
  list_insert_head(&n->feeds, &f->link);
  f->listed = 1;
  n->nfeeds++;
  if (last_id != NULL && linkstore_event_seq(n->store, last_id, &seq) == 0) {
    replay_ctx r = {n, f};
    (void)linkstore_events_after(n->store, seq, f->user[0] != '\0' ? f->user : NULL, REPLAY_MAX, replay_one, &r);
  }
  return 0;
}

void notify_feed_remove(notify_t *n, notify_feed *f) {
  if (!f->listed)
    return;
  list_remove(&f->link);
  f->listed = 0;
  n->nfeeds--;
}

/* ---- events ---- */

void notify_link(notify_t *n, const pausehub_record *r, const char *base_url) {
  const char *type;
  unsigned bit;
  char id[4 + 24 + 1];
  char created[32];
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  size_t nhooks = 0;
  dynbuf body;
  uint64_t now = timefmt_now_ms();
  uint64_t seq = 0;
  size_t i;
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
  case LINKSVC_STATE_REVOKED:
  default:
    return; /* its streams went away: nobody to tell */
  }
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
  (void)jsonw_cstring(&body, r->user);
  (void)jsonw_raw(&body, ",\"connector\":");
  (void)jsonw_cstring(&body, r->connector);
  (void)jsonw_raw(&body, ",\"link_token\":");
  (void)jsonw_cstring(&body, r->token);
  if (r->state == LINKSVC_STATE_PENDING) {
    char expires[32];
    char url[LINKBASE_MAX + LINKSVC_PATH_LEN];
    (void)timefmt_rfc3339(r->expires_ms, 0, expires); /* "" past the year 9999 */
    snprintf(url, sizeof url, "%s%s%s", base_url, LINKSVC_PATH_PREFIX, r->token);
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
  for (i = 0; i < n->cfg->nwebhooks; i++) {
    if (n->cfg->webhooks[i].events & bit)
      hooks[nhooks++] = n->cfg->webhooks[i].url;
  }
  if (linkstore_event_add(n->store, id, type, r->user, body.ptr, now, hooks, nhooks, &seq) != 0) {
    LOG_ERROR("event not stored: webhooks will not see it", LOG_STR("type", type), LOG_STR("event_id", id));
  } else {
    n->events_total++;
    if (nhooks > 0)
      schedule_pass(n, 0);
  }
  broadcast(n, id, type, r->user, body.ptr);
  dynbuf_free(&body);
}

/* ---- lifecycle and metrics ---- */

/* Drops the deliveries owed to webhooks n->cfg no longer has. */
static void keep_configured_hooks(notify_t *n) {
  const char *hooks[CONFIG_WEBHOOKS_MAX];
  size_t dropped = 0;
  size_t i;
  for (i = 0; i < n->cfg->nwebhooks; i++)
    hooks[i] = n->cfg->webhooks[i].url;
  (void)linkstore_deliveries_keep_hooks(n->store, hooks, n->cfg->nwebhooks, &dropped);
  if (dropped > 0)
    LOG_WARN("webhook deliveries dropped: their webhook is no longer configured", LOG_U64("deliveries", dropped));
}

int notify_init(notify_t *n, uv_loop_t *loop, const config_t *cfg, linkstore_t *store, curlloop_t *curl) {
  memset(n, 0, sizeof *n);
  list_init(&n->deliveries);
  list_init(&n->feeds);
  n->loop = loop;
  n->cfg = cfg;
  n->store = store;
  n->curl = curl;
  keep_configured_hooks(n);
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uv_timer_init(loop, &n->heartbeat);
  n->heartbeat.data = n;
  uv_timer_start(&n->heartbeat, on_heartbeat, NOTIFY_HEARTBEAT_MS, NOTIFY_HEARTBEAT_MS);
  (void)linkstore_events_prune(store, timefmt_now_ms() - NOTIFY_EVENT_RETAIN_MS);
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

void notify_close(notify_t *n) {
  n->closing = 1;
  while (!list_empty(&n->deliveries)) {
    delivery *d = LIST_ENTRY(list_first(&n->deliveries), delivery, link);
    list_remove(&d->link);
    curlloop_cancel(d->req);
    /* The delivery stays in the outbox, due at once: its lease must not
     * hold it back for NOTIFY_TIMEOUT_MS after a restart. */
    (void)linkstore_delivery_retry(n->store, d->seq, d->hook, d->attempts, timefmt_now_ms());
    free(d);
  }
  n->in_flight = 0;
  uv_close((uv_handle_t *)&n->timer, NULL);
  uv_close((uv_handle_t *)&n->heartbeat, NULL);
}

int notify_render_metrics(notify_t *n, dynbuf *out) {
  size_t pending = 0;
  int rc;
  (void)linkstore_deliveries_pending(n->store, &pending);
  rc = prom_counter(out, "authrelay_link_events_total",
                    "Link events written (link_token, auth_complete, link_expired).", n->events_total);
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
