"""chatwire for Python: the uniffi bindings of the chatwire Rust SDK.

The implementation lives in the generated module ``chatwire_ffi`` (written beside this file by
``uniffi-bindgen`` together with ``libchatwire_ffi.so``; see scripts/test-ffi). This package
re-exports its public names so callers write ``import chatwire``.
"""

from .chatwire_ffi import *  # noqa: F401,F403  (the generated module defines __all__)
from .chatwire_ffi import __all__  # noqa: F401
