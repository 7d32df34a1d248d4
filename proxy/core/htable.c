/* htable: an intrusive chained hash table. See htable.h. */
#include "htable.h"

#include <errno.h>
#include <stdlib.h>

void htable_init(htable *t) {
  t->buckets = NULL;
  t->nbuckets = 0;
  t->count = 0;
}

void htable_free(htable *t) {
  free(t->buckets);
  htable_init(t);
}

htable_node *htable_first(const htable *t, uint64_t hash) {
  if (t->nbuckets == 0)
    return NULL;
  return t->buckets[hash & (t->nbuckets - 1)];
}

/* Doubles the bucket array; on allocation failure the chains just grow. */
static void htable_grow(htable *t) {
  size_t nb = t->nbuckets * 2;
  htable_node **b = calloc(nb, sizeof *b);
  size_t i;
  if (b == NULL)
    return;
  for (i = 0; i < t->nbuckets; i++) {
    htable_node *n = t->buckets[i];
    while (n != NULL) {
      htable_node *next = n->next;
      size_t j = n->hash & (nb - 1);
      n->next = b[j];
      b[j] = n;
      n = next;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = nb;
}

int htable_insert(htable *t, htable_node *n, uint64_t hash) {
  size_t j;
  if (t->nbuckets == 0) {
    t->buckets = calloc(HTABLE_BUCKETS_MIN, sizeof *t->buckets);
    if (t->buckets == NULL)
      return -ENOMEM;
    t->nbuckets = HTABLE_BUCKETS_MIN;
  } else if (t->count >= t->nbuckets && t->nbuckets < HTABLE_BUCKETS_MAX) {
    htable_grow(t);
  }
  n->hash = hash;
  j = hash & (t->nbuckets - 1);
  n->next = t->buckets[j];
  t->buckets[j] = n;
  t->count++;
  return 0;
}

void htable_remove(htable *t, htable_node *n) {
  htable_node **pp;
  if (t->nbuckets == 0)
    return;
  pp = &t->buckets[n->hash & (t->nbuckets - 1)];
  while (*pp != NULL && *pp != n)
    pp = &(*pp)->next;
  if (*pp == n) {
    *pp = n->next;
    t->count--;
  }
  n->next = NULL;
}

uint64_t htable_fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t htable_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
