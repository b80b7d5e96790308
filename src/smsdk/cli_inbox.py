"""``smsdk inbox …`` and ``smsdk password change``: the workspace's received messages
(CLIENT-inbox) and EMPP CHANGEPASS (CLIENT-password) from the command line.

* ``smsdk inbox receive --workspace W --host H --port P --account A --password PW
  [--duration S] [--settle S]`` — log in, store every MO that arrives (one line each) until
  Ctrl-C or ``--duration`` seconds; the unread count ("N unread messages") comes first, once
  the offline messages handed over right after the login have arrived (no MO for
  ``--settle`` seconds).
* ``smsdk inbox list [--unread] [--account A] [--limit N] [--json]``,
  ``smsdk inbox read ID``, ``smsdk inbox delete ID…``,
  ``smsdk inbox export --format csv|txt --output FILE|-`` — the stored messages.
* ``smsdk inbox reply ID TEXT --host H --port P --account A --password PW`` — answer the
  sender through ``Client.send`` and print its outcome.
* ``smsdk password change --host H --port P --account A --password OLD [--new NEW]`` —
  the new password is asked for (twice, hidden) unless given.

``--workspace`` defaults to ``$SMSDK_WORKSPACE``, else ``~/.smsdk/workspace.sqlite3``.
Exit status: 0 done; 1 refused (an unknown message id, a reply not delivered, a password
change refused); 2 usage error; 3 could not log in.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from smsdk.workspace.store import WorkspaceError, default_path

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_LOGIN = 3

# Seconds without an MO after the login before ``inbox receive`` prints the unread count: the
# platform hands over the offline messages right after the login (FAQ-3.1.5) and says nothing
# when it is done, so the count waits until that stream is quiet.
SETTLE = 1.0
SETTLE_LIMIT = 30.0  # ... but no longer than this after the login (a busy account is never quiet)

_workspace_option = click.option(
    "--workspace", "workspace_path", type=click.Path(), envvar="SMSDK_WORKSPACE",
    default=None, help="The workspace file (default: $SMSDK_WORKSPACE, else ~/.smsdk/workspace.sqlite3).")


def _login_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--host", required=True, help="Platform host (EMPP / CMPP)."),
        click.option("--port", type=click.IntRange(1, 65535), default=9981, show_default=True),
        click.option("--account", required=True, help="Account id (EMPP: the 1065… number)."),
        click.option("--password", required=True, envvar="SMSDK_PASSWORD",
                     help="Password (or $SMSDK_PASSWORD)."),
        click.option("--dialect", type=click.Choice(["empp", "cmpp2", "cmpp3"]), default="empp",
                     show_default=True),
        click.option("--login-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     show_default=True, help="Seconds to connect and log in before giving up (exit 3)."),
    ]):
        fn = opt(fn)
    return fn


def _open(workspace_path: str | None) -> Any:
    from smsdk.workspace import Workspace
    from smsdk.workspace.inbox import Inbox

    try:
        ws = Workspace(workspace_path if workspace_path is not None else default_path())
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None
    return Inbox(ws)


def _fail(message: str, code: int = EXIT_REFUSED) -> None:
    click.echo(f"smsdk inbox: {message}", err=True)
    sys.exit(code)


@click.group("inbox")
def inbox() -> None:
    """Received messages (MOs) kept in the workspace: receive, list, read, reply, delete, export."""


@inbox.command("list")
@_workspace_option
@click.option("--account", default=None, help="Only this account's messages.")
@click.option("--unread", "unread_only", is_flag=True, help="Only unread messages.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_(workspace_path: str | None, account: str | None, unread_only: bool, limit: int | None,
          as_json: bool) -> None:
    """List received messages, newest first, with the unread count."""
    box = _open(workspace_path)
    msgs = box.list(account=account, unread_only=unread_only, limit=limit)
    unread = box.unread_count(account)
    if as_json:
        click.echo(json.dumps({"unread": unread, "messages": [_json(m) for m in msgs]},
                              ensure_ascii=False))
        return
    for m in msgs:
        flag = " " if m.read else "*"
        text = m.shown_text.replace("\n", " ")
        click.echo(f"{flag}{m.id:>5}  {m.time_text}  {m.sender:<11}  {m.dest_id or m.account}  {text}")
    shown = f"{len(msgs)} message{'s' if len(msgs) != 1 else ''}"
    click.echo(f"-- {shown} shown, {unread} unread (* = unread)", err=True)


def _json(m: Any) -> dict[str, Any]:
    return {"id": m.id, "time": m.time.isoformat(), "sender": m.sender, "account": m.account,
            "extension": m.extension, "to": m.dest_id, "text": m.text, "read": m.read,
            "parts": m.parts, "msg_fmt": m.msg_fmt}


@inbox.command("read")
@_workspace_option
@click.argument("message_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def read(workspace_path: str | None, message_id: int, as_json: bool) -> None:
    """Show one message and mark it read."""
    box = _open(workspace_path)
    try:
        m = box.read(message_id)
    except WorkspaceError as e:
        _fail(str(e))
        return
    if as_json:
        click.echo(json.dumps(_json(m), ensure_ascii=False))
        return
    click.echo(f"时间 time: {m.time_text}\n发信人 from: {m.sender}\n接收号码 to: {m.dest_id or m.account}"
               f"\n\n{m.shown_text}")


@inbox.command("delete")
@_workspace_option
@click.argument("message_ids", type=int, nargs=-1, required=True)
def delete(workspace_path: str | None, message_ids: tuple[int, ...]) -> None:
    """Delete messages for good (all or none: an unknown id deletes nothing)."""
    box = _open(workspace_path)
    try:
        n = box.delete(list(message_ids))
    except WorkspaceError as e:
        _fail(str(e))
        return
    click.echo(f"deleted {n} message{'s' if n != 1 else ''}")


@inbox.command("export")
@_workspace_option
@click.option("--format", "fmt", type=click.Choice(["csv", "txt"]), default="csv", show_default=True)
@click.option("--output", "-o", required=True,
              help="The file to write ('-': standard output). csv is UTF-8 with a BOM (Excel).")
@click.option("--account", default=None, help="Only this account's messages.")
@click.option("--id", "message_ids", type=int, multiple=True, help="Only this message (repeatable).")
def export(workspace_path: str | None, fmt: str, output: str, account: str | None,
           message_ids: tuple[int, ...]) -> None:
    """Export messages (oldest first) as csv or txt."""
    box = _open(workspace_path)
    ids = list(message_ids) or None
    try:
        if output == "-":
            n = box.export(sys.stdout, fmt, message_ids=ids, account=account)
        else:
            n = box.export(output, fmt, message_ids=ids, account=account)
    except WorkspaceError as e:
        _fail(str(e))
        return
    click.echo(f"exported {n} message{'s' if n != 1 else ''}" + ("" if output == "-" else f" to {output}"),
               err=True)


@inbox.command("receive")
@_workspace_option
@_login_options
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--settle", type=click.FloatRange(min=0), default=SETTLE, show_default=True,
              help="The unread count is printed once no MO has arrived for this many seconds after "
                   f"the login (the offline messages come right after it), at the latest {SETTLE_LIMIT:g} s "
                   "after it or at --duration.")
def receive(workspace_path: str | None, host: str, port: int, account: str, password: str,
            dialect: str, login_timeout: float, duration: float | None, settle: float) -> None:
    """Log in, print the unread count, and store every MO that arrives."""
    from smsdk.cli_send import react

    box = _open(workspace_path)
    sys.exit(react(lambda reactor: _receive(reactor, box, host, port, account, password, dialect,
                                            login_timeout, duration, settle=settle)))


async def _login(reactor: Any, host: str, port: int, account: str, password: str, dialect: str,
                 login_timeout: float, **kw: Any) -> Any:
    """A started Client, or an exit status (after printing why)."""
    from twisted.internet import defer

    from smsdk.cli_send import _describe
    from smsdk.client import Client
    from smsdk.session import LoginError

    try:
        client = Client(host, port, account=account, password=password, dialect=dialect,
                        reactor=reactor, **kw)
    except (TypeError, ValueError) as exc:
        click.echo(f"smsdk: {exc}", err=True)
        return EXIT_USAGE
    try:
        await client.start().addTimeout(login_timeout, reactor)
    except LoginError as exc:
        click.echo(f"smsdk: login refused: {exc}", err=True)
        await client.stop()
        return EXIT_LOGIN
    except defer.TimeoutError:
        why = client.last_connect_error or client.login_error
        reason = f": {_describe(why)}" if why is not None else " (connected, but no login answer)"
        click.echo(f"smsdk: could not log in to {host}:{port} within {login_timeout:g} s{reason}", err=True)
        await client.stop()
        return EXIT_LOGIN
    return client


async def _receive(reactor: Any, box: Any, host: str, port: int, account: str, password: str,
                   dialect: str, login_timeout: float, duration: float | None, *,
                   settle: float = SETTLE, **client_kw: Any) -> int:
    """``inbox receive`` on ``reactor`` (its clock times the settle and the duration);
    ``client_kw`` goes to the Client (tests: an in-memory ``endpoint``)."""
    from twisted.internet import defer, task

    store = box.receiver(account)
    held: list[str] | None = []   # MO lines until the unread count is printed, then None
    last_mo = [0.0]               # reactor time of the last MO (or of the login)

    def on_mo(mo: Any) -> None:
        m = store(mo)
        last_mo[0] = reactor.seconds()
        line = f"*{m.id:>5}  {m.time_text}  {m.sender:<11}  {m.dest_id}  {m.shown_text}"
        if held is not None:
            held.append(line)
        else:
            click.echo(line)

    def print_unread() -> None:
        # the client manual: "你有＊条未读短信" at each login, counting the offline messages
        nonlocal held
        if held is None:
            return
        unread = box.unread_count(account)
        click.echo(f"你有 {unread} 条未读短信 ({unread} unread message{'s' if unread != 1 else ''})", err=True)
        lines, held = held, None
        for line in lines:
            click.echo(line)

    client = await _login(reactor, host, port, account, password, dialect, login_timeout, on_mo=on_mo,
                          **client_kw)
    if isinstance(client, int):
        return client
    done: defer.Deferred[None] = defer.Deferred()
    def finish() -> None:
        if not done.called:
            done.callback(None)

    last_mo[0] = logged_in = reactor.seconds()
    settle_call: list[Any] = [None]

    def settled() -> None:
        # quiet for ``settle`` seconds since the last MO (or the login)?  Else look again then
        # (at the latest SETTLE_LIMIT seconds after the login).
        now = reactor.seconds()
        wait = min(last_mo[0] + settle, logged_in + max(settle, SETTLE_LIMIT)) - now
        if wait > 0:
            settle_call[0] = reactor.callLater(wait, settled)
        else:
            settle_call[0] = None
            print_unread()

    settle_call[0] = reactor.callLater(settle, settled)
    call = reactor.callLater(duration, finish) if duration is not None else None
    try:
        await done
    except defer.CancelledError:  # pragma: no cover - Ctrl-C stops the reactor instead
        pass
    finally:
        for pending in (call, settle_call[0]):
            if pending is not None and pending.active():
                pending.cancel()
    print_unread()  # --duration ran out before the MOs were quiet
    await client.stop()
    await task.deferLater(reactor, 0, lambda: None)
    click.echo(f"-- {box.unread_count(account)} unread", err=True)
    return EXIT_OK


@inbox.command("reply")
@_workspace_option
@click.argument("message_id", type=int)
@click.argument("text")
@_login_options
@click.option("--signature", "-s", default="", help="The enterprise signature, written 【…】.")
@click.option("--from-extension", is_flag=True,
              help="Send from the number the message was sent to (its sub-number), not the account's.")
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for the status report.")
def reply(workspace_path: str | None, message_id: int, text: str, host: str, port: int, account: str,
          password: str, dialect: str, login_timeout: float, signature: str, from_extension: bool,
          wait: float) -> None:
    """Answer the sender of message MESSAGE_ID with TEXT."""
    from smsdk.cli_send import react

    box = _open(workspace_path)
    try:
        box.get(message_id)
    except WorkspaceError as e:
        _fail(str(e))
    sys.exit(react(lambda reactor: _reply(reactor, box, message_id, text, host, port, account, password,
                                          dialect, login_timeout, signature, from_extension, wait)))


async def _reply(reactor: Any, box: Any, message_id: int, text: str, host: str, port: int, account: str,
                 password: str, dialect: str, login_timeout: float, signature: str, from_extension: bool,
                 wait: float) -> int:
    from twisted.internet import defer

    from smsdk.errors import PlanError

    client = await _login(reactor, host, port, account, password, dialect, login_timeout,
                          signature=signature)
    if isinstance(client, int):
        return client
    msg = box.get(message_id)
    try:
        sub = box.reply(message_id, text, client, src_id=msg.dest_id if from_extension and msg.dest_id else None)
    except (PlanError, WorkspaceError) as exc:
        click.echo(f"smsdk inbox: cannot reply: {exc}", err=True)
        await client.stop()
        return EXIT_USAGE
    done: defer.Deferred[None] = defer.Deferred()
    def finished(_: Any) -> None:
        if not done.called:
            done.callback(None)

    sub.add_done_callback(finished)
    try:
        await done.addTimeout(wait, reactor)
    except defer.TimeoutError:
        pass
    outcome = sub.outcomes.get(msg.sender)
    await client.stop()
    if outcome is None:
        state = "accepted" if msg.sender in sub.accepted else "pending"
        click.echo(f"{msg.sender}  {state}  no final outcome yet")
        return EXIT_REFUSED
    status = f" {outcome.status}" if outcome.status else ""
    click.echo(f"{msg.sender}  {outcome.state.value}{status}  {outcome.detail}")
    return EXIT_OK if outcome.state.value == "delivered" else EXIT_REFUSED


@click.group("password")
def password() -> None:
    """The account's password on the platform."""


@password.command("change")
@_login_options
@click.option("--new", "new_password", prompt="New password", hide_input=True, confirmation_prompt=True,
              envvar="SMSDK_NEW_PASSWORD", help="The new password, 1–16 characters (asked for when absent).")
def change(host: str, port: int, account: str, password: str, dialect: str, login_timeout: float,
           new_password: str) -> None:
    """Change the account's password (EMPP CHANGEPASS)."""
    from smsdk.cli_send import react

    if dialect != "empp":
        click.echo("smsdk password: only EMPP has CHANGEPASS (use --dialect empp)", err=True)
        sys.exit(EXIT_USAGE)
    if not new_password or len(new_password) > 16 or not new_password.isascii():
        click.echo("smsdk password: the new password must be 1 to 16 ASCII characters", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(react(lambda reactor: _change(reactor, host, port, account, password, dialect,
                                           login_timeout, new_password)))


async def _change(reactor: Any, host: str, port: int, account: str, password: str, dialect: str,
                  login_timeout: float, new_password: str) -> int:
    client = await _login(reactor, host, port, account, password, dialect, login_timeout)
    if isinstance(client, int):
        return client
    try:
        resp = await client.change_password(password, new_password).addTimeout(login_timeout, reactor)
    except Exception as exc:  # noqa: BLE001 - a lost link or a timeout: one sentence
        click.echo(f"smsdk password: no answer to CHANGEPASS: {str(exc) or type(exc).__name__}", err=True)
        await client.stop()
        return EXIT_REFUSED
    await client.stop()
    if resp.result != 0:
        click.echo(f"smsdk password: the platform refused the change (CHANGEPASS_RESP Result {resp.result})",
                   err=True)
        return EXIT_REFUSED
    click.echo(f"password of {account} changed")
    return EXIT_OK
