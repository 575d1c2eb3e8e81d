"""recordplace: every place (URL, source) a document was reached at; recordlink's rows moved into it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Written by hand (autogenerate cannot move data). Every record gets the place of its own URL (its fields, so it can be
the record's highest place later; the full text stays on the record), every recordlink row becomes a place of its
record, and recordlink is dropped. Record URL keys are recomputed by `evidence.identify.url_key` (lower-case path,
#fragment kept). Nothing is lost: the upgrade counts the places it made against the rows it read. Downgrade puts the
second places back into recordlink.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel.sql.sqltypes.AutoString for str columns
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)
FIELDS = ("title", "publisher", "authors", "published", "doc_type", "summary", "links", "money", "sample_size", "project_ref", "doi",
          "covers", "extra")


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    from evidence.identify import canonical_url, place_priority, url_key

    op.create_table(
        "recordplace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("url_key", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("first_seen", WHEN, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("published", sa.String(), nullable=True),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url_key", "source_id"),
    )
    with op.batch_alter_table("recordplace", schema=None) as batch_op:
        batch_op.create_index("ix_recordplace_record_id", ["record_id"], unique=False)
        batch_op.create_index("ix_recordplace_url_key", ["url_key"], unique=False)
        batch_op.create_index("ix_recordplace_source_id", ["source_id"], unique=False)

    connection = op.get_bind()
    meta = sa.MetaData()
    record = sa.Table("record", meta, autoload_with=connection)
    link = sa.Table("recordlink", meta, autoload_with=connection)
    place = sa.Table("recordplace", meta, autoload_with=connection)
    seen: set[tuple[str, str]] = set()
    rows: list[dict[str, object]] = []
    read = 0
    key_changes: list[dict[str, str]] = []
    for r in connection.execute(sa.select(record)).mappings():
        read += 1
        key = url_key(r["url"])
        if (key, r["source_id"]) in seen:  # two records whose URLs differ only by the case of the path: both kept, apart
            key = r["url_key"] if (r["url_key"], r["source_id"]) not in seen else f"{key}#{r['id']}"
        if key != r["url_key"]:
            key_changes.append({"rid": r["id"], "key": key})
        fields = {name: _json(r[name]) if name in ("authors", "links", "money", "extra") else r[name] for name in FIELDS}
        seen.add((key, r["source_id"]))
        rows.append({"record_id": r["id"], "url": r["url"], "url_key": key, "source_id": r["source_id"], "first_seen": r["first_seen"],
                     "last_seen": r["last_seen"], "priority": place_priority(r["url"], r["doc_type"], r["doi"], publisher=r["publisher"],
                                                 published=r["published"], summary=r["summary"]), "title": r["title"],
                     "published": r["published"], "relation": "first", "content_hash": r["content_hash"] or "", "fields": fields})
    merged = 0
    for lk in connection.execute(sa.select(link).order_by(link.c.id)).mappings():
        read += 1
        url = canonical_url(lk["url"])
        key = url_key(url)
        if (key, lk["source_id"]) in seen:  # the same URL from the same source twice: one place (counted below)
            merged += 1
            continue
        seen.add((key, lk["source_id"]))
        rows.append({"record_id": lk["record_id"], "url": url, "url_key": key, "source_id": lk["source_id"], "first_seen": lk["first_seen"],
                     "last_seen": lk["first_seen"], "priority": place_priority(url, None, None, lk["relation"]), "title": lk["title"],
                     "published": None, "relation": (lk["relation"] or "url")[:20], "content_hash": "", "fields": {}})
    for start in range(0, len(rows), 500):
        connection.execute(place.insert(), rows[start : start + 500])
    for change in key_changes:
        connection.execute(record.update().where(record.c.id == change["rid"]).values(url_key=change["key"]))
    made = connection.execute(sa.select(sa.func.count()).select_from(place)).scalar()
    if made != read - merged:
        raise RuntimeError(f"migration 0004 made {made} places from {read} rows ({merged} duplicates): nothing was changed")
    op.drop_index("ix_recordlink_record_id", table_name="recordlink")
    op.drop_table("recordlink")


def downgrade() -> None:
    op.create_table(
        "recordlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("relation", sa.String(), nullable=False),
        sa.Column("first_seen", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "url"),
    )
    op.create_index("ix_recordlink_record_id", "recordlink", ["record_id"], unique=False)
    connection = op.get_bind()
    meta = sa.MetaData()
    record = sa.Table("record", meta, autoload_with=connection)
    place = sa.Table("recordplace", meta, autoload_with=connection)
    link = sa.Table("recordlink", meta, autoload_with=connection)
    own = {r.id: r.url for r in connection.execute(sa.select(record.c.id, record.c.url))}
    rows, done = [], set()
    for p in connection.execute(sa.select(place)).mappings():
        if own.get(p["record_id"]) == p["url"] or (p["record_id"], p["url"]) in done:
            continue
        done.add((p["record_id"], p["url"]))
        rows.append({"record_id": p["record_id"], "url": p["url"], "title": p["title"], "source_id": p["source_id"],
                     "relation": "covered_by" if p["relation"] == "covered_by" else "same_document", "first_seen": p["first_seen"]})
    if rows:
        connection.execute(link.insert(), rows)
    op.drop_table("recordplace")
