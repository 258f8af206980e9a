"""Civil-service recruitment: recruitments, applicants, scores, certifications, checks, hires.

Revision ID: 0003
Revises: 0002

Written in the style of 0001 (``sa.String()`` for sqlmodel's ``AutoString``,
``sa.DateTime(timezone=True)`` for its ``UTCDateTime``, unnamed constraints as the models
declare them). Tables and indexes are created ``if_not_exists``: a database made by
``create_all`` before migrations is stamped at 0001 and then upgraded, and ``create_all``
already made these tables from the current models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables with a recruitment_id index (ix_<table>_recruitment_id).
_INDEXED = ("applicant", "score", "registercertification", "backgroundcheck")


def upgrade() -> None:
    op.create_table(
        "recruitment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("approved_by", sa.String(), nullable=False),
        sa.Column("vacancies", sa.Integer(), nullable=False),
        sa.Column("announcement", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["class_code"], ["classification.code"]),
        sa.ForeignKeyConstraint(["department_code"], ["department.code"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )

    op.create_table(
        "applicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recruitment_id", sa.String(), nullable=False),
        sa.Column("applicant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("education", sa.String(), nullable=False),
        sa.Column("experience", sa.JSON(), nullable=False),
        sa.Column("supplemental_answers", sa.JSON(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=True),
        sa.Column("screen_reasons", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.String(), nullable=True),
        sa.Column("supplemental", sa.Float(), nullable=True),
        sa.Column("oral", sa.Float(), nullable=True),
        sa.Column("final", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("employee_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )

    op.create_table(
        "score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recruitment_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("scorer_id", sa.String(), nullable=False),
        sa.Column("applicant_id", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )

    op.create_table(
        "registercertification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recruitment_id", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("applicant_ids", sa.JSON(), nullable=False),
        sa.Column("vacancies", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("certified_by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )

    op.create_table(
        "backgroundcheck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recruitment_id", sa.String(), nullable=False),
        sa.Column("applicant_id", sa.String(), nullable=False),
        sa.Column("check", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )

    op.create_table(
        "hire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recruitment_id", sa.String(), nullable=False),
        sa.Column("applicant_id", sa.String(), nullable=False),
        sa.Column("employee_id", sa.String(), nullable=False),
        sa.Column("position_id", sa.String(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("pay_step", sa.Integer(), nullable=False),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employee_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        if_not_exists=True,
    )

    for table in _INDEXED:
        op.create_index(
            op.f(f"ix_{table}_recruitment_id"),
            table,
            ["recruitment_id"],
            unique=False,
            if_not_exists=True,
        )


def downgrade() -> None:
    # drop_table drops a table's own indexes with it; hire points at person only.
    for table in ("hire", "backgroundcheck", "registercertification", "score", "applicant", "recruitment"):
        op.drop_table(table)
