#!/usr/bin/env node
// Serves the React example: `node examples/react/serve.mjs [--port 8001] [--no-build]`.
//
// One command: builds the npm package and the mock server when needed (`scripts/test-js build`),
// installs this example's npm packages when its lock changed (`npm ci`), bundles src/ with esbuild
// (React, @ai-sdk/react and ai into dist/app.js; `chatwire` stays external, loaded beside its
// WebAssembly through the page's import map), starts `chatwire-mock` on a free port with one word
// every 120 ms, serves the page on 127.0.0.1 and prints its URL. Ctrl-C stops both.
//
// `startReactPage()` is the same server for the browser test (test/react.test.mjs).

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultMockBin } from '../web/serve.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const packageDir = join(repo, 'bindings', 'js');

/** `npm ci` when package-lock.json changed since the last install, then the esbuild bundle. */
export function buildApp() {
  const started = Date.now();
  const lock = createHash('sha256').update(readFileSync(join(here, 'package-lock.json'))).digest('hex');
  const stamp = join(here, 'node_modules', '.chatwire-lock-sha256');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== lock) {
    run('npm', ['ci', '--no-audit', '--no-fund']);
    writeFileSync(stamp, `${lock}\n`);
  }
  run(join(here, 'node_modules', '.bin', 'esbuild'), [
    'src/main.tsx', '--bundle', '--format=esm', '--platform=browser', '--target=es2022', '--jsx=automatic',
    '--external:chatwire', '--external:chatwire/ai', '--define:process.env.NODE_ENV="production"',
    '--minify', '--log-level=warning', '--outfile=dist/app.js',
  ]);
  return Date.now() - started;
}

/**
 * Starts the mock server and the page server. Resolves with `{ url, mockBase, stop() }`.
 * @param {{ mockBin?: string, port?: number, tokenDelayMs?: number, seed?: number }} [options]
 */
export async function startReactPage({ mockBin = defaultMockBin(), port = 0, tokenDelayMs = 120, seed = 1 } = {}) {
  const mock = await startMock(mockBin, ['--seed', String(seed), '--token-delay-ms', String(tokenDelayMs)]);
  const server = createServer((req, res) => {
    handle(req, res, mock.base).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(undefined));
    });
  } catch (e) {
    await mock.stop();
    throw e;
  }
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${address.port}/`,
    mockBase: mock.base,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      await mock.stop();
    },
  };
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** `/`, style.css and dist/app.js; `/chatwire/{src,pkg}/...` from the package; `/config.json`. */
async function handle(/** @type {import('node:http').IncomingMessage} */ req, /** @type {import('node:http').ServerResponse} */ res, /** @type {string} */ mockBase) {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  if (path === '/config.json') {
    res.writeHead(200, { 'content-type': MIME['.json'], 'cache-control': 'no-store' });
    res.end(JSON.stringify({ mockBase }));
    return;
  }
  let file;
  if (path === '/' || path === '/index.html') file = join(here, 'index.html');
  else if (path === '/style.css' || path === '/dist/app.js') file = join(here, path.slice(1));
  else {
    const m = /^\/chatwire\/(src|pkg)\//.exec(path);
    const candidate = m && normalize(join(packageDir, path.slice('/chatwire/'.length)));
    // Only files inside bindings/js/src or bindings/js/pkg (no `..` out of them).
    if (m && candidate?.startsWith(join(packageDir, m[1]) + sep)) file = candidate;
  }
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  let body;
  try {
    body = await readFile(file);
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, {
    'content-type': MIME[/** @type {keyof typeof MIME} */ (extname(file))] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
  });
  res.end(body);
}

function run(/** @type {string} */ cmd, /** @type {string[]} */ args) {
  const r = spawnSync(cmd, args, { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

/** Runs chatwire-mock on a free port; resolves once it prints `listening on URL`. */
function startMock(/** @type {string} */ bin, /** @type {string[]} */ args) {
  const child = spawn(bin, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (/** @type {number | null} */ code) => reject(new Error(`chatwire-mock exited (${code}) before listening`));
    child.once('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    child.once('exit', onExit);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      child.off('exit', onExit);
      child.stdout.resume();
      const orphan = () => child.kill('SIGTERM'); // the mock must not outlive this process
      process.once('exit', orphan);
      child.once('exit', () => process.off('exit', orphan));
      resolve({
        base: m[1],
        stop: () => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done(undefined);
          child.once('exit', () => done(undefined));
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

async function main() {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const port = portArg >= 0 ? Number(args[portArg + 1]) : 8001;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve.mjs: --port needs a number from 0 to 65535, got ${args[portArg + 1]}`);
    process.exit(2);
  }
  if (!args.includes('--no-build')) {
    const build = spawnSync(join(repo, 'scripts', 'test-js'), ['build'], { stdio: 'inherit' });
    if (build.status !== 0) {
      console.error('serve.mjs: the build failed (see above)');
      process.exit(1);
    }
  }
  buildApp();
  const page = await startReactPage({ port });
  console.log(`React example: ${page.url}   (chatwire-mock at ${page.mockBase}; Ctrl-C stops both)`);
  const stop = async () => {
    await page.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`serve.mjs: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
