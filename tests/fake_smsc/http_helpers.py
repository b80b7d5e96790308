"""Helpers for the HTTP interface tests: a platform with its HTTP front end on a task.Clock,
credentials (auth + timestamp), and treq's in-memory client for the twisted.web layer."""

from __future__ import annotations

import hashlib
from typing import Any

from twisted.internet.task import Clock

from fake_smsc_helpers import MAIN, MAIN_PW, SUB, SUB_PW, config_text
from smsdk_harness.fake_smsc import Platform, load_config
from smsdk_harness.fake_smsc.http_server import HttpFrontEnd
from smsdk_harness.fake_smsc.push import PushSender
from smsdk_harness.fake_smsc.simclock import ReactorClock

__all__ = ["MAIN", "MAIN_PW", "SUB", "SUB_PW", "World", "md5", "result_of"]


def md5(*parts: str) -> str:
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest()


def result_of(d: Any) -> Any:
    """The result of a Deferred that has already fired (raises its failure)."""
    box: list[Any] = []
    d.addBoth(box.append)
    assert box, "the Deferred has not fired"
    from twisted.python.failure import Failure

    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


class World:
    """A platform, its HTTP front end and (optionally) a PUSH sender, on one task.Clock."""

    def __init__(self, agent: Any = None, enterprise_id: str = "E1", **sections: str) -> None:
        self.clock = Clock()
        text = config_text(**sections).replace('id = "E1"', f'id = "{enterprise_id}"')
        self.platform = Platform(load_config(text), ReactorClock(self.clock))
        self.push = PushSender(self.clock, agent=agent) if agent is not None else None
        self.http = HttpFrontEnd(self.platform, push=self.push)

    def close(self) -> None:
        if self.push is not None:
            self.push.close()
        self.http.close()
        self.platform.close()

    def stamp(self, minutes: float = 0) -> str:
        """yyyyMMddHHmm of the platform clock, ``minutes`` off."""
        import datetime as dt

        return (self.platform.china_now() + dt.timedelta(minutes=minutes)).strftime("%Y%m%d%H%M")

    def creds(self, eid: str = MAIN, password: str = MAIN_PW, minutes: float = 0) -> dict[str, str]:
        ts = self.stamp(minutes)
        return {"auth": md5(eid, password, ts), "timestamp": ts}

    def send(self, msg: Any = "hello", mobs: Any = "13800138000", *, accountid: str = "",
             enterpriseid: str = "E1", password: str = MAIN_PW, **more: Any) -> Any:
        params = {"enterpriseid": enterpriseid, "accountid": accountid, "mobs": mobs, "msg": msg,
                  **self.creds(enterpriseid, password)}
        params.update(more)
        return self.http.handle("/httpserver", {k: v for k, v in params.items() if v is not None})

    def poll(self, path: str, eid: str = MAIN, password: str = MAIN_PW, **params: Any) -> Any:
        return self.http.handle(path, {"eid": eid, **self.creds(eid, password), **params})

    def settle(self, seconds: float = 5.0) -> None:
        """Run what is due now, then ``seconds`` on (reports arrive after 1 s)."""
        self.clock.advance(0)
        for _ in range(int(seconds)):
            self.clock.advance(1)
