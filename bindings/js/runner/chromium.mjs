// Headless Chromium for the scenario runner: one browser per test run, shared by every runner
// process (starting Chromium per scenario costs seconds on a small machine).
//
// `node runner/chromium.mjs` launches Debian's /usr/bin/chromium (or CHROMIUM_PATH) as a
// playwright-core browser server, prints its WebSocket endpoint as one line on stdout, and
// keeps it running until the process gets SIGTERM or SIGINT; scripts/test-js puts
// the endpoint in CHATWIRE_BROWSER_WS. `openBrowser()` connects to that endpoint, or launches a
// private browser when the variable is not set (a runner started by hand).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The shared browser (CHATWIRE_BROWSER_WS), or a private one; `close()` releases either. */
export async function openBrowser() {
  const endpoint = process.env.CHATWIRE_BROWSER_WS;
  if (endpoint) return chromium.connect(endpoint);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

async function serve() {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${server.wsEndpoint()}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await serve();
