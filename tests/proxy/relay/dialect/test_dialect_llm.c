/* test_dialect_llm: the LLM API dialects (dialect/openai_responses.c,
 * openai_chat.c, anthropic.c) on the wire shapes of the stand-ins in
 * tests/integration/dialects/llm (as the APIs send them): sniffing, the tool
 * call each auth result belongs to (connector inference, one pause per call
 * although response.completed repeats the item), and notices that add no
 * event an SDK would read: SSE comments only, and for relay_error the
 * API's own error event (the stream ends there). */
#include <stdio.h>
#include <string.h>

#include "dialect_test.h"

#define MAGIC_OUTPUT                                                                            \
  "\"{\\\"message\\\":\\\"Slack is not connected for this user. Open the link to connect it.\\\"," \
  "\\\"magic_link_url\\\":\\\"https://connect.agent-handler.example/link/upstream-own-link-token-7f3a9c2e\\\"," \
  "\\\"link_token\\\":\\\"upstream-own-link-token-7f3a9c2e\\\"}\""

static const wire_event responses_function[] = {
    {"response.created", "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":"
                         "\"resp_standin_function\",\"object\":\"response\",\"created_at\":1764900000,"
                         "\"status\":\"in_progress\",\"output\":[]}}"},
    {"response.in_progress", "{\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{"
                             "\"id\":\"resp_standin_function\",\"status\":\"in_progress\",\"output\":[]}}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":"
     "\"fc_68a1b2c3d4e5f6\",\"type\":\"function_call\",\"status\":\"in_progress\",\"arguments\":\"\","
     "\"call_id\":\"call_q7Zl2mK9xWv4\",\"name\":\"slack__send_message\"}}"},
    {"response.function_call_arguments.delta",
     "{\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":3,\"item_id\":"
     "\"fc_68a1b2c3d4e5f6\",\"output_index\":0,\"delta\":\"{\\\"channel\\\":\"}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"sequence_number\":7,\"output_index\":1,\"item\":{\"id\":"
     "\"fco_68a1b2c3d4e5f7\",\"type\":\"function_call_output\",\"call_id\":\"call_q7Zl2mK9xWv4\","
     "\"output\":\"\",\"status\":\"in_progress\"}}"},
};

static const char responses_function_done[] =
    "{\"type\":\"response.output_item.done\",\"sequence_number\":8,\"output_index\":1,\"item\":{\"id\":"
    "\"fco_68a1b2c3d4e5f7\",\"type\":\"function_call_output\",\"call_id\":\"call_q7Zl2mK9xWv4\","
    "\"output\":" MAGIC_OUTPUT ",\"status\":\"completed\"}}";

static const char responses_completed[] =
    "{\"type\":\"response.completed\",\"sequence_number\":16,\"response\":{\"id\":\"resp_standin_function\","
    "\"object\":\"response\",\"status\":\"completed\",\"output\":[{\"id\":\"fc_68a1b2c3d4e5f6\",\"type\":"
    "\"function_call\",\"status\":\"completed\",\"arguments\":\"{}\",\"call_id\":\"call_q7Zl2mK9xWv4\","
    "\"name\":\"slack__send_message\"},{\"id\":\"fco_68a1b2c3d4e5f7\",\"type\":\"function_call_output\","
    "\"call_id\":\"call_q7Zl2mK9xWv4\",\"output\":" MAGIC_OUTPUT ",\"status\":\"completed\"}]}}";

/* The OpenAI case: the result names no connector, the function_call
 * item did; response.completed repeats it and must not pause again. */
static void openai_responses_function_call(void) {
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, responses_function, sizeof responses_function / sizeof responses_function[0]);
  CHECK(dialect_current(&s) == DIALECT_OPENAI_RESPONSES);
  CHECK_EQ_U64(s.scans, 2); /* the two items with a call_id; the deltas are not parsed */
  dialect_observe(&s, "response.output_item.done", 25, responses_function_done,
                  strlen(responses_function_done));
  if (decide_on(&s, responses_function_done, DIALECT_REPLACE, &d) != 0)
    return;
  CHECK(d.action == DIALECT_REWRITE && d.downgraded); /* numbered: never withheld */
  CHECK(d.pause == 1 && strcmp(d.connector, "slack") == 0 && strcmp(d.connector_from, "tool_call") == 0);
  trusted_link(&l, d.connector, "ltk_0123");
  CHECK(dialect_note_interrupt(&s, &d, &l) == 0);
  if (decide_on(&s, responses_completed, DIALECT_REWRITE, &d) == 0) {
    CHECK(d.pause == 0 && d.link != NULL && strcmp(d.link->link_token, "ltk_0123") == 0);
  }
  dialect_stream_close(&s);
}

/* mcp_call: the output sits in the item that names the tool. */
static void openai_responses_mcp_call(void) {
  static const char added[] =
      "{\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":"
      "\"mcp_68a1b2c3d4e5f8\",\"type\":\"mcp_call\",\"approval_request_id\":null,\"arguments\":\"\","
      "\"error\":null,\"name\":\"slack__send_message\",\"output\":null,\"server_label\":\"agent_handler\","
      "\"status\":\"in_progress\"}}";
  dialect_stream s;
  dialect_stream_init(&s, DIALECT_OPENAI_RESPONSES, DIALECT_FRAMING_SSE, NULL);
  dialect_observe(&s, "response.output_item.added", 26, added, strlen(added));
  CHECK(s.mem != NULL && strcmp(s.mem->calls[0].key, "mcp_68a1b2c3d4e5f8") == 0 &&
        strcmp(s.mem->calls[0].connector, "slack") == 0);
  dialect_stream_close(&s);
}

static void openai_chat(void) {
  static const wire_event evs[] = {
      {NULL, "{\"id\":\"chatcmpl-standin0001\",\"object\":\"chat.completion.chunk\",\"created\":1764900000,"
             "\"model\":\"gpt-4.1-mini-2025-04-14\",\"service_tier\":\"default\",\"system_fingerprint\":"
             "\"fp_standin01\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
             "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}"},
      {NULL, "{\"id\":\"chatcmpl-standin0001\",\"object\":\"chat.completion.chunk\",\"created\":1764900000,"
             "\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
             "\"index\":0,\"id\":\"call_Hn3uV8sQeR1t\",\"type\":\"function\",\"function\":{\"name\":"
             "\"slack__send_message\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}"},
      {NULL, "{\"id\":\"chatcmpl-standin0001\",\"object\":\"chat.completion.chunk\",\"created\":1764900000,"
             "\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
             "\"index\":0,\"function\":{\"arguments\":\"{\\\"channel\\\":\"}}]},\"logprobs\":null,"
             "\"finish_reason\":null}]}"},
  };
  static const char content[] =
      "{\"id\":\"chatcmpl-standin0001\",\"object\":\"chat.completion.chunk\",\"created\":1764900000,"
      "\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" MAGIC_OUTPUT
      "},\"logprobs\":null,\"finish_reason\":null}]}";
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, 3);
  CHECK(dialect_current(&s) == DIALECT_OPENAI_CHAT);
  CHECK(s.mem != NULL && strcmp(s.mem->calls[0].key, "call_Hn3uV8sQeR1t") == 0 &&
        strcmp(s.mem->calls[0].connector, "slack") == 0);
  m = match_of(&det, content);
  CHECK(m != NULL);
  if (m != NULL) {
    /* No call id in content: the stream's only tool call names the connector. */
    dialect_decide(&s, m, DIALECT_REPLACE, &d);
    CHECK(d.action == DIALECT_REWRITE && d.hashed);
    CHECK(strcmp(d.connector, "slack") == 0 && strcmp(d.connector_from, "stream_calls") == 0);
  }
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"),
               ": authrelay {\"type\":\"auth_complete\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "data: {\"error\":{\"type\":\"relay_error\",\"code\":\"503\",\"message\":"
               "\"authrelay is restarting\"}}\n\n");
  dialect_stream_close(&s);
  detect_close(&det);
}

/* Two tool calls for different connectors: a result without a call id is
 * ambiguous, so no connector (a picker link) rather than a guess. */
static void openai_chat_ambiguous(void) {
  static const char fmt[] =
      "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
      "\"index\":%d,\"id\":\"call_%d\",\"type\":\"function\",\"function\":{\"name\":\"%s__run\","
      "\"arguments\":\"\"}}]}}]}";
  static const char content[] = "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                                "\"delta\":{\"content\":" MAGIC_OUTPUT "}}]}";
  char ev[512];
  dialect_stream s;
  dialect_decision d;
  detect_t det;
  const detect_match *m;
  detect_init(&det);
  dialect_stream_init(&s, DIALECT_OPENAI_CHAT, DIALECT_FRAMING_SSE, NULL);
  snprintf(ev, sizeof ev, fmt, 0, 0, "slack");
  dialect_observe(&s, NULL, 0, ev, strlen(ev));
  snprintf(ev, sizeof ev, fmt, 1, 1, "github");
  dialect_observe(&s, NULL, 0, ev, strlen(ev));
  m = match_of(&det, content);
  if (m != NULL) {
    dialect_decide(&s, m, DIALECT_REWRITE, &d);
    CHECK(d.connector[0] == '\0' && strcmp(d.connector_from, "none") == 0);
  }
  CHECK(m != NULL);
  dialect_stream_close(&s);
  detect_close(&det);
}

static void anthropic(void) {
  static const wire_event evs[] = {
      {"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01StandinQ9m3nT7vWx\","
                        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
                        "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
                        "\"input_tokens\":412,\"output_tokens\":1}}}"},
      {"ping", "{\"type\":\"ping\"}"},
      {"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
                              "\"type\":\"text\",\"text\":\"\"}}"},
      {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
      {"content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
                              "\"type\":\"mcp_tool_use\",\"id\":\"mcptoolu_01Xq8ZtT3r5pV9bW\",\"name\":"
                              "\"slack__send_message\",\"server_name\":\"agent-handler\",\"input\":{}}}"},
      {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
                              "\"input_json_delta\",\"partial_json\":\"{\\\"channel\\\":\"}}"},
  };
  static const char result[] =
      "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"mcp_tool_result\","
      "\"tool_use_id\":\"mcptoolu_01Xq8ZtT3r5pV9bW\",\"is_error\":false,\"content\":[{\"type\":\"text\","
      "\"text\":" MAGIC_OUTPUT "}]}}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, sizeof evs / sizeof evs[0]);
  CHECK(dialect_current(&s) == DIALECT_ANTHROPIC);
  CHECK_EQ_U64(s.scans, 1);
  if (decide_on(&s, result, DIALECT_REPLACE, &d) == 0) {
    CHECK(d.action == DIALECT_REWRITE && d.pause == 1);
    CHECK(strcmp(d.connector, "slack") == 0 && strcmp(d.connector_from, "tool_call") == 0);
    CHECK(strcmp(d.key, "mcptoolu_01Xq8ZtT3r5pV9bW") == 0);
  }
  trusted_link(&l, "slack", "ltk_9");
  CHECK_RENDER(&s, link_notice(&l, NULL),
               ": authrelay {\"type\":\"link_token\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\","
               "\"link_token\":\"ltk_9\",\"magic_link_url\":\"http://relay.test/_authrelay/link/ltk_9\","
               "\"expires_at\":\"2026-12-05T03:00:00Z\",\"message\":\"Please connect slack to continue.\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_HEARTBEAT, NULL), ": paused\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
               "\"authrelay is restarting\"}}\n\n");
  dialect_stream_close(&s);
}

static void openai_responses_notices(void) {
  dialect_stream s;
  dialect_link l;
  dialect_notice n;
  trusted_link(&l, "slack", "ltk_9");
  dialect_stream_init(&s, DIALECT_OPENAI_RESPONSES, DIALECT_FRAMING_SSE, NULL);
  /* A message with a line break stays one comment line. */
  n = link_notice(&l, "line one\nline two\r");
  CHECK_RENDER(&s, n,
               ": authrelay {\"type\":\"link_token\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\","
               "\"link_token\":\"ltk_9\",\"magic_link_url\":\"http://relay.test/_authrelay/link/ltk_9\","
               "\"expires_at\":\"2026-12-05T03:00:00Z\",\"message\":\"line one\\nline two\\r\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_LINK_EXPIRED, "slack"),
               ": authrelay {\"type\":\"link_expired\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "event: error\ndata: {\"type\":\"error\",\"code\":\"relay_error\",\"message\":"
               "\"authrelay is restarting\",\"param\":null}\n\n");
  dialect_stream_close(&s);
  /* NDJSON has no comments: nothing. */
  dialect_stream_init(&s, DIALECT_OPENAI_RESPONSES, DIALECT_FRAMING_NDJSON, NULL);
  CHECK_RENDER(&s, link_notice(&l, NULL), "");
  dialect_stream_close(&s);
}

int main(void) {
  RUN(openai_responses_function_call);
  RUN(openai_responses_mcp_call);
  RUN(openai_responses_notices);
  RUN(openai_chat);
  RUN(openai_chat_ambiguous);
  RUN(anthropic);
  return unit_report();
}
