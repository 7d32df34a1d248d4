/* pausehub: shared link state and per-worker delivery. See pausehub.h. */
#include "pausehub.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int pausehub_init(pausehub_t *hub, const linksvc_options *opt) {
  int rc = uv_mutex_init(&hub->lock);
  if (rc != 0)
    return rc;
  rc = linksvc_init(&hub->links, opt);
  if (rc != 0)
    uv_mutex_destroy(&hub->lock);
  return rc;
}

void pausehub_close(pausehub_t *hub) {
  linksvc_close(&hub->links);
  uv_mutex_destroy(&hub->lock);
}

/* Unlinks pw from its mailbox queue (hub->lock held). */
static void unqueue(pausehub_waiter *pw) {
  pausehub_mailbox *box = pw->box;
  if (pw->prev != NULL)
    pw->prev->next = pw->next;
  else
    box->head = pw->next;
  if (pw->next != NULL)
    pw->next->prev = pw->prev;
  else
    box->tail = pw->prev;
  pw->next = NULL;
  pw->prev = NULL;
  pw->queued = 0;
}

/* Runs on the worker's loop: delivers the queued outcomes one at a time, so
 * that a done callback may cancel any other waiter safely. */
static void on_mailbox(uv_async_t *a) {
  pausehub_mailbox *box = a->data;
  for (;;) {
    pausehub_waiter *pw;
    linksvc_outcome outcome;
    uv_mutex_lock(&box->hub->lock);
    pw = box->head;
    if (pw != NULL) {
      outcome = pw->outcome;
      unqueue(pw);
    }
    uv_mutex_unlock(&box->hub->lock);
    if (pw == NULL)
      break;
    pw->done(pw, outcome);
  }
}

int pausehub_mailbox_init(pausehub_mailbox *box, pausehub_t *hub, uv_loop_t *loop) {
  memset(box, 0, sizeof *box);
  box->hub = hub;
  box->async.data = box;
  return uv_async_init(loop, &box->async, on_mailbox);
}

void pausehub_mailbox_close(pausehub_mailbox *box, uv_close_cb close_cb) {
  uv_close((uv_handle_t *)&box->async, close_cb);
}

/* linksvc's callback, on whatever thread completed or expired the link, with
 * hub->lock held: queue and wake. */
static void on_link_done(void *ctx, linksvc_waiter *w, linksvc_outcome outcome) {
  pausehub_waiter *pw = ctx;
  pausehub_mailbox *box = pw->box;
  (void)w;
  pw->outcome = outcome;
  pw->queued = 1;
  pw->next = NULL;
  pw->prev = box->tail;
  if (box->tail != NULL)
    box->tail->next = pw;
  else
    box->head = pw;
  box->tail = pw;
  uv_async_send(&box->async);
}

int pausehub_wait(pausehub_mailbox *box, pausehub_waiter *pw, const char *user,
                  const char *connector, uint64_t now_ms, pausehub_done_cb done) {
  int rc;
  pw->box = box;
  pw->done = done;
  pw->queued = 0;
  pw->next = NULL;
  pw->prev = NULL;
  uv_mutex_lock(&box->hub->lock);
  rc = linksvc_wait(&box->hub->links, &pw->w, user, connector, now_ms, on_link_done, pw);
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
  uv_mutex_unlock(&hub->lock);
}

int pausehub_complete(pausehub_t *hub, const char *token, size_t token_len,
                      const char *credential, size_t cred_len, uint64_t now_ms) {
  int rc;
  uv_mutex_lock(&hub->lock);
  rc = linksvc_complete(&hub->links, token, token_len, credential, cred_len, now_ms);
  uv_mutex_unlock(&hub->lock);
  return rc;
}

int pausehub_lookup(pausehub_t *hub, const char *token, size_t token_len,
                    linksvc_link_info *info, linksvc_state *state) {
  const linksvc_link *l;
  int rc = -ENOENT;
  uv_mutex_lock(&hub->lock);
  l = linksvc_find(&hub->links, token, token_len);
  if (l != NULL) {
    memset(info, 0, sizeof *info);
    memcpy(info->token, l->token, sizeof info->token);
    memcpy(info->path, l->path, sizeof info->path);
    memcpy(info->connector, l->connector, sizeof info->connector);
    memcpy(info->expires_at, l->expires_at, sizeof info->expires_at);
    info->created_ms = l->created_ms;
    info->expires_ms = l->expires_ms;
    *state = l->state;
    rc = 0;
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
}

void pausehub_expire(pausehub_t *hub, uint64_t now_ms) {
  uv_mutex_lock(&hub->lock);
  linksvc_expire(&hub->links, now_ms);
  uv_mutex_unlock(&hub->lock);
}

uint64_t pausehub_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
