"""Message templates with the recipient's fields filled in (CLIENT-merge).

A template is text with ``{name}``, ``{nickname}`` and ``{remark}`` placeholders (the client's
"插入姓名、昵称、备注" buttons); ``{{`` and ``}}`` are literal braces.  Any other placeholder,
and a brace that opens or closes nothing, is a :class:`TemplateError` that says where.

Lengths are planned after filling in: each recipient's text goes through
:func:`smsdk.text.plan` (with the signature), so a long name that pushes a text into two SMS
is billed as two, and a text the platform would refuse is reported for that recipient.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, Union

from smsdk import text as text_mod
from smsdk.errors import PlanError
from smsdk.workspace.store import Workspace, WorkspaceError, component

FIELDS = ("name", "nickname", "remark")

SCHEMA = component(
    "templates",
    """
    CREATE TABLE templates (
        name       TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
)

NAME_MAX = 64
BODY_MAX = 1000


class TemplateError(WorkspaceError, ValueError):
    """A template that cannot be used: unknown placeholder, unbalanced brace, no such name."""


class HasFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def nickname(self) -> str: ...
    @property
    def remark(self) -> str: ...


Fields = Union[HasFields, Mapping[str, object]]


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and :class:`Field` pieces in order."""

    body: str
    pieces: tuple[str | Field, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """The placeholders used, each once, in order of first use."""
        seen: list[str] = []
        for p in self.pieces:
            if isinstance(p, Field) and p.name not in seen:
                seen.append(p.name)
        return tuple(seen)

    def fill(self, who: Fields) -> str:
        """The text for one recipient (a contact, a recipient, or a mapping); a missing or
        empty field fills in as nothing."""
        out = []
        for p in self.pieces:
            out.append(_value(who, p.name) if isinstance(p, Field) else p)
        return "".join(out)

    def plan(self, who: Fields, *, signature: str = "", mode: str = "concat") -> text_mod.Plan:
        """The SMS plan of the filled-in text (:class:`smsdk.errors.PlanError` when it cannot be sent)."""
        return text_mod.plan(self.fill(who), signature=signature, mode=mode)


def _value(who: Fields, field: str) -> str:
    if isinstance(who, Mapping):
        v = who.get(field)
    else:
        v = getattr(who, field, None)
    return "" if v is None else str(v)


def parse(body: str) -> Template:
    """Parse a template body; raises :class:`TemplateError` naming the position of a fault."""
    if not isinstance(body, str):
        raise TemplateError(f"a template is text, not {type(body).__name__}")
    if not body.strip():
        raise TemplateError("empty template")
    if len(body) > BODY_MAX:
        raise TemplateError(f"template longer than {BODY_MAX} characters")
    pieces: list[str | Field] = []
    buf: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "{":
            if body.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = body.find("}", i + 1)
            other = body.find("{", i + 1)
            if end < 0 or (0 <= other < end):
                raise TemplateError(f"unbalanced brace: '{{' at position {i + 1} is never closed "
                                    "(write {{ for a literal brace)")
            key = body[i + 1:end]
            if key.strip() not in FIELDS:
                known = ", ".join("{" + f + "}" for f in FIELDS)
                raise TemplateError(f"unknown placeholder {{{key}}} at position {i + 1}: the fields are {known}")
            if buf:
                pieces.append("".join(buf))
                buf = []
            pieces.append(Field(key.strip()))
            i = end + 1
        elif ch == "}":
            if body.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateError(f"unbalanced brace: '}}' at position {i + 1} closes nothing "
                                "(write }} for a literal brace)")
        else:
            buf.append(ch)
            i += 1
    if buf:
        pieces.append("".join(buf))
    return Template(body, tuple(pieces))


# -- planning a merge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """One recipient's filled-in text and its plan, or why it cannot be sent."""

    mobile: str
    text: str
    plan: text_mod.Plan | None
    error: str | None = None

    @property
    def sms(self) -> int:
        return 0 if self.plan is None else self.plan.sms_per_recipient


@dataclass(frozen=True)
class MergePlan:
    items: tuple[Merged, ...]

    @property
    def sendable(self) -> tuple[Merged, ...]:
        return tuple(m for m in self.items if m.plan is not None)

    @property
    def refused(self) -> tuple[Merged, ...]:
        return tuple(m for m in self.items if m.plan is None)

    @property
    def total_sms(self) -> int:
        return sum(m.sms for m in self.items)


def plan_merge(template: Template | str, recipients: Iterable[Fields], *, signature: str = "",
               mode: str = "concat") -> MergePlan:
    """Fill ``template`` in for every recipient (each needs a ``mobile``) and plan each text;
    a text that cannot be sent (too long after filling in ...) is kept with its error.
    Identical texts are planned once."""
    tpl = parse(template) if isinstance(template, str) else template
    cache: dict[str, text_mod.Plan | str] = {}
    items = []
    for who in recipients:
        text = tpl.fill(who)
        if text not in cache:
            try:
                cache[text] = text_mod.plan(text, signature=signature, mode=mode)
            except PlanError as e:
                cache[text] = str(e)
        got = cache[text]
        mobile = _value(who, "mobile")
        if isinstance(got, str):
            items.append(Merged(mobile, text, None, got))
        else:
            items.append(Merged(mobile, text, got))
    return MergePlan(tuple(items))


# -- stored templates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    name: str
    body: str
    created_at: float
    updated_at: float

    @property
    def template(self) -> Template:
        return parse(self.body)


class Templates:
    """Named templates kept in the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        ws.ensure(SCHEMA)

    def save(self, name: str, body: str) -> Stored:
        """Create or replace the template ``name`` (the body is checked first)."""
        name = str(name).strip()
        if not name:
            raise TemplateError("a template needs a name")
        if len(name) > NAME_MAX:
            raise TemplateError(f"template name longer than {NAME_MAX} characters")
        parse(body)
        now = self.ws.now()
        with self.ws.transaction() as db:
            db.execute("INSERT INTO templates (name, body, created_at, updated_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                       (name, body, now, now))
        return self.get(name)

    def get(self, name: str) -> Stored:
        row = self.ws.db.execute("SELECT * FROM templates WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise TemplateError(f"no template {name!r}")
        return _stored(row)

    def list(self) -> list[Stored]:
        return [_stored(r) for r in self.ws.db.execute("SELECT * FROM templates ORDER BY name")]

    def delete(self, name: str) -> None:
        self.get(name)
        with self.ws.transaction() as db:
            db.execute("DELETE FROM templates WHERE name = ?", (name,))


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(row["name"], row["body"], row["created_at"], row["updated_at"])
