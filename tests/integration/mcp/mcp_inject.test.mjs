// Integration test: credential injection on a tool route (DESIGN.md
// "Connections": injection; route key `credentials`), with the official MCP
// TypeScript SDK on both sides (@modelcontextprotocol/sdk, pinned by
// package.json + package-lock.json in this folder).
//
// Starts mcp_inject_server.mjs (a stateless MCP server whose tool
// `slack__post_message` reads the Authorization header it receives, and
// logs every request it gets) and authrelay (temporary data directory, no
// catalog: any slug is an API-key connector) with one tool route
//   {prefix: "/inject", mode: "tool",
//    credentials: {header: "Authorization", value: "Bearer {token}"}}
// (no connector: it comes from the called tool's name). Then an MCP Client
// (StreamableHTTPClientTransport, headers X-Registered-User-Id and its own
// `Authorization: Bearer agent-own-token`):
//   1. initializes and lists the tools through authrelay: these reach the
//      tool server without any Authorization (the route owns the header; not
//      a tool call: nothing injected);
//   2. calls slack__post_message: the user has no connection, so authrelay
//      answers the call itself with the auth-required result and holds it:
//      the event feed delivers link_token for (user, slack), the call stays
//      pending, the tool server has seen no tools/call;
//   3. the user posts an API key through the magic link (the Link page);
//   4. the call resolves with the genuine result "posted ... with Bearer
//      <key>": the retry (X-Authrelay-Retry: 1) carried the injected header;
//      nothing the client received held the auth-required result;
//   5. a second call goes straight through with the credential, no retry;
//   6. no request that reached the tool server carried the agent's own
//      Authorization; the key never appears in authrelay's log; /metrics
//      counts 2 injections and 1 call answered for lack of a connection.
// Every wait is bounded (whole test under 45 s); children are killed at the
// end and on failure. Env: AUTHRELAY_BIN. Last line: "N passed, M failed".

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AUTHRELAY = process.env.AUTHRELAY_BIN ?? path.resolve(HERE, '../../../build/authrelay');
const SERVER = path.join(HERE, 'mcp_inject_server.mjs');
const ADMIN_KEY = 'mcp-inject-owner-key-0123456789';
const API_KEY = 'sk-inject-SECRET-4711';
const AGENT_AUTH = 'Bearer agent-own-token';
const USER = 'inject_user_1';
const STEP_MS = 10_000;
const WATCHDOG_MS = 45_000;

const children = new Set();
let dataDir = null;
let passed = 0;
let failed = 0;
const logs = {};

function killAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGKILL'); } catch { /* gone */ }
    }
  }
  if (dataDir) {
    try { rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
    dataDir = null;
  }
}
function finish(code) {
  killAll();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}
function dump() {
  for (const [name, lines] of Object.entries(logs)) {
    console.log(`--- ${name}:`);
    for (const l of lines) console.log(l);
  }
}
process.on('exit', killAll);
process.on('uncaughtException', (e) => { console.log('uncaught:', e); failed++; dump(); finish(1); });
process.on('unhandledRejection', (e) => { console.log('unhandled:', e); failed++; dump(); finish(1); });
setTimeout(() => { console.log(`FAIL: watchdog ${WATCHDOG_MS} ms`); failed++; dump(); finish(1); }, WATCHDOG_MS).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); })])
    .finally(() => clearTimeout(t));
}
async function waitUntil(cond, what) {
  let stop = false;
  const poll = (async () => { while (!stop && !(await cond())) await sleep(10); })();
  try { return await withTimeout(poll, STEP_MS, what); } finally { stop = true; }
}

// Spawns cmd; resolves with the first line of `streamName` that match() accepts.
function start(name, cmd, args, streamName, match, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const lines = [];
  logs[name] = lines;
  const started = new Promise((resolve, reject) => {
    let done = false;
    for (const s of ['stdout', 'stderr']) {
      createInterface({ input: child[s] }).on('line', (line) => {
        lines.push(s === streamName ? line : `[${s}] ${line}`);
        if (done || s !== streamName) return;
        let got;
        try { got = match(line); } catch { got = undefined; }
        if (got !== undefined) { done = true; resolve(got); }
      });
    }
    child.on('exit', (code) => { if (!done) { done = true; reject(new Error(`${name} exited ${code}`)); } });
  });
  return { lines, started: withTimeout(started, STEP_MS, `${name} start`) };
}

// The control API's event feed (SSE), parsed into {event, data}.
function openFeed(url) {
  const feed = { events: [], buf: '' };
  feed.opened = new Promise((resolve, reject) => {
    feed.req = http.get(url, { headers: { Authorization: `Bearer ${ADMIN_KEY}` }, agent: false }, (res) => {
      resolve(res.statusCode);
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        feed.buf += chunk.replace(/\r\n?/g, '\n');
        let at;
        while ((at = feed.buf.indexOf('\n\n')) >= 0) {
          const block = feed.buf.slice(0, at);
          feed.buf = feed.buf.slice(at + 2);
          let event = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length) {
            try { feed.events.push({ event, data: JSON.parse(data.join('\n')) }); } catch { /* not JSON */ }
          }
        }
      });
    });
    feed.req.on('error', reject);
  });
  feed.waitFor = (pred, what) => waitUntil(() => feed.events.find(pred), what).then(() => feed.events.find(pred));
  return feed;
}

// A fetch that keeps every response body the client received.
function recordingFetch(bodies) {
  return async (url, init = {}) => {
    const res = await fetch(url, init);
    const text = await res.text();
    bodies.push(text);
    return new Response(res.status === 204 || res.status === 202 ? null : text,
                        { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

// What reached the tool server.
function requests() {
  return logs.tool_server.flatMap((l) => {
    try { const o = JSON.parse(l); return o.msg === 'request' ? [o] : []; } catch { return []; }
  });
}

async function main() {
  assert.ok(existsSync(AUTHRELAY), `no authrelay at ${AUTHRELAY}`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-inject-'));
  const port = await start('tool_server', process.execPath, [SERVER, '--port', '0'], 'stdout', (l) => {
    const o = JSON.parse(l);
    return o.msg === 'listening' ? o.port : undefined;
  }).started;
  const routes = [{
    prefix: '/inject', upstream: `http://127.0.0.1:${port}`, mode: 'tool',
    credentials: { header: 'Authorization', value: 'Bearer {token}' },
  }];
  const listening = await start('authrelay', AUTHRELAY, [
    '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--data-dir', dataDir, '--routes', JSON.stringify(routes),
  ], 'stderr', (l) => {
    const o = JSON.parse(l);
    return o.msg === 'listening' ? o : undefined;
  }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY }).started;
  const relayUrl = `http://${listening.listen}`;
  const controlUrl = `http://${listening.control}`;
  const feed = openFeed(`${controlUrl}/v1/events`);
  assert.equal(await withTimeout(feed.opened, STEP_MS, 'event feed'), 200);

  const bodies = [];
  const client = new Client({ name: 'authrelay-inject-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${relayUrl}/inject/mcp`), {
    requestInit: { headers: { 'X-Registered-User-Id': USER, Authorization: AGENT_AUTH } },
    fetch: recordingFetch(bodies),
  });
  await withTimeout(client.connect(transport), STEP_MS, 'initialize');
  const tools = await client.listTools(undefined, { timeout: STEP_MS });
  assert.deepEqual(tools.tools.map((t) => t.name), ['slack__post_message']);
  const before = requests();
  assert.ok(before.length >= 2, `requests before the call: ${JSON.stringify(before)}`);
  for (const r of before) assert.equal(r.authorization, null, `not a call, but got ${JSON.stringify(r)}`);
  passed++;
  console.log('ok: initialize and tools/list reach the tool server without the agent\'s Authorization');

  // The held call: no connection yet.
  let settled = null;
  const call = client.callTool({ name: 'slack__post_message', arguments: { text: 'hi' } }, undefined,
                               { timeout: 20_000 });
  call.then((r) => { settled = r; }, (e) => { settled = { error: String(e) }; });
  const link = (await feed.waitFor((e) => e.event === 'link_token' && e.data.registered_user === USER,
                                   'link_token on the feed')).data;
  assert.equal(link.connector, 'slack');
  assert.equal(settled, null, `the call resolved while held: ${JSON.stringify(settled)}`);
  assert.equal(requests().filter((r) => r.rpc === 'tools/call').length, 0, 'the held call reached the tool server');
  passed++;
  console.log('ok: without a connection the call is answered by authrelay and held (link_token, nothing upstream)');

  const form = await fetch(link.magic_link_url, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ api_key: API_KEY }).toString(), redirect: 'manual',
    signal: AbortSignal.timeout(STEP_MS),
  });
  assert.equal(form.status, 200, `Link page: ${form.status} ${await form.text()}`);

  const result = await withTimeout(call, STEP_MS, 'the call after the link');
  assert.ok(!result.isError, JSON.stringify(result));
  assert.deepEqual(result.content, [{ type: 'text', text: `posted hi with Bearer ${API_KEY}` }]);
  let calls = requests().filter((r) => r.rpc === 'tools/call');
  assert.equal(calls.length, 1, JSON.stringify(calls));
  assert.deepEqual([calls[0].authorization, calls[0].retry], [`Bearer ${API_KEY}`, '1']);
  for (const b of bodies) assert.ok(!b.includes('authenticate_meta'), `the client saw the held answer: ${b}`);
  passed++;
  console.log('ok: after the link the retried call carries the injected header; the agent gets the genuine result');

  const again = await client.callTool({ name: 'slack__post_message', arguments: { text: 'again' } }, undefined,
                                      { timeout: STEP_MS });
  assert.deepEqual(again.content, [{ type: 'text', text: `posted again with Bearer ${API_KEY}` }]);
  calls = requests().filter((r) => r.rpc === 'tools/call');
  assert.equal(calls.length, 2);
  assert.deepEqual([calls[1].authorization, calls[1].retry], [`Bearer ${API_KEY}`, null]);
  passed++;
  console.log('ok: connected: the next call goes straight through with the credential');

  await withTimeout(client.close(), STEP_MS, 'client close');
  for (const r of requests()) assert.notEqual(r.authorization, AGENT_AUTH, `the agent's header arrived: ${JSON.stringify(r)}`);
  assert.ok(!logs.authrelay.some((l) => l.includes(API_KEY) || l.includes('agent-own-token')),
            'a credential appeared in authrelay\'s log');
  const metrics = await (await fetch(`${controlUrl}/metrics`, {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(STEP_MS),
  })).text();
  assert.match(metrics, /^authrelay_credentials_injected_total 2$/m);
  assert.match(metrics, /^authrelay_credentials_missing_total 1$/m);
  passed++;
  console.log('ok: the agent\'s own Authorization never reached the tool server; no credential in the log; metrics');
}

try {
  await main();
} catch (err) {
  failed++;
  console.log(`FAIL: ${err?.stack ?? err}`);
  dump();
} finally {
  finish(failed === 0 ? 0 : 1);
}
