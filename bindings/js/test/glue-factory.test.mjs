// tools/glue-factory.mjs turns wasm-bindgen's glue into a factory module, and refuses any glue it
// does not recognise rather than writing a broken module: each refusal below names the line.
// The factory it wrote for this build (pkg/chatwire_glue.js) gives each call its own instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { declaredValues, toFactory } from '../tools/glue-factory.mjs';
import { createGlue, wasmUrl } from '../pkg/chatwire_glue.js';

const SNIPPET = "import { ChatwireError } from './snippets/chatwire-wasm-0/js/chatwire_error.mjs';";
/** A glue of the shape wasm-bindgen writes, with `extra` lines before its final export. */
const glue = (/** @type {string[]} */ extra = []) =>
  [
    '/* @ts-self-types="./chatwire_wasm.d.ts" */',
    SNIPPET,
    'export { ChatwireError }',
    'export class Session {',
    '    free() { wasm.free(); }',
    '}',
    'export function version() {',
    '    return `v${wasm.version()}`;',
    '}',
    'let wasm;',
    'function initSync(module) { return wasm; }',
    'async function __wbg_init() { return wasm; }',
    ...extra,
    'export { initSync, __wbg_init as default };',
  ].join('\n');

test('the factory keeps the static imports on top and returns every export', () => {
  const { code, names } = toFactory(glue());
  assert.deepEqual(names, ['ChatwireError', 'Session', 'version', 'initSync', 'default']);
  const lines = code.split('\n');
  assert.ok(lines.indexOf(SNIPPET) < lines.indexOf('export function createGlue() {'));
  assert.ok(!lines.some((l) => /^export (class|function version|\{)/.test(l)), 'no export left inside the factory');
  assert.ok(code.includes('class Session {') && code.includes('"default": __wbg_init,'));
  assert.ok(code.includes("export const wasmUrl = new URL('chatwire_wasm_bg.wasm', import.meta.url);"));
  assert.ok(code.includes('__retire() { retired = true; },'));
  assert.ok(!code.includes('@ts-self-types'));
});

test('a glue of an unexpected shape is refused with the line it stopped at', () => {
  const refusals = [
    [glue(['const m = await import("./other.js");']), /:13: a dynamic import/],
    [glue([SNIPPET]), /:13: an import after the code started/],
    [glue(['export default function init() {}']), /:13: an export this transform does not know/],
    [glue(['export * from "./x.js";']), /an export this transform does not know/],
    [glue(['export { version };']), /export version appears twice/],
    [glue(['export { a.b };']), /an export clause this transform does not know/],
    [glue().replace(SNIPPET, "import * as s from './snippets/x.mjs';"), /:2: an import this transform does not know/],
    [glue().replace('export function version', 'function version'), /no export version/],
    [glue(['export function __retire() {}']), /__retire, the factory's own name/],
    [glue(['let retired = 1;']), /names the factory shadows/],
  ];
  for (const [source, message] of refusals) assert.throws(() => toFactory(source), message);
});

test('the declared values of a wasm-bindgen .d.ts: functions, classes and the default init', () => {
  const dts = [
    'export type RetryContext = "network";',
    'export class Session {',
    'export function version(): string;',
    'export interface InitOutput {',
    'export default function __wbg_init (module_or_path?: InitInput): Promise<InitOutput>;',
  ].join('\n');
  assert.deepEqual([...declaredValues(dts)].sort(), ['Session', 'default', 'version']);
});

test('each createGlue() is its own instance over the one module', async () => {
  const module = await WebAssembly.compile(readFileSync(wasmUrl));
  const a = createGlue();
  const b = createGlue();
  assert.notEqual(a.initSync({ module }), b.initSync({ module }));
  assert.notEqual(a.Session, b.Session);
  assert.equal(a.ChatwireError, b.ChatwireError, 'one error class: the snippet module is shared');
  assert.equal(a.version(), b.version());
  assert.deepEqual(a.dialects(), b.dialects());
});

test('a retired generation\'s finalizers do nothing', async () => {
  const module = await WebAssembly.compile(readFileSync(wasmUrl));
  // The registries the glue makes, seen through the global it extends.
  const cleanups = [];
  const Real = globalThis.FinalizationRegistry;
  globalThis.FinalizationRegistry = class extends Real {
    constructor(cleanup) {
      super(cleanup);
      cleanups.push(cleanup);
    }
  };
  let glue;
  try {
    glue = createGlue();
  } finally {
    globalThis.FinalizationRegistry = Real;
  }
  glue.initSync({ module });
  assert.ok(cleanups.length >= 1, 'the glue frees its objects through a FinalizationRegistry');
  // A held value no pointer converts from: a live generation's finalizer reaches wasm and throws.
  for (const cleanup of cleanups) assert.throws(() => cleanup(Symbol('not a pointer')), TypeError);
  glue.__retire();
  for (const cleanup of cleanups) assert.equal(cleanup(Symbol('not a pointer')), undefined);
});
