"""What `evidence curate` does: find the record, check and merge the change, save curation.yaml, apply it at once."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from evidence.classify.taxonomy import load_taxonomy
from evidence.config import ConfigError
from evidence.curation import Change, Correction, Curation, apply_change, curation_path, find_record, load_curation, save_curation
from evidence.models import Record

log = logging.getLogger(__name__)


@dataclass
class CurateResult:
    """A record after a curator's change: what applies now and where it was written."""

    record_id: str
    url: str
    path: Path
    study_design: str | None
    evidence_level: int | None
    direction: str | None
    inclusion: str | None
    inclusion_reason: str | None
    dropped: bool = False
    entry: dict[str, Any] = field(default_factory=dict)


def reapply(session: Session, record: Record, curation: Curation) -> None:
    """Classify one record again and lay its correction (maybe none now) over it; the rules' screening verdict is kept."""
    from evidence.catalogue import replace_tags
    from evidence.classify.apply import apply_classification, classify_record

    rows = apply_classification(session, record, classify_record(record), curation.for_url(record.url), None)
    replace_tags(session, {record.id: rows})


def curate(session: Session, ref: str, change: Change, curation_file: str | None = None, db: str = "the catalogue") -> CurateResult:
    """Write one curator's change into curation.yaml and apply it to the record; a mistake changes nothing."""
    if change.is_empty():
        raise ConfigError("nothing to change: give --set, --unset, --add, --remove, --note or --drop")
    taxonomy = load_taxonomy()
    path = curation_path(curation_file)
    curation = load_curation(path, taxonomy)
    record = find_record(session, ref, db)
    machine_design = (record.classification or {}).get("study_design")
    correction = apply_change(curation, record.url, change, taxonomy, machine_design=machine_design)
    save_curation(curation)
    reapply(session, record, curation)
    session.commit()
    log.info("curated %s by %s: written to %s", record.id, change.by, path)
    return _result(record, path, correction)


def _result(record: Record, path: Path, correction: Correction | None) -> CurateResult:
    return CurateResult(record_id=record.id, url=record.url, path=path, study_design=record.study_design,
                        evidence_level=record.evidence_level, direction=record.direction, inclusion=record.inclusion,
                        inclusion_reason=record.inclusion_reason, dropped=correction is None,
                        entry=correction.as_yaml() if correction else {})
