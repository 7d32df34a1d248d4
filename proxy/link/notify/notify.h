/* notify: telling the outside world about links, out of band.
 *
 * DESIGN.md "Control API": link events (link_token when a link is minted,
 * auth_complete when it is completed, link_expired when it expires) and
 * connection events (notify_connection: connection_created, _refreshed,
 * _broken, _deleted) go to
 *   - GET /v1/events on the control listener: an SSE feed, optionally of one
 *     registered user (?registered_user=), that a reconnecting client
 *     resumes with Last-Event-ID;
 *   - webhooks (config `webhooks: [{url, secret, events}]`): POSTed with
 *     libcurl on the control loop (curlloop.h), signed
 *     Authrelay-Signature: t=UNIX,v1=hex(HMAC-SHA256(secret, t + "." + body)),
 *     retried with exponential back-off and jitter until the receiver
 *     answers 2xx.
 * Every event is first written to the store (store.h: the events log and
 * the deliveries outbox) in one transaction with its deliveries, so neither
 * a receiver outage nor a restart loses one. The store answers later:
 * webhook POSTs start from the answer of a pass over the due deliveries
 * (after their lease committed; on a shared store each delivery is leased
 * by one replica); feeds are served from the log (notify_feed.h), so on a
 * shared store every replica's feed has every replica's events, in the
 * same order, and an event the store could not write reaches no feed.
 * Each event carries an id (evt_...), the same in the feed (its SSE id:)
 * and in every webhook attempt, so a receiver deduplicates on it (a
 * delivery whose 2xx was lost is sent again).
 *
 * linkhost feeds it from the link journal (pausehub.h). It lives on the
 * control loop and is not thread-safe.
 */
#ifndef AUTHRELAY_NOTIFY_H
#define AUTHRELAY_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "curlloop.h"
#include "pausehub.h"
#include "store.h"
#include "list.h"

#define NOTIFY_IN_FLIGHT_MAX 32            /* webhook POSTs at once */
#define NOTIFY_TIMEOUT_MS 10000            /* one webhook POST */
#define NOTIFY_RETRY_BASE_MS 500           /* first retry after ~0.5 s ... */
#define NOTIFY_RETRY_MAX_MS 60000          /* ... doubling up to a minute */
#define NOTIFY_FEED_MAX 256                /* /v1/events subscribers */
#define NOTIFY_FEED_QUEUE_MAX (1024 * 1024) /* bytes queued to a subscriber before it is dropped */
#define NOTIFY_HEARTBEAT_MS 15000          /* ": keep-alive" on idle feeds */
#define NOTIFY_FEED_POLL_MS 250            /* the log's tail is read this often while feeds are open */
#define NOTIFY_PENDING_READ_MS 1000        /* the outbox counted at most this often after writes */
#define NOTIFY_FEED_PAGE 256               /* events one read of the log brings */
#define NOTIFY_EVENT_RETAIN_MS (7ull * 24 * 3600 * 1000) /* events kept for Last-Event-ID */

typedef struct notify_feed notify_feed;

/* Called when a feed's connection must go (write failed, too slow). */
typedef void (*notify_feed_gone_cb)(notify_feed *f);

/* A /v1/events subscriber, embedded by the control connection. */
struct notify_feed {
  uv_stream_t *stream;     /* the connection; not owned */
  char user[STORE_TEXT_MAX + 2]; /* "" for every user */
  char token_hash[65];     /* SHA-256 of the subscriber's access token, "" for the owner key */
  notify_feed_gone_cb gone;
  /* private */
  list_node link;          /* on notify_t.feeds while listed */
  int listed;
  int catching;            /* reading the log on its own (replay, token check): the tail skips it */
  uint64_t seq;            /* the log's events up to this seq were sent (or were another user's) */
};

typedef struct notify_t {
  uv_loop_t *loop;         /* the control loop; not owned */
  const config_t *cfg;     /* not owned: webhooks, public_url; replaced by notify_reload */
  store_t *store;          /* not owned */
  curlloop_t *curl;        /* not owned */
  uv_timer_t timer;        /* the next delivery pass */
  uv_timer_t heartbeat;    /* keeps idle feeds (and their proxies) open */
  size_t in_flight;        /* webhook POSTs under way */
  list_node deliveries;    /* those POSTs (notify_delivery.link); owned */
  list_node reads;         /* feeds' reads of the log in flight (notify_feed.c); owned */
  uv_timer_t feed_timer;   /* reads the tail while feeds are open */
  uint64_t tail_seq;       /* the last event of the log sent to live feeds */
  int tail_known;          /* tail_seq was read (cleared when no feed is open) */
  int tail_reading;        /* a read of the tail is in flight */
  int tail_again;          /* read the tail again once it is answered */
  int passing;             /* a pass is reading the due deliveries */
  size_t pending;          /* the outbox's size, as last read */
  uint64_t pending_read_ms; /* when it was last read (wall clock) */
  size_t closing_writes;   /* notify_close's writes the store has not answered */
  void (*closed)(void *data); /* notify_close's callback */
  void *closed_data;
  list_node feeds;         /* notify_feed.link */
  size_t nfeeds;
  uint64_t events_total;   /* events written */
  uint64_t delivered_total; /* webhook deliveries accepted (2xx) */
  uint64_t failed_total;   /* webhook attempts that failed (to be retried) */
  uint64_t next_prune_ms;  /* when old events are deleted next */
  int closing;
} notify_t;

/* Starts on loop: drops deliveries owed to webhooks no longer configured,
 * and schedules a delivery pass (deliveries left by the last run go out
 * now). Returns 0 or a negative error. */
int notify_init(notify_t *n, uv_loop_t *loop, const config_t *cfg, store_t *store, curlloop_t *curl);

/* The webhooks of cfg (not owned; it must outlive its use) replace the ones
 * in use: deliveries owed to a webhook no longer configured are dropped
 * (a POST in flight still ends), a webhook's secret is the new one from its
 * next attempt on, added webhooks get the events from now on. */
void notify_reload(notify_t *n, const config_t *cfg);

/* Stops: timers closed; POSTs in flight are abandoned by the caller closing
 * curl (their deliveries stay in the outbox, due at once: closed(data)
 * runs once the store wrote that, later, or at once when nothing was in
 * flight). Feeds must have been removed. */
void notify_close(notify_t *n, void (*closed)(void *data), void *data);

/* A link was minted or ended (the journal): writes the event, if any, and
 * sends it to feeds and webhooks. base_url: the base of magic_link_url. */
void notify_link(notify_t *n, const pausehub_record *r, const char *base_url);

/* A connected account changed (DESIGN.md "Connections"): writes and sends
 * the event type (connection_created, connection_refreshed,
 * connection_broken or connection_deleted) of user's connection to
 * connector, kind "oauth2" or "api_key"; expires_ms: the access token's
 * expiry (0: none shown). Never a secret: the event names the connection
 * only. Unknown types are ignored. */
void notify_connection(notify_t *n, const char *type, const char *user, const char *connector, const char *kind,
                       uint64_t expires_ms);

/* Link binding refused a confirmation (linkbind.h): writes the event
 * link_binding_refused (user, connector, link token; no secret) and sends
 * it to the feeds. Not sent to webhooks. */
void notify_binding_refused(notify_t *n, const char *user, const char *connector, const char *token);

/* Adds f (stream, user, token_hash, gone set by the caller) to the feed,
 * first replaying the events of the log after Last-Event-ID last_id (NULL
 * or unknown: from the newest event on). Returns 0, -ENOSPC
 * (NOTIFY_FEED_MAX subscribers) or a negative error (f is not on it). */
int notify_feed_add(notify_t *n, notify_feed *f, const char *last_id);

/* Takes f off the feed (a no-op when it is not on it). */
void notify_feed_remove(notify_t *n, notify_feed *f);

/* Appends the Prometheus metrics of events and webhooks to out. */
int notify_render_metrics(notify_t *n, dynbuf *out);

#endif
