"""Pure-Python PDU codec (stub until implemented)."""
__all__: list[str] = []
