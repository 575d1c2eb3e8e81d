"""record: last_seen dropped; a record was last seen when its latest place was

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Written by hand. Every harvest marked each record it reached as seen, and SQLite rewrites a whole row (with its full
text, about 5 KB) to change one column: an all-304 harvest of 10,000 records wrote 80 MB. The places (small rows)
already carry their own `last_seen`; a record's is now the latest of them (`evidence.catalogue.last_seen`). Before the
column goes, a record seen later than all of its places gives that time to its own place (the one at its URL), or to
its highest place, so the derived value equals the stored one and nothing is lost. Downgrade puts the column back,
filled from the places.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)

record = sa.table("record", sa.column("id", sa.String), sa.column("url_key", sa.String), sa.column("first_seen", WHEN),
                  sa.column("last_seen", WHEN))
place = sa.table("recordplace", sa.column("id", sa.Integer), sa.column("record_id", sa.String), sa.column("url_key", sa.String),
                 sa.column("priority", sa.Integer), sa.column("url", sa.String), sa.column("source_id", sa.String),
                 sa.column("last_seen", WHEN))


def _utc(value: datetime | str) -> datetime:
    """A stored time, comparable with any other (a naive one is UTC, as the catalogue writes them)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def upgrade() -> None:
    connection = op.get_bind()
    latest = dict(connection.execute(sa.select(place.c.record_id, sa.func.max(place.c.last_seen)).group_by(place.c.record_id)).all())
    stored = connection.execute(sa.select(record.c.id, record.c.url_key, record.c.last_seen)).all()
    for rid, ukey, seen in stored:
        if seen is None or (latest.get(rid) is not None and _utc(latest[rid]) >= _utc(seen)):
            continue
        places = connection.execute(sa.select(place.c.id, place.c.url_key, place.c.priority, place.c.url, place.c.source_id)
                                    .where(place.c.record_id == rid)).all()
        if not places:
            continue  # (every record has its own place since 0004; a record without one reads as seen when first seen)
        own = [p for p in places if p.url_key == ukey] or sorted(places, key=lambda p: (-p.priority, p.url, p.source_id))
        connection.execute(sa.update(place).where(place.c.id == own[0].id).values(last_seen=seen))
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("last_seen")


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen", WHEN, nullable=True))
    connection = op.get_bind()
    latest = sa.select(sa.func.max(place.c.last_seen)).where(place.c.record_id == record.c.id).scalar_subquery()
    connection.execute(sa.update(record).values(last_seen=sa.func.coalesce(latest, record.c.first_seen)))
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.alter_column("last_seen", existing_type=WHEN, nullable=False)
