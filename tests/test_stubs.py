"""The type stubs of the re-exporting modules stay true to the implementations."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from smsdk import _layouts, _text_common

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "smsdk"


def _stub_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def test_codec_stub_is_generated_from_the_current_table():
    spec = importlib.util.spec_from_file_location("gen_codec_stub", ROOT / "tools" / "gen_codec_stub.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (SRC / "codec.pyi").read_text(encoding="utf-8") == gen.render(), \
        "run: python tools/gen_codec_stub.py"


def test_codec_stub_names_every_public_name():
    assert set(_layouts.CODEC_API) | {"COMPILED", "Dialect"} <= _stub_names(SRC / "codec.pyi")


def test_text_stub_names_every_public_name():
    assert set(_text_common.TEXT_API) | {"COMPILED"} <= _stub_names(SRC / "text.pyi")
