"""Classification meets the catalogue: tag records, apply curation over the tags, reclassify, review."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session, col, select

from evidence.catalogue import TagRows, canonical_url, replace_tags
from evidence.classify import Classification
from evidence.classify.ahead import Ahead, classify_inputs, record_inputs, usable
from evidence.classify.design import EVIDENCE_LEVELS
from evidence.config import Scope
from evidence.curation import Correction, Curation, apply_correction, load_curation, restore_machine_values
from evidence.models import Record, RecordPlace
from evidence.screen import screen_record

KIND_OF_LIST = {"interventions": "intervention", "outcomes": "outcome", "populations": "population"}
DOC_TYPE_FROM_DESIGN = {"commentary_or_news": "news", "guidance": "guidance"}

log = logging.getLogger(__name__)


def record_text(record: Record) -> str:
    """The text a record is classified on: its full text, else title and summary (`ahead.record_inputs`)."""
    return record_inputs(record)[0]


def classify_record(record: Record, learned: bool = True) -> Classification:
    """Run the classifier over one record with its source's metadata (`record.extra`: GOV.UK document type,
    publication types, NICE product types, registry fields, page metadata) and its doc_type and publisher
    (never the classifier's own guess at the doc_type fed back: see `ahead.record_inputs`)."""
    return classify_inputs(record_inputs(record), learned=learned)


def apply_classification(session: Session, record: Record, result: Classification, correction: Correction | None,
                         scope: Scope | None = None, verdict_of: Callable[[Record], dict[str, Any] | None] | None = None) -> TagRows:
    """Store a classification on a record, lay the curator's correction over it, screen it; returns the tag rows to write.

    `needs_review` comes from the classifier's calibrated confidence; a curator's check (any correction or
    confirmation in curation.yaml) clears it.
    """
    previous = (record.classification or {}).get("screening")
    previous_derived = (record.classification or {}).get("doc_type_derived") if isinstance(record.classification, dict) else None
    restore_machine_values(record)
    record.classification = result.as_dict()
    record.study_design = result.study_design
    record.evidence_level = result.evidence_level
    record.direction = result.direction
    record.confidence = result.confidence
    record.curated = False
    record.needs_review = result.needs_review
    derived = record.doc_type if record.doc_type and record.doc_type == previous_derived else None
    if not record.doc_type or derived:
        record.doc_type = _doc_type(record, result)
        if record.doc_type:
            record.classification["doc_type_derived"] = record.doc_type
    tags: dict[tuple[str, str], dict[str, Any]] = {}
    for kind_list, kind in KIND_OF_LIST.items():
        for tag in result.tags(kind_list):
            tags[(kind, tag.id)] = _row(record.id, kind, tag.id, tag.confidence, tag.direction, tag.evidence, False)
    if correction is not None:
        apply_correction(record, tags, correction)  # a curator's coding clears needs_review (unless codings conflict)
    record.classification = {**(record.classification or {}), "needs_review": record.needs_review}
    screen_record(record, scope, correction, previous, verdict_of(record) if verdict_of is not None and scope is not None else None)
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


class RecordHook:
    """The hook the harvest calls on every new or changed record: classified, curated, screened against `scope`.

    `classify_ahead()` (the harvest enters it) starts a worker process that classifies and screens candidates ahead
    of the storing (ahead.py); a record takes its result only when its inputs are exactly the ones classified there.
    """

    def __init__(self, curation: Curation, scope: Scope) -> None:
        self.curation, self.scope = curation, scope
        self.ahead: Ahead | None = None

    def __call__(self, session: Session, record: Record) -> TagRows:
        ahead = self.ahead
        result = ahead.take(record) if ahead is not None else None
        return apply_classification(session, record, result or classify_record(record), self.curation.for_record(session, record),
                                    self.scope, ahead.verdict if ahead is not None and result is not None else None)

    @contextmanager
    def classify_ahead(self) -> Iterator[Ahead | None]:
        """A worker classifying ahead for the length of a harvest, where it can help (None where it cannot)."""
        why = usable()
        if why is not None:
            log.debug("classifying in the harvest's own process (%s)", why)
            yield None
            return
        try:
            self.ahead = Ahead(self.scope, _doc_type)
        except Exception as exc:  # noqa: BLE001 - no worker (fork refused, memory): the harvest classifies here
            log.warning("cannot start a worker to classify ahead (%s: %s); the harvest classifies in its own process",
                        type(exc).__name__, exc)
            yield None
            return
        try:
            yield self.ahead
        finally:
            ahead, self.ahead = self.ahead, None
            ahead.close()


def classify_record_hook(curation: Curation | None = None, scope: Scope | None = None) -> RecordHook:
    """The hook the harvest calls on every new or changed record (classified, curated, screened against `scope`)."""
    return RecordHook(curation if curation is not None else load_curation(), scope or Scope())


def reclassify(session: Session, curation: Curation, batch: int = 500, scope: Scope | None = None) -> Iterator[int]:
    """Re-run classification over every record (after a taxonomy change); yields progress counts.

    Retraining (`retrain_from_curation`, called by `Catalogue.reclassify`) comes first, so records get the model it keeps.
    """
    done = 0
    ids = list(session.exec(select(Record.id)).all())
    for start in range(0, len(ids), batch):
        tags: dict[str, TagRows] = {}
        for record_id in ids[start : start + batch]:
            record = session.get(Record, record_id)
            if record is None:
                continue
            tags[record.id] = apply_classification(session, record, classify_record(record), curation.for_record(session, record), scope or Scope())
            done += 1
        replace_tags(session, tags)
        session.commit()
        session.expunge_all()
        yield done


def apply_curation_only(session: Session, record: Record, curation: Curation) -> None:
    """Classify one record again and lay its (new) correction over it."""
    rows = apply_classification(session, record, classify_record(record), curation.for_record(session, record))
    replace_tags(session, {record.id: rows})


def orphan_warnings(session: Session, curation: Curation) -> list[str]:
    """Corrections whose record is not in the catalogue (kept in the file, reported)."""
    known = {canonical_url(u) for u in [*session.exec(select(Record.url)).all(), *session.exec(select(RecordPlace.url)).all()]}
    return [f"{curation.path}:{c.line}: {url}: no record with this URL in the catalogue (correction kept, not applied)"
            for url, c in curation.corrections.items() if url not in known]


def review_queue(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The records awaiting a curator's check (`needs_review`, not yet curated), least confident first."""
    rows = session.exec(select(Record).where(col(Record.needs_review).is_(True), col(Record.curated).is_(False))
                        .order_by(col(Record.confidence), col(Record.id)).limit(limit)).all()
    return [{"id": r.id, "confidence": r.confidence, "study_design": r.study_design, "direction": r.direction,
             "title": r.title, "url": r.url} for r in rows]  # every row needs review: the queue is of those


MIN_CURATED_TO_RETRAIN = 5  # fewer curator decisions than this since the model was trained: nothing to learn yet


def curated_examples(session: Session, curation: Curation) -> list[Any]:
    """Every record a curator corrected or confirmed, as a training example (the design set, else the one confirmed)."""
    from evidence.classify.taxonomy import lowered
    from evidence.classify.train import example_from

    examples = []
    urls = list(curation.corrections)
    placed = select(RecordPlace.record_id).where(col(RecordPlace.url).in_(urls))
    for record in session.exec(select(Record).where(col(Record.url).in_(urls) | col(Record.id).in_(placed))).all():
        correction = curation.for_record(session, record)
        if correction is None:
            continue
        result = classify_record(record, learned=False)
        design = str(correction.set.get("study_design") or record.study_design or result.study_design)
        if design not in EVIDENCE_LEVELS:
            continue
        body = record_text(record)
        if record.title and not body.lstrip().startswith(record.title.strip()[:60]):
            body = f"{record.title}\n\n{body}"
        examples.append(example_from(result, f"curation:{record.url}", design, lowered(body), "curation"))
    return examples


def retrain_from_curation(session: Session, curation: Curation) -> Any:
    """Retrain the learned layer from the labelled set it can reach plus curation (see `train.retrain`).

    Skipped when fewer than MIN_CURATED_TO_RETRAIN records are curated, or when the curated designs are the
    ones the model in use was trained on; the result says what was decided and why.
    """
    import hashlib
    import json
    import os
    from pathlib import Path

    from evidence.classify.model import LOCAL_MODEL, load_model
    from evidence.classify.train import Retraining, retrain

    curated = curated_examples(session, curation)
    digest = hashlib.sha1(json.dumps(sorted((e.id, e.design) for e in curated)).encode()).hexdigest()[:16]
    current = load_model()
    counts = {"labelled": 0, "curation": len(curated)}
    if len(curated) < MIN_CURATED_TO_RETRAIN:
        return Retraining(False, f"kept the model in use: {len(curated)} curated records (retraining needs {MIN_CURATED_TO_RETRAIN})", counts)
    if current is not None and current.meta.get("curation_digest") == digest:
        return Retraining(False, "kept the model in use: trained on these curator decisions already", counts)
    out = Path(os.environ.get("EVIDENCE_MODEL") or LOCAL_MODEL)
    outcome = retrain(curated, current, out)
    if outcome.replaced:
        from evidence.classify.model import DesignModel

        model = DesignModel.from_json(json.loads(out.read_text(encoding="utf-8")))
        model.meta["curation_digest"] = digest
        model.save(out)
    return outcome
