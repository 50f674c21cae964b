// Node tests of the `chatwire` npm package: import it by name (resolved through package.json
// "exports" -> src/index.js over the wasm-bindgen `--target web` build in pkg/) and call every export,
// asserting the values computed by the Rust core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { version, backoffDelayMs, ChatwireError, ERROR_CODES } from 'chatwire';

const here = new URL('.', import.meta.url);
const packageJson = JSON.parse(readFileSync(new URL('../package.json', here), 'utf8'));

/** The `[workspace.package] version` of the Rust workspace, which the core crate inherits. */
function workspaceVersion() {
  const cargoToml = readFileSync(new URL('../../../Cargo.toml', here), 'utf8');
  const section = cargoToml.split(/^\[workspace\.package\]\s*$/m)[1] ?? '';
  const match = section.match(/^version\s*=\s*"([^"]+)"/m);
  assert.ok(match, 'no [workspace.package] version in Cargo.toml');
  return match[1];
}

/** Asserts that `fn` throws a ChatwireError with code INVALID_INPUT; returns the error. */
function assertInvalidInput(fn, label) {
  let caught;
  assert.throws(fn, (err) => {
    caught = err;
    return true;
  }, label);
  assert.ok(caught instanceof ChatwireError, `${label}: not a ChatwireError: ${caught}`);
  assert.ok(caught instanceof Error, `${label}: not an Error`);
  assert.equal(caught.name, 'ChatwireError', label);
  assert.equal(caught.code, 'INVALID_INPUT', label);
  assert.equal(typeof caught.message, 'string', label);
  assert.ok(caught.stack.includes('ChatwireError'), `${label}: stack ${caught.stack}`);
  return caught;
}

test('version() is the core crate version, which the npm package carries too', () => {
  assert.equal(version(), workspaceVersion());
  assert.equal(version(), packageJson.version);
});

test('backoffDelayMs follows the default schedule: 1 s doubling, capped at 30 s', () => {
  assert.equal(backoffDelayMs(3, 0.5), 4000);
  assert.equal(backoffDelayMs(0, 0.5), 1000, 'attempt 0 counts as 1');
  assert.equal(backoffDelayMs(1, 0.5), 1000);
  assert.equal(backoffDelayMs(2, 0.5), 2000);
  assert.equal(backoffDelayMs(5, 0.5), 16000);
  assert.equal(backoffDelayMs(6, 0.5), 30000);
  assert.equal(backoffDelayMs(4294967295, 0.5), 30000);
  assert.equal(backoffDelayMs(1e300, 0.5), 30000, 'huge attempts saturate');
});

test('jitter is +-20 % around the capped delay, and applied after the cap', () => {
  assert.equal(backoffDelayMs(3, 0), 3200);
  assert.equal(backoffDelayMs(3, 1), 4800);
  assert.equal(backoffDelayMs(3, -5), 3200, 'unit is clamped into [0, 1]');
  const far = backoffDelayMs(1e6, 0.999999);
  assert.ok(far <= 36000 && far >= 35999, `far attempt: ${far}`);
  assert.equal(backoffDelayMs(1e6, 0), 24000);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelayMs(1e6, Math.random());
    assert.ok(Number.isInteger(d) && d >= 24000 && d <= 36000, `random draw gave ${d}`);
  }
});

test('the failure context bends the schedule', () => {
  // a binding ceiling is jittered downwards only, a binding floor upwards only
  assert.equal(backoffDelayMs(10, 0.5, 'serverRestart'), 1800);
  assert.equal(backoffDelayMs(10, 1, 'serverRestart'), 2000);
  assert.equal(backoffDelayMs(1, 0.5, 'rateLimited'), 5500);
  assert.equal(backoffDelayMs(1, 0, 'rateLimited'), 5000);
  assert.equal(backoffDelayMs(1, 0.5, 'initializing'), 2200);
  assert.equal(backoffDelayMs(1, 0.5, 'network'), 3300);
  assert.equal(backoffDelayMs(1, 0.5, 'other'), 1000);
  assert.equal(backoffDelayMs(1, 0.5, undefined), 1000);
  assert.equal(backoffDelayMs(1, 0.5, null), 1000);
});

test('an unknown context throws ChatwireError INVALID_INPUT naming the value', () => {
  const err = assertInvalidInput(() => backoffDelayMs(1, 0.5, 'server_restart'), 'context');
  assert.match(err.message, /server_restart/);
  assert.match(err.message, /serverRestart/);
  assertInvalidInput(() => backoffDelayMs(1, 0.5, 42), 'numeric context');
  assertInvalidInput(() => backoffDelayMs(1, 0.5, 'Network'), 'context is case-sensitive');
});

test('a bad attempt throws ChatwireError INVALID_INPUT showing the value', () => {
  for (const attempt of [-1, 1.5, NaN, Infinity, -Infinity, '3', undefined, null, 3n, {}]) {
    assertInvalidInput(() => backoffDelayMs(attempt, 0.5), `attempt ${String(attempt)}`);
  }
  const shown = (attempt) => assertInvalidInput(() => backoffDelayMs(attempt, 0.5), 'shown').message;
  assert.equal(shown(-1), 'attempt must be an integer >= 0, got -1');
  assert.equal(shown(1.5), 'attempt must be an integer >= 0, got 1.5');
  assert.equal(shown('3'), 'attempt must be an integer >= 0, got "3"');
  assert.equal(shown(undefined), 'attempt must be an integer >= 0, got undefined');
});

test('a bad unit throws ChatwireError INVALID_INPUT showing the value', () => {
  for (const unit of [NaN, Infinity, -Infinity, '0.5', undefined, null]) {
    assertInvalidInput(() => backoffDelayMs(1, unit), `unit ${String(unit)}`);
  }
  const err = assertInvalidInput(() => backoffDelayMs(1, NaN), 'unit NaN');
  assert.equal(err.message, 'unit must be a finite number in [0, 1), got NaN');
});

test('the module keeps working after refusing a call (an error, not a trap)', () => {
  assertInvalidInput(() => backoffDelayMs(-1, 0.5), 'attempt -1');
  assert.equal(backoffDelayMs(3, 0.5), 4000);
  assert.equal(version(), packageJson.version);
});

test('ESM consumers get one error class, and the core\'s error codes all have a type', () => {
  const dts = readFileSync(new URL('../src/index.d.ts', here), 'utf8');
  assert.equal(dts.match(/export class ChatwireError extends Error/g)?.length, 1);
  const declared = dts.match(/export type ErrorCode =([^;]+);/)[1].match(/"([A-Z_]+)"/g).map((c) => c.slice(1, -1));
  assert.ok(ERROR_CODES.length >= 16, `${ERROR_CODES}`);
  assert.deepEqual([...declared].sort(), [...ERROR_CODES].sort(), 'index.d.ts ErrorCode vs the core table');
  assert.ok(Object.isFrozen(ERROR_CODES));
});

test('every event type of the event model (sdk-core/EVENTS.md) is in the ChatEvent union', () => {
  const events = readFileSync(new URL('../../../sdk-core/EVENTS.md', here), 'utf8');
  const documented = new Set([...events.matchAll(/"event":\{"type":"(\w+)"/g)].map((m) => m[1]));
  const dts = readFileSync(new URL('../src/index.d.ts', here), 'utf8');
  const union = dts.slice(dts.indexOf('export type ChatEvent ='), dts.indexOf('export type EventType'));
  const declared = new Set([...union.matchAll(/\{ type: "(\w+)"/g)].map((m) => m[1]));
  assert.ok(documented.size >= 20, `${[...documented]}`);
  assert.deepEqual([...documented].filter((t) => !declared.has(t)), [], 'documented but not declared');
  assert.deepEqual([...declared].filter((t) => !documented.has(t)), [], 'declared but not documented');
});
