// Integration test: examples/openapi.yaml against a validator and against
// the real answers of a running authrelay.
//
// 1. The document: @apidevtools/swagger-parser validates it against the
//    OpenAPI 3.1 schema and resolves every $ref (pinned by package.json +
//    package-lock.json); then checks the validator leaves out: operationIds
//    unique, every templated path parameter declared, every path naming its
//    405 answer (x-method-not-allowed), and every example in a media type
//    valid against its own schema.
// 2. The answers: starts the example agent server and authrelay (embedded
//    link service, temporary data directory, loopback) and calls every
//    operation, its happy path and each error status the test can trigger
//    (401 without a bearer, 403 with a token lacking the scope, 400, 404,
//    405, 409, 413 ...), a stream paused on an auth-required event included.
//    Each answer must have a status the document lists for that operation (a
//    method the path does not list: its x-method-not-allowed), a documented
//    Content-Type, and a body valid against that response's schema (ajv,
//    JSON Schema 2020-12, formats checked). Any other answer fails the test.
//    The limits the document states for the create operations' members
//    (maxLength, minItems, maximum ...) are tried at the boundary: at the
//    limit taken, past it refused on that field (limits.mjs).
//    Every operation must have been called at least once. A coverage table
//    (operation x statuses seen, and those documented but not triggered) is
//    printed at the end.
//
// Files: this one starts the processes (the agent server, an OAuth2
// provider stand-in, authrelay with the embedded link service, with a remote
// one, with link binding);
// live.mjs makes the calls (limits.mjs the boundary ones); conformance.mjs
// checks the document and each answer against it.
//
// Link binding (POST /api/v1/link-flows/{flow_id}/confirm, the done page)
// runs on a third authrelay with link.verifier_url.
//
// Env: AUTHRELAY_BIN, AGENT_SERVER_BIN (default: the source checkout's
// build/), OPENAPI_DOC (default: examples/openapi.yaml of the checkout).
// Last line: "N checked, M failed"; exit 1 on any failure.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { coverageTable, fail, lintDocument, summary } from './conformance.mjs';
import { ADMIN_KEY, live, liveBinding, liveRemote } from './live.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.resolve(HERE, '../../..');
const AUTHRELAY = process.env.AUTHRELAY_BIN || path.join(SOURCE, 'build/authrelay');
const AGENT_SERVER = process.env.AGENT_SERVER_BIN || path.join(SOURCE, 'build/agent-server');
const DOC = process.env.OPENAPI_DOC || path.join(SOURCE, 'examples/openapi.yaml');

const START_TIMEOUT_MS = 10_000;
const WATCHDOG_MS = 100_000; // the whole test; ctest's TIMEOUT is above it

const children = new Set();
let dataDir = null;

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
  if (dataDir) {
    try { rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

const watchdog = setTimeout(() => {
  console.log(`FAIL: watchdog: the test took over ${WATCHDOG_MS} ms`);
  cleanup();
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// An OAuth2 provider stand-in on loopback: its token endpoint answers a
// code exchange with a token (one that expires within a second for the code
// "short"), refuses the code "refuse", and fails every refresh (500).
function startProvider() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      res.setHeader('Content-Type', 'application/json');
      if (form.get('grant_type') === 'refresh_token') { // the provider is down for refreshes
        res.statusCode = 500;
        res.end('{"error":"server_error"}');
        return;
      }
      if (form.get('code') === 'short') { // a token that expires at once
        res.end(JSON.stringify({ access_token: 'gho_short', token_type: 'bearer', expires_in: 1, refresh_token: 'rt' }));
        return;
      }
      if (req.url !== '/token' || form.get('code') === 'refuse') {
        res.statusCode = 400;
        res.end('{"error":"invalid_grant"}');
        return;
      }
      res.end(JSON.stringify({ access_token: 'gho_openapi_test', token_type: 'bearer', expires_in: 3600,
                               scope: 'repo' }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function catalog(providerPort) {
  const provider = `http://127.0.0.1:${providerPort}`;
  return JSON.stringify({
    connectors: [
      { slug: 'slack', name: 'Slack', auth: 'api_key' },
      { slug: 'notion', name: 'Notion', auth: 'api_key' },
      { slug: 'github', name: 'GitHub', auth: 'oauth2', authorize_url: `${provider}/authorize`,
        token_url: `${provider}/token`, scopes: 'repo' },
      { slug: 'gitlab', name: 'GitLab', auth: 'oauth2', authorize_url: `${provider}/authorize`,
        token_url: `${provider}/token`, scopes: 'api' }, // never given an application credential
    ],
  });
}

// Spawns cmd; resolves with the first line of `streamName` that match()
// accepts. Output is kept for a failure's report.
function startProcess(name, cmd, args, streamName, match, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...(env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines = [];
  const started = new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => { if (!done) { done = true; reject(new Error(`${name}: no start in time`)); } },
                             START_TIMEOUT_MS);
    child.on('error', (err) => { if (!done) { done = true; clearTimeout(timer); reject(err); } });
    child.on('exit', (code, signal) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before starting:\n${lines.join('\n')}`));
      }
    });
    for (const s of ['stdout', 'stderr']) {
      createInterface({ input: child[s] }).on('line', (line) => {
        if (lines.length < 2000) lines.push(line);
        if (done || s !== streamName) return;
        let got;
        try { got = match(line); } catch { got = undefined; }
        if (got !== undefined) { done = true; clearTimeout(timer); resolve(got); }
      });
    }
  });
  return { name, child, lines, started };
}

function startRelay(args) {
  return startProcess('authrelay', AUTHRELAY, [
    '--listen', '127.0.0.1:0', '--control', '127.0.0.1:0', ...args,
  ], 'stderr', (line) => {
    const o = JSON.parse(line);
    return o.msg === 'listening' ? o : undefined;
  }, { AUTHRELAY_ADMIN_KEY: ADMIN_KEY });
}

async function main() {
  // 1. the document
  await SwaggerParser.validate(DOC);
  console.log(`ok: ${path.basename(DOC)} is valid OpenAPI 3.1 (@apidevtools/swagger-parser)`);
  const doc = await SwaggerParser.dereference(DOC);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const before = summary().failed;
  lintDocument(doc, ajv);
  if (summary().failed === before) console.log('ok: operationIds unique, path parameters declared, 405s named, examples valid');

  // 2. the answers
  assert.ok(existsSync(AUTHRELAY), `no authrelay binary at ${AUTHRELAY}`);
  assert.ok(existsSync(AGENT_SERVER), `no agent-server binary at ${AGENT_SERVER}`);
  dataDir = mkdtempSync(path.join(tmpdir(), 'authrelay-openapi-'));
  const agent = startProcess('agent-server', AGENT_SERVER, ['--listen', '127.0.0.1:0'], 'stdout',
                             (line) => JSON.parse(line).listening);
  const agentAddr = await agent.started;
  const provider = await startProvider();
  const catalogFile = path.join(dataDir, 'connectors.json');
  writeFileSync(catalogFile, catalog(provider.address().port));
  const skipped = [];
  const runs = [
    ['embedded link service', live, ['--data-dir', dataDir, '--upstream', `http://${agentAddr}`,
                                     '--on-detect', 'replace', '--connectors', catalogFile, '--drain-timeout-s', '30']],
    ['remote link service', liveRemote, ['--data-dir', path.join(dataDir, 'remote'), '--upstream', `http://${agentAddr}`,
                                         '--link-service-url', `http://127.0.0.1:${provider.address().port}`,
                                         '--link-service-api-key', 'remote-key']],
  ];
  // Link binding (#15): a third authrelay with link.verifier_url
  runs.push(['link binding', liveBinding, ['--data-dir', path.join(dataDir, 'binding'), '--upstream', `http://${agentAddr}`,
                                           '--connectors', catalogFile,
                                           '--link-verifier-url', `http://127.0.0.1:${provider.address().port}/verify`]]);
  for (const [name, run, args] of runs) {
    const relay = startRelay(args);
    const listening = await relay.started;
    const ctx = { doc, ajv, proxyUrl: `http://${listening.listen}`, controlUrl: `http://${listening.control}`, skipped };
    try {
      await run(ctx, relay);
    } catch (e) {
      fail(`the live check (${name}) stopped: ${e.stack ?? e}`);
      console.log(`--- authrelay (${name}) stderr, last 40 lines:`);
      for (const l of relay.lines.slice(-40)) console.log(l);
    }
    relay.child.kill('SIGKILL');
  }
  provider.close();
  coverageTable(doc, skipped);
}

try {
  await main();
} catch (e) {
  fail(e.stack ?? String(e));
}
cleanup();
const { checked, failed } = summary();
console.log(`${checked} checked, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
