"""The fault proxy's endpoints on the control API (see ``faultproxy.py``).

==============================================================  ==============================
``GET /faults``                                                 the policy, counters, live
                                                                connections and their bytes
``POST /faults {connection?, delay?, delay_up?, delay_down?,``  change standing faults (of
``jitter?, rechunk?, cut_probability?, stall_probability?,``    the proxy, or of one
``stall_min?, stall_max?, cut_bytes_max?, tick?}``              connection)
``POST /faults/clear {connection?}``                            every fault off; stalls end
``POST /faults/cut {connection?, after_bytes?, direction?}``    close both sides (now, or
                                                                after N more bytes)
``POST /faults/stall {connection?, seconds, direction?}``       forward nothing for a while
``POST /faults/half-close {connection?, direction}``            FIN toward one peer
==============================================================  ==============================

``connection`` is a live connection's id (``GET /faults``); without it, every connection.
``direction``: ``"up"`` (client -> platform), ``"down"`` (platform -> client) or ``"both"``
(the default, except for half-close where it is required).
"""

from __future__ import annotations

from typing import Any

from .control import ApiError, ControlApi
from .faultproxy import FaultPolicy, FaultProxy

__all__ = ["FaultControl", "register"]

_SETTINGS = frozenset({"delay"} | set(FaultPolicy.__dataclass_fields__))


class FaultControl:
    """The handlers; :func:`register` adds them to a :class:`ControlApi`."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy

    def _connection(self, body: dict[str, Any]) -> int | None:
        conn_id = body.get("connection")
        if conn_id is None:
            return None
        if isinstance(conn_id, bool) or not isinstance(conn_id, int):
            raise ApiError(400, "connection: must be a connection id (an integer, see GET /faults)")
        try:
            self.proxy.connection(conn_id)
        except KeyError as e:
            raise ApiError(404, e.args[0]) from None
        return conn_id

    @staticmethod
    def _direction(body: dict[str, Any], default: str | None = "both") -> str:
        direction = body.get("direction", default)
        if direction is None:
            raise ApiError(400, "direction: required, one of up, down, both")
        if not isinstance(direction, str):
            raise ApiError(400, "direction: must be one of up, down, both")
        return direction

    def get(self, query: dict[str, str]) -> dict[str, Any]:
        return self.proxy.info()

    def set(self, body: dict[str, Any]) -> dict[str, Any]:
        conn_id = self._connection(body)
        changes = {k: v for k, v in body.items() if k != "connection"}
        unknown = sorted(set(changes) - _SETTINGS)
        if unknown:
            raise ApiError(400, f"unknown fault setting(s) {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(_SETTINGS))}")
        if not changes:
            raise ApiError(400, "give at least one fault setting (GET /faults shows them)")
        policy = self.proxy.set_policy(conn_id, **changes)
        return {"connection": conn_id, "policy": policy.as_dict()}

    def clear(self, body: dict[str, Any]) -> dict[str, Any]:
        conn_id = self._connection(body)
        self.proxy.clear(conn_id)
        return self.proxy.info()

    def cut(self, body: dict[str, Any]) -> dict[str, Any]:
        conn_id = self._connection(body)
        after = body.get("after_bytes")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
            raise ApiError(400, "after_bytes: must be a whole number >= 0")
        return {"cut": self.proxy.cut(conn_id, after_bytes=after, direction=self._direction(body))}

    def stall(self, body: dict[str, Any]) -> dict[str, Any]:
        conn_id = self._connection(body)
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise ApiError(400, "seconds: required, a number >= 0")
        return {"stalled": self.proxy.stall(conn_id, seconds=seconds, direction=self._direction(body))}

    def half_close(self, body: dict[str, Any]) -> dict[str, Any]:
        conn_id = self._connection(body)
        direction = self._direction(body, None)
        return {"half_closed": self.proxy.half_close(conn_id, direction=direction)}


def register(api: ControlApi, proxy: FaultProxy) -> FaultControl:
    """Add the ``/faults`` endpoints for ``proxy`` to ``api``."""
    handlers = FaultControl(proxy)
    api.add_route("GET", r"/faults", handlers.get)
    api.add_route("POST", r"/faults", handlers.set)
    api.add_route("POST", r"/faults/clear", handlers.clear)
    api.add_route("POST", r"/faults/cut", handlers.cut)
    api.add_route("POST", r"/faults/stall", handlers.stall)
    api.add_route("POST", r"/faults/half-close", handlers.half_close)
    return handlers
