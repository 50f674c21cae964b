"""The Python runner of the scenario protocol (tests/scenarios/README.md), on asyncio.

It reads one command a line on stdin, executes it through the public API of the ``chatwire``
package (``ChatClient``, ``with_token_provider``, ``subscribe``/``watch_state`` and
``Receipt.statuses``, all pulled), and writes one trace line on stdout for every envelope,
receipt status change, state change and command result. It judges nothing: the orchestrator
does (``chatwire-scenario run --runner "python3 bindings/python/scenario_runner.py"``).

Guarantees: events, states and statuses are subscribed before the ``init`` result is written,
so nothing is missed; each envelope is written as the binding hands it over (the typed ``Envelope`` record written back as the core's canonical JSON by its ``to_json()``, so the trace also shows the record crosses both ways losslessly);
after ``close`` the ``end`` line comes once every event, status and state stream has ended.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import chatwire  # noqa: E402  (the package beside this file)


def main() -> None:
    asyncio.run(Runner().run())


class Runner:
    def __init__(self) -> None:
        self.client: chatwire.ChatClient | None = None
        self.tasks: list[asyncio.Task] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            try:
                cmd = json.loads(line)
            except ValueError as e:
                print(f"not a command: {e}: {line!r}", file=sys.stderr)
                continue
            op = str(cmd.get("op", ""))
            result = {"line": "result", "id": cmd.get("id"), "op": op}
            if "label" in cmd:
                result["label"] = cmd["label"]
            try:
                client_id = await self.execute(op, cmd)
                result["ok"] = True
                if client_id is not None:
                    result["clientId"] = client_id
            except Failure as e:
                result.update(ok=False, code=e.code, message=e.message)
            except chatwire.ChatError as e:
                result.update(ok=False, code=error_code(e), message=str(e))
            write(result)
            if op == "close":
                break
        if self.client is not None:
            await self.client.shutdown()
        # Every stream ends once the client is closed: events and statuses end, the state
        # subscription returns `closed` last.
        await asyncio.gather(*self.tasks)
        write({"line": "end"})

    async def execute(self, op: str, cmd: dict) -> str | None:
        if op == "init":
            self.init(cmd)
            return None
        client = self.client
        if client is None:
            raise Failure("INVALID_INPUT", "no init line yet")
        if op in ("send", "sendAudio"):
            if op == "send":
                receipt = await client.send(str(cmd.get("text", "")))
            else:
                receipt = await client.send_audio([0] * int(cmd.get("samples", 0)))
            client_id = receipt.client_id()
            # Subscribed before the result line, so the first status (`queued`) is seen too.
            self.spawn(forward_statuses(receipt.statuses(), str(cmd.get("label", "")), client_id))
            return client_id
        if op == "cancelTurn":
            await client.cancel_turn()
        elif op == "typing":
            await client.typing(bool(cmd.get("active", False)))
        elif op == "reconnectNow":
            await client.reconnect_now()
        elif op == "connect":
            await client.connect()
        elif op == "discard":
            await client.discard(str(cmd.get("clientId", "")))
        elif op == "close":
            await client.shutdown()
        else:
            raise Failure("INVALID_INPUT", f"unknown op {op!r}")
        return None

    def init(self, cmd: dict) -> None:
        options = json.dumps(cmd.get("options", {}))
        tokens = [str(t) for t in cmd.get("tokens") or []]
        if tokens:
            client = chatwire.with_token_provider(options, Tokens(tokens))
        else:
            client = chatwire.ChatClient(options)
        # Subscribed before any command runs, so nothing is missed.
        self.spawn(forward_events(client.subscribe()))
        states = client.watch_state()
        write({"line": "state", "state": json.loads(client.state().to_json())})
        self.spawn(forward_states(states))
        self.client = client

    def spawn(self, coroutine) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coroutine))


class Failure(Exception):
    """A command refused by the runner itself (no client yet, unknown op)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class Tokens(chatwire.TokenProvider):
    """Hands out the ``init`` line's tokens in order, the last one repeatedly."""

    def __init__(self, tokens: list[str]):
        self.tokens, self.next = tokens, 0

    async def token(self) -> str:
        token = self.tokens[min(self.next, len(self.tokens) - 1)]
        self.next += 1
        return token


async def forward_events(subscription: chatwire.EventSubscription) -> None:
    while (envelope := await subscription.next()) is not None:
        write({"line": "envelope", "envelope": json.loads(envelope.to_json())})


async def forward_states(subscription: chatwire.StateSubscription) -> None:
    while (state := await subscription.next()) is not None:
        write({"line": "state", "state": json.loads(state.to_json())})


async def forward_statuses(subscription, label: str, client_id: str) -> None:
    while (status := await subscription.next()) is not None:
        write({"line": "status", "label": label, "clientId": client_id, "status": json.loads(status.to_json())})


def error_code(error: Exception) -> str:
    """``ChatError.QueueFull`` -> ``QUEUE_FULL`` (the stable ``ErrorCode`` name)."""
    name = type(error).__name__.rsplit(".", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def write(line: dict) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
