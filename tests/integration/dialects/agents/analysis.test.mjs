// Self-test of analysis.mjs, the checks via_authrelay.mjs applies to what
// the AG-UI and A2A SDKs yield through authrelay: the stream DESIGN.md
// "Dialects" describes (built here from the stand-ins' scripts: the auth
// result rewritten in place, the dialect's notices where it says) passes
// every check, and each way of breaking it fails the check meant for it
// (today's generic link_token event, the result withheld, the upstream's
// link passed through, a member added, events let through during the pause,
// a second pause, notices out of place, another JSON-RPC id). So a red
// via_authrelay.mjs means authrelay, and a green one cannot be vacuous.

import assert from 'node:assert/strict';
import test from 'node:test';
import { AFTER, BEFORE, Checks, analyseA2a, analyseAgui } from './analysis.mjs';
import {
  A2A_IDS, A2A_RESULT_INDEX, DESIGNED_TOKEN, a2aScriptV03, a2aScriptV1, aguiScript, designedA2a, designedAgui, rewriteAuth,
} from './standins.mjs';

const RELAY = 'http://127.0.0.1:8080';
const LINK = `${RELAY}/_authrelay/link/${DESIGNED_TOKEN}`;
const rewriteAll = (v, opts = {}) => rewriteAuth(v, { relayUrl: RELAY, ...opts });

function run(analyse, args) {
  const lines = [];
  const k = new Checks('self-test', { passed: 0, failed: 0 }, (l) => lines.push(l));
  analyse(k, args);
  return { failures: k.failures, lines };
}

function expectFail(result, ...names) {
  for (const n of names) {
    assert.ok(result.failures.some((f) => f.includes(n)), `expected "${n}" to fail; failures: ${JSON.stringify(result.failures)}`);
  }
}

// ---------------------------------------------------------------- AG-UI

function aguiIdeal(shape, { token = DESIGNED_TOKEN } = {}) {
  const upstream = aguiScript({ threadId: 't1', runId: 'r1', shape });
  const ri = upstream.findIndex((e) => e.type === 'TOOL_CALL_RESULT');
  const got = designedAgui(upstream, { relayUrl: RELAY, token });
  return { upstream, got, relayUrl: RELAY, toolMessage: { role: 'tool', content: got[ri].ev.content }, ri };
}

for (const shape of ['authenticate_meta', 'magic_link']) {
  test(`AG-UI: the designed stream passes every check (${shape})`, () => {
    const r = run(analyseAgui, aguiIdeal(shape));
    assert.deepEqual(r.failures, [], r.lines.join('\n'));
  });
}

test('AG-UI: each way of breaking the stream fails its check', () => {
  const base = () => aguiIdeal('magic_link');
  // Today: the result withheld, a generic link_token event (dropped by the SDK), no notices.
  let x = base();
  x.got = x.got.filter((g) => g.ev.type !== 'TOOL_CALL_RESULT' && g.ev.type !== 'CUSTOM');
  x.toolMessage = undefined;
  expectFail(run(analyseAgui, x), 'every upstream event arrives', 'TOOL_CALL_RESULT carries the trusted link',
             'one CUSTOM authrelay.link_token', 'one CUSTOM authrelay.auth_complete', "the agent's tool message");
  // The upstream's own link passed through.
  x = base();
  x.got[x.ri] = { ev: x.upstream[x.ri], phase: BEFORE };
  expectFail(run(analyseAgui, x), 'TOOL_CALL_RESULT carries the trusted link', 'no other event added');
  // A member added to the result.
  x = aguiIdeal('authenticate_meta');
  x.got[x.ri] = { ev: rewriteAll(x.upstream[x.ri], { extra: (o) => ({ ...o, magic_link_url: LINK }) }), phase: BEFORE };
  expectFail(run(analyseAgui, x), 'TOOL_CALL_RESULT carries the trusted link');
  // The notice's token is not the rewritten result's.
  x = base();
  x.got[x.ri] = { ev: rewriteAll(x.upstream[x.ri], { token: 'ltk_ffff' }), phase: BEFORE };
  x.toolMessage = { role: 'tool', content: x.got[x.ri].ev.content };
  expectFail(run(analyseAgui, x), 'authrelay.link_token value');
  // Upstream events let through during the pause.
  x = base();
  x.got = x.got.map((g, i) => (i === x.got.length - 1 ? { ...g, phase: BEFORE } : g));
  expectFail(run(analyseAgui, x), 'nothing after the auth result reaches the client before the form');
  // The stream never goes on.
  x = base();
  x.got = x.got.slice(0, x.ri + 3);
  expectFail(run(analyseAgui, x), 'the stream goes on after the form');
  // A second pause for the same call.
  x = base();
  x.got.splice(x.ri + 2, 0, x.got[x.ri + 1]);
  expectFail(run(analyseAgui, x), 'one CUSTOM authrelay.link_token');
  // auth_complete before the form.
  x = base();
  x.got[x.ri + 2] = { ...x.got[x.ri + 2], phase: BEFORE };
  expectFail(run(analyseAgui, x), 'one CUSTOM authrelay.auth_complete');
  // An upstream event changed.
  x = base();
  x.got[2] = { ev: { ...x.got[2].ev, delta: 'changed' }, phase: BEFORE };
  expectFail(run(analyseAgui, x), 'every upstream event arrives', 'no other event added');
});

// ---------------------------------------------------------------- A2A

const wireOf = (got, id = 1) => got.map((g) => `data: ${JSON.stringify({ jsonrpc: '2.0', id, result: g.ev })}\n\n`).join('');

function a2aIdeal(version, shape) {
  const upstream = version === 'v03' ? a2aScriptV03(shape) : a2aScriptV1(shape);
  const got = designedA2a(version, shape, { relayUrl: RELAY });
  return { version, upstream, got, ri: A2A_RESULT_INDEX[shape], relayUrl: RELAY, wireBody: `: ok\n\n${wireOf(got)}`,
           requestId: 1, ids: A2A_IDS };
}

for (const version of ['v03', 'v1']) {
  for (const shape of ['data', 'text']) {
    test(`A2A ${version}: the designed stream passes every check (${shape})`, () => {
      const r = run(analyseA2a, a2aIdeal(version, shape));
      assert.deepEqual(r.failures, [], r.lines.join('\n'));
    });
  }
}

test('A2A: each way of breaking the stream fails its check', () => {
  for (const version of ['v03', 'v1']) {
    const base = () => a2aIdeal(version, 'data');
    // Today: a generic link_token event on the wire, the result withheld, no status updates.
    let x = base();
    x.got = x.got.filter((_, i) => i < x.ri);
    x.wireBody = `${wireOf(x.got)}event: link_token\ndata: {"type":"link_token","link_token":"${DESIGNED_TOKEN}"}\n\n`;
    expectFail(run(analyseA2a, x), 'every upstream result arrives', 'the auth result carries', 'one status update',
               'again', 'every SSE event on the wire');
    // The upstream's link passed through.
    x = base();
    x.got[x.ri] = { ev: x.upstream[x.ri], phase: BEFORE };
    expectFail(run(analyseA2a, x), 'the auth result carries');
    // The notice on another task.
    x = base();
    const n = x.got[x.ri + 1].ev;
    (n.statusUpdate ?? n).taskId = 'task-other';
    expectFail(run(analyseA2a, x), "it carries the stream's taskId/contextId");
    // Working again before the form.
    x = base();
    x.got[x.ri + 2] = { ...x.got[x.ri + 2], phase: BEFORE };
    expectFail(run(analyseA2a, x), 'again');
    // Another JSON-RPC id on the wire.
    x = base();
    x.wireBody = wireOf(x.got, 2);
    expectFail(run(analyseA2a, x), 'every SSE event on the wire');
    // A second pause.
    x = base();
    x.got.splice(x.ri + 2, 0, x.got[x.ri + 1]);
    expectFail(run(analyseA2a, x), 'one status update');
  }
});
