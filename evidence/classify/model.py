"""The learned layer over the rules: a calibrated linear model, read from a plain JSON file of coefficients.

The rules say which design a text names and why; this layer learns, from labelled texts and curators'
corrections, how far to trust them. Its features are the rules' own cues (each design's score, the news
score, the genre the metadata gave, whether a plan or a sample was found) and the text's word unigrams and
bigrams. It gives every design a probability; isotonic calibration, fitted on predictions for texts the model
was not trained on, turns the chosen design's probability into a confidence that means what it says (of
records at 0.9, about nine in ten are right). Records below the review threshold need a curator's check.

Inference needs numpy only; training (scikit-learn) is in `train.py`. The model file is JSON, never pickle.
"""
from __future__ import annotations

import bisect
import functools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("model.json")
_MODEL_TEXT = str(MODEL_PATH)
LOCAL_MODEL = "evidence-model.json"  # a model retrained by `evidence reclassify` from this catalogue's curation
NGRAM_CHARS = 6000  # word n-grams are read from the opening of a text (title, summary, methods)
# every byte but a-z becomes a space: bytes.translate and bytes.split tokenise at C speed (non-ASCII letters split words)
_TO_SPACE = bytes(c if 97 <= c <= 122 else 32 for c in range(256))
_STOP = frozenset("the of and to in a for is on that with as by are be this was or at from an it which were their".split())
SCORE_BINS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0)


def model_path() -> Path:
    """The model in use: EVIDENCE_MODEL, else ./evidence-model.json (retrained by reclassify), else the packaged one."""
    explicit = os.environ.get("EVIDENCE_MODEL")
    if explicit:
        return Path(explicit)
    local = Path(LOCAL_MODEL)
    return local if local.exists() else MODEL_PATH


def rule_features(design: Any, direction: str, sample_size: int | None, length: int) -> list[str]:
    """The rules' cues as feature names: the design chosen, each design's score (binned), news, genre, plan, sample."""
    names = [f"rule={design.study_design}", f"dir={direction}"]
    for label, score in design.scores.items():
        names += [f"score:{label}>={b}" for b in SCORE_BINS if score >= b]
    names += [f"news>={b}" for b in SCORE_BINS if design.news_score >= b]
    if design.decided_by:
        names.append(f"meta:{design.decided_by['field']}")
        names.append(f"meta:{design.decided_by['field']}={design.decided_by['value']}".lower()[:80])
    if design.ongoing:
        names.append("ongoing")
    if design.planned:
        names.append(f"planned={design.planned}")
    if design.covers_design:
        names.append(f"covers={design.covers_design}")
    if sample_size:
        names.append("sample")
    names.append("len<600" if length < 600 else "len<2000" if length < 2000 else "len<4500" if length < 4500 else "len>=4500")
    names.append(f"rule_conf>={int(design.confidence * 10) / 10}")
    return names


def byte_tokens(low: str) -> list[bytes]:
    """The words of a lowered text's opening as ASCII bytes (runs of a-z; anything else splits them)."""
    return low[:NGRAM_CHARS].encode("ascii", "replace").translate(_TO_SPACE).split()


def tokens(low: str) -> list[str]:
    """The words of a lowered text's opening (runs of a-z; digits, punctuation and other letters split them)."""
    return [t.decode("ascii") for t in byte_tokens(low)]


def word_features(low: str) -> list[str]:
    """Word unigrams and bigrams of a lowered text's opening (stop words dropped from unigrams)."""
    words = tokens(low)
    grams = [f"w:{w}" for w in words if w not in _STOP]
    grams += [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return grams


MIN_CLASS_EXAMPLES = 10  # the model overrules the rules only between designs it saw at least this often
OVERRULE_BELOW = 0.5  # ... and only where the rules' own confidence is below this (a fallback or a weak cue)


def may_overrule(names: list[str]) -> bool:
    """Whether the rules only guessed: no metadata decided, no plan or protocol read, and a low rules' confidence."""
    for name in names:
        if name.startswith(("meta:", "ongoing", "planned=")):
            return False
        if name.startswith("rule_conf>=") and float(name[11:]) >= OVERRULE_BELOW:
            return False
    return True


@dataclass
class Calibration:
    """An isotonic map from a raw score to the probability of being right (np.interp between its knots)."""

    x: list[float]
    y: list[float]

    def __call__(self, value: float) -> float:
        """The calibrated probability for a raw score."""
        if not self.x:
            return value
        index = bisect.bisect_right(self.x, value)  # np.interp on a Python list converts it first: slower for one value
        if index == 0:
            return self.y[0]
        if index == len(self.x):
            return self.y[-1]
        x0, x1, y0, y1 = self.x[index - 1], self.x[index], self.y[index - 1], self.y[index]
        return y0 + (y1 - y0) * (value - x0) / (x1 - x0) if x1 > x0 else y1

    def as_json(self) -> dict[str, list[float]]:
        """The JSON form kept in the model file."""
        return {"x": [round(v, 4) for v in self.x], "y": [round(v, 4) for v in self.y]}


@dataclass
class Prediction:
    """What the learned layer says about one record's design."""

    design: str
    confidence: float  # calibrated: the probability that `design` is right
    probabilities: dict[str, float]
    features: list[tuple[str, float]]  # the strongest signed features for the chosen design
    source: str  # "rules" (the rules' design kept) or "model" (the model overruled them)


@dataclass
class DesignModel:
    """A multinomial logistic model over rule cues and word n-grams, with its calibration and review threshold."""

    classes: list[str]
    vocabulary: dict[str, int]
    weights: np.ndarray  # (features, classes)
    intercept: np.ndarray  # (classes,)
    calibration: Calibration
    review_threshold: float
    override: float | None  # the model overrules the rules when its probability reaches this (None: never)
    tags: dict[str, Calibration] = field(default_factory=dict)  # interventions, outcomes, direction
    meta: dict[str, Any] = field(default_factory=dict)
    _inverse: dict[int, str] | None = field(default=None, repr=False, compare=False)
    _words: dict[bytes, int] | None = field(default=None, repr=False, compare=False)
    _pairs: dict[tuple[bytes, ...], int] = field(default_factory=dict, repr=False, compare=False)
    _word_set: frozenset[bytes] = field(default=frozenset(), repr=False, compare=False)
    _pair_set: frozenset[tuple[bytes, ...]] = field(default=frozenset(), repr=False, compare=False)

    @property
    def class_counts(self) -> dict[str, int]:
        """How many training examples each design had."""
        return dict(self.meta.get("class_counts") or {})

    @property
    def version(self) -> str:
        """The model's version (when and from what it was trained)."""
        return str(self.meta.get("version", "unversioned"))

    def indices(self, names: list[str], low: str | None = None) -> list[int]:
        """The vocabulary indices of the features present (each counted once); `low`: a lowered text for its n-grams.

        From a text, the same features as `word_features` gives, found by set intersections (C loops). A bigram
        is looked up as the pair of its words (a tuple hashes from the words' own cached hashes: no joined copy).
        """
        vocabulary = self.vocabulary
        found = {vocabulary[n] for n in names if n in vocabulary}
        if low is not None:
            if self._words is None:
                self._words = {n[2:].encode("ascii", "replace"): i for n, i in vocabulary.items() if n.startswith("w:")}
                self._pairs = {tuple(n[2:].encode("ascii", "replace").split(b" ")): i for n, i in vocabulary.items() if n.startswith("b:")}
                self._word_set, self._pair_set = frozenset(self._words), frozenset(self._pairs)
            words = byte_tokens(low)
            found.update(map(self._words.__getitem__, self._word_set.intersection(words)))
            found.update(map(self._pairs.__getitem__, self._pair_set.intersection(zip(words, words[1:], strict=False))))
        return sorted(found)  # vocabulary order: the same sums and the same tie order in every process

    def predict(self, names: list[str], rules_design: str, top: int = 5, low: str | None = None) -> Prediction:
        """The design, its calibrated confidence and the features that weighed most, for one record's features.

        The model overrules the rules only where they guessed (`may_overrule`) and between designs it was
        trained on often enough: a design the metadata or a plain statement gave is kept, however rare.
        """
        rows = self.indices(names, low)
        block = self.weights[rows]  # (features present, classes): gathered once, summed, and read for the strongest
        logits = self.intercept + (block.sum(axis=0) if rows else 0.0)
        logits = logits - logits.max()
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum()
        by_class = dict(zip(self.classes, probabilities.round(3).tolist(), strict=True))
        best = self.classes[int(probabilities.argmax())]
        design, source = rules_design, "rules"
        if (self.override is not None and best != rules_design and by_class[best] >= self.override and may_overrule(names)
                and min(self.class_counts.get(best, 0), self.class_counts.get(rules_design, 0)) >= MIN_CLASS_EXAMPLES):
            design, source = best, "model"
        raw = by_class.get(design, 0.0)
        column = self.classes.index(design) if design in self.classes else None
        strongest: list[tuple[str, float]] = []
        if column is not None and rows:
            contributions = block[:, column]
            order = np.argsort(-np.abs(contributions), kind="stable")[:top]  # ties: in vocabulary order
            if self._inverse is None:
                self._inverse = {i: n for n, i in self.vocabulary.items()}
            inverse = self._inverse
            strongest = list(zip((inverse[rows[i]] for i in order), contributions[order].round(3).tolist(), strict=True))
        return Prediction(design, round(self.calibration(raw), 3), by_class, strongest, source)

    def tag_confidence(self, kind: str, raw: float) -> float:
        """A tag's (or the direction's) calibrated confidence from the rules' raw one."""
        calibration = self.tags.get(kind)
        return round(calibration(raw), 3) if calibration else raw

    def as_json(self) -> dict[str, Any]:
        """The model file's content: plain numbers and names, no code."""
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "format": "evidence-design-model/1",
            "meta": self.meta,
            "classes": self.classes,
            "intercept": [round(float(v), 5) for v in self.intercept],
            "features": {name: [round(float(v), 5) for v in self.weights[self.vocabulary[name]]] for name in names},
            "calibration": self.calibration.as_json(),
            "review_threshold": self.review_threshold,
            "override": self.override,
            "tags": {kind: c.as_json() for kind, c in self.tags.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DesignModel:
        """A model from its file's content (ValueError when the file is not one)."""
        if not isinstance(data, dict) or data.get("format") != "evidence-design-model/1":
            raise ValueError("not an evidence design model (format evidence-design-model/1)")
        names = list(data["features"])
        weights = np.array([data["features"][n] for n in names], dtype=float).reshape(len(names), len(data["classes"]))
        return cls(classes=list(data["classes"]), vocabulary={n: i for i, n in enumerate(names)}, weights=weights,
                   intercept=np.array(data["intercept"], dtype=float), calibration=Calibration(**data["calibration"]),
                   review_threshold=float(data["review_threshold"]), override=data.get("override"),
                   tags={k: Calibration(**v) for k, v in (data.get("tags") or {}).items()}, meta=dict(data.get("meta") or {}))

    def save(self, path: Path) -> None:
        """Write the model file (JSON), replacing it only once fully written."""
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.as_json(), separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


def load_model(path: str | Path | None = None) -> DesignModel | None:
    """The model in use (None when there is no model file: the rules alone decide, at their own confidence)."""
    if path:
        candidates: tuple[str, ...] = (os.fspath(path),)
    else:  # as model_path() chooses, with one os.stat per file (this runs once per classified text)
        explicit = os.environ.get("EVIDENCE_MODEL")
        candidates = (explicit,) if explicit else (LOCAL_MODEL, _MODEL_TEXT)
    for path_text in candidates:
        try:
            stat = os.stat(path_text)
        except OSError:
            continue
        return _load(path_text, stat.st_mtime_ns, stat.st_size)
    return None


@functools.lru_cache(maxsize=4)
def _load(path_text: str, mtime_ns: int, size: int) -> DesignModel | None:
    try:
        model = DesignModel.from_json(json.loads(Path(path_text).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: cannot read the classifier model (%s); the rules decide alone", path_text, exc)
        return None
    log.debug("classifier model %s loaded from %s", model.version, path_text)
    return model
