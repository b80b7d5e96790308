"""Limits of the EMPP front end against hostile or broken peers (docs/fake-smsc.md, "Limits").

* :class:`ConnectionLimits`: open connections in total and per peer address.
* :class:`LoginThrottle`: failed logins (status 3) counted in a sliding window per
  (account, address) and per address.  Once a key is over its limit, further CONNECTs
  under it are answered 3 without looking at the password, until its failures age out.

  Why not per account alone: anyone who knows an account id could then lock its real
  user out by failing on purpose.  Keyed by (account, address) and by address, an
  attacker only throttles himself; the real user, from another address, logs in as usual.

Both are plain bookkeeping on times passed in by the caller (the server's clock).
"""

from __future__ import annotations

import collections
from collections.abc import Hashable

__all__ = ["ConnectionLimits", "LoginThrottle"]


class ConnectionLimits:
    """``admit(address)`` says whether one more connection from ``address`` may open (and
    counts it when it may); ``release(address)`` when an admitted one closes."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total = total
        self.per_address = per_address
        self.open = 0
        self._by_address: dict[str, int] = {}

    def refusal(self, address: str) -> str | None:
        """Why a new connection from ``address`` would be refused now (None: it would not)."""
        if self.open >= self.total:
            return f"{self.open} connections open, the most allowed (empp.max_connections)"
        n = self._by_address.get(address, 0)
        if n >= self.per_address:
            return (f"{n} connections open from {address}, the most allowed per address "
                    "(empp.max_connections_per_address)")
        return None

    def admit(self, address: str) -> str | None:
        """Count a new connection, or return why it is refused (and count nothing)."""
        why = self.refusal(address)
        if why is None:
            self.open += 1
            self._by_address[address] = self._by_address.get(address, 0) + 1
        return why

    def release(self, address: str) -> None:
        n = self._by_address.get(address, 0) - 1
        if n > 0:
            self._by_address[address] = n
        else:
            self._by_address.pop(address, None)
        self.open = max(0, self.open - 1)

    def from_address(self, address: str) -> int:
        return self._by_address.get(address, 0)


class _Window:
    """Failure times per key in a sliding window, keys kept in order of their last failure
    (so that keys whose failures have all aged out are dropped from the front)."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._keys: collections.OrderedDict[Hashable, collections.deque[float]] = collections.OrderedDict()

    def _forget_old(self, now: float) -> None:
        horizon = now - self.window
        keys = self._keys
        while keys:
            key, times = next(iter(keys.items()))
            if times[-1] > horizon and len(keys) <= self.max_keys:
                break
            del keys[key]

    def count(self, key: Hashable, now: float) -> int:
        times = self._keys.get(key)
        if times is None:
            return 0
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._keys[key]
            return 0
        return len(times)

    def over(self, key: Hashable, now: float) -> bool:
        return self.count(key, now) >= self.limit

    def add(self, key: Hashable, now: float) -> None:
        times = self._keys.get(key)
        if times is None:
            times = self._keys[key] = collections.deque(maxlen=self.limit)
        else:
            self._keys.move_to_end(key)
        times.append(now)
        self._forget_old(now)

    def __len__(self) -> int:
        return len(self._keys)


class LoginThrottle:
    """Failed logins per (account, address) and per address within ``window`` seconds.

    ``refusal(account, address, now)``: why a CONNECT must be refused without checking its
    password (None: check it).  ``failed(account, address, now)``: count a failure.
    ``max_keys`` bounds the memory an attacker cycling through account ids can take."""

    def __init__(self, per_account_address: int, per_address: int, window: float,
                 max_keys: int = 100_000) -> None:
        self.window = window
        self._pair = _Window(per_account_address, window, max_keys)
        self._address = _Window(per_address, window, max_keys)

    @property
    def enabled(self) -> bool:
        return self.window > 0

    def refusal(self, account: str, address: str, now: float) -> str | None:
        if not self.enabled:
            return None
        if self._address.over(address, now):
            return (f"{self._address.limit} failed logins from {address} within "
                    f"{self.window:g} s (empp.login_max_failures_per_address)")
        if self._pair.over((account, address), now):
            return (f"{self._pair.limit} failed logins of {account} from {address} within "
                    f"{self.window:g} s (empp.login_max_failures)")
        return None

    def failed(self, account: str, address: str, now: float) -> None:
        if not self.enabled:
            return
        self._pair.add((account, address), now)
        self._address.add(address, now)

    def sizes(self) -> dict[str, int]:
        return {"account_address_keys": len(self._pair), "address_keys": len(self._address)}
