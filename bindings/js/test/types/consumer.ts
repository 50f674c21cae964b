// A consumer using every public API of `chatwire`, checked with `tsc --noEmit --strict` by
// types.test.mjs. Every `@ts-expect-error` line must really be an error (a wrong use).
import {
  backoffDelayMs, ChatClient, ChatwireError, ERROR_CODES, type Envelope, type ErrorCode,
  type EventOf, type Receipt, type RetryContext, version,
} from 'chatwire';

async function main(WebSocketImpl: unknown): Promise<void> {
  await ChatClient.ready();
  const client = new ChatClient({
    dialect: 'native', baseUrl: 'http://127.0.0.1:8080', seed: 1, deltaCoalesceMs: 0, keepRaw: false,
    queueCapacity: 10, headers: { 'X-Trace': '1' }, getToken: async () => 'token',
    transport: { WebSocket: WebSocketImpl, fetch },
  });
  const receipt: Receipt = await client.send('hello');
  const id: string = receipt.clientId;
  const kind: 'queued' | 'sent' | 'acked' | 'failed' = receipt.status.kind;
  const unsubscribe: () => void = receipt.onStatus((s) => console.log(s.kind));
  const done = await receipt.acked();
  client.discard(receipt);
  client.discard(id);
  const off = client.on('textDelta', (e: Envelope<EventOf<'textDelta'>>) => {
    const text: string = e.event.update.text;
    console.log(text, e.seq);
  });
  client.on('*', (e) => console.log(e.event.type));
  client.on('toolStarted', (e) => console.log(e.event.name, e.event.toolId));
  for await (const e of client.events({ signal: AbortSignal.timeout(1000) })) {
    if (e.event.type === 'unknown') console.log(e.event.name);
    break;
  }
  const ready = await client.whenState('ready', { signal: new AbortController().signal });
  const reconnecting = await client.whenState('reconnecting');
  console.log(ready.kind, reconnecting.attempt, reconnecting.delayMs, client.state.kind);
  const { sent, acked, duplicatesDropped } = client.stats();
  const { acks, resume, audio } = client.capabilities;
  client.typing(true);
  client.cancelTurn();
  client.reconnectNow();
  if (audio) await client.sendAudio(new Int16Array(160));
  await client.close();
  await client[Symbol.asyncDispose]();
  {
    await using scoped = new ChatClient({ dialect: 'openai', baseUrl: 'http://127.0.0.1:8080' });
    console.log(scoped.state);
  }
  try {
    backoffDelayMs(-1, 0.5);
  } catch (err) {
    if (err instanceof ChatwireError) {
      const code: ErrorCode = err.code;
      const retry: boolean = err.retryable;
      console.log(code, retry);
    }
  }
  const context: RetryContext = 'network';
  const codes: readonly ErrorCode[] = ERROR_CODES;
  console.log(version(), backoffDelayMs(1, 0.5, context), codes, kind, done, off, unsubscribe, sent, acked, duplicatesDropped, acks, resume);

  // @ts-expect-error a misspelt event type
  client.on('textDetla', () => {});
  // @ts-expect-error acked is a method, not a promise
  await receipt.acked.then(() => {});
  // @ts-expect-error an unknown dialect
  new ChatClient({ dialect: 'slack', baseUrl: 'x' });
  // @ts-expect-error an unknown state kind
  await client.whenState('open');
  // @ts-expect-error the event of a textDelta listener has no `name`
  client.on('textDelta', (e) => e.event.name);
  // @ts-expect-error code is read-only
  new ChatwireError('X', 'y').code = 'CLOSED';
}

void main;
