// Validates the stand-in servers of standins.mjs directly against the
// official SDKs, without authrelay (issue #14 "What must hold" 1: "Validate
// each stand-in directly against its SDK first"): if an SDK's reader
// completes without an error and yields exactly the events the stand-in
// sent, the stand-in speaks that protocol's real wire shapes, and
// via_authrelay.mjs can blame any difference through authrelay on authrelay.
//   AG-UI  @ag-ui/client HttpAgent.runAgent: every event through the
//          subscriber's onEvent equals the stand-in's script; the agent's
//          accumulated messages hold the assistant text, the tool call and
//          the tool result as sent.
//   A2A    v0.3: A2AClient.fromCardUrl + sendMessageStream (a2a-sdk-v0_3 =
//          @a2a-js/sdk 0.3.x) yields the script's results as sent;
//          v1.0: ClientFactory.createFromUrl + Client.sendMessageStream
//          (@a2a-js/sdk 1.x) yields StreamResponses whose ProtoJSON form is
//          the script's results as sent.
//   MCP    @modelcontextprotocol/sdk Client + StreamableHTTPClientTransport,
//          JSON and SSE response modes: callTool resolves with the
//          auth-required result as content[0].text (SSE: with a progress
//          notification before it); a client declaring
//          `elicitation: {url: {}}` gets UrlElicitationRequiredError
//          (-32042) with the elicitation's URL and id, and its
//          notifications/elicitation/complete handler receives the id sent on
//          the GET stream.
//   designed the stream DESIGN.md "Dialects" asks authrelay to send (the
//          stand-ins' /designed/ paths: the auth result rewritten, AG-UI
//          CUSTOM notices, A2A auth-required then working status updates,
//          the rest held until the test releases it) is read by the same
//          SDKs without an error and passes analysis.mjs, the checks
//          via_authrelay.mjs applies through authrelay.
// Loopback only; every wait is bounded by the test runner's timeout.

import assert from 'node:assert/strict';
import test from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { A2AClient } from 'a2a-sdk-v0_3/client';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { StreamResponse } from '@a2a-js/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitationCompleteNotificationSchema, ErrorCode, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import {
  A2A_IDS, A2A_RESULT_INDEX, UPSTREAM_LINK_URL, a2aScriptV03, a2aScriptV1, aguiScript, authResult, startA2a, startAgui, startMcp,
} from './standins.mjs';
import { AFTER, BEFORE, Checks, analyseA2a, analyseAgui } from './analysis.mjs';

const TIMEOUT = 15_000;
process.env.SUPPRESS_TRANSFORMATION_WARNINGS = 'true';

// ---------------------------------------------------------------- AG-UI

for (const shape of ['authenticate_meta', 'magic_link']) {
  test(`AG-UI HttpAgent reads the stand-in run (${shape})`, { timeout: TIMEOUT }, async () => {
    const server = await startAgui();
    try {
      const agent = new HttpAgent({ url: `${server.url}/agui/${shape}`, headers: { 'X-Registered-User-Id': 'u1' } });
      const events = [];
      const custom = [];
      const { newMessages } = await agent.runAgent({ runId: 'run-1' }, {
        onEvent: ({ event }) => { events.push(structuredClone(event)); },
        onCustomEvent: ({ event }) => { custom.push(event); },
      });
      const sent = aguiScript({ threadId: agent.threadId, runId: 'run-1', shape });
      assert.deepEqual(events, sent);
      assert.deepEqual(custom, []);
      assert.equal(server.log.length, 1);
      assert.match(server.log[0].accept, /text\/event-stream/);
      // The accumulated messages: assistant text, the tool call with its
      // arguments, the tool result as sent, the text after it.
      const byId = Object.fromEntries(newMessages.map((m) => [m.id, m]));
      assert.equal(byId.msg_1.role, 'assistant');
      assert.equal(byId.msg_1.content, 'Let me post that to Slack.');
      assert.deepEqual(byId.msg_1.toolCalls, [{ id: 'call_slack_1', type: 'function',
        function: { name: 'slack__send_message', arguments: '{"channel":"#general","text":"hello"}' } }]);
      assert.equal(byId.msg_tool_1.role, 'tool');
      assert.equal(byId.msg_tool_1.toolCallId, 'call_slack_1');
      assert.deepEqual(JSON.parse(byId.msg_tool_1.content), authResult(shape));
      assert.equal(byId.msg_2.content, 'Posted to #general.');
    } finally {
      await server.close();
    }
  });
}

// ---------------------------------------------------------------- A2A

function userMessageV03() {
  return { kind: 'message', role: 'user', messageId: 'u-1', parts: [{ kind: 'text', text: 'post hello to #general' }] };
}

for (const shape of ['data', 'text']) {
  test(`A2A v0.3 A2AClient.sendMessageStream reads the stand-in (${shape} part)`, { timeout: TIMEOUT }, async () => {
    const server = await startA2a();
    try {
      const client = await A2AClient.fromCardUrl(`${server.url}/v03/${shape}/.well-known/agent-card.json`);
      const got = [];
      for await (const ev of client.sendMessageStream({ message: userMessageV03() })) got.push(ev);
      assert.deepEqual(got, a2aScriptV03(shape));
      const rpc = server.log.filter((e) => e.rpc);
      assert.deepEqual(rpc.map((e) => e.rpc), ['message/stream']);
      assert.ok(got.every((ev) => (ev.kind === 'task' ? ev.id : ev.taskId) === A2A_IDS.taskId));
    } finally {
      await server.close();
    }
  });

  test(`A2A v1.0 Client.sendMessageStream reads the stand-in (${shape} part)`, { timeout: TIMEOUT }, async () => {
    const server = await startA2a();
    try {
      const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory()], cardResolver: new DefaultAgentCardResolver(),
      }));
      const client = await factory.createFromUrl(`${server.url}/v1/${shape}/.well-known/agent-card.json`, '');
      const got = [];
      const message = { messageId: 'u-1', role: 1 /* ROLE_USER */, parts: [{ content: { $case: 'text', value: 'post hello to #general' } }] };
      for await (const ev of client.sendMessageStream({ message })) got.push(StreamResponse.toJSON(ev));
      assert.deepEqual(got, a2aScriptV1(shape));
      assert.deepEqual(server.log.filter((e) => e.rpc).map((e) => e.rpc), ['SendStreamingMessage']);
    } finally {
      await server.close();
    }
  });
}

// ---------------------------------------------------------------- designed

// A fetch that keeps every response body (teed) and request body.
function teeFetch(log) {
  return async (url, init = {}) => {
    const entry = { method: init.method ?? 'GET', requestBody: typeof init.body === 'string' ? init.body : null, body: '' };
    log.push(entry);
    const res = await fetch(url, init);
    if (!res.body) return res;
    const [mine, theirs] = res.body.tee();
    entry.done = (async () => { for await (const c of mine.pipeThrough(new TextDecoderStream())) entry.body += c; })();
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function analysed(name, analyse, args) {
  const lines = [];
  const k = new Checks(name, { passed: 0, failed: 0 }, (l) => lines.push(l));
  analyse(k, args);
  assert.deepEqual(k.failures, [], lines.join('\n'));
}

for (const shape of ['authenticate_meta', 'magic_link']) {
  test(`designed AG-UI stream: HttpAgent reads it and it passes the via-authrelay checks (${shape})`, { timeout: TIMEOUT }, async () => {
    const server = await startAgui();
    try {
      const agent = new HttpAgent({ url: `${server.url}/designed/agui/${shape}` });
      let phase = BEFORE;
      const got = [];
      const run = agent.runAgent({ runId: 'run-d' }, { onEvent: ({ event }) => { got.push({ ev: structuredClone(event), phase }); } });
      await waitFor(() => got.some((g) => g.ev.type === 'CUSTOM' && g.ev.name === 'authrelay.link_token'), 'the link notice');
      phase = AFTER;
      server.release();
      await run;
      analysed(`designed AG-UI ${shape}`, analyseAgui, {
        upstream: aguiScript({ threadId: agent.threadId, runId: 'run-d', shape }), got, relayUrl: server.url,
        toolMessage: agent.messages.find((m) => m.role === 'tool'),
      });
    } finally {
      await server.close();
    }
  });
}

for (const version of ['v03', 'v1']) {
  for (const shape of ['data', 'text']) {
    test(`designed A2A ${version} stream: sendMessageStream reads it and it passes the via-authrelay checks (${shape})`,
         { timeout: TIMEOUT }, async () => {
      const server = await startA2a();
      try {
        const exchange = [];
        const fetchImpl = teeFetch(exchange);
        const cardUrl = `${server.url}/designed/${version}/${shape}/.well-known/agent-card.json`;
        let stream;
        let toWire = (ev) => ev;
        if (version === 'v03') {
          const client = await A2AClient.fromCardUrl(cardUrl, { fetchImpl });
          stream = client.sendMessageStream({ message: userMessageV03() });
        } else {
          const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
            transports: [new JsonRpcTransportFactory({ fetchImpl })], cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
          }));
          const client = await factory.createFromUrl(cardUrl, '');
          stream = client.sendMessageStream({ message: { messageId: 'u-1', role: 1, parts: [{ content: { $case: 'text', value: 'hi' } }] } });
          toWire = (ev) => StreamResponse.toJSON(ev);
        }
        let phase = BEFORE;
        const got = [];
        const authState = version === 'v03' ? 'auth-required' : 'TASK_STATE_AUTH_REQUIRED';
        for await (const ev of stream) {
          const wire = toWire(ev);
          got.push({ ev: wire, phase });
          if ((wire.status?.state ?? wire.statusUpdate?.status?.state) === authState) {
            phase = AFTER;
            server.release();
          }
        }
        const post = exchange.find((e) => e.method === 'POST');
        await post.done;
        analysed(`designed A2A ${version} ${shape}`, analyseA2a, {
          version, upstream: version === 'v03' ? a2aScriptV03(shape) : a2aScriptV1(shape), got, ri: A2A_RESULT_INDEX[shape],
          relayUrl: server.url, wireBody: post.body, requestId: JSON.parse(post.requestBody).id, ids: A2A_IDS,
        });
      } finally {
        await server.close();
      }
    });
  }
}

// ---------------------------------------------------------------- MCP

async function mcpClient(url, capabilities = {}) {
  const client = new Client({ name: 'authrelay-dialects-direct', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { 'X-Registered-User-Id': 'u1' } },
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 0 },
  });
  await client.connect(transport);
  return client;
}

for (const response of ['json', 'sse']) {
  for (const shape of ['authenticate_meta', 'magic_link']) {
    test(`MCP callTool reads the stand-in's auth-required result (${response}, ${shape})`, { timeout: TIMEOUT }, async () => {
      const server = await startMcp({ response, shape });
      const client = await mcpClient(`${server.url}/mcp`);
      try {
        const tools = await client.listTools();
        assert.deepEqual(tools.tools.map((t) => t.name), ['slack__send_message']);
        const progress = [];
        const result = await client.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } }, undefined,
                                             { onprogress: (p) => progress.push(p) });
        assert.equal(result.isError, undefined);
        assert.equal(result.content.length, 1);
        assert.equal(result.content[0].type, 'text');
        assert.deepEqual(JSON.parse(result.content[0].text), authResult(shape));
        assert.equal(progress.length, response === 'sse' ? 1 : 0);
        const call = server.log.find((e) => e.rpc === 'tools/call');
        assert.equal(call.user, 'u1');
        assert.ok(call.sid, 'tools/call without Mcp-Session-Id');
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  // The 2025-11-25 URL elicitation as the pinned SDK exposes it: the client
  // declares `elicitation: {url: {}}`; the server answers tools/call with
  // error -32042 {elicitations: [{mode: "url", elicitationId, url, message}]};
  // callTool rejects with UrlElicitationRequiredError; the server later sends
  // notifications/elicitation/complete {elicitationId} on the GET stream.
  test(`MCP URL elicitation (-32042, notifications/elicitation/complete) with the pinned SDK (${response})`,
       { timeout: TIMEOUT }, async () => {
    const server = await startMcp({ response, elicit: true });
    const client = await mcpClient(`${server.url}/mcp`, { elicitation: { url: {} } });
    try {
      let onComplete;
      const completed = new Promise((resolve) => { onComplete = resolve; });
      client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => onComplete(n));
      const init = server.log.find((e) => e.rpc === 'initialize');
      assert.ok(init);
      const sid = server.log.find((e) => e.rpc === 'tools/call')?.sid;
      assert.equal(sid, undefined, 'no call yet');
      assert.deepEqual([...server.sessions.values()][0].capabilities.elicitation, { url: {} });

      const err = await client.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } })
        .then(() => null, (e) => e);
      assert.ok(err instanceof UrlElicitationRequiredError, `callTool: ${err}`);
      assert.equal(err.code, ErrorCode.UrlElicitationRequired);
      assert.equal(err.code, -32042);
      const call = server.log.find((e) => e.rpc === 'tools/call');
      assert.deepEqual(err.elicitations, [{ mode: 'url', elicitationId: call.elicitationId, url: UPSTREAM_LINK_URL,
                                            message: 'Please connect Slack to continue.' }]);

      // The GET stream is open once the client has sent notifications/initialized.
      await waitFor(() => [...server.sessions.values()].some((s) => s.getRes), 'the GET event stream');
      assert.equal(server.completeElicitation(call.elicitationId), 1);
      const note = await completed;
      assert.deepEqual(note, { method: 'notifications/elicitation/complete', params: { elicitationId: call.elicitationId } });

      // A client without the capability gets the tool result instead.
      const plain = await mcpClient(`${server.url}/mcp`);
      try {
        const r = await plain.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } });
        assert.deepEqual(JSON.parse(r.content[0].text), authResult('authenticate_meta'));
      } finally {
        await plain.close();
      }
    } finally {
      await client.close();
      await server.close();
    }
  });
}

// Polls a condition on the event loop (no fixed sleep); bounded by the test's
// timeout.
async function waitFor(pred, what) {
  while (!pred()) await new Promise((r) => setImmediate(r));
  return what;
}
