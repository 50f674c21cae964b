// A small app as a web or Node developer writes it, for test/bundle.test.mjs: it is bundled with
// esbuild into one ESM file (chatwire and ws inside it), and the bundle is run with the mock's
// base URL as its argument. It prints one JSON line: the reply to `hello`, the error code of a
// forced trap, and the reply to `again` from a client built after the trap.
import { ChatClient, ChatwireError } from 'chatwire';
import WebSocket from 'ws';

const baseUrl = process.argv[2];
const options = { dialect: 'native', baseUrl, transport: { WebSocket } };

/** Sends `text` and resolves with the streamed reply once the turn completes. */
function reply(/** @type {ChatClient} */ client, /** @type {string} */ text) {
  let streamed = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within 10 s; so far ${JSON.stringify(streamed)}`)), 10_000);
    const off = client.on('*', ({ event }) => {
      if (event.type === 'textDelta' && event.channel === 'text') {
        const u = event.update;
        streamed = u.kind === 'replace' ? u.text : streamed.slice(0, u.offset) + u.text;
      } else if (event.type === 'turnCompleted') {
        clearTimeout(timer);
        off();
        resolve(streamed);
      }
    });
    client.send(text).catch(reject);
  });
}

const first = new ChatClient(options);
const hello = await reply(first, 'hello');
// The module traps (the test hook does what a panic does): the bundle's runtime must load a
// fresh copy of the glue without importing anything again.
let trap = 'no error';
try {
  first._call((/** @type {any} */ s) => s.__forceTrap());
} catch (e) {
  trap = e instanceof ChatwireError ? e.code : String(e);
}
await first.close();
await ChatClient.ready();
const second = new ChatClient(options);
const again = await reply(second, 'again');
await second.close();
console.log(JSON.stringify({ hello, trap, again }));
