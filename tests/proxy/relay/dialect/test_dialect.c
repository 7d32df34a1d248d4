/* test_dialect: the dialect layer's core (proxy/relay/dialect/dialect.c):
 * names, auto-detection from the head and the first events of each
 * protocol's real wire shapes, the per-stream call table (bounded, oldest
 * evicted), the decision rules (rewrite / replace only for generic / keep,
 * one pause per call id or per upstream link, connector inference) and the
 * cost of events without a marker (no parse). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dialect_test.h"
#include "jscan.h"

static void names_round_trip(void) {
  int id;
  dialect_id got;
  for (id = 0; id < DIALECT_COUNT; id++) {
    CHECK(dialect_parse(dialect_name((dialect_id)id), &got) == 0);
    CHECK(got == (dialect_id)id);
  }
  CHECK(strcmp(dialect_name(DIALECT_OPENAI_RESPONSES), "openai-responses") == 0);
  CHECK(strcmp(dialect_name(DIALECT_AI_SDK), "ai-sdk") == 0);
  CHECK(dialect_parse("openai", &got) == -EINVAL);
  CHECK(dialect_parse("", &got) == -EINVAL);
}

/* The first event of each protocol, as its servers send it. */
static dialect_id sniffed(const char *name, const char *data, const dialect_head *head) {
  dialect_stream s;
  dialect_id id;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, head);
  dialect_observe(&s, name, name != NULL ? strlen(name) : 0, data, strlen(data));
  id = dialect_current(&s);
  CHECK(s.settled);
  dialect_stream_close(&s);
  return id;
}

static void auto_detection(void) {
  dialect_head none = {0, 0};
  dialect_head ai = {1, 0};
  dialect_head tool = {0, 1};
  dialect_stream s;
  CHECK(sniffed("response.created",
                "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\","
                "\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}",
                &none) == DIALECT_OPENAI_RESPONSES);
  CHECK(sniffed("message_start",
                "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
                "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\"}}",
                &none) == DIALECT_ANTHROPIC);
  CHECK(sniffed(NULL,
                "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                "\"content\":\"\"},\"finish_reason\":null}]}",
                &none) == DIALECT_OPENAI_CHAT);
  CHECK(sniffed(NULL, "{\"type\":\"RUN_STARTED\",\"threadId\":\"t1\",\"runId\":\"r1\"}", &none) ==
        DIALECT_AG_UI);
  CHECK(sniffed(NULL,
                "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"result\":{\"kind\":\"task\",\"id\":\"task-1\","
                "\"contextId\":\"ctx-1\",\"status\":{\"state\":\"submitted\"}}}",
                &none) == DIALECT_A2A);
  CHECK(sniffed("message",
                "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\","
                "\"text\":\"hi\"}],\"isError\":false}}",
                &none) == DIALECT_MCP);
  CHECK(sniffed(NULL, "{\"type\":\"start\",\"messageId\":\"m1\"}", &ai) == DIALECT_AI_SDK);
  CHECK(sniffed(NULL, "{\"type\":\"start\",\"messageId\":\"m1\"}", &none) == DIALECT_AI_SDK);
  /* The head alone decides: the header, a tool route. */
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, &ai);
  CHECK(dialect_current(&s) == DIALECT_AI_SDK && s.settled);
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_JSON, &tool);
  CHECK(dialect_current(&s) == DIALECT_MCP && s.settled);
  /* A configured dialect is never sniffed. */
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, &ai);
  CHECK(dialect_current(&s) == DIALECT_GENERIC);
  dialect_observe(&s, "message_start", 13, "{\"type\":\"message_start\"}", 24);
  CHECK(dialect_current(&s) == DIALECT_GENERIC);
  dialect_stream_close(&s);
}

/* A stream whose first event is in no known dialect is generic for good:
 * DESIGN.md decides from the head and the first event. */
static void generic_fallback(void) {
  static const wire_event evs[] = {
      {"delta", "{\"type\":\"delta\",\"seq\":0,\"text\":\"Hel\"}"},
      {"message_start", "{\"type\":\"message_start\"}"}, /* too late to change anything */
      {"message", "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}"},
  };
  dialect_stream s;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  CHECK(!s.settled);
  observe_all(&s, evs, 1);
  CHECK(dialect_current(&s) == DIALECT_GENERIC && s.settled);
  observe_all(&s, evs + 1, 2);
  CHECK(dialect_current(&s) == DIALECT_GENERIC && s.sniffed == DIALECT_SNIFF_EVENTS);
  dialect_stream_close(&s);
  /* not JSON at all: generic too */
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  dialect_observe(&s, NULL, 0, "not json", 8);
  CHECK(dialect_current(&s) == DIALECT_GENERIC && s.settled);
  dialect_stream_close(&s);
}

/* The case: a magic-link result without a connector, whose tool
 * name came in an earlier event of the same call (OpenAI function_call). */
static void connector_from_the_call(void) {
  static const wire_event evs[] = {
      {"response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"output\":[]}}"},
      {"response.output_item.added",
       "{\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{"
       "\"id\":\"fc_1\",\"type\":\"function_call\",\"status\":\"in_progress\",\"arguments\":\"\","
       "\"call_id\":\"call_1\",\"name\":\"github__create_issue\"}}"},
  };
  static const char result[] =
      "{\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":1,\"item\":{"
      "\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{\\\"message\\\":\\\"Connect "
      "GitHub\\\",\\\"magic_link_url\\\":\\\"https://up.example/l/1\\\",\\\"link_token\\\":\\\"up_1\\\"}\"}}";
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, 2);
  CHECK(dialect_current(&s) == DIALECT_OPENAI_RESPONSES);
  m = match_of(&det, result);
  CHECK(m != NULL);
  if (m != NULL) {
    CHECK(m->connector.ptr == NULL); /* the result names none */
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(strcmp(d.connector, "github") == 0);
    CHECK(strcmp(d.connector_from, "tool_call") == 0);
    CHECK(strcmp(d.key, "call_1") == 0 && !d.hashed);
    CHECK(d.pause == 1 && d.action == DIALECT_REWRITE);
  }
  /* Without the earlier event: no connector (a picker link). */
  dialect_stream_close(&s);
  dialect_stream_init(&s, DIALECT_OPENAI_RESPONSES, DIALECT_FRAMING_SSE, NULL);
  m = match_of(&det, result);
  if (m != NULL) {
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(d.connector[0] == '\0' && strcmp(d.connector_from, "none") == 0);
  }
  dialect_stream_close(&s);
  detect_close(&det);
}

/* OpenAI's response.completed repeats every output item: the second
 * detection of the same call is rewritten with the same link, not paused. */
static void one_pause_per_call(void) {
  static const char done[] =
      "{\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":0,\"item\":{"
      "\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"{\\\"type\\\":"
      "\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"Slack\\\",\\\"link_token\\\":\\\"up_1\\\","
      "\\\"expires_at\\\":\\\"2026-12-05T03:00:00Z\\\"}\"}}";
  static const char completed[] =
      "{\"type\":\"response.completed\",\"sequence_number\":9,\"response\":{\"id\":\"resp_1\","
      "\"status\":\"completed\",\"output\":[{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
      "\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"Slack\\\","
      "\\\"link_token\\\":\\\"up_1\\\",\\\"expires_at\\\":\\\"2026-12-05T03:00:00Z\\\"}\"}]}}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  detect_t det;
  const detect_match *m;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_OPENAI_RESPONSES, DIALECT_FRAMING_SSE, NULL);
  if (decide_on(&s, done, DIALECT_REWRITE, &d) != 0)
    return;
  CHECK(d.pause == 1 && strcmp(d.connector, "slack") == 0 && strcmp(d.connector_from, "result") == 0);
  trusted_link(&l, "slack", "ltk_trusted1");
  CHECK(dialect_note_interrupt(&s, &d, &l) == 0);
  if (decide_on(&s, completed, DIALECT_REWRITE, &d) == 0) {
    CHECK(d.pause == 0);
    CHECK(d.link != NULL && strcmp(d.link->link_token, "ltk_trusted1") == 0);
  }
  /* keep: still no second pause, still keep. */
  m = match_of(&det, completed);
  if (m != NULL) {
    dialect_decide(&s, m, DIALECT_KEEP, &d);
    CHECK(d.pause == 0 && d.action == DIALECT_KEEP);
  }
  dialect_stream_close(&s);
  detect_close(&det);
}

/* No call id (an A2A artifact, an MCP result): the upstream link keys it. */
static void one_pause_per_upstream_link(void) {
  static const char artifact[] =
      "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"result\":{\"kind\":\"artifact-update\",\"taskId\":"
      "\"task-1\",\"contextId\":\"ctx-1\",\"artifact\":{\"artifactId\":\"a1\",\"parts\":[{\"kind\":"
      "\"data\",\"data\":{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":"
      "\"up_1\",\"expires_at\":\"2026-12-05T03:00:00Z\",\"message\":\"Connect Slack\"}}]}}}";
  static const char other[] =
      "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"result\":{\"kind\":\"artifact-update\",\"taskId\":"
      "\"task-1\",\"contextId\":\"ctx-1\",\"artifact\":{\"artifactId\":\"a2\",\"parts\":[{\"kind\":"
      "\"data\",\"data\":{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":"
      "\"up_2\"}}]}}}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  detect_t det;
  const detect_match *m;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_A2A, DIALECT_FRAMING_SSE, NULL);
  m = match_of(&det, artifact);
  if (m == NULL) {
    CHECK(m != NULL);
    return;
  }
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 1 && d.hashed && strlen(d.key) == 16 && strcmp(d.key, d.link_key) == 0);
  trusted_link(&l, "slack", "ltk_a");
  CHECK(dialect_note_interrupt(&s, &d, &l) == 0);
  m = match_of(&det, artifact);
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 0 && d.link != NULL && strcmp(d.link->link_token, "ltk_a") == 0);
  m = match_of(&det, other); /* another upstream link: another interrupt */
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 1);
  /* Neither a call id nor a link: what the result says keys it. */
  m = match_of(&det, "{\"type\":\"authenticate_meta\",\"Connector\":\"jira\",\"message\":\"m\"}");
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 1 && d.key[0] != '\0');
  trusted_link(&l, "jira", "ltk_j");
  CHECK(dialect_note_interrupt(&s, &d, &l) == 0);
  m = match_of(&det, "{\"Connector\":\"jira\",\"message\":\"m\",\"type\":\"authenticate_meta\"}");
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 0 && d.link != NULL && strcmp(d.link->link_token, "ltk_j") == 0);
  m = match_of(&det, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"message\":\"m\"}");
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 1); /* another connector: another result */
  dialect_stream_close(&s);
  detect_close(&det);
}

/* replace withholds only in generic streams; elsewhere it acts as rewrite. */
static void replace_only_for_generic(void) {
  static const char ev[] = "{\"type\":\"tool_result\",\"tool_call_id\":\"call_9\",\"result\":"
                           "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"up_9\"}}";
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  int id;
  detect_init(&det);
  m = match_of(&det, ev);
  CHECK(m != NULL);
  for (id = DIALECT_GENERIC; id < DIALECT_COUNT && m != NULL; id++) {
    dialect_stream_init(&s, (dialect_id)id, DIALECT_FRAMING_SSE, NULL);
    dialect_decide(&s, m, DIALECT_REPLACE, &d);
    if (id == DIALECT_GENERIC)
      CHECK(d.action == DIALECT_REPLACE && !d.downgraded);
    else
      CHECK(d.action == DIALECT_REWRITE && d.downgraded);
    dialect_decide(&s, m, DIALECT_KEEP, &d);
    CHECK(d.action == DIALECT_KEEP && !d.downgraded);
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(d.action == DIALECT_REWRITE && !d.downgraded);
    dialect_stream_close(&s);
  }
  detect_close(&det);
}

/* The call table keeps DIALECT_MAX_CALLS calls: the oldest goes first. */
static void call_table_is_bounded(void) {
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  char ev[256];
  int i;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_AI_SDK, DIALECT_FRAMING_SSE, NULL);
  for (i = 0; i < DIALECT_MAX_CALLS + 10; i++) {
    snprintf(ev, sizeof ev,
             "{\"type\":\"tool-input-available\",\"toolCallId\":\"call_%d\",\"toolName\":\"c%d__run\","
             "\"input\":{}}", i, i);
    dialect_observe(&s, NULL, 0, ev, strlen(ev));
  }
  CHECK(s.mem != NULL);
  /* call_0 .. call_9 were evicted, call_10 .. are known. */
  snprintf(ev, sizeof ev, "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_9\",\"output\":"
                          "{\"magic_link_url\":\"https://u/l\",\"link_token\":\"up\"}}");
  if (decide_on(&s, ev, DIALECT_REWRITE, &d) == 0) {
    CHECK(d.connector[0] == '\0');
  }
  snprintf(ev, sizeof ev, "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_10\",\"output\":"
                          "{\"magic_link_url\":\"https://u/l\",\"link_token\":\"up\"}}");
  m = match_of(&det, ev);
  if (m != NULL) {
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(strcmp(d.connector, "c10") == 0);
  }
  dialect_stream_close(&s);
  detect_close(&det);
}

/* A call id longer than DIALECT_KEY_MAX is kept as a hash and still found. */
static void long_call_ids(void) {
  char id[300];
  char ev[700];
  dialect_stream s;
  dialect_decision d;
  memset(id, 'x', sizeof id - 1);
  id[sizeof id - 1] = '\0';
  dialect_stream_init(&s, DIALECT_AG_UI, DIALECT_FRAMING_SSE, NULL);
  snprintf(ev, sizeof ev, "{\"type\":\"TOOL_CALL_START\",\"toolCallId\":\"%.200s\",\"toolCallName\":"
                          "\"notion__search\"}", id);
  dialect_observe(&s, NULL, 0, ev, strlen(ev));
  snprintf(ev, sizeof ev, "{\"type\":\"TOOL_CALL_RESULT\",\"messageId\":\"m2\",\"toolCallId\":\"%.200s\","
                          "\"content\":\"{\\\"magic_link_url\\\":\\\"https://u/l\\\",\\\"link_token\\\":\\\"up\\\"}\"}", id);
  if (decide_on(&s, ev, DIALECT_REWRITE, &d) == 0) {
    CHECK(d.hashed && strcmp(d.connector, "notion") == 0);
  }
  dialect_stream_close(&s);
}

/* Trusted links: up to DIALECT_MAX_LINKS; a call whose link was dropped
 * pauses again rather than be rewritten with nothing. */
static void links_are_bounded(void) {
  static const char fmt[] = "{\"type\":\"tool_result\",\"tool_call_id\":\"call_%d\",\"result\":"
                            "{\"type\":\"authenticate_meta\",\"Connector\":\"c%d\",\"link_token\":\"up_%d\"}}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  detect_t det;
  const detect_match *m;
  char ev[256];
  char token[32];
  int i;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, NULL);
  for (i = 0; i < DIALECT_MAX_LINKS + 1; i++) {
    snprintf(ev, sizeof ev, fmt, i, i, i);
    m = match_of(&det, ev);
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(d.pause == 1);
    snprintf(token, sizeof token, "ltk_%d", i);
    trusted_link(&l, d.connector, token);
    CHECK(dialect_note_interrupt(&s, &d, &l) == 0);
  }
  snprintf(ev, sizeof ev, fmt, 0, 0, 0);
  m = match_of(&det, ev);
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 1 && d.link == NULL); /* its link was the oldest */
  snprintf(ev, sizeof ev, fmt, 1, 1, 1);
  m = match_of(&det, ev);
  dialect_decide(&s, m, DIALECT_REWRITE, &d);
  CHECK(d.pause == 0 && d.link != NULL && strcmp(d.link->link_token, "ltk_1") == 0);
  dialect_stream_close(&s);
  detect_close(&det);
}

/* Events without a marker are never parsed, and the stream allocates
 * nothing until a tool call shows up. */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A token event of a generic, an AI SDK and an OpenAI Responses stream. */
static void token_event(char *ev, size_t cap, size_t shape, int i) {
  if (shape == 0)
    snprintf(ev, cap, "{\"type\":\"delta\",\"seq\":%d,\"text\":\"token %d\"}", i, i);
  else if (shape == 1)
    snprintf(ev, cap, "{\"type\":\"text-delta\",\"id\":\"t%d\",\"delta\":\"token %d\"}", i, i);
  else
    snprintf(ev, cap, "{\"type\":\"response.output_text.delta\",\"sequence_number\":%d,\"item_id\":"
                      "\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"token %d\","
                      "\"logprobs\":[]}", i, i);
}

static void idle_events_stay_cheap(void) {
  static const dialect_id ids[] = {DIALECT_AUTO, DIALECT_AI_SDK, DIALECT_OPENAI_RESPONSES};
  dialect_stream s;
  char ev[256];
  size_t k;
  int i;
  for (k = 0; k < 3; k++) {
    double t0;
    dialect_stream_init(&s, ids[k], DIALECT_FRAMING_SSE, NULL);
    t0 = now_ns();
    for (i = 0; i < 100000; i++) {
      token_event(ev, sizeof ev, k, i);
      dialect_observe(&s, "delta", 5, ev, strlen(ev));
    }
    /* not a pass/fail: the figure for the report (snprintf included) */
    printf("bench: %s token events: %.0f ns/event\n", dialect_name(dialect_current(&s)),
           (now_ns() - t0) / 100000.0);
    CHECK_EQ_U64(s.events, 100000);
    CHECK_EQ_U64(s.scans, 0);
    CHECK(s.mem == NULL);
    dialect_stream_close(&s);
  }
}

static void on_nothing(void *ctx, const jscan_obj *o) {
  (void)ctx;
  (void)o;
}

/* Hostile events: malformed, deep, huge ids, no crash and nothing tracked
 * from a text that is not JSON. */
static void hostile_events(void) {
  static char deep[4096];
  dialect_stream s;
  size_t i;
  dialect_stream_init(&s, DIALECT_GENERIC, DIALECT_FRAMING_SSE, NULL);
  dialect_observe(&s, NULL, 0, "{\"call_id\":\"c1\",\"name\":\"slack__x\"", 33);
  for (i = 0; i < 1000; i++)
    deep[i] = '[';
  memcpy(deep + 1000, "{\"call_id\":\"c2\",\"name\":\"slack__x\"}", 34);
  for (i = 1034; i < 2034; i++)
    deep[i] = ']';
  CHECK(jscan_run(deep, 2034, on_nothing, NULL) == 0); /* valid JSON, only too deep */
  dialect_observe(&s, NULL, 0, deep, 2034);
  CHECK(s.scans == 2);
  CHECK(s.mem == NULL); /* the object never closed; the other was too deep */
  dialect_observe(&s, NULL, 0, "{\"call_id\":12,\"name\":[\"slack__x\"]}", 34);
  dialect_stream_close(&s);
}

/* jscan, the object scanner under the dialects. */
typedef struct seen {
  int objects;
  int deepest;
  int id_number;
  char id[300];
  char fname[64];
} seen;

static void on_obj(void *ctx, const jscan_obj *o) {
  seen *sn = ctx;
  sn->objects++;
  if ((int)o->depth > sn->deepest)
    sn->deepest = (int)o->depth;
  if (o->f[JSCAN_ID].ptr != NULL && sn->id[0] == '\0') {
    snprintf(sn->id, sizeof sn->id, "%.*s", (int)o->f[JSCAN_ID].len, o->f[JSCAN_ID].ptr);
    sn->id_number = (o->flags & JSCAN_ID_IS_NUMBER) != 0;
  }
  if (o->f[JSCAN_FUNCTION_NAME].ptr != NULL)
    snprintf(sn->fname, sizeof sn->fname, "%.*s", (int)o->f[JSCAN_FUNCTION_NAME].len,
             o->f[JSCAN_FUNCTION_NAME].ptr);
}

static void jscan_bounds(void) {
  static const char nested[] = "{\"id\":42,\"a\":{\"function\":{\"name\":\"x__y\"},\"id\":\"c\"}}";
  static char text[8192];
  seen sn;
  size_t n = 0;
  int i;
  memset(&sn, 0, sizeof sn);
  CHECK(jscan_run(nested, strlen(nested), on_obj, &sn) == 0);
  CHECK(sn.objects == 3 && strcmp(sn.id, "c") == 0 && !sn.id_number && strcmp(sn.fname, "x__y") == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(jscan_run("{\"id\":-1.5e3}", 13, on_obj, &sn) == 0);
  CHECK(strcmp(sn.id, "-1.5e3") == 0 && sn.id_number);
  /* A value longer than JSCAN_VALUE_MAX is not captured. */
  memset(&sn, 0, sizeof sn);
  n = (size_t)snprintf(text, sizeof text, "{\"id\":\"");
  memset(text + n, 'i', JSCAN_VALUE_MAX + 1);
  n += JSCAN_VALUE_MAX + 1;
  n += (size_t)snprintf(text + n, sizeof text - n, "\"}");
  CHECK(jscan_run(text, n, on_obj, &sn) == 0);
  CHECK(sn.objects == 1 && sn.id[0] == '\0');
  /* Objects deeper than JSCAN_MAX_DEPTH are parsed, not reported. */
  memset(&sn, 0, sizeof sn);
  n = 0;
  for (i = 0; i < 40; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"a\":");
  n += (size_t)snprintf(text + n, sizeof text - n, "1");
  for (i = 0; i < 40; i++)
    text[n++] = '}';
  CHECK(jscan_run(text, n, on_obj, &sn) == 0);
  CHECK(sn.objects == JSCAN_MAX_DEPTH && sn.deepest == JSCAN_MAX_DEPTH);
  /* Malformed: -EINVAL, objects closed before the error were reported. */
  memset(&sn, 0, sizeof sn);
  CHECK(jscan_run("[{\"id\":1},{\"id\":", 17, on_obj, &sn) == -EINVAL);
  CHECK(sn.objects == 1);
  CHECK(jscan_run("{} {}", 5, on_obj, &sn) == -EINVAL);
  CHECK(jscan_run("{\"id\":\"\xff\"}", 10, on_obj, &sn) == -EINVAL); /* invalid UTF-8 */
}

int main(void) {
  RUN(jscan_bounds);
  RUN(names_round_trip);
  RUN(auto_detection);
  RUN(generic_fallback);
  RUN(connector_from_the_call);
  RUN(one_pause_per_call);
  RUN(one_pause_per_upstream_link);
  RUN(replace_only_for_generic);
  RUN(call_table_is_bounded);
  RUN(long_call_ids);
  RUN(links_are_bounded);
  RUN(idle_events_stay_cheap);
  RUN(hostile_events);
  return unit_report();
}
