// The SDK side of the dialect tests: each reader makes one streaming request
// with an official SDK (pinned by package-lock.json) to a base URL (a stand-in
// directly, or authrelay in front of it), collects what the SDK's public API
// yields event by event, and the message the SDK accumulates. Used by
// direct.test.mjs (stand-ins validated against their SDK) and
// via_authrelay.mjs (the same reads through authrelay).
//
// Every reader resolves { events, final, error, exchange }:
//   events   what the SDK handed to the application, in order;
//   final    the SDK's accumulated message (null when it has none);
//   error    the first error the SDK raised (String), or null;
//   exchange the HTTP exchange as the SDK saw it (recordingFetch below), so
//            that tests can search the raw bytes.
// onEvent(event, index) is awaited before the SDK reads on, so a test can
// complete a link while the stream is paused at the auth result.

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { DefaultChatTransport, readUIMessageStream } from 'ai';
import { teeResponse, withTimeout } from '../../lib/proctest.mjs';

export const REQUEST_TIMEOUT_MS = 20_000;

export { withTimeout };

// A fetch that records every exchange as the SDK sees it: request method,
// url, body; response status, headers and every body byte (teed: the SDK
// reads one branch, the record the other). `done` resolves when the body is
// read to its end or fails.
export function recordingFetch(log) {
  return async (url, init = {}) => {
    const entry = { method: init.method ?? 'GET', url: String(url),
                    requestBody: typeof init.body === 'string' ? init.body : null,
                    status: null, headers: null, raw: '', complete: false, error: null };
    log.push(entry);
    const res = await fetch(url, init);
    entry.status = res.status;
    entry.headers = Object.fromEntries(res.headers);
    if (!res.body) {
      entry.complete = true;
      entry.done = Promise.resolve();
      return res;
    }
    const { response, done } = teeResponse(res, (text) => { entry.raw += text; });
    entry.done = done.then(() => { entry.complete = true; }, (err) => { entry.error = String(err); });
    return response;
  };
}

function clientOptions(headers, exchange) {
  return { apiKey: 'sk-standin-not-a-real-key', defaultHeaders: headers, maxRetries: 0,
           timeout: REQUEST_TIMEOUT_MS, fetch: recordingFetch(exchange) };
}

async function collect(fn) {
  const out = { events: [], final: null, error: null, exchange: [] };
  try {
    await fn(out);
  } catch (err) {
    out.error = String(err?.stack ?? err);
  }
  // Let the recording catch up with the SDK (bounded).
  await withTimeout(Promise.all(out.exchange.map((e) => e.done)), REQUEST_TIMEOUT_MS,
                    'response bodies read to their end').catch(() => {});
  return out;
}

const noop = async () => {};

// openai: responses.create({ stream: true }), iterated; its final message is
// the response of the last response.completed event.
export function readResponsesCreate(baseUrl, { model, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, ...clientOptions(headers, out.exchange) });
    const stream = await client.responses.create({ model, input: 'Tell #general the release is out.',
                                                   stream: true });
    for await (const event of stream) {
      out.events.push(structuredClone(event));
      if (event.type === 'response.completed') out.final = event.response;
      await onEvent(event, out.events.length - 1);
    }
  });
}

// openai: the responses.stream() helper (ResponseStream: it accumulates every
// event into a snapshot and throws on an event it does not know);
// finalResponse() is its accumulated message.
export function readResponsesStream(baseUrl, { model, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, ...clientOptions(headers, out.exchange) });
    const stream = client.responses.stream({ model, input: 'Tell #general the release is out.' });
    for await (const event of stream) {
      out.events.push(structuredClone(event));
      await onEvent(event, out.events.length - 1);
    }
    out.final = await stream.finalResponse();
  });
}

// openai: chat.completions.create({ stream: true }), iterated chunk by chunk.
// The final message is the one chat.completions.stream()'s accumulator would
// build: content concatenated, tool_calls joined by index.
export function readChatCreate(baseUrl, { model, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, ...clientOptions(headers, out.exchange) });
    const stream = await client.chat.completions.create({
      model, stream: true,
      messages: [{ role: 'user', content: 'Tell #general the release is out.' }],
    });
    const message = { role: null, content: '', refusal: null, tool_calls: [] };
    for await (const chunk of stream) {
      out.events.push(structuredClone(chunk));
      const delta = chunk.choices?.[0]?.delta ?? {};
      if (delta.role) message.role = delta.role;
      if (typeof delta.content === 'string') message.content += delta.content;
      for (const tc of delta.tool_calls ?? []) {
        const slot = (message.tool_calls[tc.index] ??= { id: '', type: 'function',
                                                         function: { name: '', arguments: '' } });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.function.name += tc.function.name;
        if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
      }
      await onEvent(chunk, out.events.length - 1);
    }
    out.final = message;
  });
}

// openai: the chat.completions.stream() helper (ChatCompletionStream); its
// finalMessage() is the SDK's own accumulation.
export function readChatStream(baseUrl, { model, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, ...clientOptions(headers, out.exchange) });
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: 'Tell #general the release is out.' }],
    });
    for await (const chunk of stream) {
      out.events.push(structuredClone(chunk));
      await onEvent(chunk, out.events.length - 1);
    }
    out.final = await stream.finalMessage();
  });
}

// @anthropic-ai/sdk: messages.stream() (beta: true -> client.beta.messages.stream()
// with the MCP connector's beta, whose accumulator knows mcp_tool_use input);
// the events are the raw stream events the MessageStream yields; finalMessage()
// its accumulated message.
export function readAnthropicStream(baseUrl, { beta = false, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const client = new Anthropic({ baseURL: baseUrl, ...clientOptions(headers, out.exchange) });
    const params = {
      model: 'claude-sonnet-4-5', max_tokens: 1024,
      messages: [{ role: 'user', content: 'Tell #general the release is out.' }],
    };
    const stream = beta
      ? client.beta.messages.stream({
        ...params, betas: ['mcp-client-2025-11-20'],
        mcp_servers: [{ type: 'url', url: 'https://mcp.agent-handler.example/mcp', name: 'agent-handler' }],
        tools: [{ type: 'mcp_toolset', mcp_server_name: 'agent-handler' }],
      })
      : client.messages.stream(params);
    for await (const event of stream) {
      out.events.push(structuredClone(event));
      await onEvent(event, out.events.length - 1);
    }
    out.final = await stream.finalMessage();
  });
}

// ai: DefaultChatTransport (the transport behind useChat) sends the chat and
// parses the UI message stream (every chunk validated against the SDK's
// schema); readUIMessageStream builds the UIMessage from the chunks, as
// useChat does. events: the validated chunks; final: the last UIMessage.
export function readAiSdk(baseUrl, { payload, headers = {}, onEvent = noop }) {
  return collect(async (out) => {
    const transport = new DefaultChatTransport({ api: `${baseUrl}/api/chat`, headers, body: { payload },
                                                 fetch: recordingFetch(out.exchange) });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const chunks = await transport.sendMessages({
        trigger: 'submit-message', chatId: 'chat-standin-1', messageId: undefined,
        abortSignal: controller.signal,
        messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Tell #general the release is out.' }] }],
      });
      const tapped = chunks.pipeThrough(new TransformStream({
        async transform(chunk, ctl) {
          out.events.push(structuredClone(chunk));
          await onEvent(chunk, out.events.length - 1);
          ctl.enqueue(chunk);
        },
      }));
      let sdkError = null;
      for await (const message of readUIMessageStream({
        stream: tapped, terminateOnError: true, onError: (err) => { sdkError ??= err; },
      })) {
        out.final = message;
      }
      if (sdkError) throw sdkError;
    } finally {
      clearTimeout(timer);
    }
  });
}

// JSON round trip: drops undefined members, so that deep comparisons see what
// a JSON consumer would.
export function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// Every auth-required result in value (DESIGN.md "Detection": an object with
// `type` "authenticate_meta", or with both `link_token` and `magic_link_url`
// strings), at any depth and inside string values that are themselves JSON
// texts, up to 2 such levels. Returns [{ result, path }].
export function findAuthResults(value, path = '$', level = 0, found = []) {
  if (typeof value === 'string') {
    if (level < 2 && /^\s*[{[]/.test(value)) {
      let inner;
      try { inner = JSON.parse(value); } catch { return found; }
      findAuthResults(inner, `${path}<json>`, level + 1, found);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findAuthResults(v, `${path}[${i}]`, level, found));
  } else if (value && typeof value === 'object') {
    if (value.type === 'authenticate_meta' ||
        (typeof value.link_token === 'string' && typeof value.magic_link_url === 'string')) {
      found.push({ result: value, path });
    }
    for (const [k, v] of Object.entries(value)) findAuthResults(v, `${path}.${k}`, level, found);
  }
  return found;
}

// value with the link values of every auth-required result (link_token,
// magic_link_url, expires_at) replaced by placeholders, at every level
// (JSON-in-string values re-serialized), so that an upstream message and the
// one an SDK read through authrelay's rewrite compare equal.
export function withoutLinkValues(value, level = 0) {
  if (typeof value === 'string') {
    if (level < 2 && /^\s*[{[]/.test(value)) {
      let inner;
      try { inner = JSON.parse(value); } catch { return value; }
      if (findAuthResults(inner).length === 0) return value;
      return JSON.stringify(withoutLinkValues(inner, level + 1));
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => withoutLinkValues(v, level));
  if (value && typeof value === 'object') {
    const isResult = value.type === 'authenticate_meta' ||
      (typeof value.link_token === 'string' && typeof value.magic_link_url === 'string');
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isResult && ['link_token', 'magic_link_url', 'expires_at'].includes(k)
        ? `<${k}>` : withoutLinkValues(v, level);
    }
    return out;
  }
  return value;
}
