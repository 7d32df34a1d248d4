/* test_linksvc_store: unit tests of proxy/link/linksvc.c where it meets the
 * store: the link-token API's pinned links (linksvc_mint), links put back
 * from the store (linksvc_restore), and the bound on ended links kept in
 * memory (ended_max: rows are the truth, memory a cache; a burst at the cap
 * never refuses a new wait).
 */
#include "linksvc_test.h"

/* ---- linksvc_mint: the link-token API's pinned links ---- */

static void test_mint_api(void) {
  linksvc_t ls;
  linksvc_link_info info, info2;
  stream a = {0}, b = {0}, c = {0}, gh = {0}, bob = {0};
  const linksvc_link *l;
  char path[128];
  char stream_token[LINKSVC_TOKEN_LEN + 1];
  const uint64_t u = T0 + 200000; /* after the sweep below; times only go forward */
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);

  /* info is filled; the link keeps the caller's callback_url and state */
  memset(&info, 0, sizeof info);
  CHECK(linksvc_mint(&ls, "alice", "slack", 3600, "https://app.example.com/cb", "st-1", T0,
                     &info) == 0);
  CHECK(token_format_ok(info.token));
  snprintf(path, sizeof path, "/_authrelay/link/%s", info.token);
  CHECK(strcmp(info.path, path) == 0);
  CHECK(strcmp(info.connector, "slack") == 0);
  CHECK_EQ_U64(info.created_ms, T0);
  CHECK_EQ_U64(info.expires_ms, T0 + 3600 * 1000ull); /* its own ttl, not link_ttl_s */
  CHECK(strcmp(info.expires_at, "2026-01-01T01:00:00Z") == 0);
  l = find(&ls, info.token);
  CHECK(l != NULL);
  if (l != NULL) {
    CHECK(l->pinned == 1);
    CHECK(l->state == LINKSVC_STATE_PENDING);
    CHECK(strcmp(l->user, "alice") == 0 && l->user_len == 5);
    CHECK(strcmp(l->callback_url, "https://app.example.com/cb") == 0);
    CHECK(strcmp(l->state_param, "st-1") == 0);
    CHECK(l->nwaiters == 0);
  }
  CHECK(ls.nlinks == 1 && ls.npending == 1 && ls.nwaiters == 0);

  /* NULL callback_url and state: "" */
  CHECK(linksvc_mint(&ls, "carol", "github", 7200, NULL, NULL, T0, &info2) == 0);
  l = find(&ls, info2.token);
  CHECK(l != NULL && strcmp(l->callback_url, "") == 0 && strcmp(l->state_param, "") == 0);
  CHECK(strcmp(info2.token, info.token) != 0);

  /* a stream pausing for the same pair does not join the pinned link */
  CHECK(wait_s(&ls, &a, "alice", "slack", T0 + 1000) == 0);
  CHECK(strcmp(a.w.link.token, info.token) != 0);
  CHECK_EQ_U64(a.w.link.expires_ms, T0 + 1000 + TTL_MS);
  CHECK(find(&ls, info.token)->nwaiters == 0);
  CHECK(find(&ls, a.w.link.token)->pinned == 0);
  CHECK(ls.npending == 3);

  /* it outlives having no waiters: the stream's own link is revoked when
   * its waiter leaves, the pinned one stays pending, across a sweep too */
  memcpy(stream_token, a.w.link.token, sizeof stream_token);
  linksvc_cancel(&ls, &a.w);
  CHECK(find(&ls, stream_token)->state == LINKSVC_STATE_REVOKED);
  CHECK(find(&ls, info.token)->state == LINKSVC_STATE_PENDING);
  linksvc_expire(&ls, u);
  CHECK(find(&ls, info.token)->state == LINKSVC_STATE_PENDING);
  CHECK(ls.npending == 2);
  CHECK(ncalls == 0);

  /* completing it resumes the streams waiting on the pair's stream link,
   * and ends that link too; other pairs are untouched */
  CHECK(wait_s(&ls, &b, "alice", "slack", u + 2000) == 0);
  CHECK(wait_s(&ls, &c, "alice", "slack", u + 3000) == 0);
  CHECK(strcmp(b.w.link.token, c.w.link.token) == 0);
  CHECK(strcmp(b.w.link.token, info.token) != 0);
  memcpy(stream_token, b.w.link.token, sizeof stream_token);
  CHECK(wait_s(&ls, &gh, "alice", "github", u + 3000) == 0);
  CHECK(wait_s(&ls, &bob, "bob", "slack", u + 3000) == 0);
  CHECK(ls.nwaiters == 4);
  CHECK(complete(&ls, info.token, u + 4000) == 0);
  CHECK(b.completed == 1 && b.expired == 0 && !b.w.waiting);
  CHECK(c.completed == 1 && c.expired == 0 && !c.w.waiting);
  CHECK(ncalls == 2);
  CHECK(gh.w.waiting && gh.completed == 0);
  CHECK(bob.w.waiting && bob.completed == 0);
  l = find(&ls, info.token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_COMPLETED && l->ended_ms == u + 4000);
  l = find(&ls, stream_token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_COMPLETED && l->ended_ms == u + 4000);
  CHECK(l != NULL && l->nwaiters == 0);
  CHECK(ls.nwaiters == 2);

  /* single use, for both */
  CHECK(complete(&ls, info.token, u + 5000) == -EALREADY);
  CHECK(complete(&ls, stream_token, u + 5000) == -EALREADY);
  CHECK(ncalls == 2);

  /* a new pause of the pair mints a fresh stream link */
  CHECK(wait_s(&ls, &b, "alice", "slack", u + 6000) == 0);
  CHECK(strcmp(b.w.link.token, stream_token) != 0);
  linksvc_cancel(&ls, &b.w);

  /* completing a pinned link with no stream waiting for its pair */
  CHECK(complete(&ls, info2.token, u + 6000) == 0);
  CHECK(find(&ls, info2.token)->state == LINKSVC_STATE_COMPLETED);
  CHECK(ncalls == 2 && gh.w.waiting && bob.w.waiting);

  /* completing the stream link leaves the pair's pinned link usable */
  CHECK(linksvc_mint(&ls, "bob", "slack", 600, NULL, NULL, u + 7000, &info) == 0);
  CHECK(complete(&ls, bob.w.link.token, u + 8000) == 0);
  CHECK(bob.completed == 1 && ncalls == 3);
  CHECK(find(&ls, info.token)->state == LINKSVC_STATE_PENDING);
  CHECK(complete(&ls, info.token, u + 9000) == 0);
  CHECK(ncalls == 3);

  /* a pinned link expires at its own time */
  CHECK(linksvc_mint(&ls, "dave", "slack", 60, NULL, NULL, u + 10000, &info) == 0);
  linksvc_expire(&ls, u + 10000 + 60000 - 1);
  CHECK(find(&ls, info.token)->state == LINKSVC_STATE_PENDING);
  linksvc_expire(&ls, u + 10000 + 60000);
  CHECK(find(&ls, info.token)->state == LINKSVC_STATE_EXPIRED);
  CHECK(complete(&ls, info.token, u + 10000 + 60000) == -ETIMEDOUT);
  CHECK(gh.w.waiting && ncalls == 3); /* its stream link's time is not up */

  /* bad arguments */
  CHECK(linksvc_mint(&ls, "alice", "slack", 0, NULL, NULL, u + 80000, &info) == -EINVAL);
  CHECK(linksvc_mint(&ls, "alice", "slack", LINKSVC_LINK_TTL_MAX_S + 1, NULL, NULL, u + 80000,
                     &info) == -EINVAL);
  CHECK(linksvc_mint(&ls, "alice", "Slack", 60, NULL, NULL, u + 80000, &info) == -EINVAL);
  CHECK(linksvc_mint(&ls, "a b", "slack", 60, NULL, NULL, u + 80000, &info) == -EINVAL);
  CHECK(linksvc_mint(&ls, NULL, "slack", 60, NULL, NULL, u + 80000, &info) == -EINVAL);
  CHECK(linksvc_mint(&ls, "alice", "slack", LINKSVC_LINK_TTL_MAX_S, NULL, NULL, u + 80000, &info) ==
        0);
  CHECK_EQ_U64(info.expires_ms, u + 80000 + LINKSVC_LINK_TTL_MAX_S * 1000ull);
  linksvc_close(&ls);
  CHECK(!gh.w.waiting);
}

/* ---- linksvc_restore: links put back from the store ---- */

static void test_restore(void) {
  linksvc_t ls;
  linksvc_options o = {0};
  journal j;
  stream a = {0}, b = {0}, c = {0};
  const linksvc_link *l;
  memset(&j, 0, sizeof j);
  o.journal = on_journal;
  o.journal_ctx = &j;
  ncalls = 0;
  CHECK(linksvc_init(&ls, &o) == 0);

  /* a pending stream link */
  CHECK(linksvc_restore(&ls, RTOK1, "alice", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == 0);
  l = find(&ls, RTOK1);
  CHECK(l != NULL);
  if (l != NULL) {
    CHECK(l->state == LINKSVC_STATE_PENDING && l->pinned == 0 && l->nwaiters == 0);
    CHECK(strcmp(l->user, "alice") == 0 && strcmp(l->connector, "slack") == 0);
    CHECK(strcmp(l->path, "/_authrelay/link/" RTOK1) == 0);
    CHECK(strcmp(l->expires_at, "2026-01-01T00:30:00Z") == 0);
    CHECK(l->created_ms == T0 && l->expires_ms == T0 + TTL_MS);
  }
  CHECK(ls.nlinks == 1 && ls.npending == 1);

  /* a new wait of the pair joins it, keeping its expiry */
  CHECK(wait_s(&ls, &a, "alice", "slack", T0 + 1000) == 0);
  CHECK(strcmp(a.w.link.token, RTOK1) == 0);
  CHECK_EQ_U64(a.w.link.expires_ms, T0 + TTL_MS);
  CHECK(find(&ls, RTOK1)->nwaiters == 1);
  CHECK(ls.nlinks == 1);
  /* it is kept when that waiter leaves */
  linksvc_cancel(&ls, &a.w);
  CHECK(find(&ls, RTOK1)->state == LINKSVC_STATE_PENDING);
  CHECK(ls.npending == 1);
  /* and completes as any link */
  CHECK(wait_s(&ls, &b, "alice", "slack", T0 + 2000) == 0);
  CHECK(strcmp(b.w.link.token, RTOK1) == 0);
  CHECK(complete(&ls, RTOK1, T0 + 3000) == 0);
  CHECK(b.completed == 1 && ncalls == 1);
  CHECK(find(&ls, RTOK1)->state == LINKSVC_STATE_COMPLETED);

  /* ended links answer per their state */
  CHECK(linksvc_restore(&ls, RTOK2, "bob", "slack", NULL, NULL, LINKSVC_STATE_COMPLETED, 0, T0,
                        T0 + TTL_MS, T0 + 500) == 0);
  CHECK(linksvc_restore(&ls, RTOK3, "bob", "github", NULL, NULL, LINKSVC_STATE_EXPIRED, 0, T0,
                        T0 + TTL_MS, T0 + TTL_MS) == 0);
  CHECK(linksvc_restore(&ls, RTOK4, "bob", "notion", NULL, NULL, LINKSVC_STATE_REVOKED, 0, T0,
                        T0 + TTL_MS, T0 + 700) == 0);
  CHECK(complete(&ls, RTOK2, T0 + 4000) == -EALREADY);
  CHECK(complete(&ls, RTOK3, T0 + 4000) == -ETIMEDOUT);
  CHECK(complete(&ls, RTOK4, T0 + 4000) == -ECANCELED);
  CHECK(find(&ls, RTOK2)->state == LINKSVC_STATE_COMPLETED && find(&ls, RTOK2)->ended_ms == T0 + 500);
  CHECK(find(&ls, RTOK3)->state == LINKSVC_STATE_EXPIRED);
  CHECK(find(&ls, RTOK4)->state == LINKSVC_STATE_REVOKED);
  CHECK(ls.npending == 0);
  /* an ended link is not joined: the pair gets a new link */
  CHECK(wait_s(&ls, &c, "bob", "slack", T0 + 4000) == 0);
  CHECK(strcmp(c.w.link.token, RTOK2) != 0);
  linksvc_cancel(&ls, &c.w);

  /* a known token */
  CHECK(linksvc_restore(&ls, RTOK2, "bob", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == -EEXIST);
  CHECK(linksvc_restore(&ls, RTOK1, "x", "y", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0, T0 + TTL_MS,
                        0) == -EEXIST);
  CHECK(find(&ls, RTOK2)->state == LINKSVC_STATE_COMPLETED);

  /* bad arguments */
  CHECK(linksvc_restore(&ls, RTOK5, "a b", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == -EINVAL);
  CHECK(linksvc_restore(&ls, RTOK5, "alice", "Slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == -EINVAL);
  CHECK(linksvc_restore(&ls, NULL, "alice", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == -EINVAL);
  CHECK(linksvc_restore(&ls, RTOK5, "alice", "slack", NULL, NULL, (linksvc_state)7, 0, T0,
                        T0 + TTL_MS, 0) == -EINVAL);
  /* a malformed token is -EINVAL, not -EEXIST ("token known") */
  CHECK(linksvc_restore(&ls, "ltk_nothex", "alice", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + TTL_MS, 0) == -EINVAL);
  CHECK(find(&ls, RTOK5) == NULL);

  /* a pinned pending link: kept, not joined, callback and state kept */
  CHECK(linksvc_restore(&ls, RTOK5, "carol", "slack", "https://app.example.com/done", "xyz",
                        LINKSVC_STATE_PENDING, 1, T0, T0 + TTL_MS, 0) == 0);
  l = find(&ls, RTOK5);
  CHECK(l != NULL && l->pinned == 1 && strcmp(l->callback_url, "https://app.example.com/done") == 0 &&
        strcmp(l->state_param, "xyz") == 0);
  CHECK(wait_s(&ls, &c, "carol", "slack", T0 + 5000) == 0);
  CHECK(strcmp(c.w.link.token, RTOK5) != 0);
  /* completing it resumes the pair's stream */
  CHECK(complete(&ls, RTOK5, T0 + 6000) == 0);
  CHECK(c.completed == 1 && !c.w.waiting);

  /* a pending link restored past its time expires at the next sweep */
  CHECK(linksvc_restore(&ls, RTOK6, "dave", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + 1000, 0) == 0);
  CHECK(find(&ls, RTOK6)->state == LINKSVC_STATE_PENDING);
  linksvc_expire(&ls, T0 + 7000);
  CHECK(find(&ls, RTOK6)->state == LINKSVC_STATE_EXPIRED);

  linksvc_close(&ls);

  /* restored ended links are forgotten retain_s after their end time */
  CHECK(linksvc_init(&ls, NULL) == 0);
  CHECK(linksvc_restore(&ls, RTOK2, "bob", "slack", NULL, NULL, LINKSVC_STATE_COMPLETED, 0, T0,
                        T0 + TTL_MS, T0 + 500) == 0);
  CHECK(linksvc_restore(&ls, RTOK4, "bob", "notion", NULL, NULL, LINKSVC_STATE_REVOKED, 0, T0,
                        T0 + TTL_MS, T0 + 700) == 0);
  CHECK(ls.nlinks == 2 && ls.npending == 0);
  linksvc_expire(&ls, T0 + 500 + 3600 * 1000ull - 1);
  CHECK(find(&ls, RTOK2) != NULL && find(&ls, RTOK4) != NULL);
  linksvc_expire(&ls, T0 + 500 + 3600 * 1000ull);
  CHECK(find(&ls, RTOK2) == NULL && find(&ls, RTOK4) != NULL);
  linksvc_expire(&ls, T0 + 700 + 3600 * 1000ull);
  CHECK(find(&ls, RTOK4) == NULL && ls.nlinks == 0);
  linksvc_close(&ls);
}

/* ---- the bound on ended links ---- */

#define BURST 2000      /* links minted and ended, far over both caps */
#define HOLDERS 24      /* pending links kept all along */

/* Many more links end than max_links and ended_max: memory holds at most
 * ended_max ended links (after every call), pending links are never
 * forgotten, every new wait succeeds at and past the cap, and a forgotten
 * token is still not usable (nor reused). An ended API link keeps no
 * callback_url nor state once journalled. */
static void test_ended_bound(void) {
  linksvc_t ls;
  linksvc_options o = {0};
  journal j;
  stream hold[HOLDERS];
  stream more[HOLDERS];
  stream s = {0};
  linksvc_link_info info;
  char first[LINKSVC_TOKEN_LEN + 1];
  char user[32];
  size_t most_ended = 0;
  int refused = 0;
  int wrong = 0;
  int i;
  memset(hold, 0, sizeof hold);
  memset(more, 0, sizeof more);
  memset(&j, 0, sizeof j);
  o.max_links = 32;
  o.ended_max = 6;
  o.journal = on_journal;
  o.journal_ctx = &j;
  ncalls = 0;
  CHECK(linksvc_init(&ls, &o) == 0);
  for (i = 0; i < HOLDERS; i++) {
    snprintf(user, sizeof user, "holder-%d", i);
    CHECK(wait_s(&ls, &hold[i], user, "slack", T0) == 0);
  }
  /* a burst: links end by completion, revocation, expiry and the API's */
  for (i = 0; i < BURST; i++) {
    uint64_t now = T0 + 1000 + (uint64_t)i;
    int rc;
    snprintf(user, sizeof user, "u-%d", i);
    if (i % 4 == 3) {
      rc = linksvc_mint(&ls, user, "github", 60, "https://app.example.com/cb", "st", now, &info);
      if (rc == 0 && complete(&ls, info.token, now) != 0)
        wrong++;
      if (rc == 0 && (find(&ls, info.token) == NULL || strcmp(find(&ls, info.token)->callback_url, "") != 0 ||
                      strcmp(find(&ls, info.token)->state_param, "") != 0))
        wrong++; /* ended: its callback_url and state went with the journal */
    } else {
      rc = wait_s(&ls, &s, user, "github", now);
      if (rc == 0 && i % 4 == 0 && complete(&ls, s.w.link.token, now) != 0)
        wrong++;
      if (rc == 0 && i % 4 == 1)
        linksvc_cancel(&ls, &s.w);
      if (rc == 0 && i % 4 == 2 && linksvc_expire_link(&ls, s.w.link.token, LINKSVC_TOKEN_LEN, now) != 0)
        wrong++;
      if (rc == 0 && s.w.waiting)
        wrong++;
    }
    if (i == 0)
      memcpy(first, s.w.link.token, sizeof first);
    if (rc != 0)
      refused++;
    if (ls.nended > most_ended)
      most_ended = ls.nended;
    if (ls.nlinks != ls.npending + ls.nended || ls.npending != HOLDERS)
      wrong++;
  }
  CHECK(refused == 0);
  CHECK(wrong == 0);
  CHECK(most_ended <= 6 && ls.nended == 6);
  /* the journal got the first API link's callback_url and state at its
   * end (records: the holders' mints, then two per link) */
  CHECK(j.n > JOURNAL_MAX && jis(&j, HOLDERS + 7, j.r[HOLDERS + 6].token, LINKSVC_STATE_COMPLETED));
  CHECK(strcmp(j.r[HOLDERS + 7].callback_url, "https://app.example.com/cb") == 0 &&
        strcmp(j.r[HOLDERS + 7].state_param, "st") == 0);
  /* pending links were never forgotten, and still complete */
  for (i = 0; i < HOLDERS; i++)
    CHECK(hold[i].w.waiting && find(&ls, hold[i].w.link.token) != NULL &&
          find(&ls, hold[i].w.link.token)->state == LINKSVC_STATE_PENDING);
  /* a forgotten ended token: unknown to memory, never usable, not reissued */
  CHECK(find(&ls, first) == NULL);
  CHECK(complete(&ls, first, T0 + 5000) == -ENOENT);
  CHECK(linksvc_expire_link(&ls, first, LINKSVC_TOKEN_LEN, T0 + 5000) == -ENOENT);
  CHECK(wait_s(&ls, &s, "u-0", "github", T0 + 5000) == 0);
  CHECK(strcmp(s.w.link.token, first) != 0);
  linksvc_cancel(&ls, &s.w);
  /* at max_links with ended ones known, a new pause takes the oldest's room */
  for (i = 0; i < HOLDERS && ls.npending < o.max_links - 1; i++) {
    snprintf(user, sizeof user, "more-%d", i);
    CHECK(wait_s(&ls, &more[i], user, "notion", T0 + 6000) == 0);
  }
  CHECK(ls.nlinks == o.max_links && ls.nended > 0);
  CHECK(wait_s(&ls, &s, "last", "slack", T0 + 6000) == 0);
  CHECK(ls.npending == o.max_links && ls.nended == 0);
  /* only when every link is pending is a new one refused */
  CHECK(linksvc_mint(&ls, "one-more", "slack", 60, NULL, NULL, T0 + 6000, &info) == -ENOSPC);
  linksvc_close(&ls);

  /* the default bound */
  CHECK(linksvc_init(&ls, NULL) == 0);
  CHECK(ls.opt_.ended_max == LINKSVC_DEFAULT_ENDED_MAX);
  linksvc_close(&ls);
}

/* Links restored from the store at start: only the latest ended_max ended
 * ones stay, by end time; pending ones all do. */
static void test_restore_bound(void) {
  linksvc_t ls;
  linksvc_options o = {0};
  o.ended_max = 2;
  CHECK(linksvc_init(&ls, &o) == 0);
  CHECK(linksvc_restore(&ls, RTOK1, "a", "slack", NULL, NULL, LINKSVC_STATE_COMPLETED, 0, T0, T0 + TTL_MS,
                        T0 + 300) == 0);
  CHECK(linksvc_restore(&ls, RTOK2, "b", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0, T0 + TTL_MS, 0) == 0);
  CHECK(linksvc_restore(&ls, RTOK3, "c", "slack", "https://x.example/cb", "s", LINKSVC_STATE_EXPIRED, 1, T0,
                        T0 + TTL_MS, T0 + 100) == 0);
  CHECK(linksvc_restore(&ls, RTOK4, "d", "slack", NULL, NULL, LINKSVC_STATE_REVOKED, 0, T0, T0 + TTL_MS,
                        T0 + 200) == 0);
  CHECK(linksvc_restore(&ls, RTOK5, "e", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 1, T0, T0 + TTL_MS, 0) == 0);
  CHECK(ls.nended == 2 && ls.npending == 2 && ls.nlinks == 4);
  CHECK(find(&ls, RTOK3) == NULL); /* ended first */
  CHECK(find(&ls, RTOK1) != NULL && find(&ls, RTOK4) != NULL);
  CHECK(find(&ls, RTOK2) != NULL && find(&ls, RTOK5) != NULL);
  CHECK(complete(&ls, RTOK3, T0 + 1000) == -ENOENT);
  linksvc_close(&ls);
}

/* ---- replicas: two links minted for one pair at the same time ---- */

/* Replica "to" hears of the pending stream link token of replica "from"
 * (linkpeers: NOTIFY, then the row): linksvc_restore of it. */
static int hear(linksvc_t *to, linksvc_t *from, const char *token) {
  const linksvc_link *l = find(from, token);
  if (l == NULL)
    return -ENOENT;
  return linksvc_restore(to, l->token, l->user, l->connector, "", "", LINKSVC_STATE_PENDING, 0, l->created_ms,
                         l->expires_ms, 0);
}

/* Streams pause on A and on B for the same pair in the same millisecond,
 * each before it heard of the other's link: two links. Once each heard of
 * the other, both keep the same one (the older: created_ms, then token) as
 * the pair's, new pauses on either join it, and completing either link
 * resumes every stream of the pair on both. */
static void test_rivals_converge(void) {
  linksvc_t a, b;
  stream a1 = {0}, a2 = {0}, b1 = {0}, b2 = {0}, other = {0};
  char ta[LINKSVC_TOKEN_LEN + 1], tb[LINKSVC_TOKEN_LEN + 1];
  const char *older, *younger;
  int round;
  for (round = 0; round < 2; round++) { /* 0: the younger link completed; 1: the older one */
    memset(&a1, 0, sizeof a1);
    memset(&a2, 0, sizeof a2);
    memset(&b1, 0, sizeof b1);
    memset(&b2, 0, sizeof b2);
    memset(&other, 0, sizeof other);
    ncalls = 0;
    CHECK(linksvc_init(&a, NULL) == 0);
    CHECK(linksvc_init(&b, NULL) == 0);
    CHECK(wait_s(&a, &a1, "alice", "slack", T0 + 1000) == 0);
    CHECK(wait_s(&b, &b1, "alice", "slack", T0 + 1000) == 0);
    CHECK(wait_s(&b, &other, "alice", "github", T0 + 1000) == 0);
    memcpy(ta, a1.w.link.token, sizeof ta);
    memcpy(tb, b1.w.link.token, sizeof tb);
    CHECK(strcmp(ta, tb) != 0);
    older = strcmp(ta, tb) < 0 ? ta : tb; /* same millisecond: the token decides */
    younger = older == ta ? tb : ta;
    CHECK(hear(&a, &b, tb) == 0);
    CHECK(hear(&b, &a, ta) == 0);
    /* both usable on both, one joined on both */
    CHECK(find(&a, tb) != NULL && find(&a, tb)->state == LINKSVC_STATE_PENDING);
    CHECK(find(&b, ta) != NULL && find(&b, ta)->state == LINKSVC_STATE_PENDING);
    CHECK(wait_s(&a, &a2, "alice", "slack", T0 + 2000) == 0);
    CHECK(wait_s(&b, &b2, "alice", "slack", T0 + 2000) == 0);
    CHECK(strcmp(a2.w.link.token, older) == 0);
    CHECK(strcmp(b2.w.link.token, older) == 0);
    /* the streams that paused first keep the link they were given */
    CHECK(strcmp(a1.w.link.token, ta) == 0 && strcmp(b1.w.link.token, tb) == 0);
    /* one link completed on its replica, the end applied on the other
     * (linkpeers: pausehub_complete_as of the same token) */
    {
      const char *done = round == 0 ? younger : older;
      CHECK(complete(&a, done, T0 + 3000) == 0);
      CHECK(complete(&b, done, T0 + 3000) == 0);
    }
    CHECK(a1.completed == 1 && a2.completed == 1 && b1.completed == 1 && b2.completed == 1);
    CHECK(other.completed == 0 && other.w.waiting); /* another pair: untouched */
    CHECK(find(&a, ta)->state == LINKSVC_STATE_COMPLETED && find(&a, tb)->state == LINKSVC_STATE_COMPLETED);
    CHECK(find(&b, ta)->state == LINKSVC_STATE_COMPLETED && find(&b, tb)->state == LINKSVC_STATE_COMPLETED);
    CHECK(a.npending == 0 && b.npending == 1 && a.nwaiters == 0 && b.nwaiters == 1);
    linksvc_close(&a);
    linksvc_close(&b);
  }
}

/* The older link arrives second (restore), and first: either way it is the
 * pair's; a third replica's link, older still, takes the other two as its
 * siblings; declining one declines them all; a link past its time is not
 * a rival. */
static void test_rivals_order(void) {
  linksvc_t ls;
  stream s1 = {0}, s2 = {0}, s3 = {0};
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);
  /* RTOK3 first, created at +500; RTOK2 (created at +400) arrives: older */
  CHECK(linksvc_restore(&ls, RTOK3, "bob", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 500,
                        T0 + TTL_MS, 0) == 0);
  CHECK(wait_s(&ls, &s1, "bob", "slack", T0 + 600) == 0);
  CHECK(strcmp(s1.w.link.token, RTOK3) == 0);
  CHECK(linksvc_restore(&ls, RTOK2, "bob", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 400,
                        T0 + TTL_MS, 0) == 0);
  CHECK(wait_s(&ls, &s2, "bob", "slack", T0 + 700) == 0);
  CHECK(strcmp(s2.w.link.token, RTOK2) == 0);
  /* a younger one (same time, larger token) is a sibling */
  CHECK(linksvc_restore(&ls, RTOK4, "bob", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 400,
                        T0 + TTL_MS, 0) == 0);
  /* an older one still: RTOK2 and its sibling RTOK3 become its siblings */
  CHECK(linksvc_restore(&ls, RTOK1, "bob", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 100,
                        T0 + TTL_MS, 0) == 0);
  CHECK(wait_s(&ls, &s3, "bob", "slack", T0 + 800) == 0);
  CHECK(strcmp(s3.w.link.token, RTOK1) == 0);
  CHECK(ls.npending == 4);
  /* "Not now" on the youngest declines the pair's link and every sibling */
  CHECK(linksvc_decline(&ls, RTOK4, strlen(RTOK4), T0 + 900) == 0);
  CHECK(s1.declined == 1 && s2.declined == 1 && s3.declined == 1 && ncalls == 3);
  CHECK(ls.npending == 0);
  CHECK(find(&ls, RTOK1)->state == LINKSVC_STATE_DECLINED && find(&ls, RTOK3)->state == LINKSVC_STATE_DECLINED);
  /* a pending link past its time is no rival: the restored one is joined */
  CHECK(linksvc_restore(&ls, RTOK5, "carl", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0, T0 + 1000, 0) == 0);
  CHECK(linksvc_restore(&ls, RTOK6, "carl", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 900,
                        T0 + TTL_MS, 0) == 0);
  memset(&s1, 0, sizeof s1);
  CHECK(wait_s(&ls, &s1, "carl", "slack", T0 + 2000) == 0);
  CHECK(strcmp(s1.w.link.token, RTOK6) == 0);
  linksvc_cancel(&ls, &s1.w);
  linksvc_close(&ls);
}

/* Picker links (connector "") minted at once on A and B for one user: they
 * converge the same way; the user picks a connector on either link, and
 * the end, applied on the other replica with the same token, resumes the
 * streams waiting on both pickers there, and those of the chosen pair.
 * Declining the younger one declines the older with it. */
static void test_rival_pickers(void) {
  linksvc_t a, b;
  stream a1 = {0}, b1 = {0}, b2 = {0}, bslack = {0};
  char ta[LINKSVC_TOKEN_LEN + 1], tb[LINKSVC_TOKEN_LEN + 1];
  const char *older, *younger;
  int round;
  for (round = 0; round < 3; round++) { /* 0: the older chosen on; 1: the younger; 2: the younger declined */
    memset(&a1, 0, sizeof a1);
    memset(&b1, 0, sizeof b1);
    memset(&b2, 0, sizeof b2);
    memset(&bslack, 0, sizeof bslack);
    ncalls = 0;
    CHECK(linksvc_init(&a, NULL) == 0);
    CHECK(linksvc_init(&b, NULL) == 0);
    CHECK(wait_s(&a, &a1, "pat", "", T0 + 1000) == 0);
    CHECK(wait_s(&b, &b1, "pat", "", T0 + 1000) == 0);
    memcpy(ta, a1.w.link.token, sizeof ta);
    memcpy(tb, b1.w.link.token, sizeof tb);
    older = strcmp(ta, tb) < 0 ? ta : tb;
    younger = older == ta ? tb : ta;
    CHECK(hear(&a, &b, tb) == 0);
    CHECK(hear(&b, &a, ta) == 0);
    CHECK(wait_s(&b, &b2, "pat", "", T0 + 2000) == 0);
    CHECK(strcmp(b2.w.link.token, older) == 0);
    CHECK(wait_s(&b, &bslack, "pat", "slack", T0 + 2000) == 0); /* the chosen pair's own stream */
    if (round < 2) {
      const char *done = round == 0 ? older : younger;
      CHECK(linksvc_complete_as(&a, done, LINKSVC_TOKEN_LEN, "slack", T0 + 3000) == 0);
      CHECK(linksvc_complete_as(&b, done, LINKSVC_TOKEN_LEN, "slack", T0 + 3000) == 0);
      CHECK(a1.completed == 1 && b1.completed == 1 && b2.completed == 1 && bslack.completed == 1);
      CHECK(strcmp(b1.w.link.connector, "slack") == 0 && strcmp(b2.w.link.connector, "slack") == 0);
    } else {
      CHECK(linksvc_decline(&a, younger, LINKSVC_TOKEN_LEN, T0 + 3000) == 0);
      CHECK(linksvc_decline(&b, younger, LINKSVC_TOKEN_LEN, T0 + 3000) == 0);
      CHECK(a1.declined == 1 && b1.declined == 1 && b2.declined == 1);
      CHECK(bslack.declined == 0 && bslack.w.waiting); /* a picker's "Not now" is not the pair's */
      linksvc_cancel(&b, &bslack.w);
    }
    CHECK(a.npending == 0 && b.npending == 0 && a.nwaiters == 0 && b.nwaiters == 0);
    linksvc_close(&a);
    linksvc_close(&b);
  }
}

int main(void) {
  RUN(test_mint_api);
  RUN(test_restore);
  RUN(test_ended_bound);
  RUN(test_restore_bound);
  RUN(test_rivals_converge);
  RUN(test_rivals_order);
  RUN(test_rival_pickers);
  return unit_report();
}
