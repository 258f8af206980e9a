"""Benefits: plans, tiers, eligibility, enrollments, elections, carrier enrollments, payroll deductions, COBRA.

Revision ID: 0007
Revises: 0006

- ``benefitplan``: a plan (medical, dental, vision, life, retirement) with its carrier, tiers,
  monthly premiums by tier, eligibility (departments), new-hire window and whether COBRA
  continues it;
- ``benefitenrollment``: one enrollment per workflow run (event, window, outcome);
- ``benefitelection``: each plan elected (current until replaced), with the dependants covered;
- ``carrierenrollment``, ``payrolldeduction`` and ``cobranotice``.

As in 0006, every table is created only if it is not there yet (a database made by
``create_all`` from today's models is stamped at 0001 and upgraded through here).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "cobranotice",
    "payrolldeduction",
    "carrierenrollment",
    "benefitelection",
    "benefitenrollment",
    "benefitplan",
)


def _id_key() -> list[sa.Column]:
    return [sa.Column("id", sa.Integer(), nullable=False), sa.Column("key", sa.String(), nullable=False)]


def _employee() -> list:
    return [
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
    ]


def upgrade() -> None:
    op.create_table(
        "benefitplan",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("monthly_premium_cents", sa.JSON(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("new_hire_window_days", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("cobra", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "benefitenrollment",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("parent_id", sa.String(), nullable=True),
        *_employee(),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("window_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("coverage_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("defaulted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "benefitelection",
        *_id_key(),
        sa.Column("enrollment_key", sa.String(), nullable=False),
        *_employee(),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("dependants", sa.JSON(), nullable=False),
        sa.Column("coverage_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("cobra", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["benefitplan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "carrierenrollment",
        *_id_key(),
        *_employee(),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("dependants", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["benefitplan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "payrolldeduction",
        *_id_key(),
        *_employee(),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("monthly_cents", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["benefitplan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "cobranotice",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        *_employee(),
        sa.Column("separated_on", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("elect_by", sa.Date(), nullable=False),
        sa.Column("within_deadline", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    indexes = {
        "benefitplan": ("kind",),
        "benefitenrollment": ("workflow_id", "parent_id", "employee_id", "event", "year", "status"),
        "benefitelection": ("enrollment_key", "employee_id", "status"),
        "carrierenrollment": ("employee_id",),
        "payrolldeduction": ("employee_id",),
        "cobranotice": ("workflow_id", "employee_id"),
    }
    for table, columns in indexes.items():
        for column in columns:
            op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False, if_not_exists=True)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
