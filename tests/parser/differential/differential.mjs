// Differential test: authrelay-scan (the SSE framer of parser/) against the npm package
// eventsource-parser (pinned in package.json / package-lock.json), on thousands of
// generated streams full of edge cases, each run at several chunk sizes.
//
// Usage: AUTHRELAY_SCAN=/path/to/authrelay-scan node differential.mjs
// Environment:
//   AUTHRELAY_SCAN  path of the authrelay-scan binary (required)
//   DIFF_SEED       PRNG seed (unsigned 32-bit integer; default below), printed first
//   DIFF_STREAMS    number of generated streams (default 3000; fixed streams come on top)
//   DIFF_JOBS       authrelay-scan processes run at once (default: available CPUs)
//
// How a stream is checked. Every stream is run through authrelay-scan at two chunk sizes
// out of 1, 2, 3, 4, 7, 64 and 65536 (rotating across streams, so every size is used
// about 900 times), each run a separate process. For each run:
//   1. authrelay-scan exits 0 with nothing on stderr (ASan/UBSan reports fail the run),
//      every stdout line is a JSON object, and nothing but "event"/"retry" lines appears
//      (the generated data never contains detector trigger strings, and every event is
//      far below the 1 MiB oversized limit).
//   2. Its stdout is byte-identical to the stream's run at the first chunk size,
//      "bytes" spans included: the output must not depend on chunking.
//   3. The sequence of events and retry values equals what eventsource-parser reports
//      for the same bytes fed at the same chunk size. The bytes reach
//      eventsource-parser the way a browser's EventSource gets them: decoded with one
//      streaming TextDecoder('utf-8') (UTF-8 decode: a BOM at stream start is
//      stripped, invalid bytes become U+FFFD), chunk by chunk, each decoded string
//      given to parser.feed(). Compared, per item, in stream order:
//        - event name: eventsource-parser gives undefined when the event field is
//          absent or empty (WHATWG type "message"); authrelay-scan omits "event" then.
//        - data: identical strings (authrelay-scan replaces invalid UTF-8 as
//          TextDecoder does; line ends and ':' / ' ' are ASCII, so decoding each
//          field separately and decoding the whole stream agree).
//        - id: both implement "the id set by an id line of this event's block"
//          (eventsource-parser resets its id after every blank line; authrelay's
//          ev.id is per event by design, see parser/SEMANTICS.md). That is not
//          WHATWG's lastEventId (which is inherited by later events), but the two
//          coincide, so ids are compared, with deviation (C) below.
//        - retry: the value of each retry line that WHATWG accepts (only ASCII
//          digits, non-empty), with deviation (D) below.
//   4. The "bytes" spans are sane: increasing, non-overlapping, within the stream,
//      starting at the beginning of a field line (not at a line end or a comment) and
//      ending just after a line end; and the bytes of each span, given alone to a
//      fresh eventsource-parser, produce exactly that one event.
// A (stream, chunk size) run passes when all four hold.
//
// Where eventsource-parser 3.0.6 deviates from WHATWG (read in node_modules/
// eventsource-parser/src/parse.ts), the input class is handled explicitly, never
// skipped silently; each handling is counted and printed in the summary:
//   (A) Trailing CR. splitLines() keeps a CR that is the last character it has seen as
//       an incomplete line (it might be the first half of a CRLF). When the stream ends
//       right after that CR, the line it terminates is never processed (reset({consume})
//       would parse "\r" as an unknown field). WHATWG: a CR followed by the end of the
//       stream is a complete line end. Handling: when the decoded stream ends with CR,
//       one LF is fed after it; "X CR LF" at end of stream is exactly "X CR" for WHATWG.
//   (B) BOM regex. feed() strips /^\xEF\xBB\xBF/ from the first chunk *string*, i.e. the
//       three characters U+00EF U+00BB U+00BF ("ï»¿", the bytes C3 AF C2 BB C2 BF), not
//       a BOM (U+FEFF; the TextDecoder strips the real BOM). WHATWG: "ï»¿" is ordinary
//       text. Handling: when the decoded stream starts with those three characters, a
//       single LF is fed first, so they are not in the first chunk; a blank line at
//       the start of a stream, with no data pending, does nothing in WHATWG.
//   (C) id with NUL. `id = value.includes('\0') ? undefined : value` clears an id set
//       earlier in the same block; WHATWG says such an id field is ignored (authrelay
//       follows WHATWG). Handling: an event whose eventsource-parser id is undefined
//       while authrelay reports an id is accepted only when the event's own lines (its
//       "bytes" span) hold an id line with NUL and authrelay's id is the value of the
//       last NUL-free id line among them; authrelay ids must never hold NUL.
//   (D) Big retry values. onRetry(parseInt(value, 10)) is a double, exact only up to
//       2^53 - 1; authrelay saturates at 2^64 - 1. Handling: values up to 2^53 - 1 must
//       be equal; above, authrelay's value must be >= 2^53 and round to the same double
//       (or be 2^64 - 1, saturated, when eventsource-parser's double is >= 2^64).
// End of stream: an unterminated last event is not dispatched and an unterminated last
// line is not processed by either side (WHATWG "pending data must be discarded");
// eventsource-parser's reset({consume: true}) is therefore not called.

import { spawn } from 'node:child_process';
import os from 'node:os';
import { createParser } from 'eventsource-parser';

const SCAN = process.env.AUTHRELAY_SCAN;
if (!SCAN) {
  console.error('differential: set AUTHRELAY_SCAN to the authrelay-scan binary');
  process.exit(2);
}
const SEED = process.env.DIFF_SEED !== undefined ? Number(process.env.DIFF_SEED) >>> 0 : 20240611;
const NSTREAMS = process.env.DIFF_STREAMS !== undefined ? Number(process.env.DIFF_STREAMS) : 3000;
const JOBS = Math.max(1, Number(process.env.DIFF_JOBS) || os.availableParallelism?.() || os.cpus().length);
const CHUNK_SIZES = [1, 2, 3, 4, 7, 64, 65536];
const MAX_FAILURES_SHOWN = 5;

console.log(`differential: seed ${SEED} (set DIFF_SEED to change), ${NSTREAMS} generated streams, ` +
  `${JOBS} jobs, authrelay-scan ${SCAN}`);

// ---------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers.

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(SEED);
const int = (n) => Math.floor(rng() * n); // 0 .. n-1
const chance = (p) => rng() < p;
const pick = (arr) => arr[int(arr.length)];
function weighted(table) { // [[weight, value], ...]
  let total = 0;
  for (const [w] of table) total += w;
  let r = rng() * total;
  for (const [w, v] of table) {
    if ((r -= w) < 0) return v;
  }
  return table[table.length - 1][1];
}

const B = (x) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : Buffer.from(x));
const BOM = B([0xef, 0xbb, 0xbf]);
const MOJIBAKE_BOM = '\u00ef\u00bb\u00bf'; // "ï»¿": what eventsource-parser's regex strips

// ---------------------------------------------------------------------------
// Stream generator. Builds byte strings (Buffers) from pieces; nothing here predicts
// the outcome, both parsers are simply given the same bytes.

const VALID_TEXT = ['a', 'b', 'x', 'hello', 'Z9', '0', '42', ' ', '  ', '\t', ':', ': ', '::',
  '"', '\\', '{"k":"v"}', '[1,2]', 'data:', 'event: x', 'id', 'é', 'ÿ', '€', '日本語', '𝄞',
  '😀', '\u2028', '\u2029', '\ufeff', '\ufffd', '\u00ef\u00bb\u00bf', 'a b', '=', '%00'];
const CONTROL = [[0x00], [0x01], [0x08], [0x0b], [0x0c], [0x1b], [0x1f], [0x7f]];
const INVALID_UTF8 = [
  [0x80], [0xbf], [0x80, 0x80], // lone continuation bytes
  [0xc0, 0x80], [0xc1, 0xbf], // overlong 2-byte
  [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], // truncated sequences
  [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], // overlong 3-byte
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], // UTF-16 surrogates
  [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], // overlong 4-byte, > U+10FFFF
  [0xf5], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe], [0xff], [0xef, 0xbb], // bad lead, half BOM
  [0xc3, 0x28], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], // bad continuation
];

function valuePiece() {
  return weighted([
    [40, () => B(pick(VALID_TEXT))],
    [10, () => B(String(int(100000)))],
    [6, () => B(pick(CONTROL))],
    [8, () => B(pick(INVALID_UTF8))],
    [2, () => BOM],
    [3, () => B(String.fromCodePoint(0x80 + int(0x10ff7f - 0x80)).replace(/[\ud800-\udfff]/g, 'x'))],
  ])();
}

function value(maxPieces = 6) {
  const n = weighted([[15, 0], [50, 1], [35, 1 + int(maxPieces)]]);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(valuePiece());
  return Buffer.concat(parts);
}

function longValue() {
  // A long line: 300 B .. 4 KB (crosses the 256-byte event/id storage kept between
  // blocks, the 16-byte scanning of values, and every chunk size but 65536).
  const target = 300 + int(3700);
  const parts = [];
  let len = 0;
  const unit = chance(0.5) ? B(pick(['x', 'ab', '€', '𝄞', 'é'])) : null;
  while (len < target) {
    const p = unit ?? valuePiece();
    parts.push(p);
    len += p.length;
  }
  return Buffer.concat(parts);
}

function separator() {
  // zero, one or two spaces after the colon; a tab is not stripped
  return B(weighted([[30, ':'], [45, ': '], [15, ':  '], [5, ':\t'], [5, ': : ']]));
}

function eventName() {
  return weighted([
    [10, () => B('')],
    [10, () => B('message')],
    [10, () => B(pick(['update', 'ping', 'delta', 'done', 'error']))],
    [20, () => value(4)],
    [5, () => B(pick([' lead', 'trail ', 'a b', 'with:colon', 'é', '𝄞', 'event', 'data',
      'x\u0000y', '\u0000', '\ufeffname', 'MESSAGE', '\t']))],
    [3, () => longValue()],
  ])();
}

function idValue() {
  return weighted([
    [10, () => B('')],
    [20, () => B(String(int(1000)))],
    [15, () => value(4)],
    [12, () => B(pick(['a\u0000b', '\u0000', '1\u0000', '\u0000\u0000']))],
    [3, () => B(pick(['é', '日本', '\ufeff', ' 1', '1 ']))],
    [2, () => longValue()],
  ])();
}

function retryValue() {
  return weighted([
    [20, () => B(String(int(100000)))],
    [8, () => B(['0', '00', '007', '1', '9'][int(5)])],
    [6, () => B(Array.from({ length: 1 + int(25) }, () => String(int(10))).join(''))],
    [4, () => B(pick(['9007199254740991', '9007199254740992', '9007199254740993',
      '18446744073709551615', '18446744073709551616', '99999999999999999999999',
      '12345678901234567890']))],
    [6, () => B('')],
    [12, () => B(pick(['5x', 'x5', '-1', '+1', '1.5', '1e3', '5 ', ' 5', '1_000', '0x10',
      '１２', '٣', '1\u0000', 'NaN', 'Infinity', '\t1']))],
    [4, () => value(3)],
  ])();
}

const UNKNOWN_NAMES = ['dat', 'Data', 'DATA', 'datax', 'data ', ' data', 'eventx', 'Event',
  'ids', 'ID', 'retry2', 'Retry', 'foo', 'x', 'é', '\ufeffdata', 'data\u0000', 'retr',
  'evenT', 'i', 'd', 'dataa', 'events', 'idd', 'retryy'];

function fieldLine(name, v) {
  return Buffer.concat([B(name), separator(), v]);
}

// One non-blank line, without its line end.
function line() {
  return weighted([
    [30, () => fieldLine('data', value())],
    [1, () => fieldLine('data', longValue())],
    [12, () => fieldLine('event', eventName())],
    [9, () => fieldLine('id', idValue())],
    [6, () => fieldLine('retry', retryValue())],
    [6, () => Buffer.concat([B(':'), value()])], // comment
    [0.5, () => Buffer.concat([B(':'), longValue()])],
    [6, () => fieldLine(pick(UNKNOWN_NAMES), value())],
    [6, () => B(pick(['data', 'event', 'id', 'retry', 'foo', 'dat', 'é']))], // no colon
    [2, () => Buffer.concat([B(pick(UNKNOWN_NAMES)), value()])], // no colon, odd name
    [2, () => Buffer.concat([BOM, fieldLine('data', value())])], // BOM mid-stream
    [0.5, () => Buffer.concat([BOM, BOM])],
  ])();
}

function generateStream() {
  const eolMode = weighted([[30, ['\n']], [15, ['\r']], [25, ['\r\n']], [30, ['\n', '\r', '\r\n']]]);
  const eol = () => B(pick(eolMode));
  const parts = [];
  parts.push(weighted([
    [70, B('')],
    [15, BOM],
    [4, Buffer.concat([BOM, BOM])],
    [3, B([0xef])],
    [3, B([0xef, 0xbb])],
    [2, B(MOJIBAKE_BOM)],
    [3, Buffer.concat([BOM, B('\r\n')])],
  ]));
  // Blocks: a few lines, then usually a blank line (sometimes several, sometimes none,
  // which merges the block into the next one).
  const nblocks = weighted([[4, 0], [30, 1 + int(3)], [50, 3 + int(8)], [16, 8 + int(16)]]);
  for (let i = 0; i < nblocks; i++) {
    for (let k = weighted([[8, 0], [50, 1], [30, 2 + int(3)], [12, 4 + int(8)]]); k > 0; k--) {
      parts.push(line(), eol());
    }
    for (let k = weighted([[10, 0], [80, 1], [10, 2 + int(3)]]); k > 0; k--) parts.push(eol());
  }
  if (nblocks > 0 && chance(0.3)) parts.pop(); // often: the last blank line is missing
  switch (weighted([[55, 'as is'], [10, 'blank'], [12, 'line without end'], [8, 'cr'],
    [4, 'cr cr'], [4, 'crlf crlf'], [7, 'data without end']])) {
    case 'as is': break;
    case 'blank': parts.push(eol()); break;
    case 'line without end': parts.push(line()); break;
    case 'cr': parts.push(B('\r')); break;
    case 'cr cr': parts.push(B('\r\r')); break;
    case 'crlf crlf': parts.push(B('\r\n\r\n')); break;
    case 'data without end': parts.push(fieldLine('data', value())); break;
  }
  return Buffer.concat(parts);
}

// Hand-written streams, always run first.
const FIXED = [
  '', '\n', '\r', '\r\n', '\n\n\n', ':\n', ':only a comment', 'data', 'data\n', 'data\n\n',
  'data:\n\n', 'data: \n\n', 'data:  x\n\n', 'data:x\n\n', 'data: a\ndata\ndata: b\n\n',
  'data: a\r\n\r\n', 'data: a\r\r', 'data: a\r\n\r', 'data: a\n\r\n', 'data: a\r\rdata: b\r\r',
  'event\ndata: x\n\n', 'event:\ndata: x\n\n', 'event: a\nevent:\ndata: x\n\n',
  'event: a\n\ndata: x\n\n', 'id: 1\ndata: x\n\ndata: y\n\n', 'id\ndata: x\n\n',
  'id: 1\ndata: x\nid: a\u0000b\n\n', 'id: a\u0000b\ndata: x\n\n', 'id: 1\nid: \u0000\nid: 2\ndata: x\n\n',
  'retry: 1000\n', 'retry: 1000', 'retry: 10a\nretry:\nretry\nretry: 18446744073709551616\n',
  'retry: 9007199254740993\nretry: 18446744073709551615\n\n', 'retry:  5\nretry: 05\n',
  ':comment\n\n\n\ndata: x\n\n', 'data: x', 'data: x\n', 'foo: bar\n\ndata: x\n\n',
  '\ufeffdata: a\n\n', '\ufeff\ufeffdata: a\n\ndata: b\n\n', '\ufeff', '\ufeff\n',
  '\u00ef\u00bb\u00bfdata: mojibake BOM\n\n', 'data: \ufeff\n\n', 'data: 𝄞€é\n\n',
  'event: 日本\ndata: 😀\n\n', 'data: a\u0000b\n\n', 'DATA: x\n\nData: y\n\n',
  ' data: x\n\n', 'data : x\n\n', 'data:x\rdata:y\r\ndata:z\n\n',
].map((s) => B(s)).concat([
  B([0xef, 0xbb]), B([0xef]), B([0xef, 0x0a, 0x0a]), B([0xef, 0xbb, 0x0a, 0x0a]),
  B([0xef, 0xef, 0xbb, 0xbf, 0x0a]),
  Buffer.concat([B('data: '), B([0xe2, 0x82]), B('\n\n')]),
  Buffer.concat([B('data: '), B([0xe2, 0x82]), B('\ndata: '), B([0xac]), B('\n\n')]),
  Buffer.concat([B('data: '), B([0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xff, 0xf4, 0x90, 0x80, 0x80]), B('\n\n')]),
  Buffer.concat([B('event: '), B([0xc3]), B('\ndata: '), B([0xf0, 0x9f, 0x98]), B('\r\n\r\n')]),
  Buffer.concat([B('data: '), B('x'.repeat(5000)), B('\n\n')]),
  Buffer.concat([B('event: '), B('e'.repeat(300)), B('\ndata: 1\n\nevent: f\ndata: 2\n\n')]),
  Buffer.concat([B('id: '), B('i'.repeat(300)), B('\ndata: 1\n\nid: j\ndata: 2\n\n')]),
]);

// ---------------------------------------------------------------------------
// Running authrelay-scan: each (stream, chunk size) is one process; JOBS at a time.

function runScan(input, chunk) {
  return new Promise((resolve) => {
    const child = spawn(SCAN, ['--format', 'sse', '--chunk-size', String(chunk)],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.stdin.on('error', () => {}); // EPIPE if it died early: reported via status
    child.on('error', (e) => resolve({ status: -1, stdout: '', stderr: String(e) }));
    child.on('close', (status, signal) => resolve({
      status: signal ? `signal ${signal}` : status,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    }));
    child.stdin.end(input);
  });
}

async function runPool(jobs, fn, width) {
  const results = new Array(jobs.length);
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await fn(jobs[i]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------
// eventsource-parser side.

const counts = { trailingCr: 0, mojibakeBom: 0, nulIdExcused: 0, bigRetry: 0 };

// Feeds bytes to a fresh eventsource-parser, decoded by a streaming TextDecoder
// chunk by chunk (chunk = Infinity: one piece). Returns [{type, ...}] in order.
function runEsp(bytes, chunk, countDeviations) {
  const items = [];
  const parser = createParser({
    onEvent: (e) => items.push({ type: 'event', event: e.event, id: e.id, data: e.data }),
    onRetry: (ms) => items.push({ type: 'retry', ms }),
  });
  const decoder = new TextDecoder('utf-8'); // not fatal; strips a leading BOM
  let first = true;
  let last = '';
  const feed = (s) => {
    if (first && s.length > 0) {
      first = false;
      // Deviation (B): keep "ï»¿" at stream start out of the first chunk.
      if (wholeText(bytes).startsWith(MOJIBAKE_BOM)) {
        if (countDeviations) counts.mojibakeBom++;
        parser.feed('\n');
      }
    }
    if (s.length > 0) last = s[s.length - 1];
    parser.feed(s);
  };
  const step = Number.isFinite(chunk) ? chunk : Math.max(1, bytes.length);
  for (let off = 0; off < bytes.length; off += step) {
    feed(decoder.decode(bytes.subarray(off, off + step), { stream: true }));
  }
  feed(decoder.decode());
  // Deviation (A): a CR ending the stream is a line end.
  if (last === '\r') {
    if (countDeviations) counts.trailingCr++;
    parser.feed('\n');
  }
  return items;
}

const textCache = new WeakMap();
function wholeText(bytes) {
  let t = textCache.get(bytes);
  if (t === undefined) {
    t = new TextDecoder('utf-8').decode(bytes);
    textCache.set(bytes, t);
  }
  return t;
}

// For deviation (C): the lines of an event's span (WHATWG line split of its decoded
// bytes). Returns the id WHATWG gives the block (the value of its last id line without
// NUL, or undefined) and whether some id line holds NUL.
function idLinesOfSpan(bytes, span) {
  // An LF in front so that a BOM at the span start is not stripped; dropped after.
  const text = new TextDecoder('utf-8').decode(Buffer.concat([B('\n'), bytes.subarray(span[0], span[1])]));
  let id;
  let nul = false;
  for (const l of text.slice(1).split(/\r\n|\r|\n/)) {
    if (l !== 'id' && !l.startsWith('id:')) continue;
    const v = l === 'id' ? '' : l.slice(l.startsWith('id: ') ? 4 : 3);
    if (v.includes('\u0000')) nul = true;
    else id = v;
  }
  return { id, nul };
}

// ---------------------------------------------------------------------------
// Comparison.

// Parses authrelay-scan stdout. Returns {items, events, problems}.
function parseScan(stdout) {
  const problems = [];
  const items = [];
  const events = [];
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] !== '') problems.push('stdout does not end with a newline');
  lines.pop();
  for (const l of lines) {
    const m = /^\{"type":"retry","ms":(\d+)\}$/.exec(l);
    if (m) { // kept as digits: JSON.parse would round values above 2^53
      items.push({ type: 'retry', ms: m[1] });
      continue;
    }
    let o;
    try {
      o = JSON.parse(l);
    } catch (e) {
      problems.push(`stdout line is not JSON: ${l.slice(0, 200)}`);
      continue;
    }
    if (o.type !== 'event') {
      problems.push(`unexpected line: ${l.slice(0, 200)}`);
      continue;
    }
    if (o.event === '') problems.push(`event ${o.index}: "event" present but empty`);
    if (typeof o.id === 'string' && o.id.includes('\u0000')) problems.push(`event ${o.index}: id holds NUL`);
    if (o.index !== events.length) problems.push(`event index ${o.index}, expected ${events.length}`);
    const ev = { type: 'event', event: o.event, id: o.id, data: o.data, bytes: o.bytes, index: o.index };
    items.push(ev);
    events.push(ev);
  }
  return { items, events, problems };
}

const TWO53 = 2n ** 53n;
const U64MAX = 2n ** 64n - 1n;

function sameRetry(ours, esp, countDeviations) {
  if (esp <= Number.MAX_SAFE_INTEGER) return ours === String(esp);
  // Deviation (D): eventsource-parser's value is a rounded double.
  if (countDeviations) counts.bigRetry++;
  const v = BigInt(ours);
  if (v < TWO53) return false;
  if (v === U64MAX && esp >= 2 ** 64) return true; // saturated
  return Number(ours) === esp;
}

// ours: an event of authrelay-scan (with its span in bytes), esp: one of
// eventsource-parser.
function sameEvent(ours, esp, bytes, countDeviations) {
  if (ours.event !== esp.event || ours.data !== esp.data) return false;
  if (ours.id === esp.id) return true;
  // Deviation (C): eventsource-parser clears the id on an id line holding NUL. Accepted
  // only when the event's own lines have such an id line and authrelay's id is what
  // WHATWG gives (a wrong span fails check 4 anyway).
  if (esp.id === undefined && ours.id !== undefined && Array.isArray(ours.bytes)) {
    const { id, nul } = idLinesOfSpan(bytes, ours.bytes);
    if (nul && id === ours.id) {
      if (countDeviations) counts.nulIdExcused++;
      return true;
    }
  }
  return false;
}

function compareItems(ours, esp, bytes, countDeviations) {
  const problems = [];
  const n = Math.max(ours.length, esp.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = esp[i];
    if (a === undefined || b === undefined || a.type !== b.type) {
      problems.push(`item ${i}: authrelay ${show(a)} vs eventsource-parser ${show(b)}`);
      break;
    }
    const ok = a.type === 'retry' ? sameRetry(a.ms, b.ms, countDeviations)
      : sameEvent(a, b, bytes, countDeviations);
    if (!ok) {
      problems.push(`item ${i}: authrelay ${show(a)} vs eventsource-parser ${show(b)}`);
      break;
    }
  }
  return problems;
}

function show(x) {
  if (x === undefined) return '(nothing)';
  const { type, event, id, data, ms } = x;
  return JSON.stringify(type === 'retry' ? { type, ms } : { type, event, id, data });
}

const isEol = (b) => b === 0x0a || b === 0x0d;

// Check 4: spans.
function checkSpans(bytes, events) {
  const problems = [];
  const bomLen = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let prevEnd = 0;
  for (const ev of events) {
    const where = `event ${ev.index} bytes ${JSON.stringify(ev.bytes)}`;
    if (!Array.isArray(ev.bytes) || ev.bytes.length !== 2) {
      problems.push(`${where}: no span`);
      continue;
    }
    const [s, e] = ev.bytes;
    if (!(Number.isInteger(s) && Number.isInteger(e) && prevEnd <= s && s < e && e <= bytes.length)) {
      problems.push(`${where}: out of order or out of range (previous end ${prevEnd}, length ${bytes.length})`);
      break;
    }
    prevEnd = e;
    if (s < bomLen) problems.push(`${where}: starts inside the BOM`);
    if (s > bomLen && !isEol(bytes[s - 1])) problems.push(`${where}: does not start at a line start`);
    if (isEol(bytes[s]) || bytes[s] === 0x3a) problems.push(`${where}: starts with a blank or comment line`);
    if (!isEol(bytes[e - 1])) problems.push(`${where}: does not end after a line end`);
    // The span alone is that event. An LF is put in front so that the slice is not at
    // stream start: no BOM stripping by the TextDecoder, no deviation (B).
    const slice = Buffer.concat([B('\n'), bytes.subarray(s, e)]);
    const got = runEsp(slice, Infinity, false).filter((x) => x.type === 'event');
    if (got.length !== 1 || !sameEvent(ev, got[0], bytes, false)) {
      problems.push(`${where}: the span alone gives ${got.map(show).join(' ') || 'no event'}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------

// Two distinct chunk sizes per stream, rotating so that every size, and every pair of
// sizes, comes up many times.
function chunkSizesFor(i) {
  const n = CHUNK_SIZES.length;
  return [CHUNK_SIZES[i % n], CHUNK_SIZES[(i + 1 + (Math.floor(i / n) % (n - 1))) % n]];
}

async function main() {
  const t0 = Date.now();
  const streams = FIXED.slice();
  for (let i = 0; i < NSTREAMS; i++) streams.push(generateStream());
  const jobs = [];
  streams.forEach((bytes, s) => {
    for (const chunk of chunkSizesFor(s)) jobs.push({ s, chunk, bytes });
  });
  const results = await runPool(jobs, (j) => runScan(j.bytes, j.chunk), JOBS);
  const t1 = Date.now();

  let passed = 0;
  const failures = [];
  const perChunk = new Map();
  const stats = { events: 0, retries: 0, totalBytes: 0 };
  const reference = new Map(); // stream -> {chunk, stdout}
  const spanChecked = new Set();
  jobs.forEach((job, k) => {
    const r = results[k];
    const problems = [];
    if (r.status !== 0) problems.push(`authrelay-scan exit status ${r.status}`);
    if (r.stderr !== '') problems.push(`authrelay-scan stderr: ${r.stderr}`);
    const parsed = parseScan(r.stdout);
    problems.push(...parsed.problems);
    // Check 2: same output at every chunk size.
    const ref = reference.get(job.s);
    if (ref === undefined) {
      reference.set(job.s, { chunk: job.chunk, stdout: r.stdout });
      stats.totalBytes += job.bytes.length;
    } else if (ref.stdout !== r.stdout) {
      problems.push(`output differs from the run at chunk size ${ref.chunk}:\n${ref.stdout}`);
    }
    // Check 3: against eventsource-parser at the same chunk size.
    const esp = runEsp(job.bytes, job.chunk, true);
    problems.push(...compareItems(parsed.items, esp, job.bytes, true));
    // Check 4: spans (once per stream; check 2 covers the other chunk sizes).
    if (!spanChecked.has(job.s)) {
      spanChecked.add(job.s);
      problems.push(...checkSpans(job.bytes, parsed.events));
      stats.events += parsed.events.length;
      stats.retries += parsed.items.length - parsed.events.length;
    }
    const pc = perChunk.get(job.chunk) ?? { runs: 0, failed: 0 };
    pc.runs++;
    if (problems.length === 0) {
      passed++;
    } else {
      pc.failed++;
      failures.push({ job, r, esp, problems });
    }
    perChunk.set(job.chunk, pc);
  });
  const t2 = Date.now();

  for (const f of failures.slice(0, MAX_FAILURES_SHOWN)) {
    console.log('---- FAILED: stream %d (%d bytes) at chunk size %d', f.job.s, f.job.bytes.length, f.job.chunk);
    for (const p of f.problems) console.log(`  ${p}`);
    console.log(`  input (hex): ${f.job.bytes.toString('hex')}`);
    console.log(`  input (JSON of the decoded text): ${JSON.stringify(wholeText(f.job.bytes))}`);
    console.log(`  authrelay-scan output (exit ${f.r.status}):\n${f.r.stdout}${f.r.stderr}`);
    console.log('  eventsource-parser output:');
    for (const x of f.esp) console.log(show(x));
  }
  const sizes = [...perChunk.keys()].sort((a, b) => a - b)
    .map((c) => `${c}:${perChunk.get(c).runs}${perChunk.get(c).failed ? `(${perChunk.get(c).failed} failed)` : ''}`);
  console.log(`streams: ${streams.length} (${FIXED.length} fixed + ${NSTREAMS} generated, ` +
    `${stats.totalBytes} bytes, ${stats.events} events, ${stats.retries} retry values); ` +
    `runs per chunk size: ${sizes.join(' ')}`);
  console.log(`eventsource-parser deviations handled (runs): trailing CR fed an LF (A) ${counts.trailingCr}, ` +
    `"ï»¿" start fed after an LF (B) ${counts.mojibakeBom}, NUL-id events excused (C) ${counts.nulIdExcused}, ` +
    `retry values above 2^53 compared as doubles (D) ${counts.bigRetry}`);
  console.log(`time: authrelay-scan runs ${((t1 - t0) / 1000).toFixed(1)} s, comparison ${((t2 - t1) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
