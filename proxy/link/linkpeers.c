/* linkpeers: cross-replica completion on LISTEN/NOTIFY. See linkpeers.h. */
#include "linkpeers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg.h"
#include "timefmt.h"

/* "ltk_" and 32 lower-case hex digits: anything else in a payload is not ours. */
static int token_ok(const char *t) {
  size_t plen = strlen(LINKSVC_TOKEN_PREFIX);
  return t != NULL && strlen(t) == LINKSVC_TOKEN_LEN && memcmp(t, LINKSVC_TOKEN_PREFIX, plen) == 0 &&
         strspn(t + plen, "0123456789abcdef") == LINKSVC_TOKEN_LEN - plen;
}

static void echo_add(linkpeers_t *lp, const char *token) {
  snprintf(lp->echo[lp->echo_next], sizeof lp->echo[0], "%s", token);
  lp->echo_next = (lp->echo_next + 1) % LINKPEERS_ECHO_MAX;
}

int linkpeers_echo(const linkpeers_t *lp, const char *token) {
  size_t i;
  if (!lp->active)
    return 0;
  for (i = 0; i < LINKPEERS_ECHO_MAX; i++)
    if (lp->echo[i][0] != '\0' && strcmp(lp->echo[i], token) == 0)
      return 1;
  return 0;
}

/* Applies the end recorded in row to the local hub. since_ms: a link this
 * replica does not know is applied only when it ended at or after it (0:
 * always, for a notification, which is news). */
static void apply_row(linkpeers_t *lp, const store_link *row, uint64_t since_ms) {
  pausehub_link_view v;
  uint64_t now = timefmt_now_ms();
  size_t tlen = strlen(row->token);
  int known;
  int rc = -ENOENT;
  if (row->status == LINKSVC_STATE_PENDING) {
    /* a peer's new link: streams pausing here on its pair join it */
    if (!row->pinned && pausehub_lookup(lp->hub, row->token, tlen, &v) != 0 && linkpeers_adopt(lp, row) == 0)
      lp->adopted++;
    return;
  }
  if (row->status == LINKSVC_STATE_REVOKED || !token_ok(row->token))
    return;
  known = pausehub_lookup(lp->hub, row->token, tlen, &v) == 0;
  if (known && v.state != LINKSVC_STATE_PENDING)
    return; /* ended here already (this replica's own end, or applied before) */
  if (!known) {
    /* A peer's link: only a completion concerns the streams here (those
     * waiting on its (user, connector)), and only a recent one. */
    if (row->status != LINKSVC_STATE_COMPLETED || row->connector[0] == '\0' || row->ended_ms < since_ms)
      return;
    rc = pausehub_restore(lp->hub, row->token, row->user, row->connector, "", "", LINKSVC_STATE_PENDING, 0,
                          row->created_ms, row->expires_ms > now ? row->expires_ms : now + 1000, 0);
    if (rc != 0)
      return;
  }
  echo_add(lp, row->token); /* its end, journalled by the hub now, is the peer's */
  switch (row->status) {
  case LINKSVC_STATE_COMPLETED:
    rc = row->connector[0] != '\0' ? pausehub_complete_as(lp->hub, row->token, tlen, row->connector, now)
                                   : pausehub_complete(lp->hub, row->token, tlen, now);
    break;
  case LINKSVC_STATE_DECLINED:
    rc = pausehub_decline(lp->hub, row->token, tlen, now);
    break;
  case LINKSVC_STATE_EXPIRED:
    rc = pausehub_expire_link(lp->hub, row->token, now);
    break;
  default:
    break;
  }
  if (rc == 0)
    lp->applied++;
}

/* ---- notifications ---- */

/* What was notified could not be read (the store timed out, refused):
 * the end is in the store all the same, and a re-read of the links will
 * find it. The LISTEN connection being up, only an ask brings one. */
static void reread_later(linkpeers_t *lp) {
  if (!lp->closing)
    (void)store_pg_resync_later(lp->store);
}

static void on_row(void *data, int status, const store_link *row) {
  linkpeers_t *lp = data;
  lp->reads--;
  if (status == 0 && !lp->closing) {
    apply_row(lp, row, 0);
  } else if (status != 0 && status != -ENOENT && status != -ECANCELED) {
    LOG_WARN("link of a peer not read: re-reading the links later", LOG_I64("error", status));
    reread_later(lp);
  }
  lp->release(lp->ctx);
}

static void on_notify(void *data, const char *payload) {
  linkpeers_t *lp = data;
  pausehub_link_view v;
  int rc;
  if (lp->closing || !token_ok(payload))
    return;
  if (pausehub_lookup(lp->hub, payload, strlen(payload), &v) == 0 && v.state != LINKSVC_STATE_PENDING)
    return; /* ended here already: this replica's own end, or one applied */
  if (lp->reads >= LINKPEERS_READS_MAX) {
    LOG_WARN("link notification dropped: too many reads in flight");
    reread_later(lp);
    return;
  }
  lp->hold(lp->ctx);
  lp->reads++;
  rc = lp->store->ops->link_get(lp->store, payload, on_row, lp);
  if (rc != 0) {
    lp->reads--;
    lp->release(lp->ctx);
    reread_later(lp);
  }
}

/* ---- resync after every (re)connect ---- */

static int resync_page(linkpeers_t *lp, int first);

static void on_resync_page(void *data, int status, const store_link *rows, size_t n) {
  linkpeers_t *lp = data;
  size_t i;
  int rc = status;
  if (status == 0 && !lp->closing) {
    for (i = 0; i < n; i++)
      apply_row(lp, &rows[i], lp->resync_from_ms);
    if (n == STORE_PAGE_MAX) {
      lp->page_after_ms = rows[n - 1].created_ms;
      snprintf(lp->page_after, sizeof lp->page_after, "%s", rows[n - 1].token);
      rc = resync_page(lp, 0);
      if (rc == 0) {
        lp->release(lp->ctx);
        return; /* the next page holds the store */
      }
    }
  }
  lp->resyncing = 0;
  if (rc != 0 && rc != -ECANCELED) {
    LOG_WARN("links of peers not re-read: again later", LOG_I64("error", rc));
    reread_later(lp); /* from the same point (synced_ms stays) */
  }
  if (rc == 0) {
    lp->synced_ms = lp->resync_began_ms; /* next time from here; a failed one reads again from the old point */
    store_pg_resync_done(lp->store);
  }
  if (lp->resync_again && !lp->closing) {
    lp->resync_again = 0;
    if (resync_page(lp, 1) != 0)
      reread_later(lp);
  }
  lp->release(lp->ctx);
}

/* first: a new resync (from synced_ms); else the next page of this one. */
static int resync_page(linkpeers_t *lp, int first) {
  uint64_t since;
  int rc;
  if (first) {
    lp->resyncing = 1;
    lp->resync_from_ms = lp->synced_ms > LINKPEERS_SKEW_MS ? lp->synced_ms - LINKPEERS_SKEW_MS : 0;
    lp->resync_began_ms = timefmt_now_ms(); /* LISTEN is in force: later ends are notified */
    lp->page_after_ms = 0;
    lp->page_after[0] = '\0';
  }
  /* a link that ended at or after resync_from_ms was created at most a
   * link lifetime before */
  since = lp->resync_from_ms > (uint64_t)LINKSVC_LINK_TTL_MAX_S * 1000
              ? lp->resync_from_ms - (uint64_t)LINKSVC_LINK_TTL_MAX_S * 1000
              : 0;
  lp->hold(lp->ctx);
  rc = lp->store->ops->link_page(lp->store, since, lp->page_after_ms, lp->page_after, STORE_PAGE_MAX,
                                 on_resync_page, lp);
  if (rc != 0) {
    lp->release(lp->ctx);
    lp->resyncing = 0;
  }
  return rc;
}

static void on_resync(void *data) {
  linkpeers_t *lp = data;
  if (lp->closing)
    return;
  if (lp->resyncing) {
    lp->resync_again = 1;
    return;
  }
  if (resync_page(lp, 1) != 0)
    reread_later(lp);
}

/* ---- the Link page ---- */

int linkpeers_adopt(linkpeers_t *lp, const store_link *row) {
  if (!lp->active)
    return -ENOTSUP;
  if (row->status != LINKSVC_STATE_PENDING || row->expires_ms <= timefmt_now_ms() || !token_ok(row->token))
    return -EINVAL;
  return pausehub_restore(lp->hub, row->token, row->user, row->connector, row->callback_url, row->state,
                          LINKSVC_STATE_PENDING, row->pinned, row->created_ms, row->expires_ms, 0);
}

int linkpeers_start(linkpeers_t *lp, store_t *store, pausehub_t *hub, uint64_t now_ms, linkpeers_hold_fn hold,
                    linkpeers_hold_fn release, void *ctx) {
  int rc;
  memset(lp, 0, sizeof *lp);
  lp->store = store;
  lp->hub = hub;
  lp->hold = hold;
  lp->release = release;
  lp->ctx = ctx;
  lp->synced_ms = now_ms; /* the links were restored then */
  rc = store_pg_listen(store, PGSTORE_LINKS_CHANNEL, on_notify, on_resync, lp);
  if (rc == -ENOTSUP)
    return 0; /* SQLite: one process, nothing to do */
  if (rc != 0)
    return rc;
  lp->active = 1;
  return 0;
}

void linkpeers_stop(linkpeers_t *lp) {
  lp->closing = 1;
}
