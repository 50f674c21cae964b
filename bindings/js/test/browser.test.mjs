// Headless Chromium tests of the package (src/ over the wasm-bindgen `--target web` build): a tiny HTTP
// server on 127.0.0.1 serves a page that imports `chatwire` through an import map, as a site
// would, initialises the module, calls the exports and writes the results into the DOM; the test
// reads them back from the DOM. The last test serves an esbuild bundle of a chat app instead (the
// package inside it, the module beside it). playwright-core drives Debian's /usr/bin/chromium (it downloads
// no browser) with a fresh, throw-away user-data-dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as esbuild from 'esbuild';
import { startMock } from './mock.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>chatwire in the browser</title>
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "chatwire": "/src/index.js" } }</script>
</head>
<body>
<pre id="out">pending</pre>
<script type="module">
import { version, backoffDelayMs, ChatwireError } from 'chatwire';
const out = document.getElementById('out');
try {
  let error = null;
  try {
    backoffDelayMs(1, 0.5, 'bogus');
  } catch (e) {
    error = {
      isChatwireError: e instanceof ChatwireError,
      isError: e instanceof Error,
      name: e.name,
      code: e.code,
      message: e.message,
    };
  }
  out.textContent = JSON.stringify({
    version: version(),
    mid3: backoffDelayMs(3, 0.5),
    far: backoffDelayMs(1e6, 0.999999),
    restart: backoffDelayMs(10, 0.5, 'serverRestart'),
    rateLimited: backoffDelayMs(1, 0.5, 'rateLimited'),
    error,
  });
  out.dataset.status = 'done';
} catch (e) {
  out.textContent = String((e && e.stack) || e);
  out.dataset.status = 'failed';
}
</script>
</body>
</html>
`;

// A ChatClient in the page: native over the browser's own WebSocket (no upgrade headers needed
// without credentials) against the mock whose base URL comes in the query.
const CHAT_SCRIPT = `import { ChatClient, ChatwireError } from 'chatwire';
const out = document.getElementById('out');
const base = new URLSearchParams(location.search).get('base');
try {
  let refusal = null;
  try {
    new ChatClient({ dialect: 'miptech', baseUrl: base, apiKey: 'k' });
  } catch (e) {
    refusal = { isChatwireError: e instanceof ChatwireError, code: e.code, message: e.message };
  }
  const client = new ChatClient({ dialect: 'native', baseUrl: base, seed: 3 });
  let text = '';
  const done = new Promise((resolve) => client.on('turnCompleted', resolve));
  client.on('textDelta', ({ event: { update } }) => {
    text = update.kind === 'replace' ? update.text : text.slice(0, update.offset) + update.text;
  });
  const receipt = await client.send('hello');
  await done;
  const final = await receipt.acked();
  const state = client.state.kind;
  await client.close();
  out.textContent = JSON.stringify({ text, final: final.kind, state, closed: client.state.kind, refusal });
  out.dataset.status = 'done';
} catch (e) {
  out.textContent = String((e && e.stack) || e);
  out.dataset.status = 'failed';
}
`;

const CHAT_PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "chatwire": "/src/index.js" } }</script>
</head>
<body>
<pre id="out">pending</pre>
<script type="module">
${CHAT_SCRIPT}</script>
</body>
</html>
`;

// The same script bundled by esbuild with the package inside it (no import map), and the module
// copied next to the bundle, where its `new URL('chatwire_wasm_bg.wasm', import.meta.url)` points.
const BUNDLE_PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body>
<pre id="out">pending</pre>
<script type="module" src="/bundle/app.js"></script>
</body>
</html>
`;

/** `/bundle/app.js` (esbuild's output) and `/bundle/chatwire_wasm_bg.wasm`, once built. */
const bundled = new Map();

const MIME = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain',
};

/** `/`, `/chat` and `/bundled` -> the pages; `/bundle/...` -> the esbuild output; `/pkg/...`, `/src/...` -> package files; anything else -> 404. */
async function handle(req, res) {
  const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  if (path === '/' || path === '/chat' || path === '/bundled') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end({ '/': PAGE, '/chat': CHAT_PAGE, '/bundled': BUNDLE_PAGE }[path]);
    return;
  }
  if (bundled.has(path)) {
    res.writeHead(200, { 'content-type': MIME[extname(path)] });
    res.end(bundled.get(path));
    return;
  }
  const file = normalize(join(packageDir, path));
  if (!/^\/(pkg|src)\//.test(path) || !file.startsWith(packageDir)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
}

let server;
let origin;
let mock;
let userDataDir;
let context;

before(async () => {
  mock = await startMock(17);
  server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  origin = `http://127.0.0.1:${server.address().port}`;
  userDataDir = mkdtempSync(join(tmpdir(), 'chatwire-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await context?.close();
  await mock?.stop();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the web build runs in headless Chromium and computes the values of the Rust core', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') {
      problems.push(`console.${msg.type()}: ${msg.text()}`);
    }
  });

  const response = await page.goto(`${origin}/`);
  assert.equal(response?.status(), 200);
  const out = page.locator('#out[data-status]');
  await out.waitFor();
  const status = await out.getAttribute('data-status');
  const text = await out.textContent();
  assert.equal(status, 'done', `page failed: ${text}\n${problems.join('\n')}`);

  const results = JSON.parse(text);
  assert.equal(results.version, packageJson.version);
  assert.equal(results.mid3, 4000);
  assert.ok(results.far <= 36000 && results.far >= 35999, `far: ${results.far}`);
  assert.equal(results.restart, 1800); // the 2 s restart ceiling, jittered downwards only
  assert.equal(results.rateLimited, 5500); // the 5 s floor, jittered upwards only
  assert.deepEqual(
    { ...results.error, message: undefined },
    {
      isChatwireError: true,
      isError: true,
      name: 'ChatwireError',
      code: 'INVALID_INPUT',
      message: undefined,
    },
  );
  assert.match(results.error.message, /bogus/);
  assert.deepEqual(problems, [], 'the page logged errors or warnings');
  await page.close();
});

test('a ChatClient streams a reply in headless Chromium over the browser WebSocket', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${origin}/chat?base=${encodeURIComponent(mock.base)}`);
  const out = page.locator('#out[data-status]');
  await out.waitFor({ timeout: 20_000 });
  const text = await out.textContent();
  assert.equal(await out.getAttribute('data-status'), 'done', `page failed: ${text}\n${problems.join('\n')}`);
  const results = JSON.parse(text);
  assert.equal(results.text, 'You said: hello');
  assert.equal(results.final, 'acked');
  assert.equal(results.state, 'ready');
  assert.equal(results.closed, 'closed');
  assert.equal(results.refusal.isChatwireError, true);
  assert.equal(results.refusal.code, 'UNSUPPORTED');
  assert.match(results.refusal.message, /API key/);
  assert.deepEqual(problems, [], 'the page logged errors');
  await page.close();
});

test('an esbuild bundle of an app using chatwire streams a reply in headless Chromium', async () => {
  const result = await esbuild.build({
    stdin: { contents: CHAT_SCRIPT, resolveDir: packageDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual([...result.errors, ...result.warnings], []);
  bundled.set('/bundle/app.js', result.outputFiles[0].contents);
  bundled.set('/bundle/chatwire_wasm_bg.wasm', readFileSync(join(packageDir, 'pkg', 'chatwire_wasm_bg.wasm')));
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.origin === origin) requests.push(url.pathname);
  });
  await page.goto(`${origin}/bundled?base=${encodeURIComponent(mock.base)}`);
  const out = page.locator('#out[data-status]');
  await out.waitFor({ timeout: 20_000 });
  const text = await out.textContent();
  assert.equal(await out.getAttribute('data-status'), 'done', `page failed: ${text}\n${problems.join('\n')}`);
  const results = JSON.parse(text);
  assert.equal(results.text, 'You said: hello');
  assert.equal(results.final, 'acked');
  assert.equal(results.refusal.code, 'UNSUPPORTED');
  assert.deepEqual(problems, [], 'the page logged errors');
  assert.deepEqual(requests.sort(), ['/bundle/app.js', '/bundle/chatwire_wasm_bg.wasm', '/bundled'],
    'the page loads the bundle and the module next to it, nothing from the package');
  await page.close();
});
