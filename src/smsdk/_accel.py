"""Choose between the compiled modules and their pure-Python twins (msgpack's pattern).

``SMSDK_NO_EXTENSIONS=1`` selects the twins.  Otherwise the compiled module is used when it
imports; ``SMSDK_REQUIRE_EXTENSIONS=1`` (set by the test runner) turns a missing compiled
module into an ImportError instead of a quiet fallback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

_FALSY = ("", "0", "false", "no")


def extensions_disabled() -> bool:
    return os.environ.get("SMSDK_NO_EXTENSIONS", "").strip().lower() not in _FALSY


def extensions_required() -> bool:
    return os.environ.get("SMSDK_REQUIRE_EXTENSIONS", "").strip().lower() not in _FALSY


def load(compiled: str, twin: str) -> tuple[ModuleType, bool]:
    """Return ``(module, is_compiled)`` for a compiled module name and its twin's name."""
    if not extensions_disabled():
        try:
            return importlib.import_module(compiled), True
        except ImportError:
            if extensions_required():
                raise
    return importlib.import_module(twin), False
