// Records the seed corpora of the dialect fuzz targets from a running chatwire-mock:
//   chatwire mock --port 18080 &   node --experimental-websocket fuzz/record-seeds.mjs http://127.0.0.1:18080
// Each seed is a script for `chatwire_fuzz::run_dialect` (records separated by 0x1E, see
// src/lib.rs): the mock's real answers to the requests and frames the engine sends, in the
// order the engine sends them, for one turn (echo, tool call, scripted failure).
import { writeFileSync, mkdirSync } from 'node:fs';

const BASE = process.argv[2] ?? 'http://127.0.0.1:18080';
const WS = BASE.replace(/^http/, 'ws');
// The engine's first client id with the default config (seed 0, epoch 0): fixed.
const CID = '00000000-0000-7f23-8b49-615d175307d5';
const SEP = '\x1e';
const MESSAGES = { echo: 'hello', tool: '/tool weather', error: '/error' };

class Script {
  constructor() { this.records = []; }
  push(op, payload = '') { this.records.push(op + payload); }
  async http(method, path, body, headers = {}) {
    const res = await fetch(BASE + path, {
      method, headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    this.push('h', String(res.status) + text);
    try { return JSON.parse(text); } catch { return null; }
  }
  // Reads an SSE (or chunked) body, one `c` record per chunk, until `done(text so far)`.
  async stream(path, init, done) {
    const ctl = new AbortController();
    const res = await fetch(BASE + path, { ...init, signal: ctl.signal });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let all = '';
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) { this.push('e'); break; }
      const chunk = dec.decode(value, { stream: true });
      all += chunk;
      this.push('c', chunk);
      if (done(all)) { ctl.abort(); break; }
    }
    return all;
  }
  // Opens a streaming GET; `read(until)` records `c` chunks until `until(text so far)`.
  async sse(path) {
    const ctl = new AbortController();
    const res = await fetch(BASE + path, { signal: ctl.signal });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let all = '';
    const script = this;
    return {
      async read(until) {
        while (!until(all)) {
          const { value, done } = await reader.read();
          if (done) { script.push('e'); return all; }
          const chunk = dec.decode(value, { stream: true });
          all += chunk;
          script.push('c', chunk);
        }
        return all;
      },
      close: () => ctl.abort(),
    };
  }
  ws(path) {
    const ws = new WebSocket(WS + path);
    const queue = [];
    let wake = null;
    ws.onmessage = (m) => { queue.push(String(m.data)); wake?.(); };
    const opened = new Promise((ok, err) => { ws.onopen = ok; ws.onerror = err; });
    const script = this;
    return {
      opened,
      send: (obj) => ws.send(JSON.stringify(obj)),
      close: () => ws.close(),
      // Records frames until `until(frame)` is true; returns the last one.
      async recv(until) {
        for (;;) {
          while (queue.length) {
            const f = queue.shift();
            script.push('t', f);
            if (until(JSON.parse(f))) return JSON.parse(f);
          }
          await new Promise((ok) => { wake = ok; setTimeout(ok, 3000); });
          if (!queue.length) throw new Error('timeout waiting for a frame on ' + path);
        }
      },
    };
  }
  save(target, name) {
    mkdirSync(`corpus/${target}`, { recursive: true });
    writeFileSync(`corpus/${target}/${name}`, this.records.join(SEP));
  }
}

const ends = (f, types) => types.includes(f.type) || types.includes(f.kind);

async function native(text, conv) {
  const s = new Script();
  const ws = s.ws('/native/v1/ws');
  await ws.opened;
  ws.send({ conversation_id: conv, since_seq: 0, type: 'hello' });
  await ws.recv((f) => f.type === 'welcome');
  ws.send({ type: 'send', client_id: CID, text });
  await ws.recv((f) => ends(f, ['turn_completed', 'turn_failed']));
  ws.close();
  return s;
}

async function chatV2(text, session) {
  const s = new Script();
  const ws = s.ws(`/v2/chat/${session}`);
  await ws.opened;
  await ws.recv((f) => f.type === 'connected');
  ws.send({ type: 'text', content: text, id: CID, client_id: CID });
  await ws.recv((f) => (f.type === 'message' && f.is_final) || f.type === 'error');
  ws.close();
  return s;
}

async function openai(text) {
  const s = new Script();
  const body = { model: 'mock-gpt', messages: [{ role: 'user', content: text }], stream: true,
    stream_options: { include_usage: true } };
  await s.stream('/v1/chat/completions', {
    // a fresh key: the mock answers a known key with the turn it already ran
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `seed-${Date.now()}-${text}` },
    body: JSON.stringify(body),
  }, (all) => all.includes('[DONE]'));
  return s;
}

async function aiSdk(text, chat) {
  const s = new Script();
  // the body `DefaultChatTransport` posts; a fresh chat per seed (the mock answers a known
  // message id of a chat with the reply it already ran)
  const body = { id: chat, messages: [{ id: CID, role: 'user', parts: [{ type: 'text', text }] }],
    trigger: 'submit-message', messageId: CID };
  await s.stream('/api/chat', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }, (all) => all.includes('[DONE]'));
  return s;
}

async function miptech(text) {
  const s = new Script();
  const tenant = { 'X-Tenant-ID': 'demo-tenant' };
  await s.http('GET', '/healthz', undefined, tenant);
  const chat = await s.http('POST', '/api/v1/chat', { tenant_id: 'demo-tenant', title: 'chatwire' }, tenant);
  const ws = s.ws(`/api/v1/ws/chat?tenant_id=demo-tenant&chat_id=${chat.chat_id}`);
  await ws.opened;
  await ws.recv((f) => f.type === 'connection_ready');
  ws.send({ type: 'join_chat', data: { chat_id: chat.chat_id } });
  await ws.recv((f) => f.type === 'chat_joined');
  ws.send({ type: 'chat_message', data: { message: text, chat_id: chat.chat_id, tenant_id: 'demo-tenant' }, clientId: CID });
  await ws.recv((f) => f.type === 'response_complete' || f.type === 'error');
  ws.close();
  return s;
}

async function chatInterfaces(text) {
  const s = new Script();
  const root = '/api/public/chat-interfaces/demo';
  const session = await s.http('POST', `${root}/sessions`, {});
  const stream = await s.sse(`${root}/stream?sessionToken=${session.sessionToken}`);
  await stream.read((all) => all.includes('connected'));
  await s.http('POST', `${root}/messages`, { sessionToken: session.sessionToken, message: text, clientMessageId: CID });
  await stream.read((all) => /execution:(completed|failed)[\s\S]*\n\n/.test(all));
  stream.close();
  return s;
}

async function parlant(text) {
  const s = new Script();
  const session = await s.http('POST', '/sessions?allow_greeting=false', { agent_id: 'demo-agent' });
  await s.http('POST', `/sessions/${session.id}/events?moderation=auto`,
    { kind: 'message', source: 'customer', message: text }, { 'idempotency-key': CID });
  // Polls like the client: from the first agent message still streaming (its `chunks` do not
  // end with null yet), else after the last event.
  let offset = 0;
  for (let i = 0; i < 100; i++) {
    const events = await s.http('GET', `/sessions/${session.id}/events?min_offset=${offset}&wait_for_data=30`);
    if (!Array.isArray(events) || events.length === 0) break;
    if (events.some((e) => e.kind === 'status' && ['ready', 'error'].includes(e.data?.status))) break;
    const open = events.find((e) => e.kind === 'message' && Array.isArray(e.data?.chunks)
      && e.data.chunks[e.data.chunks.length - 1] !== null);
    offset = open ? open.offset : events[events.length - 1].offset + 1;
    await new Promise((ok) => setTimeout(ok, 15));
  }
  return s;
}

const recorders = { native, chat_v2: chatV2, openai, ai_sdk: aiSdk, miptech, chat_interfaces: chatInterfaces, parlant };
const only = process.argv[3];
for (const [target, record] of Object.entries(recorders)) {
  if (only && only !== target) continue;
  for (const [name, text] of Object.entries(MESSAGES)) {
    const s = await record(text, `fuzz-${target}-${name}-${Date.now()}`);
    s.save(target, name);
    console.log(`corpus/${target}/${name}: ${s.records.length} records`);
  }
}
