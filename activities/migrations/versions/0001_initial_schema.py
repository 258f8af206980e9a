"""Initial schema: every table of ``schemas/tables.py`` as ``create_all`` made it.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:25:02

Produced by autogenerate against an empty SQLite database, then tidied:

* sqlmodel's ``AutoString`` is written as ``sa.String()`` (VARCHAR without a length) and its
  ``UTCDateTime`` as ``sa.DateTime(timezone=True)`` (TIMESTAMP WITH TIME ZONE on PostgreSQL),
  which is what those types compile to, so the revision does not depend on sqlmodel internals.
* ``department.director_id -> person.id`` and ``person.department_code -> department.code``
  form a cycle. SQLite does not check a referenced table at CREATE TABLE, so there the
  constraint is inline, as ``create_all`` writes it; elsewhere ``department`` is created first
  without it and it is added by ALTER once ``person`` exists. The constraint carries
  PostgreSQL's default name, so databases made by ``create_all`` and by this revision agree.
* Indexes are created with plain ``op.create_index`` (no batch needed for that on SQLite).

Constraints other than that foreign key are unnamed, as the models declare them; PostgreSQL
names them ``<table>_<column>_fkey`` and ``<table>_key_key``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIRECTOR_FK = "department_director_id_fkey"


def _fk_inline() -> bool:
    """SQLite cannot ALTER a constraint in, and does not need to."""
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    inline = _fk_inline()

    op.create_table(
        "auditevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("on_behalf_of", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_auditevent_workflow_id"), "auditevent", ["workflow_id"], unique=False)

    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_document_workflow_id"), "document", ["workflow_id"], unique=False)

    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=True),
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        op.f("ix_outboxmessage_recipient_id"), "outboxmessage", ["recipient_id"], unique=False
    )
    op.create_index(
        op.f("ix_outboxmessage_workflow_id"), "outboxmessage", ["workflow_id"], unique=False
    )

    op.create_table(
        "department",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("director_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
        *([sa.ForeignKeyConstraint(["director_id"], ["person.id"])] if inline else []),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("supervisor_id", sa.String(), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["department_code"], ["department.code"]),
        sa.ForeignKeyConstraint(["supervisor_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    if not inline:
        op.create_foreign_key(DIRECTOR_FK, "department", "person", ["director_id"], ["id"])

    op.create_table(
        "bargainingunit",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("representative_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["representative_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("code"),
    )

    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delegator_id", sa.String(), nullable=False),
        sa.Column("delegate_id", sa.String(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["delegate_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["delegator_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_delegation_delegate_id"), "delegation", ["delegate_id"], unique=False)
    op.create_index(
        op.f("ix_delegation_delegator_id"), "delegation", ["delegator_id"], unique=False
    )

    op.create_table(
        "classification",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("bargaining_unit_code", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["bargaining_unit_code"], ["bargainingunit.code"]),
        sa.ForeignKeyConstraint(["department_code"], ["department.code"]),
        sa.PrimaryKeyConstraint("code"),
    )

    op.create_table(
        "jobdescriptionversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("revised_on", sa.Date(), nullable=True),
        sa.Column("board_date", sa.Date(), nullable=True),
        sa.Column("resolution_number", sa.String(), nullable=True),
        sa.Column("workflow_id", sa.String(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["class_code"], ["classification.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        op.f("ix_jobdescriptionversion_class_code"),
        "jobdescriptionversion",
        ["class_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_jobdescriptionversion_status"), "jobdescriptionversion", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_jobdescriptionversion_workflow_id"),
        "jobdescriptionversion",
        ["workflow_id"],
        unique=False,
    )

    op.create_table(
        "position",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("department_code", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("supervisor_id", sa.String(), nullable=True),
        sa.Column("incumbent_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["class_code"], ["classification.code"]),
        sa.ForeignKeyConstraint(["department_code"], ["department.code"]),
        sa.ForeignKeyConstraint(["incumbent_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["supervisor_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_position_class_code"), "position", ["class_code"], unique=False)

    op.create_table(
        "reviewcycle",
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adopted_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_code"], ["classification.code"]),
        sa.PrimaryKeyConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_reviewcycle_class_code"), "reviewcycle", ["class_code"], unique=False)

    op.create_table(
        "signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("person_id", sa.String(), nullable=False),
        sa.Column("on_behalf_of", sa.String(), nullable=True),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["jobdescriptionversion.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_signature_version_id"), "signature", ["version_id"], unique=False)


def downgrade() -> None:
    # Dependents first; drop_table drops a table's own indexes with it.
    for table in (
        "signature",
        "reviewcycle",
        "position",
        "jobdescriptionversion",
        "classification",
        "delegation",
        "bargainingunit",
    ):
        op.drop_table(table)
    if not _fk_inline():
        op.drop_constraint(DIRECTOR_FK, "department", type_="foreignkey")
    op.drop_table("person")
    op.drop_table("department")
    op.drop_table("outboxmessage")
    op.drop_table("document")
    op.drop_table("auditevent")
