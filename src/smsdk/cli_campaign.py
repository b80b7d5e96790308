"""``smsdk campaign``: durable campaigns from the command line (smsdk.workspace.outbox).

Every campaign is kept in the workspace file (``--workspace``, default ``$SMSDK_WORKSPACE`` or
``~/.smsdk/workspace.sqlite3``), so a campaign killed half way is continued, not restarted::

    smsdk campaign send --host H --account A --password W --to-file numbers.txt "text"
    smsdk campaign send --host H ... --group public/客户 --template 问候   # one personal campaign: a text per recipient
    smsdk campaign unsent                      # what a crash or Ctrl-C left behind
    smsdk campaign continue 3 --host H ...     # only recipients not yet accepted
    smsdk campaign continue 3 --resend-unknown # also those written but never answered (flagged)
    smsdk campaign resend 3 --host H ...       # everyone again, as a new campaign ("send again")
    smsdk campaign sent [--today]
    smsdk campaign send --at "2026-12-01 09:00" ...   # scheduled: stored until due
    smsdk campaign scheduled ; smsdk campaign cancel 4 ; smsdk campaign due --host H ...
    smsdk campaign show 3 [--state submitted]
    smsdk campaign reports --host H ...        # reports of earlier sessions (offline queue)

Exit status of the sending commands: 0 every recipient accepted or final (the campaign is
sent; reports may still come); 1 recipients are left unsent (queued or unknown: see
``campaign unsent``); 2 usage error (bad argument, unknown campaign or group, no recipient,
text that cannot be sent, a workspace file that cannot be opened or written); 3 could not
log in; 130 / 143 interrupted by SIGINT (Ctrl-C) / SIGTERM: the client stopped at once (no
drain), every change was written, a summary says how many were sent, accepted and unsent
and how to continue (a second signal exits at once).  Every error is one line on stderr.
``smsdk campaign reports``: 0 no recipient of an earlier session awaits a report any more,
1 some still do.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

EXIT_SENT = 0
EXIT_UNSENT = 1
EXIT_USAGE = 2
EXIT_LOGIN = 3
EXIT_INTERRUPTED = 128  # + the signal number: 130 SIGINT (Ctrl-C), 143 SIGTERM


def _workspace_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--workspace", "workspace", type=click.Path(), default=None,
                        help="The workspace file (default: $SMSDK_WORKSPACE or ~/.smsdk/workspace.sqlite3).")(fn)


def _connection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--host", envvar="SMSDK_HOST", default=None, help="Platform host (or $SMSDK_HOST)."),
        click.option("--port", type=click.IntRange(1, 65535), default=9981, show_default=True),
        click.option("--account", envvar="SMSDK_ACCOUNT", default=None, help="Account id (or $SMSDK_ACCOUNT)."),
        click.option("--password", envvar="SMSDK_PASSWORD", default=None, help="Password (or $SMSDK_PASSWORD)."),
        click.option("--dialect", type=click.Choice(["empp", "cmpp2", "cmpp3"]), default="empp", show_default=True),
        click.option("--service-id", default="", help="Service_Id (CMPP needs one; EMPP ignores it)."),
        click.option("--rate", type=click.FloatRange(min=0.1), default=100.0, show_default=True,
                     help="The account's rate limit, SMS per second (the SDK paces below it)."),
        click.option("--group-send-limit", type=click.IntRange(1, 99), default=5, show_default=True),
        click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
                     help="Once every recipient is accepted, seconds to wait for status reports."),
        click.option("--login-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     show_default=True, help="Seconds to connect and log in (exit status 3)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group("campaign")
def campaign() -> None:
    """Durable campaigns kept in the workspace: send, continue after a crash, resend, lists."""


def _open(workspace: str | None) -> Any:
    """The outbox of the workspace file; a file that cannot be opened raises WorkspaceError,
    which every command turns into one line and exit status 2 (_campaign_errors)."""
    from smsdk.workspace.outbox import Outbox
    from smsdk.workspace.store import Workspace

    return Outbox(Workspace(workspace))


def _campaign_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """CampaignError / ValueError / TypeError → one line and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from smsdk.workspace.store import WorkspaceError

        try:
            return fn(*args, **kwargs)
        except (WorkspaceError, ValueError, TypeError) as exc:
            click.echo(f"smsdk campaign: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


# -- sending ----------------------------------------------------------------------------------


@campaign.command("send")
@click.argument("text", required=False)
@click.option("--to", "to", multiple=True, help="A recipient; repeat for more.")
@click.option("--to-file", type=click.File("r", encoding="utf-8-sig"), help="One number per line.")
@click.option("--group", "-g", "groups", multiple=True, metavar="BOOK/GROUP",
              help="Every contact of an address-book group (public/客户, ACCOUNT/朋友, or a whole book); repeatable.")
@click.option("--template", "-t", "template_name", default=None, metavar="NAME",
              help="Instead of TEXT: the saved template NAME, filled in per recipient ({name} {nickname} "
                   "{remark}): one personal campaign, each recipient with its own text.")
@click.option("--signature", "-s", default="", help="The enterprise signature, written 【…】.")
@click.option("--at", "at", default=None,
              help="Send at this time (At_Time): 'YYYY-MM-DD HH:MM' China time, ISO with offset, +30m, +2h.")
@click.option("--lead", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="A scheduled campaign is handed to the platform this many seconds before its time "
                   "(with At_Time: the platform holds it); until then it can be cancelled.")
@_connection_options
@_workspace_option
@_campaign_errors
def send_cmd(text: str | None, to: tuple[str, ...], to_file: Any, groups: tuple[str, ...],
             template_name: str | None, signature: str, at: str | None, lead: float,
             workspace: str | None, **conn: Any) -> None:
    """Store a campaign of TEXT (or --template NAME) to the recipients (--to, --to-file,
    --group) and send it (or keep it until --at)."""
    from smsdk.workspace.outbox import parse_at

    if (text is None) == (template_name is None):
        raise click.UsageError("give the TEXT to send or --template NAME (one of them)")
    recipients = list(to)
    if to_file is not None:
        recipients.extend(line.strip() for line in to_file if line.strip() and not line.lstrip().startswith("#"))
    if not recipients and not groups:
        raise click.UsageError("give at least one --to NUMBER, a --to-file or a --group")
    outbox = _open(workspace)
    when: datetime | None = parse_at(at, now=outbox.ws.now()) if at is not None else None
    if when is None or when.timestamp() - lead <= outbox.ws.now():
        _need_connection(conn)  # before storing: a campaign is not left behind by a typo
    body, whom = _texts(outbox.ws, text, template_name, recipients, groups)
    from smsdk.errors import PlanError

    store = outbox.create if template_name is None else outbox.create_personal
    try:
        c = store(body, whom, signature=signature or None, at=when, account=conn["account"] or "")
    except PlanError as exc:
        raise ValueError(f"cannot send this text: {exc}") from None
    if when is not None and when.timestamp() - lead > outbox.ws.now():
        _say(conn["as_json"], {"campaign": c.as_dict()},
             f"campaign {c.id} scheduled for {when.strftime('%Y-%m-%d %H:%M:%S %Z')} "
             f"({c.counts.get('queued', 0)} recipients); run 'smsdk campaign due' from then on, "
             f"'smsdk campaign cancel {c.id}' to cancel it")
        return
    sys.exit(_run([c.id], outbox, conn, signature=signature))


def _texts(ws: Any, text: str | None, template_name: str | None, typed: list[str],
           groups: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The campaign to store: (TEXT, every recipient), or with a template (its body,
    ``(number, filled-in text)`` for every recipient: one personal campaign, see
    Outbox.create_personal).  A group that is unknown or empty is an error."""
    from smsdk.workspace.books import Books
    from smsdk.workspace.recipients import Recipient, resolve

    books = Books(ws) if groups or template_name else None
    who: list[Recipient] = []
    for ref in groups:
        found = resolve(groups=[ref], books=books).recipients
        if not found:
            raise ValueError(f"group {ref} has no contacts: nothing to send to them")
        who.extend(found)
    if template_name is None:
        assert text is not None
        return text, typed + [r.mobile for r in who]
    from smsdk.workspace.templates import Templates

    stored = Templates(ws).get(template_name)
    template = stored.template
    # each number once, in order; a typed number takes the name its group knows (as `smsdk recipients`)
    res = resolve(numbers_given=typed, groups=groups, books=books)
    pairs: list[Any] = [(person.mobile, template.fill(person)) for person in res.recipients]
    rejected = [left.given for left in res.rejected]
    if rejected and not pairs:
        raise ValueError(f"no valid recipient among the {len(rejected)} given")
    pairs += [(given, stored.body) for given in rejected]  # stored rejected, with the reason
    return stored.body, pairs


@campaign.command("continue")
@click.argument("campaign_id", type=int)
@click.option("--resend-unknown", is_flag=True,
              help="Also send to recipients written before a crash but never answered (they may "
                   "have been accepted: they are flagged possible duplicate).")
@_connection_options
@_workspace_option
@_campaign_errors
def continue_cmd(campaign_id: int, resend_unknown: bool, workspace: str | None, **conn: Any) -> None:
    """Send an unsent campaign to the recipients not yet accepted."""
    _need_connection(conn)
    outbox = _open(workspace)
    outbox.check_startable(campaign_id, resend_unknown=resend_unknown)  # before connecting
    sys.exit(_run([campaign_id], outbox, conn, resend_unknown=resend_unknown))


@campaign.command("resend")
@click.argument("campaign_id", type=int)
@_connection_options
@_workspace_option
@_campaign_errors
def resend_cmd(campaign_id: int, workspace: str | None, **conn: Any) -> None:
    """Send a campaign again to all its recipients, as a new campaign ("send again")."""
    _need_connection(conn)
    outbox = _open(workspace)
    made = outbox.resend(campaign_id)
    if made.state == "scheduled":
        _say(conn["as_json"], {"campaign": made.as_dict()},
             f"campaign {made.id} (again {campaign_id}) scheduled for {made.at_datetime}")
        return
    sys.exit(_run([made.id], outbox, conn))


campaign.add_command(resend_cmd, "send-again")


@campaign.command("due")
@click.option("--lead", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Send the scheduled campaigns whose time is at most this many seconds away.")
@_connection_options
@_workspace_option
@_campaign_errors
def due_cmd(lead: float, workspace: str | None, **conn: Any) -> None:
    """Hand every scheduled campaign that is due to the platform (run it from cron)."""
    outbox = _open(workspace)
    due = outbox.due(lead=lead)
    if not due:
        _say(conn["as_json"], {"campaigns": []}, "no scheduled campaign is due")
        return
    _need_connection(conn)
    sys.exit(_run([c.id for c in due], outbox, conn))


@campaign.command("reports")
@_connection_options
@_workspace_option
@_campaign_errors
def reports_cmd(workspace: str | None, **conn: Any) -> None:
    """Log in and listen --wait seconds for the status reports of recipients accepted by
    earlier sessions (the platform sends those it kept after the login), writing each
    outcome; ends early once none awaits a report."""
    _need_connection(conn)
    outbox = _open(workspace)
    sys.exit(_run([], outbox, conn, reports_only=True))


# -- lists ------------------------------------------------------------------------------------


@campaign.command("unsent")
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def unsent_cmd(as_json: bool, workspace: str | None) -> None:
    """Campaigns with recipients not yet accepted (after a crash, Ctrl-C, a lost login)."""
    _table(_open(workspace).unsent(), as_json, "unsent")


@campaign.command("sent")
@click.option("--today", is_flag=True, help="Only those sent today (China time).")
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def sent_cmd(today: bool, as_json: bool, workspace: str | None) -> None:
    """Campaigns sent: every recipient accepted or final ('resend ID' sends one again)."""
    _table(_open(workspace).sent(today=today), as_json, "sent")


@campaign.command("scheduled")
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def scheduled_cmd(as_json: bool, workspace: str | None) -> None:
    """Campaigns waiting for their time (cancellable)."""
    _table(_open(workspace).scheduled(), as_json, "scheduled")


@campaign.command("list")
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def list_cmd(as_json: bool, workspace: str | None) -> None:
    """Every campaign, newest first."""
    _table(_open(workspace).campaigns(), as_json, "campaigns")


@campaign.command("cancel")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def cancel_cmd(campaign_id: int, as_json: bool, workspace: str | None) -> None:
    """Cancel a campaign not yet handed to the platform (a scheduled one)."""
    done = _open(workspace).cancel(campaign_id)
    _say(as_json, {"campaign": done.as_dict()},
         f"campaign {campaign_id} cancelled ({done.counts.get('cancelled', 0)} recipients)")


@campaign.command("show")
@click.argument("campaign_id", type=int)
@click.option("--state", default=None, help="Only recipients in this state (queued, submitted, accepted, ...).")
@click.option("--json", "as_json", is_flag=True)
@_workspace_option
@_campaign_errors
def show_cmd(campaign_id: int, state: str | None, as_json: bool, workspace: str | None) -> None:
    """One campaign and its recipients."""
    outbox = _open(workspace)
    found = outbox.campaign(campaign_id)
    rows = outbox.recipients(campaign_id, state=state)
    if as_json:
        click.echo(json.dumps({"campaign": found.as_dict(), "recipients": [r.as_dict() for r in rows]},
                              ensure_ascii=False))
        return
    _table([found], False, f"campaign {campaign_id}")
    if found.personal:
        click.echo(f"personal: a text per recipient, from the template {found.text}")
    for r in rows:
        flag = "  (possible duplicate)" if r.possible_duplicate else ""
        status = f" {r.status}" if r.status else ""
        own = f"  «{r.text}»" if r.text is not None else ""
        click.echo(f"{r.number:<13} {r.state}{status}  {r.detail}{flag}{own}")


# -- helpers ----------------------------------------------------------------------------------


def _need_connection(conn: dict[str, Any]) -> None:
    missing = [f"--{name}" for name in ("host", "account", "password") if not conn.get(name)]
    if missing:
        raise click.UsageError(f"sending needs {', '.join(missing)} (or $SMSDK_HOST, $SMSDK_ACCOUNT, "
                               "$SMSDK_PASSWORD)")


def _say(as_json: bool, obj: dict[str, Any], line: str) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False) if as_json else line)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    from smsdk.china_time import CHINA

    return datetime.fromtimestamp(ts, CHINA).strftime("%m-%d %H:%M")


def _table(found: list[Any], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps({"campaigns": [c.as_dict() for c in found]}, ensure_ascii=False))
        return
    if not found:
        click.echo(f"no {title} campaigns" if title in ("unsent", "sent", "scheduled") else "none")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("id", "state", "created", "at", "recipients", "states", "text"):
        table.add_column(column)
    for c in found:
        states = ", ".join(f"{k} {v}" for k, v in sorted(c.counts.items()))
        text = c.text if len(c.text) <= 30 else c.text[:29] + "…"
        if c.personal:
            text = "(personal) " + text
        again = f" (again {c.resent_from})" if c.resent_from else ""
        table.add_row(str(c.id), c.state + again, _when(c.created), _when(c.at), str(c.total), states, text)
    Console(soft_wrap=True).print(table)


def _run(ids: list[int], outbox: Any, conn: dict[str, Any], *, resend_unknown: bool = False,
         signature: str = "", reports_only: bool = False) -> int:
    from smsdk.cli_send import react

    return react(lambda reactor: _send(reactor, ids, outbox, conn, resend_unknown=resend_unknown,
                                       signature=signature, reports_only=reports_only))


class _Interrupt:
    """SIGINT / SIGTERM while sending: the first one stops the client (no drain) from the
    reactor, so that every buffered change is written before the summary; a second one
    exits at once (the written-through mark is committed before every SUBMIT, so nothing is
    lost, but answers of the last moments may then read ``submitted``)."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.signum: int | None = None
        self.client: Any = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        import signal

        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old.clear()

    def _handle(self, signum: int, _frame: Any) -> None:
        import os

        if self.signum is not None:
            os._exit(128 + signum)
        self.signum = signum
        self.reactor.callFromThread(self._stop)

    def _stop(self) -> None:
        if self.client is not None and not self.client.stopped:
            self.client.stop()

    @property
    def name(self) -> str:
        import signal

        return signal.Signals(self.signum).name if self.signum is not None else ""


async def _send(reactor: Any, ids: list[int], outbox: Any, conn: dict[str, Any], *, resend_unknown: bool,
                signature: str, reports_only: bool = False) -> int:
    interrupt = _Interrupt(reactor)
    interrupt.install()
    try:
        return await _send_until_interrupted(reactor, ids, outbox, conn, interrupt, resend_unknown=resend_unknown,
                                             signature=signature, reports_only=reports_only)
    finally:
        interrupt.uninstall()


async def _send_until_interrupted(reactor: Any, ids: list[int], outbox: Any, conn: dict[str, Any],
                                  interrupt: _Interrupt, *, resend_unknown: bool, signature: str,
                                  reports_only: bool) -> int:
    from twisted.internet import defer, task

    from smsdk.cli_send import _describe
    from smsdk.client import Client
    from smsdk.dispatch import DispatchSettings
    from smsdk.errors import ClientStopped
    from smsdk.session import LoginError
    from smsdk.workspace.outbox import CampaignError

    first = outbox.campaign(ids[0]) if ids else None
    try:
        client = Client(
            conn["host"], conn["port"], account=conn["account"], password=conn["password"],
            dialect=conn["dialect"], signature=signature or (first.signature if first else None) or "",
            service_id=conn["service_id"], reactor=reactor,
            dispatch_settings=DispatchSettings(rate=conn["rate"], group_send_limit=conn["group_send_limit"]),
        )
    except (TypeError, ValueError) as exc:
        click.echo(f"smsdk campaign: {exc}", err=True)
        return EXIT_USAGE
    interrupt.client = client
    # before the login: the platform sends the reports it kept (FAQ-3.1.5) right after it
    late = outbox.listen_reports(client)
    try:
        await client.start().addTimeout(conn["login_timeout"], reactor)
    except LoginError as exc:
        click.echo(f"smsdk campaign: login refused: {exc}", err=True)
        await client.stop()
        late.close()
        return EXIT_LOGIN
    except ClientStopped:
        late.close()
        return _interrupted(outbox, ids, interrupt, conn["as_json"])
    except defer.TimeoutError:
        why = client.last_connect_error or client.login_error
        reason = f": {_describe(why)}" if why is not None else " (connected, but no login answer)"
        click.echo(f"smsdk campaign: could not log in to {conn['host']}:{conn['port']} within "
                   f"{conn['login_timeout']:g} s{reason}", err=True)
        await client.stop()
        late.close()
        return EXIT_LOGIN
    runs = []
    for cid in ids if not reports_only else ():
        try:
            run = outbox.start(client, cid, resend_unknown=resend_unknown)
        except CampaignError as exc:
            click.echo(f"smsdk campaign: {exc}", err=True)
            continue
        runs.append(run)
        if run.error is not None:  # a personal campaign: texts after the first refused
            click.echo(f"smsdk campaign: campaign {cid}: {run.total} recipients handed over, the rest "
                       f"stay queued ({run.error}); 'smsdk campaign continue {cid}' sends them", err=True)
    progress = _Progress(runs, reactor) if runs and not conn["as_json"] and sys.stderr.isatty() else None
    try:
        # first until every recipient is accepted or final (or the client gave up) ...
        while runs and not client.stopped and any(r.unanswered for r in runs):
            await task.deferLater(reactor, 0.2, lambda: None)
        # ... then at most --wait seconds for the status reports (of this run, and of rows
        # accepted by earlier sessions)
        deadline = reactor.seconds() + conn["wait"]
        while (not client.stopped and reactor.seconds() < deadline
               and (any(not r.done.called for r in runs)
                    or (late.awaiting if reports_only else late.awaiting_in(ids)))):
            await task.deferLater(reactor, min(0.2, max(0.0, deadline - reactor.seconds())), lambda: None)
    finally:
        if progress is not None:
            progress.close()
        await client.stop()
        for r in runs:
            r.finish()
        late.close()
    # a run whose last write failed (disk full ...): its done fails; the reports it heard
    # were never answered, so the platform sends them again at the next login
    unwritten: list[str] = []
    for r in runs:
        r.done.addErrback(lambda f, cid=r.campaign_id: unwritten.append(
            f"smsdk campaign: campaign {cid}: its last outcomes could not be written ({f.getErrorMessage()}); "
            f"those rows keep their last written state, and the platform sends the status reports "
            f"heard since again at the next login ('smsdk campaign reports')"))
    for line in unwritten:
        click.echo(line, err=True)
    if interrupt.signum is not None:
        return _interrupted(outbox, ids, interrupt, conn["as_json"])
    found = [outbox.campaign(cid) for cid in ids]
    if conn["as_json"]:
        click.echo(json.dumps({"campaigns": [c.as_dict() for c in found],
                               "late_reports": _late_dict(late)}, ensure_ascii=False))
    else:
        if late.matched or reports_only:
            click.echo(f"reports for earlier sessions: {late.resolved} recipient(s) resolved, "
                       f"{late.awaiting} still awaiting a report")
        for c in found:
            states = ", ".join(f"{k} {v}" for k, v in sorted(c.counts.items()))
            click.echo(f"campaign {c.id}: {c.state}; {states}")
            if c.unknown:
                click.echo(f"  {c.unknown} recipient(s) unknown (written, never answered): "
                           f"'smsdk campaign continue {c.id} --resend-unknown' sends them again, flagged")
    if reports_only:
        return EXIT_SENT if not late.awaiting else EXIT_UNSENT
    return EXIT_SENT if all(c.unsent == 0 for c in found) and not unwritten else EXIT_UNSENT


def _late_dict(late: Any) -> dict[str, int]:
    return {"resolved": late.resolved, "matched": late.matched, "unknown": late.unknown,
            "expired": late.expired, "awaiting": late.awaiting}


def _interrupted(outbox: Any, ids: list[int], interrupt: _Interrupt, as_json: bool) -> int:
    """The summary after SIGINT / SIGTERM (everything buffered is written by now)."""
    found = [outbox.campaign(cid) for cid in ids]
    summary = []
    for c in found:
        n = c.counts
        unsent = c.unsent
        sent = c.total - n.get("queued", 0) - n.get("rejected", 0) - n.get("cancelled", 0)
        accepted = sum(n.get(k, 0) for k in ("accepted", "delivered", "expired"))
        summary.append({"campaign": c.id, "sent": sent, "accepted": accepted, "unsent": unsent,
                        "unknown": c.unknown, "continue": f"smsdk campaign continue {c.id}"})
        click.echo(f"smsdk campaign: interrupted ({interrupt.name}): campaign {c.id}: {sent} sent, "
                   f"{accepted} accepted, {unsent} unsent ({c.unknown} of them unknown); "
                   f"continue with 'smsdk campaign continue {c.id}'", err=True)
    if as_json:
        click.echo(json.dumps({"interrupted": interrupt.name, "summary": summary,
                               "campaigns": [c.as_dict() for c in found]}, ensure_ascii=False))
    return EXIT_INTERRUPTED + (interrupt.signum or 0)


class _Progress:
    """A rich progress bar on stderr: recipients written, accepted, with outcomes."""

    def __init__(self, runs: list[Any], reactor: Any) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
        from twisted.internet import task

        self.runs = runs
        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True, console=Console(stderr=True))
        self.task = self.bar.add_task("accepted", total=sum(r.total for r in runs))
        self.bar.start()
        self.loop = task.LoopingCall(self._tick)
        self.loop.clock = reactor
        self.loop.start(0.2)

    def _tick(self) -> None:
        written = sum(r.written for r in self.runs)
        done = sum(r.total - r.unanswered for r in self.runs)
        outcomes = sum(r.finished for r in self.runs)
        self.bar.update(self.task, completed=done,
                        description=f"written {written}, outcomes {outcomes}; accepted")

    def close(self) -> None:
        if self.loop.running:
            self.loop.stop()
        self._tick()
        self.bar.stop()

