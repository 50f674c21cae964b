// What the platform can do: which WebSocket and fetch the host uses, and whether the chosen
// dialect can work with them.
//
// These are platform facts, not client policy. Node 20 has no global WebSocket: pass one (the
// `ws` package) as `transport.WebSocket`. A browser WebSocket cannot set request headers on the
// upgrade; what each dialect needs there is a capability of the core's dialect registry
// (`socketNeeds`, `headerFreeRefusal` from the WebAssembly module), and a dialect that cannot do
// without headers with the given options is refused at construction with `UNSUPPORTED` and the
// core's message saying why. See the package README ("What works in a browser").
//
// An injected `transport.WebSocket` is called `ws`-style, `new WebSocket(url, [], { headers })`.

/**
 * @param {{ WebSocket?: any, fetch?: typeof fetch }} transport
 * @returns {{ WebSocket: any, fetch: typeof fetch, headerSockets: boolean }}
 */
export function platformTransport(transport) {
  const injected = transport.WebSocket;
  return {
    WebSocket: injected ?? globalThis.WebSocket,
    fetch: transport.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    headerSockets: injected !== undefined && injected !== globalThis.WebSocket,
  };
}

/**
 * Why these options cannot work with this transport, or undefined when they can.
 * @param {Record<string, any>} options
 * @param {{ WebSocket: any, headerSockets: boolean }} transport
 * @param {{ socketNeeds(dialect: string): string, headerFreeRefusal(dialect: string, staticToken: boolean, tokenProvider: boolean, headers: boolean): string | undefined }} glue
 */
export function browserRefusal(options, transport, glue) {
  const dialect = String(options.dialect);
  /** @type {{ websocket: boolean }} */
  const needs = JSON.parse(glue.socketNeeds(dialect));
  if (!needs.websocket) return undefined;
  if (typeof transport.WebSocket !== 'function') {
    return `dialect ${dialect} needs a WebSocket and this platform has none: pass transport.WebSocket (for example the \`ws\` package in Node 20)`;
  }
  if (transport.headerSockets) return undefined;
  const params = options.params ?? {};
  const staticToken = Boolean(options.bearerToken || options.apiKey || params.token || params.bearer_token || params.api_key);
  const headers = Boolean(options.headers && Object.keys(options.headers).length > 0);
  return glue.headerFreeRefusal(dialect, staticToken, Boolean(options.getToken), headers) ?? undefined;
}
