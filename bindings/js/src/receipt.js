// Receipt: what `ChatClient.send` resolves with — one message's delivery status over time.
//
// Guarantees: the status only changes as the session reports it, and the session alone decides
// which status is final (`terminal`). `acked()` is a method: its promise exists only when the
// app asks, so a message that fails while nobody waits never becomes an unhandled rejection.

import { ChatwireError } from './runtime.js';

export class Receipt {
  /** @param {string} clientId */
  constructor(clientId) {
    /** The message's client id (a UUIDv7, also the idempotency key on the wire). */
    this.clientId = clientId;
    /** @private @type {{kind: string, reason?: string}} */ this._status = { kind: 'queued' };
    /** @private */ this._terminal = false;
    /** @private @type {ChatwireError | undefined} */ this._error = undefined;
    /** @private @type {Set<(status: any) => void>} */ this._listeners = new Set();
    /** @private @type {{resolve: Function, reject: Function}[]} */ this._waiters = [];
  }

  /** The latest delivery status (`{kind: 'queued' | 'sent' | 'acked' | 'failed', reason?}`). */
  get status() {
    return this._status;
  }

  /** Whether no further status will follow. */
  get final() {
    return this._terminal;
  }

  /**
   * Resolves with the final status once the message is delivered as far as the backend can
   * confirm (`acked`, or `sent` on a backend without acks); rejects with a `ChatwireError`
   * (`DELIVERY_FAILED`, or `INTERNAL` after a crash) when it failed.
   * @returns {Promise<{kind: string}>}
   */
  acked() {
    if (this._terminal) return this._error ? Promise.reject(this._error) : Promise.resolve(this._status);
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  /**
   * Calls `fn` with every new status; returns the unsubscribe function.
   * @param {(status: {kind: string, reason?: string}) => void} fn
   */
  onStatus(fn) {
    this._listeners.add(fn);
    return () => void this._listeners.delete(fn);
  }

  /** @internal A status from the session. */
  _update(/** @type {any} */ status, /** @type {boolean} */ terminal, /** @type {Map<string, Receipt>} */ owner) {
    if (this._terminal) return;
    this._status = status;
    if (terminal && status.kind === 'failed') {
      this._error = new ChatwireError('DELIVERY_FAILED', `message ${this.clientId} failed: ${status.reason}`, false);
    }
    this._settle(terminal);
    if (terminal) owner.delete(this.clientId);
  }

  /** @internal The module crashed: the message fails with `INTERNAL`. */
  _crash(/** @type {ChatwireError} */ error) {
    if (this._terminal) return;
    this._status = { kind: 'failed', reason: 'internal' };
    this._error = error;
    this._settle(true);
  }

  /** @private */
  _settle(/** @type {boolean} */ terminal) {
    this._terminal = terminal;
    for (const fn of [...this._listeners]) {
      try {
        fn(this._status);
      } catch (e) {
        setTimeout(() => { throw e; }); // the app's bug: surfaced, not swallowed
      }
    }
    if (!terminal) return;
    this._listeners.clear();
    for (const w of this._waiters.splice(0)) {
      if (this._error) w.reject(this._error); else w.resolve(this._status);
    }
  }
}
