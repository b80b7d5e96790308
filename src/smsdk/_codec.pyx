# cython: language_level=3
"""Compiled PDU codec (stub until implemented)."""
__all__ = []
