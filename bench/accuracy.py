"""Classifier accuracy on the labelled set (evidence/labelled.py): the held-out part, measured once for the report.

    python3 bench/accuracy.py --tuning             # the tuning part, errors listed (the only part to look at while tuning)
    python3 bench/accuracy.py                      # the held-out part: per field, confusion, calibration, review share
    python3 bench/accuracy.py --code /tmp/before   # the same labels classified by another checkout's code ("before")
    python3 bench/accuracy.py --text-only          # without the source's metadata (text, title and nothing else)
    python3 bench/accuracy.py --write              # append the figures to bench/RESULTS.md

Texts are classified as a harvest would classify them: with their doc_type, publisher and the source's metadata
(publication types, registry design fields, GOV.UK document types) unless --text-only.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from results import report  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
LABELS = ROOT / "tests" / "fixtures" / "labels" / "uk_cse.yaml"

from evidence.classify.design import EVIDENCE_LEVELS  # noqa: E402
from evidence.labelled import LabelledText, classify_item, labelled_set  # noqa: E402

# Run by --code in a subprocess with another checkout first on sys.path: classify each item with that code.
_OTHER_CODE = r"""
import inspect, json, sys
from evidence.classify import classify
accepts = set(inspect.signature(classify).parameters)
out = []
for item in json.load(sys.stdin):
    kwargs = {k: v for k, v in item["kwargs"].items() if k in accepts}
    d = classify(item["text"], **kwargs).as_dict()
    out.append({"study_design": d["study_design"], "direction": d["direction"], "confidence": d["confidence"],
                "needs_review": d.get("needs_review"), "interventions": [t["id"] for t in d["interventions"]],
                "outcomes": [t["id"] for t in d["outcomes"]], "tag_confidence": {t["id"]: t["confidence"] for t in d["interventions"] + d["outcomes"]},
                "direction_confidence": d.get("direction_confidence"), "pairs": d.get("pairs")})
json.dump(out, sys.stdout)
"""


def outputs(items: list[LabelledText], code: Path | None, metadata: bool) -> list[dict[str, Any]]:
    """Each item's classification as plain data, by this checkout's code or another's (--code)."""
    if code is None:
        rows = []
        for item in items:
            d = classify_item(item, metadata=metadata).as_dict()
            rows.append({"study_design": d["study_design"], "direction": d["direction"], "confidence": d["confidence"],
                         "needs_review": d["needs_review"], "interventions": [t["id"] for t in d["interventions"]],
                         "outcomes": [t["id"] for t in d["outcomes"]],
                         "tag_confidence": {t["id"]: t["confidence"] for t in d["interventions"] + d["outcomes"]},
                         "direction_confidence": d["direction_confidence"], "pairs": d["pairs"]})
        return rows
    payload = [{"text": i.text, "kwargs": {"title": i.title, **({"doc_type": i.doc_type, "publisher": i.publisher, "metadata": i.metadata,
                                                                   "pub_types": i.metadata.get("pub_types")} if metadata else {})}}
               for i in items]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", _OTHER_CODE], input=json.dumps(payload), capture_output=True, text=True, env=env,
                          cwd=str(code), check=True)
    return json.loads(done.stdout)


def micro(pairs: list[tuple[set[str], set[str]]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 over (gold, found) pairs."""
    tp = sum(len(g & f) for g, f in pairs)
    fp = sum(len(f - g) for g, f in pairs)
    fn = sum(len(g - f) for g, f in pairs)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def reliability(rows: list[tuple[float, bool]], edges: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)) -> tuple[list[str], float]:
    """A reliability table (confidence bin, records, mean confidence, share right) and the expected calibration error."""
    lines, ece = [], 0.0
    for lo, hi in zip(edges, edges[1:], strict=False):
        inside = [(c, ok) for c, ok in rows if lo <= c < hi]
        if not inside:
            continue
        mean_c = sum(c for c, _ in inside) / len(inside)
        right = sum(ok for _, ok in inside) / len(inside)
        ece += len(inside) * abs(mean_c - right)
        lines.append(f"| {lo:.2f}-{min(hi, 1.0):.2f} | {len(inside)} | {mean_c:.2f} | {right:.2f} |")
    return lines, (ece / len(rows) if rows else 0.0)


def evaluate(items: list[LabelledText], got: list[dict[str, Any]], show_errors: bool = False) -> tuple[str, dict[str, float]]:
    """The figures as Markdown, and the headline numbers."""
    designs, directions, review = [], [], []
    tags: dict[str, list[tuple[set[str], set[str]]]] = {"interventions": [], "outcomes": []}
    calib: dict[str, list[tuple[float, bool]]] = {"design": [], "direction": [], "interventions": [], "outcomes": []}
    pairs: list[tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]] = []
    for item, out in zip(items, got, strict=True):
        if item.study_design:
            ok = out["study_design"] == item.study_design
            designs.append((item.study_design, out["study_design"]))
            calib["design"].append((float(out["confidence"]), ok))
            if out.get("needs_review") is not None:
                review.append((bool(out["needs_review"]), ok))
            if show_errors and not ok:
                print(f"  {item.id} ({item.origin}): gold {item.study_design}, got {out['study_design']} {item.extra.get('note', '')}",
                      file=sys.stderr)
        if item.direction:
            directions.append(out["direction"] == item.direction)
            if out.get("direction_confidence") is not None:
                calib["direction"].append((float(out["direction_confidence"]), out["direction"] == item.direction))
            if show_errors and out["direction"] != item.direction:
                print(f"  {item.id}: direction gold {item.direction}, got {out['direction']}", file=sys.stderr)
        for kind in tags:
            gold = getattr(item, kind)
            if gold is None:
                continue
            found = set(out[kind])
            tags[kind].append((gold, found))
            calib[kind] += [(float(out["tag_confidence"][t]), t in gold) for t in found]
            if show_errors and gold != found:
                print(f"  {item.id}: {kind} missing {sorted(gold - found)}, extra {sorted(found - gold)}", file=sys.stderr)
        if item.pairs is not None and out.get("pairs") is not None:
            pairs.append(({(i, o, d) for (i, o), d in item.pairs.items()}, {(p["intervention"], p["outcome"], p["direction"]) for p in out["pairs"]}))
    lines = ["| field | n | result |", "|---|---|---|"]
    accuracy = sum(g == f for g, f in designs) / len(designs) if designs else float("nan")
    level = sum(EVIDENCE_LEVELS[g] == EVIDENCE_LEVELS[f] for g, f in designs) / len(designs) if designs else float("nan")
    lines.append(f"| study design accuracy | {len(designs)} | {accuracy:.2f} |")
    lines.append(f"| evidence level accuracy | {len(designs)} | {level:.2f} |")
    lines.append(f"| direction accuracy | {len(directions)} | {sum(directions) / len(directions) if directions else float('nan'):.2f} |")
    heads = {"design": accuracy}
    for kind, rows in tags.items():
        p, r, f = micro(rows)
        heads[kind] = f
        lines.append(f"| {kind[:-1]} micro-F1 (precision / recall) | {len(rows)} | {f:.2f} ({p:.2f} / {r:.2f}) |")
    if pairs:
        p, r, f = micro([({(i, o) for i, o, _ in g}, {(i, o) for i, o, _ in h}) for g, h in pairs])
        pd, rd, fd = micro(pairs)
        lines.append(f"| pair micro-F1, links (precision / recall) | {len(pairs)} | {f:.2f} ({p:.2f} / {r:.2f}) |")
        lines.append(f"| pair micro-F1, links with their direction | {len(pairs)} | {fd:.2f} ({pd:.2f} / {rd:.2f}) |")
    if review:
        published = [ok for needs, ok in review if not needs]
        share = len(published) / len(review)
        right = sum(published) / len(published) if published else float("nan")
        heads.update({"published_share": share, "published_accuracy": right})
        lines.append(f"| published without review: share (design right) | {len(review)} | {share:.2f} ({right:.2f}) |")
    labels = [d for d in EVIDENCE_LEVELS if any(d in pair for pair in designs)]
    matrix = collections.Counter(designs)
    lines += ["", "Study design confusion (rows: gold, columns: classified)", "",
              "| gold \\ got | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for gold in labels:
        lines.append(f"| {gold} | " + " | ".join(str(matrix[(gold, got)] or "") for got in labels) + " |")
    for field, rows in calib.items():
        if not rows:
            continue
        table, ece = reliability(rows)
        heads[f"ece_{field}"] = ece
        lines += ["", f"Calibration, {field} (expected calibration error {ece:.3f})", "",
                  "| confidence | n | mean confidence | share right |", "|---|---|---|---|", *table]
    return "\n".join(lines), heads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tuning", action="store_true", help="measure the tuning part (and list its errors)")
    parser.add_argument("--write", action="store_true", help="append the figures to bench/RESULTS.md")
    parser.add_argument("--origin", help="only texts of this origin (uk_cse, govuk, feed, pdf, pubmed, clinicaltrials.gov, europepmc, seed)")
    parser.add_argument("--code", type=Path, help="classify with the code of another checkout (e.g. the code before a change)")
    parser.add_argument("--text-only", action="store_true", help="pass no metadata (doc_type, publisher, publication types, registry fields)")
    parser.add_argument("--errors", action="store_true", help="list the errors (always with --tuning)")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: the labelled set is read from ../shared/corpus")
    items = labelled_set(CORPUS, LABELS)
    part = [i for i in items if i.held_out != args.tuning and (not args.origin or i.origin == args.origin)]
    origins = collections.Counter(i.origin for i in part)
    got = outputs(part, args.code, not args.text_only)
    who = f"code at {args.code}" if args.code else "this checkout"
    header = (f"Classifier accuracy, {'tuning' if args.tuning else 'held-out'} part, {who}{', text only' if args.text_only else ''}: "
              f"{len(part)} of {len(items)} labelled texts ({', '.join(f'{n} {o}' for o, n in origins.most_common())})\n")
    table, _ = evaluate(part, got, show_errors=args.tuning or args.errors)
    report(header + "\n" + table, args.write and not args.tuning)


if __name__ == "__main__":
    main()
