// End to end through authrelay (issue #14, "What must hold" 1 and 3, LLM
// SDKs): each case of cases.mjs reads its stand-in stream (standins.mjs)
// through authrelay with the official SDK, as a front end would, while the
// test plays the user who opens the link.
//
// Starts the stand-ins (127.0.0.1:0) and authrelay in front of them with its
// defaults (one route `/`, inband, resume: continue, dialect auto, identity
// X-Registered-User-Id trusted from loopback, no catalog: any slug is an
// API-key connector), subscribes to the control API's event feed, then per
// case, with a user of its own:
//   1. the SDK reads the stream through authrelay; when an event it hands to
//      the application holds an auth-required result, the test takes the
//      link from it (the rewritten result: link_token, magic_link_url), and
//      completes it by POSTing the link page's API-key form; the SDK reads on;
//   2. if the SDK shows no trusted link (today: no dialect layer), the link is
//      taken from the event feed (link_token for the user) once the SDK has
//      not shown it within LINK_GRACE_MS, so that the read can go on and every
//      later failure is seen too; each such pause is counted.
// Then it asserts, and reports every violation of the case (not just the
// first):
//   - the SDK's reader completed without an error;
//   - the SDK handed the application every upstream event, in order, and
//     nothing else (AI SDK: transient data-link_token / data-auth_complete
//     notices aside), equal to the upstream's once the trusted link values
//     are mapped back to the upstream's;
//   - its accumulated final message equals the upstream's (same mapping);
//   - the auth result it handed over carries authrelay's trusted link (token
//     ltk_..., URL <authrelay>/_authrelay/link/<token>), the one of the feed;
//   - the upstream's own link (token, host) is nowhere in the raw bytes the
//     SDK received;
//   - events after the auth result arrived after the link was completed
//     (the stream went on);
//   - exactly one pause for the one tool call (authrelay_pauses_total and
//     link_token events on the feed).
// ctest runs it as integration_dialects_llm_via_authrelay; by hand:
//   AUTHRELAY_BIN=/path/to/build/authrelay node via_authrelay.mjs [case-substring]
// (in a directory holding this file's node_modules: the build tree's
// tests/integration/dialects/llm after the npm ci fixture, or `npm ci` here).
// Bounded: every wait has a deadline, the whole run a watchdog. Last line:
// "N passed, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CASES } from './cases.mjs';
import { findAuthResults, plain, withTimeout, withoutLinkValues } from './readers.mjs';
import { startStandins, UPSTREAM_MARKERS } from './standins.mjs';
import { EventFeed } from '../../lib/proctest.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AUTHRELAY = process.env.AUTHRELAY_BIN ??
  [path.resolve(HERE, '../../../../build/authrelay'),   // the source tree
   path.resolve(HERE, '../../../../authrelay')]         // the build tree
    .find((p) => existsSync(p));
const ADMIN_KEY = 'dialects-llm-test-owner-key-0123456789';
const START_TIMEOUT_MS = 10_000;
const STEP_TIMEOUT_MS = 10_000;
const CASE_TIMEOUT_MS = 40_000;
const LINK_GRACE_MS = 3_000;   // feed says paused: the SDK must show the link by then
const MAX_PAUSES = 4;          // per case: authrelay's max_pauses_per_stream
const WATCHDOG_MS = 600_000;
const GENERIC_EVENTS = ['link_token', 'auth_complete', 'link_expired', 'auth_declined', 'relay_error'];
const AI_SDK_NOTICES = ['data-link_token', 'data-auth_complete', 'data-link_expired',
                        'data-auth_declined', 'data-relay_error'];

let relay = null;
let dataDir = null;
function cleanup() {
  if (relay && relay.exitCode === null && relay.signalCode === null) relay.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = null;
}
process.on('exit', cleanup);
const watchdog = setTimeout(() => {
  console.log(`FAIL: watchdog: not finished within ${WATCHDOG_MS} ms`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// A condition other parts of the test fulfil; wait() has a deadline.
class Signal {
  constructor() { this.waiters = []; }
  notify() { for (const w of this.waiters.splice(0)) w(); }
  async until(pred, ms, what) {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout after ${ms} ms: ${what}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}

async function metric(controlUrl, name) {
  const res = await fetch(`${controlUrl}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` },
                                                    signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

async function completeLink(url, user) {
  const res = await fetch(url, {
    method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ api_key: `sk-${user}` }).toString(),
  });
  const text = await res.text();
  if (res.status !== 200 || !/Connected/.test(text)) {
    throw new Error(`link page POST ${url}: ${res.status} ${text.slice(0, 200)}`);
  }
}

// value with every occurrence of a trusted link value (in any string) mapped
// back to the upstream's, then link values made placeholders at every JSON
// level, so that what the SDK read compares with what the upstream sent.
function unrewrite(value, map) {
  const walk = (v) => {
    if (typeof v === 'string') {
      let s = v;
      for (const [from, to] of map) if (from) s = s.split(from).join(to);
      return s;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return withoutLinkValues(walk(plain(value)));
}

function firstDifference(actual, expected) {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(actual[i]) !== JSON.stringify(expected[i])) {
      const show = (e) => (e === undefined ? '(none)' : JSON.stringify(e).slice(0, 300));
      return `event ${i}: got ${show(actual[i])}, upstream sent ${show(expected[i])}`;
    }
  }
  return null;
}

async function runCase(c, ctx, user) {
  const problems = [];
  const feedStart = ctx.feed.events.length;
  const pausesBefore = await metric(ctx.controlUrl, 'authrelay_pauses_total');
  const completed = new Map();     // link_token -> { via: 'sdk' | 'feed', afterEvents }
  const sdkResults = [];           // { index, result } auth results the SDK handed over
  const progress = new Signal();
  const genericSeen = [];          // authrelay's generic events the SDK handed over
  let readerDone = false;
  let eventsSeen = 0;

  const onEvent = async (event, index) => {
    eventsSeen = index + 1;
    if (GENERIC_EVENTS.includes(event?.type)) {
      // authrelay's generic notice (DESIGN.md "Events authrelay writes into a
      // stream"), not a dialect's: the SDK handed it over as an event. Its
      // link is usable, but it is not the rewritten auth result.
      genericSeen.push(event.type);
      if (event.type === 'link_token' && !completed.has(event.link_token)) {
        completed.set(event.link_token, { via: 'generic link_token event', afterEvents: index + 1 });
        await completeLink(event.magic_link_url, user);
      }
      progress.notify();
      return;
    }
    if (AI_SDK_NOTICES.includes(event?.type) && event.transient === true) {
      // The ai-sdk dialect's notice (DESIGN.md "Dialects"): reachable through
      // the SDK (useChat's onData), not part of the message.
      const link = event.data ?? {};
      if (event.type === 'data-link_token' && /^ltk_/.test(link.link_token ?? '') &&
          !completed.has(link.link_token)) {
        completed.set(link.link_token, { via: 'ai-sdk notice', afterEvents: index + 1 });
        await completeLink(link.magic_link_url, user);
      }
      progress.notify();
      return;
    }
    for (const { result } of findAuthResults(event)) {
      sdkResults.push({ index, result });
      const token = result.link_token;
      const url = result.magic_link_url ?? `${ctx.relayUrl}/_authrelay/link/${token}`;
      if (/^ltk_/.test(token ?? '') && url.startsWith(`${ctx.relayUrl}/_authrelay/link/`) &&
          !completed.has(token)) {
        completed.set(token, { via: 'sdk', afterEvents: index + 1 });
        await completeLink(url, user);
      }
    }
    progress.notify();
  };

  const reading = withTimeout(c.read(ctx.relayUrl, { headers: { 'X-Registered-User-Id': user }, onEvent }),
                              CASE_TIMEOUT_MS, `${c.name}: the SDK read`)
    .finally(() => { readerDone = true; progress.notify(); ctx.feed.changed.notify(); });

  // The feed fallback: a pause the SDK does not show within LINK_GRACE_MS.
  const feedLinks = () => ctx.feed.events.slice(feedStart)
    .filter((e) => e.event === 'link_token' && e.data.registered_user === user);
  const fallback = (async () => {
    for (;;) {
      const pending = await ctx.feed.changed.until(
        () => readerDone || feedLinks().find((e) => !completed.has(e.data.link_token)),
        CASE_TIMEOUT_MS, 'a link_token on the feed or the end of the read').catch(() => true);
      if (pending === true || readerDone) return;
      const token = pending.data.link_token;
      const shown = await progress.until(() => readerDone || completed.has(token), LINK_GRACE_MS,
                                         'the SDK shows the link').catch(() => false);
      if (completed.has(token)) continue;
      if (readerDone && !shown) return;
      problems.push(`pause ${feedLinks().length}: the SDK did not hand over a trusted link within ` +
                    `${LINK_GRACE_MS} ms of the feed's link_token (${eventsSeen} events read); ` +
                    'completed from the feed');
      completed.set(token, { via: 'feed', afterEvents: eventsSeen });
      if (completed.size > MAX_PAUSES) return;
      await completeLink(pending.data.magic_link_url, user);
    }
  })();

  let r;
  try {
    r = await reading;
  } catch (err) {
    problems.push(String(err.message));
    r = { events: [], final: null, error: String(err), exchange: [] };
  }
  await fallback;

  // What the SDK handed over, against what the upstream sent.
  if (r.error) problems.push(`the SDK raised: ${r.error.split('\n').slice(0, 2).join(' | ').slice(0, 400)}`);
  if (genericSeen.length) problems.push(`the SDK handed over authrelay's generic events: ${genericSeen}`);
  const notices = r.events.filter((e) => AI_SDK_NOTICES.includes(e.type) && e.transient === true);
  const events = r.events.filter((e) => !notices.includes(e));
  const feedTokens = feedLinks().map((e) => e.data.link_token);
  const trusted = sdkResults.map((s) => s.result);
  const map = [];
  for (const t of trusted) {
    // The URL first: it holds the token.
    if (t.magic_link_url) map.push([t.magic_link_url, c.stream.result.magic_link_url]);
    map.push([t.link_token, c.stream.result.link_token]);
    if (t.expires_at) map.push([t.expires_at, c.stream.result.expires_at]);
  }
  const diff = firstDifference(events.map((e) => unrewrite(e, map)),
                               c.expectedEvents.map((e) => unrewrite(e, [])));
  if (diff) {
    problems.push(`events differ from the upstream's (${events.length} read, ` +
                  `${c.expectedEvents.length} sent): ${diff}`);
  }
  if (r.final === null) {
    problems.push('no final message');
  } else if (JSON.stringify(unrewrite(c.normalize(r.final), map)) !==
             JSON.stringify(unrewrite(c.expectedFinal, []))) {
    problems.push(`final message differs from the upstream's: ${JSON.stringify(plain(r.final)).slice(0, 400)}`);
  }

  // The interrupt, reachable through the SDK: the trusted link.
  if (sdkResults.length === 0) {
    problems.push('no auth result reached the application (withheld)');
  }
  for (const { index, result } of sdkResults) {
    const where = `auth result in event ${index}`;
    if (!/^ltk_[0-9a-f]+$/.test(result.link_token)) {
      problems.push(`${where} carries link_token ${JSON.stringify(result.link_token)}, not authrelay's`);
    } else if (!feedTokens.includes(result.link_token)) {
      problems.push(`${where}: link_token ${result.link_token} is not the feed's (${feedTokens})`);
    }
    if ('magic_link_url' in c.stream.result &&
        result.magic_link_url !== `${ctx.relayUrl}/_authrelay/link/${result.link_token}`) {
      problems.push(`${where} carries magic_link_url ${JSON.stringify(result.magic_link_url)}`);
    }
    for (const k of Object.keys(result)) {
      if (!(k in c.stream.result)) problems.push(`${where} gained member ${k}`);
    }
  }
  const raw = r.exchange.map((e) => e.raw).join('');
  for (const m of UPSTREAM_MARKERS) {
    if (raw.includes(m)) problems.push(`the upstream's own link (${m}) reached the client`);
  }
  const foreign = [...raw.matchAll(/^event: ?([^\r\n]+)/gm)].map((m) => m[1])
    .filter((n) => /^(link_token|auth_complete|link_expired|auth_declined|relay_error)$/.test(n));
  if (foreign.length) problems.push(`generic authrelay events in the raw stream: ${[...new Set(foreign)]}`);

  // The stream went on after the link was completed.
  const firstCompletion = [...completed.values()][0];
  if (!firstCompletion) {
    problems.push('never paused: no link to complete');
  } else if (eventsSeen <= firstCompletion.afterEvents) {
    problems.push(`no event after the link was completed (${eventsSeen} events read)`);
  }

  // One pause for the one tool call.
  const pauses = (await metric(ctx.controlUrl, 'authrelay_pauses_total')) - pausesBefore;
  if (pauses !== 1) problems.push(`${pauses} pauses for one tool call (authrelay_pauses_total)`);
  if (feedTokens.length !== 1) problems.push(`${feedTokens.length} link_token events on the feed`);

  return { problems, summary: `${r.events.length} events, ${notices.length} notices, ` +
           `${pauses} pause(s), links completed via ${[...completed.values()].map((v) => v.via).join(',') || '-'}` };
}

async function main() {
  assert.ok(AUTHRELAY && existsSync(AUTHRELAY), `no authrelay binary (AUTHRELAY_BIN=${AUTHRELAY})`);
  const standins = await startStandins();
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-dialects-llm-'));
  const relayArgs = ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', '--data-dir', dataDir,
                     '--upstream', standins.url];
  relay = spawn(AUTHRELAY, relayArgs,
                { env: { ...process.env, AUTHRELAY_ADMIN_KEY: ADMIN_KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  relay.stdout.resume();
  const listening = await withTimeout(new Promise((resolve, reject) => {
    createInterface({ input: relay.stderr }).on('line', (line) => {
      log.push(line);
      try {
        const o = JSON.parse(line);
        if (o.msg === 'listening') resolve(o);
      } catch { /* not JSON */ }
    });
    relay.on('exit', (code) => reject(new Error(`authrelay exited (${code}): ${log.join('\n')}`)));
  }), START_TIMEOUT_MS, 'authrelay start');
  const ctx = { relayUrl: `http://${listening.listen}`, controlUrl: `http://${listening.control}` };
  ctx.feed = new EventFeed(`${ctx.controlUrl}/v1/events`, { Authorization: `Bearer ${ADMIN_KEY}` });
  ctx.feed.changed = new Signal();
  ctx.feed.onChange(() => ctx.feed.changed.notify());
  assert.equal(await withTimeout(ctx.feed.opened, STEP_TIMEOUT_MS, 'event feed'), 200);
  console.log(`# authrelay ${ctx.relayUrl} (control ${ctx.controlUrl}) in front of ${standins.url}`);

  const only = process.argv[2];
  let passed = 0;
  let failed = 0;
  for (const [i, c] of CASES.entries()) {
    if (only && !c.name.includes(only)) continue;
    try {
      const { problems, summary } = await runCase(c, ctx, `llm_user_${i}`);
      if (problems.length === 0) {
        passed++;
        console.log(`ok: ${c.name} (${summary})`);
      } else {
        failed++;
        console.log(`FAIL: ${c.name} (${summary})`);
        for (const p of problems) console.log(`    - ${p}`);
      }
    } catch (err) {
      failed++;
      console.log(`FAIL: ${c.name}: ${err?.stack ?? err}`);
    }
  }
  if (failed && process.env.AUTHRELAY_LOG) console.log(`--- authrelay stderr:\n${log.join('\n')}`);
  ctx.feed.close();
  relay.kill('SIGTERM');
  await standins.close();
  return { passed, failed };
}

let result = { passed: 0, failed: 1 };
try {
  result = await main();
} catch (err) {
  console.log(`FAIL: ${err?.stack ?? err}`);
}
cleanup();
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed === 0 ? 0 : 1);
