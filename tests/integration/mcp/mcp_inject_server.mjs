// A tool server for the credential-injection test (mcp_inject.test.mjs): an
// MCP server built with the official TypeScript SDK (McpServer +
// StreamableHTTPServerTransport, stateless, JSON responses) on node:http,
// that needs no auth code of its own: it reads the credential authrelay
// injects (route `credentials: {header: "Authorization", value:
// "Bearer {token}"}`) from the request's Authorization header.
//
// Tool `slack__post_message` {text}: with an Authorization header, answers
// "posted <text> with <Authorization>" (the genuine output, naming what it
// received); without one, an error result "no credential".
//
// stdout, one JSON object per line:
//   {"msg":"listening","port":N}
//   {"msg":"request","method":...,"rpc":...,"authorization":...|null,"retry":...|null}
//     for every HTTP request (what reached the tool server, headers as received)
//   {"msg":"error",...}
// Usage: node mcp_inject_server.mjs [--port 0]. Exits when stdin closes.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const { values: opts } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

function say(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function buildServer() {
  const server = new McpServer({ name: 'authrelay-inject-tools', version: '1.0.0' });
  server.registerTool(
    'slack__post_message',
    { description: 'Post a message to Slack as the user', inputSchema: { text: z.string() } },
    async ({ text }, extra) => {
      const auth = extra.requestInfo?.headers?.authorization;
      if (!auth) return { isError: true, content: [{ type: 'text', text: 'no credential' }] };
      return { content: [{ type: 'text', text: `posted ${text} with ${auth}` }] };
    },
  );
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString('utf8');
  let body;
  try { body = raw ? JSON.parse(raw) : undefined; } catch { body = undefined; }
  say({ msg: 'request', method: req.method, rpc: body?.method ?? null,
        authorization: req.headers.authorization ?? null, retry: req.headers['x-authrelay-retry'] ?? null });
  if (req.method !== 'POST') {
    res.writeHead(405, { 'Content-Type': 'application/json', Allow: 'POST' }).end(JSON.stringify({
      jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
    return;
  }
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { transport.close(); server.close(); });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (err) {
    say({ msg: 'error', error: String(err?.stack ?? err) });
    if (!res.headersSent) res.writeHead(500).end();
  }
});

httpServer.listen(Number(opts.port), '127.0.0.1', () => {
  say({ msg: 'listening', port: httpServer.address().port });
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
