/* linksvc_test.h: what tests/proxy/link/test_linksvc*.c share: the fake
 * clock's start, a "stream" embedding a linksvc_waiter and counting the
 * callbacks it got (some act from inside their callback: cancel another,
 * wait again, the way the relay's exchanges do), and a journal recorder.
 * Static inline: each test file gets its own copy and counters. */
#ifndef AUTHRELAY_TEST_LINKSVC_H
#define AUTHRELAY_TEST_LINKSVC_H

#include <errno.h>
#include <stdio.h>
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

static inline void on_done(void *ctx, linksvc_waiter *w, linksvc_outcome outcome) {
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

static inline int wait_s(linksvc_t *ls, stream *s, const char *user, const char *connector,
                  uint64_t now) {
  s->ls = ls;
  return linksvc_wait(ls, &s->w, user, connector, now, on_done, s);
}

static inline int complete(linksvc_t *ls, const char *token, uint64_t now) {
  return linksvc_complete(ls, token, strlen(token), now);
}

static inline const linksvc_link *find(linksvc_t *ls, const char *token) {
  return linksvc_find(ls, token, strlen(token));
}

static inline int token_format_ok(const char *t) {
  size_t i;
  if (strlen(t) != LINKSVC_TOKEN_LEN || strncmp(t, "ltk_", 4) != 0)
    return 0;
  for (i = 4; i < LINKSVC_TOKEN_LEN; i++)
    if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
      return 0;
  return 1;
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

static inline void on_journal(void *ctx, const linksvc_link *l) {
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
static inline int jis(const journal *j, int i, const char *token, linksvc_state st) {
  return i < j->n && i < JOURNAL_MAX && strcmp(j->r[i].token, token) == 0 && j->r[i].state == st;
}

/* Tokens made up for linksvc_restore (well formed, never minted). */
#define RTOK1 "ltk_00000000000000000000000000000001"
#define RTOK2 "ltk_00000000000000000000000000000002"
#define RTOK3 "ltk_00000000000000000000000000000003"
#define RTOK4 "ltk_00000000000000000000000000000004"
#define RTOK5 "ltk_00000000000000000000000000000005"
#define RTOK6 "ltk_00000000000000000000000000000006"

#endif
