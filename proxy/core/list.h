/* list: an intrusive, circular doubly linked list, the one way a module
 * keeps a set of its objects it must unlink in O(1) (open requests,
 * sockets, feeds, waiters, streams). As nginx's ngx_queue_t and libuv's
 * queue: the object embeds a list_node, the owner keeps a list_node as the
 * head (a sentinel), and LIST_ENTRY turns a node back into its object.
 *
 *   typedef struct conn { ...; list_node link; } conn;   // a member
 *   list_node conns;                                     // the owner's head
 *   list_init(&conns);
 *   list_insert_head(&conns, &c->link);
 *   LIST_FOREACH_SAFE(n, next, &conns) { conn *c = LIST_ENTRY(n, conn, link); ... }
 *   list_remove(&c->link);                               // O(1), idempotent
 *
 * Nothing is allocated: the list links objects its owner allocates and
 * frees, and never owns them. An object must be removed before it is
 * freed. A node that list_node_init (or list_remove) left alone points at
 * itself, so list_linked tells whether it is on a list and removing it again
 * does nothing.
 */
#ifndef AUTHRELAY_LIST_H
#define AUTHRELAY_LIST_H

#include <stddef.h>

typedef struct list_node {
  struct list_node *prev; /* the head's prev: the last node */
  struct list_node *next; /* the head's next: the first node */
} list_node;

/* The object of type holding node ptr in member. */
#define LIST_ENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Every node of head, first to last; n must not be removed inside. */
#define LIST_FOREACH(n, head) for ((n) = (head)->next; (n) != (head); (n) = (n)->next)

/* The same, where the body may remove n (next holds its successor). */
#define LIST_FOREACH_SAFE(n, next_, head)                                              \
  for ((n) = (head)->next, (next_) = (n)->next; (n) != (head); (n) = (next_), (next_) = (n)->next)

/* An empty list, or a node on no list. */
static inline void list_init(list_node *head) {
  head->prev = head;
  head->next = head;
}

static inline void list_node_init(list_node *n) {
  list_init(n);
}

static inline int list_empty(const list_node *head) {
  return head->next == head;
}

/* 1 when n (initialised) is on a list. */
static inline int list_linked(const list_node *n) {
  return n->next != n;
}

/* The first or last node, or NULL when the list is empty. */
static inline list_node *list_first(const list_node *head) {
  return head->next != head ? head->next : NULL;
}

static inline list_node *list_last(const list_node *head) {
  return head->prev != head ? head->prev : NULL;
}

static inline void list_insert_head(list_node *head, list_node *n) {
  n->next = head->next;
  n->prev = head;
  head->next->prev = n;
  head->next = n;
}

static inline void list_insert_tail(list_node *head, list_node *n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

/* Moves every node of from, in order, onto to (whose nodes are
 * forgotten: it must be empty or uninitialised); from is left empty. */
static inline void list_move_all(list_node *to, list_node *from) {
  if (from->next == from) {
    list_init(to);
    return;
  }
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  list_init(from);
}

/* Takes n off its list; a node on no list is left as it is. */
static inline void list_remove(list_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  list_node_init(n);
}

#endif
