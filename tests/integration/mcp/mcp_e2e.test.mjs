// Integration test: authrelay as the tool-call gate between an MCP client and
// an MCP server (DESIGN.md "Who uses it" 2, routes `mode: tool`), both built
// with the official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned by
// package.json + package-lock.json), over the Streamable HTTP transport in
// both of its response modes.
//
// Starts two MCP servers (mcp_server.mjs: McpServer +
// StreamableHTTPServerTransport, stateless), one answering with JSON bodies
// (enableJsonResponse) at /json/mcp*, one with SSE at /sse/mcp*, and
// authrelay (temporary data directory, no catalog: any slug is an API-key
// connector) with two tool-mode routes, /json and /sse, in front of them.
// The tool `slack__post_message` asks authrelay's link service whether the
// calling user has connected Slack; until then it returns an auth-required
// result (`authenticate_meta`, as JSON in result.content[0].text).
// Subscribes to the control API's event feed (/v1/events), then for each
// case (JSON / SSE response mode; the auth-required result naming its
// connector, or not, so that authrelay takes it from the JSON-RPC
// params.name `slack__post_message`), with a user of its own:
//   1. an MCP Client + StreamableHTTPClientTransport (header
//      X-Registered-User-Id) connects through authrelay and lists the tools;
//   2. calls slack__post_message; while the call is pending, the feed
//      delivers a link_token for (user, slack); the call has not resolved;
//   3. POSTs the magic link's API-key form (200 "Connected");
//   4. the call resolves with "posted: <text>", the genuine tool output; the
//      tool server saw the call twice (not connected, then connected with
//      X-Authrelay-Retry: 1); the feed delivers auth_complete; nothing the
//      client received over HTTP (every response body, recorded through the
//      transport's fetch) ever contained the auth-required result;
//   5. a second call goes straight through (no hold, no new link).
// One more SSE case asks for progress: the tool server sends a
// notifications/progress on the response stream before its result.
// Every wait is bounded (the whole test stays under 60 s); every child
// process is killed at the end and on failure. On a failure, the case's
// HTTP exchange as the client saw it, authrelay's log and the tool servers'
// output are printed.
//
// Env: AUTHRELAY_BIN (default: build/authrelay of the source checkout).
// Last line: "N passed, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  EventFeed, finish, guard, onCleanup, startProcess, tally, teeResponse, waitUntil, withTimeout,
} from '../lib/proctest.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function locate(envName, candidates) {
  if (process.env[envName]) return process.env[envName];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}
const AUTHRELAY = locate('AUTHRELAY_BIN', [path.resolve(HERE, '../../../build/authrelay'),
                                            path.resolve(HERE, '../../../authrelay')]);
const MCP_SERVER = path.join(HERE, 'mcp_server.mjs');

const ADMIN_KEY = 'mcp-test-owner-key-0123456789';
const STEP_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 20_000; // the MCP request timeout of a held call
const WATCHDOG_MS = 55_000;     // the whole test; ctest's TIMEOUT is above it
const T0 = Date.now();

guard(WATCHDOG_MS, () => dumpLogs());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(3)}s`;


// A fetch for the client transport that records the HTTP exchange exactly as
// the client sees it: request method, URL, headers and body; response status,
// headers and every body byte (the body is teed; the SDK reads one branch).
function recordingFetch(log) {
  return async (url, init = {}) => {
    const entry = {
      at: elapsed(), method: init.method ?? 'GET', url: String(url),
      requestHeaders: Object.fromEntries(new Headers(init.headers ?? {})),
      requestBody: typeof init.body === 'string' ? init.body : null,
      status: null, responseHeaders: null, responseBody: '', complete: false, error: null,
    };
    log.push(entry);
    let res;
    try {
      res = await fetch(url, init);
    } catch (err) {
      entry.error = String(err);
      throw err;
    }
    entry.status = res.status;
    entry.responseHeaders = Object.fromEntries(res.headers);
    entry.responseAt = elapsed();
    if (!res.body || [101, 103, 204, 205, 304].includes(res.status)) {
      entry.complete = true;
      return res;
    }
    const { response, done } = teeResponse(res, (text) => { entry.responseBody += text; });
    done.then(() => { entry.complete = true; entry.completeAt = elapsed(); }, (err) => { entry.error = String(err); });
    return response;
  };
}

let ctx = null;

function dumpLogs(exchange) {
  if (exchange) {
    console.log('--- HTTP exchange seen by the MCP client:');
    for (const e of exchange) console.log(JSON.stringify(e));
  }
  if (!ctx) return;
  console.log('--- authrelay stderr:');
  for (const l of ctx.relay?.lines ?? []) console.log(l);
  for (const s of ctx.servers ?? []) {
    console.log(`--- ${s.name} stdout:`);
    for (const l of s.lines) console.log(l);
  }
  console.log('--- event feed:');
  for (const e of ctx.feed?.events ?? []) console.log(JSON.stringify(e));
}

async function postForm(url, fields) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

// The upstream bytes authrelay holds for one user's paused calls (control API).
async function heldBytes(user) {
  const { status, json } = await controlGet('/v1/streams');
  assert.equal(status, 200, 'GET /v1/streams');
  return json.streams.filter((s) => s.registered_user === user).reduce((n, s) => n + s.held_bytes, 0);
}

async function controlGet(pathAndQuery) {
  const res = await fetch(`${ctx.controlUrl}${pathAndQuery}`, {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  return { status: res.status, json: await res.json() };
}

// The tool server's log lines for one user's tool calls.
function toolCalls(server, user) {
  return server.lines.flatMap((l) => {
    try {
      const o = JSON.parse(l);
      return o.msg === 'tool_call' && o.user === user ? [o] : [];
    } catch { return []; }
  });
}

// The tool server's log lines for one user's tool calls, once there are at
// least n (its stdout may arrive after the HTTP response it logged).
async function waitToolCalls(server, user, n) {
  const p = (async () => {
    while (toolCalls(server, user).length < n) await sleep(10);
    return toolCalls(server, user);
  })();
  return withTimeout(p, STEP_TIMEOUT_MS, `${n} tool calls of ${user}: ${JSON.stringify(toolCalls(server, user))}`);
}

// Resolves once every recorded response has been read to its end (the SDK
// resolves a call on the JSON-RPC response; the end of an SSE body comes
// just after it).
async function allComplete(exchange) {
  while (!exchange.every((e) => e.complete)) {
    const broken = exchange.find((e) => e.error);
    if (broken) throw new Error(`response failed: ${broken.error}`);
    await sleep(10);
  }
}

const AUTH_MARKERS = ['authenticate_meta', 'ltk_from_the_tool_server', 'Please connect Slack'];

function assertNoAuthResult(exchange) {
  for (const e of exchange) {
    for (const m of AUTH_MARKERS) {
      assert.ok(!e.responseBody.includes(m),
                `the client received "${m}": ${e.method} ${e.url} -> ${e.status} ${JSON.stringify(e.responseBody)}`);
    }
  }
}

// One case: mode 'json' | 'sse'; named: whether the auth-required result
// names its connector; progress: whether the call asks for progress (the SSE
// tool server then sends a notifications/progress before its result).
async function runCase({ mode, named, progress, user }) {
  const server = ctx.servers.find((s) => s.mode === mode);
  const url = new URL(`${ctx.relayUrl}/${mode}/mcp${named ? '' : '-unnamed'}`);
  const text = `hello from ${user}`;
  const exchange = [];
  const transportErrors = [];
  const client = new Client({ name: 'authrelay-mcp-e2e', version: '1.0.0' });
  client.onerror = (err) => transportErrors.push(String(err));
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { 'X-Registered-User-Id': user } },
    fetch: recordingFetch(exchange),
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 500,
                           reconnectionDelayGrowFactor: 1.5, maxRetries: 0 },
  });
  const t = { start: Date.now() };
  try {
    await withTimeout(client.connect(transport), STEP_TIMEOUT_MS, 'MCP initialize');
    const tools = await client.listTools(undefined, { timeout: STEP_TIMEOUT_MS });
    assert.deepEqual(tools.tools.map((x) => x.name), ['slack__post_message'], 'tools/list');

    // The held call.
    let settled = null;
    const progressSeen = [];
    t.call = Date.now();
    const call = client.callTool({ name: 'slack__post_message', arguments: { text } }, undefined, {
      timeout: CALL_TIMEOUT_MS,
      ...(progress ? { onprogress: (p) => progressSeen.push({ ...p, at: elapsed() }) } : {}),
    });
    call.then((r) => { settled = { result: r, at: elapsed() }; },
              (e) => { settled = { error: String(e), at: elapsed() }; });
    const link = (await ctx.feed.waitFor(
      (e) => e.event === 'link_token' && e.data.registered_user === user,
      `link_token for ${user} on the event feed`)).data;
    t.link = Date.now();
    assert.equal(link.connector, 'slack', 'link_token connector');
    assert.match(link.link_token, /^ltk_[0-9a-f]+$/);
    assert.equal(link.magic_link_url, `${ctx.relayUrl}/_authrelay/link/${link.link_token}`);
    assert.notEqual(link.link_token, 'ltk_from_the_tool_server_not_to_be_shown');
    // authrelay holds the tool server's answer: the call is still pending and
    // the client saw nothing of it.
    await waitUntil(async () => (await heldBytes(user)) > 0, STEP_TIMEOUT_MS, `the answer held for ${user}`);
    assert.equal(settled, null, `the tool call resolved while held: ${JSON.stringify(settled)}`);
    assertNoAuthResult(exchange);
    const first = await waitToolCalls(server, user, 1);
    assert.equal(first.length, 1, `tool calls before the link: ${JSON.stringify(first)}`);
    assert.equal(first[0].connected, false);
    assert.equal(first[0].retry, null);

    // The user completes the link (out of band).
    const form = await postForm(link.magic_link_url, { api_key: `sk-${user}` });
    t.form = Date.now();
    assert.equal(form.status, 200, `magic link POST: ${form.status} ${form.text}`);
    assert.match(form.text, /Connected/);

    const result = await withTimeout(call, STEP_TIMEOUT_MS, 'tools/call after the link');
    t.result = Date.now();
    assert.ok(!result.isError, `tool error: ${JSON.stringify(result)}`);
    assert.deepEqual(result.content, [{ type: 'text', text: `posted: ${text}` }],
                     `tools/call result ${JSON.stringify(result)}`);
    const calls = await waitToolCalls(server, user, 2);
    assert.equal(calls.length, 2, `tool calls: ${JSON.stringify(calls)}`);
    assert.deepEqual([calls[1].connected, calls[1].retry], [true, '1'], `retry: ${JSON.stringify(calls[1])}`);
    if (progress) {
      // authrelay holds a tool call's response whole (a POST on a tool-mode
      // route), so the held one (progress, then the auth-required result) is
      // replaced whole by the retry's: the client sees the progress once.
      assert.equal(progressSeen.length, 1, `progress notifications: ${JSON.stringify(progressSeen)}`);
      for (const p of progressSeen) assert.equal(p.message, 'checking the Slack connection');
      t.progress = progressSeen.map((p) => p.at);
    }
    const done = (await ctx.feed.waitFor(
      (e) => e.event === 'auth_complete' && e.data.registered_user === user,
      `auth_complete for ${user}`)).data;
    assert.equal(done.connector, 'slack');
    assert.equal(done.link_token, link.link_token);

    // The held exchange as the client saw it: one POST, 200, in this mode.
    const posts = exchange.filter((e) => e.method === 'POST' &&
                                         (e.requestBody ?? '').includes('"tools/call"'));
    assert.equal(posts.length, 1, 'tools/call POSTs');
    assert.equal(posts[0].status, 200);
    assert.equal(posts[0].responseHeaders['content-type']?.split(';')[0],
                 mode === 'json' ? 'application/json' : 'text/event-stream', 'tools/call content-type');
    assert.ok(posts[0].responseBody.includes(`posted: ${text}`), 'recorded tools/call body');

    // Connected: the next call goes straight through.
    const again = await client.callTool({ name: 'slack__post_message', arguments: { text: `${text} again` } },
                                        undefined, { timeout: STEP_TIMEOUT_MS });
    assert.deepEqual(again.content, [{ type: 'text', text: `posted: ${text} again` }]);
    const all = await waitToolCalls(server, user, 3);
    assert.equal(all.length, 3);
    assert.deepEqual([all[2].connected, all[2].retry], [true, null]);
    assert.equal(ctx.feed.events.filter((e) => e.event === 'link_token' &&
                                                e.data.registered_user === user).length, 1,
                 'a second link_token for the connected user');

    await withTimeout(allComplete(exchange), STEP_TIMEOUT_MS,
                      'every response body read to its end').catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(exchange.filter((e) => !e.complete))}`);
    });
    assertNoAuthResult(exchange);
    assert.deepEqual(transportErrors, [], 'client transport errors');
    await withTimeout(client.close(), STEP_TIMEOUT_MS, 'client close');
    return {
      heldMs: t.form - t.call,
      linkMs: t.link - t.call,
      resumeMs: t.result - t.form,
      totalMs: Date.now() - t.start,
      progressAt: t.progress,
    };
  } catch (err) {
    err.exchange = exchange;
    err.transportErrors = transportErrors;
    try { await client.close(); } catch { /* ignore */ }
    throw err;
  }
}

async function main() {
  assert.ok(existsSync(AUTHRELAY), `no authrelay binary at ${AUTHRELAY}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-mcp-'));
  onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  ctx = { servers: [] };

  // The tool servers first (port 0); they learn the control URL on stdin.
  for (const mode of ['json', 'sse']) {
    const p = startProcess(`mcp_server ${mode}`, process.execPath,
                           [MCP_SERVER, '--response', mode, '--prefix', `/${mode}`, '--port', '0'],
                           'stdout', (line) => {
                             const o = JSON.parse(line);
                             return o.msg === 'listening' ? o.port : undefined;
                           }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY, AUTHRELAY_CONTROL_URL: '' }, { stdin: 'pipe', bothStreams: true });
    p.mode = mode;
    ctx.servers.push(p);
  }
  for (const s of ctx.servers) s.port = await s.started;

  const routes = ctx.servers.map((s) => ({
    prefix: `/${s.mode}`, upstream: `http://127.0.0.1:${s.port}`, mode: 'tool',
  }));
  ctx.relay = startProcess('authrelay', AUTHRELAY, [
    '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--data-dir', dataDir,
    '--routes', JSON.stringify(routes),
  ], 'stderr', (line) => {
    const o = JSON.parse(line);
    return o.msg === 'listening' ? o : undefined;
  }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY }, { bothStreams: true });
  const listening = await ctx.relay.started;
  ctx.relayUrl = `http://${listening.listen}`;
  ctx.controlUrl = `http://${listening.control}`;
  for (const s of ctx.servers) s.child.stdin.write(`${ctx.controlUrl}\n`);

  ctx.feed = new EventFeed(`${ctx.controlUrl}/v1/events`, { Authorization: `Bearer ${ADMIN_KEY}` });
  assert.equal(await withTimeout(ctx.feed.opened, STEP_TIMEOUT_MS, 'event feed'), 200, 'event feed status');
  console.log(`# started in ${elapsed()}: authrelay ${ctx.relayUrl} (control ${ctx.controlUrl}), ` +
              `tool servers json :${ctx.servers[0].port}, sse :${ctx.servers[1].port}`);

  const cases = [
    { mode: 'json', named: true }, { mode: 'sse', named: true },
    { mode: 'json', named: false }, { mode: 'sse', named: false },
    { mode: 'sse', named: true, progress: true },
  ];
  for (const c of cases) {
    c.user = `mcp_user_${c.mode}_${c.named ? 'named' : 'unnamed'}${c.progress ? '_progress' : ''}`;
    const name = `${c.mode} response, connector ${c.named ? 'in the result' : 'from params.name'}` +
                 `${c.progress ? ', progress notification before the result' : ''}`;
    try {
      const timing = await runCase(c);
      tally.passed++;
      console.log(`ok: ${name} (link_token after ${timing.linkMs} ms, held ${timing.heldMs} ms until the form, ` +
                  `result ${timing.resumeMs} ms after the form, case ${timing.totalMs} ms` +
                  `${timing.progressAt ? `, progress at ${timing.progressAt.join(' ')}` : ''})`);
    } catch (err) {
      tally.failed++;
      console.log(`FAIL: ${name}: ${err?.stack ?? err}`);
      if (err?.transportErrors?.length) console.log(`transport errors: ${JSON.stringify(err.transportErrors)}`);
      dumpLogs(err?.exchange);
    }
  }

  // The link service knows every connected user.
  try {
    for (const { user } of cases) {
      const r = await controlGet(`/api/v1/registered-users/?origin_user_id=${user}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.results.map((u) => u.authenticated_connectors), [['slack']],
                       `${user}: ${JSON.stringify(r.json)}`);
    }
    tally.passed++;
    console.log('ok: the link service lists slack for every user');
  } catch (err) {
    tally.failed++;
    console.log(`FAIL: link service: ${err?.stack ?? err}`);
  }
  assert.ok(!ctx.relay.lines.some((l) => l.includes('sk-mcp_user')), 'an API key appeared in the logs');
}

try {
  await main();
} catch (err) {
  tally.failed++;
  console.log(`FAIL: ${err?.stack ?? err}`);
  dumpLogs();
} finally {
  ctx?.feed?.close();
  console.log(`# finished in ${elapsed()}`);
  finish(tally.failed === 0 ? 0 : 1);
}
