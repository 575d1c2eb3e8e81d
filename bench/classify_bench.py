"""Classifier throughput: summaries of about 2 KB classified per second on one core (median of runs).

The summaries are 2 KB windows of the seed documents (real text), cycled; --write appends to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

SEEDS = ROOT.parent / "shared" / "corpus" / "seeds"

from evidence.classify import classify  # noqa: E402


def summaries() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    if not texts:
        sys.exit(f"{SEEDS} is missing")
    windows = []
    for text in texts:
        for start in range(0, max(1, len(text) - 2048), 2048):
            windows.append(text[start : start + 2048])
    return windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    pool = summaries()
    batch = [pool[i % len(pool)] for i in range(args.count)]
    classify(batch[0])
    rates = []
    for _ in range(args.repeat):
        started = time.process_time()  # CPU time of this one process: one core
        for text in batch:
            classify(text)
        rates.append(len(batch) / (time.process_time() - started))
    table = (f"| classifier: {args.count} summaries of 2 KB ({len(pool)} distinct windows of the seeds), median of {args.repeat} | value | target |\n"
             f"|---|---|---|\n| summaries per second, one core | {statistics.median(rates):.0f} | >= 1000 |\n")
    report(table, args.write)


if __name__ == "__main__":
    main()
