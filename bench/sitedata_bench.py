"""Site data figures (issue 14 items 1-3, 6, 7): the demo's map from pairs against the old crossing of tags, its
ratings, and the CPU time of the build's three stages at 10,000 synthetic records with pairs.

    PYTHONPATH=$PWD python3 bench/sitedata_bench.py [--sizes 10000] [--runs 3]
    PYTHONPATH=/work/main python3 bench/sitedata_bench.py --stages-only     # the same stages on another checkout

Stages are timed as process CPU time (time.process_time), medians of --runs, so a loaded machine skews them less
than wall time. Run it against another checkout with PYTHONPATH=/path/to/checkout to compare.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def demo_figures(work: Path) -> dict[str, object]:
    from click.testing import CliRunner

    from evidence.cli import cli
    from evidence.publish import build

    assert CliRunner().invoke(cli, ["demo", "--out", str(work / "demo")]).exit_code == 0
    data = build.load(str(work / "demo" / "catalogue.db"))
    crossed = {(i, o) for m in data.map_records if m.on_map for i in m.interventions if i in data.interventions
               for o in m.outcomes if o in data.outcomes}
    studies = {k for k, c in data.cells.items() if c.studies}
    context_only = {k for k, c in data.cells.items() if c.context and not c.studies}
    return {"records": len(data.rows), "cells": len(data.cells), "crossing_fills": len(crossed), "pairs_fill_with_studies": len(studies),
            "context_only_cells": len(context_only), "emptied": sorted(crossed - studies - context_only),
            "no_effect_cells": sum(c.no_effect for c in data.cells.values()),
            "overall_ratings": dict(Counter(r.id for r in data.ratings.values())),
            "cell_ratings": dict(Counter(c.rating.id for c in data.cells.values() if c.rating)),
            "records_per_overall_rating": {i: len({x.id for x in r.records}) for i, r in data.ratings.items() if r.records},
            "flow": data.flow}


def synthetic(db: str, n: int) -> None:
    from site_bench import make_catalogue

    make_catalogue(db, n)
    conn = sqlite3.connect(db)
    tags: dict[str, dict[str, list[str]]] = {}
    for rid, kind, tag in conn.execute("select record_id, kind, tag from recordtag"):
        tags.setdefault(rid, {}).setdefault(kind, []).append(tag)
    for rid, t in tags.items():  # each record: its interventions x its first two outcomes
        pairs = [{"intervention": i, "outcome": o, "direction": "positive", "confidence": 0.6, "phrase": "x improved y", "start": 0,
                  "end": 1, "basis": "sentence"} for i in t.get("intervention", []) for o in t.get("outcome", [])[:2]]
        conn.execute("update record set classification=?, inclusion='included', needs_review=0 where id=?",
                     (json.dumps({"rationale_offsets": [], "pairs": pairs}), rid))
    conn.commit()
    conn.close()


def stage_times(db: str, runs: int) -> dict[str, float]:
    from evidence.publish import build

    found: dict[str, list[float]] = {"load": [], "render": [], "downloads": []}
    for _ in range(runs):
        start = time.process_time()
        data = build.load(db)
        found["load"].append(time.process_time() - start)
        start = time.process_time()
        build.render(data)
        found["render"].append(time.process_time() - start)
        start = time.process_time()
        build.downloads(data)
        found["downloads"].append(time.process_time() - start)
    return {k: round(statistics.median(v), 2) for k, v in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages-only", action="store_true", help="only the stage times (runs on a checkout without pairs too)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.stages_only:
            print(json.dumps({"demo": demo_figures(work)}, indent=1, default=str))
        for n in (int(s) for s in args.sizes.split(",")):
            db = str(work / f"synthetic-{n}.db")
            synthetic(db, n)
            print(json.dumps({"records": n, "cpu_seconds": stage_times(db, args.runs)}))


if __name__ == "__main__":
    main()
