"""Shared by the benchmarks: where results are recorded."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_results(table: str) -> None:
    """Append a Markdown table (or section) to bench/RESULTS.md."""
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write("\n" + table.rstrip("\n") + "\n")


def report(table: str, write: bool) -> None:
    """Print a benchmark's table and, with --write, append it to bench/RESULTS.md."""
    print(table)
    if write:
        append_results(table)
