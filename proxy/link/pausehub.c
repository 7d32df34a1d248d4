/* pausehub: shared link state and per-worker delivery. See pausehub.h. */
#include "pausehub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "jsonw.h"

#define JOURNAL_MAX 100000 /* records queued for the store at most */

/* linksvc's journal callback (hub->lock held): copies the link into a
 * record for the control loop. */
static void on_journal(void *ctx, const linksvc_link *l) {
  pausehub_t *hub = ctx;
  size_t ulen = l->user_len;
  size_t clen = strlen(l->callback_url);
  size_t slen = strlen(l->state_param);
  const char *base = l->state == LINKSVC_STATE_PENDING && hub->mint_base != NULL ? hub->mint_base : "";
  size_t blen = strlen(base);
  pausehub_record *r;
  char *p;
  if (!hub->attached)
    return;
  if (hub->journal_len >= JOURNAL_MAX) {
    hub->journal_dropped++;
    return;
  }
  r = malloc(sizeof *r + ulen + 1 + clen + 1 + slen + 1 + blen + 1);
  if (r == NULL) {
    hub->journal_dropped++;
    return;
  }
  memset(r, 0, sizeof *r);
  p = (char *)(r + 1);
  memcpy(p, l->user, ulen + 1);
  r->user = p;
  p += ulen + 1;
  memcpy(p, l->callback_url, clen + 1);
  r->callback_url = p;
  p += clen + 1;
  memcpy(p, l->state_param, slen + 1);
  r->state_param = p;
  p += slen + 1;
  memcpy(p, base, blen + 1);
  r->base_url = p;
  memcpy(r->token, l->token, sizeof r->token);
  memcpy(r->connector, l->connector, sizeof r->connector);
  r->state = l->state;
  r->pinned = l->pinned;
  r->created_ms = l->created_ms;
  r->expires_ms = l->expires_ms;
  r->ended_ms = l->ended_ms;
  if (hub->journal_tail != NULL)
    hub->journal_tail->next = r;
  else
    hub->journal_head = r;
  hub->journal_tail = r;
  hub->journal_len++;
  uv_async_send(&hub->control_async);
}

int pausehub_init(pausehub_t *hub, const linksvc_options *opt) {
  linksvc_options o = {0};
  int rc;
  memset(hub, 0, sizeof *hub);
  list_init(&hub->registry);
  if (opt != NULL)
    o = *opt;
  o.journal = on_journal;
  o.journal_ctx = hub;
  rc = uv_mutex_init(&hub->lock);
  if (rc != 0)
    return rc;
  rc = linksvc_init(&hub->links, &o);
  if (rc != 0)
    uv_mutex_destroy(&hub->lock);
  return rc;
}

void pausehub_close(pausehub_t *hub) {
  linksvc_close(&hub->links);
  pausehub_records_free(hub->journal_head);
  hub->journal_head = NULL;
  hub->journal_tail = NULL;
  uv_mutex_destroy(&hub->lock);
}

void pausehub_records_free(pausehub_record *r) {
  while (r != NULL) {
    pausehub_record *next = r->next;
    free(r);
    r = next;
  }
}

/* Takes the journal and the page requests queued for the control loop,
 * under hub->lock; detaching the control loop when detach is set. */
static void take_control_queues(pausehub_t *hub, pausehub_record **records, pausehub_page **pages, int detach) {
  uv_mutex_lock(&hub->lock);
  if (detach)
    hub->attached = 0;
  *records = hub->journal_head;
  hub->journal_head = NULL;
  hub->journal_tail = NULL;
  hub->journal_len = 0;
  *pages = hub->pages_head;
  hub->pages_head = NULL;
  hub->pages_tail = NULL;
  uv_mutex_unlock(&hub->lock);
}

/* The control loop: takes the journal and the page requests. */
static void on_control_async(uv_async_t *a) {
  pausehub_t *hub = a->data;
  pausehub_record *records;
  pausehub_page *pages;
  take_control_queues(hub, &records, &pages, 0);
  if (records != NULL)
    hub->journal_cb(hub->control_ctx, records);
  while (pages != NULL) {
    pausehub_page *next = pages->next;
    pages->next = NULL;
    hub->page_cb(hub->control_ctx, pages);
    pages = next;
  }
}

int pausehub_attach(pausehub_t *hub, uv_loop_t *loop, pausehub_journal_cb journal_cb,
                    pausehub_page_cb page_cb, void *ctx) {
  int rc = uv_async_init(loop, &hub->control_async, on_control_async);
  if (rc != 0)
    return rc;
  hub->control_async.data = hub;
  uv_mutex_lock(&hub->lock);
  hub->journal_cb = journal_cb;
  hub->page_cb = page_cb;
  hub->control_ctx = ctx;
  hub->attached = 1;
  uv_mutex_unlock(&hub->lock);
  return 0;
}

void pausehub_detach(pausehub_t *hub) {
  pausehub_record *records;
  pausehub_page *pages;
  if (!hub->attached)
    return;
  take_control_queues(hub, &records, &pages, 1);
  if (records != NULL)
    hub->journal_cb(hub->control_ctx, records); /* the last ones still reach the store */
  while (pages != NULL) {
    pausehub_page *next = pages->next;
    pages->status = 503;
    pausehub_page_answer(pages);
    pages = next;
  }
  uv_close((uv_handle_t *)&hub->control_async, NULL);
}

/* ---- link-page requests ---- */

pausehub_page *pausehub_page_new(pausehub_mailbox *box, void *owner, int method, const char *target,
                                 size_t target_len, const char *base_url) {
  pausehub_page *pg = calloc(1, sizeof *pg);
  if (pg == NULL)
    return NULL;
  pg->target = malloc(target_len + 1);
  pg->base_url = strdup(base_url);
  if (pg->target == NULL || pg->base_url == NULL) {
    pausehub_page_free(pg);
    return NULL;
  }
  memcpy(pg->target, target, target_len);
  pg->target[target_len] = '\0';
  pg->method = method;
  pg->owner = owner;
  pg->box = box;
  dynbuf_init(&pg->body, 64 * 1024);
  dynbuf_init(&pg->cookie, 4096);
  dynbuf_init(&pg->html, 256 * 1024);
  return pg;
}

void pausehub_page_free(pausehub_page *pg) {
  if (pg == NULL)
    return;
  free(pg->target);
  free(pg->base_url);
  free(pg->location);
  free(pg->form_origin);
  free(pg->set_cookie);
  dynbuf_free(&pg->body);
  dynbuf_free(&pg->cookie);
  if (pg->credential && pg->html.ptr != NULL)
    OPENSSL_cleanse(pg->html.ptr, pg->html.len); /* a credential answer holds a secret */
  dynbuf_free(&pg->html);
  free(pg);
}

int pausehub_page_submit(pausehub_page *pg) {
  pausehub_t *hub = pg->box->hub;
  int rc = 0;
  uv_mutex_lock(&hub->lock);
  if (!hub->attached) {
    rc = -ENOTCONN;
  } else {
    pg->next = NULL;
    if (hub->pages_tail != NULL)
      hub->pages_tail->next = pg;
    else
      hub->pages_head = pg;
    hub->pages_tail = pg;
    uv_async_send(&hub->control_async);
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
}

void pausehub_page_abandon(pausehub_page *pg) {
  uv_mutex_lock(&pg->box->hub->lock);
  pg->owner = NULL;
  uv_mutex_unlock(&pg->box->hub->lock);
}

void pausehub_page_answer(pausehub_page *pg) {
  pausehub_mailbox *box = pg->box;
  int closed;
  uv_mutex_lock(&box->hub->lock);
  closed = box->closed;
  if (!closed) {
    pg->next = box->pages;
    box->pages = pg;
    uv_async_send(&box->async);
  }
  uv_mutex_unlock(&box->hub->lock);
  if (closed)
    pausehub_page_free(pg);
}

/* Takes pw off the control API's list (hub->lock held). */
static void unregister(pausehub_t *hub, pausehub_waiter *pw) {
  if (!pw->registered)
    return;
  list_remove(&pw->reg_link);
  pw->registered = 0;
  hub->npaused--;
  memcpy(hub->ended[hub->ended_next].stream_id, pw->stream_id, sizeof pw->stream_id);
  hub->ended[hub->ended_next].pause_no = pw->pause_no;
  hub->ended_next = (hub->ended_next + 1) % PAUSEHUB_ENDED_MAX;
}

/* Unlinks pw from its mailbox queue (hub->lock held). */
static void unqueue(pausehub_waiter *pw) {
  list_remove(&pw->queue_link);
  pw->queued = 0;
}

/* Runs on the worker's loop: delivers the queued outcomes one at a time, so
 * that a done callback may cancel any other waiter safely. */
static void on_mailbox(uv_async_t *a) {
  pausehub_mailbox *box = a->data;
  for (;;) {
    pausehub_waiter *pw;
    pausehub_outcome outcome = PAUSEHUB_COMPLETED;
    unsigned pause_no = 0;
    uv_mutex_lock(&box->hub->lock);
    pw = list_empty(&box->queue) ? NULL : LIST_ENTRY(list_first(&box->queue), pausehub_waiter, queue_link);
    if (pw != NULL) {
      outcome = pw->outcome;
      pause_no = pw->outcome_pause;
      unqueue(pw);
      unregister(box->hub, pw);
    }
    uv_mutex_unlock(&box->hub->lock);
    if (pw == NULL)
      break;
    pw->done(pw, pause_no, outcome);
  }
  for (;;) {
    pausehub_page *pg;
    int abandoned;
    uv_mutex_lock(&box->hub->lock);
    pg = box->pages;
    if (pg != NULL)
      box->pages = pg->next;
    abandoned = pg != NULL && pg->owner == NULL;
    uv_mutex_unlock(&box->hub->lock);
    if (pg == NULL)
      break;
    if (abandoned || box->page_done == NULL)
      pausehub_page_free(pg);
    else
      box->page_done(pg);
  }
}

int pausehub_mailbox_init(pausehub_mailbox *box, pausehub_t *hub, uv_loop_t *loop) {
  memset(box, 0, sizeof *box);
  list_init(&box->queue);
  box->hub = hub;
  box->async.data = box;
  return uv_async_init(loop, &box->async, on_mailbox);
}

void pausehub_mailbox_close(pausehub_mailbox *box, uv_close_cb close_cb) {
  pausehub_page *pg;
  uv_mutex_lock(&box->hub->lock);
  box->closed = 1;
  pg = box->pages;
  box->pages = NULL;
  uv_mutex_unlock(&box->hub->lock);
  while (pg != NULL) {
    pausehub_page *next = pg->next;
    pausehub_page_free(pg);
    pg = next;
  }
  uv_close((uv_handle_t *)&box->async, close_cb);
}

/* Queues pw's outcome on its mailbox and wakes its loop (hub->lock held). */
static void enqueue(pausehub_waiter *pw, pausehub_outcome outcome) {
  pausehub_mailbox *box = pw->box;
  pw->outcome = outcome;
  pw->outcome_pause = pw->pause_no;
  pw->queued = 1;
  list_insert_tail(&box->queue, &pw->queue_link);
  uv_async_send(&box->async);
}

/* linksvc's callback, on whatever thread completed or expired the link, with
 * hub->lock held. */
static void on_link_done(void *ctx, linksvc_waiter *w, linksvc_outcome outcome) {
  (void)w;
  enqueue(ctx, outcome == LINKSVC_COMPLETED  ? PAUSEHUB_COMPLETED
               : outcome == LINKSVC_DECLINED ? PAUSEHUB_DECLINED
                                             : PAUSEHUB_EXPIRED);
}

int pausehub_wait(pausehub_mailbox *box, pausehub_waiter *pw, const pausehub_pause *p, uint64_t now_ms,
                  pausehub_done_cb done) {
  pausehub_t *hub = box->hub;
  int rc;
  pw->box = box;
  snprintf(pw->stream_id, sizeof pw->stream_id, "%s", p->stream_id);
  snprintf(pw->user, sizeof pw->user, "%s", p->user);
  pw->pause_no = p->pause_no;
  pw->since_ms = now_ms;
  pw->held_bytes = p->held_bytes;
  pw->registered = 0;
  pw->done = done;
  pw->queued = 0;
  list_node_init(&pw->queue_link);
  list_node_init(&pw->reg_link);
  uv_mutex_lock(&box->hub->lock);
  hub->mint_base = p->base_url; /* for on_journal, if a link is minted now */
  rc = linksvc_wait(&hub->links, &pw->w, p->user, p->connector, now_ms, on_link_done, pw);
  hub->mint_base = NULL;
  if (rc == 0) {
    pw->registered = 1;
    list_insert_head(&hub->registry, &pw->reg_link);
    hub->npaused++;
  }
  uv_mutex_unlock(&box->hub->lock);
  return rc;
}

void pausehub_cancel(pausehub_waiter *pw) {
  pausehub_t *hub = pw->box->hub;
  uv_mutex_lock(&hub->lock);
  if (pw->w.waiting)
    linksvc_cancel(&hub->links, &pw->w);
  if (pw->queued)
    unqueue(pw);
  unregister(hub, pw);
  uv_mutex_unlock(&hub->lock);
}

/* The paused stream id (hub->lock held), or NULL. */
static pausehub_waiter *find_paused(pausehub_t *hub, const char *id, size_t id_len) {
  list_node *n;
  LIST_FOREACH(n, &hub->registry) {
    pausehub_waiter *pw = LIST_ENTRY(n, pausehub_waiter, reg_link);
    if (strlen(pw->stream_id) == id_len && memcmp(pw->stream_id, id, id_len) == 0)
      return pw;
  }
  return NULL;
}

/* The number of stream id's most recently ended pause, from the ring
 * (hub->lock held), or 0. */
static unsigned last_ended(const pausehub_t *hub, const char *id, size_t id_len) {
  size_t i;
  for (i = 1; i <= PAUSEHUB_ENDED_MAX; i++) {
    const struct pausehub_ended *e = &hub->ended[(hub->ended_next + PAUSEHUB_ENDED_MAX - i) % PAUSEHUB_ENDED_MAX];
    if (e->pause_no != 0 && strlen(e->stream_id) == id_len && memcmp(e->stream_id, id, id_len) == 0)
      return e->pause_no;
  }
  return 0;
}

int pausehub_command(pausehub_t *hub, const char *id, size_t id_len, unsigned pause_no, pausehub_outcome command,
                     unsigned *current) {
  pausehub_waiter *pw;
  unsigned now = 0;
  int rc = 0;
  uv_mutex_lock(&hub->lock);
  pw = find_paused(hub, id, id_len);
  if (pw == NULL) {
    /* Not paused now: a named pause that ended is a conflict, not unknown. */
    now = last_ended(hub, id, id_len);
    if (now == 0 || pause_no == 0)
      rc = -ENOENT;
    else
      rc = pause_no <= now ? -ESTALE : -ESRCH;
  } else {
    now = pw->pause_no;
    if (pause_no != 0 && pause_no < now)
      rc = -ESTALE; /* meant for a pause that ended: never for this one */
    else if (pause_no > now)
      rc = -ESRCH;
    else if (!pw->w.waiting)
      rc = -EALREADY; /* completed or expired, not delivered yet */
    else {
      linksvc_cancel(&hub->links, &pw->w);
      enqueue(pw, command);
    }
  }
  uv_mutex_unlock(&hub->lock);
  if (current != NULL)
    *current = now;
  return rc;
}

/* Sticky appends (jsonw.h): returns 0 or the buffer's first error. */
static int render_one(dynbuf *out, const pausehub_waiter *pw) {
  (void)jsonw_raw(out, "{\"stream_id\":");
  (void)jsonw_cstring(out, pw->stream_id);
  (void)jsonw_raw(out, ",\"registered_user\":");
  (void)jsonw_cstring(out, pw->user);
  (void)jsonw_raw(out, ",\"connector\":");
  (void)jsonw_cstring(out, pw->w.link.connector);
  (void)jsonw_raw(out, ",\"pause\":");
  (void)jsonw_u64(out, pw->pause_no);
  (void)jsonw_raw(out, ",\"state\":");
  (void)jsonw_cstring(out, pw->w.waiting ? "paused" : "resuming");
  (void)jsonw_raw(out, ",\"paused_since_ms\":");
  (void)jsonw_u64(out, pw->since_ms);
  (void)jsonw_raw(out, ",\"held_bytes\":");
  (void)jsonw_u64(out, pw->held_bytes);
  (void)jsonw_raw(out, ",\"link_expires_at\":");
  (void)jsonw_cstring(out, pw->w.link.expires_at);
  return jsonw_raw(out, "}");
}

int pausehub_render(pausehub_t *hub, dynbuf *out, const char *id, size_t id_len) {
  int rc = 0;
  uv_mutex_lock(&hub->lock);
  if (id != NULL) {
    pausehub_waiter *pw = find_paused(hub, id, id_len);
    rc = pw != NULL ? render_one(out, pw) : -ENOENT;
  } else {
    const list_node *n;
    (void)jsonw_raw(out, "{\"streams\":[");
    for (n = hub->registry.next; dynbuf_error(out) == 0 && n != &hub->registry; n = n->next) {
      if (n != hub->registry.next)
        (void)jsonw_raw(out, ",");
      (void)render_one(out, LIST_ENTRY(n, pausehub_waiter, reg_link));
    }
    rc = jsonw_raw(out, "]}");
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_complete(pausehub_t *hub, const char *token, size_t token_len, uint64_t now_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_complete(&hub->links, token, token_len, now_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_complete_as(pausehub_t *hub, const char *token, size_t token_len, const char *connector,
                         uint64_t now_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_complete_as(&hub->links, token, token_len, connector, now_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_decline(pausehub_t *hub, const char *token, size_t token_len, uint64_t now_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_decline(&hub->links, token, token_len, now_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_mint(pausehub_t *hub, const char *user, const char *connector, unsigned ttl_s,
                  const char *callback_url, const char *state, uint64_t now_ms, linksvc_link_info *info) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_mint(&hub->links, user, connector, ttl_s, callback_url, state, now_ms, info);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_restore(pausehub_t *hub, const char *token, const char *user, const char *connector,
                     const char *callback_url, const char *state, linksvc_state status, int pinned,
                     uint64_t created_ms, uint64_t expires_ms, uint64_t ended_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_restore(&hub->links, token, user, connector, callback_url, state, status, pinned,
                       created_ms, expires_ms, ended_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_lookup(pausehub_t *hub, const char *token, size_t token_len, pausehub_link_view *view) {
  const linksvc_link *l;
  int rc = -ENOENT;
  uv_mutex_lock(&hub->lock);
  l = linksvc_find(&hub->links, token, token_len);
  if (l != NULL) {
    memset(view, 0, sizeof *view);
    memcpy(view->info.token, l->token, sizeof view->info.token);
    memcpy(view->info.path, l->path, sizeof view->info.path);
    memcpy(view->info.connector, l->connector, sizeof view->info.connector);
    memcpy(view->info.expires_at, l->expires_at, sizeof view->info.expires_at);
    view->info.created_ms = l->created_ms;
    view->info.expires_ms = l->expires_ms;
    view->state = l->state;
    snprintf(view->user, sizeof view->user, "%s", l->user);
    snprintf(view->callback_url, sizeof view->callback_url, "%s", l->callback_url);
    snprintf(view->state_param, sizeof view->state_param, "%s", l->state_param);
    rc = 0;
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_expire_link(pausehub_t *hub, const char *token, uint64_t now_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_expire_link(&hub->links, token, strlen(token), now_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

void pausehub_keep_links(pausehub_t *hub) {
  uv_mutex_lock(&hub->lock);
  linksvc_keep_pending(&hub->links);
  uv_mutex_unlock(&hub->lock);
}

void pausehub_expire(pausehub_t *hub, uint64_t now_ms) {
  uv_mutex_lock(&hub->lock);
  linksvc_expire(&hub->links, now_ms);
  uv_mutex_unlock(&hub->lock);
}
