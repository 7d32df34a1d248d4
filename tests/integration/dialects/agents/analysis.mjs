// What via_authrelay.mjs asserts about a stream read through authrelay, as
// pure functions of what the SDK yielded (no I/O), so that analysis.test.mjs
// can show that they accept the stream DESIGN.md "Dialects" describes and
// reject each way of breaking it:
//   rewriteDiff  an upstream value against the client's: equal, except the
//                link values of an auth-required result (object or JSON text),
//                which must be authrelay's trusted ones;
//   align        the client's events against the upstream's, in order:
//                which upstream events arrived where, which never did, and
//                what was added (with the upstream index it follows);
//   analyseAgui  AG-UI: the rewritten TOOL_CALL_RESULT, the CUSTOM
//                authrelay.link_token / authrelay.auth_complete notices;
//   analyseA2a   A2A (v0.3 and v1.0 wire): the rewritten part, the
//                auth-required status update and the working one after it,
//                every SSE event a JSON-RPC response on the request's id.
// got: [{ev, phase}] in arrival order; phase is 'before' or 'after' the
// link's completion (its form posted), stamped when the event arrived.

import assert from 'node:assert/strict';

export const BEFORE = 'before';
export const AFTER = 'after';
export const TRUSTED_TOKEN = /^ltk_[0-9a-f]+$/;

// One case's checks: each printed and passed to the tally.
export class Checks {
  constructor(name, tally = { passed: 0, failed: 0 }, print = console.log) {
    this.name = name;
    this.tally = tally;
    this.print = print;
    this.failures = [];
  }
  ok(what, cond, detail) {
    if (cond) {
      this.tally.passed++;
      this.print(`ok: ${this.name}: ${what}`);
    } else {
      this.tally.failed++;
      this.failures.push(what);
      this.print(`FAIL: ${this.name}: ${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
    }
    return !!cond;
  }
  eq(what, actual, expected) {
    let same = true;
    try { assert.deepEqual(actual, expected); } catch { same = false; }
    return this.ok(what, same, same ? undefined : { actual, expected });
  }
}

const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAuthObj = (v) => isObj(v) && (v.type === 'authenticate_meta' ||
                                      (typeof v.link_token === 'string' && typeof v.magic_link_url === 'string'));
function parsedAuth(s) {
  if (typeof s !== 'string' || !s.trimStart().startsWith('{')) return null;
  try { const v = JSON.parse(s); return isAuthObj(v) ? v : null; } catch { return null; }
}

// The first trusted link (<relayUrl>/_authrelay/link/ltk_...) in values.
export function trustedLinkOf(values, relayUrl) {
  for (const v of values) {
    const m = JSON.stringify(v ?? null).match(/\/_authrelay\/link\/(ltk_[0-9a-f]+)/);
    if (m) return `${relayUrl}/_authrelay/link/${m[1]}`;
  }
  return null;
}

// Compares an upstream value with what the client got: equal, except that in
// an auth-required result (an object, or the JSON text of one, at any depth)
// link_token and magic_link_url must hold authrelay's trusted values and
// expires_at may change; no member added or removed. Returns {problems,
// tokens, urls, rewritten}: what differs otherwise, the trusted values seen,
// how many auth-required results were compared.
export function rewriteDiff(up, cl, relayUrl, where = '$', acc = { problems: [], tokens: [], urls: [], rewritten: 0 }) {
  const upAuth = isAuthObj(up) ? up : parsedAuth(up);
  if (upAuth) {
    const clAuth = isAuthObj(cl) ? cl : parsedAuth(cl);
    if (!clAuth || (typeof up === 'string') !== (typeof cl === 'string')) {
      acc.problems.push(`${where}: the auth-required result did not arrive in its own shape: ${JSON.stringify(cl)}`);
      return acc;
    }
    acc.rewritten++;
    const upKeys = Object.keys(upAuth).sort();
    const clKeys = Object.keys(clAuth).sort();
    if (JSON.stringify(upKeys) !== JSON.stringify(clKeys)) acc.problems.push(`${where}: members ${clKeys} instead of ${upKeys}`);
    for (const k of upKeys) {
      if (k === 'link_token') {
        if (!TRUSTED_TOKEN.test(clAuth[k] ?? '') || clAuth[k] === upAuth[k]) acc.problems.push(`${where}.link_token not a trusted token: ${clAuth[k]}`);
        else acc.tokens.push(clAuth[k]);
      } else if (k === 'magic_link_url') {
        const want = `${relayUrl}/_authrelay/link/${clAuth.link_token}`;
        if (clAuth[k] !== want) acc.problems.push(`${where}.magic_link_url ${clAuth[k]} is not ${want}`);
        else acc.urls.push(clAuth[k]);
      } else if (k === 'expires_at') {
        if (typeof clAuth[k] !== 'string' || Number.isNaN(Date.parse(clAuth[k]))) acc.problems.push(`${where}.expires_at: ${clAuth[k]}`);
      } else if (JSON.stringify(clAuth[k]) !== JSON.stringify(upAuth[k])) {
        acc.problems.push(`${where}.${k}: ${JSON.stringify(clAuth[k])} instead of ${JSON.stringify(upAuth[k])}`);
      }
    }
    return acc;
  }
  if (Array.isArray(up)) {
    if (!Array.isArray(cl) || cl.length !== up.length) {
      acc.problems.push(`${where}: ${JSON.stringify(cl)} instead of ${JSON.stringify(up)}`);
      return acc;
    }
    up.forEach((v, i) => rewriteDiff(v, cl[i], relayUrl, `${where}[${i}]`, acc));
    return acc;
  }
  if (isObj(up)) {
    if (!isObj(cl) || JSON.stringify(Object.keys(cl).sort()) !== JSON.stringify(Object.keys(up).sort())) {
      acc.problems.push(`${where}: ${JSON.stringify(cl)} instead of ${JSON.stringify(up)}`);
      return acc;
    }
    for (const k of Object.keys(up)) rewriteDiff(up[k], cl[k], relayUrl, `${where}.${k}`, acc);
    return acc;
  }
  if (up !== cl) acc.problems.push(`${where}: ${JSON.stringify(cl)} instead of ${JSON.stringify(up)}`);
  return acc;
}

// Aligns what the client got with the upstream's events, in order. Returns
// pos (upstream index -> got index, -1: never arrived in order), missing (those
// upstream indexes) and extras ([{ev, phase, after: the last upstream index
// matched before it}]). An upstream event matches when it arrived equal, or
// rewritten as rewriteDiff allows.
export function align(upstream, got, relayUrl) {
  const same = (u, c) => rewriteDiff(u, c, relayUrl).problems.length === 0;
  const pos = upstream.map(() => -1);
  const extras = [];
  let i = 0;
  got.forEach((g, gi) => {
    let j = i;
    while (j < upstream.length && !same(upstream[j], g.ev)) j++;
    if (j < upstream.length) { pos[j] = gi; i = j + 1; } else extras.push({ ...g, after: i - 1 });
  });
  const missing = pos.flatMap((p, ui) => (p < 0 ? [ui] : []));
  return { pos, extras, missing };
}

// The upstream events after the auth result (index ri): none reached the
// client before the form, all of them after it.
function checkAfterResult(k, upstream, got, a, ri) {
  const later = a.pos.slice(ri + 1);
  const early = later.filter((gi) => gi >= 0 && got[gi].phase !== AFTER).map((gi) => got[gi].ev);
  k.ok('nothing after the auth result reaches the client before the form', early.length === 0, early);
  k.ok('the stream goes on after the form: every later upstream event arrives', later.every((gi) => gi >= 0),
       a.missing.filter((ui) => ui > ri).map((ui) => upstream[ui]));
}

// AG-UI (HttpAgent onEvent). upstream: the stand-in's events; toolMessage:
// the agent's accumulated tool message, if any.
export function analyseAgui(k, { upstream, got, relayUrl, toolMessage }) {
  const ri = upstream.findIndex((e) => e.type === 'TOOL_CALL_RESULT');
  const a = align(upstream, got, relayUrl);
  k.ok('every upstream event arrives, in order (the auth result rewritten in place)', a.missing.length === 0,
       { missing: a.missing.map((ui) => upstream[ui].type) });
  const resultGot = a.pos[ri] >= 0 ? got[a.pos[ri]].ev : null;
  const diff = resultGot ? rewriteDiff(upstream[ri], resultGot, relayUrl) : null;
  k.ok('TOOL_CALL_RESULT carries the trusted link (link_token ltk_, URL under /_authrelay/link/) and nothing else changed',
       diff && diff.rewritten === 1 && diff.tokens.length === 1,
       got.filter((g) => g.ev.type === 'TOOL_CALL_RESULT').map((g) => g.ev));
  checkAfterResult(k, upstream, got, a, ri);
  const customs = (name) => a.extras.filter((x) => x.ev.type === 'CUSTOM' && x.ev.name === name);
  const lt = customs('authrelay.link_token');
  k.eq('one CUSTOM authrelay.link_token', lt.length, 1);
  if (lt.length === 1) {
    const v = lt[0].ev.value ?? {};
    k.ok('authrelay.link_token value: connector slack, trusted link_token and magic_link_url (the token of the rewritten result)',
         v.connector === 'slack' && TRUSTED_TOKEN.test(v.link_token ?? '') &&
         v.magic_link_url === `${relayUrl}/_authrelay/link/${v.link_token}` &&
         (!diff?.tokens.length || diff.tokens[0] === v.link_token), v);
    k.ok('authrelay.link_token follows the auth result, before the form and the next upstream event',
         lt[0].after === ri && lt[0].phase === BEFORE, { after: lt[0].after, phase: lt[0].phase });
  }
  const ac = customs('authrelay.auth_complete');
  k.ok('one CUSTOM authrelay.auth_complete, after the form, before the next upstream event',
       ac.length === 1 && ac[0].phase === AFTER && ac[0].after === ri, ac);
  const other = a.extras.filter((x) => !lt.includes(x) && !ac.includes(x));
  k.eq('no other event added', other.map((x) => x.ev), []);
  k.ok("the agent's tool message holds the rewritten result",
       toolMessage && resultGot && toolMessage.content === resultGot.content, toolMessage ?? null);
}

// A2A (sendMessageStream yields; v1.0 in ProtoJSON form). ri: the index of
// the upstream result carrying the auth result; wireBody: the raw SSE body;
// requestId: the JSON-RPC id of the request; ids: {taskId, contextId}.
export function analyseA2a(k, { version, upstream, got, ri, relayUrl, wireBody, requestId, ids }) {
  const authState = version === 'v03' ? 'auth-required' : 'TASK_STATE_AUTH_REQUIRED';
  const workingState = version === 'v03' ? 'working' : 'TASK_STATE_WORKING';
  const statusOf = (ev) => (version === 'v03' ? (ev.kind === 'status-update' ? ev : null) : ev.statusUpdate ?? null);
  const a = align(upstream, got, relayUrl);
  k.ok('every upstream result arrives, in order (the auth result rewritten in place)', a.missing.length === 0,
       { missing: a.missing });
  const resultGot = a.pos[ri] >= 0 ? got[a.pos[ri]].ev : null;
  const diff = resultGot ? rewriteDiff(upstream[ri], resultGot, relayUrl) : null;
  k.ok('the auth result carries the trusted link_token (ltk_) and nothing else changed',
       diff && diff.rewritten === 1 && diff.tokens.length === 1,
       resultGot ?? a.extras.filter((x) => JSON.stringify(x.ev).includes('link_token')).map((x) => x.ev));
  checkAfterResult(k, upstream, got, a, ri);
  const extra = a.extras.map((x) => ({ ...x, st: statusOf(x.ev) }));
  const authUpd = extra.filter((x) => x.st?.status?.state === authState);
  k.eq(`one status update ${authState}`, authUpd.length, 1);
  if (authUpd.length === 1) {
    k.eq("it carries the stream's taskId/contextId", [authUpd[0].st.taskId, authUpd[0].st.contextId], [ids.taskId, ids.contextId]);
    k.ok('it follows the auth result and comes before the form', authUpd[0].after === ri && authUpd[0].phase === BEFORE,
         { after: authUpd[0].after, phase: authUpd[0].phase });
  }
  const back = extra.filter((x) => x.st?.status?.state === workingState);
  k.ok(`then ${workingState} again (same taskId/contextId), after the form, before the next upstream result`,
       back.length === 1 && back[0].phase === AFTER && back[0].after === ri &&
       back[0].st.taskId === ids.taskId && back[0].st.contextId === ids.contextId, back.map((x) => x.ev));
  const others = extra.filter((x) => !authUpd.includes(x) && !back.includes(x));
  k.eq('no other result added', others.map((x) => x.ev), []);
  // Every SSE event on the wire is a JSON-RPC response on the request's id
  // (comments, e.g. heartbeats, aside): A2A readers take every event's data
  // as one, whatever its event: name.
  const blocks = wireBody.replace(/\r\n?/g, '\n').split('\n\n').filter((b) => b.trim());
  const bad = blocks.filter((b) => {
    const lines = b.split('\n');
    if (lines.every((l) => l.startsWith(':'))) return false;
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    try {
      const o = JSON.parse(data);
      return o.jsonrpc !== '2.0' || o.id !== requestId || !('result' in o) || lines.some((l) => l.startsWith('event:'));
    } catch { return true; }
  });
  k.ok(`every SSE event on the wire is a JSON-RPC result on the request's id (${requestId}), no event: names`, bad.length === 0, bad);
}
