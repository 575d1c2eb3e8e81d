"""How long `evidence demo` takes: the whole command in a fresh process, into a fresh folder, N times.

Reports the median, fastest and slowest wall-clock time of the command, and, from one in-process run, how it
splits between loading the recorded answers, harvesting them (fetch replay, extraction, classification, storage)
and building the site with its search index. --write appends the table to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

from evidence.api import Catalogue  # noqa: E402
from evidence.capture import CaptureStore  # noqa: E402
from evidence.config import load_config  # noqa: E402
from evidence.demo_data import DEMO_DIR, load_demo_captures  # noqa: E402


def command_seconds(runs: int) -> list[float]:
    """Wall-clock seconds of `python3 -m evidence.cli demo --out <fresh folder>`, one process per run."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "evidence.cli", "demo", "--out", folder], cwd=ROOT, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"evidence demo exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return times


def stages() -> dict[str, float]:
    """Seconds per stage of one demo, in this process (imports already paid)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        start = time.perf_counter()
        load_demo_captures(CaptureStore(out / "captures"))
        loaded = time.perf_counter()
        config = load_config(DEMO_DIR / "sources.yaml")
        with Catalogue(str(out / "catalogue.db"), create=True) as cat:
            cat.harvest(config, captures=out / "captures", offline=True, curation_file=str(DEMO_DIR / "curation.yaml"))
            harvested = time.perf_counter()
            cat.build(out / "site", search=False)
            built = time.perf_counter()
            cat.build(out / "site2", search=True)
            indexed = time.perf_counter()
    return {"load answers": loaded - start, "harvest": harvested - loaded, "build (no search)": built - harvested,
            "build with search index": indexed - built}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    args = parser.parse_args()
    times = command_seconds(args.runs)
    split = stages()
    lines = [f"### `evidence demo` ({args.runs} runs, fresh process and folder each): `python3 bench/demo_bench.py`", "",
             "| measure | seconds |", "|---|---|",
             f"| whole command, median | {statistics.median(times):.2f} |",
             f"| whole command, fastest / slowest | {min(times):.2f} / {max(times):.2f} |"]
    lines += [f"| one run in process: {name} | {seconds:.2f} |" for name, seconds in split.items()]
    report("\n".join(lines), args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
