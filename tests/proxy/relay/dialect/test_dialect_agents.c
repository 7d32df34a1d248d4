/* test_dialect_agents: the agent protocol dialects (dialect/ai_sdk.c,
 * ag_ui.c, a2a.c, mcp.c) on the wire shapes of the stand-ins in
 * tests/integration/dialects (llm/ for the AI SDK, agents/ for AG-UI, A2A
 * v0.3 and v1.0, MCP): sniffing, tool calls and ids taken from the stream,
 * and notices in each protocol's own carrier, byte for byte: AI SDK
 * transient data parts and its error part, AG-UI CUSTOM events and
 * RUN_ERROR, A2A status updates on the request's id with the stream's
 * taskId/contextId (auth-required, then working; failed on relay_error),
 * MCP comments only. */
#include <stdio.h>
#include <string.h>

#include "dialect_test.h"

#define MAGIC_TEXT                                                                               \
  "\"{\\\"message\\\":\\\"Slack is not connected.\\\",\\\"magic_link_url\\\":"                    \
  "\\\"https://connect.agent-handler.example/link/upstream-own\\\",\\\"link_token\\\":\\\"upstream-own\\\"}\""

static void ai_sdk(void) {
  static const wire_event evs[] = {
      {NULL, "{\"type\":\"start\"}"},
      {NULL, "{\"type\":\"start-step\"}"},
      {NULL, "{\"type\":\"tool-input-start\",\"toolCallId\":\"call_Bv5rK2pL8nYq\",\"toolName\":\"slack__send_message\"}"},
      {NULL, "{\"type\":\"tool-input-delta\",\"toolCallId\":\"call_Bv5rK2pL8nYq\",\"inputTextDelta\":\"{\\\"chan\"}"},
      {NULL, "{\"type\":\"tool-input-available\",\"toolCallId\":\"call_Bv5rK2pL8nYq\",\"toolName\":"
             "\"slack__send_message\",\"input\":{\"channel\":\"#general\",\"text\":\"The release is out.\"}}"},
  };
  static const char output[] =
      "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_Bv5rK2pL8nYq\",\"output\":{\"message\":"
      "\"Slack is not connected.\",\"magic_link_url\":\"https://connect.agent-handler.example/link/x\","
      "\"link_token\":\"x\"}}";
  dialect_head head = {1, 0};
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, &head);
  observe_all(&s, evs, sizeof evs / sizeof evs[0]);
  CHECK(dialect_current(&s) == DIALECT_AI_SDK);
  CHECK_EQ_U64(s.scans, 2); /* tool-input-start and -available; not the delta */
  if (decide_on(&s, output, DIALECT_REPLACE, &d) == 0) {
    CHECK(d.action == DIALECT_REWRITE && strcmp(d.connector, "slack") == 0 &&
          strcmp(d.connector_from, "tool_call") == 0);
  }
  trusted_link(&l, "slack", "ltk_1");
  CHECK_RENDER(&s, link_notice(&l, "Please connect Slack to continue."),
               "data: {\"type\":\"data-link_token\",\"data\":{\"type\":\"link_token\",\"stream_id\":"
               "\"st_0_000001\",\"connector\":\"slack\",\"link_token\":\"ltk_1\",\"magic_link_url\":"
               "\"http://relay.test/_authrelay/link/ltk_1\",\"expires_at\":\"2026-12-05T03:00:00Z\","
               "\"message\":\"Please connect Slack to continue.\"},\"transient\":true}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"),
               "data: {\"type\":\"data-auth_complete\",\"data\":{\"type\":\"auth_complete\",\"stream_id\":"
               "\"st_0_000001\",\"connector\":\"slack\"},\"transient\":true}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_DECLINED, "slack"),
               "data: {\"type\":\"data-auth_declined\",\"data\":{\"type\":\"auth_declined\",\"stream_id\":"
               "\"st_0_000001\",\"connector\":\"slack\"},\"transient\":true}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "data: {\"type\":\"error\",\"errorText\":\"authrelay is restarting\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_HEARTBEAT, NULL), ": paused\n\n");
  dialect_stream_close(&s);
}

static void ag_ui(void) {
  static const wire_event evs[] = {
      {NULL, "{\"type\":\"RUN_STARTED\",\"threadId\":\"th_1\",\"runId\":\"run_1\"}"},
      {NULL, "{\"type\":\"TEXT_MESSAGE_START\",\"messageId\":\"msg_1\",\"role\":\"assistant\"}"},
      {NULL, "{\"type\":\"TEXT_MESSAGE_CONTENT\",\"messageId\":\"msg_1\",\"delta\":\"Let me post that \"}"},
      {NULL, "{\"type\":\"TEXT_MESSAGE_END\",\"messageId\":\"msg_1\"}"},
      {NULL, "{\"type\":\"TOOL_CALL_START\",\"toolCallId\":\"call_slack_1\",\"toolCallName\":"
             "\"slack__send_message\",\"parentMessageId\":\"msg_1\"}"},
      {NULL, "{\"type\":\"TOOL_CALL_ARGS\",\"toolCallId\":\"call_slack_1\",\"delta\":\"{\\\"channel\\\":\\\"#general\\\",\"}"},
      {NULL, "{\"type\":\"TOOL_CALL_END\",\"toolCallId\":\"call_slack_1\"}"},
  };
  static const char result[] = "{\"type\":\"TOOL_CALL_RESULT\",\"messageId\":\"msg_tool_1\",\"toolCallId\":"
                               "\"call_slack_1\",\"role\":\"tool\",\"content\":" MAGIC_TEXT "}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, sizeof evs / sizeof evs[0]);
  CHECK(dialect_current(&s) == DIALECT_AG_UI);
  CHECK_EQ_U64(s.scans, 1);
  if (decide_on(&s, result, DIALECT_REWRITE, &d) == 0) {
    CHECK(strcmp(d.connector, "slack") == 0 && strcmp(d.key, "call_slack_1") == 0);
  }
  trusted_link(&l, "slack", "ltk_1");
  CHECK_RENDER(&s, link_notice(&l, "Please connect Slack to continue."),
               "data: {\"type\":\"CUSTOM\",\"name\":\"authrelay.link_token\",\"value\":{\"type\":\"link_token\","
               "\"stream_id\":\"st_0_000001\",\"connector\":\"slack\",\"link_token\":\"ltk_1\",\"magic_link_url\":"
               "\"http://relay.test/_authrelay/link/ltk_1\",\"expires_at\":\"2026-12-05T03:00:00Z\","
               "\"message\":\"Please connect Slack to continue.\"}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"),
               "data: {\"type\":\"CUSTOM\",\"name\":\"authrelay.auth_complete\",\"value\":{\"type\":"
               "\"auth_complete\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\"}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_LINK_EXPIRED, "slack"),
               "data: {\"type\":\"CUSTOM\",\"name\":\"authrelay.link_expired\",\"value\":{\"type\":"
               "\"link_expired\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\"}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "data: {\"type\":\"RUN_ERROR\",\"message\":\"authrelay is restarting\",\"code\":\"relay_error\"}\n\n");
  dialect_stream_close(&s);
}

#define A2A_V03_TASK                                                                            \
  "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"kind\":\"task\",\"id\":\"task-7f3c\",\"contextId\":" \
  "\"ctx-91ab\",\"status\":{\"state\":\"submitted\",\"timestamp\":\"2026-12-05T01:00:00.000Z\"}}}"
#define A2A_V03_WORKING                                                                          \
  "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"kind\":\"status-update\",\"taskId\":\"task-7f3c\","  \
  "\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"working\",\"message\":{\"kind\":\"message\","  \
  "\"role\":\"agent\",\"messageId\":\"m-1\",\"taskId\":\"task-7f3c\",\"contextId\":\"ctx-91ab\","    \
  "\"parts\":[{\"kind\":\"text\",\"text\":\"Posting to Slack.\"}]}},\"final\":false}}"

static void a2a_v03(void) {
  static const wire_event evs[] = {{NULL, A2A_V03_TASK}, {NULL, A2A_V03_WORKING}, {NULL, A2A_V03_WORKING}};
  static const char artifact[] =
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"kind\":\"artifact-update\",\"taskId\":\"task-7f3c\","
      "\"contextId\":\"ctx-91ab\",\"artifact\":{\"artifactId\":\"tool-result-1\",\"name\":"
      "\"slack__send_message\",\"parts\":[{\"kind\":\"text\",\"text\":" MAGIC_TEXT "}]},\"lastChunk\":true}}";
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  /* Before the ids are known, a notice is only a comment. */
  dialect_stream_init(&s, DIALECT_A2A, DIALECT_FRAMING_SSE, NULL);
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"),
               ": authrelay {\"type\":\"auth_complete\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\"}\n\n");
  dialect_stream_close(&s);
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, 3);
  CHECK(dialect_current(&s) == DIALECT_A2A);
  CHECK(strcmp(dialect_rpc_of(&s)->rpc_id, "7") == 0 && strcmp(dialect_rpc_of(&s)->task_id, "task-7f3c") == 0 &&
        strcmp(dialect_rpc_of(&s)->context_id, "ctx-91ab") == 0 && !s.a2a_v1);
  CHECK_EQ_U64(s.scans, 1); /* the ids came with the first event: the rest are not parsed */
  if (decide_on(&s, artifact, DIALECT_REWRITE, &d) == 0) {
    CHECK(strcmp(d.connector, "slack") == 0 && d.pause == 1);
  }
  trusted_link(&l, "slack", "ltk_1");
  CHECK_RENDER(&s, link_notice(&l, NULL),
               "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"kind\":\"status-update\",\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"auth-required\",\"message\":"
               "{\"kind\":\"message\",\"role\":\"agent\",\"messageId\":\"authrelay-st_0_000001-1\",\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"parts\":[{\"kind\":\"text\",\"text\":\"Please "
               "connect slack to continue: http://relay.test/_authrelay/link/ltk_1\"},{\"kind\":\"data\","
               "\"data\":{\"type\":\"link_token\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\","
               "\"link_token\":\"ltk_1\",\"magic_link_url\":\"http://relay.test/_authrelay/link/ltk_1\","
               "\"expires_at\":\"2026-12-05T03:00:00Z\",\"message\":\"Please connect slack to continue.\"}}]}},"
               "\"final\":false}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_AUTH_COMPLETE, "slack"),
               "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"kind\":\"status-update\",\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"working\",\"message\":"
               "{\"kind\":\"message\",\"role\":\"agent\",\"messageId\":\"authrelay-st_0_000001-2\",\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"parts\":[{\"kind\":\"text\",\"text\":\"Connected "
               "slack.\"},{\"kind\":\"data\",\"data\":{\"type\":\"auth_complete\",\"stream_id\":\"st_0_000001\","
               "\"connector\":\"slack\"}}]}},\"final\":false}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_HEARTBEAT, NULL), ": paused\n\n");
  dialect_stream_close(&s);
}

static void a2a_v1(void) {
  static const wire_event evs[] = {
      {NULL, "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{\"task\":{\"id\":\"task-7f3c\",\"contextId\":"
             "\"ctx-91ab\",\"status\":{\"state\":\"TASK_STATE_SUBMITTED\",\"timestamp\":\"2026-12-05T01:00:00Z\"}}}}"},
      {NULL, "{\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{\"statusUpdate\":{\"taskId\":\"task-7f3c\","
             "\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"TASK_STATE_WORKING\",\"message\":{\"messageId\":"
             "\"m-1\",\"contextId\":\"ctx-91ab\",\"taskId\":\"task-7f3c\",\"role\":\"ROLE_AGENT\",\"parts\":[{"
             "\"text\":\"Posting to Slack.\"}]}}}}}"},
  };
  dialect_stream s;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, NULL);
  observe_all(&s, evs, 2);
  CHECK(dialect_current(&s) == DIALECT_A2A && s.a2a_v1);
  CHECK(strcmp(dialect_rpc_of(&s)->rpc_id, "\"req-1\"") == 0 && strcmp(dialect_rpc_of(&s)->task_id, "task-7f3c") == 0 &&
        strcmp(dialect_rpc_of(&s)->context_id, "ctx-91ab") == 0);
  trusted_link(&l, "slack", "ltk_1");
  CHECK_RENDER(&s, link_notice(&l, "Please connect Slack to continue."),
               "data: {\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{\"statusUpdate\":{\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"TASK_STATE_AUTH_REQUIRED\","
               "\"message\":{\"messageId\":\"authrelay-st_0_000001-1\",\"contextId\":\"ctx-91ab\",\"taskId\":"
               "\"task-7f3c\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":\"Please connect Slack to continue. "
               "http://relay.test/_authrelay/link/ltk_1\"}]}}}}}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               "data: {\"jsonrpc\":\"2.0\",\"id\":\"req-1\",\"result\":{\"statusUpdate\":{\"taskId\":"
               "\"task-7f3c\",\"contextId\":\"ctx-91ab\",\"status\":{\"state\":\"TASK_STATE_FAILED\","
               "\"message\":{\"messageId\":\"authrelay-st_0_000001-2\",\"contextId\":\"ctx-91ab\",\"taskId\":"
               "\"task-7f3c\",\"role\":\"ROLE_AGENT\",\"parts\":[{\"text\":\"authrelay is restarting\"}]}}}}}\n\n");
  dialect_stream_close(&s);
}

static void mcp(void) {
  static const char request[] = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                                "\"name\":\"Slack__send_message\",\"arguments\":{\"text\":\"hello\"}}}";
  static const char response[] = "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\","
                                 "\"text\":" MAGIC_TEXT "}],\"isError\":false}}";
  dialect_head tool = {0, 1};
  dialect_stream s;
  dialect_decision d;
  dialect_link l;
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_SSE, &tool);
  CHECK(dialect_current(&s) == DIALECT_MCP);
  dialect_note_request(&s, request, strlen(request));
  CHECK(strcmp(dialect_rpc_of(&s)->request_connector, "slack") == 0 && strcmp(dialect_rpc_of(&s)->rpc_id, "3") == 0);
  dialect_observe(&s, "message", 7, response, strlen(response));
  if (decide_on(&s, response, DIALECT_REPLACE, &d) == 0) {
    CHECK(d.action == DIALECT_REWRITE && strcmp(d.connector, "slack") == 0 &&
          strcmp(d.connector_from, "request") == 0);
  }
  /* Events not named "message" are dropped by the SDK: comments only. */
  trusted_link(&l, "slack", "ltk_1");
  CHECK_RENDER(&s, link_notice(&l, "x"),
               ": authrelay {\"type\":\"link_token\",\"stream_id\":\"st_0_000001\",\"connector\":\"slack\","
               "\"link_token\":\"ltk_1\",\"magic_link_url\":\"http://relay.test/_authrelay/link/ltk_1\","
               "\"expires_at\":\"2026-12-05T03:00:00Z\",\"message\":\"x\"}\n\n");
  CHECK_RENDER(&s, simple_notice(DIALECT_NOTICE_RELAY_ERROR, "slack"),
               ": authrelay {\"type\":\"relay_error\",\"stream_id\":\"st_0_000001\",\"status\":503,"
               "\"message\":\"authrelay is restarting\"}\n\n");
  dialect_stream_close(&s);
  /* A JSON body (tool mode): nothing is ever written into it. */
  dialect_stream_init(&s, DIALECT_AUTO, DIALECT_FRAMING_JSON, &tool);
  CHECK_RENDER(&s, link_notice(&l, "x"), "");
  dialect_stream_close(&s);
}

int main(void) {
  RUN(ai_sdk);
  RUN(ag_ui);
  RUN(a2a_v03);
  RUN(a2a_v1);
  RUN(mcp);
  return unit_report();
}
