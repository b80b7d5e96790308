"""Benchmarks measure, never assert.  Each runs against the compiled module and its twin.

Run: ``make bench`` (``pytest benchmarks --benchmark-only``).  Results go in
docs/benchmarks.md.
"""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture(params=["compiled", "twin"])
def codec_impl(request):
    name = "smsdk._codec" if request.param == "compiled" else "smsdk._codec_py"
    return importlib.import_module(name)


@pytest.fixture(params=["compiled", "twin"])
def split_impl(request):
    name = "smsdk._split" if request.param == "compiled" else "smsdk._split_py"
    return importlib.import_module(name)


@pytest.fixture(params=["compiled", "twin"])
def msgid_impl(request):
    name = "smsdk._msgid" if request.param == "compiled" else "smsdk._msgid_py"
    return importlib.import_module(name)
