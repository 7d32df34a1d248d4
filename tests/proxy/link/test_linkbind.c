/* test_linkbind: the pending flows of link binding (proxy/link/linkbind.c):
 * ids are unguessable and single use, flows expire and are bounded in
 * number, a link has one waiting flow, the credential moves (never copied
 * into the list twice), and the redirect URLs (to the verifier, to the
 * callback or the done page) are built right. */
#include <errno.h>
#include <string.h>

#include "linkbind.h"
#include "unit.h"

static pausehub_link_view view_of(const char *token, const char *user, const char *callback, const char *state) {
  pausehub_link_view v;
  memset(&v, 0, sizeof v);
  strcpy(v.info.token, token);
  strcpy(v.info.connector, "slack");
  strcpy(v.user, user);
  strcpy(v.callback_url, callback);
  strcpy(v.state_param, state);
  return v;
}

/* A sealed credential stand-in of n bytes. */
static dynbuf secret_of(const char *s) {
  dynbuf d;
  dynbuf_init(&d, 1024);
  (void)dynbuf_add(&d, s, strlen(s));
  return d;
}

static void single_use(void) {
  linkbind_t b;
  pausehub_link_view v = view_of("lnk_1", "alice", "", "");
  dynbuf sealed = secret_of("SEALED");
  const linkbind_flow *f = NULL;
  linkbind_flow *taken;
  char id[LINKBIND_ID_LEN + 1];
  int nomem = 1;
  linkbind_init(&b);
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "http://127.0.0.1:1", 0, &sealed, 1000, &f) == 0);
  CHECK(sealed.ptr == NULL && sealed.len == 0); /* moved */
  CHECK(f != NULL && linkbind_id_valid(f->id) && strncmp(f->id, "lbf_", 4) == 0 && strlen(f->id) == LINKBIND_ID_LEN);
  strcpy(id, f->id);
  CHECK(linkbind_find(&b, id, 1001) != NULL && linkbind_find(&b, id, 1001)->state == LINKBIND_WAITING);
  taken = linkbind_take(&b, id, 1001, &nomem);
  CHECK(taken != NULL && nomem == 0);
  CHECK(taken != NULL && taken->sealed.len == 6 && memcmp(taken->sealed.ptr, "SEALED", 6) == 0);
  CHECK(taken != NULL && strcmp(taken->v.user, "alice") == 0 && strcmp(taken->kind, "api_key") == 0);
  /* spent: never taken again, still known to the done page, without the credential */
  CHECK(linkbind_take(&b, id, 1002, &nomem) == NULL && nomem == 0);
  CHECK(linkbind_find(&b, id, 1002) != NULL && linkbind_find(&b, id, 1002)->state == LINKBIND_SPENT);
  CHECK(linkbind_find(&b, id, 1002)->sealed.ptr == NULL);
  linkbind_settle(&b, id, LINKBIND_REFUSED);
  CHECK(linkbind_find(&b, id, 1003)->state == LINKBIND_REFUSED);
  linkbind_flow_free(taken);
  /* malformed and unknown ids */
  CHECK(linkbind_take(&b, "lbf_", 1003, &nomem) == NULL);
  CHECK(linkbind_take(&b, "lbf_0123456789abcdef0123456789abcdeg", 1003, &nomem) == NULL);
  CHECK(linkbind_take(&b, "lbf_0123456789abcdef0123456789abcdef", 1003, &nomem) == NULL);
  CHECK(!linkbind_id_valid("lbf_0123456789ABCDEF0123456789abcdef"));
  linkbind_close(&b);
  CHECK(b.flows == NULL && b.nflows == 0);
}

static void expiry(void) {
  linkbind_t b;
  pausehub_link_view v = view_of("lnk_2", "bob", "", "");
  dynbuf sealed = secret_of("S");
  const linkbind_flow *f = NULL;
  char id[LINKBIND_ID_LEN + 1];
  int nomem;
  linkbind_init(&b);
  CHECK(linkbind_add(&b, &v, "oauth2", "Slack", "", 0, &sealed, 5000, &f) == 0);
  strcpy(id, f->id);
  CHECK(linkbind_find(&b, id, 5000 + LINKBIND_TTL_MS - 1) != NULL);
  CHECK(linkbind_take(&b, id, 5000 + LINKBIND_TTL_MS, &nomem) == NULL);
  CHECK(b.nflows == 0); /* dropped (and wiped) */
  linkbind_close(&b);
}

static void one_per_link_and_bounded(void) {
  linkbind_t b;
  pausehub_link_view v = view_of("lnk_3", "carol", "", "");
  const linkbind_flow *f = NULL;
  char first[LINKBIND_ID_LEN + 1];
  char ids[8][LINKBIND_ID_LEN + 1];
  dynbuf sealed;
  int nomem;
  size_t i;
  size_t j;
  linkbind_init(&b);
  sealed = secret_of("A");
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "", 0, &sealed, 1, &f) == 0);
  strcpy(first, f->id);
  sealed = secret_of("B");
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "", 0, &sealed, 2, &f) == 0);
  CHECK(b.nflows == 1 && linkbind_take(&b, first, 3, &nomem) == NULL); /* the older one is gone */
  linkbind_close(&b);
  /* bounded: LINKBIND_MAX waiting, the next refused and its credential freed */
  linkbind_init(&b);
  for (i = 0; i < LINKBIND_MAX; i++) {
    char token[32];
    pausehub_link_view w;
    snprintf(token, sizeof token, "many_%zu", i);
    w = view_of(token, "u", "", "");
    sealed = secret_of("x");
    CHECK(linkbind_add(&b, &w, "api_key", "Slack", "", 0, &sealed, 10, &f) == 0);
    if (i < 8)
      strcpy(ids[i], f->id);
  }
  sealed = secret_of("y");
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "", 0, &sealed, 10, &f) == -ENOSPC);
  CHECK(sealed.ptr == NULL);
  CHECK(b.nflows == LINKBIND_MAX);
  /* unguessable: 128 random bits, no two alike */
  for (i = 0; i < 8; i++)
    for (j = i + 1; j < 8; j++)
      CHECK(strcmp(ids[i], ids[j]) != 0);
  /* room again once they expire */
  sealed = secret_of("z");
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "", 0, &sealed, 10 + LINKBIND_TTL_MS, &f) == 0);
  CHECK(b.nflows == 1);
  linkbind_close(&b);
}

static void urls(void) {
  linkbind_t b;
  pausehub_link_view v = view_of("lnk_4", "dave", "https://app.example.com/done?x=1", "a b&c");
  pausehub_link_view plain = view_of("lnk_5", "erin", "", "");
  dynbuf sealed = secret_of("S");
  const linkbind_flow *f = NULL;
  dynbuf out;
  char want[256];
  linkbind_init(&b);
  dynbuf_init(&out, 4096);
  CHECK(linkbind_location(&out, "https://app.example.com/verify", "lbf_1") == 0);
  CHECK(strcmp(out.ptr, "https://app.example.com/verify?flow_id=lbf_1") == 0);
  dynbuf_free(&out);
  dynbuf_init(&out, 4096);
  CHECK(linkbind_location(&out, "https://app.example.com/verify?tenant=7", "lbf_1") == 0);
  CHECK(strcmp(out.ptr, "https://app.example.com/verify?tenant=7&flow_id=lbf_1") == 0);
  dynbuf_free(&out);
  dynbuf_init(&out, 10); /* capped: an error, never a cut URL */
  CHECK(linkbind_location(&out, "https://app.example.com/verify", "lbf_1") != 0);
  dynbuf_free(&out);
  CHECK(linkbind_add(&b, &v, "api_key", "Slack", "http://127.0.0.1:8080", 0, &sealed, 1, &f) == 0);
  dynbuf_init(&out, 4096);
  CHECK(linkbind_done_url(&out, f, 1) == 0);
  CHECK(strcmp(out.ptr, "https://app.example.com/done?x=1&state=a%20b%26c") == 0);
  dynbuf_free(&out);
  dynbuf_init(&out, 4096); /* refused: never the callback, the "Not connected" page */
  CHECK(linkbind_done_url(&out, f, 0) == 0);
  snprintf(want, sizeof want, "http://127.0.0.1:8080/_authrelay/link-flows/done?flow_id=%s", f->id);
  CHECK(strcmp(out.ptr, want) == 0);
  dynbuf_free(&out);
  sealed = secret_of("S");
  CHECK(linkbind_add(&b, &plain, "api_key", "Slack", "http://127.0.0.1:8080", 0, &sealed, 1, &f) == 0);
  dynbuf_init(&out, 4096);
  CHECK(linkbind_done_url(&out, f, 1) == 0);
  snprintf(want, sizeof want, "http://127.0.0.1:8080/_authrelay/link-flows/done?flow_id=%s", f->id);
  CHECK(strcmp(out.ptr, want) == 0);
  dynbuf_free(&out);
  linkbind_close(&b);
}

int main(void) {
  RUN(single_use);
  RUN(expiry);
  RUN(one_per_link_and_bounded);
  RUN(urls);
  return unit_report();
}
