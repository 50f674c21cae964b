// Type-level usage of the package as a bundler or browser resolves it (pkg/*.d.ts, the
// `--target web` build): the module is initialised with the default export first.
import init, { backoffDelayMs, ChatwireError, version } from 'chatwire';

await init();
const v: string = version();
const delay: number = backoffDelayMs(1, 0.5, 'rateLimited');
const err: Error = new ChatwireError('INVALID_INPUT', 'example');

// @ts-expect-error an unknown context is a type error
backoffDelayMs(1, 0.5, 'bogus');

console.log(v, delay, err);
