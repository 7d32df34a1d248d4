// Stand-in LLM servers for the dialect tests (DESIGN.md "Dialects", issue #14):
// one node:http server on 127.0.0.1 (port 0) answering, with each protocol's
// real streaming wire shapes, the requests the official SDKs make:
//   POST /v1/responses          OpenAI Responses API    (openai: responses.create / responses.stream)
//   POST /v1/chat/completions   OpenAI Chat Completions (openai: chat.completions.create / .stream)
//   POST /v1/messages           Anthropic Messages      (@anthropic-ai/sdk: [beta.]messages.stream)
//   POST /api/chat              AI SDK UI message stream (ai: DefaultChatTransport, readUIMessageStream)
// Each stream holds one tool call `slack__send_message` whose result says that
// Slack must be connected first (DESIGN.md "Detection": the magic-link payload
// {"message","magic_link_url","link_token"} or an `authenticate_meta` object),
// carried where that protocol really carries a tool's result, and text after
// it (what must still arrive once the link is completed).
//
// Why each carrier is realistic:
// - OpenAI Responses, model "standin-function": a `function_call` item
//   (call_id, name slack__send_message, arguments streamed by
//   response.function_call_arguments.delta/done), then a `function_call_output`
//   item with the same call_id whose `output` string is the JSON text of the
//   magic-link payload (no connector: authrelay must infer `slack` from the
//   function_call's name). `function_call_output` is a member of the SDK's
//   ResponseOutputItem union (ResponseFunctionToolCallOutputItem, with
//   `created_by`): what an agent server that runs its function tools itself
//   (Agent Handler's runtime pattern) streams to its front end as one
//   response. `response.completed` repeats every output item, as the API does.
// - OpenAI Responses, model "standin-mcp": an `mcp_call` item, the Responses
//   API's own hosted-MCP tool call (server_label, name, arguments streamed by
//   response.mcp_call_arguments.delta/done, response.mcp_call.in_progress /
//   .completed), whose `output` string is the MCP tool's text result: here the
//   JSON of an `authenticate_meta` object (with its Connector).
// - OpenAI Chat Completions: the assistant's `tool_calls` delta (id, name,
//   arguments in pieces), then one chunk whose `delta.content` is the tool's
//   result whole: how OpenAI-compatible agent facades (a chat-completions
//   endpoint in front of an agent that runs tools server-side) show a tool
//   result to a chat client that only renders content. Ends with
//   finish_reason "stop" and `data: [DONE]`.
// - Anthropic Messages: the MCP connector's server-side blocks
//   (beta `mcp-client-2025-11-20`): content block 1 `mcp_tool_use` (id
//   mcptoolu_..., name, server_name, input by input_json_delta), content block
//   2 `mcp_tool_result` (tool_use_id, is_error, content [{type:text, text}]
//   whole in content_block_start, as server tool results come) whose text is
//   the JSON of an `authenticate_meta` object, then text block 3. Indices
//   0..3 are consecutive, as the API numbers them; a `ping` event after
//   message_start, as the API sends.
// - AI SDK UI message stream (v5): what streamText(...).toUIMessageStream()
//   emits for a tool with a server-side `execute`: tool-input-start /
//   tool-input-delta / tool-input-available (toolName slack__send_message),
//   then tool-output-available whose `output` is the tool's return value, the
//   magic-link payload as an object; then a second step's text. Written by the
//   SDK's own pipeUIMessageStreamToResponse (headers incl.
//   `x-vercel-ai-ui-message-stream: v1`, `data: {json}` events, `data: [DONE]`).
//
// The exports describe each stream (its SSE events, the final message an SDK
// must accumulate from them, the upstream's own link values) so that the tests
// compare what an SDK read against what was sent. Nothing here waits: a
// stream's events are written at once (authrelay's pause holds the rest by
// back-pressure). Every request is recorded (method, url, headers, body).

import http from 'node:http';
import { pipeUIMessageStreamToResponse } from 'ai';

// The upstream's own link: it must never reach a client through authrelay.
export const UPSTREAM_LINK_TOKEN = 'upstream-own-link-token-7f3a9c2e';
export const UPSTREAM_LINK_HOST = 'connect.agent-handler.example';
export const UPSTREAM_LINK_URL = `https://${UPSTREAM_LINK_HOST}/link/${UPSTREAM_LINK_TOKEN}`;
export const UPSTREAM_EXPIRES_AT = '2026-12-05T09:30:00Z';
export const UPSTREAM_MARKERS = [UPSTREAM_LINK_TOKEN, UPSTREAM_LINK_HOST];

export const TOOL_NAME = 'slack__send_message';
const TOOL_INPUT = { channel: '#general', text: 'The release is out.' };
const TOOL_ARGS = JSON.stringify(TOOL_INPUT);
const ARG_PIECES = [TOOL_ARGS.slice(0, 13), TOOL_ARGS.slice(13)];

// DESIGN.md "Detection" (b): the magic-link payload, no `type`, no connector.
export const MAGIC_LINK_RESULT = {
  message: 'Slack is not connected for this user. Open the link to connect it.',
  magic_link_url: UPSTREAM_LINK_URL,
  link_token: UPSTREAM_LINK_TOKEN,
};
// DESIGN.md "Detection" (a): Agent Handler's authenticate_meta result.
export const AUTH_META_RESULT = {
  type: 'authenticate_meta',
  Connector: 'slack',
  link_token: UPSTREAM_LINK_TOKEN,
  expires_at: UPSTREAM_EXPIRES_AT,
  message: 'Please connect Slack to continue.',
};

const TEXT_BEFORE = ['I will post that ', 'to #general now.'];
const TEXT_AFTER = ['Slack is not connected yet: ', 'once it is, ', 'the message goes out.'];
const CREATED = 1764900000;

function sse(event, data) {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

// ---------------------------------------------------------------- OpenAI Responses

function responseObject(id, model, status, output) {
  return {
    id, object: 'response', created_at: CREATED, status,
    background: false, error: null, incomplete_details: null, instructions: null,
    max_output_tokens: null, model, output, parallel_tool_calls: true,
    previous_response_id: null, reasoning: { effort: null, summary: null },
    service_tier: 'default', store: true, temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto', tools: [], top_p: 1, truncation: 'disabled',
    usage: status === 'completed'
      ? { input_tokens: 52, input_tokens_details: { cached_tokens: 0 }, output_tokens: 41,
          output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 93 }
      : null,
    user: null, metadata: {},
  };
}

// carrier: 'function' (function_call + function_call_output, magic-link payload)
//        | 'mcp' (mcp_call, authenticate_meta).
export function openaiResponses(carrier) {
  const model = carrier === 'mcp' ? 'standin-mcp' : 'standin-function';
  const id = `resp_standin_${carrier}`;
  const callId = 'call_q7Zl2mK9xWv4';
  const events = [];
  const push = (type, body) => events.push({ type, sequence_number: events.length, ...body });
  push('response.created', { response: responseObject(id, model, 'in_progress', []) });
  push('response.in_progress', { response: responseObject(id, model, 'in_progress', []) });

  const output = [];
  let carrierIndex;
  if (carrier === 'function') {
    const fcId = 'fc_68a1b2c3d4e5f6';
    const fc = { id: fcId, type: 'function_call', status: 'completed', arguments: TOOL_ARGS,
                 call_id: callId, name: TOOL_NAME };
    push('response.output_item.added', { output_index: 0,
      item: { ...fc, status: 'in_progress', arguments: '' } });
    for (const delta of ARG_PIECES) {
      push('response.function_call_arguments.delta', { item_id: fcId, output_index: 0, delta });
    }
    push('response.function_call_arguments.done', { item_id: fcId, output_index: 0,
      arguments: TOOL_ARGS, name: TOOL_NAME });
    push('response.output_item.done', { output_index: 0, item: fc });
    output.push(fc);
    const fco = { id: 'fco_68a1b2c3d4e5f7', type: 'function_call_output', call_id: callId,
                  output: JSON.stringify(MAGIC_LINK_RESULT), status: 'completed' };
    push('response.output_item.added', { output_index: 1,
      item: { ...fco, output: '', status: 'in_progress' } });
    carrierIndex = events.length;
    push('response.output_item.done', { output_index: 1, item: fco });
    output.push(fco);
  } else {
    const mcpId = 'mcp_68a1b2c3d4e5f8';
    const mc = { id: mcpId, type: 'mcp_call', approval_request_id: null, arguments: TOOL_ARGS,
                 error: null, name: TOOL_NAME, output: JSON.stringify(AUTH_META_RESULT),
                 server_label: 'agent_handler', status: 'completed' };
    push('response.output_item.added', { output_index: 0,
      item: { ...mc, arguments: '', output: null, status: 'in_progress' } });
    push('response.mcp_call.in_progress', { item_id: mcpId, output_index: 0 });
    for (const delta of ARG_PIECES) {
      push('response.mcp_call_arguments.delta', { item_id: mcpId, output_index: 0, delta });
    }
    push('response.mcp_call_arguments.done', { item_id: mcpId, output_index: 0, arguments: TOOL_ARGS });
    push('response.mcp_call.completed', { item_id: mcpId, output_index: 0 });
    carrierIndex = events.length;
    push('response.output_item.done', { output_index: 0, item: mc });
    output.push(mc);
  }

  const msgIndex = output.length;
  const msgId = 'msg_68a1b2c3d4e5f9';
  const text = TEXT_AFTER.join('');
  const part = { type: 'output_text', annotations: [], logprobs: [], text };
  const msg = { id: msgId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
  push('response.output_item.added', { output_index: msgIndex,
    item: { ...msg, status: 'in_progress', content: [] } });
  push('response.content_part.added', { item_id: msgId, output_index: msgIndex, content_index: 0,
    part: { ...part, text: '' } });
  for (const delta of TEXT_AFTER) {
    push('response.output_text.delta', { item_id: msgId, output_index: msgIndex, content_index: 0,
      delta, logprobs: [] });
  }
  push('response.output_text.done', { item_id: msgId, output_index: msgIndex, content_index: 0,
    text, logprobs: [] });
  push('response.content_part.done', { item_id: msgId, output_index: msgIndex, content_index: 0, part });
  push('response.output_item.done', { output_index: msgIndex, item: msg });
  output.push(msg);
  const final = responseObject(id, model, 'completed', output);
  push('response.completed', { response: final });
  return {
    name: `openai-responses (${carrier === 'mcp' ? 'mcp_call' : 'function_call_output'})`,
    path: '/v1/responses', model,
    headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    events,
    body: events.map((e) => sse(e.type, e)).join(''),
    final,
    text,
    carrierIndex,                  // the first event holding the auth result
    callId: carrier === 'mcp' ? 'mcp_68a1b2c3d4e5f8' : callId,
    result: carrier === 'mcp' ? AUTH_META_RESULT : MAGIC_LINK_RESULT,
  };
}

// ---------------------------------------------------------- OpenAI Chat Completions

// result: 'magic' (the magic-link payload) | 'meta' (authenticate_meta).
export function openaiChat(result = 'magic') {
  const base = { id: 'chatcmpl-standin0001', object: 'chat.completion.chunk', created: CREATED,
                 model: 'gpt-4.1-mini-2025-04-14', service_tier: 'default',
                 system_fingerprint: 'fp_standin01' };
  const chunk = (delta, finish = null) => ({ ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const callId = 'call_Hn3uV8sQeR1t';
  const auth = result === 'meta' ? AUTH_META_RESULT : MAGIC_LINK_RESULT;
  const resultText = JSON.stringify(auth);
  const events = [
    chunk({ role: 'assistant', content: '', refusal: null }),
    ...TEXT_BEFORE.map((t) => chunk({ content: t })),
    chunk({ tool_calls: [{ index: 0, id: callId, type: 'function',
                           function: { name: TOOL_NAME, arguments: '' } }] }),
    ...ARG_PIECES.map((a) => chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
    chunk({ content: resultText }),
    ...TEXT_AFTER.map((t) => chunk({ content: t })),
    chunk({}, 'stop'),
  ];
  const carrierIndex = 1 + TEXT_BEFORE.length + 1 + ARG_PIECES.length;
  const content = TEXT_BEFORE.join('') + resultText + TEXT_AFTER.join('');
  return {
    name: `openai-chat (${result === 'meta' ? 'authenticate_meta' : 'magic-link payload'})`,
    path: '/v1/chat/completions', model: result === 'meta' ? 'standin-meta' : 'standin-magic',
    headers: { 'content-type': 'text/event-stream; charset=utf-8' },
    events,
    body: events.map((e) => sse(null, e)).join('') + 'data: [DONE]\n\n',
    // The message chat.completions.stream() accumulates (finalMessage()).
    final: { role: 'assistant', content, refusal: null,
             tool_calls: [{ id: callId, type: 'function',
                            function: { name: TOOL_NAME, arguments: TOOL_ARGS } }] },
    carrierIndex,
    callId,
    result: auth,
  };
}

// -------------------------------------------------------------- Anthropic Messages

export function anthropicMessages() {
  const toolUseId = 'mcptoolu_01Xq8ZtT3r5pV9bW';
  const usage0 = { input_tokens: 412, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
                   output_tokens: 1, service_tier: 'standard' };
  const message = { id: 'msg_01StandinQ9m3nT7vWx', type: 'message', role: 'assistant',
                    model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null,
                    stop_sequence: null, usage: usage0 };
  const resultText = JSON.stringify(AUTH_META_RESULT);
  const blocks = [
    { type: 'text', text: TEXT_BEFORE.join('') },
    { type: 'mcp_tool_use', id: toolUseId, name: TOOL_NAME, server_name: 'agent-handler',
      input: TOOL_INPUT },
    { type: 'mcp_tool_result', tool_use_id: toolUseId, is_error: false,
      content: [{ type: 'text', text: resultText }] },
    { type: 'text', text: TEXT_AFTER.join('') },
  ];
  const events = [];
  const push = (e) => events.push(e);
  push({ type: 'message_start', message });
  push({ type: 'ping' });
  let carrierIndex;
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      const pieces = index === 0 ? TEXT_BEFORE : TEXT_AFTER;
      for (const text of pieces) push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    } else if (b.type === 'mcp_tool_use') {
      push({ type: 'content_block_start', index, content_block: { ...b, input: {} } });
      for (const partial_json of ARG_PIECES) {
        push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
      }
    } else {
      carrierIndex = events.length;
      push({ type: 'content_block_start', index, content_block: b });
    }
    push({ type: 'content_block_stop', index });
  });
  push({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
         usage: { output_tokens: 96 } });
  push({ type: 'message_stop' });
  const final = { ...message, content: blocks, stop_reason: 'end_turn', stop_sequence: null,
                  usage: { ...usage0, output_tokens: 96 } };
  return {
    name: 'anthropic-messages (mcp_tool_result)',
    path: '/v1/messages',
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'request-id': 'req_standin01' },
    events,
    body: events.map((e) => sse(e.type, e)).join(''),
    final,
    carrierIndex,
    callId: toolUseId,
    result: AUTH_META_RESULT,
  };
}

// ------------------------------------------------------------ AI SDK UI messages

// result: 'magic' (the magic-link payload) | 'meta' (authenticate_meta).
export function aiSdkUiMessages(result = 'magic') {
  const auth = result === 'meta' ? AUTH_META_RESULT : MAGIC_LINK_RESULT;
  const toolCallId = 'call_Bv5rK2pL8nYq';
  const messageId = 'msg-standin-ui-0001';
  const events = [
    { type: 'start', messageId },
    { type: 'start-step' },
    { type: 'text-start', id: 'txt-0' },
    ...TEXT_BEFORE.map((delta) => ({ type: 'text-delta', id: 'txt-0', delta })),
    { type: 'text-end', id: 'txt-0' },
    { type: 'tool-input-start', toolCallId, toolName: TOOL_NAME },
    ...ARG_PIECES.map((inputTextDelta) => ({ type: 'tool-input-delta', toolCallId, inputTextDelta })),
    { type: 'tool-input-available', toolCallId, toolName: TOOL_NAME, input: TOOL_INPUT },
    { type: 'tool-output-available', toolCallId, output: auth },
    { type: 'finish-step' },
    { type: 'start-step' },
    { type: 'text-start', id: 'txt-1' },
    ...TEXT_AFTER.map((delta) => ({ type: 'text-delta', id: 'txt-1', delta })),
    { type: 'text-end', id: 'txt-1' },
    { type: 'finish-step' },
    { type: 'finish', finishReason: 'stop' },
  ];
  const carrierIndex = events.findIndex((e) => e.type === 'tool-output-available');
  // The UIMessage readUIMessageStream (useChat's state) builds from them.
  const final = {
    id: messageId, role: 'assistant',
    parts: [
      { type: 'step-start' },
      { type: 'text', text: TEXT_BEFORE.join(''), state: 'done' },
      { type: `tool-${TOOL_NAME}`, toolCallId, state: 'output-available', input: TOOL_INPUT,
        output: auth },
      { type: 'step-start' },
      { type: 'text', text: TEXT_AFTER.join(''), state: 'done' },
    ],
  };
  return {
    name: `ai-sdk-ui-message-stream (${result === 'meta' ? 'authenticate_meta' : 'magic-link payload'})`,
    path: '/api/chat', payload: result,
    headers: null, // pipeUIMessageStreamToResponse's own
    events,
    body: events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n',
    final,
    carrierIndex,
    callId: toolCallId,
    result: auth,
  };
}

export const STREAMS = {
  responsesFunction: openaiResponses('function'),
  responsesMcp: openaiResponses('mcp'),
  chat: openaiChat('magic'),
  chatMeta: openaiChat('meta'),
  anthropic: anthropicMessages(),
  aiSdk: aiSdkUiMessages('magic'),
  aiSdkMeta: aiSdkUiMessages('meta'),
};

const MAX_REQUEST_BYTES = 1 << 20;

// Starts the stand-in server on 127.0.0.1:0. Resolves { url, port, requests, close }.
export function startStandins() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) { res.writeHead(413).end(); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { /* recorded raw */ }
      requests.push({ method: req.method, url: req.url, headers: req.headers, body, raw });
      const path = req.url.split('?')[0];
      let stream = null;
      if (req.method === 'POST' && path === '/v1/responses') {
        stream = body?.model === 'standin-mcp' ? STREAMS.responsesMcp : STREAMS.responsesFunction;
      } else if (req.method === 'POST' && path === '/v1/chat/completions') {
        stream = body?.model === 'standin-meta' ? STREAMS.chatMeta : STREAMS.chat;
      } else if (req.method === 'POST' && path === '/v1/messages') {
        stream = STREAMS.anthropic;
      } else if (req.method === 'POST' && path === '/api/chat') {
        const ui = body?.payload === 'meta' ? STREAMS.aiSdkMeta : STREAMS.aiSdk;
        pipeUIMessageStreamToResponse({
          response: res,
          stream: new ReadableStream({
            start(controller) {
              for (const e of ui.events) controller.enqueue(e);
              controller.close();
            },
          }),
        });
        return;
      }
      if (!stream || !body?.stream) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no stand-in for ${req.method} ${req.url}` } }));
        return;
      }
      res.writeHead(200, { ...stream.headers, 'cache-control': 'no-cache' });
      res.end(stream.body);
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`, port, requests,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}
