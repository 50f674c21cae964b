// The browser lifecycle in headless Chromium: the page's `offline` event holds every reconnect
// attempt after the connection is lost, and `online` reconnects at once; the reply afterwards
// arrives whole. The page is served on the mock's own origin (playwright answers /__t/ with the
// package files), network state is switched with playwright's `context.setOffline`, which fires
// the page's real `offline`/`online` events, and the mock drops every connection through its
// control API while the page is offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBrowser } from '../runner/chromium.mjs';
import { fastBackoff, startMock } from './mock.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
import { ChatClient } from '/__t/src/index.js';
const client = new ChatClient({ dialect: 'native', baseUrl: location.origin, seed: 5,
  backoff: ${JSON.stringify(fastBackoff)} });
const states = [];
let text = '';
client.on('stateChanged', (e) => states.push(e.event.to.kind));
client.on('textDelta', ({ event: { update } }) => {
  text = update.kind === 'replace' ? update.text : text.slice(0, update.offset) + update.text;
});
window.chat = {
  states,
  async exchange(message) {
    text = '';
    const done = new Promise((resolve) => { const off = client.on('turnCompleted', () => { off(); resolve(); }); });
    await (await client.send(message)).acked();
    await done;
    return text;
  },
  state: () => client.state.kind,
  whenReady: () => client.whenState('ready').then(() => true),
  close: () => client.close(),
};
window.ready = true;
</script>`;

let mock;
let browser;
let context;

before(async () => {
  mock = await startMock(29);
  browser = await openBrowser();
  // Served by playwright, the page has no address: the permission says it is the loopback origin
  // it stands for (see scenario-runner-chromium.mjs).
  context = await browser.newContext({ permissions: ['local-network-access'] });
  await context.route(`${mock.base}/__t/**`, async (route) => {
    const path = new URL(route.request().url()).pathname.slice('/__t/'.length);
    if (path === 'index.html') return route.fulfill({ status: 200, contentType: 'text/html', body: PAGE });
    const file = normalize(join(packageDir, path));
    if (!/^(src|pkg)\//.test(path) || !file.startsWith(packageDir)) return route.fulfill({ status: 404 });
    return route.fulfill({ status: 200, contentType: MIME[extname(file)] ?? 'application/octet-stream', body: await readFile(file) });
  });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await mock?.stop();
});

test('offline holds reconnect attempts in the browser; online reconnects at once', async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(`${mock.base}/__t/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 }).catch((e) => {
    throw new Error(`the page did not start: ${e.message}\n${problems.join('\n')}`);
  });
  assert.equal(await page.evaluate(() => window.chat.exchange('hello')), 'You said: hello');

  await context.setOffline(true);
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  const before = await page.evaluate(() => window.chat.states.length);
  // Every connection dropped while offline: with a 20 ms backoff the client would otherwise
  // spend its five attempts within a second or two and give up.
  const r = await fetch(`${mock.base}/_mock/restart`, { method: 'POST', body: '{}' });
  assert.ok(r.ok);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const offline = await page.evaluate((n) => window.chat.states.slice(n), before);
  assert.deepEqual(offline, ['reconnecting'], `while offline: ${offline.join(' -> ')}`);
  assert.equal(await page.evaluate(() => window.chat.state()), 'reconnecting');

  const online = Date.now();
  await context.setOffline(false);
  assert.equal(await page.evaluate(() => window.chat.whenReady()), true);
  assert.ok(Date.now() - online < 5_000, 'reconnected at once, not after a long backoff');
  const after = await page.evaluate((n) => window.chat.states.slice(n), before);
  assert.deepEqual(after.slice(0, 2), ['reconnecting', 'connecting'], after.join(' -> '));
  assert.equal(await page.evaluate(() => window.chat.exchange('again')), 'You said: again');
  await page.evaluate(() => window.chat.close());
  assert.deepEqual(problems, []);
  await page.close();
});
