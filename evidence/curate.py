"""What `evidence curate` does: find the record, check and merge the change, save curation.yaml, apply it at once."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from evidence.classify.taxonomy import load_taxonomy
from evidence.config import ConfigError
from evidence.curation import Change, Correction, Curation, apply_change, curation_path, find_record, load_curation, save_curation
from evidence.models import Record, RecordPlace

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
    split: dict[str, str] = field(default_factory=dict)  # --not-same: each URL split off -> the record that holds it now
    joined: list[str] = field(default_factory=list)  # --same-as: the records joined into this one


def reapply(session: Session, record: Record, curation: Curation) -> None:
    """Classify one record again and lay its correction (maybe none now) over it; the rules' screening verdict is kept."""
    from evidence.catalogue import replace_tags
    from evidence.classify.apply import apply_classification, classify_record

    rows = apply_classification(session, record, classify_record(record), curation.for_record(session, record), None)
    replace_tags(session, {record.id: rows})


def curate(session: Session, ref: str, change: Change, curation_file: str | None = None, db: str = "the catalogue") -> CurateResult:
    """Write one curator's change into curation.yaml and apply it to the record; a mistake changes nothing."""
    if change.is_empty():
        raise ConfigError("nothing to change: give --set, --unset, --add, --remove, --note, --drop, --not-same or --same-as")
    taxonomy = load_taxonomy()
    path = curation_path(curation_file)
    curation = load_curation(path, taxonomy)
    record = find_record(session, ref, db)
    if change.identity():
        done = identity(session, record, change, curation, db)
        rest = change.without_identity()
        if rest.is_empty():
            return done
        session.refresh(record)
        change = rest
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


def identity(session: Session, record: Record, change: Change, curation: Curation, db: str) -> CurateResult:
    """--not-same URL (split that place off into its own record) and --same-as OTHER (join OTHER into this record):
    written into the record's curation.yaml entry (re-applied at every harvest), then applied at once."""
    from datetime import date

    from evidence.catalogue import apply_identity, canonical_url, record_places, url_key
    from evidence.curation import identity_rules
    from evidence.models import utcnow

    key = canonical_url(record.url)
    entry = curation.corrections.get(key) or Correction(url=key)
    places = record_places(session, record.id)
    for url in change.not_same:
        if not re.match(r"^https?://", url.strip()):
            raise ConfigError(f"--not-same {url}: give one of the record's URLs (http or https)")
        if url_key(url) not in {url_key(p["url"]) for p in places}:
            shown = ", ".join(p["url"] for p in places)
            raise ConfigError(f"--not-same {url}: record {record.id} was not reached there (its places: {shown})")
        if len({url_key(p["url"]) for p in places}) < 2:
            raise ConfigError(f"--not-same {url}: record {record.id} has no other place to keep")
        if canonical_url(url) not in entry.not_same:
            entry.not_same.append(canonical_url(url))
    if change.same_as:
        other = find_record(session, change.same_as, db)
        if other.id == record.id:
            raise ConfigError(f"--same-as {change.same_as}: that is record {record.id} itself")
        entry.same_as = canonical_url(other.url)
    entry.by = change.by
    entry.updated = date.today().isoformat()
    curation.corrections[key] = entry
    save_curation(curation)
    changed = apply_identity(session, identity_rules(curation), utcnow())
    for rid in changed:
        found = session.get(Record, rid)
        if found is not None:
            reapply(session, found, curation)
    session.commit()
    log.info("curated identity of %s by %s: %s", record.id, change.by, entry.as_yaml())
    kept = session.get(Record, record.id) or record
    result = _result(kept, curation.path, entry)
    for url in change.not_same:
        holder = session.exec(select(RecordPlace.record_id).where(RecordPlace.url_key == url_key(url))).first()
        if holder:
            result.split[canonical_url(url)] = holder
    if change.same_as:
        result.joined = [other.id]
    return result
