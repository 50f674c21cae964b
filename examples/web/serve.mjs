#!/usr/bin/env node
// Serves the chat page: `node examples/web/serve.mjs [--port 8000] [--no-build]`.
//
// One command: builds the npm package and the mock server when needed (`scripts/test-js build`,
// which installs what a fresh machine lacks and does nothing when all is up to date), starts
// `chatwire-mock` on a free port, serves the page on 127.0.0.1 and prints its URL. Ctrl-C stops
// both. The page (index.html, app.js, style.css) imports the package as a site would: an import
// map sends `chatwire` to /chatwire/src/index.js, and /chatwire/ serves bindings/js/{src,pkg}.
// /config.json tells the page where the mock server is.
//
// The mock streams one word every 120 ms here (`--token-delay-ms`) so a visitor can watch a reply
// stream and cut the network in the middle of it.
//
// `startChatPage()` is the same server for the browser test (examples/web/test/).

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const packageDir = join(repo, 'bindings', 'js');

/**
 * Starts the mock server and the page server. Resolves with `{ url, mockBase, stop() }`.
 * @param {{ mockBin?: string, port?: number, tokenDelayMs?: number, seed?: number }} [options]
 */
export async function startChatPage({ mockBin = defaultMockBin(), port = 0, tokenDelayMs = 120, seed = 1 } = {}) {
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

/** The debug build of chatwire-mock in the target dir (`CARGO_TARGET_DIR` honoured). */
export function defaultMockBin() {
  if (process.env.CHATWIRE_MOCK_BIN) return process.env.CHATWIRE_MOCK_BIN;
  return join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug', 'chatwire-mock');
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

/** `/` and the page's files; `/chatwire/{src,pkg}/...` from the package; `/config.json`. */
async function handle(/** @type {import('node:http').IncomingMessage} */ req, /** @type {import('node:http').ServerResponse} */ res, /** @type {string} */ mockBase) {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  if (path === '/config.json') {
    res.writeHead(200, { 'content-type': MIME['.json'], 'cache-control': 'no-store' });
    res.end(JSON.stringify({ mockBase }));
    return;
  }
  let file;
  if (path === '/' || path === '/index.html') file = join(here, 'index.html');
  else if (path === '/app.js' || path === '/style.css') file = join(here, path.slice(1));
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
      // If this process ends without stop() (an error), the mock must not outlive it.
      const orphan = () => child.kill('SIGTERM');
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
  const port = portArg >= 0 ? Number(args[portArg + 1]) : 8000;
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
  const page = await startChatPage({ port });
  console.log(`chat page: ${page.url}   (chatwire-mock at ${page.mockBase}; Ctrl-C stops both)`);
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
