/* notify_feed: GET /v1/events served from the events log (notify.h).
 *
 * The log (store.h's events) is the feed's only source, so that every
 * replica sharing a store serves every replica's events, in the log's
 * order (seq), and a client may resume on any replica with the
 * Last-Event-ID it got from another. The store hands out seqs in commit
 * order (store.h), so reading "seq > the last one read" misses nothing.
 *
 * The tail: one read of the events after the last one sent (tail_seq),
 * started when an event of this process was stored and every
 * NOTIFY_FEED_POLL_MS while feeds are open (events of other replicas),
 * sends each event to the feeds that are live. A feed is live once it
 * caught up: a new feed starts at the newest event (or at its
 * Last-Event-ID) and reads the log on its own until it reached the tail;
 * a feed with an access token catches up again after every event, its
 * token checked first (the feed ends when the token is gone).
 *
 * Internal to notify/: notify_feed_add/remove are declared in notify.h.
 * Control loop only.
 */
#ifndef AUTHRELAY_NOTIFY_FEED_H
#define AUTHRELAY_NOTIFY_FEED_H

#include "notify.h"

/* Sets up the tail's timer and lists (notify_init). */
void notify_feed_init(notify_t *n);

/* An event was stored here: the tail is read now. */
void notify_feed_wake(notify_t *n);

/* Keep-alives to every feed; a feed with an access token has it checked. */
void notify_feed_heartbeat(notify_t *n);

/* Closes the tail's timer (notify_close; feeds removed already). Reads in
 * flight end with the store's -ECANCELED. */
void notify_feed_close(notify_t *n);

#endif
