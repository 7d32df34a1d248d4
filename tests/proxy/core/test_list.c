/* test_list: proxy/core/list.h, the intrusive doubly linked list.
 *
 * Covers: an empty list; insertion at head and tail keeps order both ways;
 * removal from the front, middle and back relinks the neighbours; a
 * removed node is on no list and removing it again changes nothing;
 * LIST_FOREACH_SAFE survives removing the current node; list_move_all
 * moves every node in order and leaves the source empty (and an empty
 * source gives an empty target); LIST_ENTRY finds the object.
 */
#include <stddef.h>
#include <string.h>

#include "list.h"
#include "unit.h"

typedef struct item {
  int value;
  list_node link;
} item;

/* The values of head, front to back, as decimal digits into out. */
static void values(const list_node *head, char *out) {
  const list_node *n;
  size_t k = 0;
  for (n = head->next; n != head; n = n->next)
    out[k++] = (char)('0' + LIST_ENTRY(n, item, link)->value);
  out[k] = '\0';
}

/* The same, back to front: checks the prev links. */
static void values_back(const list_node *head, char *out) {
  const list_node *n;
  size_t k = 0;
  for (n = head->prev; n != head; n = n->prev)
    out[k++] = (char)('0' + LIST_ENTRY(n, item, link)->value);
  out[k] = '\0';
}

static void insert_and_remove(void) {
  list_node head;
  item it[5];
  char buf[16];
  int i;
  list_init(&head);
  CHECK(list_empty(&head));
  CHECK(list_first(&head) == NULL && list_last(&head) == NULL);
  for (i = 0; i < 5; i++) {
    it[i].value = i;
    list_node_init(&it[i].link);
    CHECK(!list_linked(&it[i].link));
  }
  list_insert_tail(&head, &it[2].link);
  list_insert_head(&head, &it[1].link);
  list_insert_tail(&head, &it[3].link);
  list_insert_head(&head, &it[0].link);
  list_insert_tail(&head, &it[4].link);
  values(&head, buf);
  CHECK(strcmp(buf, "01234") == 0);
  values_back(&head, buf);
  CHECK(strcmp(buf, "43210") == 0);
  CHECK(LIST_ENTRY(list_first(&head), item, link) == &it[0]);
  CHECK(LIST_ENTRY(list_last(&head), item, link) == &it[4]);
  list_remove(&it[2].link); /* middle */
  list_remove(&it[0].link); /* front */
  list_remove(&it[4].link); /* back */
  values(&head, buf);
  CHECK(strcmp(buf, "13") == 0);
  values_back(&head, buf);
  CHECK(strcmp(buf, "31") == 0);
  CHECK(!list_linked(&it[2].link) && list_linked(&it[1].link));
  list_remove(&it[2].link); /* again: nothing changes */
  values(&head, buf);
  CHECK(strcmp(buf, "13") == 0);
  list_remove(&it[1].link);
  list_remove(&it[3].link);
  CHECK(list_empty(&head));
}

static void foreach_safe_removes(void) {
  list_node head;
  list_node *n;
  list_node *next;
  item it[4];
  char buf[16];
  int i;
  int seen = 0;
  list_init(&head);
  for (i = 0; i < 4; i++) {
    it[i].value = i;
    list_insert_tail(&head, &it[i].link);
  }
  LIST_FOREACH_SAFE(n, next, &head) {
    item *x = LIST_ENTRY(n, item, link);
    seen++;
    if (x->value % 2 == 0)
      list_remove(n);
  }
  CHECK(seen == 4);
  values(&head, buf);
  CHECK(strcmp(buf, "13") == 0);
  seen = 0;
  LIST_FOREACH(n, &head)
    seen++;
  CHECK(seen == 2);
}

static void move_all(void) {
  list_node from;
  list_node to;
  item it[3];
  char buf[16];
  int i;
  list_init(&from);
  for (i = 0; i < 3; i++) {
    it[i].value = i;
    list_insert_tail(&from, &it[i].link);
  }
  list_move_all(&to, &from);
  CHECK(list_empty(&from));
  values(&to, buf);
  CHECK(strcmp(buf, "012") == 0);
  values_back(&to, buf);
  CHECK(strcmp(buf, "210") == 0);
  list_remove(&it[1].link); /* nodes moved are unlinked from their new list */
  values(&to, buf);
  CHECK(strcmp(buf, "02") == 0);
  list_move_all(&from, &to);
  CHECK(list_empty(&to));
  values(&from, buf);
  CHECK(strcmp(buf, "02") == 0);
  {
    list_node empty;
    list_init(&empty);
    list_move_all(&to, &empty); /* an empty source: an empty target */
    CHECK(list_empty(&to) && list_empty(&empty));
  }
}

int main(void) {
  RUN(insert_and_remove);
  RUN(foreach_safe_removes);
  RUN(move_all);
  return unit_report();
}
