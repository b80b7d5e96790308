"""Small Deferred helpers shared by the EMPP and HTTP clients."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer


def follow(d: defer.Deferred[Any]) -> defer.Deferred[None]:
    """A new Deferred that fires with None when ``d`` does (``d`` keeps its own result).

    Each caller of ``stop()`` gets its own Deferred, so one caller's callbacks cannot change
    what another sees.
    """
    out: defer.Deferred[None] = defer.Deferred()

    def fire(result: Any) -> Any:
        out.callback(None)
        return result

    d.addBoth(fire)
    return out
