"""Intervention-outcome pairs a text states, each with its own direction of findings.

A pair is made only where the text links the two: both named in one sentence (or a sentence and the
"this ..." sentence after it), both in one short section under a heading, or a study of one intervention
only that measures the outcome. Two tags found far apart in a long report are not a pair.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

from evidence.classify.design import FINDING_LABELS, Cue, decide

BASES = ("sentence", "section", "single_intervention", "curator")
BASIS_CONFIDENCE = {"sentence": 0.85, "section": 0.6, "single_intervention": 0.7}
MAX_SECTION_CHARS = 1500  # a section longer than this is a chapter: it links nothing by itself
MAX_PHRASE_CHARS = 300
_FOLLOWS_ON = re.compile(r"\s*(?:this|these|it|in some (?:instances|cases) this|such)\b", re.I)
_SECTION_BREAK = re.compile(r"\n\s*\n")


@dataclass
class Pair:
    """An intervention-outcome link the text states, with its own direction and the words that state it."""

    intervention: str
    outcome: str
    direction: str
    confidence: float
    phrase: str
    start: int
    end: int
    basis: str
    direction_evidence: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (`Classification.as_dict()["pairs"]`), the schema the site reads."""
        return {"intervention": self.intervention, "outcome": self.outcome, "direction": self.direction,
                "confidence": self.confidence, "phrase": self.phrase, "start": self.start, "end": self.end, "basis": self.basis}


def _sections(text: str) -> list[tuple[int, int]]:
    """Spans of the text between blank lines (paragraphs and the blocks under headings)."""
    spans, at = [], 0
    for brk in _SECTION_BREAK.finditer(text):
        spans.append((at, brk.start()))
        at = brk.end()
    spans.append((at, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _finding_direction(cues: list[Cue], start: int, end: int) -> tuple[str | None, list[Cue]]:
    """The direction the finding cues between start and end state (None if they state none)."""
    inside = [c for c in cues if start <= c.start < end and c.label in FINDING_LABELS]
    counts: dict[str, int] = {}
    for cue in inside:
        counts[cue.label] = counts.get(cue.label, 0) + 1
    return decide(counts), inside


def _span_of(spans: list[tuple[int, int]], starts: list[int], position: int) -> int | None:
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and spans[index][0] <= position < spans[index][1]:
        return index
    return None


def pairs_of(text: str, interventions: dict[str, list[Any]], outcomes: dict[str, list[Any]], confidences: dict[str, float],
             cues: list[Cue], spans: list[tuple[int, int]], *, is_study: bool, overall: str, title_end: int = 0) -> list[Pair]:
    """The pairs a text states, from each tag's matches (all of them, with offsets) and the direction cues.

    `spans` are the text's sentences; `overall` is the record's direction, used for a study of one
    intervention where no sentence about the outcome states a finding.
    """
    if not interventions or not outcomes:
        return []
    starts = [s for s, _ in spans]
    no_finding = "not_applicable" if overall == "not_applicable" else "unclear"
    found: dict[tuple[str, str], Pair] = {}

    def sentence_window(index: int) -> tuple[int, int]:
        start, end = spans[index]
        if index + 1 < len(spans) and _FOLLOWS_ON.match(text, spans[index + 1][0]):
            end = spans[index + 1][1]
        return start, end

    def where(matches: list[Any]) -> set[int]:
        return {i for m in matches if m.start >= title_end and (i := _span_of(spans, starts, m.start)) is not None}

    outcome_sentences = {o: where(ms) for o, ms in outcomes.items()}
    stated: dict[tuple[int, int], tuple[str | None, list[Cue]]] = {}  # each window's finding, read once

    def finding(start: int, end: int) -> tuple[str | None, list[Cue]]:
        if (start, end) not in stated:
            stated[(start, end)] = _finding_direction(cues, start, end)
        return stated[(start, end)]

    for intervention, i_matches in interventions.items():
        for index in sorted(where(i_matches)):
            start, end = sentence_window(index)
            for outcome, o_matches in outcomes.items():
                if (intervention, outcome) in found:
                    continue
                if not any(start <= m.start < end for m in o_matches):
                    continue
                direction, used = finding(start, end)
                found[(intervention, outcome)] = _pair(text, intervention, outcome, direction or no_finding, start, end, "sentence",
                                                       confidences, used)
    if "\n\n" in text.strip():
        sections = [s for s in _sections(text) if s[1] - s[0] <= MAX_SECTION_CHARS]
        section_starts = [a for a, _ in sections]
        in_section: dict[int, dict[str, set[str]]] = {}
        for kind, tags in (("i", interventions), ("o", outcomes)):
            for tag, ms in tags.items():
                for m in ms:
                    if m.start >= title_end and (where_at := _span_of(sections, section_starts, m.start)) is not None:
                        in_section.setdefault(where_at, {"i": set(), "o": set()})[kind].add(tag)
        for index, inside in sorted(in_section.items()):
            s_start, s_end = sections[index]
            section_outcomes = sorted(inside["o"])
            for intervention in sorted(inside["i"]):
                for outcome in section_outcomes:
                    if (intervention, outcome) in found:
                        continue
                    direction, used = finding(s_start, s_end)
                    found[(intervention, outcome)] = _pair(text, intervention, outcome, direction or no_finding, s_start, s_end, "section",
                                                           confidences, used)
    if is_study and len(interventions) == 1:
        intervention = next(iter(interventions))
        # a finding stated apart from every outcome ("the programme was effective") is the study's finding on
        # each; one stated about another outcome says nothing about this one
        about_outcomes = set().union(*outcome_sentences.values())
        general = [c for c in cues if (i := _span_of(spans, starts, c.start)) is None or i not in about_outcomes]
        general_direction, _ = _finding_direction(general, 0, len(text))
        overall = general_direction or no_finding
        for outcome, o_matches in outcomes.items():
            if (intervention, outcome) in found:
                continue
            direction, used, window = None, [], None
            for index in sorted(outcome_sentences[outcome]):
                start, end = sentence_window(index)
                direction, used = finding(start, end)
                window = (start, end)
                if direction:
                    break
            if window is None:  # named only in the title
                first = o_matches[0]
                window = (first.start, first.end)
            found[(intervention, outcome)] = _pair(text, intervention, outcome, direction or overall, window[0], window[1],
                                                   "single_intervention", confidences, used)
    return sorted(found.values(), key=lambda p: (p.start, p.intervention, p.outcome))


def _pair(text: str, intervention: str, outcome: str, direction: str, start: int, end: int, basis: str,
          confidences: dict[str, float], used: list[Cue]) -> Pair:
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    start += lead
    phrase = raw.strip()
    if len(phrase) > MAX_PHRASE_CHARS:
        phrase = phrase[:MAX_PHRASE_CHARS]
    end = start + len(phrase)
    confidence = round(BASIS_CONFIDENCE[basis] * min(confidences.get(intervention, 0.5), confidences.get(outcome, 0.5)), 2)
    return Pair(intervention, outcome, direction, confidence, phrase, start, end, basis, tuple(c.phrase for c in used[:4]))
