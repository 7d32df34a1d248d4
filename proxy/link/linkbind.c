/* linkbind: the pending flows of link binding. See linkbind.h. */
#include "linkbind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "form.h"

void linkbind_init(linkbind_t *b) {
  memset(b, 0, sizeof *b);
}

static void flow_wipe(linkbind_flow *f) {
  if (f->sealed.ptr != NULL)
    OPENSSL_cleanse(f->sealed.ptr, f->sealed.len);
  dynbuf_free(&f->sealed);
}

void linkbind_flow_free(linkbind_flow *f) {
  if (f == NULL)
    return;
  flow_wipe(f);
  OPENSSL_cleanse(f, sizeof *f);
  free(f);
}

/* Drops the flows past their time, and (token != NULL) the waiting one of
 * that link. */
static void sweep(linkbind_t *b, uint64_t now_ms, const char *token) {
  linkbind_flow **pp = &b->flows;
  while (*pp != NULL) {
    linkbind_flow *f = *pp;
    int drop = f->created_ms + LINKBIND_TTL_MS <= now_ms ||
               (token != NULL && f->state == LINKBIND_WAITING && strcmp(f->v.info.token, token) == 0);
    if (drop) {
      *pp = f->next;
      b->nflows--;
      linkbind_flow_free(f);
    } else {
      pp = &f->next;
    }
  }
}

int linkbind_add(linkbind_t *b, const pausehub_link_view *v, const char *kind, const char *name,
                 const char *base_url, uint64_t token_expires_ms, dynbuf *sealed, uint64_t now_ms,
                 const linkbind_flow **out) {
  linkbind_flow *f;
  int rc = 0;
  sweep(b, now_ms, v->info.token);
  if (b->nflows >= LINKBIND_MAX)
    rc = -ENOSPC;
  f = rc == 0 ? calloc(1, sizeof *f) : NULL;
  if (rc == 0 && f == NULL)
    rc = -ENOMEM;
  if (rc == 0) {
    memcpy(f->id, LINKBIND_ID_PREFIX, strlen(LINKBIND_ID_PREFIX));
    if (crypto_random_hex(f->id + strlen(LINKBIND_ID_PREFIX), (LINKBIND_ID_LEN - strlen(LINKBIND_ID_PREFIX)) / 2) != 0)
      rc = -EIO;
  }
  if (rc != 0) {
    free(f);
    if (sealed->ptr != NULL)
      OPENSSL_cleanse(sealed->ptr, sealed->len);
    dynbuf_free(sealed);
    return rc;
  }
  f->state = LINKBIND_WAITING;
  f->v = *v;
  (void)snprintf(f->kind, sizeof f->kind, "%s", kind);
  (void)snprintf(f->name, sizeof f->name, "%s", name);
  (void)snprintf(f->base_url, sizeof f->base_url, "%s", base_url);
  f->sealed = *sealed; /* moved */
  f->token_expires_ms = token_expires_ms;
  memset(sealed, 0, sizeof *sealed);
  f->created_ms = now_ms;
  f->next = b->flows;
  b->flows = f;
  b->nflows++;
  *out = f;
  return 0;
}

int linkbind_id_valid(const char *id) {
  size_t plen = strlen(LINKBIND_ID_PREFIX);
  return strlen(id) == LINKBIND_ID_LEN && memcmp(id, LINKBIND_ID_PREFIX, plen) == 0 &&
         strspn(id + plen, "0123456789abcdef") == LINKBIND_ID_LEN - plen;
}

/* The listed flow id, or NULL. Compared in constant time. */
static linkbind_flow *lookup(linkbind_t *b, const char *id, uint64_t now_ms) {
  linkbind_flow *f;
  if (!linkbind_id_valid(id))
    return NULL;
  sweep(b, now_ms, NULL);
  for (f = b->flows; f != NULL; f = f->next) {
    if (crypto_equal(f->id, id, LINKBIND_ID_LEN))
      return f;
  }
  return NULL;
}

const linkbind_flow *linkbind_find(linkbind_t *b, const char *id, uint64_t now_ms) {
  return lookup(b, id, now_ms);
}

linkbind_flow *linkbind_take(linkbind_t *b, const char *id, uint64_t now_ms, int *nomem) {
  linkbind_flow *f = lookup(b, id, now_ms);
  linkbind_flow *copy;
  *nomem = 0;
  if (f == NULL || f->state != LINKBIND_WAITING)
    return NULL;
  copy = malloc(sizeof *copy);
  if (copy == NULL) {
    *nomem = 1;
    return NULL;
  }
  *copy = *f;
  copy->next = NULL;
  memset(&f->sealed, 0, sizeof f->sealed); /* moved to the copy */
  f->state = LINKBIND_SPENT;
  return copy;
}

void linkbind_settle(linkbind_t *b, const char *id, linkbind_state state) {
  linkbind_flow *f;
  for (f = b->flows; f != NULL; f = f->next) {
    if (strcmp(f->id, id) == 0) {
      f->state = state;
      return;
    }
  }
}

int linkbind_location(dynbuf *out, const char *verifier_url, const char *id) {
  (void)dynbuf_put(out, verifier_url, strlen(verifier_url));
  (void)dynbuf_put(out, strchr(verifier_url, '?') != NULL ? "&flow_id=" : "?flow_id=", 9);
  (void)dynbuf_put(out, id, strlen(id));
  return dynbuf_put(out, "", 1);
}

int linkbind_callback_url(dynbuf *out, const char *callback_url, const char *state) {
  int rc = dynbuf_put(out, callback_url, strlen(callback_url));
  if (rc == 0 && state[0] != '\0') {
    rc = dynbuf_put(out, strchr(callback_url, '?') != NULL ? "&state=" : "?state=", 7);
    if (rc == 0)
      rc = form_encode(out, state, strlen(state));
  }
  if (rc == 0)
    rc = dynbuf_put(out, "", 1);
  return rc;
}

int linkbind_done_url(dynbuf *out, const linkbind_flow *f, int connected) {
  if (connected && f->v.callback_url[0] != '\0')
    return linkbind_callback_url(out, f->v.callback_url, f->v.state_param);
  (void)dynbuf_put(out, f->base_url, strlen(f->base_url));
  (void)dynbuf_put(out, LINKBIND_DONE_PATH "?flow_id=", strlen(LINKBIND_DONE_PATH "?flow_id="));
  (void)dynbuf_put(out, f->id, strlen(f->id));
  return dynbuf_put(out, "", 1);
}

void linkbind_close(linkbind_t *b) {
  while (b->flows != NULL) {
    linkbind_flow *f = b->flows;
    b->flows = f->next;
    linkbind_flow_free(f);
  }
  b->nflows = 0;
}
