"""What a type checker sees of the public API: mypy, under the project's settings, on one
snippet (a few seconds)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")  # in the test and dev extras

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = """
    import smsdk
    from smsdk import codec, text
    from smsdk.frozen_dataclass import frozen

    reveal_type(smsdk.Client)                       # line 6
    reveal_type(codec.Submit().dest_terminal_id)    # line 7
    reveal_type(text.plan("hi").parts)              # line 8
    smsdk.Clinet                                    # line 9: misspelt

    @frozen
    class Reading:
        number: str
        status: str = "DELIVRD"

    r = Reading("13800138000")
    reveal_type(r.status)                           # line 17
    Reading(number=1)                               # line 18: not a str
    r.status = "UNDELIV"                            # line 19: frozen
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """mypy's messages on SNIPPET by line, module names dropped (``builtins.str`` → ``str``)."""
    tmp = tmp_path_factory.mktemp("typing")
    snippet = tmp / "snippet.py"
    snippet.write_text(textwrap.dedent(SNIPPET), encoding="utf-8")  # line 1 is empty
    out, err, _status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp / "cache"),
        "--no-error-summary", "--hide-error-context", str(snippet),
    ])
    assert not err, err
    by_line: dict[int, list[str]] = {}
    for line in out.splitlines():
        m = re.match(r"(?:.*[/\\])?snippet\.py:(\d+): (.*)", line)  # the path may be relative
        if m:
            by_line.setdefault(int(m[1]), []).append(re.sub(r"\bbuiltins\.", "", m[2]))
    return by_line


def test_smsdk_client_is_the_class_not_any(report):
    assert report[6][0].endswith('-> smsdk.client.Client"'), report[6]


def test_a_misspelt_name_is_an_error_despite_the_lazy_getattr(report):
    assert 'has no attribute "Clinet"' in report[9][0], report.get(9)


def test_reexported_codec_and_text_names_are_typed(report):
    assert report[7] == ['note: Revealed type is "tuple[str, ...]"']
    assert report[8] == ['note: Revealed type is "tuple[smsdk.text.Part, ...]"']


def test_frozen_classes_are_frozen_dataclasses_to_a_type_checker(report):
    assert report[17] == ['note: Revealed type is "str"']
    assert "[arg-type]" in report[18][0], report.get(18)
    assert "read-only" in report[19][0] or "frozen" in report[19][0], report.get(19)
    assert set(report) == {6, 7, 8, 9, 17, 18, 19}, report
