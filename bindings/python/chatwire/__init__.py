"""chatwire for Python: the uniffi bindings of the chatwire Rust SDK, with asyncio helpers.

The implementation lives in two generated modules written beside this file by
``uniffi-bindgen`` together with ``libchatwire_ffi.so`` (see scripts/test-ffi): ``chatwire_ffi``
(the client) and ``chatwire_core`` (the event model: ``Envelope``, ``Event``, ``TextUpdate``,
``ConnectionState``, ``DeliveryStatus``, ..., generated from the Rust core's own types). This
package re-exports the public names of both so callers write ``import chatwire``, and ``_aio``
adds ``async for env in client.events()`` and ``async with ChatClient(options_json) as client``.

    from chatwire import ChatClient, Event, TextUpdate

    async with ChatClient('{"dialect":"native","baseUrl":"http://127.0.0.1:8080"}') as c:
        events = c.events()
        await c.send("hello")
        async for env in events:
            match env.event:
                case Event.TEXT_DELTA(update=TextUpdate.APPEND(text=text)):
                    print(text, end="")
                case Event.TOOL_STARTED(name=name):
                    print(f"[calling {name}]")
            if env.is_turn_terminal():
                break

``env.to_json()`` gives the envelope as the core's canonical JSON (``sdk-core/EVENTS.md``).
"""

from .chatwire_core import *  # noqa: F401,F403  (the generated modules define __all__)
from .chatwire_core import __all__ as _core_all
from .chatwire_ffi import *  # noqa: F401,F403
from .chatwire_ffi import __all__ as _ffi_all
from ._aio import EventStream, StateStream, with_token_provider

# Both generated modules define an `InternalError` (a failure inside the library): the client's
# wins at the package root; the event model's is `chatwire.chatwire_core.InternalError`.
__all__ = list(dict.fromkeys([*_core_all, *_ffi_all, "EventStream", "StateStream", "with_token_provider"]))
