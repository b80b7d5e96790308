"""``smsdk bill`` and ``smsdk birthday …``: the workspace's bills (CLIENT-bill) and birthday
greetings (CLIENT-birthday) from the command line.

* ``smsdk bill [--month YYYY-MM] [--by type|account|group] [--group BOOK/GROUP]
  [--account A] [--export FILE] [--format text|csv|json]`` — SMS billed per month for the
  last three months (or the one month given); ``--export`` writes the bill to FILE (text,
  or csv when FILE ends in .csv or ``--format csv``) instead of printing it.
* ``smsdk birthday list [--date YYYY-MM-DD] [--book B] [--group G]`` — contacts greeted on
  that day (default today, China time; 02-29 birthdays on 02-28 in other years).
* ``smsdk birthday schedule --template TEXT | --template-name NAME [--date D] [--at HH:MM]
  [--book B] [--group G] [--signature S] [--account A]`` — one scheduled campaign per
  contact not yet greeted that year (safe to run daily from cron); ``smsdk campaign due``
  sends them.

``--workspace`` defaults to ``$SMSDK_WORKSPACE``, else ``~/.smsdk/workspace.sqlite3``.
Exit status: 0 done; 1 the workspace file cannot be opened or written; 2 usage error (bad month,
date, time, unknown group or template).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from smsdk.workspace.store import WorkspaceError, default_path

EXIT_USAGE = 2

_workspace_option = click.option(
    "--workspace", "workspace_path", type=click.Path(), envvar="SMSDK_WORKSPACE",
    default=None, help="The workspace file (default: $SMSDK_WORKSPACE, else ~/.smsdk/workspace.sqlite3).")


def _ws(workspace_path: str | None) -> Any:
    from smsdk.workspace import Workspace

    try:
        return Workspace(workspace_path if workspace_path is not None else default_path())
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None


def _usage(cmd: str, message: str) -> None:
    click.echo(f"smsdk {cmd}: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.command("bill")
@_workspace_option
@click.option("--month", default=None, metavar="YYYY-MM", help="One of the last three months (default: all three).")
@click.option("--by", type=click.Choice(["type", "account", "group"]), default="type", show_default=True,
              help="Break the bill down by SMS type, account, or address-book group.")
@click.option("--group", "group_ref", default=None, metavar="BOOK/GROUP",
              help="Only recipients in this group (public/客户, ACCOUNT/客户).")
@click.option("--account", default=None, help="Only this account's campaigns.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              help="Write the bill to this file (text; csv when it ends in .csv).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default=None,
              help="Output format (default: text, or csv for an --export FILE ending in .csv).")
def bill(workspace_path: str | None, month: str | None, by: str, group_ref: str | None,
         account: str | None, export_path: str | None, fmt: str | None) -> None:
    """SMS billed per month (the last three months), by type, account or group."""
    from smsdk.workspace.bills import Bills, to_csv, to_text

    ws = _ws(workspace_path)
    try:
        bills = Bills(ws).bill(month, by=by, group=group_ref, account=account)
    except WorkspaceError as e:
        _usage("bill", str(e))
        return
    if fmt is None:
        fmt = "csv" if export_path is not None and export_path.lower().endswith(".csv") else "text"
    if fmt == "json":
        out = json.dumps([b.as_dict() for b in bills], ensure_ascii=False, indent=1) + "\n"
    elif fmt == "csv":
        out = to_csv(bills)
    else:
        out = to_text(bills)
    if export_path is None:
        click.echo(out, nl=False)
        return
    try:
        Path(export_path).write_text(out, encoding="utf-8")
    except OSError as e:
        _usage("bill", f"cannot write {export_path}: {e}")
    click.echo(f"bill of {', '.join(b.month for b in bills)} written to {export_path}")


@click.group("birthday")
def birthday() -> None:
    """Birthday greetings: list the day's birthday contacts, schedule greetings for the day."""


_date_option = click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
                            help="The day (default: today, China time).")
_book_option = click.option("--book", default="public", show_default=True,
                            help="public, or an account's personal book.")
_group_option = click.option("--group", default=None, help="Only this group of the book.")


@birthday.command("list")
@_workspace_option
@_date_option
@_book_option
@_group_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def birthday_list(workspace_path: str | None, day: str | None, book: str, group: str | None, as_json: bool) -> None:
    """Contacts whose birthday is greeted on the day."""
    from smsdk.workspace.birthdays import Birthdays, parse_day

    bd = Birthdays(_ws(workspace_path))
    try:
        d = bd.today() if day is None else parse_day(day)
        found = bd.on(d, book=book, group=group)
    except WorkspaceError as e:
        _usage("birthday list", str(e))
        return
    if as_json:
        click.echo(json.dumps({"date": d.isoformat(), "contacts": [
            {"id": c.id, "name": c.name, "mobile": c.mobile, "birthday": c.birthday,
             "greeted": bd.greeted(c, d.year)} for c in found]}, ensure_ascii=False))
        return
    for c in found:
        greeted = bd.greeted(c, d.year)
        note = f"  (greeting: campaign {greeted})" if greeted is not None else ""
        click.echo(f"{c.id:>5}  {c.name}  {c.mobile}  {c.birthday}{note}")
    click.echo(f"-- {len(found)} birthday contact{'s' if len(found) != 1 else ''} on {d.isoformat()}", err=True)


@birthday.command("schedule")
@_workspace_option
@_date_option
@click.option("--at", "at", default="09:00", show_default=True, metavar="HH:MM",
              help="Time of the greeting on the day (China time).")
@click.option("--template", "body", default=None, help="The greeting, with {name} {nickname} {remark}.")
@click.option("--template-name", default=None, help="A stored template (smsdk template save).")
@_book_option
@_group_option
@click.option("--signature", default=None, help="Signature (default: the sending client's).")
@click.option("--account", default="", help="Account the campaigns are billed to.")
def birthday_schedule(workspace_path: str | None, day: str | None, at: str, body: str | None,
                      template_name: str | None, book: str, group: str | None, signature: str | None,
                      account: str) -> None:
    """Schedule a greeting for each birthday contact of the day not yet greeted this year."""
    from smsdk.workspace.birthdays import Birthdays
    from smsdk.workspace.templates import Templates

    if (body is None) == (template_name is None):
        _usage("birthday schedule", "give the greeting with --template TEXT or --template-name NAME (one of them)")
        return
    ws = _ws(workspace_path)
    bd = Birthdays(ws)
    try:
        tpl: Any = body if body is not None else Templates(ws).get(str(template_name)).template
        done = bd.schedule(tpl, day, at=at, book=book, group=group, signature=signature, account=account)
    except WorkspaceError as e:
        _usage("birthday schedule", str(e))
        return
    new = 0
    for s in done:
        if s.campaign_id is not None:
            new += 1
            click.echo(f"scheduled  campaign {s.campaign_id}  {s.contact.name}  {s.contact.mobile}  {s.text}")
        else:
            click.echo(f"skipped    {s.contact.name}  {s.contact.mobile}  ({s.skipped})")
    click.echo(f"-- {new} greeting{'s' if new != 1 else ''} scheduled, {len(done) - new} skipped", err=True)
