"""Alembic's environment for the catalogue: run by `evidence migrate`, by catalogue.connect when it upgrades a SQLite
catalogue, and by `python3 -m evidence.migrations revision` (see evidence/migrations/__init__.py).

The connection to migrate is handed over in `config.attributes["connection"]`, inside the caller's transaction, so a
failed upgrade leaves the catalogue as it was. Run by the `alembic` command instead, the catalogue is `-x db=URL` or
EVIDENCE_DB. Batch mode lets the same revision alter tables on SQLite (which rebuilds them) and PostgreSQL.
"""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import evidence.models  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Migrate the handed-over connection, or the catalogue named by -x db=URL / EVIDENCE_DB."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from evidence.catalogue import database_url

    db = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get("EVIDENCE_DB") or "catalogue.db"
    if context.is_offline_mode():
        context.configure(url=database_url(db), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(database_url(db))
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


run()
