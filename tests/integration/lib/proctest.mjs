// proctest.mjs: what the Node.js integration tests share: bounded waits, the
// processes a test starts (authrelay, the agent server, stand-ins), killed on
// every way out, and the "N passed, M failed" tally with a watchdog.
//
// Imported as ../lib/proctest.mjs (../../lib/ from dialects/llm/). It uses
// Node's built-in modules only; tests/integration/CMakeLists.txt copies it to
// the same place in the build tree, where node_test() runs the tests.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export const START_TIMEOUT_MS = 10_000;

// The checks of the run: a test adds to them; finish() prints them.
export const tally = { passed: 0, failed: 0 };

const children = new Set();
const cleanups = [];

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls cond() (it may be async) every 10 ms until it is true; rejects after ms.
export async function waitUntil(cond, ms, what) {
  let stop = false;
  const poll = (async () => { while (!stop && !(await cond())) await sleep(10); })();
  try {
    return await withTimeout(poll, ms, what);
  } finally {
    stop = true;
  }
}

// fn() runs when the test ends, however it ends (after the children are killed).
export function onCleanup(fn) {
  cleanups.push(fn);
}

// SIGKILLs every child still running, then runs the cleanups (once each).
export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
  while (cleanups.length > 0) {
    try { cleanups.shift()(); } catch { /* best effort */ }
  }
}

export function finish(code) {
  killAll();
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(code);
}

// Every way out of the process kills the children; a signal, an uncaught
// error or the watchdog (watchdogMs: under ctest's TIMEOUT) counts a failure,
// after dump() (optional: prints what helps to see why) ran.
export function guard(watchdogMs, dump = () => {}) {
  const fail = (...msg) => {
    console.error(...msg);
    try { dump(); } catch { /* best effort */ }
    tally.failed++;
    finish(1);
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => fail(`got ${sig}`));
  process.on('uncaughtException', (err) => fail('uncaught:', err));
  process.on('unhandledRejection', (err) => fail('unhandled rejection:', err));
  const watchdog = setTimeout(() => fail(`FAIL: watchdog: the test did not finish within ${watchdogMs} ms`),
                              watchdogMs);
  watchdog.unref();
}

// Spawns cmd and resolves `started` with the first line of `streamName`
// (stdout or stderr) that `match` accepts (returns non-undefined); every line
// of it is kept in `lines`. env: added to this process's environment.
// opts.stdin 'pipe': the child's stdin stays open (child.stdin), else it is
// closed; opts.bothStreams: the other stream's lines are kept too, marked
// "[stdout] " or "[stderr] ".
export function startProcess(name, cmd, args, streamName, match, env, opts = {}) {
  const other = streamName === 'stdout' ? 'stderr' : 'stdout';
  const keep = (s) => (s === streamName || opts.bothStreams ? 'pipe' : 'ignore');
  const child = spawn(cmd, args, {
    env: { ...process.env, ...(env ?? {}) },
    stdio: [opts.stdin === 'pipe' ? 'pipe' : 'ignore', keep('stdout'), keep('stderr')],
  });
  children.add(child);
  const lines = [];
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise((resolve, reject) => {
    let done = false;
    child.on('error', (err) => { if (!done) { done = true; reject(err); } });
    if (opts.bothStreams) {
      createInterface({ input: child[other] }).on('line', (line) => lines.push(`[${other}] ${line}`));
    }
    createInterface({ input: child[streamName] }).on('line', (line) => {
      lines.push(line);
      if (done) return;
      let got;
      try { got = match(line); } catch { got = undefined; }
      if (got !== undefined) { done = true; resolve(got); }
    });
    exited.then(({ code, signal }) => {
      if (!done) {
        done = true;
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before starting: ${lines.join('\n')}`));
      }
    });
  });
  return { name, child, lines, exited, started: withTimeout(started, START_TIMEOUT_MS, `${name} start`) };
}

// A Response like res whose body is also read here, for a test that records
// what a client saw: every piece of text goes to onText(text). `done`
// settles when the body ended (rejects when reading it failed). res must
// have a body.
export function teeResponse(res, onText) {
  const [mine, theirs] = res.body.tee();
  const done = (async () => {
    const reader = mine.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      onText(dec.decode(value, { stream: true }));
    }
  })();
  const response = new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  return { response, done };
}

// The control API's event feed (GET /v1/events, SSE), read with node:http:
// every event whose data is JSON joins `events` as {event, data}. Listeners
// given to onChange() run after every chunk, at the end and on an error.
// `opened` resolves with the HTTP status.
export class EventFeed {
  constructor(url, headers) {
    this.events = [];
    this.ended = false;
    this.error = null;
    this.buf = '';
    this.listeners = [];
    this.opened = new Promise((resolve, reject) => {
      this.req = http.get(url, { headers, agent: false }, (res) => {
        resolve(res.statusCode);
        res.setEncoding('utf8');
        res.on('data', (chunk) => this.onData(chunk));
        res.on('end', () => { this.ended = true; this.notify(); });
        res.on('error', (err) => { this.error = err; this.notify(); });
      });
      this.req.on('error', (err) => { this.error = err; reject(err); this.notify(); });
    });
  }

  onData(chunk) {
    this.buf += chunk.replace(/\r\n?/g, '\n');
    let at;
    while ((at = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, at);
      this.buf = this.buf.slice(at + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue;
      try { this.events.push({ event, data: JSON.parse(data.join('\n')) }); } catch { /* not JSON */ }
    }
    this.notify();
  }

  onChange(fn) {
    this.listeners.push(fn);
  }

  notify() {
    for (const fn of [...this.listeners]) fn();
  }

  // The data of the events of this type for registered user `user`.
  of(type, user) {
    return this.events.filter((e) => e.event === type && e.data.registered_user === user).map((e) => e.data);
  }

  // The first event pred accepts, within ms; rejects when the feed ends first.
  waitFor(pred, what, ms = 10_000) {
    let check;
    const p = new Promise((resolve, reject) => {
      check = () => {
        const found = this.events.find(pred);
        if (found) resolve(found);
        else if (this.ended || this.error) reject(new Error(`event feed ended (${this.error ?? 'end'}) before ${what}`));
      };
      this.listeners.push(check);
      check();
    });
    return withTimeout(p, ms, what).finally(() => { this.listeners = this.listeners.filter((f) => f !== check); });
  }

  close() {
    this.req?.destroy();
  }
}
