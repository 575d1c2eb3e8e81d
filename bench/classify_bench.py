"""Classifier throughput: summaries of about 2 KB classified per second on one core (median of runs).

The summaries are 2 KB windows of the seed documents (real text), cycled; --write appends to bench/RESULTS.md.

    python3 bench/classify_bench.py                          # throughput, median of 5
    python3 bench/classify_bench.py --golden /tmp/golden.json  # write every output once, then compare to it

--golden keeps a speed change honest: the first run writes the full classification (every field, phrases with
offsets, confidences, pairs, needs_review, the learned layer's features) of every labelled text (with and without
its metadata, with and without the learned layer), every benchmark window and every demo record to the file
(outside the repository: it holds ../shared text); later runs compare against it and list the texts that differ.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SEEDS = CORPUS / "seeds"
LABELS = ROOT / "tests" / "fixtures" / "labels" / "uk_cse.yaml"

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


def golden_inputs() -> list[dict[str, Any]]:
    """Every input the golden file covers: (name, text, classify's keyword arguments)."""
    from evidence.labelled import labelled_set

    inputs = []
    for item in labelled_set(CORPUS, LABELS):
        meta = {"doc_type": item.doc_type, "publisher": item.publisher, "metadata": item.metadata}
        for mode, kwargs in (("meta", {"title": item.title, **meta}), ("text", {"title": item.title})):
            for learned in (True, False):
                inputs.append({"name": f"{item.id}:{mode}:{'learned' if learned else 'rules'}", "text": item.text,
                               "kwargs": {**kwargs, "learned": learned}})
    for n, text in enumerate(summaries()):
        inputs.append({"name": f"window:{n}", "text": text, "kwargs": {}})
    inputs += demo_inputs()
    return inputs


def demo_inputs() -> list[dict[str, Any]]:
    """What `classify_record` hands the classifier for every record of the demo's catalogue (harvested offline)."""
    from sqlmodel import Session, select

    from evidence.api import Catalogue
    from evidence.capture import CaptureStore
    from evidence.classify.apply import record_text
    from evidence.config import load_config
    from evidence.demo_data import DEMO_DIR, load_demo_captures
    from evidence.models import Record

    inputs = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        load_demo_captures(CaptureStore(out / "captures"))
        with Catalogue(str(out / "catalogue.db"), create=True) as cat:
            cat.harvest(load_config(DEMO_DIR / "sources.yaml"), captures=out / "captures", offline=True,
                        curation_file=str(DEMO_DIR / "curation.yaml"))
            with Session(cat.engine) as session:
                for record in session.exec(select(Record).order_by(Record.url)).all():
                    derived = (record.classification or {}).get("doc_type_derived")
                    doc_type = None if derived and record.doc_type == derived else record.doc_type
                    inputs.append({"name": f"demo:{record.url}", "text": record_text(record),
                                   "kwargs": {"title": record.title, "doc_type": doc_type, "publisher": record.publisher,
                                              "metadata": record.extra if isinstance(record.extra, dict) else {}}})
    return inputs


def output_of(text: str, kwargs: dict[str, Any]) -> Any:
    """The classification as JSON data: as_dict() and the learned layer's input features."""
    result = classify(text, **kwargs)
    return json.loads(json.dumps({**result.as_dict(), "features": result.features}, sort_keys=True, default=str))


def golden(path: Path) -> int:
    """Write the golden file when it is absent, else compare every output to it; returns the exit status."""
    if not path.exists():
        inputs = golden_inputs()
        for entry in inputs:
            entry["output"] = output_of(entry["text"], entry["kwargs"])
        path.write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
        print(f"{path}: wrote the outputs of {len(inputs)} classifications")
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))
    differ = [e["name"] for e in entries if output_of(e["text"], e["kwargs"]) != e["output"]]
    for name in differ[:20]:
        print(f"{path}: differs: {name}")
    print(f"{path}: {len(entries) - len(differ)} of {len(entries)} classifications identical")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--golden", type=Path, help="write every output to this file, or compare to it when it exists")
    args = parser.parse_args()
    if args.golden:
        sys.exit(golden(args.golden))
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
