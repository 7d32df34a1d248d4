/* credserve: a worker's credential request answered on the control loop.
 * See credserve.h. */
#include "credserve.h"

#include <errno.h>
#include <string.h>

#include "connections.h"
#include "linksvc.h"
#include "log.h"

static void credserve_send(pausehub_page *pg, int status) {
  pg->status = status;
  pausehub_page_answer(pg);
}

static void on_token(void *data, int status, const connections_cred *t) {
  pausehub_page *pg = data;
  size_t len;
  switch (status) {
  case 0:
    len = strlen(t->secret);
    if (len == 0 || len > CREDSERVE_SECRET_MAX || dynbuf_add(&pg->html, t->secret, len) != 0) {
      LOG_WARN("credential not injected: too long", LOG_STR("connector", pg->target));
      credserve_send(pg, 502);
      return;
    }
    credserve_send(pg, 200);
    return;
  case -ENOENT:
  case -ENOLINK:
  case -EKEYEXPIRED:
  case -EBADMSG:
    credserve_send(pg, 409);
    return;
  case -ECANCELED:
  case -EIO:
  case -ENOMEM:
    credserve_send(pg, 503);
    return;
  default:
    credserve_send(pg, 502); /* the provider did not refresh an expired token */
    return;
  }
}

void credserve_answer(linkhost_t *lh, pausehub_page *pg) {
  char user[LINKSVC_USER_MAX + 1];
  int rc;
  if (lh->remote_open) {
    credserve_send(pg, 501);
    return;
  }
  if (pg->body.len == 0 || pg->body.len > LINKSVC_USER_MAX || pg->target[0] == '\0') {
    credserve_send(pg, 409);
    return;
  }
  memcpy(user, pg->body.ptr, pg->body.len);
  user[pg->body.len] = '\0';
  rc = connections_token(&lh->conns, user, pg->target, on_token, pg);
  if (rc != 0)
    credserve_send(pg, 503);
}
