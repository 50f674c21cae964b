// What the platform can do: which WebSocket and fetch the host uses, and which dialects cannot
// work with them.
//
// These are platform facts, not client policy. Node 20 has no global WebSocket: pass one (the
// `ws` package) as `transport.WebSocket`. A browser WebSocket cannot set request headers on the
// upgrade, so a dialect whose backend reads credentials or the tenant only from upgrade headers
// is refused at construction with `UNSUPPORTED` and a message that says why:
//
// | dialect | browser WebSocket (no upgrade headers) |
// |---|---|
// | native | works without credentials; a bearer token / `getToken` / `headers` need header sockets |
// | chat-v2 | works: the token also travels as the `token` query parameter; `headers` need header sockets |
// | miptech | refused: the tenant (`X-Tenant-ID`) and API key travel only as upgrade headers |
// | openai, parlant, chat-interfaces | HTTP only (fetch sets headers): work everywhere |
//
// An injected `transport.WebSocket` is called `ws`-style, `new WebSocket(url, [], { headers })`.

const SOCKET_DIALECTS = new Set(['native', 'chat-v2', 'miptech']);

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
 * @param {Record<string, any>} options @param {{ WebSocket: any, headerSockets: boolean }} transport
 */
export function browserRefusal(options, transport) {
  const dialect = options.dialect;
  if (!SOCKET_DIALECTS.has(dialect)) return undefined;
  if (typeof transport.WebSocket !== 'function') {
    return `dialect ${dialect} needs a WebSocket and this platform has none: pass transport.WebSocket (for example the \`ws\` package in Node 20)`;
  }
  if (transport.headerSockets) return undefined;
  const why = ` on the WebSocket upgrade, which this platform's WebSocket cannot set; pass a WebSocket that can (transport.WebSocket) or use it from a server`;
  if (dialect === 'miptech') return `dialect miptech sends the tenant and API key only as headers${why}`;
  if (options.headers && Object.keys(options.headers).length > 0) return `option headers must travel as headers${why}`;
  if (dialect === 'native' && (options.bearerToken || options.getToken || options.params?.token)) {
    return `dialect native sends its bearer token only as an Authorization header${why}`;
  }
  return undefined;
}
