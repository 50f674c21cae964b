// Type-level usage of the package as Node resolves it ("node" condition -> pkg-node/*.d.ts),
// checked by `tsc` from types.test.mjs. Every `@ts-expect-error` must really be an error.
import { backoffDelayMs, ChatwireError, type RetryContext, version } from 'chatwire';

const v: string = version();
const context: RetryContext = 'serverRestart';
const withContext: number = backoffDelayMs(3, 0.5, context);
const withoutContext: number = backoffDelayMs(3, Math.random());

try {
  backoffDelayMs(-1, 0.5);
} catch (err) {
  if (err instanceof ChatwireError) {
    const code: string = err.code;
    const asError: Error = err;
    console.log(code, asError.message);
  }
}

// @ts-expect-error an unknown context is a type error
backoffDelayMs(1, 0.5, 'bogus');
// @ts-expect-error attempt is a number
backoffDelayMs('1', 0.5);
// @ts-expect-error the unit is required
backoffDelayMs(1);
// @ts-expect-error code is read-only
new ChatwireError('X', 'y').code = 'Z';

console.log(v, withContext, withoutContext);
