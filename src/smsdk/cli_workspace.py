"""``smsdk book …``, ``smsdk template …`` and ``smsdk recipients``: the workspace's address
books, templates and recipient lists on the command line (docs/workspace.md).

Every command takes ``--workspace PATH`` (default ``$SMSDK_WORKSPACE`` or
``~/.smsdk/workspace.sqlite3``).  ``--book`` is ``public`` (the default) or an account name
(its personal book).  Exit status: 0 done; 1 refused (a full book, a cap over the package, a
file that cannot be read or holds no rows, an unknown group, a workspace file that cannot be
opened or written ...); 2 usage error.  Every error is one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from smsdk.workspace.store import Workspace, WorkspaceError, default_path

workspace_option = click.option(
    "--workspace", "workspace", type=click.Path(path_type=Path), default=None,
    help="The workspace file (default: $SMSDK_WORKSPACE or ~/.smsdk/workspace.sqlite3).")
book_option = click.option("--book", "-b", default="public", show_default=True,
                           help="'public', or an account name for its personal book.")


@contextmanager
def _open(path: Path | None) -> Iterator[Workspace]:
    try:
        ws = Workspace(path if path is not None else default_path())
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None
    try:
        yield ws
    except WorkspaceError as e:
        raise click.ClickException(str(e)) from None
    finally:
        ws.close()


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


# -- book -----------------------------------------------------------------------------------


@click.group()
def book() -> None:
    """Address books: the public book and one personal book per account (FAQ 5.2)."""


@book.command("list")
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def book_list(workspace: Path | None, as_json: bool) -> None:
    """Every book with its contacts, groups and cap."""
    from smsdk.workspace.books import Books

    with _open(workspace) as ws:
        books = Books(ws)
        infos = books.list()
        if as_json:
            _echo_json({"package": books.package(),
                        "books": [{"book": i.key, "contacts": i.contacts, "groups": i.groups, "cap": i.cap}
                                  for i in infos]})
            return
        t = Table(title=f"Address books (package: {books.package() or 'not set, no caps'})")
        for col in ("book", "contacts", "groups", "cap"):
            t.add_column(col)
        for i in infos:
            t.add_row(i.key, str(i.contacts), str(i.groups), "-" if i.cap is None else str(i.cap))
        Console().print(t)


@book.command("add")
@workspace_option
@book_option
@click.argument("name")
@click.argument("mobile")
@click.option("--nickname", default="")
@click.option("--remark", default="")
@click.option("--birthday", default=None, help="YYYY-MM-DD, or MM-DD without a year.")
@click.option("--group", "-g", default=None, help="Put the contact in this group (created if missing).")
@click.option("--force", is_flag=True, help="Add a partial duplicate (same name or same mobile) anyway.")
def book_add(workspace: Path | None, book: str, name: str, mobile: str, nickname: str, remark: str,
             birthday: str | None, group: str | None, force: bool) -> None:
    """Add a contact (duplicates follow FAQ-5.2.7: exact kept, partial refused, see --force)."""
    from smsdk.workspace.books import Books

    with _open(workspace) as ws:
        out = Books(ws).book(book).add(name, mobile, nickname, remark, birthday, group=group,
                                       on_conflict="add" if force else "report")
        if out.status == "added":
            assert out.contact is not None
            click.echo(f"added #{out.contact.id} {out.contact.name} {out.contact.mobile}")
        elif out.status == "exists":
            assert out.contact is not None
            note = f", now in group {group}" if out.grouped else ""
            click.echo(f"exists #{out.contact.id} {out.contact.name} {out.contact.mobile} (kept{note})")
        else:
            assert out.conflict is not None
            lines = [f"not added: {name} {mobile} is a partial duplicate of"]
            lines += [f"  #{c.id} {c.name} {c.mobile}" for c in out.conflict.existing]
            lines.append("use --force to add it anyway")
            raise click.ClickException("\n".join(lines))


@book.command("contacts")
@workspace_option
@book_option
@click.option("--group", "-g", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def book_contacts(workspace: Path | None, book: str, group: str | None, as_json: bool) -> None:
    """List the contacts of a book or a group."""
    from smsdk.workspace.books import Books

    with _open(workspace) as ws:
        b = Books(ws).book(book)
        if as_json:
            for c in b.contacts(group):
                _echo_json({"id": c.id, "name": c.name, "mobile": c.mobile, "nickname": c.nickname,
                            "remark": c.remark, "birthday": c.birthday})
            return
        t = Table(title=f"{b.key}" + (f" / {group}" if group else ""))
        for col in ("id", "name", "mobile", "nickname", "remark", "birthday"):
            t.add_column(col, overflow="fold")
        for c in b.contacts(group):
            t.add_row(str(c.id), c.name, c.mobile, c.nickname, c.remark, c.birthday or "")
        Console().print(t)


@book.command("delete")
@workspace_option
@book_option
@click.argument("contact_id", type=int)
def book_delete(workspace: Path | None, book: str, contact_id: int) -> None:
    """Delete a contact by id."""
    from smsdk.workspace.books import Books

    with _open(workspace) as ws:
        Books(ws).book(book).delete(contact_id)
        click.echo(f"deleted #{contact_id}")


@book.command("group")
@workspace_option
@book_option
@click.argument("action", type=click.Choice(["list", "add", "delete", "put", "remove"]))
@click.argument("args", nargs=-1)
def book_group(workspace: Path | None, book: str, action: str, args: tuple[str, ...]) -> None:
    """Groups: ``list``; ``add NAME``; ``delete NAME`` (contacts stay); ``put NAME ID…``;
    ``remove NAME ID…``."""
    from smsdk.workspace.books import Books

    need = {"list": 0, "add": 1, "delete": 1, "put": 2, "remove": 2}[action]
    if len(args) < need or (action in ("list", "add", "delete") and len(args) != need):
        raise click.UsageError({"list": "group list takes no argument", "add": "group add NAME",
                                "delete": "group delete NAME", "put": "group put NAME ID...",
                                "remove": "group remove NAME ID..."}[action])
    with _open(workspace) as ws:
        b = Books(ws).book(book)
        if action == "list":
            for g, n in b.groups():
                click.echo(f"{g.name}\t{n}")
        elif action == "add":
            click.echo(f"group {b.group(args[0]).name}")
        elif action == "delete":
            b.delete_group(args[0])
            click.echo(f"deleted group {args[0]}")
        else:
            try:
                ids = [int(a) for a in args[1:]]
            except ValueError:
                raise click.UsageError("contact ids are numbers") from None
            for cid in ids:
                changed = b.add_to_group(cid, args[0]) if action == "put" else b.remove_from_group(cid, args[0])
                click.echo(f"#{cid} {'changed' if changed else 'unchanged'}")


@book.command("caps")
@workspace_option
@click.option("--package", default=None, help="The package's contacts: a number, basic, standard, premium, or 'none'.")
@click.option("--set", "caps", multiple=True, metavar="ACCOUNT=CAP", help="An account's personal cap (repeatable).")
def book_caps(workspace: Path | None, package: str | None, caps: tuple[str, ...]) -> None:
    """Show or set the package and the personal caps (FAQ-5.1.2, 5.2.5, 5.2.6)."""
    from smsdk.workspace.books import Books

    parsed: list[tuple[str, int]] = []
    for item in caps:
        account, sep, number = item.partition("=")
        if not sep or not number.strip().isdigit():
            raise click.UsageError(f"--set wants ACCOUNT=CAP, not {item!r}")
        parsed.append((account, int(number)))
    with _open(workspace) as ws:
        books = Books(ws)
        if package is not None:
            books.set_package(None if package == "none" else package)
        for account, cap in parsed:
            books.set_cap(account, cap)
        click.echo(f"package: {books.package() if books.package() is not None else 'not set (no caps)'}")
        for account, cap in books.caps().items():
            click.echo(f"personal:{account}\t{books.personal(account).count()}/{cap}")
        pub_cap = books.public_cap()
        click.echo(f"public\t{books.public().count()}/{'-' if pub_cap is None else pub_cap}")


@book.command("import")
@workspace_option
@book_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--group", "-g", default=None, help="Put the contacts in this group (created if missing).")
@click.option("--header/--no-header", default=True, show_default=True,
              help="The first row is a header and is skipped (FAQ-5.2.4); --no-header still detects one.")
@click.option("--columns", default=None, metavar="FIELDS",
              help="Column fields in order, '-' to skip one: e.g. name,mobile,-,remark (default: from the "
                   "header titles, else name,mobile).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "xls", "csv", "txt"]), default=None,
              help="Default: told by the content and the extension.")
@click.option("--encoding", default=None, help="Text encoding of a csv/txt (default: detected).")
@click.option("--sheet", default=None, help="Worksheet name (default: the first).")
@click.option("--force", is_flag=True, help="Add partial duplicates anyway instead of listing them.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--progress/--no-progress", default=None, help="A progress bar (default: on a terminal).")
def book_import(workspace: Path | None, book: str, file: Path, group: str | None, header: bool,
                columns: str | None, fmt: str | None, encoding: str | None, sheet: str | None, force: bool,
                as_json: bool, progress: bool | None) -> None:
    """Import contacts from an xls, xlsx, csv or txt FILE (duplicates: FAQ-5.2.7)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from smsdk.workspace.books import Books
    from smsdk.workspace.importer import import_contacts

    show = (not as_json and sys.stderr.isatty()) if progress is None else progress
    with _open(workspace) as ws:
        b = Books(ws).book(book)
        kwargs: dict[str, Any] = dict(group=group, header=header, columns=columns, format=fmt, encoding=encoding,
                                      sheet=sheet, on_conflict="add" if force else "report")
        if show:
            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("import", total=None)

                def report(done: int, total: int | None) -> None:
                    bar.update(task, completed=done, total=total)

                result = import_contacts(b, file, progress=report, **kwargs)
        else:
            result = import_contacts(b, file, **kwargs)
    if result.rows == 0:  # nothing read: say so rather than "0 added" with exit status 0
        what = ("only empty rows" if result.empty_rows else
                "only a header row" if result.header != "none" else "no rows")
        raise click.ClickException(f"{file}: nothing to import: the file has {what}")
    if as_json:
        _echo_json({
            "book": result.book, "group": result.group, "format": result.format, "encoding": result.encoding,
            "rows": result.rows, "added": result.added, "existing": result.existing, "grouped": result.grouped,
            "conflicts": result.conflict_count, "skipped": result.skipped_count, "full": result.full,
            "empty_rows": result.empty_rows, "header": result.header, "columns": result.columns,
            "warnings": result.warnings,
            "skipped_rows": [{"row": s.row, "reason": s.reason, "cells": list(s.cells)} for s in result.skipped],
            "conflict_rows": [{"row": c.entry.row, "name": c.entry.name, "mobile": c.entry.mobile,
                               "existing": [{"id": e.id, "name": e.name, "mobile": e.mobile} for e in c.existing]}
                              for c in result.conflicts],
        })
        return
    console = Console()
    console.print(f"{file}: {result.format}{' ' + result.encoding if result.encoding else ''}, "
                  f"{result.rows} rows → {result.added} added, {result.existing} already there "
                  f"({result.grouped} put in the group), {result.conflict_count} conflicts, "
                  f"{result.skipped_count} skipped", markup=False, highlight=False)
    for w in result.warnings:
        console.print(f"warning: {w}", markup=False, highlight=False)
    if result.skipped:
        t = Table(title="Skipped rows")
        for col in ("row", "reason", "cells"):
            t.add_column(col, overflow="fold")
        for s in result.skipped[:50]:
            t.add_row(str(s.row), s.reason, " | ".join(s.cells))
        console.print(t)
    if result.conflicts:
        t = Table(title="Conflicts: not imported (same name or same mobile as an existing contact)")
        for col in ("row", "imported", "existing"):
            t.add_column(col, overflow="fold")
        for c in result.conflicts[:50]:
            t.add_row(str(c.entry.row), f"{c.entry.name} {c.entry.mobile}",
                      "\n".join(f"#{e.id} {e.name} {e.mobile}" for e in c.existing))
        console.print(t)
    if result.skipped_count > 50 or result.conflict_count > 50:
        console.print("(first 50 shown; --json prints them all)")


@book.command("export")
@workspace_option
@book_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", "-g", default=None)
@click.option("--encoding", default="utf-8-sig", show_default=True, help="csv only (gb18030 for old tools).")
def book_export(workspace: Path | None, book: str, file: Path, group: str | None, encoding: str) -> None:
    """Export a book (or a group) to FILE.csv or FILE.xlsx."""
    from smsdk.workspace.books import Books
    from smsdk.workspace.importer import export_contacts

    with _open(workspace) as ws:
        n = export_contacts(Books(ws).book(book), file, group=group, encoding=encoding)
    click.echo(f"exported {n} contacts to {file}")


# -- template -------------------------------------------------------------------------------


@click.group()
def template() -> None:
    """Message templates with {name}, {nickname}, {remark} filled in per recipient."""


@template.command("save")
@workspace_option
@click.argument("name")
@click.argument("body")
def template_save(workspace: Path | None, name: str, body: str) -> None:
    """Create or replace the template NAME."""
    from smsdk.workspace.templates import Templates

    with _open(workspace) as ws:
        t = Templates(ws).save(name, body)
    click.echo(f"saved {t.name}: {t.body}")


@template.command("list")
@workspace_option
def template_list(workspace: Path | None) -> None:
    from smsdk.workspace.templates import Templates

    with _open(workspace) as ws:
        for t in Templates(ws).list():
            click.echo(f"{t.name}\t{t.body}")


@template.command("delete")
@workspace_option
@click.argument("name")
def template_delete(workspace: Path | None, name: str) -> None:
    from smsdk.workspace.templates import Templates

    with _open(workspace) as ws:
        Templates(ws).delete(name)
    click.echo(f"deleted {name}")


@template.command("preview")
@workspace_option
@click.argument("name_or_body")
@click.option("--to", "to", multiple=True, help="A number (repeatable).")
@click.option("--group", "-g", "groups", multiple=True, metavar="BOOK/GROUP", help="e.g. public/客户 (repeatable).")
@click.option("--list", "lists", multiple=True, type=click.Path(exists=True, dir_okay=False), help="A list file.")
@click.option("--signature", "-s", default="", help="The enterprise signature, written 【…】.")
@click.option("--mode", type=click.Choice(["concat", "pieces"]), default="concat", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def template_preview(workspace: Path | None, name_or_body: str, to: tuple[str, ...], groups: tuple[str, ...],
                     lists: tuple[str, ...], signature: str, mode: str, as_json: bool) -> None:
    """Fill a stored template (or a template text) in for each recipient and plan each text."""
    from smsdk.workspace.books import Books
    from smsdk.workspace.recipients import resolve
    from smsdk.workspace.templates import TemplateError, Templates, parse, plan_merge

    with _open(workspace) as ws:
        try:
            tpl = Templates(ws).get(name_or_body).template
        except TemplateError:
            tpl = parse(name_or_body)
        res = resolve(numbers_given=to, groups=groups, lists=lists, books=Books(ws))
    mp = plan_merge(tpl, [vars_of(r) for r in res.recipients], signature=signature, mode=mode)
    if as_json:
        _echo_json({"items": [{"mobile": m.mobile, "text": m.text, "sms": m.sms, "error": m.error} for m in mp.items],
                    "total_sms": mp.total_sms,
                    "left_out": [{"given": r.given, "source": r.source, "reason": r.reason} for r in res.rejected]})
        return
    t = Table(title="Filled in per recipient")
    for col in ("mobile", "SMS", "text"):
        t.add_column(col, overflow="fold")
    for m in mp.items:
        t.add_row(m.mobile, str(m.sms) if m.plan else "refused", m.text if m.plan else f"{m.text} ({m.error})")
    console = Console()
    console.print(t)
    for r in res.rejected:
        console.print(f"left out {r.given!r} ({r.source}): {r.reason}", markup=False, highlight=False)
    console.print(f"{len(mp.sendable)} recipients, {mp.total_sms} SMS billed in all", markup=False)


def vars_of(r: Any) -> dict[str, str]:
    return {"mobile": r.mobile, "name": r.name, "nickname": r.nickname, "remark": r.remark}


# -- recipients -----------------------------------------------------------------------------


@click.command()
@workspace_option
@click.option("--to", "to", multiple=True, help="A number (repeatable).")
@click.option("--group", "-g", "groups", multiple=True, metavar="BOOK/GROUP",
              help="An address-book group, e.g. public/客户 or alice/朋友; BOOK alone for a whole book.")
@click.option("--list", "lists", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A list file (txt/csv/xls/xlsx: numbers, or name then mobile).")
@click.option("--json", "as_json", is_flag=True)
def recipients(workspace: Path | None, to: tuple[str, ...], groups: tuple[str, ...], lists: tuple[str, ...],
               as_json: bool) -> None:
    """Gather recipients from numbers, groups and lists: invalid ones reported, each number once."""
    from smsdk.workspace.books import Books
    from smsdk.workspace.recipients import resolve

    if not (to or groups or lists):
        raise click.UsageError("give --to, --group or --list")
    with _open(workspace) as ws:
        res = resolve(numbers_given=to, groups=groups, lists=lists, books=Books(ws))
    if as_json:
        _echo_json({"recipients": [{"mobile": r.mobile, "name": r.name, "source": r.source} for r in res.recipients],
                    "rejected": [{"given": r.given, "source": r.source, "reason": r.reason} for r in res.rejected],
                    "duplicates": [{"given": r.given, "source": r.source} for r in res.duplicates]})
        return
    for r in res.recipients:
        click.echo(f"{r.mobile}\t{r.name}\t{r.source}")
    for left in res.rejected:
        click.echo(f"left out {left.given!r} ({left.source}): {left.reason}", err=True)
    click.echo(f"{len(res.recipients)} recipients, {len(res.rejected)} left out, "
               f"{len(res.duplicates)} duplicates dropped", err=True)
