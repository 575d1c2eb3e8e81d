"""Train the learned layer (`model.py`) from labelled texts and curators' decisions, with scikit-learn.

    python3 -m evidence.classify.train            # retrain the packaged model from ../shared/corpus (tuning part)

Examples are the labelled set's tuning part (read from ../shared/corpus at training time: its texts are
never copied into the project) plus every record a curator corrected or confirmed. A stable hash sets a
fifth of them aside as the frozen evaluation set: never trained on, it decides whether a retrained model
replaces the one in use (`evidence reclassify`). Calibration and the review threshold are fitted on
predictions for texts each fold's model was not trained on (5-fold cross-validation).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evidence.classify.model import MIN_CLASS_EXAMPLES, MODEL_PATH, Calibration, DesignModel, load_model, may_overrule, word_features

log = logging.getLogger(__name__)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
LABELS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "labels" / "uk_cse.yaml"
TARGET_PRECISION = 0.92  # records published without review must be right >= 0.90: fitted with a margin
MIN_DF = 2
MAX_WORD_FEATURES = 3000
OVERRIDES = (None, 0.9, 0.8, 0.7, 0.6)  # the model's probability at which it overrules the rules' design, tried in order
C = 4.0  # inverse regularisation strength of the logistic model


@dataclass
class Example:
    """One training text: its features as the rules see them, the rules' design and the design it should have."""

    id: str
    features: list[str]
    rules_design: str
    design: str
    origin: str = "labelled"  # or "curation"
    tags: list[tuple[str, float, bool]] = field(default_factory=list)  # (kind, raw confidence, right?)
    direction: tuple[float, bool] | None = None  # (raw strength, right?)

    @property
    def frozen(self) -> bool:
        """In the frozen evaluation set (a stable fifth): never trained on."""
        return int(hashlib.sha1(self.id.encode()).hexdigest(), 16) % 5 == 0


def example_from(result: Any, example_id: str, design: str, low: str, origin: str, *, interventions: set[str] | None = None,
                 outcomes: set[str] | None = None, direction: str | None = None) -> Example:
    """An example from a rules-only classification (`classify(..., learned=False)`) and the labels known for it."""
    from evidence.classify import _direction_raw_of

    tags: list[tuple[str, float, bool]] = []
    for kind, gold in (("interventions", interventions), ("outcomes", outcomes)):
        if gold is not None:
            tags += [(kind, t.confidence, t.id in gold) for t in result.tags(kind)]
    raw_direction = (_direction_raw_of(result), result.direction == direction) if direction else None
    return Example(example_id, result.features + word_features(low), result.rules_design, design, origin, tags, raw_direction)


def labelled_examples(corpus: Path = DEFAULT_CORPUS, labels: Path = LABELS) -> list[Example]:
    """The labelled set's tuning part (never its held-out part), as examples; [] when ../shared/corpus is absent."""
    from evidence.classify.taxonomy import lowered
    from evidence.labelled import classify_item, labelled_set

    if not corpus.exists():
        return []
    try:
        items = labelled_set(corpus, labels)
    except ValueError as exc:  # a label no longer matches its text (a recording or harvester changed): never train on it
        log.warning("labelled set not used: %s", exc)
        return []
    examples = []
    for item in items:
        if item.held_out or not item.study_design:
            continue
        result = classify_item(item, learned=False)
        body = item.text if not item.title or item.text.lstrip().startswith(item.title.strip()[:60]) else f"{item.title}\n\n{item.text}"
        examples.append(example_from(result, item.id, item.study_design, lowered(body), "labelled", interventions=item.interventions,
                                     outcomes=item.outcomes, direction=item.direction))
    return examples


def _vocabulary(examples: list[Example]) -> dict[str, int]:
    df: Counter[str] = Counter()
    for example in examples:
        df.update(set(example.features))
    rule_names = [n for n in df if ":" not in n or n.startswith(("score:", "meta:"))]
    words = sorted((n for n in df if n.startswith(("w:", "b:")) and df[n] >= MIN_DF), key=lambda n: (-df[n], n))[:MAX_WORD_FEATURES]
    names = sorted(set(rule_names) | set(words))
    return {n: i for i, n in enumerate(names)}


RULE_SCALE = 5.0  # the rules' cues enter at this value, word n-grams at 1: the penalty weighs less on what the rules say


def _scales(vocabulary: dict[str, int]) -> np.ndarray:
    scales = np.ones(len(vocabulary))
    for name, index in vocabulary.items():
        if not name.startswith(("w:", "b:")):
            scales[index] = RULE_SCALE
    return scales


def _matrix(examples: list[Example], vocabulary: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    scales = _scales(vocabulary)
    for row, example in enumerate(examples):
        for index in {vocabulary[n] for n in example.features if n in vocabulary}:
            rows.append(row)
            cols.append(index)
            values.append(scales[index])
    return csr_matrix((values, (rows, cols)), shape=(len(examples), len(vocabulary)))


def _fit_linear(examples: list[Example], vocabulary: dict[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    classes = sorted({e.design for e in examples})
    if len(classes) == 1:  # one class: it always wins
        return classes, np.zeros((len(vocabulary), 1)), np.zeros(1)
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(_matrix(examples, vocabulary), [e.design for e in examples])
    weights, intercept = model.coef_.T * _scales(vocabulary)[:, None], model.intercept_  # presence x value, folded into the weight
    if len(model.classes_) == 2:  # scikit-learn keeps one column for two classes
        weights = np.hstack([-weights / 2, weights / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return [str(c) for c in model.classes_], weights, intercept


def _bare(classes: list[str], vocabulary: dict[str, int], weights: np.ndarray, intercept: np.ndarray, override: float | None) -> DesignModel:
    return DesignModel(classes, vocabulary, weights, intercept, Calibration([], []), 0.0, override)


def _isotonic(raw: list[float], right: list[bool]) -> Calibration:
    from sklearn.isotonic import IsotonicRegression

    if len(raw) < 10 or len(set(right)) < 2:
        return Calibration([], [])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, [float(r) for r in right])
    return Calibration([float(x) for x in iso.X_thresholds_], [float(y) for y in iso.y_thresholds_])


def _folds(examples: list[Example], k: int = 5) -> list[int]:
    return [int(hashlib.sha1(f"fold:{e.id}".encode()).hexdigest(), 16) % k for e in examples]


def _review_threshold(confidences: list[float], right: list[bool]) -> float:
    """The lowest confidence above which records are right at least TARGET_PRECISION of the time (most coverage)."""
    pairs = sorted(zip(confidences, right, strict=True), key=lambda p: -p[0])
    best = 1.01
    correct = 0
    for n, (confidence, ok) in enumerate(pairs, start=1):
        correct += ok
        if correct / n >= TARGET_PRECISION and (n == len(pairs) or pairs[n][0] < confidence):
            best = confidence
    return round(best, 4)


def fit(examples: list[Example]) -> DesignModel:
    """A calibrated model from examples: cross-validated choice of override, calibration and review threshold."""
    if not examples:
        raise ValueError("no examples to train on")
    vocabulary = _vocabulary(examples)
    folds = _folds(examples)
    probabilities: list[dict[str, float]] = [{} for _ in examples]
    class_counts = dict(Counter(e.design for e in examples))
    for fold in sorted(set(folds)):
        train = [e for e, f in zip(examples, folds, strict=True) if f != fold]
        if not train:
            continue
        classes, weights, intercept = _fit_linear(train, vocabulary)
        bare = _bare(classes, vocabulary, weights, intercept, None)
        bare.meta["class_counts"] = class_counts
        for i, (example, f) in enumerate(zip(examples, folds, strict=True)):
            if f == fold:
                probabilities[i] = bare.predict(example.features, example.rules_design, top=0).probabilities
    best_override, best_right, best_choice = None, -1, []
    for override in OVERRIDES:
        chosen = []
        for example, probs in zip(examples, probabilities, strict=True):
            top = max(probs, key=probs.__getitem__) if probs else example.rules_design
            allowed = may_overrule(example.features) and min(class_counts.get(top, 0), class_counts.get(example.rules_design, 0)) >= MIN_CLASS_EXAMPLES
            design = top if override is not None and allowed and top != example.rules_design and probs[top] >= override else example.rules_design
            chosen.append((design, probs.get(design, 0.0)))
        right = sum(d == e.design for (d, _), e in zip(chosen, examples, strict=True))
        log.info("learned layer, override %s: %d/%d right (cross-validated)", override, right, len(examples))
        if right > best_right:
            best_override, best_right, best_choice = override, right, chosen
    raw = [p for _, p in best_choice]
    right_flags = [d == e.design for (d, _), e in zip(best_choice, examples, strict=True)]
    calibration = _isotonic(raw, right_flags)
    threshold = _review_threshold([calibration(r) for r in raw], right_flags)
    tags = {}
    for kind in ("interventions", "outcomes"):
        pairs = [(c, ok) for e in examples for k, c, ok in e.tags if k == kind]
        tags[kind] = _isotonic([c for c, _ in pairs], [ok for _, ok in pairs])
    directions = [e.direction for e in examples if e.direction]
    tags["direction"] = _isotonic([d[0] for d in directions], [d[1] for d in directions])
    classes, weights, intercept = _fit_linear(examples, vocabulary)
    class_counts = dict(Counter(e.design for e in examples))
    keep = np.abs(weights).max(axis=1) >= 1e-3  # features the model gives no weight to are dropped from the file
    names = [n for n, i in sorted(vocabulary.items(), key=lambda kv: kv[1]) if keep[i]]
    weights = weights[keep]
    model = DesignModel(classes, {n: i for i, n in enumerate(names)}, weights, intercept, calibration, threshold, best_override, tags)
    origins = Counter(e.origin for e in examples)
    model.meta = {"version": datetime.now(UTC).strftime("%Y%m%d%H%M%S"), "trained_on": dict(origins), "class_counts": class_counts,
                  "cross_validated_design_accuracy": round(best_right / len(examples), 4), "override": best_override,
                  "review_threshold": threshold, "features": len(names),
                  "command": "python3 -m evidence.classify.train (or evidence reclassify, from curation)"}
    return model


@dataclass
class Evaluation:
    """How a model does on a set of examples: design accuracy, calibration error, the share that skips review and its accuracy."""

    n: int
    accuracy: float
    ece: float
    published_share: float
    published_accuracy: float

    def line(self) -> str:
        """One line for the operator's log and the reclassify summary."""
        return (f"design accuracy {self.accuracy:.3f} on {self.n}, calibration error {self.ece:.3f}, "
                f"published without review {self.published_share:.2f} (right {self.published_accuracy:.3f})")


def evaluate(model: DesignModel | None, examples: Iterable[Example], bins: int = 10) -> Evaluation:
    """A model's figures on examples (None: the rules alone, at their own confidence)."""
    from evidence.classify import RULES_REVIEW_THRESHOLD

    rows: list[tuple[float, bool, bool]] = []  # (confidence, right, published)
    for example in examples:
        if model is None:
            confidence = _rules_confidence(example)
            rows.append((confidence, example.rules_design == example.design, confidence >= RULES_REVIEW_THRESHOLD))
            continue
        prediction = model.predict(example.features, example.rules_design, top=0)
        rows.append((prediction.confidence, prediction.design == example.design, prediction.confidence >= model.review_threshold))
    if not rows:
        return Evaluation(0, 0.0, 0.0, 0.0, 0.0)
    published = [r for r in rows if r[2]]
    return Evaluation(len(rows), sum(r[1] for r in rows) / len(rows), expected_calibration_error([(c, ok) for c, ok, _ in rows], bins),
                      len(published) / len(rows), sum(r[1] for r in published) / len(published) if published else 0.0)


def _rules_confidence(example: Example) -> float:
    for name in example.features:
        if name.startswith("rule_conf>="):
            return float(name.split(">=")[1]) + 0.05
    return 0.5


def expected_calibration_error(rows: list[tuple[float, bool]], bins: int = 10) -> float:
    """The expected calibration error: the record-weighted gap between confidence and accuracy over equal-width bins."""
    if not rows:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in rows if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            total += len(inside) * abs(sum(c for c, _ in inside) / len(inside) - sum(ok for _, ok in inside) / len(inside))
    return total / len(rows)


@dataclass
class Retraining:
    """What `evidence reclassify` decided about the model, with the figures behind the decision."""

    replaced: bool
    reason: str
    examples: dict[str, int]
    old: Evaluation | None = None
    new: Evaluation | None = None
    path: Path | None = None


def retrain(curated: list[Example], current: DesignModel | None, out: Path, corpus: Path = DEFAULT_CORPUS) -> Retraining:
    """Train a new model from the labelled set it can reach plus curation; keep it only if it does at least as well.

    Both models are scored on the frozen fifth of the examples (never trained on); the new one is written to
    `out` when its design accuracy there is at least the current one's.
    """
    labelled = labelled_examples(corpus) if corpus.exists() else []
    pool = labelled + curated
    counts = {"labelled": len(labelled), "curation": len(curated)}
    if not labelled:
        log.info("%s not found: training from %d curated records only", corpus, len(curated))
    train = [e for e in pool if not e.frozen]
    frozen = [e for e in pool if e.frozen]
    if len(train) < 20 or len({e.design for e in train}) < 2 or not frozen:
        reason = (f"kept the model in use: {len(train)} examples to train on and {len(frozen)} to check against "
                  f"({'no labelled set at ' + str(corpus) if not labelled else 'too few'})")
        log.info(reason)
        return Retraining(False, reason, counts)
    new_model = fit(train)
    old, new = evaluate(current, frozen), evaluate(new_model, frozen)
    if new.accuracy >= old.accuracy:
        new_model.meta["frozen_evaluation"] = new.line()
        out.parent.mkdir(parents=True, exist_ok=True)
        new_model.save(out)
        reason = f"replaced: new {new.line()}; previous {old.line()}"
        log.info("classifier model %s", reason)
        return Retraining(True, reason, counts, old, new, out)
    reason = f"kept the model in use: new {new.line()}; in use {old.line()}"
    log.info("classifier model %s", reason)
    return Retraining(False, reason, counts, old, new)


def main(argv: list[str] | None = None) -> int:
    """Retrain the packaged model (evidence/classify/model.json) from the labelled set's tuning part."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="../shared/corpus")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="where to write the model (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    examples = labelled_examples(args.corpus)
    if not examples:
        print(f"{args.corpus}: no labelled texts found (the labelled set is read from ../shared/corpus)", file=sys.stderr)
        return 2
    train = [e for e in examples if not e.frozen]
    frozen = [e for e in examples if e.frozen]
    model = fit(train)
    rules, learned, previous = evaluate(None, frozen), evaluate(model, frozen), evaluate(load_model(args.out), frozen)
    model.meta["frozen_evaluation"] = learned.line()
    model.save(args.out)
    print(f"trained on {len(train)} tuning texts, checked on {len(frozen)} frozen ones; override {model.override}, "
          f"review threshold {model.review_threshold}, {len(model.vocabulary)} features -> {args.out}")
    print(f"  rules alone:    {rules.line()}")
    print(f"  previous model: {previous.line()}")
    print(f"  new model:      {learned.line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
