"""Catalogues for benchmarks: a SQLite file, or (`--db postgresql://...`, a server URL) a fresh PostgreSQL database per run."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from evidence import catalogue


@contextmanager
def bench_catalogue(server: str | None, folder: Path, name: str = "bench") -> Iterator[str]:
    """The `--db` of an empty catalogue: `folder`/NAME.db, or a new database on the PostgreSQL `server`, dropped afterwards."""
    if not server:
        yield str(folder / f"{name}.db")
        return
    url = make_url(catalogue.database_url(server))
    database = f"evidence_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield url.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def label(server: str | None) -> str:
    """The catalogue's kind, for a table's title."""
    return "PostgreSQL" if server else "SQLite"
