// The chat page in headless Chromium (playwright-core driving Debian's /usr/bin/chromium), served
// by serve.mjs's `startChatPage` against the chatwire-mock binary, exactly as a visitor gets it:
//
// - on several dialects: type a message, watch the reply stream, press "cut the network" while it
//   streams (the mock drops the dialect's connections and refuses new ones for a second), see the reply
//   finish exactly once (the text appears once, the turn completes, the message's tick reaches
//   acked, the mock received the message once, the client reconnected);
// - `/tool paris` renders a tool card with its arguments and result;
// - a message the backend refuses (an injected HTTP 400) shows failed with a retry button, and
//   the retry delivers it in the same row;
// - every dialect the picker enables streams a reply; each one it disables (the package refuses
//   it in a browser, see bindings/js/src/platform.js) shows the reason;
// - app.js type-checks under `tsc --strict --checkJs` against the package's declarations, so the
//   page uses the public API as declared (tsconfig.json beside it).
//
// `CHATWIRE_SCREENSHOT=1` (or `--screenshot` when run as `node examples/web/test/page.test.mjs`)
// also writes docs/img/web-chat.png, the README's screenshot; a normal run writes nothing.
// playwright-core is the package's dev dependency, resolved from bindings/js.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChatPage } from '../serve.mjs';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(join(repo, 'bindings', 'js', 'package.json'));
const { chromium } = require('playwright-core');

const SCREENSHOT = process.env.CHATWIRE_SCREENSHOT === '1' || process.argv.includes('--screenshot');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
/** Chromium's console lines for a request or socket the test cut or refused (not page errors). */
const NETWORK_LOG = /^(Failed to load resource: (net::ERR_|the server responded with a status of)|WebSocket connection to .* failed)/;
/** Words streamed 80 ms apart: a reply of about 1.4 s, wide enough to cut in the middle. */
const TOKEN_DELAY_MS = 80;
const MESSAGE = 'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november';
const REPLY = `You said: ${MESSAGE}`;

let site;
let userDataDir;
let browser;

before(async () => {
  site = await startChatPage({ tokenDelayMs: TOKEN_DELAY_MS, seed: 5 });
  userDataDir = mkdtempSync(join(tmpdir(), 'chatwire-web-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 860, height: 640 },
  });
});

after(async () => {
  await browser?.close();
  await site?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Opens the page on `dialect`; returns the page and the list of page errors seen. */
async function open(dialect) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // The browser's own log lines for connections the test cut or refused on purpose are expected.
    if (msg.type() === 'error' && !NETWORK_LOG.test(msg.text())) problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${site.url}?dialect=${dialect}`);
  try {
    await page.locator(`body[data-ready="${dialect}"]`).waitFor({ state: 'attached', timeout: 10_000 });
    await page.locator('#badge[data-state="ready"]').waitFor({ timeout: 10_000 });
  } catch (e) {
    throw new Error(`the page did not get ready on ${dialect}: ${e.message}\n${problems.join('\n')}`);
  }
  return { page, problems };
}

async function say(page, text) {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}

async function received(dialect) {
  const r = await fetch(`${site.mockBase}/_mock/received?dialect=${dialect}`);
  return r.json();
}

// Concurrently: each page cuts only its own dialect's connections.
describe('cut mid-reply', { concurrency: true }, () => {
for (const dialect of ['native', 'chat-v2', 'chat-interfaces']) {
  test(`${dialect}: a reply cut mid-stream by "cut the network" finishes exactly once`, async () => {
    const { page, problems } = await open(dialect);
    await say(page, MESSAGE);
    const reply = page.locator('.bubble.assistant').last();
    // Streaming: part of the reply is on screen, not all of it.
    await page.waitForFunction(
      (full) => {
        const b = [...document.querySelectorAll('.bubble.assistant')].pop();
        return b && b.textContent.startsWith('You said: alpha') && b.textContent !== full;
      },
      REPLY, { timeout: 10_000, polling: 10 },
    );
    // Read the reply and press the button in one step, so `partial` is what was on screen.
    const partial = await page.evaluate(() => {
      const text = [...document.querySelectorAll('.bubble.assistant')].pop()?.textContent;
      document.getElementById('cut')?.click();
      return text;
    });
    const note = page.locator('.system', { hasText: 'network cut' });
    await note.waitFor({ timeout: 5_000 });
    const dropped = Number(/(\d+) connection/.exec(await note.textContent())?.[1]);
    assert.ok(dropped >= 1, `the cut dropped a connection: ${await note.textContent()}`);

    await page.locator('.turn[data-done="completed"]').waitFor({ timeout: 20_000 });
    await page.locator('.row.user .tick[data-status="acked"]').waitFor({ timeout: 20_000 });
    assert.equal(await reply.textContent(), REPLY);
    assert.notEqual(partial, REPLY, 'the cut came while the reply was still streaming');
    const log = await page.locator('#log').textContent();
    assert.equal(log.split(REPLY).length - 1, 1, `the reply appears exactly once in:\n${log}`);
    assert.equal(await page.locator('.bubble.assistant').count(), 1);
    assert.equal(await page.locator('.row.user').count(), 1);
    await page.locator('#badge[data-state="ready"]').waitFor({ timeout: 10_000 });
    assert.ok(Number(await page.locator('#stats').getAttribute('data-reconnects')) >= 1, 'the client reconnected');
    const mine = (await received(dialect)).filter((r) => r.text === MESSAGE);
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.equal(mine[0].times_received, 1, JSON.stringify(mine));
    assert.deepEqual(problems, []);
    await page.close();
  });
}
});

test('/tool paris shows a tool card with its arguments and result, then the reply', async () => {
  const { page, problems } = await open('native');
  await say(page, '/tool paris');
  const card = page.locator('.tool[data-state="completed"]');
  await card.waitFor({ timeout: 10_000 });
  assert.equal(await card.locator('.name').textContent(), 'lookup');
  assert.match(await card.locator('.args').textContent(), /"query":\s*"paris"/);
  assert.notEqual(await card.locator('.result').textContent(), '');
  await page.locator('.turn[data-done="completed"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.bubble.assistant').last().textContent(), 'You said: /tool paris');
  await page.locator('.row.user .tick[data-status="acked"]').waitFor({ timeout: 10_000 });
  if (SCREENSHOT) await screenshot(page);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a message the backend refuses shows failed with a retry button, and the retry delivers it', async () => {
  const { page, problems } = await open('chat-interfaces');
  const fault = await fetch(`${site.mockBase}/_mock/faults`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ dialect: 'chat-interfaces', http_error: { status: 400 }, once: true }),
  });
  assert.equal(fault.status, 200);
  await say(page, 'refused once');
  const tick = page.locator('.row.user .tick');
  await page.locator('.row.user .tick[data-status="failed"]').waitFor({ timeout: 10_000 });
  assert.match(await tick.getAttribute('title'), /failed: /);
  await page.locator('.row.user .retry').click();
  await page.locator('.row.user .tick[data-status="acked"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.row.user .retry').count(), 0, 'the retry button is gone');
  assert.equal(await page.locator('.row.user').count(), 1, 'the retry reuses the row');
  await page.locator('.turn[data-done="completed"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.bubble.assistant').last().textContent(), 'You said: refused once');
  await fetch(`${site.mockBase}/_mock/faults`, { method: 'DELETE' });
  assert.deepEqual(problems, []);
  await page.close();
});

test('every dialect the picker enables streams a reply in the browser; each one it disables says why', async () => {
  const { page, problems } = await open('native');
  const options = await page.locator('#dialect option').evaluateAll((os) =>
    os.map((o) => ({ value: o.value, disabled: o.disabled, title: o.title })));
  assert.deepEqual(options.map((o) => o.value).sort(),
    ['ai-sdk', 'chat-interfaces', 'chat-v2', 'miptech', 'native', 'openai', 'parlant']);
  // Which dialects a browser cannot run is the package's verdict (its UNSUPPORTED message).
  const note = await page.locator('#dialect-note').textContent();
  for (const o of options.filter((o) => o.disabled)) {
    assert.match(o.title, /WebSocket/, `${o.value}: ${o.title}`);
    assert.ok(note.includes(`${o.value} is disabled: ${o.title}`), note);
  }
  const enabled = options.filter((o) => !o.disabled).map((o) => o.value);
  for (const always of ['native', 'chat-v2', 'chat-interfaces', 'parlant', 'openai', 'ai-sdk']) assert.ok(enabled.includes(always), always);
  // Switching dialects builds a new client and starts a new conversation.
  for (const dialect of enabled) {
    await page.locator('#dialect').selectOption(dialect);
    await page.locator(`body[data-ready="${dialect}"]`).waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(new URL(page.url()).searchParams.get('dialect'), dialect);
    await say(page, `hello ${dialect}`);
    await page.locator('.turn[data-done="completed"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.bubble.assistant').last().textContent(), `You said: hello ${dialect}`, dialect);
    assert.equal(await page.locator('.row.user').count(), 1, `${dialect}: a new conversation`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('the page script type-checks against the package declarations (tsc --strict --checkJs)', () => {
  const tsc = join(repo, 'bindings', 'js', 'node_modules', '.bin', 'tsc');
  const project = join(repo, 'examples', 'web', 'tsconfig.json');
  const run = spawnSync(tsc, ['-p', project], { encoding: 'utf8' });
  assert.equal(run.error, undefined, String(run.error));
  assert.equal(run.status, 0, `tsc -p ${project}\n${run.stdout}${run.stderr}`);
});

/** The README's screenshot: a tool call, a streamed reply, and a recovered cut. */
async function screenshot(page) {
  await say(page, MESSAGE);
  await page.waitForFunction(() => [...document.querySelectorAll('.bubble.assistant')].pop()?.textContent.includes('charlie'));
  await page.locator('#cut').click();
  await page.locator('.turn[data-done="completed"]').nth(1).waitFor({ timeout: 20_000 });
  await page.locator('.row.user .tick[data-status="acked"]').nth(1).waitFor({ timeout: 20_000 });
  await page.locator('#badge[data-state="ready"]').waitFor({ timeout: 10_000 });
  const path = join(repo, 'docs', 'img', 'web-chat.png');
  await page.screenshot({ path });
  console.log(`screenshot written to ${path}`);
}
