"""Classify a text: interventions, outcomes, populations, study design, evidence level and direction.

`classify(text)` is a pure function: no I/O beyond reading the (cached) taxonomy file. Every tag,
the design and the direction carry the phrases that produced them, with offsets into the text.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evidence.classify.design import (
    DESIGN_LABELS,
    EVIDENCE_LEVELS,
    FINDING_LABELS,
    SCALE_VERSION,
    Cue,
    DesignResult,
    decide,
    design_of,
    direction_cues,
    direction_of,
    sentences,
)
from evidence.classify.design import (
    anchors as design_anchors,
)
from evidence.classify.model import Prediction, load_model, rule_features
from evidence.classify.pairs import Pair, pairs_of
from evidence.classify.taxonomy import KINDS, MAX_EVIDENCE, Anchors, Taxonomy, confidence_of, load_taxonomy, lowered, match_term
from evidence.classify.text import join_lines
from evidence.extract import SAMPLE_LEADS, find_money, find_sample_size

MAX_CLASSIFY_CHARS = 60_000  # long reports: the opening (summary, methods) carries the signal; bounds time
TAG_THRESHOLD = 1.0  # one phrase is enough in a summary-length text...
LONG_TEXT_CHARS = 4500  # a page summary or abstract is shorter; longer texts are reports
LONG_TAG_THRESHOLD = 2.0  # ...a longer one must name the subject twice, or once in its title, to be about it


@dataclass
class TagResult:
    """One tag with its confidence, the direction tied to it, and the phrases behind it."""

    id: str
    label: str
    confidence: float
    evidence: list[dict[str, Any]]
    direction: str | None = None
    direction_evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of `evidence classify`."""
        out: dict[str, Any] = {"id": self.id, "label": self.label, "confidence": self.confidence,
                               "evidence": [e["phrase"] for e in self.evidence], "offsets": [[e["start"], e["end"]] for e in self.evidence]}
        if self.direction:
            out["direction"] = self.direction
            out["direction_evidence"] = [e["phrase"] for e in self.direction_evidence]
        return out


@dataclass
class Classification:
    """Everything the classifier says about one text."""

    interventions: list[TagResult]
    outcomes: list[TagResult]
    populations: list[TagResult]
    study_design: str
    evidence_level: int | None
    direction: str
    confidence: float
    rationale: list[dict[str, Any]]
    direction_rationale: list[dict[str, Any]]
    set_aside: list[dict[str, Any]]
    sample_size: int | None
    money: list[dict[str, Any]]
    covers_design: str | None = None
    pairs: list[Pair] = field(default_factory=list)
    ongoing: bool = False
    decided_by: dict[str, str] | None = None
    direction_reason: str = ""
    needs_review: bool = True
    direction_confidence: float = 0.0
    rules_design: str = ""
    learned: Prediction | None = None
    model_version: str | None = None
    features: list[str] = field(default_factory=list, repr=False)  # the rules' cues as the learned layer sees them
    scale_version: str = SCALE_VERSION
    taxonomy_version: str = ""

    def tags(self, kind: str) -> list[TagResult]:
        """The tags of one kind (interventions, outcomes, populations)."""
        return getattr(self, kind)

    def as_dict(self) -> dict[str, Any]:
        """The JSON printed by `evidence classify` and stored on the record."""
        return {
            "interventions": [t.as_dict() for t in self.interventions],
            "outcomes": [t.as_dict() for t in self.outcomes],
            "populations": [t.as_dict() for t in self.populations],
            "study_design": self.study_design,
            "study_design_label": DESIGN_LABELS[self.study_design],
            "evidence_level": self.evidence_level,
            "direction": self.direction,
            "confidence": self.confidence,
            "rationale": [r["phrase"] for r in self.rationale],
            "rationale_offsets": self.rationale,
            "direction_rationale": [r["phrase"] for r in self.direction_rationale],
            "set_aside": self.set_aside,
            "covers_design": self.covers_design,
            "ongoing": self.ongoing,
            "decided_by": self.decided_by,
            "direction_reason": self.direction_reason,
            "design_confidence": self.confidence,
            "direction_confidence": self.direction_confidence,
            "needs_review": self.needs_review,
            "rules_design": self.rules_design,
            "model": None if self.learned is None else {
                "version": self.model_version, "source": self.learned.source,
                "design_probabilities": self.learned.probabilities,
                "features": [[name, weight] for name, weight in self.learned.features]},
            "pairs": [p.as_dict() for p in self.pairs],
            "sample_size": self.sample_size,
            "money": [{k: v for k, v in m.items() if k in ("amount", "currency", "context")} for m in self.money],
            "scale_version": self.scale_version,
            "taxonomy_version": self.taxonomy_version,
        }


def _anchors_for(taxonomy: Taxonomy) -> Anchors:
    """One automaton per loaded taxonomy, holding its anchors and the design cues' (built once, kept on it)."""
    if taxonomy.automaton is None:
        taxonomy.automaton = Anchors([*taxonomy.anchors(), *design_anchors(), *SAMPLE_LEADS])
    return taxonomy.automaton


def classify(text: str, *, title: str | None = None, doc_type: str | None = None, publisher: str | None = None,
             pub_types: list[str] | None = None, metadata: Mapping[str, Any] | None = None,
             taxonomy_path: str | Path | None = None, learned: bool = True) -> Classification:
    """Classify a text (title first, if given) with what its source's metadata says it is (see `genre.genre_of`).

    Pure: the same input always gives the same output. PDF-style text is de-hyphenated and its broken lines
    joined first (`join_lines`); offsets refer to the text as classified. With `learned` (the default) the
    learned layer (`model.py`) calibrates the confidences, sets `needs_review` and may overrule the rules' design.
    """
    taxonomy = load_taxonomy(taxonomy_path)
    body = join_lines((text or "")[:MAX_CLASSIFY_CHARS])
    if title and not body.lstrip().startswith(join_lines(title).strip()[:60]):  # a title read as the body is
        body = f"{title}\n\n{body}"
    title_end = len(title) + 1 if title else (body.find("\n") if "\n" in body else 0)
    low = lowered(body)  # every matcher below works on this one lower-cased copy
    positions = _anchors_for(taxonomy).positions(low)  # patterns whose anchor literal is absent are skipped,
    present = set(positions)  # the others tried only around where it occurs
    design = design_of(body, title_end=title_end, doc_type=doc_type, publisher=publisher, pub_types=pub_types, low=low, present=present,
                       positions=positions, metadata=metadata)
    cues = direction_cues(body, low, present, positions)
    overall = direction_of(cues, design, body)
    threshold = LONG_TAG_THRESHOLD if len(body) > LONG_TEXT_CHARS else TAG_THRESHOLD
    found: dict[str, list[TagResult]] = {}
    all_matches: dict[str, dict[str, list[Any]]] = {kind: {} for kind in KINDS}
    for kind in KINDS:
        results = []
        for term in taxonomy.terms[kind].values():
            score, matches = match_term(term, body, title_end, low, present, positions)
            if score < threshold:
                continue
            distinct = len({m.phrase.lower() for m in matches})
            all_matches[kind][term.id] = matches
            results.append(TagResult(term.id, term.label, confidence_of(score, distinct),
                                     [m.as_dict() for m in _spread(matches)]))
        results.sort(key=lambda t: -t.confidence)
        found[kind] = results
    sample_size = find_sample_size(body, low, present) or _allocated_sample(low)
    rules_design = design.study_design
    features = rule_features(design, overall.direction, sample_size, len(body))
    model = load_model() if learned else None
    prediction = None
    confidence = round(min(design.confidence, 0.95) if body.strip() else 0.0, 2)
    direction_confidence = confidence
    needs_review = confidence < RULES_REVIEW_THRESHOLD
    if model is not None and body.strip():
        prediction = model.predict(features, rules_design, low=low)
        if prediction.design != rules_design:
            design = _overruled(design, prediction.design)
            overall = direction_of(cues, design, body)
        confidence = prediction.confidence
        needs_review = confidence < model.review_threshold
        direction_confidence = model.tag_confidence("direction", direction_raw(overall.direction, len(overall.cues)))
        for kind in ("interventions", "outcomes"):
            for tag in found[kind]:
                tag.confidence = model.tag_confidence(kind, tag.confidence)
    spans = sentences(body)
    if design.study_design in NO_FINDING_GENRES or design.ongoing:
        # guidance, news and protocols name outcomes as their subject or aim; one counts only where a finding is stated on it
        kept = _outcomes_with_findings(low, all_matches["outcomes"], cues, spans)
        found["outcomes"] = [t for t in found["outcomes"] if t.id in kept]
        all_matches["outcomes"] = {k: v for k, v in all_matches["outcomes"].items() if k in kept}
    if design.evidence_level is not None and design.evidence_level >= 1 and overall.direction != "not_applicable":
        _tie_directions(found["interventions"], cues, spans, body)
    tag_confidence = {t.id: t.confidence for kind in ("interventions", "outcomes") for t in found[kind]}
    pairs = pairs_of(body, all_matches["interventions"], all_matches["outcomes"], tag_confidence, cues, spans,
                     is_study=design.evidence_level is not None and design.evidence_level >= 1, overall=overall.direction,
                     title_end=title_end)
    return Classification(
        interventions=found["interventions"],
        outcomes=found["outcomes"],
        populations=found["populations"],
        study_design=design.study_design,
        evidence_level=design.evidence_level,
        direction=overall.direction,
        confidence=confidence,
        rationale=[c.as_dict() for c in design.rationale],
        direction_rationale=[c.as_dict() for c in overall.cues],
        set_aside=[c.as_dict() for c in design.set_aside],
        sample_size=sample_size,
        money=find_money(body),
        covers_design=design.covers_design,
        pairs=pairs,
        ongoing=design.ongoing,
        decided_by=design.decided_by,
        direction_reason=overall.reason,
        taxonomy_version=taxonomy.version,
        needs_review=needs_review,
        direction_confidence=round(direction_confidence, 3),
        rules_design=rules_design,
        learned=prediction,
        model_version=model.version if model is not None else None,
        features=features,
    )


NO_FINDING_GENRES = ("guidance", "commentary_or_news")


# a sentence reporting a finding that is not an intervention's effect: an association, a level, a rate, a change
_REPORTED = re.compile(r"\b(?:associat\w+|more likely|less likely|likelihood|times (?:as|more|less)|odds|rates? of|prevalence|"
                       r"\d+(?:\.\d+)? ?%|per ?cent|increased|decreased|fell|rose|doubled|halved|(?:found|showed|shows|reported) that)")


def _outcomes_with_findings(body: str, matches: dict[str, list[Any]], cues: list[Cue], spans: list[tuple[int, int]]) -> set[str]:
    """The outcomes named in a sentence that states a finding: an effect, an association, a level or a change."""
    starts = [a for a, _ in spans]
    kept = set()
    for term, ms in matches.items():
        for m in ms:
            index = bisect.bisect_right(starts, m.start) - 1
            if index < 0:
                continue
            a, b = spans[index]
            if any(a <= c.start < b and c.label in FINDING_LABELS for c in cues) or _REPORTED.search(body, a, b):
                kept.add(term)
                break
    return kept


RULES_REVIEW_THRESHOLD = 0.9  # without a model file, only the rules' most confident records skip review


def _overruled(design: DesignResult, study_design: str) -> DesignResult:
    """The rules' result with the design the learned layer chose instead (the rules' phrases kept as the "why")."""
    level = None if design.ongoing else EVIDENCE_LEVELS[study_design]
    covers = design.covers_design if study_design == "commentary_or_news" else None
    return replace(design, study_design=study_design, evidence_level=level, covers_design=covers)


def direction_raw(direction: str, phrases: int) -> float:
    """The rules' own strength for a direction: how many phrases state it (none: a default the rules are sure of)."""
    if not phrases:
        return 0.8 if direction == "not_applicable" else 0.4
    return min(0.95, 0.5 + 0.1 * phrases)


def _direction_raw_of(result: Classification) -> float:
    return direction_raw(result.direction, len(result.direction_rationale))


# "240 young people were randomly allocated", "120 families were recruited": the count before the people and the verb
_ALLOCATED = re.compile(r"(?<![\w,.])(\d[\d,]*) (?:young people|children|families|parents|carers|care leavers|pupils|participants|patients|adults|"
                        r"practitioners|schools|local authorities|sites)(?:,? \w+){0,3} (?:were|was|will be|are) (?:randomly |randomi[sz]ed |individually )?"
                        r"(?:allocated|assigned|randomi[sz]ed|recruited|enrolled|included|interviewed|surveyed)\b")


_ALLOCATED_VERBS = ("allocated", "assigned", "randomi", "recruited", "enrolled", "included", "interviewed", "surveyed")


def _allocated_sample(low: str) -> int | None:
    """A sample size stated as "N young people were randomly allocated" (looked for where the lead words are not)."""
    if not any(verb in low for verb in _ALLOCATED_VERBS):
        return None
    match = _ALLOCATED.search(low)
    return int(match.group(1).replace(",", "")) if match else None


def _spread(matches: list[Any]) -> list[Any]:
    """Up to MAX_EVIDENCE matches, different phrases first, so the "why" is informative."""
    seen: set[str] = set()
    first: list[Any] = []
    rest: list[Any] = []
    for m in matches:
        (rest if m.phrase.lower() in seen else first).append(m)
        seen.add(m.phrase.lower())
    return (first + rest)[:MAX_EVIDENCE]


def _tie_directions(interventions: list[TagResult], cues: list[Cue], spans: list[tuple[int, int]], text: str) -> None:
    """Give an intervention the direction of findings stated in its own sentence (or the one after, "this ...")."""
    for tag in interventions:
        counts: dict[str, int] = {}
        evidence: list[dict[str, Any]] = []
        for phrase in tag.evidence:
            for index, (start, end) in enumerate(spans):
                if not start <= phrase["start"] < end:
                    continue
                window_end = end
                if index + 1 < len(spans):
                    nxt_start, nxt_end = spans[index + 1]
                    if re.match(r"\s*(?:this|these|it|in some (?:instances|cases) this|such)\b", text[nxt_start:nxt_end], re.I):
                        window_end = nxt_end
                for cue in cues:
                    if start <= cue.start < window_end and cue.label in FINDING_LABELS:
                        if cue.as_dict() not in evidence:
                            counts[cue.label] = counts.get(cue.label, 0) + 1
                            evidence.append(cue.as_dict())
        direction = decide(counts)
        if direction:
            tag.direction = direction
            tag.direction_evidence = evidence[:4]

