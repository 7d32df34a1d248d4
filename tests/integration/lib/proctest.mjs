// proctest.mjs: what the Node.js integration tests share: bounded waits, the
// processes a test starts (authrelay, the agent server, stand-ins), killed on
// every way out, and the "N passed, M failed" tally with a watchdog.
//
// Imported as ../lib/proctest.mjs (../../lib/ from dialects/llm/). It uses
// Node's built-in modules only; tests/integration/CMakeLists.txt copies it to
// the same place in the build tree, where node_test() runs the tests.

import { spawn } from 'node:child_process';
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

// Polls cond() every 10 ms until it is true; rejects after ms.
export async function waitUntil(cond, ms, what) {
  let stop = false;
  const poll = (async () => { while (!stop && !cond()) await sleep(10); })();
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
// error or the watchdog (watchdogMs: under ctest's TIMEOUT) counts a failure.
export function guard(watchdogMs) {
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => { console.error(`got ${sig}`); tally.failed++; finish(1); });
  }
  process.on('uncaughtException', (err) => { console.error('uncaught:', err); tally.failed++; finish(1); });
  process.on('unhandledRejection', (err) => { console.error('unhandled rejection:', err); tally.failed++; finish(1); });
  const watchdog = setTimeout(() => {
    console.log(`FAIL: watchdog: the test did not finish within ${watchdogMs} ms`);
    tally.failed++;
    finish(1);
  }, watchdogMs);
  watchdog.unref();
}

// Spawns cmd and resolves `started` with the first line of `streamName`
// (stdout or stderr) that `match` accepts (returns non-undefined); every line
// of it is kept in `lines`. env: added to this process's environment.
export function startProcess(name, cmd, args, streamName, match, env) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...(env ?? {}) },
    stdio: ['ignore', streamName === 'stdout' ? 'pipe' : 'ignore',
            streamName === 'stderr' ? 'pipe' : 'ignore'],
  });
  children.add(child);
  const lines = [];
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const started = new Promise((resolve, reject) => {
    let done = false;
    child.on('error', (err) => { if (!done) { done = true; reject(err); } });
    const rl = createInterface({ input: child[streamName] });
    rl.on('line', (line) => {
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
  return { child, lines, exited, started: withTimeout(started, START_TIMEOUT_MS, `${name} start`) };
}
