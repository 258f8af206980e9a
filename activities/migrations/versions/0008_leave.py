"""Leave: requests, certifications, absences, and payroll's hours worked.

Revision ID: 0008
Revises: 0007

- ``leaverequest``: one row per leave, its type, dates, hours, status and decisions;
- ``leavecertification``: the certification's contents (medical detail, stored only here);
- ``leaveabsence``: each absence, counted against the rolling twelve-month entitlement;
- ``hoursworked``: hours worked per pay period, read for eligibility.

Every step checks what is already there first (``if_not_exists``), as 0006 does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leaverequest",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("leave_type", sa.String(), nullable=False),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("requested_hours", sa.Float(), nullable=False),
        sa.Column("weekly_hours", sa.Float(), nullable=False),
        sa.Column("entitlement_hours", sa.Float(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=True),
        sa.Column("tpa_claim_number", sa.String(), nullable=True),
        sa.Column("tpa_decision", sa.String(), nullable=True),
        sa.Column("designated_on", sa.Date(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("fitness_for_duty_on", sa.Date(), nullable=True),
        sa.Column("referred_to", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "leavecertification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("leave_id", sa.String(), nullable=False),
        sa.Column("submitted_by", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("incapacity_from", sa.Date(), nullable=True),
        sa.Column("incapacity_to", sa.Date(), nullable=True),
        sa.Column("fitness_for_duty_required", sa.Boolean(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leave_id"], ["leaverequest.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "leaveabsence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("leave_id", sa.String(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["leave_id"], ["leaverequest.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "hoursworked",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_id", "period_ends_on"),
        if_not_exists=True,
    )
    for table in ("leaverequest", "leaveabsence", "hoursworked"):
        op.create_index(
            op.f(f"ix_{table}_employee_id"), table, ["employee_id"], unique=False, if_not_exists=True
        )
    for table in ("leavecertification", "leaveabsence"):
        op.create_index(op.f(f"ix_{table}_leave_id"), table, ["leave_id"], unique=False, if_not_exists=True)


def downgrade() -> None:
    for table in ("hoursworked", "leaveabsence", "leavecertification", "leaverequest"):
        op.drop_table(table)
