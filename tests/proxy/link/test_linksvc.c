/* test_linksvc: unit tests of proxy/link/linksvc.c, with a fake clock: the
 * links streams wait on.
 *
 * Covers: links minted by waits (token format, path, expiry), waiters of one
 * (user, connector) sharing a link, completion (single use), expiry,
 * revocation when the last waiter leaves, callbacks that act on the service,
 * limits and malformed input, many links, the journal callback, the expiry
 * order of links with different lifetimes, picker links and "Not now".
 * test_linksvc_store.c covers the API's pinned links, links restored from
 * the store and the bound on ended links.
 */
#include "linksvc_test.h"

static void test_mint(void) {
  linksvc_t ls;
  stream s = {0};
  const linksvc_link *l;
  char path[128];
  CHECK(linksvc_init(&ls, NULL) == 0);
  CHECK(wait_s(&ls, &s, "alice", "slack", T0) == 0);
  CHECK(s.w.waiting == 1);
  CHECK(token_format_ok(s.w.link.token));
  snprintf(path, sizeof path, "/_authrelay/link/%s", s.w.link.token);
  CHECK(strcmp(s.w.link.path, path) == 0);
  CHECK(strcmp(s.w.link.connector, "slack") == 0);
  CHECK(strcmp(s.w.link.expires_at, "2026-01-01T00:30:00Z") == 0);
  CHECK_EQ_U64(s.w.link.created_ms, T0);
  CHECK_EQ_U64(s.w.link.expires_ms, T0 + TTL_MS);
  l = find(&ls, s.w.link.token);
  CHECK(l != NULL);
  if (l != NULL) {
    CHECK(l->state == LINKSVC_STATE_PENDING);
    CHECK(strcmp(l->user, "alice") == 0 && l->user_len == 5);
    CHECK(strcmp(l->connector, "slack") == 0);
    CHECK(strcmp(l->token, s.w.link.token) == 0);
    CHECK(strcmp(l->path, path) == 0);
    CHECK(strcmp(l->expires_at, "2026-01-01T00:30:00Z") == 0);
    CHECK(l->nwaiters == 1);
    CHECK(strcmp(linksvc_state_name(l->state), "pending") == 0);
  }
  CHECK(ls.nlinks == 1 && ls.npending == 1 && ls.nwaiters == 1);
  CHECK(wait_s(&ls, &s, "alice", "slack", T0) == -EBUSY);
  CHECK(ncalls == 0);
  linksvc_close(&ls);
  CHECK(s.w.waiting == 0); /* detached without a callback */
  CHECK(ncalls == 0);

  /* a configured ttl */
  {
    linksvc_options o = {.link_ttl_s = 60};
    stream s2 = {0};
    CHECK(linksvc_init(&ls, &o) == 0);
    CHECK(wait_s(&ls, &s2, "bob", "github", T0 + 999) == 0);
    CHECK(strcmp(s2.w.link.expires_at, "2026-01-01T00:01:00Z") == 0);
    CHECK_EQ_U64(s2.w.link.expires_ms, T0 + 999 + 60000);
    linksvc_cancel(&ls, &s2.w);
    linksvc_close(&ls);
  }
}

static void test_share_and_complete(void) {
  linksvc_t ls;
  stream s[3];
  stream other = {0};
  stream bob = {0};
  const linksvc_link *l;
  char token[LINKSVC_TOKEN_LEN + 1];
  int i;
  memset(s, 0, sizeof s);
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);
  for (i = 0; i < 3; i++)
    CHECK(wait_s(&ls, &s[i], "alice", "slack", T0 + (uint64_t)i * 1000) == 0);
  CHECK(strcmp(s[0].w.link.token, s[1].w.link.token) == 0);
  CHECK(strcmp(s[0].w.link.token, s[2].w.link.token) == 0);
  CHECK(strcmp(s[2].w.link.expires_at, s[0].w.link.expires_at) == 0); /* joined, not extended */
  CHECK(wait_s(&ls, &other, "alice", "github", T0) == 0);
  CHECK(wait_s(&ls, &bob, "bob", "slack", T0) == 0);
  CHECK(strcmp(other.w.link.token, s[0].w.link.token) != 0);
  CHECK(strcmp(bob.w.link.token, s[0].w.link.token) != 0);
  CHECK(ls.nlinks == 3 && ls.npending == 3 && ls.nwaiters == 5);
  l = find(&ls, s[0].w.link.token);
  CHECK(l != NULL && l->nwaiters == 3);
  memcpy(token, s[0].w.link.token, sizeof token);

  CHECK(complete(&ls, token, T0 + 5000) == 0);
  for (i = 0; i < 3; i++) {
    CHECK(s[i].completed == 1 && s[i].expired == 0);
    CHECK(s[i].w.waiting == 0);
    CHECK(strcmp(s[i].w.link.token, token) == 0); /* details outlive the wait */
  }
  CHECK(ncalls == 3);
  CHECK(other.completed == 0 && other.w.waiting == 1);
  CHECK(bob.completed == 0 && bob.w.waiting == 1);
  l = find(&ls, token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_COMPLETED && l->nwaiters == 0);
  CHECK(l != NULL && l->ended_ms == T0 + 5000);
  CHECK(ls.nlinks == 3 && ls.npending == 2 && ls.nwaiters == 2);

  /* single use */
  CHECK(complete(&ls, token, T0 + 6000) == -EALREADY);
  CHECK(ncalls == 3);
  l = find(&ls, token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_COMPLETED && l->ended_ms == T0 + 5000);

  /* a new wait after completion mints a new link */
  CHECK(wait_s(&ls, &s[0], "alice", "slack", T0 + 7000) == 0);
  CHECK(strcmp(s[0].w.link.token, token) != 0);
  CHECK(token_format_ok(s[0].w.link.token));
  CHECK(complete(&ls, s[0].w.link.token, T0 + 8000) == 0);
  CHECK(s[0].completed == 2 && s[1].completed == 1 && s[2].completed == 1);
  CHECK(other.w.waiting && bob.w.waiting);
  linksvc_close(&ls);
  CHECK(other.w.waiting == 0 && bob.w.waiting == 0);
}

static void test_expiry(void) {
  linksvc_t ls;
  stream a = {0}, b = {0}, c = {0}, d = {0};
  char token[LINKSVC_TOKEN_LEN + 1];
  const linksvc_link *l;
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);
  CHECK(wait_s(&ls, &a, "alice", "slack", T0) == 0);
  CHECK(wait_s(&ls, &b, "alice", "slack", T0 + 10) == 0);
  CHECK(wait_s(&ls, &c, "carol", "slack", T0 + 60000) == 0);
  memcpy(token, a.w.link.token, sizeof token);
  linksvc_expire(&ls, T0 + TTL_MS - 1);
  CHECK(ncalls == 0);
  linksvc_expire(&ls, T0 + TTL_MS);
  CHECK(a.expired == 1 && b.expired == 1 && a.completed == 0 && b.completed == 0);
  CHECK(!a.w.waiting && !b.w.waiting);
  CHECK(ncalls == 2);
  CHECK(c.w.waiting && c.expired == 0); /* its time is not up */
  l = find(&ls, token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_EXPIRED);
  CHECK(complete(&ls, token, T0 + TTL_MS + 1) == -ETIMEDOUT);
  CHECK(ncalls == 2);
  linksvc_expire(&ls, T0 + TTL_MS + 1);
  CHECK(ncalls == 2);

  /* completing past the time, before the timer saw it */
  CHECK(complete(&ls, c.w.link.token, T0 + 60000 + TTL_MS) == -ETIMEDOUT);
  CHECK(c.expired == 1 && c.completed == 0 && !c.w.waiting);
  CHECK(ncalls == 3);

  /* ended links are forgotten after retain_s (default 3600) */
  CHECK(find(&ls, token) != NULL);
  linksvc_expire(&ls, T0 + TTL_MS + 3600 * 1000ull - 1);
  CHECK(find(&ls, token) != NULL);
  linksvc_expire(&ls, T0 + TTL_MS + 3600 * 1000ull);
  CHECK(find(&ls, token) == NULL);
  CHECK(complete(&ls, token, T0 + TTL_MS + 3600 * 1000ull) == -ENOENT);

  /* a pending link past its time is not joined */
  CHECK(wait_s(&ls, &a, "dave", "slack", T0 + 10 * TTL_MS) == 0);
  CHECK(wait_s(&ls, &d, "dave", "slack", T0 + 11 * TTL_MS) == 0);
  CHECK(strcmp(a.w.link.token, d.w.link.token) != 0);
  CHECK(ls.npending == 2);
  linksvc_expire(&ls, T0 + 11 * TTL_MS);
  CHECK(a.expired == 2 && !a.w.waiting);
  CHECK(d.w.waiting && d.expired == 0);
  CHECK(complete(&ls, d.w.link.token, T0 + 11 * TTL_MS + 1) == 0);
  CHECK(d.completed == 1);
  linksvc_expire(&ls, T0 + 100 * TTL_MS);
  CHECK(ls.nlinks == 0 && ls.npending == 0 && ls.nwaiters == 0);
  linksvc_close(&ls);
}

static void test_cancel(void) {
  linksvc_t ls;
  stream a = {0}, b = {0};
  char token[LINKSVC_TOKEN_LEN + 1];
  const linksvc_link *l;
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);

  /* the last waiter leaving revokes the link */
  CHECK(wait_s(&ls, &a, "alice", "slack", T0) == 0);
  memcpy(token, a.w.link.token, sizeof token);
  linksvc_cancel(&ls, &a.w);
  CHECK(!a.w.waiting);
  linksvc_cancel(&ls, &a.w); /* a no-op */
  l = find(&ls, token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_REVOKED);
  CHECK(strcmp(linksvc_state_name(LINKSVC_STATE_REVOKED), "revoked") == 0);
  CHECK(complete(&ls, token, T0 + 1) == -ECANCELED);
  CHECK(ls.npending == 0 && ls.nwaiters == 0);
  CHECK(ncalls == 0);

  /* one of two leaving keeps it */
  CHECK(wait_s(&ls, &a, "alice", "slack", T0 + 2) == 0);
  CHECK(strcmp(a.w.link.token, token) != 0);
  CHECK(wait_s(&ls, &b, "alice", "slack", T0 + 3) == 0);
  CHECK(strcmp(a.w.link.token, b.w.link.token) == 0);
  linksvc_cancel(&ls, &b.w);
  l = find(&ls, a.w.link.token);
  CHECK(l != NULL && l->state == LINKSVC_STATE_PENDING && l->nwaiters == 1);
  CHECK(complete(&ls, a.w.link.token, T0 + 4) == 0);
  CHECK(a.completed == 1 && b.completed == 0 && ncalls == 1);
  linksvc_close(&ls);
}

static void test_callbacks_act(void) {
  linksvc_t ls;
  stream s[3];
  stream r = {0};
  stream other = {0};
  char token[LINKSVC_TOKEN_LEN + 1];
  int i;
  int called;
  memset(s, 0, sizeof s);
  ncalls = 0;
  CHECK(linksvc_init(&ls, NULL) == 0);

  /* s0 and s1 cancel each other: whichever runs first, the other gets no
   * callback; s2 always does */
  for (i = 0; i < 3; i++)
    CHECK(wait_s(&ls, &s[i], "alice", "slack", T0) == 0);
  s[0].cancel_other = &s[1];
  s[1].cancel_other = &s[0];
  CHECK(complete(&ls, s[0].w.link.token, T0 + 1) == 0);
  called = s[0].completed + s[1].completed;
  CHECK(called == 1);
  CHECK(s[2].completed == 1);
  CHECK(ncalls == 2);
  CHECK(!s[0].w.waiting && !s[1].w.waiting && !s[2].w.waiting);
  CHECK(ls.nwaiters == 0 && ls.npending == 0);

  /* a callback cancelling a waiter of another link revokes that one */
  memset(s, 0, sizeof s);
  ncalls = 0;
  CHECK(wait_s(&ls, &s[0], "alice", "slack", T0 + 2) == 0);
  CHECK(wait_s(&ls, &other, "alice", "github", T0 + 2) == 0);
  s[0].cancel_other = &other;
  memcpy(token, other.w.link.token, sizeof token);
  CHECK(complete(&ls, s[0].w.link.token, T0 + 3) == 0);
  CHECK(s[0].completed == 1 && other.completed == 0 && !other.w.waiting && ncalls == 1);
  CHECK(find(&ls, token) != NULL && find(&ls, token)->state == LINKSVC_STATE_REVOKED);

  /* a callback waiting again (a resumed stream pausing anew) gets a new link */
  memset(s, 0, sizeof s);
  ncalls = 0;
  CHECK(wait_s(&ls, &r, "alice", "slack", T0 + 4) == 0);
  CHECK(wait_s(&ls, &s[0], "alice", "slack", T0 + 4) == 0);
  memcpy(token, r.w.link.token, sizeof token);
  r.rewait_connector = "slack";
  r.rewait_now = T0 + 5;
  CHECK(complete(&ls, token, T0 + 5) == 0);
  CHECK(r.completed == 1 && s[0].completed == 1 && ncalls == 2);
  CHECK(r.rewait_rc == 0 && r.w.waiting);
  CHECK(strcmp(r.w.link.token, token) != 0);
  CHECK(find(&ls, r.w.link.token) != NULL &&
        find(&ls, r.w.link.token)->state == LINKSVC_STATE_PENDING);
  /* the same on expiry: the new link is not expired in the same sweep */
  r.rewait_now = T0 + 5 + TTL_MS;
  memcpy(token, r.w.link.token, sizeof token);
  linksvc_expire(&ls, T0 + 5 + TTL_MS);
  CHECK(r.expired == 1 && r.rewait_rc == 0 && r.w.waiting);
  CHECK(strcmp(r.w.link.token, token) != 0);
  r.rewait_connector = NULL;
  linksvc_cancel(&ls, &r.w);
  CHECK(ls.npending == 0 && ls.nwaiters == 0);
  linksvc_close(&ls);
}

static void test_limits(void) {
  linksvc_t ls;
  linksvc_options o = {.max_links = 3};
  stream s[5];
  char user[LINKSVC_USER_MAX + 2];
  char conn[LINKSVC_CONNECTOR_MAX + 2];
  char token[LINKSVC_TOKEN_LEN + 1];
  memset(s, 0, sizeof s);
  ncalls = 0;

  CHECK(linksvc_init(&ls, &(linksvc_options){.link_ttl_s = LINKSVC_LINK_TTL_MAX_S + 1}) ==
        -EINVAL);
  CHECK(linksvc_init(&ls, &o) == 0);

  /* users and connectors */
  CHECK(wait_s(&ls, &s[0], "", "slack", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "a b", "slack", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "a\x01", "slack", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "alice", "Slack", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "alice", "sl ack", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "alice", "slack.com", T0) == -EINVAL);
  CHECK(wait_s(&ls, &s[0], "alice", "../x", T0) == -EINVAL);
  CHECK(linksvc_wait(&ls, &s[0].w, "alice", "slack", T0, NULL, NULL) == -EINVAL);
  CHECK(linksvc_wait(&ls, &s[0].w, NULL, "slack", T0, on_done, &s[0]) == -EINVAL);
  memset(user, 'u', sizeof user);
  user[LINKSVC_USER_MAX + 1] = '\0';
  CHECK(wait_s(&ls, &s[0], user, "slack", T0) == -EINVAL);
  memset(conn, 'c', sizeof conn);
  conn[LINKSVC_CONNECTOR_MAX + 1] = '\0';
  CHECK(wait_s(&ls, &s[0], "alice", conn, T0) == -EINVAL);
  CHECK(!s[0].w.waiting && ls.nlinks == 0);
  user[LINKSVC_USER_MAX] = '\0';
  conn[LINKSVC_CONNECTOR_MAX] = '\0';
  CHECK(wait_s(&ls, &s[0], user, conn, T0) == 0);
  CHECK(strcmp(s[0].w.link.connector, conn) == 0);
  CHECK(wait_s(&ls, &s[1], "alice", "google_drive-2", T0) == 0);
  CHECK(wait_s(&ls, &s[2], "bob", "slack", T0) == 0);

  /* max_links, all pending */
  CHECK(wait_s(&ls, &s[3], "carol", "slack", T0) == -ENOSPC);
  CHECK(!s[3].w.waiting);
  /* joining an existing link needs no room */
  CHECK(wait_s(&ls, &s[3], "bob", "slack", T0) == 0);
  linksvc_cancel(&ls, &s[3].w);

  /* completing a link ends it; it stays known until room is needed */
  memcpy(token, s[2].w.link.token, sizeof token);
  CHECK(complete(&ls, token, T0) == 0);
  CHECK(s[2].completed == 1 && !s[2].w.waiting);
  CHECK(s[1].w.waiting && s[1].completed == 0);
  CHECK(find(&ls, s[1].w.link.token)->state == LINKSVC_STATE_PENDING);
  /* at max_links, the oldest ended link makes room */
  CHECK(ls.nlinks == 3 && find(&ls, token) != NULL);
  CHECK(wait_s(&ls, &s[3], "carol", "slack", T0 + 1) == 0);
  CHECK(find(&ls, token) == NULL);
  CHECK(complete(&ls, token, T0 + 1) == -ENOENT);
  CHECK(ls.nlinks == 3);
  /* API links count too, and get no room while all links are pending */
  {
    linksvc_link_info info;
    CHECK(linksvc_mint(&ls, "dave", "slack", 60, NULL, NULL, T0 + 1, &info) == -ENOSPC);
    CHECK(ls.nlinks == 3 && ls.npending == 3);
  }

  /* malformed tokens */
  CHECK(find(&ls, "") == NULL);
  CHECK(linksvc_find(&ls, NULL, 0) == NULL);
  CHECK(find(&ls, "ltk_") == NULL);
  CHECK(find(&ls, "ltk_0123456789abcdef0123456789abcdeX") == NULL);
  CHECK(find(&ls, "ltk_0123456789ABCDEF0123456789ABCDEF") == NULL);
  CHECK(find(&ls, "xyz_0123456789abcdef0123456789abcdef") == NULL);
  CHECK(find(&ls, "ltk_0123456789abcdef0123456789abcdef") == NULL); /* well formed, unknown */
  CHECK(complete(&ls, "ltk_0123456789abcdef0123456789abcdef", T0) == -ENOENT);
  CHECK(complete(&ls, "nope", T0) == -ENOENT);
  {
    /* a token with trailing bytes is not the token */
    char longer[LINKSVC_TOKEN_LEN + 2];
    snprintf(longer, sizeof longer, "%s/", s[3].w.link.token);
    CHECK(find(&ls, longer) == NULL);
    CHECK(linksvc_find(&ls, longer, LINKSVC_TOKEN_LEN) != NULL);
  }
  CHECK(ncalls == 1);
  linksvc_close(&ls);
  CHECK(!s[0].w.waiting && !s[1].w.waiting && !s[3].w.waiting);
}

#define MANY 10000

static int cmp_token(const void *a, const void *b) {
  return strcmp(((const stream *)a)->w.link.token, ((const stream *)b)->w.link.token);
}

static void test_many(void) {
  linksvc_t ls;
  stream *s = calloc(MANY, sizeof *s);
  char user[32];
  int bad = 0;
  int dup = 0;
  int i;
  if (s == NULL)
    exit(2);
  CHECK(linksvc_init(&ls, NULL) == 0);
  for (i = 0; i < MANY; i++) {
    snprintf(user, sizeof user, "user-%d", i);
    if (wait_s(&ls, &s[i], user, "slack", T0 + (uint64_t)i) != 0 ||
        !token_format_ok(s[i].w.link.token))
      bad++;
  }
  CHECK(bad == 0);
  CHECK(ls.nlinks == MANY && ls.npending == MANY && ls.nwaiters == MANY);
  for (i = 0; i < MANY; i += 97)
    CHECK(find(&ls, s[i].w.link.token) != NULL &&
          strcmp(find(&ls, s[i].w.link.token)->token, s[i].w.link.token) == 0);
  /* half complete, half are cancelled */
  for (i = 0; i < MANY; i += 2)
    if (complete(&ls, s[i].w.link.token, T0 + MANY) != 0)
      bad++;
  for (i = 1; i < MANY; i += 2)
    linksvc_cancel(&ls, &s[i].w);
  CHECK(bad == 0);
  /* MANY ended links: only the latest ended_max (default) stay in memory */
  CHECK(ls.npending == 0 && ls.nwaiters == 0 && ls.nended == LINKSVC_DEFAULT_ENDED_MAX &&
        ls.nlinks == LINKSVC_DEFAULT_ENDED_MAX);
  qsort(s, MANY, sizeof *s, cmp_token);
  for (i = 1; i < MANY; i++)
    if (strcmp(s[i - 1].w.link.token, s[i].w.link.token) == 0)
      dup++;
  CHECK(dup == 0);
  linksvc_close(&ls);
  free(s);
}


/* ---- the journal ---- */

static void test_journal(void) {
  linksvc_t ls;
  linksvc_options o = {0};
  journal j;
  stream a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
  linksvc_link_info info;
  char tok[LINKSVC_TOKEN_LEN + 1];
  memset(&j, 0, sizeof j);
  o.journal = on_journal;
  o.journal_ctx = &j;
  o.link_ttl_s = 60;
  ncalls = 0;
  CHECK(linksvc_init(&ls, &o) == 0);

  /* a wait that mints: one record, pending; one that joins: none */
  CHECK(wait_s(&ls, &a, "alice", "slack", T0) == 0);
  CHECK(j.n == 1);
  CHECK(jis(&j, 0, a.w.link.token, LINKSVC_STATE_PENDING));
  CHECK(strcmp(j.r[0].user, "alice") == 0 && strcmp(j.r[0].connector, "slack") == 0);
  CHECK(j.r[0].pinned == 0 && j.r[0].created_ms == T0 && j.r[0].expires_ms == T0 + 60000);
  CHECK(j.r[0].ended_ms == 0);
  CHECK(wait_s(&ls, &b, "alice", "slack", T0 + 1) == 0);
  CHECK(j.n == 1);

  /* complete: one record, completed, with its end time */
  memcpy(tok, a.w.link.token, sizeof tok);
  CHECK(complete(&ls, tok, T0 + 10) == 0);
  CHECK(j.n == 2);
  CHECK(jis(&j, 1, tok, LINKSVC_STATE_COMPLETED) && j.r[1].ended_ms == T0 + 10);
  /* a refused completion writes nothing */
  CHECK(complete(&ls, tok, T0 + 11) == -EALREADY);
  CHECK(complete(&ls, "ltk_0123456789abcdef0123456789abcdef", T0 + 11) == -ENOENT);
  CHECK(j.n == 2);

  /* expire: mint + expired */
  CHECK(wait_s(&ls, &c, "carol", "slack", T0 + 20) == 0);
  CHECK(j.n == 3 && jis(&j, 2, c.w.link.token, LINKSVC_STATE_PENDING));
  linksvc_expire(&ls, T0 + 20 + 60000 - 1);
  CHECK(j.n == 3);
  linksvc_expire(&ls, T0 + 20 + 60000);
  CHECK(j.n == 4 && jis(&j, 3, c.w.link.token, LINKSVC_STATE_EXPIRED));
  CHECK(j.r[3].ended_ms == T0 + 20 + 60000);
  CHECK(c.expired == 1);

  /* revoke: mint + revoked, only when the last waiter leaves */
  CHECK(wait_s(&ls, &d, "dave", "slack", T0 + 70000) == 0);
  CHECK(wait_s(&ls, &e, "dave", "slack", T0 + 70000) == 0);
  CHECK(j.n == 5 && jis(&j, 4, d.w.link.token, LINKSVC_STATE_PENDING));
  memcpy(tok, d.w.link.token, sizeof tok);
  linksvc_cancel(&ls, &d.w);
  CHECK(j.n == 5);
  linksvc_cancel(&ls, &e.w);
  CHECK(j.n == 6 && jis(&j, 5, tok, LINKSVC_STATE_REVOKED) && j.r[5].ended_ms == T0 + 70000);

  /* mint: pending, pinned, with callback and state */
  CHECK(linksvc_mint(&ls, "erin", "slack", 300, "https://app.example.com/cb", "s1", T0 + 80000,
                     &info) == 0);
  CHECK(j.n == 7 && jis(&j, 6, info.token, LINKSVC_STATE_PENDING));
  CHECK(j.r[6].pinned == 1 && strcmp(j.r[6].callback_url, "https://app.example.com/cb") == 0 &&
        strcmp(j.r[6].state_param, "s1") == 0 && j.r[6].expires_ms == T0 + 80000 + 300000);
  /* completing it with a stream of the pair waiting ends both links */
  CHECK(wait_s(&ls, &a, "erin", "slack", T0 + 80001) == 0);
  CHECK(j.n == 8 && jis(&j, 7, a.w.link.token, LINKSVC_STATE_PENDING));
  memcpy(tok, a.w.link.token, sizeof tok);
  CHECK(complete(&ls, info.token, T0 + 80002) == 0);
  CHECK(j.n == 10);
  CHECK((jis(&j, 8, info.token, LINKSVC_STATE_COMPLETED) && jis(&j, 9, tok, LINKSVC_STATE_COMPLETED)) ||
        (jis(&j, 9, info.token, LINKSVC_STATE_COMPLETED) && jis(&j, 8, tok, LINKSVC_STATE_COMPLETED)));

  /* completing a link past its time: expired */
  CHECK(wait_s(&ls, &b, "frank", "slack", T0 + 90000) == 0);
  CHECK(j.n == 11);
  CHECK(complete(&ls, b.w.link.token, T0 + 90000 + 60000) == -ETIMEDOUT);
  CHECK(j.n == 12 && jis(&j, 11, b.w.link.token, LINKSVC_STATE_EXPIRED));

  /* restore: never journalled, whatever the state, nor its later join */
  CHECK(linksvc_restore(&ls, RTOK1, "gina", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0 + 90000,
                        T0 + 200000, 0) == 0);
  CHECK(linksvc_restore(&ls, RTOK2, "gina", "github", NULL, NULL, LINKSVC_STATE_COMPLETED, 0, T0,
                        T0 + 60000, T0 + 1000) == 0);
  CHECK(linksvc_restore(&ls, RTOK3, "hank", "slack", "https://x.example", "s", LINKSVC_STATE_PENDING, 1,
                        T0 + 90000, T0 + 200000, 0) == 0);
  CHECK(wait_s(&ls, &c, "gina", "slack", T0 + 150000) == 0);
  CHECK(strcmp(c.w.link.token, RTOK1) == 0);
  CHECK(j.n == 12);
  /* but its end is */
  CHECK(complete(&ls, RTOK1, T0 + 150001) == 0);
  CHECK(j.n == 13 && jis(&j, 12, RTOK1, LINKSVC_STATE_COMPLETED));
  linksvc_close(&ls);
  CHECK(j.n == 13); /* closing ends nothing */
}

/* ---- expiry order with different lifetimes ---- */

/* ---- picker links and "Not now" ---- */

/* A picker link (connector ""): streams of the user join it; completing it
 * for a connector resumes them and the streams waiting on that connector,
 * names it to every waiter and in the journal; only a picker takes a choice. */
static void test_picker(void) {
  linksvc_t ls;
  journal j;
  stream s[5];
  char token[LINKSVC_TOKEN_LEN + 1];
  memset(s, 0, sizeof s);
  memset(&j, 0, sizeof j);
  ncalls = 0;
  CHECK(linksvc_init(&ls, &(linksvc_options){.journal = on_journal, .journal_ctx = &j}) == 0);
  CHECK(wait_s(&ls, &s[0], "alice", "", T0) == 0);
  CHECK(wait_s(&ls, &s[1], "alice", "", T0 + 1) == 0);
  CHECK(strcmp(s[0].w.link.token, s[1].w.link.token) == 0); /* one picker link per user */
  CHECK(strcmp(s[0].w.link.connector, "") == 0);
  CHECK(wait_s(&ls, &s[2], "alice", "slack", T0 + 2) == 0); /* the pair's own link */
  CHECK(wait_s(&ls, &s[3], "alice", "github", T0 + 3) == 0); /* another connector: untouched */
  CHECK(wait_s(&ls, &s[4], "bob", "", T0 + 4) == 0);          /* another user's picker */
  CHECK(strcmp(s[4].w.link.token, s[0].w.link.token) != 0);
  CHECK(ls.npending == 4);
  memcpy(token, s[0].w.link.token, sizeof token);
  CHECK(linksvc_complete_as(&ls, token, strlen(token), "Slack", T0 + 5) == -EINVAL);
  CHECK(linksvc_complete_as(&ls, token, strlen(token), "", T0 + 5) == -EINVAL);
  CHECK(linksvc_complete_as(&ls, s[3].w.link.token, LINKSVC_TOKEN_LEN, "slack", T0 + 5) == -EINVAL);
  CHECK(ncalls == 0 && ls.npending == 4);
  CHECK(linksvc_complete_as(&ls, token, strlen(token), "slack", T0 + 6) == 0);
  CHECK(s[0].completed == 1 && s[1].completed == 1 && s[2].completed == 1);
  CHECK(s[3].completed == 0 && s[4].completed == 0 && ncalls == 3);
  CHECK(strcmp(s[0].w.link.connector, "slack") == 0 && strcmp(s[1].w.link.connector, "slack") == 0);
  CHECK(find(&ls, token) != NULL && find(&ls, token)->state == LINKSVC_STATE_COMPLETED);
  CHECK(strcmp(find(&ls, token)->connector, "slack") == 0);
  CHECK(jis(&j, j.n - 2, token, LINKSVC_STATE_COMPLETED) && strcmp(j.r[j.n - 2].connector, "slack") == 0);
  CHECK(linksvc_complete_as(&ls, token, strlen(token), "slack", T0 + 7) == -EALREADY);
  CHECK(ls.npending == 2);
  /* a new picker wait gets a new link */
  CHECK(wait_s(&ls, &s[0], "alice", "", T0 + 8) == 0);
  CHECK(strcmp(s[0].w.link.token, token) != 0);
  /* a picker link from the API completes too, and is restored with "" */
  {
    linksvc_link_info info;
    CHECK(linksvc_mint(&ls, "carol", "", 60, NULL, NULL, T0 + 9, &info) == 0);
    CHECK(strcmp(info.connector, "") == 0);
    CHECK(linksvc_complete_as(&ls, info.token, strlen(info.token), "openai", T0 + 10) == 0);
  }
  CHECK(linksvc_restore(&ls, RTOK1, "dave", "", NULL, NULL, LINKSVC_STATE_PENDING, 1, T0, T0 + TTL_MS, 0) == 0);
  CHECK(linksvc_complete_as(&ls, RTOK1, strlen(RTOK1), "openai", T0 + 11) == 0);
  linksvc_close(&ls);
}

/* "Not now": the link ends declined (journalled), its waiters and those of
 * the pair's stream link when it is pinned get LINKSVC_DECLINED; it cannot
 * be used after, nor declined twice. */
static void test_decline(void) {
  linksvc_t ls;
  journal j;
  stream s[4];
  linksvc_link_info info;
  char token[LINKSVC_TOKEN_LEN + 1];
  memset(s, 0, sizeof s);
  memset(&j, 0, sizeof j);
  ncalls = 0;
  CHECK(linksvc_init(&ls, &(linksvc_options){.journal = on_journal, .journal_ctx = &j}) == 0);
  CHECK(wait_s(&ls, &s[0], "alice", "slack", T0) == 0);
  CHECK(wait_s(&ls, &s[1], "alice", "slack", T0) == 0);
  CHECK(wait_s(&ls, &s[2], "alice", "github", T0) == 0);
  memcpy(token, s[0].w.link.token, sizeof token);
  CHECK(linksvc_decline(&ls, "ltk_nope", 8, T0 + 1) == -ENOENT);
  CHECK(linksvc_decline(&ls, token, strlen(token), T0 + 1) == 0);
  CHECK(s[0].declined == 1 && s[1].declined == 1 && s[0].completed == 0 && s[2].declined == 0);
  CHECK(ncalls == 2 && !s[0].w.waiting);
  CHECK(find(&ls, token)->state == LINKSVC_STATE_DECLINED);
  CHECK(jis(&j, j.n - 1, token, LINKSVC_STATE_DECLINED));
  CHECK(strcmp(linksvc_state_name(LINKSVC_STATE_DECLINED), "declined") == 0);
  CHECK(linksvc_decline(&ls, token, strlen(token), T0 + 2) == -EALREADY);
  CHECK(linksvc_complete(&ls, token, strlen(token), T0 + 2) == -EALREADY);
  /* an API link declined: the streams of its pair go on too */
  CHECK(linksvc_mint(&ls, "alice", "github", 60, NULL, NULL, T0 + 3, &info) == 0);
  CHECK(linksvc_decline(&ls, info.token, strlen(info.token), T0 + 4) == 0);
  CHECK(s[2].declined == 1 && ls.npending == 0);
  /* past its time: expired, not declined */
  CHECK(wait_s(&ls, &s[3], "bob", "slack", T0 + 5) == 0);
  CHECK(linksvc_decline(&ls, s[3].w.link.token, LINKSVC_TOKEN_LEN, T0 + 5 + TTL_MS) == -ETIMEDOUT);
  CHECK(s[3].expired == 1 && s[3].declined == 0);
  /* restored in its state */
  CHECK(linksvc_restore(&ls, RTOK2, "carol", "slack", NULL, NULL, LINKSVC_STATE_DECLINED, 0, T0, T0 + TTL_MS,
                        T0 + 1) == 0);
  CHECK(find(&ls, RTOK2)->state == LINKSVC_STATE_DECLINED);
  CHECK(linksvc_restore(&ls, RTOK3, "carol", "slack", NULL, NULL, LINKSVC_STATE_DECLINED + 1, 0, T0, T0 + TTL_MS,
                        T0 + 1) == -EINVAL);
  linksvc_close(&ls);
}

static void test_expiry_order(void) {
  linksvc_t ls;
  linksvc_options o = {0};
  journal j;
  stream a = {0}, b = {0};
  linksvc_link_info m1, m2, m3;
  int i;
  memset(&j, 0, sizeof j);
  o.journal = on_journal;
  o.journal_ctx = &j;
  ncalls = 0;
  CHECK(linksvc_init(&ls, &o) == 0); /* streams: 1800 s */

  CHECK(wait_s(&ls, &a, "alice", "slack", T0) == 0);                           /* T0 + 1800 s */
  CHECK(linksvc_mint(&ls, "bob", "slack", 3600, NULL, NULL, T0 + 1000, &m1) == 0); /* + 3601 s */
  CHECK(linksvc_mint(&ls, "carol", "slack", 60, NULL, NULL, T0 + 2000, &m2) == 0); /* + 62 s */
  CHECK(wait_s(&ls, &b, "dave", "slack", T0 + 3000) == 0);                      /* + 1803 s */
  CHECK(linksvc_mint(&ls, "erin", "slack", 120, NULL, NULL, T0 + 4000, &m3) == 0); /* + 124 s */
  CHECK(linksvc_restore(&ls, RTOK1, "gina", "slack", NULL, NULL, LINKSVC_STATE_PENDING, 0, T0,
                        T0 + 30000, 0) == 0);                                  /* + 30 s */
  CHECK(ls.npending == 6);
  j.n = 0;

  /* the restored link, minted first and shortest, goes first */
  linksvc_expire(&ls, T0 + 30000 - 1);
  CHECK(j.n == 0);
  linksvc_expire(&ls, T0 + 30000);
  CHECK(j.n == 1 && jis(&j, 0, RTOK1, LINKSVC_STATE_EXPIRED));
  /* the link minted later with the shortest ttl expires before the others */
  linksvc_expire(&ls, T0 + 62000 - 1);
  CHECK(j.n == 1 && find(&ls, m2.token)->state == LINKSVC_STATE_PENDING);
  linksvc_expire(&ls, T0 + 62000);
  CHECK(j.n == 2 && jis(&j, 1, m2.token, LINKSVC_STATE_EXPIRED));
  CHECK(find(&ls, m1.token)->state == LINKSVC_STATE_PENDING);
  CHECK(find(&ls, m3.token)->state == LINKSVC_STATE_PENDING);
  CHECK(a.w.waiting && b.w.waiting && ncalls == 0);
  linksvc_expire(&ls, T0 + 124000);
  CHECK(j.n == 3 && jis(&j, 2, m3.token, LINKSVC_STATE_EXPIRED));
  CHECK(a.w.waiting && b.w.waiting && ncalls == 0);
  linksvc_expire(&ls, T0 + TTL_MS);
  CHECK(j.n == 4 && jis(&j, 3, a.w.link.token, LINKSVC_STATE_EXPIRED));
  CHECK(a.expired == 1 && b.w.waiting && ncalls == 1);
  linksvc_expire(&ls, T0 + 3000 + TTL_MS);
  CHECK(j.n == 5 && jis(&j, 4, b.w.link.token, LINKSVC_STATE_EXPIRED));
  CHECK(b.expired == 1 && ncalls == 2);
  CHECK(find(&ls, m1.token)->state == LINKSVC_STATE_PENDING && ls.npending == 1);
  linksvc_expire(&ls, T0 + 1000 + 3600 * 1000ull);
  CHECK(j.n == 6 && jis(&j, 5, m1.token, LINKSVC_STATE_EXPIRED));
  CHECK(ls.npending == 0);

  /* one sweep over many: they end in expiry order, whatever the order they
   * were minted in */
  {
    static const unsigned ttls[] = {500, 40, 300, 10, 7200, 90, 300, 1};
    linksvc_link_info inf[8];
    uint64_t t = T0 + 10 * 3600 * 1000ull;
    int sorted = 1;
    j.n = 0;
    for (i = 0; i < 8; i++) {
      char user[16];
      snprintf(user, sizeof user, "u%d", i);
      CHECK(linksvc_mint(&ls, user, "slack", ttls[i], NULL, NULL, t + (uint64_t)i, &inf[i]) == 0);
    }
    j.n = 0;
    linksvc_expire(&ls, t + 7200 * 1000ull + 100);
    CHECK(j.n == 8);
    for (i = 1; i < j.n && i < JOURNAL_MAX; i++)
      if (j.r[i - 1].expires_ms > j.r[i].expires_ms)
        sorted = 0;
    CHECK(sorted);
    CHECK(jis(&j, 0, inf[7].token, LINKSVC_STATE_EXPIRED));  /* 1 s */
    CHECK(jis(&j, 7, inf[4].token, LINKSVC_STATE_EXPIRED));  /* 7200 s */
  }
  linksvc_close(&ls);
}

int main(void) {
  RUN(test_mint);
  RUN(test_share_and_complete);
  RUN(test_expiry);
  RUN(test_cancel);
  RUN(test_callbacks_act);
  RUN(test_limits);
  RUN(test_many);
  RUN(test_journal);
  RUN(test_expiry_order);
  RUN(test_picker);
  RUN(test_decline);
  return unit_report();
}
