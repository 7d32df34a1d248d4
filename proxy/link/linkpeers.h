/* linkpeers: cross-replica completion on the PostgreSQL store (DESIGN.md
 * "Store and replicas": a completion on any replica resumes the streams
 * waiting on every replica).
 *
 * The writing replica: every link row the journal writes (minted,
 * completed, declined, expired, revoked) is NOTIFYd on "authrelay_links"
 * (store_pg.h PGSTORE_LINKS_CHANNEL) with the link token only (never a
 * secret), by the store's link_put in the row's own transaction: the
 * server delivers it only once the row has committed.
 *
 * Every replica: one LISTEN connection (store_pg_listen). On a notification
 * the link row is read from the store and its outcome applied to the local
 * hub (pausehub.h), through the path a local completion takes: a link this
 * replica knows and holds pending is completed / declined / expired; a
 * completed link it does not know is restored and completed, which resumes
 * the streams waiting here on that (user, connector) (linksvc: completing
 * any link of a pair resumes the pair's waiters). Revocations are not
 * applied (the revoking replica's waiters left; others may still wait).
 * After every (re)connect of the LISTEN connection, on_resync pages through
 * the links of the store and applies those that ended since the previous
 * resync (minus LINKPEERS_SKEW_MS), so an end notified while it was down
 * still resumes the streams. A notified row that could not be read (the
 * store timed out or refused), a notification dropped, or a resync that
 * failed asks for another resync after a back-off
 * (store_pg_resync_later): the LISTEN connection being up, nothing else
 * would bring one, and the streams waiting on that end would wait on.
 *
 * An outcome applied from another replica ends the local copy of the link,
 * which the journal reports too: linkpeers_echo() tells the journal to
 * neither write it again nor notify it (a small ring of such tokens).
 *
 * One link per (user, connector) across replicas, as far as the timing
 * allows: a pending link a stream minted, once notified, is put by peers into
 * their hubs (when they have none pending for the pair, new pauses there
 * join it). Two replicas minting for one pair at once keep two links;
 * completing either resumes the pair's streams everywhere (above). With a
 * PostgreSQL store, links minted by streams outlive their waiters
 * (linksvc_options.keep_pending): streams on other replicas may wait on
 * them. A race-free mint (the pause waiting for the store) is not done.
 *
 * SQLite store: linkpeers_start() does nothing (-ENOTSUP is not an error);
 * nothing else changes. Everything runs on the control loop.
 */
#ifndef AUTHRELAY_LINKPEERS_H
#define AUTHRELAY_LINKPEERS_H

#include <stddef.h>
#include <stdint.h>

#include "linksvc.h"
#include "pausehub.h"
#include "store.h"

#define LINKPEERS_ECHO_MAX 256        /* tokens applied from peers, remembered for the journal */
#define LINKPEERS_SKEW_MS 60000       /* clock difference between replicas tolerated by a resync */
#define LINKPEERS_READS_MAX 1024      /* row reads for notifications in flight; more are dropped */

/* Store operations in flight hold the store open: hold() before one,
 * release() after its callback (linkhost's journal_writes count). */
typedef void (*linkpeers_hold_fn)(void *ctx);

typedef struct linkpeers_t {
  store_t *store;              /* not owned */
  pausehub_t *hub;             /* not owned */
  linkpeers_hold_fn hold;      /* counts an operation in flight */
  linkpeers_hold_fn release;   /* its end */
  void *ctx;                   /* for hold and release */
  int active;                  /* listening (a PostgreSQL store) */
  int closing;                 /* no more operations; callbacks only release */
  size_t reads;                /* row reads in flight */
  int resyncing;               /* a resync is paging */
  int resync_again;            /* a reconnect came during it: page once more */
  uint64_t resync_from_ms;     /* ends at or after this are applied by the resync running */
  uint64_t synced_ms;          /* when the last complete resync began: the next reads from here */
  uint64_t resync_began_ms;    /* when the resync running began */
  uint64_t page_after_ms;      /* the resync's paging key: created_ms, token */
  char page_after[64];
  char echo[LINKPEERS_ECHO_MAX][LINKSVC_TOKEN_LEN + 1]; /* ring of tokens applied from peers */
  size_t echo_next;
  uint64_t applied;            /* outcomes applied from peers (metrics, tests) */
  uint64_t adopted;            /* peers' pending links taken in (metrics, tests) */
} linkpeers_t;

/* Starts listening when store is PostgreSQL. now_ms: the time links were
 * restored at start (ends since then are applied by the first resync).
 * Returns 0 (listening, or a SQLite store: inactive) or a negative error. */
int linkpeers_start(linkpeers_t *lp, store_t *store, pausehub_t *hub, uint64_t now_ms, linkpeers_hold_fn hold,
                    linkpeers_hold_fn release, void *ctx);

/* Whether token's end was applied from a peer (the journal skips it). */
int linkpeers_echo(const linkpeers_t *lp, const char *token);

/* The Link page met a pending link of the store this replica does not
 * know (minted by a peer): puts it into the hub so that it is served and
 * completed here. Returns 0 or a negative error (-ENOTSUP when inactive). */
int linkpeers_adopt(linkpeers_t *lp, const store_link *row);

/* No more operations (the store is closing). */
void linkpeers_stop(linkpeers_t *lp);

#endif
