/* test_linksvc: unit tests of proxy/linksvc.c, with a fake clock.
 *
 * Covers: links minted by waits (token format, path, expiry), waiters of one
 * (user, connector) sharing a link, completion (single use), expiry and the
 * forgetting of ended links (after retain_s, and over
 * ended_max: the bound on their memory), revocation when the last waiter leaves,
 * callbacks that act on the service, limits and malformed input; the
 * link-token API's pinned links (linksvc_mint), links put back from the
 * store (linksvc_restore), the journal callback, and the expiry order of
 * links with different lifetimes.
 *
 * A "stream" here is a struct embedding a linksvc_waiter and counting the
 * callbacks it got; some streams act from inside their callback (cancel
 * another, wait again) the way the relay's exchanges will.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "linksvc.h"
#include "unit.h"

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */
#define TTL_MS (1800 * 1000ull)

typedef struct stream {
  linksvc_waiter w;
  linksvc_t *ls;
  int completed;
  int expired;
  int declined;
  struct stream *cancel_other; /* cancelled from inside the callback */
  const char *rewait_connector; /* wait again from inside the callback */
  uint64_t rewait_now;
  int rewait_rc;
} stream;

static int ncalls; /* callbacks of any stream since the last reset */

static void on_done(void *ctx, linksvc_waiter *w, linksvc_outcome outcome) {
  stream *s = ctx;
  ncalls++;
  if (w != &s->w || w->waiting)
    fprintf(stderr, "  callback with the wrong waiter or one still waiting\n");
  if (outcome == LINKSVC_COMPLETED)
    s->completed++;
  else if (outcome == LINKSVC_EXPIRED)
    s->expired++;
  else if (outcome == LINKSVC_DECLINED)
    s->declined++;
  if (s->cancel_other != NULL)
    linksvc_cancel(s->ls, &s->cancel_other->w);
  if (s->rewait_connector != NULL)
    s->rewait_rc =
        linksvc_wait(s->ls, &s->w, "alice", s->rewait_connector, s->rewait_now, on_done, s);
}

static int wait_s(linksvc_t *ls, stream *s, const char *user, const char *connector,
                  uint64_t now) {
  s->ls = ls;
  return linksvc_wait(ls, &s->w, user, connector, now, on_done, s);
}

static int complete(linksvc_t *ls, const char *token, uint64_t now) {
  return linksvc_complete(ls, token, strlen(token), now);
}

static const linksvc_link *find(linksvc_t *ls, const char *token) {
  return linksvc_find(ls, token, strlen(token));
}

static int token_format_ok(const char *t) {
  size_t i;
  if (strlen(t) != LINKSVC_TOKEN_LEN || strncmp(t, "ltk_", 4) != 0)
    return 0;
  for (i = 4; i < LINKSVC_TOKEN_LEN; i++)
    if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
      return 0;
  return 1;
}

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

#define JOURNAL_MAX 32

typedef struct jrec {
  char token[LINKSVC_TOKEN_LEN + 1];
  char user[LINKSVC_USER_MAX + 1];
  char connector[LINKSVC_CONNECTOR_MAX + 1];
  char callback_url[128];
  char state_param[64];
  linksvc_state state;
  int pinned;
  uint64_t created_ms;
  uint64_t expires_ms;
  uint64_t ended_ms;
} jrec;

typedef struct journal {
  jrec r[JOURNAL_MAX];
  int n;
} journal;

static void on_journal(void *ctx, const linksvc_link *l) {
  journal *j = ctx;
  jrec *r;
  if (j->n >= JOURNAL_MAX) {
    j->n++;
    return;
  }
  r = &j->r[j->n++];
  memset(r, 0, sizeof *r);
  snprintf(r->token, sizeof r->token, "%s", l->token);
  snprintf(r->user, sizeof r->user, "%s", l->user);
  snprintf(r->connector, sizeof r->connector, "%s", l->connector);
  snprintf(r->callback_url, sizeof r->callback_url, "%s", l->callback_url);
  snprintf(r->state_param, sizeof r->state_param, "%s", l->state_param);
  r->state = l->state;
  r->pinned = l->pinned;
  r->created_ms = l->created_ms;
  r->expires_ms = l->expires_ms;
  r->ended_ms = l->ended_ms;
}

/* 1 when journal record i is token in state st. */
static int jis(const journal *j, int i, const char *token, linksvc_state st) {
  return i < j->n && i < JOURNAL_MAX && strcmp(j->r[i].token, token) == 0 && j->r[i].state == st;
}

/* Tokens made up for linksvc_restore (well formed, never minted). */
#define RTOK1 "ltk_00000000000000000000000000000001"
#define RTOK2 "ltk_00000000000000000000000000000002"
#define RTOK3 "ltk_00000000000000000000000000000003"
#define RTOK4 "ltk_00000000000000000000000000000004"
#define RTOK5 "ltk_00000000000000000000000000000005"
#define RTOK6 "ltk_00000000000000000000000000000006"

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
  RUN(test_mint_api);
  RUN(test_restore);
  RUN(test_ended_bound);
  RUN(test_restore_bound);
  RUN(test_journal);
  RUN(test_expiry_order);
  RUN(test_picker);
  RUN(test_decline);
  return unit_report();
}
