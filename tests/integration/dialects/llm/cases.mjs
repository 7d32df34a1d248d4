// The SDK reads of the dialect tests, shared by direct.test.mjs and
// via_authrelay.mjs: each case names an SDK entry point (readers.mjs), the
// stand-in stream it reads (standins.mjs), the events the SDK must hand to
// the application (the stand-in's, in order) and the message it must
// accumulate (the stand-in's, after the SDK's documented additions are
// taken off by `normalize`).

import { STREAMS } from './standins.mjs';
import {
  readAiSdk, readAnthropicStream, readChatCreate, readChatStream,
  readResponsesCreate, readResponsesStream,
} from './readers.mjs';

// The helpers' final messages go through the SDKs' parsers, which add null
// members: responses.stream()'s finalResponse() output_parsed, and `parsed` /
// `parsed_arguments` on messages and calls; chat.completions.stream()'s
// `parsed`; messages.stream()'s finalMessage() `parsed_output`.
function dropParsed(value) {
  if (Array.isArray(value)) return value.map(dropParsed);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (['output_parsed', 'parsed', 'parsed_arguments', 'parsed_output'].includes(k)) continue;
      out[k] = dropParsed(v);
    }
    return out;
  }
  return value;
}

// ResponseStream's snapshot gains output_text (the SDK's addOutputText).
function withOutputText(response) {
  const text = response.output.flatMap((o) => (o.type === 'message' ? o.content : []))
    .filter((c) => c.type === 'output_text').map((c) => c.text).join('');
  return { ...response, output_text: text };
}

// The non-beta MessageStream accumulates input_json_delta only for tool_use
// and server_tool_use blocks: an mcp_tool_use block keeps the input of its
// content_block_start ({}).
function mcpInputAsStarted(message) {
  return { ...message,
           content: message.content.map((b) => (b.type === 'mcp_tool_use' ? { ...b, input: {} } : b)) };
}

const withoutPing = (events) => events.filter((e) => e.type !== 'ping');

export const CASES = [
  { name: 'openai responses.create({stream:true}), function_call + function_call_output',
    stream: STREAMS.responsesFunction,
    read: (url, o) => readResponsesCreate(url, { model: 'standin-function', ...o }) },
  { name: 'openai responses.stream(), function_call + function_call_output',
    stream: STREAMS.responsesFunction, normalize: dropParsed, expectFinal: withOutputText,
    read: (url, o) => readResponsesStream(url, { model: 'standin-function', ...o }) },
  { name: 'openai responses.create({stream:true}), mcp_call',
    stream: STREAMS.responsesMcp,
    read: (url, o) => readResponsesCreate(url, { model: 'standin-mcp', ...o }) },
  { name: 'openai responses.stream(), mcp_call',
    stream: STREAMS.responsesMcp, normalize: dropParsed, expectFinal: withOutputText,
    read: (url, o) => readResponsesStream(url, { model: 'standin-mcp', ...o }) },
  ...[['magic-link payload', STREAMS.chat], ['authenticate_meta', STREAMS.chatMeta]].flatMap(([what, stream]) => [
    { name: `openai chat.completions.create({stream:true}), ${what} in delta.content`,
      stream, resultInFinal: false, read: (url, o) => readChatCreate(url, { model: stream.model, ...o }) },
    { name: `openai chat.completions.stream(), ${what} in delta.content`,
      stream, resultInFinal: false, normalize: dropParsed,
      read: (url, o) => readChatStream(url, { model: stream.model, ...o }) },
  ]),
  { name: '@anthropic-ai/sdk beta.messages.stream() + finalMessage(), mcp_tool_result',
    stream: STREAMS.anthropic, events: withoutPing, normalize: dropParsed,
    read: (url, o) => readAnthropicStream(url, { beta: true, ...o }) },
  { name: '@anthropic-ai/sdk messages.stream() + finalMessage(), mcp_tool_result',
    stream: STREAMS.anthropic, events: withoutPing, normalize: dropParsed, expectFinal: mcpInputAsStarted,
    read: (url, o) => readAnthropicStream(url, { beta: false, ...o }) },
  ...[['magic-link payload', STREAMS.aiSdk], ['authenticate_meta', STREAMS.aiSdkMeta]].map(([what, stream]) => (
    { name: `ai DefaultChatTransport + readUIMessageStream, ${what} in tool-output-available`,
      stream, read: (url, o) => readAiSdk(url, { payload: stream.payload, ...o }) })),
];

for (const c of CASES) {
  c.expectedEvents = (c.events ?? ((e) => e))(c.stream.events);
  c.expectedFinal = (c.expectFinal ?? ((f) => f))(c.stream.final);
  c.normalize ??= (f) => f;
  // Chat content is the concatenation of every delta: the auth result is
  // whole only in its own chunk.
  c.resultInFinal ??= true;
}
