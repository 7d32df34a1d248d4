/* test_detect: the detector's literal vectors (parser/detect.c): shapes and
 * field extraction, realistic tool results, escapes, near misses, first
 * match, robustness, white space and empty fields, each through every path
 * at every feeding size (detect_vectors.h says how). Generated payloads are
 * in test_detect_generated.c, the API-level tests in test_detect_api.c.
 */
#include "detect_vectors.h"

/* Shapes, field extraction, precedence. */
static const vec shape_vectors[] = {
    {"shape a, all fields",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_abc\","
     "\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":\"Please connect Slack to continue.\"}",
     WANT_A("slack", "ltk_abc", ABSENT, "2026-05-04T18:30:00Z", "Please connect Slack to continue.",
            ABSENT)},
    {"shape a, type last",
     "{\"Connector\":\"jira\",\"message\":\"m\",\"expires_at\":\"e\",\"link_token\":\"t\","
     "\"type\":\"authenticate_meta\"}",
     WANT_A("jira", "t", ABSENT, "e", "m", ABSENT)},
    {"shape a, no other member", "{\"type\":\"authenticate_meta\"}", WANT_A_BARE},
    {"shape b, all fields",
     "{\"message\":\"Please connect GitHub.\",\"magic_link_url\":\"https://link.example/l/ltk_def\","
     "\"link_token\":\"ltk_def\"}",
     WANT_B(ABSENT, "ltk_def", "https://link.example/l/ltk_def", ABSENT, "Please connect GitHub.",
            ABSENT)},
    {"shape b, url before token, extra members",
     "{\"magic_link_url\":\"https://l/x\",\"connector\":\"notion\",\"expires_at\":"
     "\"2026-01-01T00:00:00Z\",\"other\":[1,{\"k\":null}],\"link_token\":\"ltk_x\","
     "\"tool_call_id\":\"tc_1\"}",
     WANT_B("notion", "ltk_x", "https://l/x", "2026-01-01T00:00:00Z", ABSENT, "tc_1")},
    {"shape b, token before url", "{\"link_token\":\"t\",\"magic_link_url\":\"u\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"connector: Connector beats connector and connector_slug",
     "{\"connector_slug\":\"c3\",\"connector\":\"c2\",\"Connector\":\"c1\",\"type\":"
     "\"authenticate_meta\"}",
     WANT_A("c1", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector: connector beats connector_slug",
     "{\"connector_slug\":\"c3\",\"type\":\"authenticate_meta\",\"connector\":\"c2\"}",
     WANT_A("c2", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector: connector_slug alone", "{\"type\":\"authenticate_meta\",\"connector_slug\":\"c3\"}",
     WANT_A("c3", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"connector member beats enclosing tool name",
     "{\"name\":\"slack__post\",\"result\":{\"type\":\"authenticate_meta\",\"connector_slug\":"
     "\"jira\"}}",
     WANT_A("jira", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool name in the matched object",
     "{\"type\":\"authenticate_meta\",\"name\":\"authenticate_slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"toolName in enclosing object",
     "{\"toolName\":\"authenticate_google_drive\",\"output\":{\"type\":\"authenticate_meta\","
     "\"link_token\":\"l\"}}",
     WANT_A("google_drive", "l", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool_name <slug>__<tool> in enclosing object",
     "{\"tool_name\":\"github__create_issue\",\"result\":{\"link_token\":\"t\",\"magic_link_url\":"
     "\"u\"}}",
     WANT_B("github", "t", "u", ABSENT, ABSENT, ABSENT)},
    {"nearest tool name wins",
     "{\"name\":\"outer__x\",\"r\":{\"toolName\":\"inner__y\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}}",
     WANT_A("inner", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool name of an earlier sibling does not count",
     "[{\"name\":\"slack__x\"},{\"type\":\"authenticate_meta\"}]", WANT_A_BARE},
    {"tool name of a later sibling does not count",
     "[{\"type\":\"authenticate_meta\"},{\"toolName\":\"slack__x\"}]", WANT_A_BARE},
    {"tool name in a child of the parent does not count",
     "{\"meta\":{\"name\":\"slack__x\"},\"r\":{\"type\":\"authenticate_meta\"}}", WANT_A_BARE},
    {"tool name after the match in the enclosing object",
     "{\"r\":{\"type\":\"authenticate_meta\"},\"name\":\"late__tool\"}",
     WANT_A("late", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"tool call id: nearest enclosing wins",
     "{\"tool_call_id\":\"far\",\"x\":{\"call_id\":\"near\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "near")},
    {"tool call id: tool_call_id preferred",
     "{\"tool_use_id\":\"d\",\"call_id\":\"c\",\"toolCallId\":\"b\",\"tool_call_id\":\"a\","
     "\"r\":{\"type\":\"authenticate_meta\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "a")},
    {"tool call id: toolCallId before call_id",
     "{\"tool_use_id\":\"d\",\"call_id\":\"c\",\"toolCallId\":\"b\",\"r\":{\"type\":"
     "\"authenticate_meta\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "b")},
    {"tool call id: call_id before tool_use_id, after the match",
     "{\"r\":{\"type\":\"authenticate_meta\"},\"tool_use_id\":\"d\",\"call_id\":\"c\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "c")},
    {"tool call id: tool_use_id",
     "{\"tool_use_id\":\"d\",\"r\":{\"link_token\":\"t\",\"magic_link_url\":\"u\"}}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, "d")},
    {"tool call id: the matched object's own wins",
     "{\"call_id\":\"parent\",\"r\":{\"type\":\"authenticate_meta\",\"tool_use_id\":\"own\"}}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, "own")},
    {"tool call id: siblings do not count",
     "[{\"tool_call_id\":\"sib\"},{\"type\":\"authenticate_meta\"},{\"call_id\":\"sib2\"}]",
     WANT_A_BARE},
    {"tool call id: a child of the parent does not count",
     "{\"meta\":{\"call_id\":\"cousin\"},\"r\":{\"type\":\"authenticate_meta\"}}", WANT_A_BARE},
    {"duplicate keys: the first wins",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"first\",\"Connector\":\"second\","
     "\"link_token\":\"t1\",\"link_token\":\"t2\"}",
     WANT_A("first", "t1", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"fields come from the matched object only",
     "{\"type\":\"authenticate_meta\",\"details\":{\"link_token\":\"inner\",\"Connector\":\"x\","
     "\"message\":\"not mine\"}}",
     WANT_A_BARE},
};

/* Realistic carriers. */
static const vec realistic_vectors[] = {
    {"MCP JSON-RPC result, content[].text",
     "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\",\\\"link_token\\\":"
     "\\\"ltk_mcp\\\",\\\"expires_at\\\":\\\"2026-05-04T18:30:00Z\\\",\\\"message\\\":"
     "\\\"Please connect Slack to continue.\\\"}\"}],\"isError\":false}}",
     WANT_A("slack", "ltk_mcp", ABSENT, "2026-05-04T18:30:00Z", "Please connect Slack to continue.",
            ABSENT)},
    {"MCP JSON-RPC result, pretty-printed magic link in text",
     "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
     "\"{\\n  \\\"message\\\": \\\"Connect GitHub\\\",\\n  \\\"magic_link_url\\\": "
     "\\\"https://relay.example/_authrelay/link/ltk_gh\\\",\\n  \\\"link_token\\\": "
     "\\\"ltk_gh\\\"\\n}\"}]}}",
     WANT_B(ABSENT, "ltk_gh", "https://relay.example/_authrelay/link/ltk_gh", ABSENT,
            "Connect GitHub", ABSENT)},
    {"OpenAI Responses function_call_output",
     "{\"type\":\"function_call_output\",\"call_id\":\"call_abc123\",\"output\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"connector\\\":\\\"github\\\","
     "\\\"link_token\\\":\\\"ltk_oa\\\",\\\"message\\\":\\\"Connect GitHub\\\"}\"}",
     WANT_A("github", "ltk_oa", ABSENT, ABSENT, "Connect GitHub", "call_abc123")},
    {"OpenAI Responses output_item.done with function_call_output",
     "{\"type\":\"response.output_item.done\",\"output_index\":1,\"sequence_number\":12,"
     "\"item\":{\"id\":\"fco_1\",\"type\":\"function_call_output\",\"call_id\":\"call_9\","
     "\"output\":\"{\\\"message\\\":\\\"Connect Notion\\\",\\\"magic_link_url\\\":"
     "\\\"https://l.example/n\\\",\\\"link_token\\\":\\\"ltk_9\\\"}\"}}",
     WANT_B(ABSENT, "ltk_9", "https://l.example/n", ABSENT, "Connect Notion", "call_9")},
    {"Vercel AI SDK tool-output-available",
     "{\"type\":\"tool-output-available\",\"toolCallId\":\"call_1\",\"output\":{\"message\":"
     "\"Connect Slack\",\"magic_link_url\":\"https://relay.example/_authrelay/link/ltk_v\","
     "\"link_token\":\"ltk_v\"}}",
     WANT_B(ABSENT, "ltk_v", "https://relay.example/_authrelay/link/ltk_v", ABSENT, "Connect Slack",
            "call_1")},
    {"Vercel AI SDK tool-result with toolName",
     "{\"type\":\"tool-result\",\"toolCallId\":\"call_2\",\"toolName\":\"slack__post_message\","
     "\"input\":{\"channel\":\"#general\"},\"output\":{\"type\":\"authenticate_meta\","
     "\"link_token\":\"ltk_s\",\"expires_at\":\"2026-05-04T18:30:00Z\"}}",
     WANT_A("slack", "ltk_s", ABSENT, "2026-05-04T18:30:00Z", ABSENT, "call_2")},
    {"Link guide function_call_result",
     "{\"type\":\"function_call_result\",\"result\":{\"type\":\"authenticate_meta\",\"Connector\":"
     "\"notion\",\"link_token\":\"ltk_n\",\"expires_at\":\"2026-05-04T18:30:00Z\",\"message\":"
     "\"Connect Notion to continue.\"}}",
     WANT_A("notion", "ltk_n", ABSENT, "2026-05-04T18:30:00Z", "Connect Notion to continue.",
            ABSENT)},
    {"Link guide function_call_result with name and call_id",
     "{\"type\":\"function_call_result\",\"name\":\"authenticate_linear\",\"call_id\":\"call_l\","
     "\"result\":{\"type\":\"authenticate_meta\",\"link_token\":\"ltk_l\"}}",
     WANT_A("linear", "ltk_l", ABSENT, ABSENT, ABSENT, "call_l")},
    {"Anthropic tool_result content[].text",
     "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01A\",\"content\":[{\"type\":\"text\","
     "\"text\":\"{\\\"link_token\\\":\\\"ltk_an\\\",\\\"magic_link_url\\\":"
     "\\\"https://l.example/an\\\"}\"}]}",
     WANT_B(ABSENT, "ltk_an", "https://l.example/an", ABSENT, ABSENT, "toolu_01A")},
    {"tool name around a JSON-in-string (params.name)",
     "{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{\"name\":\"jira__create_issue\",\"result\":"
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"link_token\\\":\\\"ltk_j\\\"}\"}}",
     WANT_A("jira", "ltk_j", ABSENT, ABSENT, ABSENT, ABSENT)},
    {"top-level JSON string holding the result",
     "\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"slack\\\"}\"",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string holding an array",
     "{\"output\":\"[{\\\"link_token\\\":\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\"}]\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string with leading white space",
     "{\"output\":\" \\n\\t {\\\"type\\\":\\\"authenticate_meta\\\"}\"}", WANT_A_BARE},
};

/* Escapes. */
static const vec escape_vectors[] = {
    {"\\u escapes in key and value",
     "{\"\\u0074ype\":\"\\u0061uthenticate_meta\",\"Connector\":\"slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"\\u005f in the type value, escapes in connector",
     "{\"type\":\"authenticate\\u005fmeta\",\"Conn\\u0065ctor\":\"sl\\u0061ck\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"escaped link_token key and \\/ in url",
     "{\"link\\u005ftoken\":\"ltk_\\u0031\",\"magic_link_url\":\"https:\\/\\/l.example\\/x\"}",
     WANT_B(ABSENT, "ltk_1", "https://l.example/x", ABSENT, ABSENT, ABSENT)},
    {"message unescaped",
     "{\"type\":\"authenticate_meta\",\"message\":\"Connect \\\"Slack\\\" \\u2014 now\\n\\ttab "
     "\\\\ slash \\/ \\ud83d\\ude00\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT,
            "Connect \"Slack\" \xe2\x80\x94 now\n\ttab \\ slash / \xf0\x9f\x98\x80", ABSENT)},
    {"escaped escapes inside MCP text",
     "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"\\\\u0074ype\\\":"
     "\\\"\\\\u0061uthenticate_meta\\\",\\\"connector\\\":\\\"gmail\\\"}\"}]}}",
     WANT_A("gmail", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"valid UTF-8 copied as is",
     "{\"type\":\"authenticate_meta\",\"message\":\"Connectez-vous \xc3\xa0 Slack \xe2\x9c\x93 "
     "\xf0\x9f\x94\x91\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT,
            "Connectez-vous \xc3\xa0 Slack \xe2\x9c\x93 \xf0\x9f\x94\x91", ABSENT)},
};

/* Must not match. */
static const vec near_miss_vectors[] = {
    {"authenticate_metadata", "{\"type\":\"authenticate_metadata\",\"Connector\":\"slack\"}",
     WANT_NO_MATCH},
    {"Authenticate_meta (no trigger)", "{\"type\":\"Authenticate_meta\",\"Connector\":\"slack\"}",
     WANT_SKIPPED},
    {"Authenticate_meta (triggered by link_token)",
     "{\"type\":\"Authenticate_meta\",\"link_token\":\"t\"}", WANT_NO_MATCH},
    {"type with a trailing space", "{\"type\":\"authenticate_meta \",\"x\":1}", WANT_NO_MATCH},
    {"type as array", "{\"type\":[\"authenticate_meta\"]}", WANT_NO_MATCH},
    {"type as object", "{\"type\":{\"authenticate_meta\":true}}", WANT_NO_MATCH},
    {"type null, word in another member", "{\"type\":null,\"kind\":\"authenticate_meta\"}",
     WANT_NO_MATCH},
    {"word in an array member", "{\"type\":\"x\",\"tags\":[\"authenticate_meta\"]}", WANT_NO_MATCH},
    {"Type / types keys", "{\"Type\":\"authenticate_meta\",\"types\":\"authenticate_meta\"}",
     WANT_NO_MATCH},
    {"link_token without magic_link_url",
     "{\"link_token\":\"ltk_1\",\"message\":\"Please connect.\"}", WANT_NO_MATCH},
    {"magic_link_url a number", "{\"link_token\":\"t\",\"magic_link_url\":123}", WANT_NO_MATCH},
    {"magic_link_url null", "{\"link_token\":\"t\",\"magic_link_url\":null}", WANT_NO_MATCH},
    {"magic_link_url an array", "{\"link_token\":\"t\",\"magic_link_url\":[\"u\"]}", WANT_NO_MATCH},
    {"link_token an object", "{\"link_token\":{\"v\":\"t\"},\"magic_link_url\":\"u\"}",
     WANT_NO_MATCH},
    {"link_token a boolean", "{\"link_token\":true,\"magic_link_url\":\"u\"}", WANT_NO_MATCH},
    {"words in ordinary text", "{\"text\":\"please run authenticate_meta now\"}", WANT_NO_MATCH},
    {"all the words in ordinary text",
     "{\"text\":\"type authenticate_meta with link_token and magic_link_url\"}", WANT_NO_MATCH},
    {"key named authenticate_meta", "{\"authenticate_meta\":\"type\"}", WANT_NO_MATCH},
    {"key named authenticate_meta holding a type",
     "{\"authenticate_meta\":{\"type\":\"x\"},\"type\":\"x\"}", WANT_NO_MATCH},
    {"link_token and magic_link_url in parent and child",
     "{\"link_token\":\"t\",\"x\":{\"magic_link_url\":\"u\"}}", WANT_NO_MATCH},
    {"magic_link_url and link_token in parent and child",
     "{\"magic_link_url\":\"u\",\"x\":{\"link_token\":\"t\"}}", WANT_NO_MATCH},
    {"link_token and magic_link_url in sibling objects",
     "[{\"link_token\":\"t\"},{\"magic_link_url\":\"u\"}]", WANT_NO_MATCH},
    {"array of the words", "[\"type\",\"authenticate_meta\"]", WANT_NO_MATCH},
    {"key link_token with a space", "{\"link_token \":\"t\",\"magic_link_url\":\"u\"}",
     WANT_NO_MATCH},
    {"Link_token (no trigger)", "{\"Link_token\":\"t\",\"magic_link_url\":\"u\"}", WANT_SKIPPED},
    {"\\u escape without any result", "{\"text\":\"caf\\u00e9\"}", WANT_NO_MATCH},
    {"nothing to trigger", "{\"a\":1,\"note\":\"authenticate-meta, link token, \\\\ u\"}",
     WANT_SKIPPED},
    {"JSON-in-string after leading text",
     "{\"output\":\"Result: {\\\"type\\\":\\\"authenticate_meta\\\"}\"}", WANT_NO_MATCH},
    {"JSON-in-string with trailing text",
     "{\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\"} done\"}", WANT_NO_MATCH},
    {"JSON-in-string truncated", "{\"output\":\"{\\\"type\\\":\\\"authenticate_meta\\\"\"}",
     WANT_NO_MATCH},
    {"JSON text as a key", "{\"{\\\"type\\\":\\\"authenticate_meta\\\"}\":1}", WANT_NO_MATCH},
};

/* Only the first match of an event. */
static const vec first_match_vectors[] = {
    {"first of two siblings",
     "[{\"type\":\"authenticate_meta\",\"Connector\":\"first\"},{\"type\":\"authenticate_meta\","
     "\"Connector\":\"second\"}]",
     WANT_A("first", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"first of two shapes",
     "[{\"link_token\":\"t1\",\"magic_link_url\":\"u1\"},{\"type\":\"authenticate_meta\","
     "\"Connector\":\"second\"}]",
     WANT_B(ABSENT, "t1", "u1", ABSENT, ABSENT, ABSENT)},
    {"inner object closes first",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\",\"link_token\":\"lo\",\"inner\":"
     "{\"link_token\":\"li\",\"magic_link_url\":\"ui\"}}",
     WANT_B(ABSENT, "li", "ui", ABSENT, ABSENT, ABSENT)},
    {"match inside a string counts when the string is seen",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\",\"text\":\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"inner\\\"}\"}",
     WANT_A("inner", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"first of two JSON strings",
     "[\"{\\\"link_token\\\":\\\"a\\\",\\\"magic_link_url\\\":\\\"ua\\\"}\",\"{\\\"link_token\\\":"
     "\\\"b\\\",\\\"magic_link_url\\\":\\\"ub\\\"}\"]",
     WANT_B(ABSENT, "a", "ua", ABSENT, ABSENT, ABSENT)},
    {"invalid JSON string with a match, then a real one",
     "[\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"Connector\\\":\\\"bad\\\",\\\"message\\\":"
     "\\\"stale\\\"} trailing\",{\"type\":\"authenticate_meta\",\"Connector\":\"good\"}]",
     WANT_A("good", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"invalid JSON string with a match, then a valid JSON string",
     "[\"{\\\"link_token\\\":\\\"bad\\\",\\\"magic_link_url\\\":\\\"ub\\\"}]\",\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\",\\\"connector\\\":\\\"good\\\"}\"]",
     WANT_A("good", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
};

/* Numbers, invalid UTF-8, truncation, trailing garbage. */
static const vec robustness_vectors[] = {
    {"huge exponents next to a match",
     "{\"big\":1e999999,\"tiny\":-0.0e-99999,\"type\":\"authenticate_meta\",\"Connector\":\"slack\","
     "\"neg\":-123456789012345678901234567890.123456789e+308}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"huge numbers around a magic link",
     "[1e999999,{\"link_token\":\"t\",\"magic_link_url\":\"u\"},-0.0e-99999,18446744073709551616]",
     WANT_B(ABSENT, "t", "u", ABSENT, ABSENT, ABSENT)},
    {"number with a leading zero", "{\"type\":\"authenticate_meta\",\"n\":01}", WANT_MALFORMED},
    {"number without fraction digits", "{\"type\":\"authenticate_meta\",\"n\":1.}",
     WANT_MALFORMED},
    {"lone minus", "{\"type\":\"authenticate_meta\",\"n\":-}", WANT_MALFORMED},
    {"number without exponent digits", "{\"type\":\"authenticate_meta\",\"n\":1e}",
     WANT_MALFORMED},
    {"NaN", "{\"type\":\"authenticate_meta\",\"n\":NaN}", WANT_MALFORMED},
    {"invalid UTF-8 \\xff in a string",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xff"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 overlong \\xc0\\xaf",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xc0\xaf"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 overlong \\xe0\\x80\\xaf",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xe0\x80\xaf"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 surrogate \\xed\\xa0\\x80",
     "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"message\":\"a\xed\xa0\x80"
     "b\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 above U+10FFFF \\xf4\\x90\\x80\\x80",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xf4\x90\x80\x80"
     "b\"}",
     WANT_MALFORMED},
    {"a lone surrogate escape is valid JSON text (the bytes are UTF-8), not an encoding error",
     "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"message\":\"\\udc00\"}",
     WANT_B(ABSENT, "t", "u", ABSENT, "\xed\xb0\x80", ABSENT)},
    {"invalid UTF-8 in a member name",
     "{\"type\":\"authenticate_meta\",\"k\xc0\xaf\":1}",
     WANT_MALFORMED},
    {"invalid UTF-8 truncated 3-byte sequence",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\xe2\x82\"}", WANT_MALFORMED},
    {"invalid UTF-8 truncated 4-byte sequence",
     "{\"type\":\"authenticate_meta\",\"message\":\"\xf0\x9f\x98\"}", WANT_MALFORMED},
    {"invalid UTF-8 lone continuation byte",
     "{\"link_token\":\"t\x80\",\"magic_link_url\":\"u\"}", WANT_MALFORMED},
    {"invalid UTF-8 lead byte before ASCII", "{\"link_token\":\"t\xc3(\",\"magic_link_url\":\"u\"}",
     WANT_MALFORMED},
    {"invalid UTF-8 in a key", "{\"type\":\"authenticate_meta\",\"k\xff\":\"v\"}", WANT_MALFORMED},
    {"invalid byte outside strings", "{\xff\"type\":\"authenticate_meta\"}", WANT_MALFORMED},
    {"control character in a string", "{\"type\":\"authenticate_meta\",\"message\":\"a\x01\"}",
     WANT_MALFORMED},
    {"raw LF in a string (SSE: two data lines)",
     "{\"type\":\"authenticate_meta\",\"message\":\"line1\nline2\"}", WANT_MALFORMED},
    {"raw LF between tokens (SSE: two data lines)",
     "{\"type\":\"authenticate_meta\",\n\"Connector\":\"slack\"}",
     WANT_A("slack", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"truncated after a member", "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"",
     WANT_MALFORMED},
    {"truncated inside a string", "{\"type\":\"authenticate_meta\",\"Connector\":\"sla",
     WANT_MALFORMED},
    {"truncated magic link", "{\"link_token\":\"t\",\"magic_link_url\":\"u\"", WANT_MALFORMED},
    {"truncated MCP result after the text",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"type\\\":"
     "\\\"authenticate_meta\\\"}\"}]",
     WANT_MALFORMED},
    {"truncated inside an escape", "{\"type\":\"authenticate_meta\",\"message\":\"\\u00",
     WANT_MALFORMED},
    {"trailing garbage", "{\"type\":\"authenticate_meta\"} x", WANT_MALFORMED},
    {"two JSON texts", "{\"type\":\"authenticate_meta\"}{\"type\":\"authenticate_meta\"}",
     WANT_MALFORMED},
    {"extra closing bracket", "{\"type\":\"authenticate_meta\"}]", WANT_MALFORMED},
    {"trailing comma", "{\"link_token\":\"t\",\"magic_link_url\":\"u\",}", WANT_MALFORMED},
    {"comment after the text", "{\"type\":\"authenticate_meta\"} // c", WANT_MALFORMED},
    {"single quotes", "{'type':'authenticate_meta'}", WANT_MALFORMED},
    {"match then a syntax error", "[{\"type\":\"authenticate_meta\",\"Connector\":\"a\"}, nope]",
     WANT_MALFORMED},
    {"white space around the text", "\t {\"type\":\"authenticate_meta\"}  \t ", WANT_A_BARE},
};

/* JSON white space is space, tab, LF and CR only (RFC 8259); yajl's lexer
 * also skips vertical tab (0x0B) and form feed (0x0C), which makes these
 * invalid texts look valid to it. Escaped inside a string they are fine. */
static const vec white_space_vectors[] = {
    {"form feed after the text", "{\"type\":\"authenticate_meta\"}\f", WANT_MALFORMED},
    {"vertical tab before the text", "\v{\"type\":\"authenticate_meta\"}", WANT_MALFORMED},
    {"form feed between a colon and a value", "{\"type\":\f\"authenticate_meta\"}",
     WANT_MALFORMED},
    {"vertical tab between a key and its colon",
     "{\"link_token\"\v:\"t\",\"magic_link_url\":\"u\"}", WANT_MALFORMED},
    {"form feed after a match, before the closing bracket",
     "[{\"link_token\":\"t\",\"magic_link_url\":\"u\"}\f]", WANT_MALFORMED},
    {"vertical tab then a match, all around a valid prefix",
     "{\"a\":[1,2,3],\"b\":{\"type\":\"authenticate_meta\"},\v\"c\":null}", WANT_MALFORMED},
    {"escaped form feed and vertical tab in strings are valid",
     "{\"type\":\"authenticate_meta\",\"message\":\"a\\fb\\u000bc\\u000C\"}",
     WANT_A(ABSENT, ABSENT, ABSENT, ABSENT, "a\fb\vc\f", ABSENT)},
    /* JSON-in-string: the escape becomes a raw 0x0C / 0x0B in the inner
     * text, so the inner text is not JSON and its match does not count;
     * the payload itself is valid. */
    {"JSON-in-string ending in an escaped form feed",
     "{\"text\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\f\"}", WANT_NO_MATCH},
    {"JSON-in-string with \\u000b between tokens",
     "{\"text\":\"{\\\"type\\\":\\u000b\\\"authenticate_meta\\\"}\"}", WANT_NO_MATCH},
    {"JSON-in-string with \\u000C after a match",
     "{\"text\":\"[{\\\"link_token\\\":\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\"}\\u000C]\"}",
     WANT_NO_MATCH},
    {"JSON-in-string with \\u000c, then a valid match in the payload",
     "[{\"text\":\"{\\\"type\\\":\\\"authenticate_meta\\\"}\\u000c\"},"
     "{\"type\":\"authenticate_meta\",\"Connector\":\"outer\"}]",
     WANT_A("outer", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT)},
    {"JSON-in-string with white space escapes that JSON allows",
     "{\"text\":\"\\t{\\\"type\\\":\\r\\n\\\"authenticate_meta\\\"}\\u0020\"}", WANT_A_BARE},
};

/* Present but empty: ptr non-NULL, len 0 (ptr is NULL only when not found).
 * Run one child per vector: a NULL + 0 in the detector aborts under UBSan. */
static const vec empty_vectors[] = {
    {"empty link_token and magic_link_url", "{\"link_token\":\"\",\"magic_link_url\":\"\"}",
     WANT_B(ABSENT, "", "", ABSENT, ABSENT, ABSENT)},
    {"empty connector and message",
     "{\"type\":\"authenticate_meta\",\"Connector\":\"\",\"message\":\"\"}",
     WANT_A("", ABSENT, ABSENT, ABSENT, "", ABSENT)},
};

static void test_shapes(void) {
  run_table(shape_vectors, sizeof shape_vectors / sizeof shape_vectors[0]);
}

static void test_realistic(void) {
  run_table(realistic_vectors, sizeof realistic_vectors / sizeof realistic_vectors[0]);
}

static void test_escapes(void) {
  run_table(escape_vectors, sizeof escape_vectors / sizeof escape_vectors[0]);
}

static void test_near_misses(void) {
  run_table(near_miss_vectors, sizeof near_miss_vectors / sizeof near_miss_vectors[0]);
}

static void test_first_match(void) {
  run_table(first_match_vectors, sizeof first_match_vectors / sizeof first_match_vectors[0]);
}

static void test_robustness_vectors(void) {
  run_table(robustness_vectors, sizeof robustness_vectors / sizeof robustness_vectors[0]);
}

static void test_white_space(void) {
  run_table(white_space_vectors, sizeof white_space_vectors / sizeof white_space_vectors[0]);
}

static void test_empty_fields(void) {
  run_table(empty_vectors, sizeof empty_vectors / sizeof empty_vectors[0]);
}

int main(void) {
  /* each group in one forked child */
  RUN_GROUP(test_shapes);
  RUN_GROUP(test_realistic);
  RUN_GROUP(test_escapes);
  RUN_GROUP(test_near_misses);
  RUN_GROUP(test_first_match);
  RUN_GROUP(test_robustness_vectors);
  RUN_GROUP(test_white_space);
  /* one forked child */
  RUN(test_empty_fields);
  return unit_report();
}
