"""chatwire for Python: the uniffi bindings of the chatwire Rust SDK, with asyncio helpers.

The implementation lives in the generated module ``chatwire_ffi`` (written beside this file by
``uniffi-bindgen`` together with ``libchatwire_ffi.so``; see scripts/test-ffi). This package
re-exports its public names so callers write ``import chatwire``, and ``_aio`` adds
``async for env in client.events()`` and ``async with ChatClient(options_json) as client``.

    async with chatwire.ChatClient('{"dialect":"native","baseUrl":"http://127.0.0.1:8080"}') as c:
        events = c.events()
        await c.send("hello")
        async for env in events:
            print(env.text or "", end="")
            if env.is_turn_terminal:
                break
"""

from .chatwire_ffi import *  # noqa: F401,F403  (the generated module defines __all__)
from .chatwire_ffi import __all__ as _ffi_all
from ._aio import EventStream, StateStream, with_token_provider

__all__ = list(_ffi_all) + ["EventStream", "StateStream", "with_token_provider"]
