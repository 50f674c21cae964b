// A closed ChatClient keeps nothing alive: a Node process that used a client (a whole exchange,
// or closed mid-reply while a streamed response is still being read) exits by itself once
// `close()` resolves, on every dialect. A request or timer left behind would keep the child
// alive until the watchdog kills it, and the test fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { DIALECTS, startMock } from './mock.mjs';

const child = fileURLToPath(new URL('./close-child.mjs', import.meta.url));
/** Far longer than a child needs (well under a second); far shorter than any protocol timeout. */
const WATCHDOG_MS = 20_000;

let mock;
before(async () => { mock = await startMock(13); });
after(async () => { await mock?.stop(); });

/** Runs the child; resolves `{ code, signal, out, err, killed }` once it exits. */
function run(dialect, when) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, mock.base, dialect, when], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const watchdog = setTimeout(() => { killed = true; p.kill('SIGKILL'); }, WATCHDOG_MS);
    p.once('error', reject);
    p.once('exit', (code, signal) => { clearTimeout(watchdog); resolve({ code, signal, out, err, killed }); });
  });
}

for (const dialect of DIALECTS) {
  for (const when of ['after-reply', 'mid-reply']) {
    test(`${dialect}: a process whose client closed ${when} exits by itself`, async () => {
      const r = await run(dialect, when);
      assert.equal(r.killed, false, `still alive after close(): killed by the watchdog; stderr: ${r.err}`);
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}; stderr: ${r.err}`);
      assert.equal(r.out.trim(), 'closed closed');
    });
  }
}
