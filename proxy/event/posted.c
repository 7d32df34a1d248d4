/* posted: work run after a loop iteration's I/O callbacks. See posted.h. */
#include "posted.h"

#include <stddef.h>

static int ring_empty(const posted_entry *head) {
  return head->next == head;
}

/* After the poll: runs what was posted before this pass. The pass takes the
 * whole ring first; each entry leaves it before its handler runs. */
static void on_check(uv_check_t *check) {
  posted_queue *q = check->data;
  posted_entry pass;
  if (!ring_empty(&q->head)) {
    pass.next = q->head.next;
    pass.prev = q->head.prev;
    pass.next->prev = &pass;
    pass.prev->next = &pass;
    q->head.prev = q->head.next = &q->head;
    while (!ring_empty(&pass)) {
      posted_entry *e = pass.next;
      posted_remove(e);
      e->handler(e);
    }
  }
  if (ring_empty(&q->head)) {
    (void)uv_check_stop(check); /* always 0 */
    (void)uv_idle_stop(&q->idle); /* always 0 */
  }
}

/* Nothing to do: an active idle handle only makes the poll return at once. */
static void on_idle(uv_idle_t *idle) {
  (void)idle;
}

int posted_init(posted_queue *q, uv_loop_t *loop) {
  int rc = uv_check_init(loop, &q->check);
  if (rc != 0)
    return rc;
  rc = uv_idle_init(loop, &q->idle);
  if (rc != 0) {
    uv_close((uv_handle_t *)&q->check, NULL);
    return rc;
  }
  q->check.data = q;
  q->head.handler = NULL;
  q->head.prev = q->head.next = &q->head;
  return 0;
}

int posted_add(posted_queue *q, posted_entry *e) {
  int rc;
  if (e->next != NULL)
    return 0;
  e->next = &q->head;
  e->prev = q->head.prev;
  q->head.prev->next = e;
  q->head.prev = e;
  if (uv_is_active((uv_handle_t *)&q->check))
    return 0;
  rc = uv_idle_start(&q->idle, on_idle);
  if (rc == 0)
    rc = uv_check_start(&q->check, on_check);
  return rc;
}

void posted_remove(posted_entry *e) {
  if (e->next == NULL)
    return;
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->prev = e->next = NULL;
}

int posted_is_posted(const posted_entry *e) {
  return e->next != NULL;
}

void posted_close(posted_queue *q) {
  while (!ring_empty(&q->head))
    posted_remove(q->head.next);
  uv_close((uv_handle_t *)&q->check, NULL);
  uv_close((uv_handle_t *)&q->idle, NULL);
}
