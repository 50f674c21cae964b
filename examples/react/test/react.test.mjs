// The React example in headless Chromium (playwright-core driving Debian's /usr/bin/chromium):
// `useChat` with `chatwireTransport`, served by serve.mjs's `startReactPage` against the
// chatwire-mock binary. On native and chat-interfaces: a reply streams in (seen part-way, then
// whole); `/tool paris` renders one tool card with its input and output; "cut the network" while
// a reply streams (the mock drops the dialect's connections and refuses new ones for a second)
// still ends with one complete reply, the client having reconnected, and the mock received the
// message once. No page error is allowed. The app (src/) type-checks under `tsc --strict` against
// the published types of `ai`, `@ai-sdk/react` and React and the package's declarations.
//
// `CHATWIRE_SCREENSHOT=1` also writes docs/img/react-chat.png (the README's screenshot); a normal
// run writes nothing. playwright-core is the package's dev dependency, resolved from bindings/js.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, startReactPage } from '../serve.mjs';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(join(repo, 'bindings', 'js', 'package.json'));
const { chromium } = require('playwright-core');

const SCREENSHOT = process.env.CHATWIRE_SCREENSHOT === '1';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
/** The browser's own log lines for connections the test cut on purpose. */
const NETWORK_LOG = /^(Failed to load resource: (net::ERR_|the server responded with a status of)|WebSocket connection to .* failed)/;
const MESSAGE = 'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november';
const REPLY = `You said: ${MESSAGE}`;

let site;
let userDataDir;
let browser;

before(async () => {
  const ms = buildApp();
  console.log(`react example bundle: ${ms} ms`);
  site = await startReactPage({ tokenDelayMs: 80, seed: 9 });
  userDataDir = mkdtempSync(join(tmpdir(), 'chatwire-react-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 860, height: 640 },
  });
});

after(async () => {
  await browser?.close();
  await site?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

test('the app type-checks under tsc --strict (useChat with chatwireTransport)', () => {
  const tsc = join(repo, 'bindings', 'js', 'node_modules', '.bin', 'tsc');
  const project = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  const run = spawnSync(tsc, ['-p', project], { encoding: 'utf8' });
  assert.equal(run.error, undefined, String(run.error));
  assert.equal(run.status, 0, `tsc -p ${project}\n${run.stdout}${run.stderr}`);
});

async function open(dialect) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !NETWORK_LOG.test(msg.text())) problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${site.url}?dialect=${dialect}`);
  await page.locator('#composer input').waitFor({ timeout: 10_000 });
  return { page, problems };
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.click('#send');
}

/** The assistant messages' text, one string per text part. */
const replies = (page) => page.locator('.msg.assistant .text').allTextContents();

async function received(dialect, text) {
  const list = await (await fetch(`${site.mockBase}/_mock/received?dialect=${dialect}`)).json();
  return list.filter((r) => r.text === text);
}

for (const dialect of ['native', 'chat-interfaces']) {
  test(`${dialect}: a reply streams in, then a tool call renders as one card`, async () => {
    const { page, problems } = await open(dialect);
    await send(page, MESSAGE);
    await page.locator('.msg.assistant .text').filter({ hasText: 'You said: alpha' }).waitFor({ timeout: 10_000 });
    const partial = (await replies(page)).join('');
    assert.ok(partial.length < REPLY.length, `seen part-way: ${partial}`);
    await page.locator('#log[data-status="ready"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await replies(page), [REPLY]);

    await send(page, '/tool paris');
    await page.locator('.tool[data-state="output-available"]').waitFor({ timeout: 10_000 });
    await page.locator('#log[data-status="ready"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.tool').count(), 1);
    assert.match(await page.locator('.tool-name').textContent(), /lookup/);
    assert.equal(await page.locator('.tool-input').textContent(), '{"query":"paris"}');
    assert.match(await page.locator('.tool-output').textContent(), /result for paris/);
    assert.deepEqual(await replies(page), [REPLY, 'You said: /tool paris']);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${dialect}: a network cut mid-reply still ends with one complete reply`, async () => {
    const { page, problems } = await open(dialect);
    const text = `${MESSAGE} ${dialect}`;
    await send(page, text);
    await page.locator('.msg.assistant .text').filter({ hasText: 'You said: alpha' }).waitFor({ timeout: 10_000 });
    await page.click('#cut');
    await page.locator('#badge[data-state="reconnecting"], #badge[data-state="connecting"]').waitFor({ timeout: 10_000 });
    await page.locator('#badge[data-state="ready"]').waitFor({ timeout: 10_000 });
    await page.locator('#log[data-status="ready"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await replies(page), [`You said: ${text}`]);
    assert.equal(await page.locator('#error').count(), 0);
    assert.equal((await received(dialect, text)).length, 1);
    if (SCREENSHOT && dialect === 'native') {
      await send(page, '/tool paris');
      await page.locator('.tool[data-state="output-available"]').waitFor({ timeout: 10_000 });
      await page.locator('#log[data-status="ready"]').waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(repo, 'docs', 'img', 'react-chat.png') });
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}
