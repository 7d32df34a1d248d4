// The agent-protocol SDKs reading through authrelay (issue #14 "What must
// hold" 1 and 3, DESIGN.md "Dialects", "Events authrelay writes into a
// stream", "The pause"): the stand-ins of standins.mjs (validated directly
// against the same SDKs by direct.test.mjs) behind one authrelay, each read
// with its official SDK through authrelay, the link completed as a user
// would (the magic link's API-key form), and what DESIGN.md says for that
// dialect checked:
//   all      the SDK's reader completes without an error; every upstream
//            event arrives, in order, with only the values of link_token,
//            magic_link_url and expires_at of the auth-required result
//            replaced (trusted link: token ltk_<hex>, URL
//            <authrelay>/_authrelay/link/<token>; no member added); the
//            upstream's own link never reaches the client (every response
//            byte, recorded through the SDK's fetch); nothing after the auth
//            result reaches the client before the form is posted, the rest
//            does after it; one pause per tool call (one link_token on the
//            control feed, one dialect notice).
//   AG-UI    (inband route) CUSTOM events named authrelay.link_token (with the
//            trusted link) and authrelay.auth_complete reach the subscriber;
//            the agent's tool message holds the rewritten result.
//   A2A      (inband route; v0.3 and v1.0 wire) a status update with the
//            auth-required state, on the request's JSON-RPC id with the
//            stream's taskId/contextId, then working again on completion.
//   MCP      (tool route; JSON and SSE response modes) hold and retry: the
//            call resolves after the form with the genuine output; with
//            `elicitation: {url: {}}` declared at initialize, callTool
//            rejects with UrlElicitationRequiredError (-32042) carrying the
//            trusted URL, notifications/elicitation/complete arrives on the
//            session's GET stream after the form, and the call made again
//            returns the genuine output.
// Checks are soft: a case records every check that fails and goes on as far
// as it can, so that one run shows all the ways a dialect breaks. The checks
// on what AG-UI and A2A yield are analysis.mjs (self-tested by
// analysis.test.mjs). Every wait is bounded (polling with a deadline, no
// fixed sleeps); loopback only.
//
// Usage: AUTHRELAY_BIN=build/authrelay node via_authrelay.mjs [filter]
//        (beside an installed node_modules: the build tree's copy after the
//        integration_dialects_agents_npm_ci test, or after `npm ci` here)
//        (filter: a substring of the case names). Output: one line per
//        check, "N passed, M failed" last; exit 1 on any failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpAgent } from '@ag-ui/client';
import { A2AClient } from 'a2a-sdk-v0_3/client';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { StreamResponse } from '@a2a-js/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitationCompleteNotificationSchema, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { EventFeed, teeResponse } from '../../lib/proctest.mjs';
import { AFTER, BEFORE, Checks, analyseA2a, analyseAgui, trustedLinkOf } from './analysis.mjs';
import {
  A2A_IDS, A2A_RESULT_INDEX, UPSTREAM_MARKERS, a2aScriptV03, a2aScriptV1, aguiScript,
  startA2a, startAgui, startMcp,
} from './standins.mjs';

process.env.SUPPRESS_TRANSFORMATION_WARNINGS = 'true';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const AUTHRELAY = process.env.AUTHRELAY_BIN ?? path.resolve(HERE, '../../../../build/authrelay');
const ADMIN_KEY = 'dialects-agents-owner-key-0123456789';
const STEP_MS = 10_000;
const WATCHDOG_MS = 110_000;
const FILTER = process.argv[2] ?? '';

const children = new Set();
const closers = [];
let dataDir = null;
const tally = { passed: 0, failed: 0 };

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dataDir) { rmSync(dataDir, { recursive: true, force: true }); dataDir = null; }
}
process.on('exit', cleanup);
const watchdog = setTimeout(() => { console.log(`FAIL: watchdog: not finished within ${WATCHDOG_MS} ms`); tally.failed++; finish(); }, WATCHDOG_MS);
watchdog.unref();
function finish() {
  cleanup();
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed === 0 ? 0 : 1);
}

const tick = () => new Promise((r) => setTimeout(r, 10));
// Polls pred (sync or async) until it returns a truthy value or ms pass;
// resolves with that value, or undefined on the deadline.
async function poll(pred, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) return undefined;
    await tick();
  }
}
function bounded(promise, ms = STEP_MS) {
  let timer;
  return Promise.race([promise.then((value) => ({ value }), (error) => ({ error })),
                       new Promise((r) => { timer = setTimeout(() => r({ timeout: true }), ms); })])
    .finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- processes

function startAuthrelay(routes) {
  const child = spawn(AUTHRELAY, ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--data-dir', dataDir,
                                  '--routes', JSON.stringify(routes)],
                      { env: { ...process.env, AUTHRELAY_ADMIN_KEY: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines = [];
  const started = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, sig) => reject(new Error(`authrelay exited (${code ?? sig}): ${lines.join('\n')}`)));
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line);
      try { const o = JSON.parse(line); if (o.msg === 'listening') resolve(o); } catch { /* not JSON */ }
    });
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(`[stdout] ${line}`));
  });
  return { child, lines, started: bounded(started) };
}


// A fetch that records every exchange as the client sees it (the response
// body teed; the SDK reads the other branch).
function recordingFetch(log, extraHeaders = {}) {
  return async (url, init = {}) => {
    const headers = new Headers(init.headers ?? {});
    for (const [k, v] of Object.entries(extraHeaders)) headers.set(k, v);
    const entry = { method: init.method ?? 'GET', url: String(url), requestBody: typeof init.body === 'string' ? init.body : null,
                    status: null, responseHeaders: null, body: '', complete: false };
    log.push(entry);
    const res = await fetch(url, { ...init, headers });
    entry.status = res.status;
    entry.responseHeaders = Object.fromEntries(res.headers);
    if (!res.body) { entry.complete = true; return res; }
    const { response, done } = teeResponse(res, (text) => { entry.body += text; });
    done.then(() => { entry.complete = true; }, (err) => { entry.error = String(err); });
    return response;
  };
}

let ctx = null;

async function controlGet(p) {
  const res = await fetch(`${ctx.controlUrl}${p}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` },
                                                     signal: AbortSignal.timeout(STEP_MS) });
  return { status: res.status, json: await res.json().catch(() => null) };
}

async function pausedStreams(user) {
  const r = await controlGet('/v1/streams');
  return (r.json?.streams ?? []).filter((s) => s.registered_user === user);
}

async function completeLink(url, user) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                                 body: new URLSearchParams({ api_key: `sk-${user}` }).toString(), redirect: 'manual',
                                 signal: AbortSignal.timeout(STEP_MS) });
  return { status: res.status, text: await res.text() };
}

function rawChecks(k, exchange) {
  const leaks = [];
  for (const e of exchange) for (const m of UPSTREAM_MARKERS) if (e.body.includes(m)) leaks.push(`${e.method} ${e.url}: ${m}`);
  k.ok("the upstream's own link never reaches the client (raw bytes)", leaks.length === 0, leaks);
  const off = exchange.filter((e) => !e.url.startsWith(ctx.relayUrl));
  k.ok('every request of the SDK went to authrelay', off.length === 0, off.map((e) => e.url));
}


// Waits for the interrupt: returns {sdkLink, feedLink} (either may be null).
async function waitInterrupt(user, sdkLinkFn, ended) {
  await poll(() => sdkLinkFn() || ctx.feed.of('link_token', user).length > 0 || ended());
  const feed = ctx.feed.of('link_token', user)[0];
  return { sdkLink: sdkLinkFn(), feedLink: feed?.magic_link_url ?? null };
}

// The pause as the control API sees it, once the upstream has written
// everything: the stream is listed as paused, and nothing past the auth
// result has reached the client.
async function checkHeld(k, user, upstreamDone) {
  await poll(upstreamDone, STEP_MS);
  const streams = await poll(async () => { const s = await pausedStreams(user); return s.length ? s : null; }, 3000);
  k.ok('the stream is paused (GET /v1/streams) once the upstream has sent everything', !!streams, streams ?? []);
  return streams;
}

// The stream paused on link (the SDK's or, failing that, the feed's): checks
// the pause (checkHeld, upstreamDone as there), then afterPause() (the case
// marks what arrives next as AFTER) and completes the link's API-key form.
async function holdThenComplete(k, user, link, upstreamDone, afterPause) {
  if (!link) {
    k.ok('a link_token for the user on the control feed', false, 'no pause at all');
    return;
  }
  await checkHeld(k, user, upstreamDone);
  afterPause();
  const form = await completeLink(link, user);
  k.eq('the link form (API key) answers 200', form.status, 200);
}

// ---------------------------------------------------------------- AG-UI

async function caseAgui(shape) {
  const k = new Checks(`AG-UI ${shape}`, tally);
  const user = `agui_${shape}`;
  const exchange = [];
  const runId = `run-${shape}`;
  const agent = new HttpAgent({ url: `${ctx.relayUrl}/agui/${shape}`, headers: { 'X-Registered-User-Id': user },
                                fetch: recordingFetch(exchange) });
  let phase = BEFORE;
  const got = [];
  let outcome = null;
  agent.runAgent({ runId }, { onEvent: ({ event }) => { got.push({ ev: structuredClone(event), phase }); } })
    .then((r) => { outcome = { r }; }, (e) => { outcome = { error: String(e?.stack ?? e) }; });
  const upstream = aguiScript({ threadId: agent.threadId, runId, shape });
  const customs = (name) => got.filter((g) => g.ev.type === 'CUSTOM' && g.ev.name === name);
  const sdkLink = () => trustedLinkOf([...customs('authrelay.link_token').map((g) => g.ev.value),
                                       ...got.filter((g) => g.ev.type === 'TOOL_CALL_RESULT').map((g) => g.ev.content)], ctx.relayUrl);
  const { sdkLink: viaSdk, feedLink } = await waitInterrupt(user, sdkLink, () => outcome);
  k.ok('the interrupt (the trusted link) is reachable through the SDK (rewritten TOOL_CALL_RESULT or CUSTOM authrelay.link_token)',
       !!viaSdk, { events: got.map((g) => g.ev.type + (g.ev.name ? `:${g.ev.name}` : '')), outcome });
  await holdThenComplete(k, user, viaSdk ?? feedLink, () => ctx.agui.log.some((e) => e.user === user && e.done),
                         () => { phase = AFTER; });
  await poll(() => outcome, STEP_MS);
  k.ok('the SDK reader completes without an error (runAgent resolves)', outcome && !outcome.error, outcome ?? 'timeout');

  analyseAgui(k, { upstream, got, relayUrl: ctx.relayUrl, toolMessage: agent.messages.find((m) => m.role === 'tool') });
  k.eq('one pause for the tool call (link_token events on the control feed)', ctx.feed.of('link_token', user).length, 1);
  rawChecks(k, exchange);
}

// ---------------------------------------------------------------- A2A

async function caseA2a(version, shape) {
  const k = new Checks(`A2A ${version} ${shape}`, tally);
  const user = `a2a_${version}_${shape}`;
  const exchange = [];
  const fetchImpl = recordingFetch(exchange, { 'X-Registered-User-Id': user });
  const cardUrl = `${ctx.relayUrl}/a2a/${version}/${shape}/.well-known/agent-card.json`;
  let stream;
  let upstream;
  let toWire;
  if (version === 'v03') {
    const client = await A2AClient.fromCardUrl(cardUrl, { fetchImpl });
    stream = client.sendMessageStream({ message: { kind: 'message', role: 'user', messageId: 'u-1',
                                                   parts: [{ kind: 'text', text: 'post hello to #general' }] } });
    upstream = a2aScriptV03(shape);
    toWire = (ev) => ev;
  } else {
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })], cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }));
    const client = await factory.createFromUrl(cardUrl, '');
    stream = client.sendMessageStream({ message: { messageId: 'u-1', role: 1,
                                                   parts: [{ content: { $case: 'text', value: 'post hello to #general' } }] } });
    upstream = a2aScriptV1(shape);
    toWire = (ev) => StreamResponse.toJSON(ev);
  }
  let phase = BEFORE;
  const got = [];
  let outcome = null;
  (async () => { for await (const ev of stream) got.push({ ev: toWire(ev), phase }); })()
    .then(() => { outcome = { done: true }; }, (e) => { outcome = { error: String(e?.message ?? e) }; });
  const sdkLink = () => trustedLinkOf(got.map((g) => g.ev), ctx.relayUrl);
  const { sdkLink: viaSdk, feedLink } = await waitInterrupt(user, sdkLink, () => outcome);
  k.ok('the interrupt (the trusted link) is reachable through the SDK', !!viaSdk, { got: got.map((g) => g.ev), outcome });
  await holdThenComplete(k, user, viaSdk ?? feedLink, () => ctx.a2a.log.some((e) => e.user === user && e.done),
                         () => { phase = AFTER; });
  await poll(() => outcome, STEP_MS);
  k.ok('the SDK reader completes without an error (sendMessageStream ends)', outcome && !outcome.error, outcome ?? 'timeout');

  const post = exchange.find((e) => e.method === 'POST');
  let requestId = null;
  try { requestId = JSON.parse(post?.requestBody ?? 'null')?.id ?? null; } catch { requestId = null; }
  analyseA2a(k, { version, upstream, got, ri: A2A_RESULT_INDEX[shape], relayUrl: ctx.relayUrl, wireBody: post?.body ?? '',
                  requestId, ids: A2A_IDS });
  k.eq('one pause for the tool call (link_token events on the control feed)', ctx.feed.of('link_token', user).length, 1);
  rawChecks(k, exchange);
}

// ---------------------------------------------------------------- MCP

async function mcpConnect(mode, user, exchange, capabilities) {
  const client = new Client({ name: 'authrelay-dialects-via', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(`${ctx.relayUrl}/mcp-${mode}/mcp`), {
    requestInit: { headers: { 'X-Registered-User-Id': user } }, fetch: recordingFetch(exchange),
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 0 },
  });
  const errors = [];
  client.onerror = (e) => errors.push(String(e));
  await client.connect(transport);
  return { client, errors };
}

// Tool mode, no elicitation capability: hold, then the retried call's
// genuine output (DESIGN.md "Routes", tool mode).
async function caseMcpHold(mode) {
  const k = new Checks(`MCP ${mode} hold-and-retry`, tally);
  const user = `mcp_hold_${mode}`;
  const server = ctx.mcp[mode];
  const exchange = [];
  const { client, errors } = await mcpConnect(mode, user, exchange, {});
  try {
    let phase = BEFORE;
    const progress = [];
    let settled = null;
    client.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } }, undefined, {
      timeout: 30_000, ...(mode === 'sse' ? { onprogress: (p) => progress.push({ p, phase }) } : {}),
    }).then((r) => { settled = { r, phase }; }, (e) => { settled = { error: String(e), phase }; });
    const link = await poll(() => ctx.feed.of('link_token', user)[0]?.magic_link_url || settled);
    k.ok('a link_token for the user on the control feed while the call is pending', typeof link === 'string' && !settled,
         settled ?? 'no link_token');
    if (typeof link === 'string') {
      phase = AFTER;
      const form = await completeLink(link, user);
      k.eq('the link form answers 200', form.status, 200);
    }
    await poll(() => settled);
    k.ok('callTool resolves after the form with the genuine output', settled?.phase === AFTER &&
         JSON.stringify(settled?.r?.content) === JSON.stringify([{ type: 'text', text: 'posted: hello' }]), settled);
    if (mode === 'sse') k.eq('the in-band progress notification reaches the client once', progress.length, 1);
    const calls = server.log.filter((e) => e.rpc === 'tools/call' && e.user === user);
    k.eq('the tool server saw the call, then the retry (X-Authrelay-Retry: 1) once connected',
         calls.map((c) => [c.connected, c.retry]), [[false, null], [true, '1']]);
    k.eq('one pause for the tool call', ctx.feed.of('link_token', user).length, 1);
    k.eq('no transport errors', errors, []);
  } finally {
    await bounded(client.close(), 3000);
  }
  await poll(() => exchange.every((e) => e.complete || e.error), 3000);
  rawChecks(k, exchange);
}

// Tool mode, the client declared URL elicitation: -32042 with the trusted
// URL, notifications/elicitation/complete on the GET stream, then the call
// again succeeds.
async function caseMcpElicit(mode) {
  const k = new Checks(`MCP ${mode} URL elicitation`, tally);
  const user = `mcp_elicit_${mode}`;
  const server = ctx.mcp[mode];
  const exchange = [];
  const { client, errors } = await mcpConnect(mode, user, exchange, { elicitation: { url: {} } });
  try {
    const notes = [];
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => { notes.push(n); });
    let settled = null;
    client.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } }, undefined, { timeout: 30_000 })
      .then((r) => { settled = { r }; }, (e) => { settled = { e }; });
    await poll(() => settled || ctx.feed.of('link_token', user).length > 0);
    const viaSdk = settled?.e instanceof UrlElicitationRequiredError ? settled.e.elicitations : null;
    k.ok('callTool rejects with UrlElicitationRequiredError (-32042) without waiting for the link', !!viaSdk,
         settled ? String(settled.e ?? JSON.stringify(settled.r)) : 'still pending (held: hold-and-retry instead)');
    let elicitationId = null;
    if (viaSdk) {
      const el = viaSdk[0] ?? {};
      elicitationId = el.elicitationId;
      k.ok('one elicitation: mode url, the trusted URL, an elicitationId', viaSdk.length === 1 && el.mode === 'url' &&
           /^.*\/_authrelay\/link\/ltk_[0-9a-f]+$/.test(el.url ?? '') && el.url.startsWith(ctx.relayUrl) &&
           typeof el.elicitationId === 'string' && el.elicitationId.length > 0, viaSdk);
    }
    const link = (viaSdk?.[0]?.url) ?? ctx.feed.of('link_token', user)[0]?.magic_link_url;
    if (link) {
      const form = await completeLink(link, user);
      k.eq('the link form answers 200', form.status, 200);
    }
    const note = await poll(() => notes[0], 5000);
    k.ok('notifications/elicitation/complete with the elicitationId arrives on the GET stream', note &&
         note.params?.elicitationId === elicitationId && elicitationId !== null, note ?? 'none');
    await poll(() => settled, STEP_MS);
    if (viaSdk) {
      const again = await bounded(client.callTool({ name: 'slack__send_message', arguments: { text: 'hello' } }));
      k.ok('the call made again returns the genuine output', JSON.stringify(again.value?.content) ===
           JSON.stringify([{ type: 'text', text: 'posted: hello' }]), again.error ? String(again.error) : again);
    }
    const calls = server.log.filter((e) => e.rpc === 'tools/call' && e.user === user);
    k.ok('the tool server saw no retry by authrelay (the client calls again)', calls.every((c) => c.retry === null),
         calls.map((c) => [c.connected, c.retry]));
    k.eq('one pause for the tool call', ctx.feed.of('link_token', user).length, 1);
    k.eq('no transport errors', errors, []);
  } finally {
    await bounded(client.close(), 3000);
  }
  rawChecks(k, exchange);
}

// ---------------------------------------------------------------- main

async function main() {
  assert.ok(existsSync(AUTHRELAY), `no authrelay binary at ${AUTHRELAY} (set AUTHRELAY_BIN)`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-dialects-agents-'));
  ctx = { mcp: {} };
  // The MCP tool server asks authrelay's link service whether the user has
  // connected Slack (the credential store, as a real tool server would).
  const isConnected = async (user) => {
    const r = await controlGet(`/api/v1/registered-users/?origin_user_id=${encodeURIComponent(user)}`);
    return (r.json?.results ?? []).some((u) => u.origin_user_id === user && (u.authenticated_connectors ?? []).includes('slack'));
  };
  ctx.agui = await startAgui();
  ctx.a2a = await startA2a();
  ctx.mcp.json = await startMcp({ response: 'json', isConnected });
  ctx.mcp.sse = await startMcp({ response: 'sse', isConnected });
  closers.push(ctx.agui, ctx.a2a, ctx.mcp.json, ctx.mcp.sse);
  const routes = [
    { prefix: '/agui', upstream: ctx.agui.url },
    { prefix: '/a2a', upstream: ctx.a2a.url },
    { prefix: '/mcp-json', upstream: ctx.mcp.json.url, mode: 'tool' },
    { prefix: '/mcp-sse', upstream: ctx.mcp.sse.url, mode: 'tool' },
  ];
  ctx.relay = startAuthrelay(routes);
  const started = await ctx.relay.started;
  if (!started.value) throw new Error(`authrelay did not start: ${started.error ?? 'timeout'}\n${ctx.relay.lines.join('\n')}`);
  ctx.relayUrl = `http://${started.value.listen}`;
  ctx.controlUrl = `http://${started.value.control}`;
  ctx.feed = new EventFeed(`${ctx.controlUrl}/v1/events`, { Authorization: `Bearer ${ADMIN_KEY}` });
  assert.equal(await ctx.feed.opened, 200);
  console.log(`# authrelay ${ctx.relayUrl} (control ${ctx.controlUrl}); AG-UI :${ctx.agui.port}, A2A :${ctx.a2a.port}, ` +
              `MCP json :${ctx.mcp.json.port} sse :${ctx.mcp.sse.port}`);

  const cases = [
    ['AG-UI authenticate_meta', () => caseAgui('authenticate_meta')],
    ['AG-UI magic_link', () => caseAgui('magic_link')],
    ['A2A v03 data', () => caseA2a('v03', 'data')],
    ['A2A v03 text', () => caseA2a('v03', 'text')],
    ['A2A v1 data', () => caseA2a('v1', 'data')],
    ['A2A v1 text', () => caseA2a('v1', 'text')],
    ['MCP json hold', () => caseMcpHold('json')],
    ['MCP sse hold', () => caseMcpHold('sse')],
    ['MCP json elicit', () => caseMcpElicit('json')],
    ['MCP sse elicit', () => caseMcpElicit('sse')],
  ];
  for (const [name, run] of cases) {
    if (FILTER && !name.includes(FILTER)) continue;
    const r = await bounded(run(), 40_000);
    if (r.error || r.timeout) {
      tally.failed++;
      console.log(`FAIL: ${name}: ${r.timeout ? 'case timed out' : r.error?.stack ?? r.error}`);
    }
  }
  const secrets = ctx.relay.lines.filter((l) => l.includes('sk-agui') || l.includes('sk-a2a') || l.includes('sk-mcp'));
  new Checks('authrelay log', tally).ok('no API key in the log', secrets.length === 0, secrets);
  if (process.env.VIA_AUTHRELAY_LOG) for (const l of ctx.relay.lines) console.log(`# ${l}`);
}

try {
  await main();
} catch (err) {
  tally.failed++;
  console.log(`FAIL: ${err?.stack ?? err}`);
  if (ctx?.relay) for (const l of ctx.relay.lines.slice(-30)) console.log(`# ${l}`);
} finally {
  ctx?.feed?.close();
  for (const c of closers) await bounded(c.close(), 2000);
  finish();
}
