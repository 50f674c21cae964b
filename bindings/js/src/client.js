// ChatClient: the public JS API over one wasm Session and one IO host.
//
// Guarantees: every rule (retry, dedup, auth refresh, queueing, which status is final) is the
// session's; this file turns its output batches into promises, listeners and iterators. The wasm
// boundary is crossed once per input, and each crossing returns every output as one JSON array.
// Nothing the app has not asked for can reject: receipts only reject from `acked()`, a promise
// created when the app calls it. The platform's online/offline and visibility events reach the
// session as lifecycle commands (src/lifecycle.js). If the module traps, every pending receipt fails with
// `INTERNAL`, the state becomes `failed`, iterators end and `close()` resolves; a new client can
// be built once `ChatClient.ready()` resolves.

import { Host } from './host.js';
import { ChatwireError, liveRuntime, ready } from './runtime.js';
import { Receipt } from './receipt.js';
import { browserRefusal, platformTransport } from './platform.js';
import { watchLifecycle } from './lifecycle.js';

export class ChatClient {
  /** Resolves when a client can be built (at once, unless the module is reloading after a trap). */
  static ready() {
    return ready();
  }

  /**
   * @param {Record<string, any>} options the ClientOptions JSON keys, plus `getToken` and `transport`
   */
  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw new ChatwireError('INVALID_CONFIG', 'options must be an object', false);
    }
    const { getToken, transport = {}, ...json } = options;
    if (getToken !== undefined && typeof getToken !== 'function') {
      throw new ChatwireError('INVALID_CONFIG', 'getToken must be a function returning a token', false);
    }
    if (getToken) json.tokenProvider = true;
    const runtime = liveRuntime();
    if (!runtime) {
      throw new ChatwireError('INTERNAL', 'the WebAssembly module is reloading after a crash: await ChatClient.ready()', false);
    }
    const seed = crypto.getRandomValues(new Uint32Array(2));
    // 53 random bits: exact as a JS number.
    const fallbackSeed = (seed[0] & 0x1f_ffff) * 2 ** 32 + seed[1];
    /** @private */ this._session = new runtime.glue.Session(JSON.stringify(json), fallbackSeed, Date.now());
    /** @private */ this._runtime = runtime;
    /** @private */ this._getToken = getToken;
    /** @private */ this._capabilities = Object.freeze(JSON.parse(this._session.capabilities()));
    const resolved = platformTransport(transport);
    const refusal = browserRefusal(options, resolved, runtime.glue);
    if (refusal) {
      this._session.free();
      throw new ChatwireError('UNSUPPORTED', refusal, false);
    }
    /** @private */ this._host = new Host(resolved, this._reports());
    /** @private @type {{kind: string} & Record<string, unknown>} */ this._state = JSON.parse(this._session.state());
    /** @private @type {Map<string, Receipt>} */ this._receipts = new Map();
    /** @private @type {Map<string, Set<Function>>} */ this._listeners = new Map();
    /** @private @type {Set<{kind: string, resolve: Function, reject: Function}>} */ this._waiters = new Set();
    /** @private @type {Set<Function>} end callbacks of open iterators */ this._iterators = new Set();
    /** @private @type {any[]} */ this._pending = [];
    /** @private */ this._dispatching = false;
    /** @private */ this._ended = false;
    /** @private @type {ReturnType<typeof setTimeout> | undefined} */ this._timer = undefined;
    /** @private */ this._crashHook = (/** @type {unknown} */ e) => this._crashed(e);
    runtime.clients.add(this._crashHook);
    /** @private */ this._unwatch = watchLifecycle((change) => this._report((s, now) => s.command(now, change)));
  }

  /** The connection state (`{ kind: 'ready' }`, ...). */
  get state() {
    return this._state;
  }

  /** What the backend supports. */
  get capabilities() {
    return this._capabilities;
  }

  /**
   * Queues `text`; resolves with its receipt once queued.
   * @param {string} text
   */
  async send(text) {
    if (typeof text !== 'string') throw new ChatwireError('INVALID_INPUT', 'text must be a string', false);
    return this._queue((s, now) => s.send(now, text));
  }

  /**
   * Queues audio (`Int16Array` PCM16 samples) on dialects with the `audio` capability.
   * @param {Int16Array} samples
   */
  async sendAudio(samples) {
    if (!(samples instanceof Int16Array)) throw new ChatwireError('INVALID_INPUT', 'samples must be an Int16Array', false);
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return this._queue((s, now) => s.sendAudio(now, 'pcm16', btoa(binary)));
  }

  /** Takes back a still-queued message. @param {string | {clientId: string}} message */
  discard(message) {
    const id = typeof message === 'string' ? message : message?.clientId;
    this._call((s, now) => s.discard(now, String(id)));
  }

  /** The user started (`true`) or stopped typing. @param {boolean} active */
  typing(active) {
    this._call((s, now) => s.command(now, active ? 'typing' : 'idle'));
  }

  /** Cancels the turn in progress. */
  cancelTurn() {
    this._call((s, now) => s.command(now, 'cancelTurn'));
  }

  /** Skips a pending backoff wait, or starts over from `failed`. */
  reconnectNow() {
    this._call((s, now) => s.command(now, 'reconnectNow'));
  }

  /** Connects now instead of on the first send. */
  connect() {
    this._call((s, now) => s.command(now, 'connect'));
  }

  /** Counters since the client was built. */
  stats() {
    if (this._ended) return this._lastStats ?? zeroStats();
    return JSON.parse(this._guard(() => this._session.stats()));
  }

  /**
   * Calls `fn` with every envelope whose event has `type` (`'*'`: every one); returns the
   * unsubscribe function.
   * @param {string} type @param {(envelope: any) => void} fn
   */
  on(type, fn) {
    if (typeof fn !== 'function') throw new ChatwireError('INVALID_INPUT', 'listener must be a function', false);
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    const entry = (/** @type {any} */ e) => fn(e);
    set.add(entry);
    return () => void set.delete(entry);
  }

  /**
   * Every envelope from now on, as an async iterator; ends when the client closes. `break` (or
   * the signal) unsubscribes.
   * @param {{ signal?: AbortSignal }} [options]
   */
  events({ signal } = {}) {
    /** @type {any[]} */ const queue = [];
    /** @type {((r: IteratorResult<any>) => void) | undefined} */ let wake;
    let done = this._ended;
    const off = this.on('*', (e) => {
      if (wake) { const w = wake; wake = undefined; w({ value: e, done: false }); } else queue.push(e);
    });
    const finish = () => {
      if (done) return;
      done = true;
      off();
      this._iterators.delete(finish);
      signal?.removeEventListener('abort', finish);
      if (wake) { const w = wake; wake = undefined; w({ value: undefined, done: true }); }
    };
    this._iterators.add(finish);
    signal?.addEventListener('abort', finish, { once: true });
    if (signal?.aborted || this._ended) finish();
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => { wake = resolve; });
      },
      return: () => { finish(); queue.length = 0; return Promise.resolve({ value: undefined, done: true }); },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  /**
   * Resolves when the state's kind is `kind` (at once if it is); rejects with `CLOSED` if the
   * client ends first, or with the signal's reason.
   * @param {string} kind @param {{ signal?: AbortSignal }} [options]
   */
  whenState(kind, { signal } = {}) {
    if (this._state.kind === kind) return Promise.resolve(this._state);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this._ended) return Promise.reject(new ChatwireError('CLOSED', `the client ended before reaching ${kind}`, false));
    return new Promise((resolve, reject) => {
      const onAbort = () => { this._waiters.delete(waiter); reject(signal?.reason); };
      const waiter = {
        kind,
        resolve: (/** @type {any} */ s) => { signal?.removeEventListener('abort', onAbort); resolve(s); },
        reject: (/** @type {any} */ e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      };
      this._waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Closes for good (idempotent): pending messages fail, iterators end. */
  async close() {
    if (this._ended) return;
    this._call((s, now) => s.command(now, 'close'));
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  /** @private Runs `fn` on the session and dispatches the outputs it returns. */
  _call(/** @type {(s: any, now: number) => string} */ fn) {
    if (this._ended) throw new ChatwireError('CLOSED', 'the client is closed', false);
    const json = this._guard(() => fn(this._session, performance.now()));
    this._dispatch(JSON.parse(json));
  }

  /** @private Queues a message with `fn` (returning its id), then delivers what followed. */
  _queue(/** @type {(s: any, now: number) => string} */ fn) {
    if (this._ended) throw new ChatwireError('CLOSED', 'the client is closed', false);
    const id = this._guard(() => fn(this._session, performance.now()));
    const receipt = new Receipt(id);
    this._receipts.set(id, receipt);
    this._dispatch(JSON.parse(this._guard(() => this._session.drain())));
    return receipt;
  }

  /** @private Calls into wasm; a trap (anything but a ChatwireError) crashes the runtime. */
  _guard(/** @type {() => string} */ fn) {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ChatwireError) throw e;
      this._runtime.crash(e);
      throw new ChatwireError('INTERNAL', `chatwire's WebAssembly module crashed: ${e instanceof Error ? e.message : String(e)}`, false);
    }
  }

  /** @private Reports from the host and the token provider, fed back into the session. */
  _report(/** @type {(s: any, now: number) => string} */ fn) {
    if (this._ended) return;
    try {
      this._call(fn);
    } catch (e) {
      if (e instanceof ChatwireError && e.code === 'INTERNAL') return; // crash handled
      // The session refused a transport report: a bug in this host, made visible.
      setTimeout(() => { throw e; });
    }
  }

  /** @private */
  _reports() {
    const r = (/** @type {(s: any, now: number) => string} */ fn) => this._report(fn);
    return {
      socketOpened: (/** @type {number} */ c) => r((s, now) => s.socketOpened(now, c)),
      socketText: (/** @type {number} */ c, /** @type {string} */ t) => r((s, now) => s.socketText(now, c, t)),
      socketBinary: (/** @type {number} */ c, /** @type {Uint8Array} */ b) => r((s, now) => s.socketBinary(now, c, b)),
      socketClosed: (/** @type {number} */ c, /** @type {number} */ code, /** @type {string} */ why, /** @type {boolean} */ f, /** @type {number} */ st) =>
        r((s, now) => s.socketClosed(now, c, code, why, f, st)),
      httpResponse: (/** @type {number} */ id, /** @type {number} */ st, /** @type {string} */ h, /** @type {Uint8Array} */ b) =>
        r((s, now) => s.httpResponse(now, id, st, h, b)),
      httpChunk: (/** @type {number} */ id, /** @type {Uint8Array} */ b) => r((s, now) => s.httpChunk(now, id, b)),
      httpEnd: (/** @type {number} */ id) => r((s, now) => s.httpEnd(now, id)),
      httpFailed: (/** @type {number} */ id, /** @type {string} */ e) => r((s, now) => s.httpFailed(now, id, e)),
    };
  }

  /** @private Executes and delivers outputs in order, even when a listener calls back in. */
  _dispatch(/** @type {any[]} */ outputs) {
    this._pending.push(...outputs);
    if (this._dispatching) return;
    this._dispatching = true;
    try {
      while (this._pending.length) this._output(this._pending.shift());
    } finally {
      this._dispatching = false;
    }
    if (!this._ended) this._arm();
  }

  /** @private */
  _output(/** @type {any} */ o) {
    switch (o.op) {
      case 'event': return this._emit(o.envelope);
      case 'status': return this._receipts.get(o.clientId)?._update(o.status, o.terminal, this._receipts);
      case 'state': {
        this._state = o.to;
        for (const w of [...this._waiters]) if (w.kind === o.to.kind) { this._waiters.delete(w); w.resolve(o.to); }
        return;
      }
      case 'fetchToken': return this._fetchToken();
      case 'closed': return this._end();
      case 'unknown': return;
      default: return this._host.execute(o);
    }
  }

  /** @private */
  _emit(/** @type {any} */ envelope) {
    for (const key of [envelope.event.type, '*']) {
      for (const fn of [...(this._listeners.get(key) ?? [])]) {
        try {
          fn(envelope);
        } catch (e) {
          setTimeout(() => { throw e; }); // the app's bug: surfaced, not swallowed
        }
      }
    }
  }

  /** @private One provider call per request; its answer goes back to the session. */
  _fetchToken() {
    const getToken = this._getToken;
    Promise.resolve()
      .then(() => (getToken ? getToken() : Promise.reject(new Error('no getToken'))))
      .then(
        (token) => this._report((s, now) => s.token(now, true, String(token))),
        (e) => this._report((s, now) => s.token(now, false, e instanceof Error ? e.message : String(e))),
      );
  }

  /** @private */
  _arm() {
    clearTimeout(this._timer);
    const at = this._guard(() => String(this._session.pollTimeout()));
    const deadline = Number(at);
    if (deadline < 0) return;
    this._timer = setTimeout(() => this._report((s, now) => s.timeout(now)), Math.max(0, deadline - performance.now()));
  }

  /** @private The session closed: tear down and end every stream. */
  _end() {
    this._lastStats = JSON.parse(this._session.stats());
    this._ended = true;
    this._finish(new ChatwireError('CLOSED', 'the client closed', false));
    this._session.free();
  }

  /** @private The module trapped: fail what is pending with INTERNAL. */
  _crashed(/** @type {unknown} */ e) {
    if (this._ended) return;
    this._ended = true;
    const error = new ChatwireError('INTERNAL', `chatwire's WebAssembly module crashed: ${e instanceof Error ? e.message : String(e)}`, false);
    for (const receipt of this._receipts.values()) receipt._crash(error);
    this._receipts.clear();
    const from = this._state;
    this._state = { kind: 'failed' };
    for (const w of [...this._waiters]) if (w.kind === 'failed') { this._waiters.delete(w); w.resolve(this._state); }
    this._emit({ seq: 0, timestampMs: Date.now(), event: { type: 'stateChanged', from, to: this._state } });
    this._finish(error);
  }

  /** @private */
  _finish(/** @type {ChatwireError} */ error) {
    this._unwatch();
    clearTimeout(this._timer);
    this._host.shutdown();
    this._runtime.clients.delete(this._crashHook);
    for (const w of this._waiters) w.reject(error);
    this._waiters.clear();
    for (const end of [...this._iterators]) end();
    this._listeners.clear();
  }
}

function zeroStats() {
  return { sent: 0, acked: 0, failed: 0, events: 0, reconnects: 0, queued: 0, duplicatesDropped: 0 };
}
