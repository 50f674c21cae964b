// `chatwire/ai` driven by the AI SDK's own `Chat` (`AbstractChat` from `ai`, with a small
// in-memory state as the SDK's own tests use, no React) against the chatwire-mock binary, on every
// dialect the package knows (DIALECTS in mock.mjs): the UI message holds the complete reply text
// once, `/tool paris` gives one backend-executed tool part with its input and output, a stream cut
// after 5 frames still ends with the reply once; then stop() cancelling the turn on the backend,
// reconnectToStream replaying a running turn, typed errors, and `chatwire` not loading the adapter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { AbstractChat } from 'ai';

import { ChatClient, ChatwireError } from 'chatwire';
import { chatwireTransport } from 'chatwire/ai';
import { DIALECTS, fastBackoff, startMock } from './mock.mjs';

let mock;
before(async () => { mock = await startMock(13); });
after(async () => { await mock?.stop(); });

/** The SDK's `ChatState`, in memory (as in the SDK's chat.test.ts). */
class MemoryState {
  constructor() { this.status = 'ready'; this.error = undefined; this.messages = []; }
  pushMessage = (m) => { this.messages = this.messages.concat(m); };
  popMessage = () => { this.messages = this.messages.slice(0, -1); };
  replaceMessage = (i, m) => { this.messages = [...this.messages.slice(0, i), m, ...this.messages.slice(i + 1)]; };
  snapshot = (v) => structuredClone(v);
}

class TestChat extends AbstractChat {
  constructor(init) { super({ ...init, state: new MemoryState() }); }
}

/** A Chat on a fresh transport; `t.after` disposes both. */
function chatOn(t, dialect, extra = {}) {
  const transport = chatwireTransport({
    dialect, baseUrl: mock.base, seed: 3, backoff: fastBackoff, transport: { WebSocket }, ...extra,
  });
  const errors = [];
  const data = [];
  const chat = new TestChat({ id: `chat-${dialect}`, transport, onError: (e) => errors.push(e), onData: (d) => data.push(d) });
  t.after(() => chat.dispose());
  return { chat, transport, errors, data };
}

/** The assistant message's parts by kind. */
function reply(chat) {
  const last = chat.messages.at(-1);
  assert.equal(last?.role, 'assistant', JSON.stringify(chat.messages));
  const parts = last.parts;
  return {
    texts: parts.filter((p) => p.type === 'text'),
    text: parts.filter((p) => p.type === 'text').map((p) => p.text).join(''),
    tools: parts.filter((p) => p.type === 'dynamic-tool'),
    parts,
  };
}

function expectCompleted(chat, errors) {
  assert.deepEqual(errors.map(String), []);
  assert.equal(chat.status, 'ready');
  assert.equal(chat.messages.length, 2, JSON.stringify(chat.messages));
}

for (const dialect of DIALECTS) {
  test(`${dialect}: Chat.sendMessage streams "You said: hello" into one text part`, async (t) => {
    await mock.reset();
    const { chat, errors } = chatOn(t, dialect);
    await chat.sendMessage({ text: 'hello' });
    expectCompleted(chat, errors);
    const { texts, text } = reply(chat);
    assert.equal(text, 'You said: hello');
    assert.equal(texts.length, 1);
    assert.equal(texts[0].state, 'done');
  });

  test(`${dialect}: /tool paris gives one backend-executed tool part with input and output`, async (t) => {
    await mock.reset();
    const { chat, errors } = chatOn(t, dialect);
    await chat.sendMessage({ text: '/tool paris' });
    expectCompleted(chat, errors);
    const { tools, text } = reply(chat);
    assert.equal(tools.length, 1, JSON.stringify(tools));
    const [tool] = tools;
    assert.match(tool.toolName, /lookup$/);
    assert.deepEqual(tool.input, { query: 'paris' });
    assert.equal(tool.state, 'output-available');
    assert.equal(tool.providerExecuted, true);
    assert.equal(tool.output.query, 'paris', JSON.stringify(tool.output));
    // The mock's openai dialect answers /tool with a tool_calls response and no text.
    assert.equal(text, dialect === 'openai' ? '' : 'You said: /tool paris');
  });

  test(`${dialect}: a stream cut after 5 frames still ends with the reply once`, async (t) => {
    await mock.reset();
    await mock.faults({ drop_after_frames: 5, once: true });
    const { chat, transport, errors } = chatOn(t, dialect);
    await chat.sendMessage({ text: 'hello' });
    expectCompleted(chat, errors);
    const { texts, text } = reply(chat);
    assert.equal(text, 'You said: hello');
    assert.equal(texts.length, 1);
    assert.equal(transport.client.stats().reconnects, 1, 'the cut forced one reconnect');
    const hello = (await mock.received(dialect)).filter((r) => r.text === 'hello');
    assert.equal(hello.length, 1, JSON.stringify(hello));
  });
}

test('stop() cancels the turn on a backend that can (native): the Chat ends ready, the reply cut short', async (t) => {
  await mock.reset();
  const { chat, transport } = chatOn(t, 'native');
  const cancelled = new Promise((resolve) => transport.client.on('turnCancelled', resolve));
  const firstText = new Promise((resolve) => transport.client.on('textDelta', resolve));
  const sending = chat.sendMessage({ text: '/long 200' });
  await firstText;
  await chat.stop();
  await sending;
  await cancelled;
  assert.equal(chat.status, 'ready');
  const { text } = reply(chat);
  assert.ok(!text.includes('w200'), 'the reply stopped before its end');
  assert.equal(await transport.reconnectToStream({ chatId: chat.id }), null, 'the cancelled turn has ended');
});

test('reconnectToStream replays the running turn from its start, then resolves null', async (t) => {
  await mock.reset();
  const { chat, transport } = chatOn(t, 'native');
  const firstText = new Promise((resolve) => transport.client.on('textDelta', resolve));
  const sending = chat.sendMessage({ text: '/long 40' });
  await firstText;
  const replay = await transport.reconnectToStream({ chatId: chat.id });
  assert.ok(replay, 'a running turn can be reconnected to');
  const chunks = [];
  for await (const chunk of replay) chunks.push(chunk);
  await sending;
  assert.equal(chunks[0].type, 'start');
  assert.equal(chunks.at(-1).type, 'finish');
  const replayed = chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('');
  assert.equal(replayed, reply(chat).text);
  assert.ok(replayed.endsWith('w40'), replayed);
  assert.equal(await transport.reconnectToStream({ chatId: chat.id }), null);
});

test('status and tool progress arrive as transient data-chatwire parts, not message parts', async (t) => {
  await mock.reset();
  const { chat, data } = chatOn(t, 'native');
  await chat.sendMessage({ text: '/tool paris' });
  const kinds = data.map((d) => (assert.equal(d.type, 'data-chatwire'), d.data.event.type));
  assert.ok(kinds.includes('toolProgress') && kinds.includes('status'), kinds.join(','));
  assert.ok(!reply(chat).parts.some((p) => p.type.startsWith('data-')));
});

test('a turn the backend fails reaches the Chat as an error', async (t) => {
  await mock.reset();
  const { chat, errors } = chatOn(t, 'native');
  await chat.sendMessage({ text: '/error' });
  assert.equal(chat.status, 'error');
  assert.match(String(chat.error), /scripted failure/);
  assert.equal(errors.length, 1);
});

test('options are checked at once; an injected client is used and not closed by the transport', async () => {
  assert.throws(() => chatwireTransport({ dialect: 'nope', baseUrl: mock.base }), (e) => e instanceof ChatwireError && e.code === 'INVALID_CONFIG');
  assert.throws(() => chatwireTransport({ client: {} }), (e) => e instanceof ChatwireError && e.code === 'INVALID_CONFIG');
  const client = new ChatClient({ dialect: 'openai', baseUrl: mock.base });
  const transport = chatwireTransport({ client });
  assert.equal(transport.client, client);
  await assert.rejects(transport.sendMessages({ chatId: 'c', messages: [], abortSignal: undefined, trigger: 'submit-message', messageId: undefined }),
    (e) => e instanceof ChatwireError && e.code === 'INVALID_INPUT');
  assert.equal(await transport.reconnectToStream({ chatId: 'c' }), null, 'a refused send leaves nothing to reconnect to');
  transport.close();
  assert.notEqual(client.state.kind, 'closed');
  await client.close();
});

test('importing chatwire loads neither the adapter nor ai; chatwire/ai does not load ai either', () => {
  const hook = `data:text/javascript,${encodeURIComponent(`
    export async function resolve(spec, ctx, next) {
      const r = await next(spec, ctx);
      if (spec === 'ai' || /\\/src\\/ai\\.js$/.test(r.url)) process.stdout.write('LOADED ' + spec + '\\n');
      return r;
    }`)}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hook)});`;
  for (const [entry, expected] of [['chatwire', ''], ['chatwire/ai', 'LOADED chatwire/ai\n']]) {
    const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', `await import('${entry}');`],
      { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, expected, entry);
  }
});
