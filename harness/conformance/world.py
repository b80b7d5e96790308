"""In-process worlds for the properties: a fresh Platform on a simulated clock (model
checks), optionally with its EMPP server and smsdk.Clients joined in memory by iosim (SDK
checks).  Everything runs on one SimulatedClock; nothing touches a socket or the global
reactor."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from smsdk.testing import MemoryEndpoint, flush_all, run_clock
from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.empp_server import EmppServer
from smsdk_harness.fake_smsc.simclock import ReactorClock, SimulatedClock

MAIN = "10657109000001"
SUB = MAIN + "01"
EXT = "88"  # hand-registered extension of the main account
MAIN_PW = "main-pw"
SUB_PW = "sub-pw"
SIG = "【示例科技】"
EPOCH = "2024-05-01T08:00:00+08:00"
START = 1_000.0


def config_text(*, signature: str = SIG, platform: str = "", enterprise: str = "",
                delay: tuple[float, float] = (1.0, 1.0)) -> str:
    return f"""
[platform]
epoch = "{EPOCH}"
{platform}

[network]
delay_min = {delay[0]}
delay_max = {delay[1]}

[[enterprise]]
id = "E1"
service_code = "{MAIN}"
signature = "{signature}"
package = "standard"
extensions = ["{EXT}"]
{enterprise}

[[enterprise.accounts]]
extension = ""
password = "{MAIN_PW}"

[[enterprise.accounts]]
extension = "01"
password = "{SUB_PW}"
"""


class Sink:
    """A model session sink that records what it receives."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.kicks = 0

    def deliver(self, item: Any) -> None:
        self.items.append(item)

    def kicked(self) -> None:
        self.kicks += 1

    @property
    def reports(self) -> list[Any]:
        return [i for i in self.items if i.kind == "report"]

    @property
    def mos(self) -> list[Any]:
        return [i for i in self.items if i.kind == "mo"]


class Model:
    """A fresh platform model on its own simulated clock."""

    def __init__(self, **config: Any) -> None:
        self.clock = SimulatedClock(START)
        self.platform = Platform(load_config(config_text(**config)), ReactorClock(self.clock))

    def settle(self, seconds: float = 5.0) -> None:
        self.clock.advance(0)
        self.clock.advance(seconds)

    def advance_to(self, t: float) -> None:
        self.clock.advance_to(t)

    def close(self) -> None:
        self.platform.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class World(Model):
    """The model plus its EMPP server, with smsdk.Clients joined in memory."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.server = EmppServer(self.platform, clock=self.clock)
        self.endpoints: list[MemoryEndpoint] = []
        self.clients: list[Any] = []

    def client(self, account: str = MAIN, password: str = MAIN_PW, *, signature: str = SIG,
               rate: float = 100.0, group_send_limit: int = 5, **kw: Any) -> Any:
        from smsdk.client import Client
        from smsdk.china_time import CHINA
        from smsdk.dispatch import DispatchSettings

        endpoint = MemoryEndpoint(self.server.build_protocol, self.clock)
        self.endpoints.append(endpoint)
        kw.setdefault("dispatch_settings",
                      DispatchSettings(rate=rate, group_send_limit=group_send_limit))
        kw.setdefault("wallclock", lambda: datetime(2024, 5, 1, 8, 0, 0, tzinfo=CHINA))
        c = Client(endpoint=endpoint, reactor=self.clock, account=account, password=password,
                   signature=signature, **kw)
        self.clients.append(c)
        return c

    def started(self, *args: Any, **kw: Any) -> Any:
        c = self.client(*args, **kw)
        d = c.start()
        self.run()
        if not (d.called and c.bound):
            raise AssertionError("the SDK client did not log in to the in-process fake")
        return c

    def flush(self) -> None:
        flush_all(self.clock, self.endpoints)

    def run(self, seconds: float = 0.0, step: float = 0.25) -> None:
        run_clock(self.clock, self.endpoints, seconds, step)

    def run_until(self, predicate: Any, limit: float = 600.0, step: float = 0.25,
                  coarse_after: float = 120.0, coarse_step: float = 20.0) -> bool:
        """Advance until ``predicate()``; fine steps first, then ``coarse_step`` ones (so a
        48-hour expiry is reached in a few thousand steps; the SDK's heartbeat is 30 s)."""
        elapsed = 0.0
        self.flush()
        while not predicate():
            if elapsed >= limit:
                return False
            dt = step if elapsed < coarse_after else coarse_step
            self.clock.advance(dt)
            elapsed += dt
            self.flush()
        return True

    def close(self) -> None:
        for c in self.clients:
            try:
                c.stop()
            except Exception:  # noqa: BLE001 - teardown only
                pass
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            pass
        super().close()
