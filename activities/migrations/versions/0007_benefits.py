"""Benefits: plans, tiers, eligibility, enrollments, elections, carrier enrollments, payroll deductions, COBRA.

Revision ID: 0007
Revises: 0006

Placeholder: the tables are added by the change that builds this process.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
