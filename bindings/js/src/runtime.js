// The WebAssembly runtime behind every ChatClient: loads the module once, hands out sessions,
// and recovers from a trap.
//
// Guarantees: the module is compiled once per process/page and instantiated once per runtime
// generation. A wasm module built with `panic = "abort"` is unusable after a trap, so when a call
// traps every client of that generation is told (`crash`), the generation is marked dead, and a
// fresh instance is loaded at once: `createGlue()` (pkg/chatwire_glue.js, made from
// wasm-bindgen's glue at build time by tools/glue-factory.mjs) returns a new copy of the glue
// with its own state, instantiated over the same compiled module; `ready()` resolves when it is
// usable. Every import is static and the module is located with `new URL(..., import.meta.url)`
// (in pkg/chatwire_glue.js), so bundlers can follow both. Works in Node >= 20.19 (reads the file
// with `process.getBuiltinModule('node:fs/promises')`, no import a browser bundle would have to
// resolve) and in browsers (fetches it).

import { createGlue, wasmUrl } from '../pkg/chatwire_glue.js';

/** @typedef {ReturnType<typeof createGlue>} Glue */

/** @type {Promise<WebAssembly.Module> | undefined} */
let compiled;
/** @type {Runtime | undefined} */
let current;
/** @type {Promise<void> | undefined} */
let loading;

/** One instance of the module and the clients living on it. */
export class Runtime {
  /** @param {Glue} glue */
  constructor(glue) {
    /** @type {Glue} */
    this.glue = glue;
    this.dead = false;
    /** @type {Set<(error: unknown) => void>} crash callbacks of the live clients */
    this.clients = new Set();
  }

  /**
   * The module trapped: every client of this instance is told, and a new instance loads.
   * @param {unknown} error
   */
  crash(error) {
    if (this.dead) return;
    this.dead = true;
    // The trapped instance's finalizers must not run into it (nor ever into the next one).
    this.glue.__retire();
    const clients = [...this.clients];
    this.clients.clear();
    loading = load();
    // A failed reload must not become an unhandled rejection; `ready()` reports it.
    loading.catch(() => {});
    for (const told of clients) told(error);
  }
}

/** The live runtime, or undefined while a replacement loads. */
export function liveRuntime() {
  return current && !current.dead ? current : undefined;
}

/** Resolves once a live runtime exists (at once unless one is being replaced after a trap). */
export function ready() {
  return liveRuntime() ? Promise.resolve() : (loading ?? (loading = load()));
}

/** The shared error class (one class for every generation: the snippet module is shared). */
export let ChatwireError = /** @type {Glue['ChatwireError']} */ (/** @type {unknown} */ (undefined));

async function load() {
  compiled ??= compile();
  const module = await compiled;
  const glue = createGlue();
  glue.initSync({ module });
  ChatwireError = glue.ChatwireError;
  current = new Runtime(glue);
}

async function compile() {
  const getBuiltin = /** @type {any} */ (globalThis).process?.getBuiltinModule;
  if (wasmUrl.protocol === 'file:' && typeof getBuiltin === 'function') {
    /** @type {typeof import('node:fs/promises')} */
    const { readFile } = getBuiltin('node:fs/promises');
    return WebAssembly.compile(await readFile(wasmUrl));
  }
  const response = await fetch(wasmUrl);
  if (!response.ok) throw new Error(`cannot load ${wasmUrl}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

await ready();
