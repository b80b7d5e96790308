"""smsdk.frozen_dataclass.frozen: the same frozen dataclass, made cheaply (defaults included)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle

import pytest

from smsdk.frozen_dataclass import frozen


@frozen
class Point:
    x: int
    y: int = 7
    label: str = ""


def test_defaults_positional_and_keywords_like_a_dataclass() -> None:
    assert Point(1) == Point(x=1, y=7, label="")
    assert Point(1, 2, "a") == Point(label="a", y=2, x=1)
    assert repr(Point(1)) == "Point(x=1, y=7, label='')"
    assert dataclasses.is_dataclass(Point) and [f.name for f in dataclasses.fields(Point)] == ["x", "y", "label"]
    assert dataclasses.replace(Point(1), y=3) == Point(1, 3)
    assert dataclasses.asdict(Point(1, 2)) == {"x": 1, "y": 2, "label": ""}
    assert pickle.loads(pickle.dumps(Point(1, 2, "b"))) == Point(1, 2, "b")
    assert hash(Point(1)) == hash(Point(1, 7, ""))


def test_still_frozen_and_slotted() -> None:
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    assert not hasattr(p, "__dict__")


def test_wrong_arguments_are_refused_like_any_function() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, "a", 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]


def test_what_it_does_not_support_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="plain fields"):
        @frozen
        class WithFactory:
            items: list = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="__post_init__"):
        @frozen
        class WithPostInit:
            x: int

            def __post_init__(self) -> None:
                pass


@frozen
class Report:
    """Four fields and more: made through the mutable twin, then switched to this class."""

    msg_id: int
    stat: str
    number: str
    sequence: int = 0
    src: str = ""


class Labelled(Report):
    """A subclass (with a __dict__, so another layout): made field by field instead."""

    def label(self) -> str:
        return f"{self.number}:{self.stat}"


def test_many_fields_behave_like_the_stock_dataclass() -> None:
    stock = dataclasses.dataclass(frozen=True, slots=True)(
        type("Report", (), {"__annotations__": dict(Report.__annotations__),
                            "sequence": 0, "src": ""}))
    r = Report(1, "DELIVRD", "13800000000", src="106")
    s = stock(1, "DELIVRD", "13800000000", src="106")
    assert type(r) is Report and not hasattr(r, "__dict__")
    assert repr(r) == repr(s) == "Report(msg_id=1, stat='DELIVRD', number='13800000000', sequence=0, src='106')"
    assert dataclasses.astuple(r) == dataclasses.astuple(s)
    assert r == Report(msg_id=1, stat="DELIVRD", number="13800000000", sequence=0, src="106")
    assert r != Report(2, "DELIVRD", "13800000000", src="106")
    assert hash(r) == hash(Report(1, "DELIVRD", "13800000000", 0, "106"))
    assert dataclasses.replace(r, stat="UNDELIV") == Report(1, "UNDELIV", "13800000000", 0, "106")
    assert pickle.loads(pickle.dumps(r)) == r and type(pickle.loads(pickle.dumps(r))) is Report
    assert copy.copy(r) == r and copy.deepcopy(r) == r
    assert str(inspect.signature(Report)) == str(inspect.signature(stock))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.stat = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.stat  # type: ignore[misc]
    for bad in [(), (1, "a"), (1, "a", "b", 0, "", "extra")]:
        with pytest.raises(TypeError):
            Report(*bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Report(1, "a", "b", nope=1)  # type: ignore[call-arg]


def test_a_subclass_is_made_field_by_field_and_keeps_its_own_class() -> None:
    x = Labelled(1, "DELIVRD", "13800000000")
    assert type(x) is Labelled and x.label() == "13800000000:DELIVRD"
    assert x.sequence == 0 and x.src == ""
    assert pickle.loads(pickle.dumps(x)) == x
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.stat = "X"  # type: ignore[misc]


def test_bases_with_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="base class"):
        @frozen
        class Extended(Report):
            extra: int = 0
