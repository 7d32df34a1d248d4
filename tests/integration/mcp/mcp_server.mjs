// A tool server for the MCP integration test (mcp_e2e.test.mjs): an MCP
// server built with the official TypeScript SDK (McpServer +
// StreamableHTTPServerTransport, stateless: a fresh server and transport per
// HTTP request) on node:http.
//
// Tool `slack__post_message` {text}: the caller is the request's
// X-Registered-User-Id (forwarded by authrelay). The tool asks authrelay's
// link service whether that user has connected Slack
// (GET CONTROL/api/v1/registered-users/?origin_user_id=USER, bearer KEY) --
// the credential store, as a real tool server would, no test-side flag --
// and answers
//   not connected: one text content whose text is the JSON of an
//                  auth-required result
//                  {"type":"authenticate_meta","Connector":"slack",...}
//                  (on the *-unnamed endpoint without any connector member,
//                  so that authrelay must take it from params.name);
//   connected:     "posted: <text>" (the genuine output).
// In SSE mode, a call with a progressToken first gets a progress notification
// on its response stream.
//
// Endpoints (POST; GET and DELETE answer 405 as a stateless server does):
//   PREFIX/mcp           the auth-required result names the connector
//   PREFIX/mcp-unnamed   the auth-required result names no connector
//
// Usage: node mcp_server.mjs --response json|sse --prefix /json
//        [--port 0] [--control http://HOST:PORT] [--key ADMIN_KEY]
// --control and --key default to $AUTHRELAY_CONTROL_URL, $AUTHRELAY_ADMIN_KEY.
// Without either, the control URL is the first line of stdin: the server can
// listen (and tell its port) before authrelay, whose routes name that port,
// has started and told its control port.
// --response json: enableJsonResponse (one application/json body);
// --response sse:  text/event-stream responses.
//
// stdout, one JSON object per line:
//   {"msg":"listening","port":N}
//   {"msg":"tool_call","user":...,"path":...,"retry":"1"|null,"connected":bool}
//   {"msg":"error",...}

import http from 'node:http';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const { values: opts } = parseArgs({
  options: {
    response: { type: 'string', default: 'json' },
    prefix: { type: 'string', default: '' },
    port: { type: 'string', default: '0' },
    control: { type: 'string', default: process.env.AUTHRELAY_CONTROL_URL ?? '' },
    key: { type: 'string', default: process.env.AUTHRELAY_ADMIN_KEY ?? '' },
  },
});
if (!['json', 'sse'].includes(opts.response)) throw new Error('--response json|sse');
if (!opts.key) throw new Error('--key or $AUTHRELAY_ADMIN_KEY is required');
const control = opts.control ? Promise.resolve(opts.control) : firstStdinLine();
control.then((url) => say({ msg: 'control', url }));
const NAMED = `${opts.prefix}/mcp`;
const UNNAMED = `${opts.prefix}/mcp-unnamed`;

function say(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

// The control URL from the first line of stdin. The server then lives as long
// as its stdin stays open (the parent holds it), so that it never outlives a
// test that was killed.
function firstStdinLine() {
  return new Promise((resolve) => {
    let buf = '';
    let got = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      if (got) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) { got = true; resolve(buf.slice(0, nl).trim()); }
    });
    process.stdin.on('end', () => process.exit(got ? 0 : 1));
  });
}

// The user's connected connectors, from authrelay's link service.
async function connectedConnectors(user) {
  const base = (await control).replace(/\/+$/, '');
  const url = `${base}/api/v1/registered-users/?origin_user_id=${encodeURIComponent(user)}`;
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${opts.key}` },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`link service: ${url} -> ${res.status}`);
  const body = await res.json();
  const users = (body.results ?? []).filter((u) => u.origin_user_id === user);
  return users.flatMap((u) => u.authenticated_connectors ?? []);
}

function buildServer(named) {
  const server = new McpServer({ name: 'authrelay-test-tools', version: '1.0.0' });
  server.registerTool(
    'slack__post_message',
    {
      description: 'Post a message to Slack as the user',
      inputSchema: { text: z.string() },
    },
    async ({ text }, extra) => {
      const headers = extra.requestInfo?.headers ?? {};
      const user = headers['x-registered-user-id'];
      const retry = headers['x-authrelay-retry'] ?? null;
      // A client that asked for progress (params._meta.progressToken) gets a
      // notifications/progress on the response stream (SSE mode) before the
      // result, as a long-running tool would send.
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined && opts.response === 'sse') {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: 0, total: 1, message: 'checking the Slack connection' },
        });
      }
      const connected = !!user && (await connectedConnectors(user)).includes('slack');
      say({ msg: 'tool_call', user: user ?? null, path: extra.requestInfo?.url?.pathname ?? null,
            retry, connected });
      if (!connected) {
        const authRequired = {
          type: 'authenticate_meta',
          ...(named ? { Connector: 'slack' } : {}),
          link_token: 'ltk_from_the_tool_server_not_to_be_shown',
          expires_at: new Date(Date.now() + 30 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
          message: 'Please connect Slack',
        };
        return { content: [{ type: 'text', text: JSON.stringify(authRequired) }] };
      }
      return { content: [{ type: 'text', text: `posted: ${text}` }] };
    },
  );
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  const pathname = new URL(req.url, 'http://x').pathname;
  if (pathname !== NAMED && pathname !== UNNAMED) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { 'Content-Type': 'application/json', Allow: 'POST' }).end(JSON.stringify({
      jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
    return;
  }
  const server = buildServer(pathname === NAMED);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: opts.response === 'json',
  });
  res.on('close', () => { transport.close(); server.close(); });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res);
  } catch (err) {
    say({ msg: 'error', error: String(err?.stack ?? err) });
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({
        jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null }));
    }
  }
});

httpServer.listen(Number(opts.port), '127.0.0.1', () => {
  say({ msg: 'listening', port: httpServer.address().port, response: opts.response, prefix: opts.prefix });
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
