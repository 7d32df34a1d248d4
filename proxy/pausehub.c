/* pausehub: shared link state and per-worker delivery. See pausehub.h. */
#include "pausehub.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"

int pausehub_init(pausehub_t *hub, const linksvc_options *opt) {
  int rc;
  memset(hub, 0, sizeof *hub);
  rc = uv_mutex_init(&hub->lock);
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

/* Takes pw off the control API's list (hub->lock held). */
static void unregister(pausehub_t *hub, pausehub_waiter *pw) {
  if (!pw->registered)
    return;
  if (pw->reg_prev != NULL)
    pw->reg_prev->reg_next = pw->reg_next;
  else
    hub->registry = pw->reg_next;
  if (pw->reg_next != NULL)
    pw->reg_next->reg_prev = pw->reg_prev;
  pw->registered = 0;
  hub->npaused--;
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
    pausehub_outcome outcome = PAUSEHUB_COMPLETED;
    uv_mutex_lock(&box->hub->lock);
    pw = box->head;
    if (pw != NULL) {
      outcome = pw->outcome;
      unqueue(pw);
      unregister(box->hub, pw);
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

/* Queues pw's outcome on its mailbox and wakes its loop (hub->lock held). */
static void enqueue(pausehub_waiter *pw, pausehub_outcome outcome) {
  pausehub_mailbox *box = pw->box;
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

/* linksvc's callback, on whatever thread completed or expired the link, with
 * hub->lock held. */
static void on_link_done(void *ctx, linksvc_waiter *w, linksvc_outcome outcome) {
  (void)w;
  enqueue(ctx, outcome == LINKSVC_COMPLETED ? PAUSEHUB_COMPLETED : PAUSEHUB_EXPIRED);
}

int pausehub_wait(pausehub_mailbox *box, pausehub_waiter *pw, const char *stream_id,
                  const char *user, const char *connector, uint64_t held_bytes, uint64_t now_ms,
                  pausehub_done_cb done) {
  pausehub_t *hub = box->hub;
  int rc;
  pw->box = box;
  snprintf(pw->stream_id, sizeof pw->stream_id, "%s", stream_id);
  snprintf(pw->user, sizeof pw->user, "%s", user);
  pw->since_ms = now_ms;
  pw->held_bytes = held_bytes;
  pw->registered = 0;
  pw->done = done;
  pw->queued = 0;
  pw->next = NULL;
  pw->prev = NULL;
  uv_mutex_lock(&box->hub->lock);
  rc = linksvc_wait(&hub->links, &pw->w, user, connector, now_ms, on_link_done, pw);
  if (rc == 0) {
    pw->registered = 1;
    pw->reg_prev = NULL;
    pw->reg_next = hub->registry;
    if (hub->registry != NULL)
      hub->registry->reg_prev = pw;
    hub->registry = pw;
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
  pausehub_waiter *pw;
  for (pw = hub->registry; pw != NULL; pw = pw->reg_next) {
    if (strlen(pw->stream_id) == id_len && memcmp(pw->stream_id, id, id_len) == 0)
      return pw;
  }
  return NULL;
}

int pausehub_command(pausehub_t *hub, const char *id, size_t id_len, pausehub_outcome command) {
  pausehub_waiter *pw;
  int rc = 0;
  uv_mutex_lock(&hub->lock);
  pw = find_paused(hub, id, id_len);
  if (pw == NULL) {
    rc = -ENOENT;
  } else if (!pw->w.waiting) {
    rc = -EALREADY; /* completed or expired, not delivered yet */
  } else {
    linksvc_cancel(&hub->links, &pw->w);
    enqueue(pw, command);
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
}

static int render_one(dynbuf *out, const pausehub_waiter *pw) {
  int rc = 0;
  rc |= jsonw_raw(out, "{\"stream_id\":");
  rc |= jsonw_cstring(out, pw->stream_id);
  rc |= jsonw_raw(out, ",\"registered_user\":");
  rc |= jsonw_cstring(out, pw->user);
  rc |= jsonw_raw(out, ",\"connector\":");
  rc |= jsonw_cstring(out, pw->w.link.connector);
  rc |= jsonw_raw(out, ",\"state\":");
  rc |= jsonw_cstring(out, pw->w.waiting ? "paused" : "resuming");
  rc |= jsonw_raw(out, ",\"paused_since_ms\":");
  rc |= jsonw_u64(out, pw->since_ms);
  rc |= jsonw_raw(out, ",\"held_bytes\":");
  rc |= jsonw_u64(out, pw->held_bytes);
  rc |= jsonw_raw(out, ",\"link_expires_at\":");
  rc |= jsonw_cstring(out, pw->w.link.expires_at);
  rc |= jsonw_raw(out, "}");
  return rc == 0 ? 0 : -E2BIG;
}

int pausehub_render(pausehub_t *hub, dynbuf *out, const char *id, size_t id_len) {
  int rc = 0;
  uv_mutex_lock(&hub->lock);
  if (id != NULL) {
    pausehub_waiter *pw = find_paused(hub, id, id_len);
    rc = pw != NULL ? render_one(out, pw) : -ENOENT;
  } else {
    const pausehub_waiter *pw;
    rc |= jsonw_raw(out, "{\"streams\":[");
    for (pw = hub->registry; rc == 0 && pw != NULL; pw = pw->reg_next) {
      if (pw != hub->registry)
        rc |= jsonw_raw(out, ",");
      rc |= render_one(out, pw);
    }
    rc |= jsonw_raw(out, "]}");
    rc = rc == 0 ? 0 : -E2BIG;
  }
  uv_mutex_unlock(&hub->lock);
  return rc;
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
