// The scenario runner protocol (tests/scenarios/README.md) over the package's public
// `ChatClient` API: one module shared by the Node runner (scenario-runner.mjs) and the page the
// Chromium runner (scenario-runner-chromium.mjs) relays into, so both platforms execute the very
// same steps and differ only in their transport (`ws` in Node, the browser's own WebSocket and
// fetch in Chromium).
//
// Guarantees: commands run one at a time, in the order they arrive; every command gets exactly
// one `result` line; every envelope, receipt status and state change becomes one trace line,
// written synchronously from the listener that saw it (so lines keep the order in which the client
// delivered them); `{"line":"end"}` is written once, after `close` has ended every stream. It
// judges nothing and holds no rule: what a scenario expects is the checker's business.

/**
 * @param {{
 *   ChatClient: any,
 *   transport?: Record<string, unknown>,
 *   write: (line: Record<string, unknown>) => void,
 *   log?: (text: string) => void,
 *   onEnd?: () => void,
 * }} host
 * @returns {{ handle: (text: string) => void, done: Promise<void> }}
 */
export function createRunner({ ChatClient, transport, write, log = () => {}, onEnd = () => {} }) {
  /** @type {any} */ let client;
  let chain = Promise.resolve();
  let ended = false;
  /** @type {() => void} */ let finished = () => {};
  const done = new Promise((resolve) => { finished = () => resolve(undefined); });

  const end = () => {
    if (ended) return;
    ended = true;
    write({ line: 'end' });
    finished();
    onEnd();
  };

  /** @param {any} cmd */
  async function run(cmd) {
    const result = { line: 'result', id: cmd.id, op: cmd.op, ok: true };
    if (cmd.label !== undefined) result.label = cmd.label;
    /** @type {any} */ let receipt;
    try {
      receipt = await execute(cmd);
      if (receipt !== undefined) result.clientId = receipt.clientId;
    } catch (e) {
      result.ok = false;
      result.code = typeof e?.code === 'string' ? e.code : 'INTERNAL';
      result.message = e instanceof Error ? e.message : String(e);
    }
    write(result);
    // A receipt's status lines follow its send's result (a status before the result would name
    // a label the trace does not know yet), the current status first.
    if (receipt !== undefined) track(cmd.label, receipt);
    if (cmd.op === 'close') end();
  }

  /** @param {any} cmd @returns {Promise<any>} the receipt of a send */
  async function execute(cmd) {
    if (cmd.op === 'init') return init(cmd);
    if (!client) throw Object.assign(new Error('no init line yet'), { code: 'INVALID_INPUT' });
    switch (cmd.op) {
      case 'send': return client.send(String(cmd.text ?? ''));
      case 'sendAudio': return client.sendAudio(new Int16Array(Number(cmd.samples ?? 0)));
      case 'cancelTurn': return void client.cancelTurn();
      case 'typing': return void client.typing(Boolean(cmd.active));
      case 'reconnectNow': return void client.reconnectNow();
      case 'connect': return void client.connect();
      case 'discard': return void client.discard(String(cmd.clientId ?? ''));
      case 'close': return void (await client.close());
      default: throw Object.assign(new Error(`unknown op ${JSON.stringify(cmd.op)}`), { code: 'INVALID_INPUT' });
    }
  }

  /** Builds the client and subscribes to everything before any other command runs. @param {any} cmd */
  function init(cmd) {
    if (client) throw Object.assign(new Error('init twice'), { code: 'INVALID_INPUT' });
    const tokens = Array.isArray(cmd.tokens) ? cmd.tokens.map(String) : [];
    const options = { ...cmd.options, transport };
    if (tokens.length > 0) {
      let next = 0;
      // The provider hands out the tokens in order, the last one repeatedly.
      options.getToken = async () => tokens[Math.min(next++, tokens.length - 1)];
    }
    client = new ChatClient(options);
    write({ line: 'state', state: client.state });
    client.on('*', (/** @type {any} */ envelope) => {
      write({ line: 'envelope', envelope });
      if (envelope.event.type === 'stateChanged') write({ line: 'state', state: envelope.event.to });
    });
    return undefined;
  }

  /** Forwards every status of `receipt` as `status` lines, the current one first. */
  function track(/** @type {string} */ label, /** @type {any} */ receipt) {
    const line = (/** @type {any} */ status) => write({ line: 'status', label, clientId: receipt.clientId, status });
    line(receipt.status);
    if (!receipt.final) receipt.onStatus(line);
  }

  return {
    handle(text) {
      if (ended || !text.trim()) return;
      let cmd;
      try {
        cmd = JSON.parse(text);
      } catch (e) {
        log(`not a command: ${e instanceof Error ? e.message : String(e)}: ${text}`);
        return;
      }
      chain = chain.then(() => run(cmd));
    },
    done,
  };
}
