// Child process of close.test.mjs: builds a ChatClient on the dialect and mock named by argv,
// runs one exchange (or closes mid-reply), closes the client and returns. It calls no
// `process.exit`: the process ends by itself only if `close()` left nothing alive (no socket,
// no request, no timer).
import WebSocket from 'ws';
import { ChatClient } from 'chatwire';
import { exchange, fastBackoff } from './mock.mjs';

const [base, dialect, when] = process.argv.slice(2);
const client = new ChatClient({ dialect, baseUrl: base, seed: 3, backoff: fastBackoff, transport: { WebSocket } });
if (when === 'mid-reply') {
  const firstDelta = new Promise((resolve) => client.on('textDelta', resolve));
  await client.send('hello');
  await firstDelta;
} else {
  const { text } = await exchange(client, 'hello');
  if (text !== 'You said: hello') throw new Error(`unexpected reply ${JSON.stringify(text)}`);
}
await client.close();
process.stdout.write(`closed ${client.state.kind}\n`);
