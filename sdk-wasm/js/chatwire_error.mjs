// The one error class thrown across the chatwire JS boundary.
//
// It is defined in JavaScript (not Rust) so that it is a real `Error` subclass with a stack, and
// it is re-exported by the generated glue so `err instanceof ChatwireError` works for callers.
// `code` is stable and meant to be branched on; `message` is for humans and may change.

/** An error raised by chatwire. Branch on `code` (e.g. `"INVALID_INPUT"`), not on `message`. */
export class ChatwireError extends Error {
  /**
   * @param {string} code stable machine-readable code from the core's ErrorCode table
   * @param {string} message human-readable explanation
   * @param {boolean} [retryable] retrying later can succeed unchanged (default false)
   */
  constructor(code, message, retryable = false) {
    super(message);
    this.name = 'ChatwireError';
    /** @type {string} */
    this.code = code;
    /** @type {boolean} */
    this.retryable = retryable;
  }
}
