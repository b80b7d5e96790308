"""smsdk: an SDK for China Mobile's enterprise SMS platform (企信通).

``smsdk.COMPILED`` is True when the compiled codec, text planner and Msg_Id core are in use,
False when the pure-Python twins are (``SMSDK_NO_EXTENSIONS=1``, or no compiled build available).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smsdk import codec as _codec_mod
from smsdk import msgid as _msgid_mod
from smsdk import text as _text_mod

__version__ = "0.1.0.dev0"

COMPILED: bool = _codec_mod.COMPILED and _text_mod.COMPILED and _msgid_mod.COMPILED

__all__ = ["COMPILED", "Client", "__version__"]

if TYPE_CHECKING:
    # A type checker sees the class itself (so smsdk.Client is not Any) and no module
    # __getattr__ (so a misspelt smsdk.<name> is an error).
    from smsdk.client import Client
else:

    def __getattr__(name: str) -> object:
        # Imported lazily so that ``import smsdk`` stays light and installs no Twisted
        # reactor (an asyncio program must install the asyncio reactor first).
        if name == "Client":
            from smsdk.client import Client

            return Client
        raise AttributeError(f"module 'smsdk' has no attribute {name!r}")
