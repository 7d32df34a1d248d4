// Integration test: the hosted Link page in a real browser (Debian's
// Chromium, driven by the npm package playwright-core; no browser download).
//
// Starts the example agent server, the stand-in OAuth provider
// (tests/integration/oauth_provider.py) and authrelay (SQLite store in a
// temporary data directory, a temporary connector catalog with an oauth2
// connector "acme" pointing at the provider and an api_key connector
// "openai"), then, for each connector:
//   1. opens a streaming SSE request through authrelay with a trusted
//      X-Registered-User-Id (we connect from loopback) and reads it with
//      node:http until `event: link_token`;
//   2. checks that the stream is paused (nothing after link_token) while
//      Chromium opens magic_link_url and
//        api_key: fills the api_key field and presses Connect;
//        oauth2:  is redirected to the provider, presses Approve (#approve),
//                 is redirected back to authrelay's /_authrelay/oauth/callback;
//      and sees the "Connected" page, with no Content-Security-Policy
//      violation or page error reported by the browser;
//   3. checks that the same stream then delivers auth_complete, the remaining
//      events in order and `event: done` (delta seq 0..5 except the auth
//      event authrelay replaced), on one connection;
//   4. for oauth2, that the provider saw a token exchange with a valid client
//      and PKCE verifier (its /_control/log); and that the used link now
//      shows the 410 page in the browser.
// Every wait is bounded (the whole test stays under 60 s); every child
// process and the browser are killed at the end and on failure.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN, OAUTH_PROVIDER (oauth_provider.py),
// PYTHON3 (default python3), CHROMIUM (default /usr/bin/chromium). Without
// them, paths fall back to the build/ directory of a source checkout.
// Last line: "N passed, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { finish, guard, onCleanup, startProcess, tally, withTimeout } from '../lib/proctest.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// The first existing candidate (the build tree from the source tree, or from
// the copy of this script in build/tests/integration/browser/).
function locate(envName, candidates) {
  if (process.env[envName]) return process.env[envName];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}
const AUTHRELAY = locate('AUTHRELAY_BIN', [path.resolve(HERE, '../../../build/authrelay'),
                                            path.resolve(HERE, '../../../authrelay')]);
const AGENT = locate('AGENT_SERVER_BIN', [path.resolve(HERE, '../../../build/agent-server'),
                                          path.resolve(HERE, '../../../agent-server')]);
const PROVIDER = locate('OAUTH_PROVIDER', [path.resolve(HERE, '../oauth_provider.py')]);
const PYTHON3 = process.env.PYTHON3 || 'python3';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const ADMIN_KEY = 'browser-test-owner-key-0123456789';
const CLIENT_ID = 'acme-browser-client';
const CLIENT_SECRET = 'cs-browser-secret-4242-abcdef';
const API_KEY = 'sk-browser-test-123';
const STEP_TIMEOUT_MS = 15_000;
const WATCHDOG_MS = 55_000; // the whole test; ctest's TIMEOUT is above it
const COUNT = 6;
const AUTH_AT = 2;

let browser = null;
let dataDir = null;

// The browser is a child too (playwright-core spawned it); SIGKILL it
// directly when we cannot wait for browser.close().
onCleanup(() => {
  const proc = browser?.process?.();
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  if (dataDir) {
    try { rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
    dataDir = null;
  }
});
guard(WATCHDOG_MS);

async function fetchJson(method, url, body, headers = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(10_000), redirect: 'manual' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

// A streaming GET through authrelay, read with node:http. Keeps the raw text
// and the parsed SSE events ({event, data (parsed JSON)}) in arrival order;
// waitFor(pred) resolves once an event satisfying pred has arrived.
class SseStream {
  constructor(url, headers) {
    this.raw = '';
    this.events = [];
    this.ended = false;
    this.error = null;
    this.status = null;
    this.waiters = [];
    this.buf = '';
    this.req = http.get(url, { headers, agent: false }, (res) => {
      this.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk) => this.onData(chunk));
      res.on('end', () => { this.ended = true; this.wake(); });
      res.on('error', (err) => { this.error = err; this.wake(); });
    });
    this.req.on('error', (err) => { this.error = err; this.wake(); });
  }

  onData(chunk) {
    this.raw += chunk;
    this.buf += chunk.replace(/\r\n?/g, '\n');
    let at;
    while ((at = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, at);
      this.buf = this.buf.slice(at + 2);
      let event = 'message';
      const data = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue; // comments: ": paused"
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') { event = value; any = true; }
        if (field === 'data') { data.push(value); any = true; }
      }
      if (!any) continue;
      let parsed;
      try { parsed = JSON.parse(data.join('\n')); } catch { parsed = { unparsed: data.join('\n') }; }
      this.events.push({ event, data: parsed });
    }
    this.wake();
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  waitFor(pred, what, ms = STEP_TIMEOUT_MS) {
    const p = new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(pred);
        if (found) {
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(found);
        } else if (this.ended || this.error) {
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`stream ended (${this.error ?? 'end'}) before ${what}; ` +
                           `events ${JSON.stringify(this.types())}`));
        }
      };
      this.waiters.push(check);
      check();
    });
    return withTimeout(p, ms, `${what}; events so far ${JSON.stringify(this.types())}`);
  }

  waitEnd(ms = STEP_TIMEOUT_MS) {
    const p = new Promise((resolve, reject) => {
      const check = () => {
        if (this.error) reject(this.error);
        else if (this.ended) resolve();
      };
      this.waiters.push(check);
      check();
    });
    return withTimeout(p, ms, 'end of the stream');
  }

  types() {
    return this.events.map((e) => e.event);
  }

  close() {
    this.req.destroy();
  }
}

// Records what the browser reports about a page: console errors (among
// them Content-Security-Policy violations), uncaught page errors, failed
// requests (other than the favicon).
function watchPage(page) {
  const problems = [];
  page.on('console', (msg) => {
    const where = msg.location()?.url ?? '';
    if (where.endsWith('/favicon.ico')) return; // the provider has none: 404
    if (msg.type() === 'error' || /Content.Security.Policy|Refused to/i.test(msg.text())) {
      problems.push(`console ${msg.type()}: ${msg.text()} (${where || page.url()})`);
    }
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    if (!req.url().endsWith('/favicon.ico')) {
      problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
    }
  });
  return problems;
}

// The events a stream must deliver: deltas 0..AUTH_AT-1, link_token,
// auth_complete, deltas AUTH_AT+1..COUNT-1, done.
function checkTranscript(stream, connector, link) {
  const types = stream.types();
  const expectedTypes = [
    ...Array(AUTH_AT).fill('delta'), 'link_token', 'auth_complete',
    ...Array(COUNT - AUTH_AT - 1).fill('delta'), 'done',
  ];
  assert.deepEqual(types, expectedTypes, `event types ${JSON.stringify(types)}`);
  const seqs = stream.events.filter((e) => e.event === 'delta').map((e) => e.data.seq);
  const expectedSeqs = [];
  for (let i = 0; i < COUNT; i++) if (i !== AUTH_AT) expectedSeqs.push(i);
  assert.deepEqual(seqs, expectedSeqs, `delta seqs ${JSON.stringify(seqs)}`);
  const auth = stream.events[AUTH_AT + 1].data;
  assert.equal(auth.type, 'auth_complete');
  assert.equal(auth.stream_id, link.stream_id, 'auth_complete stream_id');
  assert.equal(auth.connector, connector, 'auth_complete connector');
  const done = stream.events[stream.events.length - 1].data;
  assert.equal(done.type, 'done');
  assert.equal(done.events, COUNT, `done ${JSON.stringify(done)}`);
  // The auth-required tool result itself was replaced, never forwarded.
  assert.ok(!stream.raw.includes(`"seq":${AUTH_AT},`), 'the auth-required event was forwarded');
}

// Opens the paused stream and waits for its link_token; checks its fields.
async function pausedStream(ctx, connector, userId) {
  const url = `${ctx.relayUrl}/stream?format=sse&count=${COUNT}&auth_at=${AUTH_AT}&shape=mcp` +
              `&connector=${connector}&rate=5`;
  const stream = new SseStream(url, { 'X-Registered-User-Id': userId, Accept: 'text/event-stream' });
  ctx.streams.push(stream);
  const ev = await stream.waitFor((e) => e.event === 'link_token', 'link_token');
  assert.equal(stream.status, 200, 'stream status');
  const link = ev.data;
  assert.equal(link.type, 'link_token');
  assert.equal(link.connector, connector);
  assert.match(link.link_token, /^ltk_[0-9a-f]+$/);
  assert.equal(link.magic_link_url, `${ctx.relayUrl}/_authrelay/link/${link.link_token}`);
  return { stream, link };
}

// After the link_token and before the page is submitted: the stream is
// paused (the browser took its time to open the page; nothing came).
function assertPaused(stream) {
  const types = stream.types();
  assert.equal(types[types.length - 1], 'link_token',
               `events arrived while paused: ${JSON.stringify(types)}`);
  assert.ok(!stream.ended, 'the stream ended while paused');
}

// A used link shows the "can no longer be used" page (410) in the browser.
async function assertLinkSpent(page, link) {
  const again = await page.goto(link.magic_link_url);
  assert.equal(again.status(), 410, 'used link status');
  assert.match(await page.locator('h1').innerText(), /can no longer be used/);
}

async function caseApiKey(ctx) {
  const { stream, link } = await pausedStream(ctx, 'openai', 'browser_user_key');
  // A browser far from UTC: the page shows the expiry in its local time.
  const context = await ctx.browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-US' });
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    const res = await page.goto(link.magic_link_url);
    assert.equal(res.status(), 200, 'link page status');
    assert.match(await page.locator('h1').innerText(), /^Connect /);
    // The expiry: a <time datetime> rewritten by the page's script (allowed
    // by its hash in the CSP: a blocked script is a reported problem).
    const shown = await page.evaluate(() => {
      const t = document.querySelector('time[datetime]');
      return { text: t.textContent, attr: t.getAttribute('datetime'),
               local: new Date(t.getAttribute('datetime')).toLocaleString(),
               zone: Intl.DateTimeFormat().resolvedOptions().timeZone };
    });
    assert.equal(shown.attr, link.expires_at, 'the time element carries expires_at');
    assert.equal(shown.zone, 'Asia/Tokyo');
    assert.equal(shown.text, shown.local, 'the expiry is shown in local time');
    assert.notEqual(shown.text, shown.attr, 'the expiry is still the raw UTC string');
    const utcHour = new Date(link.expires_at).getUTCHours();
    const tokyoHour12 = ((utcHour + 9) % 24) % 12 || 12;
    assert.match(shown.text, new RegExp(`, ${tokyoHour12}:`), `not Tokyo time: ${shown.text}`);
    assert.equal(await page.locator('button', { hasText: 'Not now' }).count(), 1, '"Not now" on the page');
    const input = page.locator('input[name="api_key"]');
    await input.fill(API_KEY);
    assertPaused(stream);
    const [nav] = await Promise.all([
      page.waitForNavigation({ url: (u) => u.href.startsWith(link.magic_link_url) }),
      page.locator('form:has(input[name="api_key"]) button[type="submit"]').click(),
    ]);
    assert.equal(nav.status(), 200, `form POST answered ${nav.status()}`);
    assert.equal(nav.request().method(), 'POST');
    await page.locator('h1', { hasText: 'Connected' }).waitFor();
    assert.match(await page.locator('body').innerText(), /Connected/);

    await stream.waitFor((e) => e.event === 'done', 'event: done');
    await stream.waitEnd();
    checkTranscript(stream, 'openai', link);
    assert.ok(!stream.raw.includes(API_KEY), 'the API key appeared on the stream');
    assert.deepEqual(problems, [], 'the browser reported problems');

    await assertLinkSpent(page, link);
  } finally {
    await context.close();
  }
  assert.ok(!ctx.relay.lines.some((l) => l.includes(API_KEY)), 'the API key appeared in the logs');
}

async function caseOAuth(ctx) {
  const { stream, link } = await pausedStream(ctx, 'acme', 'browser_user_oauth');
  const context = await ctx.browser.newContext();
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    // The link page redirects (302) to the provider's authorize page.
    const res = await page.goto(link.magic_link_url);
    assert.equal(res.status(), 200, 'provider authorize page status');
    const authorizeUrl = new URL(page.url());
    assert.equal(authorizeUrl.origin + authorizeUrl.pathname, `${ctx.providerUrl}/authorize`,
                 `landed on ${page.url()}`);
    const redirect = res.request().redirectedFrom();
    assert.ok(redirect, 'no redirect from the link page');
    assert.equal(redirect.url(), link.magic_link_url);
    assert.equal((await redirect.response()).status(), 302);
    const q = authorizeUrl.searchParams;
    assert.equal(q.get('client_id'), CLIENT_ID);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('redirect_uri'), `${ctx.relayUrl}/_authrelay/oauth/callback`);
    assert.ok(q.get('state'), 'no state');
    assertPaused(stream);

    // Approve: the provider's form POSTs and redirects (302) to authrelay's
    // callback, which exchanges the code and shows "Connected".
    const callbackPrefix = `${ctx.relayUrl}/_authrelay/oauth/callback`;
    const [nav] = await Promise.all([
      page.waitForNavigation({ url: (u) => u.href.startsWith(callbackPrefix) }),
      page.locator('#approve').click(),
    ]);
    assert.equal(nav.status(), 200, `callback answered ${nav.status()}`);
    assert.ok(page.url().startsWith(callbackPrefix + '?'), `ended on ${page.url()}`);
    await page.locator('h1', { hasText: 'Connected' }).waitFor();
    const body = await page.locator('body').innerText();
    assert.match(body, /Acme CRM/, `callback page: ${body}`);

    await stream.waitFor((e) => e.event === 'done', 'event: done');
    await stream.waitEnd();
    checkTranscript(stream, 'acme', link);

    const log = await fetchJson('GET', `${ctx.providerUrl}/_control/log`);
    assert.equal(log.status, 200);
    const ok = log.json.filter((e) => e.result === 'ok');
    assert.equal(ok.length, 1, `provider token exchanges: ${log.text}`);
    assert.equal(ok[0].verifier_ok, true, `PKCE verifier: ${log.text}`);
    assert.equal(ok[0].client_ok, true, `client authentication: ${log.text}`);
    assert.deepEqual(problems, [], 'the browser reported problems');

    // The callback cannot be replayed (single-use state), nor the link.
    const replay = await page.goto(page.url());
    assert.equal(replay.status(), 400, 'replayed callback status');
    await assertLinkSpent(page, link);
  } finally {
    await context.close();
  }
  assert.ok(!ctx.relay.lines.some((l) => l.includes(CLIENT_SECRET)), 'the client secret appeared in the logs');
}

// An API-key link minted by the app (control API) with a callback_url: after
// the form is submitted, the browser must land on callback_url with state.
// (The link page's CSP form-action names the callback's origin: browsers
// apply form-action to the redirect that follows a form submission.)
async function caseApiKeyCallbackUrl(ctx) {
  const app = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>app</title><h1>Back in the app</h1>');
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  const appOrigin = `http://127.0.0.1:${app.address().port}`;
  const context = await ctx.browser.newContext();
  try {
    const auth = { Authorization: `Bearer ${ADMIN_KEY}` };
    const origin = await fetchJson('POST', `${ctx.controlUrl}/api/v1/callback-origins/`, { origin: appOrigin }, auth);
    assert.equal(origin.status, 201, `callback origin: ${origin.text}`);
    const user = await fetchJson('POST', `${ctx.controlUrl}/api/v1/registered-users/`,
                                 { origin_user_id: 'browser_user_cb', origin_user_name: 'Browser' }, auth);
    assert.ok(user.status === 201 || user.status === 200, `registered user: ${user.text}`);
    const lt = await fetchJson('POST', `${ctx.controlUrl}/api/v1/registered-users/${user.json.id}/link-token/`,
                               { connector: 'openai', callback_url: `${appOrigin}/done`, state: 'st-browser' }, auth);
    assert.equal(lt.status, 201, `link token: ${lt.text}`);
    const page = await context.newPage();
    const problems = watchPage(page);
    assert.equal((await page.goto(lt.json.magic_link_url)).status(), 200, 'link page status');
    await page.locator('input[name="api_key"]').fill(API_KEY);
    const connectors = async () => (await fetchJson(
      'GET', `${ctx.controlUrl}/api/v1/registered-users/${user.json.id}/`, undefined, auth)).json.authenticated_connectors;
    try {
      await Promise.all([
        page.waitForURL(`${appOrigin}/done?state=st-browser`, { timeout: 5_000 }),
        page.locator('form:has(input[name="api_key"]) button[type="submit"]').click(),
      ]);
    } catch (err) {
      throw new Error(`the browser did not reach callback_url (${err.message.split('\n')[0]}); it is on ` +
                      `${page.url()}; the user's authenticated_connectors: ` +
                      `${JSON.stringify(await connectors())}; the browser said ${JSON.stringify(problems)}`);
    }
    await page.locator('h1', { hasText: 'Back in the app' }).waitFor();
    assert.deepEqual(await connectors(), ['openai']);
    assert.deepEqual(problems, [], 'the browser reported problems');
  } finally {
    await context.close();
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  }
}

async function main() {
  const t0 = Date.now();
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-browser-'));
  const ctx = { streams: [] };

  const provider = startProcess('oauth_provider', PYTHON3,
                                [PROVIDER, '--listen', '127.0.0.1:0', '--client-id', CLIENT_ID,
                                 '--client-secret', CLIENT_SECRET],
                                'stdout', (line) => JSON.parse(line).listening);
  const agent = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0'], 'stdout',
                             (line) => JSON.parse(line).listening);
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    headless: true,
    timeout: 20_000,
  });
  ctx.providerUrl = `http://${await provider.started}`;
  const agentUrl = `http://${await agent.started}`;

  const catalog = path.join(dataDir, 'connectors.json');
  writeFileSync(catalog, JSON.stringify({
    connectors: [
      { slug: 'acme', name: 'Acme CRM', auth: 'oauth2', authorize_url: `${ctx.providerUrl}/authorize`,
        token_url: `${ctx.providerUrl}/token`, scopes: 'crm.read' },
      { slug: 'openai', name: 'OpenAI', auth: 'api_key' },
    ],
  }));
  const relayData = path.join(dataDir, 'data');
  const relay = startProcess('authrelay', AUTHRELAY,
                             ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0',
                              '--upstream', agentUrl, '--data-dir', relayData, '--connectors', catalog,
                              // written for on_detect replace (the default since #14 is rewrite)
                              '--on-detect', 'replace'],
                             'stderr', (line) => {
                               const rec = JSON.parse(line);
                               return rec.msg === 'listening' ? rec : undefined;
                             }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY });
  ctx.relay = relay;
  const listening = await relay.started;
  ctx.relayUrl = `http://${listening.listen}`;
  ctx.controlUrl = `http://${listening.control}`;

  const cred = await fetchJson('POST', `${ctx.controlUrl}/api/v1/application-credentials/`,
                               { connector_slug: 'acme', client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
                               { Authorization: `Bearer ${ADMIN_KEY}` });
  assert.equal(cred.status, 201, `application credential: ${cred.status} ${cred.text}`);

  browser = await withTimeout(launching, 25_000, 'chromium launch');
  ctx.browser = browser;
  console.log(`setup: ${Date.now() - t0} ms (chromium ${browser.version()}, playwright-core)`);

  const cases = [
    ['browser: api_key connector: form, Connected page, stream resumes', caseApiKey],
    ['browser: oauth2 connector: provider approve, callback, stream resumes', caseOAuth],
    ['browser: api_key link with callback_url: the browser lands on callback_url', caseApiKeyCallbackUrl],
  ];
  for (const [name, fn] of cases) {
    const t = Date.now();
    try {
      await withTimeout(fn(ctx), 20_000, name);
      tally.passed++;
      console.log(`ok: ${name} (${Date.now() - t} ms)`);
    } catch (err) {
      tally.failed++;
      console.log(`FAIL: ${name}: ${err.stack ?? err.message}`);
    }
  }
  for (const s of ctx.streams) s.close();

  await withTimeout(browser.close(), 10_000, 'browser close').catch((err) => console.log(`browser close: ${err.message}`));

  // authrelay exits 0 on SIGTERM (under ASan this also covers leaks).
  const name = 'browser: authrelay exits 0 on SIGTERM';
  try {
    relay.child.kill('SIGTERM');
    const { code, signal } = await withTimeout(relay.exited, 15_000, 'authrelay exit after SIGTERM');
    assert.equal(code, 0, `authrelay exited with code ${code}, signal ${signal}`);
    tally.passed++;
    console.log(`ok: ${name}`);
  } catch (err) {
    tally.failed++;
    console.log(`FAIL: ${name}: ${err.message}`);
  }
  for (const p of [agent, provider]) {
    p.child.kill('SIGTERM');
    await withTimeout(p.exited, 5_000, 'exit').catch(() => p.child.kill('SIGKILL'));
  }

  if (tally.failed > 0) {
    console.log('authrelay stderr (last 60 lines):');
    for (const line of relay.lines.slice(-60)) console.log(`  ${line}`);
  }
  console.log(`total: ${Date.now() - t0} ms`);
}

main().then(
  () => finish(tally.failed > 0 ? 1 : 0),
  (err) => { console.log(`FAIL: setup: ${err.stack ?? err.message}`); tally.failed++; finish(1); },
);
