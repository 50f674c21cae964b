#!/usr/bin/env node
// The Chromium runner of the scenario corpus: `chatwire-scenario run --runner "node
// bindings/js/scenario-runner-chromium.mjs"`. A relay: it opens a page in headless Chromium
// (its own browser context, in the browser that CHATWIRE_BROWSER_WS names, see
// runner/chromium.mjs) that runs the same protocol module as the Node runner
// (runner/protocol.mjs) over the package's `ChatClient` with the browser's own WebSocket and
// fetch, and relays lines both ways: stdin lines to the page, the page's trace lines to stdout,
// in order.
//
// The page is served on the backend's own origin (the `init` line's baseUrl): playwright answers
// the requests under /__chatwire_runner/ with the package's files, and every other request goes
// to the backend untouched. So the page talks to the backend same-origin, as a site served by its
// backend does; a cross-origin page needs the backend to allow it (CORS), which is the backend's
// setting, not the client's. The lines travel over one WebSocket between this process and the
// page (a loopback port of this process), not through playwright: a command then takes about as
// long to reach the client as in the Node runner, which timing-sensitive scenarios (five sends
// inside a 400 ms refusal window) need.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { openBrowser } from './runner/chromium.mjs';

const PREFIX = '/__chatwire_runner/';
const packageDir = fileURLToPath(new URL('.', import.meta.url));
const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const PAGE = `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>chatwire scenario runner</title>
<script type="module">
import { ChatClient } from '${PREFIX}src/index.js';
import { createRunner } from '${PREFIX}runner/protocol.mjs';
const relay = new WebSocket(new URLSearchParams(location.search).get('relay'));
const runner = createRunner({
  ChatClient,
  transport: {},
  write: (line) => relay.send(JSON.stringify(line)),
  log: (text) => console.error(text),
});
relay.onmessage = (e) => runner.handle(e.data);
relay.onclose = () => console.error('the relay closed');
</script>`;

const log = (/** @type {string} */ text) => process.stderr.write(`${text}\n`);
const started = performance.now();
const since = () => `${Math.round(performance.now() - started)} ms`;

/** @type {any} */ let browser;
/** @type {any} */ let context;
/** @type {any} */ let pageSocket;
let finished = false;
/** @type {string[]} lines read before the page connected */ const early = [];

async function finish(/** @type {number} */ code) {
  if (finished) return;
  finished = true;
  pageSocket?.close();
  relay.close();
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  process.stdout.write('', () => process.exit(code));
}

// Stdin: the first line (init) names the origin; every line goes to the page once it is there.
/** @type {(line: string) => void} */ let gotFirst = () => {};
const first = new Promise((resolve) => { gotFirst = resolve; });
const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  gotFirst(line);
  if (pageSocket) pageSocket.send(line); else early.push(line);
});
// The orchestrator gone (stdin closed) before `end`: nothing more will come, tear down.
input.on('close', () => void finish(1));

// The page's end of the line channel.
const relay = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await new Promise((resolve) => relay.once('listening', resolve));
relay.on('connection', (socket) => {
  if (pageSocket) return socket.close();
  pageSocket = socket;
  log(`chromium runner: page connected after ${since()}`);
  socket.on('message', (/** @type {Buffer} */ data) => {
    const line = data.toString();
    process.stdout.write(`${line}\n`);
    if (line === '{"line":"end"}') void finish(0);
  });
  socket.on('close', () => void finish(1));
  for (const line of early.splice(0)) socket.send(line);
});

browser = await openBrowser();
// The page is answered by playwright (no network response, so no address), which Chromium's
// Local Network Access checks take for a public page reaching into loopback; served by the
// backend itself it would be a loopback page. The permission says what the origin really is.
context = await browser.newContext({ permissions: ['local-network-access'] });
const page = await context.newPage();
page.on('pageerror', (/** @type {Error} */ e) => log(`page error: ${e.stack ?? e.message}`));
page.on('console', (/** @type {any} */ m) => {
  if (m.type() === 'error' || m.type() === 'warning') log(`page console.${m.type()}: ${m.text()}`);
});
page.on('crash', () => { log('the page crashed'); void finish(1); });

let origin;
try {
  origin = new URL(JSON.parse(String(await first)).options.baseUrl).origin;
} catch (e) {
  log(`PROTOCOL: the first line is not an init line with options.baseUrl: ${e instanceof Error ? e.message : e}`);
  await finish(1);
}
await page.route(`${origin}${PREFIX}**`, async (/** @type {any} */ route) => {
  const path = new URL(route.request().url()).pathname.slice(PREFIX.length);
  if (path === 'index.html') return route.fulfill({ status: 200, contentType: 'text/html', body: PAGE });
  const file = normalize(join(packageDir, path));
  if (!/^(src|pkg|runner)\//.test(path) || !file.startsWith(packageDir)) return route.fulfill({ status: 404 });
  try {
    const body = await readFile(file);
    return route.fulfill({ status: 200, contentType: MIME[extname(file)] ?? 'application/octet-stream', body });
  } catch {
    return route.fulfill({ status: 404 });
  }
});
const relayUrl = `ws://127.0.0.1:${/** @type {any} */ (relay.address()).port}`;
await page.goto(`${origin}${PREFIX}index.html?relay=${encodeURIComponent(relayUrl)}`);
