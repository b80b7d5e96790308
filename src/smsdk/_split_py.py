"""Pure-Python text planner and msgId arithmetic (twin of _split.pyx)."""
from smsdk._msgid_py import *  # noqa: F403
TEXT_API: list[str] = []
