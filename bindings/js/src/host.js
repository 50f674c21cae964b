// The IO host: executes a session's transport operations with the platform's WebSocket and
// fetch, and reports what happens back as session inputs.
//
// Guarantees: no policy lives here (no retry, dedup, queue or auth rule): every decision is the
// session's, this file only moves bytes. Each report reaches the session through `report`
// asynchronously (never from inside a session call). The host arms no timer: every deadline
// (a request's timeout, response headers that never come) is the session's, which then sends
// `cancelHttp`; every request is aborted by `cancelHttp` or `shutdown`, and an aborted streamed
// body's reader is cancelled too. After `closeSocket`/`cancelHttp`, or once
// the host is shut down, nothing more is reported about that handle. WebSockets use
// `binaryType = 'arraybuffer'`; streamed responses (SSE, long-poll) are read from
// `response.body` and fed to the session as chunks, never through `EventSource`.

/**
 * @typedef {{
 *   socketOpened(conn: number): void,
 *   socketText(conn: number, text: string): void,
 *   socketBinary(conn: number, bytes: Uint8Array): void,
 *   socketClosed(conn: number, code: number, reason: string, failedToOpen: boolean, httpStatus: number): void,
 *   httpResponse(id: number, status: number, headersJson: string, body: Uint8Array): void,
 *   httpChunk(id: number, bytes: Uint8Array): void,
 *   httpEnd(id: number): void,
 *   httpFailed(id: number, error: string): void,
 * }} Reports
 */

export class Host {
  /**
   * @param {{ WebSocket?: any, fetch?: typeof fetch, headerSockets: boolean }} transport
   *   `headerSockets`: the WebSocket takes `ws`-style options (`{ headers }`) as third argument
   * @param {Reports} reports
   */
  constructor(transport, reports) {
    this.transport = transport;
    this.reports = reports;
    /** @type {Map<number, any>} */
    this.sockets = new Map();
    /** @type {Map<number, AbortController>} */
    this.requests = new Map();
    this.down = false;
  }

  /**
   * Executes one transport operation of a session output batch.
   * @param {any} op
   */
  execute(op) {
    if (this.down) return;
    switch (op.op) {
      case 'openSocket': return this.open(op.conn, op.url, op.headers);
      case 'sendText': return this.send(op.conn, op.text);
      case 'sendBinary': return this.send(op.conn, new Uint8Array(op.bytes));
      case 'closeSocket': return this.closeSocket(op.conn);
      case 'http': return void this.http(op);
      case 'cancelHttp': {
        const ctrl = this.requests.get(op.id);
        this.requests.delete(op.id);
        return ctrl?.abort();
      }
      default: throw new Error(`chatwire host: unknown operation ${JSON.stringify(op.op)}`);
    }
  }

  /** Tears every socket and request down; nothing is reported afterwards. */
  shutdown() {
    this.down = true;
    for (const conn of [...this.sockets.keys()]) this.closeSocket(conn);
    for (const ctrl of this.requests.values()) ctrl.abort();
    this.requests.clear();
  }

  /**
   * @param {number} conn @param {string} url @param {[string, string][]} headers
   */
  open(conn, url, headers) {
    const WS = this.transport.WebSocket;
    let ws;
    try {
      ws = this.transport.headerSockets
        ? new WS(url, [], { headers: Object.fromEntries(headers) })
        : new WS(url);
    } catch (e) {
      queueMicrotask(() => this.reports.socketClosed(conn, -1, errorText(e), true, -1));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.sockets.set(conn, ws);
    let opened = false;
    let httpStatus = -1;
    let error = '';
    const live = () => !this.down && this.sockets.get(conn) === ws;
    ws.onopen = () => {
      opened = true;
      if (live()) this.reports.socketOpened(conn);
    };
    ws.onmessage = (/** @type {MessageEvent} */ ev) => {
      if (!live()) return;
      if (typeof ev.data === 'string') this.reports.socketText(conn, ev.data);
      else this.reports.socketBinary(conn, new Uint8Array(ev.data));
    };
    ws.onerror = (/** @type {any} */ ev) => {
      // `ws` says why (e.g. "Unexpected server response: 401"); browsers say nothing.
      error = errorText(ev?.error ?? ev?.message ?? '');
      const status = /Unexpected server response: (\d{3})/.exec(error);
      if (status) httpStatus = Number(status[1]);
    };
    ws.onclose = (/** @type {CloseEvent} */ ev) => {
      if (!live()) return;
      this.sockets.delete(conn);
      // 1005 (no code) and 1006 (no close frame) are not codes the peer sent.
      const code = ev.code === 1005 || ev.code === 1006 ? -1 : ev.code;
      const reason = ev.reason || error || (opened ? 'connection closed' : 'connection failed');
      this.reports.socketClosed(conn, code ?? -1, reason, !opened, httpStatus);
    };
  }

  /**
   * Sends on `conn`. A socket that is already going away may refuse; its close report follows,
   * and the session re-sends what was not acknowledged.
   * @param {number} conn @param {string | Uint8Array} data
   */
  send(conn, data) {
    try {
      this.sockets.get(conn)?.send(data);
    } catch {
      // Reported by the socket's close event, not here.
    }
  }

  /** @param {number} conn */
  closeSocket(conn) {
    const ws = this.sockets.get(conn);
    this.sockets.delete(conn);
    if (!ws) return;
    try {
      ws.close(1000);
    } catch {
      // Closing a socket that is still connecting throws in some implementations; it is
      // forgotten either way (no report follows a closeSocket).
    }
  }

  /** @param {any} op */
  async http(op) {
    const ctrl = new AbortController();
    this.requests.set(op.id, ctrl);
    const live = () => !this.down && this.requests.get(op.id) === ctrl;
    const fetchFn = this.transport.fetch ?? globalThis.fetch;
    try {
      const body = op.bodyBytes ? new Uint8Array(op.bodyBytes) : op.body;
      const response = await fetchFn(op.url, {
        method: op.method,
        headers: op.headers,
        body: op.method === 'GET' || op.method === 'HEAD' || body === '' ? undefined : body,
        signal: ctrl.signal,
      });
      const headers = JSON.stringify([...response.headers]);
      if (!op.streaming || !response.ok || !response.body) {
        const whole = new Uint8Array(await response.arrayBuffer());
        if (live()) {
          this.requests.delete(op.id);
          this.reports.httpResponse(op.id, response.status, headers, whole);
        }
        return;
      }
      if (!live()) return void response.body.cancel().catch(() => {});
      this.reports.httpResponse(op.id, response.status, headers, new Uint8Array(0));
      const reader = response.body.getReader();
      // Node's fetch (undici) does not error a body stream that is locked to a reader when its
      // signal aborts: the pending read would never settle, and the socket (and process) stays
      // alive. Cancelling the reader ends that read.
      const stop = () => void reader.cancel(ctrl.signal.reason).catch(() => {});
      if (ctrl.signal.aborted) stop();
      ctrl.signal.addEventListener('abort', stop, { once: true });
      for (;;) {
        const { done, value } = await reader.read();
        if (!live()) return void reader.cancel().catch(() => {});
        if (done) {
          this.requests.delete(op.id);
          return this.reports.httpEnd(op.id);
        }
        this.reports.httpChunk(op.id, value);
      }
    } catch (e) {
      if (live()) {
        this.requests.delete(op.id);
        this.reports.httpFailed(op.id, errorText(ctrl.signal.reason ?? e));
      }
    }
  }
}

/** @param {unknown} e */
function errorText(e) {
  if (e instanceof Error) return e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message;
  return String(e);
}
