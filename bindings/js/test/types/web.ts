// Type-level usage of the package as a bundler or browser resolves it ("bundler" resolution,
// DOM types): the module initialises itself on import (top-level await), no `init()` call.
import { backoffDelayMs, ChatClient, ChatwireError, version } from 'chatwire';

const v: string = version();
const delay: number = backoffDelayMs(1, 0.5, 'rateLimited');
const err: Error = new ChatwireError('INVALID_INPUT', 'example');
const client = new ChatClient({ dialect: 'parlant', baseUrl: location.origin });

// @ts-expect-error an unknown context is a type error
backoffDelayMs(1, 0.5, 'bogus');
// @ts-expect-error the browser has its WebSocket; transport takes objects, not strings
new ChatClient({ dialect: 'native', baseUrl: 'x', transport: 'ws' });

console.log(v, delay, err, client.state);
