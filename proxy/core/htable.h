/* htable: an intrusive hash table: chained, power-of-two buckets, doubling
 * as it fills (up to HTABLE_BUCKETS_MAX; past it the chains grow), with the
 * hash functions its users seed. The caller embeds an htable_node in each
 * element and keeps the table; the table owns only its bucket array.
 * Used by link/linksvc (links by token, pending links by pair).
 *
 * Lookup is the caller's loop over the chain of its hash:
 *     for (n = htable_first(t, h); n != NULL; n = n->next)
 *       if (n->hash == h && <element of n matches>) ...
 */
#ifndef AUTHRELAY_HTABLE_H
#define AUTHRELAY_HTABLE_H

#include <stddef.h>
#include <stdint.h>

#define HTABLE_BUCKETS_MIN 16
#define HTABLE_BUCKETS_MAX ((size_t)1 << 22)

typedef struct htable_node {
  struct htable_node *next; /* next in its bucket's chain */
  uint64_t hash;            /* set by htable_insert() */
} htable_node;

typedef struct htable {
  htable_node **buckets;
  size_t nbuckets; /* power of two, or 0 before the first insert */
  size_t count;
} htable;

/* An empty table: {0} does as well. */
void htable_init(htable *t);

/* Frees the bucket array (not the elements). The table is empty after. */
void htable_free(htable *t);

/* The first node of the chain hash falls in, or NULL. */
htable_node *htable_first(const htable *t, uint64_t hash);

/* Adds n (not owned; on no table) under hash. Returns 0 or -ENOMEM (the
 * first bucket array; a failed doubling only lengthens the chains). */
int htable_insert(htable *t, htable_node *n, uint64_t hash);

/* Takes n off t; a node not on t is left as it is. */
void htable_remove(htable *t, htable_node *n);

/* FNV-1a over p[0, n), continued from h (start from a seed). */
uint64_t htable_fnv(uint64_t h, const void *p, size_t n);

/* A final mix of an FNV value, so that the low bits (the bucket) depend on
 * every input byte. */
uint64_t htable_mix(uint64_t h);

#endif
