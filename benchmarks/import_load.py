"""Import a generated address book of N rows (default 100 000) and print the figures.

    python benchmarks/import_load.py [--rows 100000] [--format xlsx|csv] [--json FILE]

Generates ``name, mobile, nickname, remark`` rows (every name distinct, as in a real book) into
a temporary xlsx (openpyxl write-only) or csv, imports them into a fresh workspace file with a
rich progress bar on a terminal, imports the same file again (every row an exact duplicate,
FAQ-5.2.7), and prints rows/s for both and the process's peak resident memory (Linux: the
import streams the rows, so it stays far below the file's size unpacked).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from smsdk.workspace.books import Books
from smsdk.workspace.importer import import_contacts
from smsdk.workspace.store import Workspace


def generate(path: Path, rows: int, fmt: str) -> None:
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("通讯录")
        ws.append(["姓名", "手机", "昵称", "备注"])
        for i in range(rows):
            ws.append([f"客户{i:06d}", 13000000000 + i * 7, f"昵称{i % 1000}", "批量导入"])
        wb.save(path)
    else:
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write("姓名,手机,昵称,备注\r\n")
            for i in range(rows):
                fh.write(f"客户{i:06d},{13000000000 + i * 7},昵称{i % 1000},批量导入\r\n")


def run(rows: int, fmt: str, progress: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="smsdk-import-") as tmp:
        src = Path(tmp) / f"book.{fmt}"
        t0 = time.perf_counter()
        generate(src, rows, fmt)
        gen_s = time.perf_counter() - t0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with Workspace(Path(tmp) / "ws.sqlite3") as ws:
            book = Books(ws).public()
            report = None
            bar = None
            if progress:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                bar = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
                task = bar.add_task("import", total=None)
                bar.start()

                def report(done: int, total: int | None) -> None:
                    bar.update(task, completed=done, total=total)

            t0 = time.perf_counter()
            first = import_contacts(book, src, group="客户", progress=report)
            first_s = time.perf_counter() - t0
            if bar is not None:
                bar.stop()
            t0 = time.perf_counter()
            second = import_contacts(book, src, group="客户")
            second_s = time.perf_counter() - t0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {
            "rows": rows, "format": fmt, "file_bytes": src.stat().st_size if src.exists() else None,
            "generate_s": round(gen_s, 2),
            "import_s": round(first_s, 2), "rows_per_s": round(rows / first_s),
            "added": first.added,
            "reimport_s": round(second_s, 2), "reimport_rows_per_s": round(rows / second_s),
            "existing": second.existing,
            "peak_rss_mb": round(rss_after / 1024, 1), "rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    result = run(args.rows, args.format, progress=sys.stderr.isatty())
    print(f"{result['rows']} rows ({result['format']}): import {result['import_s']} s "
          f"({result['rows_per_s']} rows/s, {result['added']} added); again {result['reimport_s']} s "
          f"({result['reimport_rows_per_s']} rows/s, {result['existing']} kept as exact duplicates); "
          f"peak RSS {result['peak_rss_mb']} MB (+{result['rss_growth_mb']} MB while importing)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = result["added"] == result["existing"] == args.rows
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
