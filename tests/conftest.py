"""Shared fixtures: a loopback server with recorded answers, catalogues, fetchers that cannot leave 127.0.0.1."""
from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
import yaml
from hypothesis import settings
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).parent))

from server import RecordedServer  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.api import Catalogue  # noqa: E402
from evidence.capture import CaptureStore  # noqa: E402
from evidence.config import Config, load_config  # noqa: E402
from evidence.fetch import Fetcher  # noqa: E402
from evidence.models import Record  # noqa: E402
from evidence.pipeline import SourceResult, harvest_sources  # noqa: E402

# Hypothesis profiles: `ci` (HYPOTHESIS_PROFILE=ci) replays the same examples on every run, so a failure in CI is
# reproducible; the local default explores new random examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("default", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"


def shared_path(*parts: str) -> Path:
    """A file of ../shared/corpus; the test is skipped with a reason when shared/ is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/corpus is beside the checkout in CI)")
    return path


class LoopbackOnly(httpx.HTTPTransport):
    """A transport that refuses any host but 127.0.0.1: no test can reach the real network."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "localhost"):
            raise httpx.ConnectError(f"test tried to reach {request.url.host}")
        return super().handle_request(request)


@pytest.fixture
def server() -> Iterator[RecordedServer]:
    """A fresh loopback server; robots.txt is 404 (everything allowed) unless a test adds one."""
    srv = RecordedServer()
    yield srv
    srv.close()


# EVIDENCE_TEST_DB: a PostgreSQL server URL (postgresql://user@127.0.0.1:PORT/postgres). When set, every catalogue the
# fixtures below hand out is a fresh database on that server, dropped after its test; .ci/run runs the whole suite
# once without it (SQLite) and once with it. Tests about SQLite files themselves use file paths either way.
TEST_DB = os.environ.get("EVIDENCE_TEST_DB") or None


class ServerDatabases:
    """Fresh, empty databases on the EVIDENCE_TEST_DB server, one per catalogue a test asks for."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.url = make_url(catalogue.database_url(url))
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.count = 0

    def create(self) -> str:
        """A new database's URL (as `--db` takes it)."""
        from sqlalchemy import text

        self.count += 1
        name = f"evidence_test_{os.getpid()}_{self.count}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by `create` (closing any connection a test left open)."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server_databases() -> Iterator[ServerDatabases | None]:
    """The EVIDENCE_TEST_DB server's database maker, or None when the suite runs on SQLite."""
    if not TEST_DB:
        yield None
        return
    databases = ServerDatabases(TEST_DB)
    yield databases
    databases.admin.dispose()


@pytest.fixture
def new_catalogue(tmp_path: Path, server_databases: ServerDatabases | None) -> Iterator[Callable[[str], str]]:
    """Makes the `--db` of a catalogue that does not exist yet: a SQLite file NAME.db in the test's folder, or a fresh
    database on EVIDENCE_TEST_DB (dropped after the test)."""
    made: list[str] = []

    def make(name: str = "catalogue") -> str:
        if server_databases is None:
            return str(tmp_path / f"{name}.db")
        made.append(server_databases.create())
        return made[-1]

    yield make
    for url in made:
        assert server_databases is not None
        server_databases.drop(url)


@pytest.fixture
def catalogue_path(new_catalogue: Callable[[str], str]) -> str:
    """The `--db` of a catalogue not created yet: a SQLite file in the test's own folder, or a fresh database on
    EVIDENCE_TEST_DB."""
    return new_catalogue("catalogue")


@pytest.fixture
def fresh_catalogue(new_catalogue: Callable[[str], str]) -> Iterator[Catalogue]:
    """An empty catalogue at the current schema, open: in-memory SQLite, or a fresh database on EVIDENCE_TEST_DB.
    (An in-memory catalogue has no folder: pass `captures=` to its harvests.)"""
    db = new_catalogue("fresh") if TEST_DB else f"sqlite:///file:fresh-{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true"
    with Catalogue(db, create=True) as cat:
        assert cat.engine is not None  # opening it creates the tables
        yield cat


def reset_catalogue(db: str) -> None:
    """Remove a catalogue made by the fixtures, so the next harvest makes it anew: its files, or its tables."""
    if catalogue.is_sqlite(db):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        return
    from sqlalchemy import text

    engine = catalogue.open_engine(db)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def captures(tmp_path: Path) -> CaptureStore:
    """A capture store in the test's own folder."""
    return CaptureStore(tmp_path / "captures")


def make_fetcher(store: CaptureStore | None, **kwargs: Any) -> Fetcher:
    """A fetcher for tests: loopback only, tiny backoff, short timeout."""
    options: dict[str, Any] = {"backoff": 0.01, "timeout": 5.0, "retries": 2, "transport": LoopbackOnly()}
    options.update(kwargs)
    return Fetcher(store, **options)


@pytest.fixture
def fetcher(captures: CaptureStore) -> Iterator[Fetcher]:
    """A loopback-only fetcher writing to the test's capture store."""
    f = make_fetcher(captures)
    yield f
    f.close()


def write_sources(tmp_path: Path, sources: list[dict[str, Any]], **top: Any) -> Path:
    """Write a sources.yaml for a test and return its path."""
    path = tmp_path / "sources.yaml"
    sources = [{"rate_limit": 0, **s} for s in sources]  # one loopback host serves every source: no spacing needed
    data = {"contact": "mailto:tests@example.org", "backoff": 0.01, "retries": 2, "timeout": 5, **top, "sources": sources}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def config_of(tmp_path: Path, sources: list[dict[str, Any]], **top: Any) -> Config:
    """A validated Config from source entries."""
    return load_config(write_sources(tmp_path, sources, **top))


def run(db: str, config: Config, fetcher: Fetcher, ids: tuple[str, ...] = ()) -> dict[str, SourceResult]:
    """Harvest with the classifier, as the CLI does; results by source id."""
    from evidence.classify.apply import classify_record_hook
    from evidence.curation import Curation

    engine = catalogue.connect(db)
    try:
        results = harvest_sources(engine, config.select(ids), fetcher, workers=2,
                                  classify_hook=classify_record_hook(Curation(path=Path("unused.yaml"))))
    finally:
        engine.dispose()
    return {r.source_id: r for r in results}


def records(db: str, source_id: str | None = None) -> list[Record]:
    """Every record (of one source), detached for reading."""
    engine = catalogue.connect(db)
    with Session(engine) as session:
        query = select(Record)
        if source_id:
            query = query.where(Record.source_id == source_id)
        rows = list(session.exec(query.order_by(Record.id)).all())
        session.expunge_all()
    engine.dispose()
    return rows


def last_seen(db: str) -> dict[str, Any]:
    """When each record was last seen (the latest of its places'), by record id, as the site and exports read it."""
    engine = catalogue.connect(db)
    with engine.connect() as conn:
        seen = dict(conn.execute(sqlalchemy.select(Record.__table__.c.id, catalogue.last_seen())).all())  # type: ignore[attr-defined]
    engine.dispose()
    return seen


def seed_text(name: str) -> str:
    """The text of a seed document (by file-name prefix, e.g. "000")."""
    folder = shared_path("seeds")
    return next(folder.glob(f"{name}_*.txt")).read_text(encoding="utf-8")


def html_page(text: str, title: str, head: str = "") -> str:
    """A seed's text served as the web page it came from: the title as <title> and <h1>, paragraphs as <p>."""
    import html as html_lib

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0] == title.split(":")[0].strip():
        lines = lines[1:]
    body = "\n".join(f"<p>{html_lib.escape(line)}</p>" for line in lines)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html_lib.escape(title)}</title>{head}</head>"
            f"<body><header><nav><a href='/'>Home</a></nav></header><main><h1>{html_lib.escape(title)}</h1>{body}</main>"
            f"<footer>Site footer</footer></body></html>")


def ascii_fold(text: str) -> str:
    """Text a core PDF font can carry (curly quotes and bullets become ASCII)."""
    table = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2022": "-", "\u00a0": " ",
             "\u2026": "...", "\t": "    "}
    folded = "".join(table.get(ch, ch) for ch in text)
    return folded.encode("latin-1", "replace").decode("latin-1")


def pdf_bytes(text: str, title: str | None = None, author: str | None = None) -> bytes:
    """A real PDF (fpdf2) of a text, with optional metadata."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    if title:
        pdf.set_title(ascii_fold(title))
    if author:
        pdf.set_author(ascii_fold(author))
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in ascii_fold(text).splitlines():
        if line.strip():
            pdf.multi_cell(0, 5, re.sub(r"\s+", " ", line.strip()), new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(3)
    return bytes(pdf.output())
