"""Replaying screening over labelled records, as the field measures screening tools (ASReview's simulation mode).

The queue is followed from its first record: the rules' relevance orders it until the first include and
exclude exist, then the model, retrained as decisions accumulate (after every decision for the first 50,
then whenever the decisions have grown by 5%), ranks the rest. Measures:
- WSS@95, work saved over sampling at 95% recall (Cohen et al. 2006): (N - n95) / N - 0.05, where n95 is
  how many records were screened when 95% of the relevant ones (rounded up) had been found;
- recall after 10% and 25% of the records were screened;
- the recall curve (found against screened), drawn as a PNG with matplotlib;
- the queue's estimate of the relevant records left (model.estimate_left), against the truth, as screening goes on.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evidence.config import ConfigError, Scope
from evidence.screen.model import ModelSettings, RelevanceModel, estimate_left, model_text, recent_window, tie_key
from evidence.screen.rules import screen_text

EVERY_DECISION_UNTIL = 50
RETRAIN_GROWTH = 0.05
MAX_ROWS = 500_000
LABEL_COLUMNS = ("label_included", "included", "final_included", "label")


@dataclass
class LabelledRecord:
    """One record of a simulation: its text, its label (1 relevant) and the rules' relevance."""

    title: str
    abstract: str
    label: int
    prior: float = 0.0


@dataclass
class SimulationResult:
    """What a replay of screening measured."""

    records: int
    relevant: int
    wss95: float
    recall_10: float
    recall_25: float
    screened_at_95: int
    found: list[int]  # relevant found after each record screened
    model: str
    estimates: list[dict[str, float]] = field(default_factory=list)  # {"screened", "estimated_left", "true_left"}

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `evidence screen simulate --format json` (the curve thinned to at most 200 points)."""
        step = max(1, len(self.found) // 200)
        curve = [[i + 1, self.found[i]] for i in range(0, len(self.found), step)]
        if self.found and curve[-1][0] != len(self.found):
            curve.append([len(self.found), self.found[-1]])
        return {"records": self.records, "relevant": self.relevant, "wss95": round(self.wss95, 4), "recall_10": round(self.recall_10, 4),
                "recall_25": round(self.recall_25, 4), "screened_at_95": self.screened_at_95, "model": self.model,
                "estimates": self.estimates, "curve": curve}


def needed(relevant: int, recall: float = 0.95) -> int:
    """How many relevant records `recall` means (rounded up: 95% of 20 is 19, of 21 is 20)."""
    return math.ceil(round(recall * relevant, 9))


def screened_until(labels_in_order: Sequence[int], recall: float = 0.95) -> int:
    """How many records were screened when `recall` of the relevant ones had been found."""
    target, found = needed(sum(labels_in_order), recall), 0
    for position, label in enumerate(labels_in_order, start=1):
        found += label
        if found >= target:
            return position
    return len(labels_in_order)


def wss(labels_in_order: Sequence[int], recall: float = 0.95) -> float:
    """Work saved over sampling at `recall`: the share left unscreened, less the share a random order would leave."""
    total = len(labels_in_order)
    if not total or not sum(labels_in_order):
        return 0.0
    return (total - screened_until(labels_in_order, recall)) / total - (1 - recall)


def recall_after(labels_in_order: Sequence[int], fraction: float) -> float:
    """The share of relevant records found after screening the first `fraction` of the records (rounded up)."""
    relevant = sum(labels_in_order)
    if not relevant:
        return 0.0
    return sum(labels_in_order[: math.ceil(round(fraction * len(labels_in_order), 9))]) / relevant


def replay(texts: Sequence[str], labels: Sequence[int], priors: Sequence[float], settings: ModelSettings | None = None,
           checkpoints: int = 20) -> tuple[list[int], list[dict[str, float]]]:
    """The order a curator following the queue would screen the records in, and the queue's estimates on the way."""
    n = len(texts)
    model = RelevanceModel(texts, settings)
    ties = [tie_key(t) for t in texts]
    screened = np.zeros(n, dtype=bool)
    order: list[int] = []
    ranking = sorted(range(n), key=lambda i: (-priors[i], ties[i]))
    position, next_fit, trained = 0, 0, False
    every = max(1, n // checkpoints)
    estimates: list[dict[str, float]] = []
    while len(order) < n:
        if len(order) >= next_fit:
            decided = [labels[i] for i in order]
            if model.fit(order, decided):
                probabilities = model.probabilities()
                ranking = sorted((i for i in range(n) if not screened[i]), key=lambda i: (-probabilities[i], ties[i]))
                position, trained = 0, True
            grown = len(order) + (1 if len(order) < EVERY_DECISION_UNTIL else max(1, int(len(order) * RETRAIN_GROWTH)))
            next_fit = grown if trained or sum(decided) == 0 or sum(decided) == len(decided) else len(order) + 1
        while screened[ranking[position]]:
            position += 1
        pick = ranking[position]
        screened[pick] = True
        order.append(pick)
        if len(order) % every == 0 and len(order) < n:
            recent = [labels[i] for i in order[-recent_window(len(order)):]]
            estimates.append({"screened": len(order), "estimated_left": estimate_left(recent, n - len(order)),
                              "true_left": float(sum(labels[i] for i in range(n) if not screened[i]))})
    return order, estimates


def simulate(records: Sequence[LabelledRecord], settings: ModelSettings | None = None) -> SimulationResult:
    """Replay screening over labelled records and measure it."""
    if not records:
        raise ConfigError("nothing to simulate: no labelled records")
    labels = [r.label for r in records]
    if not any(labels) or all(labels):
        raise ConfigError("the labels must hold both relevant (1) and irrelevant (0) records")
    settings = settings or ModelSettings()
    order, estimates = replay([model_text(r.title, r.abstract) for r in records], labels, [r.prior for r in records], settings)
    in_order = [labels[i] for i in order]
    found = list(np.cumsum(in_order).astype(int).tolist())
    return SimulationResult(records=len(records), relevant=sum(labels), wss95=wss(in_order), recall_10=recall_after(in_order, 0.10),
                            recall_25=recall_after(in_order, 0.25), screened_at_95=screened_until(in_order), found=found,
                            model=settings.describe(), estimates=estimates)


def read_labels(path: Path, scope: Scope | None = None) -> list[LabelledRecord]:
    """An ASReview dataset CSV: `title`, `abstract`, `label_included` (1/0); other columns ignored. Errors name the line."""
    scope = scope or Scope()
    csv.field_size_limit(10_000_000)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        label_column = next((columns[c] for c in LABEL_COLUMNS if c in columns), None)
        if "title" not in columns or label_column is None:
            raise ConfigError(f"{path}:1: an ASReview dataset needs the columns `title` and `label_included` (found: "
                              f"{', '.join(reader.fieldnames or []) or 'none'})")
        out: list[LabelledRecord] = []
        try:
            for row in reader:
                if len(out) >= MAX_ROWS:
                    raise ConfigError(f"{path}: more than {MAX_ROWS} records")
                raw = (row.get(label_column) or "").strip()
                if raw not in ("0", "1", "0.0", "1.0"):
                    raise ConfigError(f"{path}:{reader.line_num}: `{label_column}` must be 1 or 0, not {raw or 'empty'!r}")
                title = (row.get(columns["title"]) or "").strip()
                abstract = (row.get(columns["abstract"]) or "").strip() if "abstract" in columns else ""
                prior = screen_text(scope, title, abstract).score
                out.append(LabelledRecord(title=title, abstract=abstract, label=int(float(raw)), prior=prior))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}:{reader.line_num}: not a CSV file: {exc}") from None
    return out


def plot_recall(result: SimulationResult, path: Path, title: str = "Screening simulation") -> Path:
    """Draw the recall curve (share of relevant records found against share screened) with random order and WSS@95."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = result.records
    xs = [0.0] + [(i + 1) / n for i in range(n)]
    ys = [0.0] + [f / result.relevant for f in result.found]
    figure, axes = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    axes.plot(xs, ys, label=f"queue order ({result.model})", linewidth=1.6)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random order")
    axes.axhline(0.95, color="#c44", linewidth=0.8, linestyle=":")
    axes.axvline(result.screened_at_95 / n, color="#c44", linewidth=0.8, linestyle=":")
    axes.annotate(f"95% recall after {result.screened_at_95 / n:.1%} screened: WSS@95 {result.wss95:.1%}",
                  xy=(result.screened_at_95 / n, 0.95), xytext=(0.3, 0.55), arrowprops={"arrowstyle": "->"}, fontsize=9)
    axes.set_xlabel("share of records screened")
    axes.set_ylabel("share of relevant records found (recall)")
    axes.set_title(f"{title}: {n} records, {result.relevant} relevant", fontsize=10)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the plot ({exc.strerror or exc})") from None
    finally:
        plt.close(figure)
    return path
