/* apiconnections: the connections of a registered user in the link API:
 * the token API (connections.h hands out a fresh credential; without one, a 409
 * authenticate_meta with a trusted link minted as apilinks.c mints them),
 * the list and the deletion. See apiconnections.h. */
#include "apiconnections.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apilinks.h"
#include "connections.h"
#include "timefmt.h"

#define ORIGIN_PREFIX "origin:"
#define LINK_TTL_S 1800 /* the 409's link: as the link-token API's */
#define SECRET_MAX 4096 /* bytes of an access token or API key handed out */

enum { OP_LIST, OP_TOKEN, OP_DELETE };

/* What a request keeps across the store's and conn's answers. */
typedef struct conns_state {
  int op;
  int by_origin; /* {id} was origin:... */
  int status;
  char user[STORE_TEXT_MAX + 2];  /* origin_user_id */
  char user_id[STORE_ID_LEN + 1]; /* the registered user's id, "" when not registered */
  char connector[STORE_TEXT_MAX + 1];
  catalog_connector cc; /* OP_TOKEN: the catalog's */
  char kind[8];         /* the token handed out */
  char secret[SECRET_MAX + 1];
  char token_type[32];
  uint64_t expires_ms;
  char scopes[CONNECTIONS_SCOPES_MAX + 1];
  int reason;             /* why there is no usable connection (connections_token's status) */
  linksvc_link_info info; /* the 409's link */
} conns_state;

static int hex_value(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Percent-decodes s into out (cap bytes): 0, or -1 when malformed, too
 * long, or holding a control character or a NUL. */
static int percent_decode(const char *s, char *out, size_t cap) {
  size_t n = 0;
  while (*s != '\0') {
    int ch = (unsigned char)*s;
    if (ch == '%') {
      int hi = hex_value(s[1]);
      int lo = hi >= 0 ? hex_value(s[2]) : -1;
      if (lo < 0)
        return -1;
      ch = hi * 16 + lo;
      s += 3;
    } else {
      s++;
    }
    if (ch < 0x20 || ch == 0x7f || n + 1 >= cap)
      return -1;
    out[n++] = (char)ch;
  }
  out[n] = '\0';
  return n > 0 ? 0 : -1;
}

/* Splits "{id}/connections[/{connector}[/token]][/]" into its parts.
 * Returns the op, or -1 when rest is not a connections path. id and
 * connector point into copy (cap bytes). */
static int parse_rest(const char *rest, char *copy, size_t cap, char **id, char **connector) {
  char *p;
  char *end;
  size_t len = strlen(rest);
  if (len == 0 || len >= cap)
    return -1;
  memcpy(copy, rest, len + 1);
  if (copy[len - 1] == '/')
    copy[--len] = '\0';
  p = strchr(copy, '/');
  if (p == NULL || p == copy)
    return -1;
  *p++ = '\0';
  *id = copy;
  *connector = NULL;
  if (strncmp(p, "connections", 11) != 0 || (p[11] != '\0' && p[11] != '/'))
    return -1;
  if (p[11] == '\0')
    return OP_LIST;
  p += 12;
  end = strchr(p, '/');
  if (p[0] == '\0' || end == p)
    return -1;
  *connector = p;
  if (end == NULL)
    return OP_DELETE;
  *end++ = '\0';
  return strcmp(end, "token") == 0 ? OP_TOKEN : -1;
}

int apiconnections_owns(const char *rest) {
  char copy[2048];
  char *id;
  char *connector;
  return parse_rest(rest, copy, sizeof copy, &id, &connector) >= 0;
}

/* ---- the answers ---- */

static void answer_token(apicall_ctx *c) {
  conns_state *st = c->state;
  char when[TIMEFMT_BUF];
  const char *s = st->scopes;
  int first = 1;
  APICALL_AUDIT(c, "connection.token", LOG_STR("origin_user_id", st->user), LOG_STR("connector", st->connector));
  c->rs->status = 200;
  apicall_raw(c, "{");
  apicall_member_str(c, "connector", st->connector, 1);
  apicall_member_str(c, "auth", st->kind, 0);
  apicall_member_str(c, strcmp(st->kind, "oauth2") == 0 ? "access_token" : "api_key", st->secret, 0);
  apicall_member_str(c, "token_type", st->token_type[0] != '\0' ? st->token_type : NULL, 0);
  if (st->expires_ms != 0)
    (void)timefmt_rfc3339(st->expires_ms, 1, when);
  apicall_member_str(c, "expires_at", st->expires_ms != 0 ? when : NULL, 0);
  apicall_raw(c, ",\"scopes\":[");
  while (*s != '\0') {
    char one[CONNECTIONS_SCOPES_MAX + 1];
    size_t n = strcspn(s, " ");
    if (n > 0) {
      snprintf(one, sizeof one, "%.*s", (int)n, s);
      if (!first)
        apicall_raw(c, ",");
      apicall_str(c, one);
      first = 0;
    }
    s += n;
    while (*s == ' ')
      s++;
  }
  apicall_raw(c, "]}\n");
}

/* The 409's link is stored: the authenticate_meta result goes out. */
static void answer_authenticate(apicall_ctx *c) {
  conns_state *st = c->state;
  char url[3000];
  char message[CATALOG_NAME_MAX + 64];
  if (apilinks_kept(c, &st->info, url, sizeof url) != 0)
    return;
  APICALL_AUDIT(c, "link_token.create", LOG_STR("origin_user_id", st->user), LOG_STR("connector", st->connector),
                LOG_STR("for", "connection token"));
  snprintf(message, sizeof message, "Please %s %s to continue.", st->reason == -ENOENT ? "connect" : "reconnect",
           st->cc.name);
  c->rs->status = 409;
  apicall_raw(c, "{");
  apicall_member_str(c, "type", "authenticate_meta", 1);
  apicall_member_str(c, "Connector", st->connector, 0);
  apicall_member_str(c, "link_token", st->info.token, 0);
  apicall_member_str(c, "magic_link_url", url, 0);
  apicall_member_str(c, "expires_at", st->info.expires_at, 0);
  apicall_member_str(c, "message", message, 0);
  apicall_raw(c, "}\n");
}

/* No usable connection: a fresh trusted link for (user, connector). */
static void mint_link(apicall_ctx *c) {
  conns_state *st = c->state;
  int rc = pausehub_mint(c->lh->hub, st->user, st->connector, LINK_TTL_S, "", "", timefmt_now_ms(), &st->info);
  if (rc == -EINVAL) {
    apicall_detail(c, 400, "This origin_user_id cannot be given a link (visible ASCII, at most 256 bytes).");
    return;
  }
  if (rc != 0) {
    apicall_detail(c, rc == -ENOSPC ? 503 : 500, "The link could not be minted.");
    return;
  }
  apilinks_wait_kept(c, st->user, &st->info, "", "", answer_authenticate);
}

static void token_answered(apicall_ctx *c) {
  conns_state *st = c->state;
  switch (st->status) {
  case 0:
    answer_token(c);
    break;
  case -ENOENT:
  case -ENOLINK:
  case -EKEYEXPIRED:
  case -EBADMSG:
    st->reason = st->status;
    mint_link(c);
    break;
  case -EIO:
    apicall_detail(c, 503, "The refreshed token could not be saved, so it was not handed out. Try again.");
    break;
  case -ECANCELED:
  case -ENOMEM:
    apicall_read_failed(c, st->status);
    break;
  case -ETIMEDOUT: /* a gateway's timeout: 504, as for the Link page's code exchange */
    apicall_detail(c, 504, "The provider did not answer the refresh of the expired token in time. Try again.");
    break;
  default:
    apicall_detail(c, 502, "The provider did not refresh the expired token. Try again.");
    break;
  }
}

static void on_token(void *data, int status, const connections_cred *t) {
  apicall_ctx *c = data;
  conns_state *st = c->state;
  st->status = status;
  if (status == 0 && strlen(t->secret) > SECRET_MAX)
    st->status = -EBADMSG;
  if (st->status == 0) {
    snprintf(st->kind, sizeof st->kind, "%s", t->kind);
    snprintf(st->secret, sizeof st->secret, "%s", t->secret);
    snprintf(st->token_type, sizeof st->token_type, "%s", t->token_type);
    snprintf(st->scopes, sizeof st->scopes, "%s", t->scopes);
    st->expires_ms = t->expires_ms;
  }
  apicall_run(c, token_answered);
}

static void on_list(void *data, int status, const store_credential *rows, size_t n) {
  apicall_ctx *c = data;
  size_t i;
  if (status != 0) {
    apicall_read_failed(c, status);
    apicall_run(c, NULL);
    return;
  }
  c->rs->status = 200;
  apicall_raw(c, "{\"results\":[");
  for (i = 0; i < n; i++) {
    char when[TIMEFMT_BUF];
    apicall_raw(c, i > 0 ? ",{" : "{");
    apicall_member_str(c, "connector", rows[i].connector, 1);
    apicall_member_str(c, "auth", rows[i].kind, 0);
    apicall_member_str(c, "status", rows[i].broken ? "broken" : "active", 0);
    (void)timefmt_rfc3339(rows[i].created_ms, 1, when);
    apicall_member_str(c, "created_at", when, 0);
    (void)timefmt_rfc3339(rows[i].modified_ms, 1, when);
    apicall_member_str(c, "modified_at", when, 0);
    if (rows[i].expires_ms != 0)
      (void)timefmt_rfc3339(rows[i].expires_ms, 1, when);
    apicall_member_str(c, "expires_at", rows[i].expires_ms != 0 ? when : NULL, 0);
    apicall_raw(c, "}");
  }
  apicall_raw(c, "]}\n");
  apicall_run(c, NULL);
}

static void deleted(apicall_ctx *c) {
  conns_state *st = c->state;
  if (c->status != 0) {
    apicall_write_failed(c, c->status, "This registered user has no connection to this connector.");
    return;
  }
  APICALL_AUDIT(c, "connection.delete", LOG_STR("origin_user_id", st->user), LOG_STR("connector", st->connector));
  c->rs->status = 204;
}

/* The user is known (or, by origin, not registered): what op asks. */
static void user_known(apicall_ctx *c) {
  conns_state *st = c->state;
  connections_t *cs = &c->lh->conns;
  int rc;
  if (st->status == -ENOENT && !(st->op == OP_TOKEN && st->by_origin)) {
    apicall_detail(c, 404, "No registered user with this id.");
    return;
  }
  if (st->status != 0 && st->status != -ENOENT) {
    apicall_read_failed(c, st->status);
    return;
  }
  if (st->op == OP_LIST) {
    apicall_wait(c, apicall_store(c)->ops->credential_list(apicall_store(c), st->user, on_list, c));
    return;
  }
  if (st->op == OP_TOKEN && st->status == -ENOENT) {
    token_answered(c); /* not registered yet: no connection, the link registers the user */
    return;
  }
  if (st->op == OP_DELETE) {
    apicall_after(c, deleted);
    rc = connections_delete(cs, st->user, st->connector, apicall_done, c);
  } else {
    rc = connections_token(cs, st->user, st->connector, on_token, c);
  }
  if (rc == -EBUSY) {
    apicall_detail(c, 503, "Too many connections are being refreshed at once. Try again.");
    return;
  }
  apicall_wait(c, rc);
}

static void on_user(void *data, int status, const store_user *u) {
  apicall_ctx *c = data;
  conns_state *st = c->state;
  st->status = status;
  if (status == 0) {
    snprintf(st->user, sizeof st->user, "%s", u->origin_user_id);
    snprintf(st->user_id, sizeof st->user_id, "%s", u->id);
  }
  apicall_run(c, user_known);
}

void apiconnections_handle(apicall_ctx *c, const apicall_principal *p, const char *rest) {
  static const char *const methods[] = {"GET", "POST", "DELETE"};
  static const unsigned scopes[] = {LINKAPI_READ_USER, LINKAPI_READ_CREDENTIALS, LINKAPI_WRITE_USER};
  char copy[2048];
  char *id;
  char *connector;
  conns_state *st;
  int op = parse_rest(rest, copy, sizeof copy, &id, &connector);
  if (op < 0) {
    apicall_detail(c, 404, "Not found.");
    return;
  }
  if (apicall_require_method(c, methods[op]) != 0)
    return;
  if (apicall_require(c, p, scopes[op]) != 0)
    return;
  if (c->lh->remote_open) {
    apicall_detail(c, 501,
                   "Connections are held by the remote link service (link_service.url): ask it for "
                   "credentials; authrelay keeps none in remote mode.");
    return;
  }
  st = apicall_state(c, sizeof *st);
  if (st == NULL)
    return;
  st->op = op;
  if (connector != NULL) {
    if (strlen(connector) > LINKSVC_CONNECTOR_MAX ||
        percent_decode(connector, st->connector, sizeof st->connector) != 0) {
      apicall_detail(c, 404, "No such connector.");
      return;
    }
    if (op == OP_TOKEN && catalog_lookup(c->lh->catalog, st->connector, &st->cc) != 0) {
      apicall_detail(c, 404, "Not a connector of the catalog.");
      return;
    }
  }
  if (strncmp(id, ORIGIN_PREFIX, strlen(ORIGIN_PREFIX)) == 0) {
    st->by_origin = 1;
    if (percent_decode(id + strlen(ORIGIN_PREFIX), st->user, LINKSVC_USER_MAX + 1) != 0) {
      apicall_detail(c, 404, "No registered user with this id.");
      return;
    }
    apicall_wait(c, apicall_store(c)->ops->user_by_origin(apicall_store(c), st->user, on_user, c));
    return;
  }
  if (!apivalid_is_uuid(id)) {
    apicall_detail(c, 404, "No registered user with this id.");
    return;
  }
  apicall_wait(c, apicall_store(c)->ops->user_get(apicall_store(c), id, on_user, c));
}
