// ChatClient in Node 20 with `ws` injected, against the chatwire-mock binary: every dialect
// streams its reply, a stream cut mid-reply is recovered with the text exactly once, options are
// refused synchronously, and the platform refusals are typed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { ChatClient, ChatwireError } from 'chatwire';
import { DIALECTS, exchange, fastBackoff, startMock } from './mock.mjs';

let mock;
before(async () => { mock = await startMock(11); });
after(async () => { await mock?.stop(); });

function client(dialect, extra = {}) {
  return new ChatClient({ dialect, baseUrl: mock.base, seed: 5, backoff: fastBackoff, transport: { WebSocket }, ...extra });
}

for (const dialect of DIALECTS) {
  test(`${dialect}: streams "You said: hello" and the receipt ends delivered`, async (t) => {
    await mock.reset();
    const c = client(dialect);
  t.after(() => c.close());
    const seen = [];
    c.on('*', (e) => seen.push(e.event.type));
    const { text, receipt } = await exchange(c, 'hello');
    assert.equal(text, 'You said: hello');
    const final = await receipt.acked();
    assert.equal(final.kind, c.capabilities.acks ? 'acked' : 'sent');
    assert.equal(c.state.kind, 'ready');
    assert.ok(seen.includes('stateChanged') && seen.includes('messageStatus'), seen.join(','));
    const stats = c.stats();
    assert.equal(stats.sent, 1);
    assert.ok(stats.events >= seen.length);
  });

  test(`${dialect}: a stream cut after 5 frames still delivers the text exactly once`, async (t) => {
    await mock.reset();
    await mock.faults({ drop_after_frames: 5, once: true });
    const c = client(dialect);
  t.after(() => c.close());
    const { text, turns } = await exchange(c, 'hello');
    assert.equal(text, 'You said: hello');
    assert.equal(turns, 1);
    assert.equal(c.stats().reconnects, 1, 'the cut forced one reconnect');
    const hello = (await mock.received(dialect)).filter((r) => r.text === 'hello');
    assert.equal(hello.length, 1, JSON.stringify(hello));
    // openai's cut stream can only be re-sent (no resume): the backend saw it twice. ai-sdk
    // resumes through the resumable-stream route while the reply is still being generated; a
    // reply that finished before the reconnect answers 204 there, and the message is re-sent
    // under the same messageId (the backend dedups it): once or twice, the text still once.
    if (dialect === 'ai-sdk') assert.ok([1, 2].includes(hello[0].times_received), JSON.stringify(hello));
    else assert.equal(hello[0].times_received, dialect === 'openai' ? 2 : 1, JSON.stringify(hello));
  });
}

test('invalid options throw ChatwireError synchronously', () => {
  const cases = [
    [{ dialect: 'nope', baseUrl: mock.base }, 'INVALID_CONFIG'],
    [{ dialect: 'native', baseUrl: 'http://example.com' }, 'INVALID_CONFIG'],
    [{ dialect: 'native', baseUrl: mock.base, queueCapacity: 0 }, 'INVALID_CONFIG'],
    [{ dialect: 'native', baseUrl: mock.base, getToken: 'x' }, 'INVALID_CONFIG'],
    [null, 'INVALID_CONFIG'],
  ];
  for (const [options, code] of cases) {
    assert.throws(() => new ChatClient(options), (e) => e instanceof ChatwireError && e.code === code,
      JSON.stringify(options));
  }
});

test('WebSocket dialects without a WebSocket are UNSUPPORTED; HTTP dialects need none', async (t) => {
  assert.equal(globalThis.WebSocket, undefined, 'Node 20 has no global WebSocket');
  for (const dialect of ['native', 'chat-v2', 'miptech']) {
    assert.throws(() => new ChatClient({ dialect, baseUrl: mock.base }),
      (e) => e instanceof ChatwireError && e.code === 'UNSUPPORTED' && /transport\.WebSocket/.test(e.message), dialect);
  }
  const c = new ChatClient({ dialect: 'openai', baseUrl: mock.base });
  t.after(() => c.close());
  assert.equal(c.state.kind, 'disconnected', 'built, connecting lazily on the first send');
});

test('events() iterates envelopes, break unsubscribes, and close ends it', async () => {
  await mock.reset();
  const c = client('native');
  const types = [];
  const reply = exchange(c, 'hello');
  for await (const e of c.events()) {
    types.push(e.event.type);
    if (e.event.type === 'turnCompleted') break;
  }
  await reply;
  assert.ok(types.includes('textDelta'), types.join(','));
  const rest = c.events();
  await c.close();
  const tail = [];
  for await (const e of rest) tail.push(e.event);
  assert.deepEqual(tail.at(-1), { type: 'stateChanged', from: { kind: 'ready' }, to: { kind: 'closed' } });
  assert.deepEqual(await rest.next(), { value: undefined, done: true }, 'ended for good');
  await c.close(); // idempotent
  assert.equal(c.state.kind, 'closed');
  await assert.rejects(c.send('late'), (e) => e.code === 'CLOSED');
});

test('whenState resolves on the state, honours its signal, and rejects when the client closes', async () => {
  await mock.reset();
  const c = client('native');
  c.connect();
  assert.deepEqual(await c.whenState('ready'), { kind: 'ready' });
  const aborted = new AbortController();
  const waiting = c.whenState('failed', { signal: aborted.signal });
  aborted.abort(new Error('gave up'));
  await assert.rejects(waiting, /gave up/);
  const never = c.whenState('failed');
  await c.close();
  await assert.rejects(never, (e) => e.code === 'CLOSED');
});

test('messages still queued at close fail: acked() rejects DELIVERY_FAILED, onStatus sees it', async () => {
  const c = new ChatClient({ dialect: 'native', baseUrl: 'http://127.0.0.1:9', backoff: fastBackoff, transport: { WebSocket } });
  const receipt = await c.send('never');
  const statuses = [];
  receipt.onStatus((s) => statuses.push(s.kind));
  await c.close();
  assert.equal(receipt.status.kind, 'failed');
  assert.ok(statuses.includes('failed'));
  await assert.rejects(receipt.acked(), (e) => e instanceof ChatwireError && e.code === 'DELIVERY_FAILED');
});

test('a token provider is asked before connecting and its token reaches the backend', async (t) => {
  await mock.reset();
  let calls = 0;
  const c = client('chat-v2', { getToken: async () => { calls += 1; return 'tok-1'; } });
  t.after(() => c.close());
  const { text } = await exchange(c, 'hello');
  assert.equal(text, 'You said: hello');
  assert.equal(calls, 1);
});
