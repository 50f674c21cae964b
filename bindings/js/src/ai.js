// `chatwire/ai`: a `ChatTransport` for the AI SDK (`useChat`, `Chat`) backed by a `ChatClient`.
//
// ```js
// import { useChat } from '@ai-sdk/react';
// import { chatwireTransport } from 'chatwire/ai';
// const transport = chatwireTransport({ dialect: 'native', baseUrl: 'https://agent.example.com' });
// const { messages, sendMessage, stop } = useChat({ transport });
// ```
//
// Guarantees: the adapter only maps. `sendMessages` sends the text of the last user message with
// `client.send` and returns a `ReadableStream` of UI message chunks built from the events of the
// turn that answers it; queueing, retry, dedup and resume stay in the client, so a reply cut by
// the network reaches the stream once. The chunks follow the AI SDK's schema
// (`ai/src/ui-message-stream/ui-message-chunks.ts`, `UIMessageChunk`): `start`, `start-step`,
// `text-start`/`text-delta`/`text-end`, `reasoning-*`, `tool-input-start`/`tool-input-delta`/
// `tool-input-available`, `tool-output-available`/`tool-output-error` (as dynamic, backend-executed
// tools: `dynamic: true, providerExecuted: true`), `finish-step`, `finish`, `error`, `abort`, and a
// transient `data-chatwire` part (the envelope) for what has no chunk of its own (agent status,
// tool progress, discontinuities). A chunk can only append; where the client's text is replaced
// by one that does not extend it, or the turn is re-sent after a cut (openai), the adapter sends
// `reset-step` ("Removes all message parts added during the current step") and the step again.
// Aborting (`stop()`) takes a still-queued message back (`discard`) or cancels the turn where the
// dialect can (`capabilities.cancel`). `reconnectToStream` replays the chat's turn while the
// client still runs it (`resumeStreamIsReplay: true`), else resolves `null`. This module imports
// nothing from `ai` at run time; `chatwire` alone never loads it.

import { ChatClient } from './client.js';
import { ChatwireError } from './runtime.js';

/**
 * A `ChatTransport` over a `ChatClient`: pass `{ client }` to use one you own, or the client's
 * options to let the transport build (and `close()`) its own.
 * @param {Record<string, any>} options
 */
export function chatwireTransport(options) {
  return new ChatwireTransport(options);
}

export class ChatwireTransport {
  /** @param {Record<string, any>} options */
  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw new ChatwireError('INVALID_CONFIG', 'chatwireTransport needs { client } or ChatClient options', false);
    }
    const { client, ...clientOptions } = options;
    if (client !== undefined && !(client instanceof ChatClient)) {
      throw new ChatwireError('INVALID_CONFIG', 'client must be a ChatClient', false);
    }
    /** The client every turn goes through. */
    this.client = client ?? new ChatClient(clientOptions);
    /** A reconnect replays the turn from its first chunk. */
    this.resumeStreamIsReplay = true;
    /** @private */ this._owned = client === undefined;
    /** @private @type {Turn[]} turns not ended, oldest first */ this._turns = [];
    /** @private @type {Map<string, Turn>} the latest turn of each chat */ this._byChat = new Map();
    /** @private */ this._off = this.client.on('*', (e) => this._route(e));
    this.sendMessages = this.sendMessages.bind(this);
    this.reconnectToStream = this.reconnectToStream.bind(this);
    this.close = this.close.bind(this);
  }

  /**
   * Sends the last user message's text; resolves with the stream of its reply.
   * @param {{ chatId: string, messages: any[], abortSignal?: AbortSignal, trigger?: string, messageId?: string }} options
   */
  async sendMessages({ chatId, messages, abortSignal }) {
    const text = lastUserText(messages);
    const turn = new Turn(this, chatId);
    this._turns.push(turn);
    this._byChat.set(chatId, turn);
    try {
      turn.receipt = await this.client.send(text);
    } catch (e) {
      turn.end(); // nothing was sent: no stream, nothing to reconnect to
      throw e;
    }
    turn.receipt.onStatus((/** @type {any} */ s) => turn.status(s));
    if (turn.receipt.final) turn.status(turn.receipt.status);
    turn.started();
    if (abortSignal) {
      const onAbort = () => this._abort(turn);
      if (abortSignal.aborted) onAbort();
      else abortSignal.addEventListener('abort', onAbort, { once: true });
    }
    return turn.stream();
  }

  /**
   * The chat's turn from its first chunk while the client still runs it; otherwise `null`.
   * @param {{ chatId: string }} options
   */
  async reconnectToStream({ chatId }) {
    const turn = this._byChat.get(chatId);
    return turn && !turn.ended ? turn.stream() : null;
  }

  /** Stops routing events; closes the client if this transport built it. */
  close() {
    this._off();
    for (const turn of [...this._turns]) turn.fail('the transport was closed');
    if (this._owned) this.client.close().catch(() => {});
  }

  /** @private Stop pressed: take the message back while queued, else cancel where possible. */
  _abort(/** @type {Turn} */ turn) {
    if (turn.ended) return;
    try {
      if (turn.receipt?.status.kind === 'queued') this.client.discard(turn.receipt);
      else if (this.client.capabilities.cancel) this.client.cancelTurn();
    } catch {
      // The client already closed: nothing left to cancel.
    }
  }

  /** @private */
  _forget(/** @type {Turn} */ turn) {
    this._turns = this._turns.filter((t) => t !== turn);
  }

  /** @private Hands one envelope to the turn it belongs to. */
  _route(/** @type {any} */ envelope) {
    const { event, turnId, messageId } = envelope;
    if (event.type === 'stateChanged') {
      const kind = event.to.kind;
      if (kind === 'closed' || kind === 'failed') for (const t of [...this._turns]) t.fail(`the chat client is ${kind}`);
      return;
    }
    if (event.type === 'messageStatus') {
      // Only the server id is taken here (a turn may name it); statuses come from the receipt.
      const turn = this._turns.find((t) => t.receipt?.clientId === event.clientId);
      if (turn && event.serverId !== undefined) turn.serverId = event.serverId;
      return;
    }
    if (event.type === 'turnStarted') {
      // "replyTo" names the message a turn answers; a dialect without it answers in order.
      const turn = event.replyTo !== undefined
        ? this._turns.find((t) => t.receipt?.clientId === event.replyTo || t.serverId === event.replyTo)
        : this._turns.find((t) => t.receipt && t.turnIds.size === 0);
      turn?.turnStarted(turnId);
      return;
    }
    const owner = turnId !== undefined
      ? this._turns.find((t) => t.turnIds.has(turnId))
      : messageId !== undefined ? this._turns.find((t) => t.messageIds.has(messageId)) : undefined;
    if (owner) owner.event(envelope);
    else if (event.type === 'discontinuity') for (const t of this._turns) t.data(envelope);
  }
}

/** The reply to one sent message: its chunks so far, the streams reading them, its parts. */
class Turn {
  constructor(/** @type {ChatwireTransport} */ transport, /** @type {string} */ chatId) {
    this.transport = transport;
    this.chatId = chatId;
    /** @type {any} */ this.receipt = undefined;
    /** @type {string | undefined} */ this.serverId = undefined;
    /** @type {Set<string>} */ this.turnIds = new Set();
    /** @type {Set<string>} */ this.messageIds = new Set();
    /** @type {any[]} every chunk sent, for replays */ this.log = [];
    /** @type {Set<ReadableStreamDefaultController<any>>} */ this.readers = new Set();
    /** @type {Map<string, any>} text/reasoning parts and tool calls, in order */ this.parts = new Map();
    this.ended = false;
    this.interrupted = false;
  }

  /** The message is queued: the reply's stream begins. */
  started() {
    this.emit({ type: 'start' });
    this.emit({ type: 'start-step' });
  }

  /** A new reader: every chunk so far, then the live ones. */
  stream() {
    /** @type {ReadableStreamDefaultController<any> | undefined} */ let mine;
    return new ReadableStream({
      start: (controller) => {
        mine = controller;
        for (const chunk of this.log) controller.enqueue(chunk);
        if (this.ended) controller.close();
        else this.readers.add(controller);
      },
      cancel: () => { if (mine) this.readers.delete(mine); },
    });
  }

  /** @param {{ kind: string, reason?: string }} status */
  status(status) {
    if (status.kind === 'failed') this.fail(`the message was not delivered (${status.reason})`);
    else if (this.interrupted && this.receipt?.final) this.fail('the reply was lost when the connection dropped');
  }

  /** A turn answering this message started (again, after a cut: the parts start over). */
  turnStarted(/** @type {string | undefined} */ turnId) {
    if (turnId !== undefined) this.turnIds.add(turnId);
    if (this.interrupted || this.parts.size > 0) {
      this.interrupted = false;
      this.parts.clear();
      this.emit({ type: 'reset-step' });
      this.emit({ type: 'start-step' });
    }
  }

  /** One event of this turn, mapped to chunks. */
  event(/** @type {any} */ envelope) {
    const { event } = envelope;
    const mid = envelope.messageId ?? envelope.turnId ?? 'reply';
    switch (event.type) {
      case 'messageStarted':
        if (envelope.messageId !== undefined) this.messageIds.add(envelope.messageId);
        return;
      case 'textDelta': {
        const key = `${mid}:${envelope.partId ?? ''}:${event.channel}`;
        const before = this.parts.get(key)?.text ?? '';
        const u = event.update;
        this.setText(key, event.channel, u.kind === 'replace' ? u.text : before.slice(0, u.offset) + u.text);
        return;
      }
      case 'messageCompleted':
      case 'message': {
        if (event.type === 'message' && event.role !== 'assistant') return;
        const text = event.type === 'message' ? event.content : event.text;
        const key = [...this.parts.keys()].find((k) => k.startsWith(`${mid}:`) && k.endsWith(':text')) ?? `${mid}::text`;
        if (text !== '' || this.parts.has(key)) this.setText(key, 'text', text);
        this.closeParts(`${mid}:`);
        return;
      }
      case 'toolStarted': {
        const tool = this.tool(event.toolId, event.name);
        if (event.args !== undefined) this.toolInput(tool, event.args);
        return;
      }
      case 'toolArgsDelta': {
        const tool = this.tool(event.toolId);
        tool.argsText += event.delta;
        this.emit({ type: 'tool-input-delta', toolCallId: tool.id, inputTextDelta: event.delta });
        return;
      }
      case 'toolCompleted':
      case 'toolFailed': {
        const tool = this.tool(event.toolId);
        if (!tool.inputSent) this.toolInput(tool, parseArgs(tool.argsText));
        tool.result = event.type === 'toolCompleted'
          ? { type: 'tool-output-available', toolCallId: tool.id, output: event.output, ...BACKEND_TOOL }
          : { type: 'tool-output-error', toolCallId: tool.id, errorText: event.error, ...BACKEND_TOOL };
        this.emit(tool.result);
        return;
      }
      case 'turnCompleted':
        this.closeParts('');
        this.emit({ type: 'finish-step' });
        this.emit({ type: 'finish', finishReason: finishReason(event.finishReason) });
        return this.end();
      case 'turnCancelled':
        this.closeParts('');
        this.emit({ type: 'finish-step' });
        this.emit({ type: 'abort', reason: 'the turn was cancelled' });
        return this.end();
      case 'turnFailed': {
        // "disconnected"/"discontinuity": the connection dropped mid-turn; a dialect that cannot
        // resume re-sends the message and a new turn answers it (openai), unless it was already
        // delivered, when nothing more will come.
        const cut = event.error.code === 'disconnected' || event.error.code === 'discontinuity';
        if (cut && !this.receipt?.final) {
          this.interrupted = true;
          return;
        }
        return this.fail(`${event.error.code}: ${event.error.message}`);
      }
      default:
        // status, toolProgress, typing, errors, discontinuities: no chunk of their own.
        return this.data(envelope);
    }
  }

  /** The part `key` now reads `text`: a delta when it extends what was sent, else a reset. */
  setText(/** @type {string} */ key, /** @type {string} */ channel, /** @type {string} */ text) {
    const kind = channel === 'reasoning' ? 'reasoning' : 'text';
    let part = this.parts.get(key);
    if (!part) {
      part = { kind, id: key, text: '', open: true };
      this.parts.set(key, part);
      this.emit({ type: `${kind}-start`, id: key });
    }
    if (part.open && text.startsWith(part.text)) {
      const delta = text.slice(part.text.length);
      part.text = text;
      if (delta !== '') this.emit({ type: `${kind}-delta`, id: key, delta });
      return;
    }
    part.text = text;
    part.open = true;
    this.replay();
  }

  /** Ends the open text and reasoning parts whose key starts with `prefix`. */
  closeParts(/** @type {string} */ prefix) {
    for (const part of this.parts.values()) {
      if (part.kind === 'tool' || !part.open || !part.id.startsWith(prefix)) continue;
      part.open = false;
      this.emit({ type: `${part.kind}-end`, id: part.id });
    }
  }

  /** The tool call `id`, announced with `tool-input-start` the first time it is seen. */
  tool(/** @type {string} */ id, /** @type {string | undefined} */ name) {
    const key = `tool:${id}`;
    let tool = this.parts.get(key);
    if (!tool) {
      tool = { kind: 'tool', id, name: name ?? 'unknown', argsText: '', input: undefined, inputSent: false, result: undefined };
      this.parts.set(key, tool);
      this.emit({ type: 'tool-input-start', toolCallId: id, toolName: tool.name, ...BACKEND_TOOL });
    }
    return tool;
  }

  toolInput(/** @type {any} */ tool, /** @type {unknown} */ input) {
    tool.input = input;
    tool.inputSent = true;
    this.emit({ type: 'tool-input-available', toolCallId: tool.id, toolName: tool.name, input, ...BACKEND_TOOL });
  }

  /** Sends `reset-step` and the step's parts as they stand now. */
  replay() {
    this.emit({ type: 'reset-step' });
    this.emit({ type: 'start-step' });
    for (const part of this.parts.values()) {
      if (part.kind === 'tool') {
        this.emit({ type: 'tool-input-start', toolCallId: part.id, toolName: part.name, ...BACKEND_TOOL });
        if (part.inputSent) this.emit({ type: 'tool-input-available', toolCallId: part.id, toolName: part.name, input: part.input, ...BACKEND_TOOL });
        if (part.result) this.emit(part.result);
        continue;
      }
      this.emit({ type: `${part.kind}-start`, id: part.id });
      if (part.text !== '') this.emit({ type: `${part.kind}-delta`, id: part.id, delta: part.text });
      if (!part.open) this.emit({ type: `${part.kind}-end`, id: part.id });
    }
  }

  /** An event with no chunk of its own, as a transient `data-chatwire` part. */
  data(/** @type {any} */ envelope) {
    if (envelope.event.type === 'messageStatus') return;
    this.emit({ type: 'data-chatwire', id: String(envelope.seq), data: envelope, transient: true });
  }

  /** Ends the stream with an `error` chunk. */
  fail(/** @type {string} */ errorText) {
    if (this.ended) return;
    this.emit({ type: 'error', errorText });
    this.end();
  }

  emit(/** @type {any} */ chunk) {
    if (this.ended) return;
    this.log.push(chunk);
    for (const reader of this.readers) reader.enqueue(chunk);
  }

  end() {
    this.ended = true;
    for (const reader of this.readers) reader.close();
    this.readers.clear();
    this.transport._forget(this);
  }
}

/** Tools run by the backend: the SDK neither calls `onToolCall` nor expects the app's output. */
const BACKEND_TOOL = Object.freeze({ dynamic: true, providerExecuted: true });

/** The SDK's `FinishReason`: 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other'. */
const FINISH_REASONS = new Set(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other']);

function finishReason(/** @type {string | undefined} */ reason) {
  if (reason === undefined) return 'stop';
  const r = reason.replaceAll('_', '-');
  return FINISH_REASONS.has(r) ? r : 'other';
}

/** The text of the last user message (its text parts, joined). */
function lastUserText(/** @type {any[]} */ messages) {
  const last = Array.isArray(messages) ? messages.findLast((m) => m?.role === 'user') : undefined;
  const text = (last?.parts ?? []).filter((p) => p?.type === 'text').map((p) => p.text).join('');
  if (text === '') throw new ChatwireError('INVALID_INPUT', 'the last user message has no text to send', false);
  return text;
}

/** Streamed tool arguments as JSON, or the raw text when they are not JSON. */
function parseArgs(/** @type {string} */ text) {
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
