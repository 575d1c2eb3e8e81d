"""Screening benchmark (issue 15): replay screening over the project's labelled texts plus off-topic ones.

The set is built at run time from ../shared/corpus (evidence/screen/dataset.py) with the hand inclusion labels of
tests/fixtures/screening/inclusion.yaml, written to an ASReview dataset CSV in a temporary folder and replayed with
`evidence screen simulate`. A stable hash of each text's id splits it: ~30% for choosing the model (tuning), the rest
held out. Prints WSS@95, recall after 10% and 25%, the rules alone, the model from a pseudo-random start, and the
queue's estimate of what is left; draws bench/screening-recall.png. --write appends the tables to bench/RESULTS.md.

    python3 bench/screen_bench.py [--part all|tuning|held-out] [--compare] [--write]
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

from evidence.config import Scope  # noqa: E402
from evidence.screen.dataset import labelled_screening_set, write_asreview_csv  # noqa: E402
from evidence.screen.model import ModelSettings, model_text, tie_key  # noqa: E402
from evidence.screen.rules import screen_text  # noqa: E402
from evidence.screen.simulate import LabelledRecord, plot_recall, recall_after, simulate, wss  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures"


def held_out(text_id: str) -> bool:
    """The part never used to choose the model."""
    return int(hashlib.sha1(text_id.encode()).hexdigest(), 16) % 10 >= 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "tuning", "held-out"], default="all")
    parser.add_argument("--compare", action="store_true", help="also naive Bayes vs logistic regression, and no rules' prior")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = labelled_screening_set(CORPUS, FIXTURES / "labels" / "uk_cse.yaml", FIXTURES / "screening" / "inclusion.yaml")
    if args.part != "all":
        rows = [r for r in rows if held_out(r[0].id) == (args.part == "held-out")]
    with tempfile.TemporaryDirectory() as folder:
        csv_path = write_asreview_csv(rows, Path(folder) / "screening-benchmark.csv")
        started = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "evidence.cli", "screen", "simulate", "--labels", str(csv_path), "--no-plot"],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        seconds = time.perf_counter() - started
    scope = Scope()
    records = [LabelledRecord(t.title, t.abstract, label, screen_text(scope, t.title, t.abstract).score) for t, label in rows]
    result = simulate(records)
    plot = plot_recall(result, ROOT / "bench" / "screening-recall.png", f"Screening benchmark ({args.part})")
    origins: dict[str, list[int]] = {}
    for text, label in rows:
        origins.setdefault(text.origin, [0, 0])[label] += 1
    order = sorted(range(len(records)), key=lambda i: (-records[i].prior, tie_key(model_text(records[i].title, records[i].abstract))))
    rules_only = [records[i].label for i in order]
    lines = [f"| screening benchmark, part `{args.part}`: {result.records} texts, {result.relevant} relevant | value |", "|---|---|",
             f"| WSS@95 (`evidence screen simulate`, last line) | {cli.stdout.strip().splitlines()[-1].split()[-1]} |",
             f"| recall after 10% screened | {result.recall_10:.1%} |", f"| recall after 25% screened | {result.recall_25:.1%} |",
             f"| screened for 95% recall | {result.screened_at_95} ({result.screened_at_95 / result.records:.1%}) |",
             f"| rules' relevance alone, no model: WSS@95 | {wss(rules_only):.1%} (recall after 10%: {recall_after(rules_only, 0.10):.1%}) |",
             f"| model | {result.model} |", f"| simulation wall time (CLI, incl. start-up) | {seconds:.1f} s |",
             "| texts by origin (irrelevant / relevant) | " + ", ".join(f"{o} {n[0]}/{n[1]}" for o, n in sorted(origins.items())) + " |"]
    estimates = ["", "| after screening | estimated relevant left | truly left |", "|---|---|---|"]
    estimates += [f"| {e['screened']:.0f} | {e['estimated_left']:.0f} | {e['true_left']:.0f} |" for e in result.estimates[::2]]
    tables = "\n".join(lines + estimates)
    if args.compare:
        compare = ["", "| variant | WSS@95 | recall@10% | recall@25% |", "|---|---|---|---|"]
        unordered = [LabelledRecord(r.title, r.abstract, r.label, 0.0) for r in records]
        for label, settings, recs in (("naive Bayes, rules' prior (default)", ModelSettings(), records),
                                      ("logistic regression C=1, rules' prior", ModelSettings(classifier="logistic", c=1.0), records),
                                      ("naive Bayes, no prior (pseudo-random start)", ModelSettings(), unordered)):
            r = simulate(recs, settings)
            compare.append(f"| {label} | {r.wss95:.1%} | {r.recall_10:.1%} | {r.recall_25:.1%} |")
        tables += "\n" + "\n".join(compare)
    report(tables + f"\n\nRecall curve: `{plot.relative_to(ROOT)}`.", args.write)


if __name__ == "__main__":
    main()
