// Stand-in agent servers for the agent-protocol dialect tests (issue #14,
// DESIGN.md "Dialects"): small node:http servers on 127.0.0.1 (port 0) that
// emit each protocol's real wire shapes, written by hand so that every byte
// is known, and read in the tests by the official SDKs:
//   AG-UI  (@ag-ui/client HttpAgent): one run over SSE, `data: {event}\n\n`:
//          RUN_STARTED, TEXT_MESSAGE_*, TOOL_CALL_START (slack__send_message),
//          TOOL_CALL_ARGS, TOOL_CALL_END, TOOL_CALL_RESULT whose content is the
//          JSON text of an auth-required result, more text, RUN_FINISHED.
//   A2A    JSON-RPC over SSE, in both wire versions the npm SDKs speak:
//          v0.3 (`message/stream`, results {kind:"task"|"status-update"|
//          "artifact-update"}; read by A2AClient of @a2a-js/sdk 0.3.x) and
//          v1.0 (`SendStreamingMessage`, results {task}|{statusUpdate}|
//          {artifactUpdate}, TASK_STATE_* enums; read by @a2a-js/sdk 1.x);
//          the auth result sits in a DataPart (the ADK function_response
//          shape: {id, name, response}) or, as JSON text, in a TextPart of an
//          artifact.
//   MCP    Streamable HTTP (stateful: Mcp-Session-Id, a GET event stream),
//          JSON or SSE response mode; tools/call of slack__send_message
//          answers content[0].text = the JSON of an auth-required result
//          until the caller is connected; optionally (elicit: true) it answers
//          a client that declared `elicitation: {url: {}}` with the
//          2025-11-25 URL elicitation error -32042 instead, and sends
//          notifications/elicitation/complete on the session's GET stream
//          when told to.
// The scripts (the exact events each stand-in sends) are exported, so that a
// test compares what its SDK yields with what was sent. Under /designed/ the
// AG-UI and A2A stand-ins serve instead what authrelay should send for that
// stream (designedAgui, designedA2a: the auth result rewritten, the dialect's
// notices), holding the part after the link's completion until release():
// the SDKs' acceptance of the designed shapes is tested too. Used by
// direct.test.mjs (no authrelay), analysis.test.mjs and via_authrelay.mjs
// (through authrelay).

import http from 'node:http';
import { randomUUID } from 'node:crypto';

// The upstream's own link: it must never reach a client through authrelay.
export const UPSTREAM_LINK_TOKEN = 'ltk_upstream0000notfortheuser';
export const UPSTREAM_LINK_HOST = 'agent-handler.upstream.invalid';
export const UPSTREAM_LINK_URL = `https://${UPSTREAM_LINK_HOST}/link/${UPSTREAM_LINK_TOKEN}`;
export const UPSTREAM_MARKERS = [UPSTREAM_LINK_TOKEN, UPSTREAM_LINK_HOST];
const EXPIRES_AT = '2026-12-05T03:30:00Z';
const TS = '2026-12-05T01:30:00Z';

// The two auth-required shapes of DESIGN.md "Detection".
export function authenticateMeta() {
  return {
    type: 'authenticate_meta', Connector: 'slack', link_token: UPSTREAM_LINK_TOKEN,
    expires_at: EXPIRES_AT, message: 'Please connect Slack to continue.',
  };
}
export function magicLinkPayload() {
  return { message: 'Connect Slack to continue.', magic_link_url: UPSTREAM_LINK_URL, link_token: UPSTREAM_LINK_TOKEN };
}
export function authResult(shape) {
  return shape === 'magic_link' ? magicLinkPayload() : authenticateMeta();
}

function readBody(req, cap = 1 << 20) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > cap) { reject(new Error('request body too large')); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

const sseData = (obj) => `data: ${JSON.stringify(obj)}\n\n`;

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function closer(server, sockets) {
  return () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

// A gate the designed streams wait at (the pause): release() opens it for
// the streams waiting now and later.
function gate() {
  let open;
  const opened = new Promise((r) => { open = r; });
  return { opened, release: () => open() };
}

// Writes the 'before' part of a designed stream, waits for the gate, then
// the 'after' part. items: [{data, phase}].
async function writeDesigned(res, items, released) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  for (const it of items.filter((i) => i.phase === 'before')) res.write(sseData(it.data));
  await released.opened;
  for (const it of items.filter((i) => i.phase === 'after')) res.write(sseData(it.data));
  res.end();
}

function track(server) {
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return sockets;
}

// ---------------------------------------------------------------- AG-UI

// The events of one run. shape: 'authenticate_meta' | 'magic_link'.
export function aguiScript({ threadId, runId, shape }) {
  const call = 'call_slack_1';
  return [
    { type: 'RUN_STARTED', threadId, runId },
    { type: 'TEXT_MESSAGE_START', messageId: 'msg_1', role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg_1', delta: 'Let me post that ' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg_1', delta: 'to Slack.' },
    { type: 'TEXT_MESSAGE_END', messageId: 'msg_1' },
    { type: 'TOOL_CALL_START', toolCallId: call, toolCallName: 'slack__send_message', parentMessageId: 'msg_1' },
    { type: 'TOOL_CALL_ARGS', toolCallId: call, delta: '{"channel":"#general",' },
    { type: 'TOOL_CALL_ARGS', toolCallId: call, delta: '"text":"hello"}' },
    { type: 'TOOL_CALL_END', toolCallId: call },
    { type: 'TOOL_CALL_RESULT', messageId: 'msg_tool_1', toolCallId: call, role: 'tool',
      content: JSON.stringify(authResult(shape)) },
    { type: 'TEXT_MESSAGE_START', messageId: 'msg_2', role: 'assistant' },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: 'msg_2', delta: 'Posted to #general.' },
    { type: 'TEXT_MESSAGE_END', messageId: 'msg_2' },
    { type: 'RUN_FINISHED', threadId, runId },
  ];
}
export const AGUI_RESULT_INDEX = 9; // TOOL_CALL_RESULT in aguiScript

// POST PATH (RunAgentInput JSON) -> the run as text/event-stream. The shape
// is chosen by the path: /agui/authenticate_meta or /agui/magic_link.
export async function startAgui() {
  const log = [];
  const released = gate();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const shape = url.pathname.split('/').pop();
      const designed = url.pathname.startsWith('/designed/');
      if (req.method !== 'POST' || !['authenticate_meta', 'magic_link'].includes(shape)) {
        res.writeHead(404).end();
        return;
      }
      const input = JSON.parse(await readBody(req));
      const entry = { path: url.pathname, user: req.headers['x-registered-user-id'] ?? null,
                      accept: req.headers.accept ?? null, threadId: input.threadId, runId: input.runId, done: false };
      log.push(entry);
      const script = aguiScript({ threadId: input.threadId, runId: input.runId, shape });
      if (designed) {
        await writeDesigned(res, designedAgui(script, { relayUrl: `http://${req.headers.host}` }).map((d) => ({ ...d, data: d.ev })), released);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      for (const ev of script) res.write(sseData(ev));
      res.end(() => { entry.done = true; }); // done: every byte handed to the socket
    } catch (err) {
      log.push({ error: String(err) });
      if (!res.headersSent) res.writeHead(500).end(); else res.destroy();
    }
  });
  const sockets = track(server);
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${port}`, log, release: released.release, close: closer(server, sockets) };
}

// ---------------------------------------------------------------- A2A

const TASK_ID = 'task-7f3c';
const CONTEXT_ID = 'ctx-91ab';
export const A2A_IDS = { taskId: TASK_ID, contextId: CONTEXT_ID };

// The results of one message/stream (v0.3 wire). shape 'data': the tool call
// and its response as ADK-style DataParts in working status messages
// (authenticate_meta object inside `response`); shape 'text': an artifact
// whose TextPart is the JSON text of the magic-link payload.
export function a2aScriptV03(shape) {
  const ids = { taskId: TASK_ID, contextId: CONTEXT_ID };
  const msg = (messageId, parts) => ({ kind: 'message', role: 'agent', messageId, ...ids, parts });
  const working = (message) => ({ kind: 'status-update', ...ids, status: { state: 'working', message, timestamp: TS }, final: false });
  const out = [
    { kind: 'task', id: TASK_ID, contextId: CONTEXT_ID, status: { state: 'submitted', timestamp: TS } },
    working(msg('m-1', [{ kind: 'text', text: 'Posting to Slack.' }])),
  ];
  if (shape === 'data') {
    out.push(working(msg('m-2', [{ kind: 'data', data: { id: 'call_slack_1', name: 'slack__send_message', args: { channel: '#general', text: 'hello' } },
                                   metadata: { adk_type: 'function_call' } }])));
    out.push(working(msg('m-3', [{ kind: 'data', data: { id: 'call_slack_1', name: 'slack__send_message', response: authenticateMeta() },
                                   metadata: { adk_type: 'function_response' } }])));
  } else {
    out.push({ kind: 'artifact-update', ...ids, artifact: { artifactId: 'tool-result-1', name: 'slack__send_message',
               parts: [{ kind: 'text', text: JSON.stringify(magicLinkPayload()) }] }, lastChunk: true });
  }
  out.push(working(msg('m-4', [{ kind: 'text', text: 'Posted to #general.' }])));
  out.push({ kind: 'status-update', ...ids, status: { state: 'completed', timestamp: TS }, final: true });
  return out;
}
export const A2A_RESULT_INDEX = { data: 3, text: 2 };

// The same stream in the v1.0 wire (ProtoJSON: oneof member names, enum names).
export function a2aScriptV1(shape) {
  const ids = { taskId: TASK_ID, contextId: CONTEXT_ID };
  const msg = (messageId, parts) => ({ messageId, contextId: CONTEXT_ID, taskId: TASK_ID, role: 'ROLE_AGENT', parts });
  const working = (message) => ({ statusUpdate: { ...ids, status: { state: 'TASK_STATE_WORKING', message, timestamp: TS } } });
  const out = [
    { task: { id: TASK_ID, contextId: CONTEXT_ID, status: { state: 'TASK_STATE_SUBMITTED', timestamp: TS } } },
    working(msg('m-1', [{ text: 'Posting to Slack.' }])),
  ];
  if (shape === 'data') {
    out.push(working(msg('m-2', [{ data: { id: 'call_slack_1', name: 'slack__send_message', args: { channel: '#general', text: 'hello' } },
                                   metadata: { adk_type: 'function_call' } }])));
    out.push(working(msg('m-3', [{ data: { id: 'call_slack_1', name: 'slack__send_message', response: authenticateMeta() },
                                   metadata: { adk_type: 'function_response' } }])));
  } else {
    out.push({ artifactUpdate: { ...ids, artifact: { artifactId: 'tool-result-1', name: 'slack__send_message',
               parts: [{ text: JSON.stringify(magicLinkPayload()) }] }, lastChunk: true } });
  }
  out.push(working(msg('m-4', [{ text: 'Posted to #general.' }])));
  out.push({ statusUpdate: { ...ids, status: { state: 'TASK_STATE_COMPLETED', timestamp: TS } } });
  return out;
}

// Paths: /v03/<shape>/... and /v1/<shape>/..., each with
//   GET  .well-known/agent-card.json   the agent card (its JSON-RPC URL built
//                                      from the request's Host, so that a
//                                      client reading it through authrelay
//                                      stays on authrelay)
//   POST a2a                           JSON-RPC: message/stream (v0.3) or
//                                      SendStreamingMessage (v1.0) -> SSE
export async function startA2a() {
  const log = [];
  const released = gate();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const m = url.pathname.match(/^(.*\/(v03|v1)\/(data|text))\/(\.well-known\/agent-card\.json|a2a)$/);
      if (!m) { res.writeHead(404).end(); return; }
      const [, base, version, shape, what] = m;
      const endpoint = `http://${req.headers.host}${base}/a2a`;
      if (what !== 'a2a') {
        if (req.method !== 'GET') { res.writeHead(405).end(); return; }
        log.push({ card: url.pathname, host: req.headers.host ?? null });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(a2aCard(version, endpoint)));
        return;
      }
      if (req.method !== 'POST') { res.writeHead(405).end(); return; }
      const rpc = JSON.parse(await readBody(req));
      const want = version === 'v03' ? 'message/stream' : 'SendStreamingMessage';
      const entry = { rpc: rpc.method, id: rpc.id, path: url.pathname, user: req.headers['x-registered-user-id'] ?? null,
                      accept: req.headers.accept ?? null, done: false };
      log.push(entry);
      if (rpc.jsonrpc !== '2.0' || rpc.method !== want) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          jsonrpc: '2.0', id: rpc.id ?? null, error: { code: -32601, message: `Method not found: ${rpc.method}` } }));
        return;
      }
      if (base.startsWith('/designed/')) {
        const stream = designedA2a(version, shape, { relayUrl: `http://${req.headers.host}` });
        await writeDesigned(res, stream.map((d) => ({ ...d, data: { jsonrpc: '2.0', id: rpc.id, result: d.ev } })), released);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const script = version === 'v03' ? a2aScriptV03(shape) : a2aScriptV1(shape);
      for (const result of script) res.write(sseData({ jsonrpc: '2.0', id: rpc.id, result }));
      res.end(() => { entry.done = true; });
    } catch (err) {
      log.push({ error: String(err) });
      if (!res.headersSent) res.writeHead(500).end(); else res.destroy();
    }
  });
  const sockets = track(server);
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${port}`, log, release: released.release, close: closer(server, sockets) };
}

function a2aCard(version, endpoint) {
  const common = {
    name: 'Slack helper', description: 'Posts to Slack for the user', version: '1.0.0',
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain', 'application/json'],
    skills: [{ id: 'slack', name: 'Slack', description: 'Posts messages to Slack', tags: ['slack'] }],
  };
  if (version === 'v03') {
    return { ...common, protocolVersion: '0.3.0', url: endpoint, preferredTransport: 'JSONRPC' };
  }
  return { ...common, supportedInterfaces: [{ url: endpoint, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] };
}

// ---------------------------------------------------------------- designed

// What authrelay should send for a stand-in's stream, per DESIGN.md
// "Dialects" (where the design is silent, the shapes chosen here: a notice
// value is the generic event's object; the A2A notice's status message is a
// text part with the link). Used by analysis.test.mjs, and served by the
// stand-ins under /designed/ so that direct.test.mjs shows the SDKs accept
// it. Returns [{ev, phase: 'before' | 'after'}] (after: once the link is
// completed).
export const DESIGNED_TOKEN = 'ltk_0123456789abcdef';

// Replaces the link values of every auth-required result in v (objects, and
// the JSON texts of one) as authrelay's rewrite must; extra(obj) may change
// the rewritten object further (tests break it that way).
export function rewriteAuth(v, { relayUrl, token = DESIGNED_TOKEN, extra = (o) => o }) {
  const fix = (o) => {
    const r = { ...o };
    if ('link_token' in r) r.link_token = token;
    if ('magic_link_url' in r) r.magic_link_url = `${relayUrl}/_authrelay/link/${token}`;
    if ('expires_at' in r) r.expires_at = '2026-12-05T02:00:00Z';
    return extra(r);
  };
  const isAuth = (o) => o && typeof o === 'object' && !Array.isArray(o) &&
    (o.type === 'authenticate_meta' || (typeof o.link_token === 'string' && typeof o.magic_link_url === 'string'));
  const walk = (x) => {
    if (typeof x === 'string' && x.startsWith('{')) {
      try { const o = JSON.parse(x); if (isAuth(o)) return JSON.stringify(fix(o)); } catch { /* plain text */ }
      return x;
    }
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return isAuth(x) ? fix(x) : Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return walk(v);
}

export function designedAgui(upstream, { relayUrl, token = DESIGNED_TOKEN }) {
  const ri = upstream.findIndex((e) => e.type === 'TOOL_CALL_RESULT');
  return [
    ...upstream.slice(0, ri).map((ev) => ({ ev, phase: 'before' })),
    { ev: rewriteAuth(upstream[ri], { relayUrl, token }), phase: 'before' },
    { ev: { type: 'CUSTOM', name: 'authrelay.link_token', value: { type: 'link_token', stream_id: 'st_1', connector: 'slack',
      link_token: token, magic_link_url: `${relayUrl}/_authrelay/link/${token}`, expires_at: '2026-12-05T02:00:00Z',
      message: 'Please connect Slack to continue.' } }, phase: 'before' },
    { ev: { type: 'CUSTOM', name: 'authrelay.auth_complete', value: { type: 'auth_complete', stream_id: 'st_1', connector: 'slack' } },
      phase: 'after' },
    ...upstream.slice(ri + 1).map((ev) => ({ ev, phase: 'after' })),
  ];
}

export function designedA2a(version, shape, { relayUrl, token = DESIGNED_TOKEN }) {
  const upstream = version === 'v03' ? a2aScriptV03(shape) : a2aScriptV1(shape);
  const ri = A2A_RESULT_INDEX[shape];
  const link = `${relayUrl}/_authrelay/link/${token}`;
  const ids = { taskId: TASK_ID, contextId: CONTEXT_ID };
  const status = (state, text) => (version === 'v03'
    ? { kind: 'status-update', ...ids, final: false,
        status: { state, message: { kind: 'message', role: 'agent', messageId: `authrelay-${state}`, ...ids,
                                    parts: [{ kind: 'text', text }] } } }
    : { statusUpdate: { ...ids, status: { state, message: { messageId: `authrelay-${state}`, contextId: CONTEXT_ID, taskId: TASK_ID,
                                                            role: 'ROLE_AGENT', parts: [{ text }] } } } });
  return [
    ...upstream.slice(0, ri).map((ev) => ({ ev, phase: 'before' })),
    { ev: rewriteAuth(upstream[ri], { relayUrl, token }), phase: 'before' },
    { ev: status(version === 'v03' ? 'auth-required' : 'TASK_STATE_AUTH_REQUIRED', `Please connect Slack to continue: ${link}`),
      phase: 'before' },
    { ev: status(version === 'v03' ? 'working' : 'TASK_STATE_WORKING', 'Slack connected.'), phase: 'after' },
    ...upstream.slice(ri + 1).map((ev) => ({ ev, phase: 'after' })),
  ];
}

// ---------------------------------------------------------------- MCP

export const MCP_TOOL = {
  name: 'slack__send_message',
  description: 'Post a message to Slack as the user',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};
const MCP_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];

// opts: response 'json' | 'sse'; shape of the auth-required result;
// elicit: answer URL-elicitation-capable clients with -32042 (the stand-in
// playing an elicitation-aware server); isConnected(user) -> Promise<bool>
// (default: never). Endpoint: POST/GET/DELETE <any prefix>/mcp.
// Returned: completeElicitation(elicitationId) sends
// notifications/elicitation/complete on the session's GET stream.
export async function startMcp({ response = 'json', shape = 'authenticate_meta', elicit = false,
                                  isConnected = async () => false } = {}) {
  const log = [];
  const sessions = new Map(); // id -> {capabilities, getRes, elicitations: Set}
  let eventSeq = 0;

  const reply = (res, status, msg, extraHeaders = {}) => {
    if (response === 'sse') {
      res.writeHead(status, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', ...extraHeaders });
      if (Array.isArray(msg)) for (const m of msg) res.write(`event: message\nid: ${++eventSeq}\ndata: ${JSON.stringify(m)}\n\n`);
      else res.write(`event: message\nid: ${++eventSeq}\ndata: ${JSON.stringify(msg)}\n\n`);
      res.end();
    } else {
      const last = Array.isArray(msg) ? msg[msg.length - 1] : msg;
      res.writeHead(status, { 'Content-Type': 'application/json', ...extraHeaders }).end(JSON.stringify(last));
    }
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (!url.pathname.endsWith('/mcp')) { res.writeHead(404).end(); return; }
      const sid = req.headers['mcp-session-id'];
      const user = req.headers['x-registered-user-id'] ?? null;
      const retry = req.headers['x-authrelay-retry'] ?? null;
      if (req.method === 'GET') {
        const s = sessions.get(sid);
        log.push({ http: 'GET', sid: sid ?? null, user });
        if (!s) { res.writeHead(400).end(); return; }
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.write(': stream open\n\n');
        s.getRes = res;
        res.on('close', () => { if (s.getRes === res) s.getRes = null; });
        return;
      }
      if (req.method === 'DELETE') {
        log.push({ http: 'DELETE', sid: sid ?? null, user });
        const s = sessions.get(sid);
        if (s?.getRes) s.getRes.end();
        sessions.delete(sid);
        res.writeHead(200).end();
        return;
      }
      if (req.method !== 'POST') { res.writeHead(405).end(); return; }
      const msg = JSON.parse(await readBody(req));
      const entry = { http: 'POST', rpc: msg.method ?? null, id: msg.id ?? null, sid: sid ?? null, user, retry };
      log.push(entry);
      if (msg.method === 'initialize') {
        const id = randomUUID();
        sessions.set(id, { capabilities: msg.params?.capabilities ?? {}, getRes: null });
        const asked = msg.params?.protocolVersion;
        reply(res, 200, { jsonrpc: '2.0', id: msg.id, result: {
          protocolVersion: MCP_VERSIONS.includes(asked) ? asked : MCP_VERSIONS[0],
          capabilities: { tools: {} }, serverInfo: { name: 'authrelay-standin-mcp', version: '1.0.0' } } },
        { 'Mcp-Session-Id': id });
        return;
      }
      const s = sessions.get(sid);
      if (!s) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          jsonrpc: '2.0', id: msg.id ?? null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      if (msg.id === undefined) { res.writeHead(202).end(); return; } // a notification
      if (msg.method === 'tools/list') {
        reply(res, 200, { jsonrpc: '2.0', id: msg.id, result: { tools: [MCP_TOOL] } });
        return;
      }
      if (msg.method !== 'tools/call' || msg.params?.name !== MCP_TOOL.name) {
        reply(res, 200, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `unknown: ${msg.method}` } });
        return;
      }
      const out = [];
      const progressToken = msg.params?._meta?.progressToken;
      if (progressToken !== undefined && response === 'sse') {
        out.push({ jsonrpc: '2.0', method: 'notifications/progress',
                   params: { progressToken, progress: 0, total: 1, message: 'checking the Slack connection' } });
      }
      const connected = !!user && await isConnected(user);
      entry.connected = connected;
      if (connected) {
        out.push({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: `posted: ${msg.params.arguments?.text}` }] } });
      } else if (elicit && s.capabilities?.elicitation?.url) {
        const elicitationId = randomUUID();
        entry.elicitationId = elicitationId;
        out.push({ jsonrpc: '2.0', id: msg.id, error: { code: -32042, message: 'This request requires more information.',
          data: { elicitations: [{ mode: 'url', elicitationId, url: UPSTREAM_LINK_URL,
                                   message: 'Please connect Slack to continue.' }] } } });
      } else {
        out.push({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: JSON.stringify(authResult(shape)) }] } });
      }
      reply(res, 200, out);
    } catch (err) {
      log.push({ error: String(err?.stack ?? err) });
      if (!res.headersSent) res.writeHead(500).end(); else res.destroy();
    }
  });
  const sockets = track(server);
  const port = await listen(server);
  return {
    port, url: `http://127.0.0.1:${port}`, log, sessions,
    // Sends notifications/elicitation/complete on every session's GET stream
    // that is open; resolves with how many got it.
    completeElicitation(elicitationId) {
      let n = 0;
      for (const s of sessions.values()) {
        if (!s.getRes) continue;
        s.getRes.write(`event: message\nid: ${++eventSeq}\ndata: ${JSON.stringify({
          jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId } })}\n\n`);
        n++;
      }
      return n;
    },
    close: closer(server, sockets),
  };
}
