/* test_linklookup: linkhost_lookup (proxy/link/linkhost.c), what the link
 * page knows of a token, once the hub keeps only its latest ended links
 * (linksvc.h: ended_max) and the store has the rest.
 *
 * Covers: a link the hub has forgotten is answered from its stored row in
 * its ended state (the page says 410, not 404 "unknown"); a row still
 * pending in the store alone is never shown usable (expired or revoked)
 * and never completes; links the hub knows come from the hub; unknown and
 * malformed tokens are -ENOENT. The store is a real one (store.h on
 * SQLite) in a mkdtemp() directory, driven by a libuv loop; rows are put
 * the way the journal writes them. The hub answers at once, the store
 * later: a row's answer never comes before linkhost_lookup returned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkhost.h"
#include "linkpage.h"
#include "unit.h"
#include "timefmt.h"

static char dir[] = "/tmp/test_linklookup_XXXXXX";

static uv_loop_t loop;

static void on_put(void *data, int status) {
  *(int *)data = status;
}

/* Puts token's row as the journal writes it. */
static int put_row(store_t *st, const char *token, linksvc_state status, uint64_t expires_ms, uint64_t ended_ms) {
  store_link l;
  int result = 1;
  memset(&l, 0, sizeof l);
  snprintf(l.token, sizeof l.token, "%s", token);
  snprintf(l.user, sizeof l.user, "u1");
  snprintf(l.connector, sizeof l.connector, "slack");
  l.status = (int)status;
  l.created_ms = expires_ms - 600000;
  l.expires_ms = expires_ms;
  l.ended_ms = ended_ms;
  if (st->ops->link_put(st, &l, 1, on_put, &result) != 0)
    return -1;
  uv_run(&loop, UV_RUN_DEFAULT);
  return result;
}

/* What a lookup answered. */
typedef struct answer {
  int calls;
  int status;
  pausehub_link_view *v;
} answer;

static void on_lookup(linkhost_t *lh, void *data, int status, const pausehub_link_view *v) {
  answer *a = data;
  (void)lh;
  a->calls++;
  a->status = status;
  if (v != NULL)
    *a->v = *v;
}

static int lookup_len(linkhost_t *lh, const char *token, size_t len, pausehub_link_view *v) {
  answer a = {0, 1, v};
  linkhost_lookup(lh, token, len, on_lookup, &a);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(a.calls == 1);
  return a.status;
}

static int lookup(linkhost_t *lh, const char *token, pausehub_link_view *v) {
  return lookup_len(lh, token, strlen(token), v);
}

static void forgotten_links_answered_from_the_store(void) {
  static linkhost_t lh;
  pausehub_t hub;
  linksvc_options o;
  char spec[128];
  linksvc_link_info a, b, d;
  pausehub_link_view v;
  dynbuf html;
  uint64_t now = timefmt_now_ms();
  const char *pending_row = "ltk_00000000000000000000000000000c01";
  const char *expired_row = "ltk_00000000000000000000000000000c02";
  memset(&lh, 0, sizeof lh);
  memset(&o, 0, sizeof o);
  o.ended_max = 1;
  CHECK(pausehub_init(&hub, &o) == 0);
  lh.hub = &hub;
  lh.loop = &loop;
  snprintf(spec, sizeof spec, "sqlite:%s/%s", dir, STORE_SQLITE_FILE);
  CHECK(store_open(&lh.store, &loop, spec) == 0);

  /* a ends, then b: the hub forgets a */
  CHECK(pausehub_mint(&hub, "u1", "slack", 600, NULL, NULL, now, &a) == 0);
  CHECK(pausehub_complete(&hub, a.token, strlen(a.token), now) == 0);
  CHECK(pausehub_mint(&hub, "u1", "slack", 600, NULL, NULL, now, &b) == 0);
  CHECK(pausehub_complete(&hub, b.token, strlen(b.token), now) == 0);
  CHECK(hub.links.nended == 1 && pausehub_lookup(&hub, a.token, strlen(a.token), &v) == -ENOENT);
  /* no row either: unknown */
  CHECK(lookup(&lh, a.token, &v) == -ENOENT);
  /* its row, as the journal wrote it: "used already", 410 */
  CHECK(put_row(&lh.store, a.token, LINKSVC_STATE_COMPLETED, a.expires_ms, now) == 0);
  {
    answer later = {0, 1, &v};
    linkhost_lookup(&lh, a.token, strlen(a.token), on_lookup, &later);
    CHECK(later.calls == 0); /* the store answers later, on the loop */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(later.calls == 1 && later.status == 0);
  }
  CHECK(v.state == LINKSVC_STATE_COMPLETED && strcmp(v.info.token, a.token) == 0 &&
        strcmp(v.info.connector, "slack") == 0 && strcmp(v.user, "u1") == 0 &&
        strcmp(v.info.path, a.path) == 0 && v.info.expires_ms == a.expires_ms);
  dynbuf_init(&html, 65536);
  CHECK(linkpage_render(&html, &v.info, v.state, "Slack") == 410);
  dynbuf_free(&html);
  CHECK(pausehub_complete(&hub, a.token, strlen(a.token), now) == -ENOENT); /* never usable */

  /* a row left pending (its end lost) is never shown usable */
  CHECK(put_row(&lh.store, pending_row, LINKSVC_STATE_PENDING, now + 600000, 0) == 0);
  CHECK(lookup(&lh, pending_row, &v) == 0 && v.state == LINKSVC_STATE_REVOKED);
  CHECK(put_row(&lh.store, expired_row, LINKSVC_STATE_PENDING, now - 1, 0) == 0);
  CHECK(lookup(&lh, expired_row, &v) == 0 && v.state == LINKSVC_STATE_EXPIRED);
  CHECK(pausehub_complete(&hub, pending_row, strlen(pending_row), now) == -ENOENT);
  /* a row with a state out of range: not usable either */
  CHECK(put_row(&lh.store, expired_row, (linksvc_state)9, now + 600000, now) == 0);
  CHECK(lookup(&lh, expired_row, &v) == 0 && v.state == LINKSVC_STATE_REVOKED);

  /* links the hub knows come from the hub */
  CHECK(lookup(&lh, b.token, &v) == 0 && v.state == LINKSVC_STATE_COMPLETED);
  CHECK(pausehub_mint(&hub, "u2", "github", 600, "https://app.example.com/cb", "s1", now, &d) == 0);
  CHECK(put_row(&lh.store, d.token, LINKSVC_STATE_COMPLETED, d.expires_ms, now) == 0); /* hub wins */
  CHECK(lookup(&lh, d.token, &v) == 0 && v.state == LINKSVC_STATE_PENDING &&
        strcmp(v.callback_url, "https://app.example.com/cb") == 0);

  /* malformed tokens, even with a row */
  CHECK(put_row(&lh.store, "ltk_0000000000000000000000000000000G", LINKSVC_STATE_COMPLETED, now, now) == 0);
  CHECK(lookup(&lh, "ltk_0000000000000000000000000000000G", &v) == -ENOENT);
  CHECK(lookup(&lh, "ltk_", &v) == -ENOENT);
  CHECK(lookup(&lh, "", &v) == -ENOENT);
  CHECK(lookup_len(&lh, a.token, LINKSVC_TOKEN_LEN - 1, &v) == -ENOENT);

  store_close(&lh.store, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  pausehub_close(&hub);
}

int main(void) {
  char p[160];
  const char *files[] = {STORE_SQLITE_FILE, STORE_SQLITE_FILE "-wal", STORE_SQLITE_FILE "-shm"};
  size_t i;
  if (mkdtemp(dir) == NULL || uv_loop_init(&loop) != 0) {
    perror("setup");
    return 2;
  }
  RUN(forgotten_links_answered_from_the_store);
  for (i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    (void)unlink(p);
  }
  if (rmdir(dir) != 0)
    perror("rmdir");
  CHECK(uv_loop_close(&loop) == 0);
  return unit_report();
}
