"""record: needs_review, inclusion, inclusion_reason (classification confidence and screening)

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01

Records already stored need review unless a curator has checked them (`curated`); none is screened yet.
(The default is the literal "1", which both databases read as true: SQLite adds such a column in place.)
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_review", sa.Boolean(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("inclusion", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("inclusion_reason", sa.Text(), nullable=True))
        batch_op.create_index("ix_record_needs_review", ["needs_review"], unique=False)
        batch_op.create_index("ix_record_inclusion", ["inclusion"], unique=False)
    record = sa.table("record", sa.column("needs_review", sa.Boolean()), sa.column("curated", sa.Boolean()))
    op.execute(record.update().where(record.c.curated == sa.true()).values(needs_review=False))


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_inclusion")
        batch_op.drop_index("ix_record_needs_review")
        batch_op.drop_column("inclusion_reason")
        batch_op.drop_column("inclusion")
        batch_op.drop_column("needs_review")
