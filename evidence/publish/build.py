"""Build the static site from the catalogue.

    build_site()  ->  load() everything from the catalogue (read-only, validated)
                  ->  render() every page, feed and download into memory
                  ->  write(): only files whose bytes changed; files no longer produced are removed

Links are relative, so the site works opened from disk and under any sub-path; `base_url` only
makes the absolute URLs that feeds and the sitemap need.
"""
from __future__ import annotations

import gc
import hashlib
import heapq
import json
import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.engine import Row
from sqlmodel import Session, col, select

from evidence import __version__, catalogue
from evidence.classify.design import (
    DESIGN_LABELS,
    DIRECTIONS,
    EVIDENCE_LEVELS,
    SCALE_VERSION,
)
from evidence.classify.taxonomy import load_taxonomy
from evidence.config import ConfigError
from evidence.extract import safe_link
from evidence.models import HarvestRun, Record
from evidence.publish.cache import CACHE_DIR, BuildCache, code_digest, digest, is_text, is_text_list, piece
from evidence.publish.evidence_map import (
    EXCLUDED,
    NO_EFFECT,
    Cell,
    Entry,
    Finding,
    MapRecord,
    evidence_map,
    filter_data,
    map_json,
)
from evidence.publish.exports import (
    CATALOGUE_SCHEMA,
    bibtex_entry,
    csv_header,
    csv_line,
    export,
    json_document,
    loads_json,
    open_record,
    ris_entry,
    safe_json,
)
from evidence.publish.feeds import FEED_SIZE, atom_feed
from evidence.publish.ratings import FLAG, SCALE, date_ratings, rate_all, ratings_json

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # shipped inside the package (and the wheel)
STATE_FILE = ".evidence-build.json"
LEVEL_NAMES = {5: "Systematic review", 4: "Randomised trial", 3: "Comparison group", 2: "Before-and-after or observational",
               1: "Qualitative or case review", 0: "Guidance or expert opinion"}
RECORDS_PER_PAGE = 500  # on the "All records" list pages
RESERVED_IDS = re.compile(r"index(?:-\d+)?")  # the list pages' names in records/
UNPUBLISHED = {"text", "extra", "url_key", "title_key", "content_hash"}  # Record columns no page or download shows
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")  # frame-ancestors is ignored in <meta>


@dataclass
class BuildReport:
    """What a build did."""

    out: Path
    pages: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    records: int = 0
    added: list[str] = field(default_factory=list)


@dataclass
class SiteData:
    """Everything the pages are made from, loaded and checked before any file is written."""

    rows: list[dict[str, Any]]
    map_records: list[MapRecord]
    cells: dict[tuple[str, str], Cell]
    ratings: dict[str, Any]
    interventions: dict[str, Any]
    outcomes: dict[str, Any]
    populations: dict[str, Any]
    sources: list[dict[str, Any]]
    built_at: str
    base_url: str
    taxonomy_version: str
    flow: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, Any] | None = None

    @cached_property
    def listed(self) -> list[dict[str, Any]]:
        """The rows lists, feeds and the home page show: every record but the excluded ones, newest first."""
        return [r for r in self.rows if r["inclusion"] != EXCLUDED]


def load(db: str, base_url: str = "", curation_file: str | Path | None = None, config: Any = None) -> SiteData:
    """Read the catalogue into page-ready data (`curation_file`: the agreement figures the method page shows)."""
    taxonomy = load_taxonomy()
    engine = catalogue.connect(db, create=False)
    try:
        with Session(engine) as session:
            table = Record.__table__  # type: ignore[attr-defined]
            # read-only rows through Core (attribute access like Record): no ORM objects for 10,000s of records,
            # and not the columns pages never show (full text, bookkeeping)
            columns: list[Any] = [c for c in table.c if c.name not in UNPUBLISHED] + [catalogue.last_seen()]
            # of the source's metadata, only a withdrawn notice (GOV.UK) is shown: read those two keys, not the whole JSON
            columns += [table.c.extra["withdrawn"].as_string().label("withdrawn_notice"),
                        table.c.extra["withdrawn_at"].as_string().label("withdrawn_at")]
            records = list(session.connection().execute(select(*columns).order_by(table.c.first_seen.desc(), table.c.id)).all())
            tags = catalogue.all_tags(session, raw_evidence=True)  # decoded only for the record pages rendered
            places = catalogue.all_places(session)
            links: dict[str, list[dict[str, str]]] = {}
            shown: dict[str, list[dict[str, Any]]] = {}  # each record's places with a safe link, best first (each link checked once)
            for rid, found in places.items():
                for n, place in enumerate(found):
                    safe = safe_link(place["url"])
                    if not safe:
                        continue
                    shown.setdefault(rid, []).append({"url": safe, "source": place["source"], "first_seen": place["first_seen"]})
                    if n:  # the places beyond the record's own URL
                        links.setdefault(rid, []).append({"url": safe, "title": place["title"] or safe, "source_id": place["source"]})
            merged = sum(max(0, len(found) - 1) for found in places.values())  # documents merged into a record
            runs = catalogue.last_runs(session)
            counts = catalogue.source_counts(session)
            first_runs = {r.source_id: r for r in session.exec(select(HarvestRun).order_by(col(HarvestRun.id))).all()}
    finally:
        engine.dispose()
    rows, map_records = [], []
    for record in records:
        if not catalogue.SAFE_ID.fullmatch(record.id) or RESERVED_IDS.fullmatch(record.id):
            # ids name files: only the slugs catalogue.record_id makes are written
            raise ConfigError(f"{db}: record id {record.id[:80]!r} is not a safe file name (letters, digits, hyphens; "
                              "not index or index-N, which name the list pages); "
                              "the catalogue was edited by hand: fix or delete that row")
        grouped: dict[str, list[Any]] = {"intervention": [], "outcome": [], "population": []}
        for tag in sorted(tags.get(record.id, ()), key=lambda t: (-t.confidence, t.tag)):
            grouped.setdefault(tag.kind, []).append(tag)
        row = _row(record, grouped, links.get(record.id, []))
        row["places"] = shown.get(record.id, [])
        rows.append(row)
        direction = record.direction or "unclear"
        curation = row["curation"] or {}
        map_records.append(MapRecord(
            id=record.id, title=record.title, level=record.evidence_level, design=record.study_design or "unclear",
            direction=direction, interventions={t.tag: t.direction for t in grouped["intervention"]},
            outcomes={t.tag for t in grouped["outcome"]}, populations={t.tag for t in grouped["population"]},
            publisher=record.publisher, year=(record.published or "")[:4] or None, doc_type=record.doc_type, published=record.published,
            pairs=[f for p in row["pairs"] if (f := Finding.from_dict(p, direction)) is not None],
            needs_review=bool(record.needs_review), curated=bool(record.curated), inclusion=record.inclusion,
            first_seen=record.first_seen, curated_on=str(curation.get("updated") or "")[:10] or None))
    interventions = {i: taxonomy.terms["interventions"][i] for i in taxonomy.ids("interventions")}
    outcomes = {o: taxonomy.terms["outcomes"][o] for o in taxonomy.ids("outcomes")}
    cells = evidence_map(map_records, list(interventions), list(outcomes))
    ratings = rate_all(cells, list(interventions))
    sources = []
    described = {s.id: s for s in config.sources} if config is not None else {}
    for source_id in sorted(set(runs) | set(counts) | set(described)):
        run = runs.get(source_id)
        sources.append({"id": source_id, "records": counts.get(source_id, 0), **_described(described.get(source_id)),
                        "status": ("interrupted" if run and run.status == "running" else run.status) if run else "never run",
                        "last_run": run.started_at.strftime("%Y-%m-%d %H:%M") if run else None,
                        "first_run": first_runs[source_id].started_at.strftime("%Y-%m-%d") if source_id in first_runs else None,
                        "new": run.new if run else 0, "errors": run.errors if run else 0, "message": run.message if run else None})
    from evidence.agreement import agreement_figures

    agreement = agreement_figures(db, curation_file) if curation_file else None
    rows = newest_first(rows)
    by_id = {m.id: m for m in map_records}
    map_records = [by_id[r["id"]] for r in rows]
    return SiteData(rows=rows, map_records=map_records, cells=cells, ratings=ratings, interventions=interventions,
                    outcomes=outcomes, populations={p: taxonomy.terms["populations"][p] for p in taxonomy.ids("populations")},
                    sources=sources, built_at=now_utc().strftime("%Y-%m-%d %H:%M UTC"),
                    base_url=(base_url or "").rstrip("/"), taxonomy_version=taxonomy.version,
                    flow=screening_flow(rows, map_records, cells, merged), agreement=agreement)


def now_utc() -> datetime:
    """The build's clock (one place, so a test can move it)."""
    return datetime.now(UTC)


def newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows newest first by publication date (ISO text: a full date before its month and year), undated last; then
    by when first seen, newest first; then by id (stable sorts, last key first)."""
    rows = sorted(rows, key=lambda r: r["id"])
    rows.sort(key=lambda r: r["first_seen"].isoformat() if isinstance(r["first_seen"], datetime) else str(r["first_seen"] or ""), reverse=True)
    rows.sort(key=lambda r: r["published"] or "", reverse=True)  # "" (undated) sorts last when reversed
    return rows


def screening_flow(rows: list[dict[str, Any]], records: list[MapRecord], cells: dict[tuple[str, str], Cell], merged: int) -> dict[str, Any]:
    """The flow in numbers, as PRISMA diagrams give it: documents harvested, duplicates merged, records, excluded
    by reason, still to screen, included, and on the map (in at least one cell; as a study)."""
    excluded: dict[str, int] = {}
    for row in rows:
        if row["inclusion"] == EXCLUDED:
            reason = row["exclusion_reason"]
            excluded[reason] = excluded.get(reason, 0) + 1
    in_cells = {e.record.id for c in cells.values() for e in c.entries}
    as_study = {e.record.id for c in cells.values() for e in c.study_entries}
    return {"harvested": len(rows) + merged, "duplicates_merged": merged, "records": len(rows),
            "excluded": sum(excluded.values()), "excluded_by_reason": dict(sorted(excluded.items(), key=lambda kv: (-kv[1], kv[0]))),
            "to_screen": sum(1 for r in rows if r["inclusion"] == "to_screen"),
            "included": sum(1 for r in rows if r["inclusion"] == "included"),
            "not_screened": sum(1 for r in rows if r["inclusion"] not in ("included", "excluded", "to_screen")),
            "on_map": len(in_cells), "on_map_as_studies": len(as_study),
            "unchecked_on_map": sum(1 for m in records if m.id in as_study and m.unchecked)}


def _row(record: Row[Any], tags: dict[str, list[Any]], links: list[dict[str, str]]) -> dict[str, Any]:
    """A record's page-ready fields, from a Core row holding the published columns of `Record`."""
    classification = record.classification or {}
    return {
        "id": record.id, "title": record.title, "publisher": record.publisher, "authors": list(record.authors or []),
        "published": record.published, "doc_type": record.doc_type, "study_design": record.study_design,
        "evidence_level": record.evidence_level, "direction": record.direction, "confidence": record.confidence,
        "interventions": [t.tag for t in tags["intervention"]], "outcomes": [t.tag for t in tags["outcome"]],
        "populations": [t.tag for t in tags["population"]], "url": safe_link(record.url) or "", "doi": record.doi,
        "source_id": record.source_id, "first_seen": record.first_seen, "last_seen": record.last_seen,
        "curated": record.curated, "summary": record.summary,
        # page-only fields
        "tags": {kind: [{"tag": t.tag, "confidence": t.confidence, "direction": t.direction, "evidence_json": t.evidence, "curated": t.curated}
                        for t in group] for kind, group in tags.items()},
        "links": [link for link in (record.links or []) if safe_link(link.get("url"))], "money": record.money or [],
        "sample_size": record.sample_size, "project_ref": record.project_ref, "covered_by": links, "covers": record.covers,
        "rationale": classification.get("rationale_offsets") or [], "direction_rationale": classification.get("direction_rationale") or [],
        "set_aside": classification.get("set_aside") or [], "curation": classification.get("curation"),
        "scale_version": classification.get("scale_version", SCALE_VERSION),
        "needs_review": bool(record.needs_review), "inclusion": record.inclusion, "inclusion_reason": record.inclusion_reason,
        "exclusion_reason": _exclusion_reason(record.inclusion, classification),
        "pairs": [p for p in classification.get("pairs") or [] if isinstance(p, dict)],
        **_withdrawn(record.withdrawn_notice, record.withdrawn_at),
    }


EXCLUSION_REASONS = {"doc_type": "document kind outside the scope", "years": "published outside the scope's years",
                     "exclude": "about an excluded topic", "topic": "no topic phrase", "population": "population outside the scope",
                     "curator": "excluded by a curator"}


def _exclusion_reason(inclusion: str | None, classification: dict[str, Any]) -> str:
    """Why an excluded record is out, in a few plain words (the criterion the rules or a curator applied)."""
    if inclusion != EXCLUDED:
        return ""
    found = classification.get("screening")
    screening: dict[str, Any] = found if isinstance(found, dict) else {}
    curator = screening.get("curator")
    if isinstance(curator, dict) and curator.get("decision") == "exclude":
        return EXCLUSION_REASONS["curator"]
    found = screening.get("rules")
    rules: dict[str, Any] = found if isinstance(found, dict) else {}
    return EXCLUSION_REASONS.get(str(rules.get("criterion")), "outside the scope")


def _withdrawn(notice: str | None, at: str | None) -> dict[str, Any]:
    """A withdrawn publication's notice and date (GOV.UK's withdrawn_notice, kept in record.extra by its harvester)."""
    date = at[:10] if isinstance(at, str) and re.fullmatch(r"\d{4}-\d\d-\d\d.*", at) else None
    return {"withdrawn": bool(notice or date), "withdrawn_notice": str(notice)[:500] if notice else None, "withdrawn_on": date}


def export_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open-data fields of page rows (datetimes as ISO text): the same rows for `evidence export` and the
    site's downloads (see exports.OPEN_FIELDS and the published JSON Schema)."""
    return [open_record(r) for r in rows]


def environment() -> Environment:
    """The jinja2 environment: autoescaping everywhere, undefined names are errors."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "xml"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["json_script"] = lambda value: Markup(safe_json(value, compact=True))  # safe_json escapes < > & itself
    env.globals.update(LEVEL_NAMES=LEVEL_NAMES, DESIGN_LABELS=DESIGN_LABELS, CSP=CSP, version=__version__)
    return env


def template_digest() -> str:
    """A hash of every template and static file: a change to any of them re-renders every page."""
    digest = hashlib.sha1()
    for path in sorted(TEMPLATES.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _common(data: SiteData) -> dict[str, Any]:
    """What every page's template sees."""
    return {"built_at": data.built_at, "interventions": data.interventions, "outcomes": data.outcomes,
            "populations": data.populations, "ratings": data.ratings, "taxonomy_version": data.taxonomy_version,
            "scale_version": SCALE_VERSION}


def site_salt(data: SiteData) -> str:
    """What every page and cached piece is also made from: the templates, the package's code, the taxonomy, the base URL."""
    return template_digest() + code_digest() + data.taxonomy_version + "|" + (data.base_url or "")


def record_keys(digests: dict[str, str]) -> dict[str, str]:
    """Record id -> the digest of its page row (from plan's digests): the key of its cached pieces."""
    return {path[len("records/"):-len(".html")]: d for path, d in digests.items()}


def plan(data: SiteData, previous: dict[str, str] | None, out: Path | None,
         salt: str | None = None) -> tuple[list[dict[str, Any]], set[str], dict[str, str]]:
    """Which record pages to render: (rows to render, paths kept as they are, every record page's digest).

    A record page whose inputs (its row, the taxonomy, the templates and the base URL) hash as in the
    previous build, and whose file still exists, is kept without rendering it again.
    """
    previous = previous or {}
    salt = salt if salt is not None else site_salt(data)
    todo, kept, digests = [], set(), {}
    salt_bytes = salt.encode("utf-8", "surrogatepass")
    for row in data.rows:
        path = f"records/{row['id']}.html"
        digest = hashlib.sha1(salt_bytes + row_bytes(row)).hexdigest()
        digests[path] = digest
        if previous.get(path) == digest and out is not None and (out / path).is_file():
            kept.add(path)
        else:
            todo.append(row)
    return todo, kept, digests


def page_key(path: str, inputs: str) -> str:
    """The key of a cached page: its path and the canonical text of everything it is made from."""
    return "page:" + hashlib.sha1(f"{path}\0{inputs}".encode("utf-8", "surrogatepass")).hexdigest()


def _entries_inputs(cell: Cell, keys: dict[str, str]) -> list[str] | None:
    """A cell's entries in order, as their records' row digests, or None if a record has no digest. The digest covers
    everything a page shows of a record and of its finding (MapRecord, Finding and page rows are made from its row)."""
    found = [keys.get(entry.record.id) for entry in cell.entries]
    return None if None in found else found  # type: ignore[return-value]


def _rating_inputs(rating: Any) -> tuple[Any, ...] | None:
    """What of a rating is not made from its cells' entries: its date (from the last build's state); with its id and
    flag. The rest (the records behind it, what it rests on) is a pure function of the entries (ratings.py)."""
    return None if rating is None else (rating.id, rating.flag, rating.since, rating.best_outcome)


def cell_inputs(cell: Cell, keys: dict[str, str]) -> str | None:
    """What a cell page is made from, as canonical text: its entries (their records' row digests, in order) and its
    rating's date. None: not cacheable."""
    entries = _entries_inputs(cell, keys)
    return None if entries is None else repr((cell.intervention, cell.outcome, entries, _rating_inputs(cell.rating)))


def intervention_inputs(rating: Any, rows: list[dict[str, Any]], cells: dict[str, Cell], keys: dict[str, str],
                        made: dict[str, str | None] | None = None) -> str | None:
    """What an intervention page is made from: its rating's date, its listed records (by their rows' digests, in
    order) and its cells (`made`: cell href -> cell_inputs already made). None: not cacheable."""
    ids = [keys.get(r["id"]) for r in rows]
    made = made or {}
    parts = [made[c.href] if c.href in made else cell_inputs(c, keys) for c in cells.values()]
    if None in ids or None in parts:
        return None
    return repr((_rating_inputs(rating), ids, parts))


def row_bytes(row: dict[str, Any]) -> bytes:
    """A page row as canonical bytes, for its digest: rows are plain dicts, lists and scalars built in one order, so
    orjson's text of them (keys in order; 1, 1.0 and true apart; datetimes with their offset) is canonical, and some ten
    times faster to make than their repr. A value orjson does not know is written as its repr; a row orjson refuses
    (text with a lone surrogate, a key that is not text) is its repr whole."""
    try:
        return orjson.dumps(row, default=repr, option=orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS)
    except orjson.JSONEncodeError:
        return b"repr:" + repr(row).encode("utf-8", "surrogatepass")


def render(data: SiteData, env: Environment | None = None, record_pages: Iterable[str] = (),
           cache: BuildCache | None = None, keys: dict[str, str] | None = None) -> dict[str, bytes]:
    """The site's pages, feeds, sitemap and static files (not the record pages, see render_record; nor the
    downloads, see downloads): path -> bytes. `record_pages` (their paths) go into the sitemap. With `cache` (and
    `keys`, record id -> its row's digest), list rows and feeds made from the same inputs are reused."""
    env = env or environment()
    keys = keys or {}
    files: dict[str, bytes] = {}
    common = _common(data)

    def html(path: str, template: str, root: str | None = None, **context: Any) -> str:
        depth = path.count("/")
        return env.get_template(template).render(root="../" * depth if root is None else root, path=path, **common, **context)

    def page(path: str, template: str, root: str | None = None, **context: Any) -> None:
        files[path] = html(path, template, root, **context).encode("utf-8")

    def cached_page(path: str, inputs: str | None, template: str, context: Callable[[], dict[str, Any]]) -> None:
        # a page made only of records (by their rows' digests), their findings and ratings: kept under the digest of
        # those inputs (`inputs`: their canonical text; None when a record has no digest), its context made on a miss
        key = page_key(path, inputs) if cache is not None and inputs is not None else None
        files[path] = piece(cache, key, is_text, lambda: html(path, template, **context())).encode("utf-8")

    rows_by_id = {r["id"]: r for r in data.rows}
    listed = data.listed
    row_template = env.get_template("_record_row.html")
    # Record rows appear on many list pages one level down: render each once and reuse it.
    row_html = {}
    for r in data.rows:
        key = keys.get(r["id"])
        row_html[r["id"]] = Markup(piece(cache, key and f"row:{key}", is_text, partial(row_template.render, row=r, root="../")))

    def feed(title: str, feed_url: str, page_url: str, entries: list[dict[str, Any]]) -> bytes:
        # entries: plain dicts of text, lists and datetimes, whose repr is canonical
        key = "feed:" + digest(repr((title, feed_url, page_url, entries))) if cache is not None else None
        return piece(cache, key, is_text, lambda: atom_feed(title, feed_url, page_url, entries).decode("utf-8")).encode("utf-8")

    common["row_html"] = row_html
    level_counts = {level: sum(1 for r in listed if r["evidence_level"] == level) for level in (5, 4, 3, 2, 1, 0)}
    off_scale = sum(1 for r in listed if r["evidence_level"] is None)
    page("index.html", "index.html", rows=listed[:10], total=len(listed), level_counts=level_counts, off_scale=off_scale,
         sources=data.sources)
    publishers = sorted({r["publisher"] for r in listed if r["publisher"]})
    doc_types = sorted({r["doc_type"] for r in listed if r["doc_type"]})
    filters = filter_data(data.map_records, list(data.interventions), list(data.outcomes), list(data.populations), publishers,
                          doc_types, list(DESIGN_LABELS), list(DIRECTIONS))
    years = sorted({r["published"][:4] for r in listed if r["published"]})
    page("map.html", "map.html", cells=data.cells, filter_data=filters, publishers=publishers, years=years, doc_types=doc_types)
    # the filters' data, loaded by map.js on first use (a script, so it loads from disk too): the map page stays small
    files["map-data.js"] = b"window.evidenceMapData = " + safe_json(filters).encode("utf-8") + b";\n"
    base = data.base_url or "."
    record_cells: dict[str, str] = {}  # the record's own cells of a findings row, made once (a record is in many cells)
    inputs: dict[str, str | None] = {}  # cell href -> what its page is made from (cell_inputs), for the intervention pages too
    for (i, o), cell in data.cells.items():
        def cell_context(cell: Cell = cell) -> dict[str, Any]:
            because = set(cell.rating.because) if cell.rating else set()
            return {"cell": cell, "rating": cell.rating, "scale": SCALE, "flag": FLAG,
                    "study_rows": [_finding_row(e, rows_by_id, record_cells, because) for e in cell.study_entries],
                    "context_rows": [_finding_row(e, rows_by_id, record_cells, because) for e in cell.context_entries]}

        inputs[cell.href] = page_inputs = cell_inputs(cell, keys) if cache is not None else None
        cached_page(cell.href, page_inputs, "cell.html", cell_context)
        files[cell.feed] = feed(f"New evidence: {data.interventions[i].label} and {data.outcomes[o].label}",
                                     f"{base}/{cell.feed}", f"{base}/{cell.href}",
                                     _newest_arrivals([rows_by_id[e.record.id] for e in cell.entries], data))
    on_intervention: dict[str, list[dict[str, Any]]] = {i: [] for i in data.interventions}
    for r in listed:
        for i in r["interventions"]:
            if i in on_intervention:
                on_intervention[i].append(r)
    page("interventions/index.html", "interventions.html", counts={i: len(recs) for i, recs in on_intervention.items()},
         studies={i: len({e.record.id for (ci, _), c in data.cells.items() if ci == i for e in c.study_entries}) for i in data.interventions})
    for intervention in data.interventions:
        recs = on_intervention[intervention]
        cells = {o: data.cells[(intervention, o)] for o in data.outcomes}

        def intervention_context(intervention: str = intervention, recs: list[dict[str, Any]] = recs,
                                 cells: dict[str, Cell] = cells) -> dict[str, Any]:
            in_cells = {e.record.id for c in cells.values() for e in c.entries}
            return {"intervention": intervention, "rows": recs, "rating": data.ratings[intervention], "cells": cells, "scale": SCALE,
                    "flag": FLAG, "rows_by_id": rows_by_id,
                    "context": [r for r in recs if r["id"] in in_cells and r["evidence_level"] not in (1, 2, 3, 4, 5)]
                    + [r for r in recs if r["id"] not in in_cells and r["evidence_level"] not in (1, 2, 3, 4, 5)],
                    "unlinked": [r for r in recs if r["id"] not in in_cells and r["evidence_level"] in (1, 2, 3, 4, 5)],
                    "by_level": [(level, [r for r in recs if r["id"] in in_cells and r["evidence_level"] == level])
                                 for level in (5, 4, 3, 2, 1)],
                    "money": [(r, m) for r in recs for m in r["money"]]}

        cached_page(f"interventions/{intervention}.html",
                    intervention_inputs(data.ratings[intervention], recs, cells, keys, inputs) if cache is not None else None,
                    "intervention.html", intervention_context)
    # "All records", newest first by publication date, RECORDS_PER_PAGE a page: index.html, index-2.html, ...
    # (ids end in a hash, never "-2"); excluded records are not listed (their pages stay, for search behind a filter)
    chunks = [listed[start : start + RECORDS_PER_PAGE] for start in range(0, len(listed), RECORDS_PER_PAGE)] or [[]]
    names = ["index.html", *(f"index-{n}.html" for n in range(2, len(chunks) + 1))]
    for number, (name, chunk) in enumerate(zip(names, chunks, strict=True), 1):
        page(f"records/{name}", "records.html", rows=chunk, total=len(listed), page_no=number, pages=len(chunks),
             page_names=names, first=(number - 1) * RECORDS_PER_PAGE + 1)
    page("sources.html", "sources.html", sources=data.sources)
    page("method.html", "method.html", levels=EVIDENCE_LEVELS, directions=DIRECTIONS, scale=SCALE, flag=FLAG, flow=data.flow,
         agreement=data.agreement, accuracy=classifier_accuracy(), exclusion_reasons=EXCLUSION_REASONS)
    page("search.html", "search.html")
    page("downloads.html", "downloads.html", total=len(data.rows))
    # A server answers any missing path with this page, at any depth: its links start from the site's root (the
    # base URL's path, or the server's root: `evidence serve` and GitHub Pages' user sites).
    page("404.html", "404.html", root=(urlsplit(data.base_url).path.rstrip("/") + "/") if data.base_url else "/")
    files["feeds/all.xml"] = feed("New evidence on child sexual exploitation", f"{base}/feeds/all.xml", f"{base}/index.html",
                                       _newest_arrivals(listed, data))
    for intervention, term in data.interventions.items():
        files[f"feeds/{intervention}.xml"] = feed(f"New evidence: {term.label}", f"{base}/feeds/{intervention}.xml",
                                                       f"{base}/interventions/{intervention}.html",
                                                       _newest_arrivals(on_intervention[intervention], data))
    if data.base_url:  # a sitemap holds absolute URLs only: without --base-url there is none to give
        files["sitemap.xml"] = _sitemap([p for p in [*files, *record_pages] if p.endswith(".html") and p != "404.html"], data.base_url)
    for static in sorted((TEMPLATES / "static").glob("*")):
        files[f"static/{static.name}"] = static.read_bytes()
    return files


def open_data_meta(data: SiteData) -> dict[str, Any]:
    """The `meta` of the JSON downloads and of `evidence export --format json` (the same object)."""
    return {"generator": f"evidence {__version__}", "built_at": data.built_at, "scale_version": SCALE_VERSION,
            "taxonomy_version": data.taxonomy_version, "records": len(data.rows), "schema": "catalogue.schema.json"}


def catalogue_export(data: SiteData, fmt: str) -> str:
    """The catalogue in one open-data format: byte for byte the site's downloads/catalogue.<ext>."""
    return export(export_rows(data.rows), fmt, open_data_meta(data))


def downloads(data: SiteData, citations: dict[str, tuple[str, str]] | None = None, cache: BuildCache | None = None,
              keys: dict[str, str] | None = None) -> dict[str, bytes]:
    """The open-data downloads: the catalogue as CSV, JSON (with its JSON Schema), RIS and BibTeX, the map and
    the ratings as JSON. `citations` (record id -> RIS, BibTeX entry) is filled in, for record pages rendered after.
    With `cache` (and `keys`, record id -> its row's digest), a record's four entries made from the same row are reused:
    byte for byte what `export` makes (catalogue_export), one record at a time."""
    files: dict[str, bytes] = {}
    meta = open_data_meta(data)
    keys = keys or {}
    citations = {} if citations is None else citations
    valid = is_text_list(4)
    entries = []  # each record's CSV line, JSON object, RIS and BibTeX entry

    def make(row: dict[str, Any]) -> list[str]:
        open_row = open_record(row)
        ris, bib = citations.get(row["id"]) or (ris_entry(row), bibtex_entry(row))
        return [csv_line(open_row), safe_json(open_row), ris, bib]

    for row in data.rows:
        entry = piece(cache, keys.get(row["id"]), valid, partial(make, row))
        citations[row["id"]] = (entry[2], entry[3])  # made once for its page and the downloads
        entries.append(entry)
    files["downloads/catalogue.csv"] = (csv_header() + "".join(e[0] for e in entries)).encode("utf-8")
    files["downloads/catalogue.json"] = json_document([e[1] for e in entries], meta).encode("utf-8")
    files["downloads/catalogue.schema.json"] = (json.dumps(CATALOGUE_SCHEMA, indent=1, sort_keys=True) + "\n").encode("utf-8")
    files["downloads/catalogue.ris"] = "\n".join(e[2] for e in entries).encode("utf-8")
    files["downloads/catalogue.bib"] = "\n".join(e[3] for e in entries).encode("utf-8")
    labels = {k: v.label for k, v in {**data.interventions, **data.outcomes}.items()}
    small_meta = {k: meta[k] for k in ("generator", "built_at", "scale_version", "taxonomy_version")}
    files["downloads/map.json"] = _json_lines(map_json(data.cells, labels, small_meta, LEVEL_NAMES, DESIGN_LABELS), "cells")
    files["downloads/ratings.json"] = _json_lines(ratings_json(data.ratings, data.cells, small_meta), "interventions")
    return files


def _json_lines(document: dict[str, Any], key: str) -> bytes:
    """JSON with each item of `document[key]` on a line of its own (readable and diffable, and written by json's C
    encoder, which an indent would turn off); the other keys first, one a line."""
    head = ",\n".join(f"{safe_json(k)}: {safe_json(v)}" for k, v in document.items() if k != key)
    items = ",\n".join(safe_json(item) for item in document[key])
    return f"{{{head},\n{safe_json(key)}: [\n{items}\n]}}\n".encode()


def classifier_accuracy() -> dict[str, Any]:
    """The classifier's measured accuracy per field (held out; copied from bench/RESULTS.md into
    publish/accuracy.json, a test keeps the two the same) and the model in use's own evaluation."""
    figures: dict[str, Any] = json.loads((Path(__file__).with_name("accuracy.json")).read_text(encoding="utf-8"))
    try:
        from evidence.classify.model import load_model

        model = load_model()
        figures["model"] = {k: model.meta.get(k) for k in ("version", "frozen_evaluation", "cross_validated_design_accuracy")} if model else None
    except (OSError, ValueError):
        figures["model"] = None
    return figures


BASIS_WORDS = {"sentence": "same sentence", "section": "same section", "single_intervention": "a study of this intervention only",
               "curator": "a curator's link"}


def _finding_row(entry: Entry, rows_by_id: dict[str, dict[str, Any]], record_cells: dict[str, str], because: set[str]) -> Markup:
    """One row of a cell page's findings table (a page under map/): the record, its design and level, the pair's
    direction, the phrase and how it was linked, whether it was checked and counted. Every value escaped."""
    record, finding = entry.record, entry.finding
    own = record_cells.get(record.id)
    if own is None:
        row = rows_by_id[record.id]
        badge = (f' <span class="badge withdrawn">Withdrawn{" " + escape(row["withdrawn_on"]) if row["withdrawn_on"] else ""}</span>'
                 if row["withdrawn"] else "")
        own = (f'<td><a href="../records/{escape(record.id)}.html">{escape(row["title"])}</a>'
               f'{" (" + escape(row["published"]) + ")" if row["published"] else ""}{badge}</td>'
               f'<td>{escape(DESIGN_LABELS.get(record.design, record.design))}</td>'
               f'<td>{record.level if record.level is not None else "–"}</td>')
        record_cells[record.id] = own
    harmful = finding.direction in NO_EFFECT
    checked = ("unchecked: not counted" if record.unchecked else "curator checked" if record.curated else "machine classification only")
    if record.id in because:
        checked += "; the rating rests on it"
    opening = '<tr class="no-effect">' if harmful else "<tr>"
    return Markup(f"{opening}{own}"
                  f'<td>{"⊘ " if harmful else ""}{escape(finding.direction.replace("_", " "))}</td>'
                  f'<td><q>{escape(finding.phrase)}</q> <span class="meta">({escape(BASIS_WORDS.get(finding.basis, finding.basis))}, '
                  f'confidence {finding.confidence:.2f})</span></td><td>{checked}</td></tr>')


_NEVER = datetime.min.replace(tzinfo=UTC)


def _arrived(row: dict[str, Any]) -> datetime:
    seen = row["first_seen"]
    if not isinstance(seen, datetime):
        return _NEVER
    return seen if seen.tzinfo else seen.replace(tzinfo=UTC)


def _newest_arrivals(rows: list[dict[str, Any]], data: SiteData) -> list[dict[str, Any]]:
    """Feed entries for the FEED_SIZE rows that arrived last, newest first (a feed tells what is new to the site)."""
    chosen = heapq.nlargest(FEED_SIZE, sorted(rows, key=lambda r: r["id"], reverse=True), key=_arrived)
    return [_feed_entry(r, data) for r in chosen]


PARALLEL_FROM = 2000  # records: below this, starting processes costs more than it saves
_JOB: tuple[Any, ...] = ()  # what forked workers work from: set before the fork, inherited, never pickled


class Background:
    """The record pages and the downloads, rendered and written to disk. With several jobs and a large site,
    forked worker processes start on them at once, while this process renders the other pages; otherwise
    they run here, on wait()."""

    def __init__(self, rows: list[dict[str, Any]], data: SiteData, env: Environment, folder: SiteFolder, jobs: int,
                 cache: BuildCache | None = None, keys: dict[str, str] | None = None) -> None:
        global _JOB
        _JOB = (data, env, _common(data), str(folder.root), {}, folder.stamp, folder.previous_stamps, cache, keys)
        self.rows = rows
        self.pool: Any = None
        self.pending: list[Any] = []
        if jobs > 1 and len(data.rows) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            self.pool = multiprocessing.get_context("fork").Pool(jobs)
            self.pending.append(self.pool.apply_async(_write_downloads))  # the longest single task: first
            size = -(-len(rows) // (jobs * 4)) or 1  # a few chunks a worker, so one slow chunk does not hold the others up
            self.pending += [self.pool.apply_async(_render_records, (rows[start : start + size],)) for start in range(0, len(rows), size)]

    def wait(self) -> tuple[int, int, set[str], dict[str, str]]:
        """(files written, files unchanged, download paths, the time stamps files show) once everything is on disk;
        a worker's error is raised here."""
        global _JOB
        try:
            if self.pool is None:
                done = [_write_downloads(), _render_records(self.rows)]  # downloads first: their citations are reused
            else:
                done = [task.get() for task in self.pending]
                self.pool.close()
                self.pool.join()
            return (sum(d[0] for d in done), sum(d[1] for d in done), {p for d in done for p in d[2]},
                    {k: v for d in done for k, v in d[3].items()})
        finally:
            self.close()
            _JOB = ()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


def _write_downloads() -> tuple[int, int, list[str], dict[str, str]]:
    data, _env, _common_context, root, citations, stamp, previous_stamps, cache, keys = _JOB
    files = downloads(data, citations, cache, keys)
    written, stamps = 0, {}
    for rel, content in files.items():
        wrote, shown = put_stamped(root, rel, content, stamp, previous_stamps.get(rel))
        written += wrote
        if shown:
            stamps[rel] = shown
    if cache is not None:
        cache.save()  # here, by the process that filled it (a worker, when there are several)
    return written, len(files) - written, list(files), stamps


def _render_records(rows: list[dict[str, Any]]) -> tuple[int, int, list[str], dict[str, str]]:
    data, env, common, root, citations, _stamp, _previous, _cache, _keys = _JOB
    template = env.get_template("record.html")
    written = 0
    for row in rows:
        ris, bibtex = citations.get(row["id"]) or (ris_entry(row), bibtex_entry(row))
        path = f"records/{row['id']}.html"
        tags = {kind: [{**tag, "evidence": _evidence(tag["evidence_json"])} for tag in group] for kind, group in row["tags"].items()}
        html = template.render(root="../", path=path, **common, row={**row, "tags": tags}, jsonld=_jsonld(row, data), ris=ris,
                               bibtex=bibtex)
        written += _put(root, path, html.encode("utf-8"))
    return written, len(rows) - written, [], {}


def _evidence(text: str | None) -> list[dict[str, Any]]:
    """A tag's evidence (its JSON text as stored): the phrases, each with a "phrase" key."""
    phrases = loads_json(text or "[]", [])
    return [p for p in phrases if isinstance(p, dict) and "phrase" in p] if isinstance(phrases, list) else []


def _feed_entry(row: dict[str, Any], data: SiteData) -> dict[str, Any]:
    base = data.base_url or "."
    return {"title": row["title"], "url": f"{base}/records/{row['id']}.html", "summary": row["summary"],
            "first_seen": row["first_seen"], "categories": row["interventions"]}


def _jsonld(row: dict[str, Any], data: SiteData) -> str:
    kind = {"news": "NewsArticle", "journal_article": "ScholarlyArticle"}.get(row["doc_type"] or "", "Report")
    node: dict[str, Any] = {"@context": "https://schema.org", "@type": kind, "name": row["title"], "url": row["url"],
                            "about": [data.interventions[i].label for i in row["interventions"] if i in data.interventions]}
    if row["published"]:
        node["datePublished"] = row["published"]
    if row["publisher"]:
        node["publisher"] = {"@type": "Organization", "name": row["publisher"]}
    if row["authors"]:
        node["author"] = [{"@type": "Person", "name": a} for a in row["authors"]]
    if row["summary"]:
        node["abstract"] = row["summary"]
    if row["doi"]:
        node["identifier"] = f"https://doi.org/{row['doi']}"
    return safe_json(node)


def _described(source: Any) -> dict[str, Any]:
    """What the sources page says of a source from sources.yaml: its name, publisher, kind and what it asks for."""
    if source is None:
        return {"name": None, "publisher": None, "kind": None, "url": None, "query": None}
    query = ", ".join(f"{k}={v}" for k, v in sorted(source.params.items()))[:300] if source.params else None
    return {"name": source.name, "publisher": source.publisher, "kind": source.kind, "url": safe_link(source.url), "query": query}


def _sitemap(paths: list[str], base_url: str) -> bytes:
    from xml.sax.saxutils import escape

    urls = "".join(f"<url><loc>{escape(base_url + '/' + p)}</loc></url>" for p in sorted(paths))
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


class SiteFolder:
    """The output folder: checked writable before anything is written; files replaced whole, only when their bytes change."""

    def __init__(self, out: Path, stamp: str = "", previous_stamps: dict[str, str] | None = None) -> None:
        self.root = Path(out)
        self.stamp = stamp  # this build's built_at
        self.previous_stamps = dict(previous_stamps or {})  # file -> the built_at it shows, from the last build
        self.stamps: dict[str, str] = {}  # file -> the built_at it shows after this build
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"{out}: cannot write the site here ({exc.strerror}); choose another --out") from None

    def write(self, files: dict[str, bytes], report: BuildReport) -> None:
        """Write the files whose bytes changed."""
        for folder in sorted({rel.rpartition("/")[0] for rel in files} - {""}):
            self.folder(folder)
        for rel, data in files.items():
            wrote, shown = put_stamped(str(self.root), self.check(rel), data, self.stamp, self.previous_stamps.get(rel))
            if shown:
                self.stamps[rel] = shown
            if wrote:
                report.written += 1
            else:
                report.unchanged += 1

    def folder(self, rel: str) -> None:
        (self.root / self.check(rel)).mkdir(parents=True, exist_ok=True)

    def check(self, rel: str) -> str:
        """`rel`, if it names a place inside the folder (the site's paths are made here, so this is a guard)."""
        if rel.startswith("/") or "\\" in rel or "\0" in rel or any(part in ("", ".", "..") for part in rel.split("/")):
            raise ConfigError(f"{rel}: refusing to write outside {self.root}")
        return rel

    def prune(self, produced: set[str], report: BuildReport) -> None:
        """Remove the files the site no longer has (but keep search's index, the build state and the build cache)."""
        root = str(self.root)
        for folder, dirs, names in os.walk(root):
            rel_folder = os.path.relpath(folder, root)
            if rel_folder in ("pagefind", CACHE_DIR) or rel_folder.startswith(("pagefind/", CACHE_DIR + "/")):
                dirs.clear()
                continue
            for name in names:
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                if rel not in produced and rel != STATE_FILE:
                    os.unlink(os.path.join(folder, name))
                    report.removed += 1


def put_stamped(root: str, rel: str, data: bytes, stamp: str, previous: str | None) -> tuple[bool, str | None]:
    """Write root/rel unless it holds `data`, or `data` with this build's time stamp read as the previous one
    (the page did not otherwise change: it keeps the time it last changed, so a rebuild does not churn it).
    Returns (written, the stamp the file now shows, or None when it shows none)."""
    needle = stamp.encode() if stamp else b""
    if not needle or needle not in data:
        return _put(root, rel, data), None
    if previous and previous != stamp and not _put(root, rel, data.replace(needle, previous.encode()), only_if_same=True):
        return False, previous
    return _put(root, rel, data), stamp


def _put(root: str, rel: str, data: bytes, only_if_same: bool = False) -> bool:
    """Write root/rel unless it already holds `data`; written beside it and renamed over it, so a reader (or a
    killed build) never sees half a file. True when written."""
    target = f"{root}/{rel}"
    try:
        if os.stat(target).st_size == len(data):
            with open(target, "rb") as handle:
                if handle.read() == data:
                    return False
    except OSError:
        pass
    if only_if_same:  # a probe: the file does not hold `data`
        return True
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return True


def build_site(db: str, out: str | Path, base_url: str | None = None, jobs: int | None = None,
               curation_file: str | Path | None = None, config: Any = None, cache: bool = True) -> BuildReport:
    """Build the whole site into `out` from the catalogue at `db` (record pages rendered by `jobs` processes;
    default: one per CPU core, at most 4). With `curation_file`, the method page shows the curators' agreement; with
    `config` (a read sources.yaml), the sources page gives each source's name, publisher, kind and query. With `cache`
    False, nothing of the last build is reused (every page and download made again; see evidence.publish.cache): the
    files are the same bytes either way."""
    collecting = gc.isenabled()
    gc.disable()  # the build makes ~10^6 small dicts and lists and no garbage cycles worth a collection (a third of a rebuild)
    try:
        return _build_site(db, Path(out), base_url, default_jobs() if jobs is None else max(1, jobs), curation_file, config, cache)
    finally:
        if collecting:
            gc.enable()


def _build_site(db: str, out: Path, base_url: str | None, jobs: int, curation_file: str | Path | None, config: Any,
                cache: bool) -> BuildReport:
    data = load(db, base_url or "", curation_file, config)
    previous = _read_state(out)
    all_ratings = [*data.ratings.values(), *(c.rating for c in data.cells.values() if c.rating is not None)]
    before = (previous or {}).get("rating_dates") or {}
    dates = {m.id: d for m in data.map_records if (d := m.changed_on())}
    rating_dates = date_ratings(all_ratings, before, data.built_at[:10], dates)
    known = set((previous or {}).get("records", []))
    added = [r["id"] for r in data.rows if previous is not None and r["id"] not in known]
    changed = [(key.partition("|")[0], key.partition("|")[2], before[key][0], now[0]) for key, now in rating_dates.items()
               if previous is not None and key in before and before[key][0] != now[0]]
    env = environment()
    salt = site_salt(data)  # reads the package's code: once a build
    todo, kept, digests = plan(data, (previous or {}).get("pages") if cache else None, out, salt)
    keys = record_keys(digests)
    download_cache = BuildCache(out, "downloads", salt, enabled=cache)
    page_cache = BuildCache(out, "pages", salt, enabled=cache)
    folder = SiteFolder(out, data.built_at, (previous or {}).get("stamps") or {})
    for name in ("records", "downloads"):  # before the workers fork: they write into both
        folder.folder(name)
    if todo:
        env.get_template("record.html")  # compiled once, here, before the workers fork (not once in each)
    background = Background(todo, data, env, folder, jobs, download_cache, keys)  # workers start on the record pages and downloads now
    try:
        files = render(data, env, digests, page_cache, keys)
        rows_by_id = {r["id"]: r for r in data.rows}
        files["changes.html"] = env.get_template("changes.html").render(
            root="", path="changes.html", **_common(data), first_build=previous is None,
            added=[rows_by_id[i] for i in added if rows_by_id[i]["inclusion"] != EXCLUDED], changed=changed,
            labels={"*": "overall", **{o: t.label for o, t in data.outcomes.items()}}, rating_labels={r[0]: r[1] for r in SCALE}).encode("utf-8")
        report = BuildReport(out=out, pages=len(digests) + sum(1 for p in files if p.endswith(".html")), records=len(data.rows),
                             added=added)
        folder.write(files, report)
        written, unchanged, download_paths, stamps = background.wait()
    finally:
        background.close()
    report.written += written
    report.unchanged += unchanged + len(kept)
    folder.stamps.update(stamps)
    page_cache.save()
    folder.prune({*files, *digests, *download_paths}, report)
    state = json.dumps({"records": sorted(rows_by_id), "rating_dates": rating_dates, "pages": digests,
                        "stamps": {k: v for k, v in folder.stamps.items() if k in files or k in download_paths}}, sort_keys=True).encode()
    if not (out / STATE_FILE).exists() or (out / STATE_FILE).read_bytes() != state:
        (out / STATE_FILE).write_bytes(state)
    log.info("built %d pages for %d records into %s: %d files written, %d unchanged, %d removed, %d new records",
             report.pages, report.records, out, report.written, report.unchanged, report.removed, len(report.added))
    return report


def default_jobs() -> int:
    """Processes to render record pages with: the CPU cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _read_state(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

