"""At most one current description per classification.

Two review cycles of the same classification adopting at once could both supersede the old
text and both mark their draft current; this partial unique index makes the second one fail
(and retry against the new current version) instead.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("status = 'current'")


def upgrade() -> None:
    op.create_index(
        "uq_one_current_version_per_class",
        "jobdescriptionversion",
        ["class_code"],
        unique=True,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
        # A database made by create_all before migrations (stamped at 0001) may already have it.
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("uq_one_current_version_per_class", table_name="jobdescriptionversion")
