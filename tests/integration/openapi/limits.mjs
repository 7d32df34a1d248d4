// limits: the request limits the document states (maxLength, minLength,
// maxItems, minimum, maximum of a request body's members), checked on the
// running authrelay at the boundary: a value at the limit is taken (the
// operation's success status), one past it is refused 400 with an error on
// that field. A limit the document states wrongly, either way, fails the test.

import { fail } from './conformance.mjs';

// The JSON request body schema of operation opId.
function bodySchema(doc, opId) {
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      if (op && op.operationId === opId) return op.requestBody.content['application/json'].schema;
    }
  }
  throw new Error(`no operation ${opId}`);
}

// [what, value at the limit, value past it] for each limit schema s states.
function boundaryValues(s) {
  const out = [];
  const ch = (n) => 'a'.repeat(n);
  if (s.maxLength !== undefined) out.push([`maxLength ${s.maxLength}`, ch(s.maxLength), ch(s.maxLength + 1)]);
  if (s.minLength !== undefined && s.minLength > 0) out.push([`minLength ${s.minLength}`, ch(s.minLength), ch(s.minLength - 1)]);
  if (s.maxItems !== undefined && s.items?.enum) {
    const item = s.items.enum[0];
    out.push([`maxItems ${s.maxItems}`, Array(s.maxItems).fill(item), Array(s.maxItems + 1).fill(item)]);
  }
  if (s.minItems !== undefined && s.minItems > 0 && s.items?.enum) {
    out.push([`minItems ${s.minItems}`, Array(s.minItems).fill(s.items.enum[0]), Array(s.minItems - 1).fill(s.items.enum[0])]);
  }
  if (s.minimum !== undefined) out.push([`minimum ${s.minimum}`, s.minimum, s.minimum - 1]);
  if (s.maximum !== undefined) out.push([`maximum ${s.maximum}`, s.maximum, s.maximum + 1]);
  return out;
}

// For operation opId at target: base(n) is a valid body (n makes it unique),
// ok the success status(es); fields the members whose limits are checked.
async function checkLimits(ctx, call, opId, target, base, ok, fields) {
  const props = bodySchema(ctx.doc, opId).properties;
  let n = 0;
  for (const field of fields) {
    const s = props[field];
    if (!s) {
      fail(`${opId}: the document has no member ${field}`);
      continue;
    }
    const cases = boundaryValues(s);
    if (cases.length === 0) fail(`${opId}.${field}: the document states no limit`);
    for (const [what, atLimit, past] of cases) {
      n++;
      const at = await call('POST', target, ok, { json: { ...base(n), [field]: atLimit } });
      if (![ok].flat().includes(at.status)) fail(`${opId}.${field} ${what}: the value at the limit was refused`);
      n++;
      const over = await call('POST', target, 400, { json: { ...base(n), [field]: past } });
      let errs = {};
      try { errs = JSON.parse(over.body); } catch { /* reported by the status check */ }
      if (over.status !== 400 || !Array.isArray(errs[field])) {
        fail(`${opId}.${field} ${what}: the value past the limit was not refused with an error on ${field}: ${over.body.slice(0, 200)}`);
      }
    }
  }
}

// The limits of the create operations' bodies (members whose values need
// no catalog entry, allowed origin or existing row).
export async function liveLimits(ctx, call, userId) {
  const tag = `${Date.now().toString(36)}`;
  await checkLimits(ctx, call, 'createRegisteredUser', '/api/v1/registered-users/',
                    (n) => ({ origin_user_id: `lim-${tag}-${n}`, origin_user_name: 'n' }), [201, 200],
                    ['origin_user_id', 'origin_user_name']);
  await checkLimits(ctx, call, 'createUnifiedLinkToken', '/api/chat/v1/link-token',
                    (n) => ({ end_user_email_address: 'e@example.com', end_user_organization_name: 'o',
                              end_user_origin_id: `lim-${tag}-${n}`, categories: ['chat'], integration: 'slack',
                              should_create_magic_link_url: true }), 200,
                    ['end_user_email_address', 'end_user_organization_name', 'end_user_origin_id', 'categories',
                     'link_expiry_mins']);
  await checkLimits(ctx, call, 'createApplicationCredential', '/api/v1/application-credentials/',
                    (n) => ({ connector_slug: 'slack', client_id: 'c', external_id: `lim-${tag}-${n}` }), 201,
                    ['client_id', 'client_secret', 'external_id']);
  await checkLimits(ctx, call, 'createOAuthApplication', '/api/v1/oauth/applications',
                    (n) => ({ name: `lim-${tag}-${n}`, scopes: ['read:user'] }), 201, ['name', 'description']);
  await checkLimits(ctx, call, 'createLinkToken', `/api/v1/registered-users/${userId}/link-token/`,
                    () => ({ connector: 'slack', callback_url: 'https://app.example.com/done' }), 201, ['state']);
}
