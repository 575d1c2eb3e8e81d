"""Learning from curators, simulated: design accuracy after 0, 25, 50, 100 and 200 curated records.

The base model is trained as the packaged one is (the labelled set's tuning part, less its frozen fifth). Curators
then "correct or confirm" records drawn at random from texts it never saw (the frozen fifth and part of the held-out
part); each curated record becomes a training example with its labelled design, and the model is refitted. Every
model is scored on the same test texts (a fixed part of the held-out part, never curated). Repeated over several
random orders; the mean and range are reported. Held-out texts are used, so this runs once, for the report.

    python3 bench/learning_curve.py [--repeats 3] [--write]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

from evidence.classify import train  # noqa: E402
from evidence.classify.taxonomy import lowered  # noqa: E402
from evidence.labelled import classify_item, labelled_set  # noqa: E402

SIZES = (0, 25, 50, 100, 200)
TEST_SHARE = 4  # one held-out text in four is a test text; the others may be curated


def held_out_examples() -> list[train.Example]:
    """The held-out part's texts with a design, as examples (rules-only features)."""
    items = [i for i in labelled_set(train.DEFAULT_CORPUS, train.LABELS) if i.held_out and i.study_design]
    examples = []
    for item in items:
        result = classify_item(item, learned=False)
        body = item.text if not item.title or item.text.lstrip().startswith(item.title.strip()[:60]) else f"{item.title}\n\n{item.text}"
        examples.append(train.example_from(result, item.id, item.study_design, lowered(body), "curation"))
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tuning = train.labelled_examples()
    if not tuning:
        sys.exit(f"{train.DEFAULT_CORPUS} is missing")
    base = [e for e in tuning if not e.frozen]
    held = held_out_examples()
    test = [e for e in held if int(hashlib.sha1(f"test:{e.id}".encode()).hexdigest(), 16) % TEST_SHARE == 0]
    pool = [e for e in tuning if e.frozen] + [e for e in held if e not in test]
    rules = train.evaluate(None, test)
    rows: dict[int, list[train.Evaluation]] = {n: [] for n in SIZES}
    for repeat in range(args.repeats):
        order = pool[:]
        random.Random(repeat).shuffle(order)
        for n in SIZES:
            if n > len(order):
                continue
            if n == 0 and repeat:
                rows[0].append(rows[0][0])  # no curation: the same model whatever the order
                continue
            rows[n].append(train.evaluate(train.fit(base + order[:n]), test))
            print(f"repeat {repeat}, {n} curated: {rows[n][-1].line()}", file=sys.stderr)
    lines = [f"Learning curve: {len(base)} tuning texts, then n curated records drawn from {len(pool)} unseen texts; "
             f"scored on {len(test)} held-out test texts; mean (min-max) of {args.repeats} random orders", "",
             "| curated records | design accuracy | calibration error (ECE) | published without review | right when published |",
             "|---|---|---|---|---|",
             f"| rules alone | {rules.accuracy:.3f} | {rules.ece:.3f} | {rules.published_share:.2f} | {rules.published_accuracy:.3f} |"]
    for n, evaluations in rows.items():
        if not evaluations:
            continue
        acc = [e.accuracy for e in evaluations]
        lines.append(f"| {n} | {statistics.mean(acc):.3f} ({min(acc):.3f}-{max(acc):.3f}) | {statistics.mean(e.ece for e in evaluations):.3f} | "
                     f"{statistics.mean(e.published_share for e in evaluations):.2f} | {statistics.mean(e.published_accuracy for e in evaluations):.3f} |")
    report("\n".join(lines) + "\n", args.write)


if __name__ == "__main__":
    main()
