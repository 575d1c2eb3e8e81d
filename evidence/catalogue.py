"""The catalogue: opening the database, idempotent upserts of candidates, and the queries others use."""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Text, delete, event, func, insert, type_coerce, update
from sqlalchemy import select as core_select  # SQLModel's select is typed for up to four columns
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from evidence.models import (
    MAX_SUMMARY_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Candidate,
    HarvestRun,
    Record,
    RecordLink,
    RecordTag,
)

TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|cmpid|ito|at_medium|at_campaign)$", re.I)
TITLE_MATCH_RATIO = 0.92
MIN_TITLE_KEY_FOR_MATCH = 20  # short titles ("Annual report") never match on title alone


class CatalogueError(Exception):
    """The catalogue cannot be opened or written; the message says which database and why."""


def database_url(db: str) -> str:
    """A SQLAlchemy URL from `--db`: a URL as given, anything else a SQLite file path."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def shown_url(db: str) -> str:
    """`--db` as it may be shown in a message: a URL's password is masked."""
    if "://" not in db:
        return db
    try:
        from sqlalchemy.engine import make_url

        return make_url(db).render_as_string(hide_password=True)
    except ArgumentError:
        return db.split("://", 1)[0] + "://..."


def sqlite_file(db: str) -> Path | None:
    """The file of a SQLite catalogue (`--db` path or sqlite:/// URL); None for other databases and in-memory SQLite."""
    if "://" not in db:
        return Path(db).expanduser()
    if db.startswith("sqlite:///") and db not in ("sqlite:///", "sqlite:///:memory:") and "mode=memory" not in db:
        return Path(db.removeprefix("sqlite:///").split("?", 1)[0]).expanduser()
    return None


def require_existing(db: str) -> None:
    """A one-line CatalogueError when `db` names a SQLite file that does not exist: only harvest and demo create one."""
    path = sqlite_file(db)
    if path is not None and not path.is_file():
        raise CatalogueError(f"no catalogue at {db}: check --db (or EVIDENCE_DB); `evidence harvest` or `evidence demo` creates one")


def connect(db: str, *, create: bool = True) -> Engine:
    """Open (and create the tables of) the catalogue at `db`; a one-line CatalogueError if it cannot."""
    url = database_url(db)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        if create:
            SQLModel.metadata.create_all(engine)
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CatalogueError(f"cannot open catalogue {shown_url(db)}: {reason}") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL keeps readers working during a harvest and makes a killed writer roll back cleanly.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


# -- normalisation ------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """A URL cleaned for storage: lower-case scheme and host, no default port, tracking params or fragment."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)))
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    fragment = parts.fragment if parts.fragment.startswith("item-") else ""  # digest items are anchors
    return urlunsplit((scheme, netloc, path, query, fragment))


def url_key(url: str) -> str:
    """The matching key of a URL: canonical, with http and https treated alike."""
    canonical = canonical_url(url)
    return re.sub(r"^https?://(www\.)?", "", canonical)


def title_key(title: str) -> str:
    """A title folded for matching: no accents, case, punctuation or leading article."""
    folded = re.sub(r"['\u2019\u2018`]", "", title)
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii").casefold()
    folded = re.sub(r"[^a-z0-9]+", " ", folded).strip()
    return re.sub(r"^(the|a|an) ", "", folded)


def normalise_doi(doi: str | None) -> str | None:
    """A bare lower-case DOI (10.x/...), or None."""
    if not doi:
        return None
    match = re.search(r"10\.\d{4,9}/\S+", doi.strip())
    return match.group(0).rstrip(".,;)").lower() if match else None


def slugify(text: str, limit: int = 60) -> str:
    """An ASCII slug safe as a file name: letters, digits and single hyphens."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return slug[:limit].rstrip("-") or "record"


SAFE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # what record_id makes: ids name the site's files


def record_id(title: str, key: str) -> str:
    """A stable, path-safe id: a slug of the title plus a short hash of the URL key."""
    return f"{slugify(title)}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


def content_hash(candidate: Candidate) -> str:
    """A hash of every harvested field, to tell a changed document from an unchanged one."""
    fields = {k: v for k, v in asdict(candidate).items() if k != "extra"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def bound(candidate: Candidate) -> Candidate:
    """Cut a candidate's free-text fields to the catalogue's limits."""
    candidate.title = candidate.title.strip()[:MAX_TITLE_CHARS]
    candidate.summary = (candidate.summary or "")[:MAX_SUMMARY_CHARS]
    candidate.text = (candidate.text or "")[:MAX_TEXT_CHARS]
    candidate.links = [link for link in candidate.links if urlsplit(link.get("url", "")).scheme in ("http", "https")][:50]
    candidate.authors = [a[:200] for a in candidate.authors][:50]
    return candidate


# -- upsert -------------------------------------------------------------------------------------

TagRows = list[dict[str, Any]]
ClassifyHook = Callable[[Session, Record], TagRows]


class MatchIndex:
    """What identifies the catalogue's records (URL key, DOI, title key, content hash), held in memory.

    Built once per stored source, so matching a candidate costs no query; records added while
    storing are added to it, so duplicates within one source are caught too.
    """

    def __init__(self, session: Session):
        self.by_url: dict[str, str] = {}
        self.by_doi: dict[str, str] = {}
        self.by_title: dict[str, str] = {}
        self.by_prefix: dict[str, list[tuple[str, str]]] = {}
        self.hashes: dict[str, str] = {}
        self.ids: set[str] = set()
        columns = (col(Record.id), col(Record.url_key), col(Record.doi), col(Record.title_key), col(Record.content_hash))
        rows = session.connection().execute(core_select(*columns)).all()
        for rid, ukey, doi, tkey, digest in rows:
            self.add(rid, ukey, doi, tkey, digest)
        for rid, url in session.exec(select(RecordLink.record_id, RecordLink.url)).all():
            self.by_url.setdefault(url_key(url), rid)

    def add(self, rid: str, ukey: str, doi: str | None, tkey: str, digest: str) -> None:
        """Index one record."""
        self.ids.add(rid)
        self.by_url[ukey] = rid
        if doi:
            self.by_doi.setdefault(doi, rid)
        if len(tkey) >= MIN_TITLE_KEY_FOR_MATCH:
            self.by_title.setdefault(tkey, rid)
            self.by_prefix.setdefault(tkey[:12], []).append((tkey, rid))
        self.hashes[rid] = digest

    def find(self, candidate: Candidate) -> tuple[str | None, str]:
        """The id of the record this candidate is, and how it matched: "url", "doi", "title" or ""."""
        rid = self.by_url.get(url_key(candidate.url))
        if rid:
            return rid, "url"
        doi = normalise_doi(candidate.doi)
        if doi and doi in self.by_doi:
            return self.by_doi[doi], "doi"
        tkey = title_key(candidate.title)
        if len(tkey) >= MIN_TITLE_KEY_FOR_MATCH:
            if tkey in self.by_title:
                return self.by_title[tkey], "title"
            for other, rid in self.by_prefix.get(tkey[:12], [])[:50]:
                if difflib.SequenceMatcher(None, other, tkey).ratio() >= TITLE_MATCH_RATIO:
                    return rid, "title"
        return None, ""

    def free_id(self, wanted: str) -> str:
        """`wanted`, or wanted-2, -3... when another record has it (never a silent collision)."""
        candidate_id, n = wanted, 1
        while candidate_id in self.ids:
            n += 1
            candidate_id = f"{wanted}-{n}"
        return candidate_id


@dataclass
class StoreBatch:
    """Writes gathered while storing one source, flushed in bulk (see `flush_batch`)."""

    seen: list[str] = field(default_factory=list)  # ids whose last_seen becomes now
    tags: dict[str, TagRows] = field(default_factory=dict)  # record id -> its tag rows (replacing the old)


def upsert(
    session: Session,
    candidate: Candidate,
    source_id: str,
    now: datetime,
    classify_hook: ClassifyHook | None = None,
    index: MatchIndex | None = None,
    batch: StoreBatch | None = None,
) -> str:
    """Store one candidate; returns "new", "updated" or "unchanged". Idempotent for unchanged input.

    With `index` and `batch` (a harvest), matching needs no query and unchanged records are not
    loaded; the caller runs `flush_batch` before committing.
    """
    own_batch = batch is None
    index = index or MatchIndex(session)
    batch = batch if batch is not None else StoreBatch()
    candidate = bound(candidate)
    candidate.doi = normalise_doi(candidate.doi)
    digest = content_hash(candidate)
    rid, how = index.find(candidate)
    if rid is None:
        key = url_key(candidate.url)
        record = Record(
            id=index.free_id(record_id(candidate.title, key)),
            url=canonical_url(candidate.url),
            url_key=key,
            title_key=title_key(candidate.title),
            source_id=source_id,
            first_seen=now,
            last_seen=now,
            content_hash=digest,
            **_fields(candidate),
        )
        session.add(record)
        index.add(record.id, key, candidate.doi, record.title_key, digest)
        if classify_hook:
            batch.tags[record.id] = classify_hook(session, record)
        outcome = "new"
    elif how == "url" and index.hashes.get(rid) == digest:
        batch.seen.append(rid)
        outcome = "unchanged"
    else:
        stored = session.get(Record, rid)
        assert stored is not None, rid
        record = stored
        record.last_seen = now
        if how != "url":
            # The same document reached another way: keep one record, remember where else it is.
            outcome = _link(session, record, candidate, source_id, now)
            index.by_url[url_key(candidate.url)] = rid
        else:
            for name, value in _fields(candidate).items():
                setattr(record, name, value)
            record.title_key = title_key(candidate.title)
            record.content_hash = digest
            index.hashes[rid] = digest
            session.add(record)
            if classify_hook:
                batch.tags[record.id] = classify_hook(session, record)
            outcome = "updated"
    if own_batch:
        flush_batch(session, batch, now)
    return outcome


def flush_batch(session: Session, batch: StoreBatch, now: datetime) -> None:
    """Write a batch: last_seen of unchanged records, and each re-classified record's tags."""
    session.flush()
    for start in range(0, len(batch.seen), 500):
        chunk = batch.seen[start : start + 500]
        session.exec(update(Record).where(Record.id.in_(chunk)).values(last_seen=now))  # type: ignore[attr-defined,call-overload]
    replace_tags(session, batch.tags)
    batch.seen.clear()
    batch.tags.clear()


def replace_tags(session: Session, tags: dict[str, TagRows]) -> None:
    """Replace the tag rows of these records (one DELETE and one INSERT per 500 records).

    Flushes the session first: a new record's row must exist before rows that refer to it."""
    session.flush()
    ids = list(tags)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.exec(delete(RecordTag).where(RecordTag.record_id.in_(chunk)))  # type: ignore[attr-defined,call-overload]
        rows = [row for rid in chunk for row in tags[rid]]
        if rows:
            session.exec(insert(RecordTag), params=rows)  # type: ignore[call-overload]


def _fields(candidate: Candidate) -> dict[str, Any]:
    return {
        "title": candidate.title,
        "publisher": candidate.publisher,
        "authors": candidate.authors,
        "published": candidate.published,
        "doc_type": candidate.doc_type,
        "summary": candidate.summary,
        "text": candidate.text,
        "links": candidate.links,
        "money": candidate.money,
        "sample_size": candidate.sample_size,
        "project_ref": candidate.project_ref,
        "doi": candidate.doi,
        "covers": candidate.covers,
        "extra": candidate.extra,
    }


def _link(session: Session, record: Record, candidate: Candidate, source_id: str, now: datetime) -> str:
    url = canonical_url(candidate.url)
    existing = session.exec(select(RecordLink).where(RecordLink.record_id == record.id, RecordLink.url == url)).first()
    changed = False
    for name in ("doi", "publisher", "published", "summary"):  # fill gaps, never overwrite
        if not getattr(record, name) and getattr(candidate, name):
            setattr(record, name, getattr(candidate, name))
            changed = True
    session.add(record)
    if existing is None:
        session.add(RecordLink(record_id=record.id, url=url, title=candidate.title, source_id=source_id, first_seen=now))
        return "updated"
    return "updated" if changed else "unchanged"


def touch_source(session: Session, source_id: str, now: datetime) -> int:
    """Mark every record of a source as seen now (its feed answered 304); returns how many."""
    result = session.connection().execute(update(Record).where(col(Record.source_id) == source_id).values(last_seen=now))
    return int(result.rowcount or 0)


def touch_url(session: Session, url: str, now: datetime) -> bool:
    """Mark the record at `url` as seen now; False when the catalogue has no such record."""
    record = session.exec(select(Record).where(Record.url_key == url_key(url))).first()
    if record is None:
        return False
    record.last_seen = now
    session.add(record)
    return True


# -- queries ------------------------------------------------------------------------------------


def source_counts(session: Session) -> dict[str, int]:
    """How many records each source holds."""
    rows = session.exec(select(Record.source_id, func.count()).group_by(Record.source_id)).all()
    return {source_id: count for source_id, count in rows}


def last_runs(session: Session) -> dict[str, HarvestRun]:
    """The most recent harvest run of each source."""
    newest = select(HarvestRun.source_id, func.max(HarvestRun.id).label("run_id")).group_by(HarvestRun.source_id).subquery()
    rows = session.exec(select(HarvestRun).join(newest, col(HarvestRun.id) == newest.c.run_id)).all()
    return {run.source_id: run for run in rows}


def all_tags(session: Session, raw_evidence: bool = False) -> dict[str, list[Any]]:
    """Every record's tags, grouped by record id: read-only rows (attribute access like RecordTag) through
    SQLAlchemy Core, in one query: building ORM objects cost the site build seconds at 10,000 records.
    With `raw_evidence`, each tag's evidence is its JSON text, for callers that decode only what they show."""
    grouped: dict[str, list[Any]] = {}
    table = RecordTag.__table__  # type: ignore[attr-defined]
    columns = [type_coerce(c, Text).label(c.name) if raw_evidence and c.name == "evidence" else c for c in table.c]
    for tag in session.connection().execute(select(*columns)).all():
        grouped.setdefault(tag.record_id, []).append(tag)
    return grouped
