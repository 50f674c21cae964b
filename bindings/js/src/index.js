// The `chatwire` package entry: the reliable chat client for AI-agent backends, for Node and
// browsers. The engine is the Rust core compiled to WebAssembly; this package is its IO host.
//
// ```js
// import { ChatClient } from 'chatwire';
// import WebSocket from 'ws'; // Node 20 only; browsers use theirs
// const client = new ChatClient({ dialect: 'native', baseUrl: 'http://127.0.0.1:8080', transport: { WebSocket } });
// client.on('textDelta', (e) => process.stdout.write(e.event.update.text));
// const receipt = await client.send('hello');
// await receipt.acked();
// await client.close();
// ```
//
// `chatwire/<dialect>` (`chatwire/openai`, `chatwire/parlant`, ...) is the same API over a
// WebAssembly module built with that one dialect: a smaller download.

import { ChatwireError, liveRuntime } from './runtime.js';

export { ChatClient } from './client.js';
export { Receipt } from './receipt.js';
export { ChatwireError };

/** Every `ChatwireError.code` the core can produce, in the core's order. */
export const ERROR_CODES = Object.freeze(
  /** @type {string[]} */ (/** @type {any} */ (liveRuntime())?.glue.errorCodes() ?? []),
);

/** The version of the chatwire core in this package. */
export function version() {
  return /** @type {any} */ (liveRuntime())?.glue.version();
}

/**
 * The dialects this entry point holds: all six for `chatwire`, one for `chatwire/openai` and the
 * other per-dialect entries (same API; other dialects are refused with `UNSUPPORTED`).
 * @returns {string[]}
 */
export function dialects() {
  return /** @type {any} */ (liveRuntime())?.glue.dialects() ?? [];
}

/**
 * The default backoff wait before reconnect attempt `attempt` (see the core's policy).
 * @param {number} attempt @param {number} unit @param {string} [context]
 */
export function backoffDelayMs(attempt, unit, context) {
  const runtime = liveRuntime();
  if (!runtime) throw new ChatwireError('INTERNAL', 'the WebAssembly module is reloading after a crash', false);
  return runtime.glue.backoffDelayMs(attempt, unit, context);
}
