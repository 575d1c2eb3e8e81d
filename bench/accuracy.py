"""Classifier accuracy on the labelled set (evidence/labelled.py), reported on the held-out part.

Prints per-field figures and the study-design confusion matrix; --write appends them to bench/RESULTS.md.
--tuning shows the tuning part instead (the only part to look at while changing rules).
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"

from evidence.classify import classify  # noqa: E402
from evidence.classify.design import EVIDENCE_LEVELS  # noqa: E402
from evidence.labelled import labelled_set  # noqa: E402


def micro_f1(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float, float]:
    tp = sum(len(gold & found) for gold, found in pairs)
    fp = sum(len(found - gold) for gold, found in pairs)
    fn = sum(len(gold - found) for gold, found in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(items, show_errors: bool = False) -> str:
    designs, levels, directions, interventions, outcomes = [], [], [], [], []
    for item in items:
        result = classify(item.text, title=item.title, doc_type=item.doc_type, publisher=item.publisher)
        if item.study_design:
            designs.append((item.study_design, result.study_design))
            levels.append((EVIDENCE_LEVELS[item.study_design], result.evidence_level))
            if show_errors and item.study_design != result.study_design:
                print(f"  {item.id} ({item.origin}): gold {item.study_design}, got {result.study_design} "
                      f"[{', '.join(r['phrase'] for r in result.rationale[:3])}] {item.extra}", file=sys.stderr)
        if item.direction:
            directions.append((item.direction, result.direction))
            if show_errors and item.direction != result.direction:
                print(f"  {item.id}: direction gold {item.direction}, got {result.direction}", file=sys.stderr)
        for gold, found, name in ((item.interventions, result.interventions, "interventions"), (item.outcomes, result.outcomes, "outcomes")):
            if gold is None:
                continue
            (interventions if name == "interventions" else outcomes).append((gold, {t.id for t in found}))
            if show_errors and gold != {t.id for t in found}:
                extra = [f"{t.id}<{t.evidence[0]['phrase'] if t.evidence else ''}>" for t in found if t.id not in gold]
                print(f"  {item.id}: {name} missing {sorted(gold - {t.id for t in found})}, extra {extra}", file=sys.stderr)
    lines = ["| field | n | result |", "|---|---|---|"]
    accuracy = lambda pairs: sum(g == f for g, f in pairs) / len(pairs) if pairs else float("nan")  # noqa: E731
    lines.append(f"| study design accuracy | {len(designs)} | {accuracy(designs):.2f} |")
    lines.append(f"| evidence level accuracy | {len(levels)} | {accuracy(levels):.2f} |")
    lines.append(f"| direction accuracy | {len(directions)} | {accuracy(directions):.2f} |")
    for name, pairs in (("intervention", interventions), ("outcome", outcomes)):
        p, r, f = micro_f1(pairs)
        lines.append(f"| {name} micro-F1 (precision / recall) | {len(pairs)} | {f:.2f} ({p:.2f} / {r:.2f}) |")
    labels = [d for d in EVIDENCE_LEVELS if any(d in pair for pair in designs)]
    matrix = collections.Counter(designs)
    lines += ["", "Study design confusion (rows: gold, columns: classified)", "",
              "| gold \\ got | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for gold in labels:
        lines.append(f"| {gold} | " + " | ".join(str(matrix[(gold, got)] or "") for got in labels) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tuning", action="store_true", help="measure the tuning part (and list its errors)")
    parser.add_argument("--write", action="store_true", help="append the held-out figures to bench/RESULTS.md")
    parser.add_argument("--origin", help="only texts of this origin (uk_cse, pubmed, clinicaltrials.gov, europepmc, seed)")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: the labelled set is read from ../shared/corpus")
    items = labelled_set(CORPUS, ROOT / "tests" / "fixtures" / "labels" / "uk_cse.yaml")
    part = [i for i in items if i.held_out != args.tuning and (not args.origin or i.origin == args.origin)]
    origins = collections.Counter(i.origin for i in part)
    header = (f"Classifier accuracy, {'tuning' if args.tuning else 'held-out'} part: {len(part)} of {len(items)} labelled texts "
              f"({', '.join(f'{n} {o}' for o, n in origins.most_common())})\n")
    table = header + "\n" + evaluate(part, show_errors=args.tuning)
    report(table, args.write and not args.tuning)


if __name__ == "__main__":
    main()
