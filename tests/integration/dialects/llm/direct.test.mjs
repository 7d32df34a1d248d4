// Validates the stand-in LLM servers (standins.mjs) against the official SDKs,
// without authrelay (issue #14, "What must hold" 1: "Validate each stand-in
// directly against its SDK first"). For each case of cases.mjs the stand-in's
// events hold the wire's invariants (checkWire: sequence numbers, output and
// content indices, block numbering, chunk shape), and the SDK reads the
// stand-in's stream on loopback and:
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

// Invariants of the real wire the SDKs' parsers do not all check (the
// Anthropic accumulator appends a started block whatever its index; a
// Responses final message is response.completed's, not the accumulation).
function checkWire(stream) {
  const ev = stream.events;
  if (stream.path === '/v1/responses') {
    assert.deepEqual(ev.map((e) => e.sequence_number), ev.map((_, i) => i), 'sequence_number 0..n-1');
    const items = [];
    for (const e of ev) {
      if (e.type === 'response.output_item.added') {
        assert.equal(e.output_index, items.length, `${e.type} output_index`);
        items.push(structuredClone(e.item));
      } else if ('output_index' in e) {
        assert.ok(e.output_index < items.length, `${e.type} output_index ${e.output_index}`);
        if ('item_id' in e) assert.equal(e.item_id, items[e.output_index].id, `${e.type} item_id`);
        if (e.type === 'response.output_item.done') items[e.output_index] = e.item;
        if (e.type === 'response.content_part.added') {
          assert.equal(e.content_index, items[e.output_index].content.length, 'content_index');
          items[e.output_index].content.push(e.part);
        }
      }
    }
    assert.equal(ev.at(-1).type, 'response.completed');
    assert.deepEqual(ev.at(-1).response.output, items, 'response.completed repeats every output item');
    assert.equal(ev[0].type, 'response.created');
  } else if (stream.path === '/v1/messages') {
    let open = null;
    let next = 0;
    for (const e of ev) {
      if (e.type === 'content_block_start') {
        assert.equal(open, null, 'a block starts while another is open');
        assert.equal(e.index, next++, 'content_block_start index');
        open = e.index;
      } else if (e.type === 'content_block_delta' || e.type === 'content_block_stop') {
        assert.equal(e.index, open, `${e.type} index`);
        if (e.type === 'content_block_stop') open = null;
      }
    }
    assert.equal(next, stream.final.content.length, 'one block per content entry');
    assert.deepEqual([ev[0].type, ev.at(-2).type, ev.at(-1).type],
                     ['message_start', 'message_delta', 'message_stop']);
  } else if (stream.path === '/v1/chat/completions') {
    for (const [i, e] of ev.entries()) {
      assert.equal(e.id, ev[0].id, 'one completion id');
      assert.equal(e.choices.length, 1);
      assert.equal(e.choices[0].index, 0);
      assert.equal(e.choices[0].finish_reason, i === ev.length - 1 ? 'stop' : null, 'finish_reason');
    }
    assert.ok(stream.body.endsWith('data: [DONE]\n\n'));
  }
}

let passed = 0;
let failed = 0;
const standins = await startStandins();
console.log(`# stand-ins on ${standins.url}`);

for (const c of CASES) {
  try {
    checkWire(c.stream);
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
