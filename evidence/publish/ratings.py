"""Ratings of each intervention, per outcome and overall, on a scale written out with its crosswalk to the
clearinghouses (EIF/Foundations Guidebook, CEBC, Blueprints). Pure functions over the map's cells.

What counts: the studies (levels 1-5) in a cell whose pair for it states a direction, screened in and not
awaiting a check. Records the classifier asked a curator to check (`needs_review`), or still to screen, are
listed with the rating as unchecked and never counted. Every rating keeps the records behind it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidence.publish.evidence_map import HARM, NO_EFFECT, Cell, Entry

# (id, label, rule, EIF/Foundations Guidebook, CEBC scientific rating, Blueprints), strongest first
SCALE: list[tuple[str, str, str, str, str, str]] = [
    ("well_supported", "Well supported",
     "two or more independent studies at level 4 or above (randomised trials), or a systematic review (level 5), with positive "
     "findings for this outcome, and no study at level 3 or above reporting harm (negative findings)",
     "Level 4 (established: more than one rigorous evaluation with consistent positive impact)",
     "1, well-supported by research evidence (two or more randomised trials)",
     "Model (two high-quality randomised trials, or one and a quasi-experiment); Model Plus also needs an independent replication, "
     "which this rule does not check"),
    ("supported", "Supported",
     "one study at level 4 (a randomised trial), or two at level 3 or above (comparison group), with positive findings",
     "Level 3 (efficacy: one rigorous evaluation with positive impact)",
     "2, supported by research evidence (at least one randomised trial)",
     "Promising (one high-quality randomised trial or two quasi-experiments)"),
    ("promising", "Promising",
     "one study at level 3 (comparison group), or two at level 2 or above (before-and-after or observational), with positive findings",
     "Level 2 (preliminary evidence: positive change measured without a rigorous comparison)",
     "3, promising research evidence (at least one study with some form of control)",
     "below the Blueprints bar (not certified)"),
    ("insufficient", "Insufficient evidence",
     "studies were found but they fall short of the rules above: too few, too weak, findings not positive or unclear, or only "
     "records still awaiting a curator's check",
     "Not level 2 (NL2: evidence not yet at level 2)",
     "NR, not able to be rated", "not certified"),
    ("no_evidence", "No evidence found",
     "no study (levels 1-5) was found for it; guidance, news and unclear records do not count",
     "no rating (not assessed)", "NR, not able to be rated", "not certified"),
]
FLAG = ("no effect / harm reported",
        "any counted study at level 2 or above reports no effect or negative findings for it; shown before the rating",
        "'found not to be effective' (NE) in the Guidebook", "4, evidence fails to demonstrate effect (5, concerning practice, for harm)",
        "not certified")
RANK = {row[0]: n for n, row in enumerate(SCALE)}  # 0 is strongest
LABELS = {row[0]: row[1] for row in SCALE}
RULES = {row[0]: row[2] for row in SCALE}


@dataclass
class RatedRecord:
    """A record behind a rating: its level, design, direction for the pair, and whether anyone checked it."""

    id: str
    title: str
    level: int | None
    design: str
    direction: str
    curated: bool
    counted: bool  # false: unchecked (needs_review or still to screen), listed only
    outcome: str
    phrase: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "design": self.design, "direction": self.direction,
                "curator_checked": self.curated, "counted": self.counted, "outcome": self.outcome}


@dataclass
class Rating:
    """One rating (an intervention on one outcome, or overall), with the records behind it."""

    id: str
    intervention: str
    outcome: str | None  # None: the overall rating
    flag: bool
    records: list[RatedRecord] = field(default_factory=list)
    because: list[str] = field(default_factory=list)  # ids of the records the rating rests on
    flagged_by: list[str] = field(default_factory=list)  # ids of the records behind the flag
    since: str | None = None  # the date (ISO) the rating last changed, set by the build from its state
    best_outcome: str | None = None  # overall: the outcome whose rating it takes

    @property
    def label(self) -> str:
        return LABELS[self.id]

    @property
    def rule(self) -> str:
        return RULES[self.id]

    @property
    def rating(self) -> str:  # the old name
        return self.id

    @property
    def flagged(self) -> bool:
        return self.flag

    @property
    def counted(self) -> list[RatedRecord]:
        return [r for r in self.records if r.counted]

    @property
    def unchecked(self) -> list[RatedRecord]:
        return [r for r in self.records if not r.counted]

    @property
    def machine_only(self) -> bool:
        """Some record it counts rests on the machine's classification alone (no curator checked it)."""
        return any(not r.curated for r in self.counted)

    def state(self) -> str:
        """What a change of which moves the rating's date: its id and its flag."""
        return f"{self.id}{'+flag' if self.flag else ''}"

    def as_dict(self) -> dict[str, Any]:
        return {"intervention": self.intervention, "outcome": self.outcome, "rating": self.id, "label": self.label,
                "rule": self.rule, "no_effect_or_harm": self.flag, "machine_classification_only": self.machine_only,
                "last_changed": self.since, "best_outcome": self.best_outcome, "because": self.because,
                "flagged_by": self.flagged_by, "records": [r.as_dict() for r in self.records]}


def _rated(entry: Entry, outcome: str) -> RatedRecord:
    r = entry.record
    return RatedRecord(r.id, r.title, r.level, r.design, entry.direction, r.curated, not r.unchecked, outcome, entry.finding.phrase)


def decide(counted: list[tuple[int, str, str]]) -> tuple[str, list[str]]:
    """The scale's rule over (level, direction, record id) of the counted studies: (rating id, ids it rests on)."""
    positive = [(level, rid) for level, direction, rid in counted if direction == "positive"]

    def at(least: int) -> list[str]:
        return [rid for level, rid in positive if level >= least]

    harm = any(level >= 3 and direction in HARM for level, direction, _ in counted)
    reviews = [rid for level, rid in positive if level == 5]
    if not harm and (reviews or len(at(4)) >= 2):
        return "well_supported", reviews or at(4)
    if at(4) or len(at(3)) >= 2:
        return "supported", at(4) or at(3)
    if at(3) or len(at(2)) >= 2:
        return "promising", at(3) or at(2)
    return ("insufficient", []) if counted else ("no_evidence", [])


def rate_cell(cell: Cell) -> Rating:
    """The rating of one intervention on one outcome, from the studies in its cell."""
    studies = cell.study_entries
    records = [_rated(e, cell.outcome) for e in studies]
    counted = [(e.record.level or 0, e.direction, e.record.id) for e in studies if not e.record.unchecked]
    rating, because = decide(counted)
    if rating == "no_evidence" and studies:
        rating = "insufficient"  # studies exist, all awaiting a check: not "no evidence"
    flagged_by = [rid for level, direction, rid in counted if level >= 2 and direction in NO_EFFECT]
    return Rating(rating, cell.intervention, cell.outcome, bool(flagged_by), records, because, flagged_by)


def rate_overall(intervention: str, per_outcome: list[Rating]) -> Rating:
    """An intervention's overall rating: that of its best-evidenced outcome (as the Guidebook rates a programme),
    flagged when any outcome is. It lists the records of that outcome's rating and those behind a flag on any
    other outcome (each outcome's rating lists its own)."""
    def strength(r: Rating) -> tuple[int, int, int]:  # the rating, then its strongest counted study, then how many
        levels = [x.level or 0 for x in r.counted]
        return (RANK[r.id], -max(levels, default=-1), -len(levels))

    best = min(per_outcome, key=strength, default=None)  # ties: the first outcome in the taxonomy's order
    records = [rec for r in per_outcome if r is best for rec in r.records]
    records += [rec for r in per_outcome if r is not best for rec in r.records if rec.id in r.flagged_by]
    flagged_by = sorted({rid for r in per_outcome for rid in r.flagged_by})
    if best is None:
        return Rating("no_evidence", intervention, None, False)
    return Rating(best.id, intervention, None, bool(flagged_by), records, list(best.because), flagged_by,
                  best_outcome=best.outcome if best.id != "no_evidence" else None)


def rate_all(cells: dict[tuple[str, str], Cell], interventions: list[str]) -> dict[str, Rating]:
    """Rate every cell (set on `cell.rating`) and every intervention overall (returned, by intervention)."""
    by_intervention: dict[str, list[Rating]] = {i: [] for i in interventions}
    for (intervention, _), cell in cells.items():
        cell.rating = rate_cell(cell)
        by_intervention.setdefault(intervention, []).append(cell.rating)
    return {i: rate_overall(i, ratings) for i, ratings in by_intervention.items()}


def date_ratings(ratings: list[Rating], previous: dict[str, list[str]], today: str, dates: dict[str, str]) -> dict[str, list[str]]:
    """Set each rating's `since`: kept from the previous build while its state (rating and flag) is the same;
    `today` when it changed; on its first build, the latest date any record behind it entered or changed
    (`dates`: record id -> ISO date), so a first build does not stamp every rating with the build day.
    Returns the state to keep: key -> [state, since]."""
    kept: dict[str, list[str]] = {}
    for rating in ratings:
        key = f"{rating.intervention}|{rating.outcome or '*'}"
        old = previous.get(key)
        if old and len(old) == 2 and old[0] == rating.state():
            rating.since = old[1] or None
        elif old:
            rating.since = today
        else:
            behind = [dates[r.id] for r in rating.records if r.id in dates]
            rating.since = max(behind) if behind else None
        kept[key] = [rating.state(), rating.since or ""]
    return kept


def ratings_json(overall: dict[str, Rating], cells: dict[tuple[str, str], Cell], meta: dict[str, Any]) -> dict[str, Any]:
    """Every rating with the record ids behind it (downloads/ratings.json)."""
    return {"meta": meta,
            "scale": [{"id": i, "label": label, "rule": rule, "eif_foundations": eif, "cebc": cebc, "blueprints": bp}
                      for i, label, rule, eif, cebc, bp in SCALE],
            "flag": {"label": FLAG[0], "rule": FLAG[1], "eif_foundations": FLAG[2], "cebc": FLAG[3], "blueprints": FLAG[4]},
            "interventions": [{**rating.as_dict(), "outcomes": [cells[(i, o)].rating.as_dict()  # type: ignore[union-attr]
                                                                for (ci, o) in cells if ci == i]}
                              for i, rating in overall.items()]}
