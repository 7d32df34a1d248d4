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
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EventFeed, finish, guard, onCleanup, startProcess, tally, withTimeout } from '../lib/proctest.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AUTHRELAY = process.env.AUTHRELAY_BIN ?? path.resolve(HERE, '../../../build/authrelay');
const SERVER = path.join(HERE, 'mcp_inject_server.mjs');
const ADMIN_KEY = 'mcp-inject-owner-key-0123456789';
const API_KEY = 'sk-inject-SECRET-4711';
const AGENT_AUTH = 'Bearer agent-own-token';
const USER = 'inject_user_1';
const STEP_MS = 10_000;
const WATCHDOG_MS = 45_000;

const logs = {};
function dump() {
  for (const [name, lines] of Object.entries(logs)) {
    console.log(`--- ${name}:`);
    for (const l of lines) console.log(l);
  }
}
guard(WATCHDOG_MS, dump);

// startProcess (proctest.mjs), its lines kept in logs[name] for dump().
function start(name, cmd, args, streamName, match, env) {
  const p = startProcess(name, cmd, args, streamName, match, env, { stdin: 'pipe', bothStreams: true });
  logs[name] = p.lines;
  return p;
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
  const dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-inject-'));
  onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
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
  const feed = new EventFeed(`${controlUrl}/v1/events`, { Authorization: `Bearer ${ADMIN_KEY}` });
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
  tally.passed++;
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
  tally.passed++;
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
  tally.passed++;
  console.log('ok: after the link the retried call carries the injected header; the agent gets the genuine result');

  const again = await client.callTool({ name: 'slack__post_message', arguments: { text: 'again' } }, undefined,
                                      { timeout: STEP_MS });
  assert.deepEqual(again.content, [{ type: 'text', text: `posted again with Bearer ${API_KEY}` }]);
  calls = requests().filter((r) => r.rpc === 'tools/call');
  assert.equal(calls.length, 2);
  assert.deepEqual([calls[1].authorization, calls[1].retry], [`Bearer ${API_KEY}`, null]);
  tally.passed++;
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
  tally.passed++;
  console.log('ok: the agent\'s own Authorization never reached the tool server; no credential in the log; metrics');
}

try {
  await main();
} catch (err) {
  tally.failed++;
  console.log(`FAIL: ${err?.stack ?? err}`);
  dump();
} finally {
  finish(tally.failed === 0 ? 0 : 1);
}
