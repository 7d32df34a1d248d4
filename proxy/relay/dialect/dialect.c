/* dialect: the registry of dialects, sniffing, the per-stream table of tool
 * calls and the decision on a detection. See dialect.h; the notices are
 * rendered by each dialect's file with the writers of dnotice.c.
 */
#include "dialect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect_int.h"
#include "jsonw.h"

static const dialect_ops *const registry[DIALECT_COUNT] = {
    [DIALECT_AUTO] = NULL,
    [DIALECT_GENERIC] = &dialect_generic_ops,
    [DIALECT_OPENAI_RESPONSES] = &dialect_openai_responses_ops,
    [DIALECT_OPENAI_CHAT] = &dialect_openai_chat_ops,
    [DIALECT_ANTHROPIC] = &dialect_anthropic_ops,
    [DIALECT_AI_SDK] = &dialect_ai_sdk_ops,
    [DIALECT_AG_UI] = &dialect_ag_ui_ops,
    [DIALECT_A2A] = &dialect_a2a_ops,
    [DIALECT_MCP] = &dialect_mcp_ops,
};

const char *dialect_name(dialect_id id) {
  if (id == DIALECT_AUTO)
    return "auto";
  if ((unsigned)id < DIALECT_COUNT)
    return registry[id]->name;
  return "unknown";
}

int dialect_parse(const char *word, dialect_id *out) {
  int id;
  for (id = 0; id < DIALECT_COUNT; id++) {
    if (strcmp(word, dialect_name((dialect_id)id)) == 0) {
      *out = (dialect_id)id;
      return 0;
    }
  }
  return -EINVAL;
}

dialect_id dialect_current(const dialect_stream *s) {
  return s->ops->id;
}

/* ---- the stream ---------------------------------------------------------- */

void dialect_stream_init(dialect_stream *s, dialect_id configured, dialect_framing framing,
                         const dialect_head *head) {
  memset(s, 0, sizeof *s);
  s->configured = (unsigned)configured < DIALECT_COUNT ? configured : DIALECT_AUTO;
  s->framing = framing;
  if (head != NULL)
    s->head = *head;
  s->ops = &dialect_generic_ops;
  if (s->configured != DIALECT_AUTO) {
    s->ops = registry[s->configured];
    s->settled = 1;
  } else if (s->head.ai_sdk_header) {
    s->ops = &dialect_ai_sdk_ops; /* the header is the protocol's own marker */
    s->settled = 1;
  } else if (s->head.tool_route) {
    s->ops = &dialect_mcp_ops; /* tool mode is MCP's tools/call */
    s->settled = 1;
  }
}

void dialect_stream_close(dialect_stream *s) {
  free(s->mem);
  s->mem = NULL;
  free(s->rpc);
  s->rpc = NULL;
}

const dialect_rpc *dialect_rpc_of(const dialect_stream *s) {
  static const dialect_rpc none;
  return s->rpc != NULL ? s->rpc : &none;
}

dialect_rpc *dialect_rpc_mut(dialect_stream *s) {
  if (s->rpc == NULL)
    s->rpc = calloc(1, sizeof *s->rpc);
  return s->rpc;
}

/* The table, allocated on first use; NULL when that failed. */
static dialect_memory *memory(dialect_stream *s) {
  if (s->mem == NULL && !s->mem_failed) {
    s->mem = calloc(1, sizeof *s->mem);
    if (s->mem == NULL)
      s->mem_failed = 1;
  }
  return s->mem;
}

/* ---- sniffing ------------------------------------------------------------ */

/* Copies a value into a probe field, cut at its size. */
static void probe_copy(char *dst, jscan_str v) {
  size_t n = v.len < PROBE_TEXT_MAX ? v.len : PROBE_TEXT_MAX;
  memcpy(dst, v.ptr, n);
  dst[n] = '\0';
}

static void probe_object(void *ctx, const jscan_obj *o) {
  dialect_probe *p = ctx;
  if (o->depth == 1) {
    if (o->f[JSCAN_TYPE].ptr != NULL)
      probe_copy(p->type, o->f[JSCAN_TYPE]);
    if (o->f[JSCAN_OBJECT].ptr != NULL)
      probe_copy(p->object_name, o->f[JSCAN_OBJECT]);
    if (o->f[JSCAN_METHOD].ptr != NULL)
      probe_copy(p->method, o->f[JSCAN_METHOD]);
    p->jsonrpc = o->f[JSCAN_JSONRPC].ptr != NULL;
    p->has_result = (o->flags & JSCAN_HAS_RESULT) != 0;
  } else if (o->depth == 2 && jscan_is(o->key, "result")) {
    if (o->f[JSCAN_KIND].ptr != NULL)
      probe_copy(p->result_kind, o->f[JSCAN_KIND]);
    p->result_content = (o->flags & JSCAN_HAS_CONTENT_ARRAY) != 0;
  } else if (o->depth == 3 && p->result_kind[0] == '\0' && o->key.ptr != NULL &&
             (jscan_is(o->key, "task") || jscan_is(o->key, "statusUpdate") ||
              jscan_is(o->key, "artifactUpdate"))) {
    probe_copy(p->result_kind, o->key); /* A2A v1.0: the oneof member's name */
  }
}

/* Looks at one event while the dialect is not settled: the dialect with the
 * best score wins at once; generic after DIALECT_SNIFF_EVENTS events (one:
 * a stream that starts in no dialect's terms is generic, whatever it says
 * later). */
static void sniff(dialect_stream *s, const char *name, size_t name_len, const char *data,
                  size_t len) {
  dialect_probe p;
  size_t i = 0;
  int best = 0;
  int best_score = 0;
  int id;
  memset(&p, 0, sizeof p);
  p.ai_sdk_header = s->head.ai_sdk_header;
  p.tool_route = s->head.tool_route;
  p.event = name;
  p.event_len = name != NULL ? name_len : 0;
  while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
    i++;
  if (i < len && data[i] == '{') {
    p.object = 1;
    (void)jscan_run(data, len, probe_object, &p); /* a bad text gives what was read */
  }
  for (id = DIALECT_GENERIC; id < DIALECT_COUNT; id++) {
    int score = registry[id]->sniff(&p);
    if (score > best_score) {
      best_score = score;
      best = id;
    }
  }
  s->sniffed++;
  if (best != DIALECT_GENERIC && best_score > 0) {
    s->ops = registry[best];
    s->settled = 1;
  } else if (s->sniffed >= DIALECT_SNIFF_EVENTS) {
    s->settled = 1;
  }
}

/* ---- observing ----------------------------------------------------------- */

/* How common a byte is in JSON text: the scan anchors on a marker's
 * rarest byte, so memchr stops at few candidates (a quote would stop at
 * every member name). */
static int commonness(unsigned char ch) {
  if (ch == '"' || ch == ' ' || ch == ':' || ch == ',')
    return 3;
  if (ch >= 'a' && ch <= 'z')
    return 2;
  if (ch >= '0' && ch <= '9')
    return 1;
  return 0; /* upper case, '_', '-', ... */
}

/* 1 when p[0, len) contains m[0, mlen) (mlen > 0). */
static int contains(const char *p, size_t len, const char *m, size_t mlen) {
  size_t anchor = 0;
  size_t i;
  const char *at;
  const char *last;
  if (len < mlen)
    return 0;
  for (i = 1; i < mlen; i++) {
    if (commonness((unsigned char)m[i]) < commonness((unsigned char)m[anchor]))
      anchor = i;
  }
  at = p + anchor;
  last = p + (len - mlen) + anchor; /* the last place the anchor byte may be */
  while (at <= last) {
    at = memchr(at, m[anchor], (size_t)(last - at) + 1);
    if (at == NULL)
      return 0;
    if (memcmp(at - anchor, m, mlen) == 0)
      return 1;
    at++;
  }
  return 0;
}

int dialect_has_marker(const char *data, size_t len, const char *const *markers) {
  size_t i;
  for (i = 0; markers[i] != NULL; i++) {
    if (contains(data, len, markers[i], strlen(markers[i])))
      return 1;
  }
  return 0;
}

static void observe_object(void *ctx, const jscan_obj *o) {
  dialect_stream *s = ctx;
  s->ops->on_object(s, o);
}

void dialect_observe(dialect_stream *s, const char *name, size_t name_len, const char *data,
                     size_t len) {
  s->events++;
  if (!s->settled)
    sniff(s, name, name_len, data, len);
  if (s->ops->on_object == NULL || !s->ops->wants(s, data, len))
    return;
  s->scans++;
  (void)jscan_run(data, len, observe_object, s); /* malformed: what was read counts */
}

/* A request's objects: its JSON-RPC id and params.name (mcp.c reads both). */
static void request_object(void *ctx, const jscan_obj *o) {
  dialect_mcp_ops.on_object(ctx, o);
}

void dialect_note_request(dialect_stream *s, const char *body, size_t len) {
  static const char *const markers[] = {"\"jsonrpc\"", NULL};
  if (len == 0 || len > 65536 || !dialect_has_marker(body, len, markers))
    return;
  (void)jscan_run(body, len, request_object, s);
}

/* ---- the call table ------------------------------------------------------ */

void dialect_copy(char *dst, size_t cap, jscan_str v) {
  if (v.ptr == NULL || v.len >= cap)
    return;
  memcpy(dst, v.ptr, v.len);
  dst[v.len] = '\0';
}

void dialect_keep_rpc_id(dialect_stream *s, jscan_str id, int is_number) {
  dynbuf b;
  dialect_rpc *r;
  if (dialect_rpc_of(s)->rpc_id[0] != '\0' || id.ptr == NULL)
    return;
  r = dialect_rpc_mut(s);
  if (r == NULL)
    return;
  if (is_number) {
    dialect_copy(r->rpc_id, sizeof r->rpc_id, id);
    return;
  }
  dynbuf_init(&b, sizeof r->rpc_id);
  if (jsonw_string(&b, id.ptr, id.len) == 0) {
    memcpy(r->rpc_id, b.ptr, b.len);
    r->rpc_id[b.len] = '\0';
  }
  dynbuf_free(&b);
}

/* FNV-1a, 64 bits, as 16 hex digits: the key of a long id or a link. */
static void hash_key(const char *p, size_t len, char out[DIALECT_KEY_MAX + 1]) {
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  snprintf(out, DIALECT_KEY_MAX + 1, "%016llx", (unsigned long long)h);
}

static uint64_t fnv_add(uint64_t h, const char *p, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  h ^= 0xff; /* a separator no UTF-8 text holds */
  h *= 1099511628211ULL;
  return h;
}

/* The key of a result without a call id: a hash of its upstream link
 * (link_token, else magic_link_url), else of what it says (connector,
 * message, expires_at), so that the same result repeated is recognised. */
static void result_key(const detect_match *m, char out[DIALECT_KEY_MAX + 1]) {
  uint64_t h = 14695981039346656037ULL;
  if (m->link_token.ptr != NULL && m->link_token.len > 0) {
    h = fnv_add(h, "t", 1);
    h = fnv_add(h, m->link_token.ptr, m->link_token.len);
  } else if (m->magic_link_url.ptr != NULL && m->magic_link_url.len > 0) {
    h = fnv_add(h, "u", 1);
    h = fnv_add(h, m->magic_link_url.ptr, m->magic_link_url.len);
  } else {
    h = fnv_add(h, "r", 1);
    h = fnv_add(h, m->connector.ptr != NULL ? m->connector.ptr : "", m->connector.len);
    h = fnv_add(h, m->message.ptr != NULL ? m->message.ptr : "", m->message.len);
    h = fnv_add(h, m->expires_at.ptr != NULL ? m->expires_at.ptr : "", m->expires_at.len);
  }
  snprintf(out, DIALECT_KEY_MAX + 1, "%016llx", (unsigned long long)h);
}

/* The key of a call id: itself, or its hash when too long. Returns hashed. */
static int call_key(const char *id, size_t len, char out[DIALECT_KEY_MAX + 1]) {
  if (len <= DIALECT_KEY_MAX) {
    memcpy(out, id, len);
    out[len] = '\0';
    return 0;
  }
  hash_key(id, len, out);
  return 1;
}

static dialect_call *find_call(dialect_memory *m, const char *key, int hashed) {
  size_t i;
  if (key[0] == '\0')
    return NULL;
  for (i = 0; i < DIALECT_MAX_CALLS; i++) {
    if (m->calls[i].hashed == hashed && strcmp(m->calls[i].key, key) == 0)
      return &m->calls[i];
  }
  return NULL;
}

/* The entry of key, created (the oldest evicted) when absent. */
static dialect_call *add_call(dialect_memory *m, const char *key, int hashed) {
  dialect_call *c = find_call(m, key, hashed);
  size_t i;
  if (c != NULL)
    return c;
  c = &m->calls[0];
  for (i = 0; i < DIALECT_MAX_CALLS; i++) {
    if (m->calls[i].key[0] == '\0') {
      c = &m->calls[i];
      break;
    }
    if (m->calls[i].seq < c->seq)
      c = &m->calls[i];
  }
  memset(c, 0, sizeof *c);
  snprintf(c->key, sizeof c->key, "%s", key);
  c->hashed = (uint8_t)hashed;
  c->seq = ++m->next_seq;
  return c;
}

/* A connector slug, lower case, into out; 0, or -EINVAL when s is none. */
static int slug_lower(const char *p, size_t len, char out[DIALECT_SLUG_MAX + 1]) {
  size_t i;
  if (p == NULL || len == 0 || len > DIALECT_SLUG_MAX)
    return -EINVAL;
  for (i = 0; i < len; i++) {
    char ch = p[i];
    if (ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return -EINVAL;
    out[i] = ch;
  }
  out[len] = '\0';
  return 0;
}

void dialect_track(dialect_stream *s, jscan_str id, jscan_str tool_name) {
  char key[DIALECT_KEY_MAX + 1];
  char slug[DIALECT_SLUG_MAX + 1];
  detect_str found;
  dialect_memory *m;
  dialect_call *c;
  int hashed;
  if (id.ptr == NULL || id.len == 0 || tool_name.ptr == NULL)
    return;
  if (!detect_connector_from_tool_name(tool_name.ptr, tool_name.len, &found) ||
      slug_lower(found.ptr, found.len, slug) != 0)
    return;
  m = memory(s);
  if (m == NULL)
    return;
  hashed = call_key(id.ptr, id.len, key);
  c = add_call(m, key, hashed);
  if (c->connector[0] == '\0')
    memcpy(c->connector, slug, sizeof slug);
}

/* ---- deciding ------------------------------------------------------------ */

/* The trusted link of a call interrupted before, or NULL. */
static const dialect_link *earlier_link(dialect_memory *m, const char *key, int hashed) {
  dialect_call *c = find_call(m, key, hashed);
  if (c == NULL || !c->interrupted || c->link == 0)
    return NULL;
  return &m->links[c->link - 1];
}

/* The one connector the stream's tool calls name, or NULL (none, or
 * several: ambiguous). */
static const char *only_connector(const dialect_memory *m) {
  const char *found = NULL;
  size_t i;
  for (i = 0; i < DIALECT_MAX_CALLS; i++) {
    const char *c = m->calls[i].connector;
    if (c[0] == '\0')
      continue;
    if (found != NULL && strcmp(found, c) != 0)
      return NULL;
    found = c;
  }
  return found;
}

/* The connector of a detection: the result's, else the tool's of the same
 * call, else (a result without a call id: OpenAI chat content, A2A parts)
 * the tool's of the stream's calls when they all name one, else the one
 * the request's tool name names. */
static void decide_connector(dialect_stream *s, const detect_match *m, int has_call_id,
                             dialect_decision *d) {
  dialect_call *c;
  if (slug_lower(m->connector.ptr, m->connector.len, d->connector) == 0) {
    d->connector_from = "result";
    return;
  }
  if (s->mem != NULL && has_call_id) {
    c = find_call(s->mem, d->key, d->hashed);
    if (c != NULL && c->connector[0] != '\0') {
      memcpy(d->connector, c->connector, sizeof d->connector);
      d->connector_from = "tool_call";
      return;
    }
  }
  if (s->mem != NULL && !has_call_id && only_connector(s->mem) != NULL) {
    snprintf(d->connector, sizeof d->connector, "%s", only_connector(s->mem));
    d->connector_from = "stream_calls";
    return;
  }
  if (dialect_rpc_of(s)->request_connector[0] != '\0') {
    memcpy(d->connector, dialect_rpc_of(s)->request_connector, sizeof d->connector);
    d->connector_from = "request";
    return;
  }
  d->connector[0] = '\0';
  d->connector_from = "none";
}

void dialect_decide(dialect_stream *s, const detect_match *m, dialect_action on_detect,
                    dialect_decision *d) {
  int has_call_id;
  memset(d, 0, sizeof *d);
  s->settled = 1;
  d->action = on_detect;
  if (on_detect == DIALECT_REPLACE && !s->ops->replace_ok) {
    d->action = DIALECT_REWRITE; /* never withhold: numbered parts would shift */
    d->downgraded = 1;
  }
  result_key(m, d->link_key);
  has_call_id = m->tool_call_id.ptr != NULL && m->tool_call_id.len > 0;
  if (has_call_id) {
    d->hashed = call_key(m->tool_call_id.ptr, m->tool_call_id.len, d->key);
  } else {
    memcpy(d->key, d->link_key, sizeof d->key);
    d->hashed = 1;
  }
  decide_connector(s, m, has_call_id, d);
  d->pause = 1;
  if (s->mem != NULL) {
    d->link = earlier_link(s->mem, d->key, d->hashed);
    if (d->link == NULL)
      d->link = earlier_link(s->mem, d->link_key, 1);
    if (d->link != NULL)
      d->pause = 0;
  }
}

int dialect_note_interrupt(dialect_stream *s, const dialect_decision *d, const dialect_link *link) {
  dialect_memory *m = memory(s);
  unsigned used;
  unsigned slot;
  size_t i;
  dialect_call *c;
  if (m == NULL)
    return -ENOMEM;
  /* The same trusted link (streams on one (user, connector) share it) keeps its slot. */
  used = m->nlinks < DIALECT_MAX_LINKS ? m->nlinks : DIALECT_MAX_LINKS;
  for (slot = 0; slot < used; slot++) {
    if (strcmp(m->links[slot].link_token, link->link_token) == 0)
      break;
  }
  if (slot == used) {
    slot = m->nlinks % DIALECT_MAX_LINKS;
    if (m->nlinks >= DIALECT_MAX_LINKS) {
      for (i = 0; i < DIALECT_MAX_CALLS; i++) { /* the oldest link: its calls forget it */
        if (m->calls[i].link == slot + 1)
          m->calls[i].link = 0;
      }
    }
    m->nlinks++;
  }
  m->links[slot] = *link;
  if (d->key[0] != '\0') {
    c = add_call(m, d->key, d->hashed);
    c->interrupted = 1;
    c->link = (uint8_t)(slot + 1);
  }
  if (d->link_key[0] != '\0' && (strcmp(d->link_key, d->key) != 0 || !d->hashed)) {
    c = add_call(m, d->link_key, 1);
    c->interrupted = 1;
    c->link = (uint8_t)(slot + 1);
  }
  return 0;
}

/* ---- notices ------------------------------------------------------------- */

int dialect_render(dialect_stream *s, const dialect_notice *n, dynbuf *out) {
  dialect_out o = {out, 0};
  size_t mark = out->len;
  s->ops->render(s, n, &o);
  if (o.rc != 0) {
    out->len = mark;
    return o.rc;
  }
  s->notices++;
  return 0;
}
