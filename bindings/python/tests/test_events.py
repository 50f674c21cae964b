"""Typed events from Python: the ``Envelope`` record and the ``Event`` enum generated from the
Rust core's types, matched with ``match``; JSON-valued fields as their JSON text; the canonical
JSON of an envelope; and a value that is not JSON refused with an error instead of dropped."""

import asyncio
import json

import pytest

import chatwire
from chatwire import (
    ChatClient,
    ConnectionState,
    DeliveryStatus,
    Envelope,
    Event,
    TextChannel,
    TextUpdate,
)


def options(url):
    return json.dumps({"dialect": "native", "baseUrl": url})


async def one_turn(client, message):
    events = client.events()
    receipt = await client.send(message)
    seen = []
    async for env in events:
        seen.append(env)
        if env.is_turn_terminal():
            break
    return receipt, seen


def test_a_tool_turn_arrives_as_typed_events(mock_url):
    async def run():
        async with ChatClient(options(mock_url)) as client:
            receipt, seen = await asyncio.wait_for(one_turn(client, "/tool paris"), 20)
            tool, text, statuses, states = None, "", [], []
            for env in seen:
                match env.event:
                    case Event.TOOL_STARTED(tool_id=tool_id, name=name, args=args):
                        tool = (tool_id, name, json.loads(args) if args else None)
                    case Event.TOOL_COMPLETED(tool_id=done_id, output=output):
                        assert done_id == tool[0]
                        assert json.loads(output) is not None
                    case Event.TEXT_DELTA(channel=TextChannel.TEXT, update=TextUpdate.APPEND(text=t)):
                        text += t
                    case Event.MESSAGE_STATUS(client_id=client_id, status=status):
                        assert client_id == receipt.client_id()
                        statuses.append(status)
                    case Event.STATE_CHANGED(to=to):
                        states.append(to)
                # Every typed envelope is the same envelope as its canonical JSON.
                assert Envelope is type(env)
                assert json.loads(env.to_json())["seq"] == env.seq
            assert tool is not None and tool[1] == "lookup"
            assert tool[2] == {"query": "paris"}
            assert text == "You said: /tool paris"
            assert DeliveryStatus.ACKED() in statuses
            assert ConnectionState.READY() in states
            assert seen[-1].event.is_turn_completed()

    asyncio.run(run())


def test_an_envelope_built_in_python_has_the_cores_json():
    delta = Event.TEXT_DELTA(
        channel=TextChannel.REASONING, update=TextUpdate.REPLACE(text="so far")
    )
    env = Envelope(
        seq=9,
        cursor=None,
        conversation_id="c-1",
        turn_id="t-1",
        message_id=None,
        part_id=None,
        timestamp_ms=5,
        event=delta,
        raw='{"wire": [1, 2]}',
    )
    assert json.loads(env.to_json()) == {
        "seq": 9,
        "conversationId": "c-1",
        "turnId": "t-1",
        "timestampMs": 5,
        "event": {
            "type": "textDelta",
            "channel": "reasoning",
            "update": {"kind": "replace", "text": "so far"},
        },
        "raw": {"wire": [1, 2]},
    }
    assert env.text() == "so far"
    assert not env.is_turn_terminal()
    assert Envelope(**{**vars(env), "event": Event.TURN_CANCELLED()}).is_turn_terminal()


def test_a_json_field_that_is_not_json_is_refused():
    env = Envelope(
        seq=1,
        cursor=None,
        conversation_id=None,
        turn_id=None,
        message_id=None,
        part_id=None,
        timestamp_ms=0,
        event=Event.DATA(name="data-x", id=None, data="{not json"),
        raw=None,
    )
    with pytest.raises(chatwire.chatwire_core.InternalError, match="serde_json"):
        env.to_json()


def test_the_package_exports_the_event_model():
    for name in ("Envelope", "Event", "TextUpdate", "ConnectionState", "DeliveryStatus"):
        assert name in chatwire.__all__, name
