/* test_htable: proxy/core/htable.c.
 *
 * Covers: an empty table finds nothing; insert/lookup/remove of many nodes
 * across doublings (every node found in its chain, counts right, the
 * bucket count a power of two that grew); removal of a node not in the
 * table, and from an empty table, changes nothing; colliding hashes share
 * a chain and each is removed alone; FNV-1a's published test vectors and
 * that the mix spreads them; htable_free leaves an empty, reusable table.
 */
#include <string.h>

#include "htable.h"
#include "unit.h"

#define N 1000

typedef struct item {
  htable_node node;
  int key;
} item;

static uint64_t hash_of(int key) {
  return htable_mix(htable_fnv(0xcbf29ce484222325ull, &key, sizeof key));
}

static item *find(const htable *t, int key) {
  uint64_t h = hash_of(key);
  htable_node *n;
  for (n = htable_first(t, h); n != NULL; n = n->next) {
    item *it = (item *)(void *)((char *)n - offsetof(item, node));
    if (n->hash == h && it->key == key)
      return it;
  }
  return NULL;
}

static void many(void) {
  static item items[N];
  htable t;
  int i;
  htable_init(&t);
  CHECK(htable_first(&t, 42) == NULL && find(&t, 1) == NULL);
  htable_remove(&t, &items[0].node); /* from an empty table: nothing */
  CHECK(t.count == 0);
  for (i = 0; i < N; i++) {
    items[i].key = i;
    CHECK(htable_insert(&t, &items[i].node, hash_of(i)) == 0);
  }
  CHECK_EQ_U64(t.count, N);
  CHECK(t.nbuckets >= N && (t.nbuckets & (t.nbuckets - 1)) == 0);
  for (i = 0; i < N; i++)
    CHECK(find(&t, i) == &items[i]);
  CHECK(find(&t, N) == NULL);
  for (i = 0; i < N; i += 2)
    htable_remove(&t, &items[i].node);
  CHECK_EQ_U64(t.count, N / 2);
  htable_remove(&t, &items[0].node); /* no longer on it: nothing */
  CHECK_EQ_U64(t.count, N / 2);
  for (i = 0; i < N; i++)
    CHECK((find(&t, i) != NULL) == (i % 2 == 1));
  htable_free(&t);
  CHECK(t.count == 0 && t.nbuckets == 0 && htable_first(&t, hash_of(1)) == NULL);
  CHECK(htable_insert(&t, &items[1].node, hash_of(1)) == 0 && find(&t, 1) == &items[1]);
  htable_free(&t);
}

static void collisions(void) {
  item a = {.key = 1}, b = {.key = 2}, c = {.key = 3};
  htable t = {0};
  CHECK(htable_insert(&t, &a.node, 7) == 0);
  CHECK(htable_insert(&t, &b.node, 7) == 0);
  CHECK(htable_insert(&t, &c.node, 7 + HTABLE_BUCKETS_MIN) == 0); /* same bucket, other hash */
  CHECK(htable_first(&t, 7) == &c.node && c.node.next == &b.node && b.node.next == &a.node);
  htable_remove(&t, &b.node);
  CHECK(htable_first(&t, 7) == &c.node && c.node.next == &a.node && a.node.next == NULL);
  CHECK_EQ_U64(t.count, 2);
  htable_free(&t);
}

static void hashing(void) {
  /* FNV-1a 64 vectors (Fowler/Noll/Vo): "" and "a" and "foobar" */
  CHECK_EQ_U64(htable_fnv(0xcbf29ce484222325ull, "", 0), 0xcbf29ce484222325ull);
  CHECK_EQ_U64(htable_fnv(0xcbf29ce484222325ull, "a", 1), 0xaf63dc4c8601ec8cull);
  CHECK_EQ_U64(htable_fnv(0xcbf29ce484222325ull, "foobar", 6), 0x85944171f73967e8ull);
  /* continued hashing is hashing the concatenation */
  CHECK_EQ_U64(htable_fnv(htable_fnv(0xcbf29ce484222325ull, "foo", 3), "bar", 3),
               htable_fnv(0xcbf29ce484222325ull, "foobar", 6));
  /* the mix: consecutive inputs land in different low bits */
  CHECK((htable_mix(1) & 0xffff) != (htable_mix(2) & 0xffff));
  CHECK(htable_mix(0) == 0);
}

int main(void) {
  RUN(many);
  RUN(collisions);
  RUN(hashing);
  return unit_report();
}
