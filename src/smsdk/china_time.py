"""China time: the platform's one time zone.

The 企信通 platform reads and writes times in China Standard Time, UTC+8 with no daylight
saving: CONNECT's Timestamp, At_Time and ValId_Time, CMPP Msg_Id's time fields, report
times.  :data:`CHINA` is that zone, for the SDK and the fake platform alike::

    from datetime import datetime
    from smsdk.china_time import CHINA

    datetime.now(CHINA)
"""

from __future__ import annotations

from datetime import timedelta, timezone

__all__ = ["CHINA"]

#: UTC+8, named "CST" (China Standard Time; no daylight saving).
CHINA = timezone(timedelta(hours=8), "CST")
