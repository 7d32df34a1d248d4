#!/usr/bin/env node
// A reference model of the contract via_authrelay.mjs checks (DESIGN.md
// "Dialects", on_detect: rewrite), NOT authrelay: it exists only to show that
// via_authrelay.mjs can pass, i.e. that its assertions follow the contract and
// not an accident of today's authrelay. Started in authrelay's place:
//   AUTHRELAY_BIN=$PWD/model_relay.mjs node via_authrelay.mjs
// It takes authrelay's flags (--listen, --control, --upstream; others are
// ignored), prints authrelay's "listening" line on stderr, and:
//   - relays each request to the upstream; an SSE response is cut into
//     events; an event holding an auth-required result (readers.mjs
//     findAuthResults) of a request with X-Registered-User-Id is forwarded
//     with only the link values replaced (raw text replacement of the
//     upstream's link_token, magic_link_url, expires_at), then the stream
//     pauses until the link is completed, unless the same result was seen
//     before in that stream (one pause per tool call); ai-sdk streams
//     (x-vercel-ai-ui-message-stream) get a transient data-link_token part;
//   - POST /_authrelay/link/{token}: "Connected", the paused streams resume;
//   - control: GET /metrics (authrelay_pauses_total), GET /v1/events (SSE
//     link_token events).
// Loopback only; no limits beyond the tests' needs.

import http from 'node:http';
import { findAuthResults } from './readers.mjs';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : null;
};
const upstream = new URL(flag('--upstream'));
const hostPort = (s) => {
  const at = s.lastIndexOf(':');
  return [s.slice(0, at), Number(s.slice(at + 1))];
};

let pausesTotal = 0;
let tokenSeq = 0;
const links = new Map();      // token -> { waiters: [resume], done }
const feedClients = new Set();
let relayBase = null;

function feedSend(obj) {
  for (const res of feedClients) res.write(`event: ${obj.type}\ndata: ${JSON.stringify(obj)}\n\n`);
}

function mint(user, connector) {
  const token = `ltk_${(++tokenSeq).toString(16).padStart(32, '0')}`;
  const link = { token, url: `${relayBase}/_authrelay/link/${token}`, user, connector,
                 expires: new Date(Date.now() + 1800_000).toISOString().replace(/\.\d+Z$/, 'Z'),
                 waiters: [], done: false };
  links.set(token, link);
  pausesTotal++;
  feedSend({ type: 'link_token', registered_user: user, connector, link_token: token,
             magic_link_url: link.url, expires_at: link.expires });
  return link;
}

function relayRequest(req, res, body) {
  const user = req.headers['x-registered-user-id'];
  const headers = { ...req.headers, host: upstream.host, 'accept-encoding': 'identity' };
  delete headers.connection;
  const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method,
                            path: req.url, headers }, async (ures) => {
    const sseStream = (ures.headers['content-type'] ?? '').startsWith('text/event-stream');
    res.writeHead(ures.statusCode, ures.headers);
    if (!sseStream || !user) { ures.pipe(res); return; }
    const aiSdk = ures.headers['x-vercel-ai-ui-message-stream'] === 'v1';
    const seen = new Map();    // upstream link_token -> the trusted link (one pause per result)
    let buf = '';
    ures.setEncoding('utf8');
    for await (const chunk of ures) {
      buf += chunk;
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        let event = buf.slice(0, at + 2);
        buf = buf.slice(at + 2);
        const data = event.split('\n').filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        let parsed = null;
        try { parsed = JSON.parse(data); } catch { /* not JSON: forwarded */ }
        const found = parsed ? findAuthResults(parsed) : [];
        if (found.length === 0) { res.write(event); continue; }
        const r = found[0].result;
        let link = seen.get(r.link_token);
        const fresh = !link;
        if (fresh) {
          link = mint(user, r.Connector ?? r.connector ?? 'slack');
          seen.set(r.link_token, link);
        }
        for (const [from, to] of [[r.magic_link_url, link.url], [r.link_token, link.token],
                                  [r.expires_at, link.expires]]) {
          if (from) event = event.split(from).join(to);
        }
        res.write(event);
        if (!fresh || link.done) continue;
        if (aiSdk) {
          res.write(`data: ${JSON.stringify({ type: 'data-link_token', transient: true,
            data: { connector: link.connector, link_token: link.token, magic_link_url: link.url } })}\n\n`);
        }
        await new Promise((resume) => link.waiters.push(resume));
      }
    }
    res.end(buf);
  });
  up.on('error', () => res.destroy());
  up.end(body);
}

const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const m = /^\/_authrelay\/link\/(ltk_[0-9a-f]+)$/.exec(req.url);
    if (m) {
      const link = links.get(m[1]);
      if (!link) { res.writeHead(404).end('unknown link'); return; }
      if (req.method !== 'POST') { res.writeHead(200).end('form'); return; }
      if (link.done) { res.writeHead(410).end('used'); return; }
      link.done = true;
      feedSend({ type: 'auth_complete', registered_user: link.user, connector: link.connector,
                 link_token: link.token });
      for (const w of link.waiters.splice(0)) w();
      res.writeHead(200, { 'content-type': 'text/html' }).end('Connected');
      return;
    }
    relayRequest(req, res, Buffer.concat(chunks));
  });
});

const control = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`authrelay_pauses_total ${pausesTotal}\n`);
  } else if (req.url.startsWith('/v1/events')) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\n\n');
    feedClients.add(res);
    req.on('close', () => feedClients.delete(res));
  } else {
    res.writeHead(404).end();
  }
});

const listen = (server, spec) => new Promise((resolve) => {
  const [host, port] = hostPort(spec);
  server.listen(port, host, () => resolve(`${host}:${server.address().port}`));
});
const listenAddr = await listen(proxy, flag('--listen') ?? '127.0.0.1:0');
const controlAddr = await listen(control, flag('--control') ?? '127.0.0.1:0');
relayBase = `http://${listenAddr}`;
process.stderr.write(`${JSON.stringify({ msg: 'listening', listen: listenAddr, control: controlAddr })}\n`);
process.on('SIGTERM', () => process.exit(0));
