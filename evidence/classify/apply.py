"""Classification meets the catalogue: tag records, apply curation over the tags, reclassify, review."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlmodel import Session, col, select

from evidence.catalogue import TagRows, replace_tags
from evidence.classify import Classification, classify
from evidence.config import Scope
from evidence.curation import Correction, Curation, apply_correction, load_curation, restore_machine_values
from evidence.models import Record
from evidence.screen import screen_record

KIND_OF_LIST = {"interventions": "intervention", "outcomes": "outcome", "populations": "population"}
DOC_TYPE_FROM_DESIGN = {"commentary_or_news": "news", "guidance": "guidance"}


def record_text(record: Record) -> str:
    """The text a record is classified on: its full text, else title and summary."""
    return record.text or f"{record.title}\n\n{record.summary or ''}"


def classify_record(record: Record) -> Classification:
    """Run the classifier over one record, with what its metadata says about its kind."""
    pub_types = (record.extra or {}).get("pub_types") if isinstance(record.extra, dict) else None
    return classify(record_text(record), title=record.title, doc_type=record.doc_type, publisher=record.publisher,
                    pub_types=pub_types)


def apply_classification(session: Session, record: Record, result: Classification, correction: Correction | None,
                         scope: Scope | None = None) -> TagRows:
    """Store a classification on a record, lay the curator's correction over it, screen it; returns the tag rows to write."""
    previous = (record.classification or {}).get("screening")
    restore_machine_values(record)
    record.classification = result.as_dict()
    record.study_design = result.study_design
    record.evidence_level = result.evidence_level
    record.direction = result.direction
    record.confidence = result.confidence
    record.curated = False
    if not record.doc_type:
        record.doc_type = _doc_type(record, result)
    tags: dict[tuple[str, str], dict[str, Any]] = {}
    for kind_list, kind in KIND_OF_LIST.items():
        for tag in result.tags(kind_list):
            tags[(kind, tag.id)] = _row(record.id, kind, tag.id, tag.confidence, tag.direction, tag.evidence, False)
    if correction is not None:
        apply_correction(record, tags, correction)
    screen_record(record, scope, correction, previous)
    session.add(record)
    return list(tags.values())


def _row(record_id: str, kind: str, tag: str, confidence: float, direction: str | None, evidence: list[dict[str, Any]],
         curated: bool) -> dict[str, Any]:
    return {"record_id": record_id, "kind": kind, "tag": tag, "confidence": confidence, "direction": direction,
            "evidence": evidence, "curated": curated}


def _doc_type(record: Record, result: Classification) -> str | None:
    text = f"{record.title} {record.summary or ''}".lower()
    if result.study_design == "guidance":
        if "evidence summary" in text:
            return "evidence_summary"
        if "guideline" in text:
            return "guideline"
    return DOC_TYPE_FROM_DESIGN.get(result.study_design)


def classify_record_hook(curation: Curation | None = None, scope: Scope | None = None) -> Callable[[Session, Record], TagRows]:
    """The hook the harvest calls on every new or changed record (classified, curated, screened against `scope`)."""
    curation = curation if curation is not None else load_curation()
    scope = scope or Scope()

    def hook(session: Session, record: Record) -> TagRows:
        return apply_classification(session, record, classify_record(record), curation.for_url(record.url), scope)

    return hook


def reclassify(session: Session, curation: Curation, batch: int = 500, scope: Scope | None = None) -> Iterator[int]:
    """Re-run classification over every record (after a taxonomy change); yields progress counts."""
    done = 0
    ids = list(session.exec(select(Record.id)).all())
    for start in range(0, len(ids), batch):
        tags: dict[str, TagRows] = {}
        for record_id in ids[start : start + batch]:
            record = session.get(Record, record_id)
            if record is None:
                continue
            tags[record.id] = apply_classification(session, record, classify_record(record), curation.for_url(record.url), scope or Scope())
            done += 1
        replace_tags(session, tags)
        session.commit()
        session.expunge_all()
        yield done


def apply_curation_only(session: Session, record: Record, curation: Curation) -> None:
    """Classify one record again and lay its (new) correction over it."""
    rows = apply_classification(session, record, classify_record(record), curation.for_url(record.url))
    replace_tags(session, {record.id: rows})


def orphan_warnings(session: Session, curation: Curation) -> list[str]:
    """Corrections whose record is not in the catalogue (kept in the file, reported)."""
    known = set(session.exec(select(Record.url)).all())
    return [f"{curation.path}:{c.line}: {url}: no record with this URL in the catalogue (correction kept, not applied)"
            for url, c in curation.corrections.items() if url not in known]


def review_queue(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The least confident records not yet checked by a curator."""
    rows = session.exec(select(Record).where(col(Record.curated).is_(False)).order_by(col(Record.confidence), col(Record.id)).limit(limit)).all()
    return [{"id": r.id, "confidence": r.confidence, "study_design": r.study_design, "direction": r.direction,
             "title": r.title, "url": r.url} for r in rows]
