"""Pushed events (``ChatClient.listen`` with an ``EventListener``) and the subscriber count
that shows a ``break`` out of ``async for`` leaves no subscription behind."""

import asyncio
import gc
import json
import threading

import chatwire
from chatwire import ChatClient, Event


def options(url):
    return json.dumps({"dialect": "native", "baseUrl": url})


class Collect(chatwire.EventListener):
    """Records every envelope pushed to it; ``ended`` is set by ``on_end``."""

    def __init__(self):
        self.envelopes, self.threads = [], set()
        self.turn_done, self.ended = threading.Event(), threading.Event()

    def on_event(self, envelope):
        self.threads.add(threading.current_thread().ident)
        self.envelopes.append(envelope)
        if envelope.event.is_turn_completed():
            self.turn_done.set()

    def on_end(self):
        self.ended.set()


def test_a_listener_receives_the_turn_in_order_then_the_end(mock_url):
    async def run():
        client = ChatClient(options(mock_url))
        listener = Collect()
        handle = client.listen(listener)
        assert client.subscriber_count() == 1
        await client.send("hello")
        assert await asyncio.to_thread(listener.turn_done.wait, 20)
        await client.shutdown()
        assert await asyncio.to_thread(listener.ended.wait, 20)
        seqs = [env.seq for env in listener.envelopes]
        assert seqs == list(range(1, len(seqs) + 1))
        text = "".join(e.text() or "" for e in listener.envelopes if e.event.is_text_delta())
        assert text == "You said: hello"
        assert threading.main_thread().ident not in listener.threads
        assert handle.is_finished()
        assert client.subscriber_count() == 0

    asyncio.run(run())


def test_dropping_the_handle_cancels_the_listener(mock_url):
    async def run():
        async with ChatClient(options(mock_url)) as client:
            listener = Collect()
            handle = client.listen(listener)
            assert client.subscriber_count() == 1
            del handle
            gc.collect()
            # The listener thread lets go of its subscription as soon as it sees the cancel.
            for _ in range(200):
                if client.subscriber_count() == 0:
                    break
                await asyncio.sleep(0.01)
            assert client.subscriber_count() == 0
            await client.send("hello")
            events = client.events()
            async for env in events:
                if env.is_turn_terminal():
                    break
            assert listener.envelopes == []
            assert not listener.ended.is_set()

    asyncio.run(run())


def test_break_out_of_async_for_releases_the_subscription(mock_url):
    async def run():
        async with ChatClient(options(mock_url)) as client:
            assert client.subscriber_count() == 0
            await client.send("hello")
            async for env in client.events():
                assert client.subscriber_count() == 1
                if isinstance(env.event, Event.TEXT_DELTA):
                    break  # mid-turn
            gc.collect()
            assert client.subscriber_count() == 0

    asyncio.run(run())
