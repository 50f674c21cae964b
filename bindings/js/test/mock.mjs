// Test helper: runs the `chatwire-mock` binary on a free port and talks to its control API.
// `scripts/test-js` builds the binary and sets CHATWIRE_MOCK_BIN; without it the debug build of
// the workspace's target dir is used.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const defaultBin = fileURLToPath(new URL('../../../target/debug/chatwire-mock', import.meta.url));

/** Starts the mock; resolves with `{ base, faults(spec), received(dialect), reset(), stop() }`. */
export async function startMock(seed = 7) {
  const bin = process.env.CHATWIRE_MOCK_BIN || defaultBin;
  const child = spawn(bin, ['--port', '0', '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`chatwire-mock exited (${code}) before listening`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
  });
  const post = async (path, body) => {
    const r = await fetch(base + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}),
    });
    if (!r.ok) throw new Error(`POST ${path}: HTTP ${r.status} ${await r.text()}`);
  };
  return {
    base,
    faults: (spec) => post('/_mock/faults', spec),
    reset: () => post('/_mock/reset'),
    received: async (dialect) => (await fetch(`${base}/_mock/received?dialect=${dialect}`)).json(),
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}

/** Fast reconnects, so fault tests take milliseconds rather than seconds. */
export const fastBackoff = {
  baseMs: 20, capMs: 500, restartMaxMs: 100, rateLimitMinMs: 50, initializingMinMs: 50, networkMinMs: 30,
};

export const DIALECTS = ['native', 'chat-v2', 'chat-interfaces', 'miptech', 'openai', 'parlant', 'ai-sdk'];

/**
 * Sends `text` and collects the reply: resolves `{ text, turns, receipt }` once a turn ends.
 * `text` is the assistant text as an app renders it (append at offset, replace).
 */
export async function exchange(client, text, timeoutMs = 10_000) {
  let reply = '';
  let turns = 0;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no completed turn within ${timeoutMs} ms; reply so far ${JSON.stringify(reply)}`)), timeoutMs);
    const off = client.on('*', ({ event }) => {
      if (event.type === 'textDelta' && event.channel === 'text') {
        const u = event.update;
        reply = u.kind === 'replace' ? u.text : reply.slice(0, u.offset) + u.text;
      }
      if (event.type === 'message' && event.role === 'assistant' && reply === '') reply = event.content;
      if (event.type === 'turnCompleted') {
        turns += 1;
        clearTimeout(timer);
        off();
        resolve();
      }
      if (event.type === 'turnFailed' && event.error.code !== 'disconnected' && event.error.code !== 'discontinuity') {
        clearTimeout(timer);
        off();
        reject(new Error(`turn failed: ${JSON.stringify(event.error)}`));
      }
    });
  });
  const receipt = await client.send(text);
  await done;
  return { text: reply, turns, receipt };
}
