"""Outbox delivery apart from the workflows: when a row is due, its last attempt and error.

Revision ID: 0005
Revises: 0004

Activities only write outbox rows; the mailer (``activities/mailer.py``) delivers them with its
own retries and back-off. It needs, on ``outboxmessage``:

- ``next_attempt_at``: when the row is due (again); rows still pending from before are due at
  once (their ``created_at``);
- ``last_attempt_at``: the last attempt, recorded before the mailer talks to the SMTP server;
- ``last_error``: the last failure (the SMTP error's class and code, never an address);
- an index on ``(status, next_attempt_at)``, which is how the mailer finds due rows.

A database made by ``create_all`` from today's models is stamped at 0001 and upgraded through
here (see ``activities.db.upgrade``): every step checks what is already there first. Offline
(``--sql``) there is nothing to inspect, and every step is written out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "outboxmessage"
_INDEX = "ix_outboxmessage_status_next_attempt_at"
_COLUMNS = (
    ("next_attempt_at", sa.DateTime(timezone=True)),
    ("last_attempt_at", sa.DateTime(timezone=True)),
    ("last_error", sa.String()),
)


def _columns(table: str) -> set[str]:
    if context.is_offline_mode():
        return set()
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    present = _columns(_TABLE)
    for name, type_ in _COLUMNS:
        if name not in present:
            op.add_column(_TABLE, sa.Column(name, type_, nullable=True))
    # Rows still waiting are due now; a database create_all made has no such rows yet.
    op.execute(
        "UPDATE outboxmessage SET next_attempt_at = created_at "
        "WHERE status = 'pending' AND next_attempt_at IS NULL"
    )
    op.create_index(_INDEX, _TABLE, ["status", "next_attempt_at"], unique=False, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    # A row the mailer was sending goes back to pending: the old delivery sends it.
    op.execute("UPDATE outboxmessage SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table(_TABLE) as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
