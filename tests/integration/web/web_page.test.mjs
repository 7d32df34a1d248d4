// Integration test: the example chat page (examples/web/) in a real browser
// (Debian's Chromium, driven by the npm package playwright-core; no browser
// download), the way a newcomer uses it after `make run`.
//
// Starts the example agent server serving the page (--web-dir) and authrelay
// in front of it (embedded link service, SQLite in a temporary directory, a
// catalog with the API-key connector "openai"; on_detect: rewrite, the
// default), then:
//   1. the page and its files come through authrelay with their types and a
//      strict Content-Security-Policy (no 'unsafe-inline');
//   2. in Chromium: the page sends a message (fetch POST with
//      X-Registered-User-Id), the answer streams (text parts appear), the
//      interrupt appears in place with authrelay's trusted link
//      (/_authrelay/link/ltk_...) and nothing after it (the stream is paused,
//      for the page's user: /v1/streams); a click on "Connect" opens the Link
//      page in a popup; the API key is entered; the popup shows "Connected";
//      the same answer goes on to its end; its parts are exactly the deltas
//      the agent server sends for that request (fetched directly from it):
//      nothing lost, duplicated or reordered; no console error, page error,
//      failed request or CSP violation (securitypolicyviolation listener) in
//      the page or the popup; screenshots go to ARTIFACT_DIR (build tree);
//   3. the popup closed before connecting leaves the link pending (onExit
//      'closed', Connect opens it again); "Not now" there ends the wait
//      (auth_declined) and the answer goes on, whole;
//   4. authrelay-link.js alone (Node): readSse on a body cut at every byte,
//      the notices of three dialects, untrusted links ignored, the callbacks;
//   5. --web-dir: a missing file, or one over the 256 KiB cap, stops the
//      start (exit 2, the file named); exactly the cap is served;
//   6. authrelay-link.d.ts under tsc --strict: a usage compiles, misuses
//      (@ts-expect-error) do not;
//   7. scripts/run.sh (`make run`) prints the page's URL as its first line,
//      and that URL answers with the page.
// Every wait is bounded; every child process and the browser are killed at
// the end and on failure.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN, WEB_DIR (examples/web), SOURCE_DIR (the
// source tree, for scripts/run.sh), ARTIFACT_DIR (screenshots), CHROMIUM
// (default /usr/bin/chromium). Last line: "N passed, M failed"; exit 1 on any
// failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
function locate(envName, candidates) {
  if (process.env[envName]) return process.env[envName];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}
// The source tree: above this script, or (for the copy in the build tree,
// build/tests/integration/web/) above the build directory.
const SOURCE_DIR = locate('SOURCE_DIR', [path.resolve(HERE, '../../..'), path.resolve(HERE, '../../../..')]
  .filter((d) => existsSync(path.join(d, 'scripts/run.sh'))));
const AUTHRELAY = locate('AUTHRELAY_BIN', [path.resolve(HERE, '../../../authrelay'),
                                            path.join(SOURCE_DIR, 'build/authrelay')]);
const AGENT = locate('AGENT_SERVER_BIN', [path.resolve(HERE, '../../../agent-server'),
                                          path.join(SOURCE_DIR, 'build/agent-server')]);
const WEB_DIR = locate('WEB_DIR', [path.join(SOURCE_DIR, 'examples/web')]);
const ARTIFACT_DIR = process.env.ARTIFACT_DIR || path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const API_KEY = 'sk-web-test-4711';
const START_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;
const WATCHDOG_MS = 80_000; // the whole test; ctest's TIMEOUT (90) is above it

const children = new Set();
let browser = null;
const tempDirs = [];
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
  for (const dir of tempDirs.splice(0)) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

function finish(code) {
  killAll();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { console.error(`got ${sig}`); failed++; finish(1); });
}
process.on('uncaughtException', (err) => { console.error('uncaught:', err); failed++; finish(1); });
process.on('unhandledRejection', (err) => { console.error('unhandled rejection:', err); failed++; finish(1); });
const watchdog = setTimeout(() => {
  console.log(`FAIL: watchdog: the test did not finish within ${WATCHDOG_MS} ms`);
  failed++;
  finish(1);
}, WATCHDOG_MS);
watchdog.unref();

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Spawns cmd and resolves `started` with the first line of `streamName` that
// `match` accepts (returns non-undefined); every line is kept in `lines`.
function startProcess(name, cmd, args, streamName, match, opts = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...(opts.env ?? {}) },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines = [];
  const other = streamName === 'stdout' ? 'stderr' : 'stdout';
  child[other].on('data', () => {}); // drained, not kept
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise((resolve, reject) => {
    let done = false;
    child.on('error', (err) => { if (!done) { done = true; reject(err); } });
    createInterface({ input: child[streamName] }).on('line', (line) => {
      lines.push(line);
      if (done) return;
      let got;
      try { got = match(line, lines.length); } catch { got = undefined; }
      if (got !== undefined) { done = true; resolve(got); }
    });
    exited.then(({ code, signal }) => {
      if (!done) {
        done = true;
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before starting: ${lines.join('\n')}`));
      }
    });
  });
  return { child, lines, exited, started: withTimeout(started, START_TIMEOUT_MS, `${name} start`) };
}

// The deltas' texts of an SSE body, in order.
function deltaTexts(body) {
  const texts = [];
  for (const block of body.replace(/\r\n?/g, '\n').split('\n\n')) {
    const lines = block.split('\n');
    if (!lines.includes('event: delta')) continue;
    const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    texts.push(JSON.parse(data).text);
  }
  return texts;
}

// Records what the browser reports about a page: console errors (CSP reports
// among them), uncaught errors, failed requests; and CSP violations seen by a
// securitypolicyviolation listener installed before any of the page's code.
async function watchPage(page, label) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content.Security.Policy|Refused to/i.test(msg.text())) {
      problems.push(`${label}: console ${msg.type()}: ${msg.text()} (${msg.location()?.url || page.url()})`);
    }
  });
  page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    problems.push(`${label}: request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${label}: ${res.status()} for ${res.url()}`);
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  return problems;
}

async function cspViolations(page) {
  if (page.isClosed()) return [];
  return page.evaluate(() => window.__cspViolations ?? ['the listener was not installed']);
}

async function shot(page, name) {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACT_DIR, `${name}.png`), fullPage: true });
}

// authrelay-link.js on its own (in Node, no browser): readSse on bodies cut
// at every byte (CRLF, CR or LF line ends, comments, multi-line data, an
// oversized event), noticeOf in the three dialects, and the handler's
// callbacks with a stand-in window (untrusted links ignored).
async function caseModule() {
  const mod = await import(pathToFileURL(path.join(WEB_DIR, 'authrelay-link.js')).href);
  const body = ': paused\r\nevent: delta\r\ndata: {"text":"a"}\r\n\r\n' +
               'data: line1\rdata: line2\r\rid: 7\nevent: x\ndata:{"n":1}\n\n' +
               'event: only-event\n\ndata: tail-without-blank-line\n';
  const want = [
    { event: 'delta', data: '{"text":"a"}', id: undefined, json: { text: 'a' } },
    { event: 'message', data: 'line1\nline2', id: undefined, json: undefined },
    { event: 'x', data: '{"n":1}', id: '7', json: { n: 1 } },
  ];
  const bytes = new TextEncoder().encode(body);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const res = new Response(new ReadableStream({
      start(c) { c.enqueue(bytes.slice(0, cut)); c.enqueue(bytes.slice(cut)); c.close(); },
    }));
    const got = [];
    for await (const evt of mod.readSse(res)) got.push(evt);
    assert.deepEqual(got, want, `cut at ${cut}`);
  }
  await assert.rejects(async () => { for await (const _ of mod.readSse(new Response('x', { status: 401 }))); },
                       /401/);
  const huge = new Response(`data: ${'x'.repeat((1 << 20) + 1)}\n\n`);
  await assert.rejects(async () => { for await (const _ of mod.readSse(huge)); }, /too long/);

  const origin = 'http://relay.test';
  const lt = { type: 'link_token', stream_id: 'st_1', connector: 'slack', link_token: 'ltk_1',
               magic_link_url: `${origin}/_authrelay/link/ltk_1`, expires_at: 'x', message: 'm' };
  const done = { type: 'auth_complete', stream_id: 'st_1', connector: 'slack' };
  const ev = (event, json) => ({ event, data: JSON.stringify(json), json });
  assert.deepEqual(mod.noticeOf(ev('link_token', lt)), { kind: 'link_token', value: lt });
  assert.deepEqual(mod.noticeOf(ev('message', { type: 'data-link_token', data: lt, transient: true })),
                   { kind: 'link_token', value: lt });
  assert.deepEqual(mod.noticeOf(ev('message', { type: 'CUSTOM', name: 'authrelay.auth_complete', value: done })),
                   { kind: 'auth_complete', value: done });
  assert.equal(mod.noticeOf(ev('delta', { type: 'delta', text: 'link_token' })), null);
  assert.equal(mod.noticeOf(ev('tool_result', lt)), null, 'a link_token object under another event name');

  const popups = [];
  const fakeWindow = {
    location: { origin },
    open(url) { const w = { url, closed: false, close() { this.closed = true; }, focus() {} }; popups.push(w); return w; },
  };
  const calls = [];
  const h = mod.createLinkHandler({
    window: fakeWindow, pollMs: 5,
    onLinkToken: (l) => calls.push(['link', l.link_token]),
    onSuccess: (r) => calls.push(['success', r.connector, r.link?.link_token]),
    onExit: (r) => calls.push(['exit', r.reason]),
  });
  assert.equal(h.open(), null, 'open() with nothing pending');
  for (const bad of ['https://evil.test/_authrelay/link/ltk_1', `${origin}/elsewhere/ltk_1`,
                     'javascript:alert(1)', `${origin}/_authrelay/link/ltk_1?x=1#y`]) {
    assert.equal(h.handleEvent(ev('link_token', { ...lt, magic_link_url: bad })), 'link_token');
  }
  assert.equal(h.pending, null, 'an untrusted link became pending');
  assert.deepEqual(calls, []);
  assert.equal(h.handleEvent(ev('link_token', lt)), 'link_token');
  assert.equal(h.open().url, lt.magic_link_url);
  popups[0].close();
  const deadline = Date.now() + 5_000;
  while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(calls, [['link', 'ltk_1'], ['exit', 'closed']]);
  assert.equal(h.pending, lt, 'a closed popup dropped the link');
  assert.equal(h.open().url, lt.magic_link_url, 'opened again');
  assert.equal(h.handleEvent(ev('auth_complete', done)), 'auth_complete');
  assert.deepEqual(calls.at(-1), ['success', 'slack', 'ltk_1']);
  assert.equal(h.pending, null);
  assert.equal(h.handleEvent(ev('delta', { type: 'delta', text: 'hi' })), null);
  assert.equal(h.handleEvent(ev('relay_error', { type: 'relay_error', status: 502 })), 'relay_error');
  assert.deepEqual(calls.at(-1), ['exit', 'relay_error']);
}

// authrelay-link.d.ts with tsc --strict (typescript, pinned): a usage
// compiles, and misuses marked @ts-expect-error are errors (with `any` types
// they would not be, and tsc would report the unused directives).
const TYPES_USAGE = `
import { createLinkHandler, readSse, noticeOf, type LinkToken, type NoticeKind } from './authrelay-link.js';
const link = createLinkHandler({
  onLinkToken(l: LinkToken) { const u: string = l.magic_link_url; void u; },
  onSuccess(r) { const c: string = r.connector; const s: string = r.streamId; void c; void s; },
  onExit(r) { if (r.reason === 'closed' || r.reason === 'auth_declined') void r.link; },
  closePopupOnSuccess: true,
});
export async function chat(res: Response): Promise<void> {
  for await (const evt of readSse(res, { signal: AbortSignal.timeout(1000) })) {
    const kind: NoticeKind | null = link.handleEvent(evt);
    if (kind === null) { const e: string = evt.event; const d: string = evt.data; void e; void d; }
    void noticeOf(evt)?.kind;
  }
  const w: Window | null = link.open();
  void w;
  void link.pending?.link_token;
  link.close();
}
// @ts-expect-error: an unknown option
createLinkHandler({ onLink() {} });
// @ts-expect-error: onExit's reasons are a closed set
createLinkHandler({ onExit(r) { if (r.reason === 'bogus') return; } });
// @ts-expect-error: pending is read-only
link.pending = null;
// @ts-expect-error: readSse wants a Response
readSse('data: x');
`;

async function caseTypes() {
  const dir = mkdtempSync(path.join(tmpdir(), 'authrelay-web-types-'));
  tempDirs.push(dir);
  copyFileSync(path.join(WEB_DIR, 'authrelay-link.d.ts'), path.join(dir, 'authrelay-link.d.ts'));
  writeFileSync(path.join(dir, 'usage.ts'), TYPES_USAGE);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = startProcess('tsc', process.execPath,
                           [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
                            '--moduleResolution', 'nodenext', '--lib', 'es2022,dom,dom.iterable,dom.asynciterable',
                            '--pretty', 'false', path.join(dir, 'usage.ts')],
                           'stdout', () => undefined);
  run.started.catch(() => {}); // it prints only on errors
  const { code } = await withTimeout(run.exited, 25_000, 'tsc');
  assert.equal(code, 0, `tsc: ${run.lines.join('\n')}`);
}

// The status code the server at base answers for a GET of target, sent
// byte for byte.
function rawStatus(base, target) {
  const { hostname, port } = new URL(base);
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => {
      sock.end(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
    });
    let head = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { head += d; });
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no status line for ${target}: ${JSON.stringify(head.slice(0, 80))}`));
    });
  }), 5_000, `GET ${target}`);
}

// The page's files through authrelay: types and the CSP.
async function caseFiles(ctx) {
  const want = {
    '/': 'text/html', '/app.js': 'text/javascript', '/authrelay-link.js': 'text/javascript',
    '/style.css': 'text/css', '/favicon.svg': 'image/svg+xml',
  };
  for (const [p, type] of Object.entries(want)) {
    const res = await fetch(ctx.relayUrl + p, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200, `${p} status`);
    assert.ok(res.headers.get('content-type').startsWith(type), `${p}: ${res.headers.get('content-type')}`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/, `${p} CSP: ${csp}`);
    assert.match(csp, /script-src 'self'(;|$)/, `${p} CSP: ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${p} CSP: ${csp}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    await res.arrayBuffer();
  }
  const html = await (await fetch(ctx.relayUrl + '/')).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'an inline script in index.html');
  assert.doesNotMatch(html, /\sstyle=|<style/i, 'an inline style in index.html');
  // Only the whitelist: nothing else of the directory, no traversal (sent
  // raw: fetch would normalize the dots away).
  for (const p of ['/index.html', '/authrelay-link.d.ts', '/../web/app.js', '/%2e%2e/web/app.js',
                   '/app.js/', '//app.js', '/style.css/../../../etc/passwd']) {
    assert.equal(await rawStatus(ctx.agentUrl, p), 404, `${p} status`);
  }
}

async function caseChat(ctx) {
  const context = await ctx.browser.newContext({ viewport: { width: 900, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = await watchPage(page, 'page');
    const res = await page.goto(ctx.relayUrl + '/');
    assert.equal(res.status(), 200, 'page status');
    const user = await page.locator('#user').innerText();
    assert.match(user, /^web_[0-9a-f]{8}$/, `user ${user}`);
    const action = await page.locator('#chat').getAttribute('action');
    const query = new URL(action, ctx.relayUrl).searchParams;
    const count = Number(query.get('count'));
    const authAt = Number(query.get('auth_at'));
    assert.ok(count > authAt + 1 && authAt > 0, `the page's stream: ${action}`);

    await page.locator('#message').fill('Please tell the team the release is out.');
    await page.locator('#send').click();
    const reply = page.locator('li.msg.agent').last();
    await reply.locator('.part').first().waitFor({ timeout: STEP_TIMEOUT_MS });
    await shot(page, '1-streaming');

    // The interrupt, in place, with authrelay's link; nothing after it.
    const connect = reply.locator('.interrupt a.connect');
    await connect.waitFor({ timeout: STEP_TIMEOUT_MS });
    const href = await connect.getAttribute('href');
    assert.match(href, new RegExp(`^${ctx.relayUrl.replace(/\./g, '\\.')}/_authrelay/link/ltk_[0-9a-f]+$`),
                 `link ${href}`);
    assert.match(await reply.locator('.interrupt').innerText(), /Please connect Openai to continue/);
    const streams = await (await fetch(`${ctx.controlUrl}/v1/streams`,
                                       { headers: { Authorization: `Bearer ${ctx.adminKey}` } })).json();
    assert.deepEqual(streams.streams.map((s) => [s.registered_user, s.connector]), [[user, 'openai']],
                     `paused streams ${JSON.stringify(streams)}`);
    const before = await reply.locator('.part').allInnerTexts();
    assert.equal(before.length, authAt, `parts before the interrupt: ${JSON.stringify(before)}`);
    await shot(page, '2-interrupt');

    // The popup: the Link page of that link.
    const [popup] = await Promise.all([
      page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS }),
      connect.click(),
    ]);
    const popupProblems = await watchPage(popup, 'popup');
    await popup.waitForLoadState('domcontentloaded');
    assert.equal(popup.url(), href, 'the popup opened the link');
    assert.match(await popup.locator('h1').innerText(), /^Connect /);
    await popup.locator('input[name="api_key"]').fill(API_KEY);
    await shot(popup, '3-popup-form');
    assert.equal(await reply.locator('.part').count(), authAt, 'the answer went on before the key was given');
    await Promise.all([
      popup.waitForNavigation({ url: (u) => u.href.startsWith(href), timeout: STEP_TIMEOUT_MS }),
      popup.locator('form:has(input[name="api_key"]) button[type="submit"]').click(),
    ]);
    await popup.locator('h1', { hasText: 'Connected' }).waitFor({ timeout: STEP_TIMEOUT_MS });
    await shot(popup, '4-popup-connected');

    // The same answer goes on to its end.
    await page.locator('li.msg.agent.complete').waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.match(await reply.locator('.interrupt.done .state').innerText(), /Connected openai/);
    assert.match(await page.locator('#status').innerText(), /Done/);
    await shot(page, '5-resumed');
    const parts = await reply.locator('.part').allInnerTexts();
    const seqs = await reply.locator('.part').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));

    // What the agent server sends for that request, fetched directly.
    const direct = await fetch(ctx.agentUrl + action, {
      method: 'POST', body: '{"message":"direct"}', headers: { 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    const expected = deltaTexts(await direct.text());
    assert.equal(expected.length, count - 1, 'the direct stream');
    assert.deepEqual(parts, expected, 'the page shows exactly the agent\'s deltas');
    assert.deepEqual(seqs, [...Array(count).keys()].filter((i) => i !== authAt));
    assert.ok(!(await page.content()).includes(API_KEY), 'the API key reached the page');

    assert.deepEqual([...problems, ...popupProblems], [], 'the browser reported problems');
    assert.deepEqual(await cspViolations(page), [], 'CSP violations in the page');
    assert.deepEqual(await cspViolations(popup), [], 'CSP violations in the popup');
  } finally {
    await context.close();
  }
}

// Opens the page in a new browser context, sends a message and waits for
// the interrupt; returns what the cases need.
async function pageAtInterrupt(ctx, context) {
  const page = await context.newPage();
  const problems = await watchPage(page, 'page');
  assert.equal((await page.goto(ctx.relayUrl + '/')).status(), 200, 'page status');
  const action = await page.locator('#chat').getAttribute('action');
  const query = new URL(action, ctx.relayUrl).searchParams;
  const authAt = Number(query.get('auth_at'));
  await page.locator('#message').fill('Post the notes to the channel.');
  await page.locator('#send').click();
  const reply = page.locator('li.msg.agent').last();
  const connect = reply.locator('.interrupt a.connect');
  await connect.waitFor({ timeout: STEP_TIMEOUT_MS });
  return { page, problems, action, authAt, reply, connect };
}

// The deltas the agent server sends for action, fetched directly.
async function directDeltas(ctx, action) {
  const direct = await fetch(ctx.agentUrl + action, {
    method: 'POST', body: '{"message":"direct"}', headers: { 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  assert.equal(direct.status, 200, 'direct stream status');
  return deltaTexts(await direct.text());
}

// onExit: the popup closed before connecting leaves the link pending (the
// button opens it again); "Not now" there ends the wait (auth_declined) and
// the answer goes on without the account, whole.
async function caseClosedThenDeclined(ctx) {
  const context = await ctx.browser.newContext({ viewport: { width: 900, height: 900 } });
  try {
    const { page, problems, action, authAt, reply, connect } = await pageAtInterrupt(ctx, context);
    const href = await connect.getAttribute('href');
    const [first] = await Promise.all([page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS }), connect.click()]);
    await first.waitForLoadState('domcontentloaded');
    await first.close();
    await page.locator('#status', { hasText: 'closed before connecting' }).waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.equal(await reply.locator('.part').count(), authAt, 'the answer went on after the popup closed');
    assert.equal(await connect.count(), 1, 'the Connect button is gone');

    const [second] = await Promise.all([page.waitForEvent('popup', { timeout: STEP_TIMEOUT_MS }), connect.click()]);
    const popupProblems = await watchPage(second, 'popup');
    await second.waitForLoadState('domcontentloaded');
    assert.equal(second.url(), href, 'the popup opened the same link');
    await Promise.all([
      second.waitForNavigation({ timeout: STEP_TIMEOUT_MS }),
      second.locator('button', { hasText: 'Not now' }).click(),
    ]);
    await page.locator('li.msg.agent.complete').waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.match(await reply.locator('.interrupt.ended .state').innerText(), /Not connected/);
    await shot(page, '6-declined');
    assert.deepEqual(await reply.locator('.part').allInnerTexts(), await directDeltas(ctx, action),
                     'the page shows exactly the agent\'s deltas');
    assert.deepEqual([...problems, ...popupProblems], [], 'the browser reported problems');
    assert.deepEqual(await cspViolations(page), [], 'CSP violations in the page');
  } finally {
    await context.close();
  }
}

// --web-dir reads its whitelist at start, each file capped (256 KiB): a
// missing or larger file stops the start with exit status 2 and its name.
async function caseWebDirLimits() {
  const dir = mkdtempSync(path.join(tmpdir(), 'authrelay-web-dir-'));
  tempDirs.push(dir);
  for (const f of readdirSync(WEB_DIR)) copyFileSync(path.join(WEB_DIR, f), path.join(dir, f));
  const start = async (why) => {
    const p = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0', '--web-dir', dir], 'stderr', () => undefined);
    p.started.catch(() => {}); // it is expected not to start
    const { code } = await withTimeout(p.exited, START_TIMEOUT_MS, `agent-server exit (${why})`);
    return { code, err: p.lines.join('\n') };
  };
  writeFileSync(path.join(dir, 'style.css'), 'x'.repeat(256 * 1024)); // exactly the cap: fine
  const ok = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0', '--web-dir', dir], 'stdout',
                          (line) => JSON.parse(line).listening);
  const res = await fetch(`http://${await ok.started}/style.css`, { signal: AbortSignal.timeout(5_000) });
  assert.equal((await res.text()).length, 256 * 1024);
  ok.child.kill('SIGTERM');
  await withTimeout(ok.exited, 5_000, 'agent-server exit');
  writeFileSync(path.join(dir, 'style.css'), 'x'.repeat(256 * 1024 + 1));
  let r = await start('oversized');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /style\.css: File too large/);
  rmSync(path.join(dir, 'app.js'));
  r = await start('missing');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /app\.js: No such file/);
}

// A free loopback port (closed again: scripts/run.sh needs fixed numbers).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// `make run` (scripts/run.sh) prints the page's URL first, and it answers.
async function caseRunScript() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-web-run-'));
  tempDirs.push(dataDir);
  const [agentPort, proxyPort, controlPort] = [await freePort(), await freePort(), await freePort()];
  const run = startProcess('scripts/run.sh', 'bash', [path.join(SOURCE_DIR, 'scripts/run.sh'), path.dirname(AUTHRELAY)],
                           'stdout', (line, n) => (n === 1 ? line : undefined),
                           { cwd: SOURCE_DIR, env: { AGENT_PORT: String(agentPort), PROXY_PORT: String(proxyPort),
                                                      CONTROL_PORT: String(controlPort), RUN_DATA_DIR: dataDir } });
  try {
    const first = await run.started;
    const url = `http://127.0.0.1:${proxyPort}/`;
    assert.ok(first.startsWith(`Chat page: ${url} `), `first line: ${first}`);
    // Poll (bounded) until the demo listens.
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let res = null;
    while (res === null) {
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${url} never answered: ${err.message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>authrelay chat demo<\/title>/);
  } finally {
    run.child.kill('SIGTERM');
    await withTimeout(run.exited, 10_000, 'run.sh exit').catch(() => run.child.kill('SIGKILL'));
  }
}

async function main() {
  const t0 = Date.now();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-web-'));
  tempDirs.push(dataDir);
  const ctx = { adminKey: 'web-test-owner-key-0123456789' };

  const agent = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0', '--web-dir', WEB_DIR], 'stdout',
                             (line) => JSON.parse(line).listening);
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    headless: true,
    timeout: 20_000,
  });
  ctx.agentUrl = `http://${await agent.started}`;
  const catalog = path.join(dataDir, 'connectors.json');
  writeFileSync(catalog, JSON.stringify({ connectors: [{ slug: 'openai', name: 'OpenAI', auth: 'api_key' }] }));
  const relay = startProcess('authrelay', AUTHRELAY,
                             ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--upstream', ctx.agentUrl,
                              '--data-dir', path.join(dataDir, 'data'), '--connectors', catalog],
                             'stderr', (line) => {
                               const rec = JSON.parse(line);
                               return rec.msg === 'listening' ? rec : undefined;
                             }, { env: { AUTHRELAY_ADMIN_KEY: ctx.adminKey } });
  const listening = await relay.started;
  ctx.relayUrl = `http://${listening.listen}`;
  ctx.controlUrl = `http://${listening.control}`;
  browser = await withTimeout(launching, 25_000, 'chromium launch');
  ctx.browser = browser;
  console.log(`setup: ${Date.now() - t0} ms (chromium ${browser.version()}, playwright-core)`);

  const cases = [
    ['web: authrelay-link.js: readSse cut anywhere, notices of three dialects, the handler\'s callbacks', caseModule],
    ['web: authrelay-link.d.ts: a usage compiles with tsc --strict, misuses do not', caseTypes],
    ['web: the page\'s files come through authrelay with their types and a strict CSP', caseFiles],
    ['web: chat streams, the interrupt opens the Link page in a popup, the answer goes on whole', caseChat],
    ['web: popup closed, opened again, "Not now": onExit, the answer goes on whole', caseClosedThenDeclined],
    ['web: --web-dir refuses a missing file or one over 256 KiB (exit 2)', caseWebDirLimits],
    ['web: make run (scripts/run.sh) prints the page\'s URL first', caseRunScript],
  ];
  for (const [name, fn] of cases) {
    const t = Date.now();
    try {
      await withTimeout(fn(ctx), 30_000, name);
      passed++;
      console.log(`ok: ${name} (${Date.now() - t} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL: ${name}: ${err.stack ?? err.message}`);
    }
  }
  await withTimeout(browser.close(), 10_000, 'browser close').catch((err) => console.log(`browser close: ${err.message}`));
  for (const p of [relay, agent]) {
    p.child.kill('SIGTERM');
    await withTimeout(p.exited, 10_000, 'exit').catch(() => p.child.kill('SIGKILL'));
  }
  if (failed > 0) {
    console.log('authrelay stderr (last 40 lines):');
    for (const line of relay.lines.slice(-40)) console.log(`  ${line}`);
  }
  console.log(`screenshots: ${ARTIFACT_DIR}; total: ${Date.now() - t0} ms`);
}

main().then(
  () => finish(failed > 0 ? 1 : 0),
  (err) => { console.log(`FAIL: setup: ${err.stack ?? err.message}`); failed++; finish(1); },
);
