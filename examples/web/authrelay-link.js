// authrelay-link.js: the browser side of an authrelay interrupt, in one small
// framework-free ES module (types: authrelay-link.d.ts). In the spirit of
// Agent Handler's useAgentHandlerLink:
//
//   import { createLinkHandler, readSse } from './authrelay-link.js';
//   const link = createLinkHandler({
//     onLinkToken(l) { show l.message and a "Connect" button that calls link.open() },
//     onSuccess(r)   { the account is connected; the stream goes on by itself },
//     onExit(r)      { r.reason: 'closed' (popup closed first; open() again),
//                      'link_expired', 'auth_declined' or 'relay_error' },
//   });
//   const res = await fetch(url, { method: 'POST', headers, body });
//   for await (const evt of readSse(res)) {
//     if (link.handleEvent(evt)) continue;   // authrelay's own notice
//     ...render evt...
//   }
//
// handleEvent understands the notices of the generic dialect (`event:
// link_token`, `auth_complete`, ...), of the AI SDK (`data-link_token`, ...)
// and of AG-UI (`CUSTOM` `authrelay.link_token`, ...). A link is accepted only
// when its magic_link_url is authrelay's Link page (/_authrelay/link/ltk_...)
// on the expected origin (options.linkOrigin, default the page's origin).
// open() must run inside the user's click handler: browsers block popups
// opened from asynchronous code.

const NOTICES = ['link_token', 'auth_complete', 'link_expired', 'auth_declined', 'relay_error'];
const MAX_EVENT_CHARS = 1 << 20; // readSse: an event (or a line) longer than this is an error

// The notice carried by a parsed event ({event, data, json}), as
// {kind, value}, or null. Exported for tests and custom renderers.
export function noticeOf(evt) {
  const json = evt && evt.json;
  if (!json || typeof json !== 'object') return null;
  let kind = null;
  let value = null;
  if (NOTICES.includes(json.type) && (evt.event === json.type || evt.event === 'message' || !evt.event)) {
    kind = json.type; // generic: event: link_token / data {"type":"link_token",...}
    value = json;
  } else if (typeof json.type === 'string' && json.type.startsWith('data-') &&
             NOTICES.includes(json.type.slice(5)) && json.data && typeof json.data === 'object') {
    kind = json.type.slice(5); // AI SDK: {"type":"data-link_token","data":{...}}
    value = json.data;
  } else if (json.type === 'CUSTOM' && typeof json.name === 'string' && json.name.startsWith('authrelay.') &&
             NOTICES.includes(json.name.slice(10)) && json.value && typeof json.value === 'object') {
    kind = json.name.slice(10); // AG-UI: {"type":"CUSTOM","name":"authrelay.link_token","value":{...}}
    value = json.value;
  }
  return kind ? { kind, value } : null;
}

// Whether url is authrelay's Link page on origin.
function isTrustedLink(url, origin) {
  let u;
  try { u = new URL(url); } catch { return false; }
  return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === origin &&
         !u.username && !u.password && !u.search && !u.hash &&
         /^\/_authrelay\/link\/ltk_[A-Za-z0-9_-]+$/.test(u.pathname);
}

export function createLinkHandler(options = {}) {
  const { onLinkToken, onSuccess, onExit } = options;
  const win = options.window ?? globalThis.window;
  const linkOrigin = options.linkOrigin ?? win?.location?.origin;
  const features = options.popupFeatures ?? 'popup,width=520,height=680';
  const pollMs = options.pollMs ?? 500;
  let pending = null; // the link_token notice waiting for the user
  let popup = null;
  let timer = null;

  function stopWatching() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }

  function end(kind, value) {
    const link = pending;
    pending = null;
    stopWatching();
    if (kind === 'auth_complete') {
      if (options.closePopupOnSuccess && popup && !popup.closed) popup.close();
      onSuccess?.({ connector: value.connector, streamId: value.stream_id, link });
    } else {
      onExit?.({ reason: kind, link, detail: value });
    }
  }

  const handler = {
    get pending() { return pending; },

    // Feeds one parsed event (from readSse). Returns the notice's kind when
    // the event was authrelay's own ('link_token', 'auth_complete', ...),
    // else null (an event of the agent's: render it).
    handleEvent(evt) {
      const notice = noticeOf(evt);
      if (!notice) return null;
      const { kind, value } = notice;
      if (kind === 'link_token') {
        if (!isTrustedLink(value.magic_link_url, linkOrigin)) return kind; // not shown
        pending = value;
        onLinkToken?.(value);
      } else if (pending || kind === 'relay_error') {
        end(kind, value);
      }
      return kind;
    },

    // Opens the pending link in a popup (call it from a click handler).
    // Returns the popup window, or null (nothing pending, or blocked).
    open() {
      if (!pending) return null;
      if (popup && !popup.closed) {
        popup.focus();
        return popup;
      }
      popup = win.open(pending.magic_link_url, 'authrelay-link', features);
      if (!popup) return null;
      stopWatching();
      const opened = pending;
      timer = setInterval(() => {
        if (!popup || !popup.closed) return;
        stopWatching();
        // Closed before the stream said auth_complete: the link stays
        // pending (open() again), unless it ended meanwhile.
        if (pending === opened) onExit?.({ reason: 'closed', link: opened });
      }, pollMs);
      return popup;
    },

    // Forgets the pending link and closes the popup.
    close() {
      stopWatching();
      if (popup && !popup.closed) popup.close();
      popup = null;
      pending = null;
    },
  };
  return handler;
}

// Parses the Server-Sent Events of a fetch Response (read with its
// ReadableStream, so that the request could carry any header). Yields
// {event, data, id, json}: event defaults to 'message', json is data parsed
// as JSON (undefined when it is not). Comments (": paused") are skipped.
export async function* readSse(response, { signal } = {}) {
  if (!response.ok) throw new Error(`stream answered ${response.status}`);
  if (!response.body) throw new Error('the response has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const abort = () => reader.cancel().catch(() => {});
  signal?.addEventListener('abort', abort, { once: true });
  let buf = '';
  let event = '';
  let data = [];
  let size = 0;
  let id;
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      buf += value;
      let at;
      while ((at = buf.search(/\r\n|\r|\n/)) >= 0) {
        if (buf[at] === '\r' && at === buf.length - 1) break; // a CRLF may be cut here
        const line = buf.slice(0, at);
        buf = buf.slice(buf[at] === '\r' && buf[at + 1] === '\n' ? at + 2 : at + 1);
        if (line === '') {
          if (data.length > 0) {
            const text = data.join('\n');
            let json;
            try { json = JSON.parse(text); } catch { json = undefined; }
            yield { event: event || 'message', data: text, id, json };
          }
          event = '';
          data = [];
          size = 0;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'event') event = v;
        else if (field === 'data') {
          size += v.length;
          if (size > MAX_EVENT_CHARS) throw new Error('event too long');
          data.push(v);
        } else if (field === 'id') id = v;
      }
      if (buf.length > MAX_EVENT_CHARS) throw new Error('line too long');
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    if (!finished) abort(); // the caller stopped early, or an error: end the request

  }
}
