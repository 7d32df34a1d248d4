/* linksvc: the link service as the relay sees it: links, and the streams
 * waiting on them.
 *
 * When a stream must pause for (registered user, connector) (DESIGN.md,
 * "The pause"), the exchange calls linksvc_wait(). The service mints a link
 * for that pair, or joins the stream to the pending one: every stream
 * waiting on one (user, connector) shares one link token and resumes
 * together. The link's token, page path and expiry go into the stream's
 * link_token event. The link page (/_authrelay/link/{token}) looks the link
 * up with linksvc_find() and, when its form is submitted, calls
 * linksvc_complete(): every waiter's callback runs with LINKSVC_COMPLETED.
 * A timer calls linksvc_expire(): waiters of a link past its time get
 * LINKSVC_EXPIRED. A stream that goes away (client disconnect, control-API
 * cancel, its own pause timeout) calls linksvc_cancel(); the last waiter
 * leaving a pending link revokes it.
 *
 * A link: token "ltk_" + 32 lower-case hex digits (16 bytes from
 * RAND_bytes), the registered user, the connector slug, created and expiry
 * times (expires = created + link_ttl_s), and a state:
 *
 *   pending --complete--> completed      (single use)
 *           --expire----> expired        (now >= expires)
 *           --cancel----> revoked        (its last waiter left)
 *           --decline---> declined       (the user chose "Not now")
 *
 * A link with connector "" is a picker link: the Link page lists the
 * catalog's connectors, and it completes for the one the user chose
 * (linksvc_complete_as): its connector becomes that one, and the streams
 * waiting on (user, that connector) resume with its own.
 *
 * Links that have ended stay known for retain_s, so that a second submit
 * of the form is told "already used" rather than "unknown"; then they are
 * forgotten. Memory is only a cache of them: at most ended_max ended links
 * are kept (the most recently ended; older ones are forgotten early), and
 * an ended link keeps only what the link page shows of it (its
 * callback_url and state are dropped once journalled). A token linksvc
 * does not know is never usable: the caller answers it from the store
 * (store.h), where the journal wrote its end. Pending links are never
 * forgotten; ended ones never stand in the way of a new link (at
 * max_links, the oldest ended link makes room).
 *
 * Links also come from the link-token API (linksvc_mint: "pinned", with the
 * caller's callback_url and state; streams do not join them and they
 * outlive their waiters) and from the store (linksvc_restore: at start, and
 * other replicas' links as they are minted). Completing any link of
 * (user, connector) resumes the streams waiting on that pair.
 *
 * Replicas: two replicas may mint a link for the same pair at the same
 * time (each before it heard of the other's). Every replica then keeps the
 * older one (created_ms, then token) as the pair's link, the one new waits
 * join, and the other as its "sibling": still usable, its waiters kept,
 * and ended with it. So the replicas converge on one link per pair without
 * a round trip to the store before a pause, and completing either link
 * resumes every stream of the pair. linksvc keeps no credentials: the caller stores the one the
 * Link page took (store.h) and then completes the link.
 *
 * Durability is the caller's: the journal callback is told of every link
 * minted and of every link ending, so that the embedding (pausehub) can
 * write it to the store. Times are milliseconds of the wall
 * clock (Unix epoch), passed in by the caller and non-decreasing from call
 * to call, so tests drive the service with a fake clock; linksvc does no
 * I/O and knows nothing of libuv (the caller runs linksvc_expire from a
 * uv_timer_t).
 *
 * One linksvc_t per loop, used from that loop's thread only: it is not
 * thread-safe, by design (no locks on the relay's hot path).
 *
 * Callbacks run from inside linksvc_complete(), linksvc_expire() and
 * nothing else. A callback may call linksvc_cancel() on any waiter (others
 * of the same link included: they then get no callback), linksvc_wait()
 * (its own waiter again, to pause anew, or others), linksvc_find(),
 * linksvc_complete() and linksvc_expire(); it must not call linksvc_close().
 */
#ifndef AUTHRELAY_LINKSVC_H
#define AUTHRELAY_LINKSVC_H

#include <stddef.h>
#include <stdint.h>

#include "htable.h"
#include "list.h"

#define LINKSVC_TOKEN_PREFIX "ltk_"
#define LINKSVC_TOKEN_LEN 36          /* "ltk_" + 32 hex digits */
#define LINKSVC_PATH_PREFIX "/_authrelay/link/"
#define LINKSVC_PATH_LEN (sizeof LINKSVC_PATH_PREFIX - 1 + LINKSVC_TOKEN_LEN)
#define LINKSVC_TIME_LEN 20           /* "2026-05-04T18:30:00Z" */
#define LINKSVC_USER_MAX 256          /* bytes in a registered user id */
#define LINKSVC_CONNECTOR_MAX 64      /* bytes in a connector slug */

#define LINKSVC_DEFAULT_LINK_TTL_S 1800
#define LINKSVC_DEFAULT_RETAIN_S 3600
#define LINKSVC_DEFAULT_MAX_LINKS 100000
#define LINKSVC_DEFAULT_ENDED_MAX 4096 /* ended links kept in memory */
#define LINKSVC_LINK_TTL_MAX_S (7 * 24 * 3600)

typedef enum linksvc_state {
  LINKSVC_STATE_PENDING = 0,
  LINKSVC_STATE_COMPLETED,
  LINKSVC_STATE_EXPIRED,
  LINKSVC_STATE_REVOKED,
  LINKSVC_STATE_DECLINED /* the user chose "Not now" on the Link page */
} linksvc_state;

/* How a wait ended, as passed to linksvc_done_cb. */
typedef enum linksvc_outcome {
  LINKSVC_COMPLETED = 1, /* the account is connected: resume */
  LINKSVC_EXPIRED,       /* the link expired: link_expired, then after_expiry */
  LINKSVC_DECLINED       /* the user declined ("Not now"): auth_declined, go on */
} linksvc_outcome;

typedef struct linksvc_link linksvc_link;

typedef struct linksvc_options {
  unsigned link_ttl_s;   /* link lifetime; 0: 1800; at most LINKSVC_LINK_TTL_MAX_S */
  unsigned retain_s;     /* ended links stay known this long; 0: 3600 */
  size_t max_links;      /* links known at once, pending or ended; 0: 100000 */
  size_t ended_max;      /* ended links kept at once (the latest ended); 0: 4096 */
  /* Called when a link is minted (linksvc_wait, linksvc_mint) and when it
   * ends (completed, expired, revoked); not for linksvc_restore. l is
   * valid for the call only. May be NULL. Must not call into linksvc. */
  void (*journal)(void *ctx, const linksvc_link *l);
  void *journal_ctx;     /* not owned */
  int keep_pending;      /* a stream's link is not revoked when its last waiter
                            leaves (replicas: streams elsewhere may share it) */
} linksvc_options;

/* What a waiter is told about its link: a copy, owned by the waiter, valid
 * from linksvc_wait() until the waiter is used again (it outlives the
 * link). All strings NUL-terminated. */
typedef struct linksvc_link_info {
  char token[LINKSVC_TOKEN_LEN + 1];
  char path[LINKSVC_PATH_LEN + 1];             /* "/_authrelay/link/ltk_..." */
  char connector[LINKSVC_CONNECTOR_MAX + 1];   /* "": a picker link (once it ended: the
                                                  connector chosen, if any) */
  char expires_at[LINKSVC_TIME_LEN + 1];       /* RFC 3339, UTC */
  uint64_t created_ms;
  uint64_t expires_ms;
} linksvc_link_info;

/* A link, as linksvc_find() shows it. Owned by the linksvc_t: read-only to
 * callers, and valid only until the next call into linksvc. */
typedef struct linksvc_waiter linksvc_waiter;

/* Called once per wait, when it ends other than by linksvc_cancel(). The
 * waiter is no longer waiting when this runs (w->waiting is 0, w->link still
 * holds the link's details) and may be reused at once. */
typedef void (*linksvc_done_cb)(void *ctx, linksvc_waiter *w, linksvc_outcome outcome);

/* One stream's interest in a link. The caller embeds it in its own struct,
 * zeroed before its first use (memset, calloc), and keeps it in place while
 * waiting; after a callback or a cancel it may be reused or freed. */
struct linksvc_waiter {
  linksvc_link_info link; /* out: the shared link's details */
  int waiting;            /* out: 1 from linksvc_wait() until the callback or cancel */
  /* private */
  linksvc_link *lnk_;     /* the pending link, or NULL while its callback is due */
  list_node link_;        /* on its link's waiters_, or on fire()'s list */
  linksvc_done_cb cb_;
  void *ctx_;
};

struct linksvc_link {
  char token[LINKSVC_TOKEN_LEN + 1];
  char path[LINKSVC_PATH_LEN + 1];
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  char expires_at[LINKSVC_TIME_LEN + 1];
  const char *user;       /* NUL-terminated; owned by the link */
  size_t user_len;
  const char *callback_url; /* "" when none, and once ended; owned by the link */
  const char *state_param;  /* the API caller's state, "" when none or ended; owned */
  int pinned;             /* minted by the API: streams do not join it */
  uint64_t created_ms;
  uint64_t expires_ms;
  uint64_t ended_ms;      /* when it left pending; 0 while pending */
  linksvc_state state;
  size_t nwaiters;        /* streams waiting on it (0 once ended) */
  /* private */
  htable_node by_token_, by_key_; /* hash chains: every link; pending links by (user, connector) */
  int keyed_;             /* in the (user, connector) index: new waits join it */
  int kept_;              /* not revoked when its last waiter leaves */
  list_node order_;       /* on pending_order_ (by expiry) or ended_order_ (by end time) */
  list_node waiters_;
  list_node siblings_;    /* pending links of the same pair that lost to this one
                             (linksvc_restore: another replica's, or ours) */
  list_node sibling_;     /* on the winner's siblings_ while this one is a loser */
  char *extras_;          /* callback_url and state_param when not "": freed at the end */
};

typedef struct linksvc_t {
  /* read-only to callers: counts for metrics */
  size_t nlinks;       /* links known, pending or ended */
  size_t npending;     /* pending links */
  size_t nwaiters;     /* waiters on pending links */
  size_t nended;       /* ended links known: at most ended_max between calls */
  /* private */
  linksvc_options opt_;
  uint64_t seed_;      /* hash seed, random */
  uint64_t now_ms_;    /* the latest time passed in */
  htable tokens_;
  htable pending_;
  list_node pending_order_; /* pending links, soonest expiry first (linksvc_link.order_) */
  list_node ended_order_;   /* ended links, earliest end first */
} linksvc_t;

/* Prepares ls. opt may be NULL (all defaults); it is copied. Returns 0,
 * -EINVAL (link_ttl_s over LINKSVC_LINK_TTL_MAX_S) or -EIO (no random
 * source for the hash seed). Allocates nothing until the first wait. */
int linksvc_init(linksvc_t *ls, const linksvc_options *opt);

/* Frees every link and zeroes ls.
 * Waiters still waiting must still be valid memory: they are detached
 * (waiting = 0) without a callback. Not from inside a callback. */
void linksvc_close(linksvc_t *ls);

/* w starts waiting on the pending link for (user, connector), minted now
 * (expiry now_ms + link_ttl_s) when there is none. user: 1 to
 * LINKSVC_USER_MAX bytes of visible ASCII (0x21-0x7e); connector: a slug
 * of 1 to LINKSVC_CONNECTOR_MAX bytes of [a-z0-9_-], or "" to wait on the
 * user's picker link (the user chooses the connector); both NUL-terminated,
 * borrowed for the call. On success w->link holds the link's details,
 * w->waiting is 1, and cb(ctx, w, outcome) will be called exactly once
 * unless w is cancelled first. ctx is not owned.
 * Returns 0, -EINVAL (bad user or connector, cb NULL), -EBUSY (w is already
 * waiting), -ENOSPC (max_links pending links), -ENOMEM or -EIO (no random
 * bytes for a token); w is then not waiting. */
int linksvc_wait(linksvc_t *ls, linksvc_waiter *w, const char *user, const char *connector,
                 uint64_t now_ms, linksvc_done_cb cb, void *ctx);

/* w stops waiting, without a callback. When it was the last waiter of a
 * pending link, the link is revoked (its token no longer completes; its end
 * time, for retain_s, is the latest time linksvc was given). A no-op when w
 * is not waiting. */
void linksvc_cancel(linksvc_t *ls, linksvc_waiter *w);

/* The account of token[0, token_len)'s (user, connector) is connected (the
 * caller has stored the credential). The link is completed (single use) and
 * every waiter of it, of the pair's stream link when this one is not it,
 * and of that link's siblings, gets LINKSVC_COMPLETED before this returns.
 * Returns 0, -ENOENT (no such link known: a malformed token, or an ended
 * one forgotten), -EALREADY (already completed), -ETIMEDOUT (expired; a
 * pending link found past its time is expired here, its waiters getting
 * LINKSVC_EXPIRED) or -ECANCELED (revoked). */
int linksvc_complete(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms);

/* As linksvc_complete(), for connector: a picker link completes for it
 * (its connector becomes connector; waiters of (user, connector)'s stream
 * link get LINKSVC_COMPLETED too, and every waiter's link.connector names
 * it); any other link only for its own connector. -EINVAL otherwise (bad
 * slug, another connector's link). */
int linksvc_complete_as(linksvc_t *ls, const char *token, size_t token_len, const char *connector,
                        uint64_t now_ms);

/* The user declined the link ("Not now"): it ends declined (single use)
 * and its waiters, and those of the pair's stream link when this one is
 * pinned, get LINKSVC_DECLINED. Returns as linksvc_complete() (-EALREADY
 * for a link completed or declined already). */
int linksvc_decline(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms);

/* Mints a pinned link (the link-token API) for (user, connector), valid
 * ttl_s seconds (1 to LINKSVC_LINK_TTL_MAX_S). callback_url and state (NULL
 * or "" for none) are copied. Fills *info. Returns 0, -EINVAL, -ENOSPC,
 * -ENOMEM or -EIO. */
int linksvc_mint(linksvc_t *ls, const char *user, const char *connector, unsigned ttl_s,
                 const char *callback_url, const char *state, uint64_t now_ms, linksvc_link_info *info);

/* Puts back a link read from the store (at start, or another replica's),
 * in its state. Pending links are kept (they have no waiters yet); a
 * stream link is joined by new waits of its pair, unless the pair has an
 * older pending stream link (then it is that link's sibling; and a younger
 * one becomes its sibling). Strings are copied. Returns 0, -EINVAL, -EEXIST (token
 * known), -ENOSPC or -ENOMEM. */
int linksvc_restore(linksvc_t *ls, const char *token, const char *user, const char *connector,
                    const char *callback_url, const char *state, linksvc_state status, int pinned,
                    uint64_t created_ms, uint64_t expires_ms, uint64_t ended_ms);

/* Expires the pending link token now (its waiters get LINKSVC_EXPIRED):
 * the service behind it gave up. Returns 0 or -ENOENT (no such pending
 * link). */
int linksvc_expire_link(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms);

/* Marks every pending link kept: its last waiter leaving no longer revokes
 * it. For shutdown, when streams leave but their links must survive the
 * restart. */
void linksvc_keep_pending(linksvc_t *ls);

/* Expires every pending link whose expiry is at or before now_ms (waiters
 * get LINKSVC_EXPIRED) and forgets links that ended retain_s or more ago
 * (and the oldest ended ones over ended_max).
 * Call it from a timer, e.g. every second. */
void linksvc_expire(linksvc_t *ls, uint64_t now_ms);

/* The link with token[0, token_len), pending or recently ended (see
 * ended_max), or NULL. Owned by ls; valid until the next call into
 * linksvc. NULL never means "usable": only a pending link is. */
const linksvc_link *linksvc_find(const linksvc_t *ls, const char *token, size_t token_len);

/* "pending", "completed", "expired", "revoked", "declined" ("unknown" out
 * of range). */
const char *linksvc_state_name(linksvc_state s);

#endif
