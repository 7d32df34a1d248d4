/* test_linksvc: unit tests of proxy/linksvc.c, with a fake clock.
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

static int complete(linksvc_t *ls, const char *token, const char *cred, uint64_t now) {
  return linksvc_complete(ls, token, strlen(token), cred, strlen(cred), now);
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
  const char *cred;
  size_t cred_len;
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

  CHECK(complete(&ls, token, "xoxb-secret", T0 + 5000) == 0);
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
  CHECK(linksvc_credential(&ls, "alice", "slack", &cred, &cred_len) == 0);
  CHECK_MEM(cred, cred_len, "xoxb-secret");
  CHECK(linksvc_credential(&ls, "alice", "github", &cred, &cred_len) == -ENOENT);
  CHECK(linksvc_credential(&ls, "bob", "slack", &cred, &cred_len) == -ENOENT);

  /* single use */
  CHECK(complete(&ls, token, "again", T0 + 6000) == -EALREADY);
  CHECK(ncalls == 3);
  CHECK(linksvc_credential(&ls, "alice", "slack", &cred, &cred_len) == 0);
  CHECK_MEM(cred, cred_len, "xoxb-secret");

  /* a new wait after completion mints a new link */
  CHECK(wait_s(&ls, &s[0], "alice", "slack", T0 + 7000) == 0);
  CHECK(strcmp(s[0].w.link.token, token) != 0);
  CHECK(token_format_ok(s[0].w.link.token));
  /* its completion replaces the credential */
  CHECK(complete(&ls, s[0].w.link.token, "xoxb-newer", T0 + 8000) == 0);
  CHECK(s[0].completed == 2);
  CHECK(linksvc_credential(&ls, "alice", "slack", &cred, &cred_len) == 0);
  CHECK_MEM(cred, cred_len, "xoxb-newer");
  CHECK(ls.ncredentials == 1);
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
  CHECK(complete(&ls, token, "key", T0 + TTL_MS + 1) == -ETIMEDOUT);
  CHECK(ncalls == 2);
  CHECK(linksvc_credential(&ls, "alice", "slack", &(const char *){NULL}, &(size_t){0}) == -ENOENT);
  linksvc_expire(&ls, T0 + TTL_MS + 1);
  CHECK(ncalls == 2);

  /* completing past the time, before the timer saw it */
  CHECK(complete(&ls, c.w.link.token, "key", T0 + 60000 + TTL_MS) == -ETIMEDOUT);
  CHECK(c.expired == 1 && c.completed == 0 && !c.w.waiting);
  CHECK(ncalls == 3);

  /* ended links are forgotten after retain_s (default 3600) */
  CHECK(find(&ls, token) != NULL);
  linksvc_expire(&ls, T0 + TTL_MS + 3600 * 1000ull - 1);
  CHECK(find(&ls, token) != NULL);
  linksvc_expire(&ls, T0 + TTL_MS + 3600 * 1000ull);
  CHECK(find(&ls, token) == NULL);
  CHECK(complete(&ls, token, "key", T0 + TTL_MS + 3600 * 1000ull) == -ENOENT);

  /* a pending link past its time is not joined */
  CHECK(wait_s(&ls, &a, "dave", "slack", T0 + 10 * TTL_MS) == 0);
  CHECK(wait_s(&ls, &d, "dave", "slack", T0 + 11 * TTL_MS) == 0);
  CHECK(strcmp(a.w.link.token, d.w.link.token) != 0);
  CHECK(ls.npending == 2);
  linksvc_expire(&ls, T0 + 11 * TTL_MS);
  CHECK(a.expired == 2 && !a.w.waiting);
  CHECK(d.w.waiting && d.expired == 0);
  CHECK(complete(&ls, d.w.link.token, "k", T0 + 11 * TTL_MS + 1) == 0);
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
  CHECK(complete(&ls, token, "key", T0 + 1) == -ECANCELED);
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
  CHECK(complete(&ls, a.w.link.token, "key", T0 + 4) == 0);
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
  CHECK(complete(&ls, s[0].w.link.token, "key", T0 + 1) == 0);
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
  CHECK(complete(&ls, s[0].w.link.token, "key", T0 + 3) == 0);
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
  CHECK(complete(&ls, token, "key", T0 + 5) == 0);
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
  linksvc_options o = {.max_links = 3, .max_credentials = 1};
  stream s[5];
  char big[LINKSVC_CREDENTIAL_MAX + 2];
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
  CHECK(wait_s(&ls, &s[0], "alice", "", T0) == -EINVAL);
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

  /* credentials */
  memcpy(token, s[2].w.link.token, sizeof token);
  CHECK(linksvc_complete(&ls, token, LINKSVC_TOKEN_LEN, "", 0, T0) == -EINVAL);
  CHECK(linksvc_complete(&ls, token, LINKSVC_TOKEN_LEN, NULL, 0, T0) == -EINVAL);
  memset(big, 'k', sizeof big);
  CHECK(linksvc_complete(&ls, token, LINKSVC_TOKEN_LEN, big, LINKSVC_CREDENTIAL_MAX + 1, T0) ==
        -E2BIG);
  CHECK(find(&ls, token)->state == LINKSVC_STATE_PENDING && s[2].w.waiting);
  CHECK(linksvc_complete(&ls, token, LINKSVC_TOKEN_LEN, big, LINKSVC_CREDENTIAL_MAX, T0) == 0);
  CHECK(s[2].completed == 1);
  /* max_credentials = 1: a second pair is refused, the link stays pending */
  CHECK(complete(&ls, s[1].w.link.token, "k2", T0) == -ENOSPC);
  CHECK(s[1].w.waiting && s[1].completed == 0);
  CHECK(find(&ls, s[1].w.link.token)->state == LINKSVC_STATE_PENDING);

  /* at max_links, the oldest ended link makes room */
  CHECK(ls.nlinks == 3);
  CHECK(wait_s(&ls, &s[3], "carol", "slack", T0 + 1) == 0);
  CHECK(find(&ls, token) == NULL);
  CHECK(complete(&ls, token, "k", T0 + 1) == -ENOENT);
  CHECK(ls.nlinks == 3);

  /* malformed tokens */
  CHECK(find(&ls, "") == NULL);
  CHECK(linksvc_find(&ls, NULL, 0) == NULL);
  CHECK(find(&ls, "ltk_") == NULL);
  CHECK(find(&ls, "ltk_0123456789abcdef0123456789abcdeX") == NULL);
  CHECK(find(&ls, "ltk_0123456789ABCDEF0123456789ABCDEF") == NULL);
  CHECK(find(&ls, "xyz_0123456789abcdef0123456789abcdef") == NULL);
  CHECK(find(&ls, "ltk_0123456789abcdef0123456789abcdef") == NULL); /* well formed, unknown */
  CHECK(complete(&ls, "ltk_0123456789abcdef0123456789abcdef", "k", T0) == -ENOENT);
  CHECK(complete(&ls, "nope", "k", T0) == -ENOENT);
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
    if (complete(&ls, s[i].w.link.token, "k", T0 + MANY) != 0)
      bad++;
  for (i = 1; i < MANY; i += 2)
    linksvc_cancel(&ls, &s[i].w);
  CHECK(bad == 0);
  CHECK(ls.npending == 0 && ls.nwaiters == 0 && ls.ncredentials == MANY / 2);
  qsort(s, MANY, sizeof *s, cmp_token);
  for (i = 1; i < MANY; i++)
    if (strcmp(s[i - 1].w.link.token, s[i].w.link.token) == 0)
      dup++;
  CHECK(dup == 0);
  linksvc_close(&ls);
  free(s);
}

int main(void) {
  RUN(test_mint);
  RUN(test_share_and_complete);
  RUN(test_expiry);
  RUN(test_cancel);
  RUN(test_callbacks_act);
  RUN(test_limits);
  RUN(test_many);
  return unit_report();
}
