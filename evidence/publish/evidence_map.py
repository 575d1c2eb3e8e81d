"""The evidence map and the commissioner's ratings: pure functions over records and their tags."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RATING_RULES = [
    ("strong", "a systematic review, or two records at level 4 (randomised trials), with positive findings"),
    ("moderate", "at least one record at level 3 or above (a comparison group) with positive findings"),
    ("preliminary", "at least one record at level 2 (before-and-after or observational) with positive findings"),
    ("emerging", "only level 0-1 evidence (guidance, qualitative work), or no positive finding at level 2 or above"),
]
FLAG_RULE = "flagged when any record at level 2 or above reports no effect or negative findings"
NO_EFFECT = {"no_effect", "negative"}


@dataclass
class MapRecord:
    """What the map needs of a record: its tags, level, design and direction (per intervention)."""

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

    def direction_for(self, intervention: str) -> str:
        """The direction of findings for one intervention: its own if stated, else the record's."""
        return self.interventions.get(intervention) or self.direction


@dataclass
class Cell:
    """One intervention x outcome cell."""

    intervention: str
    outcome: str
    records: list[MapRecord] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def strongest(self) -> int | None:
        levels = [r.level for r in self.records if r.level is not None]
        return max(levels) if levels else None

    @property
    def no_effect(self) -> bool:
        """Any record at level 2+ reports no effect or negative findings for this intervention."""
        return any((r.level or 0) >= 2 and r.direction_for(self.intervention) in NO_EFFECT for r in self.records)

    @property
    def gap(self) -> str | None:
        """"absolute" (no record), "synthesis" (primary studies, no review) or None."""
        if not self.records:
            return "absolute"
        levels = {r.level for r in self.records}
        if 5 not in levels and levels & {1, 2, 3, 4}:
            return "synthesis"
        return None


@dataclass
class Rating:
    """An intervention's rating, the rule that gave it, and the records behind it."""

    rating: str
    rule: str
    flagged: bool
    because: list[str]


def rate(intervention: str, records: list[MapRecord]) -> Rating:
    """The commissioner's rating of one intervention from its records (rules in RATING_RULES)."""
    positive = [r for r in records if r.direction_for(intervention) == "positive" and r.level is not None]
    flagged = [r for r in records if (r.level or 0) >= 2 and r.direction_for(intervention) in NO_EFFECT]
    reviews = [r for r in positive if r.level == 5]
    trials = [r for r in positive if r.level == 4]
    rules = dict(RATING_RULES)
    if reviews or len(trials) >= 2:
        rating, because = "strong", reviews or trials
    elif any((r.level or 0) >= 3 for r in positive):
        rating, because = "moderate", [r for r in positive if (r.level or 0) >= 3]
    elif any(r.level == 2 for r in positive):
        rating, because = "preliminary", [r for r in positive if r.level == 2]
    else:
        rating, because = "emerging", []
    return Rating(rating, rules[rating], bool(flagged), [r.id for r in because + flagged])


def evidence_map(records: list[MapRecord], interventions: list[str], outcomes: list[str]) -> dict[tuple[str, str], Cell]:
    """Every intervention x outcome cell with its records (empty cells are the gaps)."""
    cells = {(i, o): Cell(i, o) for i in interventions for o in outcomes}
    for record in records:
        for intervention in record.interventions:
            for outcome in record.outcomes:
                cell = cells.get((intervention, outcome))
                if cell is not None:
                    cell.records.append(record)
    return cells


def map_json(cells: dict[tuple[str, str], Cell], labels: dict[str, str]) -> dict[str, Any]:
    """The map as open data (map.json)."""
    return {
        "cells": [
            {"intervention": c.intervention, "outcome": c.outcome, "records": c.count, "strongest_level": c.strongest,
             "no_effect_or_negative": c.no_effect, "gap": c.gap, "record_ids": [r.id for r in c.records]}
            for c in cells.values()
        ],
        "labels": labels,
    }
