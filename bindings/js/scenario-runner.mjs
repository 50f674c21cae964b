#!/usr/bin/env node
// The Node runner of the scenario corpus: `chatwire-scenario run --runner "node
// bindings/js/scenario-runner.mjs"`. Reads the runner protocol's commands on stdin, executes
// them through the package's public `ChatClient` (with the `ws` package as its WebSocket, as a
// Node 20 app would) and writes trace lines on stdout; logs go to stderr. The protocol itself
// lives in runner/protocol.mjs, shared with the Chromium runner.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { ChatClient } from './src/index.js';
import { createRunner } from './runner/protocol.mjs';

const runner = createRunner({
  ChatClient,
  transport: { WebSocket },
  write: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
  log: (text) => process.stderr.write(`${text}\n`),
  // Every line is out once stdout drains; then nothing keeps the process alive but stdin.
  onEnd: () => process.stdout.write('', () => process.exit(0)),
});
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => runner.handle(line));
// The orchestrator gone (stdin closed) before `end`: nothing more will come.
lines.on('close', () => setTimeout(() => process.exit(1), 2000).unref());
