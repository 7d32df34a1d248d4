// Integration test: a raw EventSource in a real browser (Debian's Chromium,
// driven by the npm package playwright-core) reading a stream through
// authrelay with the default on_detect (rewrite), issue #14 "What must
// hold" 2. tests/integration/eventsource/ covers on_detect replace with the
// npm EventSource client.
//
// Starts the example agent server and authrelay with its defaults (no
// --on-detect). A page served on authrelay's own origin
// (fulfilled by playwright, so the EventSource is same-origin and needs no
// CORS) opens `new EventSource('/stream?...')`; the browser sends
// X-Registered-User-Id on every request (extra HTTP headers; authrelay trusts
// it from loopback). For the mcp and magic_link shapes, the page must see:
//   delta seq 0..K-1; the auth-required event in its own place and shape,
//   its link values replaced by the trusted link (never the upstream's);
//   link_token with that same link; nothing while paused (the order: no
//   event between link_token and auth_complete); then, once the
//   API key is entered on the Link page, auth_complete, delta K+1..count-1
//   and done, on one connection (no error, no reconnect).
// Every wait is bounded; the processes and the browser are killed at the
// end and on failure.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN, CHROMIUM (default /usr/bin/chromium).
// Last line: "N passed, M failed"; exit 1 on any failure.

import { chromium } from 'playwright-core';
import { finish, guard, onCleanup, startProcess, tally, waitUntil, withTimeout } from '../lib/proctest.mjs';

const AUTHRELAY = process.env.AUTHRELAY_BIN;
const AGENT = process.env.AGENT_SERVER_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 15_000;
const WATCHDOG_MS = 80_000; // under ctest's TIMEOUT 90
// The agent server's own link values (examples/agent-server): never to reach the page.
const UPSTREAM_LINK = /agent\.example\.com|ltk_upstream/;

let browser = null;
onCleanup(() => {
  const proc = browser?.process?.();
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    try { proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
});
guard(WATCHDOG_MS);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// The page: a raw EventSource, every event reported to the test in order.
const PAGE = `<!doctype html><meta charset="utf-8"><title>es</title><script>
const types = ['delta', 'message', 'tool_result', 'link_token', 'auth_complete', 'auth_declined',
               'link_expired', 'relay_error', 'done'];
window.startStream = (path) => {
  const es = new EventSource(path);
  es.onopen = () => window.report({ type: 'open' });
  es.onerror = () => { window.report({ type: 'error', readyState: es.readyState }); es.close(); };
  for (const t of types) {
    es.addEventListener(t, (ev) => {
      window.report({ type: t, data: ev.data });
      if (t === 'done') es.close();
    });
  }
};
</script>`;

async function caseShape(relayUrl, shape, count, authAt, user) {
  const context = await browser.newContext({ extraHTTPHeaders: { 'X-Registered-User-Id': user } });
  try {
    const page = await context.newPage();
    const seen = [];
    await page.exposeFunction('report', (ev) => { seen.push(ev); });
    await page.route(`${relayUrl}/es-test.html`,
                     (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
    await page.goto(`${relayUrl}/es-test.html`);
    await page.evaluate((p) => window.startStream(p),
                        `/stream?format=sse&count=${count}&auth_at=${authAt}&shape=${shape}&connector=slack`);

    await waitUntil(() => seen.some((e) => e.type === 'link_token' || e.type === 'error'), STEP_TIMEOUT_MS,
                    `link_token (seen ${JSON.stringify(seen.map((e) => e.type))})`);
    const linkAt = seen.findIndex((e) => e.type === 'link_token');
    assert(linkAt >= 0, `no link_token: ${JSON.stringify(seen.map((e) => e.type))}`);
    const link = JSON.parse(seen[linkAt].data);
    assert(/^ltk_[0-9a-f]+$/.test(link.link_token), `link_token ${link.link_token}`);
    assert(link.magic_link_url === `${relayUrl}/_authrelay/link/${link.link_token}`,
           `magic_link_url ${link.magic_link_url}`);

    // The auth-required event, just before link_token, rewritten in place.
    const authEvent = seen[linkAt - 1];
    assert(authEvent && authEvent.type === (shape === 'mcp' ? 'message' : 'tool_result'),
           `event before link_token: ${JSON.stringify(authEvent)}`);
    assert(!UPSTREAM_LINK.test(authEvent.data), `upstream link in the auth event: ${authEvent.data}`);
    const outer = JSON.parse(authEvent.data);
    const result = shape === 'mcp' ? JSON.parse(outer.result.content[0].text) : outer.result;
    assert(result.link_token === link.link_token, `auth event link_token ${result.link_token}`);
    if (shape === 'magic_link') {
      assert(result.magic_link_url === link.magic_link_url, `auth event magic_link_url ${result.magic_link_url}`);
    } else {
      assert(result.type === 'authenticate_meta' && result.expires_at === link.expires_at,
             `auth event ${JSON.stringify(result)}`);
    }

    // The Link page's form, as a browser would send it (the browser's own
    // Link page is link_page.test.mjs's).
    const res = await fetch(link.magic_link_url, {
      method: 'POST', body: new URLSearchParams({ api_key: 'sk-es-rewrite-1' }).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(10_000),
    });
    assert(res.status === 200, `form POST status ${res.status}: ${(await res.text()).slice(0, 200)}`);

    await waitUntil(() => seen.some((e) => e.type === 'done' || e.type === 'error'), STEP_TIMEOUT_MS,
                    `done (seen ${JSON.stringify(seen.map((e) => e.type))})`);
    // Paused until the form was sent: link_token is directly followed by auth_complete.
    const types = seen.map((e) => e.type);
    const want = ['open', ...Array(authAt).fill('delta'), authEvent.type, 'link_token', 'auth_complete',
                  ...Array(count - authAt - 1).fill('delta'), 'done'];
    assert(JSON.stringify(types) === JSON.stringify(want), `events ${JSON.stringify(types)} != ${JSON.stringify(want)}`);
    const seqs = seen.filter((e) => e.type === 'delta').map((e) => JSON.parse(e.data).seq);
    const wantSeqs = [...Array(count).keys()].filter((i) => i !== authAt);
    assert(JSON.stringify(seqs) === JSON.stringify(wantSeqs), `seqs ${JSON.stringify(seqs)}`);
    const auth = JSON.parse(seen[types.indexOf('auth_complete')].data);
    assert(auth.stream_id === link.stream_id && auth.connector === 'slack', `auth_complete ${JSON.stringify(auth)}`);
    assert(JSON.parse(seen[seen.length - 1].data).events === count, 'done counts every event');
    assert(!seen.some((e) => UPSTREAM_LINK.test(e.data ?? '')), 'the upstream link reached the page');
  } finally {
    await context.close();
  }
}

async function main() {
  assert(AUTHRELAY && AGENT, 'AUTHRELAY_BIN and AGENT_SERVER_BIN must be set');
  const agent = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0'], 'stdout',
                             (line) => JSON.parse(line).listening);
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'],
                                     headless: true, timeout: 20_000 });
  const agentUrl = `http://${await agent.started}`;
  // The defaults: on_detect rewrite, dialect auto.
  const relay = startProcess('authrelay', AUTHRELAY,
                             ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--upstream', agentUrl,
                              ],
                             'stderr', (line) => {
                               const rec = JSON.parse(line);
                               return rec.msg === 'listening' ? rec.listen : undefined;
                             });
  const relayUrl = `http://${await relay.started}`;
  browser = await withTimeout(launching, 25_000, 'chromium launch');

  const cases = [['mcp', 6, 2, 'es_rewrite_mcp'], ['magic_link', 5, 1, 'es_rewrite_magic']];
  for (const [shape, count, authAt, user] of cases) {
    const name = `raw EventSource in Chromium, on_detect rewrite, ${shape}`;
    try {
      await withTimeout(caseShape(relayUrl, shape, count, authAt, user), 3 * STEP_TIMEOUT_MS, name);
      tally.passed++;
      console.log(`ok: ${name}`);
    } catch (err) {
      tally.failed++;
      console.log(`FAIL: ${name}: ${err.message}`);
    }
  }
  await browser.close();
  browser = null;
  if (tally.failed > 0) {
    console.log('authrelay stderr (last 40 lines):');
    for (const line of relay.lines.slice(-40)) console.log(`  ${line}`);
  }
}

main().then(() => finish(tally.failed > 0 ? 1 : 0),
            (err) => { console.log(`FAIL: setup: ${err.stack ?? err.message}`); tally.failed++; finish(1); });
