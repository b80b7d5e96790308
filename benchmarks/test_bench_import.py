"""Address-book import: a 100 000-row xlsx (``SMSDK_BENCH_IMPORT_ROWS`` to change it), read
lazily and written in batched transactions into a fresh workspace file each round.
benchmarks/import_load.py prints the same figure with the memory; docs/benchmarks.md has both."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from openpyxl import Workbook

from smsdk.workspace.books import Books
from smsdk.workspace.importer import import_contacts
from smsdk.workspace.store import Workspace

ROWS = int(os.environ.get("SMSDK_BENCH_IMPORT_ROWS", "100000"))


@pytest.fixture(scope="module")
def big_xlsx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("import") / "book.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("通讯录")
    ws.append(["姓名", "手机", "昵称", "备注"])
    for i in range(ROWS):
        ws.append([f"客户{i:06d}", 13000000000 + i * 7, f"昵称{i % 1000}", "批量导入"])
    wb.save(path)
    return path


def test_import_100k_xlsx(benchmark, big_xlsx, tmp_path):
    counter = itertools.count()

    def setup():
        ws = Workspace(tmp_path / f"ws{next(counter)}.sqlite3")
        return (Books(ws).public(), big_xlsx), {"group": "客户"}

    result = benchmark.pedantic(import_contacts, setup=setup, rounds=1, iterations=1)
    assert result.added == ROWS
