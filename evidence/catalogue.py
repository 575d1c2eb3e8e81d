"""The catalogue: opening the database, idempotent upserts of candidates, and the queries others use."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Text, bindparam, cast, delete, event, func, inspect, update
from sqlalchemy import select as core_select  # SQLModel's select is typed for up to four columns
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, col, create_engine, select

from evidence.identify import (  # noqa: F401 - canonical_url, title_key, url_key: the catalogue's names, used across the package
    BLOCK_LIMIT,
    MIN_TITLE_KEY_FOR_MATCH,
    NEAR_SCORE,
    TITLE_SCORE,
    TRACKING_PARAMS,
    canonical_url,
    distinguishing,
    host_of,
    neighbour_keys,
    place_priority,
    place_rank,
    skeleton,
    title_key,
    title_score,
    url_key,
)
from evidence.models import (
    MAX_SUMMARY_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Candidate,
    HarvestRun,
    Record,
    RecordPlace,
    RecordTag,
    new_record,
)

log = logging.getLogger(__name__)


class CatalogueError(Exception):
    """The catalogue cannot be opened or written; the message says which database and why."""


def database_url(db: str) -> str:
    """A SQLAlchemy URL from `--db`: a URL as given (postgresql:// meaning the psycopg 3 driver), else a SQLite file path."""
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser()}"
    scheme, rest = db.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"  # SQLAlchemy's own default is psycopg2, which `evidence[postgres]` does not bring
    return db


def is_sqlite(db: str) -> bool:
    """Whether `db` names a SQLite catalogue (a file path or a sqlite:// URL)."""
    return database_url(db).startswith("sqlite")


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
    """The file of a SQLite catalogue (`--db` path, sqlite:/// URL or sqlite:///file:PATH?uri=true); None for other
    databases and in-memory SQLite."""
    if "://" not in db:
        return Path(db).expanduser()
    if not db.startswith("sqlite:///") or db in ("sqlite:///", "sqlite:///:memory:") or "mode=memory" in db:
        return None
    path = db.removeprefix("sqlite:///").split("?", 1)[0]
    if path.startswith("file:"):
        path = path.removeprefix("file:")
    return Path(path).expanduser() if path and path != ":memory:" else None


def require_existing(db: str) -> None:
    """A one-line CatalogueError when `db` names a SQLite file that does not exist: only harvest and demo create one.
    (A server database is checked when first connected: see `connect`.)"""
    path = sqlite_file(db)
    if path is not None and not path.is_file():
        raise CatalogueError(f"no catalogue at {db}: check --db (or EVIDENCE_DB); `evidence harvest` or `evidence demo` creates one")


def to_json(value: Any) -> str:
    """The text of a JSON column: orjson (several times faster than json; a harvest writes six JSON fields a record and
    one a tag), json for what orjson refuses (an integer over 64 bits), which raises as before for what neither can write."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError:
        return json.dumps(value)


def from_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson, or json for what only json reads (NaN, written by versions before `storable`)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def open_engine(db: str) -> Engine:
    """An engine for `db`, without looking at its tables (see `connect`). SQLite runs in WAL mode with explicit
    transactions (so SAVEPOINTs and transactional DDL work); an in-memory one is one shared connection."""
    url = database_url(db)
    codec = {"json_serializer": to_json, "json_deserializer": from_json}
    if url.startswith("sqlite"):
        memory = sqlite_file(db) is None
        options: dict[str, Any] = {"connect_args": {"timeout": 60, "check_same_thread": False}, **codec}
        if memory:
            options["poolclass"] = StaticPool
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **codec)


def connect(db: str, *, create: bool = True) -> Engine:
    """Open the catalogue at `db`, checking its schema; a one-line CatalogueError if it cannot.

    A database with no catalogue tables is given them (`create`, for harvest and demo) or refused. An older schema
    is upgraded here for SQLite (a file one user owns: the upgrade runs in one transaction, so a failure leaves it as
    it was) and refused for a server (a team's database is upgraded on purpose: `evidence migrate`)."""
    try:
        engine = open_engine(db)
        try:
            _check_schema(engine, db, create=create, upgrade=is_sqlite(db))
        except BaseException:
            engine.dispose()
            raise
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        raise CatalogueError(explain(exc, db, opening=True)) from None
    return engine


def migrate(db: str) -> tuple[str | None, str]:
    """Upgrade the catalogue at `db` to this version's schema; returns (revision before, revision after)."""
    from evidence import migrations

    try:
        engine = open_engine(db)
        try:
            with _migrating(engine) as connection:
                before = migrations.current(connection)
                if before is None:
                    raise CatalogueError(f"no catalogue in {shown_url(db)}: check --db (or EVIDENCE_DB); "
                                         "`evidence harvest` or `evidence demo` creates one")
                _refuse_newer(db, before)
                if before == migrations.head() and migrations.VERSION_TABLE in inspect(connection).get_table_names():
                    return before, before
                return migrations.upgrade(connection)
        finally:
            engine.dispose()
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        raise CatalogueError(f"cannot upgrade catalogue {shown_url(db)}: {error_reason(exc)}") from None


# The schema revision this code writes: the newest of evidence/migrations/versions (tests/test_migrations.py pins it to
# Alembic's head). A catalogue stamped with it is opened without loading Alembic and its scripts (a fifth of a second
# on every command); any other catalogue takes the full check below.
SCHEMA_REVISION = "0005"


def _at_schema_revision(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            return list(connection.execute(sql_text("SELECT version_num FROM alembic_version")).scalars()) == [SCHEMA_REVISION]
    except SQLAlchemyError:  # no version table (a new or pre-migration catalogue), or no database yet
        return False


def _check_schema(engine: Engine, db: str, *, create: bool, upgrade: bool) -> None:
    if _at_schema_revision(engine):
        return
    from evidence import migrations

    with engine.connect() as connection:
        revision = migrations.current(connection)
        versioned = migrations.VERSION_TABLE in inspect(connection).get_table_names()
    if revision is None:
        if not create:
            raise CatalogueError(f"no catalogue in {shown_url(db)} (the database has no catalogue tables): check --db "
                                 "(or EVIDENCE_DB); `evidence harvest` or `evidence demo` creates one")
        with engine.begin() as connection:
            if migrations.current(connection) is None:  # (another process may have created it meanwhile)
                SQLModel.metadata.create_all(connection)
                migrations.stamp(connection, "head")
        return
    if revision == migrations.head() and versioned:
        return
    _refuse_newer(db, revision)
    if not upgrade:
        if revision == migrations.head():
            raise CatalogueError(f"catalogue {shown_url(db)} was made before schema migrations (its tables match revision {revision}): "
                                 f"run `evidence --db {shown_url(db)} migrate` once to record that")
        raise CatalogueError(f"catalogue {shown_url(db)} has schema revision {revision}{'' if versioned else ' (made before migrations)'}; "
                             f"this version of evidence needs {migrations.head()}: back it up (pg_dump), then run "
                             f"`evidence --db {shown_url(db)} migrate`")
    with _migrating(engine) as connection:
        before, after = migrations.upgrade(connection)
    log.info("catalogue %s upgraded from schema %s to %s", shown_url(db), before, after)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for a schema upgrade. On SQLite, foreign keys are off meanwhile (a table
    rebuilt by batch mode is dropped and renamed while others refer to it) and checked before committing."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # (a pragma that must come before the transaction: sent to the driver, which begins none)
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise CatalogueError(f"schema upgrade left {len(broken)} rows referring to missing ones (first: {broken[0]}); "
                                             "nothing was changed")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _refuse_newer(db: str, revision: str) -> None:
    from evidence import migrations

    if not migrations.known(revision):
        raise CatalogueError(f"catalogue {shown_url(db)} has schema revision {revision}, made by a newer version of evidence "
                             f"(this one knows up to {migrations.head()}): upgrade evidence")


def error_reason(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's wrapping."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_DAMAGED = ("file is not a database", "malformed", "disk i/o error")
_FULL = ("database or disk is full", "no space left", "could not extend file", "disk quota")
_READ_ONLY = ("readonly database", "read-only", "unable to open database file")
_GONE = ("server closed the connection", "terminating connection", "connection refused", "could not connect", "connection is closed",
         "consuming input failed", "the connection is lost", "connection timeout", "connection to server")


def explain(exc: BaseException, db: str, opening: bool = False) -> str:
    """One line for a database failure: which catalogue, what happened, and what to do about it."""
    shown = shown_url(db)
    reason = error_reason(exc)
    low = reason.lower()
    if any(word in low for word in _DAMAGED):
        return (f"cannot open catalogue {shown}: {reason}: the file is damaged; restore it from a backup, or make a new one from "
                "the capture store with `evidence --db NEW.db harvest --offline`")
    if any(word in low for word in _FULL):
        return f"catalogue {shown}: {reason}: free some disk space and run again (what was already committed is kept)"
    if any(word in low for word in _READ_ONLY) and not opening:
        return f"catalogue {shown} cannot be written ({reason}): check the file's permissions and mount, or use a writable copy"
    if opening:
        return f"cannot open catalogue {shown}: {reason}"
    if getattr(exc, "connection_invalidated", False) or any(word in low for word in _GONE):
        return f"lost the connection to catalogue {shown}: {reason}; what was already committed is kept: run again when it is back"
    return f"catalogue {shown}: {reason}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL keeps readers working during a harvest and makes a killed writer roll back cleanly.
    dbapi_connection.isolation_level = None  # transactions are begun explicitly (_sqlite_begin), DDL included
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # pysqlite would begin a transaction only before the first INSERT/UPDATE/DELETE, which breaks SAVEPOINTs
    # (one bad item rolled back alone) and leaves DDL outside the transaction (SQLAlchemy's documented recipe).
    connection.exec_driver_sql("BEGIN")


# -- normalisation ------------------------------------------------------------------------------


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


_HASHED_FIELDS = tuple(name for name in Candidate.__dataclass_fields__ if name != "extra")


def content_hash(candidate: Candidate) -> str:
    """A hash of every harvested field, to tell a changed document from an unchanged one.

    The fields are read as they are, not copied through `dataclasses.asdict` (which deep-copies every list and
    mapping): a candidate holds no nested dataclass, so the JSON hashed, and the hash, are the same."""
    fields = {name: getattr(candidate, name) for name in _HASHED_FIELDS}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode("utf-8")).hexdigest()


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it in text) and lone surrogates (not UTF-8)


def storable(value: Any) -> Any:
    """`value` with what no catalogue database can store taken out, through lists and mappings: NUL characters
    dropped, lone surrogates replaced by U+FFFD, NaN and infinities (not JSON) made None."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def bound(candidate: Candidate) -> Candidate:
    """Clean a candidate of what the database cannot store (`storable`) and cut its free-text fields to the catalogue's limits."""
    for name in candidate.__dataclass_fields__:
        setattr(candidate, name, storable(getattr(candidate, name)))
    candidate.title = candidate.title.strip()[:MAX_TITLE_CHARS]
    candidate.summary = (candidate.summary or "")[:MAX_SUMMARY_CHARS]
    candidate.text = (candidate.text or "")[:MAX_TEXT_CHARS]
    candidate.links = [link for link in candidate.links if urlsplit(link.get("url", "")).scheme in ("http", "https")][:50]
    candidate.authors = [a[:200] for a in candidate.authors][:50]
    return candidate


# -- upsert -------------------------------------------------------------------------------------

TagRows = list[dict[str, Any]]
ClassifyHook = Callable[[Session, Record], TagRows]


PlaceKey = tuple[str, str]  # (url key, source id): a place is one URL as one source reached it


@dataclass
class IdentityRules:
    """Curators' identity decisions (curation.yaml's `not_same` and `same_as`) as URL keys."""

    apart: list[tuple[str, str]] = field(default_factory=list)  # (the record's URL key, a URL key that is another document)
    same: list[tuple[str, str]] = field(default_factory=list)  # (the record's URL key, the URL key of the same document)

    def apart_from(self) -> dict[str, set[str]]:
        """Each URL key -> the URL keys it must never be matched with."""
        out: dict[str, set[str]] = {}
        for a, b in self.apart:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
        return out


_RULES: WeakKeyDictionary[Engine, IdentityRules] = WeakKeyDictionary()


def set_identity_rules(engine: Engine, rules: IdentityRules) -> None:
    """The identity rules every MatchIndex built on `engine` obeys (set by the harvest from curation.yaml)."""
    _RULES[engine] = rules


@dataclass
class _Known:
    """What matching needs of one record: its title and date, and where it was reached."""

    title: str
    published: str | None
    doc_type: str | None = None
    places: dict[PlaceKey, tuple[int, str, str]] = field(default_factory=dict)  # place -> its rank (identify.place_rank)
    project_ref: str | None = None  # the publisher's own reference (NICE's CG181, a project number)

    def top(self) -> PlaceKey:
        return min(self.places, key=lambda k: self.places[k])

    def hosts(self) -> set[str]:
        return {host_of(rank[1]) for rank in self.places.values()}


def references_apart(a: str | None, b: str | None) -> str | None:
    """Why two same-titled items are different documents: their publisher gave them different reference numbers (a
    published NICE guideline CG181 and the update of it in development, GID-NG10178)."""
    if a and b and re.sub(r"[\s_-]+", "", a).casefold() != re.sub(r"[\s_-]+", "", b).casefold():
        return f"different reference numbers ({a[:40]} / {b[:40]})"
    return None


def same_site_apart(source_id: str, doc_type: str | None, known: _Known) -> str | None:
    """Why a candidate with the same title as `known`, at another URL of one of its sites, is another document: that
    source reached both (a site's different URLs are different documents unless it says otherwise: a DOI, a canonical
    link), or the site lists them as different kinds. A preprint and its published article are the exception."""
    if (doc_type == "preprint") != (known.doc_type == "preprint"):
        return None
    if any(key[1] == source_id for key in known.places):
        return "two URLs on one site from one source (the site does not say they are one document)"
    if doc_type and known.doc_type and doc_type != known.doc_type:
        return f"one site lists them as different kinds ({doc_type} / {known.doc_type})"
    return None


class MatchIndex:
    """What identifies the catalogue's records, held in memory: every place's URL key, DOIs, title blocks and content
    hashes. Built once per harvest, so matching a candidate costs no query; records and places added while storing
    are added to it. Matching by title looks only inside the candidate's block (`identify.skeleton`), so its cost per
    candidate stays flat as the catalogue grows."""

    def __init__(self, session: Session, rules: IdentityRules | None = None):
        self.by_url: dict[str, str] = {}
        self.by_doi: dict[str, str] = {}
        self.blocks: dict[str, list[str]] = {}
        self.near: dict[str, list[str]] = {}
        self.places: dict[PlaceKey, tuple[str, str]] = {}  # place -> (record id, its content hash)
        self.known: dict[str, _Known] = {}
        self.ids: set[str] = set()
        bind = session.get_bind()
        self.rules = rules if rules is not None else _RULES.get(bind) if isinstance(bind, Engine) else None
        self.apart = self.rules.apart_from() if self.rules else {}
        connection = session.connection()
        columns = (col(Record.id), col(Record.doi), col(Record.title), col(Record.published), col(Record.doc_type), col(Record.project_ref))
        for rid, doi, title, published, doc_type, project_ref in connection.execute(core_select(*columns)).all():
            self.add_record(rid, title, published, doi, doc_type, project_ref)
        place_columns = (col(RecordPlace.record_id), col(RecordPlace.url), col(RecordPlace.url_key), col(RecordPlace.source_id),
                         col(RecordPlace.priority), col(RecordPlace.content_hash))
        for rid, url, ukey, source, priority, digest in connection.execute(core_select(*place_columns)).all():
            if rid in self.known:
                self.add_place(rid, (ukey, source), place_rank(priority, url, source), digest)

    def add_record(self, rid: str, title: str, published: str | None, doi: str | None, doc_type: str | None = None,
                   project_ref: str | None = None) -> None:
        """Index one record."""
        self.ids.add(rid)
        self.known[rid] = _Known(title, published, doc_type, project_ref=project_ref)
        if doi:
            self.by_doi.setdefault(doi, rid)
        if len(title_key(title)) >= MIN_TITLE_KEY_FOR_MATCH:
            self.blocks.setdefault(skeleton(title), []).append(rid)
            if log.isEnabledFor(logging.INFO):
                for key in neighbour_keys(title):
                    self.near.setdefault(key, []).append(rid)

    def add_place(self, rid: str, key: PlaceKey, rank: tuple[int, str, str], digest: str) -> None:
        """Index one place of record `rid`."""
        self.by_url.setdefault(key[0], rid)
        self.places[key] = (rid, digest)
        self.known[rid].places[key] = rank

    def _allowed(self, rid: str, ukey: str) -> bool:
        banned = self.apart.get(ukey)
        return not banned or not any(k[0] in banned for k in self.known[rid].places)

    def find(self, candidate: Candidate, source_id: str) -> tuple[str | None, str]:
        """The id of the record this candidate is, and how it matched: "url", "canonical", "doi", "title" or ""."""
        ukey = url_key(candidate.url)
        rid = self.by_url.get(ukey)
        if rid:
            return rid, "url"
        canonical = candidate.extra.get("canonical") if isinstance(candidate.extra, dict) else None
        if isinstance(canonical, str) and urlsplit(canonical).scheme in ("http", "https"):
            rid = self.by_url.get(url_key(canonical))
            if rid and self._allowed(rid, ukey):
                return rid, "canonical"
        same = self._curated_same(ukey)
        if same:
            return same, "same_as"
        doi = normalise_doi(candidate.doi)
        if doi and doi in self.by_doi and self._allowed(self.by_doi[doi], ukey):
            return self.by_doi[doi], "doi"
        if len(title_key(candidate.title)) < MIN_TITLE_KEY_FOR_MATCH:
            return None, ""
        host = host_of(candidate.url)
        for rid in self.blocks.get(skeleton(candidate.title), [])[:BLOCK_LIMIT]:
            known = self.known[rid]
            reason = distinguishing(candidate.title, known.title, candidate.published, known.published)
            if reason is None:
                reason = references_apart(candidate.project_ref, known.project_ref)
            if reason is None and host in known.hosts():
                reason = same_site_apart(source_id, candidate.doc_type, known)
            if reason is None and not self._allowed(rid, ukey):
                reason = "a curator said they are different documents"
            if reason is None and title_score(candidate.title, known.title) < TITLE_SCORE:
                reason = "same words in another order"
            if reason is None:
                log.info("merged %s into record %s: same title and date as %r", candidate.url, rid, known.title[:120])
                return rid, "title"
            log.info("kept apart: %s (%r) and record %s (%r): %s", candidate.url, candidate.title[:120], rid, known.title[:120], reason)
        if log.isEnabledFor(logging.INFO):
            self._log_near(candidate)
        return None, ""

    def _curated_same(self, ukey: str) -> str | None:
        if not self.rules:
            return None
        for a, b in self.rules.same:
            other = b if a == ukey else a if b == ukey else None
            if other and other in self.by_url:
                return self.by_url[other]
        return None

    def _log_near(self, candidate: Candidate) -> None:
        """Log the near-matches (one word apart) kept apart, for a curator (`evidence review --duplicates` lists them)."""
        seen: set[str] = set()
        for key in neighbour_keys(candidate.title):
            for rid in self.near.get(key, [])[:3]:
                if rid in seen:
                    continue
                seen.add(rid)
                known = self.known[rid]
                if title_score(candidate.title, known.title) >= NEAR_SCORE:
                    reason = distinguishing(candidate.title, known.title, candidate.published, known.published)
                    log.info("kept apart: %s (%r) and record %s (%r): %s", candidate.url, candidate.title[:120], rid,
                             known.title[:120], reason)
            if len(seen) >= 3:
                return

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

    places_seen: list[PlaceKey] = field(default_factory=list)  # unchanged places whose last_seen becomes now
    new_places: dict[PlaceKey, dict[str, Any]] = field(default_factory=dict)  # place rows to insert (after their records)
    tags: dict[str, TagRows] = field(default_factory=dict)  # record id -> its tag rows (replacing the old)
    new_ids: set[str] = field(default_factory=set)  # records new in this batch (no tag rows to delete)
    stored: set[PlaceKey] = field(default_factory=set)  # the places this source gave so far (kept for the whole source)


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

    The candidate is one place (its URL, as this source reached it). A place already known with the same content is
    "unchanged" (no record is loaded). Otherwise the place is stored, and the record takes its fields when it is the
    record's highest place. With `index` and `batch` (a harvest), matching needs no query; the caller runs
    `flush_batch` before committing.
    """
    own_batch = batch is None
    index = index or MatchIndex(session)
    batch = batch if batch is not None else StoreBatch()
    candidate = bound(candidate)
    candidate.doi = normalise_doi(candidate.doi)
    digest = content_hash(candidate)
    ukey = url_key(candidate.url)
    pkey = (ukey, source_id)
    known_place = index.places.get(pkey)
    if pkey in batch.stored and known_place is not None and known_place[1] != digest:
        # the same URL twice in one source's answer with different content: the first one stays (so a re-harvest of
        # the same answer changes nothing)
        log.info("source %s gave %s twice with different content; the first is kept", source_id, candidate.url)
        return "unchanged"
    batch.stored.add(pkey)
    if known_place is not None and known_place[1] == digest:
        batch.places_seen.append(pkey)
        outcome = "unchanged"
    else:
        rid, how = (known_place[0], "url") if known_place else index.find(candidate, source_id)
        outcome = _store_place(session, candidate, source_id, now, index, batch, classify_hook, rid, how, digest)
    if own_batch:
        flush_batch(session, batch, now)
    return outcome


def _place_row(candidate: Candidate, source_id: str, now: datetime, rid: str, relation: str, digest: str) -> dict[str, Any]:
    url = canonical_url(candidate.url)
    fields = _fields(candidate)
    fields.pop("text")
    return {"record_id": rid, "url": url, "url_key": url_key(candidate.url), "source_id": source_id, "first_seen": now, "last_seen": now,
            "priority": place_priority(url, candidate.doc_type, candidate.doi, publisher=candidate.publisher, published=candidate.published,
                                       summary=candidate.summary), "title": candidate.title,
            "published": candidate.published, "relation": relation, "content_hash": digest, "fields": fields}


def _store_place(session: Session, candidate: Candidate, source_id: str, now: datetime, index: MatchIndex, batch: StoreBatch,
                 classify_hook: ClassifyHook | None, rid: str | None, how: str, digest: str) -> str:
    ukey = url_key(candidate.url)
    pkey = (ukey, source_id)
    if rid is None:
        url = canonical_url(candidate.url)
        record = new_record(id=index.free_id(record_id(candidate.title, ukey)), url=url, url_key=ukey, title_key=title_key(candidate.title),
                        source_id=source_id, first_seen=now, content_hash=digest, **_fields(candidate))
        session.add(record)
        batch.new_ids.add(record.id)
        row = _place_row(candidate, source_id, now, record.id, "first", digest)
        batch.new_places[pkey] = row
        index.add_record(record.id, record.title, record.published, candidate.doi, record.doc_type, record.project_ref)
        index.add_place(record.id, pkey, place_rank(row["priority"], row["url"], source_id), digest)
        if classify_hook:
            batch.tags[record.id] = classify_hook(session, record)
        return "new"
    known = index.known[rid]
    was_top = known.top() if known.places else None
    row = _place_row(candidate, source_id, now, rid, how, digest)
    if pkey in batch.new_places:
        pending = batch.new_places[pkey]
        pending.update({k: v for k, v in row.items() if k not in ("first_seen", "relation")})
    elif pkey in index.places:
        place = session.exec(select(RecordPlace).where(RecordPlace.url_key == ukey, RecordPlace.source_id == source_id)).first()
        if place is not None:
            for name, value in row.items():
                if name not in ("first_seen", "relation", "record_id"):
                    setattr(place, name, value)
            session.add(place)
    else:
        batch.new_places[pkey] = row
        log.info("merged %s (%s) into record %s by %s", candidate.url, source_id, rid, how)
    index.add_place(rid, pkey, place_rank(row["priority"], row["url"], source_id), digest)
    top = known.top()
    stored = session.get(Record, rid)
    assert stored is not None, rid
    record = stored
    if top == pkey:
        if record.content_hash == digest and record.url_key == ukey:
            return "updated" if how != "url" else "unchanged"
        _take_fields(record, _fields(candidate), row["url"], ukey, source_id, digest)
    elif was_top == pkey:  # this place was the record's highest and no longer is: the new highest gives the fields
        _take_place(session, record, top, index, batch)
    else:
        return "updated"
    known.title, known.published, known.doc_type = record.title, record.published, record.doc_type
    if classify_hook:
        batch.tags[record.id] = classify_hook(session, record)
    return "updated"


def _take_fields(record: Record, fields: dict[str, Any], url: str, ukey: str, source_id: str, digest: str) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    record.url, record.url_key, record.source_id = url, ukey, source_id
    record.title_key = title_key(record.title)
    record.content_hash = digest


def _take_place(session: Session, record: Record, key: PlaceKey, index: MatchIndex | None = None, batch: StoreBatch | None = None) -> None:
    """Give `record` the fields its place `key` stored. The full text is not stored with a place: the place's content
    hash is cleared, so its next answer completes the record."""
    pending = batch.new_places.get(key) if batch else None
    if pending is not None:
        pending["content_hash"] = ""
        fields, url = dict(pending["fields"]), pending["url"]
    else:
        place = session.exec(select(RecordPlace).where(RecordPlace.url_key == key[0], RecordPlace.source_id == key[1])).first()
        assert place is not None, key
        place.content_hash = ""
        session.add(place)
        fields, url = dict(place.fields or {}), place.url
    fields.setdefault("title", record.title)
    fields["text"] = f"{fields.get('title') or ''}\n\n{fields.get('summary') or ''}".strip()
    known = {name for name in Record.model_fields}
    _take_fields(record, {k: v for k, v in fields.items() if k in known}, url, key[0], key[1], "")
    if index is not None:
        index.places[key] = (record.id, "")


def flush_batch(session: Session, batch: StoreBatch, now: datetime) -> None:
    """Write a batch: new places (after their records), last_seen of unchanged places, and each
    re-classified record's tags."""
    session.flush()
    if batch.new_places:
        rows = list(batch.new_places.values())
        _insert(session, RecordPlace, rows)
    by_source: dict[str, list[str]] = {}
    for ukey, source in batch.places_seen:
        by_source.setdefault(source, []).append(ukey)
    for source, keys in by_source.items():
        for start in range(0, len(keys), 500):
            session.exec(update(RecordPlace).where(col(RecordPlace.source_id) == source, col(RecordPlace.url_key).in_(keys[start : start + 500]))  # type: ignore[call-overload]
                         .values(last_seen=now))
    replace_tags(session, batch.tags, fresh=batch.new_ids)
    batch.places_seen.clear()
    batch.new_places.clear()
    batch.tags.clear()
    batch.new_ids.clear()


def replace_tags(session: Session, tags: dict[str, TagRows], fresh: set[str] | frozenset[str] = frozenset()) -> None:
    """Replace the tag rows of these records (one DELETE per 500 records, one INSERT); `fresh`: ids of records
    inserted in this transaction, which have no rows to delete.

    Flushes the session first: a new record's row must exist before rows that refer to it."""
    session.flush()
    stale = [rid for rid in tags if rid not in fresh]
    for start in range(0, len(stale), 500):
        session.exec(delete(RecordTag).where(RecordTag.record_id.in_(stale[start : start + 500])))  # type: ignore[attr-defined,call-overload]
    _insert(session, RecordTag, [row for rows in tags.values() for row in rows])


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) through Core, in one executemany per 500: the ORM's bulk insert spent
    more time on each row than the database did."""
    table = model.__table__
    connection = session.connection()
    for start in range(0, len(rows), 500):
        connection.execute(table.insert(), rows[start : start + 500])


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


# The statements a 304 runs, built once (a harvest of unchanged sources is little else; building them anew each time
# was a third of its storing time): the values are bound at execution.
_TOUCH_SOURCE_PLACES = update(RecordPlace).where(col(RecordPlace.source_id) == bindparam("source")).values(last_seen=bindparam("now"))
_TOUCH_URL_PLACES = update(RecordPlace).where(col(RecordPlace.url_key) == bindparam("key")).values(last_seen=bindparam("now"))


def touch_source(session: Session, source_id: str, now: datetime) -> int:
    """Mark every place a source reached as seen now (its feed answered 304), and so their records; returns how many places."""
    result = session.connection().execute(_TOUCH_SOURCE_PLACES, {"source": source_id, "now": now})
    return int(result.rowcount or 0)


def touch_url(session: Session, url: str, now: datetime) -> bool:
    """Mark the places at `url` as seen now, and so their record; False when the catalogue has no such place."""
    result = session.connection().execute(_TOUCH_URL_PLACES, {"key": url_key(url), "now": now})
    return bool(result.rowcount)


# -- places and curators' identity decisions --------------------------------------------------------------------------------


def _place_dict(place: Any) -> dict[str, Any]:
    first = place.first_seen
    return {"url": place.url, "source": place.source_id, "first_seen": first.isoformat() if isinstance(first, datetime) else str(first),
            "relation": place.relation, "title": place.title, "published": place.published}


def _place_order(place: Any) -> tuple[int, str, str]:
    return place_rank(place.priority, place.url, place.source_id)


def last_seen() -> Any:
    """When each record was last seen: the latest `last_seen` of its places (a harvest marks the places it reached, and
    only them: a record's own row, with its full text, is not rewritten), or its first_seen if it has no place. A
    column to select beside Record's, labelled `last_seen`."""
    table = Record.__table__  # type: ignore[attr-defined]
    latest = core_select(func.max(RecordPlace.last_seen)).where(col(RecordPlace.record_id) == table.c.id).scalar_subquery()
    return func.coalesce(latest, table.c.first_seen).label("last_seen")


def record_places(session: Session, rid: str) -> list[dict[str, Any]]:
    """Every place record `rid` was reached at, its highest (the one its fields come from) first: dicts of url,
    source, first_seen (ISO), relation, title and published."""
    rows = session.connection().execute(core_select(RecordPlace.__table__).where(col(RecordPlace.record_id) == rid)).all()  # type: ignore[attr-defined]
    return [_place_dict(p) for p in sorted(rows, key=_place_order)]


def all_places(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every record's places (as `record_places`), by record id, in one query."""
    columns = [c for c in RecordPlace.__table__.c if c.name != "fields"]  # type: ignore[attr-defined]
    grouped: dict[str, list[Any]] = {}
    for place in session.connection().execute(core_select(*columns)).all():
        grouped.setdefault(place.record_id, []).append(place)
    return {rid: [_place_dict(p) for p in sorted(rows, key=_place_order)] for rid, rows in grouped.items()}


def _places_of(session: Session, rid: str) -> list[RecordPlace]:
    return sorted(session.exec(select(RecordPlace).where(RecordPlace.record_id == rid)).all(), key=_place_order)


def _refresh(session: Session, record: Record) -> None:
    """Give `record` the fields of its highest place, if it does not have them already."""
    places = _places_of(session, record.id)
    if places and (record.url_key != places[0].url_key or record.source_id != places[0].source_id):
        _take_place(session, record, (places[0].url_key, places[0].source_id))


def split_place(session: Session, rid: str, ukey: str, now: datetime) -> Record | None:
    """Move the places of record `rid` at URL key `ukey` into a record of their own (made from the place's stored
    fields); the record left takes its fields from its highest remaining place. None when nothing was split."""
    record = session.get(Record, rid)
    places = _places_of(session, rid)
    moving = [p for p in places if p.url_key == ukey]
    if record is None or not moving or len(moving) == len(places):
        return None
    ids = set(session.exec(select(Record.id)).all())
    top = moving[0]
    new_id, n = record_id(top.title or top.url, ukey), 1
    while new_id in ids:
        n += 1
        new_id = f"{record_id(top.title or top.url, ukey)}-{n}"
    fields = {k: v for k, v in (top.fields or {}).items() if k in Record.model_fields}
    fields.setdefault("title", top.title or top.url)
    fields["text"] = f"{fields.get('title') or ''}\n\n{fields.get('summary') or ''}".strip()
    new = Record(id=new_id, url=top.url, url_key=ukey, title_key=title_key(fields["title"]), source_id=top.source_id,
                 first_seen=top.first_seen, content_hash="", **fields)
    if session.exec(select(Record).where(Record.url == top.url)).first() is not None:
        record.url = f"{record.url}#split-{new_id}"  # (made unique at once; _refresh below sets the right one)
        session.add(record)
        session.flush()
    session.add(new)
    session.flush()
    for place in moving:
        place.record_id = new_id
        place.content_hash = ""  # its next answer completes the record (the full text is not kept with a place)
        session.add(place)
    session.flush()
    _refresh(session, record)
    log.info("split %s off record %s into record %s (a curator said they are different documents)", top.url, rid, new_id)
    return new


def join_records(session: Session, keep_id: str, other_id: str) -> bool:
    """Move every place of record `other_id` into `keep_id` and delete `other_id` (its tags too); the record kept takes
    the fields of its highest place. False when there was nothing to join."""
    if keep_id == other_id:
        return False
    keep, other = session.get(Record, keep_id), session.get(Record, other_id)
    if keep is None or other is None:
        return False
    for place in _places_of(session, other_id):
        place.record_id = keep_id
        place.relation = "same_as"
        session.add(place)
    session.flush()
    session.exec(delete(RecordTag).where(RecordTag.record_id == other_id))  # type: ignore[arg-type,call-overload]
    session.delete(other)
    session.flush()
    places = _places_of(session, keep_id)
    if places and places[0].url == other.url:
        keep.url = other.url + "#joined"  # (made unique before the top place's URL is taken)
    _refresh(session, keep)
    session.add(keep)
    log.info("joined record %s into %s (a curator said they are the same document)", other_id, keep_id)
    return True


def apply_identity(session: Session, rules: IdentityRules, now: datetime) -> list[str]:
    """Make the catalogue obey the curators' identity decisions: split places a curator said are other documents,
    join records a curator said are one. Returns the ids of the records changed (to classify again)."""
    changed: list[str] = []

    def holder(ukey: str) -> str | None:
        return session.exec(select(RecordPlace.record_id).where(RecordPlace.url_key == ukey)).first()

    for own, other in rules.apart:
        rid = holder(own)
        if rid is not None and holder(other) == rid:
            new = split_place(session, rid, other, now)
            if new is not None:
                changed += [rid, new.id]
    for own, other in rules.same:
        keep, join = holder(own), holder(other)
        if keep and join and keep != join and join_records(session, keep, join):
            changed.append(keep)
    session.flush()
    return [rid for rid in dict.fromkeys(changed) if session.get(Record, rid) is not None]


def near_matches(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Pairs of records whose titles are near (one word apart, or the same words) but were kept apart, with why,
    most similar first: for a curator to confirm (`evidence review --duplicates`)."""
    columns = (col(Record.id), col(Record.title), col(Record.published), col(Record.url), col(Record.source_id))
    rows = session.connection().execute(core_select(*columns)).all()
    info = {r.id: r for r in rows}
    blocks: dict[str, list[str]] = {}
    for r in rows:
        if len(title_key(r.title)) >= MIN_TITLE_KEY_FOR_MATCH:
            for key in [skeleton(r.title), *neighbour_keys(r.title)]:
                blocks.setdefault(key, []).append(r.id)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for ids in blocks.values():
        ids = ids[:BLOCK_LIMIT]
        for i, a in enumerate(ids):
            for b in ids[i + 1 : i + 4]:  # a few neighbours each: a series of hundreds shares blocks, and is listed by its first pairs
                pair = (min(a, b), max(a, b))
                if pair in pairs:
                    continue
                ra, rb = info[pair[0]], info[pair[1]]
                score = title_score(ra.title, rb.title)
                if score < NEAR_SCORE:
                    continue
                reason = distinguishing(ra.title, rb.title, ra.published, rb.published)
                if reason is None:
                    same_site = host_of(ra.url) == host_of(rb.url)
                    reason = ("two URLs on one site (the site does not say they are one document)" if same_site
                              else "kept apart by a curator or reached before identity rules")
                pairs[pair] = {"record": ra.id, "other": rb.id, "title": ra.title, "other_title": rb.title, "url": ra.url,
                               "other_url": rb.url, "published": ra.published, "other_published": rb.published,
                               "similarity": round(score, 1), "reason": reason}
    return sorted(pairs.values(), key=lambda p: (-p["similarity"], p["record"], p["other"]))[:limit]



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


def shown_status(status: str, harvest_running: bool) -> str:
    """A run's status as shown: "running" only while a harvest holds the lock; else a killed harvest's "interrupted"."""
    return ("running" if harvest_running else "interrupted") if status == "running" else status


def close_stale_runs(engine: Engine) -> int:
    """Mark interrupted the runs a killed harvest left "running" (call only while holding the harvest lock); how many."""
    with Session(engine) as session:
        result = session.connection().execute(update(HarvestRun).where(col(HarvestRun.status) == "running")
                                              .values(status="interrupted", message="the harvest was stopped before this source was stored"))
        session.commit()
    return int(result.rowcount or 0)


def all_tags(session: Session, raw_evidence: bool = False) -> dict[str, list[Any]]:
    """Every record's tags, grouped by record id: read-only rows (attribute access like RecordTag) through
    SQLAlchemy Core, in one query: building ORM objects cost the site build seconds at 10,000 records.
    With `raw_evidence`, each tag's evidence is its JSON text, for callers that decode only what they show."""
    grouped: dict[str, list[Any]] = {}
    table = RecordTag.__table__  # type: ignore[attr-defined]
    # cast in SQL: PostgreSQL's driver decodes a JSON column itself, so only the database can hand back its text
    columns = [cast(c, Text).label(c.name) if raw_evidence and c.name == "evidence" else c for c in table.c]
    for tag in session.connection().execute(select(*columns)).all():
        grouped.setdefault(tag.record_id, []).append(tag)
    return grouped
