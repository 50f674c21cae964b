/// <reference lib="esnext.disposable" />
// Types of the `chatwire` package. The event types mirror the core's event model
// (sdk-core/EVENTS.md); test/events.test.mjs checks that every event type of EVENTS.md and every
// error code of the core appears here, so they cannot drift apart silently.

/** Why the previous connection attempt failed, as far as the retry decision cares. */
export type RetryContext = "network" | "serverRestart" | "initializing" | "rateLimited" | "other";

/** Every code of the core's `ErrorCode` table. */
export type ErrorCode =
  | "CLOSED" | "QUEUE_FULL" | "TOO_LARGE" | "UNSUPPORTED" | "INVALID_CONFIG" | "INVALID_INPUT"
  | "DELIVERY_FAILED" | "ALREADY_SENT" | "NOT_FOUND" | "AUTH" | "NETWORK" | "RATE_LIMITED"
  | "SERVER" | "PROTOCOL" | "OTHER" | "INTERNAL";

/** An error raised by chatwire. Branch on `code`, not on `message`. */
export class ChatwireError extends Error {
  constructor(code: string, message: string, retryable?: boolean);
  /** Stable, machine-readable code from the core's `ErrorCode` table. */
  readonly code: ErrorCode;
  /** Whether retrying later can succeed without changing anything. */
  readonly retryable: boolean;
}

/** The codes the core can produce (runtime list, same order as the core). */
export const ERROR_CODES: readonly ErrorCode[];
/** The version of the chatwire core in this package (e.g. `"0.1.0"`). */
export function version(): string;
/** The default backoff wait, in whole milliseconds, before reconnect attempt `attempt`. */
export function backoffDelayMs(attempt: number, unit: number, context?: RetryContext): number;
/**
 * The dialects this entry point holds: all six for `chatwire`, one for a per-dialect entry
 * (`chatwire/openai`, ...), which refuses the others with `UNSUPPORTED`.
 */
export function dialects(): DialectName[];

export type DialectName = "native" | "chat-v2" | "chat-interfaces" | "miptech" | "openai" | "parlant" | "ai-sdk";

/** The `ClientOptions` JSON keys (see the core's `ClientOptions::from_json`), plus JS-only keys. */
export interface ChatClientOptions {
  dialect: DialectName;
  baseUrl: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  apiKey?: string;
  tenant?: string;
  bearerToken?: string;
  seed?: number;
  allowInsecure?: boolean;
  backoff?: {
    baseMs?: number; factor?: number; capMs?: number; jitter?: number; minDelayMs?: number;
    restartMaxMs?: number; rateLimitMinMs?: number; initializingMinMs?: number; networkMinMs?: number;
  };
  maxAttempts?: number;
  stableAfterMs?: number;
  connectTimeoutMs?: number;
  readyTimeoutMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  idleTimeoutMs?: number;
  ackTimeoutMs?: number;
  turnTimeoutMs?: number;
  maxRetryAfterMs?: number;
  queueCapacity?: number;
  overflow?: "dropOldest" | "rejectNew";
  dedupCapacity?: number;
  typingThrottleMs?: number;
  maxFrameBytes?: number;
  lazyConnect?: boolean;
  deltaCoalesceMs?: number;
  resumeCursor?: string;
  /** Keep the wire event in `raw` on every envelope (default false: only `unknown` events carry it). */
  keepRaw?: boolean;
  /** Called for a token before connecting and again after an auth error, one call at a time. */
  getToken?: () => Promise<string> | string;
  /** Platform objects to use instead of the globals (Node 20: `{ WebSocket }` from `ws`). */
  transport?: { WebSocket?: unknown; fetch?: typeof fetch };
}

export type ConnectionState =
  | { kind: "disconnected" } | { kind: "connecting" } | { kind: "connected" } | { kind: "ready" }
  | { kind: "reconnecting"; attempt: number; delayMs: number }
  | { kind: "failed" } | { kind: "closed" };
export type StateKind = ConnectionState["kind"];

export type FailReason = "overflow" | "closed" | "connectionFailed" | "rejected" | "invalid" | "discarded" | "internal";
export type DeliveryStatus =
  | { kind: "queued" } | { kind: "sent" } | { kind: "acked" } | { kind: "failed"; reason: FailReason };

export type Role = "user" | "assistant" | "system" | "tool";
export type TextUpdate =
  | { kind: "append"; text: string; offset: number }
  | { kind: "replace"; text: string };
export type AgentStatus =
  | { kind: "acknowledged" } | { kind: "processing"; stage?: string } | { kind: "typing" } | { kind: "ready" };
export type ErrorKind = "network" | "auth" | "rateLimited" | "server" | "protocol" | "other" | (string & {});

/** The event model (sdk-core/EVENTS.md) as a tagged union on `type`. */
export type ChatEvent =
  | { type: "stateChanged"; from: ConnectionState; to: ConnectionState }
  | { type: "discontinuity"; reason: string }
  | { type: "heartbeat" }
  | { type: "backendUnavailable"; untilMs: number; retryAfterMs: number; message: string }
  | { type: "messageStatus"; clientId: string; status: DeliveryStatus; serverId?: string }
  | { type: "turnStarted"; replyTo?: string }
  | { type: "status"; status: AgentStatus }
  | { type: "turnCompleted"; finishReason?: string; usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number } }
  | { type: "turnCancelled" }
  | { type: "turnFailed"; error: { code: string; message: string } }
  | { type: "message"; role: Role; content: string; metadata?: unknown }
  | { type: "messageStarted"; role: Role }
  | { type: "textDelta"; channel: "text" | "reasoning"; update: TextUpdate }
  | { type: "messageCompleted"; text: string }
  | { type: "toolStarted"; toolId: string; name: string; args?: unknown }
  | { type: "toolArgsDelta"; toolId: string; delta: string }
  | { type: "toolProgress"; toolId: string; message: string }
  | { type: "toolCompleted"; toolId: string; output: unknown }
  | { type: "toolFailed"; toolId: string; error: string }
  | { type: "data"; name: string; id?: string; data: unknown }
  | { type: "transcript"; text: string; isFinal: boolean }
  | { type: "audioChunk"; format: string; data: string }
  | { type: "typing"; participant: string; active: boolean }
  | { type: "error"; kind: ErrorKind; code?: string; message: string; retryable: boolean }
  | { type: "unknown"; name: string };
export type EventType = ChatEvent["type"];
/** The event of one type: `EventOf<'textDelta'>`. */
export type EventOf<T extends EventType> = Extract<ChatEvent, { type: T }>;

/** One event as delivered: sequence number, timestamps, resume cursor, the event. */
export interface Envelope<E extends ChatEvent = ChatEvent> {
  seq: number;
  conversationId?: string;
  turnId?: string;
  messageId?: string;
  partId?: string;
  cursor?: string;
  timestampMs: number;
  raw?: unknown;
  event: E;
}

export interface Capabilities {
  acks: boolean; resume: boolean; typing: boolean; audio: boolean; tools: boolean; cancel: boolean; orderedSends: boolean;
}
export interface Stats {
  sent: number; acked: number; failed: number; events: number; reconnects: number; queued: number; duplicatesDropped: number;
}

/** One message's delivery status over time. */
export class Receipt {
  private constructor();
  readonly clientId: string;
  readonly status: DeliveryStatus;
  /** No further status follows. */
  readonly final: boolean;
  /** Resolves with the final status (`acked`, or `sent` without acks); rejects with a `ChatwireError` on failure. */
  acked(): Promise<DeliveryStatus>;
  /** Calls `fn` with every new status; returns the unsubscribe function. */
  onStatus(fn: (status: DeliveryStatus) => void): () => void;
}

/** The chat client: `new ChatClient(options)` throws a `ChatwireError` at once for invalid options. */
export class ChatClient implements AsyncDisposable {
  constructor(options: ChatClientOptions);
  /** Resolves when a client can be built (after a crash, once the module reloaded). */
  static ready(): Promise<void>;
  readonly state: ConnectionState;
  readonly capabilities: Readonly<Capabilities>;
  send(text: string): Promise<Receipt>;
  sendAudio(samples: Int16Array): Promise<Receipt>;
  discard(message: string | Receipt): void;
  typing(active: boolean): void;
  cancelTurn(): void;
  reconnectNow(): void;
  connect(): void;
  stats(): Stats;
  on<T extends EventType>(type: T, fn: (envelope: Envelope<EventOf<T>>) => void): () => void;
  on(type: "*", fn: (envelope: Envelope) => void): () => void;
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<Envelope>;
  whenState<K extends StateKind>(kind: K, options?: { signal?: AbortSignal }): Promise<Extract<ConnectionState, { kind: K }>>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
