"""Employment: onboarding tasks, work orders, personnel actions, payroll changes, separations.

Revision ID: 0006
Revises: 0005

- ``person.employment_status`` (probation, permanent, separated);
- ``classification.probation_months`` (6: seed 004's six-month probation);
- ``position.requires_driver_license`` and ``position.requires_cjis`` (seed 004: "by position");
- the tables ``employmentevent`` (the employment history), ``onboardingtask``, ``workorder``,
  ``personnelaction``, ``payrollchange`` and ``separationevent``.

A database made by ``create_all`` from today's models is stamped at 0001 and upgraded through
here (see ``activities.db.upgrade``): every step checks what is already there first. Offline
(``--sql``) there is nothing to inspect, and every step is written out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_columns() -> list[tuple[str, sa.Column]]:
    return [
        ("person", sa.Column("employment_status", sa.String(), nullable=True)),
        ("classification", sa.Column("probation_months", sa.Integer(), nullable=False, server_default="6")),
        (
            "position",
            sa.Column("requires_driver_license", sa.Boolean(), nullable=False, server_default=sa.false()),
        ),
        ("position", sa.Column("requires_cjis", sa.Boolean(), nullable=False, server_default=sa.false())),
    ]


_EMPLOYEE_INDEXED = ("employmentevent", "onboardingtask", "workorder", "personnelaction", "payrollchange")


def _columns(table: str) -> set[str]:
    if context.is_offline_mode():
        return set()
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _id_key() -> list[sa.Column]:
    return [sa.Column("id", sa.Integer(), nullable=False), sa.Column("key", sa.String(), nullable=False)]


def upgrade() -> None:
    for table, column in _new_columns():
        if column.name not in _columns(table):
            op.add_column(table, column)

    op.create_table(
        "employmentevent",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=True),
        sa.Column("position_id", sa.String(), nullable=True),
        sa.Column("pay_step", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "onboardingtask",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("completed_by", sa.String(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("times_reopened", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "workorder",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "personnelaction",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "payrollchange",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=True),
        sa.Column("position_id", sa.String(), nullable=True),
        sa.Column("pay_step", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    op.create_table(
        "separationevent",
        *_id_key(),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )
    for table in _EMPLOYEE_INDEXED + ("separationevent",):
        op.create_index(
            op.f(f"ix_{table}_employee_id"), table, ["employee_id"], unique=False, if_not_exists=True
        )
    for table in ("employmentevent", "onboardingtask", "workorder", "payrollchange"):
        op.create_index(
            op.f(f"ix_{table}_workflow_id"), table, ["workflow_id"], unique=False, if_not_exists=True
        )


def downgrade() -> None:
    for table in (
        "separationevent",
        "payrollchange",
        "personnelaction",
        "workorder",
        "onboardingtask",
        "employmentevent",
    ):
        op.drop_table(table)
    for table, column in reversed(_new_columns()):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column.name)
