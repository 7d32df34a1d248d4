/* events: rendering of GET /stream bodies. See events.h for the shapes. */
#include "events.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char PAD_PATTERN[] = " lorem ipsum dolor sit amet, consectetur adipiscing elit";

int ev_parse_format(const char *s, enum ev_format *out) {
  if (strcmp(s, "sse") == 0)
    *out = EV_SSE;
  else if (strcmp(s, "ndjson") == 0)
    *out = EV_NDJSON;
  else if (strcmp(s, "json") == 0)
    *out = EV_JSON;
  else
    return -1;
  return 0;
}

int ev_parse_shape(const char *s, enum ev_shape *out) {
  if (strcmp(s, "authenticate_meta") == 0)
    *out = EV_AUTHENTICATE_META;
  else if (strcmp(s, "magic_link") == 0)
    *out = EV_MAGIC_LINK;
  else if (strcmp(s, "mcp") == 0)
    *out = EV_MCP;
  else if (strcmp(s, "openai") == 0)
    *out = EV_OPENAI;
  else if (strcmp(s, "vercel") == 0)
    *out = EV_VERCEL;
  else
    return -1;
  return 0;
}

const char *ev_content_type(enum ev_format f) {
  switch (f) {
  case EV_SSE:
    return "text/event-stream";
  case EV_NDJSON:
    return "application/x-ndjson";
  case EV_JSON:
    break;
  }
  return "application/json";
}

static unsigned long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* The members every event carries after "type": seq, stream, ts. */
static void common_members(const ev_spec *s, long seq, buf_t *out) {
  buf_printf(out, ",\"seq\":%ld", seq);
  if (s->has_stream_id)
    buf_printf(out, ",\"stream\":%lld", s->stream_id);
  if (s->ts) {
    /* JSON allows whitespace before a value: fixed width keeps lengths stable. */
    if (s->ts_fixed)
      buf_printf(out, ",\"ts\":%20llu", mono_ns());
    else
      buf_printf(out, ",\"ts\":%llu", mono_ns());
  }
}

static void normal_event(const ev_spec *s, long seq, buf_t *out) {
  size_t start = out->len;
  buf_puts(out, "{\"type\":\"delta\"");
  common_members(s, seq, out);
  buf_printf(out, ",\"text\":\"Hello from the agent, part %ld.", seq);
  size_t now = out->len - start + 2; /* + closing "} */
  if (s->size > 0 && (size_t)s->size > now)
    buf_pad(out, PAD_PATTERN, (size_t)s->size - now);
  buf_puts(out, "\"}");
}

/* The auth-required tool result itself (not yet wrapped). */
static void auth_payload(const ev_spec *s, int magic, buf_t *out) {
  char msg[128];
  char name[64];
  snprintf(name, sizeof name, "%s", s->connector);
  name[0] = (char)toupper((unsigned char)name[0]);
  snprintf(msg, sizeof msg, "Please connect %s to continue.", name);
  if (magic) {
    buf_puts(out, "{\"message\":");
    buf_json_str(out, msg, strlen(msg));
    buf_puts(out, ",\"magic_link_url\":\"https://agent.example.com/link/");
    buf_puts(out, s->link_token);
    buf_puts(out, "\",\"link_token\":");
    buf_json_str(out, s->link_token, strlen(s->link_token));
    buf_puts(out, "}");
    return;
  }
  buf_puts(out, "{\"type\":\"authenticate_meta\",\"Connector\":");
  buf_json_str(out, s->connector, strlen(s->connector));
  buf_puts(out, ",\"link_token\":");
  buf_json_str(out, s->link_token, strlen(s->link_token));
  buf_puts(out, ",\"expires_at\":");
  buf_json_str(out, s->expires_at, strlen(s->expires_at));
  buf_puts(out, ",\"message\":");
  buf_json_str(out, msg, strlen(msg));
  buf_puts(out, "}");
}

static void auth_event(const ev_spec *s, long seq, buf_t *out) {
  buf_t inner = {0};
  auth_payload(s, s->shape == EV_MAGIC_LINK, &inner);
  switch (s->shape) {
  case EV_AUTHENTICATE_META:
  case EV_MAGIC_LINK:
    buf_puts(out, "{\"type\":\"tool_result\"");
    common_members(s, seq, out);
    buf_printf(out, ",\"tool_call_id\":\"call_%ld\",\"tool_name\":\"%s__send_message\",\"result\":", seq,
               s->connector);
    buf_append(out, inner.p, inner.len);
    buf_puts(out, "}");
    break;
  case EV_MCP:
    buf_printf(out, "{\"jsonrpc\":\"2.0\",\"id\":%ld", seq);
    common_members(s, seq, out);
    buf_puts(out, ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
    buf_json_str(out, inner.p, inner.len);
    buf_puts(out, "}],\"isError\":false}}");
    break;
  case EV_OPENAI:
    buf_puts(out, "{\"type\":\"function_call_output\"");
    common_members(s, seq, out);
    buf_printf(out, ",\"call_id\":\"call_%ld\",\"output\":", seq);
    buf_json_str(out, inner.p, inner.len);
    buf_puts(out, "}");
    break;
  case EV_VERCEL:
    buf_puts(out, "{\"type\":\"tool-output-available\"");
    common_members(s, seq, out);
    buf_printf(out, ",\"toolCallId\":\"call_%ld\",\"output\":", seq);
    buf_append(out, inner.p, inner.len);
    buf_puts(out, "}");
    break;
  }
  buf_free(&inner);
}

static const char *auth_sse_event(enum ev_shape shape) {
  switch (shape) {
  case EV_MCP:
    return "message";
  case EV_OPENAI:
    return "response.output_item.done";
  case EV_VERCEL:
    return NULL;
  case EV_AUTHENTICATE_META:
  case EV_MAGIC_LINK:
    break;
  }
  return "tool_result";
}

static void done_event(const ev_spec *s, buf_t *out) {
  buf_puts(out, "{\"type\":\"done\"");
  if (s->has_stream_id)
    buf_printf(out, ",\"stream\":%lld", s->stream_id);
  buf_printf(out, ",\"events\":%ld}", s->count);
}

static void json_prefix(const ev_spec *s, buf_t *out) {
  buf_puts(out, "{\"type\":\"response\"");
  if (s->has_stream_id)
    buf_printf(out, ",\"stream\":%lld", s->stream_id);
  buf_puts(out, ",\"events\":[");
}

int ev_render_piece(const ev_spec *s, long i, buf_t *out) {
  if (i >= s->count) { /* trailer */
    switch (s->format) {
    case EV_SSE:
      if (s->sse_ids)
        buf_printf(out, "id: %ld\n", s->count);
      buf_puts(out, "event: done\ndata: ");
      done_event(s, out);
      buf_puts(out, "\n\n");
      break;
    case EV_NDJSON:
      done_event(s, out);
      buf_puts(out, "\n");
      break;
    case EV_JSON:
      if (s->count == 0)
        json_prefix(s, out);
      buf_printf(out, "],\"count\":%ld}\n", s->count);
      break;
    }
    return 0;
  }
  int auth = s->auth_at >= 0 && i == s->auth_at;
  switch (s->format) {
  case EV_SSE: {
    if (s->sse_ids)
      buf_printf(out, "id: %ld\n", i);
    const char *name = auth ? auth_sse_event(s->shape) : "delta";
    if (name)
      buf_printf(out, "event: %s\n", name);
    buf_puts(out, "data: ");
    break;
  }
  case EV_NDJSON:
    break;
  case EV_JSON:
    if (i == 0)
      json_prefix(s, out);
    else
      buf_puts(out, ",");
    break;
  }
  if (auth)
    auth_event(s, i, out);
  else
    normal_event(s, i, out);
  if (s->format == EV_SSE)
    buf_puts(out, "\n\n");
  else if (s->format == EV_NDJSON)
    buf_puts(out, "\n");
  return auth;
}
