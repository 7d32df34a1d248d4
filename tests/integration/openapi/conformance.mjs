// conformance: the document side of the OpenAPI check (openapi.test.mjs):
// what swagger-parser leaves out (lintDocument), an answer checked against
// the operation it belongs to (checkAnswer: status, Content-Type, body by
// ajv), and the coverage of operations x statuses. No network here.

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let checked = 0;
const failures = [];

export function fail(what) {
  failures.push(what);
  console.log(`FAIL: ${what}`);
}

// How many answers were checked, and the failures so far.
export function summary() {
  return { checked, failed: failures.length };
}

// Every {name} in a path template, in order.
function templateParams(template) {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

export function* operations(doc) {
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (item[method]) yield { template, item, method, op: item[method] };
    }
  }
}

// What swagger-parser does not check, on the dereferenced document.
export function lintDocument(doc, ajv) {
  const ids = new Map();
  for (const { template, item, method, op } of operations(doc)) {
    const where = `${method.toUpperCase()} ${template}`;
    if (!op.operationId) fail(`${where}: no operationId`);
    else if (ids.has(op.operationId)) fail(`${where}: operationId ${op.operationId} also on ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, where);
    const declared = new Set([...(item.parameters ?? []), ...(op.parameters ?? [])]
      .filter((p) => p.in === 'path').map((p) => p.name));
    for (const name of templateParams(template)) {
      if (!declared.has(name)) fail(`${where}: path parameter {${name}} not declared`);
    }
    const media = [];
    for (const [status, resp] of Object.entries(op.responses ?? {})) {
      for (const [type, m] of Object.entries(resp.content ?? {})) media.push([`${status} ${type}`, m]);
    }
    for (const [type, m] of Object.entries(op.requestBody?.content ?? {})) media.push([`request ${type}`, m]);
    for (const [what, m] of media) {
      const examples = [];
      if (m.example !== undefined) examples.push(m.example);
      for (const e of Object.values(m.examples ?? {})) if (e.value !== undefined) examples.push(e.value);
      for (const value of examples) {
        if (!m.schema || typeof value !== 'object') continue; // text bodies: strings
        const validate = compile(ajv, m.schema);
        if (!validate(value)) {
          fail(`${where} ${what}: its example does not match its schema: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
  }
  for (const [template, item] of Object.entries(doc.paths)) {
    if (!item['x-method-not-allowed']) fail(`${template}: no x-method-not-allowed`);
  }
}

// One ajv validator per schema object (the dereferenced document shares them).
const compiled = new WeakMap();
function compile(ajv, schema) {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

// The path item of a concrete path: a literal segment beats a template one.
function findPath(doc, pathname) {
  const segs = pathname.split('/');
  let best = null;
  for (const template of Object.keys(doc.paths)) {
    const t = template.split('/');
    if (t.length !== segs.length) continue;
    let score = 0;
    let ok = true;
    for (let i = 0; i < t.length && ok; i++) {
      if (/^\{[^}]+\}$/.test(t[i])) ok = segs[i].length > 0;
      else if (t[i] === segs[i]) score++;
      else ok = false;
    }
    if (ok && (best === null || score > best.score)) best = { template, score };
  }
  return best?.template ?? null;
}

const coverage = new Map(); // "METHOD template" -> Set of statuses seen

// A Content-Type without its parameters, lower case.
function mediaType(h) {
  return (h ?? '').split(';')[0].trim().toLowerCase();
}

// Checks one answer against the document; expect: the status the test
// meant to trigger (a number or a list).
export function checkAnswer(ctx, method, target, res, expect) {
  const { doc, ajv } = ctx;
  const pathname = target.split('?')[0];
  const where = `${method} ${target} -> ${res.status}`;
  checked++;
  const template = findPath(doc, pathname);
  if (template === null) {
    fail(`${where}: no path of the document matches ${pathname}`);
    return;
  }
  const item = doc.paths[template];
  const op = item[method.toLowerCase()];
  const key = `${method} ${template}`;
  let resp;
  if (op) {
    if (!coverage.has(key)) coverage.set(key, new Set());
    coverage.get(key).add(res.status);
    resp = op.responses[String(res.status)] ?? op.responses.default;
  } else {
    const k = `${method} ${template} (x-method-not-allowed)`;
    if (!coverage.has(k)) coverage.set(k, new Set());
    coverage.get(k).add(res.status);
    // 405, or an answer given before the method is looked at (authentication,
    // the body's checks, an unknown id), as the path's operations document it
    if (res.status === 405) resp = item['x-method-not-allowed'];
    else if ([400, 401, 403, 404, 413, 503].includes(res.status)) {
      resp = METHODS.map((m) => item[m]?.responses?.[String(res.status)]).find((r) => r !== undefined);
    }
  }
  const wanted = [expect].flat();
  if (!wanted.includes(res.status)) fail(`${where}: the test expected ${wanted.join(' or ')}: ${res.body.slice(0, 300)}`);
  if (!resp) {
    fail(`${where}: status ${res.status} is not in the document for ${key}: ${res.body.slice(0, 300)}`);
    return;
  }
  const content = resp.content ?? {};
  if (method === 'HEAD') return; // no body; its head is GET's
  if (Object.keys(content).length === 0) {
    if (res.body.length > 0) fail(`${where}: the document has no body for it; got ${res.body.slice(0, 200)}`);
    return;
  }
  const type = mediaType(res.headers['content-type']);
  const media = Object.entries(content).find(([t]) => mediaType(t) === type)?.[1];
  if (!media) {
    fail(`${where}: Content-Type ${type} is not one of ${Object.keys(content).join(', ')}`);
    return;
  }
  if (type === 'application/json') {
    let value;
    try { value = JSON.parse(res.body); } catch (e) {
      fail(`${where}: the body is not JSON: ${res.body.slice(0, 200)}`);
      return;
    }
    const validate = compile(ajv, media.schema);
    if (!validate(value)) fail(`${where}: the body does not match the schema: ${ajv.errorsText(validate.errors)}: ${res.body.slice(0, 300)}`);
  } else if (media.schema?.type === 'string' && typeof res.body !== 'string') {
    fail(`${where}: not a text body`);
  }
  const location = resp.headers?.Location;
  if (location && !res.headers.location) fail(`${where}: no Location header`);
  if (resp.headers?.['WWW-Authenticate'] && res.headers['www-authenticate'] !== 'Bearer') {
    fail(`${where}: WWW-Authenticate is ${res.headers['www-authenticate']}`);
  }
}

export function coverageTable(doc, skipped) {
  console.log('# coverage: operation, statuses seen (*: documented, not triggered here)');
  const rows = [];
  for (const { template, method, op } of operations(doc)) {
    const key = `${method.toUpperCase()} ${template}`;
    const seen = coverage.get(key) ?? new Set();
    const documented = Object.keys(op.responses);
    const cells = documented.map((s) => (seen.has(Number(s)) ? s : `${s}*`));
    rows.push([key, cells.join(' ')]);
    if (seen.size === 0 && !skipped.includes(key)) fail(`${key}: never called`);
    const x = coverage.get(`${key.split(' ')[0]} ${template} (x-method-not-allowed)`);
    if (x) rows.push([`${key.split(' ')[0]} ${template} (x-method-not-allowed)`, [...x].join(' ')]);
  }
  for (const [key, statuses] of coverage) {
    if (key.endsWith('(x-method-not-allowed)')) rows.push([key, [...statuses].join(' ')]);
  }
  const unique = new Map(rows.map(([k, v]) => [k, v]));
  const width = Math.max(...[...unique.keys()].map((k) => k.length));
  for (const [k, v] of unique) console.log(`#   ${k.padEnd(width)}  ${v}`);
}
