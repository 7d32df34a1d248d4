// Integration test: link binding (link.verifier_url) in a real browser
// (Debian's Chromium, driven by playwright-core; no browser download).
//
// Starts the example agent server, the stand-in OAuth provider
// (../oauth_provider.py), the stand-in for the operator's own app
// (../verifier_app.py: its signed-in user is the app_user cookie; it
// confirms that user with POST /api/v1/link-flows/{flow_id}/confirm using a
// write:user token and sends the browser where authrelay says), and
// authrelay with --link-verifier-url pointing at the app. Cases:
//   1. api_key, the browser's app session is another user than the link's
//      (a forwarded link): the form's submit goes to the app, which is
//      refused (409); the browser ends on "Not connected"; nothing is stored
//      (the user's authenticated_connectors stay empty) and the paused
//      stream hears link_expired, never auth_complete;
//   2. oauth2, the same with the provider's consent first;
//   3. api_key, the app's session is the link's own user: the browser ends
//      on "Connected", the credential is stored, the stream resumes.
// No Content-Security-Policy violation or page error may be reported (the
// Link page's form-action must allow the app's origin). Every wait is
// bounded; every child and the browser are killed at the end.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN, OAUTH_PROVIDER, VERIFIER_APP,
// PYTHON3, CHROMIUM. Last line: "N passed, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
function locate(envName, candidates) {
  if (process.env[envName]) return process.env[envName];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}
const AUTHRELAY = locate('AUTHRELAY_BIN', [path.resolve(HERE, '../../../build/authrelay'),
                                            path.resolve(HERE, '../../../authrelay')]);
const AGENT = locate('AGENT_SERVER_BIN', [path.resolve(HERE, '../../../build/agent-server'),
                                          path.resolve(HERE, '../../../agent-server')]);
const PROVIDER = locate('OAUTH_PROVIDER', [path.resolve(HERE, '../oauth_provider.py')]);
const VERIFIER = locate('VERIFIER_APP', [path.resolve(HERE, '../verifier_app.py')]);
const PYTHON3 = process.env.PYTHON3 || 'python3';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const ADMIN_KEY = 'binding-test-owner-key-0123456789';
const CLIENT_ID = 'acme-binding-client';
const CLIENT_SECRET = 'cs-binding-secret-4242';
const STEP_TIMEOUT_MS = 15_000;
const WATCHDOG_MS = 55_000;

const children = new Set();
let browser = null;
let dataDir = null;
let passed = 0;
let failed = 0;

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
  const proc = browser?.process?.();
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
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

process.on('exit', killAll);
process.on('uncaughtException', (err) => { console.error('uncaught:', err); failed++; finish(1); });
process.on('unhandledRejection', (err) => { console.error('unhandled rejection:', err); failed++; finish(1); });
setTimeout(() => { console.log(`FAIL: watchdog after ${WATCHDOG_MS} ms`); failed++; finish(1); }, WATCHDOG_MS).unref();

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Spawns cmd; resolves with match(line) for the first line of streamName it accepts.
function startProcess(name, cmd, args, streamName, match, env) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...(env ?? {}) },
    stdio: ['ignore', streamName === 'stdout' ? 'pipe' : 'ignore', streamName === 'stderr' ? 'pipe' : 'ignore'],
  });
  children.add(child);
  const lines = [];
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise((resolve, reject) => {
    let done = false;
    child.on('error', (err) => { if (!done) { done = true; reject(err); } });
    createInterface({ input: child[streamName] }).on('line', (line) => {
      lines.push(line);
      if (done) return;
      let got;
      try { got = match(line); } catch { got = undefined; }
      if (got !== undefined) { done = true; resolve(got); }
    });
    exited.then(({ code }) => { if (!done) { done = true; reject(new Error(`${name} exited ${code}: ${lines}`)); } });
  });
  return { child, lines, exited, started: withTimeout(started, 10_000, `${name} start`) };
}

async function fetchJson(method, url, body, headers = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(10_000), redirect: 'manual' };
  if (typeof body === 'string') {
    init.body = body;
    init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

// A streaming GET through authrelay: its raw text; waitFor(s) resolves once s arrived.
class RawStream {
  constructor(url, headers) {
    this.raw = '';
    this.ended = false;
    this.waiters = [];
    this.req = http.get(url, { headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk) => { this.raw += chunk; this.wake(); });
      res.on('end', () => { this.ended = true; this.wake(); });
    });
    this.req.on('error', () => { this.ended = true; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  waitFor(needle, what = needle) {
    const p = new Promise((resolve, reject) => {
      const check = () => {
        const m = typeof needle === 'string' ? this.raw.includes(needle) : this.raw.match(needle);
        if (m) { this.waiters = this.waiters.filter((w) => w !== check); resolve(m); }
        else if (this.ended) reject(new Error(`stream ended before ${what}: ${this.raw.slice(-300)}`));
      };
      this.waiters.push(check);
      check();
    });
    return withTimeout(p, STEP_TIMEOUT_MS, what);
  }

  close() { this.req.destroy(); }
}

function watchPage(page) {
  const problems = [];
  page.on('console', (msg) => {
    const where = msg.location()?.url ?? '';
    if (where.endsWith('/favicon.ico')) return;
    // the "Not connected" page is a 403: Chromium logs its status as a console error
    if (/status of 403/.test(msg.text())) return;
    if (msg.type() === 'error' || /Content.Security.Policy|Refused to/i.test(msg.text())) {
      problems.push(`console ${msg.type()}: ${msg.text()} (${where || page.url()})`);
    }
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

async function pausedStream(ctx, connector, user) {
  const stream = new RawStream(`${ctx.relayUrl}/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=${connector}`,
                               { 'X-Registered-User-Id': user, Accept: 'text/event-stream' });
  ctx.streams.push(stream);
  const m = await stream.waitFor(/event: link_token\ndata: (\{.*\})\n/, 'link_token');
  return { stream, link: JSON.parse(m[1]) };
}

async function connectorsOf(ctx, user) {
  const r = await fetchJson('GET', `${ctx.controlUrl}/api/v1/registered-users/?origin_user_id=${user}`, undefined,
                            { Authorization: `Bearer ${ADMIN_KEY}` });
  assert.equal(r.status, 200, r.text);
  return r.json.results.length ? r.json.results[0].authenticated_connectors : [];
}

// A browser whose app session (the app_user cookie on the app's origin) is appUser.
async function signedIn(ctx, appUser) {
  const context = await ctx.browser.newContext();
  await context.addCookies([{ name: 'app_user', value: appUser, url: ctx.verifierUrl }]);
  return context;
}

async function submitKey(page, link, key) {
  assert.equal((await page.goto(link.magic_link_url)).status(), 200, 'link page');
  await page.locator('input[name="api_key"]').fill(key);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/_authrelay/link-flows/done'),
    page.locator('form:has(input[name="api_key"]) button[type="submit"]').click(),
  ]);
}

async function caseForwardedApiKey(ctx) {
  const { stream, link } = await pausedStream(ctx, 'openai', 'victim_key');
  const context = await signedIn(ctx, 'mallory');
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    await submitKey(page, link, 'sk-mallory-own-key');
    await page.locator('h1', { hasText: 'Not connected' }).waitFor();
    assert.match(await page.locator('body').innerText(), /Not connected/);
    await stream.waitFor('"type":"link_expired"');
    assert.ok(!stream.raw.includes('auth_complete'), 'the stream resumed');
    assert.deepEqual(await connectorsOf(ctx, 'victim_key'), []);
    assert.deepEqual(await connectorsOf(ctx, 'mallory'), []);
    const log = await fetchJson('GET', `${ctx.verifierUrl}/_control/log`);
    assert.deepEqual(log.json.map((e) => [e.user, e.status]), [['mallory', 409]]);
    assert.deepEqual(problems, [], 'the browser reported problems');
  } finally {
    await context.close();
  }
}

async function caseForwardedOAuth(ctx) {
  const { stream, link } = await pausedStream(ctx, 'acme', 'victim_oauth');
  const context = await signedIn(ctx, 'mallory');
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(link.magic_link_url);
    assert.ok(page.url().startsWith(`${ctx.providerUrl}/authorize?`), page.url());
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/_authrelay/link-flows/done'),
      page.locator('#approve').click(),
    ]);
    assert.match(await page.locator('body').innerText(), /Not connected/);
    await stream.waitFor('"type":"link_expired"');
    assert.ok(!stream.raw.includes('auth_complete'), 'the stream resumed');
    assert.deepEqual(await connectorsOf(ctx, 'victim_oauth'), []);
    assert.deepEqual(problems, [], 'the browser reported problems');
  } finally {
    await context.close();
  }
}

async function caseOwnLink(ctx) {
  const { stream, link } = await pausedStream(ctx, 'openai', 'alice');
  const context = await signedIn(ctx, 'alice');
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    await submitKey(page, link, 'sk-alice-key-1');
    await page.locator('h1', { hasText: 'Connected' }).waitFor();
    await stream.waitFor('"type":"auth_complete"');
    await stream.waitFor('event: done');
    assert.deepEqual(await connectorsOf(ctx, 'alice'), ['openai']);
    assert.deepEqual(problems, [], 'the browser reported problems');
  } finally {
    await context.close();
  }
}

async function main() {
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-binding-'));
  const ctx = { streams: [] };
  const verifierConfig = path.join(dataDir, 'verifier.json');
  const provider = startProcess('oauth_provider', PYTHON3, [PROVIDER, '--listen', '127.0.0.1:0', '--client-id',
                                CLIENT_ID, '--client-secret', CLIENT_SECRET], 'stdout', (l) => JSON.parse(l).listening);
  const verifier = startProcess('verifier_app', PYTHON3, [VERIFIER, '--listen', '127.0.0.1:0', '--config',
                                verifierConfig], 'stdout', (l) => JSON.parse(l).listening);
  const agent = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0'], 'stdout', (l) => JSON.parse(l).listening);
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'],
                                     headless: true, timeout: 20_000 });
  ctx.providerUrl = `http://${await provider.started}`;
  ctx.verifierUrl = `http://${await verifier.started}`;
  const agentUrl = `http://${await agent.started}`;
  const catalog = path.join(dataDir, 'connectors.json');
  writeFileSync(catalog, JSON.stringify({ connectors: [
    { slug: 'acme', name: 'Acme CRM', auth: 'oauth2', authorize_url: `${ctx.providerUrl}/authorize`,
      token_url: `${ctx.providerUrl}/token`, scopes: 'crm.read' },
    { slug: 'openai', name: 'OpenAI', auth: 'api_key' }] }));
  const relay = startProcess('authrelay', AUTHRELAY, ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0',
                             '--upstream', agentUrl, '--data-dir', path.join(dataDir, 'data'), '--connectors', catalog,
                             '--link-verifier-url', `${ctx.verifierUrl}/verify`], 'stderr', (l) => {
    const rec = JSON.parse(l);
    return rec.msg === 'listening' ? rec : undefined;
  }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY });
  const listening = await relay.started;
  ctx.relayUrl = `http://${listening.listen}`;
  ctx.controlUrl = `http://${listening.control}`;
  const owner = { Authorization: `Bearer ${ADMIN_KEY}` };
  const cred = await fetchJson('POST', `${ctx.controlUrl}/api/v1/application-credentials/`,
                               { connector_slug: 'acme', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, owner);
  assert.equal(cred.status, 201, cred.text);
  // the app's own API token: write:user
  const app = await fetchJson('POST', `${ctx.controlUrl}/api/v1/oauth/applications`,
                              { name: 'the app', scopes: ['write:user'] }, owner);
  assert.equal(app.status, 201, app.text);
  const tok = await fetchJson('POST', `${ctx.controlUrl}/oauth/token`, new URLSearchParams({
    grant_type: 'client_credentials', client_id: app.json.clientId, client_secret: app.json.clientSecret }).toString());
  assert.equal(tok.status, 200, tok.text);
  writeFileSync(verifierConfig, JSON.stringify({ control_url: ctx.controlUrl, token: tok.json.access_token }));
  browser = await withTimeout(launching, 25_000, 'chromium launch');
  ctx.browser = browser;

  const cases = [
    ['binding: api_key link opened in another user\'s app session stores nothing', caseForwardedApiKey],
    ['binding: oauth2 link opened in another user\'s app session stores nothing', caseForwardedOAuth],
    ['binding: api_key link in its own user\'s app session connects', caseOwnLink],
  ];
  for (const [name, fn] of cases) {
    try {
      await withTimeout(fn(ctx), 20_000, name);
      passed++;
      console.log(`ok: ${name}`);
    } catch (err) {
      failed++;
      console.log(`FAIL: ${name}: ${err.stack ?? err.message}`);
    }
  }
  for (const s of ctx.streams) s.close();
  await withTimeout(browser.close(), 10_000, 'browser close').catch(() => {});
  relay.child.kill('SIGTERM');
  const { code } = await withTimeout(relay.exited, 15_000, 'authrelay exit');
  if (code !== 0) { failed++; console.log(`FAIL: authrelay exited with ${code}`); }
  if (failed > 0) for (const line of relay.lines.slice(-40)) console.log(`  ${line}`);
}

main().then(() => finish(failed > 0 ? 1 : 0),
            (err) => { console.log(`FAIL: setup: ${err.stack ?? err.message}`); failed++; finish(1); });
