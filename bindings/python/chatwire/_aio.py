"""asyncio helpers over the generated pull API: ``async for`` over events and states, and
``async with`` clients.

They add nothing but iteration and scoping: ``EventStream.__anext__`` awaits
``EventSubscription.next()`` and stops at ``None`` (client closed or subscription cancelled);
leaving an ``async for`` with ``break`` drops the iterator, whose subscription is cancelled and
freed at once (CPython reference counting), so no subscriber is left behind on the Rust side.
"""

from __future__ import annotations

import asyncio
import typing

from . import chatwire_core as _core
from . import chatwire_ffi as _ffi


class EventStream:
    """Events of one client from the moment it was created, as an async iterator.

    ``client.events()`` subscribes immediately, so create the stream before ``send``.
    """

    def __init__(self, subscription: _ffi.EventSubscription):
        self._subscription: typing.Optional[_ffi.EventSubscription] = subscription

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> _core.Envelope:
        if self._subscription is None:
            raise StopAsyncIteration
        envelope = await self._subscription.next()
        if envelope is None:
            self.cancel()
            raise StopAsyncIteration
        return envelope

    def cancel(self) -> None:
        """Ends the stream and releases its subscription. Idempotent."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.cancel()

    async def aclose(self) -> None:
        self.cancel()

    async def __aenter__(self) -> "EventStream":
        return self

    async def __aexit__(self, *exc) -> None:
        self.cancel()

    def __del__(self) -> None:
        self.cancel()


class StateStream:
    """Connection-state changes of one client, as an async iterator."""

    def __init__(self, subscription: _ffi.StateSubscription):
        self._subscription: typing.Optional[_ffi.StateSubscription] = subscription

    def __aiter__(self) -> "StateStream":
        return self

    async def __anext__(self) -> _core.ConnectionState:
        if self._subscription is None:
            raise StopAsyncIteration
        state = await self._subscription.next()
        if state is None:
            self.cancel()
            raise StopAsyncIteration
        return state

    def cancel(self) -> None:
        """Ends the stream. Idempotent."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.cancel()

    def __del__(self) -> None:
        self.cancel()


def _events(self: _ffi.ChatClient) -> EventStream:
    """Every event from now on (``async for env in client.events()``)."""
    return EventStream(self.subscribe())


def _states(self: _ffi.ChatClient) -> StateStream:
    """Connection-state changes from now on (``async for state in client.states()``)."""
    return StateStream(self.watch_state())


async def _aenter(self: _ffi.ChatClient) -> _ffi.ChatClient:
    return self


async def _aexit(self: _ffi.ChatClient, *exc) -> None:
    await self.shutdown()


def with_token_provider(
    options_json: str, provider: _ffi.TokenProvider, timeout_ms: int = 0
) -> _ffi.ChatClient:
    """A client asking ``provider`` (an object with ``async def token(self) -> str``) for bearer
    tokens. Call it from a running event loop: the provider's coroutines run on that loop, and a
    call that has not answered after ``timeout_ms`` (0: 10 s) fails like a provider error.

    The timeout is enforced here first (the coroutine is cancelled on its own loop) and again in
    Rust one second later, as a backstop for a loop that stopped running.
    """
    global _provider_loop
    _provider_loop = _ThreadSafeLoop(asyncio.get_running_loop())
    timeout_ms = timeout_ms or 10_000
    bounded = _BoundedProvider(provider, timeout_ms / 1000)
    return _ffi.ChatClient.with_token_provider(options_json, bounded, timeout_ms + 1000)


class _BoundedProvider(_ffi.TokenProvider):
    def __init__(self, provider: _ffi.TokenProvider, timeout_s: float):
        self._provider, self._timeout_s = provider, timeout_s

    async def token(self) -> str:
        try:
            return await asyncio.wait_for(self._provider.token(), self._timeout_s)
        except asyncio.TimeoutError:
            raise _ffi.TokenError.Failed(  # type: ignore[attr-defined]
                f"the token provider did not answer within {self._timeout_s * 1000:.0f} ms"
            ) from None


class _ThreadSafeLoop:
    """The provider's event loop as the generated foreign-future code sees it from Rust threads.

    The generated code schedules with ``call_soon`` from the Rust thread that drops a pending
    call, which asyncio allows only on the loop's own thread; here every scheduling call is
    thread-safe, and one aimed at a loop that has closed is dropped (the Rust-side timeout then
    settles the call).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop

    def call_soon_threadsafe(self, callback, *args, **kwargs):
        try:
            return self._loop.call_soon_threadsafe(callback, *args, **kwargs)
        except RuntimeError:  # the loop is closed
            return None

    call_soon = call_soon_threadsafe

    def __getattr__(self, name):
        return getattr(self._loop, name)


_provider_loop: typing.Optional[_ThreadSafeLoop] = None


def _get_event_loop():
    """The running loop of the calling thread; on a Rust thread, the token provider's loop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        if _provider_loop is None:
            raise
        return _provider_loop


# Rust futures awaited from Python always use the caller's running loop, and foreign calls made
# from Rust threads use the provider's loop (the generated default would pin one global loop
# for both, breaking a second `asyncio.run()`).
_ffi._uniffi_get_event_loop = _get_event_loop


# The generated class gains the iteration and scoping helpers; it stays the one client type.
_ffi.ChatClient.events = _events  # type: ignore[attr-defined]
_ffi.ChatClient.states = _states  # type: ignore[attr-defined]
_ffi.ChatClient.__aenter__ = _aenter  # type: ignore[attr-defined]
_ffi.ChatClient.__aexit__ = _aexit  # type: ignore[attr-defined]
