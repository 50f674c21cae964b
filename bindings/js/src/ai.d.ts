// Types of `chatwire/ai`: an AI SDK `ChatTransport` backed by a `ChatClient`. Typed against the
// published types of the `ai` package (an optional peer dependency, needed only by users of this
// entry point); test/ai-types.test.mjs checks a `--strict` consumer with `useChat`-style usage.
import type { ChatTransport, UIMessage, UIMessageChunk } from 'ai';
import type { ChatClient, ChatClientOptions, Envelope } from './index.js';

/** `{ client }` to use a client you own, or the client's options to let the transport build one. */
export type ChatwireTransportOptions =
  | { client: ChatClient }
  | (ChatClientOptions & { client?: undefined });

/**
 * The transient data part (`onData`) carrying an event that has no chunk of its own: agent
 * status, tool progress, typing, errors the client recovers from, discontinuities.
 */
export interface ChatwireDataPart {
  type: 'data-chatwire';
  id: string;
  data: Envelope;
  transient: true;
}

/** A `ChatTransport` whose turns run on `client`. */
export interface ChatwireTransport<UI_MESSAGE extends UIMessage = UIMessage> extends ChatTransport<UI_MESSAGE> {
  /** The client every message goes through (queue, receipts, dedup, resume). */
  readonly client: ChatClient;
  /** `reconnectToStream` replays the running turn from its first chunk. */
  readonly resumeStreamIsReplay: true;
  /** Sends the last user message's text; the stream is the turn that answers it. */
  sendMessages: ChatTransport<UI_MESSAGE>['sendMessages'];
  /** The chat's running turn from its start, or `null` when the client runs none. */
  reconnectToStream: (options: { chatId: string; abortSignal?: AbortSignal }) => Promise<ReadableStream<UIMessageChunk> | null>;
  /** Stops mapping events; closes the client if the transport built it (not an injected one). */
  close(): void;
}

/**
 * Builds the transport. Invalid client options throw a `ChatwireError` (`INVALID_CONFIG`) at once.
 *
 * ```ts
 * import { useChat } from '@ai-sdk/react';
 * import { chatwireTransport } from 'chatwire/ai';
 * const transport = chatwireTransport({ dialect: 'chat-v2', baseUrl: 'https://agent.example.com' });
 * const { messages, sendMessage, stop } = useChat({ transport });
 * ```
 */
export function chatwireTransport<UI_MESSAGE extends UIMessage = UIMessage>(
  options: ChatwireTransportOptions,
): ChatwireTransport<UI_MESSAGE>;
