"""Death claims and life-plan beneficiaries.

Revision ID: 0010
Revises: 0009

- ``benefitelection.beneficiaries``: a life plan's designated beneficiaries (personal data);
- ``payrolldeduction.ends_on``: the last month a deduction is taken (a death claim stops it);
- ``deathclaim``: an employee's death claim, its life-insurance claim and how it closed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> set[str]:
    if context.is_offline_mode():
        return set()
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    if "beneficiaries" not in _columns("benefitelection"):
        op.add_column(
            "benefitelection",
            sa.Column("beneficiaries", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        )
    if "ends_on" not in _columns("payrolldeduction"):
        op.add_column("payrolldeduction", sa.Column("ends_on", sa.Date(), nullable=True))
    op.create_table(
        "deathclaim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("died_on", sa.Date(), nullable=False),
        sa.Column("coverage_ends_on", sa.Date(), nullable=False),
        sa.Column("life_plan_id", sa.String(), nullable=True),
        sa.Column("carrier", sa.String(), nullable=True),
        sa.Column("beneficiaries", sa.Integer(), nullable=False),
        sa.Column("claim_number", sa.String(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("filed_by", sa.String(), nullable=True),
        sa.Column("dependants_cobra", sa.Integer(), nullable=False),
        sa.Column("dependants_elect_by", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    for column in ("workflow_id", "employee_id", "status"):
        op.create_index(
            op.f(f"ix_deathclaim_{column}"), "deathclaim", [column], unique=False, if_not_exists=True
        )


def downgrade() -> None:
    op.drop_table("deathclaim")
    op.drop_column("payrolldeduction", "ends_on")
    op.drop_column("benefitelection", "beneficiaries")
