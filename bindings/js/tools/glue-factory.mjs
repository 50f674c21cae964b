#!/usr/bin/env node
// Turns wasm-bindgen's `--target web` glue (pkg/chatwire_wasm.js) into a factory module that
// bundlers can follow: `node tools/glue-factory.mjs <pkg dir>` writes <pkg>/chatwire_glue.js and
// <pkg>/chatwire_glue.d.ts and removes chatwire_wasm.js.
//
// Why: a wasm module built with `panic = "abort"` is unusable after a trap, and the glue keeps
// its state (`wasm`, memory view caches, finalization registries) at module level, so recovering
// needs a fresh copy of that state. Importing the glue again under another URL does that but is a
// computed `import()` no bundler can follow. The factory holds the same code inside
// `createGlue()`: every call returns a fresh set of exports with its own state, an old
// generation's finalizers only ever call into their own instance, and `__retire()` (called when
// that instance traps) turns them off.
//
// Guarantees: the output is the glue's own code, unchanged except for its `export` keywords and
// the `FinalizationRegistry` it sees (one that `__retire()` silences); the
// glue's static imports (wasm-bindgen snippets, shared by every generation) stay at the top; the
// wasm's location is `new URL('chatwire_wasm_bg.wasm', import.meta.url)`, the pattern Vite,
// webpack 5, Parcel and Rollup/esbuild plugins turn into an asset. Anything in the glue this
// transform does not recognise (another export form, an import after the code starts, a dynamic
// import, an export the .d.ts does not declare or the reverse) fails the build with a message
// naming the line; and the result is checked before it is written: it is loaded, two
// generations are instantiated over the real module, each answers `version()`, and they hold
// different instances.

import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const GLUE = 'chatwire_wasm.js';
const DTS = 'chatwire_wasm.d.ts';
const WASM = 'chatwire_wasm_bg.wasm';
const OUT = 'chatwire_glue.js';
const OUT_DTS = 'chatwire_glue.d.ts';

/**
 * The first lines of `createGlue()`: the glue's finalizers go through this registry, which does
 * nothing once the generation is retired (its instance trapped: freeing into its memory is
 * pointless, and a second trap inside a finalizer would be an uncaught exception).
 */
const RETIRE_PRELUDE = [
  'let retired = false;',
  "const FinalizationRegistry = typeof globalThis.FinalizationRegistry !== 'function' ? undefined",
  '  : class extends globalThis.FinalizationRegistry {',
  '    constructor(/** @type {(held: any) => void} */ cleanup) {',
  '      super((held) => { if (!retired) cleanup(held); });',
  '    }',
  '  };',
];

/**
 * The factory module for the glue source `source`, and the names it returns.
 * @param {string} source the text of wasm-bindgen's chatwire_wasm.js
 * @returns {{ code: string, names: string[] }}
 */
export function toFactory(source) {
  const lines = source.split('\n');
  /** @type {string[]} */ const imports = [];
  /** @type {string[]} */ const body = [];
  /** @type {Map<string, string>} exported name -> local name */ const exported = new Map();
  let codeStarted = false;
  const fail = (/** @type {number} */ i, /** @type {string} */ why) => {
    throw new Error(`${GLUE}:${i + 1}: ${why}: ${JSON.stringify(lines[i].slice(0, 120))}`);
  };
  const add = (/** @type {number} */ i, /** @type {string} */ name, /** @type {string} */ local) => {
    if (exported.has(name)) fail(i, `export ${name} appears twice`);
    exported.set(name, local);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\/\* @ts-self-types=".*" \*\/$/.test(line)) continue; // types: chatwire_glue.d.ts
    if (/\bimport\s*\(/.test(line)) fail(i, 'a dynamic import in the glue');
    if (/^import\b/.test(line)) {
      if (codeStarted) fail(i, 'an import after the code started');
      if (!/^import \{[\w\s,]+\} from '\.\/snippets\/[\w./-]+';$/.test(line)) fail(i, 'an import this transform does not know');
      imports.push(line);
      continue;
    }
    if (line.trim() !== '') codeStarted = true;
    let m;
    if ((m = /^export (class|function|async function|const|let) ([A-Za-z_$][\w$]*)\b(.*)$/.exec(line))) {
      add(i, m[2], m[2]);
      body.push(`${m[1]} ${m[2]}${m[3]}`);
    } else if ((m = /^export \{([^}]*)\};?$/.exec(line))) {
      for (const part of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
        const as = /^([A-Za-z_$][\w$]*)(?: as ([A-Za-z_$][\w$]*))?$/.exec(part);
        if (!as) fail(i, `an export clause this transform does not know (${part})`);
        add(i, as[2] ?? as[1], as[1]);
      }
    } else if (/^\s*export\b/.test(line)) {
      fail(i, 'an export this transform does not know');
    } else {
      body.push(line);
    }
  }
  if (exported.has('__retire')) throw new Error(`${GLUE}: exports __retire, the factory's own name`);
  if (/\b(?:class|const|let|var|function) (?:FinalizationRegistry|retired)\b/.test(source)) {
    throw new Error(`${GLUE}: declares FinalizationRegistry or retired, names the factory shadows`);
  }
  for (const must of ['initSync', 'Session', 'ChatwireError', 'version']) {
    if (!exported.has(must)) throw new Error(`${GLUE}: no export ${must}: not the glue this transform expects`);
  }
  const names = [...exported.keys()];
  const members = names.map((name) => {
    const local = /** @type {string} */ (exported.get(name));
    return name === local ? `    ${name},` : `    ${JSON.stringify(name)}: ${local},`;
  });
  const code = [
    '// Generated by tools/glue-factory.mjs from wasm-bindgen\'s chatwire_wasm.js: do not edit.',
    '// `createGlue()` returns a fresh copy of the glue (its own `wasm`, caches and finalizers);',
    '// `initSync({ module })` on it instantiates the module for that copy; `__retire()` turns off',
    '// its finalizers once its instance has trapped.',
    ...imports,
    '',
    `/** Where the WebAssembly module is, for fetch or fs (bundlers copy it as an asset). */`,
    `export const wasmUrl = new URL('${WASM}', import.meta.url);`,
    '',
    'export function createGlue() {',
    ...RETIRE_PRELUDE,
    // Not re-indented: a template literal spanning lines must keep its text.
    ...body,
    '  return {',
    ...members.map((l) => `  ${l}`),
    '    __retire() { retired = true; },',
    '  };',
    '}',
    '',
  ].join('\n');
  return { code, names };
}

/**
 * The value exports `d.ts` declares (functions, classes, constants; not types).
 * @param {string} dts the text of chatwire_wasm.d.ts
 */
export function declaredValues(dts) {
  const names = new Set();
  for (const m of dts.matchAll(/^export (?:declare )?(default )?(?:function|class|const|let) ?([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1] ? 'default' : m[2]);
  }
  for (const m of dts.matchAll(/^export \{([^}]*)\}/gm)) {
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) names.add(name);
    }
  }
  return names;
}

/** Writes the factory for the package dir `pkg`, after checking it; throws on any mismatch. */
export async function buildFactory(/** @type {string} */ pkg) {
  const { code, names } = toFactory(readFileSync(join(pkg, GLUE), 'utf8'));
  const declared = declaredValues(readFileSync(join(pkg, DTS), 'utf8'));
  const missing = [...declared].filter((n) => !names.includes(n));
  const extra = names.filter((n) => !declared.has(n));
  if (missing.length || extra.length) {
    throw new Error(`${GLUE} exports and ${DTS} disagree: not in the glue [${missing}], not declared [${extra}]`);
  }
  writeFileSync(join(pkg, OUT), code);
  try {
    await check(pkg);
  } catch (e) {
    rmSync(join(pkg, OUT), { force: true });
    throw e;
  }
  writeFileSync(
    join(pkg, OUT_DTS),
    [
      '// Generated by tools/glue-factory.mjs: do not edit.',
      `/** Where the WebAssembly module is. */`,
      'export declare const wasmUrl: URL;',
      `/** A fresh copy of the wasm-bindgen glue, with its own state. */`,
      `export declare function createGlue(): typeof import('./chatwire_wasm.js') & {`,
      '  /** The instance trapped: from now on its finalizers do nothing. */',
      '  __retire(): void;',
      '};',
      '',
    ].join('\n'),
  );
  rmSync(join(pkg, GLUE));
}

/** Loads the written factory and instantiates two generations over the real module. */
async function check(/** @type {string} */ pkg) {
  const factory = await import(pathToFileURL(join(pkg, OUT)).href);
  if (typeof factory.createGlue !== 'function' || !(factory.wasmUrl instanceof URL)) {
    throw new Error(`${OUT}: no createGlue() or wasmUrl`);
  }
  if (factory.wasmUrl.href !== pathToFileURL(join(pkg, WASM)).href) throw new Error(`${OUT}: wasmUrl is ${factory.wasmUrl.href}`);
  const module = await WebAssembly.compile(readFileSync(factory.wasmUrl));
  const [a, b] = [factory.createGlue(), factory.createGlue()];
  const [wa, wb] = [a.initSync({ module }), b.initSync({ module })];
  if (wa === wb || a.Session === b.Session) throw new Error(`${OUT}: two generations share one instance`);
  if (typeof a.__retire !== 'function') throw new Error(`${OUT}: no __retire()`);
  if (a.ChatwireError !== b.ChatwireError) throw new Error(`${OUT}: ChatwireError differs between generations`);
  const [va, vb] = [a.version(), b.version()];
  if (typeof va !== 'string' || va === '' || va !== vb) throw new Error(`${OUT}: version() answered ${va} and ${vb}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkg = process.argv[2];
  if (!pkg || process.argv.length !== 3) {
    process.stderr.write('usage: node tools/glue-factory.mjs <pkg dir>\n');
    process.exit(2);
  }
  try {
    await buildFactory(pkg);
  } catch (e) {
    process.stderr.write(`glue-factory: error: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  }
}
