// A wasm trap loses nothing: pending receipts fail with INTERNAL, the state becomes failed,
// iterators end, and once ChatClient.ready() resolves a new client works. Also: a process with
// --unhandled-rejections=strict survives messages that fail while nobody awaits their receipts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { ChatClient, ChatwireError } from 'chatwire';
import { exchange, fastBackoff, startMock } from './mock.mjs';

let mock;
before(async () => { mock = await startMock(13); });
after(async () => { await mock?.stop(); });

test('a forced trap fails pending receipts with INTERNAL and a new client works', async (t) => {
  // Nothing listens on port 9: the messages stay queued.
  const c = new ChatClient({ dialect: 'native', baseUrl: 'http://127.0.0.1:9', backoff: fastBackoff, transport: { WebSocket } });
  const other = new ChatClient({ dialect: 'openai', baseUrl: 'http://127.0.0.1:9', backoff: fastBackoff });
  const a = await c.send('one');
  const b = await other.send('two');
  const iterator = c.events();
  const failed = c.whenState('failed');
  // The test hook traps inside a session call (wasm `unreachable`), as a panic would.
  assert.throws(() => c._call((s) => s.__forceTrap()), (e) => e instanceof ChatwireError && e.code === 'INTERNAL');
  for (const receipt of [a, b]) {
    assert.deepEqual(receipt.status, { kind: 'failed', reason: 'internal' });
    await assert.rejects(receipt.acked(), (e) => e instanceof ChatwireError && e.code === 'INTERNAL');
  }
  assert.deepEqual(await failed, { kind: 'failed' });
  assert.equal(other.state.kind, 'failed', 'every client of the crashed module fails');
  // Drain what was buffered before the crash; the iterator then ends.
  for (;;) { if ((await iterator.next()).done) break; }
  assert.throws(() => c.reconnectNow(), (e) => e.code === 'CLOSED');
  await c.close(); // still fine
  await ChatClient.ready();
  const fresh = new ChatClient({ dialect: 'native', baseUrl: mock.base, backoff: fastBackoff, transport: { WebSocket } });
  t.after(() => fresh.close());
  const { text } = await exchange(fresh, 'hello');
  assert.equal(text, 'You said: hello');
});

test('--unhandled-rejections=strict survives failed receipts nobody awaits', () => {
  const script = `
    import { ChatClient } from 'chatwire';
    import WebSocket from 'ws';
    const c = new ChatClient({ dialect: 'native', baseUrl: 'http://127.0.0.1:9', maxAttempts: 1,
      backoff: { baseMs: 5, capMs: 10, networkMinMs: 5 }, transport: { WebSocket } });
    const receipts = [];
    for (let i = 0; i < 5; i++) receipts.push(await c.send('m' + i));
    await c.whenState('failed');
    await c.close();
    const h = new ChatClient({ dialect: 'openai', baseUrl: 'http://127.0.0.1:9', maxAttempts: 1, backoff: { baseMs: 5, capMs: 10, networkMinMs: 5 } });
    await h.send('x');
    await h.close();
    await new Promise((r) => setTimeout(r, 50));
    console.log(receipts.map((r) => r.status.kind).join(','));
  `;
  const run = spawnSync(process.execPath, ['--unhandled-rejections=strict', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 30_000,
  });
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.stdout.trim(), 'failed,failed,failed,failed,failed');
});
