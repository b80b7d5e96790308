"""Pure-Python msgId arithmetic core (twin of _msgid.pxi, re-exported by _split_py)."""
MSGID_API: list[str] = []
__all__ = ["MSGID_API"]
