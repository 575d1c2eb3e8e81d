"""The evidence map: cells made from the intervention-outcome pairs records state (never from crossing their tags).

A record counts in a cell when its classification holds a pair for that intervention and outcome (the same
sentence or short section, a study of that one intervention measuring that outcome, or a curator's pair):
see evidence/classify/pairs.py. Records at levels 1-5 are *studies* and fill cells; guidance, news and
unclear records (level 0 or none) are *context*: listed beside the cell, counted apart, never filling a gap.
Excluded records (screening) are on no cell at all. Ratings of the cells: ratings.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence.publish.ratings import Rating

STUDY_LEVELS = (5, 4, 3, 2, 1)
NO_EFFECT = {"no_effect", "negative"}
HARM = {"negative"}
EXCLUDED = "excluded"
UNSCREENED = "to_screen"


@dataclass
class Finding:
    """One pair a record states: its direction for this intervention and outcome, the words and how sure."""

    intervention: str
    outcome: str
    direction: str
    confidence: float
    phrase: str
    basis: str

    @classmethod
    def from_dict(cls, pair: dict[str, Any], fallback_direction: str) -> Finding | None:
        intervention, outcome = pair.get("intervention"), pair.get("outcome")
        if not intervention or not outcome:
            return None
        confidence = pair.get("confidence")
        return cls(str(intervention), str(outcome), str(pair.get("direction") or fallback_direction),
                   float(confidence) if isinstance(confidence, (int, float)) else 0.0, str(pair.get("phrase") or ""), str(pair.get("basis") or ""))


@dataclass
class MapRecord:
    """What the map needs of a record: tags, level, design, direction, its pairs, and whether anyone checked it."""

    id: str
    title: str
    level: int | None
    design: str
    direction: str
    interventions: dict[str, str | None]  # intervention id -> its own direction, if the text ties one to it
    outcomes: set[str]
    populations: set[str]
    publisher: str | None
    year: str | None
    doc_type: str | None
    published: str | None = None
    pairs: list[Finding] = field(default_factory=list)
    needs_review: bool = False
    curated: bool = False
    inclusion: str | None = None
    first_seen: datetime | None = None
    curated_on: str | None = None  # the curator's last change to this record (ISO date), if any

    @property
    def study(self) -> bool:
        """A study or review (levels 1-5), as opposed to guidance, news or unclear records (context)."""
        return self.level in STUDY_LEVELS

    @property
    def unchecked(self) -> bool:
        """Listed but not counted in ratings: the classifier asked for a check, or screening is pending."""
        return self.needs_review or self.inclusion == UNSCREENED

    @property
    def on_map(self) -> bool:
        return self.inclusion != EXCLUDED

    def direction_for(self, intervention: str) -> str:
        """The direction of findings for one intervention: its own if stated, else the record's."""
        return self.interventions.get(intervention) or self.direction

    def changed_on(self) -> str | None:
        """The latest date this record entered or changed (ISO date): its curation, else when it was first seen."""
        seen = self.first_seen.date().isoformat() if isinstance(self.first_seen, datetime) else None
        return max(d for d in (seen, self.curated_on) if d) if (seen or self.curated_on) else None


@dataclass
class Entry:
    """A record in a cell, with the pair that put it there."""

    record: MapRecord
    finding: Finding

    @property
    def direction(self) -> str:
        return self.finding.direction


@dataclass
class Cell:
    """One intervention x outcome cell: its studies and its context records, each with the pair behind it."""

    intervention: str
    outcome: str
    entries: list[Entry] = field(default_factory=list)
    rating: Rating | None = None

    @cached_property
    def study_entries(self) -> list[Entry]:
        """The studies (levels 1-5), strongest first (kept once made: read after evidence_map() filled the cell)."""
        return [e for e in self.entries if e.record.study]

    @cached_property
    def context_entries(self) -> list[Entry]:
        return [e for e in self.entries if not e.record.study]

    @property
    def studies(self) -> int:
        return len(self.study_entries)

    @property
    def count(self) -> int:
        """The studies (the number a cell shows); context records are counted apart."""
        return self.studies

    @property
    def context(self) -> int:
        return len(self.context_entries)

    @property
    def records(self) -> list[MapRecord]:
        """Every record in the cell, studies first (strongest level first), then context."""
        return [e.record for e in self.study_entries + self.context_entries]

    @property
    def by_level(self) -> dict[int, int]:
        counts = dict.fromkeys(STUDY_LEVELS, 0)
        for entry in self.study_entries:
            counts[entry.record.level] += 1  # type: ignore[index]  # a study's level is one of STUDY_LEVELS
        return counts

    @property
    def by_design(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in sorted(self.study_entries, key=lambda e: (-(e.record.level or 0), e.record.design)):
            counts[entry.record.design] = counts.get(entry.record.design, 0) + 1
        return counts

    @property
    def strongest(self) -> int | None:
        levels = [e.record.level for e in self.study_entries if e.record.level is not None]
        return max(levels) if levels else None

    @property
    def unchecked(self) -> int:
        return sum(1 for e in self.study_entries if e.record.unchecked)

    @property
    def no_effect(self) -> bool:
        """A study at level 2+ reports no effect or negative findings for this pair (its own direction)."""
        return any((e.record.level or 0) >= 2 and e.direction in NO_EFFECT for e in self.study_entries)

    @property
    def gap(self) -> str | None:
        """"absolute" (no study: context never fills it), "synthesis" (studies, no review) or None."""
        if not self.study_entries:
            return "absolute"
        if self.strongest != 5:
            return "synthesis"
        return None

    @property
    def slug(self) -> str:
        return f"{self.intervention}--{self.outcome}"

    @property
    def href(self) -> str:
        return f"map/{self.slug}.html"

    @property
    def feed(self) -> str:
        return f"feeds/map/{self.slug}.xml"


def _order(entries: list[Entry]) -> None:
    """Strongest level first (off the scale last), then newest published first (undated last), then by id: stable
    sorts, last key first."""
    entries.sort(key=lambda e: e.record.id)
    entries.sort(key=lambda e: e.record.published or "", reverse=True)
    entries.sort(key=lambda e: e.record.level if e.record.level is not None else -1, reverse=True)


def evidence_map(records: list[MapRecord], interventions: list[str], outcomes: list[str]) -> dict[tuple[str, str], Cell]:
    """Every intervention x outcome cell with the records whose pairs name it (empty cells are the gaps).

    Excluded records are left out; a record counts once per cell (its first pair for it).
    """
    cells = {(i, o): Cell(i, o) for i in interventions for o in outcomes}
    for record in records:
        if not record.on_map:
            continue
        seen: set[tuple[str, str]] = set()
        for finding in record.pairs:
            key = (finding.intervention, finding.outcome)
            cell = cells.get(key)
            if cell is None or key in seen:
                continue
            seen.add(key)
            cell.entries.append(Entry(record, finding))
    for cell in cells.values():
        _order(cell.entries)
    return cells


def cell_json(cell: Cell) -> dict[str, Any]:
    """One cell as open data (the shape is written down in HELPERS.md, "Map data")."""
    rating = cell.rating
    return {"intervention": cell.intervention, "outcome": cell.outcome, "studies": cell.studies,
            "by_level": {str(level): n for level, n in cell.by_level.items()}, "by_design": cell.by_design,
            "context": cell.context, "strongest_level": cell.strongest, "no_effect": cell.no_effect, "unchecked": cell.unchecked,
            "gap": cell.gap, "rating": rating.id if rating else None, "flag": rating.flag if rating else cell.no_effect,
            "href": cell.href, "feed": cell.feed,
            "record_ids": [e.record.id for e in cell.study_entries], "context_ids": [e.record.id for e in cell.context_entries]}


def map_json(cells: dict[tuple[str, str], Cell], labels: dict[str, str], meta: dict[str, Any] | None = None,
             levels: dict[int, str] | None = None, designs: dict[str, str] | None = None) -> dict[str, Any]:
    """The map as open data (downloads/map.json)."""
    return {"meta": meta or {}, "labels": labels, "levels": {str(k): v for k, v in (levels or {}).items()},
            "designs": designs or {}, "cells": [cell_json(c) for c in cells.values()]}


def filter_data(records: list[MapRecord], interventions: list[str], outcomes: list[str], populations: list[str],
                publishers: list[str], doc_types: list[str], designs: list[str], directions: list[str]) -> dict[str, Any]:
    """Compact, columnar filter data for the map page (indexes into the lists; layout in HELPERS.md "Map data"),
    so the page stays small at 10,000+ records. Excluded records are not in it."""
    ids = {"i": interventions, "o": outcomes, "p": populations}
    position = {k: {v: n for n, v in enumerate(values)} for k, values in ids.items()}
    pub_index = {p: n for n, p in enumerate(publishers)}
    type_index = {t: n for n, t in enumerate(doc_types)}
    design_index = {d: n for n, d in enumerate(designs)}
    direction_index = {d: n for n, d in enumerate(directions)}
    rows = []
    for m in records:
        if not m.on_map:
            continue
        pairs, seen = [], set()
        for f in m.pairs:
            if f.intervention in position["i"] and f.outcome in position["o"] and (f.intervention, f.outcome) not in seen:
                seen.add((f.intervention, f.outcome))
                pairs.append([position["i"][f.intervention], position["o"][f.outcome], direction_index.get(f.direction, -1)])
        rows.append([sorted(position["i"][x] for x in m.interventions if x in position["i"]),
                     sorted(position["o"][x] for x in m.outcomes if x in position["o"]),
                     sorted(position["p"][x] for x in m.populations if x in position["p"]),
                     m.level, pub_index.get(m.publisher or "", -1), int(m.year) if m.year and m.year.isdigit() else 0,
                     type_index.get(m.doc_type or "", -1), pairs, design_index.get(m.design, -1),
                     direction_index.get(m.direction, -1), 1 if m.study else 0])
    return {"i": interventions, "o": outcomes, "p": populations, "pub": publishers, "t": doc_types, "d": designs,
            "dir": directions, "r": rows}
