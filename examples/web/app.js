// The chat page's script: one `ChatClient` from the `chatwire` package, rendered with plain DOM
// calls. It shows what a web app gets from the client and does nothing the client already does:
// no retry, dedup, resume or queue logic lives here.
//
// - Streamed text: `textDelta` updates put text at a character offset (or replace it), so a reply
//   replayed after a reconnect lands in the same place and shows exactly once.
// - Tool calls are cards (`toolStarted` / `toolProgress` / `toolCompleted` / `toolFailed`).
// - The badge is the connection state (`stateChanged`); each user message has a status tick
//   from its receipt (queued → sent → acked, or failed with a retry button).
// - The dialect picker builds a client per dialect; dialects this browser cannot run are found by
//   asking the package (it throws `UNSUPPORTED` with the reason) and shown disabled.
// - "cut the network" asks the mock server (its control API, `POST /_mock/restart`) to drop every
//   connection of the current dialect and refuse its requests for a second; the client reconnects
//   and resumes by itself.
//
// The mock server's URL comes from `?mock=` or from `/config.json` (written by serve.mjs); the
// dialect from `?dialect=`. `document.body.dataset.ready` names the dialect once its client is
// built (the browser test waits for it).

import { ChatClient, ChatwireError } from 'chatwire';

const DIALECTS = [
  ['native', 'native (WebSocket)'],
  ['chat-v2', 'chat-v2 (WebSocket)'],
  ['chat-interfaces', 'chat-interfaces (SSE)'],
  ['parlant', 'parlant (long-poll)'],
  ['openai', 'openai (SSE)'],
  ['miptech', 'miptech (WebSocket)'],
  ['ai-sdk', 'ai-sdk (SSE, AI SDK UI stream)'],
];
/** How long the mock refuses new connections after "cut the network". */
const CUT_REFUSE_MS = 1000;
const TICKS = { queued: '○', sent: '✓', acked: '✓✓', failed: '✗' };

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  picker: /** @type {HTMLSelectElement} */ ($('dialect')),
  badge: $('badge'),
  cut: /** @type {HTMLButtonElement} */ ($('cut')),
  note: $('dialect-note'),
  log: $('log'),
  form: /** @type {HTMLFormElement} */ ($('composer')),
  text: /** @type {HTMLInputElement} */ ($('text')),
  send: /** @type {HTMLButtonElement} */ ($('send')),
  stats: $('stats'),
};

/** @type {string} */ let mockBase;
/** @type {ChatClient | undefined} */ let client;
/** @type {Conversation | undefined} */ let conversation;

/** Closes the current client and builds one for `dialect`. @param {string} dialect */
async function start(dialect) {
  const offered = [...ui.picker.options].find((o) => o.value === dialect);
  if (!offered || offered.disabled) dialect = 'native'; // an unknown or refused `?dialect=`
  ui.picker.value = dialect;
  const url = new URL(location.href);
  url.searchParams.set('dialect', dialect);
  history.replaceState(null, '', url);
  delete document.body.dataset.ready;
  const old = client;
  client = undefined;
  await old?.close();
  conversation = new Conversation(ui.log);
  try {
    client = new ChatClient({ dialect: /** @type {any} */ (dialect), baseUrl: mockBase });
  } catch (e) {
    conversation.system(`cannot start ${dialect}: ${e instanceof Error ? e.message : e}`);
    showState({ kind: 'failed' });
    offerRecovery(dialect);
    return;
  }
  const mine = client;
  mine.on('*', (envelope) => {
    if (client !== mine) return;
    conversation?.apply(envelope);
    if (envelope.event.type === 'stateChanged') {
      showState(envelope.event.to);
      if (envelope.event.to.kind === 'ready' && mine.stats().reconnects > 0) conversation?.system('reconnected');
      if (envelope.event.to.kind === 'failed') offerRecovery(dialect);
    }
    if (envelope.event.type === 'stateChanged' || envelope.event.type.startsWith('turn')) showStats();
  });
  showState(mine.state);
  showStats();
  mine.connect(); // connect now, so the badge shows the connection before the first message
  ui.text.disabled = ui.send.disabled = false;
  ui.text.focus();
  document.body.dataset.ready = dialect;
}

/** Shows `text` with a status tick and sends it; `row` is reused by the retry button. */
async function sendMessage(/** @type {string} */ text, row = conversation?.userRow(text)) {
  const active = client;
  if (!active || !row) return;
  setTick(row, { kind: 'queued' });
  try {
    const receipt = await active.send(text);
    row.dataset.clientId = receipt.clientId;
    setTick(row, receipt.status); // the status may have moved on while `send` resolved
    receipt.onStatus((status) => setTick(row, status));
  } catch (e) {
    setTick(row, { kind: 'failed', reason: e instanceof ChatwireError ? e.code : String(e) });
  }
}

/** @param {HTMLElement} row @param {{ kind: string, reason?: string }} status */
function setTick(row, status) {
  const tick = /** @type {HTMLElement} */ (row.querySelector('.tick'));
  tick.dataset.status = status.kind;
  tick.textContent = TICKS[/** @type {keyof typeof TICKS} */ (status.kind)] ?? status.kind;
  tick.title = status.reason ? `${status.kind}: ${status.reason}` : status.kind;
  row.querySelector('.retry')?.remove();
  if (status.kind !== 'failed') return;
  const retry = document.createElement('button');
  retry.className = 'retry';
  retry.type = 'button';
  retry.textContent = 'retry';
  retry.addEventListener('click', () => void sendMessage(row.dataset.text ?? '', row));
  row.append(retry);
}

/** The client gave up (or its module crashed): a button starts over. @param {string} dialect */
function offerRecovery(dialect) {
  const line = conversation?.system('the connection failed ');
  if (!line) return;
  const again = /** @type {HTMLButtonElement} */ (el('button', 'retry', 'try again'));
  again.type = 'button';
  again.addEventListener('click', async () => {
    line.remove();
    try {
      if (!client) throw new Error('no client');
      client.reconnectNow(); // from `failed`, the same client starts over
    } catch {
      await ChatClient.ready(); // it ended (closed, or its module crashed): build a new one
      await start(dialect);
    }
  });
  line.append(again);
}

/** Drops every connection of this dialect to the mock and refuses its requests for a second. */
async function cutNetwork() {
  ui.cut.disabled = true;
  const line = conversation?.system('cutting the network…');
  try {
    const response = await fetch(`${mockBase}/_mock/restart`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ dialect: ui.picker.value, refuse_ms: CUT_REFUSE_MS }),
    });
    const answer = await response.json();
    if (line) line.textContent = `network cut: ${answer.dropped} connection(s) dropped, new ones refused for ${CUT_REFUSE_MS / 1000} s`;
  } catch (e) {
    if (line) line.textContent = `could not reach the mock server's control API: ${e}`;
  } finally {
    ui.cut.disabled = false;
  }
}

/** @param {{ kind: string, attempt?: number, delayMs?: number }} state */
function showState(state) {
  ui.badge.dataset.state = state.kind;
  ui.badge.textContent = state.kind === 'reconnecting'
    ? `reconnecting (attempt ${state.attempt}, in ${Math.round(state.delayMs ?? 0)} ms)`
    : state.kind;
}

function showStats() {
  if (!client) return;
  const s = client.stats();
  ui.stats.dataset.reconnects = String(s.reconnects);
  ui.stats.textContent = `sent ${s.sent} · acked ${s.acked} · failed ${s.failed} · events ${s.events} · reconnects ${s.reconnects} · duplicates dropped ${s.duplicatesDropped}`;
}

/** The dialect picker: every dialect, disabled with the package's reason where it cannot run. */
function fillPicker() {
  const refused = [];
  for (const [dialect, label] of DIALECTS) {
    const option = new Option(label, dialect);
    const why = refusal(dialect);
    if (why) {
      option.disabled = true;
      option.title = why;
      option.textContent = `${label}: not in a browser`;
      refused.push(`${dialect} is disabled: ${why}`);
    }
    ui.picker.append(option);
  }
  ui.note.textContent = refused.join(' · ');
}

/** Why this browser cannot run `dialect` (the package says so at construction), or undefined. */
function refusal(/** @type {string} */ dialect) {
  try {
    void new ChatClient({ dialect: /** @type {any} */ (dialect), baseUrl: mockBase }).close();
    return undefined;
  } catch (e) {
    if (e instanceof ChatwireError && e.code === 'UNSUPPORTED') return e.message;
    throw e;
  }
}

async function mockServer() {
  const fromQuery = new URLSearchParams(location.search).get('mock');
  if (fromQuery) return fromQuery;
  const response = await fetch('/config.json');
  return /** @type {{ mockBase: string }} */ (await response.json()).mockBase;
}

/** The rendered conversation: user rows, assistant turns with text bubbles and tool cards. */
class Conversation {
  /** @param {HTMLElement} log */
  constructor(log) {
    log.replaceChildren();
    this.log = log;
    /** @type {Map<string, HTMLElement>} */ this.turns = new Map();
    /** @type {Map<string, { el: HTMLElement, text: string }>} */ this.bubbles = new Map();
    /** @type {Map<string, Record<'el' | 'name' | 'args' | 'progress' | 'result', HTMLElement>>} */ this.tools = new Map();
    /** @type {string | undefined} */ this.lastTurn = undefined;
  }

  /** A user message row with an empty tick. */
  userRow(/** @type {string} */ text) {
    const row = this.add('div', 'row user');
    row.dataset.text = text;
    const bubble = el('p', 'bubble', text);
    row.append(bubble, el('span', 'tick'));
    return row;
  }

  /** A line from the page itself (not from the backend). */
  system(/** @type {string} */ text) {
    return this.add('p', 'system', text);
  }

  /** Renders one envelope. @param {import('chatwire').Envelope} envelope */
  apply(envelope) {
    const e = envelope.event;
    switch (e.type) {
      case 'turnStarted': return void this.turn(envelope);
      case 'messageStarted': return void this.bubble(envelope);
      case 'textDelta': {
        const b = this.bubble(envelope, e.channel);
        if (e.update.kind === 'replace') b.text = e.update.text;
        else b.text = [...b.text].slice(0, e.update.offset).join('') + e.update.text; // offsets count characters
        b.el.textContent = b.text;
        return;
      }
      case 'messageCompleted': return this.setText(envelope, e.text);
      case 'message': if (e.role === 'assistant') this.setText(envelope, e.content); return;
      case 'toolStarted': {
        const card = this.tool(envelope, e.toolId);
        card.name.textContent = e.name;
        if (e.args !== undefined) card.args.textContent = JSON.stringify(e.args);
        return;
      }
      case 'toolArgsDelta': this.tool(envelope, e.toolId).args.textContent += e.delta; return;
      case 'toolProgress': this.tool(envelope, e.toolId).progress.textContent = e.message; return;
      case 'toolCompleted': return this.toolEnd(envelope, e.toolId, 'completed', JSON.stringify(e.output));
      case 'toolFailed': return this.toolEnd(envelope, e.toolId, 'failed', e.error);
      case 'status': this.turn(envelope).dataset.agent = e.status.kind; return;
      case 'turnCompleted': this.turn(envelope).dataset.done = 'completed'; return;
      case 'turnCancelled': this.turn(envelope).dataset.done = 'cancelled'; return;
      case 'turnFailed': {
        const turn = this.turn(envelope);
        turn.dataset.done = 'failed';
        turn.append(el('p', 'turn-error', `turn failed: ${e.error.message} (${e.error.code})`));
        return;
      }
      case 'discontinuity': this.system(`some events could not be recovered (${e.reason})`); return;
      case 'backendUnavailable': this.system(`backend unavailable: ${e.message} (retry in ${Math.round(e.retryAfterMs / 1000)} s)`); return;
      case 'error': this.system(`${e.kind} error: ${e.message}`); return;
      default: return;
    }
  }

  /** The assistant turn of an envelope (created on first sight). @param {import('chatwire').Envelope} env */
  turn(env) {
    const key = env.turnId ?? this.lastTurn ?? 'turn';
    let turn = this.turns.get(key);
    if (!turn) {
      turn = this.add('article', 'turn');
      turn.dataset.turn = key;
      this.turns.set(key, turn);
    }
    this.lastTurn = key;
    return turn;
  }

  /** The text bubble of an envelope's message. @param {import('chatwire').Envelope} env */
  bubble(env, channel = 'text') {
    const turn = this.turn(env);
    const key = `${turn.dataset.turn}/${env.messageId ?? env.partId ?? 'message'}/${channel}`;
    let b = this.bubbles.get(key);
    if (!b) {
      b = { el: el('p', channel === 'text' ? 'bubble assistant' : 'bubble reasoning'), text: '' };
      turn.append(b.el);
      this.bubbles.set(key, b);
    }
    return b;
  }

  setText(/** @type {import('chatwire').Envelope} */ env, /** @type {string} */ text) {
    const b = this.bubble(env);
    b.text = text;
    b.el.textContent = text;
  }

  /** The card of a tool call. @param {import('chatwire').Envelope} env @param {string} id */
  tool(env, id) {
    let card = this.tools.get(id);
    if (!card) {
      card = {
        el: el('div', 'tool'), name: el('span', 'name', 'tool'), args: el('code', 'args'),
        progress: el('span', 'progress'), result: el('code', 'result'),
      };
      card.el.dataset.tool = id;
      card.el.dataset.state = 'running';
      card.el.append(card.name, card.args, card.progress, card.result);
      this.turn(env).append(card.el);
      this.tools.set(id, card);
    }
    return card;
  }

  toolEnd(/** @type {import('chatwire').Envelope} */ env, /** @type {string} */ id, /** @type {string} */ state, /** @type {string} */ result) {
    const card = this.tool(env, id);
    card.el.dataset.state = state;
    card.result.textContent = result;
  }

  /** Appends an element to the log and keeps the newest in view. */
  add(/** @type {string} */ tag, /** @type {string} */ cls, text = '') {
    const node = el(tag, cls, text);
    this.log.append(node);
    node.scrollIntoView({ block: 'end' });
    return node;
  }
}

/** @param {string} tag @param {string} cls @param {string} [text] */
function el(tag, cls, text = '') {
  const node = document.createElement(tag);
  node.className = cls;
  node.textContent = text;
  return node;
}

// Start: after every declaration above (the class is not hoisted).
mockBase = await mockServer();

fillPicker();
ui.picker.addEventListener('change', () => void start(ui.picker.value));
ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.text.value.trim();
  if (!text || !client) return;
  ui.text.value = '';
  if (client.capabilities.typing) client.typing(false);
  void sendMessage(text);
});
ui.text.addEventListener('input', () => {
  if (client?.capabilities.typing) client.typing(ui.text.value !== '');
});
ui.cut.addEventListener('click', () => void cutNetwork());
await start(new URLSearchParams(location.search).get('dialect') ?? 'native');
