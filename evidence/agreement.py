"""Agreement between curators who screened or coded the same records independently: Cohen's kappa per field.

Fields: inclusion (each curator's screening decision), design and direction (each curator's coding; a
curator who did not change a field accepted the machine's value), interventions and outcomes (each
taxonomy id named by the machine or either curator is one item, present or absent for each curator).
Kappa is computed with scikit-learn for each pair of curators with records in common; it is undefined
(None) when both curators used a single category throughout, and the share agreed is given beside it.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from evidence.curation import TAG_KINDS, Correction, Curation, curation_path, load_curation
from evidence.models import Record

log = logging.getLogger(__name__)

FIELDS = ("inclusion", "study_design", "direction", "interventions", "outcomes")


@dataclass
class FieldAgreement:
    """One field, one pair of curators: how many items both judged, how many alike, and kappa."""

    field: str
    curators: tuple[str, str]
    items: int
    agreed: int
    kappa: float | None

    @property
    def share(self) -> float:
        """The share of items judged alike."""
        return self.agreed / self.items if self.items else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `evidence agreement --format json` (and what the site's method page shows)."""
        return {"field": self.field, "curators": list(self.curators), "items": self.items, "agreed": self.agreed,
                "agreement": round(self.share, 4), "kappa": None if self.kappa is None else round(self.kappa, 4)}


@dataclass
class Conflict:
    """Two curators judged one field of one record differently."""

    record_id: str
    url: str
    title: str
    field: str  # inclusion, study_design, direction, or intervention:ID / outcome:ID
    values: dict[str, Any]
    resolved: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of one conflict."""
        return {"id": self.record_id, "url": self.url, "title": self.title, "field": self.field, "values": self.values,
                "resolved": self.resolved}


@dataclass
class AgreementReport:
    """Agreement per field and pair of curators, and the conflicts (resolved or not)."""

    fields: list[FieldAgreement] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    records: int = 0  # records judged by two curators or more
    curators: list[str] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Conflict]:
        """The conflicts no resolution has been recorded for."""
        return [c for c in self.conflicts if c.resolved is None]

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `evidence agreement --format json`."""
        return {"records": self.records, "curators": self.curators, "fields": [f.as_dict() for f in self.fields],
                "conflicts": [c.as_dict() for c in self.conflicts], "unresolved": len(self.unresolved)}


def kappa(first: list[Any], second: list[Any]) -> float | None:
    """Cohen's kappa of two curators' labels on the same items; None when it is undefined (one category only)."""
    from sklearn.metrics import cohen_kappa_score

    if not first or len(set(first) | set(second)) < 2:
        return None
    labels = sorted({repr(v) for v in first} | {repr(v) for v in second})
    return float(cohen_kappa_score([repr(v) for v in first], [repr(v) for v in second], labels=labels))


def _judgements(correction: Correction, record: Record) -> dict[str, dict[str, dict[str, Any]]]:
    """curator -> field -> item -> value, for one record."""
    machine = record.classification or {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for decision in correction.screen:
        out.setdefault(decision.by or "?", {})["inclusion"] = {"": decision.decision}
    for name, coding in correction.coders.items():
        judged = out.setdefault(name, {})
        for key in ("study_design", "direction"):
            judged[key] = {"": coding.set.get(key, machine.get(key))}
        for kind, plural in TAG_KINDS.items():
            if plural not in ("interventions", "outcomes"):
                continue
            base = {t["id"] for t in machine.get(plural) or [] if isinstance(t, dict) and "id" in t}
            judged[plural] = {term: True for term in (base | set(coding.add.get(kind, []))) - set(coding.remove.get(kind, []))}
    return out


def agreement(session: Session, curation: Curation) -> AgreementReport:
    """Kappa per field and pair of curators over the records two curators judged, and every conflict."""
    doubled = {url: c for url, c in curation.corrections.items() if len({d.by for d in c.screen}) > 1 or len(c.coders) > 1}
    report = AgreementReport(records=len(doubled))
    if not doubled:
        return report
    records = {r.url: r for r in session.exec(select(Record).where(col(Record.url).in_(list(doubled)))).all()}
    pairs: dict[tuple[str, str, str], tuple[list[Any], list[Any]]] = {}
    curators: set[str] = set()
    for url, correction in doubled.items():
        record = records.get(url)
        if record is None:
            log.info("agreement: %s is not in the catalogue; left out", url)
            continue
        judged = _judgements(correction, record)
        curators |= set(judged)
        for a, b in itertools.combinations(sorted(judged), 2):
            for name in FIELDS:
                if name not in judged[a] or name not in judged[b]:
                    continue
                first, second = judged[a][name], judged[b][name]
                items = sorted(set(first) | set(second)) if name in ("interventions", "outcomes") else [""]
                left, right = pairs.setdefault((name, a, b), ([], []))
                for item in items:
                    va, vb = first.get(item, False), second.get(item, False)
                    left.append(va)
                    right.append(vb)
                    if va != vb:
                        label = f"{'intervention' if name == 'interventions' else 'outcome'}:{item}" if item else name
                        resolved = correction.resolved.get(label)
                        report.conflicts.append(Conflict(record.id, record.url, record.title, label, {a: va, b: vb},
                                                         resolved.get("value") if resolved else None))
    report.curators = sorted(curators)
    for (name, a, b), (left, right) in sorted(pairs.items(), key=lambda kv: (FIELDS.index(kv[0][0]), kv[0][1:])):
        report.fields.append(FieldAgreement(name, (a, b), len(left), sum(x == y for x, y in zip(left, right, strict=True)), kappa(left, right)))
    return report


def agreement_figures(db: str, curation_file: str | Path | None = None) -> dict[str, Any] | None:
    """The figures the site's method page shows (AgreementReport.as_dict()), or None when no record was judged twice."""
    from evidence import catalogue

    path = curation_path(str(curation_file) if curation_file else None)
    if not path.exists():
        return None
    curation = load_curation(path)
    engine = catalogue.connect(db, create=False)
    try:
        with Session(engine) as session:
            report = agreement(session, curation)
    finally:
        engine.dispose()
    return report.as_dict() if report.records else None
