"""The type stubs of the re-exporting modules stay true to the implementations."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

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


# -- the re-exporting modules name every name of both implementations, one by one ------------

_REEXPORTS = {
    # module: (compiled, twin, the table of its names, names of its own)
    "codec": ("smsdk._codec", "smsdk._codec_py", _layouts.CODEC_API, {"COMPILED", "Dialect"}),
    "text": ("smsdk._split", "smsdk._split_py", _text_common.TEXT_API, {"COMPILED"}),
}


def _implementation_names(module: object) -> set[str]:
    names = getattr(module, "TEXT_API", None) or module.__all__
    return {name for name in names if hasattr(module, name)}


@pytest.mark.parametrize("name", sorted(_REEXPORTS))
def test_compiled_and_twin_expose_the_same_names(name):
    compiled_name, twin_name, table, _own = _REEXPORTS[name]
    compiled = pytest.importorskip(compiled_name)  # built by `make install`
    twin = importlib.import_module(twin_name)
    assert _implementation_names(compiled) == _implementation_names(twin) == set(table)


def _explicit_reexports(path: Path) -> dict[str, str]:
    """``name = _impl.attr`` assignments at the top level of a module."""
    found = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "_impl"):
            found[node.targets[0].id] = node.value.attr
    return found


@pytest.mark.parametrize("name", sorted(_REEXPORTS))
def test_reexports_are_explicit_and_complete(name):
    """codec.py / text.py name each public name (no globals().update), exactly the table's,
    and each is the chosen implementation's object; __all__ and the stub agree."""
    _compiled, _twin, table, own = _REEXPORTS[name]
    source = SRC / f"{name}.py"
    assert "globals()" not in source.read_text(encoding="utf-8")
    explicit = _explicit_reexports(source)
    assert explicit == {n: n for n in table}
    module = importlib.import_module(f"smsdk.{name}")
    for attr in table:
        assert getattr(module, attr) is getattr(module._impl, attr), attr
    assert sorted(module.__all__) == sorted(own | set(table))
    assert set(module.__all__) <= _stub_names(SRC / f"{name}.pyi")
