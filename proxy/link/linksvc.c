/* linksvc: links and the streams waiting on them, in memory (see linksvc.h).
 *
 * Two intrusive hash tables (core/htable, seeded hash): every link by token; pending links that new
 * waits may join, by (user, connector). Two lists in time order: pending
 * links by expiry (kept sorted on insertion; a stream's link, the common
 * case, has the longest expiry and goes at the end at once, so
 * linksvc_expire() only looks at the oldest), and ended links by end time
 * (forgotten from the oldest end: retain_s after it, or at once when more
 * than ended_max have ended).
 *
 * A link is one allocation (the struct and its user), plus one for its
 * callback_url and state when it has them (API links), freed when it ends:
 * so an ended link holds at most sizeof(linksvc_link) + LINKSVC_USER_MAX + 1
 * bytes, and ended_max of them bound what ended links cost.
 *
 * Callbacks: before the first one runs, the link's waiter list is moved to
 * a list on the stack and the link is not touched again, so a callback may
 * cancel other waiters (they leave the stack list), wait again (a new link
 * is minted: this one is no longer pending) or cause this link to be
 * forgotten.
 */
#include "linksvc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "timefmt.h"

#define TOKEN_RANDOM_BYTES 16
#define NOW_MS_MAX 253402300799000ull /* 9999-12-31T23:59:59Z: the time format's end */

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- hashing ---- */

static uint64_t hash_token(const linksvc_t *ls, const char *token) {
  return htable_mix(htable_fnv(ls->seed_ ^ 0xcbf29ce484222325ull, token, LINKSVC_TOKEN_LEN));
}

static uint64_t hash_key(const linksvc_t *ls, const char *user, size_t user_len,
                         const char *connector, size_t connector_len) {
  uint64_t h = htable_fnv(ls->seed_ ^ 0x84222325cbf29ce4ull, user, user_len);
  h = htable_fnv(h, "", 1); /* the NUL between them: no two pairs hash alike by shifting */
  return htable_mix(htable_fnv(h, connector, connector_len));
}

/* ---- validation ---- */

/* 1 when s is 1 to LINKSVC_USER_MAX visible ASCII bytes; its length in *n. */
static int user_ok(const char *s, size_t *n) {
  size_t i;
  for (i = 0; i <= LINKSVC_USER_MAX && s[i] != '\0'; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x21 || c > 0x7e)
      return 0;
  }
  *n = i;
  return i > 0 && i <= LINKSVC_USER_MAX;
}

/* 1 when s is a slug of at most LINKSVC_CONNECTOR_MAX bytes of [a-z0-9_-];
 * "" is a picker link's (the Link page lets the user choose). */
static int connector_ok(const char *s, size_t *n) {
  size_t i;
  for (i = 0; i <= LINKSVC_CONNECTOR_MAX && s[i] != '\0'; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  *n = i;
  return i <= LINKSVC_CONNECTOR_MAX;
}

/* 1 when token[0, len) has the form of a link token. */
static int token_ok(const char *token, size_t len) {
  size_t i;
  size_t plen = sizeof LINKSVC_TOKEN_PREFIX - 1;
  if (token == NULL || len != LINKSVC_TOKEN_LEN || memcmp(token, LINKSVC_TOKEN_PREFIX, plen) != 0)
    return 0;
  for (i = plen; i < len; i++) {
    char c = token[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return 0;
  }
  return 1;
}

/* ---- links ---- */

static linksvc_link *find_token(const linksvc_t *ls, const char *token) {
  uint64_t h = hash_token(ls, token);
  htable_node *n;
  for (n = htable_first(&ls->tokens_, h); n != NULL; n = n->next) {
    linksvc_link *l = CONTAINER(n, linksvc_link, by_token_);
    if (n->hash == h && memcmp(l->token, token, LINKSVC_TOKEN_LEN) == 0)
      return l;
  }
  return NULL;
}

static linksvc_link *find_pending(const linksvc_t *ls, const char *user, size_t user_len,
                                  const char *connector, size_t connector_len) {
  uint64_t h = hash_key(ls, user, user_len, connector, connector_len);
  htable_node *n;
  for (n = htable_first(&ls->pending_, h); n != NULL; n = n->next) {
    linksvc_link *l = CONTAINER(n, linksvc_link, by_key_);
    if (n->hash == h && l->user_len == user_len && memcmp(l->user, user, user_len) == 0 &&
        strcmp(l->connector, connector) == 0)
      return l;
  }
  return NULL;
}

/* The link of a node of pending_order_ or ended_order_, or NULL. */
static linksvc_link *link_of(list_node *n) {
  return n != NULL ? LIST_ENTRY(n, linksvc_link, order_) : NULL;
}

/* 1 when a link created at created_ms with token is older than l: the
 * order every replica agrees on for the links of one pair. */
static int older_than(uint64_t created_ms, const char *token, const linksvc_link *l) {
  if (created_ms != l->created_ms)
    return created_ms < l->created_ms;
  return strncmp(token, l->token, LINKSVC_TOKEN_LEN) < 0;
}

/* Moves every sibling of l onto the list to. */
static void take_siblings(list_node *to, linksvc_link *l) {
  while (!list_empty(&l->siblings_)) {
    list_node *n = list_first(&l->siblings_);
    list_remove(n);
    list_insert_tail(to, n);
  }
}

/* New waits no longer join l. The oldest of its siblings not past its
 * time takes its place in the index, with the others as its siblings. */
static void unkey(linksvc_t *ls, linksvc_link *l) {
  linksvc_link *heir = NULL;
  list_node *n;
  if (l->keyed_) {
    htable_remove(&ls->pending_, &l->by_key_);
    l->keyed_ = 0;
  }
  LIST_FOREACH(n, &l->siblings_) {
    linksvc_link *s = LIST_ENTRY(n, linksvc_link, sibling_);
    if (s->expires_ms > ls->now_ms_ && (heir == NULL || older_than(s->created_ms, s->token, heir)))
      heir = s;
  }
  if (heir != NULL) {
    list_remove(&heir->sibling_);
    if (htable_insert(&ls->pending_, &heir->by_key_,
                     hash_key(ls, heir->user, heir->user_len, heir->connector, strlen(heir->connector))) == 0) {
      heir->keyed_ = 1;
      take_siblings(&heir->siblings_, l);
    }
  }
  while (!list_empty(&l->siblings_)) /* out of memory: on their own */
    list_remove(list_first(&l->siblings_));
}

/* loser (keyed) and its siblings become winner's siblings. */
static void lose_to(linksvc_t *ls, linksvc_link *loser, linksvc_link *winner) {
  take_siblings(&winner->siblings_, loser);
  unkey(ls, loser);
  list_insert_tail(&winner->siblings_, &loser->sibling_);
}

/* Moves a pending link to the ended list in state s. Its waiters stay on
 * it, for fire(). */
static void end_link(linksvc_t *ls, linksvc_link *l, linksvc_state s) {
  unkey(ls, l);
  list_remove(&l->sibling_); /* a loser leaves its winner's list */
  list_remove(&l->order_);
  ls->npending--;
  l->state = s;
  l->ended_ms = ls->now_ms_;
  list_insert_tail(&ls->ended_order_, &l->order_);
  ls->nended++;
  if (ls->opt_.journal != NULL)
    ls->opt_.journal(ls->opt_.journal_ctx, l);
  /* Journalled: what only a pending link needs goes. */
  l->callback_url = "";
  l->state_param = "";
  free(l->extras_);
  l->extras_ = NULL;
}

/* The order of a list: expiry for the pending list, end time for the ended one. */
static uint64_t sort_key(const linksvc_link *l, int by_end) {
  return by_end ? l->ended_ms : l->expires_ms;
}

/* Inserts l into the list head, kept in sort_key order. The common case,
 * the largest key, goes at the end at once. */
static void insert_sorted(list_node *head, linksvc_link *l, int by_end) {
  list_node *after = head->prev;
  while (after != head && sort_key(link_of(after), by_end) > sort_key(l, by_end))
    after = after->prev;
  list_insert_head(after, &l->order_); /* right after it (after the head: first) */
}

/* Puts a restored ended link on the ended list, in end-time order (so
 * retain_s counts from each link's own end). */
static void ended_insert(linksvc_t *ls, linksvc_link *l) {
  insert_sorted(&ls->ended_order_, l, 1);
}

/* Puts a pending link on the pending list, in expiry order. */
static void pending_insert(linksvc_t *ls, linksvc_link *l) {
  insert_sorted(&ls->pending_order_, l, 0);
}

static void link_free(linksvc_link *l) {
  free(l->extras_);
  free(l);
}

/* Forgets an ended link. */
static void forget(linksvc_t *ls, linksvc_link *l) {
  list_remove(&l->order_);
  htable_remove(&ls->tokens_, &l->by_token_);
  ls->nlinks--;
  ls->nended--;
  link_free(l);
}

/* Forgets the oldest ended links over ended_max. Runs at the end of every
 * call that may end or restore links, never between end_link() and fire():
 * a link is forgotten only once nothing in linksvc holds it. */
static void trim_ended(linksvc_t *ls) {
  while (ls->nended > ls->opt_.ended_max && !list_empty(&ls->ended_order_))
    forget(ls, link_of(list_first(&ls->ended_order_)));
}

/* Puts w at the head of l's waiters. */
static void waiter_push(linksvc_link *l, linksvc_waiter *w) {
  w->lnk_ = l;
  list_insert_head(&l->waiters_, &w->link_);
}

static linksvc_waiter *first_waiter(const list_node *head) {
  return LIST_ENTRY(list_first(head), linksvc_waiter, link_);
}

/* Runs the callback of every waiter of l, which has just ended. l is not
 * touched once the first callback runs. */
static void fire(linksvc_t *ls, linksvc_link *l, linksvc_outcome outcome) {
  list_node list; /* a callback may cancel a waiter still on it */
  list_node *n;
  linksvc_waiter *w;
  char connector[LINKSVC_CONNECTOR_MAX + 1]; /* l may be gone after a callback */
  memcpy(connector, l->connector, sizeof connector);
  list_move_all(&list, &l->waiters_);
  ls->nwaiters -= l->nwaiters;
  l->nwaiters = 0;
  LIST_FOREACH(n, &list)
    LIST_ENTRY(n, linksvc_waiter, link_)->lnk_ = NULL;
  while (!list_empty(&list)) {
    w = first_waiter(&list);
    list_remove(&w->link_);
    w->waiting = 0;
    memcpy(w->link.connector, connector, sizeof w->link.connector); /* a picker's choice */
    w->cb_(w->ctx_, w, outcome);
  }
}

/* What a new link is made of (mint() and linksvc_restore()). */
typedef struct link_spec {
  const char *token;        /* NULL: mint a random one */
  const char *user;
  size_t user_len;
  const char *connector;
  size_t connector_len;
  const char *callback_url; /* "" for none */
  const char *state;        /* "" for none */
  uint64_t created_ms;
  uint64_t expires_ms;
  linksvc_state status;
  uint64_t ended_ms;
  int pinned;               /* minted by the API: not joined, not revoked */
  int kept;                 /* outlives its last waiter (pinned, or restored) */
  linksvc_link *sibling_of; /* the pair's older pending link this one lost to
                               (linksvc_restore): not joined, ends with it */
} link_spec;

/* Makes a link from sp: pending ones go on the pending list (and, unless
 * pinned, in the (user, connector) index), ended ones on the ended list. */
static int mint(linksvc_t *ls, const link_spec *sp, linksvc_link **out) {
  unsigned char rnd[TOKEN_RANDOM_BYTES];
  char token[LINKSVC_TOKEN_LEN + 1];
  char expires[TIMEFMT_BUF]; /* LINKSVC_TIME_LEN characters: whole seconds */
  size_t cb_len = strlen(sp->callback_url);
  size_t state_len = strlen(sp->state);
  linksvc_link *l;
  char *p;
  size_t plen = sizeof LINKSVC_TOKEN_PREFIX - 1;
  int tries;
  int rc;

  if (timefmt_rfc3339(sp->expires_ms, 0, expires) != 0)
    return -EINVAL;
  if (sp->token != NULL) {
    if (!token_ok(sp->token, strlen(sp->token)))
      return -EINVAL;
    if (find_token(ls, sp->token) != NULL)
      return -EEXIST;
  }
  if (ls->nlinks >= ls->opt_.max_links) {
    if (list_empty(&ls->ended_order_))
      return -ENOSPC; /* all pending: ended links never refuse a new one */
    forget(ls, link_of(list_first(&ls->ended_order_)));
  }
  if (sp->token != NULL) {
    memcpy(token, sp->token, sizeof token);
  } else {
    memcpy(token, LINKSVC_TOKEN_PREFIX, plen);
    for (tries = 0;; tries++) {
      if (tries == 4 || crypto_random(rnd, sizeof rnd) != 0)
        return -EIO;
      crypto_hex(rnd, TOKEN_RANDOM_BYTES, token + plen);
      if (find_token(ls, token) == NULL)
        break;
    }
  }
  if (sp->status != LINKSVC_STATE_PENDING) {
    cb_len = 0; /* an ended link keeps no callback_url nor state */
    state_len = 0;
  }
  l = calloc(1, sizeof *l + sp->user_len + 1);
  if (l == NULL)
    return -ENOMEM;
  list_init(&l->waiters_);
  list_init(&l->siblings_);
  list_node_init(&l->sibling_);
  p = (char *)(l + 1);
  memcpy(p, sp->user, sp->user_len);
  p[sp->user_len] = '\0';
  l->user = p;
  l->user_len = sp->user_len;
  l->callback_url = "";
  l->state_param = "";
  if (cb_len + state_len > 0) {
    l->extras_ = malloc(cb_len + 1 + state_len + 1);
    if (l->extras_ == NULL) {
      free(l);
      return -ENOMEM;
    }
    p = l->extras_;
    memcpy(p, sp->callback_url, cb_len);
    p[cb_len] = '\0';
    l->callback_url = p;
    p += cb_len + 1;
    memcpy(p, sp->state, state_len);
    p[state_len] = '\0';
    l->state_param = p;
  }
  memcpy(l->token, token, sizeof token);
  memcpy(l->path, LINKSVC_PATH_PREFIX, sizeof LINKSVC_PATH_PREFIX - 1);
  memcpy(l->path + sizeof LINKSVC_PATH_PREFIX - 1, token, sizeof token);
  memcpy(l->connector, sp->connector, sp->connector_len + 1);
  memcpy(l->expires_at, expires, sizeof l->expires_at);
  l->created_ms = sp->created_ms;
  l->expires_ms = sp->expires_ms;
  l->state = sp->status;
  l->ended_ms = sp->ended_ms;
  l->pinned = sp->pinned;
  l->kept_ = sp->kept;
  rc = htable_insert(&ls->tokens_, &l->by_token_, hash_token(ls, token));
  if (rc != 0) {
    link_free(l);
    return rc;
  }
  if (l->state == LINKSVC_STATE_PENDING && sp->sibling_of != NULL) {
    list_insert_tail(&sp->sibling_of->siblings_, &l->sibling_);
  } else if (l->state == LINKSVC_STATE_PENDING && !l->pinned) {
    rc = htable_insert(&ls->pending_, &l->by_key_,
                      hash_key(ls, sp->user, sp->user_len, sp->connector, sp->connector_len));
    if (rc != 0) {
      htable_remove(&ls->tokens_, &l->by_token_);
      link_free(l);
      return rc;
    }
    l->keyed_ = 1;
  }
  if (l->state == LINKSVC_STATE_PENDING) {
    pending_insert(ls, l);
    ls->npending++;
  } else {
    ended_insert(ls, l);
    ls->nended++;
  }
  ls->nlinks++;
  *out = l;
  return 0;
}

/* Copies what a waiter or the API is told about l. */
static void fill_info(const linksvc_link *l, linksvc_link_info *info) {
  memcpy(info->token, l->token, sizeof info->token);
  memcpy(info->path, l->path, sizeof info->path);
  memcpy(info->connector, l->connector, sizeof info->connector);
  memcpy(info->expires_at, l->expires_at, sizeof info->expires_at);
  info->created_ms = l->created_ms;
  info->expires_ms = l->expires_ms;
}

static void tick(linksvc_t *ls, uint64_t now_ms) {
  if (now_ms > ls->now_ms_)
    ls->now_ms_ = now_ms;
}

/* ---- API ---- */

int linksvc_init(linksvc_t *ls, const linksvc_options *opt) {
  linksvc_options o = {0};
  unsigned char seed[sizeof(uint64_t)];
  if (opt != NULL)
    o = *opt;
  if (o.link_ttl_s == 0)
    o.link_ttl_s = LINKSVC_DEFAULT_LINK_TTL_S;
  if (o.retain_s == 0)
    o.retain_s = LINKSVC_DEFAULT_RETAIN_S;
  if (o.max_links == 0)
    o.max_links = LINKSVC_DEFAULT_MAX_LINKS;
  if (o.ended_max == 0)
    o.ended_max = LINKSVC_DEFAULT_ENDED_MAX;
  if (o.link_ttl_s > LINKSVC_LINK_TTL_MAX_S)
    return -EINVAL;
  if (crypto_random(seed, sizeof seed) != 0)
    return -EIO;
  memset(ls, 0, sizeof *ls);
  list_init(&ls->pending_order_);
  list_init(&ls->ended_order_);
  ls->opt_ = o;
  memcpy(&ls->seed_, seed, sizeof seed);
  return 0;
}

void linksvc_close(linksvc_t *ls) {
  list_node *node;
  size_t i;
  LIST_FOREACH(node, &ls->pending_order_) {
    linksvc_link *l = link_of(node);
    while (!list_empty(&l->waiters_)) {
      linksvc_waiter *w = first_waiter(&l->waiters_);
      list_remove(&w->link_);
      w->waiting = 0;
      w->lnk_ = NULL;
    }
  }
  for (i = 0; i < ls->tokens_.nbuckets; i++) {
    htable_node *n = ls->tokens_.buckets[i];
    while (n != NULL) {
      htable_node *next = n->next;
      link_free(CONTAINER(n, linksvc_link, by_token_));
      n = next;
    }
  }
  htable_free(&ls->tokens_);
  htable_free(&ls->pending_);
  memset(ls, 0, sizeof *ls);
  list_init(&ls->pending_order_); /* closed: empty, as after linksvc_init */
  list_init(&ls->ended_order_);
}

int linksvc_wait(linksvc_t *ls, linksvc_waiter *w, const char *user, const char *connector,
                 uint64_t now_ms, linksvc_done_cb cb, void *ctx) {
  size_t user_len = 0;
  size_t connector_len = 0;
  linksvc_link *l;
  int rc;

  if (w->waiting)
    return -EBUSY;
  if (user == NULL || connector == NULL || cb == NULL || !user_ok(user, &user_len) ||
      !connector_ok(connector, &connector_len) || now_ms > NOW_MS_MAX)
    return -EINVAL;
  tick(ls, now_ms);
  l = find_pending(ls, user, user_len, connector, connector_len);
  if (l != NULL && l->expires_ms <= ls->now_ms_) {
    /* Past its time, waiting for linksvc_expire(): do not join it (a
     * sibling may take its place). */
    unkey(ls, l);
    l = find_pending(ls, user, user_len, connector, connector_len);
  }
  if (l == NULL) {
    link_spec sp = {0};
    sp.user = user;
    sp.user_len = user_len;
    sp.connector = connector;
    sp.connector_len = connector_len;
    sp.callback_url = "";
    sp.state = "";
    sp.created_ms = ls->now_ms_;
    sp.expires_ms = ls->now_ms_ + (uint64_t)ls->opt_.link_ttl_s * 1000;
    sp.status = LINKSVC_STATE_PENDING;
    sp.kept = ls->opt_.keep_pending;
    rc = mint(ls, &sp, &l);
    if (rc != 0)
      return rc;
    if (ls->opt_.journal != NULL)
      ls->opt_.journal(ls->opt_.journal_ctx, l);
  }
  fill_info(l, &w->link);
  w->waiting = 1;
  w->cb_ = cb;
  w->ctx_ = ctx;
  waiter_push(l, w);
  l->nwaiters++;
  ls->nwaiters++;
  return 0;
}

void linksvc_cancel(linksvc_t *ls, linksvc_waiter *w) {
  linksvc_link *l = w->lnk_;
  if (!w->waiting)
    return;
  list_remove(&w->link_);
  w->waiting = 0;
  w->lnk_ = NULL;
  if (l == NULL) /* its link ended; its callback was still due */
    return;
  l->nwaiters--;
  ls->nwaiters--;
  if (l->nwaiters == 0 && l->state == LINKSVC_STATE_PENDING && !l->kept_) {
    end_link(ls, l, LINKSVC_STATE_REVOKED);
    trim_ended(ls);
  }
}

/* other ends in state s along with l: its waiters move onto l, so that
 * one fire() runs them all and no link is touched once a callback has run. */
static void absorb(linksvc_t *ls, linksvc_link *l, linksvc_link *other, linksvc_state s) {
  end_link(ls, other, s);
  while (!list_empty(&other->waiters_)) {
    linksvc_waiter *w = first_waiter(&other->waiters_);
    list_remove(&w->link_);
    waiter_push(l, w);
  }
  l->nwaiters += other->nwaiters;
  other->nwaiters = 0;
}

/* The user ended pending link token: completed (for chosen, which a
 * picker link takes as its connector) or declined. */
static int end_by_user(linksvc_t *ls, const char *token, size_t token_len, const char *chosen, linksvc_state state,
                       uint64_t now_ms) {
  linksvc_link *l;
  linksvc_link *own;         /* l's pair's link, when l is not it */
  linksvc_link *chosen_link; /* a picker's chosen pair's link */
  list_node group;           /* the siblings of those and of l: they end with l */
  size_t chosen_len = 0;

  tick(ls, now_ms);
  if (!token_ok(token, token_len))
    return -ENOENT;
  l = find_token(ls, token);
  if (l == NULL)
    return -ENOENT;
  switch (l->state) {
  case LINKSVC_STATE_PENDING:
    break;
  case LINKSVC_STATE_COMPLETED:
  case LINKSVC_STATE_DECLINED:
    return -EALREADY;
  case LINKSVC_STATE_EXPIRED:
    return -ETIMEDOUT;
  case LINKSVC_STATE_REVOKED:
  default:
    return -ECANCELED;
  }
  if (chosen != NULL && l->connector[0] == '\0') {
    if (!connector_ok(chosen, &chosen_len) || chosen_len == 0)
      return -EINVAL;
  } else if (chosen != NULL && strcmp(chosen, l->connector) != 0) {
    return -EINVAL; /* only a picker link takes the user's choice */
  }
  if (l->expires_ms <= ls->now_ms_) {
    end_link(ls, l, LINKSVC_STATE_EXPIRED);
    fire(ls, l, LINKSVC_EXPIRED);
    trim_ended(ls);
    return -ETIMEDOUT;
  }
  /* l's group under its own key, before a picker's choice re-keys it: the
   * pair's link when l is not it (l minted by the API, or a sibling), and
   * that link's siblings. An API picker link does not end the user's
   * stream pickers. */
  list_init(&group);
  list_remove(&l->sibling_); /* a sibling leaves its winner's list */
  own = NULL;
  if (!(l->pinned && l->connector[0] == '\0'))
    own = l->keyed_ ? l : find_pending(ls, l->user, l->user_len, l->connector, strlen(l->connector));
  if (own != NULL)
    take_siblings(&group, own);
  if (own == l)
    own = NULL;
  chosen_link = NULL;
  if (chosen_len > 0) {
    /* The picker link completes for the chosen connector: its journal row
     * and its waiters name it. Out of the index first, under its old key
     * (its siblings are in group: none is promoted). Streams waiting on the
     * chosen pair's link and its siblings end too. */
    unkey(ls, l);
    memcpy(l->connector, chosen, chosen_len + 1);
    chosen_link = find_pending(ls, l->user, l->user_len, l->connector, chosen_len);
    if (chosen_link != NULL)
      take_siblings(&group, chosen_link);
  }
  end_link(ls, l, state);
  if (own != NULL)
    absorb(ls, l, own, state);
  if (chosen_link != NULL)
    absorb(ls, l, chosen_link, state);
  while (!list_empty(&group))
    absorb(ls, l, LIST_ENTRY(list_first(&group), linksvc_link, sibling_), state);
  fire(ls, l, state == LINKSVC_STATE_COMPLETED ? LINKSVC_COMPLETED : LINKSVC_DECLINED);
  trim_ended(ls);
  return 0;
}

int linksvc_complete(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms) {
  return end_by_user(ls, token, token_len, NULL, LINKSVC_STATE_COMPLETED, now_ms);
}

int linksvc_complete_as(linksvc_t *ls, const char *token, size_t token_len, const char *connector,
                        uint64_t now_ms) {
  if (connector == NULL)
    return -EINVAL;
  return end_by_user(ls, token, token_len, connector, LINKSVC_STATE_COMPLETED, now_ms);
}

int linksvc_decline(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms) {
  return end_by_user(ls, token, token_len, NULL, LINKSVC_STATE_DECLINED, now_ms);
}

int linksvc_mint(linksvc_t *ls, const char *user, const char *connector, unsigned ttl_s,
                 const char *callback_url, const char *state, uint64_t now_ms, linksvc_link_info *info) {
  link_spec sp = {0};
  linksvc_link *l;
  int rc;
  if (user == NULL || connector == NULL || !user_ok(user, &sp.user_len) ||
      !connector_ok(connector, &sp.connector_len) || now_ms > NOW_MS_MAX || ttl_s == 0 ||
      ttl_s > LINKSVC_LINK_TTL_MAX_S)
    return -EINVAL;
  tick(ls, now_ms);
  sp.user = user;
  sp.connector = connector;
  sp.callback_url = callback_url != NULL ? callback_url : "";
  sp.state = state != NULL ? state : "";
  sp.created_ms = ls->now_ms_;
  sp.expires_ms = ls->now_ms_ + (uint64_t)ttl_s * 1000;
  sp.status = LINKSVC_STATE_PENDING;
  sp.pinned = 1;
  sp.kept = 1;
  rc = mint(ls, &sp, &l);
  if (rc != 0)
    return rc;
  if (ls->opt_.journal != NULL)
    ls->opt_.journal(ls->opt_.journal_ctx, l);
  fill_info(l, info);
  return 0;
}

int linksvc_restore(linksvc_t *ls, const char *token, const char *user, const char *connector,
                    const char *callback_url, const char *state, linksvc_state status, int pinned,
                    uint64_t created_ms, uint64_t expires_ms, uint64_t ended_ms) {
  link_spec sp = {0};
  linksvc_link *rival;
  linksvc_link *l;
  int rc;
  if (token == NULL || user == NULL || connector == NULL || !user_ok(user, &sp.user_len) ||
      !connector_ok(connector, &sp.connector_len) || expires_ms > NOW_MS_MAX ||
      status > LINKSVC_STATE_DECLINED)
    return -EINVAL;
  sp.token = token;
  sp.user = user;
  sp.connector = connector;
  sp.callback_url = callback_url != NULL ? callback_url : "";
  sp.state = state != NULL ? state : "";
  sp.created_ms = created_ms;
  sp.expires_ms = expires_ms;
  sp.status = status;
  sp.ended_ms = status == LINKSVC_STATE_PENDING ? 0 : ended_ms;
  sp.pinned = pinned;
  sp.kept = 1;
  /* A second pending stream link of the pair (another replica minted one
   * at the same time, or older data): the older one is the pair's. */
  rival = status == LINKSVC_STATE_PENDING && !pinned
              ? find_pending(ls, user, sp.user_len, connector, sp.connector_len)
              : NULL;
  if (rival != NULL && rival->expires_ms <= ls->now_ms_) {
    unkey(ls, rival); /* past its time: not joined any more */
    rival = find_pending(ls, user, sp.user_len, connector, sp.connector_len);
  }
  if (rival != NULL && !older_than(created_ms, token, rival))
    sp.sibling_of = rival;
  rc = mint(ls, &sp, &l);
  if (rc == 0 && rival != NULL && sp.sibling_of == NULL)
    lose_to(ls, rival, l);
  trim_ended(ls); /* keeps the latest ended of those restored */
  return rc;
}

int linksvc_expire_link(linksvc_t *ls, const char *token, size_t token_len, uint64_t now_ms) {
  linksvc_link *l;
  tick(ls, now_ms);
  if (!token_ok(token, token_len))
    return -ENOENT;
  l = find_token(ls, token);
  if (l == NULL || l->state != LINKSVC_STATE_PENDING)
    return -ENOENT;
  end_link(ls, l, LINKSVC_STATE_EXPIRED);
  fire(ls, l, LINKSVC_EXPIRED);
  trim_ended(ls);
  return 0;
}

void linksvc_keep_pending(linksvc_t *ls) {
  list_node *n;
  LIST_FOREACH(n, &ls->pending_order_)
    link_of(n)->kept_ = 1;
}

void linksvc_expire(linksvc_t *ls, uint64_t now_ms) {
  uint64_t retain_ms = (uint64_t)ls->opt_.retain_s * 1000;
  linksvc_link *l;
  tick(ls, now_ms);
  for (;;) {
    l = link_of(list_first(&ls->pending_order_));
    if (l == NULL || l->expires_ms > ls->now_ms_)
      break;
    end_link(ls, l, LINKSVC_STATE_EXPIRED);
    fire(ls, l, LINKSVC_EXPIRED);
  }
  for (;;) {
    l = link_of(list_first(&ls->ended_order_));
    if (l == NULL || l->ended_ms + retain_ms > ls->now_ms_)
      break;
    forget(ls, l);
  }
  trim_ended(ls);
}

const linksvc_link *linksvc_find(const linksvc_t *ls, const char *token, size_t token_len) {
  if (!token_ok(token, token_len))
    return NULL;
  return find_token(ls, token);
}

const char *linksvc_state_name(linksvc_state s) {
  switch (s) {
  case LINKSVC_STATE_PENDING:
    return "pending";
  case LINKSVC_STATE_COMPLETED:
    return "completed";
  case LINKSVC_STATE_EXPIRED:
    return "expired";
  case LINKSVC_STATE_REVOKED:
    return "revoked";
  case LINKSVC_STATE_DECLINED:
    return "declined";
  }
  return "unknown";
}
