/* mcpsession: MCP URL elicitation in tool mode. See mcpsession.h.
 *
 * The table: sessions in a chained hash (a seeded FNV-1a of the id) and on
 * a least-recently-used list; the oldest goes when the table is full, and
 * sessions idle past idle_ms go as the table is used (a session with a GET
 * stream open is not idle). Elicitations: heap objects, each embedding its
 * pausehub waiter, on the table's list so that a worker going away can
 * withdraw its own. An elicitation waits on the loop of the session's GET
 * stream when one is open for the same user (else on the caller's), and
 * only that loop cancels or frees it: pausehub delivers and cancels a
 * waiter on its own loop. One mutex guards all of it; it is taken before the
 * hub's lock (pausehub_wait, pausehub_cancel), never after, and never held
 * while a stream is written.
 */
#include "mcpsession.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <yajl/yajl_tree.h>

#include "crypto.h"
#include "json.h"
#include "jsonw.h"
#include "list.h"
#include "log.h"

typedef struct mcp_session {
  list_node lru;                   /* t->lru, most recently used first */
  struct mcp_session *chain;       /* next in its hash bucket */
  uint64_t hash;
  uint64_t used_ms;                /* last use */
  void *get_owner;                 /* the GET stream carrying its events; NULL: none */
  pausehub_mailbox *get_box;       /* that stream's worker */
  mcpsession_notify_fn get_notify;
  char get_user[LINKSVC_USER_MAX + 1]; /* that stream's registered user */
  size_t sid_len;
  char sid[MCPSESSION_SID_MAX + 1];
} mcp_session;

typedef struct mcp_elicitation {
  pausehub_waiter waiter;          /* on the link; valid while on t->elicitations */
  list_node link;                  /* t->elicitations */
  mcpsession_table *t;
  pausehub_mailbox *box;           /* the worker it waits on */
  char id[MCPSESSION_ELICITATION_ID_LEN + 1];
  char user[LINKSVC_USER_MAX + 1];
  size_t sid_len;
  char sid[MCPSESSION_SID_MAX + 1];
} mcp_elicitation;

struct mcpsession_table {
  uv_mutex_t lock;
  mcp_session **buckets;           /* nbuckets (a power of two) chains */
  size_t nbuckets;
  list_node lru;
  size_t count;
  size_t max_sessions;
  uint64_t idle_ms;
  uint64_t seed;                   /* of the hash: ids are chosen by the upstream */
  list_node elicitations;
  size_t nelicitations;
  size_t max_elicitations;
};

/* ---- reading a JSON-RPC request ------------------------------------------ */

/* The id's JSON text into out: a number as written, a string quoted and
 * escaped. Returns 0, or -EINVAL (another type, or too long). */
static int rpc_id_text(yajl_val id, char out[MCPSESSION_RPC_ID_MAX + 1]) {
  dynbuf b;
  int rc;
  if (YAJL_IS_NUMBER(id)) {
    size_t n = strlen(id->u.number.r);
    if (n == 0 || n > MCPSESSION_RPC_ID_MAX)
      return -EINVAL;
    memcpy(out, id->u.number.r, n + 1);
    return 0;
  }
  if (!YAJL_IS_STRING(id))
    return -EINVAL;
  dynbuf_init(&b, MCPSESSION_RPC_ID_MAX + 1);
  rc = jsonw_cstring(&b, id->u.string);
  if (rc == 0 && b.len <= MCPSESSION_RPC_ID_MAX) {
    memcpy(out, b.ptr, b.len);
    out[b.len] = '\0';
  } else {
    rc = -EINVAL;
  }
  dynbuf_free(&b);
  return rc;
}

int mcpsession_parse(const char *body, size_t len, mcpsession_rpc *rpc) {
  static const char *method_path[] = {"method", NULL};
  static const char *id_path[] = {"id", NULL};
  static const char *url_path[] = {"params", "capabilities", "elicitation", "url", NULL};
  yajl_val root = NULL;
  const char *method;
  char *text;
  int rc;
  memset(rpc, 0, sizeof *rpc);
  if (len > MCPSESSION_BODY_MAX)
    return -E2BIG;
  text = malloc(len + 1);
  if (text == NULL)
    return -ENOMEM;
  memcpy(text, body, len);
  text[len] = '\0';
  rc = json_parse(text, len, MCPSESSION_DEPTH_MAX, 0, &root, NULL);
  free(text);
  if (rc != 0)
    return rc;
  if (!YAJL_IS_OBJECT(root)) {
    yajl_tree_free(root);
    return -EINVAL;
  }
  method = YAJL_GET_STRING(yajl_tree_get(root, method_path, yajl_t_string));
  if (method != NULL) {
    rpc->initialize = strcmp(method, "initialize") == 0;
    rpc->tools_call = strcmp(method, "tools/call") == 0;
  }
  if (rpc_id_text(yajl_tree_get(root, id_path, yajl_t_any), rpc->id) != 0)
    rpc->id[0] = '\0';
  rpc->url_elicitation = rpc->initialize && yajl_tree_get(root, url_path, yajl_t_object) != NULL;
  yajl_tree_free(root);
  return 0;
}

/* ---- the table ----------------------------------------------------------- */

static uint64_t sid_hash(const mcpsession_table *t, const char *sid, size_t len) {
  uint64_t h = 1469598103934665603ull ^ t->seed;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)sid[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* A session id as the spec allows it (visible ASCII) and within the cap. */
static int sid_ok(const char *sid, size_t len) {
  size_t i;
  if (sid == NULL || len == 0 || len > MCPSESSION_SID_MAX)
    return 0;
  for (i = 0; i < len; i++) {
    if ((unsigned char)sid[i] < 0x21 || (unsigned char)sid[i] > 0x7e)
      return 0;
  }
  return 1;
}

mcpsession_table *mcpsession_table_new(size_t max_sessions, uint64_t idle_ms, size_t max_elicitations) {
  mcpsession_table *t = calloc(1, sizeof *t);
  size_t n = 16;
  if (t == NULL || max_sessions == 0)
    goto fail;
  while (n < max_sessions && n < ((size_t)1 << 30))
    n <<= 1;
  t->buckets = calloc(n, sizeof *t->buckets);
  if (t->buckets == NULL || uv_mutex_init(&t->lock) != 0)
    goto fail;
  t->nbuckets = n;
  list_init(&t->lru);
  list_init(&t->elicitations);
  t->max_sessions = max_sessions;
  t->idle_ms = idle_ms;
  t->max_elicitations = max_elicitations;
  if (crypto_random(&t->seed, sizeof t->seed) != 0)
    t->seed = (uint64_t)(uintptr_t)t; /* the hash still works; only less hard to flood */
  return t;
fail:
  if (t != NULL)
    free(t->buckets);
  free(t);
  return NULL;
}

/* Unlinks s from its bucket and the LRU list and frees it (lock held). */
static void session_drop(mcpsession_table *t, mcp_session *s) {
  mcp_session **pp = &t->buckets[s->hash & (t->nbuckets - 1)];
  while (*pp != s)
    pp = &(*pp)->chain;
  *pp = s->chain;
  list_remove(&s->lru);
  t->count--;
  free(s);
}

void mcpsession_table_free(mcpsession_table *t) {
  list_node *n;
  list_node *next;
  if (t == NULL)
    return;
  LIST_FOREACH_SAFE(n, next, &t->lru) {
    session_drop(t, LIST_ENTRY(n, mcp_session, lru));
  }
  uv_mutex_destroy(&t->lock);
  free(t->buckets);
  free(t);
}

static uv_once_t shared_once = UV_ONCE_INIT;
static mcpsession_table *shared_table;

static void shared_init(void) {
  shared_table = mcpsession_table_new(MCPSESSION_SESSIONS_MAX, MCPSESSION_IDLE_MS, MCPSESSION_ELICITATIONS_MAX);
}

mcpsession_table *mcpsession_shared(void) {
  uv_once(&shared_once, shared_init);
  return shared_table;
}

/* Forgets sessions idle past idle_ms, oldest first (lock held). A session
 * whose GET stream is open is in use: it counts as used now. */
static void expire_idle(mcpsession_table *t, uint64_t now_ms) {
  list_node *n;
  size_t rotated = 0; /* sessions moved to the front: each at most once */
  while (rotated < t->count && (n = list_last(&t->lru)) != NULL) {
    mcp_session *s = LIST_ENTRY(n, mcp_session, lru);
    if (now_ms < s->used_ms || now_ms - s->used_ms <= t->idle_ms)
      break;
    if (s->get_owner != NULL) {
      s->used_ms = now_ms;
      list_remove(&s->lru);
      list_insert_head(&t->lru, &s->lru);
      rotated++;
      continue;
    }
    session_drop(t, s);
  }
}

/* Session sid (lock held); NULL when not remembered. */
static mcp_session *session_lookup(mcpsession_table *t, const char *sid, size_t len) {
  uint64_t h = sid_hash(t, sid, len);
  mcp_session *s;
  for (s = t->buckets[h & (t->nbuckets - 1)]; s != NULL; s = s->chain) {
    if (s->hash == h && s->sid_len == len && memcmp(s->sid, sid, len) == 0)
      return s;
  }
  return NULL;
}

/* session_lookup(), the session marked used now. */
static mcp_session *session_find(mcpsession_table *t, const char *sid, size_t len, uint64_t now_ms) {
  mcp_session *s = session_lookup(t, sid, len);
  if (s != NULL) {
    s->used_ms = now_ms;
    list_remove(&s->lru);
    list_insert_head(&t->lru, &s->lru);
  }
  return s;
}

int mcpsession_remember(mcpsession_table *t, const char *sid, size_t len, int declared, uint64_t now_ms) {
  mcp_session *s;
  int rc = 0;
  if (!sid_ok(sid, len))
    return -EINVAL;
  uv_mutex_lock(&t->lock);
  expire_idle(t, now_ms);
  s = session_find(t, sid, len, now_ms);
  if (!declared) {
    if (s != NULL)
      session_drop(t, s); /* the id was given again, to a session that did not declare it */
  } else if (s == NULL) {
    if (t->count >= t->max_sessions)
      session_drop(t, LIST_ENTRY(list_last(&t->lru), mcp_session, lru));
    s = calloc(1, sizeof *s);
    if (s == NULL) {
      rc = -ENOMEM;
    } else {
      s->hash = sid_hash(t, sid, len);
      s->used_ms = now_ms;
      s->sid_len = len;
      memcpy(s->sid, sid, len);
      s->chain = t->buckets[s->hash & (t->nbuckets - 1)];
      t->buckets[s->hash & (t->nbuckets - 1)] = s;
      list_insert_head(&t->lru, &s->lru);
      t->count++;
    }
  }
  uv_mutex_unlock(&t->lock);
  return rc;
}

int mcpsession_declared(mcpsession_table *t, const char *sid, size_t len, uint64_t now_ms) {
  int found;
  if (!sid_ok(sid, len))
    return 0;
  uv_mutex_lock(&t->lock);
  expire_idle(t, now_ms);
  found = session_find(t, sid, len, now_ms) != NULL;
  uv_mutex_unlock(&t->lock);
  return found;
}

size_t mcpsession_count(mcpsession_table *t) {
  size_t n;
  uv_mutex_lock(&t->lock);
  n = t->count;
  uv_mutex_unlock(&t->lock);
  return n;
}

size_t mcpsession_elicitations(mcpsession_table *t) {
  size_t n;
  uv_mutex_lock(&t->lock);
  n = t->nelicitations;
  uv_mutex_unlock(&t->lock);
  return n;
}

/* ---- the GET stream ------------------------------------------------------- */

int mcpsession_stream_open(mcpsession_table *t, const char *sid, size_t len, void *owner, pausehub_mailbox *box,
                           mcpsession_notify_fn notify, const char *user, uint64_t now_ms) {
  mcp_session *s;
  size_t ulen = user != NULL ? strlen(user) : 0;
  if (!sid_ok(sid, len) || owner == NULL || notify == NULL || ulen == 0 || ulen > LINKSVC_USER_MAX)
    return -EINVAL;
  uv_mutex_lock(&t->lock);
  expire_idle(t, now_ms);
  s = session_find(t, sid, len, now_ms);
  if (s != NULL) {
    s->get_owner = owner;
    s->get_box = box;
    s->get_notify = notify;
    memcpy(s->get_user, user, ulen + 1);
  }
  uv_mutex_unlock(&t->lock);
  return s != NULL ? 0 : -ENOENT;
}

void mcpsession_stream_close(mcpsession_table *t, const char *sid, size_t len, const void *owner) {
  mcp_session *s;
  if (!sid_ok(sid, len))
    return;
  uv_mutex_lock(&t->lock);
  s = session_lookup(t, sid, len);
  if (s != NULL && s->get_owner == owner) {
    s->get_owner = NULL;
    s->get_box = NULL;
    s->get_notify = NULL;
    s->get_user[0] = '\0';
  }
  uv_mutex_unlock(&t->lock);
}

/* ---- elicitations --------------------------------------------------------- */

/* The link ended, on the elicitation's worker: completed (or resumed by
 * the operator) tells the session's GET stream; any other end (expired,
 * revoked, cancelled, declined) leaves the client to call again. */
static void elicitation_done(pausehub_waiter *pw, unsigned pause_no, pausehub_outcome outcome) {
  mcp_elicitation *e = (mcp_elicitation *)(void *)((char *)pw - offsetof(mcp_elicitation, waiter));
  mcpsession_table *t = e->t;
  mcpsession_notify_fn notify = NULL;
  void *owner = NULL;
  const char *why = NULL;
  mcp_session *s;
  dynbuf ev;
  (void)pause_no;
  uv_mutex_lock(&t->lock);
  list_remove(&e->link);
  t->nelicitations--;
  s = session_lookup(t, e->sid, e->sid_len);
  if (s == NULL)
    why = "session forgotten";
  else if (s->get_owner == NULL)
    why = "no GET stream open";
  else if (s->get_box != e->box)
    why = "GET stream on another worker";
  else if (strcmp(s->get_user, e->user) != 0)
    why = "GET stream of another user";
  if (why == NULL) {
    owner = s->get_owner;
    notify = s->get_notify;
  }
  uv_mutex_unlock(&t->lock);
  if (outcome != PAUSEHUB_COMPLETED && outcome != PAUSEHUB_RESUMED) {
    LOG_INFO("URL elicitation ended without completion", LOG_STR("elicitation_id", e->id),
             LOG_I64("outcome", (int64_t)outcome));
    free(e);
    return;
  }
  dynbuf_init(&ev, 1024);
  if (why == NULL && (mcpsession_render_complete(&ev, e->id) != 0 || notify(owner, ev.ptr, ev.len) != 0))
    why = "GET stream not at an event boundary";
  if (why == NULL)
    LOG_INFO("URL elicitation complete sent", LOG_STR("elicitation_id", e->id));
  else
    LOG_INFO("URL elicitation complete not sent: the client calls again", LOG_STR("elicitation_id", e->id),
             LOG_STR("reason", why));
  dynbuf_free(&ev);
  free(e);
}

int mcpsession_elicit(mcpsession_table *t, pausehub_mailbox *box, const mcpsession_call *call, uint64_t now_ms,
                      char id[MCPSESSION_ELICITATION_ID_LEN + 1], char *url, size_t cap) {
  size_t ulen = call->user != NULL ? strlen(call->user) : 0;
  size_t blen = strlen(call->base_url);
  pausehub_pause pp;
  mcp_elicitation *e;
  mcp_session *s;
  int rc;
  if (!sid_ok(call->sid, call->sid_len) || ulen == 0 || ulen > LINKSVC_USER_MAX)
    return -EINVAL;
  if (blen + LINKSVC_PATH_LEN + 1 > cap)
    return -ENOSPC;
  e = calloc(1, sizeof *e);
  if (e == NULL)
    return -ENOMEM;
  memcpy(e->id, "el_", 3);
  if (crypto_random_hex(e->id + 3, 16) != 0) {
    free(e);
    return -EIO;
  }
  e->t = t;
  e->box = box;
  memcpy(e->user, call->user, ulen + 1);
  e->sid_len = call->sid_len;
  memcpy(e->sid, call->sid, call->sid_len);
  pp.stream_id = call->stream_id;
  pp.pause_no = 1;
  pp.user = call->user;
  pp.connector = call->connector;
  pp.base_url = call->base_url;
  pp.held_bytes = 0;
  uv_mutex_lock(&t->lock);
  s = session_lookup(t, call->sid, call->sid_len);
  if (s != NULL && s->get_owner != NULL && strcmp(s->get_user, call->user) == 0)
    e->box = s->get_box; /* delivered on the loop of the stream that carries the notification */
  if (t->nelicitations >= t->max_elicitations) {
    rc = -EBUSY;
  } else {
    rc = pausehub_wait(e->box, &e->waiter, &pp, now_ms, elicitation_done);
    if (rc == 0) {
      list_insert_head(&t->elicitations, &e->link);
      t->nelicitations++;
    }
  }
  uv_mutex_unlock(&t->lock);
  if (rc != 0) {
    free(e);
    return rc;
  }
  memcpy(id, e->id, MCPSESSION_ELICITATION_ID_LEN + 1);
  memcpy(url, call->base_url, blen);
  memcpy(url + blen, e->waiter.w.link.path, LINKSVC_PATH_LEN + 1);
  return 0;
}

void mcpsession_elicit_cancel(mcpsession_table *t, pausehub_mailbox *box, const char *id) {
  mcp_elicitation *found = NULL;
  list_node *n;
  uv_mutex_lock(&t->lock);
  LIST_FOREACH(n, &t->elicitations) {
    mcp_elicitation *e = LIST_ENTRY(n, mcp_elicitation, link);
    if (e->box == box && strcmp(e->id, id) == 0) {
      found = e;
      break;
    }
  }
  if (found != NULL) {
    list_remove(&found->link);
    t->nelicitations--;
    pausehub_cancel(&found->waiter);
  }
  uv_mutex_unlock(&t->lock);
  free(found);
}

void mcpsession_worker_gone(mcpsession_table *t, pausehub_mailbox *box) {
  list_node *n;
  list_node *next;
  uv_mutex_lock(&t->lock);
  LIST_FOREACH_SAFE(n, next, &t->elicitations) {
    mcp_elicitation *e = LIST_ENTRY(n, mcp_elicitation, link);
    if (e->box != box)
      continue;
    list_remove(&e->link);
    t->nelicitations--;
    pausehub_cancel(&e->waiter);
    free(e);
  }
  uv_mutex_unlock(&t->lock);
}

/* ---- the wire ------------------------------------------------------------- */

/* Frames the JSON-RPC message rendered in out from offset start as one SSE
 * event named message (the only name the MCP SDK reads): the JSON has no
 * raw newline (jsonw escapes them), so it is one data line. */
static int sse_frame(dynbuf *out, size_t start) {
  static const char prefix[] = "event: message\ndata: ";
  size_t n = sizeof prefix - 1;
  size_t body = out->len - start;
  if (dynbuf_put(out, prefix, n) != 0) /* room, then move the JSON behind it */
    return dynbuf_error(out);
  memmove(out->ptr + start + n, out->ptr + start, body);
  memcpy(out->ptr + start, prefix, n);
  return jsonw_raw(out, "\n\n");
}

int mcpsession_render_answer(dynbuf *out, int sse, const char *rpc_id, const char *id, const char *url,
                             const char *message) {
  size_t start = out->len;
  (void)jsonw_raw(out, "{\"jsonrpc\":\"2.0\",\"id\":");
  (void)jsonw_raw(out, rpc_id);
  (void)jsonw_raw(out, ",\"error\":{\"code\":-32042,\"message\":\"URL elicitation required\","
                       "\"data\":{\"elicitations\":[{\"mode\":\"url\",\"elicitationId\":");
  (void)jsonw_cstring(out, id);
  (void)jsonw_raw(out, ",\"url\":");
  (void)jsonw_cstring(out, url);
  (void)jsonw_raw(out, ",\"message\":");
  (void)jsonw_cstring(out, message);
  if (jsonw_raw(out, "}]}}}") != 0)
    return dynbuf_error(out);
  return sse ? sse_frame(out, start) : 0;
}

int mcpsession_render_complete(dynbuf *out, const char *id) {
  size_t start = out->len;
  (void)jsonw_raw(out, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/elicitation/complete\","
                       "\"params\":{\"elicitationId\":");
  (void)jsonw_cstring(out, id);
  if (jsonw_raw(out, "}}") != 0)
    return dynbuf_error(out);
  return sse_frame(out, start);
}
