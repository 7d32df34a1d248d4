// Integration test: a real EventSource client (the npm package `eventsource`)
// through authrelay's pause and resume.
//
// Starts the example agent server and authrelay (--heartbeat-s 1) on loopback
// ports, opens an EventSource through authrelay with a trusted
// X-Registered-User-Id (we connect from loopback), and checks, for the mcp and
// magic_link shapes of the auth-required tool result, that the client gets:
//   delta seq 0..K-1, link_token, (nothing while paused), auth_complete,
//   delta seq K+1..count-1, done
// over a single connection (no reconnect), with `: paused` heartbeats on the
// wire while paused and the link page's form working like a browser's. Every
// wait is bounded; both processes are killed at the end and on failure;
// authrelay must exit 0 on SIGTERM.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN (paths to the built binaries).
// Last line: "N passed, M failed"; exit 1 on any failure.

import { EventSource } from 'eventsource';
import { finish, guard, startProcess, tally, waitUntil, withTimeout } from '../lib/proctest.mjs';

const AUTHRELAY = process.env.AUTHRELAY_BIN;
const AGENT = process.env.AGENT_SERVER_BIN;
const USER_ID = 'user_es';
const CASE_TIMEOUT_MS = 30_000;
const WATCHDOG_MS = 110_000; // under ctest's TIMEOUT 120

guard(WATCHDOG_MS);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function http(method, url, body) {
  const init = { method, signal: AbortSignal.timeout(10_000), redirect: 'manual' };
  if (body !== undefined) {
    init.body = body;
    init.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  }
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

// One EventSource through authrelay; resolves with what it saw.
// The `fetch` option is how eventsource 3.x/4.x lets a caller add request
// headers; the wrapper also taps the raw bytes (to see the `: paused`
// heartbeat comments, which EventSource rightly never surfaces).
function runStream(url, onLinkToken) {
  const seen = [];
  let connections = 0;
  const errors = [];
  const raw = { text: '' };
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      connections++;
      const res = await fetch(input, {
        ...init,
        headers: { ...(init && init.headers), 'X-Registered-User-Id': USER_ID },
      });
      if (!res.body) return res;
      const decoder = new TextDecoder();
      const tap = new TransformStream({
        transform(chunk, controller) {
          raw.text += decoder.decode(chunk, { stream: true });
          controller.enqueue(chunk);
        },
      });
      return new Response(res.body.pipeThrough(tap),
                          { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  });
  const result = new Promise((resolve, reject) => {
    const record = (type) => (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (err) {
        errors.push(`${type}: data is not JSON: ${ev.data}`);
        return;
      }
      seen.push({ type, data });
      if (type === 'link_token') {
        onLinkToken(data, seen.length, seen, raw).catch((err) => {
          es.close();
          reject(err);
        });
      }
      if (type === 'done') {
        es.close();
        resolve({ seen, connections, errors, raw: raw.text });
      }
    };
    for (const type of ['delta', 'link_token', 'auth_complete', 'link_expired', 'done',
                        'message', 'tool_result']) {
      es.addEventListener(type, record(type));
    }
    es.addEventListener('error', (ev) => {
      // Any error (including the end of the stream before `done`, after
      // which the client would reconnect and replay) fails the case.
      es.close();
      reject(new Error(`EventSource error (readyState ${es.readyState}): ${ev.message ?? ''} ` +
                       `code=${ev.code ?? ''}; seen ${JSON.stringify(seen.map((s) => s.type))}`));
    });
  });
  return withTimeout(result, CASE_TIMEOUT_MS, `stream ${url}`).finally(() => es.close());
}

async function caseShape(relayUrl, shape, count, authAt, connector) {
  const path = `/stream?format=sse&count=${count}&auth_at=${authAt}&shape=${shape}&connector=${connector}`;
  let link = null;
  let linkIndex = -1;
  let page = null;
  let submitted = null;
  let linkHandled = null;
  const streamPromise = runStream(relayUrl + path, (data, index, seenSoFar, raw) => {
    linkHandled = handleLink(data, index, seenSoFar, raw);
    return linkHandled;
  });
  async function handleLink(data, index, seenSoFar, raw) {
    link = data;
    linkIndex = index - 1;
    // Paused: nothing more may arrive (heartbeats are comments, invisible to
    // EventSource) before the form is submitted. A heartbeat after the
    // link_token on the wire (heartbeat_s 1) says the relay is paused and
    // has had the upstream's next events (sent at once) for a while: any it
    // let through would be on the wire before it.
    await waitUntil(() => /event: link_token\n[\s\S]*\n: paused\n/.test(raw.text), CASE_TIMEOUT_MS,
                    'a heartbeat after link_token');
    const afterLink = seenSoFar.slice(index).map((s) => s.type);
    assert(afterLink.length === 0, `event(s) arrived while paused: ${JSON.stringify(afterLink)}`);
    page = await http('GET', data.magic_link_url);
    submitted = await http('POST', data.magic_link_url,
                           new URLSearchParams({ api_key: 'sk-es-test-123' }).toString());
  }
  const { seen, connections, errors, raw } = await streamPromise;
  // `done` can arrive before the form POST's response has been read.
  if (linkHandled) await withTimeout(linkHandled, 15_000, 'link page GET and POST');

  assert(errors.length === 0, errors.join('; '));
  assert(connections === 1, `expected 1 connection, got ${connections} (reconnected?)`);
  assert(link !== null, 'no link_token event');

  // link_token fields.
  for (const k of ['type', 'stream_id', 'connector', 'link_token', 'magic_link_url', 'expires_at', 'message']) {
    assert(k in link, `link_token lacks ${k}: ${JSON.stringify(link)}`);
  }
  assert(link.type === 'link_token', `link_token type ${link.type}`);
  assert(link.connector === connector, `link_token connector ${link.connector} != ${connector}`);
  assert(/^ltk_[0-9a-f]+$/.test(link.link_token), `link_token ${link.link_token}`);
  assert(link.magic_link_url === `${relayUrl}/_authrelay/link/${link.link_token}`,
         `magic_link_url ${link.magic_link_url}`);
  assert(typeof link.stream_id === 'string' && link.stream_id.length > 0, `stream_id ${link.stream_id}`);
  assert(typeof link.message === 'string' && link.message.length > 0, `message ${link.message}`);
  const expires = Date.parse(link.expires_at);
  assert(Number.isFinite(expires) && expires > Date.now(), `expires_at ${link.expires_at}`);

  // The link page and its form.
  assert(page && page.status === 200, `link page GET status ${page && page.status}`);
  assert(page.text.includes('name="api_key"'), 'link page has no api_key field');
  assert(submitted && submitted.status === 200, `form POST status ${submitted && submitted.status}: ${submitted && submitted.text}`);
  assert(submitted.text.includes('Connected'), `form POST page: ${submitted.text.slice(0, 200)}`);

  // The order of events: deltas 0..K-1, link_token, auth_complete,
  // deltas K+1..count-1, done.
  const types = seen.map((s) => s.type);
  const expectedTypes = [
    ...Array(authAt).fill('delta'), 'link_token', 'auth_complete',
    ...Array(count - authAt - 1).fill('delta'), 'done',
  ];
  assert(JSON.stringify(types) === JSON.stringify(expectedTypes),
         `event types ${JSON.stringify(types)} != ${JSON.stringify(expectedTypes)}`);
  assert(linkIndex === authAt, `link_token at index ${linkIndex}, expected ${authAt}`);

  const auth = seen[authAt + 1].data;
  assert(auth.type === 'auth_complete', `auth_complete type ${auth.type}`);
  assert(auth.stream_id === link.stream_id, `auth_complete stream_id ${auth.stream_id} != ${link.stream_id}`);
  assert(auth.connector === connector, `auth_complete connector ${auth.connector}`);

  const seqs = seen.filter((s) => s.type === 'delta').map((s) => s.data.seq);
  const expectedSeqs = [];
  for (let i = 0; i < count; i++) if (i !== authAt) expectedSeqs.push(i);
  assert(new Set(seqs).size === seqs.length, `duplicate seq in ${JSON.stringify(seqs)}`);
  assert(JSON.stringify(seqs) === JSON.stringify(expectedSeqs),
         `seqs ${JSON.stringify(seqs)} != ${JSON.stringify(expectedSeqs)}`);
  assert(seen.filter((s) => s.type === 'delta').every((s) => s.data.type === 'delta'), 'delta data type');
  const done = seen[seen.length - 1].data;
  assert(done.type === 'done' && done.events === count, `done ${JSON.stringify(done)}`);

  // Heartbeats while paused, between link_token and auth_complete (the
  // client ignored them: it saw no extra event and did not reconnect).
  const linkAt = raw.indexOf('event: link_token\n');
  const beatAt = raw.indexOf('\n: paused\n', linkAt);
  const authCompleteAt = raw.indexOf('event: auth_complete\n');
  assert(linkAt >= 0 && beatAt > linkAt && authCompleteAt > beatAt,
         `no ': paused' heartbeat between link_token (${linkAt}) and auth_complete (${authCompleteAt})`);

  // A link works once.
  const again = await http('GET', link.magic_link_url);
  assert(again.status === 410, `used link GET status ${again.status}`);
}

async function main() {
  assert(AUTHRELAY && AGENT, 'AUTHRELAY_BIN and AGENT_SERVER_BIN must be set');

  const agent = startProcess('agent-server', AGENT, ['--listen', '127.0.0.1:0'], 'stdout',
                             (line) => JSON.parse(line).listening);
  const agentAddr = await agent.started;
  const agentUrl = `http://${agentAddr}`;

  const relay = startProcess('authrelay', AUTHRELAY,
                             ['--listen', '127.0.0.1:0', '--control', '127.0.0.1:0',
                              '--upstream', agentUrl, '--heartbeat-s', '1',
                              // written for on_detect replace (the auth event withheld;
                              // rewrite, the default since #14, is test_dialects.py's)
                              '--on-detect', 'replace'],
                             'stderr', (line) => {
                               const rec = JSON.parse(line);
                               return rec.msg === 'listening' ? rec.listen : undefined;
                             });
  const relayUrl = `http://${await relay.started}`;

  const cases = [
    ['mcp', 10, 4, 'slack'],
    ['magic_link', 7, 2, 'slack'],
  ];
  for (const [shape, count, authAt, connector] of cases) {
    const name = `eventsource ${shape} count=${count} auth_at=${authAt} connector=${connector}`;
    try {
      await caseShape(relayUrl, shape, count, authAt, connector);
      tally.passed++;
      console.log(`ok: ${name}`);
    } catch (err) {
      tally.failed++;
      console.log(`FAIL: ${name}: ${err.message}`);
    }
  }

  // authrelay exits 0 on SIGTERM (under ASan this also covers leaks).
  const name = 'authrelay exits 0 on SIGTERM';
  try {
    relay.child.kill('SIGTERM');
    const { code, signal } = await withTimeout(relay.exited, 30_000, 'authrelay exit after SIGTERM');
    assert(code === 0, `authrelay exited with code ${code}, signal ${signal}`);
    tally.passed++;
    console.log(`ok: ${name}`);
  } catch (err) {
    tally.failed++;
    console.log(`FAIL: ${name}: ${err.message}`);
  }
  agent.child.kill('SIGTERM');
  await withTimeout(agent.exited, 5_000, 'agent-server exit').catch(() => agent.child.kill('SIGKILL'));

  if (tally.failed > 0) {
    console.log('authrelay stderr (last 60 lines):');
    for (const line of relay.lines.slice(-60)) console.log(`  ${line}`);
  }
}

main().then(
  () => finish(tally.failed > 0 ? 1 : 0),
  (err) => { console.log(`FAIL: setup: ${err.message}`); tally.failed++; finish(1); },
);
