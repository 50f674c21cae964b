// The per-dialect entry points (`chatwire/openai`, `chatwire/native`, ...): each loads its own
// WebAssembly module built with that one dialect, offers the same API as `chatwire`, streams a
// reply against chatwire-mock, and refuses every other dialect with `UNSUPPORTED` naming the
// cargo feature the module lacks. Two entries live side by side in one process with the full one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import * as full from 'chatwire';
import * as openai from 'chatwire/openai';
import * as native from 'chatwire/native';
import { exchange, fastBackoff, startMock } from './mock.mjs';

let mock;
before(async () => { mock = await startMock(13); });
after(async () => { await mock?.stop(); });

const entries = [['openai', openai], ['native', native]];

test('the full entry holds all six dialects, a per-dialect entry exactly its own', () => {
  assert.deepEqual(full.dialects(), ['native', 'miptech', 'chat-v2', 'chat-interfaces', 'parlant', 'openai', 'ai-sdk']);
  for (const [dialect, entry] of entries) {
    assert.deepEqual(entry.dialects(), [dialect]);
    assert.deepEqual(Object.keys(entry).sort(), Object.keys(full).sort(), `${dialect}: same exports`);
    assert.equal(entry.version(), full.version());
    assert.equal(entry.backoffDelayMs(3, 0.5), 4000);
  }
});

for (const [dialect, entry] of entries) {
  test(`chatwire/${dialect} streams "You said: hello" from the mock`, async (t) => {
    await mock.reset();
    const client = new entry.ChatClient({
      dialect, baseUrl: mock.base, seed: 3, backoff: fastBackoff, transport: { WebSocket },
    });
    t.after(() => client.close());
    const { text, turns, receipt } = await exchange(client, 'hello');
    assert.equal(text, 'You said: hello');
    assert.equal(turns, 1);
    assert.equal((await receipt.acked()).kind, 'acked');
  });
}

test('a per-dialect entry refuses another dialect with UNSUPPORTED naming the feature', () => {
  for (const [dialect, entry, other] of [['openai', openai, 'native'], ['native', native, 'parlant']]) {
    let caught;
    assert.throws(() => new entry.ChatClient({ dialect: other, baseUrl: mock.base, transport: { WebSocket } }),
      (err) => { caught = err; return true; });
    assert.ok(caught instanceof entry.ChatwireError, `${dialect}: ${caught}`);
    assert.equal(caught.code, 'UNSUPPORTED', caught.message);
    assert.equal(caught.retryable, false);
    assert.match(caught.message, new RegExp(`dialect-${other}`));
    assert.match(caught.message, new RegExp(`${other} dialect is not compiled into this build`));
  }
  // An unknown name is still a configuration error, as in the full package.
  assert.throws(() => new openai.ChatClient({ dialect: 'gopher', baseUrl: mock.base }),
    (err) => err.code === 'INVALID_CONFIG');
});

test("a WebSocket without upgrade headers: the refusals are the core registry's, per dialect", async () => {
  // A platform WebSocket (as in a browser): the host cannot set headers on its upgrade.
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = class HeaderlessWebSocket {};
  const base = 'http://127.0.0.1:9';
  const refusal = (options) => {
    try {
      const c = new full.ChatClient({ baseUrl: base, ...options });
      c.close();
      return undefined;
    } catch (err) {
      assert.equal(err.code, 'UNSUPPORTED', err.message);
      return err.message;
    }
  };
  try {
    assert.equal(refusal({ dialect: 'miptech' }), undefined, 'miptech: the tenant travels as tenant_id');
    assert.match(refusal({ dialect: 'miptech', apiKey: 'k' }), /its API key and bearer token only as headers/);
    assert.equal(refusal({ dialect: 'native' }), undefined);
    assert.equal(refusal({ dialect: 'native', bearerToken: 't' }), undefined, 'native: the token is also in hello');
    assert.equal(refusal({ dialect: 'chat-v2', bearerToken: 't' }), undefined, 'chat-v2: ?token=');
    assert.equal(refusal({ dialect: 'native', getToken: async () => 't' }), undefined, 'native: a provider token is also in hello');
    assert.match(refusal({ dialect: 'chat-v2', getToken: async () => 't' }), /HTTP 401/);
    assert.match(refusal({ dialect: 'chat-v2', headers: { 'X-A': '1' } }), /option headers must travel as headers/);
    for (const dialect of ['openai', 'parlant', 'chat-interfaces']) {
      assert.equal(refusal({ dialect, bearerToken: 't', headers: { 'X-A': '1' }, getToken: async () => 't' }), undefined, dialect);
    }
    // An injected WebSocket takes headers (`ws`-style): nothing is refused.
    assert.equal(refusal({ dialect: 'miptech', transport: { WebSocket } }), undefined);
  } finally {
    globalThis.WebSocket = saved;
  }
});
