"""The catalogue's tables (SQLModel) and the candidate a harvester hands to it.

Nothing here is SQLite-only: JSON and Text columns, no SQLite pragmas, so a PostgreSQL URL works too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

MAX_TEXT_CHARS = 200_000  # full text kept for classification; longer texts are cut here
MAX_SUMMARY_CHARS = 4_000
MAX_TITLE_CHARS = 500


def utcnow() -> datetime:
    """Now, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Candidate:
    """One document as a harvester found it, before it is matched against the catalogue."""

    url: str
    title: str
    publisher: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date, or a year or year-month kept as given
    doc_type: str | None = None
    summary: str = ""
    text: str = ""
    links: list[dict[str, str]] = field(default_factory=list)  # {"url", "title", "type"}
    money: list[dict[str, Any]] = field(default_factory=list)
    sample_size: int | None = None
    project_ref: str | None = None
    doi: str | None = None
    covers: str | None = None  # for news: what the item reports on
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific metadata (pub types, orgs...)


@dataclass
class ItemFailure:
    """An item the harvester could not turn into a candidate; the run goes on."""

    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


@dataclass
class Unchanged:
    """The server said 304 for this URL: nothing to re-extract unless the catalogue lacks it.

    `scope="source"` means the source's own listing or feed did not change. `rebuild` yields the
    candidates from the stored capture, for when the catalogue has nothing for that URL.
    """

    url: str
    scope: str = "item"
    rebuild: Callable[[], Iterator[Candidate | ItemFailure | Unchanged]] | None = None


# The tables' default factories are Python functions, not the builtins `list` and `dict`: SQLModel's constructor asks
# pydantic for every default it fills, and pydantic inspects the factory's signature each time (pydantic issue
# #13376), which for a builtin means parsing its text signature (about 0.15 ms; 0.01 ms for a function). At two
# such fields a record that was most of building one.
def new_list() -> list[Any]:
    """A new empty list (a table's default)."""
    return []


def new_dict() -> dict[str, Any]:
    """A new empty dict (a table's default)."""
    return {}


class Record(SQLModel, table=True):
    """One piece of evidence: a report, evaluation, summary, guideline, article or news item."""

    id: str = Field(primary_key=True, max_length=80)
    url: str = Field(index=True, unique=True)
    url_key: str = Field(index=True)
    title: str
    title_key: str = Field(index=True)
    publisher: str | None = None
    authors: list[str] = Field(default_factory=new_list, sa_type=JSON)
    published: str | None = Field(default=None, index=True)
    doc_type: str | None = Field(default=None, index=True)
    summary: str = Field(default="", sa_type=Text)
    text: str = Field(default="", sa_type=Text)
    links: list[dict[str, str]] = Field(default_factory=new_list, sa_type=JSON)
    money: list[dict[str, Any]] = Field(default_factory=new_list, sa_type=JSON)
    sample_size: int | None = None
    project_ref: str | None = None
    doi: str | None = Field(default=None, index=True)
    covers: str | None = None
    extra: dict[str, Any] = Field(default_factory=new_dict, sa_type=JSON)
    source_id: str = Field(index=True)
    first_seen: datetime = Field(default_factory=utcnow)
    # (when the document was last seen is its places' latest `last_seen`: `catalogue.last_seen`; a harvest of
    # unchanged sources then writes only the small place rows, never the records' full text)
    content_hash: str = ""
    # Classification (automatic, with curation applied over it).
    study_design: str | None = Field(default=None, index=True)
    evidence_level: int | None = Field(default=None, index=True)
    direction: str | None = None
    confidence: float = 0.0
    classification: dict[str, Any] = Field(default_factory=new_dict, sa_type=JSON)
    curated: bool = False
    # Whether a curator must check the classification before it counts as published evidence (classify sets it).
    needs_review: bool = Field(default=True, index=True)
    # Screening against the inclusion criteria (screen.py): included | excluded | to_screen; None before screening.
    inclusion: str | None = Field(default=None, index=True, max_length=20)
    inclusion_reason: str | None = Field(default=None, sa_type=Text)
    # The harvested values of fields a curator overrode ({"content_hash", "fields"}), restored when the correction goes.
    machine: dict[str, Any] = Field(default_factory=new_dict, sa_type=JSON)


_RECORD_DEFAULTS: dict[str, Any] | None = None


def new_record(**values: Any) -> Record:
    """A new Record, built as SQLAlchemy builds one it loads: its state made, every field's value put in its dict.

    The same record as `Record(**values)` (tests/test_catalogue.py compares them field by field, stored and read
    back), in about 5 us instead of 150: SQLModel's constructor sets each of the 32 fields through SQLAlchemy's and
    pydantic's attribute machinery and asks pydantic for each default. The harvest makes one per new document.
    """
    global _RECORD_DEFAULTS
    if _RECORD_DEFAULTS is None:
        _RECORD_DEFAULTS = {name: info for name, info in Record.model_fields.items() if not info.is_required()}
    missing = [name for name, info in Record.model_fields.items() if info.is_required() and name not in values]
    unknown = sorted(values.keys() - Record.model_fields.keys())
    if missing or unknown:
        raise TypeError(f"new_record: {'missing ' + ', '.join(missing) if missing else ''}{'; ' if missing and unknown else ''}"
                        f"{'unknown ' + ', '.join(unknown) if unknown else ''}")
    record = Record.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    fields = record.__dict__
    for name, info in _RECORD_DEFAULTS.items():
        if name not in values:
            fields[name] = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    fields.update(values)
    return record


class RecordTag(SQLModel, table=True):
    """One taxonomy tag on a record: an intervention, outcome or population, with its reasons."""

    record_id: str = Field(primary_key=True, foreign_key="record.id", max_length=80)
    kind: str = Field(primary_key=True, max_length=20)  # intervention | outcome | population
    tag: str = Field(primary_key=True, max_length=60, index=True)
    confidence: float = 0.0
    direction: str | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=new_list, sa_type=JSON)
    curated: bool = False


class RecordPlace(SQLModel, table=True):
    """One place a document was reached: a URL, by one source. A record has one place or more (copies on other sites,
    the same document from another source, news covering it); its own fields come from its highest-priority place
    (`evidence.identify.place_priority`, ties by URL), so they do not depend on the order sources finish in."""

    __table_args__ = (UniqueConstraint("url_key", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(foreign_key="record.id", index=True, max_length=80)
    url: str
    url_key: str = Field(index=True)
    source_id: str = Field(index=True)
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    priority: int = 50
    title: str | None = None
    published: str | None = None
    # how the place joined its record: first | url | doi | title | canonical | same_as (a curator) | covered_by (news)
    relation: str = Field(default="first", max_length=20)
    content_hash: str = ""
    # the fields this place gave (all but the full text), for when it becomes the record's highest place
    fields: dict[str, Any] = Field(default_factory=new_dict, sa_type=JSON)


class HarvestRun(SQLModel, table=True):
    """One source's part of one harvest: counts, and the reason when it failed."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = "running"  # running | ok | failed | interrupted (stopped before this source was stored)
    offline: bool = False
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    message: str | None = Field(default=None, sa_type=Text)
    item_errors: list[str] = Field(default_factory=new_list, sa_type=JSON)
