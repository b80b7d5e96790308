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


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_codec_stub_is_generated_from_the_current_table():
    assert (SRC / "codec.pyi").read_text(encoding="utf-8") == _tool("gen_codec_stub").render(), \
        "run: python tools/gen_codec_stub.py"


def test_compiled_record_classes_are_generated_from_the_current_table():
    rendered = _tool("gen_codec_records").render()
    assert set(rendered) == {"_records.pxi", "_records_sizes.pxi"}
    for name, text in rendered.items():
        assert (SRC / name).read_text(encoding="utf-8") == text, "run: python tools/gen_codec_records.py"


def test_codec_includes_the_generated_records():
    source = (SRC / "_codec.pyx").read_text(encoding="utf-8")
    assert 'include "_records.pxi"' in source and 'include "_records_sizes.pxi"' in source
    # no hand copy left next to the include
    assert "cdef class Connect(" not in source and "N_RECORDS = " not in source


def test_the_record_generator_follows_the_table(monkeypatch):
    """A change to the table shows in the generated text (the generator is not a fixed copy)."""
    gen = _tool("gen_codec_records")
    spec = gen.L.RECORDS[-1]
    grown = spec._replace(fields=spec.fields + (("extra_field", _layouts.T_INT, 0),))
    monkeypatch.setattr(gen.L, "RECORDS", gen.L.RECORDS[:-1] + (grown,))
    rendered = gen.render()
    assert "    def extra_field(self):\n        return _get(self, 6)" in rendered["_records.pxi"]
    assert "cdef PyObject *_slots[7]" in rendered["_records.pxi"]


def test_codec_stub_names_every_public_name():
    assert set(_layouts.CODEC_API) | {"COMPILED", "Dialect"} <= _stub_names(SRC / "codec.pyi")


def test_text_stub_names_every_public_name():
    assert set(_text_common.TEXT_API) | {"COMPILED"} <= _stub_names(SRC / "text.pyi")
