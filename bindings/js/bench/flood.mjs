#!/usr/bin/env node
// The Node flood bench (not a test): how fast the `chatwire` package takes in a flood of native
// dialect frames, next to the plainest client a developer could write, in the same run.
//
//   node bindings/js/bench/flood.mjs [--events 200000] [--rounds 3]
//
// A local WebSocket server (the `ws` package, in a child process so its CPU time is not counted)
// speaks just enough of the native dialect (sdk-core/src/dialect/native.rs: `hello` -> `welcome`,
// `send` -> `ack`, `ping` -> `pong`) and answers a `send` with the same pre-built flood every time:
// turns of 1,000 `event` frames (`turn_started`, `message_started`, 996 `text_delta`,
// `message_completed`, `turn_completed`) with gapless `seq`, about 130 bytes per delta frame.
// Three clients read the same flood from the same server, one after another, in each round:
//
// - `count only`: a `ws` client that counts frames and parses nothing: the server's ceiling. If
//   it is not well above the others, the server is the bottleneck and the figures say nothing.
// - `ws + JSON.parse`: a `ws` client that parses every frame and follows `seq` and the text.
// - `chatwire`: a `ChatClient` (native dialect, `ws` injected) counting the events it delivers.
//
// Each prints events/s (wall time from the `send` to the last event) and CPU µs per event
// (`process.cpuUsage`, this process only), then the median of the rounds and the ratio chatwire /
// `ws + JSON.parse`. Every client must see every event (counts and text length are checked; a
// mismatch exits 1), so `scripts/test-js` runs it with `--events 2000 --rounds 1` as a smoke run.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const TURN = 1000; // events per turn
const WORD = 'word ';
const DELTAS = TURN - 4;

if (process.argv[2] === '--server') {
  serve(Number(process.argv[3]));
} else {
  main().catch((e) => {
    console.error(`flood: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  });
}

async function main() {
  const events = intArg('--events', 200_000);
  const rounds = intArg('--rounds', 3);
  if (events < TURN || events % TURN !== 0) throw new Error(`--events must be a multiple of ${TURN}`);
  const { ChatClient } = await import('chatwire');
  const server = await startServer(events);
  try {
    console.log(`flood: ${events} native frames (${server.deltaBytes} B per text_delta frame, ${(server.totalBytes / 1e6).toFixed(1)} MB), ${rounds} round(s), node ${process.version}`);
    const expected = { events, deltas: (events / TURN) * DELTAS, textLength: (events / TURN) * DELTAS * WORD.length };
    /** @type {Record<string, {rate: number, cpu: number}[]>} */
    const results = { 'count only': [], 'ws + JSON.parse': [], chatwire: [] };
    for (let round = 1; round <= rounds; round += 1) {
      results['count only'].push(await measure('count only', round, events, () => rawClient(server.url, events, false), expected));
      results['ws + JSON.parse'].push(await measure('ws + JSON.parse', round, events, () => rawClient(server.url, events, true), expected));
      results.chatwire.push(await measure('chatwire', round, events, () => chatwireClient(ChatClient, server.url, events), expected));
    }
    console.log('median:');
    const med = Object.fromEntries(Object.entries(results).map(([name, rs]) => [name, {
      rate: median(rs.map((r) => r.rate)), cpu: median(rs.map((r) => r.cpu)),
    }]));
    for (const [name, m] of Object.entries(med)) console.log(`  ${line(name, m)}`);
    const base = med['ws + JSON.parse'];
    console.log(`  ratio chatwire / (ws + JSON.parse): ${(med.chatwire.rate / base.rate).toFixed(2)}x the events/s, ${(med.chatwire.cpu / base.cpu).toFixed(2)}x the CPU per event`);
    for (const name of ['ws + JSON.parse', 'chatwire']) {
      const share = med[name].rate / med['count only'].rate;
      console.log(share > 0.7
        ? `  ${name}: ${(share * 100).toFixed(0)}% of the server's ceiling (count only): its events/s is bounded by the server; compare CPU µs/event`
        : `  ${name}: ${(share * 100).toFixed(0)}% of the server's ceiling (count only): not bounded by the server`);
    }
  } finally {
    server.stop();
  }
}

/** Runs one client after setting up its connection; times only the flood. */
async function measure(name, round, events, connect, expected) {
  const client = await connect();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const seen = await client.flood();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await client.close();
  for (const key of Object.keys(seen)) {
    if (seen[key] !== expected[key]) throw new Error(`${name}: saw ${key} = ${seen[key]}, expected ${expected[key]}`);
  }
  const result = { rate: events / (wall / 1000), cpu: (cpu.user + cpu.system) / events };
  console.log(`  round ${round} ${line(name, result)} (${wall.toFixed(0)} ms)`);
  return result;
}

function line(name, { rate, cpu }) {
  return `${name.padEnd(16)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} events/s  ${cpu.toFixed(2).padStart(6)} µs CPU/event`;
}

/** A `ws` client speaking the native handshake; counts (and with `parse`, parses) the flood. */
async function rawClient(url, events, parse) {
  const ws = new WebSocket(`${url}/native/v1/ws`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const welcome = new Promise((resolve) => ws.once('message', resolve));
  ws.send(JSON.stringify({ type: 'hello', conversation_id: `raw-${Math.random()}`, since_seq: 0 }));
  await welcome;
  return {
    flood: () => new Promise((resolve) => {
      let frames = 0; let count = 0; let deltas = 0; let textLength = 0; let lastSeq = 0;
      ws.on('message', (data) => {
        if (!parse) {
          frames += 1;
          if (frames === events + 1) resolve({ events: frames - 1 }); // the ack, then the events
          return;
        }
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'event') return;
        if (frame.seq !== lastSeq + 1) throw new Error(`seq gap: ${lastSeq} -> ${frame.seq}`);
        lastSeq = frame.seq;
        count += 1;
        if (frame.kind === 'text_delta') { deltas += 1; textLength += frame.text.length; }
        if (count === events) resolve({ events: count, deltas, textLength });
      });
      ws.send(JSON.stringify({ type: 'send', client_id: 'raw-1', text: 'flood' }));
    }),
    close: () => new Promise((resolve) => { ws.once('close', resolve); ws.close(); }),
  };
}

/** A `ChatClient` on the native dialect with `ws` injected; counts the envelopes it delivers. */
async function chatwireClient(ChatClient, url, events) {
  const client = new ChatClient({ dialect: 'native', baseUrl: url, transport: { WebSocket } });
  client.connect();
  await client.whenState('ready');
  return {
    flood: () => new Promise((resolve, reject) => {
      let count = 0; let deltas = 0; let textLength = 0;
      const done = () => { if (count === events) resolve({ events: count, deltas, textLength }); };
      for (const type of ['turnStarted', 'messageStarted', 'messageCompleted', 'turnCompleted']) {
        client.on(type, () => { count += 1; done(); });
      }
      client.on('textDelta', ({ event }) => { count += 1; deltas += 1; textLength += event.update.text.length; done(); });
      client.on('turnFailed', ({ event }) => reject(new Error(`turn failed: ${JSON.stringify(event.error)}`)));
      client.send('flood').catch(reject);
    }),
    close: () => client.close(),
  };
}

/** Starts the server in a child process; resolves with its URL and the flood's sizes. */
function startServer(events) {
  const child = fork(fileURLToPath(import.meta.url), ['--server', String(events)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the flood server exited (${code})`)));
    child.once('message', (m) => resolve({ ...m, stop: () => child.kill('SIGTERM') }));
  });
}

/** The server process: builds the flood once, then serves it to every `send`. */
function serve(events) {
  const built = flood(events);
  // Encoded once: the flood costs the server framing and writing only.
  const frames = { firstOpen: built.firstOpen, rest: built.rest.map((f) => Buffer.from(f)) };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/native/v1/ws', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', conversation_id: frame.conversation_id, last_seq: 0, resumed: true, heartbeat_ms: 30000 }));
      } else if (frame.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong', nonce: frame.nonce }));
      } else if (frame.type === 'send') {
        ws.send(JSON.stringify({ type: 'ack', client_id: frame.client_id, message_id: 'm-0', duplicate: false }));
        ws.send(`${frames.firstOpen},"reply_to":"${frame.client_id}"}`);
        sendAll(ws, frames.rest);
      }
    });
  });
  wss.on('listening', () => {
    const { port } = /** @type {import('node:net').AddressInfo} */ (wss.address());
    const sample = frames.rest[Math.floor(events / 2)];
    const totalBytes = frames.rest.reduce((n, f) => n + f.length, frames.firstOpen.length + 40);
    process.send?.({ url: `http://127.0.0.1:${port}`, deltaBytes: sample.length, totalBytes });
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * Sends `frames` in corked batches, so the server writes many frames per system call and is not
 * the bottleneck (`ws` has no public cork: this reaches for its socket, in a bench-only server).
 */
function sendAll(ws, frames, from = 0) {
  const socket = /** @type {import('node:net').Socket | undefined} */ (/** @type {any} */ (ws)._socket);
  const end = Math.min(frames.length, from + 5000);
  socket?.cork();
  for (let i = from; i < end; i += 1) ws.send(frames[i], { binary: false });
  socket?.uncork();
  if (end < frames.length) setImmediate(() => sendAll(ws, frames, end));
}

/**
 * The flood's frames: `firstOpen` is the first `turn_started` without its closing `reply_to`
 * (the message it answers, added per `send`), `rest` every other frame, pre-built.
 */
function flood(events) {
  const ts = 1_763_800_000_000;
  /** @type {string[]} */ const rest = [];
  let seq = 0;
  let firstOpen = '';
  for (let t = 1; t <= events / TURN; t += 1) {
    const ids = `"turn_id":"t-${t}"`;
    const msg = `${ids},"message_id":"m-${t}"`;
    const started = `{"type":"event","seq":${++seq},"ts":${ts},"kind":"turn_started",${ids}`;
    if (t === 1) firstOpen = started; else rest.push(`${started}}`);
    rest.push(`{"type":"event","seq":${++seq},"ts":${ts},"kind":"message_started",${msg},"role":"assistant"}`);
    for (let i = 0; i < DELTAS; i += 1) {
      rest.push(`{"type":"event","seq":${++seq},"ts":${ts + i},"kind":"text_delta",${msg},"offset":${i * WORD.length},"text":"${WORD}"}`);
    }
    rest.push(`{"type":"event","seq":${++seq},"ts":${ts},"kind":"message_completed",${msg},"text":"${WORD.repeat(DELTAS)}"}`);
    rest.push(`{"type":"event","seq":${++seq},"ts":${ts},"kind":"turn_completed",${ids},"finish_reason":"stop"}`);
  }
  return { firstOpen, rest };
}

function intArg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
  return n;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
