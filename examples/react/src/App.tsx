// The React example: the AI SDK's `useChat` on `chatwireTransport` (chatwire/ai) instead of
// `DefaultChatTransport`. Everything else is a plain useChat app: it renders the UI messages'
// text and tool parts and offers Stop. The badge shows the chatwire client's connection state;
// "cut the network" asks chatwire-mock to drop this dialect's connections and refuse new ones
// for a second (`POST /_mock/restart`), and the client reconnects and finishes the reply, once.
// The app holds no retry, dedup or resume logic.
import { useChat } from '@ai-sdk/react';
import type { DynamicToolUIPart, UIMessage } from 'ai';
import { type DialectName } from 'chatwire';
import { chatwireTransport } from 'chatwire/ai';
import { useEffect, useState, type FormEvent } from 'react';

export function App({ mockBase, dialect }: { mockBase: string; dialect: string }) {
  // One transport (one ChatClient, one conversation) for the page's life: built once, never in
  // an effect, so React's StrictMode re-mounts do not close it.
  const [transport] = useState(() => chatwireTransport({ dialect: dialect as DialectName, baseUrl: mockBase }));
  const { messages, sendMessage, status, error, stop } = useChat({ id: `react-${dialect}`, transport });
  const [state, setState] = useState(transport.client.state.kind);
  useEffect(() => transport.client.on('stateChanged', (e) => setState(e.event.to.kind)), [transport]);
  const [input, setInput] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (input.trim() === '') return;
    void sendMessage({ text: input });
    setInput('');
  };
  const cut = () =>
    fetch(`${mockBase}/_mock/restart`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ dialect, refuse_ms: 1000 }),
    });

  return (
    <>
      <header>
        <h1>chatwire + useChat</h1>
        <span className="dialect">{dialect}</span>
        <span id="badge" className="badge" data-state={state}>{state}</span>
        <button id="cut" type="button" onClick={() => void cut()}>cut the network</button>
      </header>
      <main id="log" data-status={status}>
        {messages.map((m) => <Message key={m.id} message={m} />)}
        {error && <p className="error" id="error">{error.message}</p>}
      </main>
      <form id="composer" onSubmit={submit}>
        <input id="text" value={input} onChange={(e) => setInput(e.target.value)} placeholder="Say something, or /tool paris" aria-label="message" />
        {status === 'streaming' || status === 'submitted'
          ? <button id="stop" type="button" onClick={() => void stop()}>Stop</button>
          : <button id="send" type="submit">Send</button>}
      </form>
    </>
  );
}

function Message({ message }: { message: UIMessage }) {
  return (
    <div className={`msg ${message.role}`} data-role={message.role}>
      {message.parts.map((part, i) => {
        if (part.type === 'text') return <p key={i} className="text">{part.text}</p>;
        if (part.type === 'dynamic-tool') return <ToolCard key={i} part={part} />;
        return null;
      })}
    </div>
  );
}

function ToolCard({ part }: { part: DynamicToolUIPart }) {
  return (
    <div className="tool" data-state={part.state}>
      <div className="tool-name">⚙ {part.toolName}</div>
      <code className="tool-input">{JSON.stringify(part.input)}</code>
      {part.state === 'output-available' && <code className="tool-output">{JSON.stringify(part.output)}</code>}
      {part.state === 'output-error' && <code className="tool-error">{part.errorText}</code>}
    </div>
  );
}
