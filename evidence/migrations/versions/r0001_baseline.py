"""baseline: the catalogue's schema before migrations (evidence at commit 823b69f)

Revision ID: 0001
Revises:
Create Date: 2025-12-01

Catalogues made by `create_all` before migrations existed have exactly these tables and no version table;
`evidence migrate` (and catalogue.connect for SQLite) stamps them with this revision, then upgrades.
Plain SQLAlchemy types, so the revision does not depend on the installed SQLModel's own type names.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "harvestrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("item_errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_harvestrun_source_id", "harvestrun", ["source_id"], unique=False)

    op.create_table(
        "record",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("url_key", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("title_key", sa.String(), nullable=False),
        sa.Column("publisher", sa.String(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published", sa.String(), nullable=True),
        sa.Column("doc_type", sa.String(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("money", sa.JSON(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("project_ref", sa.String(), nullable=True),
        sa.Column("doi", sa.String(), nullable=True),
        sa.Column("covers", sa.String(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("first_seen", WHEN, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("study_design", sa.String(), nullable=True),
        sa.Column("evidence_level", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("classification", sa.JSON(), nullable=False),
        sa.Column("curated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("doc_type", "doi", "evidence_level", "published", "source_id", "study_design", "title_key", "url_key"):
        op.create_index(f"ix_record_{column}", "record", [column], unique=False)
    op.create_index("ix_record_url", "record", ["url"], unique=True)

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

    op.create_table(
        "recordtag",
        sa.Column("record_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("curated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"]),
        sa.PrimaryKeyConstraint("record_id", "kind", "tag"),
    )
    op.create_index("ix_recordtag_tag", "recordtag", ["tag"], unique=False)


def downgrade() -> None:
    for table in ("recordtag", "recordlink", "record", "harvestrun"):
        op.drop_table(table)
