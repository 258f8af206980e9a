"""Records keyed by run, outbox delivery claims, employee numbers from the database.

Revision ID: 0004
Revises: 0003

- ``run_id`` (the workflow's first execution run id) on audit events, outbox messages,
  documents, description versions and recruitments; the review-cycle record is one row per
  run (its primary key becomes ``run_id``; rows from before keep their workflow id as run id).
- ``claimed_at`` / ``claimed_by`` on outbox messages: the delivery attempt sending a row.
- ``employeenumber``: employee numbers handed out by the database's own counter, which starts
  past the highest ``E`` number already in the directory (at least E1030), so the first new
  employee is E1031 in the seeded city.

A database made by ``create_all`` from today's models is stamped at 0001 and upgraded through
here (see ``activities.db.upgrade``): every step checks what is already there first. Offline
(``--sql``) there is nothing to inspect, and every step is written out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_EMPLOYEE_FLOOR = 1030
"""The seeded directory's highest number; the counter starts after it (or the directory's highest)."""

_RUN_ID_COLUMNS = ("auditevent", "outboxmessage", "document", "jobdescriptionversion", "recruitment")
_CYCLE_COLUMNS = "class_code, cycle, requested_by, status, started_at, finished_at, adopted_version_id"


def _columns(table: str) -> set[str]:
    if context.is_offline_mode():
        return set()
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _has_table(table: str) -> bool:
    return not context.is_offline_mode() and sa.inspect(op.get_bind()).has_table(table)


def _review_cycle_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("class_code", sa.String(), nullable=False),
        sa.Column("cycle", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adopted_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_code"], ["classification.code"]),
        sa.PrimaryKeyConstraint("run_id"),
    )


def upgrade() -> None:
    for table in _RUN_ID_COLUMNS:
        if "run_id" not in _columns(table):
            op.add_column(table, sa.Column("run_id", sa.String(), nullable=True))
    op.create_index(op.f("ix_auditevent_run_id"), "auditevent", ["run_id"], unique=False, if_not_exists=True)

    present = _columns("outboxmessage")
    if "claimed_at" not in present:
        op.add_column("outboxmessage", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    if "claimed_by" not in present:
        op.add_column("outboxmessage", sa.Column("claimed_by", sa.String(), nullable=True))

    if "run_id" not in _columns("reviewcycle"):
        # A new primary key: copy into a new table (SQLite cannot change a key in place).
        _review_cycle_table("reviewcycle_by_run")
        op.execute(
            f"INSERT INTO reviewcycle_by_run (run_id, workflow_id, {_CYCLE_COLUMNS}) "
            f"SELECT workflow_id, workflow_id, {_CYCLE_COLUMNS} FROM reviewcycle"
        )
        op.drop_table("reviewcycle")
        op.rename_table("reviewcycle_by_run", "reviewcycle")
        op.create_index(op.f("ix_reviewcycle_class_code"), "reviewcycle", ["class_code"], unique=False)
    op.create_index(
        op.f("ix_reviewcycle_workflow_id"), "reviewcycle", ["workflow_id"], unique=False, if_not_exists=True
    )

    if not _has_table("employeenumber"):
        op.create_table(
            "employeenumber",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("key", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key"),
            sqlite_autoincrement=True,
        )
    _set_employee_floor()


def _set_employee_floor() -> None:
    """A first row at the floor, so the counter hands out the next number (both dialects)."""
    floor = FIRST_EMPLOYEE_FLOOR
    if not context.is_offline_mode():
        bind = op.get_bind()
        if bind.execute(sa.text("SELECT count(*) FROM employeenumber")).scalar():
            return
        ids = bind.execute(sa.text("SELECT id FROM person WHERE id LIKE 'E%'")).scalars().all()
        floor = max([floor, *(int(i[1:]) for i in ids if i[1:].isdigit())])
    op.execute(
        sa.text(
            "INSERT INTO employeenumber (id, key, created_at) VALUES (:id, 'floor', CURRENT_TIMESTAMP)"
        ).bindparams(id=floor)
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('employeenumber', 'id'), :id)").bindparams(id=floor)
        )


def downgrade() -> None:
    op.drop_table("employeenumber")
    op.drop_index(op.f("ix_reviewcycle_workflow_id"), table_name="reviewcycle")
    op.create_table(
        "reviewcycle_by_workflow",
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
    # The latest run of each workflow id is kept: the old table had one row per id.
    op.execute(
        f"INSERT INTO reviewcycle_by_workflow (workflow_id, {_CYCLE_COLUMNS}) "
        f"SELECT workflow_id, {_CYCLE_COLUMNS} FROM reviewcycle r WHERE r.started_at = "
        "(SELECT max(started_at) FROM reviewcycle o WHERE o.workflow_id = r.workflow_id)"
    )
    op.drop_table("reviewcycle")
    op.rename_table("reviewcycle_by_workflow", "reviewcycle")
    op.create_index(op.f("ix_reviewcycle_class_code"), "reviewcycle", ["class_code"], unique=False)
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("claimed_at")
    op.drop_index(op.f("ix_auditevent_run_id"), table_name="auditevent")
    for table in _RUN_ID_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("run_id")
