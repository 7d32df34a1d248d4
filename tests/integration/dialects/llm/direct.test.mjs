// Validates the stand-in LLM servers (standins.mjs) against the official SDKs,
// without authrelay (issue #14, "What must hold" 1: "Validate each stand-in
// directly against its SDK first"). For each case of cases.mjs the SDK reads
// the stand-in's stream on loopback and:
//   - its reader completes without an error;
//   - it hands the application exactly the stand-in's events, in order;
//   - its accumulated final message equals the stand-in's;
//   - the bytes it received are the stand-in's body (the recording is exact);
//   - the auth-required result sits where the stand-in says (the carrier
//     event) and in the final message, with the upstream's link values.
// So a failure through authrelay (via_authrelay.mjs) is authrelay's, not the
// stand-in's. Bounded: each read has a timeout, the whole test a watchdog.
// Last line: "N passed, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { CASES } from './cases.mjs';
import { findAuthResults, plain, withTimeout } from './readers.mjs';
import { startStandins, UPSTREAM_LINK_TOKEN } from './standins.mjs';

const CASE_TIMEOUT_MS = 30_000;
const WATCHDOG_MS = 100_000;

const watchdog = setTimeout(() => {
  console.log(`FAIL: watchdog: not finished within ${WATCHDOG_MS} ms`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

let passed = 0;
let failed = 0;
const standins = await startStandins();
console.log(`# stand-ins on ${standins.url}`);

for (const c of CASES) {
  try {
    const r = await withTimeout(c.read(standins.url, {}), CASE_TIMEOUT_MS, c.name);
    assert.equal(r.error, null, `the SDK raised: ${r.error}`);
    assert.deepEqual(plain(r.events), plain(c.expectedEvents), 'events handed to the application');
    assert.deepEqual(plain(c.normalize(r.final)), plain(c.expectedFinal), 'accumulated final message');
    const bodies = r.exchange.filter((e) => e.method === 'POST');
    assert.equal(bodies.length, 1, 'one streaming request');
    assert.equal(bodies[0].status, 200);
    assert.ok(bodies[0].complete, 'response body read to its end');
    assert.equal(bodies[0].raw, c.stream.body, 'bytes received = the stand-in body');
    const carrier = findAuthResults(r.events[c.expectedEvents.indexOf(c.stream.events[c.stream.carrierIndex])]);
    assert.equal(carrier.length, 1, `auth result in the carrier event ${c.stream.carrierIndex}`);
    assert.equal(carrier[0].result.link_token, UPSTREAM_LINK_TOKEN);
    assert.deepEqual(carrier[0].result, c.stream.result);
    if (c.resultInFinal) assert.ok(findAuthResults(r.final).length >= 1, 'auth result in the final message');
    passed++;
    console.log(`ok: ${c.name} (${r.events.length} events; auth result at ${carrier[0].path})`);
  } catch (err) {
    failed++;
    console.log(`FAIL: ${c.name}: ${err?.stack ?? err}`);
  }
}

// The AI SDK stand-in is written by the SDK's own pipeUIMessageStreamToResponse:
// its head is the UI message stream's.
try {
  const res = await fetch(`${standins.url}/api/chat`, { method: 'POST', body: '{}',
                                                      signal: AbortSignal.timeout(CASE_TIMEOUT_MS) });
  await res.text();
  assert.equal(res.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  passed++;
  console.log('ok: ai-sdk stand-in head (x-vercel-ai-ui-message-stream: v1, text/event-stream)');
} catch (err) {
  failed++;
  console.log(`FAIL: ai-sdk stand-in head: ${err?.stack ?? err}`);
}

await standins.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
