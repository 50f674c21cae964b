"""The client from Python against a real ``chatwire-mock``: ``async with``, ``async for``,
receipts, typed errors, token providers, and two ``asyncio.run()`` calls in one process."""

import asyncio
import json

import pytest

import chatwire
from chatwire import ChatClient, ChatError, ConnectionState, DeliveryStatus, Event, TextUpdate


def options(dialect, url, **extra):
    # No seed: each client draws its own, so each talks in a conversation of its own.
    return json.dumps({"dialect": dialect, "baseUrl": url, **extra})


async def reply(events):
    """Assembles the reply text of one turn; returns it with the event types seen."""
    text, kinds = "", []
    async for env in events:
        kinds.append(json.loads(env.to_json())["event"]["type"])
        match env.event:
            case Event.TEXT_DELTA(update=TextUpdate.APPEND(text=delta)):
                text += delta
            case Event.TEXT_DELTA(update=TextUpdate.REPLACE(text=whole)):
                text = whole
        assert json.loads(env.to_json())["seq"] == env.seq
        if env.is_turn_terminal():
            return text, kinds
    raise AssertionError(f"the stream ended before the turn did: {kinds}")


@pytest.mark.parametrize("dialect", ["native", "chat-interfaces", "openai", "parlant"])
def test_a_turn_streams_you_said_hello(mock_url, dialect):
    async def run():
        async with ChatClient(options(dialect, mock_url)) as client:
            events = client.events()
            receipt = await client.send("hello")
            text, kinds = await asyncio.wait_for(reply(events), 20)
            assert text == "You said: hello", kinds
            assert kinds[-1] == "turnCompleted"
            assert await receipt.acked() == DeliveryStatus.ACKED()
            assert len(receipt.client_id()) == 36
            assert client.stats().sent == 1
        # `async with` shut the client down.
        assert client.state() == ConnectionState.CLOSED()
        with pytest.raises(ChatError.Closed):
            await client.send("late")

    asyncio.run(run())


def test_two_event_loops_in_one_process(mock_url):
    async def once(word):
        async with ChatClient(options("native", mock_url)) as client:
            events = client.events()
            await client.send(word)
            return (await asyncio.wait_for(reply(events), 20))[0]

    assert asyncio.run(once("one")) == "You said: one"
    assert asyncio.run(once("two")) == "You said: two"


def test_break_ends_the_subscription_and_the_client_keeps_working(mock_url):
    async def run():
        async with ChatClient(options("native", mock_url)) as client:
            first = client.events()
            await client.send("hello")
            async for env in first:
                if env.event.is_text_delta():
                    break
            first.cancel()  # what dropping the iterator does; explicit here
            with pytest.raises(StopAsyncIteration):
                await first.__anext__()
            second = client.events()
            await client.send("again")
            # `second` may still see the end of the first turn; the next one is "again".
            texts = [(await asyncio.wait_for(reply(second), 20))[0]]
            if texts[0] != "You said: again":
                texts.append((await asyncio.wait_for(reply(second), 20))[0])
            assert texts[-1] == "You said: again", texts

    asyncio.run(run())


def test_shutdown_ends_every_stream(mock_url):
    async def run():
        client = ChatClient(options("native", mock_url))
        events, states = client.events(), client.states()
        await client.send("hello")
        await client.shutdown()
        seen = [env async for env in events]  # drains, then stops
        assert all(isinstance(env, chatwire.Envelope) for env in seen)
        last = None
        async for state in states:
            last = state
        assert last == ConnectionState.CLOSED()

    asyncio.run(asyncio.wait_for(run(), 20))


@pytest.mark.parametrize(
    "text, error",
    [
        ("not json", ChatError.InvalidConfig),
        ('{"dialect":"nope","baseUrl":"http://127.0.0.1:1"}', ChatError.InvalidConfig),
        ('{"dialect":"native","baseUrl":"http://chat.example.com"}', ChatError.InvalidConfig),
    ],
)
def test_bad_options_raise_a_typed_error(text, error):
    with pytest.raises(error):
        ChatClient(text)


def test_discard_of_an_unknown_id_is_typed(mock_url):
    async def run():
        async with ChatClient(options("native", mock_url)) as client:
            with pytest.raises(ChatError.InvalidInput):
                await client.discard("not-an-id")
            with pytest.raises(ChatError.NotFound):
                await client.discard("01890a5d-ac96-774b-bcce-b302099a8057")

    asyncio.run(run())


class Tokens(chatwire.TokenProvider):
    def __init__(self, token):
        self.token_value, self.calls = token, 0

    async def token(self):
        self.calls += 1
        if self.token_value is None:
            await asyncio.sleep(3600)  # never answers
        return self.token_value


def test_a_python_token_provider_authenticates(token_mock_url):
    async def run():
        provider = Tokens("t-1")
        client = chatwire.with_token_provider(options("native", token_mock_url), provider, 5000)
        async with client:
            events = client.events()
            await client.send("hello")
            assert (await asyncio.wait_for(reply(events), 20))[0] == "You said: hello"
        assert provider.calls == 1

    asyncio.run(run())


def test_a_token_provider_that_never_answers_is_timed_out(token_mock_url):
    async def run():
        provider = Tokens(None)
        fast = {"baseMs": 10, "capMs": 20, "networkMinMs": 10}
        text = options("native", token_mock_url, backoff=fast)
        client = chatwire.with_token_provider(text, provider, 50)
        await client.send("hello")
        for _ in range(500):
            if provider.calls >= 2:
                break
            await asyncio.sleep(0.02)
        assert provider.calls >= 2, "the first call was abandoned and the provider asked again"
        await asyncio.wait_for(client.shutdown(), 5)

    asyncio.run(run())


def test_a_thousand_clients_leave_threads_and_memory_flat(mock_url):
    import os

    def threads():
        return len(os.listdir("/proc/self/task"))

    def rss_kib():
        with open("/proc/self/status") as status:
            line = next(l for l in status if l.startswith("VmRSS"))
        return int(line.split()[1])

    async def one_client():
        async with ChatClient(options("native", mock_url)) as client:
            events = client.events()
            await client.send("hi")
            async for env in events:
                if env.is_turn_terminal():
                    break

    async def run(n):
        for _ in range(n):
            await asyncio.wait_for(one_client(), 20)

    asyncio.run(run(10))  # the library's runtime starts
    before, rss_before = threads(), rss_kib()
    asyncio.run(run(1000))
    after, rss_after = threads(), rss_kib()
    print(f"1000 clients, one turn each: threads {before} -> {after}, RSS {rss_before} -> {rss_after} KiB")
    # Each client's tasks run on the library's two shared threads: none is left per client.
    assert after == before
    # Nothing kept per client: 32 KiB left behind by each would show as 31 MiB.
    assert rss_after - rss_before < 32 * 1024, f"RSS grew by {rss_after - rss_before} KiB"
