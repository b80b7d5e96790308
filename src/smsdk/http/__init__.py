"""The 企信通 HTTP interface (PROTOCOL.md §3, §3b): client, pollers, PUSH receiver.

Layers: :mod:`smsdk.http.codes` (the one table of paths, fields and codes) and
:mod:`smsdk.http.wire` (requests and responses as pure functions) are sans-IO;
:mod:`smsdk.http.pipeline` is the sans-IO sending pipeline; :class:`HttpClient` (treq),
the pollers and :class:`PushReceiver` (twisted.web) are the transports; :class:`HttpSender`
is the client API with the EMPP client's one-outcome-per-recipient Submission.
See docs/http-client.md.
"""

from smsdk.http.client import HttpClient, SubmitResult
from smsdk.http.codes import (
    AuthenticationFailed,
    HttpError,
    HttpProtocolError,
    HttpRefused,
    HttpStatusError,
    PlatformBusy,
    PollTooSoon,
    PushFormatError,
    RateLimited,
    TextEncodingError,
)
from smsdk.http.pipeline import HttpPipeline, HttpSubmission
from smsdk.http.poller import MoPoller, QueryPoller, ReportPoller, ReportWindows
from smsdk.http.push import PushReceiver
from smsdk.http.sender import HttpSender
from smsdk.http.wire import CHINA, Account, MoEvent, ReportEvent

__all__ = [
    "CHINA",
    "Account",
    "AuthenticationFailed",
    "HttpClient",
    "HttpError",
    "HttpPipeline",
    "HttpProtocolError",
    "HttpRefused",
    "HttpSender",
    "HttpStatusError",
    "HttpSubmission",
    "MoEvent",
    "MoPoller",
    "PlatformBusy",
    "PollTooSoon",
    "PushFormatError",
    "PushReceiver",
    "QueryPoller",
    "RateLimited",
    "ReportEvent",
    "ReportPoller",
    "ReportWindows",
    "SubmitResult",
    "TextEncodingError",
]
