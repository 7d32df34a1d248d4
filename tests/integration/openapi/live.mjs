// live: the calls of the live check (openapi.test.mjs), each answer checked
// by conformance.mjs against the operation it belongs to. A section function
// per area; every call names the status it means to trigger.

import assert from 'node:assert/strict';
import http from 'node:http';
import { checkAnswer, operations } from './conformance.mjs';
import { liveLimits } from './limits.mjs';

export const ADMIN_KEY = 'openapi-test-owner-key-0123456789';
export const CALL_TIMEOUT_MS = 10_000;
const UUID0 = '00000000-0000-4000-8000-000000000000'; // no such id

// One HTTP exchange. opts: headers, body (string/Buffer), json (an object,
// sent as JSON), form (an object, sent urlencoded), untilHead (resolve once
// the head arrived and close: an SSE feed).
export function request(base, method, target, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  } else if (opts.form !== undefined) {
    body = new URLSearchParams(opts.form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { method, headers, agent: false }, (res) => {
      const chunks = [];
      if (opts.untilHead) {
        resolve({ status: res.statusCode, headers: res.headers, body: '' });
        res.destroy();
        return;
      }
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                    body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error(`timeout: ${method} ${target}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// The call helpers of the live check.
function caller(ctx) {
  const owner = { Authorization: `Bearer ${ADMIN_KEY}` };
  async function call(listener, method, target, expect, opts = {}) {
    const base = listener === 'proxy' ? ctx.proxyUrl : ctx.controlUrl;
    const headers = { ...(opts.auth === undefined ? owner : opts.auth === null ? {} : { Authorization: `Bearer ${opts.auth}` }),
                      ...(opts.headers ?? {}) };
    const res = await request(base, method, target, { ...opts, headers });
    checkAnswer(ctx, method, target, res, expect);
    return res;
  }
  const json = (res) => { try { return JSON.parse(res.body); } catch { return {}; } };
  return { call: (m, t, e, o) => call('control', m, t, e, o), page: (m, t, e, o) => call('proxy', m, t, e, o), json };
}

// A stream through authrelay that pauses on an auth-required event; resolves
// once authrelay sent its link_token.
function pausedStream(ctx, user) {
  return new Promise((resolve, reject) => {
    const target = '/stream?format=sse&count=4&auth_at=1&shape=authenticate_meta&connector=notion';
    const req = http.get(`${ctx.proxyUrl}${target}`, { headers: { 'X-Registered-User-Id': user }, agent: false }, (res) => {
      let seen = '';
      res.on('data', (c) => {
        seen += c.toString('utf8');
        if (seen.includes('event: link_token')) resolve({ req, res });
      });
      res.on('end', () => reject(new Error(`the stream ended unpaused: ${seen.slice(0, 500)}`)));
    });
    req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error('timeout: paused stream')));
    req.on('error', reject);
  });
}

// /healthz, /readyz, /metrics.
async function liveHealth(ctx) {
  const { call } = caller(ctx);
  await call('GET', '/healthz', 200, { auth: null });
  await call('HEAD', '/healthz', 200, { auth: null });
  await call('POST', '/healthz', 405, { auth: null });
  await call('GET', '/readyz', 200, { auth: null });
  await call('HEAD', '/readyz', 200, { auth: null });
  await call('DELETE', '/readyz', 405, { auth: null });
  await call('GET', '/metrics', 200, { auth: null });
  await call('POST', '/metrics', 405, { auth: null });
}

// The link service's API and the Link page, one flow: OAuth applications
// and tokens (ctx.narrow: a token holding read:user only, for the 403s),
// users, callback origins, link tokens, the Link page (an API-key connector,
// a picker, an OAuth2 connector through the provider stand-in), connections
// and the token API, application credentials, bodies holding U+0000.
async function liveLinkService(ctx) {
  const { call, page, json } = caller(ctx);
  // OAuth applications and tokens: a narrow token for the 403s
  await call('POST', '/api/v1/oauth/applications', 401, { auth: null, json: { name: 'x', scopes: ['read:user'] } });
  await call('POST', '/api/v1/oauth/applications', 401, { auth: 'arat_unknown', json: { name: 'x', scopes: ['read:user'] } });
  const narrowApp = json(await call('POST', '/api/v1/oauth/applications', 201,
                                    { json: { name: 'narrow', scopes: ['read:user'] } }));
  await call('POST', '/api/v1/oauth/applications', 400, { json: { name: 'narrow', scopes: ['read:user'] } });
  await call('POST', '/api/v1/oauth/applications', 400, { json: { name: '', scopes: ['nope'] } });
  await call('POST', '/api/v1/oauth/applications', 400, { body: '{"name": ', headers: { 'Content-Type': 'application/json' } });
  await call('POST', '/api/v1/oauth/applications', 413, { body: `{"name":"${'a'.repeat(70_000)}"}`,
                                                          headers: { 'Content-Type': 'application/json' } });
  await call('GET', '/api/v1/oauth/applications', 200);
  await call('PUT', '/api/v1/oauth/applications', 405, { json: {} });
  const tok = json(await call('POST', '/oauth/token', 200, { form: { grant_type: 'client_credentials',
    client_id: narrowApp.clientId, client_secret: narrowApp.clientSecret } }));
  const narrow = tok.access_token;
  await call('POST', '/oauth/token', 200, { json: { grant_type: 'client_credentials', client_id: narrowApp.clientId,
                                                    client_secret: narrowApp.clientSecret, scope: 'read:user' } });
  await call('POST', '/oauth/token', 400, { form: { grant_type: 'password', client_id: narrowApp.clientId } });
  await call('POST', '/oauth/token', 400, { form: { grant_type: 'client_credentials', client_id: narrowApp.clientId,
                                                    client_secret: narrowApp.clientSecret, scope: 'admin:all' } });
  await call('POST', '/oauth/token', 400, { body: '[1]', headers: { 'Content-Type': 'application/json' } });
  await call('POST', '/oauth/token', 401, { form: { grant_type: 'client_credentials', client_id: narrowApp.clientId,
                                                    client_secret: 'wrong' } });
  await call('POST', '/oauth/token', 413, { body: 'a'.repeat(70_000), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  await call('GET', '/oauth/token', 405, { auth: null });
  await call('GET', '/api/v1/oauth/applications', 403, { auth: narrow });
  await call('POST', '/api/v1/oauth/applications', 403, { auth: narrow, json: { name: 'y', scopes: ['read:user'] } });
  const gone = json(await call('POST', '/api/v1/oauth/applications', 201, { json: { name: 'gone', scopes: ['read:webhooks'] } }));
  await call('GET', `/api/v1/oauth/applications/${gone.id}`, 405);
  await call('DELETE', `/api/v1/oauth/applications/${gone.id}`, 403, { auth: narrow });
  await call('DELETE', `/api/v1/oauth/applications/${gone.id}`, 204);
  await call('DELETE', `/api/v1/oauth/applications/${gone.id}`, 404);
  await call('DELETE', `/api/v1/oauth/applications/${gone.id}`, 401, { auth: null });

  // registered users
  const U = '/api/v1/registered-users/';
  await call('POST', U, 401, { auth: null, json: { origin_user_id: 'u1', origin_user_name: 'Ada' } });
  await call('POST', U, 403, { auth: narrow, json: { origin_user_id: 'u1', origin_user_name: 'Ada' } });
  const user = json(await call('POST', U, 201, { json: { origin_user_id: 'u1', origin_user_name: 'Ada',
    shared_credential_group: { origin_company_id: 'acme', origin_company_name: null } } }));
  await call('POST', U, 200, { json: { origin_user_id: 'u1', origin_user_name: 'Ada' } });
  await call('POST', U, 400, { json: { origin_user_id: 'has space', origin_user_name: '', user_type: 'ROBOT' } });
  await call('POST', U, 400, { body: 'not json', headers: { 'Content-Type': 'application/json' } });
  await call('POST', U, 413, { body: `{"origin_user_id":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('GET', U, 200);
  await call('GET', `${U}?origin_user_id=u1&page=1&page_size=1`, 200, { auth: narrow });
  await call('GET', `${U}?page=0`, 400);
  await call('GET', U, 401, { auth: null });
  await call('DELETE', U, 405);
  const UI = `${U}${user.id}/`;
  await call('GET', UI, 200, { auth: narrow });
  await call('GET', `${U}${UUID0}/`, 404);
  await call('GET', UI, 401, { auth: null });
  await call('PATCH', UI, 200, { json: { origin_user_name: 'Ada Lovelace', is_test: true } });
  await call('PUT', UI, 200, { json: { shared_credential_group: null } });
  await call('PATCH', UI, 400, { json: { is_test: 'yes' } });
  await call('PATCH', UI, 403, { auth: narrow, json: { is_test: false } });
  await call('PATCH', `${U}${UUID0}/`, 404, { json: { is_test: false } });
  await call('PUT', UI, 413, { body: `{"origin_user_name":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('POST', UI, 405, { json: {} });
  const doomed = json(await call('POST', U, 201, { json: { origin_user_id: 'doomed', origin_user_name: 'D' } }));
  await call('DELETE', `${U}${doomed.id}/`, 403, { auth: narrow });
  await call('DELETE', `${U}${doomed.id}/`, 204);
  await call('DELETE', `${U}${doomed.id}/`, 404);

  // callback origins
  const O = '/api/v1/callback-origins/';
  await call('POST', O, 201, { json: { origin: 'https://app.example.com' } });
  await call('POST', O, 400, { json: { origin: 'https://app.example.com' } });
  await call('POST', O, 400, { json: { origin: 'https://app.example.com/path' } });
  await call('POST', O, 403, { auth: narrow, json: { origin: 'https://b.example.com' } });
  await call('POST', O, 401, { auth: null, json: { origin: 'https://b.example.com' } });
  await call('POST', O, 413, { body: `{"origin":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('GET', O, 200);
  await call('GET', O, 403, { auth: narrow });
  await call('POST', O, 201, { json: { origin: 'https://b.example.com' } });
  await call('DELETE', `${O}?origin=${encodeURIComponent('https://b.example.com')}`, 204);
  await call('DELETE', `${O}?origin=${encodeURIComponent('https://b.example.com')}`, 404);
  await call('DELETE', O, 400);
  await call('PUT', O, 405, { json: {} });

  // link tokens
  const LT = `${UI}link-token/`;
  const link = json(await call('POST', LT, 201, { json: { connector: 'slack', callback_url: 'https://app.example.com/done',
                                                          state: 's1' } }));
  await call('POST', LT, 400, { json: { connector: 'slack', state: 's1' } });
  await call('POST', LT, 400, { json: { connector: '', callback_url: 'https://evil.example.net/' } });
  await call('POST', LT, 403, { auth: narrow, json: { connector: 'slack' } });
  await call('POST', LT, 401, { auth: null, json: { connector: 'slack' } });
  await call('POST', `${U}${UUID0}/link-token/`, 404, { json: { connector: 'slack' } });
  await call('POST', LT, 413, { body: `{"connector":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('GET', LT, 405);
  const GL = `/api/registered-users/${user.id}/link-token`;
  const picker = json(await call('POST', GL, 201, { json: {} }));
  await call('POST', GL, 201, { json: { Connector: 'github' } });
  await call('POST', GL, 400, { json: { Connector: 7 } });
  await call('POST', GL, 403, { auth: narrow, json: {} });
  await call('POST', GL, 401, { auth: null, json: {} });
  await call('POST', `/api/registered-users/${UUID0}/link-token`, 404, { json: {} });
  await call('POST', GL, 413, { body: `{"Connector":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('DELETE', GL, 405);
  const UL = '/api/chat/v1/link-token';
  const unified = { end_user_email_address: 'ada@example.com', end_user_organization_name: 'Acme',
                    end_user_origin_id: 'u2', categories: ['chat'], integration: 'slack' };
  await call('POST', UL, 200, { json: unified });
  await call('POST', UL, 200, { json: { ...unified, should_create_magic_link_url: true, link_expiry_mins: 1440 } });
  await call('POST', UL, 400, { json: { ...unified, categories: [], link_expiry_mins: 5 } });
  await call('POST', UL, 403, { auth: narrow, json: unified });
  await call('POST', UL, 401, { auth: null, json: unified });
  await call('POST', '/api/nocategory/v1/link-token', 404, { json: unified });
  await call('POST', UL, 413, { body: `{"integration":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('GET', UL, 405);

  // the Link page (proxy listener)
  const linkPath = new URL(link.magic_link_url).pathname;
  await page('GET', linkPath, 200, { auth: null });
  await page('HEAD', linkPath, 200, { auth: null });
  await page('POST', linkPath, 400, { auth: null, form: { api_key: '' } });
  await page('POST', linkPath, 413, { auth: null, form: { api_key: 'k'.repeat(9000) } });
  await page('PUT', linkPath, 405, { auth: null });
  await page('GET', linkPath, 431, { auth: null, headers: { 'X-Big': 'a'.repeat(20_000) } });
  await page('GET', '/_authrelay/link/ltk_00000000000000000000000000000000', 404, { auth: null });
  const done = await page('POST', linkPath, 303, { auth: null, form: { api_key: 'sk-test-123' } });
  assert.ok(done.headers.location?.startsWith('https://app.example.com/done?state=s1'), `Location ${done.headers.location}`);
  await page('POST', linkPath, 410, { auth: null, form: { api_key: 'sk-test-456' } });
  await page('GET', linkPath, 410, { auth: null });
  const pickerPath = new URL(picker.magic_link_url).pathname;
  await page('GET', pickerPath, 200, { auth: null });
  await page('POST', pickerPath, 400, { auth: null, form: { api_key: 'x' } });
  await page('GET', `${pickerPath}?connector=not-in-the-catalog`, 400, { auth: null });
  await page('POST', pickerPath, 200, { auth: null, form: { decline: '1' } });
  // an OAuth2 connector: to the provider and back
  await call('POST', '/api/v1/application-credentials/', 201,
             { json: { connector_slug: 'github', client_id: 'gh-client', client_secret: 'gh-secret',
                       is_global_default: true } });
  async function signIn(body, code, expect) {
    const l = json(await call('POST', LT, 201, { json: body }));
    const p = new URL(l.magic_link_url).pathname;
    await page('HEAD', p, 200, { auth: null });
    await page('POST', p, 405, { auth: null, form: { api_key: 'x' } });
    const begin = async () => {
      const r = await page('GET', p, 302, { auth: null });
      const state = new URL(r.headers.location).searchParams.get('state');
      return { target: `/_authrelay/oauth/callback?code=${code}&state=${encodeURIComponent(state)}`,
               cookie: (r.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ') };
    };
    const other = await begin(); // that sign-in ends here: back without the cookie, another browser
    await page('GET', other.target, 400, { auth: null });
    const flow = await begin();
    await page('GET', flow.target, expect, { auth: null, headers: { Cookie: flow.cookie } });
    return flow;
  }
  const first = await signIn({ connector: 'github' }, 'good', 200);
  await page('GET', first.target, 400, { auth: null, headers: { Cookie: first.cookie } }); // used already
  await signIn({ connector: 'github', callback_url: 'https://app.example.com/done' }, 'good', 303);
  await signIn({ connector: 'github' }, 'refuse', 502);
  const noApp = json(await call('POST', LT, 201, { json: { connector: 'gitlab' } }));
  await page('GET', new URL(noApp.magic_link_url).pathname, 503, { auth: null });
  await page('GET', '/_authrelay/oauth/callback', 400, { auth: null });
  await page('GET', '/_authrelay/oauth/callback?code=c&state=unknown', 400, { auth: null });
  await page('DELETE', '/_authrelay/oauth/callback', 405, { auth: null });
  await page('GET', '/_authrelay/callback?state=x', 404, { auth: null }); // embedded mode: no remote callback
  await page('PUT', '/_authrelay/callback', 405, { auth: null });

  // connections (slack was connected through the page above)
  const C = `${UI}connections/`;
  await call('GET', C, 200, { auth: narrow });
  await call('GET', `${U}origin:u1/connections/`, 200);
  await call('GET', `${U}${UUID0}/connections/`, 404);
  await call('GET', C, 401, { auth: null });
  await call('POST', C, 405);
  await call('GET', C, 413, { body: 'a'.repeat(70_000) });
  const credsApp = json(await call('POST', '/api/v1/oauth/applications', 201,
                                   { json: { name: 'tool-server', scopes: ['read:credentials'] } }));
  const creds = json(await call('POST', '/oauth/token', 200, { json: { grant_type: 'client_credentials',
    client_id: credsApp.clientId, client_secret: credsApp.clientSecret } })).access_token;
  await call('POST', `${C}slack/token`, 200, { auth: creds });
  await call('POST', `${U}origin:u1/connections/slack/token`, 200, { auth: creds });
  await call('POST', `${C}github/token`, 200, { auth: creds });
  // reconnected with a token that expires at once; the provider fails the
  // refresh: 502 once it has expired (polled, bounded)
  await signIn({ connector: 'github' }, 'short', 200);
  const expiry = Date.now() + CALL_TIMEOUT_MS;
  let refreshed;
  for (;;) {
    refreshed = await call('POST', `${C}github/token`, [200, 502], { auth: creds });
    if (refreshed.status !== 200 || Date.now() > expiry) break;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the poll's interval
  }
  assert.equal(refreshed.status, 502, 'the failed refresh of an expired token');
  await call('POST', `${C}notion/token`, 409, { auth: creds });
  await call('POST', `${C}unknown-connector/token`, 404, { auth: creds });
  await call('POST', `${U}origin:nobody-yet/connections/notion/token`, 409, { auth: creds });
  await call('POST', `${U}origin:a%20b/connections/notion/token`, 400, { auth: creds });
  await call('POST', `${U}${UUID0}/connections/slack/token`, 404, { auth: creds });
  await call('POST', `${C}slack/token`, 403, { auth: narrow });
  await call('POST', `${C}slack/token`, 200); // the owner key holds every scope
  await call('POST', `${C}slack/token`, 401, { auth: null });
  await call('POST', `${C}slack/token`, 413, { auth: creds, body: 'a'.repeat(70_000) });
  await call('GET', `${C}slack/token`, 405, { auth: creds });
  await call('DELETE', `${C}slack/`, 403, { auth: narrow });
  await call('DELETE', `${C}slack/`, 204);
  await call('DELETE', `${C}slack/`, 404);
  await call('DELETE', `${C}slack/`, 401, { auth: null });
  await call('DELETE', `${C}slack/`, 413, { body: 'a'.repeat(70_000) });
  await call('GET', `${C}slack/`, 405);

  // application credentials
  const A = '/api/v1/application-credentials/';
  const app = json(await call('POST', A, 201, { json: { connector_slug: 'github', client_id: 'Iv1.abc', client_secret: 's3cret',
                                                        external_id: 'second-app', is_global_default: false } }));
  await call('POST', A, 400, { json: { connector_slug: 'github', client_id: 'Iv1.abc', external_id: 'second-app' } });
  await call('POST', A, 400, { json: { connector_slug: 'not-in-the-catalog', client_id: 'x' } });
  await call('POST', A, 400, { json: { connector_slug: 'github', client_id: 'Iv1.abc', external_id: 'bad id' } });
  await call('POST', A, 400, { json: {} });
  await call('POST', A, 403, { auth: narrow, json: { connector_slug: 'github', client_id: 'x' } });
  await call('POST', A, 401, { auth: null, json: {} });
  await call('POST', A, 413, { body: `{"client_id":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('GET', A, 200);
  await call('GET', `${A}?connector_slug=github`, 200);
  await call('GET', A, 403, { auth: narrow });
  await call('DELETE', A, 405);
  const AI = `${A}${app.id}/`;
  await call('GET', AI, 200);
  await call('GET', AI, 403, { auth: narrow });
  await call('GET', AI, 401, { auth: null });
  await call('GET', `${A}${UUID0}/`, 404);
  await call('PATCH', AI, 200, { json: { client_secret: 'n3w', external_id: 'ext-1' } });
  await call('PATCH', AI, 400, { json: { connector_slug: 'slack' } });
  await call('PATCH', `${A}${UUID0}/`, 404, { json: {} });
  await call('PATCH', AI, 413, { body: `{"client_id":"${'a'.repeat(70_000)}"}`, headers: { 'Content-Type': 'application/json' } });
  await call('POST', AI, 405, { json: {} });
  await call('DELETE', AI, 204);
  await call('DELETE', AI, 404);

  // a body holding U+0000 is refused first, whatever the method
  const nul = { body: '{"a":"x\0"}', headers: { 'Content-Type': 'application/json' } }; // a raw NUL byte
  for (const [m, t] of [['GET', `${U}${user.id}/`], ['DELETE', `${U}${user.id}/`], ['GET', C],
                        ['DELETE', `${C}slack/`], ['GET', A], ['GET', `${A}${UUID0}/`], ['DELETE', `${A}${UUID0}/`],
                        ['GET', O], ['GET', '/api/v1/oauth/applications'],
                        ['DELETE', `/api/v1/oauth/applications/${UUID0}`], ['POST', '/oauth/token']]) {
    await call(m, t, 400, nul);
  }

  await liveLimits(ctx, call, user.id);
  ctx.narrow = narrow;
}

// The events feed and the stream commands, on streams paused for real.
async function liveStreams(ctx) {
  const { call, json } = caller(ctx);
  const { narrow } = ctx;
  // the events feed
  await call('GET', '/v1/events', 200, { untilHead: true });
  await call('GET', '/v1/events?registered_user=u1', 200, { untilHead: true, headers: { 'Last-Event-ID': '1' } });
  await call('GET', `/v1/events?registered_user=${'a'.repeat(300)}`, 400);
  await call('GET', '/v1/events', 403, { auth: narrow });
  await call('GET', '/v1/events', 401, { auth: null });
  await call('POST', '/v1/events', 405, { auth: null });

  // streams: one paused on an auth-required event
  const s = await pausedStream(ctx, 'stream-user');
  try {
    const list = json(await call('GET', '/v1/streams', 200));
    const id = list.streams?.[0]?.stream_id;
    assert.ok(id, `no paused stream listed: ${JSON.stringify(list)}`);
    await call('GET', '/v1/streams', 403, { auth: narrow });
    await call('GET', '/v1/streams', 401, { auth: null });
    await call('POST', '/v1/streams', 405);
    await call('GET', `/v1/streams/${id}`, 200);
    await call('GET', '/v1/streams/st_9_999999', 404);
    await call('GET', `/v1/streams/${id}`, 403, { auth: narrow });
    await call('GET', `/v1/streams/${id}`, 401, { auth: null });
    await call('DELETE', `/v1/streams/${id}`, 405);
    await call('POST', `/v1/streams/${id}/resume?pause=0`, 400);
    await call('POST', `/v1/streams/${id}/resume?pause=2`, 409);
    await call('POST', `/v1/streams/${id}/resume`, 403, { auth: narrow });
    await call('POST', `/v1/streams/${id}/resume`, 401, { auth: null });
    await call('POST', '/v1/streams/st_9_999999/resume', 404);
    await call('GET', `/v1/streams/${id}/resume`, 405);
    await call('POST', `/v1/streams/${id}/cancel?pause=1&pause=1`, 400);
    await call('POST', `/v1/streams/${id}/cancel?pause=3`, 409);
    await call('POST', `/v1/streams/${id}/cancel`, 403, { auth: narrow });
    await call('POST', `/v1/streams/${id}/cancel`, 401, { auth: null });
    await call('POST', '/v1/streams/st_9_999999/cancel', 404);
    await call('GET', `/v1/streams/${id}/cancel`, 405);
    await call('POST', `/v1/streams/${id}/cancel?pause=1`, 202);
    await call('POST', `/v1/streams/${id}/resume?pause=1`, [409, 404]); // ended; gone once the stream ended
  } finally {
    s.req.destroy();
  }
  const s2 = await pausedStream(ctx, 'stream-user-2');
  try {
    const id = json(await call('GET', '/v1/streams', 200)).streams.find((x) => x.registered_user === 'stream-user-2')?.stream_id;
    await call('POST', `/v1/streams/${id}/resume`, 202);
  } finally {
    s2.req.destroy();
  }
}

// Every section against the embedded link service; the drain last (the
// relay stops).
export async function live(ctx, relay) {
  const { call, json } = caller(ctx);
  await liveHealth(ctx);
  await liveLinkService(ctx);
  await liveStreams(ctx);
  const membersApp = json(await call('POST', '/api/v1/oauth/applications', 201,
                                     { json: { name: 'members', scopes: ['read:members'] } }));
  const members = json(await call('POST', '/oauth/token', 200, { form: { grant_type: 'client_credentials',
    client_id: membersApp.clientId, client_secret: membersApp.clientSecret } })).access_token;
  await sweepAuth(ctx, members);
  await liveDrain(ctx, relay);
}

// Every operation that takes a bearer, called without one (401) and with a
// token holding only read:members, which no operation needs (403): path
// parameters filled with values of the right shape.
async function sweepAuth(ctx, memberToken) {
  const { call } = caller(ctx);
  const fill = { id: UUID0, stream_id: 'st_9_999999', connector: 'slack',
                 category: 'chat', flow_id: 'flow_x', token: 'ltk_00000000000000000000000000000000' };
  for (const { template, method, op } of operations(ctx.doc)) {
    const key = `${method.toUpperCase()} ${template}`;
    const security = op.security ?? ctx.doc.security ?? [];
    if (security.length === 0 || security.some((req) => Object.keys(req).length === 0) || ctx.skipped.includes(key)) {
      continue; // open to all, or not routed by this authrelay
    }
    const target = template.replace(/\{([^}]+)\}/g, (_, name) => fill[name]);
    await call(method.toUpperCase(), target, 401, { auth: null });
    await call(method.toUpperCase(), target, 403, { auth: memberToken });
  }
}

// A third authrelay with link binding (link.verifier_url: the browser goes
// to the app's verifier, here nowhere, before anything is stored): the app's
// confirmation and the done page.
export async function liveBinding(ctx) {
  const { call, page, json } = caller(ctx);
  const user = json(await call('POST', '/api/v1/registered-users/', 201,
                               { json: { origin_user_id: 'bind-user', origin_user_name: 'B' } }));
  const LT = `/api/v1/registered-users/${user.id}/link-token/`;
  const confirm = (flow) => `/api/v1/link-flows/${flow}/confirm`;
  // the API-key form of a new link: the flow_id the verifier gets
  async function formFlow() {
    const link = json(await call('POST', LT, 201, { json: { connector: 'slack' } }));
    const r = await page('POST', new URL(link.magic_link_url).pathname, 303, { auth: null, form: { api_key: 'sk-bind' } });
    return { link, flow: new URL(r.headers.location).searchParams.get('flow_id') };
  }
  const refused = await formFlow();
  await call('POST', confirm(refused.flow), 409, { json: { origin_user_id: 'someone-else' } });
  await page('GET', `/_authrelay/link-flows/done?flow_id=${refused.flow}`, 403, { auth: null });
  const ok = await formFlow();
  await call('POST', confirm(ok.flow), 400, { json: { origin_user_id: 'has space' } });
  await call('POST', confirm(ok.flow), 400, { json: {} });
  await call('POST', confirm(ok.flow), 200, { json: { origin_user_id: 'bind-user' } });
  await call('POST', confirm(ok.flow), 404, { json: { origin_user_id: 'bind-user' } });
  await call('POST', confirm(ok.flow), 413, { body: `{"origin_user_id":"${'a'.repeat(70_000)}"}`,
                                              headers: { 'Content-Type': 'application/json' } });
  const ended = await formFlow(); // then "Not now" on the page: the link ends before the confirmation
  await page('POST', new URL(ended.link.magic_link_url).pathname, 200, { auth: null, form: { decline: '1' } });
  await call('POST', confirm(ended.flow), 410, { json: { origin_user_id: 'bind-user' } });
  await call('GET', confirm(ok.flow), 405);
  await page('GET', `/_authrelay/link-flows/done?flow_id=${ok.flow}`, 200, { auth: null });
  await page('GET', '/_authrelay/link-flows/done?flow_id=lbf_00000000000000000000000000000000', 404, { auth: null });
  await page('PUT', '/_authrelay/link-flows/done', 405, { auth: null });
}

// A second authrelay in remote mode (link_service.url: the provider
// stand-in, which refuses everything; nothing here reaches it): the
// connections API keeps no credentials there (501), and the remote's
// callback is routed.
export async function liveRemote(ctx) {
  const { call, page } = caller(ctx);
  const C = '/api/v1/registered-users/origin:u1/connections/';
  await call('GET', C, 501);
  await call('DELETE', `${C}slack/`, 501);
  await call('POST', `${C}slack/token`, 501);
  await page('GET', '/_authrelay/callback', 400, { auth: null });
  await page('GET', '/_authrelay/callback?state=unknown', 400, { auth: null });
}

// SIGTERM with a stream still relaying: authrelay drains, /readyz says so.
async function liveDrain(ctx, relay) {
  const { call } = caller(ctx);
  const stream = await new Promise((resolve, reject) => {
    const req = http.get(`${ctx.proxyUrl}/stream?format=sse&count=100&rate=2`,
                         { headers: { 'X-Registered-User-Id': 'drain-user' }, agent: false },
                         (res) => res.once('data', () => resolve(req)));
    req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error('timeout: the draining stream')));
    req.on('error', reject);
  });
  try {
    relay.child.kill('SIGTERM');
    const deadline = Date.now() + CALL_TIMEOUT_MS;
    let res;
    do {
      res = await request(ctx.controlUrl, 'GET', '/readyz');
    } while (res.status === 200 && Date.now() < deadline);
    await call('GET', '/readyz', 503, { auth: null });
    await call('HEAD', '/readyz', 503, { auth: null });
  } finally {
    stream.destroy();
  }
}
