// The authrelay chat demo's page script. Sends each message with fetch POST to
// the agent server's streaming endpoint (the form's action) through authrelay,
// reads the SSE answer with readSse (fetch + ReadableStream, not EventSource:
// the request must carry X-Registered-User-Id), renders the agent's text
// deltas, and shows authrelay's interrupt in place in the conversation with a
// "Connect" button that opens the Link page in a popup. When the account is
// connected authrelay sends auth_complete and the same stream goes on: the
// page just keeps reading.
//
// Identity: in this demo the page names its user itself, which authrelay
// trusts only because the demo connects from loopback. In production the
// app's backend adds the signed X-Registered-User-Sig (README "Front end"):
// a browser must never be trusted to name its user.
import { createLinkHandler, readSse } from './authrelay-link.js';

const $ = (id) => document.getElementById(id);
const log = $('log');
const form = $('chat');
const input = $('message');
const send = $('send');
const status = $('status');

// A demo user per browser tab.
function demoUser() {
  let id = sessionStorage.getItem('authrelay-demo-user');
  if (!id) {
    id = `web_${crypto.randomUUID().slice(0, 8)}`;
    sessionStorage.setItem('authrelay-demo-user', id);
  }
  return id;
}
const user = demoUser();
$('user').textContent = user;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function scrollDown() {
  window.scrollTo(0, document.body.scrollHeight);
}

// The agent's message being streamed, and its interrupt card.
let reply = null;
let card = null;

const link = createLinkHandler({
  onLinkToken(l) {
    card = el('span', 'interrupt');
    card.dataset.connector = l.connector;
    card.append(el('p', '', l.message || 'Connect an account to continue.'));
    const a = el('a', 'connect', l.connector ? `Connect ${l.connector}` : 'Choose an account');
    a.href = l.magic_link_url;
    a.target = '_blank';
    // The popup must open in the click itself; if it is blocked, the link
    // opens in a tab the ordinary way.
    a.addEventListener('click', (ev) => {
      if (link.open()) ev.preventDefault();
    });
    card.append(a, ' ', el('span', 'state', 'The answer continues once you are connected.'));
    reply.append(card);
    status.textContent = 'Waiting for you to connect the account…';
    scrollDown();
  },
  onSuccess(r) {
    if (!card) return;
    card.classList.add('done');
    card.querySelector('.connect')?.remove();
    card.querySelector('.state').textContent = `Connected ${r.connector}.`;
    status.textContent = 'Connected: the answer continues.';
  },
  onExit(r) {
    if (!card) return;
    if (r.reason === 'closed') {
      status.textContent = 'The window was closed before connecting; press Connect again.';
      return;
    }
    card.classList.add('ended');
    card.querySelector('.connect')?.remove();
    const why = { link_expired: 'The link expired.', auth_declined: 'Not connected.' }[r.reason] ?? 'The stream ended.';
    card.querySelector('.state').textContent = `${why} The agent goes on without it.`;
  },
});

// Renders one event of the agent's stream (authrelay's notices aside).
function render(evt) {
  const j = evt.json;
  if (evt.event === 'delta' && j && typeof j.text === 'string') {
    if (reply.lastElementChild?.classList.contains('part')) reply.append(' ');
    const part = el('span', 'part', j.text);
    part.dataset.seq = String(j.seq);
    reply.append(part);
    scrollDown();
  } else if (evt.event === 'done') {
    status.textContent = 'Done.';
  }
  // Other events (the tool call's result, rewritten by authrelay with its
  // trusted link) are not shown: the interrupt card stands for them.
}

async function ask(text) {
  log.append(el('li', 'msg user', text));
  reply = el('li', 'msg agent streaming');
  card = null;
  log.append(reply);
  scrollDown();
  status.textContent = 'The agent is answering…';
  const res = await fetch(form.getAttribute('action'), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'text/event-stream',
      'X-Registered-User-Id': user,
    },
    body: JSON.stringify({ message: text }),
  });
  for await (const evt of readSse(res)) {
    if (link.handleEvent(evt) === null) render(evt);
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  send.disabled = true;
  try {
    await ask(text);
  } catch (err) {
    reply?.append(el('p', 'error', `Error: ${err.message}`));
    status.textContent = '';
  } finally {
    reply?.classList.remove('streaming');
    reply?.classList.add('complete');
    if (link.pending) link.close(); // the stream ended while the link waited
    send.disabled = false;
    input.focus();
  }
});
