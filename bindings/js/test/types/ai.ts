// A consumer of `chatwire/ai` checked with `tsc --strict` against the published types of `ai` by
// ai-types.test.mjs: the transport is an `ai` ChatTransport (the SDK's `Chat` accepts it, typed
// UI messages included), its chunks are `UIMessageChunk`s, and wrong uses (`@ts-expect-error`) fail.
import { AbstractChat, type ChatInit, type ChatTransport, type UIMessage, type UIMessageChunk } from 'ai';
import { ChatClient } from 'chatwire';
import { chatwireTransport, type ChatwireDataPart, type ChatwireTransport } from 'chatwire/ai';

type MyMessage = UIMessage<{ createdAt?: number }>;

async function main(): Promise<void> {
  const owned = chatwireTransport({ dialect: 'chat-v2', baseUrl: 'http://127.0.0.1:8080', seed: 1 });
  const asSdk: ChatTransport<UIMessage> = owned;
  const client: ChatClient = owned.client;
  const replay: true = owned.resumeStreamIsReplay;

  const injected: ChatwireTransport<MyMessage> = chatwireTransport<MyMessage>({ client });
  const init: Pick<ChatInit<MyMessage>, 'transport'> = { transport: injected };
  const stream: ReadableStream<UIMessageChunk> = await injected.sendMessages({
    chatId: 'c1', messages: [], abortSignal: undefined, trigger: 'submit-message', messageId: undefined,
  });
  const again: ReadableStream<UIMessageChunk> | null = await injected.reconnectToStream({ chatId: 'c1' });
  const reader = stream.getReader();
  const first = await reader.read();
  if (!first.done && first.value.type === 'text-delta') console.log(first.value.delta);

  const onData = (part: { type: string; data: unknown }) => {
    if (part.type === 'data-chatwire') console.log((part as ChatwireDataPart).data.event.type);
  };
  owned.close();
  console.log(asSdk, replay, init, again, onData, AbstractChat);

  // @ts-expect-error: a dialect name the package does not know
  chatwireTransport({ dialect: 'nope', baseUrl: 'http://127.0.0.1:8080' });
  // @ts-expect-error: client must be a ChatClient
  chatwireTransport({ client: {} });
  // @ts-expect-error: options are required
  chatwireTransport();
  // @ts-expect-error: chunks are UIMessageChunks (not `any`: the `ai` types resolved)
  const notAChunk: { type: 'nope' } | undefined = first.value;
  // @ts-expect-error: the returned transport is typed, not `any`
  const notANumber: number = owned;
  console.log(notAChunk, notANumber);
}

void main;
