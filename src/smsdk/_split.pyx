# cython: language_level=3
"""Compiled text planner and msgId arithmetic."""
TEXT_API = []
include "_msgid.pxi"
