"""smsdk._frozen.frozen: the same frozen dataclass, made cheaply (defaults included)."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from smsdk._frozen import frozen


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
