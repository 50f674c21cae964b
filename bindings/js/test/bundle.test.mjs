// The package can be bundled (issue 11): esbuild, a real bundler from npm, bundles a small app
// (test/bundle/app.mjs: `import { ChatClient } from 'chatwire'`) into one ESM file, the
// WebAssembly module is copied next to it (what the module's `new URL(..., import.meta.url)`
// resolves to in a bundle), and the bundle runs in Node against chatwire-mock: the streamed
// reply arrives, a forced trap is recovered from inside the bundle, and the bundle holds no
// dynamic `import(` (bundlers cannot follow a computed one). A browser bundle of the package
// builds without warnings and without Node built-ins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

import { startMock } from './mock.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const wasm = join(packageDir, 'pkg', 'chatwire_wasm_bg.wasm');
/** Matches `import(` and `import (` (a dynamic import), not `import.meta` or static imports. */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

test('an esbuild bundle of an app using chatwire streams a reply and survives a trap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatwire-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mock = await startMock(17);
  t.after(() => mock.stop());
  const outfile = join(dir, 'app.mjs');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('bundle/app.mjs', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // ws is CommonJS and requires Node built-ins: an ESM bundle gives it a `require` (esbuild #1921).
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    outfile,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const bundle = readFileSync(outfile, 'utf8');
  assert.ok(bundle.includes('createGlue'), 'the package is inside the bundle');
  assert.ok(!DYNAMIC_IMPORT.test(bundle), `the bundle has a dynamic import: ${excerpt(bundle)}`);
  assert.ok(!bundle.includes('chatwire_wasm.js'), 'the bundle does not name the glue file');
  copyFileSync(wasm, join(dir, 'chatwire_wasm_bg.wasm'));
  const run = spawnSync(process.execPath, [outfile, mock.base], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { hello: 'You said: hello', trap: 'INTERNAL', again: 'You said: again' });
});

test('a browser bundle of chatwire builds with no warnings, no Node built-ins and no dynamic import', async () => {
  const result = await esbuild.build({
    stdin: { contents: "export { ChatClient, ChatwireError, version } from 'chatwire';", resolveDir: packageDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings, []);
  const bundle = result.outputFiles[0].text;
  assert.ok(bundle.includes('createGlue'), 'the package is inside the bundle');
  assert.ok(!DYNAMIC_IMPORT.test(bundle), `the bundle has a dynamic import: ${excerpt(bundle)}`);
  assert.ok(!/(?:\bfrom|\bimport|\brequire\()\s*["']node:/.test(bundle), 'the browser bundle imports no Node built-in');
  assert.match(bundle, /new URL\("chatwire_wasm_bg\.wasm", import\.meta\.url\)/, 'the module is located next to the bundle');
});

/** The text around the first dynamic import in `code`, for the failure message. */
function excerpt(/** @type {string} */ code) {
  const at = code.search(DYNAMIC_IMPORT);
  return at < 0 ? '' : JSON.stringify(code.slice(Math.max(0, at - 80), at + 80));
}
